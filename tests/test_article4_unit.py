"""17号令 第四条 as written (issue 24, finding 3), without a server: its cases send the report
by the 重大 (II) procedure while the event's level cannot be judged; the report's own facts set
the matching case; once the bureau has judged the level below II the 第三条 rule for that
level applies, and the deadline says which rule it follows. The reading is the plan's local
choice (reporting.special_circumstances.until_judged).

Times counted by hand: the bureau learned of the incident at 08:40 on Tuesday 2026-11-10
(tests/unit_state.py); 4 h → 12:40, 2 h → 10:40; each builder step is 10 minutes on.
"""

from __future__ import annotations

from datetime import datetime

from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.models import Level
import workflows.messages as m
import workflows.reporting as reporting
from plan.check import check_plan
from tests.helpers import COMMANDER, DUTY
from tests.unit_state import LEVEL_IV, opened

PROVINCE = ["市人民政府", "省生态环境厅"]
MINISTRY = PROVINCE + ["生态环境部"]


def at(h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, 10, h, mi, tzinfo=SHANGHAI)


def test_a_township_intake_interrupted_is_case_one_until_the_level_is_judged():
    inc = opened(Assessment(drinking_water_interrupted="township"))  # 附表1 较大 5
    assert [c["id"] for c in inc.s.circumstances] == ["drinking_water_source"]  # 第四条(一), from the facts
    d = inc.deadline("initial_report")
    assert d.due_at == at(10, 40) and reporting.recipients(inc.s) == MINISTRY
    assert d.source.startswith("17号令 第四条（对饮用水水源保护区造成或者可能造成影响）") and "环境保护部令第17号" in d.source
    done = inc.step("determine_event_level", m.DetermineEventLevel(by=COMMANDER, level=Level.III,
                                                                   reason="乡镇水源地取水中断，附表1 较大 5"))
    # judged 较大: the 第三条 procedure (no ministry), the 2 h already set is not lengthened
    assert reporting.recipients(inc.s) == PROVINCE and reporting.reporting_level(inc.s) == Level.III
    assert d.due_at == at(10, 40) == inc.deadline("initial_report").due_at
    rule = inc.deadline("initial_report").source
    assert rule.startswith("17号令 第三条：事件等级Ⅲ级（初步认定）") and "keeps_shorter" in rule
    assert "初报时限依据" in done.message


def test_a_county_dispute_with_a_mass_incident_is_case_five():
    inc = opened(Assessment(cross_boundary="county_dispute"))  # 附表1 一般 4
    assert [c["id"] for c in inc.s.circumstances] == ["mass_incident"]
    assert inc.deadline("initial_report").due_at == at(10, 40)  # 2 h, not the 一般 4 h


def test_a_cross_province_event_records_case_four_beside_its_II_grading():
    inc = opened(Assessment(cross_boundary="province"))  # 附表1 重大 6
    assert [c["id"] for c in inc.s.circumstances] == ["cross_province"]
    d = inc.deadline("initial_report")
    assert d.due_at == at(10, 40) and d.source.startswith("17号令 第三条：事件等级Ⅱ级（附表1分级）")


def test_a_case_learned_after_the_level_is_judged_below_II_leaves_the_4_hour_clock():
    inc = opened(LEVEL_IV)
    inc.step("determine_event_level", m.DetermineEventLevel(by=COMMANDER, level=Level.IV, reason="损失不足500万元"))
    inc.step("record_circumstances", m.RecordCircumstances(by=DUTY, circumstances=["heavy_metal"]))
    d = inc.deadline("initial_report")
    assert d.due_at == at(12, 40) and reporting.recipients(inc.s) == PROVINCE
    assert "第四条情形不再改变报告程序" in d.source


def test_an_unjudged_IV_with_a_case_recorded_goes_by_the_II_procedure():
    inc = opened(LEVEL_IV)
    inc.step("record_circumstances", m.RecordCircumstances(by=DUTY, circumstances=["sensitive_area"]))  # 09:10
    assert inc.deadline("initial_report").due_at == at(10, 40) and reporting.recipients(inc.s) == MINISTRY


def test_the_plan_check_lists_the_reading_of_article_4_as_a_local_choice():
    _, problems = check_plan()
    assert any(p.where == "reporting.special_circumstances" and p.severity == "info" and "until_judged" in p.message
               for p in problems)


def test_the_plan_check_gives_every_area_of_rules_a_basis_with_its_status():
    """Finding 9: grading, reporting, duties, termination, warning… each with its basis; no area left without."""
    from plan.check_law import AREAS

    _, problems = check_plan()
    assert not [p for p in problems if p.message == "这一类规则没有记录依据"]
    listed = {p.where.removeprefix("rule_bases.") for p in problems if p.where.startswith("rule_bases.")}
    assert listed == set(AREAS)
    msgs = {p.message for p in problems}
    assert any(m.startswith("本地选择（60 天调查时限）") for m in msgs)  # 32号令 time limits unverified
    assert any(m.startswith("环境保护部令第17号 第八条：现行有效") and "4.2.3" in m for m in msgs)  # finding 10
    assert any(m.startswith("本地选择（IV级响应终止）") for m in msgs)  # finding 8
    assert any(p.where == "reporting.initial_report_clock" and "keeps_shorter" in p.message for p in problems)


def test_a_plan_without_bases_is_told_which_areas_lack_one(tmp_path):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "plan" / "plans" / "yangquan-2022.yaml").read_text(encoding="utf-8")
    path = tmp_path / "no-bases.yaml"
    path.write_text(text[:text.index("rule_bases:")], encoding="utf-8")
    _, problems = check_plan(path)
    assert {p.where for p in problems if p.message == "这一类规则没有记录依据"} == {
        "rule_bases.grading", "rule_bases.response", "rule_bases.reporting", "rule_bases.reporting_neighbours",
        "rule_bases.duties", "rule_bases.investigation", "rule_bases.assessment", "rule_bases.termination",
        "rule_bases.follow_up", "rule_bases.warning", "rule_bases.plan_management"}
