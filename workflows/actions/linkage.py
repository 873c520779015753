"""Linkage with the fire brigade and other departments (4.2.3; the linkage agreement
郑环办〔2013〕84号 协议 二.3, 二.5, 二.6): the bulletin with the agreement's fields on
activation and on every progress report, cross-boundary notices, 商请 support requests and
their answers, the joint investigation group.

The helpers take a Recorder (`rec`, workflows/recorder.py); no awaits.
"""

from __future__ import annotations

from datetime import datetime

from plan.calendar import SHANGHAI
from plan.incident import Actor
import workflows.messages as m
from workflows.actions.form import FormField as F
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.lifecycle import OPEN, RESPONSE
from workflows.timeline import short

FACT = 300  # characters of a reported fact kept for the bulletins; the reports are in the archive
KEEP_REQUESTS = 50


def remember_facts(s: m.IncidentState, content) -> None:
    facts = {k: short(v, FACT) for k, v in content.model_dump().items() if v and k != "summary"}
    s.linkage.setdefault("facts", {}).update(facts)
    if content.fire_forces:
        s.linkage["fire_engaged"] = True


def bulletin(rec, trigger: str, at: datetime) -> None:
    """The linkage bulletin to the partners the plan lists, with the agreement's fields (待核实 when unknown)."""
    s = rec.s
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
    rec.record(at, None, "linkage_bulletin", {"no": n, "trigger": trigger, "recipients": recipients})
    rec.notify("linkage_bulletin", f"应急联动信息通报（第{n}期）：{r.title}", recipients,
             {"no": n, "trigger": trigger, "fields": fields})


def cross_boundary(rec, scope: str, neighbours: list[str], at: datetime, by: Actor, note: str = "",
                   backdate_reason: str | None = None) -> None:
    s = rec.s
    lk = s.plan.linkage
    targets = list(neighbours) or (lk.neighbours_notified if lk else ["相邻区域人民政府", "相邻区域生态环境部门"])
    s.linkage["cross_boundary"] = scope
    rec.record(at, by, "record_cross_boundary", {"scope": scope, "notified": targets, "note": short(note)},
               backdate_reason=backdate_reason)
    rec.notify("cross_boundary", f"跨区域通报（{SCOPE_NAMES[scope]}）：{s.report.title}", targets, {"scope": scope})
    if scope == "province":  # 4.2.3: report to the province and recommend notifying the neighbours
        to = lk.cross_province_report_to if lk else ["省人民政府", "省生态环境厅"]
        rec.notify("cross_province_report", f"跨省级行政区域事件报告及通报建议：{s.report.title}", to,
                 {"recommendation": "建议向相邻省级行政区域人民政府通报", "neighbours": targets})


def find_request(s: m.IncidentState, no: int) -> dict | None:
    return next((r for r in s.linkage.get("support_requests", []) if r["no"] == no), None)


# ------------------------------------------------------------------ record_cross_boundary (4.2.3)

SCOPES = ["county_dispute", "city", "province"]
SCOPE_NAMES = {"county_dispute": "跨县级行政区域纠纷", "city": "跨设区的市级行政区域", "province": "跨省级行政区域"}


def check_cross_boundary(s, inp: m.RecordCrossBoundary, at, now) -> Checked:
    current = s.linkage.get("cross_boundary")
    if current is not None and SCOPES.index(inp.scope) <= SCOPES.index(current):
        raise Refused(f"已登记为{SCOPE_NAMES[current]}事件：只能登记更大的范围")
    return Checked(at)


def apply_cross_boundary(rec, inp: m.RecordCrossBoundary, got: Checked, _prepared) -> str:
    cross_boundary(rec, inp.scope, inp.neighbours, got.at, inp.by, inp.note, rec.backdated(inp, got.at))
    return f"已登记{SCOPE_NAMES[inp.scope]}事件，并通报相邻地区（4.2.3）"


# ------------------------------------------------------------------ request_support (商请, 协议 二.6)

def _partners(s) -> dict[str, str]:
    lk = s.plan.linkage
    return {p.id: p.name for p in lk.partners} if lk else {}


def check_request(s, inp: m.RequestSupport, at, now) -> Checked:
    partners = _partners(s)
    if inp.partner not in partners:
        raise Refused(f"没有联动单位“{inp.partner}”：本预案的联动单位是{'、'.join(partners.values()) or '（无）'}",
                      "invalid")
    return Checked(at)


def apply_request(rec, inp: m.RequestSupport, got: Checked, _prepared) -> str:
    s, at = rec.s, got.at
    reqs = s.linkage.setdefault("support_requests", [])
    no = s.linkage.get("support_requests_made", len(reqs)) + 1
    s.linkage["support_requests_made"] = no
    name = _partners(s)[inp.partner]
    reqs.append({"no": no, "partner": inp.partner, "partner_name": name, "request": short(inp.request),
                 "at": at.isoformat(), "by": inp.by.model_dump(), "answer": None})
    # Bounded: the oldest answered requests leave state (their entries are in the timeline).
    while len(reqs) > KEEP_REQUESTS and any(r["answer"] for r in reqs):
        reqs.remove(next(r for r in reqs if r["answer"]))
    rec.record(at, inp.by, "request_support", {"no": no, "partner": inp.partner, "request": short(inp.request)},
               backdate_reason=rec.backdated(inp, at))
    rec.notify("support_request", f"商请支援（第{no}号）：{s.report.title}", [name], {"request": inp.request[:1000]})
    return f"第{no}号商请已发送{name}"


# ------------------------------------------------------------------ answer_support

def check_answer(s, inp: m.SupportAnswer, at, now) -> Checked:
    req = find_request(s, inp.request_no)
    if req is None:
        made = s.linkage.get("support_requests_made", len(s.linkage.get("support_requests", [])))
        raise Refused(f"没有第{inp.request_no}号商请（已发出 {made} 件）", "invalid")
    if req["answer"]:
        raise Refused(f"第{inp.request_no}号商请已登记过答复")
    return Checked(at)


def apply_answer(rec, inp: m.SupportAnswer, got: Checked, _prepared) -> str:
    s, at = rec.s, got.at
    req = find_request(s, inp.request_no)
    req["answer"] = {"answer": inp.answer, "note": short(inp.note), "at": at.isoformat(), "by": inp.by.model_dump()}
    if inp.answer == "accepted" and req["partner"] == getattr(s.plan.linkage, "fire_brigade", None):
        s.linkage["fire_engaged"] = True
    rec.record(at, inp.by, "answer_support", {"no": inp.request_no, "answer": inp.answer, "note": short(inp.note)},
               backdate_reason=rec.backdated(inp, at))
    return f"第{inp.request_no}号商请：{'同意' if inp.answer == 'accepted' else '不同意'}"


# ------------------------------------------------------------------ record_joint_investigation (协议 二.5)

def check_joint(s, inp: m.RecordJointInvestigation, at, now) -> Checked:
    if not s.linkage.get("fire_engaged"):
        raise Refused("消防救援队伍未参与本事件的处置：联合调查组（协议 二.5）在消防参与处置时成立")
    if s.linkage.get("joint_investigation"):
        raise Refused("联合调查组已登记")
    if not inp.members:
        raise Refused("请写明联合调查组成员", "invalid")
    return Checked(at)


def apply_joint(rec, inp: m.RecordJointInvestigation, got: Checked, _prepared) -> str:
    rec.s.linkage["joint_investigation"] = {"members": inp.members, "note": short(inp.note), "at": got.at.isoformat(),
                                            "by": inp.by.model_dump()}
    rec.record(got.at, inp.by, "record_joint_investigation", {"members": inp.members, "note": short(inp.note)},
               backdate_reason=rec.backdated(inp, got.at))
    return "已登记与消防救援队伍的联合调查组（协议 二.5）"


NOTE = O("--note", "note", default="", help="说明")

ACTIONS = [
    ActionSpec(
        name="record_cross_boundary", input=m.RecordCrossBoundary, title="登记跨区域事件并通报", source="4.2.3",
        moves=({"trigger": "record_cross_boundary", "source": OPEN, "dest": None},),
        check=check_cross_boundary, apply=apply_cross_boundary,
        form=lambda plan, st, u: [F("scope", "范围", "select", True,
                                    (("county_dispute", "县区间纠纷"), ("city", "跨市"), ("province", "跨省"))),
                                  F("neighbours", "相邻地区政府或部门（每行一个）", "lines"), F("note", "说明", "textarea")],
        cli="cross-boundary", cli_help="事件跨界（或可能跨界）：通报相邻地区（4.2.3）。",
        cli_options=(O("--scope", "scope", required=True, help="跨界范围：县（区）间有争议（county_dispute）、跨市（city）或跨省（province）"),
                     O("--neighbour", "neighbours", "many", help="相邻地区的政府或生态环境部门（可重复）"), NOTE)),
    ActionSpec(
        name="request_support", input=m.RequestSupport, title="商请支援", source="协议 二.6",
        moves=({"trigger": "request_support", "source": ["warning", *RESPONSE, "termination_pending"], "dest": None},),
        check=check_request, apply=apply_request,
        form=lambda plan, st, u: [F("partner", "商请单位", "select", True,
                                    tuple((p.id, p.name) for p in (plan.linkage.partners if plan.linkage else []))),
                                  F("request", "商请内容（协议 二.6）", "textarea", True)],
        cli="request-support", cli_help="商请联动单位派出专家或救援力量（协议 二.6）。",
        cli_options=(O("--partner", "partner", required=True, help="联动单位标识，如 fire_brigade"),
                     O("--request", "request", required=True, help="商请的内容：专家、救援队伍……"))),
    ActionSpec(
        name="answer_support", input=m.SupportAnswer, title="登记商请答复", source="协议 二.6",
        moves=({"trigger": "answer_support", "source": OPEN, "dest": None},),
        check=check_answer, apply=apply_answer,
        form=lambda plan, st, u: [F("request_no", "商请编号", "number", True),
                                  F("answer", "答复", "select", True, (("accepted", "同意"), ("declined", "不同意"))),
                                  F("note", "说明", "textarea")],
        cli="answer-support", cli_help="登记联动单位对商请的答复。",
        cli_options=(O("--request", "request_no", "int", required=True, help="商请的序号"),
                     O("--declined", "answer", "flag", value="declined", default="accepted", help="对方拒绝（默认：同意）"), NOTE)),
    ActionSpec(
        name="record_joint_investigation", input=m.RecordJointInvestigation, title="登记联合调查组", source="协议 二.5",
        # 协议 二.5 联合调查组 "及时成立": from activation on.
        moves=({"trigger": "record_joint_investigation", "source": [*RESPONSE, "termination_pending", "post_event"],
                "dest": None},),
        check=check_joint, apply=apply_joint,
        form=lambda plan, st, u: [F("members", "联合调查组成员（每行一个）", "lines", True), F("note", "说明", "textarea")],
        cli="joint-investigation",
        cli_help="登记与消防救援部门成立的联合调查组（协议 二.5）。",
        cli_options=(O("--member", "members", "many", required=True, help="联合调查组成员（可重复）"), NOTE)),
]
