"""The documents people print and the chart people look at: 附件1 activation notice, 附件2
termination form, each information report, the case file (案卷) as PDF, and the deadline
chart as SVG and PNG. `write_documents(status, out_dir)` writes them from an incident's status.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Iterable

from activities.documents import chart, pdf
from activities.documents.fonts import FontMissing, FontSettings
from activities.documents.mapping import (ACTIVATION_FILE, CASE_FILE, CHART_PNG, CHART_SVG, TERMINATION_FILE,
                                          from_status, report_file)
from activities.documents.models import NOT_FILLED, DocumentSet

KINDS = ("activation_notice", "termination_form", "info_report", "case_file", "chart")

__all__ = ["KINDS", "NOT_FILLED", "DocumentSet", "FontMissing", "FontSettings", "from_status", "render",
           "write_documents"]


def _write(path: Path, data: bytes | str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)  # a reader never sees half a document
    return path


def _kinds(kinds: Iterable[str] | None) -> set[str]:
    wanted = set(KINDS if kinds is None else kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"没有文书种类 {'、'.join(sorted(unknown))}：可选 {'、'.join(KINDS)}")
    return wanted


def render(docs: DocumentSet, out_dir: str | Path, kinds: Iterable[str] | None = None,
           fonts: FontSettings | None = None) -> list[Path]:
    """Write the documents of `kinds` (default: all) that exist for this incident so far."""
    wanted = _kinds(kinds)
    fonts = fonts or FontSettings.from_env()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "activation_notice" in wanted and docs.activation_notice:
        written.append(_write(out / ACTIVATION_FILE, pdf.activation_notice(docs.activation_notice, fonts)))
    if "termination_form" in wanted and docs.termination_form:
        written.append(_write(out / TERMINATION_FILE, pdf.termination_form(docs.termination_form, fonts)))
    if "info_report" in wanted:
        for r in docs.info_reports:
            written.append(_write(out / report_file(r.number, r.kind), pdf.info_report(r, fonts)))
    if "chart" in wanted:
        lay = chart.layout(docs.chart)
        written.append(_write(out / CHART_SVG, chart.to_svg(lay, fonts)))
        written.append(_write(out / CHART_PNG, chart.to_png(lay, fonts)))
    if "case_file" in wanted:
        written.append(_write(out / CASE_FILE, pdf.case_file(docs.case_file, fonts)))
    return written


def write_documents(status: dict, out_dir: str | Path, kinds: Iterable[str] | None = None, *,
                    as_of: datetime | None = None, fonts: FontSettings | None = None) -> list[Path]:
    """The incident's documents from its status (the workflow's `status` query), into out_dir."""
    _kinds(kinds)
    return render(from_status(status, as_of=as_of), out_dir, kinds, fonts)
