"""What `ecoplan status` shows of an incident (the `status` query): its state, the report's
facts, and what is derived for people: pending sign-offs, who it waits on, faults, the
actions the stage allows, the level's duties and the reporting rules in force."""

from __future__ import annotations

import workflows.duties as duties
import workflows.effects as effects
import workflows.publishing as publishing
import workflows.reporting as reporting
import workflows.actions.termination as termination


def view(s, allowed: list[str]) -> dict:
    d = s.model_dump(mode="json", exclude={"report", "plan", "outbox", "record_key"})
    r = s.report
    return {
        **d,
        "title": r.title, "county": r.county, "location": r.location, "description": r.description,
        "reporter": r.reporter, "incident_type": r.incident_type, "source": r.source, "drill": r.drill,
        "discovered_at": r.discovered_at.isoformat(), "reported_at": r.reported_at.isoformat(),
        "graded_level": s.grading.level.value if s.grading else None,
        "level_name": s.plan.levels[s.level].name if s.level else None,
        "plan": s.plan.ref,
        "signoffs": {g: x.model_dump(mode="json") for g, x in s.signoffs.items()},
        "pending_signoffs": termination.pending(s),
        "open_round": s.round if s.stage == "termination_pending" else None,
        "waiting_on": publishing.waiting_on(s),
        "faults": publishing.faults(s),
        "deliveries_overdue": effects.overdue(s),
        "allowed_actions": allowed,
        "duties": duties.duties_view(s),
        **reporting.status(s),
        "authority_checked": True,  # every action's actor is checked against the plan's authority table
        "engine": 2,
    }
