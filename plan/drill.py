"""After-action evaluation of a drill (演练评估), as the drills notice (郑安委办〔2017〕43号 四)
asks for it: 应急响应程序, 应急信息处置, 应急预案衔接, 应急力量调动, 部门应急协调, 应急抢险救援 —
measured, not graded by hand — ending with 整改意见和建议 for the weak points found.

`evaluate(status)` takes an incident's status (the workflow's `status` query, as JSON) and
returns figures: stage durations against the plan's stage expectations, the information
reports against the initial-report deadline, how the bureau's plan meshed with the others
(the city government's plan, the county's, province's and ministry's acts at the level, the
fire brigade's linkage), mobilisation times and the groups sent, sign-off rounds with
rejections and opinions, the on-site rescue and disposal, every deadline with how late it
was met, level changes, findings in plain sentences by area and a recommendation for each.
`render_markdown` prints it for people, marked 演练 at the top.

Pure domain code: the only reads are the incident's plan file (plan.loader) and the
working-day calendar (plan.calendar), both this package's own data. Works on any
incident's status (a real one too); the CLI only offers it for drills.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from plan.calendar import SHANGHAI
from plan.incident import REPORT_KIND_NAMES

__all__ = ["evaluate", "render_markdown", "STAGE_NAMES", "AREAS"]

# The six areas the drills notice names (郑安委办〔2017〕43号 四), in its order.
AREAS = {
    "response_procedure": "应急响应程序", "information": "应急信息处置", "plan_coordination": "应急预案衔接",
    "mobilisation": "应急力量调动", "inter_department": "部门应急协调", "rescue": "应急抢险救援",
}
STEP_NAMES = {"dispatch": "派遣工作组", "termination": "响应终止", "investigation": "事件调查",
              "assessment": "损害评估", "aftercare": "善后处置", "final_report": "处理结果报告"}

STAGE_NAMES = {
    "reported": "接报研判", "warning": "预警", "responding": "响应启动", "on_site": "现场处置",
    "termination_pending": "终止签报", "post_event": "后期处置", "closed": "已结束",
}
GROUP_NAMES = {  # fallback when the plan cannot be loaded (2.3)
    "coordination": "综合协调组", "monitoring": "应急监测组", "disposal": "污染处置组",
    "investigation": "污染排查组", "publicity": "新闻宣传组", "experts": "应急专家组",
}
DEADLINE_NAMES = {
    "initial_report": "初报", "readiness": "应急力量准备", "assessment_report": "损害评估报告报送",
    "assessment_completion": "污染损害评估", "investigation": "事件调查",
}
LEVEL_RANK = {"IV": 1, "III": 2, "II": 3, "I": 4}
# Inter-department coordination in the timeline: the linkage actions (4.2.3; 协议 二) are
# read by name; any other action whose name says it notifies someone is listed as a notice,
# so notices added later are counted without a change here.
KNOWN_COORDINATION = {"record_city_started", "linkage_bulletin", "record_cross_boundary", "request_support",
                      "answer_support", "record_joint_investigation"}
COORDINATION_WORDS = ("bulletin", "notif", "notice", "linkage", "liaison", "inform", "通报")


# ------------------------------------------------------------------ small helpers


def _t(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        t = value
    else:
        t = datetime.fromisoformat(str(value))
    return (t if t.tzinfo else t.replace(tzinfo=SHANGHAI)).astimezone(SHANGHAI)


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(SHANGHAI).isoformat() if t else None


def _secs(a: datetime | None, b: datetime | None) -> int | None:
    """Seconds from a to b (None if either is missing)."""
    if a is None or b is None:
        return None
    return int(round((b - a).total_seconds()))


def _mins(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _span(name: str, a: datetime | None, b: datetime | None) -> dict:
    """{name_seconds, name_minutes} from a to b."""
    seconds = _secs(a, b)
    return {f"{name}_seconds": seconds, f"{name}_minutes": _mins(seconds)}


def _whole_minutes(seconds: int) -> int:
    return int(round(seconds / 60))


def _dur(seconds: int | None) -> str:
    """A duration for people: 12分钟, 1小时10分, 2天3小时."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    m = _whole_minutes(abs(seconds))
    d, h, m = m // 1440, (m % 1440) // 60, m % 60
    if d:
        return f"{sign}{d}天{h}小时" if h else f"{sign}{d}天"
    if h:
        return f"{sign}{h}小时{m}分" if m else f"{sign}{h}小时"
    return f"{sign}{m}分钟"


def _hm(t: str | datetime | None) -> str:
    t = _t(t) if not isinstance(t, datetime) else t
    return t.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if t else "—"


def _who(by: Any) -> str | None:
    if isinstance(by, dict):
        return by.get("name")
    return by if isinstance(by, str) else None


def _duration_label(d) -> str:
    if d.hours is not None:
        return f"{d.hours:g}小时"
    if d.days is not None:
        return f"{d.days}天"
    return f"{d.working_days}个工作日"


# ------------------------------------------------------------------ the plan behind the incident


class _PlanView:
    """What the evaluation needs from the incident's plan, with graceful fallbacks."""

    def __init__(self, status: dict):
        ref = status.get("plan") or {}
        self.ref = {k: ref.get(k) for k in ("id", "version", "hash")}
        self.notes: list[str] = []
        self.expectations: dict[str, Any] = {}
        self.expectation_sources: dict[str, str] = {}
        self.groups = dict(GROUP_NAMES)
        self.loaded = False
        self._calendar = None
        self._calendar_failed = False
        pid = ref.get("id")
        if not pid:
            self.notes.append("事件未记录所用预案：阶段用时未与预期比较")
            return
        try:
            from plan.loader import load_plan

            loaded = load_plan(pid)
        except Exception as e:  # PlanError, or a plan that no longer validates
            self.notes.append(f"预案 {pid} 无法加载（{' '.join(str(e).split())[:200]}）：阶段用时未与预期比较")
            return
        self.loaded = True
        plan = loaded.plan
        if ref.get("hash") and ref["hash"] != loaded.content_hash:
            self.notes.append(f"预案 {pid} 在事件开始后已修订（内容哈希不同）：阶段预期取自现行版本 {plan.version}")
        self.expectations = {s.stage: s.within for s in plan.stage_expectations}
        self.expectation_sources = {s.stage: s.source for s in plan.stage_expectations}
        self.groups.update({g.id: g.name for g in plan.groups})

    def group(self, gid: str) -> str:
        return self.groups.get(gid, gid)

    def expected_by(self, stage: str, entered: datetime) -> datetime | None:
        within = self.expectations.get(stage)
        if within is None:
            return None
        if not within.is_working_days:
            return entered + within.as_timedelta()
        day = entered.astimezone(SHANGHAI).date()
        cal = self._cal()
        if cal is not None:
            return cal.add_working_days(day, within.working_days).due_at
        n = within.working_days  # no calendar data: count Monday–Friday
        while n:
            day += timedelta(days=1)
            n -= day.weekday() < 5
        return datetime.combine(day, datetime.max.time().replace(microsecond=0), tzinfo=SHANGHAI)

    def _cal(self):
        if self._calendar is None and not self._calendar_failed:
            try:
                from plan.calendar import load_calendar

                self._calendar = load_calendar()
            except Exception:
                self._calendar_failed = True
                self.notes.append("工作日历无法加载：按周一至周五计算工作日")
        return self._calendar


# ------------------------------------------------------------------ the six areas


def _response_procedure(status: dict, timeline: list[dict], pv: _PlanView, as_of: datetime) -> dict:
    reported_at = _t(status.get("reported_at"))
    stage = timeline[0]["to_stage"] if timeline else (status.get("stage") or "reported")
    entered = reported_at or (_t(timeline[0]["at"]) if timeline else None)
    segments: list[dict] = []

    def close(left: datetime | None, ended_by: str | None) -> None:
        end = left or as_of
        seconds = _secs(entered, end)
        expected_by = pv.expected_by(stage, entered) if entered else None
        within = pv.expectations.get(stage)
        over = max(0, _secs(expected_by, end)) if expected_by else None
        segments.append({
            "stage": stage, "stage_name": STAGE_NAMES.get(stage, stage),
            "entered_at": _iso(entered), "left_at": _iso(left), "ongoing": left is None, "ended_by": ended_by,
            "duration_seconds": seconds, "duration_minutes": _mins(seconds),
            "expected": _duration_label(within) if within else None,
            "expected_seconds": int(within.as_timedelta().total_seconds()) if within and not within.is_working_days else None,
            "expected_by": _iso(expected_by),
            "within_expectation": None if expected_by is None else end <= expected_by,
            "over_by_seconds": over, "over_by_minutes": _mins(over),
            "expectation_source": pv.expectation_sources.get(stage),
        })

    for e in timeline:
        if e.get("rejected") or e["from_stage"] == e["to_stage"]:
            continue
        at = _t(e["at"])
        close(at, e["action"])
        stage, entered = e["to_stage"], at
    if stage != "closed":
        close(None, None)

    by_stage: dict[str, dict] = {}
    for s in segments:
        agg = by_stage.setdefault(s["stage"], {"stage_name": s["stage_name"], "visits": 0, "total_seconds": 0})
        agg["visits"] += 1
        agg["total_seconds"] += s["duration_seconds"] or 0
    for agg in by_stage.values():
        agg["total_minutes"] = _mins(agg["total_seconds"])

    def first(action: str) -> datetime | None:
        return next((_t(e["at"]) for e in timeline if e["action"] == action and not e.get("rejected")), None)

    terminated, closed = first("approve_termination"), first("close")
    refused = [{"at": e["at"], "by": _who(e.get("by")), "action": e["action"],
                "reason": (e.get("detail") or {}).get("reason")} for e in timeline if e.get("rejected")]
    totals = {
        **_span("discovered_to_reported", _t(status.get("discovered_at")), reported_at),
        **_span("reported_to_terminated", reported_at, terminated),
        **_span("reported_to_closed", reported_at, closed),
    }
    return {"segments": segments, "by_stage": by_stage, "totals": totals, "refused_inputs": refused,
            "expectations_from": pv.ref.get("id") if pv.loaded else None}


def _information(status: dict, deadlines: dict[str, dict], as_of: datetime) -> dict:
    discovered = _t(status.get("discovered_at"))
    init = deadlines.get("initial_report")
    due = _t(init["due_at"]) if init else None
    rows = []
    for r in status.get("reports") or []:
        at = _t(r["at"])
        row = {"kind": r["kind"], "kind_name": REPORT_KIND_NAMES.get(r["kind"], r["kind"]), "at": _iso(at),
               "by": _who(r.get("by")), "summary": r.get("summary"),
               **_span("after_discovery", discovered, at),
               "due_at": None, "late": None, "late_by_seconds": None, "late_by_minutes": None}
        if r["kind"] == "initial" and due:
            late = max(0, _secs(due, at))
            row.update(due_at=_iso(due), late=at > due, late_by_seconds=late, late_by_minutes=_mins(late))
        rows.append(row)
    counts = {k: sum(1 for r in rows if r["kind"] == k) for k in REPORT_KIND_NAMES}
    missing = [k for k in ("initial", "final") if not counts[k]]
    unreported_late = None
    if "initial" in missing and due and as_of > due:
        unreported_late = _secs(due, as_of)
    return {"reports": rows, "counts": counts, "missing": missing,
            "initial_report_due_at": _iso(due), "initial_report_status": init["status"] if init else None,
            **_span("initial_missing_overdue_by", due if unreported_late is not None else None, as_of)}


def _deadlines(status: dict, as_of: datetime) -> dict:
    rows = []
    for d in status.get("deadlines") or []:
        due, met = _t(d.get("due_at")), _t(d.get("met_at"))
        late = None
        if d["status"] == "met_late" and met and due:
            late = max(0, _secs(due, met))
        elif d["status"] == "overdue" and due:
            late = max(0, _secs(due, as_of))
        rows.append({
            "name": d["name"], "name_zh": DEADLINE_NAMES.get(d["name"], d["name"]), "title": d.get("title"),
            "source": d.get("source"), "who_acts": d.get("who_acts"), "started_at": d.get("started_at"),
            "due_at": _iso(due), "due_date": d.get("due_date"), "provisional": d.get("provisional", False),
            "status": d["status"], "met_at": _iso(met), "late_by_seconds": late, "late_by_minutes": _mins(late),
            "escalations": d.get("escalations", 0),
        })
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"deadlines": rows, "counts": counts}


def _mobilisation(status: dict, timeline: list[dict], pv: _PlanView, deadlines: dict[str, dict]) -> dict:
    reported = _t(status.get("reported_at"))
    discovered = _t(status.get("discovered_at"))

    def first(action: str) -> dict | None:
        return next((e for e in timeline if e["action"] == action and not e.get("rejected")), None)

    act, disp, warn = first("activate_response"), first("dispatch"), first("issue_warning")
    act_at, disp_at = (_t(act["at"]) if act else None), (_t(disp["at"]) if disp else None)
    leads = status.get("leads") or ((disp or {}).get("detail") or {}).get("leads") or {}
    groups = [{"group": g, "group_name": pv.group(g), "lead": n} for g, n in leads.items()]
    not_dispatched = [{"group": g, "group_name": pv.group(g)} for g in pv.groups if g not in leads]
    readiness = deadlines.get("readiness")
    detail = (act or {}).get("detail") or {}
    return {
        "warning_issued_at": warn["at"] if warn else None,
        "activated_at": _iso(act_at), "activated_by": _who((act or {}).get("by")),
        "approved_by": detail.get("approved_by"), "activation_level": detail.get("level"),
        "graded_level": status.get("graded_level"), "activation_reason": detail.get("reason"),
        "dispatched_at": _iso(disp_at), "dispatched_by": _who((disp or {}).get("by")),
        **_span("discovered_to_activation", discovered, act_at),
        **_span("report_to_activation", reported, act_at),
        **_span("report_to_dispatch", reported, disp_at),
        **_span("activation_to_dispatch", act_at, disp_at),
        "groups": groups, "not_dispatched": not_dispatched if disp else [],
        "readiness": None if readiness is None else {
            "due_at": readiness.get("due_at"), "status": readiness["status"], "met_at": readiness.get("met_at")},
        "city_started": bool(status.get("city_started")),
    }


def _coordination(status: dict, timeline: list[dict], pv: _PlanView) -> dict:
    linkage = status.get("linkage") or {}
    bulletins, cross, others = [], [], []
    for e in timeline:
        if e.get("rejected"):
            continue
        d = e.get("detail") or {}
        if e["action"] == "linkage_bulletin":
            bulletins.append({"no": d.get("no"), "at": e["at"], "trigger": d.get("trigger"),
                              "recipients": d.get("recipients") or []})
        elif e["action"] == "record_cross_boundary":
            cross.append({"at": e["at"], "by": _who(e.get("by")), "scope": d.get("scope"),
                          "notified": d.get("notified") or []})
        elif e["action"] not in KNOWN_COORDINATION and any(w in e["action"].lower() for w in COORDINATION_WORDS):
            others.append({"at": e["at"], "by": _who(e.get("by")), "action": e["action"], "detail": d})
    support = []
    for q in linkage.get("support_requests") or []:
        answer = q.get("answer") or {}
        asked, answered = _t(q.get("at")), _t(answer.get("at"))
        support.append({"no": q.get("no"), "partner": q.get("partner"), "partner_name": q.get("partner_name"),
                        "request": q.get("request"), "at": _iso(asked), "by": _who(q.get("by")),
                        "answer": answer.get("answer"), "answer_note": answer.get("note"),
                        "answered_at": _iso(answered), **_span("response", asked, answered)})
    joint = linkage.get("joint_investigation")
    proposals = {(e.get("detail") or {}).get("round"): e for e in timeline
                 if e["action"] == "propose_termination" and not e.get("rejected")}
    approvals = {(e.get("detail") or {}).get("round"): e for e in timeline
                 if e["action"] == "approve_termination" and not e.get("rejected")}
    history = status.get("signoff_history") or []
    rounds_n = max([r for r in proposals if isinstance(r, int)] + [s["round"] for s in history] + [0])
    rounds, rejections = [], []
    for n in range(1, rounds_n + 1):
        prop, appr = proposals.get(n), approvals.get(n)
        prop_at = _t(prop["at"]) if prop else None
        signs = []
        for s in (x for x in history if x["round"] == n):
            at = _t(s["at"])
            row = {"round": n, "group": s["group"], "group_name": pv.group(s["group"]), "lead": s["lead"],
                   "by": _who(s.get("by")), "decision": s["decision"], "opinion": s.get("opinion") or "",
                   "at": _iso(at), **_span("after_proposal", prop_at, at)}
            signs.append(row)
            if s["decision"] == "reject":
                rejections.append(row)
        rejected = [s for s in signs if s["decision"] == "reject"]
        approved_all = bool(signs) and not rejected and len({s["group"] for s in signs}) >= 3
        last_sign = max((_t(s["at"]) for s in signs), default=None)
        outcome = "rejected" if rejected else ("approved" if appr else ("signed" if approved_all else "pending"))
        ad = (appr or {}).get("detail") or {}
        rounds.append({
            "round": n, "proposed_at": _iso(prop_at), "proposed_by": _who((prop or {}).get("by")),
            "reason": ((prop or {}).get("detail") or {}).get("reason"), "signoffs": signs,
            "outcome": outcome, "rejected_by": [s["group"] for s in rejected],
            **_span("proposal_to_last_signature", prop_at, last_sign),
            "approved_at": appr["at"] if appr else None, "approved_by": _who((appr or {}).get("by")),
            "instruction": ad.get("instruction"), "city_decision": ad.get("city_decision"),
            **_span("proposal_to_approval", prop_at, _t(appr["at"]) if appr else None),
        })
    city = next((e for e in timeline if e["action"] == "record_city_started"), None)
    activation = next((e for e in timeline if e["action"] == "activate_response"), None)
    city_at = city["at"] if city else (activation["at"] if activation and (activation.get("detail") or {}).get("city_started") else None)
    return {"city_started": bool(status.get("city_started")), "city_started_at": city_at,
            "bulletins": bulletins, "cross_boundary": cross, "support_requests": support,
            "fire_engaged": bool(linkage.get("fire_engaged")),
            "joint_investigation": None if not joint else {
                "at": joint.get("at"), "by": _who(joint.get("by")), "members": joint.get("members") or [],
                "note": joint.get("note")},
            "other_notices": others,
            "termination_rounds": rounds, "rounds": len(rounds), "rejections": rejections,
            "signers": [s for r in rounds for s in r["signoffs"]]}


def _plan_coordination(status: dict, timeline: list[dict]) -> dict:
    """应急预案衔接: how the bureau's plan meshed with the other plans at this level: the city
    government's own plan (started, and its HQ deciding termination, 4.1.2–4.4), the steps that
    are other bodies' acts at the level (plan duties) and whether they were recorded."""
    city = next((e for e in timeline if e["action"] == "record_city_started" and not e.get("rejected")), None)
    act = next((e for e in timeline if e["action"] == "activate_response" and not e.get("rejected")), None)
    city_at = city["at"] if city else (act["at"] if act and (act.get("detail") or {}).get("city_started") else None)
    appr = [e for e in timeline if e["action"] == "approve_termination" and not e.get("rejected")]
    decision = ((appr[-1].get("detail") or {}).get("city_decision")) if appr else None
    others = []
    for d in status.get("duties") or []:
        if d.get("mode") not in ("records", "assists"):
            continue
        rec = (status.get("other_acts") or {}).get(d["step"]) or d.get("recorded_as_other")
        others.append({"step": d["step"], "step_name": STEP_NAMES.get(d["step"], d["step"]), "mode": d["mode"],
                       "body": d.get("body"), "source": d.get("source"),
                       # done by the bureau itself (a IV response it ran through 附件2) needs no record
                       "needed": d["mode"] == "records" and not d.get("done"),
                       "recorded": bool(rec), "document": (rec or {}).get("document"), "at": (rec or {}).get("at"),
                       "recorded_body": (rec or {}).get("body")})
    return {"city_started": bool(status.get("city_started")), "city_started_at": city_at,
            "city_decision": decision, "level": status.get("level") or status.get("graded_level"),
            "other_bodies": others, "duties_known": bool(status.get("duties"))}


def _rescue(status: dict, timeline: list[dict], segments: list[dict], pv: _PlanView) -> dict:
    """应急抢险救援: the on-site disposal and rescue: time on site, the disposal group and its
    lead, rescue forces asked of the linkage partners (协议 二.6) and whether they came, and
    termination rounds sent back on site."""
    on_site = [x for x in segments if x["stage"] == "on_site"]
    seconds = sum(x["duration_seconds"] or 0 for x in on_site)
    leads = status.get("leads") or {}
    support = []
    for q in (status.get("linkage") or {}).get("support_requests") or []:
        support.append({"no": q.get("no"), "partner_name": q.get("partner_name"), "request": q.get("request"),
                        "answer": (q.get("answer") or {}).get("answer")})
    progress = [r for r in status.get("reports") or [] if r.get("kind") == "progress"]
    back = sum(1 for e in timeline if e["action"] == "sign_off" and not e.get("rejected")
               and (e.get("detail") or {}).get("decision") == "reject")
    return {"on_site_visits": len(on_site), "on_site_seconds": seconds if on_site else None,
            "on_site_minutes": _mins(seconds) if on_site else None,
            "disposal_lead": leads.get("disposal"), "disposal_group": pv.group("disposal"),
            "fire_engaged": bool((status.get("linkage") or {}).get("fire_engaged")),
            "rescue_requests": support, "progress_reports": len(progress), "sent_back_on_site": back}


def _level_changes(status: dict) -> dict:
    reported = _t(status.get("reported_at"))
    rows = []
    for c in status.get("level_changes") or []:
        at = _t(c["at"])
        rows.append({"at": _iso(at), "by": _who(c.get("by")), "role": (c.get("by") or {}).get("role"),
                     "from_level": c.get("from_level"), "to_level": c["to_level"], "reason": c.get("reason"),
                     **_span("after_report", reported, at)})
    adjustments = [r for r in rows if r["from_level"] is not None]
    return {"graded_level": status.get("graded_level"), "activated_level": rows[0]["to_level"] if rows else None,
            "final_level": status.get("level"), "changes": rows, "adjustments": len(adjustments)}


# ------------------------------------------------------------------ findings


def _findings(r: dict) -> list[dict]:
    """Each weak point: its area, the finding and the 整改意见和建议 for it."""
    out: list[dict] = []

    def add(area: str, finding: str, advice: str) -> None:
        out.append({"area": area, "area_name": AREAS.get(area, "时限执行" if area == "deadlines" else "响应级别"),
                    "finding": finding, "recommendation": advice})

    # 应急响应程序
    for s in r["response_procedure"]["segments"]:
        if s["within_expectation"] is False:
            state = "至今已用时" if s["ongoing"] else "用时"
            add("response_procedure", f"「{s['stage_name']}」阶段{state}{_dur(s['duration_seconds'])}，"
                f"超出预期（{s['expected']}）{_dur(s['over_by_seconds'])}",
                f"查明「{s['stage_name']}」阶段超时的环节，明确责任人和完成时限")
    for x in r["response_procedure"]["refused_inputs"]:
        add("response_procedure", f"{_hm(x['at'])} {x['by'] or '—'} 的{x['action']}操作被拒绝：{x['reason'] or '—'}",
            "对值守和操作人员开展流程培训，熟悉各阶段可办理的事项")
    # 应急信息处置
    info = r["information"]
    for rep in info["reports"]:
        if rep["late"]:
            add("information", f"初报迟报 {_whole_minutes(rep['late_by_seconds'])} 分钟"
                f"（应于 {_hm(rep['due_at'])} 前报送，实际 {_hm(rep['at'])}）",
                "完善接报核实和初报流程，紧急情况下先电话报告再补书面报告（4.2.2），确保在时限内初报")
    if "initial" in info["missing"]:
        if info["initial_missing_overdue_by_seconds"] is not None:
            finding = f"未报送初报，已超过时限 {_dur(info['initial_missing_overdue_by_seconds'])}"
        else:
            finding = "未报送初报" + (f"（应于 {_hm(info['initial_report_due_at'])} 前）"
                                  if info["initial_report_due_at"] else "")
        add("information", finding, "立即补报初报，并查明未报原因（4.2.2）")
    if "final" in info["missing"] and r["stage"] in ("post_event", "closed"):
        add("information", "应急响应已终止，未报送处理结果报告（4.2）", "事件处理完毕后及时报送处理结果报告（4.2）")
    # 应急预案衔接
    for o in r["plan_coordination"]["other_bodies"]:
        if o["needed"] and not o["recorded"] and r["stage"] in ("post_event", "closed"):
            add("plan_coordination", f"{o['step_name']}为{o['body']}的职责（{o['source']}），尚未登记其办理情况",
                f"与{o['body']}衔接，及时取得并登记其{o['step_name']}文件")
    # 应急力量调动
    mob = r["mobilisation"]
    level = r["level_changes"]["final_level"]
    if mob["dispatched_at"] and level and LEVEL_RANK.get(level, 0) >= LEVEL_RANK["III"] and mob["not_dispatched"]:
        names = "、".join(g["group_name"] for g in mob["not_dispatched"])
        add("mobilisation", f"{level}级响应未调派：{names}（4.1.2(6) 各工作组第一时间赶赴现场）",
            f"按响应级别调派全部工作组，补充{names}的人员和联络方式（4.1.2(6)）")
    # 部门应急协调
    co = r["inter_department"]
    for x in co["rejections"]:
        add("inter_department", f"终止签报第{x['round']}轮被{x['group_name']}否决：{x['opinion']}",
            "提出终止建议前由监测、处置、排查三组会商复核终止条件（4.4, 附件2）")
    for q in co["support_requests"]:
        if q["answer"] is None:
            add("inter_department", f"商请{q['partner_name']}支援（第{q['no']}号，{_hm(q['at'])}）未获答复",
                f"与{q['partner_name']}明确商请的联络人和答复时限（协议 二.6）")
        elif q["answer"] == "declined":
            add("inter_department", f"商请{q['partner_name']}支援（第{q['no']}号）被拒绝：{q['answer_note'] or '未说明'}",
                f"与{q['partner_name']}复核可调派的队伍和装备，准备替代力量")
    if co["fire_engaged"] and not co["joint_investigation"] and r["stage"] in ("post_event", "closed"):
        add("inter_department", "消防部门参与处置，未记录与消防部门的联合调查组（应急联动协议 二.5）",
            "消防部门参与处置时及时成立联合调查组（协议 二.5 及时成立）")
    # 时限执行: deadlines other than the initial report (reported above)
    for d in r["deadlines"]["deadlines"]:
        if d["name"] == "initial_report":
            continue
        who = d.get("who_acts") or "责任单位"
        if d["status"] == "met_late":
            add("deadlines", f"{d['name_zh']}逾期完成 {_whole_minutes(d['late_by_seconds'])} 分钟（{d['source']}）",
                f"由{who}对{d['name_zh']}设专人跟踪，按时完成")
        elif d["status"] == "overdue":
            add("deadlines", f"{d['name_zh']}已逾期 {_whole_minutes(d['late_by_seconds'])} 分钟，尚未完成（{d['source']}）",
                f"由{who}立即完成{d['name_zh']}，并说明逾期原因")
    # 响应级别
    lv = r["level_changes"]
    if lv["changes"]:
        first = lv["changes"][0]
        if lv["graded_level"] and first["to_level"] != lv["graded_level"]:
            add("levels", f"按{first['to_level']}级启动响应，与初判{lv['graded_level']}级不同（{first['reason'] or '未说明理由'}）",
                "复核初判依据（附表1、附表2），启动级别与初判不同时写明理由")
        for c in lv["changes"][1:]:
            add("levels", f"响应级别由{c['from_level']}级调整为{c['to_level']}级（{c['reason'] or '未说明理由'}）",
                "加强事态研判和监测，及早识别需要调整响应级别的情形（4.1.5）")
    return out


# ------------------------------------------------------------------ entry points


def evaluate(status: dict, now: datetime | None = None) -> dict:
    """The after-action evaluation of one incident (a drill) from its status dict.
    `now` (default: the wall clock) measures stages and deadlines still open."""
    as_of = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    timeline = sorted(status.get("timeline") or [], key=lambda e: e.get("seq", 0))
    deadlines = {d["name"]: d for d in status.get("deadlines") or []}
    pv = _PlanView(status)
    report: dict = {
        "drill": bool(status.get("drill")),
        "incident_id": status.get("incident_id"),
        "title": status.get("title"),
        "county": status.get("county"),
        "location": status.get("location"),
        "incident_type": status.get("incident_type"),
        "source": status.get("source"),
        "plan": pv.ref,
        "stage": status.get("stage"),
        "outcome": status.get("outcome"),
        "graded_level": status.get("graded_level"),
        "level": status.get("level"),
        "discovered_at": _iso(_t(status.get("discovered_at"))),
        "reported_at": _iso(_t(status.get("reported_at"))),
        "as_of": _iso(as_of),
        "notes": [],
    }
    report["response_procedure"] = _response_procedure(status, timeline, pv, as_of)
    report["information"] = _information(status, deadlines, as_of)
    report["plan_coordination"] = _plan_coordination(status, timeline)
    report["mobilisation"] = _mobilisation(status, timeline, pv, deadlines)
    report["inter_department"] = _coordination(status, timeline, pv)
    report["rescue"] = _rescue(status, timeline, report["response_procedure"]["segments"], pv)
    report["deadlines"] = _deadlines(status, as_of)
    report["level_changes"] = _level_changes(status)
    report["notes"] = list(pv.notes)
    weak = _findings(report)
    report["findings"] = [w["finding"] for w in weak]
    report["findings_by_area"] = weak
    # 整改意见和建议 (郑安委办〔2017〕43号 四): one per weak point, the same advice given once.
    report["recommendations"] = list(dict.fromkeys(w["recommendation"] for w in weak))
    report["summary"] = {
        "stages": len(report["response_procedure"]["segments"]),
        "stages_over_expectation": sum(1 for s in report["response_procedure"]["segments"]
                                       if s["within_expectation"] is False),
        "reports": len(report["information"]["reports"]),
        "late_reports": sum(1 for x in report["information"]["reports"] if x["late"]),
        "deadlines": len(report["deadlines"]["deadlines"]),
        "deadlines_late": sum(1 for d in report["deadlines"]["deadlines"]
                              if d["status"] in ("met_late", "overdue")),
        "groups_dispatched": len(report["mobilisation"]["groups"]),
        "bulletins": len(report["inter_department"]["bulletins"]),
        "support_requests": len(report["inter_department"]["support_requests"]),
        "termination_rounds": report["inter_department"]["rounds"],
        "rejections": len(report["inter_department"]["rejections"]),
        "level_adjustments": report["level_changes"]["adjustments"],
        "findings": len(report["findings"]),
        "recommendations": len(report["recommendations"]),
    }
    return report


def render_markdown(report: dict) -> str:
    r = report
    mark = "【演练】" if r.get("drill") else "【非演练】"
    lines = [
        f"# {mark}突发环境事件应急演练评估报告",
        "",
        "**演练** — 本报告为应急演练评估（依据：演练结束后对应急响应程序、应急信息处置、应急预案衔接、"
        "应急力量调动、部门应急协调、应急抢险救援等重点环节进行评估分析，针对薄弱环节提出整改意见和建议），"
        "不是真实事件记录。" if r.get("drill") else
        "**注意：本事件未标记为演练。**",
        "",
        "## 一、基本情况",
        "",
        f"- 事件：{r['incident_id']} {r['title']}",
        f"- 地点：{r.get('county') or '—'} {r.get('location') or ''}",
        f"- 发现：{_hm(r['discovered_at'])}　接报：{_hm(r['reported_at'])}　评估截至：{_hm(r['as_of'])}",
        f"- 初判级别：{r.get('graded_level') or '—'}　响应级别：{r.get('level') or '—'}　"
        f"阶段：{STAGE_NAMES.get(r.get('stage'), r.get('stage'))}" + (f"（{r['outcome']}）" if r.get("outcome") else ""),
        f"- 预案：{(r.get('plan') or {}).get('id') or '—'} {(r.get('plan') or {}).get('version') or ''}",
    ]
    lines += [f"- 说明：{n}" for n in r.get("notes") or []]

    rp = r["response_procedure"]
    lines += ["", "## 二、应急响应程序（各阶段用时）", "",
              "| 阶段 | 进入 | 离开 | 用时 | 预期 | 是否超时 |", "|---|---|---|---|---|---|"]
    for s in rp["segments"]:
        ok = "—" if s["within_expectation"] is None else ("否" if s["within_expectation"] else f"超出 {_dur(s['over_by_seconds'])}")
        lines.append(f"| {s['stage_name']} | {_hm(s['entered_at'])} | {_hm(s['left_at']) if s['left_at'] else '进行中'} | "
                     f"{_dur(s['duration_seconds'])} | {s['expected'] or '—'} | {ok} |")
    t = rp["totals"]
    lines += ["", f"发现→接报 {_dur(t['discovered_to_reported_seconds'])}；"
              f"接报→响应终止 {_dur(t['reported_to_terminated_seconds'])}；接报→结束 {_dur(t['reported_to_closed_seconds'])}"]

    info = r["information"]
    lines += ["", "## 三、应急信息处置（信息报告）", "", "| 报告 | 时间 | 报告人 | 发现后 | 时限 | 迟报 |", "|---|---|---|---|---|---|"]
    for x in info["reports"]:
        late = "—" if x["late"] is None else (f"迟报 {_dur(x['late_by_seconds'])}" if x["late"] else "按时")
        lines.append(f"| {x['kind_name']} | {_hm(x['at'])} | {x['by'] or '—'} | {_dur(x['after_discovery_seconds'])} | "
                     f"{_hm(x['due_at']) if x['due_at'] else '—'} | {late} |")
    if not info["reports"]:
        lines.append("| （无） | | | | | |")
    if info["missing"]:
        lines += ["", "缺报：" + "、".join(REPORT_KIND_NAMES.get(k, k) for k in info["missing"])]

    pc = r["plan_coordination"]
    lines += ["", "## 四、应急预案衔接", ""]
    if pc["city_started"]:
        lines.append(f"- 市政府启动本级预案：{_hm(pc['city_started_at'])}"
                     + (f"；市指挥部终止决定：{pc['city_decision']}" if pc["city_decision"] else ""))
    else:
        lines.append("- 市政府未启动本级预案")
    mode_zh = {"records": "由其办理，本局登记", "assists": "由其办理，本局配合/指导"}
    for o in pc["other_bodies"]:
        state = (f"已登记（{o['recorded_body']}，{o['document']}，{_hm(o['at'])}）" if o["recorded"]
                 else ("未登记" if o["needed"] else "未登记（不影响结案）"))
        lines.append(f"- {o['step_name']}：{o['body']}，{mode_zh[o['mode']]}（{o['source']}）— {state}")
    if not pc["duties_known"]:
        lines.append("- 事件未记录分级职责（开始于分级职责之前）")
    status_zh = {"pending": "未到期", "met": "按时完成", "met_late": "逾期完成", "overdue": "已逾期"}

    mob = r["mobilisation"]
    lines += ["", "## 五、应急力量调动", "",
              f"- 启动响应：{_hm(mob['activated_at'])}（{mob['activation_level'] or '—'}级，签发 {mob['approved_by'] or '—'}），"
              f"接报后 {_dur(mob['report_to_activation_seconds'])}",
              f"- 工作组出动：{_hm(mob['dispatched_at'])}，接报后 {_dur(mob['report_to_dispatch_seconds'])}，"
              f"启动后 {_dur(mob['activation_to_dispatch_seconds'])}"]
    if mob["readiness"]:
        lines.append(f"- 应急力量准备（1小时）：{status_zh.get(mob['readiness']['status'], mob['readiness']['status'])}")
    if mob["groups"]:
        lines.append("- 调派：" + "；".join(f"{g['group_name']} {g['lead']}" for g in mob["groups"]))
    if mob["not_dispatched"]:
        lines.append("- 未调派：" + "、".join(g["group_name"] for g in mob["not_dispatched"]))

    co = r["inter_department"]
    lines += ["", "## 六、部门应急协调", ""]
    if co["city_started"]:
        lines.append(f"- 市政府启动响应：{_hm(co['city_started_at'])}")
    for b in co["bulletins"]:
        lines.append(f"- 应急联动信息通报第{b['no']}期：{_hm(b['at'])}（{b['trigger']}）→ {'、'.join(b['recipients'])}")
    for x in co["cross_boundary"]:
        lines.append(f"- 跨区域通报（{x['scope']}）：{_hm(x['at'])} {x['by'] or '—'} → {'、'.join(x['notified'])}")
    answers = {"accepted": "同意", "declined": "拒绝", None: "未答复"}
    for q in co["support_requests"]:
        lines.append(f"- 商请{q['partner_name']}（第{q['no']}号，{_hm(q['at'])}）：{q['request']} — {answers.get(q['answer'], q['answer'])}"
                     + (f"（{_hm(q['answered_at'])}，用时 {_dur(q['response_seconds'])}）" if q["answered_at"] else ""))
    if co["joint_investigation"]:
        j = co["joint_investigation"]
        lines.append(f"- 联合调查组：{_hm(j['at'])}，成员 {'、'.join(j['members'])}")
    for x in co["other_notices"]:
        lines.append(f"- 通报：{_hm(x['at'])} {x['by'] or '—'} {x['action']}")
    for rd in co["termination_rounds"]:
        lines.append(f"- 终止签报第{rd['round']}轮：{_hm(rd['proposed_at'])} 由 {rd['proposed_by'] or '—'} 提出（{rd['reason'] or '—'}）")
        for s in rd["signoffs"]:
            verdict = "同意" if s["decision"] == "approve" else "否决"
            lines.append(f"  - {s['group_name']} {s['lead']} {verdict}（{_hm(s['at'])}）" + (f"：{s['opinion']}" if s["opinion"] else ""))
        if rd["approved_at"]:
            lines.append(f"  - 指挥批示：{rd['approved_by']}（{_hm(rd['approved_at'])}）{rd['instruction'] or ''}"
                         + (f"；市指挥部决定：{rd['city_decision']}" if rd["city_decision"] else ""))
    if len(lines) == lines.index("## 六、部门应急协调") + 2:
        lines.append("- （无记录）")

    rs = r["rescue"]
    lines += ["", "## 七、应急抢险救援", "",
              f"- 现场处置：{rs['on_site_visits']} 次，共 {_dur(rs['on_site_seconds'])}"
              + (f"；终止签报被否决后返回现场 {rs['sent_back_on_site']} 次" if rs["sent_back_on_site"] else ""),
              f"- {rs['disposal_group']}：{rs['disposal_lead'] or '未调派'}；续报 {rs['progress_reports']} 份",
              f"- 消防救援力量参与：{'是' if rs['fire_engaged'] else '否'}"]
    for q in rs["rescue_requests"]:
        lines.append(f"- 商请{q['partner_name']}（第{q['no']}号）：{q['request']} — {answers.get(q['answer'], q['answer'])}")

    dl = r["deadlines"]
    lines += ["", "## 八、时限执行", "", "| 时限 | 到期 | 状态 | 完成 | 逾期 |", "|---|---|---|---|---|"]
    for d in dl["deadlines"]:
        lines.append(f"| {d['name_zh']} | {d['due_date'] or _hm(d['due_at'])} | {status_zh.get(d['status'], d['status'])} | "
                     f"{_hm(d['met_at']) if d['met_at'] else '—'} | {_dur(d['late_by_seconds']) if d['late_by_seconds'] else '—'} |")

    lv = r["level_changes"]
    lines += ["", "## 九、响应级别", "", f"初判 {lv['graded_level'] or '—'} 级，启动 {lv['activated_level'] or '—'} 级，"
              f"现为 {lv['final_level'] or '—'} 级；调整 {lv['adjustments']} 次。"]
    for c in lv["changes"][1:]:
        lines.append(f"- {_hm(c['at'])} {c['by'] or '—'}：{c['from_level']}→{c['to_level']}（{c['reason'] or '—'}）")

    lines += ["", "## 十、发现的问题", ""]
    lines += [f"{i}. 【{w['area_name']}】{w['finding']}" for i, w in enumerate(r["findings_by_area"], 1)] or ["未发现问题。"]
    lines += ["", "## 十一、整改意见和建议", ""]
    lines += [f"{i}. {a}" for i, a in enumerate(r["recommendations"], 1)] or \
        ["本次演练未发现需要整改的薄弱环节；保持现有做法，按计划继续组织演练。"]
    return "\n".join(lines)
