"""The incident's two levels (issue 24): the event's level (事件等级: graded from 附表1, then
初步认定 and 核定 by the bureau) and the response's level (响应级别: the activation and its
4.1.5 adjustments). Reporting (17号令 第三条), the investigating body (32号令 第四条) and the
assessing body (5.3) follow the event's level; who leads and who ends the response (4.1,
4.4) follow the response's. Pure functions of the state.

An incident opened before the split (`levels_split` false) keeps one level for everything,
the response level once activated, so its recorded history replays as it ran."""

from __future__ import annotations

from plan.models import Level
import workflows.messages as m

ROMAN = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ"}
KIND_NAMES = {"graded": "附表1分级", "preliminary": "初步认定", "confirmed": "核定"}
# Steps that are the response's (who leads it, who ends it); the others are the event's.
RESPONSE_STEPS = ("dispatch", "termination")
# Deadlines that run at the response's level (4.1.2(4) readiness); the others at the event's.
RESPONSE_DEADLINES = ("readiness",)


def event_level(s: m.IncidentState) -> Level:
    """The event's level: as the bureau last judged it, else as graded (附表1)."""
    if not s.levels_split:
        return s.level or s.grading.level
    return s.event_level or s.grading.level


def response_level(s: m.IncidentState) -> Level:
    """The response's level; before activation, the level it would start at (the event's)."""
    return s.level or event_level(s)


def for_step(s: m.IncidentState, step: str) -> Level:
    """The level a duty step is read at (plan duties)."""
    return response_level(s) if step in RESPONSE_STEPS else event_level(s)


def for_deadline(s: m.IncidentState, name: str) -> Level:
    return response_level(s) if name in RESPONSE_DEADLINES else event_level(s)


def roman(level: Level | str) -> str:
    return ROMAN[Level(level).value] + "级"


def response_note(s: m.IncidentState) -> str:
    """How the response level stands to the event's: 同级, or 提高 with the reason given (4.1.5)."""
    if s.level is None:
        return "未启动"
    ev = event_level(s)
    if s.level == ev:
        return "与事件等级相同"
    reason = next((c.reason for c in reversed(s.level_changes) if c.to_level == s.level and c.reason), None)
    how = "提高" if s.level.rank > ev.rank else "低于事件等级"
    return f"{how}，理由：{reason}" if reason else how


def line(s: m.IncidentState) -> str:
    """事件等级 Ⅳ级（初步认定） · 响应级别 Ⅱ级（提高，理由：…）"""
    kind = KIND_NAMES[s.event_level_kind or "graded"]
    event = f"事件等级 {roman(event_level(s))}（{kind}）"
    if s.level is None:
        return f"{event} · 响应级别 未启动"
    return f"{event} · 响应级别 {roman(s.level)}（{response_note(s)}）"


def open_event_level(s: m.IncidentState) -> None:
    """At the start: the event's level is the grading's (附表1), its history's first step."""
    s.levels_split = True
    s.event_level, s.event_level_kind = s.grading.level, "graded"
    s.event_level_changes = [m.EventLevelChange(at=s.report.reported_at, by=None, from_level=None,
                                                to_level=s.grading.level, kind="graded",
                                                reason="；".join(s.grading.reasons[:1]) or None)]


def lowest_response(s: m.IncidentState) -> Level | None:
    """The lowest response level allowed now: the event's (4.1 分级响应; 4.1.5 only raises)."""
    return event_level(s) if s.levels_split else None


def below_event(s: m.IncidentState, level: Level) -> str | None:
    """The refusal for a response below the event's level, in one sentence; None if allowed."""
    low = lowest_response(s)
    if low is None or level.rank >= low.rank:
        return None
    kind = KIND_NAMES[s.event_level_kind or "graded"]
    return (f"响应级别不能低于事件等级：事件等级为{roman(low)}（{kind}），按预案4.1分级响应应启动{roman(low)}及以上响应，"
            f"4.1.5只允许视情适当提高响应级别，不能降低")
