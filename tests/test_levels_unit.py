"""The event's level and the response's level (issue 24, findings 1 and 2), without a server.

17号令 第三条 ties the 初报's deadline and recipients to the level the event is 初步认定 at;
32号令 第四条 gives the investigating body by the event's severity; plan 4.1.5 lets only the
response be raised. Times are counted by hand from tests/unit_state.py's clock: the bureau
learned of the incident at 08:40 on Tuesday 2026-11-10, each builder step is 10 minutes on.
"""

from __future__ import annotations

from datetime import datetime

from plan.calendar import SHANGHAI
from plan.grading import Assessment
from plan.models import Level
import workflows.duties as duties
import workflows.messages as m
import workflows.status as status
from tests.helpers import COMMANDER, DUTY
from tests.unit_state import LEVEL_III, LEVEL_IV, in_stage, opened

LEVEL_II = Assessment(direct_loss_yuan=20_000_000)  # 附表1 重大 3: 2000万元以上
PROVINCE = ["市人民政府", "省生态环境厅"]


def at(h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, 10, h, mi, tzinfo=SHANGHAI)


def test_a_IV_event_with_its_response_raised_to_II_keeps_the_IV_reporting_and_investigation():
    inc = opened(LEVEL_IV)
    done = inc.step("activate_response", m.ActivateResponse(by=COMMANDER, level=Level.II, reason="临近水源地，从严应对"))
    assert inc.s.level == Level.II and inc.s.event_level == Level.IV
    # 17号令 第三条: 一般 → 4 h from 08:40 = 12:40, to the city and the province only (no ministry copy)
    assert inc.deadline("initial_report").due_at == at(12, 40)
    assert "deadline_changed" not in done.actions
    assert status.reporting.recipients(inc.s) == PROVINCE
    # 4.1.2(4) readiness follows the response: II, activated 09:10 → due 10:10
    assert inc.deadline("readiness").due_at == at(10, 10)
    # 32号令 第四条: a 一般 event's investigation is the city bureau's 视情况; the response's end is the bureau's (II)
    assert (duties.duty(inc.s, "investigation").mode, duties.duty(inc.s, "investigation").body) == ("optional", "市生态环境局")
    assert duties.duty(inc.s, "termination").mode == "performs"
    view = status.incident_view(inc.s, [])
    assert view.level == "II" and view.reporting_level == "IV" and view.graded_level == "IV"
    assert view.levels.line == "事件等级 Ⅳ级（附表1分级） · 响应级别 Ⅱ级（提高，理由：临近水源地，从严应对）"
    assert {d.step: d.level for d in view.duties} == {"dispatch": "II", "termination": "II", "investigation": "IV",
                                                     "assessment": "IV", "aftercare": "IV", "final_report": "IV"}
    assert done.entry("activate_response").detail["event_level"] == "IV"


def test_a_II_event_cannot_be_activated_or_lowered_below_II():
    inc = opened(LEVEL_II)
    err = inc.refused("activate_response", m.ActivateResponse(by=COMMANDER, level=Level.III, reason="影响范围有限"))
    assert err.kind == "invalid" and "4.1" in err.message and "4.1.5" in err.message and "Ⅱ级" in err.message
    assert inc.s.level is None and inc.s.stage == "reported"  # nothing changed
    inc.step("activate_response", m.ActivateResponse(by=COMMANDER, level=Level.I, reason="可能跨省"))
    err = inc.refused("adjust_level", m.AdjustLevel(by=COMMANDER, level=Level.III, reason="污染已控制"))
    assert "不能低于事件等级" in err.message
    inc.step("adjust_level", m.AdjustLevel(by=COMMANDER, level=Level.II, reason="跨省影响已排除"))  # back to the event's
    # 17号令 第三条 at 重大: 2 h from 08:40 = 10:40 from the start, with the ministry informed
    assert inc.deadline("initial_report").due_at == at(10, 40)
    assert status.reporting.recipients(inc.s) == PROVINCE + ["生态环境部"]


def test_the_event_level_is_judged_then_confirmed_and_the_investigating_body_follows_it():
    inc = in_stage("post_event")  # III: activated 09:10, terminated by the bureau's 附件2
    assert duties.duty(inc.s, "investigation").body == "省生态环境厅"  # 32号令 第四条 较大
    inc.step("determine_event_level", m.DetermineEventLevel(by=COMMANDER, level=Level.II, final=True,
                                                            reason="直接经济损失核定为2300万元"))
    assert inc.s.event_level_kind == "confirmed"
    assert (duties.duty(inc.s, "investigation").mode, duties.duty(inc.s, "investigation").body) == ("records", "生态环境部")
    assert duties.duty(inc.s, "termination").body == "市生态环境局"  # the response (III) stays as it ran
    err = inc.refused("determine_event_level", m.DetermineEventLevel(by=COMMANDER, level=Level.III, reason="再议"))
    assert err.kind == "conflict" and "已核定" in err.message
    err = inc.refused("determine_event_level", m.DetermineEventLevel(by=DUTY, level=Level.III, final=True, reason="x"))
    assert err.kind == "forbidden"  # 2.3(四): the 指挥部 determines the level; the duty officer does not
    view = status.incident_view(inc.s, [])
    assert [(c.kind, c.to_level) for c in view.levels.event_level_changes] == [("graded", "III"), ("confirmed", "II")]
    assert view.levels.line.startswith("事件等级 Ⅱ级（核定） · 响应级别 Ⅲ级")


def test_an_incident_opened_before_the_split_keeps_its_one_level():
    inc = opened(LEVEL_III)
    inc.s.levels_split, inc.s.event_level, inc.s.event_level_kind, inc.s.event_level_changes = False, None, None, []
    inc.step("activate_response", m.ActivateResponse(by=COMMANDER, level=Level.IV, reason="旧规则下允许"))
    inc.step("adjust_level", m.AdjustLevel(by=COMMANDER, level=Level.II, reason="饮用水源地受影响"))
    # as it ran: the response's level drives the 初报 (2 h from 08:40 = 10:40)
    assert inc.deadline("initial_report").due_at == at(10, 40)
    assert status.incident_view(inc.s, []).levels is None
    assert inc.refused("determine_event_level", m.DetermineEventLevel(by=COMMANDER, level=Level.II, reason="x")).kind \
        == "invalid"


def test_the_graded_III_event_keeps_III_with_a_lower_activation_refused_even_with_a_reason():
    inc = opened(LEVEL_III)
    err = inc.refused("activate_response", m.ActivateResponse(by=COMMANDER, level=Level.IV, reason="县里能处置"))
    assert err.message.startswith("响应级别不能低于事件等级：事件等级为Ⅲ级（附表1分级）")


def test_the_investigation_clock_runs_only_where_the_investigation_is_the_bureaus_own():
    """Finding 5 (32号令 第四条): at 一般 the city bureau investigates (视情况), 60 days from the end of
    the response (a local choice: 32号令's time limits could not be verified); at 较大 the province
    does, and the bureau records its act with no clock escalating to the bureau."""
    iv = in_stage("post_event", LEVEL_IV)  # activated 09:10, the county's end recorded 09:20
    d = iv.deadline("investigation")
    assert (d.started_at, d.due_at) == (at(9, 20), datetime(2027, 1, 9, 9, 20, tzinfo=SHANGHAI))  # + 60 days
    iii = in_stage("post_event", LEVEL_III)
    assert "investigation" not in [x.name for x in iii.s.deadlines]


def test_the_assessment_clocks_run_only_at_the_level_the_bureau_assesses():
    """Finding 6 (5.3): the bureau assesses 较大 events; at 一般 it guides the county bureau, at I/II it
    assists the ministry and the province, so neither 85号's 30 working days nor 5.3's 20 run there."""
    assert "assessment_completion" in [x.name for x in in_stage("post_event", LEVEL_III).s.deadlines]
    iv = in_stage("post_event", LEVEL_IV)
    assert not {"assessment_completion", "assessment_report"} & {x.name for x in iv.s.deadlines}
    iv.step("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    assert "assessment_report" not in [x.name for x in iv.s.deadlines]


def test_follow_up_monitoring_is_decided_after_the_countys_end_of_a_IV_response():
    """Finding 7 (4.4): the decision is its own act after termination, whoever ended the response."""
    inc = in_stage("post_event", LEVEL_IV)  # activated 09:10, the county's end recorded at 09:20 (4.1.1)
    assert status.incident_view(inc.s, []).follow_up is None
    inc.step("decide_follow_up", m.DecideFollowUp(by=DUTY, follow_up=m.FollowUp(
        continue_monitoring=False, decided_by="市应急指挥部会同专家组", note="断面连续达标")))  # 09:30
    view = status.incident_view(inc.s, [])
    assert (view.follow_up.continue_monitoring, view.follow_up.decided_by) == (False, "市应急指挥部会同专家组")
    assert inc.s.timeline[-1].at == at(9, 30)
