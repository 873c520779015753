"""evaluate(): the after-action evaluation of one incident, from its status."""

from __future__ import annotations

from datetime import datetime

from plan.calendar import SHANGHAI
from plan.drill.areas import (_coordination, _deadlines, _information, _level_changes, _mobilisation,
                              _plan_coordination, _rescue, _response_procedure)
from plan.drill.common import _iso, _PlanView, _t
from plan.drill.findings import findings


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
    weak = findings(report)
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
