"""The IncidentWorkflow contract, against a real Temporal dev server and a real worker:
the life cycle at every level, a lifted warning, a rejected sign-off round, level
changes, the city-started rule, every refusal, and the sign-off signal form."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from ecoplan import api
from plan.grading import Assessment
from plan.incident import Actor, ReportContent
from tests.drive import (SIGNATORIES, act, archive, final_report, archived, describe_status, deadline, outbox, outbox_events,
                         parse, sign_all, timeline, to_on_site, to_post_event, to_termination_pending)
from tests.helpers import CITY_WARNING, COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, eventually, lead, now, report, settled
from workflows import messages as m

CITY_HQ = "市突发环境事件应急指挥部"


# ---------------------------------------------------------------------------- helpers


async def refused(client, iid: str, action: str, inp: m.Action, *words: str) -> str:
    """The action is refused with a message holding every word, and nothing changed."""
    before = await api.status(client, iid)
    with pytest.raises(api.ActionRefused) as exc:
        await api.act(client, iid, action, inp)
    msg = str(exc.value)
    for w in words:
        assert w in msg, f"{action}: {w!r} not in refusal {msg!r}"
    after = await api.status(client, iid)
    # Deliveries finish in the background (documents written, notifications sent): not the action's doing.
    for st in (before, after):
        for key in ("documents", "documents_count", "deliveries_overdue"):
            st.pop(key, None)
    assert after == before, f"{action}: the refusal changed the state"
    assert await describe_status(client, iid) == WorkflowExecutionStatus.RUNNING
    return msg


def user_actions(st: dict) -> list[str]:
    return [e["action"] for e in st["timeline"] if e["by"] is not None]


# ---------------------------------------------------------------------------- life cycle per level

LEVEL_CASES = [
    # level, assessment, level name, initial-report hours, readiness deadline
    pytest.param("I", Assessment(deaths=30), "特别重大", 2, True, id="I"),
    pytest.param("II", Assessment(evacuated=10000), "重大", 2, True, id="II"),
    pytest.param("III", Assessment(direct_loss_yuan=5_000_000), "较大", 4, True, id="III"),
    pytest.param("IV", Assessment(), "一般", 4, False, id="IV"),
]


@pytest.mark.parametrize("level, assessment, level_name, report_hours, readiness", LEVEL_CASES)
async def test_full_life_cycle(client, worker, level, assessment, level_name, report_hours, readiness):
    t0 = now().replace(microsecond=0)
    r = report(assessment=assessment, discovered_at=t0 - timedelta(minutes=50),
               reported_at=t0 - timedelta(minutes=45))
    iid = await api.start_incident(client, r)

    st = await api.status(client, iid)
    assert (st["stage"], st["graded_level"], st["level"]) == ("reported", level, None)
    [d] = st["deadlines"]
    assert d["name"] == "initial_report" and d["status"] == "pending"
    assert parse(d["due_at"]) == r.reported_at + timedelta(hours=report_hours)  # from when the bureau learned

    # activate: the level defaults to the graded one
    activated_at = t0 - timedelta(minutes=40)
    res = await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=activated_at))
    assert res.stage == "responding"
    st = await api.status(client, iid)
    assert st["level"] == level and st["level_name"] == level_name
    assert [(c["from_level"], c["to_level"]) for c in st["level_changes"]] == [(None, level)]
    ready = deadline(st, "readiness")
    if readiness:
        assert ready["status"] == "pending"
        assert parse(ready["due_at"]) == activated_at + timedelta(hours=1)
    else:
        assert ready is None

    # initial report
    reported_at = t0 - timedelta(minutes=35)
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED,
        by=DUTY, at=reported_at, kind="initial", content=ReportContent(summary="储罐泄漏，已围堵", place="桃河冶西段")))
    st = await api.status(client, iid)
    d = deadline(st, "initial_report")
    assert d["status"] == "met" and parse(d["met_at"]) == reported_at

    # dispatch: on site, readiness met
    res = await act(client, iid, "dispatch", m.Dispatch(by=DUTY, at=t0 - timedelta(minutes=30), leads=LEADS))
    assert res.stage == "on_site"
    st = await api.status(client, iid)
    assert st["leads"] == LEADS
    if readiness:
        assert deadline(st, "readiness")["status"] == "met"
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED,
        by=DUTY, kind="progress", content=ReportContent(summary="下游监测数据回落", monitoring_data="COD 18 mg/L")))

    # termination: proposal, three sign-offs, commander
    res = await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="已降至本底水平"))
    assert res.stage == "termination_pending"
    st = await api.status(client, iid)
    assert st["round"] == 1 and st["pending_signoffs"] == list(SIGNATORIES)
    await sign_all(client, iid)
    st = await api.status(client, iid)
    assert st["stage"] == "termination_pending" and st["pending_signoffs"] == []
    assert {g: s["decision"] for g, s in st["signoffs"].items()} == dict.fromkeys(SIGNATORIES, "approve")
    assert "局指挥部指挥" in st["waiting_on"]
    res = await act(client, iid, "approve_termination",
                    m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意终止应急响应，做好后期处置"))
    assert res.stage == "post_event"
    st = await api.status(client, iid)
    # issue 24: each clock runs only at the level where the step is the bureau's own (5.3: the
    # assessment at 较大; 32号令 第四条: the investigation at 一般)
    own = {"IV": ["investigation"], "III": ["assessment_completion"]}.get(level, [])
    assert [d["name"] for d in st["deadlines"] if d["name"] in ("assessment_completion", "investigation")] == own
    assert all(deadline(st, name)["status"] == "pending" for name in own)
    assert deadline(st, "assessment_report") is None

    # post event
    await act(client, iid, "record_aftercare", m.RecordAftercare(by=DUTY, note="指导县政府善后"))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED,
        by=DUTY, kind="final", content=ReportContent(summary="处置完毕，污染已消除")))
    investigator = {"I": "生态环境部", "II": "生态环境部", "III": "省生态环境厅"}.get(level)  # 32号令 第四条
    if investigator:  # another body's investigation: recorded (who, when, document), not performed
        await refused(client, iid, "complete_investigation", m.CompleteInvestigation(by=DUTY),
                      f"{investigator}'s act at level {level}", "32号令 第四条", "record_other_act")
        res = await act(client, iid, "record_other_act", m.RecordOtherAct(
            by=DUTY, step="investigation", document=f"{investigator}调查报告（测试）"))
        assert investigator in res.message
        investigation_action = "record_other_act"
    else:
        await act(client, iid, "complete_investigation", m.CompleteInvestigation(by=DUTY, summary="企业储罐老化"))
        investigation_action = "complete_investigation"
    if "investigation" in own:
        assert deadline(await api.status(client, iid), "investigation")["status"] == "met"
    res = await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    st = await api.status(client, iid)
    if "assessment_completion" in own:
        assert "the report is due" in res.message
        assert deadline(st, "assessment_report")["status"] == "pending"
        assert deadline(st, "assessment_completion")["status"] == "met"
    else:
        assert deadline(st, "assessment_report") is None
    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    if "assessment_completion" in own:
        assert deadline(await api.status(client, iid), "assessment_report")["status"] == "met"
    res = await act(client, iid, "close", m.Close(by=DUTY, note="处置完毕"))
    assert res.stage == "closed"

    handle = client.get_workflow_handle(api.workflow_id(iid))
    assert await handle.result() == {"incident_id": iid, "outcome": "completed"}
    st = await api.status(client, iid)
    assert (st["stage"], st["outcome"]) == ("closed", "completed")
    assert user_actions(st) == [
        "reported", "activate_response", "submit_report", "dispatch", "submit_report", "propose_termination",
        "sign_off", "sign_off", "sign_off", "approve_termination", "record_aftercare", "submit_report",
        investigation_action, "assessment_review_passed", "submit_assessment_report", "close"]
    stages = [(e["from_stage"], e["to_stage"]) for e in st["timeline"] if e["from_stage"] != e["to_stage"]]
    assert stages == [("reported", "responding"), ("responding", "on_site"), ("on_site", "termination_pending"),
                      ("termination_pending", "post_event"), ("post_event", "closed")]
    assert all(d["status"] == "met" for d in st["deadlines"]), st["deadlines"]

    # documents
    files = await archived(worker, iid, "activation_notice.md", "termination_form.md", "info_report.md",
                           "dossier.json")
    notice = next(t for n, t in files.items() if n.endswith("activation_notice.md"))
    assert f"启动局应急预案{level}级响应（{level_name}）" in notice
    assert r.county in notice and r.title in notice and "附件1" in notice
    # 附件1's title as the plan prints it, the plan's name not repeated before it
    assert notice.startswith("# 阳泉市生态环境局突发环境事件应急响应启动通知\n")
    form = next(t for n, t in files.items() if n.endswith("termination_form.md"))
    assert form.startswith("# 阳泉市生态环境局突发环境事件应急响应终止签报单\n")
    for g in SIGNATORIES:
        assert f"{g} 同意终止" in form and LEADS[g] in form
    assert "同意终止应急响应，做好后期处置" in form and COMMANDER.name in form
    infos = [t for n, t in files.items() if n.endswith("info_report.md")]  # in timeline order
    assert len(infos) == 3
    assert "信息初报" in infos[0] and "储罐泄漏，已围堵" in infos[0] and "桃河冶西段" in infos[0]
    assert "信息续报" in infos[1] and "COD 18 mg/L" in infos[1]
    assert "信息处理结果报告" in infos[2] and "处置完毕，污染已消除" in infos[2]
    dossier = json.loads(files["dossier.json"])
    assert dossier["incident_id"] == iid and dossier["outcome"] == "completed"
    assert len(dossier["timeline"]) == len(st["timeline"])

    # notifications
    rows = await outbox_events(worker, iid, "response_activated", *["info_report"] * 3, "groups_dispatched",
                               "termination_proposed", "termination_ready", "response_terminated",
                               "assessment_report_submitted", "incident_closed")
    by_event = {row["event"]: row for row in rows}
    assert (CITY_HQ in by_event["response_activated"]["recipients"]) == (level != "IV")
    assert by_event["assessment_report_submitted"]["recipients"] == ["市人民政府", "省生态环境厅"]
    assert [row["detail"]["kind"] for row in rows if row["event"] == "info_report"] == ["initial", "progress", "final"]
    assert not [row for row in rows if row["event"] in ("deadline_overdue", "deadline_reminder")]
    # the supervisor views see it closed
    query = f"WorkflowId = '{api.workflow_id(iid)}' AND EcoStage = 'closed' AND EcoOutcome = 'completed'"
    await eventually(lambda: _list(client, query), lambda ws: len(ws) == 1)


async def test_warning_lifted(client, worker):
    iid = await api.start_incident(client, report())
    await refused(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING, actions_done=["nosuch"]),
                  "unknown warning action 'nosuch'", "public_opinion")
    res = await act(client, iid, "issue_warning",
                    m.IssueWarning(by=DUTY, **CITY_WARNING, recommendation="发布黄色预警", actions_done=["public_opinion"]))
    assert res.stage == "warning"
    st = await api.status(client, iid)
    assert st["warning"]["recommendation"] == "发布黄色预警"
    assert [a["id"] for a in st["warning"]["actions"] if a["done"]] == ["public_opinion"]
    assert "lift_warning" in st["allowed_actions"] and "activate_response" in st["allowed_actions"]
    await refused(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING), "不能登记预警发布", "stage warning")
    await refused(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="x", at=now() + timedelta(hours=1)),
                  "in the future")
    res = await act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="危险已经消除"))
    assert res.stage == "closed"
    handle = client.get_workflow_handle(api.workflow_id(iid))
    assert await handle.result() == {"incident_id": iid, "outcome": "warning_lifted"}
    st = await api.status(client, iid)
    assert (st["stage"], st["outcome"], st["level"]) == ("closed", "warning_lifted", None)
    assert user_actions(st) == ["reported", "issue_warning", "lift_warning"]
    files = await archived(worker, iid, "dossier.json")
    assert json.loads(files["dossier.json"])["outcome"] == "warning_lifted"
    assert not any(n.endswith("activation_notice.md") for n in files)
    await outbox_events(worker, iid, "warning_issued", "warning_lifted")
    # a closed incident takes no more actions
    with pytest.raises(api.IncidentClosed):
        await api.act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))


async def test_warning_then_response(client, worker):
    iid = await api.start_incident(client, report())
    await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
    res = await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    assert res.stage == "responding"
    await refused(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="x"),
                  "（stage responding），不能登记预警解除", "只能在预警（warning）阶段办理")


# ---------------------------------------------------------------------------- sign-off rounds


async def test_rejected_round_then_approved_round(client, worker):
    iid = await api.start_incident(client, report())
    await to_termination_pending(client, iid)
    await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), group="monitoring",
                                                 lead=LEADS["monitoring"], decision="approve"))
    # a rejection needs an opinion
    await refused(client, iid, "sign_off", m.SignOff(round=1, by=lead("disposal"), group="disposal",
                                                     lead=LEADS["disposal"], decision="reject", opinion="  "),
                  "rejection needs an opinion")
    opinion = "下游断面COD仍超标，继续处置"
    res = await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("disposal"), group="disposal",
                                                       lead=LEADS["disposal"], decision="reject", opinion=opinion))
    assert res.stage == "on_site" and opinion in res.message
    st = await api.status(client, iid)
    assert st["stage"] == "on_site" and st["pending_signoffs"] == []
    assert [(h["round"], h["group"], h["decision"], h["opinion"]) for h in st["signoff_history"]] == [
        (1, "monitoring", "approve", ""), (1, "disposal", "reject", opinion)]
    [entry] = [e for e in timeline(st, "sign_off") if e["detail"]["decision"] == "reject"]
    assert (entry["from_stage"], entry["to_stage"], entry["detail"]["opinion"], entry["rejected"]) == (
        "termination_pending", "on_site", opinion, False)
    rows = await outbox_events(worker, iid, "termination_rejected")
    assert [row["detail"]["opinion"] for row in rows if row["event"] == "termination_rejected"] == [opinion]
    # the third lead cannot sign a round that is over; the commander cannot approve it
    await refused(client, iid, "sign_off", m.SignOff(round=1, by=lead("investigation"), group="investigation",
                                                     lead=LEADS["investigation"], decision="approve"),
                  "（stage on_site），不能签署终止签报")
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP),
                  "（stage on_site），不能批示终止响应")

    # round 2
    res = await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="复测达标"))
    assert "round 2" in res.message
    st = await api.status(client, iid)
    assert (st["stage"], st["round"], st["signoffs"]) == ("termination_pending", 2, {})
    assert st["pending_signoffs"] == list(SIGNATORIES)
    await act(client, iid, "sign_off", m.SignOff(round=2, by=lead("disposal"), group="disposal",
                                                 lead=LEADS["disposal"], decision="approve", opinion="复测达标，同意"))
    st = await api.status(client, iid)
    assert list(st["signoffs"]) == ["disposal"] and st["signoffs"]["disposal"]["round"] == 2
    assert st["pending_signoffs"] == ["monitoring", "investigation"]
    for g in ("monitoring", "investigation"):
        await act(client, iid, "sign_off", m.SignOff(round=2, by=lead(g), group=g, lead=LEADS[g], decision="approve"))
    st = await api.status(client, iid)
    assert {g: (s["round"], s["decision"]) for g, s in st["signoffs"].items()} == dict.fromkeys(
        SIGNATORIES, (2, "approve"))
    assert len(st["signoff_history"]) == 5
    res = await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意"))
    assert res.stage == "post_event"
    files = await archived(worker, iid, "termination_form.md")
    form = next(t for n, t in files.items() if n.endswith("termination_form.md"))
    assert form.startswith("# 阳泉市生态环境局突发环境事件应急响应终止签报单\n")
    assert "复测达标，同意" in form and opinion not in form  # the form is round 2's
    assert (await api.status(client, iid))["signoff_history"][1]["opinion"] == opinion  # round 1 kept


# ---------------------------------------------------------------------------- levels


async def test_level_adjustment(client, worker):
    iid = await api.start_incident(client, report())  # graded IV
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    st = await api.status(client, iid)
    assert st["level"] == "IV" and deadline(st, "readiness") is None
    await refused(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, level="IV", reason="同级"),
                  "already at level IV")
    raised_at = now().replace(microsecond=0) - timedelta(minutes=2)
    res = await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, at=raised_at, level="III",
                                                               reason="影响扩大至饮用水源"))
    assert "IV → III" in res.message
    st = await api.status(client, iid)
    assert st["level"] == "III" and st["level_name"] == "较大"
    ready = deadline(st, "readiness")
    assert ready["status"] == "pending" and parse(ready["due_at"]) == raised_at + timedelta(hours=1)
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    assert deadline(await api.status(client, iid), "readiness")["status"] == "met"
    await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, level="II", reason="疏散人数超过1万"))
    await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, level="III", reason="疏散人员已返回"))
    st = await api.status(client, iid)
    assert [(c["from_level"], c["to_level"], c["reason"]) for c in st["level_changes"]] == [
        (None, "IV", None), ("IV", "III", "影响扩大至饮用水源"), ("III", "II", "疏散人数超过1万"),
        ("II", "III", "疏散人员已返回")]
    assert [d["name"] for d in st["deadlines"]].count("readiness") == 1
    assert len(timeline(st, "adjust_level")) == 3
    await outbox_events(worker, iid, "level_adjusted", "level_adjusted", "level_adjusted")
    assert len([row for row in outbox(worker, iid) if row["event"] == "level_adjusted"]) == 3
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    await refused(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, level="IV", reason="x"),
                  "（stage termination_pending），不能调整响应级别", "应急响应（responding）、现场处置（on_site）")


async def test_level_raised_after_dispatch_meets_readiness_at_once(client, worker):
    iid = await api.start_incident(client, report())
    await to_on_site(client, iid)
    await act(client, iid, "adjust_level", m.AdjustLevel(by=COMMANDER, level="III", reason="扩大"))
    st = await api.status(client, iid)
    ready = deadline(st, "readiness")
    assert ready["status"] == "met" and parse(ready["met_at"]) == parse(timeline(st, "dispatch")[0]["at"])


async def test_activate_other_level_needs_reason(client, worker):
    iid = await api.start_incident(client, report())  # graded IV
    await refused(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, level="III"),
                  "differs from the graded level IV", "reason", "4.1.5")
    await refused(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, level="III", reason="   "),
                  "reason")
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, level="III", reason="涉及饮用水源地，提级响应"))
    st = await api.status(client, iid)
    assert (st["graded_level"], st["level"]) == ("IV", "III")
    assert st["level_changes"][0]["reason"] == "涉及饮用水源地，提级响应"
    assert deadline(st, "readiness")["status"] == "pending"
    files = await archived(worker, iid, "activation_notice.md")
    notice = next(t for n, t in files.items() if n.endswith("activation_notice.md"))
    assert "III级响应" in notice and "涉及饮用水源地，提级响应" in notice


async def test_city_started_at_activation_city_decides_termination(client, worker):
    iid = await api.start_incident(client, report(assessment=Assessment(direct_loss_yuan=6_000_000)))
    await to_termination_pending(client, iid, city_started=True)
    assert (await api.status(client, iid))["city_started"] is True
    await sign_all(client, iid)
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意"),
                  "city headquarters decides termination (4.4)", "city_decision")
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, city_decision="  "),
                  "city headquarters decides")
    await refused(client, iid, "record_city_started", m.RecordCityStarted(by=DUTY), "already recorded")
    res = await act(client, iid, "approve_termination",
                    m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意", city_decision="市指挥部张总指挥决定终止"))
    assert res.stage == "post_event"
    files = await archived(worker, iid, "termination_form.md")
    form = next(t for n, t in files.items() if n.endswith("termination_form.md"))
    assert form.startswith("# 阳泉市生态环境局突发环境事件应急响应终止签报单\n")
    assert "市指挥部决定（4.4）：市指挥部张总指挥决定终止" in form


async def test_record_city_started_later(client, worker):
    iid = await api.start_incident(client, report())
    await to_termination_pending(client, iid)
    assert (await api.status(client, iid))["city_started"] is False
    res = await act(client, iid, "record_city_started", m.RecordCityStarted(by=DUTY, note="市政府启动III级响应"))
    assert "city HQ decides" in res.message
    st = await api.status(client, iid)
    assert st["city_started"] is True and st["stage"] == "termination_pending"
    assert timeline(st, "record_city_started")[0]["detail"]["note"] == "市政府启动III级响应"
    await sign_all(client, iid)
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP),
                  "city headquarters decides termination")
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, city_decision="市指挥部同意终止"))
    st = await api.status(client, iid)
    assert st["stage"] == "post_event" and st["termination"]["city_decision"] == "市指挥部同意终止"
    await refused(client, iid, "record_city_started", m.RecordCityStarted(by=DUTY),
                  "（stage post_event），不能登记市政府启动响应")


# ---------------------------------------------------------------------------- refusals

SIGN = dict(group="monitoring", lead=LEADS["monitoring"], decision="approve")


def a_lead(name: str) -> Actor:
    """An account acting as a lead, not necessarily the one named at dispatch."""
    return Actor(name=name, role="工作组组长", role_id="lead", via="web")


def all_actions() -> dict[str, m.Action]:
    """One well-formed input per action, to be refused in a stage that does not allow it."""
    return {
        "propose_warning": m.ProposeWarning(by=COMMANDER, proposal="建议发布蓝色预警"),
        "issue_warning": m.IssueWarning(by=DUTY, **CITY_WARNING),
        "lift_warning": m.LiftWarning(by=DUTY, **CITY_WARNING, reason="解除"),
        "activate_response": m.ActivateResponse(by=COMMANDER),
        "adjust_level": m.AdjustLevel(by=COMMANDER, level="I", reason="提级"),
        "record_city_started": m.RecordCityStarted(by=DUTY),
        "dispatch": m.Dispatch(by=DUTY, leads=LEADS),
        "propose_termination": m.ProposeTermination(by=DUTY, reason="达标"),
        "sign_off": m.SignOff(round=1, by=lead("monitoring"), **SIGN),
        "approve_termination": m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP),
        "record_aftercare": m.RecordAftercare(by=DUTY, note="善后"),
        "complete_investigation": m.CompleteInvestigation(by=DUTY),
        "assessment_review_passed": m.AssessmentReviewPassed(by=DUTY),
        "submit_assessment_report": m.SubmitAssessmentReport(by=DUTY),
        "close": m.Close(by=DUTY),
        "request_support": m.RequestSupport(by=DUTY, partner="fire_brigade", request="调派专家"),
        "record_joint_investigation": m.RecordJointInvestigation(by=DUTY, members=["消防支队 王"]),
        "record_other_termination": m.RecordOtherTermination(by=DUTY, document="平定县政府终止响应通知"),
        "record_other_act": m.RecordOtherAct(by=DUTY, step="investigation", document="调查报告"),
        "decide_follow_up": m.DecideFollowUp(by=DUTY, follow_up=FOLLOW_UP),
    }


ALLOWED = {
    "reported": {"propose_warning", "issue_warning", "activate_response"},
    "responding": {"adjust_level", "record_city_started", "dispatch", "request_support", "record_other_termination",
                   "record_joint_investigation"},
    "on_site": {"adjust_level", "record_city_started", "propose_termination", "request_support",
                "record_other_termination", "record_joint_investigation"},
    "termination_pending": {"record_city_started", "sign_off", "approve_termination", "request_support",
                            "record_joint_investigation"},
    "post_event": {"record_aftercare", "complete_investigation", "assessment_review_passed",
                   "submit_assessment_report", "close", "record_joint_investigation", "record_other_act",
                   "decide_follow_up"},
}
# Allowed in every open stage (4.2 reports, 4.2.3 cross-boundary notices, answers to 商请, 17号令 第四条 cases).
ANYWHERE = {"submit_report", "recompute_deadlines", "record_cross_boundary", "answer_support", "record_circumstances",
            "determine_event_level"}  # the event's level is judged and confirmed while the incident is open (issue 24)


@pytest.mark.parametrize("stage", list(ALLOWED))
async def test_wrong_stage_refused_for_every_action(client, worker, stage):
    iid = await api.start_incident(client, report())
    if stage == "responding":
        await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    elif stage == "on_site":
        await to_on_site(client, iid)
    elif stage == "termination_pending":
        await to_termination_pending(client, iid)
    elif stage == "post_event":
        await to_post_event(client, iid)
    st = await api.status(client, iid)
    assert st["stage"] == stage
    # status lists exactly the allowed ones (plus submit_report / recompute_deadlines, allowed everywhere open)
    assert set(st["allowed_actions"]) == ALLOWED[stage] | ANYWHERE
    wrong = [a for a in all_actions() if a not in ALLOWED[stage]]
    assert len(wrong) >= 9
    for action in wrong:
        await refused(client, iid, action, all_actions()[action], f"（stage {stage}），不能", "只能在")


async def test_refused_time_checks_and_duplicate_report(client, worker):
    t0 = now()
    r = report(discovered_at=t0 - timedelta(minutes=30))
    iid = await api.start_incident(client, r)
    await refused(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=t0 + timedelta(minutes=10)),
                  "in the future", "more than 5 minutes")
    await refused(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=r.discovered_at - timedelta(minutes=1)),
                  "before the incident was discovered")
    # within the tolerance is fine
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=now() + timedelta(minutes=2)))
    content = ReportContent(summary="初报")
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=content))
    await refused(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=content),
                  "initial report (初报) was made", "progress report")
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="progress", content=ReportContent(summary="续报")))
    assert [x["kind"] for x in (await api.status(client, iid))["reports"]] == ["initial", "progress"]


async def test_refused_groups_and_signatures(client, worker):
    iid = await api.start_incident(client, report())
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    await refused(client, iid, "dispatch", m.Dispatch(by=DUTY, leads={**LEADS, "nosuch": "某人"}),
                  "unknown group 'nosuch'", "monitoring")
    await refused(client, iid, "dispatch", m.Dispatch(by=DUTY, leads={"monitoring": "张监测", "disposal": "赵处置"}),
                  "name the lead of investigation")
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads={**LEADS, "publicity": "孙宣传"}))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))

    await refused(client, iid, "sign_off", m.SignOff(round=1, by=a_lead("某人"), group="nosuch",
                                                     lead="某人", decision="approve"), "unknown group 'nosuch'")
    await refused(client, iid, "sign_off", m.SignOff(round=1, by=a_lead("孙宣传"), group="publicity",
                                                     lead="孙宣传", decision="approve"),
                  "publicity does not sign termination", "monitoring, disposal, investigation")
    await refused(client, iid, "sign_off", m.SignOff(round=1, by=a_lead("冒名"), group="monitoring",
                                                     lead="冒名", decision="approve"),
                  "冒名不是应急监测组组长", "派遣时指定的应急监测组组长是张监测")
    await refused(client, iid, "sign_off", m.SignOff(round=1, by=DUTY, **SIGN), f"{DUTY.name}不是应急监测组组长")
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP),
                  "waiting for sign-off from", "monitoring (张监测)", "disposal (赵处置)", "investigation (钱排查)")

    await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), **SIGN))
    await refused(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), **SIGN),
                  "monitoring already signed in round 1")
    await refused(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), **{**SIGN, "decision": "reject"},
                                                     opinion="改主意"), "already signed")
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP),
                  "waiting for sign-off from", "disposal", "investigation")
    for g in ("disposal", "investigation"):
        await act(client, iid, "sign_off", m.SignOff(round=1, by=lead(g), group=g, lead=LEADS[g], decision="approve"))
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=DUTY, follow_up=FOLLOW_UP),
                  "值班员不能办理「指挥批示终止」", "此操作由指挥办理")
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=lead("monitoring"), follow_up=FOLLOW_UP),
                  "工作组组长不能办理「指挥批示终止」")
    res = await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP))
    assert res.stage == "post_event"


async def test_refused_post_event_order(client, worker):
    # III (500万元 direct loss, 附表1 较大 3): the investigation is the province's, the assessment the bureau's
    iid = await api.start_incident(client, report(assessment=Assessment(direct_loss_yuan=5_000_000)))
    await to_post_event(client, iid)
    await refused(client, iid, "close", m.Close(by=DUTY), "cannot close yet",
                  "事件调查（5.2）: 省生态环境厅's act at level III", "is not recorded yet",
                  "assessment report is not submitted")
    await refused(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY),
                  "has not passed review")
    await refused(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="assessment", document="x"),
                  "the bureau's own step at level III", "5.3", "submit_assessment_report")
    await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="晋环调〔2026〕1号"))
    await refused(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="y"),
                  "already recorded as 省生态环境厅's act", "晋环调〔2026〕1号")
    msg = await refused(client, iid, "close", m.Close(by=DUTY), "cannot close yet", "assessment report is not submitted")
    assert "investigation" not in msg
    today = now().date()
    await refused(client, iid, "assessment_review_passed",
                  m.AssessmentReviewPassed(by=DUTY, review_date=today + timedelta(days=1)), "is in the future")
    await refused(client, iid, "assessment_review_passed",
                  m.AssessmentReviewPassed(by=DUTY, review_date=today - timedelta(days=3)),
                  "before the incident was discovered")
    await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    await refused(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY), "already passed review")
    await refused(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY, recipients=["市人民政府"]),
                  "missing: 省生态环境厅")
    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    await refused(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY), "was submitted")
    await refused(client, iid, "close", m.Close(by=DUTY), "cannot close yet", "处理结果报告")
    await act(client, iid, "submit_report", final_report())
    res = await act(client, iid, "close", m.Close(by=DUTY))
    assert res.stage == "closed"


async def test_duplicate_start_refused(client, worker):
    r = report()
    iid = await api.start_incident(client, r)
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    handle = client.get_workflow_handle(api.workflow_id(iid))
    run_id = (await handle.describe()).run_id
    before = await api.status(client, iid)
    with pytest.raises(api.IncidentExists, match=f"incident {iid} already exists"):
        await api.start_incident(client, r.model_copy(update={"title": "另一个事件"}))
    assert settled(await api.status(client, iid)) == settled(before)
    desc = await handle.describe()
    assert (desc.run_id, desc.status) == (run_id, WorkflowExecutionStatus.RUNNING)
    runs = await eventually(
        lambda: _list(client, f"WorkflowId = '{api.workflow_id(iid)}'"), lambda ws: len(ws) >= 1)
    assert [w.run_id for w in runs] == [run_id]


async def _list(client, query: str) -> list:
    return [w async for w in client.list_workflows(query)]


async def test_unknown_incident(client, worker):
    with pytest.raises(api.IncidentNotFound, match="no incident nope-0000"):
        await api.act(client, "nope-0000", "activate_response", m.ActivateResponse(by=COMMANDER))
    with pytest.raises(api.IncidentNotFound):
        await api.status(client, "nope-0000")
    with pytest.raises(api.IncidentNotFound):
        await api.signal_action(client, "nope-0000", "sign_off", m.SignOff(round=1, by=lead("monitoring"), **SIGN))


# ---------------------------------------------------------------------------- the signal form


async def test_sign_off_signal(client, worker):
    iid = await api.start_incident(client, report())
    await to_termination_pending(client, iid)
    st0 = await api.status(client, iid)

    async def after_timeline(n: int) -> dict:
        return await eventually(lambda: api.status(client, iid), lambda s: len(s["timeline"]) >= n)

    def without_timeline(st: dict) -> dict:  # and without the documents filed meanwhile
        return {k: v for k, v in settled(st).items() if k != "timeline"}

    # invalid: not the lead named at dispatch
    await api.signal_action(client, iid, "sign_off", m.SignOff(round=1, by=a_lead("冒名"), group="monitoring",
                                                     lead="冒名", decision="approve"))
    st1 = await after_timeline(len(st0["timeline"]) + 1)
    assert without_timeline(st1) == without_timeline(st0)
    assert st1["timeline"][:-1] == st0["timeline"]
    last = st1["timeline"][-1]
    assert (last["action"], last["rejected"], last["by"]["name"]) == ("sign_off", True, "冒名")
    assert "派遣时指定的应急监测组组长是张监测" in last["detail"]["reason"] and last["detail"]["via"] == "signal"
    assert await describe_status(client, iid) == WorkflowExecutionStatus.RUNNING

    # valid: counts
    await api.signal_action(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), **SIGN, opinion="同意"))
    st2 = await after_timeline(len(st1["timeline"]) + 1)
    assert st2["signoffs"]["monitoring"]["decision"] == "approve"
    assert st2["pending_signoffs"] == ["disposal", "investigation"]
    assert st2["timeline"][-1]["rejected"] is False

    # invalid: a duplicate, and one in the wrong stage after the round is over
    await api.signal_action(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), **SIGN))
    st3 = await after_timeline(len(st2["timeline"]) + 1)
    assert without_timeline(st3) == without_timeline(st2)
    assert st3["timeline"][-1]["rejected"] is True and "already signed" in st3["timeline"][-1]["detail"]["reason"]

    await api.signal_action(client, iid, "sign_off", m.SignOff(round=1, by=lead("disposal"), group="disposal", lead=LEADS["disposal"],
                                                     decision="reject", opinion="未达标"))
    st4 = await eventually(lambda: api.status(client, iid), lambda s: s["stage"] == "on_site")
    assert st4["signoff_history"][-1]["opinion"] == "未达标"
    await api.signal_action(client, iid, "sign_off", m.SignOff(round=1, by=lead("investigation"), group="investigation",
                                                     lead=LEADS["investigation"], decision="approve"))
    st5 = await after_timeline(len(st4["timeline"]) + 1)
    assert without_timeline(st5) == without_timeline(st4)
    assert st5["timeline"][-1]["rejected"] is True and "stage on_site" in st5["timeline"][-1]["detail"]["reason"]
