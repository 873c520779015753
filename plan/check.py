"""Check a plan file beyond what the schema enforces: the things a reviewer of a transcribed
plan would otherwise have to verify by hand. Never raises: problems are returned.
Every message is in the plan's Chinese (an administrator reads them, issue 22); identifiers that
name the data (field paths, YAML keys, deadline and action names) stay as written."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel

from plan.check_law import law_problems
from plan.grading import Assessment
from plan.loader import PLANS_DIR, LoadedPlan, PlanError, load_plan
from plan.models import DeadlineName, Duration, GradingTable, Level, Plan, Stage

NUMERIC = ("deaths", "poisoned_or_injured", "evacuated", "direct_loss_yuan")


# How `ecoplan plan check` names each severity on its lines (the JSON keeps the identifier).
SEVERITY_NAMES = {"error": "错误", "warning": "警告", "info": "提示"}


class Problem(BaseModel):
    severity: Literal["error", "warning", "info"]  # info: listed for the reviewer (local choices)
    # `ecoplan plan check` prints it as SEVERITY_NAMES[severity]
    where: str
    message: str


def check_plan(ref: str | Path | None = None) -> tuple[LoadedPlan | None, list[Problem]]:
    try:
        loaded = load_plan(ref)
    except Exception as e:  # noqa: BLE001 - a checker reports, it does not crash
        message = str(e) if isinstance(e, PlanError) else f"预案无法加载（{type(e).__name__}）：{e}"
        return None, [_err(str(ref or "默认预案"), message)]
    plan = loaded.plan
    problems: list[Problem] = []
    problems += _sources(plan)
    problems += _criteria_shape(plan.grading, "grading")
    problems += _criteria_shape(plan.response_conditions, "response_conditions")
    problems += _contiguous(plan.grading)
    problems += _conditions_vs_grading(plan)
    problems += _levels(plan)
    problems += _deadlines(plan)
    problems += _stages(plan)
    problems += _bases(plan)
    problems += law_problems(plan, lambda sev, where, msg: Problem(severity=sev, where=where, message=msg))
    path = Path(loaded.path)
    if path.parent.resolve() == PLANS_DIR.resolve() and path.stem != plan.id:
        problems.append(_err("id", f"随附预案文件 {path.name} 的 id 为 {plan.id}：随附预案按文件名查找，"
                                   "id 应与文件名一致"))
    return loaded, problems


def _err(where: str, message: str) -> Problem:
    return Problem(severity="error", where=where, message=message)


def _warn(where: str, message: str) -> Problem:
    return Problem(severity="warning", where=where, message=message)


def _sources(obj: object, where: str = "") -> list[Problem]:
    """Every `source` / `*_source` must say where the rule comes from."""
    out: list[Problem] = []
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            value, path = getattr(obj, name), f"{where}.{name}".lstrip(".")
            if (name == "source" or name.endswith("_source")) and not str(value).strip():
                out.append(_err(path, "来源为空：请写明预案章节或规定"))
            out += _sources(value, path)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            out += _sources(item, f"{where}.{i}")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            out += _sources(item, f"{where}.{getattr(key, 'value', key)}")
    return out


def _criteria_shape(table: GradingTable, name: str) -> list[Problem]:
    out = []
    for i, c in enumerate(table.criteria):
        where = f"{name}.criteria.{i}"
        if c.field in NUMERIC:
            if c.equals is not None:
                out.append(_err(where, f"{c.field} 为数值字段：应使用 at_least/below，而不是 equals"))
            if c.at_least is not None and c.below is not None and c.at_least >= c.below:
                out.append(_err(where, f"at_least {c.at_least:g} 不小于 below {c.below:g}"))
        else:
            allowed = [v for v in get_args(Assessment.model_fields[c.field].annotation)
                       if v != "none"]
            if c.at_least is not None or c.below is not None:
                out.append(_err(where, f"{c.field} 为分类字段：应使用 equals，而不是 at_least/below"))
            if c.equals is not None and c.equals not in allowed:
                out.append(_err(where, f"{c.field} 的 equals 值 {c.equals} 不在可选值之内：应为 {'、'.join(allowed)} 之一"))
    return out


def _by_level(table: GradingTable, field: str) -> dict[Level, list]:
    rows: dict[Level, list] = {}
    for c in table.criteria:
        if c.field == field:
            rows.setdefault(c.level, []).append(c)
    return dict(sorted(rows.items(), key=lambda kv: -kv[0].rank))  # most severe first


def _contiguous(table: GradingTable) -> list[Problem]:
    """附表1's ranges must tile 0..∞ per field, or some values would grade wrongly or not at all."""
    out = []
    for field in NUMERIC:
        rows = _by_level(table, field)
        if any(len(r) > 1 for r in rows.values()):
            out.append(_err(f"grading.{field}", "同一级别有多行"))
            continue
        chain = [(lvl, r[0]) for lvl, r in rows.items()]
        if chain and chain[0][1].below is not None:
            top_level, top = chain[0]
            out.append(_err(f"grading.{top_level.value}.{field}",
                            f"最严重级别的一行设有上限（{top.below:g}）：更大的数值不属于任何级别"))
        for (hi_lvl, hi), (lo_lvl, lo) in zip(chain, chain[1:]):
            if lo.below != hi.at_least:
                out.append(_err(f"grading.{lo_lvl.value}.{field}",
                                f"{lo_lvl.value}级的 below={_n(lo.below)} 与 "
                                f"{hi_lvl.value}级的 at_least={_n(hi.at_least)} 不衔接"))
    return out


def _conditions_vs_grading(plan: Plan) -> list[Problem]:
    """附表2 should repeat 附表1's bounds; where it does not, say so (grading follows 附表1)."""
    out = []
    cond, grad = plan.response_conditions, plan.grading
    for field in NUMERIC:
        graded = _by_level(grad, field)
        for lvl, rows in _by_level(cond, field).items():
            if lvl not in graded:
                continue
            a, b = rows[0], graded[lvl][0]
            for bound in ("at_least", "below"):
                x, y = getattr(a, bound), getattr(b, bound)
                if x != y:
                    out.append(_warn(
                        f"response_conditions.{lvl.value}.{field}",
                        f"{cond.source} {lvl.value}级 {field} {bound}={_n(x, field)} "
                        f"与 {grad.source} {lvl.value}级 {bound}={_n(y, field)} 不一致；"
                        f"分级以{grad.source}为准",
                    ))
    return out


def _n(value: float | None, field: str = "") -> str:
    if value is None:
        return "无"
    text = f"{value:g}" if value < 1e6 else str(int(value))
    if field == "direct_loss_yuan" and value >= 10_000:
        text += f" ({value / 10_000:g}万元)"
    return text


def _levels(plan: Plan) -> list[Problem]:
    return [
        _err(f"levels.{lv.id.value}.builds_on",
             f"{lv.id.value}级以 {lv.builds_on.value}级为基础（builds_on），但{lv.builds_on.value}级并不比它轻")
        for lv in plan.levels
        if lv.builds_on is not None and lv.builds_on.rank >= lv.id.rank
    ]


def _deadlines(plan: Plan) -> list[Problem]:
    out = []
    for d in plan.deadlines:
        where = f"deadlines.{d.name}"
        if d.levels:
            extra = [l.value for l in d.by_level if l not in d.levels]
            if extra:
                out.append(_err(f"{where}.by_level",
                                f"级别 {'、'.join(extra)} 不在该期限的 levels 之内"))
        for lvl, dur in [(None, d.duration), *d.by_level.items()]:
            for r in d.reminders:
                if _same_unit_not_shorter(r, dur):
                    at = f"（{lvl.value}级）" if lvl else ""
                    out.append(_err(f"{where}.reminders",
                                    f"到期前 {r.label()} 的提醒不短于期限 {dur.label()}{at}"))
        if not d.escalation.notify:
            out.append(_err(f"{where}.escalation.notify", "逾期时无人可通知"))
    missing = [n for n in get_args(DeadlineName) if plan.deadline(n) is None]
    if missing:
        out.append(_warn("deadlines", f"缺少以下期限的规则：{'、'.join(missing)}"))
    return out


def _same_unit_not_shorter(a: Duration, b: Duration) -> bool:
    for unit in ("hours", "days", "working_days"):
        x, y = getattr(a, unit), getattr(b, unit)
        if x is not None and y is not None:
            return x >= y
    return False


# Words in a `source` that say the rule is not the plan's or the law's: it must carry a
# local_choice basis (or, for a Cited rule, `local_choice`).
LOCAL_WORDS = ("ecoplan default", "not in the plan")


def _bases(plan: Plan) -> list[Problem]:
    """Where each rule stands: repealed bases (warning), local choices and adopted rules (info),
    and local choices nobody marked (warning)."""
    out: list[Problem] = []
    items = [(f"deadlines.{d.name}", d) for d in plan.deadlines]
    items += [(f"stage_expectations.{e.stage}", e) for e in plan.stage_expectations]
    if plan.linkage is not None:
        items.append(("linkage", plan.linkage))
    items.append(("daily_report", plan.daily_report))
    for where, item in items:
        bases = item.basis
        for b in bases:
            if b.status == "repealed":
                out.append(_warn(where, f"依据已废止：{b.label()}"))
            elif b.status in ("local_choice", "adopted_from"):
                out.append(Problem(severity="info", where=where, message=b.label()))
        says_local = any(w in item.source for w in LOCAL_WORDS)
        if says_local and not any(b.status == "local_choice" for b in bases):
            out.append(_warn(where, "未标明的本地选择：来源表明并非预案的规定；"
                                    "请添加 status 为 local_choice 的 basis，并写明理由"))
    for kind, rules in (("roles", plan.roles), ("authority", plan.authority)):
        for r in rules:
            where = f"{kind}.{getattr(r, 'action', None) or r.id}"
            if r.local_choice:
                out.append(Problem(severity="info", where=where, message=f"本地选择：{r.local_choice}"))
            elif r.source and any(w in r.source for w in LOCAL_WORDS):
                out.append(_warn(where, "未标明的本地选择：请填写 local_choice，并写明理由"))
    return out


def _stages(plan: Plan) -> list[Problem]:
    out = []
    stages = [s.stage for s in plan.stage_expectations]
    for stage in get_args(Stage):
        if stage != "closed" and stage not in stages:
            out.append(_err("stage_expectations", f"阶段 {stage} 没有停滞时限"))
    dupes = sorted({s for s in stages if stages.count(s) > 1})
    if dupes:
        out.append(_err("stage_expectations", f"以下阶段有多条停滞时限：{'、'.join(dupes)}"))
    if "closed" in stages:
        out.append(_warn("stage_expectations", "closed 是最终阶段：它的停滞时限不会被使用"))
    return out
