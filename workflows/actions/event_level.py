"""The event's own level (事件等级), apart from the response's (issue 24): the bureau's 初步认定
(17号令 第三条 ties the 初报's deadline and recipients to it) and its 核定 once the facts are
established (2.3(四) 由指挥部确定突发环境事件的等级). The investigating body (32号令 第四条) and
the assessing body (5.3) follow it too (workflows/levels.py)."""

from __future__ import annotations

import workflows.levels as levels
import workflows.messages as m
import workflows.reporting as reporting
from workflows.actions.form import LEVELS, FormField as F
from workflows.actions.offers import event_level_judged
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.lifecycle import OPEN
from workflows.timeline import short


def check_event_level(s, inp: m.DetermineEventLevel, at, now) -> Checked:
    if not s.levels_split:
        raise Refused("本事件立案时只有一个级别（响应级别），事件等级不单独认定；请以调整响应级别（4.1.5）办理", "invalid")
    kind = "confirmed" if inp.final else "preliminary"
    if s.event_level_kind == "confirmed" and not inp.final:
        raise Refused(f"事件等级已核定为{levels.roman(s.event_level)}，不再初步认定；如核定有误，请重新核定", "conflict")
    if inp.level == s.event_level and kind == s.event_level_kind:
        raise Refused(f"事件等级已{levels.KIND_NAMES[kind]}为{levels.roman(inp.level)}", "conflict")
    return Checked(at, kind)


def apply_event_level(rec, inp: m.DetermineEventLevel, got: Checked, _prepared) -> str:
    s, at, kind = rec.s, got.at, got.value
    old = levels.event_level(s)
    s.event_level, s.event_level_kind = inp.level, kind
    s.event_level_changes.append(m.EventLevelChange(at=at, by=inp.by, from_level=old, to_level=inp.level,
                                                    kind=kind, reason=inp.reason))
    what = levels.KIND_NAMES[kind]
    rec.transition("determine_event_level", at, inp, {
        "kind": kind, "from_level": old.value, "to_level": inp.level.value, "reason": short(inp.reason),
        "levels": levels.line(s)})
    rec.notify("event_level_determined", f"事件等级{what}为{levels.roman(inp.level)}：{s.report.title}",
               reporting.recipients(s), {"kind": kind, "level": inp.level.value, "from_level": old.value})
    note = reporting.follow_level(rec, f"event level {old.value} → {inp.level.value} ({kind})")
    if s.level is not None and s.level.rank < inp.level.rank:
        note += f"；响应级别{levels.roman(s.level)}低于事件等级，请按4.1调整响应级别"
    return f"事件等级{what}为{levels.roman(inp.level)}（原{levels.roman(old)}）；{levels.line(s)}{note}"


ACTIONS = [
    ActionSpec(
        name="determine_event_level", input=m.DetermineEventLevel, title="认定/核定事件等级",
        source="17号令 第三条；2.3（四）；附表1",
        moves=({"trigger": "determine_event_level", "source": OPEN, "dest": None},),
        check=check_event_level, apply=apply_event_level, offers=event_level_judged,
        form=lambda plan, st, u: [
            F("level", "事件等级", "select", True, LEVELS),
            F("final", "核定（不勾选为初步认定）", "checkbox"),
            F("reason", "依据（附表1的情形、监测数据、损失核定等）", "textarea", True)],
        cli="event-level", cli_help="认定事件等级：初步认定，或以 --final 核定（17号令 第三条；2.3（四））。",
        cli_options=(O("--level", "level", required=True, help="事件等级：I–IV"),
                     O("--final", "final", "flag", help="核定（默认：初步认定）", default=False),
                     O("--reason", "reason", required=True, help="依据"))),
]
