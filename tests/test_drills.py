"""Drills (演练, seed 003): the shipped scenarios, their loader, and the after-action
evaluation. Each shipped scenario is run end to end as a real drill: `ecoplan drill start`
as a process against the test server, the life cycle driven with backdated business
times, then `ecoplan drill report --json` checked against the times the test used."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ecoplan import api
from ecoplan import views
from plan.calendar import SHANGHAI
from plan.drill import evaluate, render_markdown
from plan.grading import classify
from plan.incident import Actor, IncidentReport, ReportContent
from plan.scenarios import SCENARIOS_DIR, ScenarioError, list_scenarios, load_scenario
from tests.drive import archived
from tests.procs import ecoplan_in_process
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, SIGNED, eventually, report, with_reason
from workflows import messages as m

ECOPLAN = str(Path(sys.executable).parent / "ecoplan")
COUNTIES = {"城区", "矿区", "郊区", "平定县", "盂县"}
SPILL, TAILINGS, FIRE = "pingding-taohe-chemical-spill", "yuxian-tailings-leak", "jiaoqu-chemical-fire-runoff"


async def ecoplan(address: str, *args: str) -> subprocess.CompletedProcess:
    """`ecoplan ARGS` through the same code as the program, in this process (tests/procs.py:
    the exit of a real process is test_exit_codes' concern; each process here cost about 1 s
    of CPU of the suite's budget)."""
    r = await ecoplan_in_process(*args, address=address)
    return subprocess.CompletedProcess([ECOPLAN, *args], r.code, r.out, r.err)


def one_line_error(p: subprocess.CompletedProcess) -> str:
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


# ------------------------------------------------------------------ the shipped scenarios


def test_at_least_three_scenarios_ship():
    assert {SPILL, TAILINGS, FIRE} <= set(list_scenarios())
    assert (SCENARIOS_DIR / "README.md").is_file()


@pytest.mark.parametrize("sid", list_scenarios())
def test_shipped_scenario_is_complete(sid):
    sc = load_scenario(sid)
    assert sc.id == sid  # the file name is the id
    assert sc.incident.county in COUNTIES
    assert sc.exercises and all(s.strip() for s in sc.exercises)
    assert len(sc.script) >= 5 and all(step.section and step.who for step in sc.script)
    assert all(i.section and i.expected_response for i in sc.injects)
    # The level 附表1 gives is the one the scenario says it exercises.
    assert sc.expected_level is not None and classify(sc.assessment).level == sc.expected_level
    text = sc.model_dump_json()
    assert re.search(r"[\u4e00-\u9fff]", sc.title + sc.description)  # Chinese text
    assert "附件2" in text and "4.4" in text  # every drill runs the termination sign-off


def test_the_three_required_situations():
    spill, tailings, fire = (load_scenario(s) for s in (SPILL, TAILINGS, FIRE))
    assert spill.assessment.drinking_water_interrupted == "township" and spill.expected_level.value == "III"
    assert any(river in spill.incident.location + spill.description for river in ("桃河", "温河"))
    assert "尾矿库" in tailings.title and "尾矿库" in tailings.incident.title
    assert fire.incident.source == "linkage_119" and fire.incident.incident_type == "hazardous_chemicals"
    assert "消防废水" in fire.title and "消防废水" in fire.incident.title
    assert "4.1.5" in fire.exercises  # the level is raised during the drill


def test_incident_report_is_a_fresh_drill_starting_now():
    sc = load_scenario(SPILL)
    t0 = datetime(2026, 11, 23, 9, 5, 30, tzinfo=SHANGHAI)
    r = sc.incident_report(now=t0)
    assert isinstance(r, IncidentReport) and r.drill is True
    assert re.fullmatch(rf"drill-{SPILL}-202611230905-[0-9a-f]{{4}}", r.incident_id)
    assert r.discovered_at == t0 - timedelta(minutes=sc.incident.discovered_minutes_ago)
    assert r.reported_at == t0 - timedelta(minutes=sc.incident.reported_minutes_ago)
    assert "演练" in r.title and "演练" in r.description
    assert r.assessment == sc.assessment and r.county == "平定县"
    assert sc.incident_report(now=t0).incident_id != r.incident_id
    now = sc.incident_report()  # default: the wall clock
    assert abs((datetime.now(SHANGHAI) - timedelta(minutes=sc.incident.reported_minutes_ago)
                - now.reported_at).total_seconds()) < 5


def test_load_by_path(tmp_path):
    copy = tmp_path / "our-drill.yaml"
    shutil.copy(SCENARIOS_DIR / f"{FIRE}.yaml", copy)
    assert load_scenario(str(copy)).id == FIRE
    assert load_scenario(copy).incident.source == "linkage_119"


GOOD = (SCENARIOS_DIR / f"{TAILINGS}.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("content,needle", [
    (GOOD.replace("id: yuxian-tailings-leak\n", ""), "id不能为空"),
    (GOOD.replace("id: yuxian-tailings-leak", "id: Yuxian Tailings"), "id格式不对"),
    (GOOD.replace("  county: 盂县\n", ""), "incident.county不能为空"),
    (GOOD.replace("  county: 盂县", "  county: '   '"), "incident.county"),
    (GOOD.replace("incident_type: solid_waste", "incident_type: mud"), "incident.incident_type"),
    (GOOD.replace("discovered_minutes_ago: 300", "discovered_minutes_ago: 10"), "reported_minutes_ago (30)"),
    (GOOD.replace("discovered_minutes_ago: 300", "discovered_minutes_ago: -5"), "incident.discovered_minutes_ago"),
    (GOOD.replace("discovered_minutes_ago: 300", "discovered_minutes_ago: soon"), "incident.discovered_minutes_ago"),
    (GOOD.replace("evacuated: 150", "evacuated: many"), "assessment.evacuated"),
    (GOOD.replace("expected_level: IV", "expected_level: V"), "expected_level"),
    (GOOD.replace('    section: "4.2.1, 4.2.2"\n', "    section: 4.2\n", 1), "write the plan section in quotes"),
    (GOOD.replace("    who: 盂县分局\n", "", 1), "script.0.who不能为空"),
    (GOOD.replace("objectives:", "objectivs:"), "不认识的字段「objectivs」"),
    (GOOD.split("script:")[0] + "script: []\n", "script不能为空"),
    ("id: x\ntitle: [unclosed\n", "YAML 格式有误（第"),
    ("", "文件是空的"),
    ("- a\n- b\n", "顶层应为带字段名的映射"),
])
def test_malformed_scenario_names_file_and_field(tmp_path, content, needle):
    f = tmp_path / "broken.yaml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_scenario(str(f))
    msg = str(e.value)
    assert msg.startswith("演练情景文件 broken.yaml：") and needle in msg, msg
    assert "\n" not in msg


def test_unreadable_and_unknown_scenarios(tmp_path):
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"id: x\ntitle: \xff\xfe\n")
    with pytest.raises(ScenarioError, match=r"^演练情景文件 latin1.yaml：不是 UTF-8"):
        load_scenario(str(f))
    with pytest.raises(ScenarioError, match=r"既不是随附的编号，也没有这个文件（随附的有：.*yuxian"):
        load_scenario("no-such-drill")
    with pytest.raises(ScenarioError, match="是文件夹"):
        load_scenario(str(tmp_path))


# ------------------------------------------------------------------ evaluate() on a status by hand


def _entry(seq, at, action, frm, to, by="王值班", **detail):
    return {"seq": seq, "at": at.isoformat(), "recorded_at": at.isoformat(), "by": {"name": by, "role": "值班员"},
            "action": action, "from_stage": frm, "to_stage": to, "detail": detail, "rejected": False}


def test_evaluate_falls_back_without_the_plan_and_flags_what_is_missing():
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)
    status = {
        "incident_id": "drill-x", "title": "【演练】x", "drill": True, "stage": "on_site", "county": "矿区",
        "plan": {"id": "no-such-plan", "version": "1", "hash": "sha256:0"},
        "discovered_at": (t0 - timedelta(hours=1)).isoformat(), "reported_at": t0.isoformat(),
        "graded_level": "III", "level": "III", "leads": {"monitoring": "甲", "disposal": "乙", "investigation": "丙"},
        "level_changes": [{"at": (t0 + timedelta(hours=3)).isoformat(), "by": {"name": "王值班", "role": "值班员"},
                           "from_level": None, "to_level": "III", "reason": None}],
        "deadlines": [{"name": "initial_report", "title": "初报", "status": "overdue", "source": "s", "who_acts": "办",
                       "due_at": (t0 + timedelta(hours=3)).isoformat(), "met_at": None}],
        "timeline": [
            _entry(1, t0, "reported", "reported", "reported"),
            _entry(2, t0 + timedelta(hours=3), "activate_response", "reported", "responding", level="III"),
            _entry(3, t0 + timedelta(hours=4), "dispatch", "responding", "on_site"),
            {**_entry(4, t0 + timedelta(hours=5), "sign_off", "on_site", "on_site", reason="wrong stage"),
             "rejected": True},
        ],
    }
    now = t0 + timedelta(hours=6)
    r = evaluate(status, now=now)
    json.dumps(r, ensure_ascii=False)  # JSON-serialisable as it is
    assert any("no-such-plan" in n for n in r["notes"])
    segs = [(s["stage"], s["duration_seconds"], s["within_expectation"]) for s in r["response_procedure"]["segments"]]
    assert segs == [("reported", 3 * 3600, None), ("responding", 3600, None), ("on_site", 2 * 3600, None)]
    assert r["response_procedure"]["segments"][-1]["ongoing"] is True
    assert r["information"]["missing"] == ["initial", "final"]
    assert r["deadlines"]["deadlines"][0]["late_by_minutes"] == 180.0  # overdue, as of `now`
    f = r["findings"]
    assert "未报送初报，已超过时限 3小时" in f
    assert any(x.startswith("III级响应未调派：综合协调组、新闻宣传组、应急专家组") for x in f)
    assert any("sign_off操作被拒绝：wrong stage" in x for x in f)
    assert not any("处理结果报告" in x for x in f)  # not terminated yet: the final report is not due
    assert not any("联合调查组" in x for x in f)  # no fire brigade involved

    # Linkage: a support request nobody answered, a declined one; the fire brigade was engaged
    # but no joint investigation group by the time the response ended.
    ask = {"by": {"name": "王值班", "role": "值班员"}, "partner": "fire_brigade", "partner_name": "市消防救援支队"}
    status["linkage"] = {"fire_engaged": True, "support_requests": [
        {**ask, "no": 1, "request": "泡沫车", "at": (t0 + timedelta(hours=4)).isoformat(), "answer": None},
        {**ask, "no": 2, "request": "专家", "at": (t0 + timedelta(hours=4)).isoformat(),
         "answer": {"answer": "declined", "note": "专家在外地", "at": (t0 + timedelta(hours=5)).isoformat()}}]}
    status["stage"] = "post_event"
    f = evaluate(status, now=now)["findings"]
    assert "商请市消防救援支队支援（第1号，03-02 12:00）未获答复" in f
    assert "商请市消防救援支队支援（第2号）被拒绝：专家在外地" in f
    assert "消防部门参与处置，未记录与消防部门的联合调查组（应急联动协议 二.5）" in f
    assert "应急响应已终止，未报送处理结果报告（4.2）" in f
    status["stage"] = "on_site"

    # With the shipped plan, the 2 h expectation for `reported` is exceeded by 1 h.
    status["plan"] = {"id": "yangquan-2022"}
    r = evaluate(status, now=now)
    first = r["response_procedure"]["segments"][0]
    assert first["expected"] == "2小时" and first["within_expectation"] is False and first["over_by_minutes"] == 60.0
    assert "「接报研判」阶段用时3小时，超出预期（2小时）1小时" in r["findings"]
    md = render_markdown(r)
    assert md.splitlines()[0].startswith("# 【演练】") and "演练" in md.splitlines()[2]


def test_evaluation_covers_the_six_areas_and_ends_with_recommendations():
    """郑安委办〔2017〕43号 四: 应急响应程序、应急信息处置、应急预案衔接、应急力量调动、部门应急协调、
    应急抢险救援, then 整改意见和建议; 应急预案衔接 is how the plans meshed, not the deadlines."""
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)
    status = {
        "incident_id": "drill-y", "title": "【演练】y", "drill": True, "stage": "post_event", "county": "平定县",
        "plan": {"id": "yangquan-2022"}, "discovered_at": (t0 - timedelta(minutes=30)).isoformat(),
        "reported_at": t0.isoformat(), "graded_level": "III", "level": "III", "city_started": True,
        "leads": {"monitoring": "甲", "disposal": "乙", "investigation": "丙"},
        "reports": [{"kind": "progress", "no": 1, "at": (t0 + timedelta(hours=1)).isoformat(), "summary": "x"}],
        "duties": [{"step": "investigation", "mode": "records", "body": "省生态环境厅", "source": "32号令 第四条",
                    "recorded_as_other": None},
                   {"step": "aftercare", "mode": "assists", "body": "事发地县（区）人民政府", "source": "5.1",
                    "recorded_as_other": None}],
        "other_acts": {},
        "timeline": [
            _entry(1, t0, "reported", "reported", "reported"),
            _entry(2, t0 + timedelta(minutes=10), "activate_response", "reported", "responding", level="III",
                   city_started=True),
            _entry(3, t0 + timedelta(minutes=20), "dispatch", "responding", "on_site"),
            _entry(4, t0 + timedelta(hours=2), "propose_termination", "on_site", "termination_pending", round=1),
            _entry(5, t0 + timedelta(hours=3), "sign_off", "termination_pending", "on_site",
                   decision="reject", round=1, group="disposal"),
            _entry(6, t0 + timedelta(hours=5), "propose_termination", "on_site", "termination_pending", round=2),
            _entry(7, t0 + timedelta(hours=6), "approve_termination", "termination_pending", "post_event", round=2,
                   city_decision="市指挥部决定终止"),
        ],
    }
    r = evaluate(status, now=t0 + timedelta(hours=7))
    assert all(r[k] for k in ("response_procedure", "information", "plan_coordination", "mobilisation",
                                "inter_department", "rescue"))
    pc = r["plan_coordination"]
    assert "deadlines" not in pc
    assert (pc["city_started"], pc["city_started_at"], pc["city_decision"]) == (
        True, (t0 + timedelta(minutes=10)).isoformat(), "市指挥部决定终止")
    assert [(o["step"], o["body"], o["needed"], o["recorded"]) for o in pc["other_bodies"]] == [
        ("investigation", "省生态环境厅", True, False), ("aftercare", "事发地县（区）人民政府", False, False)]
    rs = r["rescue"]
    # on site 08:20→10:00 (100 min) and again 11:00→13:00 (120 min): 220 min in 2 stays
    assert (rs["on_site_visits"], rs["on_site_minutes"], rs["sent_back_on_site"]) == (2, 220.0, 1)
    assert rs["disposal_lead"] == "乙" and rs["progress_reports"] == 1
    by_area = {w["area"] for w in r["findings_by_area"]}
    assert "plan_coordination" in by_area  # the province's investigation is not recorded yet
    assert len(r["recommendations"]) >= 1 and all(isinstance(a, str) and a for a in r["recommendations"])
    md = render_markdown(r)
    heads = [ln for ln in md.splitlines() if ln.startswith("## ")]
    for name in ("应急响应程序", "应急信息处置", "应急预案衔接", "应急力量调动", "部门应急协调", "应急抢险救援"):
        assert sum(name in h for h in heads) == 1, (name, heads)
    assert heads[-1] == "## 十一、整改意见和建议"
    assert "## 四、应急预案衔接" in heads and not any("衔接（时限" in h for h in heads)
    assert "应急抢险救援等重点环节" in md.splitlines()[2]
    assert md.rstrip().splitlines()[-1].startswith(f"{len(r['recommendations'])}. ")


# ------------------------------------------------------------------ drills end to end


@dataclass
class Playbook:
    """What the test does to a drill, at minutes after the incident was reported."""

    steps: list[tuple[float, str, dict]]
    leads: dict[str, str]
    expect_findings: list[str] = field(default_factory=list)  # each must start one finding, in order


SPILL_LEADS = dict(coordination="周协调", monitoring="孙监测", disposal="吴处置", investigation="郑排查",
                   publicity="冯宣传", experts="陈专家")
TAILINGS_LEADS = dict(monitoring="褚监测", disposal="卫处置", investigation="蒋排查")
FIRE_LEADS = dict(coordination="沈协调", monitoring="韩监测", disposal="杨处置", investigation="朱排查")
REJECT_OPINION = "下游2公里断面悬浮物仍超标3倍，河床淤积尾砂尚未清理完毕"
SUPPORT_REQUEST = "商请调派泡沫消防车，控制射水量，协助罐车转运消防废水"
JOINT_MEMBERS = ["市生态环境保护综合行政执法队", "市消防救援支队火灾调查科", "郊区分局"]
RAISE_REASON = "消防废水经雨水管网进入温河，下游乡镇饮用水水源保护区可能受影响（附表2 III级响应 6）"


def _report(kind: str, summary: str) -> dict:
    return {"kind": kind, "content": ReportContent(summary=summary), **SIGNED}


def _sign(group: str, leads: dict, decision: str = "approve", opinion: str = "") -> dict:
    return {"by": Actor(name=leads[group], role="工作组组长", role_id="lead", via="web"), "group": group, "lead": leads[group],
            "decision": decision, "opinion": opinion or "同意终止"}


def _tail(start: int, final: bool = True, aftercare: bool = True,
          province: bool = False) -> list[tuple[float, str, dict]]:
    steps = []
    t = start
    if final:
        steps.append((t, "submit_report", _report("final", "处理结果报告：特征污染物已降至本底水平"))); t += 1
    if aftercare:
        steps.append((t, "record_aftercare", {"note": "督促企业清运收集的废液、修复河道"})); t += 1
    # III: the province investigates (32号令 第四条); the bureau records its act (plan duties)
    investigation = (("record_other_act", {"step": "investigation", "document": "省生态环境厅调查报告（演练）"})
                     if province else ("complete_investigation", {"summary": "设备失效，企业应急管理缺位"}))
    steps += [(t, *investigation),
              (t + 1, "assessment_review_passed", {}),
              (t + 2, "submit_assessment_report", {}),
              (t + 3, "close", {"note": "演练结束"})]
    return steps


PLAYBOOKS = {
    # Everything on time, all six groups, the city government starts its own response, so
    # the city HQ's decision is recorded at termination (4.4): no findings.
    SPILL: Playbook(leads=SPILL_LEADS, steps=[
        (3, "activate_response", {"approved_by": "李局长"}),
        (5, "submit_report", _report("initial", "冶西镇化工企业甲苯泄漏入桃河，冶西镇水厂停止取水")),
        (8, "dispatch", {"leads": SPILL_LEADS}),
        (9, "record_city_started", {"note": "市政府启动《阳泉市突发环境事件应急预案》III级响应"}),
        (12, "submit_report", _report("progress", "取水口断面甲苯浓度下降")),
        (14, "propose_termination", {"reason": "取水口断面连续3次未检出甲苯"}),
        (15, "sign_off", _sign("monitoring", SPILL_LEADS)),
        (16, "sign_off", _sign("disposal", SPILL_LEADS)),
        (17, "sign_off", _sign("investigation", SPILL_LEADS)),
        (19, "approve_termination", {"instruction": "同意终止", "city_decision": "市指挥部王副市长决定终止III级响应"}),
        *_tail(20, province=True),
    ]),
    # The enterprise hid the leak for 4.5 h (discovered 300 min before the drill, the bureau
    # learned 30 min before): the bureau's 4 h run from when it learned (17号令 第三条), so its
    # initial report 5 min later is on time (5 < 240); the disposal lead rejects round 1.
    TAILINGS: Playbook(leads=TAILINGS_LEADS, steps=[
        (2, "activate_response", {}),
        (5, "submit_report", _report("initial", "尾矿库排水井破损尾砂外泄，企业迟报约4.5小时")),
        (7, "dispatch", {"leads": TAILINGS_LEADS}),
        (9, "submit_report", _report("progress", "下游3公里河床淤积，150人临时转移")),
        (11, "propose_termination", {"reason": "排水井已封堵"}),
        (12, "sign_off", _sign("monitoring", TAILINGS_LEADS)),
        (13, "sign_off", _sign("disposal", TAILINGS_LEADS, "reject", REJECT_OPINION)),
        (15, "propose_termination", {"reason": "清淤完成，复测达标"}),
        (16, "sign_off", _sign("monitoring", TAILINGS_LEADS)),
        (17, "sign_off", _sign("disposal", TAILINGS_LEADS)),
        (18, "sign_off", _sign("investigation", TAILINGS_LEADS)),
        (20, "approve_termination", {"instruction": "同意终止"}),
        *_tail(21, aftercare=False),
    ], expect_findings=[f"终止签报第1轮被污染处置组否决：{REJECT_OPINION}"]),
    # IV raised to III after dispatch: readiness (1 h) starts at the raise and is met by the
    # earlier dispatch; publicity and experts were never sent.
    FIRE: Playbook(leads=FIRE_LEADS, steps=[
        (2, "activate_response", {}),
        (4, "submit_report", _report("initial", "危化品仓库火灾，消防废水外溢")),
        (6, "dispatch", {"leads": FIRE_LEADS}),
        (7, "request_support", {"partner": "fire_brigade", "request": SUPPORT_REQUEST}),
        (8.5, "answer_support", {"request_no": 1, "answer": "accepted", "note": "119指挥中心值班长：已调派泡沫消防车2辆"}),
        (10, "adjust_level", {"level": "III", "reason": RAISE_REASON}),
        (12, "submit_report", _report("progress", "响应级别提高到III级，消防废水已截流")),
        (15, "propose_termination", {"reason": "明火扑灭，消防废水全部收集，温河断面达标"}),
        (16, "sign_off", _sign("monitoring", FIRE_LEADS)),
        (17, "sign_off", _sign("disposal", FIRE_LEADS)),
        (18, "sign_off", _sign("investigation", FIRE_LEADS)),
        (20, "approve_termination", {"instruction": "同意终止"}),
        (21, "submit_report", _report("final", "处理结果报告：消防废水约600立方米已收集暂存")),
        (22, "record_joint_investigation", {"members": JOINT_MEMBERS, "note": "事故调查和损失评估（协议 二.5）"}),
        *_tail(23, final=False),  # a 一般 event (raised response): the city bureau's investigation (32号令 第四条)
    ], expect_findings=["III级响应未调派：新闻宣传组、应急专家组", f"响应级别由IV级调整为III级（{RAISE_REASON}）"]),
}

MESSAGES = {
    "activate_response": m.ActivateResponse, "submit_report": m.SubmitReport, "dispatch": m.Dispatch,
    "record_city_started": m.RecordCityStarted, "propose_termination": m.ProposeTermination,
    "sign_off": m.SignOff, "approve_termination": m.ApproveTermination, "adjust_level": m.AdjustLevel,
    "record_aftercare": m.RecordAftercare, "complete_investigation": m.CompleteInvestigation,
    "assessment_review_passed": m.AssessmentReviewPassed, "submit_assessment_report": m.SubmitAssessmentReport,
    "close": m.Close, "request_support": m.RequestSupport, "answer_support": m.SupportAnswer,
    "record_joint_investigation": m.RecordJointInvestigation, "record_other_act": m.RecordOtherAct,
}
MOVES = {"activate_response": "responding", "dispatch": "on_site", "propose_termination": "termination_pending",
         "approve_termination": "post_event", "close": "closed"}


def expected_segments(steps: list[tuple[datetime, str, dict]], reported: datetime) -> list[tuple[str, int]]:
    """The stages the actions lead through and how long each lasted: differences of `at`."""
    out, stage, since = [], "reported", reported
    for at, action, kw in steps:
        to = MOVES.get(action)
        if action == "sign_off" and kw["decision"] == "reject":
            to = "on_site"
        if to:
            out.append((stage, int((at - since).total_seconds())))
            stage, since = to, at
    return out


@pytest.mark.parametrize("sid", [SPILL, TAILINGS, FIRE])
async def test_drill_end_to_end(sid, client, worker, temporal_address):
    sc = load_scenario(sid)
    book = PLAYBOOKS[sid]
    p = await ecoplan(temporal_address, "drill", "start", sid, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    iid = out["incident_id"]
    assert out["scenario"] == sid and re.fullmatch(rf"drill-{sid}-\d{{12}}-[0-9a-f]{{4}}", iid)

    st = await api.status(client, iid)
    assert st["drill"] is True and st["graded_level"] == sc.expected_level.value
    reported, discovered = datetime.fromisoformat(st["reported_at"]), datetime.fromisoformat(st["discovered_at"])
    assert reported - discovered == timedelta(minutes=sc.incident.discovered_minutes_ago - sc.incident.reported_minutes_ago)
    assert max(s[0] for s in book.steps) < sc.incident.reported_minutes_ago  # every `at` is in the past

    done: list[tuple[datetime, str, dict]] = []
    for minutes, action, kw in book.steps:
        at = reported + timedelta(minutes=minutes)
        # the 指挥's acts (authority table); the duty officer's the rest
        by = kw.get("by") or (COMMANDER if action in ("approve_termination", "activate_response", "adjust_level")
                              else DUTY)
        if action == "approve_termination":
            kw = {**kw, "follow_up": FOLLOW_UP}
        if action == "sign_off":  # the lead signs the round that is open, as the console shows it
            kw = {**kw, "round": (await api.status(client, iid))["round"]}
        await api.act(client, iid, action, with_reason(MESSAGES[action](**{"by": by, **kw, "at": at})))
        done.append((at, action, kw))

    p = await ecoplan(temporal_address, "drill", "report", iid, "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["drill"] is True and r["incident_id"] == iid and r["stage"] == "closed"

    # 应急响应程序: each stage's duration is the difference of the `at` times used.
    segs = r["response_procedure"]["segments"]
    assert [(s["stage"], s["duration_seconds"]) for s in segs] == expected_segments(done, reported)
    assert all(s["within_expectation"] is True and not s["ongoing"] for s in segs)
    assert r["response_procedure"]["totals"]["reported_to_closed_seconds"] == int((done[-1][0] - reported).total_seconds())

    # 应急信息处置: every report, when, and whether the initial one was late.
    reports = [(at, kw["kind"]) for at, a, kw in done if a == "submit_report"]
    assert [(x["kind"], datetime.fromisoformat(x["at"])) for x in r["information"]["reports"]] == \
        [(k, at) for at, k in reports]
    assert r["information"]["missing"] == []
    initial_at = next(at for at, k in reports if k == "initial")
    # 一般/较大: 4 h after the bureau learned (17号令 第三条); the spill interrupted a township intake,
    # 17号令 第四条(一) by the report's own facts, so 2 h (the 重大 procedure) until the level is judged
    due = reported + timedelta(hours=2 if sid == SPILL else 4)
    late = max(0, int((initial_at - due).total_seconds()))
    init = r["information"]["reports"][0]
    assert init["late"] is (late > 0) and init["late_by_seconds"] == late
    assert datetime.fromisoformat(init["due_at"]) == due
    if sid == TAILINGS:  # the bureau learned 300 − 30 = 270 min after discovery, reported 5 min later: on time
        assert reported - discovered == timedelta(minutes=270)
        assert init["late"] is False and init["late_by_seconds"] == 0
        assert datetime.fromisoformat(init["due_at"]) == reported + timedelta(minutes=240)

    # 时限执行: the deadlines, met or met late, with how late.
    dls = {d["name"]: d for d in r["deadlines"]["deadlines"]}
    assert dls["initial_report"]["status"] == ("met_late" if late else "met")
    assert dls["initial_report"]["late_by_seconds"] == (late or None)
    assert datetime.fromisoformat(dls["initial_report"]["met_at"]) == initial_at
    final_level = "III" if sid == FIRE else sc.expected_level.value
    assert ("readiness" in dls) is (final_level == "III")  # 4.1.2(4): III and above
    if "readiness" in dls:
        assert dls["readiness"]["status"] == "met"
    # issue 24: each post-event clock runs only where the step is the bureau's own (5.3 较大; 32号令 第四条 一般)
    # by the event's level (the fire's response was raised to III, the event stays 一般)
    own = {"III": ["assessment_report", "assessment_completion"], "IV": ["investigation"]}.get(
        sc.expected_level.value, [])
    assert [n for n in ("assessment_report", "investigation", "assessment_completion") if n in dls] == [
        n for n in ("assessment_report", "investigation", "assessment_completion") if n in own]
    for name in own:
        assert dls[name]["status"] == "met"

    # 应急力量调动: time from report to activation and dispatch; groups and their leads.
    act_at = next(at for at, a, _ in done if a == "activate_response")
    disp_at = next(at for at, a, _ in done if a == "dispatch")
    mob = r["mobilisation"]
    assert mob["report_to_activation_seconds"] == int((act_at - reported).total_seconds())
    assert mob["report_to_dispatch_seconds"] == int((disp_at - reported).total_seconds())
    assert mob["activation_to_dispatch_seconds"] == int((disp_at - act_at).total_seconds())
    assert {g["group"]: g["lead"] for g in mob["groups"]} == book.leads

    # 部门应急协调: who signed when, in which round, with which decision and opinion.
    signed = [(kw["group"], kw["lead"], kw["decision"], at) for at, a, kw in done if a == "sign_off"]
    rounds_of = []
    n = 0
    for at, a, kw in done:
        if a == "propose_termination":
            n += 1
        if a == "sign_off":
            rounds_of.append(n)
    co = r["inter_department"]
    assert [(s["group"], s["lead"], s["decision"], datetime.fromisoformat(s["at"])) for s in co["signers"]] == signed
    assert [s["round"] for s in co["signers"]] == rounds_of
    assert co["rounds"] == n and co["termination_rounds"][-1]["outcome"] == "approved"
    assert datetime.fromisoformat(co["termination_rounds"][-1]["approved_at"]) == \
        next(at for at, a, _ in done if a == "approve_termination")
    assert co["termination_rounds"][-1]["approved_by"] == COMMANDER.name
    rejects = [(kw["group"], kw["opinion"]) for _, a, kw in done if a == "sign_off" and kw["decision"] == "reject"]
    assert [(x["group"], x["opinion"]) for x in co["rejections"]] == rejects
    city = [at for at, a, _ in done if a == "record_city_started"]
    assert co["city_started"] is bool(city)
    if city:
        assert datetime.fromisoformat(co["city_started_at"]) == city[0]
        assert co["termination_rounds"][-1]["city_decision"].startswith("市指挥部")

    # Linkage (4.2.3, 协议 二): every bulletin the incident sent, support asked and answered,
    # the joint investigation group.
    assert [(b["no"], b["at"]) for b in co["bulletins"]] == [
        (e["detail"]["no"], e["at"]) for e in (await api.status(client, iid))["timeline"]
        if e["action"] == "linkage_bulletin"]
    asked = [(at, kw) for at, a, kw in done if a == "request_support"]
    answered = [(at, kw) for at, a, kw in done if a == "answer_support"]
    assert [(q["partner"], q["request"], datetime.fromisoformat(q["at"]), q["answer"],
             datetime.fromisoformat(q["answered_at"]), q["response_seconds"]) for q in co["support_requests"]] == [
        (kw["partner"], kw["request"], at, akw["answer"], aat, int((aat - at).total_seconds()))
        for (at, kw), (aat, akw) in zip(asked, answered)]
    joint = [(at, kw) for at, a, kw in done if a == "record_joint_investigation"]
    assert co["fire_engaged"] is (sc.incident.source == "linkage_119")
    if joint:
        assert co["joint_investigation"]["members"] == joint[0][1]["members"]
        assert datetime.fromisoformat(co["joint_investigation"]["at"]) == joint[0][0]
    else:
        assert co["joint_investigation"] is None

    # Level changes: activation, then any adjustment, with who and when.
    changes, current = [(None, sc.expected_level.value, act_at)], sc.expected_level.value
    for at, a, kw in done:
        if a == "adjust_level":
            changes.append((current, kw["level"], at))
            current = kw["level"]
    assert r["level_changes"]["final_level"] == current
    assert [(c["from_level"], c["to_level"], datetime.fromisoformat(c["at"]), c["by"])
            for c in r["level_changes"]["changes"]] == [(f, t, at, COMMANDER.name) for f, t, at in changes]

    # Findings: plain sentences, exactly the expected ones.
    assert len(r["findings"]) == len(book.expect_findings), r["findings"]
    for got, want in zip(r["findings"], book.expect_findings):
        assert got.startswith(want), (got, want)

    # The Markdown report is marked 演练 at the top.
    p = await ecoplan(temporal_address, "drill", "report", iid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].startswith("# 【演练】")

    # Every archived document of the drill says it is a drill.
    files = await archived(worker, iid, "dossier.json", "activation_notice.md", "termination_form.md", "info_report.md")
    assert len([n for n in files if n.endswith("info_report.md")]) == len(reports)
    for name, text in files.items():
        assert "演练" in text, name


async def test_drills_stay_out_of_supervisor_views(client, worker, temporal_address, tmp_path):
    # A tailings drill whose bureau learned 280 min ago: its initial report (due 240 min after
    # learning) is overdue from the start.
    late = tmp_path / "late-tailings.yaml"
    late.write_text(GOOD.replace("reported_minutes_ago: 30", "reported_minutes_ago: 280"), encoding="utf-8")
    p = await ecoplan(temporal_address, "drill", "start", str(late))
    assert p.returncode == 0, p.stderr
    iid = p.stdout.strip()
    try:
        async def listed_with_drills():
            return [x["incident_id"] for x in await views.list_incidents(client, drills=True)]

        await eventually(listed_with_drills, lambda ids: iid in ids, timeout=15)
        row = next(x for x in await views.list_incidents(client, drills=True) if x["incident_id"] == iid)
        assert row["drill"] is True and "演练" in row["title"]
        assert iid not in [x["incident_id"] for x in await views.list_incidents(client)]

        async def overdue_with_drills():
            return [(x["incident_id"], x["deadline"]) for x in await views.overdue(client, drills=True)]

        await eventually(overdue_with_drills, lambda rows: (iid, "initial_report") in rows, timeout=15)
        assert iid not in [x["incident_id"] for x in await views.overdue(client)]
        assert iid not in [x["incident_id"] for x in await views.stuck(client, idle=timedelta(minutes=1))]
    finally:
        await client.get_workflow_handle(api.workflow_id(iid)).terminate("test done")


async def test_drill_report_refuses_a_real_incident_and_unknown_scenarios(client, worker, temporal_address, tmp_path):
    iid = await api.start_incident(client, report(incident_id=f"t-{uuid.uuid4().hex[:10]}"))
    p = await ecoplan(temporal_address, "drill", "report", iid)
    assert p.returncode == 1 and "不是演练" in one_line_error(p)
    p = await ecoplan(temporal_address, "drill", "report", "no-such-incident")
    assert p.returncode == 1 and "没有事件" in one_line_error(p)

    p = await ecoplan(temporal_address, "drill", "start", "no-such-scenario")
    assert p.returncode == 2 and "no-such-scenario" in one_line_error(p)
    bad = tmp_path / "bad-drill.yaml"
    bad.write_text(GOOD.replace("  county: 盂县\n", ""), encoding="utf-8")
    p = await ecoplan(temporal_address, "drill", "start", str(bad))
    assert p.returncode == 2 and "bad-drill.yaml：incident.county不能为空" in one_line_error(p)


# ------------------------------------------------------------------ participants (issue 23)

from tests.test_paging import bureau  # noqa: E402,F401 - the fixture: accounts wangwei (值班员), li (指挥)


async def test_a_drill_started_with_participants_names_them_starter_first(client, worker, temporal_address, bureau):  # noqa: F811
    from argon2 import PasswordHasher

    from ecoplan.accounts import AccountStore
    from tests.test_paging import _stop_pages

    box, db = bureau
    AccountStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)).add(
        "zhang", "lead", "pw-zhang-桃河-2026", display="张监测")
    p = await ecoplan(temporal_address, "drill", "start", SPILL, "--participants", "张监测,li", "--by", "wangwei")
    assert p.returncode == 0, p.stderr
    iid = p.stdout.strip()
    try:
        st = await api.status(client, iid)
        assert st["drill"] is True and st["drill_participants"] == ["wangwei", "zhang", "li"]
    finally:
        await client.get_workflow_handle(api.workflow_id(iid)).terminate("test done")
        await _stop_pages(client, iid)


async def test_unknown_drill_participants_are_refused_and_nothing_starts(bureau):  # noqa: F811
    """Refused before any server is asked: the address is a closed port, so a drill that had been
    started would have failed on the connection instead."""
    from tests.test_channels import free_port

    p = await ecoplan(f"127.0.0.1:{free_port()}", "drill", "start", SPILL, "--participants", "zhangsan,wangwei",
                      "--participants", "lisi")
    assert p.returncode == 2
    assert one_line_error(p) == "ecoplan: 演练参与人：没有可用的账号 zhangsan、lisi，演练未开始（参与人须是已启用的账号）"
