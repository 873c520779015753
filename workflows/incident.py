"""IncidentWorkflow: one durable execution per incident, from the first report to close.

Human actions are Workflow Updates (and one signal, for fire-and-forget sign-offs). Every
action is applied whole or refused whole: its validator (the action's checks) refuses a wrong stage,
an unknown group, a stale round, a duplicate or malformed input with a sentence and leaves
no trace; its handler, under the incident's lock, first awaits what the change needs (the
working-day calendar, for a deadline it starts), checks again, then applies everything with
no further await. Side effects never hold an action up: they go into the outbox and are
delivered in the background (effects.py). No activity fault fails an incident: the plan and
the calendar are asked again on a timer while the incident keeps answering, and the fault
is on its record (timeline, status, supervisor views) until it clears.

The main loop fires due deadlines (deadlines.py), asks the calendar for what waits on it,
starts deliveries, publishes to the visibility index (publishing.py) and continues as new
when the history grows long; the state it carries stays bounded (timeline.py).

This module keeps the run loop, the queries and the one pipeline every action goes through.
The actions themselves are declared in the registry (workflows/actions/): each one's input,
checks and apply. An Update and its validator are registered per action when the incident
starts (`workflow.set_update_handler`). The apply runs on a copy of the state, through a
Recorder (recorder.py), and the copy is swapped in only when the apply has finished. Two
mixins keep the loop's own I/O: deadline_steps.py (asking the calendar) and
delivery_lanes.py (the outbox).

Deterministic: no I/O, no wall clock (workflow.now()), no plan or calendar files; plans,
calendar answers and delivery outcomes come from activities and are recorded in history.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    # `import a.b as m`, not `from a import b`: the latter slips past the sandbox's
    # pass-through and re-runs the module for every workflow instance.
    import activities.plan_snapshot as plan_snapshot
    import plan.calendar as plan_calendar
    import plan.incident as plan_incident
    import plan.snapshot as plan_snap
    import workflows.actions as actions
    import workflows.actions.linkage as linkage
    import workflows.deadline_steps as deadline_steps
    import workflows.deadlines as deadlines
    import workflows.delivery_lanes as delivery_lanes
    import workflows.duties as duties
    import workflows.duty_desk as duty_desk
    import workflows.effects as effects
    import workflows.errors as errors
    import workflows.filing as filing
    import workflows.levels as levels
    import workflows.messages as m
    import workflows.publishing as publishing
    import workflows.recorder as recorder
    import workflows.reporting as reporting
    import workflows.state_copy as state_copy
    import workflows.status as status_view
    import workflows.timeline as timeline

SHANGHAI = plan_calendar.SHANGHAI
Refused = errors.Refused

ASK, FAULT_RETRY_MAX = deadline_steps.ASK, deadline_steps.FAULT_RETRY_MAX  # the plan is asked like the calendar
PLAN_RETRY_FIRST = timedelta(seconds=5)  # a plan not loaded blocks every action: try again soon
APPLIED_KEPT = 20  # update ids remembered across runs: twice the server's 10 updates in flight
CARRY_LIMIT = 1_500_000  # bytes continue-as-new may carry: 3/4 of the server's 2 MB payload limit (local choice)
# How many actions may arrive while the hand-over waits for a delivery under way (local
# choice). Each counts against the run's update limit: a delivery slowed by a loaded worker once
# let 180 in before it finished, and the server refused the 200th (a limit of 200; the default
# is 2,000, with continue-as-new suggested long before). At people's pace none arrives and the
# delivery is waited for; in a burst the run hands over after these.
HANDOVER_ACTIONS = 20


def draft_of(s: m.IncidentState) -> m.IncidentState:
    """A copy of the state for an action to change. What no action changes is shared, not
    copied: the pinned plan, the grading, the report, timeline entries once recorded, and the
    notifications and documents waiting in the outbox (only a delivery's outcome changes
    those, on the live state, effects.settle; a printing is copied: a later report joins its
    list, effects.join_render). While a delivery is under way reports keep coming and the
    outbox fills: copying it all cost 24 ms per action at 180 items (0.3 ms shared), enough
    for a loaded machine to fail the task as a deadlock (BENCHMARKS.md, the run's hand-over)."""
    memo = {id(s.report): s.report, id(s.plan): s.plan, id(s.grading): s.grading}
    memo.update((id(e), e) for e in s.timeline)
    memo.update((id(e), e) for e in s.outbox if e["kind"] != "render")
    # Reports once recorded are never changed: those the state keeps, and those a waiting
    # printing lists (join_render appends to the list, which is copied).
    memo.update((id(r), r) for r in s.reports)
    memo.update((id(r), r) for e in s.outbox if e["kind"] == "render" for r in e["payload"].get("reports", ()))
    return state_copy.deep_copy(s, memo)  # copy.deepcopy's result, faster in the sandbox


@workflow.defn
class IncidentWorkflow(deadline_steps.DeadlineSteps, delivery_lanes.DeliveryLanes):
    @workflow.init
    def __init__(self, inp: m.IncidentInput) -> None:
        # Runs before any handler: updates that waited while the incident continued as new
        # reach the new run's first activation and find its state (and their handlers) there.
        self.s: m.IncidentState | None = None
        self.lc = actions.lifecycle()
        self._dirty = False  # something changed: the main loop must look again
        self._lock = asyncio.Lock()
        self._timer = deadlines.WakeTimer()
        self._publisher = publishing.Publisher()
        self._flush_task: asyncio.Task | None = None
        self._arrived = 0  # actions this run has been sent (the hand-over counts them)
        # The newest actions applied, by update id, with what they answered; carried to the next
        # run. Temporal dedupes update ids within a run only: an update completed in the run's
        # last task can reach the next run again (temporalio/temporal#6375), and so can a
        # client's retry of an id: either one answers what the first answered, applied once.
        self._applied: dict[str, m.ActionResult] = dict(inp.applied)
        self._print_task: asyncio.Task | None = None  # printing's own lane (filing.py)
        self._sending, self._printing = set(), set()  # outbox keys under way in each lane
        self._problem: str | None = None  # why the incident is not ready (its plan did not load)
        for name, spec in actions.ACTIONS.items():
            workflow.set_update_handler(name, self._handler(spec), validator=self._validator(spec))
            if spec.signal:
                workflow.set_signal_handler(f"{name}_signal", self._signal_handler(spec))
        if inp.state is not None:
            self.s = inp.state

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: m.IncidentInput) -> dict:
        if inp.state is None:
            await self._open(inp.report, inp.started_by, inp.drill_participants)
        while self.s.outcome is None:
            self._dirty = False  # before the work: a change made during an await below is seen
            self._tick()
            filing.keep_record(self._rec(), self._sending)
            await deadlines.calendar_work(self)
            self._start_flush()
            self._publisher.publish(self.s)
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            await self._timer.wait(self._next_wake(), lambda: self._dirty or self.s.outcome is not None)
        self._timer.cancel()
        await self._close_out()
        return {"incident_id": self.s.incident_id, "outcome": self.s.outcome}

    async def _open(self, report: plan_incident.IncidentReport, started_by: plan_incident.Actor | None = None,
                    participants: list[str] = ()) -> None:
        now = self._now()
        # Business time: the stage began when the incident was reported, not when we heard.
        self.s = s = m.IncidentState(incident_id=workflow.info().workflow_id.removeprefix("incident-"),
                                     report=report, stage_entered_at=min(report.reported_at, now))
        duty_desk.take_part(s, started_by, participants)  # state only: no command, replays as before
        req = plan_snap.PlanRequest(plan=report.plan, assessment=report.assessment)
        wait = PLAN_RETRY_FIRST
        while True:  # each try is a few quick attempts (ASK); between tries the fault is on the record
            try:
                loaded = await workflow.execute_activity(plan_snapshot.load_plan_snapshot, req, **ASK)
                break
            except ActivityError as e:
                error = effects.cause(e)
                self._problem = f"the worker cannot load the plan ({error}); it tries again every few minutes"
                self._fault("plan_unavailable", error, wait)
                await workflow.sleep(wait)
                wait = min(wait * 2, FAULT_RETRY_MAX)
        self._fault_cleared("plan_unavailable")
        self._problem = None
        s.plan, s.grading = loaded.snapshot, loaded.grading
        if workflow.patched("event-level"):  # issue 24: histories recorded before keep one level
            levels.open_event_level(s)
        g = loaded.grading
        rec = self._rec()
        reporter = plan_incident.Actor(name=report.reporter, role="reporter")
        rec.record(report.reported_at, reporter, "reported",
                   {"graded_level": g.level.value, "level_name": g.level_name, "reasons": g.reasons,
                    "source": report.source, "plan": loaded.snapshot.ref,
                    **({"entered_by": started_by.model_dump()} if started_by else {})},
                   from_stage="reported")
        s.events["discovered"] = report.discovered_at
        s.linkage = {"bulletins": 0, "facts": {}, "cross_boundary": None, "support_requests": [],
                     "joint_investigation": None, "fire_engaged": report.source == "linkage_119"}
        if report.assessment.cross_boundary != "none":
            linkage.cross_boundary(rec, report.assessment.cross_boundary, [], report.reported_at, reporter)
        reporting.open_clock(rec, reporter.model_dump())  # the initial report (17号令 第三条)
        for name in deadlines.started_on(self.s, "discovered"):
            if name != "initial_report":
                rec.start_deadline(name, report.discovered_at, g.level, None)
        # The duty desk's page and, at a level the bureau leads, the commander's, from the incident
        # itself (duty_desk.py): the caller that started it may die at once, nothing is lost.
        # Patched: an incident recorded before these notices replays without them.
        if workflow.patched("new-incident-notice"):
            duty_desk.opened(rec, started_by)
        if duties.awaits_activation(s) and workflow.patched("activation-awaited-notice"):
            duty_desk.awaiting_activation(rec, "graded")

    @workflow.signal
    def page_step(self, step: dict) -> None:
        """A page's step (workflows/paging.py, issue 23) on the timeline: who, channel, what, when."""
        if self._ready and self.s.outcome is None:
            self._rec().record(self._now(), None, "page_step", {k: str(step.get(k, ""))[:200] for k in
                                                                ("page_id", "event", "username", "channel", "step", "detail", "at")})

    @property
    def _ready(self) -> bool:
        return self.s is not None and self.s.plan is not None

    async def _continue_as_new(self) -> None:
        """A long incident starts a fresh history, keeping its (bounded) state. Handlers
        finish first (they are quick) and a delivery under way is waited for, unless
        HANDOVER_ACTIONS more actions arrive meanwhile; what is still in the outbox is sent by
        the next run under the same keys
        (a delivery left unfinished may have sent some of its items: they go again with the
        same idempotency keys, which the notifications store and the webhook's receiver
        deduplicate). Printing is not waited for (slow, and updates keep arriving meanwhile):
        its items stay in the outbox and the next run prints them; the abandoned call's answer
        is dropped.

        The hand-over is invisible to clients (docs/contracts.md, "Actions by name"): an
        action arriving meanwhile is checked and applied here like any other, and the run
        continues as new only in a task where every handler has finished, so no accepted
        update is left behind; one the server holds while that task runs is never seen here,
        and the server sends it to the next run.

        What it carries must fit Temporal's payload limit (2 MB; a task carrying more fails
        again and again). Actions faster than the deliveries fill the outbox with the
        notifications and documents of each report, text and all (1.9 MB at 350 items of
        4,000-character reports, BENCHMARKS.md): the run then goes on delivering, and
        continues as new once it carries less than CARRY_LIMIT (1.5 MB)."""
        if workflow.patched("handover-bounded-wait"):  # histories recorded before waited for every delivery
            since = self._arrived
            # The delivery's items stay in the outbox when it is not waited for: sent again under their keys.
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and (
                self._flush_task is None or self._arrived - since >= HANDOVER_ACTIONS))
        else:
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self._flush_task is None)
        carried = m.IncidentInput(report=self.s.report, state=self.s.model_copy(update={"runs": self.s.runs + 1}),
                                  applied=self._applied)
        size = workflow.payload_converter().to_payloads([carried])[0].ByteSize()
        if size > CARRY_LIMIT:  # deliver first: the loop goes on, and asks again at its next turn
            workflow.logger.info("continue-as-new waits for deliveries: %d bytes to carry", size)
            return
        self.s.runs += 1
        workflow.continue_as_new(carried)

    async def _close_out(self) -> None:
        """Closed: write the dossier, deliver what is left (hopeless ones end at once,
        others within effects.GIVE_UP), then complete."""
        s = self.s
        # The dossier is the incident's record as `status` answers it: the activity reads it
        # with the query (claim check) and merges the archive's timeline, so it never passes
        # through history.
        self._rec().document("dossier", {"read": "status"})
        again = filing.on_close(self._rec())
        while s.outbox or self._flush_task is not None or self._print_task is not None or again:
            if not s.outbox and self._flush_task is None and self._print_task is None:
                self._rec().save_record()  # the store's last word, listing every file written
                again = False
            self._dirty = False
            self._start_flush()
            self._publisher.publish(s)
            await self._timer.wait(filing.wake(self), lambda: self._dirty)
        self._publisher.publish(s)
        await workflow.wait_condition(workflow.all_handlers_finished)

    # ------------------------------------------------------------------ the loop's work

    def _tick(self) -> None:
        """Deadlines that fell due, the stuck marker of this stay in the stage, trimming."""
        s, now, rec = self.s, self._now(), self._rec()
        for what, d in deadlines.due_work(s, now):
            if what == "reminder":
                rec.notify("deadline_reminder", f"提醒：{d.title}将于{recorder.fmt(d.due_at)}到期", [d.who_acts],
                           {"deadline": d.name, "due_at": d.due_at.isoformat()})
                continue
            if what == "overdue":
                rec.record(now, None, "deadline_overdue",
                           {"deadline": d.name, "due_at": d.due_at.isoformat(), "who_acts": d.who_acts})
            rec.notify("deadline_overdue", f"逾期（第{d.escalations}次督办）：{d.title} — {s.report.title}",
                       [d.who_acts, *d.notify_on_overdue],
                       {"deadline": d.name, "due_at": d.due_at.isoformat(),
                        "late_by_seconds": int((now - d.due_at).total_seconds()), "escalation": d.escalations})
        if s.stuck_key != s.stage_entries:
            within = s.plan.stage_expectations.get(s.stage)
            if within is None or not within.is_working_days:
                s.stuck_after, s.stuck_key = deadlines.stuck_after(s.stage_entered_at, within), s.stage_entries
        timeline.trim(s)

    def _fault(self, kind: str, error: str, wait: timedelta) -> None:
        s, now = self.s, self._now()
        first = kind not in s.faults
        f = s.faults.setdefault(kind, {"since": now.isoformat(), "tries": 0})
        f.update(error=timeline.short(error, 300), tries=f["tries"] + 1, wait_s=wait.total_seconds(),
                 next_try_at=(now + wait).isoformat())
        if first:
            self._rec().record(now, None, kind, {"error": f["error"], "next_try_at": f["next_try_at"]})

    def _fault_cleared(self, kind: str) -> None:
        f = self.s.faults.pop(kind, None)
        if f is not None:
            restored = kind.replace("_unavailable", "_restored")
            self._rec().record(self._now(), None, restored, {"since": f["since"], "tries": f["tries"]})

    def _next_wake(self) -> datetime | None:
        s = self.s
        times = [deadlines.next_wake(s), filing.wake(self)]
        times += [datetime.fromisoformat(f["next_try_at"]) for f in s.faults.values()]
        return min((t for t in times if t is not None), default=None)

    def _now(self) -> datetime:
        # Every time the incident records is in the bureau's zone, so records read alike.
        return self._timer.now().astimezone(SHANGHAI)

    def _changed(self) -> None:
        self._dirty = True

    def _rec(self, draft: m.IncidentState | None = None) -> recorder.Recorder:
        """A Recorder over the live state (the loop's own entries), or over an action's draft."""
        return recorder.Recorder(draft or self.s, self._now, workflow.info().workflow_id, self.lc, self._printing,
                                 on_change=None if draft is not None else self._changed)

    # ------------------------------------------------------------------ actions: the pipeline

    def _handler(self, spec):
        async def handler(inp) -> m.ActionResult:
            return await self._act(spec, inp)

        handler.__annotations__ = {"inp": spec.input, "return": m.ActionResult}  # decodes the input model
        return handler

    def _validator(self, spec):
        def validator(inp) -> None:
            if workflow.current_update_info().id not in self._applied:  # applied already: answered again
                self._check(spec.name, inp)

        validator.__annotations__ = {"inp": spec.input, "return": None}
        return validator

    def _check(self, name: str, inp) -> "actions.Checked":
        if not self._ready:
            raise Refused("事件仍在载入预案" + (f"：{self._problem}" if self._problem else "，请稍后再试"))
        return actions.check(name, self.s, self.lc, inp, self._now())

    async def _act(self, spec, inp) -> m.ActionResult:
        """Check, await what the change needs (the calendar), check again, then apply on a
        copy and swap it in: the action is applied whole or not at all."""
        update_id = workflow.current_update_info().id
        self._arrived += 1
        async with self._lock:
            if update_id in self._applied:
                return self._applied[update_id]
            got = self._check(spec.name, inp)
            prepared = await self._prepare(spec, inp, got)
            got = self._check(spec.name, inp)  # the state may have moved while the calendar answered
            message = self._apply(spec, inp, got, prepared)  # no await from here on
            result = m.ActionResult(incident_id=self.s.incident_id, action=spec.name, stage=self.s.stage,
                                    message=message)
            self._applied[update_id] = result
            while len(self._applied) > APPLIED_KEPT:
                del self._applied[next(iter(self._applied))]
        return result

    def _apply(self, spec, inp, got, prepared: dict) -> str:
        draft = draft_of(self.s)
        rec = self._rec(draft)
        message = spec.apply(rec, inp, got, prepared)
        # An action that leaves the incident waiting for the 总指挥's approval of its response (the
        # event's level raised to one the bureau leads, before activation) tells the command once.
        if (not duties.awaits_activation(self.s) and duties.awaits_activation(draft)
                and workflow.patched("activation-awaited-notice")):
            duty_desk.awaiting_activation(rec, spec.name)
        self.s = draft
        self._dirty = True
        return message

    def _signal_handler(self, spec):
        def handler(inp) -> None:
            self._by_signal(spec, inp)

        handler.__annotations__ = {"inp": spec.input, "return": None}
        return handler

    def _by_signal(self, spec, inp) -> None:
        """A fire-and-forget action (e.g. a lead's sign-off from a phone): an invalid or stale one
        is recorded as rejected, with the sentence saying why (e.g. which round is open), and
        changes nothing else. While an update is between its checks and its change, the signal
        queues behind it and is checked again."""
        if not self._ready:
            return

        def now_or_never() -> None:
            try:
                got = self._check(spec.name, inp)
            except Refused as e:
                given = inp.model_dump(mode="json", exclude={"by", "at", "backdate_reason"})
                self._rec().record(inp.at or self._now(), inp.by, spec.name,
                                   {**{k: timeline.short(v) if isinstance(v, str) else v for k, v in given.items()},
                                    "reason": e.message, "via": "signal"}, rejected=True)
                return
            self._apply(spec, inp, got, {})

        if self._lock.locked():
            async def later() -> None:
                async with self._lock:
                    now_or_never()

            asyncio.create_task(later())
            return
        now_or_never()

    # ------------------------------------------------------------------ queries

    @workflow.query
    def status(self) -> dict:
        if not self._ready:
            return status_view.loading(self._problem)
        return status_view.view(self.s, actions.allowed_now(self.s, self.lc))

    @workflow.query
    def outbox(self, keys: list[str], after: int, upto: int, with_status: bool = False) -> dict:
        """For the delivery activity (claim check): the payloads of the named outbox items
        and the timeline entries after..upto; with `with_status`, the `status` answer too when
        an item is printed or recorded from it (one query per delivery instead of two)."""
        if not self._ready:
            return {"items": {}, "timeline": []}
        got = effects.read(self.s, keys, after, upto)
        if with_status and effects.reads_status(self.s, keys):
            got["status"] = self.status()
        return got
