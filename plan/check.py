"""Check a plan file beyond what the schema enforces: the things a reviewer of a transcribed
plan would otherwise have to verify by hand. Never raises: problems are returned."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel

from plan.check_law import law_problems
from plan.grading import Assessment
from plan.loader import PLANS_DIR, LoadedPlan, PlanError, load_plan
from plan.models import DeadlineName, Duration, GradingTable, Level, Plan, Stage

NUMERIC = ("deaths", "poisoned_or_injured", "evacuated", "direct_loss_yuan")


class Problem(BaseModel):
    severity: Literal["error", "warning", "info"]  # info: listed for the reviewer (local choices)
    where: str
    message: str


def check_plan(ref: str | Path | None = None) -> tuple[LoadedPlan | None, list[Problem]]:
    try:
        loaded = load_plan(ref)
    except Exception as e:  # noqa: BLE001 - a checker reports, it does not crash
        message = str(e) if isinstance(e, PlanError) else f"{type(e).__name__}: {e}"
        return None, [_err(str(ref or "default plan"), message)]
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
        problems.append(_err("id", f"shipped plan file {path.name} has id {plan.id!r}: "
                                   "shipped plans are looked up by file name"))
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
                out.append(_err(path, "source is empty: name the plan section or rule"))
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
                out.append(_err(where, f"{c.field} is numeric: use at_least/below, not equals"))
            if c.at_least is not None and c.below is not None and c.at_least >= c.below:
                out.append(_err(where, f"at_least {c.at_least:g} is not below {c.below:g}"))
        else:
            allowed = [v for v in get_args(Assessment.model_fields[c.field].annotation)
                       if v != "none"]
            if c.at_least is not None or c.below is not None:
                out.append(_err(where, f"{c.field} is categorical: use equals, not at_least/below"))
            if c.equals is not None and c.equals not in allowed:
                out.append(_err(where, f"{c.field} equals {c.equals!r}: expected one of {', '.join(allowed)}"))
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
            out.append(_err(f"grading.{field}", "more than one row for a level"))
            continue
        chain = [(lvl, r[0]) for lvl, r in rows.items()]
        if chain and chain[0][1].below is not None:
            top_level, top = chain[0]
            out.append(_err(f"grading.{top_level.value}.{field}",
                            f"the most severe row has an upper bound ({top.below:g}): "
                            "larger values match no level"))
        for (hi_lvl, hi), (lo_lvl, lo) in zip(chain, chain[1:]):
            if lo.below != hi.at_least:
                out.append(_err(f"grading.{lo_lvl.value}.{field}",
                                f"{lo_lvl.value} below={_n(lo.below)} does not meet "
                                f"{hi_lvl.value} at_least={_n(hi.at_least)}"))
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
                        f"{cond.source} {lvl.value} {field} {bound}={_n(x, field)} "
                                f"differs from {grad.source} {lvl.value} {bound}={_n(y, field)}; "
                                f"grading follows {grad.source}",
                    ))
    return out


def _n(value: float | None, field: str = "") -> str:
    if value is None:
        return "none"
    text = f"{value:g}" if value < 1e6 else str(int(value))
    if field == "direct_loss_yuan" and value >= 10_000:
        text += f" ({value / 10_000:g}万元)"
    return text


def _levels(plan: Plan) -> list[Problem]:
    return [
        _err(f"levels.{lv.id.value}.builds_on",
             f"{lv.id.value} builds on {lv.builds_on.value}, which is not less severe")
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
                                f"levels {', '.join(extra)} are not in the deadline's levels"))
        for lvl, dur in [(None, d.duration), *d.by_level.items()]:
            for r in d.reminders:
                if _same_unit_not_shorter(r, dur):
                    at = f" for {lvl.value}" if lvl else ""
                    out.append(_err(f"{where}.reminders",
                                    f"reminder {r.label()} before due is not shorter than {dur.label()}{at}"))
        if not d.escalation.notify:
            out.append(_err(f"{where}.escalation.notify", "nobody to notify when overdue"))
    missing = [n for n in get_args(DeadlineName) if plan.deadline(n) is None]
    if missing:
        out.append(_warn("deadlines", f"no rule for {', '.join(missing)}"))
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
                out.append(_warn(where, f"rests on a repealed basis: {b.label()}"))
            elif b.status in ("local_choice", "adopted_from"):
                out.append(Problem(severity="info", where=where, message=b.label()))
        says_local = any(w in item.source for w in LOCAL_WORDS)
        if says_local and not any(b.status == "local_choice" for b in bases):
            out.append(_warn(where, "unmarked local choice: the source says it is not the plan's; "
                                    "add a basis with status local_choice and why"))
    for kind, rules in (("roles", plan.roles), ("authority", plan.authority)):
        for r in rules:
            where = f"{kind}.{getattr(r, 'action', None) or r.id}"
            if r.local_choice:
                out.append(Problem(severity="info", where=where, message=f"local choice: {r.local_choice}"))
            elif r.source and any(w in r.source for w in LOCAL_WORDS):
                out.append(_warn(where, "unmarked local choice: give local_choice and why"))
    return out


def _stages(plan: Plan) -> list[Problem]:
    out = []
    stages = [s.stage for s in plan.stage_expectations]
    for stage in get_args(Stage):
        if stage != "closed" and stage not in stages:
            out.append(_err("stage_expectations", f"no expectation for stage {stage!r}"))
    dupes = sorted({s for s in stages if stages.count(s) > 1})
    if dupes:
        out.append(_err("stage_expectations", f"more than one expectation for {', '.join(dupes)}"))
    if "closed" in stages:
        out.append(_warn("stage_expectations", "'closed' is final: its expectation is never used"))
    return out
