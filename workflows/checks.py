"""What an incident refuses, and why: the validators of every human action, as functions of
the incident's state.

Each check returns the business time of the action (and what else it worked out) or raises
`Refused` with a sentence for the person who sent it. The workflow runs the same check in
the Update's validator (a refusal leaves no trace in history) and again, under its lock,
right before it applies the action (state may have moved in between): an action is applied
whole or refused whole.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio.exceptions import ApplicationError

import plan.duties as plan_duties
from plan.calendar import SHANGHAI
from plan import authority
from plan.models import Level
import workflows.messages as m
import workflows.reporting as reporting
from workflows import linkage, termination
from workflows.lifecycle import Lifecycle

FUTURE_TOLERANCE = timedelta(minutes=5)
# An action entered more than this long after it happened needs a reason (补录说明), so that a
# late entry with an early `at` cannot quietly turn an overdue deadline into "met".
BACKDATE_LIMIT = timedelta(hours=1)

ACTION_NAMES = {
    "propose_warning": "propose a warning or its lifting",
    "issue_warning": "issue a warning", "lift_warning": "lift the warning",
    "activate_response": "activate a response", "adjust_level": "adjust the level",
    "record_city_started": "record that the city started its response",
    "dispatch": "dispatch the groups", "submit_report": "submit a report",
    "propose_termination": "propose termination", "sign_off": "sign off termination",
    "approve_termination": "approve termination", "record_aftercare": "record aftercare",
    "complete_investigation": "complete the investigation",
    "assessment_review_passed": "record the assessment review",
    "submit_assessment_report": "submit the assessment report", "close": "close the incident",
    "recompute_deadlines": "recompute deadlines",
    "record_cross_boundary": "record a cross-boundary incident", "request_support": "request support (商请)",
    "answer_support": "record a support answer", "record_joint_investigation": "record the joint investigation group",
    "record_other_termination": "record the end of the response by the body that led it",
    "record_other_act": "record another body's act",
    "record_circumstances": "record special circumstances (17号令 第四条)",
}


class Refused(ApplicationError):
    """A human input refused by a validator: the message is for the person who sent it."""

    def __init__(self, message: str):
        super().__init__(message, type="Refused", non_retryable=True)


class NextRun(ApplicationError):
    """The incident is moving to its next run (continue-as-new): an action arriving now is
    refused unapplied, and the client sends it again (ecoplan.api.act does, at once). Without
    this, a steady stream of actions could keep a run from ending past the server's limit of
    updates per run."""

    MESSAGE = "the incident is starting its next run (continue-as-new); nothing was applied: send the action again"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, type="NextRun", non_retryable=True)


def fmt(t: datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat(timespec="minutes")


def common(s: m.IncidentState, lc: Lifecycle, trigger: str, inp: m.Action, now: datetime) -> datetime:
    """Checks every action shares; returns the business time of the action."""
    if s.outcome is not None:
        raise Refused(f"incident {s.incident_id} is closed ({s.outcome}); no further actions")
    if not lc.allowed(trigger):
        where = ", ".join(lc.stages_for(trigger))
        raise Refused(f"cannot {ACTION_NAMES[trigger]} in stage {s.stage}: only in {where}")
    at = (inp.at or now).astimezone(SHANGHAI)
    if at > now + FUTURE_TOLERANCE:
        raise Refused(f"at {fmt(at)} is in the future (more than 5 minutes ahead of {fmt(now)})")
    if at < s.report.discovered_at:
        raise Refused(f"at {fmt(at)} is before the incident was discovered ({fmt(s.report.discovered_at)})")
    if now - at > BACKDATE_LIMIT and not (inp.backdate_reason or "").strip():
        raise Refused(f"at {fmt(at)} is more than 1 hour before now ({fmt(now)}): give the reason for the "
                      "late entry (补录说明) with --backdate-reason (backdate_reason)")
    allowed(s, trigger, inp.by)
    return at


def allowed(s: m.IncidentState, trigger: str, by) -> None:
    """Who acts: the pinned plan's authority table decides."""
    if not by.accountable:
        raise Refused(f"{by.name}（{by.role}）未写明预案角色（role_id）和认证途径（via）：本事件的每项操作都按预案权限表核对办理人")
    spec = authority.role(by.role_id, s.plan)
    if spec is None:
        raise Refused(f"未知角色 {by.role_id!r}：本预案的角色是{'、'.join(r.id for r in s.plan.roles)}")
    if by.role != spec.name:
        raise Refused(f"角色不符：{by.role_id} 在本预案中称为{spec.name}，不是{by.role}")
    why = authority.may(by.role_id, authority.action_of(trigger, by.via), is_named_lead=True, plan=s.plan)
    if why:
        raise Refused(why)


def approver(s: m.IncidentState, action: str, inp) -> "m.Actor":
    """The account that approved an act needing approval (附件1: activation 经总指挥批准): the
    actor when its role may approve, else the approver it names."""
    r = authority.rule(action, s.plan)
    if r is None or not r.approver_roles:
        return inp.by
    post = r.approver_post or "、".join(x.name for x in s.plan.roles if x.id in r.approver_roles)
    named = inp.approver
    if named is None:
        if inp.by.role_id in r.approver_roles:
            if inp.approved_by and inp.approved_by.strip() not in (inp.by.name, inp.by.display):
                raise Refused(f"「{r.name}」由{inp.by.name}本人批准时不另写批准人；由{inp.approved_by.strip()}批准的，"
                              f"以其账号写明批准人（approver）（{authority.why(r)}）")
            return inp.by
        raise Refused(f"「{r.name}」须经{post}批准：请写明批准的{post}账号（approver）（{authority.why(r)}）")
    # The approver is named by the actor (the approval was given in person or by phone), so
    # it carries the plan role it approved in, not how it logged in.
    if named.role_id not in r.approver_roles:
        spec = authority.role(named.role_id, s.plan) if named.role_id else None
        raise Refused(f"{named.name}（{spec.name if spec else named.role}）不能批准「{r.name}」：须经{post}批准"
                      f"（{authority.why(r)}）")
    spec = authority.role(named.role_id, s.plan)
    if spec is not None and named.role != spec.name:
        raise Refused(f"批准人角色不符：{named.role_id} 在本预案中称为{spec.name}，不是{named.role}")
    return named


def known_group(s: m.IncidentState, gid: str) -> None:
    if gid not in s.plan.groups:
        raise Refused(f"unknown group {gid!r}: the groups are {', '.join(s.plan.groups)}")


# ------------------------------------------------------------------ per action
# Each takes (state, lifecycle, input, now) and returns what the action needs.


def issued_by(s: m.IncidentState, inp, what: str) -> None:
    """A warning is the city government's act (3.3): the bureau records who issued or lifted
    it and under which document, never issues it itself."""
    w = s.plan.warning
    who = w.issued_by if w and w.issued_by else "市人民政府或其授权的有关单位"
    src = w.source if w else "3.3"
    if not (inp.issued_by or "").strip() or not (inp.document_number or "").strip():
        raise Refused(f"{what}由{who}发布，本局只作登记：请写明发布机关（issued_by）和文号（document_number）（{src}）")


def propose_warning(s, lc, inp: m.ProposeWarning, now):
    at = common(s, lc, "propose_warning", inp, now)
    if inp.lift and s.stage != "warning":
        raise Refused("没有已发布的预警，无需提出解除建议（3.3）")
    return at


def issue_warning(s, lc, inp: m.IssueWarning, now):
    at = common(s, lc, "issue_warning", inp, now)
    known = [a.id for a in s.plan.warning_actions]
    for a in inp.actions_done:
        if a not in known:
            raise Refused(f"unknown warning action {a!r}: the actions (3.2) are {', '.join(known)}")
    issued_by(s, inp, "预警")
    return at


def lift_warning(s, lc, inp: m.LiftWarning, now):
    at = common(s, lc, "lift_warning", inp, now)
    issued_by(s, inp, "预警解除")
    return at


def activate_response(s, lc, inp: m.ActivateResponse, now) -> tuple[datetime, Level]:
    at = common(s, lc, "activate_response", inp, now)
    graded = s.grading.level
    level = inp.level or graded
    if level != graded and not (inp.reason or "").strip():
        raise Refused(f"level {level.value} differs from the graded level {graded.value}: give a reason (4.1.5)")
    approver(s, "activate_response", inp)
    return at, level


def record_city_started(s, lc, inp, now):
    at = common(s, lc, "record_city_started", inp, now)
    if s.city_started:
        raise Refused("already recorded: the city government started its response")
    return at


def adjust_level(s, lc, inp: m.AdjustLevel, now):
    at = common(s, lc, "adjust_level", inp, now)
    if inp.level == s.level:
        raise Refused(f"the response is already at level {inp.level.value}")
    return at


def dispatch(s, lc, inp: m.Dispatch, now):
    at = common(s, lc, "dispatch", inp, now)
    for g in inp.leads:
        known_group(s, g)
    signatories = termination.signatories(s)
    missing = [g for g in signatories if g not in inp.leads]
    if missing:
        raise Refused(f"name the lead of {', '.join(missing)}: {', '.join(signatories)} must be dispatched "
                      "(they sign termination, 附件2)")
    return at


def submit_report(s, lc, inp: m.SubmitReport, now) -> tuple[datetime, dict]:
    at = common(s, lc, "submit_report", inp, now)
    if inp.kind == "initial" and "initial_report_submitted" in s.events:
        raise Refused(f"the initial report (初报) was made at {fmt(s.events['initial_report_submitted'])}; "
                      "send a progress report (续报) instead")
    if inp.circumstances:
        known_circumstances(s, inp.circumstances)
    head, missing = reporting.header(s, inp)
    if missing:
        what = ", ".join(f"{reporting.HEADER_NAMES[f]} ({f}, {reporting.HEADER_FLAGS[f]})" for f in missing)
        raise Refused(f"a written report names its reporting unit, 签发人, contact person and number "
                      f"(17号令 第十四条); missing: {what}")
    return at, head


def known_circumstances(s, ids: list[str]) -> None:
    r = reporting.rules(s)
    if r is None or r.special_circumstances is None:
        raise Refused("this incident runs on the reporting rules it began with, which have no special "
                      "circumstances (17号令 第四条); describe them in the report's text")
    allowed = [c.id for c in r.special_circumstances.items]
    for c in ids:
        if c not in allowed:
            raise Refused(f"unknown circumstance {c!r}: the plan's are {', '.join(allowed)}")


def record_circumstances(s, lc, inp: m.RecordCircumstances, now):
    at = common(s, lc, "record_circumstances", inp, now)
    if not inp.circumstances:
        raise Refused("name at least one circumstance (17号令 第四条)")
    known_circumstances(s, inp.circumstances)
    recorded = {c["id"] for c in s.circumstances}
    if all(c in recorded for c in inp.circumstances):
        raise Refused(f"already recorded: {', '.join(inp.circumstances)}")
    return at


def sign_off(s, lc, inp: m.SignOff, now):
    at = common(s, lc, "sign_off", inp, now)
    termination.check_sign_off(s, inp)
    return at


def approve_termination(s, lc, inp: m.ApproveTermination, now):
    at = common(s, lc, "approve_termination", inp, now)
    termination.check_approval(s, inp, at)
    return at


def level_of(s: m.IncidentState) -> Level:
    return s.level or s.grading.level


def duty(s: m.IncidentState, step: str):
    """The step's duty at the incident's level (plan duties)."""
    return plan_duties.duty(s.plan.duties, level_of(s), step)


def _not_others(s, step: str, how: str):
    d = duty(s, step)
    if d.mode not in ("records", "assists"):
        raise Refused(f"{plan_duties.describe(d, level_of(s))}: {how}")
    return d


def _others_not_own(s, step: str, how: str) -> None:
    d = duty(s, step)
    if d.mode in ("records", "assists"):
        raise Refused(f"{plan_duties.describe(d, level_of(s))}: {how}")


def complete_investigation(s, lc, inp, now):
    at = common(s, lc, "complete_investigation", inp, now)
    if duty(s, "investigation").mode == "records":
        _others_not_own(s, "investigation", "record it with record_other_act (step investigation, body, document; "
                          "ecoplan record-other --step investigation --document ...)")
    if "investigation_completed" in s.events:
        raise Refused(f"the investigation was completed at {fmt(s.events['investigation_completed'])}")
    return at


def assessment_review_passed(s, lc, inp: m.AssessmentReviewPassed, now) -> tuple[datetime, date]:
    at = common(s, lc, "assessment_review_passed", inp, now)
    if s.review_date is not None:
        raise Refused(f"the assessment already passed review on {s.review_date}")
    review_date = inp.review_date or at.astimezone(SHANGHAI).date()
    if review_date > now.astimezone(SHANGHAI).date():
        raise Refused(f"review date {review_date} is in the future")
    if review_date < s.report.discovered_at.astimezone(SHANGHAI).date():
        raise Refused(f"review date {review_date} is before the incident was discovered")
    return at, review_date


def submit_assessment_report(s, lc, inp: m.SubmitAssessmentReport, now) -> tuple[datetime, list[str]]:
    at = common(s, lc, "submit_assessment_report", inp, now)
    if s.review_date is None:
        raise Refused("the assessment report has not passed review yet: record review-passed first (5.3)")
    if "assessment_report_submitted" in s.events:
        raise Refused(f"the assessment report was submitted at {fmt(s.events['assessment_report_submitted'])}")
    required = s.plan.assessment_report_recipients
    recipients = inp.recipients or required
    missing = [r for r in required if r not in recipients]
    if missing:
        raise Refused(f"the assessment report goes to {'、'.join(required)} (5.3); missing: {'、'.join(missing)}")
    return at, recipients


def close(s, lc, inp, now):
    at = common(s, lc, "close", inp, now)
    missing = close_missing(s)
    r = reporting.rules(s)
    # The 处理结果报告: where the reporting rules ask for it and the level's duties make it the bureau's.
    if (r is not None and r.final_report_needed(s.level) and duty(s, "final_report").mode == "performs"
            and not s.reports_count.get("final")):
        missing.append(f"the 处理结果报告 (final report) is not submitted ({r.final_report_required.source.split(':')[0]})")
    if missing:
        raise Refused("cannot close yet: " + "; ".join(missing))
    return at


# What meets each post-event step the bureau performs (or records as another body's act).
STEP_DONE = {"investigation": "investigation_completed", "assessment": "assessment_report_submitted"}
STEP_MISSING = {"investigation": "the investigation is not complete (5.2)",
                "assessment": "the assessment report is not submitted (5.3)"}


def step_done(s: m.IncidentState, step: str) -> bool:
    if step in s.other_acts:
        return True
    if step == "dispatch":
        return "dispatched" in s.events
    if step == "termination":
        return "response_terminated" in s.events
    if step == "aftercare":
        return bool(s.aftercare)
    if step == "final_report":
        return s.reports_count.get("final", 0) > 0
    return STEP_DONE[step] in s.events


def close_missing(s: m.IncidentState) -> list[str]:
    """The post-event steps close waits for at the incident's level (plan duties): the bureau's own
    (performs) and other bodies' acts it must record (records). The final report (处理结果报告) is
    left to the reporting rules: plan.duties.final_report_required says whether a level needs it."""
    out = []
    for step in ("investigation", "assessment"):
        d = duty(s, step)
        if d.mode == "performs" and not step_done(s, step):
            out.append(STEP_MISSING[step])
        elif d.mode == "records" and not step_done(s, step):
            out.append(f"{plan_duties.describe(d, level_of(s))} is not recorded yet")
    return out


def duties_view(s: m.IncidentState) -> list[dict]:
    """What `status` shows: at the incident's level, whose act each step is, its source, and
    whether it is done (by the bureau) or recorded (as another body's act)."""
    if s.plan is None:
        return []
    level = level_of(s)
    out = []
    for step in plan_duties.DUTY_STEPS:
        d = duty(s, step)
        other = s.other_acts.get(step)
        out.append({"step": step, "name": plan_duties.STEP_NAMES[step], "mode": d.mode, "body": d.body,
                    "source": d.source, "level": level.value,
                    "needed_to_close": step in STEP_DONE and d.mode in plan_duties.NEEDED,
                    "done": step_done(s, step), "recorded_as_other": other})
    return out


def record_other_termination(s, lc, inp: m.RecordOtherTermination, now) -> tuple[datetime, str]:
    at = common(s, lc, "record_other_termination", inp, now)
    d = duty(s, "termination")
    if d.mode != "records":
        raise Refused(f"{plan_duties.describe(d, level_of(s))}: propose termination and have it signed (附件2)")
    return at, (inp.body or d.body).strip()


def record_other_act(s, lc, inp: m.RecordOtherAct, now) -> tuple[datetime, str]:
    at = common(s, lc, "record_other_act", inp, now)
    own = {"investigation": "complete_investigation", "assessment": "assessment_review_passed and "
           "submit_assessment_report", "aftercare": "record_aftercare"}[inp.step]
    d = _not_others(s, inp.step, f"record it with {own}")
    done = s.other_acts.get(inp.step)
    if done:
        raise Refused(f"{inp.step} was already recorded as {done['body']}'s act ({done['document']}, {done['at'][:16]})")
    return at, (inp.body or d.body).strip()


def recompute_deadlines(s, lc, inp, now):
    at = common(s, lc, "recompute_deadlines", inp, now)
    if not any(d.due_at is None or (d.provisional and d.status in ("pending", "overdue")) for d in s.deadlines):
        raise Refused("no deadline has a provisional or missing due date: nothing to recompute")
    return at


def record_cross_boundary(s, lc, inp: m.RecordCrossBoundary, now):
    at = common(s, lc, "record_cross_boundary", inp, now)
    order = ["county_dispute", "city", "province"]
    current = s.linkage.get("cross_boundary")
    if current is not None and order.index(inp.scope) <= order.index(current):
        raise Refused(f"already recorded as cross-boundary ({current}); only a wider scope can be added")
    return at


def request_support(s, lc, inp: m.RequestSupport, now):
    at = common(s, lc, "request_support", inp, now)
    lk = s.plan.linkage
    partners = {p.id: p.name for p in lk.partners} if lk else {}
    if inp.partner not in partners:
        raise Refused(f"unknown partner {inp.partner!r}: the plan's linkage partners are {', '.join(partners) or 'none'}")
    return at


def answer_support(s, lc, inp: m.SupportAnswer, now):
    at = common(s, lc, "answer_support", inp, now)
    req = linkage.find_request(s, inp.request_no)
    if req is None:
        made = s.linkage.get("support_requests_made", len(s.linkage.get("support_requests", [])))
        raise Refused(f"no support request no. {inp.request_no} (there are {made})")
    if req["answer"]:
        raise Refused(f"support request no. {inp.request_no} was already answered")
    return at


def record_joint_investigation(s, lc, inp: m.RecordJointInvestigation, now):
    at = common(s, lc, "record_joint_investigation", inp, now)
    if not s.linkage.get("fire_engaged"):
        raise Refused("the fire brigade was not engaged in this incident; a joint investigation group "
                      "(协议 二.5) is formed when it was")
    if s.linkage.get("joint_investigation"):
        raise Refused("the joint investigation group is already recorded")
    if not inp.members:
        raise Refused("name the members of the joint investigation group")
    return at


def _plain(trigger: str):
    def check(s, lc, inp, now):
        return common(s, lc, trigger, inp, now)
    return check


CHECKS = {
    "propose_warning": propose_warning, "issue_warning": issue_warning, "lift_warning": lift_warning,
    "activate_response": activate_response, "record_city_started": record_city_started,
    "adjust_level": adjust_level, "dispatch": dispatch, "submit_report": submit_report,
    "propose_termination": _plain("propose_termination"), "sign_off": sign_off,
    "approve_termination": approve_termination, "record_aftercare": _plain("record_aftercare"),
    "complete_investigation": complete_investigation, "assessment_review_passed": assessment_review_passed,
    "submit_assessment_report": submit_assessment_report, "close": close,
    "recompute_deadlines": recompute_deadlines, "record_cross_boundary": record_cross_boundary,
    "request_support": request_support, "answer_support": answer_support,
    "record_joint_investigation": record_joint_investigation,
    "record_other_termination": record_other_termination, "record_other_act": record_other_act,
    "record_circumstances": record_circumstances,
}
