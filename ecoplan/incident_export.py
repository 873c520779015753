"""The 事件列表's filtered rows as files for auditors: CSV (UTF-8 with a byte-order mark, so
that Excel opens the Chinese as Chinese) and XLSX (openpyxl). Headers and values are the
list's Chinese ones (ecoplan/incident_list.py `HEADERS`, `labelled`)."""

from __future__ import annotations

import csv
import io

from ecoplan.incident_list import HEADERS, labelled


def _safe(cell: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: a title typed that way stays text.
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADERS)
    for r in rows:
        w.writerow([_safe(c) for c in labelled(r)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("事件列表")
    ws.append(HEADERS)
    for r in rows:
        ws.append([_safe(c) for c in labelled(r)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
