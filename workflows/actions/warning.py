"""Warnings (3.1–3.3). The bureau proposes (预警信息发布建议 to the city and provincial
headquarters, 3.1; the 预警解除建议 to the city HQ, 3.3); the city government, or whom it
authorises, issues and lifts, and the bureau records that act with the issuer's name and
document number and tells the bodies the plan names."""

from __future__ import annotations

import workflows.messages as m
from workflows.actions.form import FormField as F
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.timeline import short


def _issued_by(s: m.IncidentState, inp, what: str) -> None:
    """A warning is the city government's act (3.3): the bureau records who issued or lifted
    it and under which document, never issues it itself."""
    w = s.plan.warning
    who = w.issued_by if w and w.issued_by else "市人民政府或其授权的有关单位"
    src = w.source if w else "3.3"
    if not (inp.issued_by or "").strip() or not (inp.document_number or "").strip():
        raise Refused(f"{what}由{who}发布，本局只作登记：请写明发布机关和文号（{src}）",
                      "invalid")


def _issuer(s: m.IncidentState, inp) -> tuple[dict, list[str]]:
    """What the record adds and who hears of it: the city's act (3.3)."""
    return {"issued_by": inp.issued_by, "document_number": inp.document_number}, s.plan.warning.notify_issued


ISSUER_OPTIONS = (O("--issued-by", "issued_by", help="发布或解除的机关（3.3：市人民政府或其授权的单位）"),
                  O("--document-number", "document_number", help="该机关的文号"))


# ------------------------------------------------------------------ propose_warning (3.1, 3.3 建议)

def check_propose(s, inp: m.ProposeWarning, at, now) -> Checked:
    if inp.lift and s.stage != "warning":
        raise Refused("没有已发布的预警，无需提出解除建议（3.3）")
    return Checked(at)


def apply_propose(rec, inp: m.ProposeWarning, got: Checked, _prepared) -> str:
    s, spec = rec.s, rec.s.plan.warning
    to = (spec.lift_proposal_to if inp.lift else spec.recommend_to) if spec else s.plan.report_recipients
    what = "预警解除建议" if inp.lift else "预警信息发布建议"
    rec.record(got.at, inp.by, "propose_warning", {"lift": inp.lift, "proposal": short(inp.proposal), "to": to},
               backdate_reason=rec.backdated(inp, got.at))
    rec.notify("warning_proposed", f"{what}：{s.report.title}", to, {"lift": inp.lift, "proposal": inp.proposal})
    return f"{what}已发送{'、'.join(to)}（{'3.3' if inp.lift else '3.1'}）"


# ------------------------------------------------------------------ issue_warning (3.3)

def check_issue(s, inp: m.IssueWarning, at, now) -> Checked:
    known = [a.id for a in s.plan.warning_actions]
    for a in inp.actions_done:
        if a not in known:
            raise Refused(f"没有预警行动“{a}”：预警行动（3.2）是{'、'.join(x.name for x in s.plan.warning_actions)}", "invalid")
    _issued_by(s, inp, "预警")
    return Checked(at)


def apply_issue(rec, inp: m.IssueWarning, got: Checked, _prepared) -> str:
    s, at = rec.s, got.at
    items = [{"id": a.id, "name": a.name, "source": a.source, "done": a.id in inp.actions_done}
             for a in s.plan.warning_actions]
    issuer, recipients = _issuer(s, inp)
    s.warning = {"at": at.isoformat(), "by": inp.by.model_dump(), "recommendation": inp.recommendation,
                 "actions": items, **issuer}
    rec.transition("issue_warning", at, inp, {"recommendation": short(inp.recommendation),
                                              "actions_done": inp.actions_done, **issuer})
    rec.notify("warning_issued", f"预警：{s.report.title}", recipients, {"recommendation": inp.recommendation, **issuer})
    return (f"已登记{inp.issued_by}发布的预警（{inp.document_number}，3.3），已通知{'、'.join(recipients)}；"
            "预警行动（3.2）见事件状态")


# ------------------------------------------------------------------ lift_warning (3.3)

def check_lift(s, inp: m.LiftWarning, at, now) -> Checked:
    _issued_by(s, inp, "预警解除")
    return Checked(at)


def apply_lift(rec, inp: m.LiftWarning, got: Checked, _prepared) -> str:
    s = rec.s
    s.outcome = "warning_lifted"
    issuer, recipients = _issuer(s, inp)
    rec.transition("lift_warning", got.at, inp, {"reason": short(inp.reason), **issuer})
    rec.notify("warning_lifted", f"预警解除：{s.report.title}", recipients, {"reason": inp.reason, **issuer})
    return f"已登记{inp.issued_by}解除预警（{inp.document_number}，3.3），事件结案"


ACTIONS = [
    ActionSpec(
        name="propose_warning", input=m.ProposeWarning, title="提出预警建议或预警解除建议", source="3.1、3.3",
        moves=({"trigger": "propose_warning", "source": ["reported", "warning"], "dest": None},),
        check=check_propose, apply=apply_propose,
        form=lambda plan, st, u: [F("proposal", "建议内容（3.1 预警信息发布建议；3.3 预警解除建议）", "textarea", True),
                                  F("lift", "提出预警解除建议（3.3）", "checkbox")],
        cli="propose-warning",
        cli_help="本局向市、省指挥部提出预警信息发布建议（3.1），或预警解除建议（3.3）。",
        cli_options=(O("--proposal", "proposal", help="本局的建议（文字）", required=True),
                     O("--lift", "lift", "flag", help="提出预警解除建议（3.3），而不是预警发布建议（3.1）",
                       default=False))),
    ActionSpec(
        name="issue_warning", input=m.IssueWarning, title="登记预警发布", source="3.3",
        moves=({"trigger": "issue_warning", "source": "reported", "dest": "warning"},),
        check=check_issue, apply=apply_issue,
        form=lambda plan, st, u: [
            F("issued_by", "发布机关（3.3 市人民政府或其授权的有关单位）", required=True),
            F("document_number", "发布文号", required=True),
            F("recommendation", "本局的预警信息发布建议（3.1）", "textarea"),
            F("actions_done", "已开展的预警行动（3.2）", "checks", options=tuple((a.id, a.name) for a in plan.warning.actions))],
        cli="warn",
        cli_help="登记市人民政府发布的预警（3.1–3.3）：写明发布机关和文号；"
                 "本局自己的建议用 propose-warning。",
        cli_options=(O("--recommendation", "recommendation", help="预警信息发布建议（3.1）", default=""),
                     O("--action", "actions_done", "many", help="已开展的预警行动（3.2，可重复）；随附预案中为："
                       "analysis（分析研判）、prevention（防范处置）、preparation（应急准备）、public_opinion（舆论引导）"),
                     *ISSUER_OPTIONS)),
    ActionSpec(
        name="lift_warning", input=m.LiftWarning, title="登记预警解除", source="3.3",
        moves=({"trigger": "lift_warning", "source": "warning", "dest": "closed"},),
        check=check_lift, apply=apply_lift,
        form=lambda plan, st, u: [F("issued_by", "解除预警的机关（3.3）", required=True),
                                  F("document_number", "解除文号", required=True),
                                  F("reason", "解除理由（3.3）", "textarea", True)],
        cli="lift-warning",
        cli_help="登记市人民政府解除预警（3.3）：事件以“预警解除”结案。",
        cli_options=(O("--reason", "reason", required=True, help="解除理由"), *ISSUER_OPTIONS)),
]
