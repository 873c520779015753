"""The incident view's parts about its levels (workflows/incident_view.py): the initial grading
(附表1), the response level's changes (4.1.5), and since issue 24 the event's own level (事件等级:
graded, 初步认定, 核定) beside the response's (响应级别). Pure pydantic."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from workflows.view_base import ActorView, Level, View


class GradingView(View):
    """The initial grading (初判) of the report's assessment against the plan's table (附表1)."""

    level: Level = Field(description="the graded level: I 特别重大, II 重大, III 较大, IV 一般")
    level_name: str = Field(description="the level's name in the plan, e.g. 较大")
    reasons: list[str] = Field(description="the table rows that matched, most severe first (or the default reason)")


class LevelChangeView(View):
    """One change of the response level: the activation (from_level null) or an adjustment (4.1.5)."""

    at: datetime = Field(description="when it was decided (business time)")
    by: ActorView = Field(description="who entered it")
    from_level: Level | None = Field(description="the level before; null for the activation")
    to_level: Level = Field(description="the level from then on")
    reason: str | None = Field(description="why (required when the level differs from the graded one)")


class EventLevelChangeView(View):
    """One step of the event level's history: graded from 附表1, then each 初步认定 or 核定."""

    at: datetime = Field(description="when it was judged (business time; the report's time for the grading)")
    by: ActorView | None = Field(description="who judged it; null for the grading when the incident was opened")
    from_level: Level | None = Field(description="the level before; null for the grading")
    to_level: Level = Field(description="the level from then on")
    kind: Literal["graded", "preliminary", "confirmed"] = Field(description="graded (附表1分级), preliminary (初步认定, "
                                                                            "17号令 第三条) or confirmed (核定)")
    reason: str | None = Field(description="why: the table row, or the reason given")


class LevelsView(View):
    """The two levels (issue 24): the event's, which reporting (17号令 第三条), the investigation (32号令
    第四条) and the assessment (5.3) follow, and the response's, which who leads and who ends it follow."""

    event_level: Level = Field(description="事件等级: as the bureau last judged it, else as graded")
    event_level_name: str = Field(description="its name in the plan, e.g. 一般")
    event_level_kind: Literal["graded", "preliminary", "confirmed"] = Field(description="how it stands: graded, "
                                                                                        "preliminary or confirmed")
    event_level_changes: list[EventLevelChangeView] = Field(description="the grading and every 初步认定 and 核定")
    response_level: Level | None = Field(description="响应级别 in force (= level); null before activation")
    response_note: str = Field(description="how the response stands to the event: 与事件等级相同, 提高（理由…）, 未启动")
    line: str = Field(description="both for a person: 事件等级 Ⅳ级（初步认定） · 响应级别 Ⅱ级（提高，理由：…）")
