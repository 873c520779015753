"""The frozen 1.x engine, part: linkage with the fire brigade and other departments: bulletins, cross-boundary, support, joint investigation.
Moved here verbatim from the one-file engine; a mixin of IncidentV1."""

from __future__ import annotations

from workflows.legacy.common import *  # noqa: F401,F403  (the frozen engine's shared names)


class LinkageV1:
    def _partners(self) -> dict[str, str]:
        lk = self.s.plan.linkage
        return {p.id: p.name for p in lk.partners} if lk else {}

    def _bulletin(self, trigger: str, at: datetime) -> None:
        """The linkage bulletin to the partners the plan lists, with the agreement's fields."""
        lk = self.s.plan.linkage
        if lk is None:
            return
        r, facts = self.s.report, self.s.linkage.get("facts", {})
        values = {
            "time": r.discovered_at.astimezone(SHANGHAI).isoformat(timespec="minutes"),
            "place": f"{r.county}{r.location}",
            "preliminary_cause": facts.get("cause_and_nature") or facts.get("source"),
            "casualties": facts.get("casualties"),
            "fire_forces": facts.get("fire_forces"),
            "fire_water_used": facts.get("fire_water_used"),
            "impact_and_hidden_dangers": "；".join(x for x in (facts.get("drinking_water_sources_affected"),
                                                              facts.get("hidden_dangers")) if x) or None,
            "monitoring_data": facts.get("monitoring_data"),
            "affected_area": facts.get("affected_area"),
            "trend": facts.get("trend"),
        }
        fields = {f.id: {"label": f.label, "value": values.get(f.id) or "待核实"} for f in lk.bulletin_fields}
        self.s.linkage["bulletins"] = n = self.s.linkage.get("bulletins", 0) + 1
        recipients = [p.name for p in lk.partners]
        self._record(at, SYSTEM, "linkage_bulletin", self.s.stage, {"no": n, "trigger": trigger,
                                                                     "recipients": recipients})
        self._notify("linkage_bulletin", f"应急联动信息通报（第{n}期）：{r.title}", recipients,
                     {"no": n, "trigger": trigger, "fields": fields})

    def _cross_boundary(self, scope: str, neighbours: list[str], at: datetime, by: Actor) -> None:
        lk = self.s.plan.linkage
        targets = list(neighbours) or (lk.neighbours_notified if lk else ["相邻区域人民政府", "相邻区域生态环境部门"])
        self.s.linkage["cross_boundary"] = scope
        self._record(at, by, "record_cross_boundary", self.s.stage, {"scope": scope, "notified": targets})
        self._notify("cross_boundary", f"跨区域通报（{scope}）：{self.s.report.title}", targets, {"scope": scope})
        if scope == "province":  # 4.2.3: report to the province and recommend notifying the neighbours
            to = lk.cross_province_report_to if lk else ["省人民政府", "省生态环境厅"]
            self._notify("cross_province_report", f"跨省级行政区域事件报告及通报建议：{self.s.report.title}", to,
                         {"recommendation": "建议向相邻省级行政区域人民政府通报", "neighbours": targets})

    async def record_cross_boundary(self, inp: m.RecordCrossBoundary) -> m.ActionResult:
        at = self._check_cross_boundary(inp)
        self._cross_boundary(inp.scope, inp.neighbours, at, inp.by)
        return self._result("record_cross_boundary", f"cross-boundary ({inp.scope}) recorded; neighbours notified (4.2.3)")

    def _check_cross_boundary(self, inp: m.RecordCrossBoundary) -> datetime:
        at = self._check("record_cross_boundary", inp)
        order = ["county_dispute", "city", "province"]
        now = self.s.linkage.get("cross_boundary")
        if now is not None and order.index(inp.scope) <= order.index(now):
            raise Refused(f"already recorded as cross-boundary ({now}); only a wider scope can be added")
        return at

    async def request_support(self, inp: m.RequestSupport) -> m.ActionResult:
        at = self._check_request_support(inp)
        reqs = self.s.linkage.setdefault("support_requests", [])
        no = len(reqs) + 1
        name = self._partners()[inp.partner]
        reqs.append({"no": no, "partner": inp.partner, "partner_name": name, "request": inp.request,
                     "at": at.isoformat(), "by": inp.by.model_dump(), "answer": None})
        self._record(at, inp.by, "request_support", self.s.stage, {"no": no, "partner": inp.partner,
                                                                     "request": inp.request})
        self._notify("support_request", f"商请支援（第{no}号）：{self.s.report.title}", [name], {"request": inp.request})
        return self._result("request_support", f"support request no. {no} sent to {name}")

    def _check_request_support(self, inp: m.RequestSupport) -> datetime:
        at = self._check("request_support", inp)
        partners = self._partners()
        if inp.partner not in partners:
            raise Refused(f"unknown partner {inp.partner!r}: the plan's linkage partners are "
                          f"{', '.join(partners) or 'none'}")
        return at

    async def answer_support(self, inp: m.SupportAnswer) -> m.ActionResult:
        at = self._check_answer_support(inp)
        req = self.s.linkage["support_requests"][inp.request_no - 1]
        req["answer"] = {"answer": inp.answer, "note": inp.note, "at": at.isoformat(), "by": inp.by.model_dump()}
        if inp.answer == "accepted" and req["partner"] == getattr(self.s.plan.linkage, "fire_brigade", None):
            self.s.linkage["fire_engaged"] = True
        self._record(at, inp.by, "answer_support", self.s.stage, {"no": inp.request_no, "answer": inp.answer,
                                                                   "note": inp.note})
        return self._result("answer_support", f"support request no. {inp.request_no}: {inp.answer}")

    def _check_answer_support(self, inp: m.SupportAnswer) -> datetime:
        at = self._check("answer_support", inp)
        reqs = self.s.linkage.get("support_requests", [])
        if not 1 <= inp.request_no <= len(reqs):
            raise Refused(f"no support request no. {inp.request_no} (there are {len(reqs)})")
        if reqs[inp.request_no - 1]["answer"]:
            raise Refused(f"support request no. {inp.request_no} was already answered")
        return at

    async def record_joint_investigation(self, inp: m.RecordJointInvestigation) -> m.ActionResult:
        at = self._check_joint(inp)
        self.s.linkage["joint_investigation"] = {"members": inp.members, "note": inp.note, "at": at.isoformat(),
                                                 "by": inp.by.model_dump()}
        self._record(at, inp.by, "record_joint_investigation", self.s.stage, {"members": inp.members, "note": inp.note})
        return self._result("record_joint_investigation", "joint investigation group with the fire brigade recorded (协议 二.5)")

    def _check_joint(self, inp: m.RecordJointInvestigation) -> datetime:
        at = self._check("record_joint_investigation", inp)
        if not self.s.linkage.get("fire_engaged"):
            raise Refused("the fire brigade was not engaged in this incident; a joint investigation group "
                          "(协议 二.5) is formed when it was")
        if self.s.linkage.get("joint_investigation"):
            raise Refused("the joint investigation group is already recorded")
        if not inp.members:
            raise Refused("name the members of the joint investigation group")
        return at

    # ------------------------------------------------------------------ deadlines
