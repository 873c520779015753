"""Post-event handling (5.x): aftercare (5.1), the investigation (5.2), the damage
assessment's review and report (5.3), and the close."""

from __future__ import annotations

from plan.calendar import SHANGHAI
from plan.citation import cite
import workflows.deadlines as deadlines
import workflows.duties as duties
import workflows.levels as levels
import workflows.messages as m
import workflows.actions.offers as offers
import workflows.reporting as reporting
from workflows.actions.form import FormField as F
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.recorder import fmt
from workflows.timeline import short

NOTE = (O("--note", "note", default="", help="说明"),)


# ------------------------------------------------------------------ record_aftercare (5.1)

def apply_aftercare(rec, inp: m.RecordAftercare, got: Checked, _prepared) -> str:
    s = rec.s
    s.aftercare.append({"at": got.at.isoformat(), "by": inp.by.model_dump(), "note": short(inp.note)})
    del s.aftercare[:-reporting.KEEP_REPORTS]
    rec.transition("record_aftercare", got.at, inp, {"note": short(inp.note)})
    return "已登记善后处置（5.1）"


# ------------------------------------------------------------------ complete_investigation (5.2)

def check_investigation(s, inp, at, now) -> Checked:
    if duties.duty(s, "investigation").mode == "records":
        raise Refused(f"{duties.describe(s, 'investigation')}：请用“登记其他单位办理的后期事项”登记其调查结论（办理单位、文件）")
    if "investigation_completed" in s.events:
        raise Refused(f"事件调查已于 {fmt(s.events['investigation_completed'])} 完成")
    return Checked(at)


def apply_investigation(rec, inp: m.CompleteInvestigation, got: Checked, _prepared) -> str:
    entry = rec.transition("complete_investigation", got.at, inp, {"summary": short(inp.summary)})
    rec.event("investigation_completed", got.at, entry)
    return "已登记事件调查完成（5.2）"


# ------------------------------------------------------------------ assessment_review_passed (5.3)

def check_review(s, inp: m.AssessmentReviewPassed, at, now) -> Checked:
    if s.review_date is not None:
        raise Refused(f"损害评估报告已于 {s.review_date} 通过评审")
    review_date = inp.review_date or at.astimezone(SHANGHAI).date()
    if review_date > now.astimezone(SHANGHAI).date():
        raise Refused(f"评审通过日期 {review_date} 在将来", "invalid")
    if review_date < s.report.discovered_at.astimezone(SHANGHAI).date():
        raise Refused(f"评审通过日期 {review_date} 早于事件发现日期", "invalid")
    return Checked(at, review_date)


def starts_review(s, inp, got: Checked) -> list:
    return [(n, deadlines.review_start(got.value), levels.for_deadline(s, n))
            for n in deadlines.started_on(s, "assessment_review_passed")]


def apply_review(rec, inp: m.AssessmentReviewPassed, got: Checked, prepared: dict) -> str:
    s, at, review_date = rec.s, got.at, got.value
    s.review_date = review_date
    start = deadlines.review_start(review_date)
    entry = rec.transition("assessment_review_passed", at, inp, {"review_date": review_date.isoformat()})
    rec.event("assessment_review_passed", min(start, at), entry)
    notes = rec.start_deadlines(starts_review(s, inp, got), prepared)
    return f"已登记损害评估报告于 {review_date} 通过评审（5.3）{notes}"


# ------------------------------------------------------------------ submit_assessment_report (5.3)

def check_assessment_report(s, inp: m.SubmitAssessmentReport, at, now) -> Checked:
    if s.review_date is None:
        raise Refused("损害评估报告尚未通过评审：请先登记评审通过（5.3）")
    if "assessment_report_submitted" in s.events:
        raise Refused(f"损害评估报告已于 {fmt(s.events['assessment_report_submitted'])} 报送")
    required = s.plan.assessment_report_recipients
    recipients = inp.recipients or required
    missing = [r for r in required if r not in recipients]
    if missing:
        raise Refused(f"损害评估报告应报送{'、'.join(required)}（5.3）；缺少：{'、'.join(missing)}", "invalid")
    return Checked(at, recipients)


def apply_assessment_report(rec, inp: m.SubmitAssessmentReport, got: Checked, _prepared) -> str:
    recipients = got.value
    joint = rec.s.linkage.get("joint_investigation")
    entry = rec.transition("submit_assessment_report", got.at, inp,
                           {"recipients": recipients, "joint_investigation": joint})  # 协议 二.5
    rec.event("assessment_report_submitted", got.at, entry)
    rec.notify("assessment_report_submitted", f"损害评估报告报送：{rec.s.report.title}", recipients,
               {"joint_investigation": joint})
    return f"损害评估报告已报送{'、'.join(recipients)}（5.3）"


# ------------------------------------------------------------------ close

def check_close(s, inp, at, now) -> Checked:
    missing = duties.close_missing(s)
    r = reporting.rules(s)
    # The 处理结果报告: where the reporting rules ask for it and the level's duties make it the bureau's.
    if (r is not None and r.final_report_needed(levels.event_level(s)) and duties.duty(s, "final_report").mode == "performs"
            and not s.reports_count.get("final")):
        missing.append(f"处理结果报告尚未报送（{cite(r.final_report_required.source)}）")
    if missing:
        raise Refused("尚不能结案：" + "；".join(missing))
    return Checked(at)


def apply_close(rec, inp: m.Close, got: Checked, _prepared) -> str:
    rec.s.outcome = "completed"
    rec.transition("close", got.at, inp, {"note": short(inp.note)})
    rec.notify("incident_closed", f"事件处置完毕：{rec.s.report.title}", rec.s.plan.report_recipients, {})
    return "事件处置完毕，已结案"


ACTIONS = [
    ActionSpec(
        name="record_aftercare", input=m.RecordAftercare, title="登记善后处置", source="5.1",
        moves=({"trigger": "record_aftercare", "source": "post_event", "dest": None},),
        check=lambda s, inp, at, now: Checked(at), apply=apply_aftercare,
        form=lambda plan, st, u: [F("note", "善后处置情况（5.1）", "textarea", True)],
        cli="aftercare", cli_help="登记善后处置（5.1）。",
        cli_options=(O("--note", "note", required=True, help="善后处置情况（5.1）"),)),
    ActionSpec(
        name="complete_investigation", input=m.CompleteInvestigation, title="完成事件调查", source="5.2",
        moves=({"trigger": "complete_investigation", "source": "post_event", "dest": None},),
        check=check_investigation, apply=apply_investigation, offers=offers.own("investigation"),
        form=lambda plan, st, u: [F("summary", "调查结论（5.2）", "textarea")],
        cli="complete-investigation", cli_help="登记事件调查完成（5.2）。",
        cli_options=(O("--summary", "summary", default="", help="调查结论摘要"),)),
    ActionSpec(
        name="assessment_review_passed", input=m.AssessmentReviewPassed, title="登记损害评估报告通过评审", source="5.3",
        moves=({"trigger": "assessment_review_passed", "source": "post_event", "dest": None},),
        check=check_review, apply=apply_review, starts=starts_review, offers=offers.review_pending,
        form=lambda plan, st, u: [F("review_date", "评审通过日期（5.3）", "date")],
        cli="review-passed",
        cli_help="登记损害评估报告通过评审：20个工作日的报送时限自此开始（5.3）。",
        cli_options=(O("--date", "review_date", "date", required=True,
                       help="损害评估报告通过评审的日期（年-月-日）"),)),
    ActionSpec(
        name="submit_assessment_report", input=m.SubmitAssessmentReport, title="报送损害评估报告", source="5.3",
        moves=({"trigger": "submit_assessment_report", "source": "post_event", "dest": None},),
        check=check_assessment_report, apply=apply_assessment_report, offers=offers.report_due,
        form=lambda plan, st, u: [F("recipients", "报送单位（每行一个，默认市人民政府、省生态环境厅）", "lines")],
        cli="submit-assessment-report",
        cli_help="报送损害评估报告（5.3，报市政府和省厅）。",
        cli_options=(O("--to", "recipients", "many", help="报送单位（可重复；默认：预案规定的单位，5.3）"),)),
    ActionSpec(
        name="close", input=m.Close, title="结案", source="5.x",
        moves=({"trigger": "close", "source": "post_event", "dest": "closed", "conditions": ["duties_done"]},),
        guards={"duties_done": lambda s: not duties.close_missing(s)},
        check=check_close, apply=apply_close,
        form=lambda plan, st, u: [F("note", "说明", "textarea")],
        cli="close", cli_help="事件调查完成、评估报告报送后结案。",
        cli_options=NOTE),
]
