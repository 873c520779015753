"""Grade an incident by the plan's 附表1 (突发环境事件分级标准).

Any one criterion sets the level and the most severe wins (附表1 注②). Bounds follow 注③:
"以上" includes the number (at_least: value >= bound), "以下" excludes it (below: value < bound).
Thresholds come from the plan data, never from this code.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from plan.loader import load_plan
from plan.problems import LABELS, validation_message
from plan.models import Criterion, Level, Plan

__all__ = ["Assessment", "Grading", "classify", "matches", "validation_message"]

# Strict: a count typed as 2.5, "2" or True is a data-entry error, not something to coerce.
Count = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]


class Assessment(BaseModel):
    """What is known about an incident. Omitted fields count as none / zero."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deaths: Count = 0
    poisoned_or_injured: Count = 0
    evacuated: Annotated[int, Field(strict=True, ge=0, le=100_000_000)] = 0
    # Strict float accepts ints but rejects bools and strings.
    direct_loss_yuan: Annotated[float, Field(strict=True, ge=0, le=1e14, allow_inf_nan=False)] = 0
    drinking_water_interrupted: Literal["none", "township", "county", "city"] = "none"
    cross_boundary: Literal["none", "county_dispute", "city", "province"] = "none"
    ecological_impact: Literal[
        "none", "protected_species_damaged", "partial_function_loss", "function_loss_or_extinction"
    ] = "none"


class Grading(BaseModel):
    level: Level
    level_name: str
    reasons: list[str]  # most severe first


def matches(criterion: Criterion, value: object) -> bool:
    """Zero / "none" means nothing reported, so it never matches (a IV row has no lower bound)."""
    if criterion.equals is not None:
        return value != "none" and value == criterion.equals
    if isinstance(value, str):
        return value != "none" and criterion.at_least is None and criterion.below is None
    if not value or value <= 0:
        return False
    if criterion.at_least is not None and value < criterion.at_least:
        return False
    return criterion.below is None or value < criterion.below


def classify(assessment: Assessment, plan: Plan | None = None) -> Grading:
    plan = plan or load_plan().plan
    table = plan.grading
    hits = [c for c in table.criteria if matches(c, getattr(assessment, c.field))]
    if not hits:
        level = table.default_level
        return Grading(level=level, level_name=plan.level(level).name, reasons=[table.default_reason])
    hits.sort(key=lambda c: -c.level.rank)  # stable: table order within a level
    level = hits[0].level
    return Grading(
        level=level,
        level_name=plan.level(level).name,
        reasons=[_reason(plan, c, getattr(assessment, c.field)) for c in hits],
    )


def _reason(plan: Plan, c: Criterion, value: object) -> str:
    # "附表1 较大 3" -> "附表1 较大(III) 3": the plan's own label with the level id added.
    name = plan.level(c.level).name
    label = c.source.replace(f" {name} ", f" {name}({c.level.value}) ", 1)
    if label == c.source:
        label = f"{c.source} ({c.level.value})"
    return f"{label}：{c.text}（{LABELS.get(c.field, c.field).removesuffix('（元）')}：{_show(c.field, value)}）"


# The assessment's values as the start form names them (附表1 wording), for the reasons people read.
VALUE_NAMES = {
    "drinking_water_interrupted": {"township": "乡镇集中式饮用水水源地", "county": "县级城市集中式饮用水水源地",
                                   "city": "设区的市级以上城市集中式饮用水水源地"},
    "cross_boundary": {"county_dispute": "跨县级行政区域纠纷", "city": "跨设区的市级行政区域", "province": "跨省级行政区域"},
    "ecological_impact": {"protected_species_damaged": "国家重点保护的动植物物种受到破坏",
                          "partial_function_loss": "区域生态功能部分丧失",
                          "function_loss_or_extinction": "区域生态功能丧失或国家重点保护物种灭绝"},
}


def _show(field: str, value: object) -> str:
    if isinstance(value, str):
        return VALUE_NAMES.get(field, {}).get(value, value)
    if field == "direct_loss_yuan":  # 附表1 counts in 万元 and 亿元
        return f"{value / 1e8:g}亿元" if value >= 1e8 else f"{value / 1e4:g}万元" if value >= 1e4 else f"{value:g}元"
    return f"{value:g}人" if isinstance(value, (int, float)) else str(value)
