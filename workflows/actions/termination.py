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


DECISIONS = {"approve": "同意", "reject": "不同意"}


def _names(s: m.IncidentState, groups) -> str:
    return "、".join(s.plan.groups.get(g, g) for g in groups)


def open_round(s: m.IncidentState) -> str:
    t = s.termination or {}
    p = t.get("proposed_by") or {}
    by = p.get("display") or p.get("name", "？")
    at = f"{datetime.fromisoformat(t['proposed_at']):%Y-%m-%d %H:%M}" if t.get("proposed_at") else "？"
    return f"正在签署第 {s.round} 轮（{by}于 {at} 提出：{t.get('reason', '')}）"


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
    return f"已提出终止建议（第 {s.round} 轮），等待{_names(s, pending(s))}组长签署"


# ------------------------------------------------------------------ sign_off (附件2)

def check_sign_off(s, inp: m.SignOff, at, now) -> Checked:
    known_group(s, inp.group)
    if inp.group not in signatories(s):
        raise Refused(f"{_names(s, [inp.group])}不签署终止签报：签署的是{_names(s, signatories(s))}（附件2）",
                      "invalid")
    named = s.leads.get(inp.group)
    if inp.by.name != named:
        group = s.plan.groups.get(inp.group, inp.group)
        raise Refused(f"{inp.by.name}不是{group}组长：派遣时指定的{group}组长是{named}，只有该账号能为本组签署（附件2）",
                      "forbidden")
    if inp.lead.strip() != named:
        raise Refused(f"派遣时指定的{_names(s, [inp.group])}组长是{named}，不是{inp.lead.strip()}", "forbidden")
    if inp.round is None:
        raise Refused(f"请写明签署的轮次：{open_round(s)}", "invalid")
    if inp.round != s.round:
        raise Refused(f"第 {inp.round} 轮已不在签署中；{open_round(s)}")
    done = s.signoffs.get(inp.group)
    if done:
        raise Refused(f"{_names(s, [inp.group])}已签署第 {s.round} 轮（{DECISIONS[done.decision]}，"
                      f"{done.at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）")
    if inp.decision == "reject" and not inp.opinion.strip():
        raise Refused("不同意终止时须填写意见说明：说明为何应继续处置", "invalid", "opinion")
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
        return f"{group_name}不同意终止（第 {entry.round} 轮），回到现场处置：{short(inp.opinion)}"
    rec.transition("sign_off", at, inp, detail)
    waiting = pending(s)
    if waiting:
        return f"{group_name}同意终止（第 {entry.round} 轮），等待{_names(s, waiting)}组长签署"
    rec.notify("termination_ready", f"三组组长均已同意终止，请指挥批示：{s.report.title}", [s.plan.commander], {"round": s.round})
    return f"{group_name}同意终止（第 {entry.round} 轮）：各组组长均已同意，等待指挥批示"


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
        raise Refused(f"批示终止时登记是否继续跟踪监测（是否继续、由谁决定、至何时），由{who}决定（{src}）", "invalid",
                      "follow_up.continue_monitoring")
    if f.continue_monitoring and f.until is None:
        raise Refused(f"继续跟踪监测须写明至何时（{src}）", "invalid", "follow_up.until")
    if not f.continue_monitoring and f.until is not None:
        raise Refused("不继续跟踪监测时不写截止日期", "invalid", "follow_up.until")
    approved_on = at.astimezone(SHANGHAI).date()
    if f.until is not None and f.until < approved_on:
        raise Refused(f"跟踪监测至 {f.until.isoformat()}，早于批示终止之日 {approved_on.isoformat()}", "invalid",
                      "follow_up.until")


def check_approve(s, inp: m.ApproveTermination, at, now) -> Checked:
    waiting = pending(s)
    if waiting:
        who = "、".join(f"{s.plan.groups.get(g, g)}（{s.leads.get(g)}）" for g in waiting)
        raise Refused(f"尚待{who}签署：各组组长签署后，指挥方可批示")
    last = max((x.at for x in s.signoffs.values()), default=None)
    if last is not None and at < last:
        raise Refused(f"办理时间 {at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 早于第 {s.round} 轮最后一位组长签署的时间"
                      f"（{last.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）：指挥在各组组长签署后批示（附件2）", "invalid")
    plan = s.plan
    check_follow_up(s, inp, at)
    if plan.approver_people and inp.by.name not in plan.approver_people:
        raise Refused(f"{inp.by.name}不是本预案写明的指挥或副指挥", "forbidden")
    if s.city_started and plan.termination.city_decides_when_city_started and not (inp.city_decision or "").strip():
        raise Refused("市政府已启动响应，响应终止由市指挥部决定（4.4）：请填写市指挥部的决定（由谁决定、决定内容）", "invalid")
    return Checked(at)


def starts_post_event(s, inp, got: Checked) -> list:
    # An investigation the upper department took over (32号令 第四条第二款) runs no clock of the bureau's.
    taken = (s.investigation_transfer or {}).get("kind") == "taken_over"
    return [(n, got.at, levels.for_deadline(s, n)) for n in deadlines.started_on(s, "response_terminated")
            if not (taken and n == "investigation")]


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
    return "已批示终止应急响应，进入后期处置（5.x）" + notes


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
        cli="propose-termination", cli_help="提出终止响应建议（4.4），再由三个工作组组长签署附件2。",
        cli_options=(O("--reason", "reason", required=True, help="建议终止的理由"),)),
    ActionSpec(
        name="sign_off", input=m.SignOff, title="签署终止签报", source="附件2",
        moves=({"trigger": "sign_off", "source": "termination_pending", "dest": None},
               {"trigger": "reject_termination", "source": "termination_pending", "dest": "on_site"}),
        check=check_sign_off, apply=apply_sign_off, form=_sign_off_form, signal=True, account_fills=("lead",),
        cli="sign-off", cli_help="签署本组终止签报（附件2）：同意，或 --reject 附意见。",
        cli_options=(O("--group", "group", required=True, help="工作组：monitoring、disposal 或 investigation"),
                     O("--lead", "lead", "lead", required=True, help="组长本人姓名，与派出时指定的一致（也是 --by 的默认值）"),
                     O("--round", "round", "int", help="签署的终止签报轮次（status 显示当前一轮）"),
                     O("--reject", "decision", "flag", help="不同意终止（用 --opinion 写明意见）", value="reject",
                       default="approve"),
                     O("--opinion", "opinion", default="", help="意见"),
                     O("--no-wait", "", "no_wait", help="以信号发出，立即返回，不等办理结果"))),
    ActionSpec(
        name="approve_termination", input=m.ApproveTermination, title="批示终止响应", source="4.4、附件2",
        moves=({"trigger": "approve_termination", "source": "termination_pending", "dest": "post_event",
                "conditions": ["all_signatories_approved"]},),
        guards={"all_signatories_approved": all_approved},
        check=check_approve, apply=apply_approve, starts=starts_post_event, form=_approve_form,
        cli="approve-termination",
        cli_help="指挥批示终止响应（附件2 指挥批示），进入后期处置；"
                 "可同时登记是否继续跟踪监测（4.4）。",
        cli_options=(O("--instruction", "instruction", help="指挥批示", default=""),
                     O("--city-decision", "city_decision", help="市指挥部由谁作出何种决定（4.4）"),
                     O("--follow-up", "follow_up.continue_monitoring", "choice", value=("continue", "stop"),
                       help="终止后继续（continue）或停止（stop）跟踪监测（4.4）"),
                     O("--follow-up-by", "follow_up.decided_by", help="作出决定的单位（4.4：市应急指挥部会同专家组）"),
                     O("--follow-up-until", "follow_up.until", "date", help="跟踪监测持续到哪一天（年-月-日）"))),
]
