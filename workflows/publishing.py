"""What an incident tells the visibility index about itself: the search attributes the
supervisor views query, and the small `supervision` memo they print. Only what changed is
sent (the start request already set stage, county, type, drill and plan)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

import workflows.messages as m
import activities.search_attributes as sa
from workflows import effects
import workflows.actions.termination as termination
import workflows.levels as levels


def waiting_on(s: m.IncidentState) -> list[str]:
    if s.outcome is not None or s.plan is None:
        return []
    who: list[str] = []
    if s.stage == "termination_pending":
        pending = termination.pending(s)
        who += [f"{s.leads.get(g)} ({s.plan.groups.get(g, g)})" for g in pending]
        if not pending:
            who.append(s.plan.termination.approver)
    elif s.stage in ("reported", "warning", "responding", "on_site"):
        who.append("局指挥部")
    who += [d.who_acts for d in s.deadlines if d.status in ("pending", "overdue") and d.who_acts not in who]
    return who


def faults(s: m.IncidentState) -> list[dict]:
    """Internal faults supervisors must see: calendar unavailable, deliveries overdue or given up."""
    out = [{"fault": kind, "since": f["since"], "error": f["error"]} for kind, f in sorted(s.faults.items())]
    late = effects.overdue(s)
    if late:
        out.append({"fault": "delivery_overdue", "since": min(x["since"] for x in late), "count": len(late)})
    if s.delivery_failures:
        out.append({"fault": "delivery_failed", "since": s.delivery_failures[0]["at"],
                    "count": s.delivery_failures_count, "last": s.delivery_failures[-1]["reason"]})
    return out


class Publisher:
    def __init__(self) -> None:
        # Attributes the server has: those the start request set. Unknown ones need no unset.
        self.sent: dict[str, Any] = {key.name: None for key in sa.ALL} | {
            p.key.name: p.value for p in workflow.info().typed_search_attributes}
        self.memo: dict | None = None

    def publish(self, s: m.IncidentState) -> None:
        if s is None or s.plan is None:
            return
        open_ = [d for d in s.deadlines if d.status in ("pending", "overdue")]
        pending = [d for d in open_ if d.status == "pending"]
        overdue = [d for d in open_ if d.status == "overdue"]
        nxt = min(pending, key=lambda d: d.due_at, default=None)
        found = faults(s)
        provisional = [d for d in open_ if d.provisional]
        values: list[tuple[Any, Any]] = [
            (sa.STAGE, s.stage),
            (sa.LEVEL, (s.level or s.grading.level).value),
            (sa.COUNTY, s.report.county),
            (sa.INCIDENT_TYPE, s.report.incident_type),
            (sa.PLAN, s.plan.id),
            (sa.DRILL, s.report.drill),
            (sa.STAGE_ENTERED_AT, s.stage_entered_at),
            (sa.NEXT_DEADLINE, nxt.name if nxt else None),
            (sa.NEXT_DEADLINE_AT, nxt.due_at if nxt else None),
            (sa.OVERDUE, [d.name for d in overdue] or None),
            (sa.OVERDUE_SINCE, min((d.due_at for d in overdue), default=None)),
            (sa.PENDING_SIGNOFFS, termination.pending(s) or None),
            (sa.WAITING_ON, waiting_on(s) or None),
            (sa.OUTCOME, s.outcome),
            (sa.FAULT, ",".join(f["fault"] for f in found) or None),
            (sa.PROVISIONAL, ",".join(d.name for d in provisional) or None),
        ]
        updates: list[SearchAttributeUpdate] = []
        for key, value in values:
            if self.sent.get(key.name, "unset") == value:
                continue
            self.sent[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
        memo = {
            "overdue": [{"deadline": d.name, "due_at": d.due_at.isoformat(), "who_acts": d.who_acts} for d in overdue],
            "next_deadline": {"name": nxt.name, "due_at": nxt.due_at.isoformat()} if nxt else None,
            "stuck_after": (s.stuck_after.isoformat() if s.stuck_after and s.stuck_key == s.stage_entries
                            and s.outcome is None else None),
            "faults": found,
            "provisional": [{"deadline": d.name, "due_date": d.due_date.isoformat() if d.due_date else None,
                             "status": d.status} for d in provisional],
        }
        if s.levels_split and workflow.patched("memo-event-level"):  # the board shows both levels (issue 24)
            memo["event_level"] = levels.event_level(s).value
        if memo != self.memo:
            self.memo = memo
            workflow.upsert_memo({"supervision": memo})
