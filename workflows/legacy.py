"""The incident engine of ecoplan 1.x, frozen: incidents begun before the 2.0 engine
(`workflows/incident.py`) keep running, and their recorded histories keep replaying, on
exactly the commands they were recorded with. IncidentWorkflow hands such an incident to
this class when `workflow.patched("incident-2")` is false for it (no 2.0 marker in its
history). Do not change what this code emits; delete it once no incident begun before
2.0 can still be running or be queried (tests/histories/README.md says how to tell).

A 1.x incident that continues as new starts its next run on the 2.0 engine, which adopts
its state (`workflows.incident.adopt_v1`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Awaitable

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.archive import Archive, Document
    from activities.calendar import CalendarActivities
    from activities.notify import Notification, Notifier
    from activities.plan_snapshot import load_plan_snapshot
    from plan.calendar import SHANGHAI
    from plan.deadlines import ScheduleRequest, TimeRequest
    from plan.incident import REPORT_KIND_NAMES, Actor
    from plan.models import MET_BY, Level
    from plan.snapshot import PlanRequest
    # `import a.b as m`, not `from a import b`: the latter slips past the sandbox's
    # pass-through and re-runs messages.py (20 pydantic models) for every workflow instance.
    import workflows.messages as m
    import workflows.search_attributes as sa
    from workflows.lifecycle import TRANSITIONS_1X, Lifecycle
    from workflows.checks import Refused

FUTURE_TOLERANCE = timedelta(minutes=5)
SYSTEM = None  # timeline entries made by the workflow itself have no `by`

QUICK = dict(start_to_close_timeout=timedelta(seconds=30),
             retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)))
# Notifications and documents must get through eventually: retry without limit, backing off.
PERSISTENT = dict(start_to_close_timeout=timedelta(seconds=30),
                  retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1),
                                           backoff_coefficient=2.0,
                                           maximum_interval=timedelta(minutes=5)))

ACTION_NAMES = {
    "issue_warning": "issue a warning", "lift_warning": "lift the warning",
    "activate_response": "activate a response", "adjust_level": "adjust the level",
    "record_city_started": "record that the city started its response",
    "dispatch": "dispatch the groups", "submit_report": "submit a report",
    "propose_termination": "propose termination", "sign_off": "sign off termination",
    "approve_termination": "approve termination", "record_aftercare": "record aftercare",
    "complete_investigation": "complete the investigation",
    "assessment_review_passed": "record the assessment review", 
    "submit_assessment_report": "submit the assessment report", "close": "close the incident",
    "recompute_deadlines": "recompute deadlines",
    "record_cross_boundary": "record a cross-boundary incident", "request_support": "request support (商请)",
    "answer_support": "record a support answer", "record_joint_investigation": "record the joint investigation group",
}
KEEP_TIMELINE = 1000  # entries kept in full across continue-as-new; older ones are summarised
FIRST_TRY = dict(start_to_close_timeout=timedelta(seconds=30),
                 retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                                          maximum_interval=timedelta(seconds=4), maximum_attempts=4))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(t: datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat(timespec="minutes")


class IncidentV1:
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

    async def propose_termination(self, inp: m.ProposeTermination) -> m.ActionResult:
        at = self._check("propose_termination", inp)
        self.s.round += 1
        self.s.signoffs = {}
        self.s.termination = {"round": self.s.round, "proposed_by": inp.by.model_dump(),
                              "proposed_at": at.isoformat(), "reason": inp.reason}
        self._transition("propose_termination", at, inp.by, {"reason": inp.reason, "round": self.s.round})
        self._notify("termination_proposed", f"应急响应终止签报（第{self.s.round}轮）：{self.s.report.title}",
                     [f"{self._group_name(g)} {self.s.leads[g]}" for g in self._signatories()],
                     {"reason": inp.reason})
        return self._result("propose_termination",
                            f"termination proposed (round {self.s.round}); waiting for {', '.join(self._pending_signoffs())}")

    def _check_propose(self, inp: m.ProposeTermination) -> None:
        self._check("propose_termination", inp)

    async def sign_off(self, inp: m.SignOff) -> m.ActionResult:
        at = self._check_sign_off(inp)
        return self._apply_sign_off(inp, at)

    def _check_sign_off(self, inp: m.SignOff) -> datetime:
        at = self._check("sign_off", inp)
        self._known_group(inp.group)
        if inp.group not in self._signatories():
            raise Refused(f"{inp.group} does not sign termination: the signatories (附件2) are "
                          f"{', '.join(self._signatories())}")
        named = self.s.leads.get(inp.group)
        if inp.lead.strip() != named:
            raise Refused(f"the {inp.group} lead named at dispatch is {named}, not {inp.lead.strip()}")
        if inp.by.name != named:
            raise Refused(f"a sign-off is made by the lead: by is {inp.by.name}, the {inp.group} lead is {named}")
        done = self.s.signoffs.get(inp.group)
        if done:
            raise Refused(f"{inp.group} already signed in round {self.s.round} "
                          f"({done.decision}, {_fmt(done.at)})")
        if inp.decision == "reject" and not inp.opinion.strip():
            raise Refused("a rejection needs an opinion: say why the response should go on")
        return at

    def sign_off_signal(self, inp: m.SignOff) -> None:
        """Fire-and-forget sign-off: an invalid one is recorded as rejected and changes nothing else."""
        try:
            at = self._check_sign_off(inp)
        except ApplicationError as e:
            if self.s is not None:
                self._record(inp.at or self._now(), inp.by, "sign_off", self.s.stage,
                             {"group": inp.group, "lead": inp.lead, "decision": inp.decision,
                              "reason": e.message, "via": "signal"}, rejected=True)
            return
        self._apply_sign_off(inp, at)

    def _apply_sign_off(self, inp: m.SignOff, at: datetime) -> m.ActionResult:
        rec = m.SignOffRecord(round=self.s.round, group=inp.group, lead=inp.lead.strip(),
                              decision=inp.decision, opinion=inp.opinion, at=at, by=inp.by)
        self.s.signoffs[inp.group] = rec
        self.s.signoff_history.append(rec)
        detail = {"group": inp.group, "lead": rec.lead, "decision": inp.decision, "opinion": inp.opinion,
                  "round": self.s.round}
        if inp.decision == "reject":
            self._transition("reject_termination", at, inp.by, detail, action="sign_off")
            self._notify("termination_rejected", f"终止签报被{self._group_name(inp.group)}否决：{self.s.report.title}",
                         [self.s.plan.commander], detail)
            return self._result("sign_off", f"{inp.group} rejected termination; back on site: {inp.opinion}")
        self._transition("sign_off", at, inp.by, detail)
        pending = self._pending_signoffs()
        if pending:
            return self._result("sign_off", f"{inp.group} approved; waiting for {', '.join(pending)}")
        self._notify("termination_ready", f"三组组长均已同意终止，请指挥批示：{self.s.report.title}",
                     [self.s.plan.commander], {"round": self.s.round})
        return self._result("sign_off", f"{inp.group} approved; all signatories approved, waiting for the commander")

    async def approve_termination(self, inp: m.ApproveTermination) -> m.ActionResult:
        at = self._check_approve(inp)
        self.s.termination.update({"approved_by": inp.by.model_dump(), "approved_at": at.isoformat(),
                                   "instruction": inp.instruction, "city_decision": inp.city_decision})
        self._event("response_terminated", at)
        entry = self._transition("approve_termination", at, inp.by,
                                 {"instruction": inp.instruction, "city_decision": inp.city_decision,
                                  "round": self.s.round})
        t = self.s.termination
        self._archive("termination_form", {
            "plan_title": self.s.plan.title, "proposed_by": str(Actor(**t["proposed_by"])),
            "proposed_at": t["proposed_at"], "reason": t["reason"], "condition": self.s.plan.termination.condition,
            "signoffs": [{**self.s.signoffs[g].model_dump(mode="json"), "group_name": self._group_name(g)}
                         for g in self._signatories()],
            "instruction": inp.instruction, "approved_by": str(inp.by), "approved_at": at.isoformat(),
            "city_decision": inp.city_decision}, entry.seq)
        self._notify("response_terminated", f"应急响应终止：{self.s.report.title}",
                     self.s.plan.report_recipients + [f"{self._group_name(g)}" for g in self.s.leads],
                     {"instruction": inp.instruction})
        for name in ("assessment_completion", "investigation"):
            await self._start_deadline(name, at, self.s.level)
        return self._result("approve_termination", "termination approved; post-event handling (5.x) begins")

    def _check_approve(self, inp: m.ApproveTermination) -> datetime:
        at = self._check("approve_termination", inp)
        pending = self._pending_signoffs()
        if pending:
            who = ", ".join(f"{g} ({self.s.leads.get(g)})" for g in pending)
            raise Refused(f"waiting for sign-off from {who}: the commander approves after all three")
        plan = self.s.plan
        if inp.by.role not in plan.approver_roles:
            raise Refused(f"termination is approved by the commander ({plan.termination.approver}) "
                          f"or a deputy: role must be one of {', '.join(plan.approver_roles)}, not {inp.by.role}")
        if plan.approver_people and inp.by.name not in plan.approver_people:
            raise Refused(f"{inp.by.name} is not named in the plan as commander or deputy")
        if self.s.city_started and not (inp.city_decision or "").strip():
            raise Refused("the city government started the response, so the city headquarters decides "
                          "termination (4.4): record its decision (who decided, and what) with city_decision")
        if not self.lc.may_approve_termination():
            raise Refused("not every signatory approved in this round")
        return at

    # ------------------------------------------------------------------ 5. post-event

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

    def _partners(self) -> dict[str, str]:
        lk = self.s.plan.linkage
        return {p.id: p.name for p in lk.partners} if lk else {}

    def _bulletin(self, trigger: str, at: datetime) -> None:
        """The linkage bulletin to the partners the plan lists, with the agreement's fields."""
        lk = self.s.plan.linkage
        if lk is None:
            return
        r, facts = self.s.report, self.s.linkage.get("facts", {})
        values = {
            "time": r.discovered_at.astimezone(SHANGHAI).isoformat(timespec="minutes"),
            "place": f"{r.county}{r.location}",
            "preliminary_cause": facts.get("cause_and_nature") or facts.get("source"),
            "casualties": facts.get("casualties"),
            "fire_forces": facts.get("fire_forces"),
            "fire_water_used": facts.get("fire_water_used"),
            "impact_and_hidden_dangers": "；".join(x for x in (facts.get("drinking_water_sources_affected"),
                                                              facts.get("hidden_dangers")) if x) or None,
            "monitoring_data": facts.get("monitoring_data"),
            "affected_area": facts.get("affected_area"),
            "trend": facts.get("trend"),
        }
        fields = {f.id: {"label": f.label, "value": values.get(f.id) or "待核实"} for f in lk.bulletin_fields}
        self.s.linkage["bulletins"] = n = self.s.linkage.get("bulletins", 0) + 1
        recipients = [p.name for p in lk.partners]
        self._record(at, SYSTEM, "linkage_bulletin", self.s.stage, {"no": n, "trigger": trigger,
                                                                     "recipients": recipients})
        self._notify("linkage_bulletin", f"应急联动信息通报（第{n}期）：{r.title}", recipients,
                     {"no": n, "trigger": trigger, "fields": fields})

    def _cross_boundary(self, scope: str, neighbours: list[str], at: datetime, by: Actor) -> None:
        lk = self.s.plan.linkage
        targets = list(neighbours) or (lk.neighbours_notified if lk else ["相邻区域人民政府", "相邻区域生态环境部门"])
        self.s.linkage["cross_boundary"] = scope
        self._record(at, by, "record_cross_boundary", self.s.stage, {"scope": scope, "notified": targets})
        self._notify("cross_boundary", f"跨区域通报（{scope}）：{self.s.report.title}", targets, {"scope": scope})
        if scope == "province":  # 4.2.3: report to the province and recommend notifying the neighbours
            to = lk.cross_province_report_to if lk else ["省人民政府", "省生态环境厅"]
            self._notify("cross_province_report", f"跨省级行政区域事件报告及通报建议：{self.s.report.title}", to,
                         {"recommendation": "建议向相邻省级行政区域人民政府通报", "neighbours": targets})

    async def record_cross_boundary(self, inp: m.RecordCrossBoundary) -> m.ActionResult:
        at = self._check_cross_boundary(inp)
        self._cross_boundary(inp.scope, inp.neighbours, at, inp.by)
        return self._result("record_cross_boundary", f"cross-boundary ({inp.scope}) recorded; neighbours notified (4.2.3)")

    def _check_cross_boundary(self, inp: m.RecordCrossBoundary) -> datetime:
        at = self._check("record_cross_boundary", inp)
        order = ["county_dispute", "city", "province"]
        now = self.s.linkage.get("cross_boundary")
        if now is not None and order.index(inp.scope) <= order.index(now):
            raise Refused(f"already recorded as cross-boundary ({now}); only a wider scope can be added")
        return at

    async def request_support(self, inp: m.RequestSupport) -> m.ActionResult:
        at = self._check_request_support(inp)
        reqs = self.s.linkage.setdefault("support_requests", [])
        no = len(reqs) + 1
        name = self._partners()[inp.partner]
        reqs.append({"no": no, "partner": inp.partner, "partner_name": name, "request": inp.request,
                     "at": at.isoformat(), "by": inp.by.model_dump(), "answer": None})
        self._record(at, inp.by, "request_support", self.s.stage, {"no": no, "partner": inp.partner,
                                                                     "request": inp.request})
        self._notify("support_request", f"商请支援（第{no}号）：{self.s.report.title}", [name], {"request": inp.request})
        return self._result("request_support", f"support request no. {no} sent to {name}")

    def _check_request_support(self, inp: m.RequestSupport) -> datetime:
        at = self._check("request_support", inp)
        partners = self._partners()
        if inp.partner not in partners:
            raise Refused(f"unknown partner {inp.partner!r}: the plan's linkage partners are "
                          f"{', '.join(partners) or 'none'}")
        return at

    async def answer_support(self, inp: m.SupportAnswer) -> m.ActionResult:
        at = self._check_answer_support(inp)
        req = self.s.linkage["support_requests"][inp.request_no - 1]
        req["answer"] = {"answer": inp.answer, "note": inp.note, "at": at.isoformat(), "by": inp.by.model_dump()}
        if inp.answer == "accepted" and req["partner"] == getattr(self.s.plan.linkage, "fire_brigade", None):
            self.s.linkage["fire_engaged"] = True
        self._record(at, inp.by, "answer_support", self.s.stage, {"no": inp.request_no, "answer": inp.answer,
                                                                   "note": inp.note})
        return self._result("answer_support", f"support request no. {inp.request_no}: {inp.answer}")

    def _check_answer_support(self, inp: m.SupportAnswer) -> datetime:
        at = self._check("answer_support", inp)
        reqs = self.s.linkage.get("support_requests", [])
        if not 1 <= inp.request_no <= len(reqs):
            raise Refused(f"no support request no. {inp.request_no} (there are {len(reqs)})")
        if reqs[inp.request_no - 1]["answer"]:
            raise Refused(f"support request no. {inp.request_no} was already answered")
        return at

    async def record_joint_investigation(self, inp: m.RecordJointInvestigation) -> m.ActionResult:
        at = self._check_joint(inp)
        self.s.linkage["joint_investigation"] = {"members": inp.members, "note": inp.note, "at": at.isoformat(),
                                                 "by": inp.by.model_dump()}
        self._record(at, inp.by, "record_joint_investigation", self.s.stage, {"members": inp.members, "note": inp.note})
        return self._result("record_joint_investigation", "joint investigation group with the fire brigade recorded (协议 二.5)")

    def _check_joint(self, inp: m.RecordJointInvestigation) -> datetime:
        at = self._check("record_joint_investigation", inp)
        if not self.s.linkage.get("fire_engaged"):
            raise Refused("the fire brigade was not engaged in this incident; a joint investigation group "
                          "(协议 二.5) is formed when it was")
        if self.s.linkage.get("joint_investigation"):
            raise Refused("the joint investigation group is already recorded")
        if not inp.members:
            raise Refused("name the members of the joint investigation group")
        return at

    # ------------------------------------------------------------------ deadlines

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

    def _waiting_on(self) -> list[str]:
        s = self.s
        if s.outcome is not None or s.plan is None:
            return []
        who: list[str] = []
        if s.stage == "termination_pending":
            pending = self._pending_signoffs()
            who += [f"{s.leads.get(g)} ({self._group_name(g)})" for g in pending]
            if not pending:
                who.append(s.plan.termination.approver)
        elif s.stage in ("reported", "warning", "responding", "on_site"):
            who.append("局指挥部")
        who += [d.who_acts for d in s.deadlines if d.status in ("pending", "overdue") and d.who_acts not in who]
        return who

    def _publish(self) -> None:
        """Upsert the search attributes the supervisor views query, only when they changed."""
        s = self.s
        if s is None or s.plan is None:
            return
        open_ = [d for d in s.deadlines if d.status in ("pending", "overdue")]
        pending = [d for d in open_ if d.status == "pending"]
        overdue = [d for d in open_ if d.status == "overdue"]
        nxt = min(pending, key=lambda d: d.due_at, default=None)
        values: list[tuple[Any, Any]] = [
            (sa.STAGE, s.stage),
            (sa.LEVEL, (s.level or s.grading.level).value),
            (sa.COUNTY, s.report.county),
            (sa.INCIDENT_TYPE, s.report.incident_type),
            (sa.PLAN, s.plan.id),
            (sa.DRILL, s.report.drill),
            (sa.STAGE_ENTERED_AT, s.stage_entered_at),
            (sa.NEXT_DEADLINE, nxt.name if nxt else None),
            (sa.NEXT_DEADLINE_AT, nxt.due_at if nxt else None),
            (sa.OVERDUE, [d.name for d in overdue] or None),
            (sa.OVERDUE_SINCE, min((d.due_at for d in overdue), default=None)),
            (sa.PENDING_SIGNOFFS, self._pending_signoffs() or None),
            (sa.WAITING_ON, self._waiting_on() or None),
            (sa.OUTCOME, s.outcome),
        ]
        updates: list[SearchAttributeUpdate] = []
        for key, value in values:
            if self._published.get(key.name, "unset") == value:
                continue
            self._published[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
        # Details the supervisor views print but need not query on travel in the memo; the
        # title is in the start memo, stage and level in the search attributes.
        stuck_after = (self._stuck_after[1] if self._stuck_after and self._stuck_after[0] == s.stage
                       and s.outcome is None else None)
        memo = {} if self._lean else {"title": s.report.title, "stage": s.stage, "level": values[1][1]}
        memo |= {
            "overdue": [{"deadline": d.name, "due_at": d.due_at.isoformat(), "who_acts": d.who_acts} for d in overdue],
            "next_deadline": {"name": nxt.name, "due_at": nxt.due_at.isoformat()} if nxt else None,
            "stuck_after": stuck_after.isoformat() if stuck_after else None,
        }
        if memo != self._published_memo:
            self._published_memo = memo
            workflow.upsert_memo({"supervision": memo})

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

    def _effect(self, coro: Awaitable) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._effects.add(task)
        task.add_done_callback(self._effects.discard)
        return task

    def _last_seq(self) -> int:
        summarised = self.s.timeline_summary["entries"] if self.s.timeline_summary else 0
        return summarised + len(self.s.timeline)

    def _notify(self, event: str, subject: str, recipients: list[str], detail: dict) -> None:
        self.s.notices += 1  # the idempotency key's event number: unique within the incident, across runs
        n = Notification(key=f"{workflow.info().workflow_id}/{self.s.notices}", incident_id=self.s.incident_id,
                         event=event, subject=subject, recipients=recipients, at=self._now(),
                         drill=self.s.report.drill, detail=detail)
        self._effect(self._reliably("notify", n.model_dump(mode="json"), f"notification {event}"))

    def _archive(self, kind: str, data: dict, seq: int | None = None):
        doc = Document(incident_id=self.s.incident_id, kind=kind, seq=seq or self._last_seq(),
                       drill=self.s.report.drill, data=data)
        return self._effect(self._reliably("archive", doc.model_dump(mode="json"), f"document {kind}"))

    async def _call(self, kind: str, payload: dict, **options):
        if kind == "notify":
            return await workflow.execute_activity_method(Notifier.notify, Notification(**payload), **options)
        return await workflow.execute_activity_method(Archive.archive_document, Document(**payload), **options)

    async def _reliably(self, kind: str, payload: dict, what: str) -> None:
        """A side effect never blocks the incident: a few quick tries, then an entry that
        supervisors see (delivery_overdue) and retries with backoff until it goes through."""
        self._effect_no += 1
        no = self._effect_no
        self._inflight[no] = {"kind": kind, "payload": payload, "what": what}
        try:
            await self._call(kind, payload, **FIRST_TRY)
            return
        except ActivityError as e:
            entry = {"kind": kind, "what": what, "since": self._now().isoformat(), "payload": payload,
                     "error": str(e.cause or e)[:300]}
        finally:
            self._inflight.pop(no, None)
        self.s.undelivered.append(entry)
        self._record(self._now(), SYSTEM, "delivery_overdue", self.s.stage, {"what": what, "error": entry["error"]})
        await self._redeliver(entry)

    async def _redeliver(self, entry: dict) -> None:
        await self._call(entry["kind"], entry["payload"], **PERSISTENT)
        self.s.undelivered = [u for u in self.s.undelivered if u is not entry and u != entry]
        self._record(self._now(), SYSTEM, "delivered_late", self.s.stage, {"what": entry["what"],
                                                                            "since": entry["since"]})


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
