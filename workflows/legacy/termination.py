"""The frozen 1.x engine, part: termination on 附件2 (4.4): proposal, sign-offs (update and signal), approval.
Moved here verbatim from the one-file engine; a mixin of IncidentV1."""

from __future__ import annotations

from workflows.legacy.common import *  # noqa: F401,F403  (the frozen engine's shared names)


class TerminationV1:
    async def propose_termination(self, inp: m.ProposeTermination) -> m.ActionResult:
        at = self._check("propose_termination", inp)
        self.s.round += 1
        self.s.signoffs = {}
        self.s.termination = {"round": self.s.round, "proposed_by": inp.by.model_dump(),
                              "proposed_at": at.isoformat(), "reason": inp.reason}
        self._transition("propose_termination", at, inp.by, {"reason": inp.reason, "round": self.s.round})
        self._notify("termination_proposed", f"应急响应终止签报（第{self.s.round}轮）：{self.s.report.title}",
                     [f"{self._group_name(g)} {self.s.leads[g]}" for g in self._signatories()],
                     {"reason": inp.reason})
        return self._result("propose_termination",
                            f"termination proposed (round {self.s.round}); waiting for {', '.join(self._pending_signoffs())}")

    def _check_propose(self, inp: m.ProposeTermination) -> None:
        self._check("propose_termination", inp)

    async def sign_off(self, inp: m.SignOff) -> m.ActionResult:
        at = self._check_sign_off(inp)
        return self._apply_sign_off(inp, at)

    def _check_sign_off(self, inp: m.SignOff) -> datetime:
        at = self._check("sign_off", inp)
        self._known_group(inp.group)
        if inp.group not in self._signatories():
            raise Refused(f"{inp.group} does not sign termination: the signatories (附件2) are "
                          f"{', '.join(self._signatories())}")
        named = self.s.leads.get(inp.group)
        if inp.lead.strip() != named:
            raise Refused(f"the {inp.group} lead named at dispatch is {named}, not {inp.lead.strip()}")
        if inp.by.name != named:
            raise Refused(f"a sign-off is made by the lead: by is {inp.by.name}, the {inp.group} lead is {named}")
        done = self.s.signoffs.get(inp.group)
        if done:
            raise Refused(f"{inp.group} already signed in round {self.s.round} "
                          f"({done.decision}, {_fmt(done.at)})")
        if inp.decision == "reject" and not inp.opinion.strip():
            raise Refused("a rejection needs an opinion: say why the response should go on")
        return at

    def sign_off_signal(self, inp: m.SignOff) -> None:
        """Fire-and-forget sign-off: an invalid one is recorded as rejected and changes nothing else."""
        try:
            at = self._check_sign_off(inp)
        except ApplicationError as e:
            if self.s is not None:
                self._record(inp.at or self._now(), inp.by, "sign_off", self.s.stage,
                             {"group": inp.group, "lead": inp.lead, "decision": inp.decision,
                              "reason": e.message, "via": "signal"}, rejected=True)
            return
        self._apply_sign_off(inp, at)

    def _apply_sign_off(self, inp: m.SignOff, at: datetime) -> m.ActionResult:
        rec = m.SignOffRecord(round=self.s.round, group=inp.group, lead=inp.lead.strip(),
                              decision=inp.decision, opinion=inp.opinion, at=at, by=inp.by)
        self.s.signoffs[inp.group] = rec
        self.s.signoff_history.append(rec)
        detail = {"group": inp.group, "lead": rec.lead, "decision": inp.decision, "opinion": inp.opinion,
                  "round": self.s.round}
        if inp.decision == "reject":
            self._transition("reject_termination", at, inp.by, detail, action="sign_off")
            self._notify("termination_rejected", f"终止签报被{self._group_name(inp.group)}否决：{self.s.report.title}",
                         [self.s.plan.commander], detail)
            return self._result("sign_off", f"{inp.group} rejected termination; back on site: {inp.opinion}")
        self._transition("sign_off", at, inp.by, detail)
        pending = self._pending_signoffs()
        if pending:
            return self._result("sign_off", f"{inp.group} approved; waiting for {', '.join(pending)}")
        self._notify("termination_ready", f"三组组长均已同意终止，请指挥批示：{self.s.report.title}",
                     [self.s.plan.commander], {"round": self.s.round})
        return self._result("sign_off", f"{inp.group} approved; all signatories approved, waiting for the commander")

    async def approve_termination(self, inp: m.ApproveTermination) -> m.ActionResult:
        at = self._check_approve(inp)
        self.s.termination.update({"approved_by": inp.by.model_dump(), "approved_at": at.isoformat(),
                                   "instruction": inp.instruction, "city_decision": inp.city_decision})
        self._event("response_terminated", at)
        entry = self._transition("approve_termination", at, inp.by,
                                 {"instruction": inp.instruction, "city_decision": inp.city_decision,
                                  "round": self.s.round})
        t = self.s.termination
        self._archive("termination_form", {
            "plan_title": self.s.plan.title, "proposed_by": str(Actor(**t["proposed_by"])),
            "proposed_at": t["proposed_at"], "reason": t["reason"], "condition": self.s.plan.termination.condition,
            "signoffs": [{**self.s.signoffs[g].model_dump(mode="json"), "group_name": self._group_name(g)}
                         for g in self._signatories()],
            "instruction": inp.instruction, "approved_by": str(inp.by), "approved_at": at.isoformat(),
            "city_decision": inp.city_decision}, entry.seq)
        self._notify("response_terminated", f"应急响应终止：{self.s.report.title}",
                     self.s.plan.report_recipients + [f"{self._group_name(g)}" for g in self.s.leads],
                     {"instruction": inp.instruction})
        for name in ("assessment_completion", "investigation"):
            await self._start_deadline(name, at, self.s.level)
        return self._result("approve_termination", "termination approved; post-event handling (5.x) begins")

    def _check_approve(self, inp: m.ApproveTermination) -> datetime:
        at = self._check("approve_termination", inp)
        pending = self._pending_signoffs()
        if pending:
            who = ", ".join(f"{g} ({self.s.leads.get(g)})" for g in pending)
            raise Refused(f"waiting for sign-off from {who}: the commander approves after all three")
        plan = self.s.plan
        if inp.by.role not in plan.approver_roles:
            raise Refused(f"termination is approved by the commander ({plan.termination.approver}) "
                          f"or a deputy: role must be one of {', '.join(plan.approver_roles)}, not {inp.by.role}")
        if plan.approver_people and inp.by.name not in plan.approver_people:
            raise Refused(f"{inp.by.name} is not named in the plan as commander or deputy")
        if self.s.city_started and not (inp.city_decision or "").strip():
            raise Refused("the city government started the response, so the city headquarters decides "
                          "termination (4.4): record its decision (who decided, and what) with city_decision")
        if not self.lc.may_approve_termination():
            raise Refused("not every signatory approved in this round")
        return at

    # ------------------------------------------------------------------ 5. post-event
