"""IncidentWorkflow: one durable execution per incident, from the first report to close.

Human actions are Workflow Updates (and one signal, for fire-and-forget sign-offs). Every
action is applied whole or refused whole: its validator (checks.py) refuses a wrong stage,
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

This module keeps the run loop, the queries and the thin handlers (an Update and its
validator per action). What an action changes, its all-or-nothing `_apply_*` step, lives
with its concern, as a mixin: warning.py (3.x), response.py (4.1), reporting.py (4.2),
termination.py (4.4), post_event.py (5.x), linkage.py (4.2.3, 协议), deadline_steps.py
(the calendar's part of an action, recompute_deadlines) and delivery_lanes.py (the outbox).

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
    import workflows.checks as checks
    import workflows.deadline_steps as deadline_steps
    import workflows.deadlines as deadlines
    import workflows.delivery_lanes as delivery_lanes
    import workflows.duties as duties
    import workflows.effects as effects
    import workflows.filing as filing
    import workflows.linkage as linkage
    import workflows.messages as m
    import workflows.post_event as post_event
    import workflows.publishing as publishing
    import workflows.status as status_view
    import workflows.reporting as reporting
    import workflows.response as response
    import workflows.termination as termination
    import workflows.timeline as timeline
    import workflows.warning as warning
    from workflows.lifecycle import Lifecycle

SHANGHAI = plan_calendar.SHANGHAI
Refused = checks.Refused

ASK, FAULT_RETRY_MAX = deadline_steps.ASK, deadline_steps.FAULT_RETRY_MAX  # the plan is asked like the calendar
PLAN_RETRY_FIRST = timedelta(seconds=5)  # a plan not loaded blocks every action: try again soon


@workflow.defn
class IncidentWorkflow(deadline_steps.DeadlineSteps, delivery_lanes.DeliveryLanes, warning.WarningActions,
                       response.ResponseActions, reporting.ReportActions, termination.TerminationActions,
                       post_event.PostEventActions, linkage.LinkageActions):
    @workflow.init
    def __init__(self, inp: m.IncidentInput) -> None:
        # Runs before any handler: updates that waited while the incident continued as new
        # reach the new run's first activation and find its state already there.
        self.s: m.IncidentState | None = None
        self.lc: Lifecycle | None = None
        self._dirty = False  # something changed: the main loop must look again
        self._lock = asyncio.Lock()
        self._timer = deadlines.WakeTimer()
        self._publisher = publishing.Publisher()
        self._flush_task: asyncio.Task | None = None
        self._continuing = False  # set when the run is about to continue as new
        self._print_task: asyncio.Task | None = None  # printing's own lane (filing.py)
        self._sending, self._printing = set(), set()  # outbox keys under way in each lane
        self._transition_at: datetime | None = None
        self._problem: str | None = None  # why the incident is not ready (its plan did not load)
        if inp.state is not None:
            self._adopt(inp.state)

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: m.IncidentInput) -> dict:
        if inp.state is None:
            await self._open(inp.report, inp.started_by)
        while self.s.outcome is None:
            self._dirty = False  # before the work: a change made during an await below is seen
            self._tick()
            filing.keep_record(self)
            await deadlines.calendar_work(self)
            self._start_flush()
            self._publisher.publish(self.s)
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            await self._timer.wait(self._next_wake(), lambda: self._dirty or self.s.outcome is not None)
        self._timer.cancel()
        await self._close_out()
        return {"incident_id": self.s.incident_id, "outcome": self.s.outcome}

    async def _open(self, report: plan_incident.IncidentReport, started_by: plan_incident.Actor | None = None) -> None:
        now = self._now()
        # Business time: the stage began when the incident was reported, not when we heard.
        self.s = s = m.IncidentState(incident_id=workflow.info().workflow_id.removeprefix("incident-"),
                                     report=report, stage_entered_at=min(report.reported_at, now))
        self.lc = Lifecycle(self, stage=s.stage, on_stage_change=self._stage_changed)
        req = plan_snap.PlanRequest(plan=report.plan, assessment=report.assessment)
        wait = PLAN_RETRY_FIRST
        while True:
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
        g = loaded.grading
        reporter = plan_incident.Actor(name=report.reporter, role="reporter")
        self.record(report.reported_at, reporter, "reported",
                    {"graded_level": g.level.value, "level_name": g.level_name, "reasons": g.reasons,
                     "source": report.source, "plan": loaded.snapshot.ref,
                     **({"entered_by": started_by.model_dump()} if started_by else {})},
                    from_stage="reported")
        s.events["discovered"] = report.discovered_at
        s.linkage = {"bulletins": 0, "facts": {}, "cross_boundary": None, "support_requests": [],
                     "joint_investigation": None, "fire_engaged": report.source == "linkage_119"}
        if report.assessment.cross_boundary != "none":
            linkage.cross_boundary(self, report.assessment.cross_boundary, [], report.reported_at, reporter)
        reporting.open_clock(self, reporter.model_dump())  # the initial report (17号令 第三条)
        for name in deadlines.started_on(self.s, "discovered"):
            if name != "initial_report":
                self._start_deadline(name, report.discovered_at, g.level, None)

    def _adopt(self, state: m.IncidentState) -> None:
        self.s = state
        self.lc = Lifecycle(self, stage=state.stage, on_stage_change=self._stage_changed)

    @property
    def _ready(self) -> bool:
        return self.s is not None and self.s.plan is not None

    def _stage_changed(self, _from: str, to: str) -> None:
        self.s.stage = to
        # Business time of the action that moved it (a backdated action backdates the stage).
        self.s.stage_entered_at = self._transition_at or self._now()
        self.s.stage_entries += 1

    async def _continue_as_new(self) -> None:
        """A long incident starts a fresh history, keeping its (bounded) state. Handlers
        finish first (they are quick) and a delivery under way is waited for; what is still
        in the outbox is sent by the next run under the same keys. Printing is not waited for
        (slow, and updates keep arriving meanwhile): its items stay in the outbox and the next
        run prints them; the abandoned call's answer is dropped."""
        self._continuing = True  # actions from now on are refused unapplied, and sent again to the next run
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self._flush_task is None)
        self.s.runs += 1
        workflow.continue_as_new(m.IncidentInput(report=self.s.report, state=self.s))

    async def _close_out(self) -> None:
        """Closed: write the dossier, deliver what is left (hopeless ones end at once,
        others within effects.GIVE_UP), then complete."""
        s = self.s
        # The dossier is the incident's record as `status` answers it: the activity reads it
        # with the query (claim check) and merges the archive's timeline, so it never passes
        # through history.
        self.document("dossier", {"read": "status"})
        again = filing.on_close(self)
        while s.outbox or self._flush_task is not None or self._print_task is not None or again:
            if not s.outbox and self._flush_task is None and self._print_task is None:
                filing.add_record(self)  # the store's last word, listing every file written
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
        s, now = self.s, self._now()
        for what, d in deadlines.due_work(s, now):
            if what == "reminder":
                self.notify("deadline_reminder", f"提醒：{d.title}将于{checks.fmt(d.due_at)}到期", [d.who_acts],
                            {"deadline": d.name, "due_at": d.due_at.isoformat()})
                continue
            if what == "overdue":
                self.record(now, None, "deadline_overdue",
                            {"deadline": d.name, "due_at": d.due_at.isoformat(), "who_acts": d.who_acts})
            self.notify("deadline_overdue", f"逾期（第{d.escalations}次督办）：{d.title} — {s.report.title}",
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
            self.record(now, None, kind, {"error": f["error"], "next_try_at": f["next_try_at"]})
            self._dirty = True

    def _fault_cleared(self, kind: str) -> None:
        f = self.s.faults.pop(kind, None)
        if f is not None:
            restored = kind.replace("_unavailable", "_restored")
            self.record(self._now(), None, restored, {"since": f["since"], "tries": f["tries"]})

    def _next_wake(self) -> datetime | None:
        s = self.s
        times = [deadlines.next_wake(s), filing.wake(self)]
        times += [datetime.fromisoformat(f["next_try_at"]) for f in s.faults.values()]
        return min((t for t in times if t is not None), default=None)

    # ------------------------------------------------------------------ recording

    def _now(self) -> datetime:
        # Every time the incident records is in the bureau's zone, so records read alike.
        return self._timer.now().astimezone(SHANGHAI)

    def record(self, at: datetime, by, action: str, detail: dict, rejected: bool = False,
               backdate_reason: str | None = None, from_stage: str | None = None) -> m.TimelineEntry:
        self._dirty = True
        return timeline.record(self.s, self._now(), at, by, action, from_stage or self.s.stage, detail,
                               rejected=rejected, backdate_reason=backdate_reason)

    def transition(self, trigger: str, at: datetime, inp: m.Action, detail: dict,
                   action: str | None = None) -> m.TimelineEntry:
        before = self.s.stage
        self._transition_at = at
        self.lc.fire(trigger)
        self._transition_at = None
        return self.record(at, inp.by, action or trigger, detail, backdate_reason=self._backdated(inp, at),
                           from_stage=before)

    def _backdated(self, inp: m.Action, at: datetime) -> str | None:
        return inp.backdate_reason if self._now() - at > checks.BACKDATE_LIMIT else None

    def _event(self, name: str, at: datetime, entry: m.TimelineEntry) -> None:
        deadlines.meet(self.s, name, at, entry.seq, entry.backdate_reason is not None)
        self._dirty = True

    # ------------------------------------------------------------------ guards (named in lifecycle.py)

    def all_signatories_approved(self) -> bool:
        return termination.all_approved(self.s)

    def termination_is_others(self) -> bool:
        return checks.duty(self.s, "termination").mode == "records"

    def duties_done(self) -> bool:
        return not checks.close_missing(self.s)

    # ------------------------------------------------------------------ actions: the pipeline

    def _check(self, action: str, inp):
        if not self._ready:
            raise Refused("the incident is still loading its plan"
                          + (f": {self._problem}" if self._problem else "; try again in a moment"))
        return checks.CHECKS[action](self.s, self.lc, inp, self._now())

    def _validate(self, action: str, inp) -> None:
        if self._continuing:
            raise checks.NextRun()
        self._check(action, inp)

    async def _act(self, action: str, inp) -> m.ActionResult:
        async with self._lock:
            got = self._check(action, inp)
            prepared = await self._prepare(action, inp, got)
            got = self._check(action, inp)  # the state may have moved while the calendar answered
            apply = getattr(self, f"_apply_{action}", None) or (lambda *a: duties.APPLY[action](self, *a))
            result = apply(inp, got, prepared)  # no await from here on
        self._dirty = True
        return result

    def _result(self, action: str, message: str) -> m.ActionResult:
        return m.ActionResult(incident_id=self.s.incident_id, action=action, stage=self.s.stage, message=message)

    # ------------------------------------------------------------------ queries

    @workflow.query
    def status(self) -> dict:
        if not self._ready:
            return {"stage": None, "loading": True, "problem": self._problem}
        return status_view.view(self.s, [t for t in checks.ACTION_NAMES if self.lc.allowed(t)])

    @workflow.query
    def outbox(self, keys: list[str], after: int, upto: int) -> dict:
        """For the delivery activity (claim check): the payloads of the named outbox items
        and the timeline entries after..upto."""
        if not self._ready:
            return {"items": {}, "timeline": []}
        return effects.read(self.s, keys, after, upto)

    # ------------------------------------------------------------------ 3. warning

    @workflow.update
    async def propose_warning(self, inp: m.ProposeWarning) -> m.ActionResult:
        return await self._act("propose_warning", inp)

    @propose_warning.validator
    def _v_propose_warning(self, inp: m.ProposeWarning) -> None:
        self._validate("propose_warning", inp)

    @workflow.update
    async def issue_warning(self, inp: m.IssueWarning) -> m.ActionResult:
        return await self._act("issue_warning", inp)

    @issue_warning.validator
    def _v_issue_warning(self, inp: m.IssueWarning) -> None:
        self._validate("issue_warning", inp)

    @workflow.update
    async def lift_warning(self, inp: m.LiftWarning) -> m.ActionResult:
        return await self._act("lift_warning", inp)

    @lift_warning.validator
    def _v_lift_warning(self, inp: m.LiftWarning) -> None:
        self._validate("lift_warning", inp)

    # ------------------------------------------------------------------ 4.1 response

    @workflow.update
    async def activate_response(self, inp: m.ActivateResponse) -> m.ActionResult:
        return await self._act("activate_response", inp)

    @activate_response.validator
    def _v_activate_response(self, inp: m.ActivateResponse) -> None:
        self._validate("activate_response", inp)

    @workflow.update
    async def record_city_started(self, inp: m.RecordCityStarted) -> m.ActionResult:
        return await self._act("record_city_started", inp)

    @record_city_started.validator
    def _v_record_city_started(self, inp: m.RecordCityStarted) -> None:
        self._validate("record_city_started", inp)

    @workflow.update
    async def adjust_level(self, inp: m.AdjustLevel) -> m.ActionResult:
        return await self._act("adjust_level", inp)

    @adjust_level.validator
    def _v_adjust_level(self, inp: m.AdjustLevel) -> None:
        self._validate("adjust_level", inp)

    @workflow.update
    async def dispatch(self, inp: m.Dispatch) -> m.ActionResult:
        return await self._act("dispatch", inp)

    @dispatch.validator
    def _v_dispatch(self, inp: m.Dispatch) -> None:
        self._validate("dispatch", inp)

    # ------------------------------------------------------------------ 4.2 information reports

    @workflow.update
    async def submit_report(self, inp: m.SubmitReport) -> m.ActionResult:
        return await self._act("submit_report", inp)

    @submit_report.validator
    def _v_submit_report(self, inp: m.SubmitReport) -> None:
        self._validate("submit_report", inp)

    @workflow.update
    async def record_circumstances(self, inp: m.RecordCircumstances) -> m.ActionResult:
        return await self._act("record_circumstances", inp)

    @record_circumstances.validator
    def _v_record_circumstances(self, inp: m.RecordCircumstances) -> None:
        self._validate("record_circumstances", inp)

    # ------------------------------------------------------------------ 4.4 termination

    @workflow.update
    async def propose_termination(self, inp: m.ProposeTermination) -> m.ActionResult:
        return await self._act("propose_termination", inp)

    @propose_termination.validator
    def _v_propose_termination(self, inp: m.ProposeTermination) -> None:
        self._validate("propose_termination", inp)

    @workflow.update
    async def sign_off(self, inp: m.SignOff) -> m.ActionResult:
        return await self._act("sign_off", inp)

    @sign_off.validator
    def _v_sign_off(self, inp: m.SignOff) -> None:
        self._validate("sign_off", inp)

    @workflow.signal(name="sign_off_signal")
    def sign_off_signal(self, inp: m.SignOff) -> None:
        """Fire-and-forget sign-off: an invalid or stale one is recorded as rejected, with the
        sentence saying why (e.g. which round is open), and changes nothing else."""
        if not self._ready:
            return
        termination.by_signal(self, inp)

    @workflow.update
    async def approve_termination(self, inp: m.ApproveTermination) -> m.ActionResult:
        return await self._act("approve_termination", inp)

    @approve_termination.validator
    def _v_approve_termination(self, inp: m.ApproveTermination) -> None:
        self._validate("approve_termination", inp)

    # ------------------------------------------------------------------ 5. post-event

    @workflow.update
    async def record_aftercare(self, inp: m.RecordAftercare) -> m.ActionResult:
        return await self._act("record_aftercare", inp)

    @record_aftercare.validator
    def _v_record_aftercare(self, inp: m.RecordAftercare) -> None:
        self._validate("record_aftercare", inp)

    @workflow.update
    async def complete_investigation(self, inp: m.CompleteInvestigation) -> m.ActionResult:
        return await self._act("complete_investigation", inp)

    @complete_investigation.validator
    def _v_complete_investigation(self, inp: m.CompleteInvestigation) -> None:
        self._validate("complete_investigation", inp)

    @workflow.update
    async def assessment_review_passed(self, inp: m.AssessmentReviewPassed) -> m.ActionResult:
        return await self._act("assessment_review_passed", inp)

    @assessment_review_passed.validator
    def _v_assessment_review_passed(self, inp: m.AssessmentReviewPassed) -> None:
        self._validate("assessment_review_passed", inp)

    @workflow.update
    async def submit_assessment_report(self, inp: m.SubmitAssessmentReport) -> m.ActionResult:
        return await self._act("submit_assessment_report", inp)

    @submit_assessment_report.validator
    def _v_submit_assessment_report(self, inp: m.SubmitAssessmentReport) -> None:
        self._validate("submit_assessment_report", inp)

    @workflow.update
    async def close(self, inp: m.Close) -> m.ActionResult:
        return await self._act("close", inp)

    @close.validator
    def _v_close(self, inp: m.Close) -> None:
        self._validate("close", inp)

    @workflow.update
    async def recompute_deadlines(self, inp: m.RecomputeDeadlines) -> m.ActionResult:
        return await self._act("recompute_deadlines", inp)

    @recompute_deadlines.validator
    def _v_recompute_deadlines(self, inp: m.RecomputeDeadlines) -> None:
        self._validate("recompute_deadlines", inp)

    # ------------------------------------------------------------------ linkage (4.2.3, 协议 二)

    @workflow.update
    async def record_cross_boundary(self, inp: m.RecordCrossBoundary) -> m.ActionResult:
        return await self._act("record_cross_boundary", inp)

    @record_cross_boundary.validator
    def _v_record_cross_boundary(self, inp: m.RecordCrossBoundary) -> None:
        self._validate("record_cross_boundary", inp)

    @workflow.update
    async def request_support(self, inp: m.RequestSupport) -> m.ActionResult:
        return await self._act("request_support", inp)

    @request_support.validator
    def _v_request_support(self, inp: m.RequestSupport) -> None:
        self._validate("request_support", inp)

    @workflow.update
    async def answer_support(self, inp: m.SupportAnswer) -> m.ActionResult:
        return await self._act("answer_support", inp)

    @answer_support.validator
    def _v_answer_support(self, inp: m.SupportAnswer) -> None:
        self._validate("answer_support", inp)

    @workflow.update
    async def record_joint_investigation(self, inp: m.RecordJointInvestigation) -> m.ActionResult:
        return await self._act("record_joint_investigation", inp)

    @record_joint_investigation.validator
    def _v_record_joint_investigation(self, inp: m.RecordJointInvestigation) -> None:
        self._validate("record_joint_investigation", inp)

    # ------------------------------------------------------------------ per-level duties (plan.duties)

    @workflow.update
    async def record_other_termination(self, inp: m.RecordOtherTermination) -> m.ActionResult:
        return await self._act("record_other_termination", inp)

    @record_other_termination.validator
    def _v_record_other_termination(self, inp: m.RecordOtherTermination) -> None:
        self._validate("record_other_termination", inp)

    @workflow.update
    async def record_other_act(self, inp: m.RecordOtherAct) -> m.ActionResult:
        return await self._act("record_other_act", inp)

    @record_other_act.validator
    def _v_record_other_act(self, inp: m.RecordOtherAct) -> None:
        self._validate("record_other_act", inp)
