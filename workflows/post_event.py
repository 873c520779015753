"""Post-event handling (5.x): aftercare (5.1), the investigation (5.2), the damage
assessment's review and report (5.3), and the close. A mixin of IncidentWorkflow: each
`_apply_*` is the all-or-nothing step of one action (incident.py `_act`)."""

from __future__ import annotations

from datetime import datetime

import workflows.deadlines as deadlines
import workflows.messages as m
import workflows.timeline as timeline
from workflows.reporting import KEEP_REPORTS


class PostEventActions:
    def _apply_record_aftercare(self, inp: m.RecordAftercare, at: datetime, _p) -> m.ActionResult:
        self.s.aftercare.append({"at": at.isoformat(), "by": inp.by.model_dump(), "note": timeline.short(inp.note)})
        del self.s.aftercare[:-KEEP_REPORTS]
        self.transition("record_aftercare", at, inp, {"note": timeline.short(inp.note)})
        return self._result("record_aftercare", "aftercare recorded (5.1)")

    def _apply_complete_investigation(self, inp: m.CompleteInvestigation, at: datetime, _p) -> m.ActionResult:
        entry = self.transition("complete_investigation", at, inp, {"summary": timeline.short(inp.summary)})
        self._event("investigation_completed", at, entry)
        return self._result("complete_investigation", "investigation completed (5.2)")

    def _apply_assessment_review_passed(self, inp: m.AssessmentReviewPassed, got, prepared: dict) -> m.ActionResult:
        at, review_date = got
        s = self.s
        s.review_date = review_date
        start = deadlines.review_start(review_date)
        entry = self.transition("assessment_review_passed", at, inp, {"review_date": review_date.isoformat()})
        self._event("assessment_review_passed", min(start, at), entry)
        notes = self._start_deadlines(deadlines.started_by(self.s, "assessment_review_passed", inp, got), prepared)
        return self._result("assessment_review_passed", f"assessment report passed review on {review_date}{notes} (5.3)")

    def _apply_submit_assessment_report(self, inp: m.SubmitAssessmentReport, got, _p) -> m.ActionResult:
        at, recipients = got
        joint = self.s.linkage.get("joint_investigation")
        entry = self.transition("submit_assessment_report", at, inp,
                                {"recipients": recipients, "joint_investigation": joint})  # 协议 二.5
        self._event("assessment_report_submitted", at, entry)
        self.notify("assessment_report_submitted", f"损害评估报告报送：{self.s.report.title}", recipients,
                    {"joint_investigation": joint})
        return self._result("submit_assessment_report", f"assessment report sent to {'、'.join(recipients)} (5.3)")

    def _apply_close(self, inp: m.Close, at: datetime, _p) -> m.ActionResult:
        self.s.outcome = "completed"
        self.transition("close", at, inp, {"note": timeline.short(inp.note)})
        self.notify("incident_closed", f"事件处置完毕：{self.s.report.title}", self.s.plan.report_recipients, {})
        return self._result("close", "incident closed (completed)")
