"""Warnings (3.1–3.3). The bureau proposes (预警信息发布建议 to the city and provincial
headquarters, 3.1; the 预警解除建议 to the city HQ, 3.3); the city government, or whom it
authorises, issues and lifts, and the bureau records that act with the issuer's name and
document number and tells the bodies the plan names.

Functions of the incident `w` (its state `w.s`, `w.record`, `w.transition`, `w.notify`); no awaits.
"""

from __future__ import annotations

from datetime import datetime

import workflows.messages as m
from workflows.timeline import short


def propose(w, inp: m.ProposeWarning, at: datetime) -> str:
    s, spec = w.s, w.s.plan.warning
    to = (spec.lift_proposal_to if inp.lift else spec.recommend_to) if spec else s.plan.report_recipients
    what = "预警解除建议" if inp.lift else "预警信息发布建议"
    w.record(at, inp.by, "propose_warning", {"lift": inp.lift, "proposal": short(inp.proposal), "to": to},
             backdate_reason=w._backdated(inp, at))
    w.notify("warning_proposed", f"{what}：{s.report.title}", to, {"lift": inp.lift, "proposal": inp.proposal})
    return f"{what} sent to {'、'.join(to)} ({'3.3' if inp.lift else '3.1'})"


def _issuer(s: m.IncidentState, inp) -> tuple[dict, list[str]]:
    """What the record adds and who hears of it: the city's act (3.3)."""
    return {"issued_by": inp.issued_by, "document_number": inp.document_number}, s.plan.warning.notify_issued


def issue(w, inp: m.IssueWarning, at: datetime) -> str:
    s = w.s
    items = [{"id": a.id, "name": a.name, "source": a.source, "done": a.id in inp.actions_done}
             for a in s.plan.warning_actions]
    issuer, recipients = _issuer(s, inp)
    s.warning = {"at": at.isoformat(), "by": inp.by.model_dump(), "recommendation": inp.recommendation,
                 "actions": items, **issuer}
    w.transition("issue_warning", at, inp, {"recommendation": short(inp.recommendation),
                                            "actions_done": inp.actions_done, **issuer})
    w.notify("warning_issued", f"预警：{s.report.title}", recipients, {"recommendation": inp.recommendation, **issuer})
    return (f"warning issued by {inp.issued_by} ({inp.document_number}) recorded (3.3); "
            f"{'、'.join(recipients)} notified; warning actions 3.2 listed in status")


def lift(w, inp: m.LiftWarning, at: datetime) -> str:
    s = w.s
    s.outcome = "warning_lifted"
    issuer, recipients = _issuer(s, inp)
    w.transition("lift_warning", at, inp, {"reason": short(inp.reason), **issuer})
    w.notify("warning_lifted", f"预警解除：{s.report.title}", recipients, {"reason": inp.reason, **issuer})
    return f"lifting by {inp.issued_by} ({inp.document_number}) recorded (3.3); incident closed"


class WarningActions:
    """The warning actions, a mixin of IncidentWorkflow (the all-or-nothing step of each)."""

    def _apply_propose_warning(self, inp: m.ProposeWarning, at: datetime, _p) -> m.ActionResult:
        return self._result("propose_warning", propose(self, inp, at))

    def _apply_issue_warning(self, inp: m.IssueWarning, at: datetime, _p) -> m.ActionResult:
        return self._result("issue_warning", issue(self, inp, at))

    def _apply_lift_warning(self, inp: m.LiftWarning, at: datetime, _p) -> m.ActionResult:
        return self._result("lift_warning", lift(self, inp, at))
