"""Deadline arithmetic: when a rule's clock runs out, when to remind, when to escalate again.

Pure functions over a WorkingCalendar; the workflow gets their answers from an activity
(activities/calendar.py) so that a calendar update never changes a recorded due date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel

from plan.calendar import SHANGHAI, WorkingCalendar
from plan.models import Duration

MORNING = time(9, 0)  # reminders and repeated escalations on working days go out at 09:00
END_OF_DAY = time(23, 59, 59)  # a day-based deadline falls due at the end of its due day


class TimeRequest(BaseModel):
    start: datetime
    duration: Duration
    direction: Literal["after", "before"] = "after"
    # For working days: "end_of_day" for a due time, "morning" for a reminder or repeat.
    time_of_day: Literal["end_of_day", "morning"] = "end_of_day"


class TimeResult(BaseModel):
    at: datetime
    day: date | None = None  # the working day, for working-day durations
    provisional: bool = False


def _working_days_before(cal: WorkingCalendar, d: date, n: int) -> tuple[date, bool]:
    provisional = False
    while n > 0:
        d -= timedelta(days=1)
        working, prov = cal.is_working_day(d)
        provisional |= prov
        n -= working
    return d, provisional


def shift(cal: WorkingCalendar, req: TimeRequest) -> TimeResult:
    d = req.duration
    if not d.is_working_days:
        delta = d.as_timedelta()
        return TimeResult(at=req.start + delta if req.direction == "after" else req.start - delta)
    local = req.start.astimezone(SHANGHAI).date()
    if req.direction == "after":
        due = cal.add_working_days(local, d.working_days)
        day, provisional = due.due_date, due.provisional
    else:
        day, provisional = _working_days_before(cal, local, d.working_days)
    clock = END_OF_DAY if req.time_of_day == "end_of_day" else MORNING
    return TimeResult(at=datetime.combine(day, clock, tzinfo=SHANGHAI), day=day, provisional=provisional)


class ScheduleRequest(BaseModel):
    start: datetime
    duration: Duration
    reminders: list[Duration] = []


class Schedule(BaseModel):
    due: TimeResult
    reminders: list[TimeResult]  # earliest first


def schedule(cal: WorkingCalendar, req: ScheduleRequest) -> Schedule:
    """A deadline's due time and its reminders before due, in one calendar pass."""
    due = shift(cal, TimeRequest(start=req.start, duration=req.duration))
    reminders = [
        shift(cal, TimeRequest(start=due.at, duration=r, direction="before", time_of_day="morning"))
        for r in req.reminders
    ]
    return Schedule(due=due, reminders=sorted(reminders, key=lambda r: r.at))


class DeadlineTimesRequest(BaseModel):
    """Everything one deadline needs from the calendar, asked at once: its due time, its
    reminders before due, and the first repeated escalations after due."""

    start: datetime
    duration: Duration
    reminders: list[Duration] = []
    repeat_every: Duration | None = None
    repeats: int = 0
    # The repeats worked out are those after this time (the incident's now): a deadline that
    # falls due long ago (a backdated review) still gets its next working mornings.
    repeats_after: datetime | None = None


class DeadlineTimes(BaseModel):
    due: TimeResult
    reminders: list[TimeResult]  # earliest first
    repeats: list[datetime] = []  # escalation times after due, earliest first


def deadline_times(cal: WorkingCalendar, req: DeadlineTimesRequest) -> DeadlineTimes:
    sched = schedule(cal, ScheduleRequest(start=req.start, duration=req.duration, reminders=req.reminders))
    repeats: list[datetime] = []
    t = sched.due.at
    if req.repeats_after is not None:
        # From the day before: a working day's own 09:00 is counted when `repeats_after` is
        # earlier that morning (a repeat already past is skipped by the incident).
        t = max(t, req.repeats_after - timedelta(days=1))
    for _ in range(req.repeats if req.repeat_every else 0):
        t = shift(cal, TimeRequest(start=t, duration=req.repeat_every, time_of_day="morning")).at
        repeats.append(t)
    return DeadlineTimes(due=sched.due, reminders=sched.reminders, repeats=repeats)


class CalendarQuestion(BaseModel):
    """One call to the calendar activity: the deadlines to schedule and single times to shift."""

    deadlines: list[DeadlineTimesRequest] = []
    times: list[TimeRequest] = []


class CalendarAnswer(BaseModel):
    deadlines: list[DeadlineTimes] = []
    times: list[TimeResult] = []


def answer(cal: WorkingCalendar, q: CalendarQuestion) -> CalendarAnswer:
    return CalendarAnswer(deadlines=[deadline_times(cal, d) for d in q.deadlines],
                          times=[shift(cal, t) for t in q.times])
