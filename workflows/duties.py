"""Per-level duties in a running incident (plan.duties, through the pinned snapshot): whose
act each step is at the incident's level, whether it is done or recorded as another body's
act, and what the close still waits for. Pure functions of the state."""

from __future__ import annotations

import plan.duties as plan_duties
from plan.models import Level
import workflows.levels as levels
import workflows.messages as m

# What meets each post-event step the bureau performs (or records as another body's act).
STEP_DONE = {"investigation": "investigation_completed", "assessment": "assessment_report_submitted"}
STEP_MISSING = {"investigation": "the investigation is not complete (5.2)",
                "assessment": "the assessment report is not submitted (5.3)"}


def level_of(s: m.IncidentState, step: str = "investigation") -> Level:
    """The level a step is read at: the response's for leading and ending it, the event's for
    the rest (investigation 32号令 第四条, assessment 5.3, reports 17号令); one level before the split."""
    return levels.for_step(s, step)


def duty(s: m.IncidentState, step: str):
    """The step's duty at its level (plan duties)."""
    return plan_duties.duty(s.plan.duties, level_of(s, step), step)


def describe(s: m.IncidentState, step: str) -> str:
    return plan_duties.describe(duty(s, step), level_of(s, step))


def is_others(s: m.IncidentState, step: str) -> bool:
    """The step is another body's act at this level (the bureau records or assists)."""
    return duty(s, step).mode in ("records", "assists")


def step_done(s: m.IncidentState, step: str) -> bool:
    if step in s.other_acts:
        return True
    if step == "dispatch":
        return "dispatched" in s.events
    if step == "termination":
        return "response_terminated" in s.events
    if step == "aftercare":
        return bool(s.aftercare)
    if step == "final_report":
        return s.reports_count.get("final", 0) > 0
    return STEP_DONE[step] in s.events


def close_missing(s: m.IncidentState) -> list[str]:
    """The post-event steps close waits for at the incident's level (plan duties): the bureau's own
    (performs) and other bodies' acts it must record (records). The final report (处理结果报告) is
    left to the reporting rules: plan.duties.final_report_required says whether a level needs it."""
    out = []
    for step in ("investigation", "assessment"):
        d = duty(s, step)
        if d.mode == "performs" and not step_done(s, step):
            out.append(STEP_MISSING[step])
        elif d.mode == "records" and not step_done(s, step):
            out.append(f"{plan_duties.describe(d, level_of(s, step))} is not recorded yet")
    return out


def duties_view(s: m.IncidentState) -> list[dict]:
    """What `status` shows: at the incident's level, whose act each step is, its source, and
    whether it is done (by the bureau) or recorded (as another body's act)."""
    if s.plan is None:
        return []
    out = []
    for step in plan_duties.DUTY_STEPS:
        d, level = duty(s, step), level_of(s, step)
        other = s.other_acts.get(step)
        out.append({"step": step, "name": plan_duties.STEP_NAMES[step], "mode": d.mode, "body": d.body,
                    "source": d.source, "level": level.value,
                    "needed_to_close": step in STEP_DONE and d.mode in plan_duties.NEEDED,
                    "done": step_done(s, step), "recorded_as_other": other})
    return out
