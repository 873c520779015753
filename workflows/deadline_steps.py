"""The incident's deadline steps (a mixin of IncidentWorkflow): what an action needs from the
working-day calendar before it changes anything, starting the deadlines it starts, and the
sentence its reply gives about each. The arithmetic is deadlines.py; this is the part that
awaits the calendar activity and records on the incident."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    import activities.calendar as calendar_activities
    import plan.deadlines as plan_deadlines
    import workflows.checks as checks
    import workflows.deadlines as deadlines
    import workflows.duties as duties
    import workflows.effects as effects
    import workflows.messages as m

Refused = checks.Refused
# Pure computations that may stay broken (a malformed calendar file): a few quick tries,
# then the fault is recorded and the question asked again on the incident's timer.
ASK = dict(start_to_close_timeout=timedelta(seconds=10),
           retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                                    maximum_attempts=3))
FAULT_RETRY_FIRST = timedelta(seconds=30)  # calendar: asked again after 30 s, 1, 2, 4 … 10 min
FAULT_RETRY_MAX = timedelta(minutes=10)


class DeadlineSteps:
    async def _ask_calendar(self, q: plan_deadlines.CalendarQuestion) -> plan_deadlines.CalendarAnswer | None:
        try:
            answer = await workflow.execute_activity_method(
                calendar_activities.CalendarActivities.calendar_answer, q, **ASK)
        except ActivityError as e:
            fault = self.s.faults.get("calendar_unavailable")
            wait = FAULT_RETRY_FIRST if fault is None else min(timedelta(seconds=fault["wait_s"] * 2), FAULT_RETRY_MAX)
            self._fault("calendar_unavailable", effects.cause(e), wait)
            return None
        self._fault_cleared("calendar_unavailable")
        return answer

    async def _prepare(self, action: str, inp, got) -> dict:
        """What the action needs before it changes anything: the calendar's answer for the
        working-day deadlines it starts. None of the state is touched here."""
        s = self.s
        if action == "recompute_deadlines":
            wanted = [(d.name, d.started_at, s.level or s.grading.level) for d in s.deadlines
                      if d.due_at is None or (d.provisional and d.status in ("pending", "overdue"))]
        else:
            wanted = deadlines.started_by(self.s, action, inp, got)
        asks = []
        for name, start, level in wanted:
            rule = s.plan.deadline(name)
            if rule is not None and rule.applies_to(level) and deadlines._needs_calendar(rule, level):
                asks.append((name, deadlines.calendar_request(rule, start, level, self._now())))
        # The stage the action enters, when its stuck marker counts working days (post_event):
        # asked in the same call, so the state is whole when the action returns.
        within = s.plan.stage_expectations.get("post_event") if action in duties.ENDS_RESPONSE else None
        start = got[0] if action == "record_other_termination" else got
        stuck = [plan_deadlines.TimeRequest(start=start, duration=within)] if within and within.is_working_days else []
        if not asks and not stuck:
            return {}
        answer = await self._ask_calendar(plan_deadlines.CalendarQuestion(deadlines=[r for _, r in asks], times=stuck))
        if answer is None:
            if action == "recompute_deadlines":
                raise Refused(f"the working-day calendar is unavailable ({s.faults['calendar_unavailable']['error']}); "
                              "nothing was recomputed: try again once it is fixed")
            return {}  # applied with the deadline `scheduling`; the loop asks again
        prepared = {name: times for (name, _), times in zip(asks, answer.deadlines)}
        if stuck:
            prepared["stuck_after"] = answer.times[0].at
        return prepared

    def _start_deadline(self, name: str, start: datetime, level, times) -> m.Deadline | None:
        s = self.s
        rule = s.plan.deadline(name)
        if rule is None or not rule.applies_to(level) or any(d.name == name for d in s.deadlines):
            return None
        d = deadlines.open_deadline(s, rule, start, level, self._now(), times)
        deadlines.already_met(s, d)
        self._deadline_scheduled(d)
        return d

    def _start_deadlines(self, started: list, prepared: dict) -> str:
        return "".join(self._due_note(self._start_deadline(n, start, level, prepared.get(n)))
                       for n, start, level in started)

    def _deadline_scheduled(self, d: m.Deadline) -> None:
        if d.due_at is None:
            self.record(self._now(), None, "deadline_started", {"deadline": d.name, "scheduling": True,
                                                                "source": d.source})
            return
        self.record(self._now(), None, "deadline_started",
                    {"deadline": d.name, "due_at": d.due_at.isoformat(),
                     "due_date": d.due_date.isoformat() if d.due_date else None,
                     "provisional": d.provisional, "source": d.source})

    def _due_note(self, d: m.Deadline | None) -> str:
        if d is None:
            return ""
        if d.due_at is None:
            err = self.s.faults.get("calendar_unavailable", {}).get("error", "")
            return f"; the {d.name} due date is not known yet: the working-day calendar is unavailable ({err}), " \
                   "it is set as soon as the calendar answers"
        what = "the report is" if d.name == "assessment_report" else f"{d.name} is"
        return f"; {what} due {d.due_date or checks.fmt(d.due_at)}" + (" (provisional)" if d.provisional else "")

    def _apply_recompute_deadlines(self, inp: m.RecomputeDeadlines, at: datetime, prepared: dict) -> m.ActionResult:
        changed, now = [], self._now()
        for d in self.s.deadlines:
            times = prepared.get(d.name)
            if times is None:
                continue
            if times.due.at != d.due_at or times.due.provisional != d.provisional:
                changed.append(f"{d.name}: {d.due_date} → {times.due.day}" + (" (provisional)" if times.due.provisional else ""))
                deadlines.set_times(d, times, now)
        self.record(at, inp.by, "recompute_deadlines", {"changed": changed, **({"reason": inp.reason} if inp.reason else {})},
                    backdate_reason=self._backdated(inp, at))
        return self._result("recompute_deadlines", "; ".join(changed) or "no provisional due date changed")
