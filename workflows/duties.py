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
STEP_MISSING = {"investigation": "事件调查尚未完成（5.2）",
                "assessment": "损害评估报告尚未报送（5.3）"}


def level_of(s: m.IncidentState, step: str = "investigation") -> Level:
    """The level a step is read at: the response's for leading and ending it, the event's for
    the rest (investigation 32号令 第四条, assessment 5.3, reports 17号令); one level before the split."""
    return levels.for_step(s, step)


def duty(s: m.IncidentState, step: str):
    """The step's duty at its level (plan duties), unless the investigation was delegated or
    taken over (32号令 第四条 第二款, record_investigation_transfer)."""
    d = plan_duties.duty(s.plan.duties, level_of(s, step), step)
    moved = s.investigation_transfer
    if step == "investigation" and moved and moved["kind"] in TRANSFERRED:
        mode, body = TRANSFERRED[moved["kind"]]
        return d.model_copy(update={"mode": mode, "body": body.format(upper=moved["body"]),
                                    "source": f"32号令 第四条第二款（{moved['document']}）"})
    return d


# How a recorded transfer changes whose act the investigation is: delegated to the bureau, it is
# the bureau's own; taken over by the upper department, the bureau records that department's act.
TRANSFERRED = {"delegated": ("performs", plan_duties.BUREAU + "（受{upper}委托）"),
               "taken_over": ("records", "{upper}")}


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
            out.append(f"尚未登记{plan_duties.describe(d, level_of(s, step))}")
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


def awaits_activation(s: m.IncidentState) -> bool:
    """The incident waits for the 总指挥 to approve its response (附件1 经局突发环境事件应急指挥部总指挥批准):
    open, not yet activated, in a stage that allows the activation (reported, warning), and at its
    level the response is the bureau's own, read from the plan's duties: the bureau ends it
    (termination performs: 4.4 经局指挥部批准). At IV the county government leads the response and
    ends it (4.1.1 由事发地县（区）级人民政府负责事件应对工作; termination records): no approval of the
    总指挥 is asked there, so nothing waits for one."""
    if s.plan is None or s.outcome is not None or s.level is not None or s.stage not in ("reported", "warning"):
        return False
    return duty(s, "termination").mode == "performs"
