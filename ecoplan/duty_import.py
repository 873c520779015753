"""Reading the duty roster (值班表) from the spreadsheet a bureau keeps: XLSX (openpyxl) or CSV
(UTF-8, with or without BOM). One row per shift:

    日期, 班次, 开始, 结束, 带班领导, 值班员, 备注

日期 2026-12-07 (or 2026/12/07, or an Excel date); 开始/结束 HH:MM (an end at or before the start
is the next morning); 班次 may be left out (the hours name the shift); a post's cell names its
people by username or by 姓名 as the accounts know them, several separated by 、 or ，; an empty
post cell is kept (the board warns of it). 备注 is optional.

read_roster returns every shift, or raises RosterRejected with one Chinese line per bad row:
nothing is imported from a file with any bad row.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable, Iterable

from ecoplan.duty_roster import Shift
from plan.calendar import SHANGHAI

MAX_ROWS = 5000  # local choice: a year of three shifts a day and then some
SPLIT = re.compile(r"[、，,；;/\s]+")
TIME_RE = re.compile(r"^(\d{1,2})[:：](\d{2})$")


class RosterRejected(ValueError):
    """The file is not imported; `lines` says why, one line per fault."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def read_roster(path: Path, posts: dict[str, str], who: Callable[[str], str | None]) -> list[Shift]:
    """The shifts of the file at `path`. `posts`: post id -> its column's name (带班领导…);
    `who(name)`: the account username a cell's name is, or None."""
    rows = _rows(path)
    if not rows:
        raise RosterRejected([f"{path.name}：文件是空的"])
    header = [str(c or "").strip() for c in rows[0]]
    col = {name: i for i, name in enumerate(header) if name}
    missing = [n for n in ("日期", "开始", "结束", *posts.values()) if n not in col]
    if missing:
        raise RosterRejected([f"{path.name} 第1行（表头）：缺少列 {'、'.join(missing)}；应为 日期、班次、开始、结束、"
                              f"{'、'.join(posts.values())}、备注"])
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(str(c or "").strip() for c in r)]
    if not body:
        raise RosterRejected([f"{path.name}：表头之后没有班次"])
    if len(body) > MAX_ROWS:
        raise RosterRejected([f"{path.name}：班次过多（{len(body)} 行），一次最多导入 {MAX_ROWS} 行"])
    shifts, faults, seen = [], [], {}
    for n, row in body:
        cell = lambda name: row[col[name]] if name in col and col[name] < len(row) else None  # noqa: E731
        try:
            s = _shift(cell, posts, who)
        except ValueError as e:
            faults.append(f"第{n}行：{e}")
            continue
        key = (s.day, s.name)
        if key in seen:
            faults.append(f"第{n}行：{s.day:%Y-%m-%d} 的「{s.name}」与第{seen[key]}行重复")
            continue
        seen[key] = n
        shifts.append((n, s))
    faults += _overlaps(shifts)
    if faults:
        raise RosterRejected(faults)
    return [s for _, s in shifts]


def _shift(cell, posts: dict[str, str], who) -> Shift:
    day = _date(cell("日期"))
    start, end = _time(cell("开始"), "开始"), _time(cell("结束"), "结束")
    if start == end:
        raise ValueError(f"开始与结束同为 {start:%H:%M}，班次没有时长")
    starts_at = datetime.combine(day, start, SHANGHAI)
    ends_at = datetime.combine(day + timedelta(days=1) if end < start else day, end, SHANGHAI)
    name = str(cell("班次") or "").strip() or f"{start:%H:%M}-{end:%H:%M}"
    people: dict[str, list[str]] = {}
    for post, column in posts.items():
        names = [x for x in SPLIT.split(str(cell(column) or "").strip()) if x]
        unknown = [x for x in names if who(x) is None]
        if unknown:
            raise ValueError(f"{column}「{'、'.join(unknown)}」不是系统中的账号（写用户名或账号的姓名，"
                             f"先用 ecoplan users add 创建）")
        people[post] = [who(x) for x in names]
    return Shift(day=day, name=name[:20], starts_at=starts_at, ends_at=ends_at, people=people,
                 note=str(cell("备注") or "").strip()[:200])


def _overlaps(shifts: list[tuple[int, Shift]]) -> list[str]:
    out = []
    ordered = sorted(shifts, key=lambda x: x[1].starts_at)
    for (n1, a), (n2, b) in zip(ordered, ordered[1:]):
        if b.starts_at < a.ends_at:
            out.append(f"第{n2}行：{b.name}（{b.starts_at:%m-%d %H:%M} 起）与第{n1}行的{a.name}时间重叠")
    return out


def _date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        raise ValueError("日期为空")
    m = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", text)
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))  # type: ignore[index]
    except (TypeError, ValueError):
        raise ValueError(f"日期「{text}」无法识别，应为 2026-12-07 这样的日期") from None


def _time(value, column: str) -> time:
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    text = str(value or "").strip()
    m = TIME_RE.match(text.removesuffix(":00") if text.count(":") == 2 else text)
    if not text:
        raise ValueError(f"{column}时间为空")
    if not m or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2])):
        raise ValueError(f"{column}时间「{text}」无法识别，应为 08:30 这样的时刻")
    return time(0, 0) if int(m[1]) == 24 else time(int(m[1]), int(m[2]))


def _rows(path: Path) -> list[list]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _xlsx_rows(path)
        if suffix == ".csv":
            text = path.read_bytes().decode("utf-8-sig")
            return list(csv.reader(io.StringIO(text)))
    except OSError as e:
        raise RosterRejected([f"{path.name}：无法读取（{e.strerror or e}）"]) from None
    except UnicodeDecodeError:
        raise RosterRejected([f"{path.name}：不是 UTF-8 编码的 CSV（在表格软件中另存为“CSV UTF-8”）"]) from None
    except csv.Error as e:
        raise RosterRejected([f"{path.name}：CSV 格式有误（{e}）"]) from None
    raise RosterRejected([f"{path.name}：只能导入 .xlsx 或 .csv 文件"])


def _xlsx_rows(path: Path) -> list[list]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise RosterRejected([f"{path.name}：不是有效的 XLSX 文件（{type(e).__name__}）"]) from None
    try:
        return [list(r) for r in _first_rows(wb.worksheets[0].iter_rows(values_only=True))]
    finally:
        wb.close()


def _first_rows(rows: Iterable, limit: int = MAX_ROWS + 2) -> Iterable:
    for i, r in enumerate(rows):
        if i >= limit:
            break
        yield r
