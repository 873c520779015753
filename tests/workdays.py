"""Expected working days for tests, counted independently of plan/calendar.py.

Tests that run from "today" cannot write their dates out by hand, so they count here:
straight from the `chinese_calendar` package's table for the years it ships, from the
YAML files in plan/calendars for the years they cover (read as plain YAML), and Monday to
Friday for any other year, which makes the answer provisional, just as the product marks
it. A year without a State Council notice is then an expected outcome, not a failure."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import chinese_calendar
import yaml

from plan.calendar import SHANGHAI

CALENDAR_FILES = Path(__file__).resolve().parent.parent / "plan" / "calendars"
LIBRARY = (min(d.year for d in chinese_calendar.holidays), max(d.year for d in chinese_calendar.holidays))


def _file_days(year: int) -> tuple[set[date], set[date]] | None:
    path = CALENDAR_FILES / f"{year}.yaml"
    if not path.exists():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    def days(entries):
        out = set()
        for e in entries or []:
            first, last = (e["from"], e["to"]) if isinstance(e, dict) else (e, e)
            out |= {first + timedelta(i) for i in range((last - first).days + 1)}
        return out
    return days(data.get("holidays")), days(data.get("workdays"))


def known(year: int) -> bool:
    """The holiday arrangement of `year` is loaded (shipped package or plan file)."""
    return LIBRARY[0] <= year <= LIBRARY[1] or _file_days(year) is not None


def is_workday(d: date) -> tuple[bool, bool]:
    """(working, provisional)."""
    file = _file_days(d.year)
    if file is not None:
        off, on = file
        return d in on or (d.weekday() < 5 and d not in off), False
    if LIBRARY[0] <= d.year <= LIBRARY[1]:
        return chinese_calendar.is_workday(d), False
    return d.weekday() < 5, True


def nth_workday_after(start: date, n: int) -> tuple[date, bool]:
    d, provisional = start, False
    while n > 0:
        d += timedelta(days=1)
        working, prov = is_workday(d)
        provisional |= prov
        n -= working
    return d, provisional


def next_working_morning(after: datetime) -> datetime:
    """The first working day's 09:00 (Asia/Shanghai) later than `after`."""
    d = after.astimezone(SHANGHAI).date()
    while True:
        t = datetime.combine(d, time(9, 0), tzinfo=SHANGHAI)
        if t > after and is_workday(d)[0]:
            return t
        d += timedelta(days=1)
