"""Recompute working-day due dates after a calendar update (holiday data is recorded in the
incident, not re-read): `ecoplan calendar add-year` sends this to every open incident with a
provisional due date, with the reason for its timeline."""

from __future__ import annotations

import workflows.levels as levels
import workflows.deadlines as deadlines
import workflows.messages as m
from workflows.actions.spec import ActionSpec, Checked
from workflows.errors import Refused
from workflows.lifecycle import OPEN


def _provisional(d: m.Deadline) -> bool:
    return d.due_at is None or (d.provisional and d.status in ("pending", "overdue"))


def check(s, inp, at, now) -> Checked:
    if not any(_provisional(d) for d in s.deadlines):
        raise Refused("no deadline has a provisional or missing due date: nothing to recompute")
    return Checked(at)


def asks(s, inp, got: Checked) -> list:
    """The deadlines whose times are asked again: each from its own start, at the incident's level."""
    return [(d.name, d.started_at, levels.for_deadline(s, d.name)) for d in s.deadlines if _provisional(d)]


def apply(rec, inp: m.RecomputeDeadlines, got: Checked, prepared: dict) -> str:
    changed, now = [], rec.now()
    for d in rec.s.deadlines:
        times = prepared.get(d.name)
        if times is None:
            continue
        if times.due.at != d.due_at or times.due.provisional != d.provisional:
            changed.append(f"{d.name}: {d.due_date} → {times.due.day}" + (" (provisional)" if times.due.provisional else ""))
            deadlines.set_times(d, times, now)
    rec.record(got.at, inp.by, "recompute_deadlines", {"changed": changed, **({"reason": inp.reason} if inp.reason else {})},
               backdate_reason=rec.backdated(inp, got.at))
    return "; ".join(changed) or "no provisional due date changed"


ACTIONS = [
    ActionSpec(
        name="recompute_deadlines", input=m.RecomputeDeadlines, title="重新计算期限", source="国务院办公厅节假日安排通知",
        moves=({"trigger": "recompute_deadlines", "source": OPEN, "dest": None},),
        check=check, apply=apply, starts=asks, needs_calendar=True, with_time=False,
        cli="recompute-deadlines", cli_help="Recompute provisional working-day due dates after a calendar update."),
]
