"""The table of actions in the README, made from the action registry and the default plan's
authority table: `python -m ecoplan.action_table` prints it; tests/test_action_table.py
checks the README holds it as printed."""

from __future__ import annotations

from plan import authority
from plan.loader import load_plan
from plan.stages import STAGE_NAMES
from workflows.actions import ACTIONS, lifecycle

BEGIN, END = "<!-- actions:begin -->", "<!-- actions:end -->"
OMITTED = {"by"}  # filled by the server from the account (API, console) or by --by/--as (CLI)


def body_fields(model: type) -> str:
    """The input's fields: required ones in bold."""
    out = []
    for name, f in model.model_fields.items():
        if name in OMITTED:
            continue
        out.append(f"**{name}**" if f.is_required() else name)
    return ", ".join(out)


def render() -> str:
    plan = load_plan().plan
    lc = lifecycle()
    rows = ["| action (API, Update) | CLI | 操作 | who (plan authority) | stages | body (**required**) |",
            "|---|---|---|---|---|---|"]
    for name, spec in ACTIONS.items():
        rule = authority.rule(name, plan)
        who = "、".join(r.name for r in plan.roles if rule and r.id in rule.roles) or "—"
        stages = "、".join(STAGE_NAMES[st] for st in lc.stages_for(name))
        rows.append(f"| `{name}` | `ecoplan {spec.cli}` | {spec.title}（{spec.source}） | {who} | {stages} | "
                    f"{body_fields(spec.input)} |")
    return "\n".join([BEGIN, *rows, END])


if __name__ == "__main__":
    print(render())
