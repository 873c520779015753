"""Who may do what, enforced by the incident itself: every Update is checked against the
authority table of the plan the incident pinned, whatever path it comes by (console, API,
CLI, a script holding a Temporal client). Issue 12 (accounts, `via`), issue 13 items 5
(activation 经总指挥批准), 7 (warnings are the city government's act), 8 (附件2 by the 指挥)
and 4.4 (the follow-up monitoring decision). Every refusal is one sentence and changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import yaml

from ecoplan import api
from plan.calendar import SHANGHAI
from plan.incident import Actor, ReportContent
from plan.loader import load_plan, resolve_plan_path
from tests.drive import act, sign_all, to_termination_pending
from tests.helpers import CITY_WARNING, COMMANDER, DUTY, FOLLOW_UP, LEADS, eventually, lead, report, settled
from workflows import messages as m


async def refused(client, iid: str, action: str, inp: m.Action, *words: str) -> str:
    """Refused by the Update's validator with one sentence holding every word; nothing changed."""
    before = settled(await api.status(client, iid))
    with pytest.raises(api.ActionRefused) as e:
        await api.act(client, iid, action, inp)
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg, msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    assert settled(await api.status(client, iid)) == before
    return msg


def account(name: str, role_id: str, via: str = "api") -> Actor:
    roles = {r.id: r.name for r in load_plan().plan.roles}
    return Actor(name=name, display=f"{name}姓名", role=roles[role_id], role_id=role_id, via=via)


def outbox_rows(settings, iid: str, event: str) -> list[dict]:
    if not settings.outbox_path.exists():
        return []
    rows = [json.loads(x) for x in settings.outbox_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r for r in rows if r["incident_id"] == iid and r["event"] == event]


# ---------------------------------------------------------------------------- the role, at the Update


async def test_a_role_the_table_does_not_allow_is_refused_by_the_update_itself(client, worker):
    iid = await api.start_incident(client, report())
    content = ReportContent(summary="初报")
    await refused(client, iid, "submit_report", m.SubmitReport(by=account("du", "supervisor"), kind="initial",
                                                               content=content), "督查不能办理「信息报告」", "值班员")
    # a partner files reports through the intake only (its token), not as a console account
    await refused(client, iid, "submit_report", m.SubmitReport(by=account("lian", "partner", "web"), kind="initial",
                                                               content=content), "联动单位不能办理「信息报告」")
    await refused(client, iid, "activate_response", m.ActivateResponse(by=account("root", "admin")),
                  "系统管理员不能办理「启动应急响应」", "附件1")
    await refused(client, iid, "activate_response", m.ActivateResponse(by=lead("monitoring")),
                  "工作组组长不能办理「启动应急响应」")
    # a 1.x actor (a name and a free role) is not accepted by an incident begun since the check
    await refused(client, iid, "activate_response", m.ActivateResponse(by=Actor(name="李局长", role="指挥")),
                  "未写明预案角色（role_id）和认证途径（via）")
    # the role's name must be the plan's name for the role id it claims
    await refused(client, iid, "activate_response",
                  m.ActivateResponse(by=Actor(name="李局长", role="总指挥", role_id="commander", via="cli")),
                  "角色不符", "指挥")
    with pytest.raises(ValueError, match="role_id"):  # a role id the plans do not have is bad input
        Actor(name="李局长", role="局长", role_id="boss", via="cli")
    # the console's accounts are recorded with how they authenticated
    await act(client, iid, "activate_response", m.ActivateResponse(by=account("li", "commander", "oidc")))
    st = await api.status(client, iid)
    [entry] = [e for e in st["timeline"] if e["action"] == "activate_response"]
    assert entry["by"] == {"name": "li", "display": "li姓名", "role": "指挥", "role_id": "commander", "via": "oidc"}


async def test_sign_off_only_by_the_account_named_at_dispatch(client, worker):
    iid = await api.start_incident(client, report())
    await to_termination_pending(client, iid)
    sign = dict(round=1, group="monitoring", lead=LEADS["monitoring"], decision="approve")
    # the right name in a role that may not sign: the table refuses first
    await refused(client, iid, "sign_off", m.SignOff(by=account(LEADS["monitoring"], "supervisor"), **sign),
                  "督查不能办理「组长签署终止意见」")
    # a lead account, but not the one named for this group
    await refused(client, iid, "sign_off", m.SignOff(by=lead("disposal"), **sign),
                  f"{LEADS['disposal']}不是应急监测组组长", f"派遣时指定的应急监测组组长是{LEADS['monitoring']}")
    # the commander may be named a lead, but was not here
    await refused(client, iid, "sign_off", m.SignOff(by=COMMANDER, **sign), f"{COMMANDER.name}不是应急监测组组长")
    await act(client, iid, "sign_off", m.SignOff(by=lead("monitoring"), **sign))
    st = await api.status(client, iid)
    assert st["signoffs"]["monitoring"]["by"]["role_id"] == "lead"


# ---------------------------------------------------------------------------- 附件1: activation 经总指挥批准


async def test_activation_names_the_approving_commander_not_the_typist(client, worker):
    iid = await api.start_incident(client, report())
    await refused(client, iid, "activate_response", m.ActivateResponse(by=DUTY), "须经总指挥批准", "approver", "附件1")
    await refused(client, iid, "activate_response",
                  m.ActivateResponse(by=DUTY, approver=Actor(name="杜督查", role="督查", role_id="supervisor")),
                  "杜督查（督查）不能批准「启动应急响应」", "须经总指挥批准")
    # the commander approving in person names nobody else
    await refused(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, approved_by="王副局长"),
                  "以其账号写明批准人（approver）")
    approver = Actor(name="li", display="李局长", role="指挥", role_id="commander")
    await act(client, iid, "activate_response", m.ActivateResponse(by=DUTY, approver=approver))
    st = await api.status(client, iid)
    [entry] = [e for e in st["timeline"] if e["action"] == "activate_response"]
    assert entry["by"]["name"] == DUTY.name  # who entered it
    assert entry["detail"]["approver"] == {"name": "li", "display": "李局长", "role": "指挥", "role_id": "commander"}
    assert entry["detail"]["approved_by"] == "李局长"


# ---------------------------------------------------------------------------- 3.1–3.3: the city government's warning


async def test_warning_is_recorded_as_the_city_governments_act(client, worker):
    plan = load_plan().plan
    iid = await api.start_incident(client, report())
    # the bureau's own proposal (3.1), to the bodies the plan names; the stage does not move
    await refused(client, iid, "propose_warning", m.ProposeWarning(by=DUTY, proposal="建议发布预警"),
                  "值班员不能办理「提出预警发布（解除）建议」")
    await refused(client, iid, "propose_warning", m.ProposeWarning(by=COMMANDER, proposal="建议解除", lift=True),
                  "没有已发布的预警")
    await act(client, iid, "propose_warning", m.ProposeWarning(by=COMMANDER, proposal="建议发布黄色预警"))
    st = await api.status(client, iid)
    assert st["stage"] == "reported"
    [proposal] = [e for e in st["timeline"] if e["action"] == "propose_warning"]
    assert proposal["detail"]["to"] == ["市政府应急指挥部", "省生态环境厅应急指挥部"]  # 3.1, as in seed 002
    # issuing is recorded with the issuer and its document, or not at all
    await refused(client, iid, "issue_warning", m.IssueWarning(by=DUTY), "预警由市人民政府或其授权的有关单位发布",
                  "本局只作登记", "issued_by", "document_number", "3.3")
    await refused(client, iid, "issue_warning", m.IssueWarning(by=DUTY, issued_by="阳泉市人民政府"), "document_number")
    await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
    st = await api.status(client, iid)
    assert st["stage"] == "warning"
    assert (st["warning"]["issued_by"], st["warning"]["document_number"]) == ("阳泉市人民政府", "阳政发〔2026〕18号")
    # told to the member units and the counties that may be affected (3.1, 3.2(3)), not back to the city
    rows = await eventually(lambda: _rows(worker, iid, "warning_issued"), bool)
    assert rows[0]["recipients"] == plan.warning.notify_issued
    assert "市人民政府" not in rows[0]["recipients"]
    # lifting: proposed to the city HQ (3.3), then recorded as the city's act
    await act(client, iid, "propose_warning", m.ProposeWarning(by=COMMANDER, proposal="危险已经消除，建议解除", lift=True))
    st = await api.status(client, iid)
    assert [e["detail"]["to"] for e in st["timeline"] if e["action"] == "propose_warning"][-1] == ["市应急指挥部"]
    await refused(client, iid, "lift_warning", m.LiftWarning(by=DUTY, reason="危险已经消除"), "预警解除由", "文号")
    await act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, reason="危险已经消除", issued_by="阳泉市人民政府",
                                                         document_number="阳政发〔2026〕19号"))
    st = await api.status(client, iid)
    [lifted] = [e for e in st["timeline"] if e["action"] == "lift_warning"]
    assert (st["outcome"], lifted["detail"]["document_number"]) == ("warning_lifted", "阳政发〔2026〕19号")


async def _rows(settings, iid, event):
    return outbox_rows(settings, iid, event)


# ---------------------------------------------------------------------------- 附件2 and 4.4


def plan_letting_deputies_approve(folder) -> str:
    data = yaml.safe_load(resolve_plan_path(None).read_text(encoding="utf-8"))
    data["termination"]["deputy_may_approve"] = True
    next(a for a in data["authority"] if a["action"] == "approve_termination")["roles"].append("deputy_commander")
    path = folder / "deputies-approve.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


async def test_termination_approved_by_the_commander_with_the_follow_up_decision(client, worker, tmp_path):
    iid = await api.start_incident(client, report())
    await to_termination_pending(client, iid)
    await sign_all(client, iid)
    deputy = account("zhou", "deputy_commander", "web")
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=deputy, follow_up=FOLLOW_UP),
                  "副指挥不能办理「指挥批示终止」：此操作由指挥办理")
    # 4.4: the decision may come after termination (decide_follow_up, issue 24); one given is checked
    keep_on = {"continue_monitoring": True, "decided_by": "市应急指挥部会同专家组"}
    await refused(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=keep_on), "至何时")
    await refused(client, iid, "approve_termination", m.ApproveTermination(
        by=COMMANDER, follow_up={**FOLLOW_UP, "until": "2026-12-31"}), "不继续跟踪监测时不写截止日期")
    # monitoring "until" a day before the approval (today in Beijing time) is a slip of the pen
    today = datetime.now(SHANGHAI).date()
    yesterday, in_a_month = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=30)).isoformat()
    await refused(client, iid, "approve_termination", m.ApproveTermination(
        by=COMMANDER, follow_up={**keep_on, "until": yesterday}), f"跟踪监测至 {yesterday}，早于批示终止之日 {today.isoformat()}")
    await act(client, iid, "approve_termination", m.ApproveTermination(
        by=COMMANDER, follow_up={**keep_on, "until": in_a_month, "note": "每日监测桃河下游断面"}))
    st = await api.status(client, iid)
    assert st["stage"] == "post_event"
    assert st["termination"]["follow_up"] == {"continue_monitoring": True, "decided_by": "市应急指挥部会同专家组",
                                              "until": in_a_month, "note": "每日监测桃河下游断面"}

    # a plan that lets a 副指挥 approve says so, and then one may
    other = await api.start_incident(client, report(plan=plan_letting_deputies_approve(tmp_path)))
    await to_termination_pending(client, other)
    await sign_all(client, other)
    await act(client, other, "approve_termination", m.ApproveTermination(by=deputy, follow_up=FOLLOW_UP))
    assert (await api.status(client, other))["termination"]["approved_by"]["role_id"] == "deputy_commander"


# ---------------------------------------------------------------------------- a run continued as new


async def test_a_run_continued_as_new_refuses_an_actor_without_a_plan_role(client, worker):
    """The state carried into a new run checks every actor as the first run did: an actor
    that is a name and a free role (no role_id, no via) is refused."""
    from plan.snapshot import PlanRequest
    from activities.plan_snapshot import load_plan_snapshot
    from temporalio.common import SearchAttributePair, TypedSearchAttributes
    from worker import TASK_QUEUE
    from activities import search_attributes as sa
    from workflows.incident import IncidentWorkflow

    r = report()
    loaded = load_plan_snapshot(PlanRequest())
    t = r.reported_at
    state = m.IncidentState(
        incident_id=r.incident_id, report=r, plan=loaded.snapshot, grading=loaded.grading, stage="responding",
        stage_entered_at=t, level="IV", runs=2,
        timeline=[m.TimelineEntry(seq=1, at=t, recorded_at=t, by=None, action="reported", from_stage="reported",
                                  to_stage="reported")])
    await client.start_workflow(IncidentWorkflow.run, m.IncidentInput(report=r, state=state),
                                id=api.workflow_id(r.incident_id), task_queue=TASK_QUEUE,
                                search_attributes=TypedSearchAttributes([SearchAttributePair(sa.DRILL, False)]))
    old_style = Actor(name="王值班", role="局指挥部办公室")
    await refused(client, r.incident_id, "dispatch", m.Dispatch(by=old_style, leads=LEADS), "未写明预案角色")
