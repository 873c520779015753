"""我的待办: what is waiting on this account, for every role.

What waits on whom is not a second copy of the rules. For each kind of to-do (`KINDS`) the
action registry says in which stages its actions are allowed (`allowed_now`) and whether the
viewer's role may take them there (`may`, the plan's authority table); the incident's own
publication (its `EcoWaitingOn`: the leads whose 附件2 sign-off is open, the 局指挥部指挥 once
they are all in, 局指挥部 while the response runs; its overdue and next deadlines) says which
incidents are at that point. Each kind is then one visibility query (never one per incident).

- 待我批示: the commander's activation (附件1) and termination approval (4.4, 附件2), for the
  roles the authority table names as the approver;
- 待我签署: a lead's open 附件2 sign-offs (the account named at dispatch);
- 报告与期限: the duty officer's deadlines due within a day or overdue;
- 等待局指挥部: incidents whose next step is the bureau's (启动、派遣、提出终止), for the roles
  that may take such a step;
- 逾期: for the roles that read everything and act on nothing (督查), the overdue rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Callable

from activities.supervisor_views import _q, base_query, overdue, read_rows, time_literal
from plan import authority
from plan.incident import Actor
from plan.loader import load_plan
from plan.stages import STAGES
from workflows import actions as registry

OPEN = STAGES[:-1]
LIMIT = 50  # rows per kind: a to-do is a short list; the 事件列表 has the rest
BUREAU = "局指挥部"  # workflows/publishing.py waiting_on: the bureau's command decides the next step


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    actions: tuple[str, ...]  # the registry's actions this to-do is for
    extra: Callable[[Actor, object, datetime], str] | None = None  # the incidents' own state, as a query
    moving: bool = False  # only actions that move the incident to its next stage
    approver: bool = False  # only for roles the authority table names as the action's approver


def _signoffs(by: Actor, plan, now: datetime) -> str:
    names = [f"{by.name} ({plan.group(g).name})" for g in plan.termination.signatories]
    return "EcoWaitingOn IN (" + ", ".join(_q(n) for n in names) + ")"


KINDS = (
    Kind("approve", "待我批示", ("activate_response", "approve_termination"), approver=True,
         extra=lambda by, plan, now: f"(EcoStage != 'termination_pending' OR EcoWaitingOn = {_q(plan.termination.approver)})"),
    Kind("sign", "待我签署", ("sign_off",), extra=_signoffs),
    Kind("due", "报告与期限", ("submit_report",),
         extra=lambda by, plan, now: f"(EcoOverdueSince IS NOT NULL OR EcoNextDeadlineAt < {time_literal(now + timedelta(days=1))})"),
    Kind("bureau", "等待局指挥部", ("activate_response", "dispatch", "propose_termination"), moving=True,
         extra=lambda by, plan, now: f"EcoWaitingOn = {_q(BUREAU)}"),
)


def _state(stage: str, plan) -> SimpleNamespace:
    # What the registry's `may` reads of an incident: whether it is open, its stage, its plan.
    return SimpleNamespace(incident_id="", outcome=None, stage=stage, plan=plan)


@functools.cache
def _lifecycle():
    # Only asked which stage allows what (read-only), so one machine serves every request.
    return registry.lifecycle()


def _sources(move: dict) -> list[str]:
    return move["source"] if isinstance(move["source"], list) else [move["source"]]


def stages_for(kind: Kind, by: Actor, plan=None) -> dict[str, str]:
    """The open stages in which the registry lets `by` take one of the kind's actions, each
    with that action (the first of the kind's, in the registry's order)."""
    plan = plan or load_plan().plan
    lc = _lifecycle()
    out: dict[str, str] = {}
    for stage in OPEN:
        for action in registry.allowed_now(_state(stage, plan), lc):
            if action not in kind.actions or registry.may(action, by, _state(stage, plan), lc) is not None:
                continue
            if kind.moving and not any(t.get("dest") and stage in _sources(t) for t in registry.ACTIONS[action].moves):
                continue
            rule = authority.rule(action, plan)
            if kind.approver and rule is not None and rule.approver_roles and by.role_id not in rule.approver_roles:
                continue
            out[stage] = action
            break
    return out


def queries(by: Actor, now: datetime, plan=None) -> list[tuple[Kind, str, dict[str, str]]]:
    """Each kind that applies to `by`, with its visibility query (drills included: a drill is
    rehearsed with the same to-dos) and the action it waits for in each stage."""
    plan = plan or load_plan().plan
    out = []
    for kind in KINDS:
        stages = stages_for(kind, by, plan)
        if not stages:
            continue
        q = base_query(drills=True) + " AND EcoStage IN (" + ", ".join(_q(s) for s in stages) + ")"
        if kind.extra is not None:
            q += " AND " + kind.extra(by, plan, now)
        out.append((kind, q, stages))
    return out


def watches_overdue(role_id: str) -> bool:
    """督查: reads every incident and may take no action; its to-do is what is overdue."""
    return authority.reads(role_id) == "all" and not authority.actions_for(role_id)


async def todo(client, by: Actor, now: datetime) -> list[dict]:
    """[{"kind", "title", "rows": [{"incident_id", "title", "action", "stage", "level", ...}]}],
    each incident once (under the first kind it is waiting in)."""
    seen: set[str] = set()
    out = []
    for kind, q, actions in queries(by, now):
        rows = []
        for r in await read_rows(client, q, LIMIT):
            if r.incident_id in seen:
                continue
            seen.add(r.incident_id)
            rows.append({"incident_id": r.incident_id, "title": r.title, "action": actions.get(r.stage or ""),
                         "stage": r.stage, "level": r.level,
                         "county": r.county, "drill": r.drill, "waiting_on": r.waiting_on,
                         "next_deadline": r.memo.get("next_deadline"),
                         "overdue": [d["deadline"] for d in r.memo.get("overdue", [])]})
        out.append({"kind": kind.key, "title": kind.title, "rows": rows})
    if watches_overdue(by.role_id or ""):
        page = await overdue(client, drills=True, now=now, limit=LIMIT)
        out.append({"kind": "overdue", "title": "逾期", "rows": [
            {"incident_id": r["incident_id"], "title": r["title"], "stage": r["stage"], "level": r["level"],
             "county": r["county"], "deadline": r["deadline"], "late_by_seconds": r["late_by_seconds"],
             "waiting_on": r["waiting_on"]} for r in page]})
    return out


def count(items: list[dict]) -> int:
    return sum(len(i["rows"]) for i in items)
