"""Termination (4.4, 附件2 应急响应终止签报单): who signs, in which round, and when the
commander may approve.

A proposal opens a round (its number). Each signatory group's lead, as named at dispatch,
approves or rejects it; a sign-off names the round it answers, so a delayed or resent
sign-off from an earlier round is refused (update) or recorded as rejected (signal), never
counted in a round whose reason that lead has not read. Any rejection sends the incident
back on site; when all approve, the commander approves (指挥批示).
"""

from __future__ import annotations

from datetime import datetime

from plan.calendar import SHANGHAI
import plan.incident as plan_incident
import workflows.deadlines as deadlines
import workflows.levels as levels
import workflows.messages as m
from workflows.actions.common import known_group
from workflows.actions.form import FormField as F
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.timeline import short

KEEP_HISTORY = 60  # sign-offs kept in state: 20 rounds of three


def signatories(s: m.IncidentState) -> list[str]:
    return list(s.plan.termination.signatories)


def pending(s: m.IncidentState) -> list[str]:
    if s.stage != "termination_pending":
        return []
    return [g for g in signatories(s) if g not in s.signoffs]


def all_approved(s: m.IncidentState) -> bool:
    return s.round > 0 and not pending(s) and all(s.signoffs[g].decision == "approve" for g in signatories(s))


def open_round(s: m.IncidentState) -> str:
    t = s.termination or {}
    by = (t.get("proposed_by") or {}).get("name", "?")
    at = datetime.fromisoformat(t["proposed_at"]).isoformat(timespec="minutes") if t.get("proposed_at") else "?"
    return f"round {s.round} is open (proposed {at} by {by}: {t.get('reason', '')})"


# ------------------------------------------------------------------ propose_termination (4.4)

def check_propose(s, inp, at, now) -> Checked:
    return Checked(at)


def apply_propose(rec, inp: m.ProposeTermination, got: Checked, _prepared) -> str:
    s, at = rec.s, got.at
    s.round += 1
    s.signoffs = {}
    s.termination = {"round": s.round, "proposed_by": inp.by.model_dump(), "proposed_at": at.isoformat(),
                     "reason": inp.reason}
    entry = rec.transition("propose_termination", at, inp, {"reason": short(inp.reason), "round": s.round})
    rec.render("termination_form", entry.seq)  # with blanks to sign, for the meeting
    rec.notify("termination_proposed", f"应急响应终止签报（第{s.round}轮）：{s.report.title}",
               [f"{s.plan.groups.get(g, g)} {s.leads[g]}" for g in signatories(s)],
               {"reason": inp.reason, "round": s.round})
    return f"termination proposed (round {s.round}); waiting for {', '.join(pending(s))}"


# ------------------------------------------------------------------ sign_off (附件2)

def check_sign_off(s, inp: m.SignOff, at, now) -> Checked:
    known_group(s, inp.group)
    if inp.group not in signatories(s):
        raise Refused(f"{inp.group} does not sign termination: the signatories (附件2) are {', '.join(signatories(s))}",
                      "invalid")
    named = s.leads.get(inp.group)
    if inp.by.name != named:
        group = s.plan.groups.get(inp.group, inp.group)
        raise Refused(f"{inp.by.name}不是{group}组长：派遣时指定的{group}组长是{named}，只有该账号能为本组签署（附件2）",
                      "forbidden")
    if inp.lead.strip() != named:
        raise Refused(f"the {inp.group} lead named at dispatch is {named}, not {inp.lead.strip()}", "forbidden")
    if inp.round is None:
        raise Refused(f"say which round you sign (--round): {open_round(s)}", "invalid")
    if inp.round != s.round:
        raise Refused(f"round {inp.round} is no longer open; {open_round(s)}")
    done = s.signoffs.get(inp.group)
    if done:
        raise Refused(f"{inp.group} already signed in round {s.round} ({done.decision}, "
                      f"{done.at.isoformat(timespec='minutes')})")
    if inp.decision == "reject" and not inp.opinion.strip():
        raise Refused("a rejection needs an opinion: say why the response should go on", "invalid")
    return Checked(at)


def apply_sign_off(rec, inp: m.SignOff, got: Checked, _prepared) -> str:
    s, at = rec.s, got.at
    entry = m.SignOffRecord(round=s.round, group=inp.group, lead=inp.lead.strip(), decision=inp.decision,
                            opinion=inp.opinion, at=at, by=inp.by)
    s.signoffs[inp.group] = entry
    s.signoff_history.append(entry)
    del s.signoff_history[:-KEEP_HISTORY]  # bounded state: the archive's timeline keeps every one
    detail = {"group": inp.group, "lead": entry.lead, "decision": inp.decision,
              "opinion": short(inp.opinion), "round": s.round}
    group_name = s.plan.groups.get(inp.group, inp.group)
    if inp.decision == "reject":
        rec.transition("reject_termination", at, inp, detail, action="sign_off")
        rec.notify("termination_rejected", f"终止签报被{group_name}否决：{s.report.title}", [s.plan.commander], detail)
        return f"{inp.group} rejected termination (round {entry.round}); back on site: {short(inp.opinion)}"
    rec.transition("sign_off", at, inp, detail)
    waiting = pending(s)
    if waiting:
        return f"{inp.group} approved round {entry.round}; waiting for {', '.join(waiting)}"
    rec.notify("termination_ready", f"三组组长均已同意终止，请指挥批示：{s.report.title}", [s.plan.commander], {"round": s.round})
    return f"{inp.group} approved round {entry.round}; all signatories approved, waiting for the commander"


def _sign_off_form(plan, st, username) -> list[F]:
    groups = {g.id: g.name for g in plan.groups}
    return [F("group", "签署的工作组", "select", True,
              tuple((g, groups.get(g, g)) for g in st.get("pending_signoffs", [])
                    if (st.get("leads") or {}).get(g) == username)),
            F("decision", "意见", "select", True, (("approve", "同意终止"), ("reject", "不同意，继续处置"))),
            F("opinion", "意见说明（不同意时必填）", "textarea"),
            # The round the lead read on this page: a sign-off for a round that is no longer
            # open is refused, so a page left open across rounds signs nothing.
            F("round", "签署轮次", "hidden", True, value=str(st.get("round") or ""))]


# ------------------------------------------------------------------ approve_termination (附件2 指挥批示, 4.4)

def check_follow_up(s: m.IncidentState, inp, at: datetime) -> None:
    """4.4: the decision on follow-up monitoring: with the approval (incidents recorded before
    issue 24 must), or after termination as its own act (decide_follow_up)."""
    t = s.plan.termination
    src = t.follow_up_source or "4.4"
    f = inp.follow_up
    if f is None and s.levels_split:  # 4.4 应急状态终止后…决定: its own act after termination (decide_follow_up)
        return
    if f is None:
        who = t.follow_up_decided_by or "市应急指挥部"
        raise Refused(f"批示终止时登记是否继续跟踪监测（follow_up：是否继续、由谁决定、至何时），由{who}决定（{src}）", "invalid")
    if f.continue_monitoring and f.until is None:
        raise Refused(f"继续跟踪监测须写明至何时（follow_up.until）（{src}）", "invalid")
    if not f.continue_monitoring and f.until is not None:
        raise Refused("不继续跟踪监测时不写截止日期（follow_up.until）", "invalid")
    approved_on = at.astimezone(SHANGHAI).date()
    if f.until is not None and f.until < approved_on:
        raise Refused(f"跟踪监测至 {f.until.isoformat()}，早于批示终止之日 {approved_on.isoformat()}（follow_up.until）", "invalid")


def check_approve(s, inp: m.ApproveTermination, at, now) -> Checked:
    waiting = pending(s)
    if waiting:
        who = ", ".join(f"{g} ({s.leads.get(g)})" for g in waiting)
        raise Refused(f"waiting for sign-off from {who}: the commander approves after all three")
    last = max((x.at for x in s.signoffs.values()), default=None)
    if last is not None and at < last:
        raise Refused(f"at {at.isoformat(timespec='minutes')} is before the last sign-off of round {s.round} "
                      f"({last.isoformat(timespec='minutes')}): the commander approves after the leads have signed "
                      "(附件2)", "invalid")
    plan = s.plan
    check_follow_up(s, inp, at)
    if plan.approver_people and inp.by.name not in plan.approver_people:
        raise Refused(f"{inp.by.name} is not named in the plan as commander or deputy", "forbidden")
    if s.city_started and plan.termination.city_decides_when_city_started and not (inp.city_decision or "").strip():
        raise Refused("the city government started the response, so the city headquarters decides termination "
                      "(4.4): record its decision (who decided, and what) with city_decision", "invalid")
    return Checked(at)


def starts_post_event(s, inp, got: Checked) -> list:
    return [(n, got.at, levels.for_deadline(s, n)) for n in deadlines.started_on(s, "response_terminated")]


def apply_approve(rec, inp: m.ApproveTermination, got: Checked, prepared: dict) -> str:
    s, at = rec.s, got.at
    s.termination.update({"approved_by": inp.by.model_dump(), "approved_at": at.isoformat(),
                          "instruction": inp.instruction, "city_decision": inp.city_decision})
    detail = {"instruction": short(inp.instruction), "city_decision": short(inp.city_decision), "round": s.round}
    if inp.follow_up is not None:  # 4.4 跟踪监测
        s.termination["follow_up"] = detail["follow_up"] = inp.follow_up.model_dump(mode="json")
    entry = rec.transition("approve_termination", at, inp, detail)
    rec.event("response_terminated", at, entry)
    if "stuck_after" in prepared:
        s.stuck_after, s.stuck_key = prepared["stuck_after"], s.stage_entries
    t = s.termination
    rec.document("termination_form", {
        "plan_title": s.plan.title, "proposed_by": str(plan_incident.Actor(**t["proposed_by"])),
        "proposed_at": t["proposed_at"], "reason": t["reason"], "condition": s.plan.termination.condition,
        "round": s.round,
        "signoffs": [{**s.signoffs[g].model_dump(mode="json"), "group_name": s.plan.groups.get(g, g)}
                     for g in signatories(s)],
        "instruction": inp.instruction, "approved_by": str(inp.by), "approved_at": at.isoformat(),
        "city_decision": inp.city_decision,
        **({"follow_up": detail["follow_up"]} if "follow_up" in detail else {})}, entry.seq)
    rec.render("termination_form", entry.seq)
    rec.notify("response_terminated", f"应急响应终止：{s.report.title}",
               s.plan.report_recipients + [s.plan.groups.get(g, g) for g in s.leads], {"instruction": inp.instruction})
    notes = rec.start_deadlines(starts_post_event(s, inp, got), prepared)
    return "termination approved; post-event handling (5.x) begins" + notes


def _approve_form(plan, st, username) -> list[F]:
    return [F("instruction", "指挥批示（附件2）", "textarea"),
            F("follow_up.continue_monitoring", "是否继续跟踪监测（4.4；也可在终止后另行登记）", "select", False,
              (("", "请选择"), ("false", "不继续跟踪监测"), ("true", "继续跟踪监测"))),
            F("follow_up.decided_by", f"决定单位（4.4，{plan.termination.follow_up_decided_by or '市应急指挥部'}）"),
            F("follow_up.until", "继续跟踪监测至（日期）", "date"),
            F("city_decision", "市指挥部的决定（市政府启动响应时必填，4.4）", "textarea")]


ACTIONS = [
    ActionSpec(
        name="propose_termination", input=m.ProposeTermination, title="提出终止响应建议", source="4.4",
        moves=({"trigger": "propose_termination", "source": "on_site", "dest": "termination_pending"},),
        check=check_propose, apply=apply_propose,
        form=lambda plan, st, u: [F("reason", "终止建议理由（4.4）", "textarea", True)],
        cli="propose-termination", cli_help="Propose ending the response (4.4); the three group leads then sign 附件2.",
        cli_options=(O("--reason", "reason", required=True),)),
    ActionSpec(
        name="sign_off", input=m.SignOff, title="签署终止签报", source="附件2",
        moves=({"trigger": "sign_off", "source": "termination_pending", "dest": None},
               {"trigger": "reject_termination", "source": "termination_pending", "dest": "on_site"}),
        check=check_sign_off, apply=apply_sign_off, form=_sign_off_form, signal=True, account_fills=("lead",),
        cli="sign-off", cli_help="Sign the termination form (附件2) for your group: approve, or --reject with an opinion.",
        cli_options=(O("--group", "group", required=True, help="monitoring | disposal | investigation"),
                     O("--lead", "lead", "lead", required=True, help="your name, as named at dispatch (and --by's default)"),
                     O("--round", "round", "int", help="the termination round you sign (status shows the open one)"),
                     O("--reject", "decision", "flag", help="refuse termination (give --opinion)", value="reject",
                       default="approve"),
                     O("--opinion", "opinion", default=""),
                     O("--no-wait", "", "no_wait", help="send as a signal and return at once"))),
    ActionSpec(
        name="approve_termination", input=m.ApproveTermination, title="批示终止响应", source="4.4、附件2",
        moves=({"trigger": "approve_termination", "source": "termination_pending", "dest": "post_event",
                "conditions": ["all_signatories_approved"]},),
        guards={"all_signatories_approved": all_approved},
        check=check_approve, apply=apply_approve, starts=starts_post_event, form=_approve_form,
        cli="approve-termination",
        cli_help="The commander approves termination (附件2 指挥批示) → post_event, recording the decision on "
                 "follow-up monitoring (4.4).",
        cli_options=(O("--instruction", "instruction", help="指挥批示", default=""),
                     O("--city-decision", "city_decision", help="who at the city HQ decided, and what (4.4)"),
                     O("--follow-up", "follow_up.continue_monitoring", "choice", value=("continue", "stop"),
                       help="continue | stop: follow-up monitoring after termination (4.4)"),
                     O("--follow-up-by", "follow_up.decided_by", help="who decided it (4.4: 市应急指挥部会同专家组)"),
                     O("--follow-up-until", "follow_up.until", "date", help="YYYY-MM-DD: until when monitoring continues"))),
]
