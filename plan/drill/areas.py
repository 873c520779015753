"""The six areas of the drills notice (郑安委办〔2017〕43号 四), each measured from the
incident's status and timeline: response procedure, information, plan coordination,
mobilisation, inter-department coordination, rescue; with the deadlines and level changes."""

from __future__ import annotations

from datetime import datetime

from plan.drill.common import (COORDINATION_WORDS, DEADLINE_NAMES, KNOWN_COORDINATION, STAGE_NAMES, STEP_NAMES,
                               _duration_label, _iso, _mins, _PlanView, _secs, _span, _t, _who)
from plan.incident import REPORT_KIND_NAMES

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
