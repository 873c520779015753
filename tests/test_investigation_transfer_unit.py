"""Who investigates when the upper department says otherwise (32号令 第四条 第二、三款), and the
assessment's conclusion made public (5.3 信息公开): issue 24, findings 5 and 6, without a server.

Times come from tests/unit_state.py's clock: the incident was opened at 09:00 on Tuesday
2026-11-10 and each builder step is 10 minutes on. A level IV response is ended by the county
(4.1.1): the bureau's own 60-day investigation clock (a local choice) starts then.
"""

from __future__ import annotations

from datetime import timedelta

import workflows.duties as duties
import workflows.messages as m
import workflows.status as status
from tests.helpers import DUTY
from tests.unit_state import LEVEL_III, LEVEL_IV, final_report, in_stage

LETTER = "晋环函〔2026〕12号"


def transfer(kind: str, **over) -> m.RecordInvestigationTransfer:
    return m.RecordInvestigationTransfer(by=DUTY, kind=kind, document=LETTER, **over)


def test_a_III_investigation_delegated_to_the_bureau_becomes_its_own_and_close_waits_for_it():
    inc = in_stage("post_event", LEVEL_III)
    assert duties.duty(inc.s, "investigation").mode == "records"  # 第四条第一款: the province organises 较大
    done = inc.act("record_investigation_transfer", transfer("delegated"))
    d = duties.duty(inc.s, "investigation")
    assert (d.mode, d.body) == ("performs", "市生态环境局（受省生态环境厅委托）")
    assert d.source == f"32号令 第四条第二款（{LETTER}）"
    assert "上级委托本局调查处理：省生态环境厅" in done.message
    assert "investigation" not in [x.name for x in inc.s.deadlines]  # no clock: the letter sets the time
    # now the bureau's own: close waits for it, and the province's act can no longer be recorded
    assert duties.close_missing(inc.s) == [duties.STEP_MISSING["investigation"],
                                           duties.STEP_MISSING["assessment"]]
    assert inc.refused("record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="x"))
    inc.step("complete_investigation", m.CompleteInvestigation(by=DUTY, summary="受托调查完毕"))
    assert duties.close_missing(inc.s) == [duties.STEP_MISSING["assessment"]]
    view = status.incident_view(inc.s, [])
    assert (view.investigation_transfer.kind, view.investigation_transfer.body) == ("delegated", "省生态环境厅")


def test_a_IV_investigation_taken_over_ends_the_bureaus_clock_at_the_hand_over():
    inc = in_stage("post_event", LEVEL_IV)
    ended = inc.s.events["response_terminated"]
    clock = inc.deadline("investigation")
    assert clock.due_at == ended + timedelta(days=60)  # the bureau's setting: 60 days from the county's end
    inc.now += timedelta(days=3)
    done = inc.act("record_investigation_transfer", transfer("taken_over"))
    clock = inc.deadline("investigation")
    assert (clock.status, clock.met_at, clock.met_seq) == ("met", inc.now, done.entry("record_investigation_transfer").seq)
    d = duties.duty(inc.s, "investigation")
    assert (d.mode, d.body) == ("records", "省生态环境厅")  # the province, the city bureau's upper department
    assert "本局的调查期限止于移交" in done.message
    # the province's conclusion is recorded as its act; the bureau no longer completes it itself
    assert inc.refused("complete_investigation", m.CompleteInvestigation(by=DUTY, summary="x"))
    inc.step("record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="晋环调〔2026〕9号"))
    assert inc.s.other_acts["investigation"]["body"] == "省生态环境厅"


def test_taken_over_before_the_county_ends_the_response_no_clock_of_the_bureaus_starts():
    inc = in_stage("responding", LEVEL_IV)
    inc.step("record_investigation_transfer", transfer("referred"))  # 第三款: the bureau asks first
    assert duties.duty(inc.s, "investigation").mode == "optional"  # nothing moves until the province decides
    inc.step("record_investigation_transfer", transfer("taken_over", body="山西省生态环境厅"))
    inc.step("record_other_termination", m.RecordOtherTermination(by=DUTY, document="平政办〔2026〕7号"))
    assert inc.s.stage == "post_event"
    assert "investigation" not in [x.name for x in inc.s.deadlines]
    assert duties.duty(inc.s, "investigation").body == "山西省生态环境厅"


def test_what_the_article_does_not_allow_is_refused_and_nothing_changes():
    iv = in_stage("post_event", LEVEL_IV)
    e = iv.refused("record_investigation_transfer", transfer("delegated"))
    assert "本由本局组织" in str(e) and "第四条第一款" in str(e)
    iii = in_stage("post_event", LEVEL_III)
    for kind in ("taken_over", "referred"):
        e = iii.refused("record_investigation_transfer", transfer(kind))
        assert "不是本局负责的调查" in str(e)
    iii.step("record_investigation_transfer", transfer("delegated"))
    when = f"{iii.now:%Y-%m-%d %H:%M}"
    before = iii.s.model_dump()
    e = iii.refused("record_investigation_transfer", transfer("delegated"))
    assert (e.message, e.kind) == (f"已登记上级委托本局调查处理：省生态环境厅（{LETTER}），{when}", "conflict")
    assert iii.s.model_dump() == before
    iii.step("complete_investigation", m.CompleteInvestigation(by=DUTY, summary="受托调查完毕"))
    iv.step("complete_investigation", m.CompleteInvestigation(by=DUTY, summary="调查完毕"))
    e = iv.refused("record_investigation_transfer", transfer("taken_over"))
    assert "事件调查已办结" in str(e)


def test_the_assessments_conclusion_is_published_once_after_its_report():
    inc = in_stage("post_event", LEVEL_III)
    where = m.PublishAssessment(by=DUTY, where="市生态环境局门户网站")
    assert "尚未报送" in str(inc.refused("publish_assessment", where))
    inc.step("submit_report", final_report())
    inc.step("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    inc.step("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    sent = inc.s.events["assessment_report_submitted"]
    early = m.PublishAssessment(by=DUTY, where="市生态环境局门户网站", at=sent - timedelta(minutes=5))
    assert "不能早于评估报告报送的时间" in str(inc.refused("publish_assessment", early))
    inc.step("record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="晋环调〔2026〕3号"))
    assert duties.close_missing(inc.s) == []  # close never waits for the publication
    done = inc.step("publish_assessment", where)
    assert done.message == "已登记损害评估结论公开：市生态环境局门户网站（5.3 信息公开）"
    assert inc.s.assessment_published["at"] == inc.now.isoformat()
    e = inc.refused("publish_assessment", where)
    assert e.kind == "conflict" and "评估结论已于" in str(e)
    assert status.incident_view(inc.s, []).assessment_published.where == "市生态环境局门户网站"
