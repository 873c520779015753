"""The console's forms without a server (issue 22, items 5–7): what the incident's level
offers (the registry's `offers`, read from a real status view of a unit-layer incident, and
checked against the registry's own refusals), who may be chosen as a lead or an approver
(ecoplan/people.py over a real accounts file), and which input a refusal is about."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from starlette.datastructures import FormData

import workflows.messages as m
from ecoplan import people
from ecoplan.accounts import AccountStore
from ecoplan.web import forms
from datetime import timedelta

from tests.helpers import COMMANDER, DUTY, FOLLOW_UP
from tests.unit_state import LEVEL_IV, in_stage, sign_all
from workflows import status as status_view
from workflows.actions import allowed_now, offers
from workflows.actions.spec import Offer

DOC = "晋环调查〔2026〕5号"


def status_of(inc) -> dict:
    return status_view.view(inc.s, allowed_now(inc.s, inc.lc))


def titles(st: dict, action: str) -> list[str]:
    return [o.title for o in offers(action, st)]


def test_level_iii_offers_the_provinces_investigation_as_what_it_is():
    inc = in_stage("post_event")  # III: the province investigates (32号令 第四条)
    st = status_of(inc)
    assert {"complete_investigation", "record_other_act"} <= set(st["allowed_actions"])
    # the bureau's own 调查完成 is never possible at III: not offered, and refused if sent
    assert offers("complete_investigation", st) == []
    assert "登记其他单位办理的后期事项" in inc.refused("complete_investigation", m.CompleteInvestigation(by=DUTY)).message
    got = offers("record_other_act", st)
    assert [(o.title, o.fixed) for o in got] == [
        ("登记省生态环境厅的调查结论", (("step", "investigation"),)),
        ("登记事发地县（区）人民政府的善后处置", (("step", "aftercare"),))]
    for o in got:  # each offer is one the incident takes
        inc.check("record_other_act", m.RecordOtherAct(by=DUTY, document=DOC, **dict(o.fixed)))
    inc.act("record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document=DOC))
    assert titles(status_of(inc), "record_other_act") == ["登记事发地县（区）人民政府的善后处置"]


def test_level_iv_offers_the_bureaus_own_investigation_and_the_countys_acts():
    inc = in_stage("post_event", LEVEL_IV)
    st = status_of(inc)
    assert titles(st, "complete_investigation") == [""]  # offered under its own name
    assert [o.fixed for o in offers("record_other_act", st)] == [(("step", "assessment"),), (("step", "aftercare"),)]
    # investigation is the bureau's at IV (视情况): recording it as another's is refused, so not offered
    inc.refused("record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document=DOC))
    inc.act("complete_investigation", m.CompleteInvestigation(by=DUTY))
    assert offers("complete_investigation", status_of(inc)) == []  # done once
    # the assessment report (5.3): sent only after its review, each once
    assert offers("submit_assessment_report", st) == [] and offers("assessment_review_passed", st) == [Offer()]
    inc.refused("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    inc.act("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY, review_date=inc.now.date()))
    st = status_of(inc)
    assert offers("assessment_review_passed", st) == [] and offers("submit_assessment_report", st) == [Offer()]
    inc.act("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    assert offers("submit_assessment_report", status_of(inc)) == []


@pytest.mark.parametrize("level, offered", [("III", False), ("IV", True)])
def test_county_termination_offered_only_where_the_county_leads(level, offered):
    inc = in_stage("on_site") if level == "III" else in_stage("responding", LEVEL_IV)
    st = status_of(inc)
    assert "record_other_termination" in st["allowed_actions"]  # the stage allows it at every level
    inp = m.RecordOtherTermination(by=DUTY, document="平政发〔2026〕1号")
    if offered:
        assert titles(st, "record_other_termination") == ["登记事发地县（区）级人民政府终止响应"]
        inc.check("record_other_termination", inp)
    else:
        assert offers("record_other_termination", st) == []
        inc.refused("record_other_termination", inp)


def test_follow_up_offered_once_the_response_has_ended_and_until_decided():
    """4.4: at IV the county's end leaves the decision to be recorded (offered, taken once); at
    III it came with the commander's approval (not offered, and refused if sent)."""
    decide = m.DecideFollowUp(by=DUTY, follow_up=m.FollowUp(**FOLLOW_UP))
    assert offers("decide_follow_up", status_of(in_stage("termination_pending"))) == []
    iv = in_stage("post_event", LEVEL_IV)
    assert "decide_follow_up" in status_of(iv)["allowed_actions"]
    assert offers("decide_follow_up", status_of(iv)) == [Offer()]
    iv.act("decide_follow_up", decide)
    assert offers("decide_follow_up", status_of(iv)) == []
    assert "已登记" in iv.refused("decide_follow_up", decide).message
    iii = in_stage("post_event")
    assert offers("decide_follow_up", status_of(iii)) == []
    iii.refused("decide_follow_up", decide)


def test_event_level_judged_only_where_the_incident_has_its_own():
    judge = m.DetermineEventLevel(by=COMMANDER, level="IV", reason="监测数据核实：未达较大")
    inc = in_stage("responding")
    assert offers("determine_event_level", status_of(inc)) == [Offer()]
    inc.check("determine_event_level", judge)
    inc.s.levels_split = False  # an incident opened before issue 24: one level, the response's
    assert status_of(inc)["levels"] is None and offers("determine_event_level", status_of(inc)) == []
    inc.refused("determine_event_level", judge)


def test_investigation_moves_offered_as_whose_investigation_it_is():
    """32号令 第四条: at III the province's may be delegated to the bureau; at IV the bureau's may
    be taken over or referred upward; none once it has moved (a referral leaves both open)."""
    def moved(kind: str) -> m.RecordInvestigationTransfer:
        return m.RecordInvestigationTransfer(by=DUTY, kind=kind, document="晋环函〔2026〕12号")

    def kinds(inc) -> list[tuple[str, str]]:
        return [(o.title, dict(o.fixed)["kind"]) for o in offers("record_investigation_transfer", status_of(inc))]

    iii = in_stage("post_event")
    assert kinds(iii) == [("登记上级委托本局调查处理", "delegated")]
    iii.refused("record_investigation_transfer", moved("taken_over"))
    iii.act("record_investigation_transfer", moved("delegated"))
    assert kinds(iii) == []
    iv = in_stage("post_event", LEVEL_IV)
    both = [("登记上级直接组织调查处理", "taken_over"), ("登记报请上一级决定调查处理", "referred")]
    assert kinds(iv) == both
    iv.refused("record_investigation_transfer", moved("delegated"))
    iv.act("record_investigation_transfer", moved("referred"))
    assert kinds(iv) == both
    iv.act("record_investigation_transfer", moved("taken_over"))
    assert kinds(iv) == []


def test_publication_offered_once_after_the_assessment_report():
    publish = m.PublishAssessment(by=DUTY, where="市生态环境局门户网站")
    inc = in_stage("post_event", LEVEL_IV)
    assert offers("publish_assessment", status_of(inc)) == []
    inc.refused("publish_assessment", publish)
    inc.act("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY, review_date=inc.now.date()))
    inc.act("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    assert offers("publish_assessment", status_of(inc)) == [Offer()]
    inc.act("publish_assessment", publish)
    assert offers("publish_assessment", status_of(inc)) == []
    inc.refused("publish_assessment", publish)


def test_an_action_without_an_offers_hook_is_offered_as_it_is():
    assert offers("dispatch", {"duties": []}) == [Offer()]
    assert offers("complete_investigation", {}) == [Offer()]  # no duties yet: the check decides


# ------------------------------------------------------------------ people


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = AccountStore(tmp_path_factory.mktemp("people") / "accounts.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    for username, role, display in [("wangwu", "lead", "王五"), ("zhang", "lead", "张三"), ("zhang2", "lead", "张三"),
                                    ("wangwei", "duty_officer", "王伟"), ("li", "commander", "李局长"),
                                    ("sun", "deputy_commander", "孙副局长"), ("du", "supervisor", "杜督查"),
                                    ("gone", "lead", "离职者")]:
        s.add(username, role, "pw-long-enough-1", display=display)
    s.set_disabled("gone")
    return s


def test_who_may_lead_comes_from_the_authority_table(store):
    # sign_off's roles, less the one who proposes termination and the one who approves it (附件2)
    assert people.lead_roles() == {"lead", "deputy_commander"}
    # by display name (in code-point order), the username shown only where two share a name
    assert people.choices(people.may_lead(store)) == (("sun", "孙副局长"), ("zhang", "张三（zhang）"),
                                                       ("zhang2", "张三（zhang2）"), ("wangwu", "王五"))
    assert [a.username for a in people.may_approve(store, "activate_response")] == ["li"]
    assert people.lead_refusal(store.get("wangwu"), "wangwu", "应急监测组") is None
    for username, words in [("wangwei", "值班员，不能担任应急监测组组长"), ("du", "督查，不能担任应急监测组组长"),
                            ("li", "指挥，不能担任应急监测组组长"), ("gone", "没有可用的账号"), ("wangwu1", "没有可用的账号")]:
        assert words in people.lead_refusal(store.get(username), username, "应急监测组"), username


def test_dispatch_and_activation_forms_choose_people(store):
    st = {"allowed_actions": ["dispatch", "activate_response"], "leads": {}}
    got = {f.action: f for f in forms.forms_for(store.get("wangwei"), st, store)}
    lead = next(x for x in got["dispatch"].fields if x.name == "leads.monitoring")
    assert lead.kind == "select" and "用户名" not in lead.label
    assert [v for v, _ in lead.options] == ["", "sun", "zhang", "zhang2", "wangwu"]
    approver = next(x for x in got["activate_response"].fields if x.name == "approved_by")
    assert approver.kind == "select" and [v for v, _ in approver.options] == ["", "li"]
    assert forms.forms_for(store.get("du"), st, store) == []  # the supervisor acts on nothing


# ------------------------------------------------------------------ the field at fault


def fields_of(action: str):
    return forms.form_fields(action, {"round": 1, "pending_signoffs": [], "leads": {}})


@pytest.mark.parametrize("action, detail, named, fault", [
    ("approve_termination", "继续跟踪监测须写明至何时（follow_up.until）（4.4）", None, "follow_up.until"),
    ("submit_report", "content: Field required", "content", "content.summary"),
    ("submit_report", "content.summary: 不能为空", "content.summary", "content.summary"),
    ("submit_report", "事件概况不能为空", None, "content.summary"),
    ("dispatch", "王伟的角色是值班员，不能担任应急监测组组长", "leads.monitoring", "leads.monitoring"),
    ("activate_response", "批准人：没有可用的账号 'wangwei'", "approved_by", "approved_by"),
    ("sign_off", "round 1 is no longer open; round 2 is open", None, None),  # the hidden round: the form's top
    # a label quoted only in a citation does not count: the follow-up date, named by the incident
    ("approve_termination", "继续跟踪监测须写明至何时（4.4 决定是否继续跟踪监测）", None, None),
    ("approve_termination", "继续跟踪监测须写明至何时（4.4 决定是否继续跟踪监测）", "follow_up.until", "follow_up.until"),
    ("activate_response", "本事件处于应急响应阶段，不能启动应急响应", None, None),
])
def test_a_refusal_marks_the_input_it_is_about(action, detail, named, fault):
    assert forms.field_at_fault(fields_of(action), detail, named) == fault


def test_what_was_typed_is_kept_as_typed():
    form = FormData([("csrf_token", "x"), ("instruction", "同意终止"), ("circumstances", "a"), ("circumstances", "b"),
                     ("city_started", "1")])
    assert forms.typed(form) == {"instruction": "同意终止", "circumstances": ["a", "b"], "city_started": "1"}


def test_cli_names_leads_from_the_accounts_where_the_bureau_keeps_them(store, tmp_path, monkeypatch):
    """`ecoplan dispatch` refuses the duty officer as a lead and `activate` an approver who may
    not approve (exit 2, one line, before Temporal is asked), a typo'd username likewise; with
    no accounts file, names stay names."""
    from tests.test_cli import here, one_line_error

    p = here("dispatch", "no-such-incident", "--lead", "monitoring=wangwei", "--lead", "disposal=zhang",
             "--lead", "investigation=sun", env_extra={"ECOPLAN_ACCOUNTS_DB": str(store.path)})
    assert p.returncode == 2 and "不能担任应急监测组组长" in one_line_error(p), p.stderr
    p = here("activate", "no-such-incident", "--approved-by", "wangwei", env_extra={"ECOPLAN_ACCOUNTS_DB": str(store.path)})
    assert p.returncode == 2 and "不是可批准的账号，可选 李局长（li）" in one_line_error(p), p.stderr
    monkeypatch.setenv("ECOPLAN_ACCOUNTS_DB", str(store.path))
    assert people.named_approver("li", "activate_response") == (store.get("li"), None)
    assert people.named_approver("李局长", "activate_response") == (store.get("li"), None)  # by 姓名
    # by username or by a 姓名 one account has, recorded by username
    assert people.named_leads({"monitoring": "王五", "disposal": "zhang"}) == ({"monitoring": "wangwu",
                                                                            "disposal": "zhang"}, None)
    assert "没有可用的账号 'wangwu1'" in people.named_leads({"monitoring": "wangwu", "disposal": "wangwu1"})[1]
    assert "没有可用的账号 '张三'" in people.named_leads({"monitoring": "张三"})[1]  # two accounts are 张三
    assert "王伟的角色是值班员" in people.named_leads({"monitoring": "王伟"})[1]
    monkeypatch.setenv("ECOPLAN_ACCOUNTS_DB", str(tmp_path / "none.db"))
    assert people.named_leads({"monitoring": "张监测"}) == ({"monitoring": "张监测"}, None)  # no accounts: as typed
    assert people.named_approver("张局长", "activate_response") == (None, None)
    assert not (tmp_path / "none.db").exists()


def test_termination_form_signs_with_the_leads_display_name():
    """附件2 组长签字: the name of the account that signed as the lead, not its username."""
    from activities.documents.mapping import from_status
    from tests.helpers import LEADS

    st = status_of(in_stage("post_event"))
    rec = st["signoffs"]["monitoring"]
    rec.update(lead="zhang", by={**rec["by"], "name": "zhang", "display": "张三"})
    st["leads"]["monitoring"] = "zhang"
    rows = {r.group: r.lead for r in from_status(st).termination_form.signoffs}
    assert rows == {"monitoring": "张三", "disposal": LEADS["disposal"], "investigation": LEADS["investigation"]}


def test_the_incident_names_the_input_it_refuses():
    """Refused.field (workflows/errors.py) names an input of the action's form, so the console
    marks it whatever the sentence says."""
    inc = in_stage("termination_pending")
    sign_all(inc)
    follow = m.FollowUp(continue_monitoring=True, decided_by="市应急指挥部会同专家组")
    e = inc.refused("approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=follow))
    assert e.field == "follow_up.until" and e.details[1] == "follow_up.until"
    assert e.field in [f.name for f in fields_of("approve_termination")]
    e = inc.refused("approve_termination", m.ApproveTermination(by=COMMANDER, at=inc.now - timedelta(minutes=65)))
    assert e.field == "backdate_reason" in [f.name for f in fields_of("approve_termination")]


def test_cli_names_leads_from_the_shared_database(pg_cluster, tmp_path, monkeypatch):
    """With ECOPLAN_DATABASE_URL (issue 27) the accounts live in PostgreSQL and no accounts
    file exists on this machine: the CLI's --lead and --approved-by are checked against them."""
    from activities import db

    url = pg_cluster.fresh_url()
    try:
        s = AccountStore(url, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
        s.add("wangwu", "lead", "pw-long-enough-1", display="王五")
        s.add("wangwei", "duty_officer", "pw-long-enough-1", display="王伟")
        s.add("li", "commander", "pw-long-enough-1", display="李局长")
        monkeypatch.setenv("ECOPLAN_DATABASE_URL", url)
        monkeypatch.setenv("ECOPLAN_ACCOUNTS_DB", str(tmp_path / "absent.db"))
        assert people.named_leads({"monitoring": "王五"}) == ({"monitoring": "wangwu"}, None)
        assert "王伟的角色是值班员" in people.named_leads({"monitoring": "王伟"})[1]
        assert people.named_approver("李局长", "activate_response")[0].username == "li"
        assert not (tmp_path / "absent.db").exists()
    finally:
        db.dispose(url)
