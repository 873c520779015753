"""The response (4.1): activation (附件1), the city government's own start, level changes
(4.1.5) and the work groups' dispatch."""

from __future__ import annotations

import workflows.deadlines as deadlines
import workflows.levels as levels
import workflows.messages as m
import workflows.reporting as reporting
import workflows.actions.linkage as linkage
import workflows.actions.termination as termination
from workflows.actions.common import approver, known_group
from workflows.actions.form import LEVELS, FormField as F
from workflows.actions.spec import ActionSpec, Checked, CliOption as O
from workflows.errors import Refused
from workflows.lifecycle import RESPONSE
from workflows.timeline import short


def _response_deadlines(s, start, level) -> list:
    return [(n, start, level) for n in deadlines.started_on(s, "response_activated")]


# ------------------------------------------------------------------ activate_response (4.1, 附件1)

def check_activate(s, inp: m.ActivateResponse, at, now) -> Checked:
    graded = levels.event_level(s) if s.levels_split else s.grading.level
    level = inp.level or graded
    below = levels.below_event(s, level)
    if below:
        raise Refused(below, "invalid")
    if level != graded and not (inp.reason or "").strip():
        raise Refused(f"响应级别 {level.value} 级与分级结果 {graded.value} 级不同：请写明理由（4.1.5）", "invalid", "reason")
    approver(s, "activate_response", inp)
    return Checked(at, level)


def apply_activate(rec, inp: m.ActivateResponse, got: Checked, prepared: dict) -> str:
    s, at, level = rec.s, got.at, got.value
    graded = s.grading.level
    event = levels.event_level(s)
    s.level = level
    s.level_changes.append(m.LevelChange(at=at, by=inp.by, from_level=None, to_level=level, reason=inp.reason))
    s.city_started = inp.city_started
    # 附件1 经总指挥批准: the approving account, not the one who typed it
    who = approver(s, "activate_response", inp)
    approved_by = who.display or who.name
    entry = rec.transition("activate_response", at, inp, {
        "level": level.value, "graded_level": graded.value, "reason": short(inp.reason),
        "approved_by": approved_by, "city_started": inp.city_started,
        "approver": who.model_dump(exclude_none=True),
        **({"event_level": event.value, "levels": levels.line(s)} if s.levels_split else {})})
    brief = s.plan.levels[level]
    r = s.report
    rec.document("activation_notice", {
        "plan_title": s.plan.title, "plan_document_number": s.plan.document_number,
        "approved_by": approved_by, "discovered_at": r.discovered_at.isoformat(),
        "county": r.county, "location": r.location, "title": r.title, "level": level.value,
        "level_name": brief.name, "graded_level": graded.value, "reason": inp.reason,
        "at": at.isoformat(), **({"event_level": event.value, "levels": levels.line(s)} if s.levels_split else {})},
        entry.seq)
    rec.render("activation_notice", entry.seq)
    recipients = list(s.plan.report_recipients)
    if brief.asks_city_to_start:
        recipients.append("市突发环境事件应急指挥部")  # 4.1.2(1): ask the city HQ to start its plan
    rec.notify("response_activated", f"启动{brief.response_name}：{r.title}", recipients,
               {"level": level.value, "city_started": inp.city_started})
    linkage.bulletin(rec, "response_activated", at)
    notes = rec.start_deadlines(_response_deadlines(s, at, level), prepared)
    return (f"已启动{brief.response_name}（{brief.name}）{notes}"
            f"{reporting.follow_level(rec, f'activated at level {level.value}')}")


# ------------------------------------------------------------------ record_city_started (4.1.2–4.1.4)

def check_city_started(s, inp, at, now) -> Checked:
    if s.city_started:
        raise Refused("已登记过：市政府已启动响应")
    return Checked(at)


def apply_city_started(rec, inp: m.RecordCityStarted, got: Checked, _prepared) -> str:
    rec.s.city_started = True
    rec.transition("record_city_started", got.at, inp, {"note": short(inp.note)})
    decides = ("响应终止由市指挥部决定（4.4）" if rec.s.plan.termination.city_decides_when_city_started
               else "本预案规定响应终止仍由局指挥部决定")
    return f"已登记市政府启动响应；{decides}"


# ------------------------------------------------------------------ adjust_level (4.1.5)

def check_adjust(s, inp: m.AdjustLevel, at, now) -> Checked:
    if inp.level == s.level:
        raise Refused(f"响应已是 {inp.level.value} 级")
    below = levels.below_event(s, inp.level)
    if below:
        raise Refused(below, "invalid")
    return Checked(at)


def starts_adjust(s, inp: m.AdjustLevel, got: Checked) -> list:
    return [x for x in _response_deadlines(s, got.at, inp.level) if not any(d.name == x[0] for d in s.deadlines)]


def apply_adjust(rec, inp: m.AdjustLevel, got: Checked, prepared: dict) -> str:
    s, at = rec.s, got.at
    old = s.level
    s.level = inp.level
    s.level_changes.append(m.LevelChange(at=at, by=inp.by, from_level=old, to_level=inp.level, reason=inp.reason))
    rec.transition("adjust_level", at, inp, {"from_level": old.value, "to_level": inp.level.value,
                                             "reason": short(inp.reason),
                                             **({"levels": levels.line(s)} if s.levels_split else {})})
    rec.notify("level_adjusted", f"响应级别调整 {old.value}→{inp.level.value}：{s.report.title}",
               s.plan.report_recipients, {"reason": inp.reason})
    notes = rec.start_deadlines(starts_adjust(s, inp, got), prepared)
    return (f"响应级别已由 {old.value} 级调整为 {inp.level.value} 级（4.1.5）{notes}"
            f"{reporting.follow_level(rec, f'level {old.value} → {inp.level.value}')}")


# ------------------------------------------------------------------ dispatch (2.3, 4.3)

def check_dispatch(s, inp: m.Dispatch, at, now) -> Checked:
    for g in inp.leads:
        known_group(s, g)
    signatories = termination.signatories(s)
    missing = [g for g in signatories if g not in inp.leads]
    if missing:
        names = s.plan.groups
        raise Refused(f"请写明{'、'.join(names.get(g, g) for g in missing)}组长：{'、'.join(names.get(g, g) for g in signatories)}"
                      "须派出（其组长签署终止签报，附件2）", "invalid")
    return Checked(at)


def apply_dispatch(rec, inp: m.Dispatch, got: Checked, _prepared) -> str:
    s = rec.s
    s.leads = {g: name.strip() for g, name in inp.leads.items()}
    entry = rec.transition("dispatch", got.at, inp, {"leads": s.leads})
    rec.event("dispatched", got.at, entry)
    rec.notify("groups_dispatched", f"工作组出动：{s.report.title}",
               [f"{s.plan.groups.get(g, g)} {n}" for g, n in s.leads.items()], {"leads": s.leads})
    return f"已派出 {len(s.leads)} 个工作组，进入现场处置"


def _dispatch_form(plan, st, username) -> list[F]:
    groups = {g.id: g.name for g in plan.groups}
    return [F(f"leads.{g}", f"{groups[g]}组长（用户名）", required=g in plan.termination.signatories) for g in groups]


ACTIONS = [
    ActionSpec(
        name="activate_response", input=m.ActivateResponse, title="启动应急响应", source="4.1、附件1",
        moves=({"trigger": "activate_response", "source": ["reported", "warning"], "dest": "responding"},),
        check=check_activate, apply=apply_activate,
        starts=lambda s, inp, got: _response_deadlines(s, got.at, got.value),
        form=lambda plan, st, u: [
            F("level", "响应级别（默认按附表1分级）", "select", options=(("", "按分级"),) + LEVELS),
            F("reason", "级别与分级不同时的理由（4.1.5）", "textarea"),
            F("city_started", "市政府已启动响应", "checkbox"),
            F("approved_by", "批准的总指挥（用户名；附件1 经总指挥批准，值班员登记时必填，总指挥本人办理时留空）")],
        cli="activate", cli_help="按级别启动应急响应（4.1）。",
        cli_options=(O("--level", "level", help="响应级别 I–IV（默认：分级结果）"),
                     O("--reason", "reason", help="不按分级结果启动的理由（4.1.5）"),
                     O("--city-started", "city_started", "flag", help="市人民政府已启动响应",
                       default=False),
                     O("--approved-by", "approver", "approver", help="批准的总指挥（附件1），代为登记时填写"
                       "（此时 --as 默认为 duty_officer）"))),
    ActionSpec(
        name="record_city_started", input=m.RecordCityStarted, title="登记市政府启动响应", source="4.1.2–4.1.4、4.4",
        moves=({"trigger": "record_city_started", "source": RESPONSE + ["termination_pending"], "dest": None},),
        check=check_city_started, apply=apply_city_started,
        form=lambda plan, st, u: [F("note", "说明", "textarea")],
        cli="city-started", cli_help="登记市人民政府启动响应（4.1.2–4.1.4，4.4）。",
        cli_options=(O("--note", "note", default="", help="说明"),)),
    ActionSpec(
        name="adjust_level", input=m.AdjustLevel, title="调整响应级别", source="4.1.5",
        moves=({"trigger": "adjust_level", "source": RESPONSE, "dest": None},),
        check=check_adjust, apply=apply_adjust, starts=starts_adjust,
        form=lambda plan, st, u: [F("level", "调整为", "select", True, LEVELS), F("reason", "理由（4.1.5）", "textarea", True)],
        cli="adjust-level", cli_help="调整响应级别（4.1.5）。",
        cli_options=(O("--level", "level", required=True, help="调整为的响应级别 I–IV"),
                     O("--reason", "reason", required=True, help="调整理由（4.1.5）"))),
    ActionSpec(
        name="dispatch", input=m.Dispatch, title="派出工作组", source="2.3、4.3",
        moves=({"trigger": "dispatch", "source": "responding", "dest": "on_site"},),
        check=check_dispatch, apply=apply_dispatch, form=_dispatch_form, names_accounts={"leads": "sign_off"},
        cli="dispatch", cli_help="派出各工作组并指定组长（2.3，4.3），进入现场处置。",
        cli_options=(O("--lead", "leads", "pairs", required=True, value="GROUP=NAME",
                       help="工作组=组长，如 monitoring=张三，可重复；monitoring、disposal、investigation 三组必填"),)),
]
