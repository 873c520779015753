"""The frozen 1.x engine, part: the deadline engine: starting, meeting, the one timer, firing and escalating; the stuck marker.
Moved here verbatim from the one-file engine; a mixin of IncidentV1."""

from __future__ import annotations

from workflows.legacy.common import *  # noqa: F401,F403  (the frozen engine's shared names)


class DeadlinesV1:
    def _meet(self, d: m.Deadline, at: datetime) -> None:
        d.met_at = at
        # Business time decides: work done in time but recorded after the timer
        # fired is met; the overdue entry and escalations stay in the timeline.
        d.status = "met_late" if at > d.due_at else "met"
        d.next_escalation_at = None
        self._wake = True

    async def _start_deadline(self, name: str, start: datetime, level: Level) -> m.Deadline | None:
        rule = self.s.plan.deadline(name)
        if rule is None or not rule.applies_to(level) or any(d.name == name for d in self.s.deadlines):
            return None
        sched = await workflow.execute_activity_method(
            CalendarActivities.schedule_deadline,
            ScheduleRequest(start=start, duration=rule.duration_for(level), reminders=rule.reminders), **QUICK)
        if any(d.name == name for d in self.s.deadlines):  # a concurrent handler got there first
            return None
        now = self._now()
        d = m.Deadline(name=name, title=rule.title, source=rule.source, who_acts=rule.who_acts,
                       started_at=start, due_at=sched.due.at, due_date=sched.due.day,
                       provisional=sched.due.provisional, reminders_at=[r.at for r in sched.reminders],
                       repeat_every=rule.escalation.repeat_every, notify_on_overdue=rule.escalation.notify)
        # Reminders already past (a backdated start) would only be noise.
        d.reminders_sent = sum(1 for r in d.reminders_at if r <= now)
        self.s.deadlines.append(d)
        met = self.s.events.get(MET_BY.get(name, ""))
        if met is not None:  # the work was done before the clock was set (e.g. dispatched before a level rise)
            self._meet(d, met)
        self._record(now, SYSTEM, "deadline_started", self.s.stage,
                     {"deadline": name, "due_at": d.due_at.isoformat(),
                      "due_date": d.due_date.isoformat() if d.due_date else None,
                      "provisional": d.provisional, "source": rule.source})
        self._wake = True
        return d

    def _arm(self, wake: datetime | None) -> asyncio.Task | None:
        """The one deadline timer, for `wake`: kept if it already waits for that time."""
        if self._timer is not None and not self._timer.done():
            if wake == self._timer_at:
                return self._timer
            self._timer.cancel()
        self._timer, self._timer_at = None, wake
        if wake is not None:
            self._timer = asyncio.create_task(workflow.sleep(max((wake - self._now()).total_seconds(), 0.001)))
        return self._timer

    def _next_wake(self) -> datetime | None:
        times = []
        for d in self.s.deadlines:
            if d.status == "pending":
                times.append(d.due_at)
                times += d.reminders_at[d.reminders_sent:d.reminders_sent + 1]
            elif d.status == "overdue" and d.next_escalation_at:
                times.append(d.next_escalation_at)
        return min(times, default=None)

    async def _fire_due(self) -> None:
        now = self._now()
        for d in self.s.deadlines:
            if d.status == "pending":
                while d.reminders_sent < len(d.reminders_at) and d.reminders_at[d.reminders_sent] <= now:
                    d.reminders_sent += 1
                    self._notify("deadline_reminder", f"提醒：{d.title}将于{_fmt(d.due_at)}到期",
                                 [d.who_acts], {"deadline": d.name, "due_at": d.due_at.isoformat()})
                if d.due_at <= now:
                    d.status = "overdue"
                    self._record(now, SYSTEM, "deadline_overdue", self.s.stage,
                                 {"deadline": d.name, "due_at": d.due_at.isoformat(), "who_acts": d.who_acts})
                    await self._escalate(d, now)
            elif d.status == "overdue" and d.next_escalation_at and d.next_escalation_at <= now:
                await self._escalate(d, now)

    async def _escalate(self, d: m.Deadline, now: datetime) -> None:
        d.escalations += 1
        late = now - d.due_at
        self._notify("deadline_overdue", f"逾期（第{d.escalations}次督办）：{d.title} — {self.s.report.title}",
                     [d.who_acts, *d.notify_on_overdue],
                     {"deadline": d.name, "due_at": d.due_at.isoformat(), "late_by_seconds": int(late.total_seconds()),
                      "escalation": d.escalations})
        if d.repeat_every.is_working_days:
            [nxt] = await workflow.execute_activity_method(
                CalendarActivities.compute_times,
                [TimeRequest(start=now, duration=d.repeat_every, time_of_day="morning")], **QUICK)
            d.next_escalation_at = nxt.at
        else:
            d.next_escalation_at = now + d.repeat_every.as_timedelta()
        if d.status != "overdue":  # met while we were computing
            d.next_escalation_at = None

    # ------------------------------------------------------------------ recording and publishing

    async def _refresh_stuck_after(self) -> None:
        """When the stage would count as stuck: stage entered + the plan's expectation."""
        s = self.s
        if s.plan is None or (self._stuck_after and self._stuck_after[0] == s.stage):
            return
        within = s.plan.stage_expectations.get(s.stage)
        if within is None:
            self._stuck_after = (s.stage, None)
            return
        stage = s.stage
        if within.is_working_days:
            [t] = await workflow.execute_activity_method(
                CalendarActivities.compute_times, [TimeRequest(start=s.stage_entered_at, duration=within)], **QUICK)
            at = t.at
        else:
            at = s.stage_entered_at + within.as_timedelta()
        if s.stage == stage:
            self._stuck_after = (stage, at)

    # ------------------------------------------------------------------ side effects
