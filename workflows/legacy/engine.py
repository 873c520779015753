"""The frozen 1.x engine: the run loop, continue-as-new, status and the actions other than
termination and linkage, composed with the parts in this package."""

from __future__ import annotations

from workflows.legacy.common import *  # noqa: F401,F403  (the frozen engine's shared names)
from workflows.legacy.deadlines import DeadlinesV1
from workflows.legacy.effects import EffectsV1
from workflows.legacy.linkage import LinkageV1
from workflows.legacy.publishing import PublishingV1
from workflows.legacy.termination import TerminationV1


class IncidentV1(TerminationV1, LinkageV1, DeadlinesV1, PublishingV1, EffectsV1):
    def __init__(self, inp: m.IncidentInput) -> None:
        # Runs before any handler: updates that waited while the incident continued as new
        # reach the new run's first activation and must find its state already there.
        self.s: m.IncidentState | None = None
        self.lc: Lifecycle | None = None
        self._wake = False
        self._effects: set[asyncio.Task] = set()
        # Fewer commands per action: the attributes the start request (api.start_incident) or
        # the previous run already set are not sent again, the memo leaves out what the
        # attributes and the start memo carry, and the deadline timer stays while the next
        # wake time is unchanged (an action that moves no deadline starts and cancels none).
        # Patched, so incidents begun before this change replay as they ran.
        self._lean = workflow.patched("lean-commands")
        self._timer: asyncio.Task | None = None
        self._timer_at: datetime | None = None
        self._published: dict[str, Any] = {}
        if self._lean:  # an attribute the server does not have is unset: nothing to unset
            self._published = {key.name: None for key in sa.ALL} | {
                p.key.name: p.value for p in workflow.info().typed_search_attributes}
        self._published_memo: dict | None = None
        self._transition_at: datetime | None = None
        self._inflight: dict[int, dict] = {}  # side effects not yet through their quick tries
        self._effect_no = 0
        self._ready = False  # plan pinned and the first deadline set: actions may come in
        self._stuck_after: tuple[str, datetime | None] | None = None
        if inp.state is not None:
            self._adopt(inp.state)
            self._ready = True

    # ------------------------------------------------------------------ run

    async def run(self, inp: m.IncidentInput) -> dict:
        if inp.state is not None:  # continued as new: state adopted in __init__
            for entry in list(self.s.undelivered):  # what the last run could not deliver
                self._effect(self._redeliver(entry))
            carried, self.s.carried = self.s.carried, []
            for c in carried:  # what the last run had under way when it continued as new
                self._effect(self._reliably(c["kind"], c["payload"], c["what"]))
        else:
            await self._open(inp.report)
        while self.s.outcome is None:
            await self._fire_due()
            await self._refresh_stuck_after()
            self._publish()
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            wake = self._next_wake()
            self._wake = False
            if self._lean:
                timer = self._arm(wake)
                await workflow.wait_condition(lambda: self._wake or self.s.outcome is not None
                                              or (timer is not None and timer.done()))
                continue
            timeout = None if wake is None else max((wake - self._now()).total_seconds(), 0.001)
            try:
                await workflow.wait_condition(lambda: self._wake or self.s.outcome is not None,
                                              timeout=timeout)
            except asyncio.TimeoutError:
                pass
        if self._timer is not None:
            self._timer.cancel()
        self._publish()
        await self._archive("dossier", self.s.model_dump(mode="json"))
        await workflow.wait_condition(lambda: not self._effects and workflow.all_handlers_finished())
        return {"incident_id": self.s.incident_id, "outcome": self.s.outcome}

    async def _continue_as_new(self) -> None:
        """A long incident (thousands of reports) starts a fresh history, keeping its state.
        Handlers finish first (they are quick); side effects under way are carried over and
        sent again by the new run (notification keys and archive paths make that idempotent),
        so a steady stream of reports cannot starve the move."""
        try:  # let quick side effects land first, so few are carried over
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._inflight,
                                          timeout=timedelta(seconds=1))
        except asyncio.TimeoutError:
            await workflow.wait_condition(workflow.all_handlers_finished)
        s = self.s
        s.carried = list(self._inflight.values())
        if len(s.timeline) > KEEP_TIMELINE:
            old, s.timeline = s.timeline[:-KEEP_TIMELINE], s.timeline[-KEEP_TIMELINE:]
            summary = s.timeline_summary or {"entries": 0, "from_seq": old[0].seq, "from_at": old[0].at.isoformat(),
                                             "by_action": {}}
            summary["entries"] += len(old)
            summary["to_seq"], summary["to_at"] = old[-1].seq, old[-1].at.isoformat()
            for e in old:
                summary["by_action"][e.action] = summary["by_action"].get(e.action, 0) + 1
            s.timeline_summary = summary
        s.runs += 1
        workflow.continue_as_new(m.IncidentInput(report=s.report, state=s))

    async def _open(self, report) -> None:
        info = workflow.info()
        now = self._now()
        # Business time: the stage began when the incident was reported, not when we heard.
        self.s = m.IncidentState(incident_id=info.workflow_id.removeprefix("incident-"),
                                 report=report, stage_entered_at=min(report.reported_at, now))
        loaded = await workflow.execute_activity(
            load_plan_snapshot, PlanRequest(plan=report.plan, assessment=report.assessment), **QUICK)
        self._adopt(self.s.model_copy(update={"plan": loaded.snapshot, "grading": loaded.grading}))
        g = loaded.grading
        self._record(report.reported_at, Actor(name=report.reporter, role="reporter"), "reported",
                     "reported", {"graded_level": g.level.value, "level_name": g.level_name,
                                  "reasons": g.reasons, "source": report.source,
                                  "plan": loaded.snapshot.ref})
        self.s.events["discovered"] = report.discovered_at
        self.s.linkage = {"bulletins": 0, "facts": {}, "cross_boundary": None, "support_requests": [],
                          "joint_investigation": None, "fire_engaged": report.source == "linkage_119"}
        if report.assessment.cross_boundary != "none":
            self._cross_boundary(report.assessment.cross_boundary, [], report.reported_at,
                                 Actor(name=report.reporter, role="reporter"))
        await self._start_deadline("initial_report", report.discovered_at, g.level)
        self._ready = True

    def _adopt(self, state: m.IncidentState) -> None:
        self.s = state
        self.lc = Lifecycle(self, stage=state.stage, on_stage_change=self._stage_changed, transitions=TRANSITIONS_1X)

    def _stage_changed(self, _from: str, to: str) -> None:
        self.s.stage = to
        # Business time of the action that moved it (a backdated action backdates the stage).
        self.s.stage_entered_at = self._transition_at or self._now()

    # ------------------------------------------------------------------ queries

    def status(self) -> dict:
        if not self._ready:
            return {"stage": None, "loading": True}
        d = self.s.model_dump(mode="json", exclude={"report", "plan"})
        r = self.s.report
        return {
            **d,
            "title": r.title, "county": r.county, "location": r.location, "description": r.description,
            "reporter": r.reporter,
            "incident_type": r.incident_type, "source": r.source, "drill": r.drill,
            "discovered_at": r.discovered_at.isoformat(), "reported_at": r.reported_at.isoformat(),
            "graded_level": self.s.grading.level.value if self.s.grading else None,
            "level_name": self._level_name(self.s.level),
            "plan": self.s.plan.ref if self.s.plan else None,
            "signoffs": {g: s.model_dump(mode="json") for g, s in self.s.signoffs.items()},
            "pending_signoffs": self._pending_signoffs(),
            "waiting_on": self._waiting_on(),
            "allowed_actions": [t for t in ACTION_NAMES if self.lc and self.lc.allowed(t)],
        }

    # ------------------------------------------------------------------ guards (named in lifecycle.py)

    def all_signatories_approved(self) -> bool:
        return self.s.round > 0 and not self._pending_signoffs() and all(
            self.s.signoffs[g].decision == "approve" for g in self._signatories())

    def investigation_complete(self) -> bool:
        return "investigation_completed" in self.s.events

    def assessment_report_submitted(self) -> bool:
        return "assessment_report_submitted" in self.s.events

    # ------------------------------------------------------------------ validation helpers

    def _check(self, trigger: str, inp: m.Action) -> datetime:
        """Checks every action shares; returns the business time of the action."""
        if not self._ready:
            raise Refused("the incident is still loading its plan; try again in a moment")
        if self.s.outcome is not None:
            raise Refused(f"incident {self.s.incident_id} is closed ({self.s.outcome}); no further actions")
        if not self.lc.allowed(trigger):
            where = ", ".join(self.lc.stages_for(trigger))
            raise Refused(f"cannot {ACTION_NAMES[trigger]} in stage {self.s.stage}: only in {where}")
        now = self._now()
        at = (inp.at or now).astimezone(SHANGHAI)
        if at > now + FUTURE_TOLERANCE:
            raise Refused(f"at {_fmt(at)} is in the future (more than 5 minutes ahead of {_fmt(now)})")
        if at < self.s.report.discovered_at:
            raise Refused(f"at {_fmt(at)} is before the incident was discovered ({_fmt(self.s.report.discovered_at)})")
        return at

    def _signatories(self) -> list[str]:
        return list(self.s.plan.termination.signatories)

    def _pending_signoffs(self) -> list[str]:
        if self.s.stage != "termination_pending":
            return []
        return [g for g in self._signatories() if g not in self.s.signoffs]

    def _group_name(self, gid: str) -> str:
        return self.s.plan.groups.get(gid, gid)

    def _level_name(self, level: Level | None) -> str | None:
        return self.s.plan.levels[level].name if level and self.s.plan else None

    def _known_group(self, gid: str) -> None:
        if gid not in self.s.plan.groups:
            raise Refused(f"unknown group {gid!r}: the groups are {', '.join(self.s.plan.groups)}")

    # ------------------------------------------------------------------ 3. warning

    async def issue_warning(self, inp: m.IssueWarning) -> m.ActionResult:
        at = self._check_issue_warning(inp)
        items = [{"id": a.id, "name": a.name, "source": a.source, "done": a.id in inp.actions_done}
                 for a in self.s.plan.warning_actions]
        self.s.warning = {"at": at.isoformat(), "by": inp.by.model_dump(),
                          "recommendation": inp.recommendation, "actions": items}
        self._transition("issue_warning", at, inp.by, {"recommendation": inp.recommendation,
                                                      "actions_done": inp.actions_done})
        self._notify("warning_issued", f"预警：{self.s.report.title}", self.s.plan.report_recipients,
                     {"recommendation": inp.recommendation})
        return self._result("issue_warning", "warning issued (3.1); warning actions 3.2 listed in status")

    def _check_issue_warning(self, inp: m.IssueWarning) -> datetime:
        at = self._check("issue_warning", inp)
        known = [a.id for a in self.s.plan.warning_actions]
        for a in inp.actions_done:
            if a not in known:
                raise Refused(f"unknown warning action {a!r}: the actions (3.2) are {', '.join(known)}")
        return at

    async def lift_warning(self, inp: m.LiftWarning) -> m.ActionResult:
        at = self._check("lift_warning", inp)
        self.s.outcome = "warning_lifted"
        self._transition("lift_warning", at, inp.by, {"reason": inp.reason})
        self._notify("warning_lifted", f"预警解除：{self.s.report.title}", self.s.plan.report_recipients,
                     {"reason": inp.reason})
        return self._result("lift_warning", "warning lifted (3.3); incident closed")

    def _check_lift_warning(self, inp: m.LiftWarning) -> None:
        self._check("lift_warning", inp)

    # ------------------------------------------------------------------ 4.1 response

    async def activate_response(self, inp: m.ActivateResponse) -> m.ActionResult:
        at, level = self._check_activate(inp)
        graded = self.s.grading.level
        self.s.level = level
        self.s.level_changes.append(m.LevelChange(at=at, by=inp.by, from_level=None, to_level=level,
                                                  reason=inp.reason))
        self.s.city_started = inp.city_started
        approved_by = inp.approved_by or inp.by.name
        entry = self._transition("activate_response", at, inp.by, {
            "level": level.value, "graded_level": graded.value, "reason": inp.reason,
            "approved_by": approved_by, "city_started": inp.city_started})
        brief = self.s.plan.levels[level]
        r = self.s.report
        self._archive("activation_notice", {
            "plan_title": self.s.plan.title, "plan_document_number": self.s.plan.document_number,
            "approved_by": approved_by, "discovered_at": r.discovered_at.isoformat(),
            "county": r.county, "location": r.location, "title": r.title, "level": level.value,
            "level_name": brief.name, "graded_level": graded.value, "reason": inp.reason,
            "at": at.isoformat()}, entry.seq)
        recipients = list(self.s.plan.report_recipients)
        if brief.asks_city_to_start:
            recipients.append("市突发环境事件应急指挥部")  # 4.1.2(1): ask the city HQ to start its plan
        self._notify("response_activated", f"启动{brief.response_name}：{r.title}", recipients,
                     {"level": level.value, "city_started": inp.city_started})
        self._bulletin("response_activated", at)
        await self._start_deadline("readiness", at, level)
        return self._result("activate_response", f"{brief.response_name} ({brief.name}) activated")

    def _check_activate(self, inp: m.ActivateResponse) -> tuple[datetime, Level]:
        at = self._check("activate_response", inp)
        graded = self.s.grading.level
        level = inp.level or graded
        if level != graded and not (inp.reason or "").strip():
            raise Refused(f"level {level.value} differs from the graded level {graded.value}: "
                          "give a reason (4.1.5)")
        return at, level

    async def record_city_started(self, inp: m.RecordCityStarted) -> m.ActionResult:
        at = self._check_city_started(inp)
        self.s.city_started = True
        self._transition("record_city_started", at, inp.by, {"note": inp.note})
        return self._result("record_city_started",
                            "recorded: the city government started its response; the city HQ decides termination (4.4)")

    def _check_city_started(self, inp: m.RecordCityStarted) -> datetime:
        at = self._check("record_city_started", inp)
        if self.s.city_started:
            raise Refused("already recorded: the city government started its response")
        return at

    async def adjust_level(self, inp: m.AdjustLevel) -> m.ActionResult:
        at = self._check_adjust(inp)
        old = self.s.level
        self.s.level = inp.level
        self.s.level_changes.append(m.LevelChange(at=at, by=inp.by, from_level=old, to_level=inp.level,
                                                  reason=inp.reason))
        self._transition("adjust_level", at, inp.by, {"from_level": old.value, "to_level": inp.level.value,
                                                     "reason": inp.reason})
        self._notify("level_adjusted", f"响应级别调整 {old.value}→{inp.level.value}：{self.s.report.title}",
                     self.s.plan.report_recipients, {"reason": inp.reason})
        if not any(d.name == "readiness" for d in self.s.deadlines):
            await self._start_deadline("readiness", at, inp.level)
        return self._result("adjust_level", f"level {old.value} → {inp.level.value} (4.1.5)")

    def _check_adjust(self, inp: m.AdjustLevel) -> datetime:
        at = self._check("adjust_level", inp)
        if inp.level == self.s.level:
            raise Refused(f"the response is already at level {inp.level.value}")
        return at

    async def dispatch(self, inp: m.Dispatch) -> m.ActionResult:
        at = self._check_dispatch(inp)
        self.s.leads = {g: name.strip() for g, name in inp.leads.items()}
        self._event("dispatched", at)
        self._transition("dispatch", at, inp.by, {"leads": self.s.leads})
        self._notify("groups_dispatched", f"工作组出动：{self.s.report.title}",
                     [f"{self._group_name(g)} {n}" for g, n in self.s.leads.items()], {"leads": self.s.leads})
        return self._result("dispatch", f"{len(self.s.leads)} groups dispatched; on site")

    def _check_dispatch(self, inp: m.Dispatch) -> datetime:
        at = self._check("dispatch", inp)
        for g in inp.leads:
            self._known_group(g)
        missing = [g for g in self._signatories() if g not in inp.leads]
        if missing:
            raise Refused(f"name the lead of {', '.join(missing)}: "
                          f"{', '.join(self._signatories())} must be dispatched (they sign termination, 附件2)")
        return at

    # ------------------------------------------------------------------ 4.2 information reports

    async def submit_report(self, inp: m.SubmitReport) -> m.ActionResult:
        at = self._check_report(inp)
        kind_name = REPORT_KIND_NAMES[inp.kind]
        # The state keeps a short summary: the full report is in the archive, and a long
        # incident's state must stay far below Temporal's payload limits.
        self.s.reports.append({"kind": inp.kind, "at": at.isoformat(), "by": inp.by.model_dump(),
                               "summary": _short(inp.content.summary)})
        if inp.kind == "initial":
            self._event("initial_report_submitted", at)
        facts = {k: _short(v, 1000) for k, v in inp.content.model_dump().items() if v}
        self.s.linkage.setdefault("facts", {}).update(facts)
        if inp.content.fire_forces:
            self.s.linkage["fire_engaged"] = True
        entry = self._transition("submit_report", at, inp.by, {"kind": inp.kind, "summary": _short(inp.content.summary)})
        self._archive("info_report", {"kind_name": kind_name, "title": self.s.report.title,
                                      "recipients": self.s.plan.report_recipients, "by": str(inp.by),
                                      "at": at.isoformat(), "content": inp.content.model_dump()}, entry.seq)
        self._notify("info_report", f"{kind_name}：{self.s.report.title}", self.s.plan.report_recipients,
                     {"kind": inp.kind, "summary": inp.content.summary})
        if inp.kind == "progress":
            self._bulletin("progress_report", at)
        return self._result("submit_report", f"{kind_name} recorded and sent to {'、'.join(self.s.plan.report_recipients)}")

    def _check_report(self, inp: m.SubmitReport) -> datetime:
        at = self._check("submit_report", inp)
        if inp.kind == "initial" and "initial_report_submitted" in self.s.events:
            raise Refused(f"the initial report (初报) was made at {_fmt(self.s.events['initial_report_submitted'])}; "
                          "send a progress report (续报) instead")
        return at

    # ------------------------------------------------------------------ 4.4 termination

    async def record_aftercare(self, inp: m.RecordAftercare) -> m.ActionResult:
        at = self._check("record_aftercare", inp)
        self.s.aftercare.append({"at": at.isoformat(), "by": inp.by.model_dump(), "note": inp.note})
        self._transition("record_aftercare", at, inp.by, {"note": inp.note})
        return self._result("record_aftercare", "aftercare recorded (5.1)")

    def _check_aftercare(self, inp: m.RecordAftercare) -> None:
        self._check("record_aftercare", inp)

    async def complete_investigation(self, inp: m.CompleteInvestigation) -> m.ActionResult:
        at = self._check_investigation(inp)
        self._event("investigation_completed", at)
        self._transition("complete_investigation", at, inp.by, {"summary": inp.summary})
        return self._result("complete_investigation", "investigation completed (5.2)")

    def _check_investigation(self, inp: m.CompleteInvestigation) -> datetime:
        at = self._check("complete_investigation", inp)
        if "investigation_completed" in self.s.events:
            raise Refused(f"the investigation was completed at {_fmt(self.s.events['investigation_completed'])}")
        return at

    async def assessment_review_passed(self, inp: m.AssessmentReviewPassed) -> m.ActionResult:
        at, review_date = self._check_review(inp)
        self.s.review_date = review_date
        # The report deadline counts working days from the day after the review date.
        start = datetime.combine(review_date, datetime.min.time(), tzinfo=self._tz()) + timedelta(hours=12)
        self._event("assessment_review_passed", start if start < at else at)
        self._transition("assessment_review_passed", at, inp.by, {"review_date": review_date.isoformat()})
        d = await self._start_deadline("assessment_report", start, self.s.level)
        due = f"; the report is due {d.due_date} (5.3)" if d and d.due_date else ""
        return self._result("assessment_review_passed", f"assessment report passed review on {review_date}{due}")

    def _check_review(self, inp: m.AssessmentReviewPassed):
        at = self._check("assessment_review_passed", inp)
        if self.s.review_date is not None:
            raise Refused(f"the assessment already passed review on {self.s.review_date}")
        tz = self._tz()
        review_date = inp.review_date or at.astimezone(tz).date()
        if review_date > self._now().astimezone(tz).date():
            raise Refused(f"review date {review_date} is in the future")
        if review_date < self.s.report.discovered_at.astimezone(tz).date():
            raise Refused(f"review date {review_date} is before the incident was discovered")
        return at, review_date

    async def submit_assessment_report(self, inp: m.SubmitAssessmentReport) -> m.ActionResult:
        at, recipients = self._check_submit_assessment(inp)
        self._event("assessment_report_submitted", at)
        joint = self.s.linkage.get("joint_investigation")
        detail = {"recipients": recipients, "joint_investigation": joint}  # 协议 二.5: loss assessment notes it
        self._transition("submit_assessment_report", at, inp.by, detail)
        self._notify("assessment_report_submitted", f"损害评估报告报送：{self.s.report.title}", recipients,
                     {"joint_investigation": joint})
        return self._result("submit_assessment_report", f"assessment report sent to {'、'.join(recipients)} (5.3)")

    def _check_submit_assessment(self, inp: m.SubmitAssessmentReport):
        at = self._check("submit_assessment_report", inp)
        if self.s.review_date is None:
            raise Refused("the assessment report has not passed review yet: record review-passed first (5.3)")
        if "assessment_report_submitted" in self.s.events:
            raise Refused(f"the assessment report was submitted at {_fmt(self.s.events['assessment_report_submitted'])}")
        required = self.s.plan.assessment_report_recipients
        recipients = inp.recipients or required
        missing = [r for r in required if r not in recipients]
        if missing:
            raise Refused(f"the assessment report goes to {'、'.join(required)} (5.3); missing: {'、'.join(missing)}")
        return at, recipients

    async def close(self, inp: m.Close) -> m.ActionResult:
        at = self._check_close(inp)
        self.s.outcome = "completed"
        self._transition("close", at, inp.by, {"note": inp.note})
        self._notify("incident_closed", f"事件处置完毕：{self.s.report.title}", self.s.plan.report_recipients, {})
        return self._result("close", "incident closed (completed)")

    def _check_close(self, inp: m.Close) -> datetime:
        at = self._check("close", inp)
        missing = []
        if not self.investigation_complete():
            missing.append("the investigation is not complete (5.2)")
        if not self.assessment_report_submitted():
            missing.append("the assessment report is not submitted (5.3)")
        if missing:
            raise Refused("cannot close yet: " + "; ".join(missing))
        return at

    async def recompute_deadlines(self, inp: m.RecomputeDeadlines) -> m.ActionResult:
        self._check("recompute_deadlines", inp)
        changed = []
        for d in list(self.s.deadlines):
            if not (d.provisional and d.due_date and d.status in ("pending", "overdue")):
                continue
            rule = self.s.plan.deadline(d.name)
            sched = await workflow.execute_activity_method(
                CalendarActivities.schedule_deadline,
                ScheduleRequest(start=d.started_at, duration=rule.duration_for(self.s.level or Level.IV),
                                reminders=rule.reminders), **QUICK)
            if sched.due.at != d.due_at or sched.due.provisional != d.provisional:
                changed.append(f"{d.name}: {d.due_date} → {sched.due.day}")
                d.due_at, d.due_date, d.provisional = sched.due.at, sched.due.day, sched.due.provisional
                d.reminders_at = [r.at for r in sched.reminders]
                if d.status == "overdue" and d.due_at > self._now():
                    d.status = "pending"
        self._record(inp.at or self._now(), inp.by, "recompute_deadlines", self.s.stage, {"changed": changed})
        self._wake = True
        return self._result("recompute_deadlines", "; ".join(changed) or "no provisional due date changed")

    # ------------------------------------------------------------------ linkage (4.2.3, 协议 二)

    def _tz(self):
        return SHANGHAI

    @staticmethod
    def _now() -> datetime:
        # Every time the incident records is in the bureau's zone, so records read alike.
        return workflow.now().astimezone(SHANGHAI)

    def _event(self, name: str, at: datetime) -> None:
        """A business event that may meet a deadline."""
        self.s.events[name] = at
        for d in self.s.deadlines:
            if MET_BY.get(d.name) == name and d.status in ("pending", "overdue"):
                self._meet(d, at)

    def _transition(self, trigger: str, at: datetime, by: Actor, detail: dict, action: str | None = None):
        before = self.s.stage
        self._transition_at = at
        self.lc.fire(trigger)
        self._transition_at = None
        self._wake = True
        return self._record(at, by, action or trigger, before, detail)

    def _record(self, at: datetime, by: Actor | None, action: str, from_stage: str, detail: dict,
                rejected: bool = False) -> m.TimelineEntry:
        entry = m.TimelineEntry(seq=self._last_seq() + 1, at=at, recorded_at=self._now(), by=by,
                                action=action, from_stage=from_stage, to_stage=self.s.stage,
                                detail=detail, rejected=rejected)
        self.s.timeline.append(entry)
        self._wake = True
        return entry

    def _result(self, action: str, message: str) -> m.ActionResult:
        if not self._lean:  # lean: the main loop publishes once, after the stage's stuck time is known
            self._publish()
        return m.ActionResult(incident_id=self.s.incident_id, action=action, stage=self.s.stage, message=message)


# The validator of each action (the shell calls it for a 1.x incident).
VALIDATORS: dict[str, str | None] = {
    "issue_warning": "_check_issue_warning",
    "lift_warning": "_check_lift_warning",
    "activate_response": "_check_activate",
    "record_city_started": "_check_city_started",
    "adjust_level": "_check_adjust",
    "dispatch": "_check_dispatch",
    "submit_report": "_check_report",
    "propose_termination": "_check_propose",
    "sign_off": "_check_sign_off",
    "approve_termination": "_check_approve",
    "record_aftercare": "_check_aftercare",
    "complete_investigation": "_check_investigation",
    "assessment_review_passed": "_check_review",
    "submit_assessment_report": "_check_submit_assessment",
    "close": "_check_close",
    "recompute_deadlines": None,  # 1.x had no validator for it
    "record_cross_boundary": "_check_cross_boundary",
    "request_support": "_check_request_support",
    "answer_support": "_check_answer_support",
    "record_joint_investigation": "_check_joint",
}
