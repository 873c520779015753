"""The action registry: every human action on an incident, declared once (`ActionSpec`) in
the module of this package that holds its rules: warning.py (3.x), response.py (4.1),
reports.py (4.2, 17号令), termination.py (4.4, 附件2), post_event.py (5.x), linkage.py
(4.2.3, 协议), other_bodies.py (plan duties) and recompute.py (the calendar).

Adding an action is one new module here (or one more spec in a module) defining `ACTIONS`;
the workflow's Updates and validators, the life cycle's transitions, the console's forms and
buttons, the API's endpoints with their schemas and the CLI's commands are made from it.

`check(...)` runs an action's checks: first those every action shares (workflows/actions/
common.py: open, stage, business time, the plan's authority table), then its own.
`may(...)` answers "can this person take this action now, and if not, why" without an input;
`offers(...)` says how the console offers it at the incident's level (its status view).
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime

import workflows.messages as m
from workflows.actions import common
from workflows.actions.spec import ActionSpec, Checked, Offer
from workflows.errors import Refused
from workflows.lifecycle import STAGES, Lifecycle


def _discover() -> dict[str, ActionSpec]:
    found: list[ActionSpec] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found += getattr(module, "ACTIONS", ())
    names = [a.name for a in found]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"actions declared twice: {sorted(dupes)}")
    # In life-cycle order: by the first stage each is allowed in, the more particular first
    # (the console lists them so: the stage's own steps before those allowed all along).
    def order(a: ActionSpec) -> tuple[int, int]:
        stages = {st for t in a.moves for st in _sources(t)}
        return min(STAGES.index(st) for st in stages), len(stages)

    return {a.name: a for a in sorted(found, key=order)}


def _sources(t: dict) -> list[str]:
    return t["source"] if isinstance(t["source"], list) else [t["source"]]


ACTIONS: dict[str, ActionSpec] = _discover()
ACTION_NAMES: dict[str, str] = {name: a.title for name, a in ACTIONS.items()}
TRANSITIONS: list[dict] = [t for a in ACTIONS.values() for t in a.moves]
GUARDS = {name: fn for a in ACTIONS.values() for name, fn in a.guards.items()}


_LIFECYCLE = Lifecycle(TRANSITIONS, GUARDS)


def lifecycle() -> Lifecycle:
    """The machine over every action's moves, one for all incidents (it keeps no incident's
    state between calls; workflows/lifecycle.py)."""
    return _LIFECYCLE


def check(name: str, s: m.IncidentState, lc: Lifecycle, inp: m.Action, now: datetime) -> Checked:
    """Run the action's checks; returns what the apply needs or raises `Refused`."""
    spec = ACTIONS[name]
    common.open_and_allowed(s, lc, name, spec.title)
    at = common.business_time(s, inp, now)
    if spec.enters:
        common.not_before_stage(s, at)
    common.allowed(s, name, inp.by)
    return spec.check(s, inp, at, now)


def may(name: str, by, s: m.IncidentState, lc: Lifecycle) -> str | None:
    """Can `by` take this action on the incident now (its stage, the authority table)? None, or why not."""
    try:
        common.open_and_allowed(s, lc, name, ACTIONS[name].title)
        common.allowed(s, name, by)
    except Refused as e:
        return e.message
    return None


def allowed_now(s: m.IncidentState, lc: Lifecycle) -> list[str]:
    """The actions the incident's stage allows (guards aside), in life-cycle order."""
    return [name for name in ACTIONS if lc.allowed(name, s.stage)]


def offers(name: str, status: dict) -> list[Offer]:
    """How the console offers the action on an incident's status view (ActionSpec.offers):
    none where it cannot be taken at the incident's level, else each variant with its title."""
    spec = ACTIONS[name]
    return spec.offers(status) if spec.offers else [Offer()]
