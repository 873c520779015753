"""Per-level duties as plan data: at each level, which steps the bureau performs itself, which
it records as another body's act (who, when, document) and which it only assists.

Pure functions of the plan's (or the pinned snapshot's) `duties`; the workflow reads them
through the snapshot, never the plan file. A plan without duties keeps the old reading: the
bureau performs every step (aftercare excepted, which close never asked for)."""

from __future__ import annotations

from plan.citation import cite
from plan.models import DUTY_STEPS, Duty, Level, LevelDuties

BUREAU = "市生态环境局"
STEP_NAMES = {
    "dispatch": "派遣工作组（4.1, 4.3）", "termination": "响应终止（4.4, 附件2）", "investigation": "事件调查（5.2）",
    "assessment": "损害评估及报告（5.3）", "aftercare": "善后处置（5.1）", "final_report": "处理结果报告",
}
# Modes whose step close waits for: the bureau's own act, or its record of another's.
NEEDED = ("performs", "records")
_DEFAULT_MODE = {"aftercare": "optional"}

DutyTable = dict[Level, dict[str, Duty]]


def table(duties: list[LevelDuties]) -> DutyTable:
    """The plan's list as {level: {step: duty}} (how the snapshot keeps it)."""
    return {d.level: {s.step: s for s in d.steps} for d in duties}


def duty(t: DutyTable, level: Level | str, step: str) -> Duty:
    """The duty of a step at a level; a step the plan does not list is the bureau's own."""
    got = (t or {}).get(Level(level), {}).get(step)
    if got is not None:
        return got
    return Duty(step=step, mode=_DEFAULT_MODE.get(step, "performs"), body=BUREAU,
                source="not in the plan's duties: the bureau's own step (ecoplan default)")


def final_report_required(t: DutyTable, level: Level | str) -> bool:
    """Does close wait for the bureau's 处理结果报告 at this level?"""
    return duty(t, level, "final_report").mode == "performs"


def describe(d: Duty, level: Level | str) -> str:
    """One line for a person: whose act the step is at this level, and the source."""
    lv = Level(level).value
    if d.mode == "performs":
        what = f"{lv}级事件由本局办理"
    elif d.mode == "optional":
        what = f"{lv}级事件由本局视情况办理"
    elif d.mode == "records":
        what = f"{lv}级事件由{d.body}办理，本局登记其办理情况（单位、时间、文件）"
    else:
        what = f"{lv}级事件由{d.body}办理，本局配合、指导"
    return f"{STEP_NAMES.get(d.step, d.step)}：{what}（{cite(d.source)}）"


__all__ = ["BUREAU", "DUTY_STEPS", "NEEDED", "STEP_NAMES", "DutyTable", "describe", "duty",
           "final_report_required", "table"]
