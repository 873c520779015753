"""Working-day deadlines on the Chinese calendar (plan 5.3).

Expected dates are worked out by hand from the State Council holiday notices:
- 2024 (国办发明电〔2023〕7号): 中秋 9/15-17 off, Sat 9/14 worked.
- 2025 (国办发明电〔2024〕12号): 春节 1/28-2/4 off, Sun 1/26 and Sat 2/8 worked;
  国庆+中秋 10/1-8 off, Sun 9/28 and Sat 10/11 worked.
- 2026 (国办发明电〔2025〕7号): 春节 2/15-23 off, Sat 2/14 and Sat 2/28 worked;
  清明 4/4-6 off; 中秋 9/25-27 off; 国庆 10/1-7 off, Sun 9/20 and Sat 10/10 worked.
The 2027 files below are test fixtures, not the real 2027 notice.
"""

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from plan.calendar import SHANGHAI, CalendarError, DueDate, WorkingCalendar, load_calendar

D = date


@pytest.fixture
def cal() -> WorkingCalendar:
    return load_calendar(dirs=[])  # library data only


def write(dir_: Path, name: str, text: str) -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    path = dir_ / name
    path.write_text(text, encoding="utf-8")
    return path


FICTIONAL_2027 = """\
year: 2027
source: "test fixture, not the real notice"
holidays:
  - 2027-01-01
  - {from: 2027-02-08, to: 2027-02-12, name: 春节}
workdays:
  - 2027-02-20
"""


# --- the plan 5.3 case -------------------------------------------------------------


def test_review_passed_2026_09_30_report_due_2026_11_03(cal):
    # 10/1-7 off; 10/8 Thu = 1, 10/9 = 2, Sat 10/10 make-up = 3, then 17 more weekdays.
    due = cal.add_working_days(D(2026, 9, 30), 20)
    assert due.due_date == D(2026, 11, 3)
    assert due.provisional is False
    assert due.working_days == 20
    assert due.start_date == D(2026, 9, 30)


# --- holidays and make-up days -------------------------------------------------------


@pytest.mark.parametrize(
    "start, n, expected",
    [
        # Spring Festival 2025: Fri 1/24 -> Sun 1/26 make-up, Mon 1/27, then 1/28-2/4 off.
        (D(2025, 1, 24), 1, D(2025, 1, 26)),
        (D(2025, 1, 24), 2, D(2025, 1, 27)),
        (D(2025, 1, 24), 3, D(2025, 2, 5)),
        (D(2025, 1, 24), 6, D(2025, 2, 8)),  # 2/5-7 are 3-5, Sat 2/8 make-up is 6
        (D(2025, 1, 24), 7, D(2025, 2, 10)),
        # Spring Festival 2026: Sat 2/14 worked, 2/15-23 off, Sat 2/28 worked.
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 13), 2, D(2026, 2, 24)),
        (D(2026, 2, 13), 6, D(2026, 2, 28)),
        (D(2026, 2, 13), 7, D(2026, 3, 2)),
        # 20 days across it: 2/9-13 (5), 2/14 (6), 2/24-27 (10), 2/28 (11), 3/2-6 (16), 3/9-12 (20)
        (D(2026, 2, 6), 20, D(2026, 3, 12)),
        # Mid-Autumn 2024: 9/15-17 off, Sat 9/14 worked.
        (D(2024, 9, 13), 1, D(2024, 9, 14)),
        (D(2024, 9, 13), 2, D(2024, 9, 18)),
        # Mid-Autumn 2026: Fri 9/25 off; Sun 9/20 is a National Day make-up day.
        (D(2026, 9, 24), 1, D(2026, 9, 28)),
        (D(2026, 9, 18), 1, D(2026, 9, 20)),
        (D(2026, 9, 18), 2, D(2026, 9, 21)),
        # National Day + Mid-Autumn 2025: 10/1-8 off, Sun 9/28 and Sat 10/11 worked.
        (D(2025, 9, 26), 1, D(2025, 9, 28)),
        (D(2025, 9, 30), 1, D(2025, 10, 9)),
        (D(2025, 9, 30), 3, D(2025, 10, 11)),
        (D(2025, 9, 30), 4, D(2025, 10, 13)),
        # National Day 2026.
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),
        # Qingming 2026: Mon 4/6 off.
        (D(2026, 4, 2), 2, D(2026, 4, 7)),
    ],
)
def test_holidays_and_make_up_days(cal, start, n, expected):
    due = cal.add_working_days(start, n)
    assert due.due_date == expected
    assert due.provisional is False


# --- the start day is never counted ---------------------------------------------------


@pytest.mark.parametrize(
    "start, n, expected",
    [
        # weekend start (chinese_calendar.find_workday(1, Sat 3/7) would say Tue 3/10)
        (D(2026, 3, 7), 1, D(2026, 3, 9)),
        (D(2026, 3, 8), 1, D(2026, 3, 9)),
        (D(2026, 3, 7), 20, D(2026, 4, 3)),  # 3/9..4/3 is exactly 20 weekdays
        (D(2026, 3, 7), 21, D(2026, 4, 7)),  # Mon 4/6 is Qingming
        # holiday start
        (D(2026, 10, 3), 1, D(2026, 10, 8)),  # Sat inside National Day
        (D(2026, 10, 5), 3, D(2026, 10, 10)),  # Mon inside National Day
        (D(2026, 2, 16), 1, D(2026, 2, 24)),  # Mon inside Spring Festival
        # make-up working day start: itself not counted
        (D(2026, 10, 10), 1, D(2026, 10, 12)),
        (D(2026, 2, 14), 1, D(2026, 2, 24)),
        (D(2025, 1, 26), 1, D(2025, 1, 27)),
        # ordinary working day start
        (D(2026, 3, 10), 1, D(2026, 3, 11)),
        (D(2026, 3, 13), 1, D(2026, 3, 16)),  # Fri -> Mon
    ],
)
def test_start_day_not_counted(cal, start, n, expected):
    assert cal.add_working_days(start, n).due_date == expected


@pytest.mark.parametrize("n", [0, -1, True, 1.0, "20"])
def test_n_must_be_positive_whole_number(cal, n):
    with pytest.raises(ValueError, match="n must be"):
        cal.add_working_days(D(2026, 9, 30), n)


def test_datetime_start_rejected(cal):
    # A datetime must first be turned into its Asia/Shanghai calendar date by the caller.
    with pytest.raises(TypeError, match="Asia/Shanghai"):
        cal.add_working_days(datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI), 20)


def test_is_working_day(cal):
    assert cal.is_working_day(D(2026, 10, 10)) == (True, False)  # make-up Saturday
    assert cal.is_working_day(D(2026, 10, 8)) == (True, False)
    assert cal.is_working_day(D(2026, 10, 1)) == (False, False)
    assert cal.is_working_day(D(2026, 10, 17)) == (False, False)  # plain Saturday
    assert cal.is_working_day(D(2030, 3, 1)) == (True, True)  # Fri, no data
    assert cal.is_working_day(D(2030, 3, 2)) == (False, True)  # Sat, no data


# --- years without data -----------------------------------------------------------


def test_uncovered_year_is_mon_fri_and_provisional(cal):
    assert not cal.covers(2030)
    # Fri 2030-03-01: 3/4-8, 11-15, 18-22, 25-29
    one = cal.add_working_days(D(2030, 3, 1), 1)
    assert (one.due_date, one.provisional) == (D(2030, 3, 4), True)
    twenty = cal.add_working_days(D(2030, 3, 1), 20)
    assert (twenty.due_date, twenty.provisional) == (D(2030, 3, 29), True)


def test_count_running_into_uncovered_year_is_provisional(cal):
    assert cal.covers(2026) and not cal.covers(2027)
    # 12/16-18 (3), 12/21-25 (8), 12/28-31 (12); 2027 Mon-Fri: 1/1 (13), 1/4-8 (18), 1/11-12
    due = cal.add_working_days(D(2026, 12, 15), 20)
    assert (due.due_date, due.provisional) == (D(2027, 1, 12), True)
    # ends on 12/31 without looking at 2027 -> not provisional
    due = cal.add_working_days(D(2026, 12, 15), 12)
    assert (due.due_date, due.provisional) == (D(2026, 12, 31), False)
    assert cal.add_working_days(D(2026, 12, 31), 1).provisional is True


def test_start_day_in_uncovered_year_is_not_consulted(cal):
    # 2003 is not covered, but the start day is never counted.
    due = cal.add_working_days(D(2003, 12, 31), 1)
    assert (due.due_date, due.provisional) == (D(2004, 1, 2), False)  # 2004-01-01 off


# --- override files -----------------------------------------------------------------


def test_override_2027_makes_it_covered_and_changes_results(tmp_path, cal):
    write(tmp_path, "2027.yaml", FICTIONAL_2027)
    with_file = load_calendar([tmp_path])
    assert with_file.covers(2027)

    # Fri 2/5 -> 2/8-12 off -> Mon 2/15 (Mon-Fri alone would say 2/8, provisionally)
    assert cal.add_working_days(D(2027, 2, 5), 1).due_date == D(2027, 2, 8)
    due = with_file.add_working_days(D(2027, 2, 5), 1)
    assert (due.due_date, due.provisional) == (D(2027, 2, 15), False)
    # 2/15-19 (5), make-up Sat 2/20 (6)
    assert with_file.add_working_days(D(2027, 2, 5), 6).due_date == D(2027, 2, 20)
    assert cal.add_working_days(D(2027, 2, 5), 6).due_date == D(2027, 2, 15)

    # Across the year end: 12/31 is the 12th day, 1/1 off, 1/4-8 (17), 1/11-13 (20)
    due = with_file.add_working_days(D(2026, 12, 15), 20)
    assert (due.due_date, due.provisional) == (D(2027, 1, 13), False)

    assert with_file.is_working_day(D(2027, 2, 20)) == (True, False)
    assert with_file.is_working_day(D(2027, 2, 10)) == (False, False)
    assert with_file.is_working_day(D(2027, 3, 1)) == (True, False)  # unlisted Mon
    assert with_file.is_working_day(D(2027, 3, 6)) == (False, False)  # unlisted Sat
    assert with_file.describe()["override_years"] == [2027]
    assert with_file.describe()["sources"] == {"2027": "test fixture, not the real notice"}


def test_override_replaces_library_for_its_year(tmp_path):
    write(tmp_path, "2026.yaml", 'year: 2026\nsource: "test"\nholidays: [2026-01-01]\n')
    cal = load_calendar([tmp_path])
    # Only the file counts now: no National Day, no make-up Saturday.
    assert cal.is_working_day(D(2026, 10, 1)) == (True, False)
    assert cal.is_working_day(D(2026, 10, 10)) == (False, False)
    assert cal.is_working_day(D(2026, 1, 1)) == (False, False)
    # 10/1-2 (2), 10/5-9 (7), 12-16 (12), 19-23 (17), 26-28 (20)
    due = cal.add_working_days(D(2026, 9, 30), 20)
    assert (due.due_date, due.provisional) == (D(2026, 10, 28), False)


def test_later_dir_wins_for_same_year(tmp_path):
    write(tmp_path / "a", "2027.yaml", FICTIONAL_2027)
    write(tmp_path / "b", "2027.yaml", 'year: 2027\nsource: "second"\n')
    cal = load_calendar([tmp_path / "a", tmp_path / "b"])
    assert cal.add_working_days(D(2027, 2, 5), 1).due_date == D(2027, 2, 8)
    assert cal.describe()["sources"] == {"2027": "second"}


def test_weekend_holidays_may_be_listed(tmp_path):
    write(
        tmp_path,
        "2027.yaml",
        'year: 2027\nsource: "t"\nholidays:\n  - {from: 2027-10-01, to: 2027-10-07}\n',
    )
    cal = load_calendar([tmp_path])
    # Fri 10/1 .. Thu 10/7 off (incl. the weekend) -> Fri 10/8
    assert cal.add_working_days(D(2027, 9, 30), 1).due_date == D(2027, 10, 8)


def test_shipped_calendar_dir_loads():
    cal = load_calendar()
    info = cal.describe()
    assert info["library_years"][0] == 2004 and info["library_years"][1] >= 2026
    assert set(info["sources"]) == {str(y) for y in info["override_years"]}


@pytest.mark.parametrize(
    "name, text, field",
    [
        ("2027.yaml", "year: [2027\n", "YAML"),
        ("2027.yaml", "- 2027-01-01\n", "应含 year"),
        ("2027.yaml", 'source: "x"\nholidays: [2027-01-01]\n', "year"),
        ("2027.yaml", 'year: 2028\nsource: "x"\n', "year"),
        ("2027.yaml", "year: 2027\n", "source"),
        ("2027.yaml", 'year: 2027\nsource: "x"\nholidays: [2027-01-01, 2027-02-30]\n', "holidays.1"),
        ("2027.yaml", 'year: 2027\nsource: "x"\nholidays: [tomorrow]\n', "holidays.0"),
        ("2027.yaml", 'year: 2027\nsource: "x"\nholidays: [{from: 2027-02-12, to: 2027-02-08}]\n', "holidays.0"),
        ("2027.yaml", 'year: 2027\nsource: "x"\nholidays: [{from: 2027-02-12}]\n', "holidays.0.to"),
        ("2027.yaml", 'year: 2027\nsource: "x"\nholidays: [2028-01-03]\n', "holidays"),
        ("2027.yaml", 'year: 2027\nsource: "x"\nworkdays: [2027-02-22]\n', "workdays"),  # a Monday
        ("2027.yaml", 'year: 2027\nsource: "x"\nholidays: [2027-02-20]\nworkdays: [2027-02-20]\n', "同时列在"),
        ("2027.yaml", 'year: 2027\nsource: "x"\nholiday: [2027-01-01]\n', "holiday"),
        ("notes.yaml", 'year: 2027\nsource: "x"\n', "年份.yaml"),
    ],
)
def test_malformed_override_rejected(tmp_path, name, text, field):
    path = write(tmp_path, name, text)
    with pytest.raises(CalendarError) as exc:
        load_calendar([tmp_path])
    message = str(exc.value)
    assert str(path) in message
    assert field in message
    assert "\n" not in message


def test_missing_dir_rejected(tmp_path):
    with pytest.raises(CalendarError, match="不存在"):
        load_calendar([tmp_path / "nope"])


# --- due_at ---------------------------------------------------------------------------


def test_due_at_is_end_of_due_day_in_shanghai(cal):
    due = cal.add_working_days(D(2026, 9, 30), 20)
    assert due.due_at == datetime(2026, 11, 3, 23, 59, 59, tzinfo=SHANGHAI)
    assert due.due_at.tzinfo is SHANGHAI
    assert due.due_at.utcoffset() == timedelta(hours=8)
    assert due.due_at.astimezone(timezone.utc) == datetime(2026, 11, 3, 15, 59, 59, tzinfo=timezone.utc)
    assert due.due_at.isoformat() == "2026-11-03T23:59:59+08:00"


def test_due_date_is_frozen_and_round_trips_as_json(cal):
    due = cal.add_working_days(D(2026, 9, 30), 20)
    with pytest.raises(ValidationError):
        due.due_date = D(2026, 11, 4)
    again = DueDate.model_validate_json(due.model_dump_json())
    assert again == due
    assert again.due_at.utcoffset() == timedelta(hours=8)


def test_long_count(cal):
    # n up to a year of working days runs fine and crosses into the uncovered 2027.
    due = cal.add_working_days(D(2026, 1, 1), 366)
    assert due.provisional is True and due.due_date.year == 2027


def test_which_years_lack_a_notice_is_said_from_1_november():
    """Far years, so no package update changes the answer: 2099 and 2100 have no notice."""
    from plan.calendar import WorkingCalendar, YearOverride, missing_notice_text, notice_missing, years_without_notice

    cal = WorkingCalendar()
    assert notice_missing(cal, date(2099, 10, 31)) == [2099]
    assert notice_missing(cal, date(2099, 11, 1)) == [2099, 2100]
    loaded = WorkingCalendar({2099: YearOverride(year=2099, source="测试用"), 2100: YearOverride(year=2100, source="测试用")})
    assert notice_missing(loaded, date(2099, 10, 31)) == []
    assert notice_missing(loaded, date(2099, 12, 31)) == []
    assert missing_notice_text([2100]) == "2100年节假日安排尚未载入，以下期限为暂定"
    assert missing_notice_text([2099, 2100]) == "2099年、2100年节假日安排尚未载入，以下期限为暂定"
    assert missing_notice_text([]) == ""
    assert years_without_notice(cal, date(2099, 12, 28), date(2100, 1, 26)) == [2099, 2100]
    assert years_without_notice(loaded, date(2099, 12, 28), date(2100, 1, 26)) == []
    assert cal.source_of(2100) is None and loaded.source_of(2100) == "测试用"


def test_repeats_are_worked_out_after_the_incidents_now():
    """A deadline due long ago (a backdated review) gets its next working mornings after now,
    not 20 mornings after the due day that are all past. Dates by hand: 2025-09-30 + 20
    working days over 国庆 (10/1–8 off, 9/28 and 10/11 worked) is 2025-11-04; asked on
    Friday 2025-12-05 at 10:00, the next mornings are Mon 12-08, Tue 12-09, ..."""
    from plan.calendar import SHANGHAI
    from plan.deadlines import DeadlineTimesRequest, deadline_times
    from plan.models import Duration

    cal = load_calendar()
    req = dict(start=datetime(2025, 9, 30, 12, tzinfo=SHANGHAI), duration=Duration(working_days=20),
               repeat_every=Duration(working_days=1), repeats=3)
    old = deadline_times(cal, DeadlineTimesRequest(**req))
    assert old.due.day == date(2025, 11, 4)
    assert [t.date() for t in old.repeats] == [date(2025, 11, 5), date(2025, 11, 6), date(2025, 11, 7)]
    now = deadline_times(cal, DeadlineTimesRequest(**req, repeats_after=datetime(2025, 12, 5, 10, tzinfo=SHANGHAI)))
    assert now.due.day == date(2025, 11, 4)
    # from the day before `repeats_after`: Friday's own 09:00 (already past) comes first
    assert [t.date() for t in now.repeats] == [date(2025, 12, 5), date(2025, 12, 8), date(2025, 12, 9)]
    assert all(t.time() == time(9, 0) for t in now.repeats)
