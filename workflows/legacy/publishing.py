"""The frozen 1.x engine, part: search attributes and the supervision memo; who the incident waits on.
Moved here verbatim from the one-file engine; a mixin of IncidentV1."""

from __future__ import annotations

from workflows.legacy.common import *  # noqa: F401,F403  (the frozen engine's shared names)


class PublishingV1:
    def _waiting_on(self) -> list[str]:
        s = self.s
        if s.outcome is not None or s.plan is None:
            return []
        who: list[str] = []
        if s.stage == "termination_pending":
            pending = self._pending_signoffs()
            who += [f"{s.leads.get(g)} ({self._group_name(g)})" for g in pending]
            if not pending:
                who.append(s.plan.termination.approver)
        elif s.stage in ("reported", "warning", "responding", "on_site"):
            who.append("局指挥部")
        who += [d.who_acts for d in s.deadlines if d.status in ("pending", "overdue") and d.who_acts not in who]
        return who

    def _publish(self) -> None:
        """Upsert the search attributes the supervisor views query, only when they changed."""
        s = self.s
        if s is None or s.plan is None:
            return
        open_ = [d for d in s.deadlines if d.status in ("pending", "overdue")]
        pending = [d for d in open_ if d.status == "pending"]
        overdue = [d for d in open_ if d.status == "overdue"]
        nxt = min(pending, key=lambda d: d.due_at, default=None)
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
            (sa.PENDING_SIGNOFFS, self._pending_signoffs() or None),
            (sa.WAITING_ON, self._waiting_on() or None),
            (sa.OUTCOME, s.outcome),
        ]
        updates: list[SearchAttributeUpdate] = []
        for key, value in values:
            if self._published.get(key.name, "unset") == value:
                continue
            self._published[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
        # Details the supervisor views print but need not query on travel in the memo; the
        # title is in the start memo, stage and level in the search attributes.
        stuck_after = (self._stuck_after[1] if self._stuck_after and self._stuck_after[0] == s.stage
                       and s.outcome is None else None)
        memo = {} if self._lean else {"title": s.report.title, "stage": s.stage, "level": values[1][1]}
        memo |= {
            "overdue": [{"deadline": d.name, "due_at": d.due_at.isoformat(), "who_acts": d.who_acts} for d in overdue],
            "next_deadline": {"name": nxt.name, "due_at": nxt.due_at.isoformat()} if nxt else None,
            "stuck_after": stuck_after.isoformat() if stuck_after else None,
        }
        if memo != self._published_memo:
            self._published_memo = memo
            workflow.upsert_memo({"supervision": memo})
