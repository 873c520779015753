"""Chinese working-day deadlines.

Plan 5.3: the damage-assessment report is due "within 20 working days after the
assessment report passes review". We count the n-th working day strictly after the
start date (the start day itself is never counted) on the Chinese calendar, including
weekend make-up working days (调休).

Holiday data per year comes from, in order:
1. an override file plan/calendars/<year>.yaml transcribed from the State Council
   notice (see calendars/README.md) -- it replaces the library for that year;
2. the `chinese_calendar` package for the years it ships;
3. otherwise plain Mon-Fri, and the result is marked provisional (never a crash,
   never a silent guess).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "SHANGHAI",
    "CalendarError",
    "DayRange",
    "DueDate",
    "YearOverride",
    "WorkingCalendar",
    "load_calendar",
    "notice_missing",
    "missing_notice_text",
]

# The State Council publishes next year's arrangement in the autumn (usually November): from
# this day of the year before, a year without it is said on the board and in
# `ecoplan calendar status` (issue of 2026-12-07; a local choice, not a rule of the plan).
WARN_FROM = (11, 1)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_DIR = Path(__file__).parent / "calendars"

# chinese_calendar raises NotImplementedError for a year outside min..max of its holiday
# table (see its _validate_date); we check the same range up front instead of catching,
# because it raises the same exception for a wrong argument type.
LIBRARY_YEARS = (
    min(d.year for d in chinese_calendar.holidays),
    max(d.year for d in chinese_calendar.holidays),
)


class CalendarError(ValueError):
    """A malformed calendar override file; the message names the file and the field."""


class DayRange(BaseModel):
    """One entry of `holidays`/`workdays`: a single date or {from, to, name}."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    first: date = Field(alias="from")
    last: date = Field(alias="to")
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _single_date(cls, data: Any) -> Any:
        # A bare date is a one-day range; keeps error locations short (holidays.3.from).
        return data if isinstance(data, dict) else {"from": data, "to": data}

    @model_validator(mode="after")
    def _ordered(self) -> DayRange:
        if self.last < self.first:
            raise ValueError(f"结束日 {self.last} 早于开始日 {self.first}")
        return self

    def days(self) -> list[date]:
        return [self.first + timedelta(i) for i in range((self.last - self.first).days + 1)]


class YearOverride(BaseModel):
    """The content of one plan/calendars/<year>.yaml file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    source: str = Field(min_length=1)  # the notice it was transcribed from, for the record
    holidays: list[DayRange] = []
    workdays: list[DayRange] = []

    @model_validator(mode="after")
    def _consistent(self) -> YearOverride:
        off, on = self.holiday_dates(), self.workday_dates()
        for field, days in (("holidays", off), ("workdays", on)):
            stray = sorted(d for d in days if d.year != self.year)
            if stray:
                raise ValueError(f"{field}：{stray[0]} 不在 {self.year} 年内")
        weekday_makeups = sorted(d for d in on if d.weekday() < 5)
        if weekday_makeups:  # a make-up day is always a Sat/Sun; anything else is a typo
            raise ValueError(f"workdays：{weekday_makeups[0]} 本是工作日，不是周末调休上班日")
        both = sorted(off & on)
        if both:
            raise ValueError(f"{both[0]} 同时列在 holidays 和 workdays 中")
        return self

    def holiday_dates(self) -> frozenset[date]:
        return frozenset(d for r in self.holidays for d in r.days())

    def workday_dates(self) -> frozenset[date]:
        return frozenset(d for r in self.workdays for d in r.days())


class DueDate(BaseModel):
    model_config = ConfigDict(frozen=True)

    due_date: date
    due_at: datetime  # end of due_date in Asia/Shanghai, tz-aware
    provisional: bool  # some counted day fell in a year without holiday data
    working_days: int
    start_date: date


def _plain_date(d: Any) -> date:
    # datetime is a date subclass but never equals a date, so it would miss every
    # holiday lookup; callers must convert to the Asia/Shanghai calendar date first.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a datetime.date (Asia/Shanghai calendar day), got {d!r}")
    return d


class WorkingCalendar:
    def __init__(self, overrides: dict[int, YearOverride] | None = None):
        self._overrides = dict(sorted((overrides or {}).items()))
        for year, ov in self._overrides.items():
            if year != ov.year:
                raise CalendarError(f"override registered for {year} has year {ov.year}")
        # Expand ranges once: year -> (days off, make-up working days).
        self._days = {y: (ov.holiday_dates(), ov.workday_dates()) for y, ov in self._overrides.items()}

    def covers(self, year: int) -> bool:
        return year in self._overrides or LIBRARY_YEARS[0] <= year <= LIBRARY_YEARS[1]

    def is_working_day(self, d: date) -> tuple[bool, bool]:
        """(is_working, provisional)."""
        d = _plain_date(d)
        if d.year in self._days:  # the file replaces the library for its year
            off, on = self._days[d.year]
            return d in on or (d.weekday() < 5 and d not in off), False
        if self.covers(d.year):
            return chinese_calendar.is_workday(d), False
        return d.weekday() < 5, True

    def add_working_days(self, start: date, n: int) -> DueDate:
        """The n-th working day strictly after `start` (start is never counted)."""
        start = _plain_date(start)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a whole number of working days >= 1, got {n!r}")
        # Walk day by day; chinese_calendar.find_workday is not used because it first
        # snaps a non-working start day forward and counts from there (Sat + 1 -> Tue).
        d, counted, provisional = start, 0, False
        while counted < n:
            d += timedelta(days=1)
            working, prov = self.is_working_day(d)
            counted += working
            provisional |= prov
        return DueDate(
            due_date=d,
            due_at=datetime.combine(d, time(23, 59, 59), tzinfo=SHANGHAI),
            provisional=provisional,
            working_days=n,
            start_date=start,
        )

    def source_of(self, year: int) -> str | None:
        """Where the year's arrangement comes from, or None when no notice is loaded."""
        if year in self._overrides:
            return self._overrides[year].source
        if LIBRARY_YEARS[0] <= year <= LIBRARY_YEARS[1]:
            return f"chinese_calendar {chinese_calendar.__version__}"
        return None

    def describe(self) -> dict:
        """What data the answers rest on; recorded with due dates for traceability.

        Year keys in `sources` are strings so the dict survives a JSON round trip unchanged.
        """
        return {
            "library": f"chinese_calendar {chinese_calendar.__version__}",
            "library_years": list(LIBRARY_YEARS),
            "override_years": list(self._overrides),
            "sources": {str(y): ov.source for y, ov in self._overrides.items()},
        }


class _DatesAsText(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so pydantic validates them and an
    impossible date (2027-02-30) is reported with its field instead of crashing the parser."""


_DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _validation_message(path: Path, err: ValidationError) -> str:
    """The file's first problem in Chinese, the key path as written (plan/problems.py)."""
    from plan import problems

    return problems.validation_message(err, f"工作日历文件 {path}：", labelled=False)


def _load_file(path: Path) -> YearOverride:
    if not re.fullmatch(r"\d{4}", path.stem):
        raise CalendarError(f"工作日历文件 {path}：文件名应为 年份.yaml，如 2027.yaml")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_DatesAsText)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise CalendarError(_one_line(f"工作日历文件 {path}：不是有效的 YAML（{e}）")) from None
    if not isinstance(data, dict):
        raise CalendarError(f"工作日历文件 {path}：应含 year、source、holidays、workdays 各项")
    try:
        override = YearOverride.model_validate(data)
    except ValidationError as e:
        raise CalendarError(_validation_message(path, e)) from None
    if override.year != int(path.stem):
        raise CalendarError(f"工作日历文件 {path}：year 为 {override.year}，与文件名不符")
    return override


def load_calendar(dirs: list[Path] | None = None) -> WorkingCalendar:
    """Read every <year>.yaml in `dirs` (later dirs win for the same year)."""
    overrides: dict[int, YearOverride] = {}
    for directory in [DEFAULT_DIR] if dirs is None else dirs:
        directory = Path(directory)
        if not directory.is_dir():
            raise CalendarError(f"工作日历目录 {directory} 不存在")
        for path in sorted(directory.glob("*.yaml")):
            override = _load_file(path)
            overrides[override.year] = override
    return WorkingCalendar(overrides)


def notice_missing(cal: WorkingCalendar, today: date) -> list[int]:
    """The years whose holiday notice a bureau needs by now and has not loaded: this year, and
    next year from 1 November (WARN_FROM)."""
    years = [today.year] + ([today.year + 1] if (today.month, today.day) >= WARN_FROM else [])
    return [y for y in years if not cal.covers(y)]


def missing_notice_text(years: list[int]) -> str:
    """The sentence people read: "2027年节假日安排尚未载入，以下期限为暂定"."""
    return "、".join(f"{y}年" for y in years) + "节假日安排尚未载入，以下期限为暂定" if years else ""


def years_without_notice(cal: WorkingCalendar, first: date, last: date) -> list[int]:
    """The years from `first` to `last` whose holiday notice is not loaded: why a due date
    counted over them is provisional."""
    return [y for y in range(first.year, last.year + 1) if not cal.covers(y)]
