"""The rules of every action in the registry (workflows/actions/), without a Temporal server
(issue 21 item 8): each action's check accepts a good input in a stage it is allowed in and
its apply does what it says (stage, timeline entry, outbox, deadlines); the refusals that
matter, by kind and sentence; an action applied whole or not at all (the draft-and-swap of
`IncidentWorkflow._apply`); and `may`.

States are built by the registry's own actions over a fixed clock (tests/unit_state.py).
Times asserted are counted by hand from T0 = Tuesday 2026-11-10 09:00 (Asia/Shanghai): the
reporter discovered the leak at 08:30, the bureau learned of it at 08:40, and each action
of a builder happens 10 minutes after the one before.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Callable

import pytest
from pydantic import BaseModel

from plan.calendar import SHANGHAI
from plan.incident import Actor
from plan.models import Level
from plan.stages import STAGE_NAMES
import workflows.actions as actions
import workflows.messages as m
from workflows.errors import Refused
from workflows.incident import draft_of
from workflows.lifecycle import OPEN
from workflows.recorder import Recorder
from tests.helpers import CITY_WARNING, COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, lead
from tests.unit_state import (DEPUTY, DISCOVERED, LEVEL_III, LEVEL_IV, SIGNATORIES, SUPERVISOR, T0, Incident,
                              calendar_times, final_report, in_stage, opened, sign_all)


def at(y, mo, d, h=0, mi=0, s=0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI)


CITY_AND_PROVINCE = ["市人民政府", "省生态环境厅"]  # plan 4.2 reporting.recipients; 5.3 assessment report
WARNING_HEARD_BY = ["局指挥部各成员单位", "可能受影响县（区）人民政府", "可能受影响县（区）生态环境分局"]  # 3.1–3.3
FIRE_BRIGADE = "市消防救援支队（119指挥平台）"
TO_LEADS = ["应急监测组 张监测", "污染处置组 赵处置", "污染排查组 钱排查"]


# ---------------------------------------------------------------------------- good inputs, one per action

def _sign(group: str, decision: str = "approve", round: int | None = 1, opinion: str = "", by: Actor | None = None):
    return m.SignOff(by=by or lead(group), group=group, lead=LEADS[group], decision=decision, round=round,
                     opinion=opinion)


# name -> (a stage it is allowed in, a good input there). The wrong-stage refusals reuse them.
GOOD_INPUT: dict[str, Callable[[], m.Action]] = {
    "issue_warning": lambda: m.IssueWarning(by=DUTY, recommendation="建议发布蓝色预警", actions_done=["analysis"],
                                            **CITY_WARNING),
    "activate_response": lambda: m.ActivateResponse(by=COMMANDER),
    "propose_warning": lambda: m.ProposeWarning(by=COMMANDER, proposal="桃河下游可能受影响，建议发布预警"),
    "record_cross_boundary": lambda: m.RecordCrossBoundary(by=DUTY, scope="city"),
    "answer_support": lambda: m.SupportAnswer(by=DUTY, request_no=1, answer="accepted"),
    "recompute_deadlines": lambda: m.RecomputeDeadlines(by=DUTY, reason="2027年节假日安排已载入"),
    "submit_report": lambda: m.SubmitReport(by=DUTY, kind="initial",
                                            content=m.ReportContent(summary="储罐泄漏，部分物料进入桃河"), **SIGNED),
    "record_circumstances": lambda: m.RecordCircumstances(by=DUTY, circumstances=["drinking_water_source"]),
    "lift_warning": lambda: m.LiftWarning(by=DUTY, reason="危险已经消除", **CITY_WARNING),
    "request_support": lambda: m.RequestSupport(by=DUTY, partner="fire_brigade", request="请派洗消力量"),
    "dispatch": lambda: m.Dispatch(by=DUTY, leads=LEADS),
    "record_other_termination": lambda: m.RecordOtherTermination(by=DUTY, document="平政办〔2026〕7号"),
    "adjust_level": lambda: m.AdjustLevel(by=COMMANDER, level=Level.II, reason="饮用水源地受影响"),
    "determine_event_level": lambda: m.DetermineEventLevel(by=COMMANDER, level=Level.II, reason="县级水源地取水中断"),
    "decide_follow_up": lambda: m.DecideFollowUp(by=DUTY, follow_up=m.FollowUp(
        continue_monitoring=True, decided_by="市应急指挥部会同专家组", until=date(2026, 11, 20))),
    "record_city_started": lambda: m.RecordCityStarted(by=DUTY, note="市政府已启动III级响应"),
    "record_joint_investigation": lambda: m.RecordJointInvestigation(by=DUTY, members=["市生态环境局", FIRE_BRIGADE]),
    "propose_termination": lambda: m.ProposeTermination(by=DUTY, reason="特征污染物已降至本底水平"),
    "sign_off": lambda: _sign("monitoring"),
    "approve_termination": lambda: m.ApproveTermination(by=COMMANDER, instruction="同意终止",
                                                        follow_up=m.FollowUp(**FOLLOW_UP)),
    "record_other_act": lambda: m.RecordOtherAct(by=DUTY, step="investigation", document="晋环调〔2026〕3号"),
    "record_aftercare": lambda: m.RecordAftercare(by=DUTY, note="督促平定县完成河道清淤"),
    "complete_investigation": lambda: m.CompleteInvestigation(by=DUTY, summary="储罐阀门老化"),
    "assessment_review_passed": lambda: m.AssessmentReviewPassed(by=DUTY),
    "submit_assessment_report": lambda: m.SubmitAssessmentReport(by=DUTY),
    "close": lambda: m.Close(by=DUTY, note="处置完毕"),
    "record_investigation_transfer": lambda: m.RecordInvestigationTransfer(by=DUTY, kind="delegated",
                                                                           document="晋环函〔2026〕12号"),
    "publish_assessment": lambda: m.PublishAssessment(by=DUTY, where="市生态环境局门户网站"),
}

def _requested() -> Incident:
    inc = in_stage("responding")
    inc.act("request_support", GOOD_INPUT["request_support"]())
    return inc


def _fire_engaged() -> Incident:
    inc = opened(source="linkage_119")  # came in through the 119 platform: the fire brigade is engaged
    inc.step("activate_response", m.ActivateResponse(by=COMMANDER))
    return inc.delivered()


def _all_signatories_approved() -> Incident:
    inc = in_stage("termination_pending")
    sign_all(inc)
    return inc.delivered()


def _reviewed() -> Incident:
    inc = in_stage("post_event")
    inc.step("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    return inc.delivered()


def _ready_to_close() -> Incident:
    inc = in_stage("post_event")
    inc.step("submit_report", final_report())
    inc.step("record_other_act", GOOD_INPUT["record_other_act"]())
    inc.step("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    inc.step("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    return inc.delivered()


def _terminated_without_follow_up() -> Incident:
    """III, the 指挥 approved at 10:10 without deciding on follow-up monitoring (4.4: decided after)."""
    inc = in_stage("termination_pending")
    sign_all(inc)
    inc.step("approve_termination", m.ApproveTermination(by=COMMANDER, instruction="同意终止"))
    return inc.delivered()


def _submitted() -> Incident:
    inc = _reviewed()
    inc.step("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    return inc.delivered()


def _stage(stage: str, assessment=LEVEL_III) -> Callable[[], Incident]:
    return lambda: in_stage(stage, assessment)


# name -> an incident in which its good input is accepted (level III unless IV).
READY: dict[str, Callable[[], Incident]] = {
    "issue_warning": _stage("reported"), "activate_response": _stage("reported"),
    "propose_warning": _stage("reported"), "record_cross_boundary": _stage("reported"),
    "answer_support": _requested, "recompute_deadlines": _stage("post_event"),
    "submit_report": _stage("reported"), "record_circumstances": _stage("reported"),
    "lift_warning": _stage("warning"), "request_support": _stage("responding"), "dispatch": _stage("responding"),
    "record_other_termination": _stage("responding", LEVEL_IV), "adjust_level": _stage("responding"),
    "record_city_started": _stage("responding"), "determine_event_level": _stage("reported"),
    "decide_follow_up": _terminated_without_follow_up, "record_joint_investigation": _fire_engaged,
    "propose_termination": _stage("on_site"), "sign_off": _stage("termination_pending"),
    "approve_termination": _all_signatories_approved, "record_other_act": _stage("post_event"),
    "record_aftercare": _stage("post_event"), "complete_investigation": _stage("post_event", LEVEL_IV),
    "assessment_review_passed": _stage("post_event"), "submit_assessment_report": _reviewed,
    "close": _ready_to_close,
    "record_investigation_transfer": _stage("post_event"), "publish_assessment": lambda: _submitted(),
}

# name -> a test of its apply, each on a state in a stage the action is allowed in.
GOOD: dict[str, Callable[[], None]] = {}


def good(name: str):
    def register(fn):
        GOOD[name] = fn
        return fn
    return register


def test_every_action_in_the_registry_has_its_cases():
    """A new action in workflows/actions/ fails here until it has a good input and an apply case."""
    registry = set(actions.ACTIONS)
    missing = {"good input (GOOD_INPUT)": sorted(registry - set(GOOD_INPUT)),
               "a state that accepts it (READY)": sorted(registry - set(READY)),
               "apply case (@good)": sorted(registry - set(GOOD))}
    missing = {what: names for what, names in missing.items() if names}
    assert not missing, f"actions without a unit case: {missing}"
    unknown = (set(GOOD_INPUT) | set(READY) | set(GOOD)) - registry
    assert not unknown, f"cases for actions the registry does not have: {sorted(unknown)}"


@pytest.mark.parametrize("name", list(actions.ACTIONS))
def test_apply_does_what_the_action_says(name):
    if name not in GOOD:
        pytest.fail(f"{name}: no apply case (add one with @good({name!r}))")
    GOOD[name]()


def is_entry(e: m.TimelineEntry, action: str, by: Actor, when: datetime, from_stage: str, to_stage: str) -> None:
    assert (e.action, e.by, e.at, e.from_stage, e.to_stage) == (action, by, when, from_stage, to_stage)


# ---------------------------------------------------------------------------- 3.x warnings

@good("propose_warning")
def _():
    inc = in_stage("reported")
    done = inc.act("propose_warning", GOOD_INPUT["propose_warning"]())
    is_entry(done.entry("propose_warning"), "propose_warning", COMMANDER, T0, "reported", "reported")
    assert done.effects == [("notify", "warning_proposed")]
    assert done.notification("warning_proposed")["recipients"] == ["市政府应急指挥部", "省生态环境厅应急指挥部"]  # 3.1
    # 3.3: once a warning is out, the proposal to lift it goes to the city HQ
    inc = in_stage("warning")
    done = inc.act("propose_warning", m.ProposeWarning(by=DEPUTY, proposal="危险已经消除，建议解除预警", lift=True))
    assert inc.s.stage == "warning"
    assert done.notification("warning_proposed")["recipients"] == ["市应急指挥部"]
    assert "预警解除建议" in done.message


@good("issue_warning")
def _():
    inc = in_stage("reported")
    done = inc.act("issue_warning", GOOD_INPUT["issue_warning"]())
    assert inc.s.stage == "warning" and inc.s.stage_entered_at == T0
    e = done.entry("issue_warning")
    is_entry(e, "issue_warning", DUTY, T0, "reported", "warning")
    assert e.detail["issued_by"] == "阳泉市人民政府" and e.detail["document_number"] == "阳政发〔2026〕18号"
    assert done.effects == [("notify", "warning_issued")]
    assert done.notification("warning_issued")["recipients"] == WARNING_HEARD_BY
    assert [(a["id"], a["done"]) for a in inc.s.warning["actions"]] == [
        ("analysis", True), ("prevention", False), ("preparation", False), ("public_opinion", False)]


@good("lift_warning")
def _():
    inc = in_stage("warning")
    done = inc.act("lift_warning", GOOD_INPUT["lift_warning"]())
    assert (inc.s.stage, inc.s.outcome) == ("closed", "warning_lifted")
    is_entry(done.entry("lift_warning"), "lift_warning", DUTY, T0 + timedelta(minutes=10), "warning", "closed")
    assert done.effects == [("notify", "warning_lifted")]
    assert done.notification("warning_lifted")["recipients"] == WARNING_HEARD_BY


# ---------------------------------------------------------------------------- 4.1 response

@good("activate_response")
def _():
    inc = in_stage("reported")
    done = inc.act("activate_response", GOOD_INPUT["activate_response"]())
    assert (inc.s.stage, inc.s.level) == ("responding", Level.III)  # the graded level (附表1 较大)
    assert [(c.from_level, c.to_level) for c in inc.s.level_changes] == [(None, Level.III)]
    e = done.entry("activate_response")
    is_entry(e, "activate_response", COMMANDER, T0, "reported", "responding")
    assert e.detail["approved_by"] == "李局长"  # 附件1 经总指挥批准: the commander himself
    assert done.actions == ["activate_response", "linkage_bulletin", "deadline_started"]
    assert done.effects == [("document", "activation_notice"), ("render", "activation_notice"),
                            ("notify", "response_activated"), ("notify", "linkage_bulletin")]
    # 4.1.2(1): at III the city HQ is asked to start its plan
    assert done.notification("response_activated")["recipients"] == CITY_AND_PROVINCE + ["市突发环境事件应急指挥部"]
    assert done.notification("linkage_bulletin")["recipients"][0] == FIRE_BRIGADE
    # 4.1.2(4) readiness: 1 h from activation (09:00 → 10:00), reminded 15 min before
    ready = inc.deadline("readiness")
    assert (ready.status, ready.started_at, ready.due_at, ready.reminders_at) == (
        "pending", T0, at(2026, 11, 10, 10, 0), [at(2026, 11, 10, 9, 45)])
    assert "III级响应" in done.message and "应于 2026-11-10 10:00 前完成" in done.message


def test_activation_at_IV_opens_no_readiness_deadline():
    inc = in_stage("reported", LEVEL_IV)
    done = inc.act("activate_response", m.ActivateResponse(by=COMMANDER))
    assert inc.s.level == Level.IV and "deadline_started" not in done.actions
    assert [d.name for d in inc.s.deadlines] == ["initial_report"]
    assert done.notification("response_activated")["recipients"] == CITY_AND_PROVINCE  # IV does not ask the city


def test_activation_entered_by_the_duty_officer_names_the_approving_commander():
    inc = in_stage("reported")
    done = inc.act("activate_response", m.ActivateResponse(by=DUTY, approver=COMMANDER))
    e = done.entry("activate_response")
    assert e.by == DUTY and e.detail["approved_by"] == "李局长" and e.detail["approver"]["role_id"] == "commander"


@good("record_city_started")
def _():
    inc = in_stage("responding")
    done = inc.act("record_city_started", GOOD_INPUT["record_city_started"]())
    assert inc.s.city_started and inc.s.stage == "responding"
    is_entry(done.entry("record_city_started"), "record_city_started", DUTY, inc.now, "responding", "responding")
    assert done.outbox == []
    assert "响应终止由市指挥部决定（4.4）" in done.message


@good("adjust_level")
def _():
    inc = in_stage("responding")  # III, activated 09:10; the 初报 still due 12:40 (08:40 + 4 h)
    assert inc.deadline("initial_report").due_at == at(2026, 11, 10, 12, 40)
    done = inc.act("adjust_level", GOOD_INPUT["adjust_level"]())
    assert inc.s.level == Level.II and inc.s.stage == "responding"
    assert [(c.from_level, c.to_level) for c in inc.s.level_changes] == [(None, Level.III), (Level.III, Level.II)]
    is_entry(done.entry("adjust_level"), "adjust_level", COMMANDER, inc.now, "responding", "responding")
    assert done.effects == [("notify", "level_adjusted")]
    # 17号令 第三条 follows the event's level (III, 初步认定), not the response's: still 08:40 + 4 h
    assert "deadline_changed" not in done.actions
    assert inc.deadline("initial_report").due_at == at(2026, 11, 10, 12, 40)
    assert [d.name for d in inc.s.deadlines].count("readiness") == 1  # already running since activation


@good("decide_follow_up")
def _():
    inc = _terminated_without_follow_up()
    assert inc.s.events["response_terminated"] == at(2026, 11, 10, 10, 10) and inc.s.termination.get("follow_up") is None
    done = inc.step("decide_follow_up", GOOD_INPUT["decide_follow_up"]())  # 10:20, after termination (4.4)
    is_entry(done.entry("decide_follow_up"), "decide_follow_up", DUTY, at(2026, 11, 10, 10, 20), "post_event",
             "post_event")
    assert inc.s.follow_up == {"continue_monitoring": True, "decided_by": "市应急指挥部会同专家组",
                               "until": "2026-11-20", "note": ""}
    assert done.notified == ["follow_up_decided"]
    assert inc.refused("decide_follow_up", GOOD_INPUT["decide_follow_up"]()).kind == "conflict"  # decided once


def test_follow_up_is_decided_after_termination_not_before():
    inc = in_stage("on_site")
    err = inc.refused("decide_follow_up", GOOD_INPUT["decide_follow_up"]())
    assert "现场处置阶段" in err.message  # only once the response has ended (4.4 应急状态终止后)
    inc = _terminated_without_follow_up()
    early = m.DecideFollowUp(by=DUTY, at=at(2026, 11, 10, 10, 0), follow_up=m.FollowUp(
        continue_monitoring=False, decided_by="市应急指挥部会同专家组"))
    assert "不能早于响应终止" in inc.refused("decide_follow_up", early).message


@good("determine_event_level")
def _():
    inc = in_stage("reported")  # III graded; the 初报 due 12:40 (08:40 + 4 h)
    done = inc.step("determine_event_level", GOOD_INPUT["determine_event_level"]())  # 09:10
    assert (inc.s.event_level, inc.s.event_level_kind, inc.s.level) == (Level.II, "preliminary", None)
    assert [(c.from_level, c.to_level, c.kind) for c in inc.s.event_level_changes] == [
        (None, Level.III, "graded"), (Level.III, Level.II, "preliminary")]
    is_entry(done.entry("determine_event_level"), "determine_event_level", COMMANDER, inc.now, "reported", "reported")
    # 17号令 第三条: 初步认定 II → 2 h from when the bureau learned: 08:40 → 10:40, the ministry too
    assert inc.deadline("initial_report").due_at == at(2026, 11, 10, 10, 40)
    assert done.notification("event_level_determined")["recipients"] == CITY_AND_PROVINCE + ["生态环境部"]


def test_raising_IV_to_III_opens_the_readiness_deadline_from_the_change():
    inc = in_stage("responding", LEVEL_IV)  # activated at 09:10
    inc.now = at(2026, 11, 10, 9, 30)
    done = inc.act("adjust_level", m.AdjustLevel(by=COMMANDER, level=Level.III, reason="损失超过500万元"))
    assert "deadline_started" in done.actions
    ready = inc.deadline("readiness")
    assert (ready.started_at, ready.due_at) == (at(2026, 11, 10, 9, 30), at(2026, 11, 10, 10, 30))


@good("dispatch")
def _():
    inc = in_stage("responding")  # activated 09:10, readiness due 10:10
    inc.now = at(2026, 11, 10, 9, 40)
    done = inc.act("dispatch", GOOD_INPUT["dispatch"]())
    assert inc.s.stage == "on_site" and inc.s.leads == LEADS
    e = done.entry("dispatch")
    is_entry(e, "dispatch", DUTY, at(2026, 11, 10, 9, 40), "responding", "on_site")
    assert done.effects == [("notify", "groups_dispatched")]
    assert done.notification("groups_dispatched")["recipients"] == TO_LEADS
    ready = inc.deadline("readiness")  # 4.1.2(4) met by the dispatch
    assert (ready.status, ready.met_at, ready.met_seq) == ("met", at(2026, 11, 10, 9, 40), e.seq)
    assert inc.s.events["dispatched"] == at(2026, 11, 10, 9, 40)


# ---------------------------------------------------------------------------- 4.2 reports, linkage

@good("submit_report")
def _():
    inc = in_stage("reported")
    done = inc.act("submit_report", GOOD_INPUT["submit_report"]())
    e = done.entry("submit_report")
    is_entry(e, "submit_report", DUTY, T0, "reported", "reported")
    assert (e.detail["kind"], e.detail["no"]) == ("initial", 1)
    doc, render, note = done.outbox
    assert [doc["kind"], render["kind"], note["kind"]] == ["document", "render", "notify"]
    assert doc["payload"]["kind"] == "info_report" and render["payload"]["kind"] == "info_report"
    assert note["payload"]["event"] == "info_report" and note["attach"] == doc["key"]  # claim check
    assert note["payload"]["recipients"] == CITY_AND_PROVINCE
    d = inc.deadline("initial_report")  # due 12:40, met at 09:00
    assert (d.status, d.met_at) == ("met", T0)
    assert inc.s.reports_count == {"initial": 1}
    # a 续报 also sends the linkage bulletin (协议 二.3)
    inc.now += timedelta(minutes=30)
    done = inc.act("submit_report", m.SubmitReport(by=DUTY, kind="progress", content=m.ReportContent(
        summary="围堵完成", progress="已筑坝拦截"), **SIGNED))
    assert done.notified == ["info_report", "linkage_bulletin"]


@good("record_circumstances")
def _():
    inc = in_stage("reported")
    done = inc.act("record_circumstances", GOOD_INPUT["record_circumstances"]())
    is_entry(done.entry("record_circumstances"), "record_circumstances", DUTY, T0, "reported", "reported")
    assert [c["id"] for c in inc.s.circumstances] == ["drinking_water_source"]
    # 17号令 第四条: reported by the II procedure: 2 h from 08:40, and the ministry too
    assert inc.deadline("initial_report").due_at == at(2026, 11, 10, 10, 40)
    assert done.entry("deadline_changed").detail["from_due_at"] == at(2026, 11, 10, 12, 40).isoformat()
    assert "生态环境部" in done.message
    assert done.outbox == []


@good("record_cross_boundary")
def _():
    inc = in_stage("reported")
    done = inc.act("record_cross_boundary", GOOD_INPUT["record_cross_boundary"]())
    is_entry(done.entry("record_cross_boundary"), "record_cross_boundary", DUTY, T0, "reported", "reported")
    assert done.effects == [("notify", "cross_boundary")]
    assert done.notification("cross_boundary")["recipients"] == ["相邻区域人民政府", "相邻区域生态环境部门"]
    assert inc.s.linkage["cross_boundary"] == "city"
    # 4.2.3: a cross-province incident is also reported to the province
    done = inc.act("record_cross_boundary", m.RecordCrossBoundary(by=DUTY, scope="province"))
    assert done.notified == ["cross_boundary", "cross_province_report"]
    assert done.notification("cross_province_report")["recipients"] == ["省人民政府", "省生态环境厅"]


@good("request_support")
def _():
    inc = in_stage("responding")
    done = inc.act("request_support", GOOD_INPUT["request_support"]())
    e = done.entry("request_support")
    is_entry(e, "request_support", DUTY, inc.now, "responding", "responding")
    assert e.detail["no"] == 1
    assert done.effects == [("notify", "support_request")]
    assert done.notification("support_request")["recipients"] == [FIRE_BRIGADE]
    assert [(r["no"], r["partner"], r["answer"]) for r in inc.s.linkage["support_requests"]] == [
        (1, "fire_brigade", None)]


@good("answer_support")
def _():
    inc = _requested()
    assert not inc.s.linkage["fire_engaged"]
    done = inc.act("answer_support", GOOD_INPUT["answer_support"]())
    is_entry(done.entry("answer_support"), "answer_support", DUTY, inc.now, "responding", "responding")
    assert inc.s.linkage["support_requests"][0]["answer"]["answer"] == "accepted"
    assert inc.s.linkage["fire_engaged"]  # the fire brigade accepted: 协议 二.5 now applies
    assert done.outbox == []


@good("record_joint_investigation")
def _():
    inc = _fire_engaged()
    done = inc.act("record_joint_investigation", GOOD_INPUT["record_joint_investigation"]())
    is_entry(done.entry("record_joint_investigation"), "record_joint_investigation", DUTY, inc.now,
             "responding", "responding")
    assert inc.s.linkage["joint_investigation"]["members"] == ["市生态环境局", FIRE_BRIGADE]
    assert done.outbox == []


# ---------------------------------------------------------------------------- 4.4 termination, 附件2

@good("propose_termination")
def _():
    inc = in_stage("on_site")
    done = inc.act("propose_termination", GOOD_INPUT["propose_termination"]())
    assert (inc.s.stage, inc.s.round, inc.s.signoffs) == ("termination_pending", 1, {})
    is_entry(done.entry("propose_termination"), "propose_termination", DUTY, inc.now, "on_site",
             "termination_pending")
    assert done.effects == [("render", "termination_form"), ("notify", "termination_proposed")]
    assert done.notification("termination_proposed")["recipients"] == TO_LEADS


@good("sign_off")
def _():
    inc = in_stage("termination_pending")
    done = inc.act("sign_off", GOOD_INPUT["sign_off"]())
    assert inc.s.stage == "termination_pending" and set(inc.s.signoffs) == {"monitoring"}
    e = done.entry("sign_off")
    is_entry(e, "sign_off", lead("monitoring"), inc.now, "termination_pending", "termination_pending")
    assert (e.detail["decision"], e.detail["round"]) == ("approve", 1)
    assert done.outbox == [] and "等待污染处置组、污染排查组组长签署" in done.message
    inc.act("sign_off", _sign("disposal"))
    done = inc.act("sign_off", _sign("investigation"))
    assert done.effects == [("notify", "termination_ready")]
    assert done.notification("termination_ready")["recipients"] == ["市生态环境局局长"]  # the plan's commander
    assert [(r.group, r.round) for r in inc.s.signoff_history] == [(g, 1) for g in SIGNATORIES]


def test_a_rejection_sends_the_incident_back_on_site():
    inc = in_stage("termination_pending")
    done = inc.act("sign_off", _sign("disposal", "reject", opinion="下游仍超标"))
    assert inc.s.stage == "on_site"
    is_entry(done.entry("sign_off"), "sign_off", lead("disposal"), inc.now, "termination_pending", "on_site")
    assert done.effects == [("notify", "termination_rejected")]
    # a new proposal opens round 2 with no sign-offs
    inc.act("propose_termination", m.ProposeTermination(by=DUTY, reason="复测达标"))
    assert (inc.s.round, inc.s.signoffs) == (2, {})


@good("approve_termination")
def _():
    inc = _all_signatories_approved()
    approved_at = inc.now = at(2026, 11, 10, 10, 10)
    done = inc.act("approve_termination", GOOD_INPUT["approve_termination"](),
                   prepared={"stuck_after": at(2027, 1, 13, 23, 59, 59)})
    assert inc.s.stage == "post_event" and inc.s.stage_entered_at == approved_at
    e = done.entry("approve_termination")
    is_entry(e, "approve_termination", COMMANDER, approved_at, "termination_pending", "post_event")
    assert e.detail["follow_up"] == {"continue_monitoring": False, "decided_by": "市应急指挥部会同专家组",
                                     "until": None, "note": ""}
    assert done.effects == [("document", "termination_form"), ("render", "termination_form"),
                            ("notify", "response_terminated")]
    form = done.outbox[0]["payload"]["data"]
    assert [(x["group"], x["decision"]) for x in form["signoffs"]] == [(g, "approve") for g in SIGNATORIES]
    assert inc.s.events["response_terminated"] == approved_at
    assert inc.s.stuck_after == at(2027, 1, 13, 23, 59, 59)  # the calendar's answer, as prepared
    # 32号令 第四条: at III the province investigates, so no investigation clock escalates to the bureau
    assert "investigation" not in [d.name for d in inc.s.deadlines]
    # 5.3 (环发〔2013〕85号) 30 working days: no calendar answer prepared, so it waits for it
    comp = inc.deadline("assessment_completion")
    assert (comp.status, comp.due_at) == ("scheduling", None)
    assert [x.detail.get("scheduling") for x in done.entries if x.action == "deadline_started"] == [True]


@good("record_other_termination")
def _():
    inc = in_stage("responding", LEVEL_IV)  # 4.1.1: at IV the county leads and ends the response
    done = inc.act("record_other_termination", GOOD_INPUT["record_other_termination"]())
    assert inc.s.stage == "post_event"
    is_entry(done.entry("record_other_termination"), "record_other_termination", DUTY, inc.now, "responding",
             "post_event")
    assert inc.s.other_acts["termination"]["body"] == "事发地县（区）级人民政府"
    assert inc.s.events["response_terminated"] == inc.now
    assert done.effects == [("notify", "response_terminated")]
    # IV: the bureau's own investigation (视情况) has its clock; the assessment is the county bureau's (5.3)
    assert {d.name for d in inc.s.deadlines} == {"initial_report", "investigation"}
    # 5.2: 60 days from the county's end, 10 November 09:10 → 9 January 2027 09:10 (20 + 31 + 9 days)
    assert inc.deadline("investigation").due_at == at(2027, 1, 9, 9, 10)


# ---------------------------------------------------------------------------- 5.x post-event

@good("record_aftercare")
def _():
    inc = in_stage("post_event")
    done = inc.act("record_aftercare", GOOD_INPUT["record_aftercare"]())
    is_entry(done.entry("record_aftercare"), "record_aftercare", DUTY, inc.now, "post_event", "post_event")
    assert [a["note"] for a in inc.s.aftercare] == ["督促平定县完成河道清淤"]
    assert done.outbox == []


@good("complete_investigation")
def _():
    inc = in_stage("post_event", LEVEL_IV)  # at IV the bureau may investigate itself (32号令 第四条 视情况)
    done = inc.act("complete_investigation", GOOD_INPUT["complete_investigation"]())
    e = done.entry("complete_investigation")
    is_entry(e, "complete_investigation", DUTY, inc.now, "post_event", "post_event")
    inv = inc.deadline("investigation")
    assert (inv.status, inv.met_at, inv.met_seq) == ("met", inc.now, e.seq)
    assert done.outbox == []


@good("record_other_act")
def _():
    inc = in_stage("post_event")  # III: the province investigates (32号令 第四条), the bureau records it
    done = inc.act("record_other_act", GOOD_INPUT["record_other_act"]())
    is_entry(done.entry("record_other_act"), "record_other_act", DUTY, inc.now, "post_event", "post_event")
    assert inc.s.other_acts["investigation"]["body"] == "省生态环境厅"
    assert "investigation" not in [d.name for d in inc.s.deadlines]  # the province's act has no clock of the bureau's


@good("record_investigation_transfer")
def _():
    inc = in_stage("post_event")  # III: the province's investigation (32号令 第四条), delegated to the bureau
    done = inc.act("record_investigation_transfer", GOOD_INPUT["record_investigation_transfer"]())
    e = done.entry("record_investigation_transfer")
    is_entry(e, "record_investigation_transfer", DUTY, inc.now, "post_event", "post_event")
    assert e.detail["body"] == "省生态环境厅" and inc.s.investigation_transfer["kind"] == "delegated"
    assert done.effects == [("notify", "investigation_transferred")]


@good("publish_assessment")
def _():
    inc = _submitted()
    done = inc.act("publish_assessment", GOOD_INPUT["publish_assessment"]())
    is_entry(done.entry("publish_assessment"), "publish_assessment", DUTY, inc.now, "post_event", "post_event")
    assert inc.s.assessment_published["where"] == "市生态环境局门户网站" and done.outbox == []


@good("assessment_review_passed")
def _():
    inc = in_stage("post_event")
    inc.now = at(2026, 12, 2, 10, 0)
    inp = m.AssessmentReviewPassed(by=DUTY, review_date=date(2026, 12, 1))  # a Tuesday
    # 5.3: 20 working days counted from the day after the review: 2–4, 7–11, 14–18, 21–25, 28–29 December
    times = calendar_times(inc, "assessment_report", at(2026, 12, 1, 12, 0))
    done = inc.act("assessment_review_passed", inp, prepared={"assessment_report": times})
    assert inc.s.review_date == date(2026, 12, 1)
    is_entry(done.entry("assessment_review_passed"), "assessment_review_passed", DUTY, inc.now, "post_event",
             "post_event")
    report = inc.deadline("assessment_report")
    assert (report.status, report.due_date, report.due_at) == ("pending", date(2026, 12, 29), at(2026, 12, 29, 23, 59, 59))
    # reminded 5 and 1 working days before, at 09:00: 22 and 28 December
    assert report.reminders_at == [at(2026, 12, 22, 9), at(2026, 12, 28, 9)]
    assert "应于 2026-12-29 前完成" in done.message
    # the review meets the assessment's own clock (plan.models.MET_BY), from noon of the review date
    comp = inc.deadline("assessment_completion")
    assert (comp.status, comp.met_at) == ("met", at(2026, 12, 1, 12, 0))
    assert done.outbox == []


def test_review_passed_without_the_calendars_answer_leaves_the_report_deadline_scheduling():
    inc = in_stage("post_event")
    done = inc.act("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY), prepared={})
    report = inc.deadline("assessment_report")
    assert (report.status, report.due_at) == ("scheduling", None)
    assert done.entry("deadline_started").detail == {"deadline": "assessment_report", "scheduling": True,
                                                     "source": report.source}
    assert "的期限暂未算出" in done.message


@good("submit_assessment_report")
def _():
    inc = _reviewed()
    inc.now += timedelta(days=1)
    done = inc.act("submit_assessment_report", GOOD_INPUT["submit_assessment_report"]())
    e = done.entry("submit_assessment_report")
    is_entry(e, "submit_assessment_report", DUTY, inc.now, "post_event", "post_event")
    assert done.effects == [("notify", "assessment_report_submitted")]
    assert done.notification("assessment_report_submitted")["recipients"] == CITY_AND_PROVINCE  # 5.3
    assert (inc.deadline("assessment_report").status, inc.s.events["assessment_report_submitted"]) == ("met", inc.now)


@good("close")
def _():
    inc = _ready_to_close()
    done = inc.act("close", GOOD_INPUT["close"]())
    assert (inc.s.stage, inc.s.outcome) == ("closed", "completed")
    is_entry(done.entry("close"), "close", DUTY, inc.now, "post_event", "closed")
    assert done.effects == [("notify", "incident_closed")]


@good("recompute_deadlines")
def _():
    inc = in_stage("post_event")  # approved 10:10 on Tuesday 10 November; the 30-working-day clock waits
    started = inc.deadline("assessment_completion").started_at
    assert started == at(2026, 11, 10, 10, 10)
    times = calendar_times(inc, "assessment_completion", started)
    done = inc.act("recompute_deadlines", GOOD_INPUT["recompute_deadlines"](),
                   prepared={"assessment_completion": times})
    e = done.entry("recompute_deadlines")
    is_entry(e, "recompute_deadlines", DUTY, inc.now, "post_event", "post_event")
    # 30 working days after 10 November: 11–13, 16–20, 23–27, 30 Nov–4 Dec, 7–11, 14–18, 21–22 December
    assert e.detail == {"changed": ["应急处置阶段污染损害评估完成：未算出 → 2026-12-22"], "reason": "2027年节假日安排已载入"}
    comp = inc.deadline("assessment_completion")
    assert (comp.status, comp.due_at, comp.provisional) == ("pending", at(2026, 12, 22, 23, 59, 59), False)
    assert comp.reminders_at == [at(2026, 12, 15, 9)]  # 5 working days before: 21, 18, 17, 16, 15
    assert done.outbox == []


# ---------------------------------------------------------------------------- refusals every action shares

def wrong_stage(name: str) -> str:
    """The first open stage the action is not allowed in; `closed` when it is allowed in all."""
    lc = actions.lifecycle()
    return next((st for st in OPEN if not lc.allowed(name, st)), "closed")


@pytest.mark.parametrize("name", list(actions.ACTIONS))
def test_every_action_is_refused_in_a_stage_it_is_not_allowed_in(name):
    stage = wrong_stage(name)
    inc = in_stage(stage)
    err = inc.refused(name, GOOD_INPUT[name]())
    assert err.kind == "conflict"
    if stage == "closed":  # allowed all along: only a closed incident refuses it
        assert "已结案（处置完毕），不能再办理任何操作" in err.message
    else:
        title = actions.ACTIONS[name].title
        assert f"处于{STAGE_NAMES[stage]}阶段" in err.message and f"不能{title}" in err.message and "只能在" in err.message


def test_the_actions_allowed_in_every_open_stage():
    assert sorted(n for n in actions.ACTIONS if wrong_stage(n) == "closed") == sorted(
        ["record_cross_boundary", "answer_support", "recompute_deadlines", "submit_report", "record_circumstances",
         "determine_event_level"])


def test_a_closed_incident_refuses_even_a_report():
    inc = in_stage("warning").delivered()
    inc.act("lift_warning", GOOD_INPUT["lift_warning"]())
    err = inc.refused("submit_report", GOOD_INPUT["submit_report"]())
    assert err.kind == "conflict" and "已结案（预警解除）" in err.message


def test_business_time_in_the_future_is_refused():
    inc = in_stage("reported")
    inp = m.SubmitReport(**{**GOOD_INPUT["submit_report"]().model_dump(), "at": T0 + timedelta(minutes=6)})
    err = inc.refused("submit_report", inp)
    assert err.kind == "invalid" and "在将来（比现在 2026-11-10 09:00 晚 5 分钟以上）" in err.message
    # within the 5 minutes' tolerance (a clock a little fast) it is taken as given
    done = inc.act("submit_report", inp.model_copy(update={"at": T0 + timedelta(minutes=4)}))
    assert done.entry("submit_report").at == at(2026, 11, 10, 9, 4)


def test_backdated_more_than_an_hour_needs_the_reason_for_the_late_entry():
    inc = in_stage("responding")  # now 09:10
    inc.now = at(2026, 11, 10, 11, 0)
    late = m.Dispatch(by=DUTY, leads=LEADS, at=at(2026, 11, 10, 9, 50))  # 70 minutes back
    err = inc.refused("dispatch", late)
    assert err.kind == "invalid" and "早 1 小时以上" in err.message and "补录说明" in err.message
    done = inc.act("dispatch", late.model_copy(update={"backdate_reason": "现场无网络，回局补录"}))
    e = done.entry("dispatch")
    assert (e.at, e.recorded_at, e.backdate_reason) == (at(2026, 11, 10, 9, 50), at(2026, 11, 10, 11, 0),
                                                        "现场无网络，回局补录")
    ready = inc.deadline("readiness")  # due 10:10: met in business time, marked as entered late
    assert (ready.status, ready.met_at, ready.met_backdated) == ("met", at(2026, 11, 10, 9, 50), True)
    # an hour back exactly needs no reason
    inc = in_stage("responding")
    inc.now = at(2026, 11, 10, 10, 50)
    assert inc.act("dispatch", late).entry("dispatch").backdate_reason is None


LATE = "现场无网络，回局补录"

@pytest.mark.parametrize("name", list(actions.ACTIONS))
def test_a_backdated_entry_keeps_its_reason_for_the_late_entry(name):
    inc = READY[name]()
    inc.now += timedelta(hours=3)
    two_hours_back = inc.now - timedelta(hours=2)
    inp = GOOD_INPUT[name]().model_copy(update={"at": two_hours_back, "backdate_reason": LATE})
    done = inc.act(name, inp)
    e = done.entry(name)
    assert (e.at, e.recorded_at, e.by) == (two_hours_back, inc.now, inp.by)
    assert e.backdate_reason == LATE


@pytest.mark.parametrize("name", list(actions.ACTIONS))
def test_an_entry_made_on_time_is_not_marked_backdated(name):
    inc = READY[name]()
    done = inc.act(name, GOOD_INPUT[name]().model_copy(update={"backdate_reason": LATE}))
    assert done.entry(name).backdate_reason is None


def test_an_approval_is_not_dated_before_the_sign_offs_it_approves():
    inc = _all_signatories_approved()  # proposed 09:30; signed 09:40, 09:50, 10:00; now 10:00
    for when, words in [(at(2026, 11, 10, 9, 20), "早于事件进入终止签报阶段的时间"),
                        (at(2026, 11, 10, 9, 55), "早于第 1 轮最后一位组长签署的时间")]:
        err = inc.refused("approve_termination", GOOD_INPUT["approve_termination"]().model_copy(update={"at": when}))
        assert err.kind == "invalid" and words in err.message, err.message


def test_a_dispatch_is_not_dated_before_the_activation():
    inc = in_stage("responding")  # activated 09:10 (the builder's clock: 10 minutes a step)
    entered = inc.s.stage_entered_at
    err = inc.refused("dispatch", GOOD_INPUT["dispatch"]().model_copy(update={"at": entered - timedelta(minutes=5)}))
    assert err.kind == "invalid" and "早于事件进入应急响应阶段的时间" in err.message


def test_before_the_discovery_is_refused():
    inc = in_stage("reported")
    err = inc.refused("submit_report", GOOD_INPUT["submit_report"]().model_copy(
        update={"at": DISCOVERED - timedelta(minutes=1), "backdate_reason": "补录"}))
    assert err.kind == "invalid" and "早于事件发现时间" in err.message


@pytest.mark.parametrize("name, stage", [("activate_response", "reported"), ("dispatch", "responding"),
                                         ("submit_report", "reported"), ("close", "post_event")])
def test_a_supervisor_reads_everything_and_acts_on_nothing(name, stage):
    inc = in_stage(stage)
    err = inc.refused(name, GOOD_INPUT[name]().model_copy(update={"by": SUPERVISOR}))
    assert err.kind == "forbidden" and "督查不能办理" in err.message


def test_the_authority_table_names_who_may_act():
    inc = in_stage("reported")
    err = inc.refused("propose_warning", GOOD_INPUT["propose_warning"]().model_copy(update={"by": DUTY}))
    assert err.kind == "forbidden" and "值班员不能办理「提出预警发布（解除）建议」" in err.message and "指挥、副指挥" in err.message
    inc = in_stage("on_site")
    err = inc.refused("propose_termination", m.ProposeTermination(by=lead("monitoring"), reason="可以终止"))
    assert err.kind == "forbidden" and "工作组组长不能办理" in err.message


@pytest.mark.parametrize("by, words", [
    (Actor(name="王值班", role="局指挥部办公室"), "未写明预案角色"),  # a name and a free role
    (Actor(name="郑管理", role="系统管理员", role_id="admin", via="web"), "系统管理员不能办理「派遣工作组」"),
    (Actor(name="王值班", role="办公室主任", role_id="duty_officer", via="cli"), "角色不符"),
], ids=["no plan role", "an account administrator", "role name not the plan's"])
def test_an_actor_the_plan_does_not_know_is_forbidden(by, words):
    inc = in_stage("responding")
    err = inc.refused("dispatch", m.Dispatch(by=by, leads=LEADS))
    assert err.kind == "forbidden" and words in err.message


# ---------------------------------------------------------------------------- each action's own refusals

def _stale_round():
    inc = in_stage("termination_pending")
    inc.act("sign_off", _sign("disposal", "reject", opinion="下游仍超标"))
    inc.act("propose_termination", m.ProposeTermination(by=DUTY, reason="复测达标"))  # round 2
    return inc, "sign_off", _sign("monitoring", round=1)


def _signed_twice():
    inc = in_stage("termination_pending")
    inc.act("sign_off", _sign("monitoring"))
    return inc, "sign_off", _sign("monitoring")


def _approve_before_all():
    inc = in_stage("termination_pending")
    sign_all(inc, ("monitoring", "disposal"))
    return inc, "approve_termination", GOOD_INPUT["approve_termination"]()


def _all_signed(inp):
    def build():
        return _all_signatories_approved(), "approve_termination", inp
    return build


def _recorded_before_issue_24_all_signed():
    inc = _all_signatories_approved()
    inc.s.levels_split = False  # an incident recorded with one level still decides follow-up at approval
    return inc, "approve_termination", m.ApproveTermination(by=COMMANDER)


def _city_started_then_approve():
    inc = in_stage("on_site")
    inc.act("record_city_started", m.RecordCityStarted(by=DUTY))
    inc.act("propose_termination", GOOD_INPUT["propose_termination"]())
    sign_all(inc)
    return inc, "approve_termination", GOOD_INPUT["approve_termination"]()


def _at(stage, name, inp, assessment=LEVEL_III):
    return lambda: (in_stage(stage, assessment), name, inp)


def _answered_twice():
    inc = _requested()
    inc.act("answer_support", GOOD_INPUT["answer_support"]())
    return inc, "answer_support", m.SupportAnswer(by=DUTY, request_no=1, answer="declined")


def _joint_twice():
    inc = _fire_engaged()
    inc.act("record_joint_investigation", GOOD_INPUT["record_joint_investigation"]())
    return inc, "record_joint_investigation", GOOD_INPUT["record_joint_investigation"]()


def _close_before_assessment():
    inc = in_stage("post_event")
    inc.act("record_other_act", GOOD_INPUT["record_other_act"]())
    inc.act("submit_report", final_report())
    return inc, "close", GOOD_INPUT["close"]()


def _report_before_review():
    return in_stage("post_event"), "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY)


def _review_twice():
    return _reviewed(), "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY)


def _report_missing_a_recipient():
    return _reviewed(), "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY, recipients=["市人民政府"])


def _second_initial_report():
    inc = in_stage("reported")
    inc.act("submit_report", GOOD_INPUT["submit_report"]())
    return inc, "submit_report", GOOD_INPUT["submit_report"]()


def _wider_scope_only():
    inc = in_stage("reported")
    inc.act("record_cross_boundary", m.RecordCrossBoundary(by=DUTY, scope="city"))
    return inc, "record_cross_boundary", m.RecordCrossBoundary(by=DUTY, scope="county_dispute")


def _investigation_twice():
    inc = in_stage("post_event", LEVEL_IV)
    inc.act("complete_investigation", GOOD_INPUT["complete_investigation"]())
    return inc, "complete_investigation", GOOD_INPUT["complete_investigation"]()


def _other_act_twice():
    inc = in_stage("post_event")
    inc.act("record_other_act", GOOD_INPUT["record_other_act"]())
    return inc, "record_other_act", GOOD_INPUT["record_other_act"]()


FOLLOW_UP_NO_DATE = m.FollowUp(continue_monitoring=True, decided_by="市应急指挥部会同专家组")

OWN_REFUSALS = [
    # (build -> (incident, action, input), kind, a phrase of the sentence)
    pytest.param(_at("reported", "activate_response", m.ActivateResponse(by=COMMANDER, level=Level.II)),
                 "invalid", "响应级别 II 级与分级结果 III 级不同：请写明理由（4.1.5）",
                 id="activation at another level than graded, without reason"),
    pytest.param(_at("reported", "activate_response", m.ActivateResponse(by=DUTY)),
                 "invalid", "须经总指挥批准", id="activation by the duty officer naming no approver"),
    pytest.param(_at("reported", "activate_response", m.ActivateResponse(by=DUTY, approver=DEPUTY)),
                 "invalid", "不能批准「启动应急响应」", id="activation approved by a deputy"),
    pytest.param(_at("responding", "dispatch", m.Dispatch(by=DUTY, leads={"monitoring": "张监测", "disposal": "赵处置"})),
                 "invalid", "请写明污染排查组组长", id="dispatch missing a signatory group"),
    pytest.param(_at("responding", "dispatch", m.Dispatch(by=DUTY, leads={**LEADS, "rescue": "吴救援"})),
                 "invalid", "没有工作组“rescue”", id="dispatch of a group the plan has not"),
    pytest.param(_at("responding", "adjust_level", m.AdjustLevel(by=COMMANDER, level=Level.III, reason="维持")),
                 "conflict", "响应已是 III 级", id="adjust to the level it is at"),
    pytest.param(_at("termination_pending", "sign_off", _sign("monitoring", by=DUTY)),
                 "forbidden", "王值班不是应急监测组组长：派遣时指定的应急监测组组长是张监测",
                 id="sign-off by someone not the named lead"),
    pytest.param(_at("termination_pending", "sign_off", _sign("disposal", by=lead("monitoring"))),
                 "forbidden", "张监测不是污染处置组组长", id="a lead signing for another group"),
    pytest.param(_at("termination_pending", "sign_off", m.SignOff(by=lead("monitoring"), group="monitoring",
                                                                  lead="赵处置", decision="approve", round=1)),
                 "forbidden", "派遣时指定的应急监测组组长是张监测，不是赵处置", id="sign-off naming another lead"),
    pytest.param(_at("termination_pending", "sign_off", _sign("monitoring", round=None)),
                 "invalid", "请写明签署的轮次", id="sign-off naming no round"),
    pytest.param(_stale_round, "conflict", "第 1 轮已不在签署中；正在签署第 2 轮", id="a stale round"),
    pytest.param(_signed_twice, "conflict", "应急监测组已签署第 1 轮", id="signed twice"),
    pytest.param(_at("termination_pending", "sign_off", _sign("monitoring", "reject")),
                 "invalid", "不同意终止时须填写意见说明", id="a rejection without opinion"),
    pytest.param(_at("termination_pending", "sign_off", m.SignOff(by=DUTY, group="publicity", lead="王值班",
                                                                  decision="approve", round=1)),
                 "invalid", "新闻宣传组不签署终止签报", id="a group that does not sign"),
    pytest.param(_approve_before_all, "conflict", "尚待污染排查组（钱排查）签署",
                 id="approve before all signed"),
    pytest.param(_recorded_before_issue_24_all_signed, "invalid", "登记是否继续跟踪监测",
                 id="approve without the follow-up decision"),
    pytest.param(_all_signed(m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP_NO_DATE)), "invalid",
                 "继续跟踪监测须写明至何时", id="follow-up monitoring without an end date"),
    pytest.param(_city_started_then_approve, "invalid", "响应终止由市指挥部决定（4.4）",
                 id="approve without the city's decision when the city started"),
    pytest.param(_at("responding", "record_other_termination", GOOD_INPUT["record_other_termination"]()),
                 "conflict", "请提出终止建议，经各组组长签署（附件2）", id="county's termination at III"),
    pytest.param(_close_before_assessment, "conflict", "尚不能结案：损害评估报告尚未报送（5.3）",
                 id="close before the assessment report"),
    pytest.param(_at("post_event", "close", m.Close(by=DUTY)), "conflict",
                 "尚不能结案：尚未登记事件调查（5.2）：III级事件由省生态环境厅办理，本局登记其办理情况",
                 id="close before the investigation is recorded"),
    pytest.param(_at("post_event", "complete_investigation", GOOD_INPUT["complete_investigation"]()),
                 "conflict", "请用“登记其他单位办理的后期事项”登记其调查结论", id="the bureau's investigation at III"),
    pytest.param(_investigation_twice, "conflict", "事件调查已于", id="investigation twice"),
    pytest.param(_other_act_twice, "conflict", "事件调查（5.2）已登记为省生态环境厅的办理",
                 id="another body's act twice"),
    pytest.param(_at("post_event", "record_other_act", m.RecordOtherAct(by=DUTY, step="assessment", document="x")),
                 "conflict", "请用“登记损害评估报告通过评审”和“报送损害评估报告”登记", id="the bureau's own assessment as another's"),
    pytest.param(_report_before_review, "conflict", "损害评估报告尚未通过评审", id="assessment report before review"),
    pytest.param(_review_twice, "conflict", "损害评估报告已于 2026-11-10 通过评审", id="review twice"),
    pytest.param(_at("post_event", "assessment_review_passed",
                     m.AssessmentReviewPassed(by=DUTY, review_date=date(2026, 11, 11))),
                 "invalid", "评审通过日期 2026-11-11 在将来", id="review date in the future"),
    pytest.param(_report_missing_a_recipient, "invalid", "缺少：省生态环境厅", id="assessment report missing a recipient"),
    pytest.param(_at("responding", "request_support", m.RequestSupport(by=DUTY, partner="army", request="支援")),
                 "invalid", "没有联动单位“army”", id="request_support with unknown partner"),
    pytest.param(_at("responding", "answer_support", m.SupportAnswer(by=DUTY, request_no=7, answer="accepted")),
                 "invalid", "没有第7号商请（已发出 0 件）", id="answer to an unknown request"),
    pytest.param(_answered_twice, "conflict", "已登记过答复", id="a request answered twice"),
    pytest.param(_at("responding", "record_joint_investigation", GOOD_INPUT["record_joint_investigation"]()),
                 "conflict", "消防救援队伍未参与本事件的处置", id="joint investigation without fire engaged"),
    pytest.param(_joint_twice, "conflict", "联合调查组已登记", id="joint investigation twice"),
    pytest.param(_at("reported", "recompute_deadlines", GOOD_INPUT["recompute_deadlines"]()),
                 "conflict", "无需重新计算", id="recompute with nothing provisional"),
    pytest.param(_second_initial_report, "conflict", "请报送续报", id="a second 初报"),
    pytest.param(_at("reported", "submit_report", m.SubmitReport(by=DUTY, kind="initial",
                                                                 content=m.ReportContent(summary="泄漏"))),
                 "invalid", "缺少：报告签发人", id="a report without its header"),
    pytest.param(_at("reported", "record_circumstances", m.RecordCircumstances(by=DUTY, circumstances=[])),
                 "invalid", "请至少选择一种情形", id="no circumstance"),
    pytest.param(_wider_scope_only, "conflict", "只能登记更大的范围", id="a narrower cross-boundary scope"),
    pytest.param(_at("reported", "issue_warning", m.IssueWarning(by=DUTY)),
                 "invalid", "请写明发布机关和文号", id="a warning without its issuer"),
    pytest.param(_at("reported", "issue_warning", m.IssueWarning(by=DUTY, actions_done=["fireworks"], **CITY_WARNING)),
                 "invalid", "没有预警行动“fireworks”", id="an unknown 3.2 action"),
    pytest.param(_at("reported", "propose_warning", m.ProposeWarning(by=COMMANDER, proposal="解除", lift=True)),
                 "conflict", "没有已发布的预警", id="proposing to lift a warning never issued"),
    pytest.param(_at("warning", "lift_warning", m.LiftWarning(by=DUTY, reason="消除")),
                 "invalid", "预警解除由", id="a lifting without its issuer"),
]


@pytest.mark.parametrize("build, kind, words", OWN_REFUSALS)
def test_refused(build, kind, words):
    inc, name, inp = build()
    before = inc.s.model_dump()
    err = inc.refused(name, inp)
    assert isinstance(err, Refused)
    assert (err.kind, words in err.message) == (kind, True), err.message
    assert inc.s.model_dump() == before  # a check changes nothing


# ---------------------------------------------------------------------------- whole or not at all

def snapshot(s: m.IncidentState) -> tuple:
    return s.stage, len(s.timeline), len(s.outbox), dict(s.signoffs), s.model_dump()


@pytest.mark.parametrize("name, build", [
    ("sign_off", lambda: in_stage("termination_pending")),
    ("approve_termination", _all_signatories_approved),
])
def test_an_apply_on_the_draft_leaves_the_state_as_it_was(name, build):
    inc = build()
    s, before = inc.s, snapshot(inc.s)
    got = inc.check(name, GOOD_INPUT[name]())
    draft = draft_of(s)
    actions.ACTIONS[name].apply(inc.recorder(draft), GOOD_INPUT[name](), got, {})
    assert snapshot(s) == before
    assert len(draft.timeline) > len(s.timeline)  # the draft has it all
    if name == "approve_termination":
        assert (draft.stage, s.stage) == ("post_event", "termination_pending")
        assert "approved_by" in draft.termination and "approved_by" not in s.termination
    else:
        assert set(draft.signoffs) == {"monitoring"} and s.signoffs == {}


class Down(Exception):
    pass


def test_an_apply_that_fails_midway_leaves_the_live_state_untouched(monkeypatch):
    """approve_termination moves the stage, meets response_terminated and writes the form
    before it notifies: a notify that raises leaves a half-applied draft, never swapped in."""
    inc = in_stage("termination_pending")
    sign_all(inc)
    spec, inp = actions.ACTIONS["approve_termination"], GOOD_INPUT["approve_termination"]()
    got = inc.check("approve_termination", inp)
    seen = {}

    def notify(rec, *args, **kw):
        seen["stage"] = rec.s.stage  # the transition was made on the draft
        raise Down("the outbox is down")

    monkeypatch.setattr(Recorder, "notify", notify)
    s = inc.s
    before = snapshot(s)
    with pytest.raises(Down):
        draft = draft_of(s)  # as IncidentWorkflow._apply: draft, apply, and only then swap
        spec.apply(Recorder(draft, lambda: inc.now, inc.workflow_id, inc.lc), inp, got, {})
        s = draft
    assert seen["stage"] == "post_event"
    assert s is inc.s and snapshot(s) == before
    # Applied on the live state instead, the same failure leaves it half-changed: why the draft.
    with pytest.raises(Down):
        spec.apply(inc.recorder(inc.s), inp, got, {})
    assert inc.s.stage == "post_event" and "response_terminated" in inc.s.events
    assert not [o for o in inc.s.outbox if o["kind"] == "notify" and o["payload"]["event"] == "response_terminated"]


def test_the_workflows_apply_swaps_the_draft_in_whole():
    """The same through IncidentWorkflow._apply itself (its Recorder needs only the clock and id)."""
    from workflows.incident import IncidentWorkflow

    inc = in_stage("termination_pending")
    wf = IncidentWorkflow.__new__(IncidentWorkflow)
    wf.s = inc.s
    wf._rec = lambda draft=None: Recorder(draft or wf.s, lambda: inc.now, inc.workflow_id, inc.lc)
    old = wf.s
    inp = GOOD_INPUT["sign_off"]()
    wf._apply(actions.ACTIONS["sign_off"], inp, inc.check("sign_off", inp), {})
    assert wf.s is not old and set(wf.s.signoffs) == {"monitoring"} and old.signoffs == {}


# ---------------------------------------------------------------------------- may

def test_may_answers_none_for_an_allowed_person_and_stage_and_a_sentence_otherwise():
    inc = in_stage("responding")
    assert actions.may("dispatch", DUTY, inc.s, inc.lc) is None
    assert actions.may("adjust_level", COMMANDER, inc.s, inc.lc) is None
    # the authority table (plan roles)
    why = actions.may("dispatch", COMMANDER, inc.s, inc.lc)
    assert why and "指挥不能办理「派遣工作组」" in why
    assert "督查不能办理" in actions.may("dispatch", SUPERVISOR, inc.s, inc.lc)
    # the stage
    why = actions.may("propose_termination", DUTY, inc.s, inc.lc)
    assert why and "不能提出终止响应建议：只能在现场处置阶段办理" in why
    # a closed incident
    closed = in_stage("closed")
    assert "已结案（处置完毕）" in actions.may("submit_report", DUTY, closed.s, closed.lc)


def test_may_for_a_sign_off_asks_the_role_not_the_named_lead():
    """may() has no input, so it cannot tell which group: any lead may sign (the check then
    refuses one not named for the group, test_refused above)."""
    inc = in_stage("termination_pending")
    assert actions.may("sign_off", lead("monitoring"), inc.s, inc.lc) is None
    stranger = Actor(name="吴路人", role="工作组组长", role_id="lead", via="web")
    assert actions.may("sign_off", stranger, inc.s, inc.lc) is None
    assert "工作组组长不能办理「指挥批示终止」" in actions.may("approve_termination", lead("monitoring"), inc.s, inc.lc)


def _objects(x, seen=None):
    """Every list, dict, set and pydantic model reachable from x, by id."""
    seen = {} if seen is None else seen
    if id(x) in seen or not isinstance(x, (list, dict, set, tuple, BaseModel)):
        return seen
    seen[id(x)] = x
    items = (x.__dict__.values() if isinstance(x, BaseModel) else x.values() if isinstance(x, dict) else x)
    for v in list(items):
        _objects(v, seen)
    return seen


@pytest.mark.parametrize("stage", ["reported", "warning", "responding", "on_site", "termination_pending",
                                   "post_event", "closed"])
def test_the_draft_is_deepcopys_copy_with_the_same_sharing(stage):
    """draft_of copies with workflows/state_copy.py, not copy.deepcopy (in the sandbox
    deepcopy's isinstance calls cost a quarter of an activation): the same copy, and what it
    shares with the live state is exactly what draft_of means to share."""
    import copy

    import workflows.incident as wi

    inc = in_stage(stage)
    s = inc.s
    s.outbox.append({"kind": "render", "key": "r1", "payload": {"reports": list(s.reports)}})  # a printing waiting
    draft = draft_of(s)
    assert draft == s and draft is not s
    # what deepcopy with draft_of's memo shares, built the same way
    monkey = wi.state_copy.deep_copy
    try:
        wi.state_copy.deep_copy = copy.deepcopy
        reference = draft_of(s)
    finally:
        wi.state_copy.deep_copy = monkey
    assert reference == draft
    live, ref, new = _objects(s), _objects(reference), _objects(draft)
    shared_ref = {i for i in ref if i in live}
    shared_new = {i for i in new if i in live}
    assert shared_new == shared_ref
    assert {id(s.plan), id(s.report)} <= shared_new and id(s.outbox) not in shared_new
    assert type(draft.stage) is type(s.stage) and draft.model_fields_set == s.model_fields_set
