"""Incident states without a Temporal server, for the unit layer of the rules
(tests/test_actions_unit.py, issue 21 item 8).

An incident is opened as `IncidentWorkflow._open` opens one (the plan snapshot from the same
activity function, called directly; the first timeline entry, the linkage book, the
initial-report clock), then moved on by the registry's own actions: `actions.check` (the
shared checks and the action's own), then the action's `apply` through a `Recorder` over a
draft of the state (`draft_of`), swapped in only when the apply has returned, as
`IncidentWorkflow._apply` does. The clock is fixed (`Incident.now`) and moves only when a
test moves it. Nothing here sleeps, starts a server or touches a file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from activities.plan_snapshot import load_plan_snapshot
from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.incident import Actor
from plan.snapshot import PlanLoaded, PlanRequest
import workflows.actions as actions
import workflows.actions.linkage as linkage
import workflows.deadlines as deadlines
import workflows.levels as levels
import workflows.messages as m
import workflows.reporting as reporting
from workflows.errors import Refused
from workflows.incident import draft_of
from workflows.lifecycle import Lifecycle
from workflows.recorder import Recorder
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, CITY_WARNING, lead, report

# Tuesday 10 November 2026, 09:00 in the bureau's zone: an ordinary working week (no holiday
# before 1 January 2027), so working-day dates can be counted by hand.
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI)
DISCOVERED = T0 - timedelta(minutes=30)  # 08:30
REPORTED = T0 - timedelta(minutes=20)  # 08:40: the 初报 clock starts here (17号令 第三条)

LEVEL_III = Assessment(direct_loss_yuan=5_000_000)  # 附表1 较大: 500万元以上
LEVEL_IV = Assessment()  # nothing reported: the plan's default level, 一般
SIGNATORIES = ("monitoring", "disposal", "investigation")  # 附件2
STEP = timedelta(minutes=10)  # the builders' clock moves this much before each action
SUPERVISOR = Actor(name="周督查", role="督查", role_id="supervisor", via="web")
DEPUTY = Actor(name="孙副局长", role="副指挥", role_id="deputy_commander", via="cli")


@functools.cache
def plan_loaded(assessment: Assessment) -> PlanLoaded:
    """The plan snapshot and grading, as the incident's first activity answers them (cached:
    the snapshot is never changed by an action; `draft_of` shares it too)."""
    return load_plan_snapshot(PlanRequest(assessment=assessment))


@dataclass
class Applied:
    """What one applied action wrote: its reply, and the timeline entries and outbox items it added."""

    message: str
    entries: list[m.TimelineEntry]
    outbox: list[dict]

    def entry(self, action: str) -> m.TimelineEntry:
        found = [e for e in self.entries if e.action == action]
        assert len(found) == 1, f"one {action!r} entry expected, got {[e.action for e in self.entries]}"
        return found[0]

    @property
    def actions(self) -> list[str]:
        return [e.action for e in self.entries]

    @property
    def effects(self) -> list[tuple[str, str]]:
        """Each outbox item as (kind, what): ("notify", event), ("document", kind), ("render", kind)."""
        return [(o["kind"], o["payload"]["event"] if o["kind"] == "notify" else o["payload"].get("kind"))
                for o in self.outbox]

    @property
    def notified(self) -> list[str]:
        return [o["payload"]["event"] for o in self.outbox if o["kind"] == "notify"]

    def notification(self, event: str) -> dict:
        [payload] = [o["payload"] for o in self.outbox if o["kind"] == "notify" and o["payload"]["event"] == event]
        return payload


@dataclass
class Incident:
    """One incident's state, its life-cycle machine and a fixed clock."""

    s: m.IncidentState
    now: datetime
    lc: Lifecycle = field(default_factory=actions.lifecycle)

    @property
    def workflow_id(self) -> str:
        return f"incident-{self.s.incident_id}"

    def recorder(self, state: m.IncidentState) -> Recorder:
        return Recorder(state, lambda: self.now, self.workflow_id, self.lc)

    def check(self, name: str, inp: m.Action) -> actions.Checked:
        return actions.check(name, self.s, self.lc, inp, self.now)

    def refused(self, name: str, inp: m.Action) -> Refused:
        """The refusal the checks give (a test fails if the action would be accepted)."""
        try:
            self.check(name, inp)
        except Refused as e:
            return e
        raise AssertionError(f"{name} was accepted; a refusal was expected")

    def act(self, name: str, inp: m.Action, prepared: dict | None = None) -> Applied:
        """Check, apply on a draft, swap the draft in: `IncidentWorkflow._act`/`_apply`
        without the await for the calendar (its answer is `prepared`)."""
        got = self.check(name, inp)
        seq, out = len(self.s.timeline), {o["key"] for o in self.s.outbox}
        draft = draft_of(self.s)
        message = actions.ACTIONS[name].apply(self.recorder(draft), inp, got, prepared or {})
        self.s = draft
        return Applied(message, self.s.timeline[seq:], [o for o in self.s.outbox if o["key"] not in out])

    def step(self, name: str, inp: m.Action, prepared: dict | None = None) -> Applied:
        """Move the clock on by STEP, then act now."""
        self.now += STEP
        return self.act(name, inp, prepared)

    def delivered(self) -> "Incident":
        """As if the outbox had been delivered: a test then sees only what its action adds."""
        self.s.outbox = []
        return self

    def deadline(self, name: str) -> m.Deadline:
        [d] = [d for d in self.s.deadlines if d.name == name]
        return d


def opened(assessment: Assessment = LEVEL_III, now: datetime = T0, **over) -> Incident:
    """A new incident in stage `reported`, as `IncidentWorkflow._open` leaves it."""
    r = report(**{"incident_id": "unit-1", "discovered_at": DISCOVERED, "reported_at": REPORTED,
                  "assessment": assessment, **over})
    loaded = plan_loaded(assessment)
    s = m.IncidentState(incident_id=r.incident_id, report=r, stage_entered_at=min(r.reported_at, now))
    s.plan, s.grading = loaded.snapshot, loaded.grading
    levels.open_event_level(s)  # as `_open` does for an incident opened since issue 24
    inc = Incident(s, now)
    rec = inc.recorder(s)
    reporter = Actor(name=r.reporter, role="reporter")
    g = loaded.grading
    rec.record(r.reported_at, reporter, "reported",
               {"graded_level": g.level.value, "level_name": g.level_name, "reasons": g.reasons,
                "source": r.source, "plan": loaded.snapshot.ref}, from_stage="reported")
    s.events["discovered"] = r.discovered_at
    s.linkage = {"bulletins": 0, "facts": {}, "cross_boundary": None, "support_requests": [],
                 "joint_investigation": None, "fire_engaged": r.source == "linkage_119"}
    if r.assessment.cross_boundary != "none":
        linkage.cross_boundary(rec, r.assessment.cross_boundary, [], r.reported_at, reporter)
    reporting.open_clock(rec, reporter.model_dump())
    for name in deadlines.started_on(s, "discovered"):
        if name != "initial_report":
            rec.start_deadline(name, r.discovered_at, g.level, None)
    return inc


# The way to each stage, by the registry's actions (the shipped plan, level III unless IV).
def _warning(inc: Incident) -> None:
    inc.step("issue_warning", m.IssueWarning(by=DUTY, recommendation="建议发布蓝色预警", **CITY_WARNING))


def _responding(inc: Incident) -> None:
    inc.step("activate_response", m.ActivateResponse(by=COMMANDER))


def _on_site(inc: Incident) -> None:
    _responding(inc)
    inc.step("dispatch", m.Dispatch(by=DUTY, leads=LEADS))


def _termination_pending(inc: Incident) -> None:
    _on_site(inc)
    inc.step("propose_termination", m.ProposeTermination(by=DUTY, reason="特征污染物已降至本底水平"))


def sign_all(inc: Incident, groups=SIGNATORIES) -> None:
    for g in groups:
        inc.step("sign_off", m.SignOff(by=lead(g), group=g, lead=LEADS[g], decision="approve", round=inc.s.round))


def _post_event(inc: Incident) -> None:
    if inc.s.grading.level.value == "IV":  # 4.1.1: the county led the response and ends it
        _responding(inc)
        inc.step("record_other_termination", m.RecordOtherTermination(by=DUTY, document="平政办〔2026〕7号"))
        return
    _termination_pending(inc)
    sign_all(inc)
    inc.step("approve_termination", m.ApproveTermination(by=COMMANDER, instruction="同意终止",
                                                         follow_up=m.FollowUp(**FOLLOW_UP)))


def _closed(inc: Incident) -> None:
    """Level III: the province's investigation recorded (32号令 第四条), the bureau's assessment
    reviewed and its report sent (5.3), the 处理结果报告 made (17号令 第十二条), then closed."""
    _post_event(inc)
    inc.step("submit_report", final_report())
    inc.step("record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="晋环调〔2026〕3号"))
    inc.step("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    inc.step("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    inc.step("close", m.Close(by=DUTY, note="处置完毕"))


def final_report() -> m.SubmitReport:
    return m.SubmitReport(by=DUTY, kind="final", content=m.ReportContent(summary="处置完毕，水质恢复"), **SIGNED)


PATHS = {"reported": lambda inc: None, "warning": _warning, "responding": _responding, "on_site": _on_site,
         "termination_pending": _termination_pending, "post_event": _post_event, "closed": _closed}


def in_stage(stage: str, assessment: Assessment = LEVEL_III) -> Incident:
    """An incident brought to `stage` by the actions, its outbox delivered."""
    inc = opened(assessment)
    PATHS[stage](inc)
    assert inc.s.stage == stage, (stage, inc.s.stage)
    return inc.delivered()


@functools.cache
def _calendar():
    from plan.calendar import load_calendar

    return load_calendar()  # the shipped calendar: chinese_calendar's data for 2026


def calendar_times(inc: Incident, name: str, start: datetime, level=None):
    """The working-day calendar's answer for one deadline, as `_prepare` asks the calendar
    activity for it (for `prepared`); the tests compare it with dates counted by hand."""
    from plan.deadlines import deadline_times

    rule = inc.s.plan.deadline(name)
    return deadline_times(_calendar(), deadlines.calendar_request(rule, start, level or inc.s.level, inc.now))
