"""What an action needs from the working-day calendar before it changes anything (a mixin of
IncidentWorkflow): the calendar's answer for the deadlines it starts, asked in one activity
call, and the fault recorded when the calendar cannot answer. The arithmetic is deadlines.py."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    import activities.calendar as calendar_activities
    import plan.deadlines as plan_deadlines
    import workflows.deadlines as deadlines
    import workflows.effects as effects
    from workflows.actions.spec import ActionSpec, Checked
    from workflows.errors import Refused

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

    async def _prepare(self, spec: ActionSpec, inp, got: Checked) -> dict:
        """What the action needs before it changes anything: the calendar's answer for the
        working-day deadlines it starts. None of the state is touched here."""
        s = self.s
        asks = []
        for name, start, level in (spec.starts(s, inp, got) if spec.starts else []):
            rule = s.plan.deadline(name)
            if rule is not None and rule.applies_to(level) and deadlines.needs_calendar(rule, level):
                asks.append((name, deadlines.calendar_request(rule, start, level, self._now())))
        # The stage the action enters, when its stuck marker counts working days (post_event):
        # asked in the same call, so the state is whole when the action returns.
        within = s.plan.stage_expectations.get("post_event") if "post_event" in spec.enters else None
        stuck = ([plan_deadlines.TimeRequest(start=got.at, duration=within)]
                 if within and within.is_working_days else [])
        if not asks and not stuck:
            return {}
        answer = await self._ask_calendar(plan_deadlines.CalendarQuestion(deadlines=[r for _, r in asks], times=stuck))
        if answer is None:
            if spec.needs_calendar:
                raise Refused(f"工作日日历不可用（{s.faults['calendar_unavailable']['error']}），未重新计算：日历恢复后再试")
            return {}  # applied with the deadline `scheduling`; the loop asks again
        prepared = {name: times for (name, _), times in zip(asks, answer.deadlines)}
        if stuck:
            prepared["stuck_after"] = answer.times[0].at
        return prepared
