"""The deadline book: every deadline of an incident (initial report, readiness, assessment
report, ...), one mechanism for all, and the one timer the incident sleeps on.

A deadline in hours or calendar days is worked out here (plain arithmetic on the pinned
plan). One in working days needs the calendar, which an activity answers (holiday data
changes; the answer must be recorded): until it has, the deadline is `scheduling`. Due:
overdue, an escalation at once and again at the plan's interval until met. Business time
decides: work done in time but entered after the timer fired is `met`, not late; an
action entered more than an hour late is marked so on the deadline it meets.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Callable

from temporalio import workflow

from plan.calendar import SHANGHAI
from plan.deadlines import CalendarQuestion, DeadlineTimes, DeadlineTimesRequest, TimeRequest
from plan.models import MET_BY, DeadlineRule, Duration, Level
import workflows.levels as levels
import workflows.messages as m

REPEATS_AHEAD = 20  # working-day escalations worked out with the due time (a month of mornings)


def started_on(s: m.IncidentState, event: str) -> list[str]:
    """The plan's deadlines whose clock the event starts (their `starts_on`), in plan order."""
    return [d.name for d in s.plan.deadlines if d.starts_on == event]


def review_start(review_date) -> datetime:
    # The report deadline counts working days from the day after the review date.
    return datetime.combine(review_date, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=12)


def needs_calendar(rule: DeadlineRule, level: Level) -> bool:
    d = rule.duration_for(level)
    return d.is_working_days or any(r.is_working_days for r in rule.reminders) \
        or rule.escalation.repeat_every.is_working_days


def open_deadline(s: m.IncidentState, rule: DeadlineRule, start: datetime, level: Level, now: datetime,
                  times: DeadlineTimes | None = None) -> m.Deadline:
    """A new deadline: due worked out here, from the calendar's `times`, or `scheduling`."""
    d = m.Deadline(name=rule.name, title=rule.title, source=rule.source, who_acts=rule.who_acts,
                   started_at=start, due_at=None, status="scheduling",
                   repeat_every=rule.escalation.repeat_every, notify_on_overdue=rule.escalation.notify)
    if times is not None:
        set_times(d, times, now)
    elif not needs_calendar(rule, level):
        due = start + rule.duration_for(level).as_timedelta()
        set_times(d, DeadlineTimes(due={"at": due}, reminders=sorted(
            [{"at": due - r.as_timedelta()} for r in rule.reminders], key=lambda r: r["at"])), now)
    s.deadlines.append(d)
    return d


def calendar_request(rule: DeadlineRule, start: datetime, level: Level, now: datetime) -> DeadlineTimesRequest:
    repeat = rule.escalation.repeat_every
    return DeadlineTimesRequest(start=start, duration=rule.duration_for(level), reminders=rule.reminders,
                                repeat_every=repeat if repeat.is_working_days else None,
                                repeats=REPEATS_AHEAD if repeat.is_working_days else 0,
                                repeats_after=now if repeat.is_working_days else None)


def needs_repeats(d: m.Deadline, now: datetime) -> bool:
    """An overdue deadline repeated on working days whose mornings worked out ahead are used up
    (overdue for a month): the calendar is asked for the next ones."""
    return d.status == "overdue" and d.repeat_every.is_working_days and not any(t > now for t in d.repeats_at)


def set_times(d: m.Deadline, times: DeadlineTimes, now: datetime) -> None:
    d.due_at, d.due_date, d.provisional = times.due.at, times.due.day, times.due.provisional
    d.reminders_at = [r.at for r in times.reminders]
    d.repeats_at = list(times.repeats)
    # Reminders already past (a backdated start) would only be noise.
    d.reminders_sent = sum(1 for r in d.reminders_at if r <= now)
    if d.status == "scheduling":
        d.status = "pending"
    elif d.status in ("met", "met_late") and d.met_at is not None:  # met before its due time was known
        d.status = "met_late" if d.met_at > d.due_at else "met"
    elif d.status == "overdue" and d.due_at > now:  # recomputed past a holiday: no longer late
        d.status, d.next_escalation_at = "pending", None


def meet(s: m.IncidentState, event: str, at: datetime, seq: int, backdated: bool) -> list[m.Deadline]:
    """A business event that may meet deadlines (plan.models.MET_BY); returns those it met."""
    s.events[event] = at
    met = []
    for d in s.deadlines:
        if MET_BY.get(d.name) == event and d.status in ("scheduling", "pending", "overdue"):
            mark_met(d, at, seq, backdated)
            met.append(d)
    return met


def mark_met(d: m.Deadline, at: datetime, seq: int | None, backdated: bool) -> None:
    d.met_at, d.met_seq, d.met_backdated = at, seq, backdated
    d.status = "met_late" if d.due_at is not None and at > d.due_at else "met"
    d.next_escalation_at = None


def already_met(s: m.IncidentState, d: m.Deadline) -> None:
    """Work done before the clock was set (e.g. dispatched before a level rise) meets it at once."""
    at = s.events.get(MET_BY.get(d.name, ""))
    if at is not None:
        mark_met(d, at, None, False)


def due_work(s: m.IncidentState, now: datetime) -> list[tuple[str, m.Deadline]]:
    """What is due now, as (what, deadline): reminder, overdue or escalation; state updated."""
    out = []
    for d in s.deadlines:
        if d.status == "pending":
            while d.reminders_sent < len(d.reminders_at) and d.reminders_at[d.reminders_sent] <= now:
                d.reminders_sent += 1
                out.append(("reminder", d))
            if d.due_at <= now:
                d.status = "overdue"
                out.append(("overdue", d))
                escalate(d, now)
        elif d.status == "overdue" and d.next_escalation_at and d.next_escalation_at <= now:
            escalate(d, now)
            out.append(("escalation", d))
    return out


def escalate(d: m.Deadline, now: datetime) -> None:
    d.escalations += 1
    if d.repeat_every.is_working_days:
        later = [t for t in d.repeats_at if t > now]
        # Past the mornings worked out ahead (a month overdue) the main loop asks the calendar
        # for the next ones (calendar_work) and this stand-in is replaced at once; it stays
        # only while the calendar cannot answer, so the reminders never stop.
        d.next_escalation_at = later[0] if later else now + timedelta(days=1)
    else:
        d.next_escalation_at = now + d.repeat_every.as_timedelta()


def next_wake(s: m.IncidentState) -> datetime | None:
    times = []
    for d in s.deadlines:
        if d.status == "pending":
            times.append(d.due_at)
            times += d.reminders_at[d.reminders_sent:d.reminders_sent + 1]
        elif d.status == "overdue" and d.next_escalation_at:
            times.append(d.next_escalation_at)
    return min(times, default=None)


def stuck_after(entered: datetime, within: Duration | None) -> datetime | None:
    """When a stay in a stage counts as stuck, where no calendar is needed."""
    if within is None or within.is_working_days:
        return None
    return entered + within.as_timedelta()


class WakeTimer:
    """The incident's one timer, after samples-python's updatable_timer: it sleeps until the
    next wake time, and a new wake time replaces it only when it differs (an action that
    moves no deadline starts and cancels no timer)."""

    def __init__(self) -> None:
        self._task: asyncio.Task | None = None
        self._at: datetime | None = None
        # The wake time of the last timer that fired. A fired timer proves the clock has
        # reached it, so `now()` never reads earlier. After a server restart a worker was
        # seen running the task that delivered a fired timer with the previous task's time
        # (history kept in tests/histories/open-defects): it decided "not due yet" where
        # a replay, at the task's recorded time, decided "overdue". With this floor both see
        # the deadline due and issue the same commands.
        self.fired_at: datetime | None = None

    async def wait(self, at: datetime | None, woken: Callable[[], bool]) -> None:
        if self._task is not None and not self._task.done() and at != self._at:
            self._task.cancel()
            self._task = None
        if at is not None and (self._task is None or self._task.done() or at != self._at):
            delay = max((at - self.now()).total_seconds(), 0.001)
            self._task = asyncio.create_task(workflow.sleep(delay))
        self._at = at
        task = self._task
        await workflow.wait_condition(lambda: woken() or (task is not None and task.done()))
        if task is not None and task.done():
            self._task = None  # fired: the next wait arms a new one
            if not task.cancelled() and self._at is not None:
                behind = (self._at - workflow.now()).total_seconds()
                if behind > 0:
                    workflow.logger.warning("workflow clock %.3f s behind a fired timer; "
                                            "reading the timer's time", behind)
                self.fired_at = max(self.fired_at or self._at, self._at)

    def now(self) -> datetime:
        """The workflow's time, never earlier than a timer that has fired."""
        now = workflow.now()
        return max(now, self.fired_at) if self.fired_at is not None else now

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


async def calendar_work(wf) -> None:
    """The main loop asks the calendar, in one call, for what waits on it: due times of
    deadlines still scheduling, and the stuck marker of a stage measured in working days."""
    s, now = wf.s, wf._now()
    fault = s.faults.get("calendar_unavailable")
    if fault and datetime.fromisoformat(fault["next_try_at"]) > now:
        return
    waiting = [d for d in s.deadlines if d.due_at is None]
    refill = [d for d in s.deadlines if d.due_at is not None and needs_repeats(d, now)]
    within = s.plan.stage_expectations.get(s.stage)
    stuck = s.stuck_key != s.stage_entries and within is not None and within.is_working_days
    if not waiting and not refill and not stuck:
        return
    asked = waiting + refill
    q = CalendarQuestion(
        deadlines=[calendar_request(s.plan.deadline(d.name), d.started_at, levels.for_deadline(s, d.name), now)
                   for d in asked],
        times=[TimeRequest(start=s.stage_entered_at, duration=within)] if stuck else [])
    key = s.stage_entries
    answer = await wf._ask_calendar(q)
    if answer is None:
        return
    now = wf._now()
    for d, times in zip(waiting, answer.deadlines):
        if d.due_at is None:  # not scheduled meanwhile (by recompute_deadlines)
            set_times(d, times, now)
            wf._rec().deadline_scheduled(d)
    for d, times in zip(refill, answer.deadlines[len(waiting):]):
        later = [t for t in times.repeats if t > now]
        if needs_repeats(d, now) and later:  # still overdue: not met meanwhile
            d.repeats_at, d.next_escalation_at = list(times.repeats), later[0]
    if stuck and s.stage_entries == key:
        s.stuck_after, s.stuck_key = answer.times[0].at, key
    wf._dirty = True
