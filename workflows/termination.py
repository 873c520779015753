"""Termination (4.4, 附件2 应急响应终止签报单): who signs, in which round, and when the
commander may approve.

A proposal opens a round (its number). Each signatory group's lead, as named at dispatch,
approves or rejects it; a sign-off names the round it answers, so a delayed or resent
sign-off from an earlier round is refused (update) or recorded as rejected (signal), never
counted in a round whose reason that lead has not read. Any rejection sends the incident
back on site; when all approve, the commander approves (指挥批示).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import workflows.messages as m
from plan.calendar import SHANGHAI
import workflows.deadlines as deadlines
import workflows.filing as filing
import workflows.timeline as timeline
import plan.incident as plan_incident

KEEP_HISTORY = 60  # sign-offs kept in state: 20 rounds of three


def _refused(message: str):
    from workflows.checks import Refused  # checks imports this module

    return Refused(message)


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


def check_sign_off(s: m.IncidentState, inp: m.SignOff) -> None:
    from workflows.checks import known_group

    known_group(s, inp.group)
    if inp.group not in signatories(s):
        raise _refused(f"{inp.group} does not sign termination: the signatories (附件2) are {', '.join(signatories(s))}")
    if inp.round is None:
        raise _refused(f"say which round you sign (--round): {open_round(s)}")
    if inp.round != s.round:
        raise _refused(f"round {inp.round} is no longer open; {open_round(s)}")
    named = s.leads.get(inp.group)
    if inp.by.name != named:
        group = s.plan.groups.get(inp.group, inp.group)
        raise _refused(f"{inp.by.name}不是{group}组长：派遣时指定的{group}组长是{named}，只有该账号能为本组签署（附件2）")
    if inp.lead.strip() != named:
        raise _refused(f"the {inp.group} lead named at dispatch is {named}, not {inp.lead.strip()}")
    done = s.signoffs.get(inp.group)
    if done:
        raise _refused(f"{inp.group} already signed in round {s.round} ({done.decision}, "
                       f"{done.at.isoformat(timespec='minutes')})")
    if inp.decision == "reject" and not inp.opinion.strip():
        raise _refused("a rejection needs an opinion: say why the response should go on")


def check_approval(s: m.IncidentState, inp: m.ApproveTermination, at: datetime) -> None:
    waiting = pending(s)
    if waiting:
        who = ", ".join(f"{g} ({s.leads.get(g)})" for g in waiting)
        raise _refused(f"waiting for sign-off from {who}: the commander approves after all three")
    plan = s.plan
    check_follow_up(s, inp, at)
    if plan.approver_people and inp.by.name not in plan.approver_people:
        raise _refused(f"{inp.by.name} is not named in the plan as commander or deputy")
    if s.city_started and plan.termination.city_decides_when_city_started and not (inp.city_decision or "").strip():
        raise _refused("the city government started the response, so the city headquarters decides termination "
                       "(4.4): record its decision (who decided, and what) with city_decision")


def check_follow_up(s: m.IncidentState, inp: m.ApproveTermination, at: datetime) -> None:
    """4.4: the decision on follow-up monitoring is recorded with the approval."""
    t = s.plan.termination
    src = t.follow_up_source or "4.4"
    f = inp.follow_up
    if f is None:
        who = t.follow_up_decided_by or "市应急指挥部"
        raise _refused(f"批示终止时登记是否继续跟踪监测（follow_up：是否继续、由谁决定、至何时），由{who}决定（{src}）")
    if f.continue_monitoring and f.until is None:
        raise _refused(f"继续跟踪监测须写明至何时（follow_up.until）（{src}）")
    if not f.continue_monitoring and f.until is not None:
        raise _refused("不继续跟踪监测时不写截止日期（follow_up.until）")
    approved_on = at.astimezone(SHANGHAI).date()
    if f.until is not None and f.until < approved_on:
        raise _refused(f"跟踪监测至 {f.until.isoformat()}，早于批示终止之日 {approved_on.isoformat()}（follow_up.until）")


def propose(s: m.IncidentState, inp: m.ProposeTermination, at: datetime) -> None:
    s.round += 1
    s.signoffs = {}
    s.termination = {"round": s.round, "proposed_by": inp.by.model_dump(), "proposed_at": at.isoformat(),
                     "reason": inp.reason}


def record_sign_off(s: m.IncidentState, inp: m.SignOff, at: datetime) -> m.SignOffRecord:
    rec = m.SignOffRecord(round=s.round, group=inp.group, lead=inp.lead.strip(), decision=inp.decision,
                          opinion=inp.opinion, at=at, by=inp.by)
    s.signoffs[inp.group] = rec
    s.signoff_history.append(rec)
    del s.signoff_history[:-KEEP_HISTORY]  # bounded state: the archive's timeline keeps every one
    return rec


def approve(s: m.IncidentState, inp: m.ApproveTermination, at: datetime) -> None:
    s.termination.update({"approved_by": inp.by.model_dump(), "approved_at": at.isoformat(),
                          "instruction": inp.instruction, "city_decision": inp.city_decision})
    if inp.follow_up is not None:
        s.termination["follow_up"] = inp.follow_up.model_dump(mode="json")


def by_signal(wf, inp: m.SignOff) -> None:
    """A fire-and-forget sign-off (the `sign_off_signal`): checked like the update; an invalid
    or stale one is recorded as rejected with the sentence saying why (e.g. which round is
    open) and changes nothing else. While an update is between its checks and its change, the
    signal queues behind it and is checked again."""
    from workflows.checks import Refused

    def checked():
        try:
            return wf._check("sign_off", inp)
        except Refused as e:
            wf.record(inp.at or wf._now(), inp.by, "sign_off",
                      {"group": inp.group, "lead": inp.lead, "decision": inp.decision, "round": inp.round,
                       "reason": e.message, "via": "signal"}, rejected=True)
            return None

    if wf._lock.locked():
        async def later():
            async with wf._lock:
                at = checked()
                if at is not None:
                    wf._apply_sign_off(inp, at, {})

        asyncio.create_task(later())
        return
    at = checked()
    if at is not None:
        wf._apply_sign_off(inp, at, {})


class TerminationActions:
    """The termination actions, a mixin of IncidentWorkflow (the all-or-nothing step of each)."""

    def _apply_propose_termination(self, inp: m.ProposeTermination, at: datetime, _p) -> m.ActionResult:
        s = self.s
        propose(s, inp, at)
        entry = self.transition("propose_termination", at, inp, {"reason": timeline.short(inp.reason), "round": s.round})
        filing.render(self, "termination_form", entry.seq)  # with blanks to sign, for the meeting
        self.notify("termination_proposed", f"应急响应终止签报（第{s.round}轮）：{s.report.title}",
                    [f"{s.plan.groups.get(g, g)} {s.leads[g]}" for g in signatories(s)],
                    {"reason": inp.reason, "round": s.round})
        return self._result("propose_termination", f"termination proposed (round {s.round}); "
                                                   f"waiting for {', '.join(pending(s))}")

    def _apply_sign_off(self, inp: m.SignOff, at: datetime, _p) -> m.ActionResult:
        s = self.s
        rec = record_sign_off(s, inp, at)
        detail = {"group": inp.group, "lead": rec.lead, "decision": inp.decision,
                  "opinion": timeline.short(inp.opinion), "round": s.round}
        group_name = s.plan.groups.get(inp.group, inp.group)
        if inp.decision == "reject":
            self.transition("reject_termination", at, inp, detail, action="sign_off")
            self.notify("termination_rejected", f"终止签报被{group_name}否决：{s.report.title}",
                        [s.plan.commander], detail)
            return self._result("sign_off", f"{inp.group} rejected termination (round {rec.round}); back on site: "
                                            f"{timeline.short(inp.opinion)}")
        self.transition("sign_off", at, inp, detail)
        waiting = pending(s)
        if waiting:
            return self._result("sign_off", f"{inp.group} approved round {rec.round}; waiting for {', '.join(waiting)}")
        self.notify("termination_ready", f"三组组长均已同意终止，请指挥批示：{s.report.title}",
                    [s.plan.commander], {"round": s.round})
        return self._result("sign_off", f"{inp.group} approved round {rec.round}; all signatories approved, "
                                        "waiting for the commander")

    def _apply_approve_termination(self, inp: m.ApproveTermination, at: datetime, prepared: dict) -> m.ActionResult:
        s = self.s
        approve(s, inp, at)
        detail = {"instruction": timeline.short(inp.instruction),
                  "city_decision": timeline.short(inp.city_decision), "round": s.round}
        if inp.follow_up is not None:  # 4.4 跟踪监测
            detail["follow_up"] = inp.follow_up.model_dump(mode="json")
        entry = self.transition("approve_termination", at, inp, detail)
        self._event("response_terminated", at, entry)
        if "stuck_after" in prepared:
            s.stuck_after, s.stuck_key = prepared["stuck_after"], s.stage_entries
        t = s.termination
        self.document("termination_form", {
            "plan_title": s.plan.title, "proposed_by": str(plan_incident.Actor(**t["proposed_by"])),
            "proposed_at": t["proposed_at"], "reason": t["reason"], "condition": s.plan.termination.condition,
            "round": s.round,
            "signoffs": [{**s.signoffs[g].model_dump(mode="json"), "group_name": s.plan.groups.get(g, g)}
                         for g in signatories(s)],
            "instruction": inp.instruction, "approved_by": str(inp.by), "approved_at": at.isoformat(),
            "city_decision": inp.city_decision,
            **({"follow_up": detail["follow_up"]} if "follow_up" in detail else {})}, entry.seq)
        filing.render(self, "termination_form", entry.seq)
        self.notify("response_terminated", f"应急响应终止：{s.report.title}",
                    s.plan.report_recipients + [s.plan.groups.get(g, g) for g in s.leads],
                    {"instruction": inp.instruction})
        notes = self._start_deadlines(deadlines.started_by(self.s, "approve_termination", inp, at), prepared)
        return self._result("approve_termination", "termination approved; post-event handling (5.x) begins" + notes)
