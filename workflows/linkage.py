"""Linkage with the fire brigade and other departments (4.2.3; the linkage agreement
郑环办〔2013〕84号 协议 二.3, 二.5, 二.6): the bulletin with the agreement's fields on
activation and on every progress report, cross-boundary notices, 商请 support requests and
their answers, the joint investigation group.

Functions of the incident `w` (its state `w.s`, `w.notify`, `w.record`); no awaits.
"""

from __future__ import annotations

from datetime import datetime

from plan.calendar import SHANGHAI
from plan.incident import Actor
import workflows.messages as m
from workflows.timeline import short

FACT = 300  # characters of a reported fact kept for the bulletins; the reports are in the archive
KEEP_REQUESTS = 50


def remember_facts(s: m.IncidentState, content) -> None:
    facts = {k: short(v, FACT) for k, v in content.model_dump().items() if v and k != "summary"}
    s.linkage.setdefault("facts", {}).update(facts)
    if content.fire_forces:
        s.linkage["fire_engaged"] = True


def bulletin(w, trigger: str, at: datetime) -> None:
    """The linkage bulletin to the partners the plan lists, with the agreement's fields (待核实 when unknown)."""
    s = w.s
    lk = s.plan.linkage
    if lk is None:
        return
    r, facts = s.report, s.linkage.get("facts", {})
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
    s.linkage["bulletins"] = n = s.linkage.get("bulletins", 0) + 1
    recipients = [p.name for p in lk.partners]
    w.record(at, None, "linkage_bulletin", {"no": n, "trigger": trigger, "recipients": recipients})
    w.notify("linkage_bulletin", f"应急联动信息通报（第{n}期）：{r.title}", recipients,
             {"no": n, "trigger": trigger, "fields": fields})


def cross_boundary(w, scope: str, neighbours: list[str], at: datetime, by: Actor, note: str = "") -> None:
    s = w.s
    lk = s.plan.linkage
    targets = list(neighbours) or (lk.neighbours_notified if lk else ["相邻区域人民政府", "相邻区域生态环境部门"])
    s.linkage["cross_boundary"] = scope
    w.record(at, by, "record_cross_boundary", {"scope": scope, "notified": targets, "note": short(note)})
    w.notify("cross_boundary", f"跨区域通报（{scope}）：{s.report.title}", targets, {"scope": scope})
    if scope == "province":  # 4.2.3: report to the province and recommend notifying the neighbours
        to = lk.cross_province_report_to if lk else ["省人民政府", "省生态环境厅"]
        w.notify("cross_province_report", f"跨省级行政区域事件报告及通报建议：{s.report.title}", to,
                 {"recommendation": "建议向相邻省级行政区域人民政府通报", "neighbours": targets})


def request_support(w, inp: m.RequestSupport, at: datetime) -> int:
    s = w.s
    reqs = s.linkage.setdefault("support_requests", [])
    no = s.linkage.get("support_requests_made", len(reqs)) + 1
    s.linkage["support_requests_made"] = no
    name = {p.id: p.name for p in s.plan.linkage.partners}[inp.partner]
    reqs.append({"no": no, "partner": inp.partner, "partner_name": name, "request": short(inp.request),
                 "at": at.isoformat(), "by": inp.by.model_dump(), "answer": None})
    # Bounded: the oldest answered requests leave state (their entries are in the timeline).
    while len(reqs) > KEEP_REQUESTS and any(r["answer"] for r in reqs):
        reqs.remove(next(r for r in reqs if r["answer"]))
    w.record(at, inp.by, "request_support", {"no": no, "partner": inp.partner, "request": short(inp.request)},
             backdate_reason=inp.backdate_reason)
    w.notify("support_request", f"商请支援（第{no}号）：{s.report.title}", [name], {"request": inp.request[:1000]})
    return no


def find_request(s: m.IncidentState, no: int) -> dict | None:
    return next((r for r in s.linkage.get("support_requests", []) if r["no"] == no), None)


def answer_support(w, inp: m.SupportAnswer, at: datetime) -> None:
    s = w.s
    req = find_request(s, inp.request_no)
    req["answer"] = {"answer": inp.answer, "note": short(inp.note), "at": at.isoformat(), "by": inp.by.model_dump()}
    if inp.answer == "accepted" and req["partner"] == getattr(s.plan.linkage, "fire_brigade", None):
        s.linkage["fire_engaged"] = True
    w.record(at, inp.by, "answer_support", {"no": inp.request_no, "answer": inp.answer, "note": short(inp.note)},
             backdate_reason=inp.backdate_reason)


def joint_investigation(w, inp: m.RecordJointInvestigation, at: datetime) -> None:
    w.s.linkage["joint_investigation"] = {"members": inp.members, "note": short(inp.note), "at": at.isoformat(),
                                          "by": inp.by.model_dump()}
    w.record(at, inp.by, "record_joint_investigation", {"members": inp.members, "note": short(inp.note)},
             backdate_reason=inp.backdate_reason)


class LinkageActions:
    """The linkage actions, a mixin of IncidentWorkflow (the all-or-nothing step of each)."""

    def _apply_record_cross_boundary(self, inp: m.RecordCrossBoundary, at: datetime, _p) -> m.ActionResult:
        cross_boundary(self, inp.scope, inp.neighbours, at, inp.by, inp.note)
        return self._result("record_cross_boundary", f"cross-boundary ({inp.scope}) recorded; neighbours notified (4.2.3)")

    def _apply_request_support(self, inp: m.RequestSupport, at: datetime, _p) -> m.ActionResult:
        no = request_support(self, inp, at)
        name = {p.id: p.name for p in self.s.plan.linkage.partners}[inp.partner]
        return self._result("request_support", f"support request no. {no} sent to {name}")

    def _apply_answer_support(self, inp: m.SupportAnswer, at: datetime, _p) -> m.ActionResult:
        answer_support(self, inp, at)
        return self._result("answer_support", f"support request no. {inp.request_no}: {inp.answer}")

    def _apply_record_joint_investigation(self, inp: m.RecordJointInvestigation, at: datetime, _p) -> m.ActionResult:
        joint_investigation(self, inp, at)
        return self._result("record_joint_investigation",
                            "joint investigation group with the fire brigade recorded (协议 二.5)")
