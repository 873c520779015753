"""What an incident writes on its state, in one place: timeline entries, stage moves, the
business events that meet deadlines, notifications and documents into the outbox, printings,
and the deadlines an action opens.

An action's apply gets a `Recorder` over a copy of the state (workflows/actions): whatever
it writes lands on the copy, and the workflow swaps the copy in only when the apply has
finished. The workflow's own loop (timers, faults, closing) uses one over the live state.
No awaits, no I/O: deterministic, so it runs inside the workflow.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from plan.calendar import SHANGHAI
from plan.incident import Actor
from plan.models import Level
from plan.deadlines import DeadlineTimes
import workflows.deadlines as deadlines
import workflows.effects as effects
import workflows.messages as m
import workflows.timeline as timeline
from workflows.lifecycle import Lifecycle

# An action entered more than this long after it happened needs a reason (补录说明), so that a
# late entry with an early `at` cannot quietly turn an overdue deadline into "met".
BACKDATE_LIMIT = timedelta(hours=1)


def fmt(t: datetime) -> str:
    """A time as messages print it, on the bureau's clock: 2026-11-10 09:00."""
    return f"{t.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


class Recorder:
    def __init__(self, s: m.IncidentState, clock: Callable[[], datetime], workflow_id: str, lifecycle: Lifecycle,
                 printing: set[str] | frozenset = frozenset(), on_change: Callable[[], None] | None = None):
        self.s = s
        self.now = clock
        self.workflow_id = workflow_id
        self.lc = lifecycle
        self.printing = printing  # outbox keys being printed now (a waiting printing may be joined)
        self._on_change = on_change

    def changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    # ------------------------------------------------------------------ timeline

    def record(self, at: datetime, by: Actor | None, action: str, detail: dict, rejected: bool = False,
               backdate_reason: str | None = None, from_stage: str | None = None) -> m.TimelineEntry:
        self.changed()
        return timeline.record(self.s, self.now(), at, by, action, from_stage or self.s.stage, detail,
                               rejected=rejected, backdate_reason=backdate_reason)

    def transition(self, trigger: str, at: datetime, inp: m.Action, detail: dict,
                   action: str | None = None) -> m.TimelineEntry:
        """Fire the life cycle's trigger on this state and record the action."""
        before = self.s.stage
        self.lc.fire(trigger, self.s, at)
        return self.record(at, inp.by, action or trigger, detail, backdate_reason=self.backdated(inp, at),
                           from_stage=before)

    def backdated(self, inp: m.Action, at: datetime) -> str | None:
        return inp.backdate_reason if self.now() - at > BACKDATE_LIMIT else None

    def event(self, name: str, at: datetime, entry: m.TimelineEntry) -> None:
        """A business event (plan.models.MET_BY) that meets the deadlines waiting on it."""
        deadlines.meet(self.s, name, at, entry.seq, entry.backdate_reason is not None)
        self.changed()

    # ------------------------------------------------------------------ outbox

    def notify(self, event: str, subject: str, recipients: list[str], detail: dict, attach: str | None = None) -> None:
        s = self.s
        s.notices += 1
        # A drill's notices name its participants: its pages go to them only (duty_desk.take_part).
        if s.report.drill:
            detail = {**detail, "participants": list(s.drill_participants)}
        payload = {"incident_id": s.incident_id, "event": event, "subject": subject, "recipients": recipients,
                   "at": self.now().isoformat(), "drill": s.report.drill, "detail": detail}
        effects.add(s, self.workflow_id, "notify", payload, f"notification {event}", self.now(), attach=attach)
        self.changed()

    def document(self, kind: str, data: dict, seq: int | None = None) -> str:
        s = self.s
        payload = {"incident_id": s.incident_id, "kind": kind, "seq": seq or timeline.last_seq(s),
                   "drill": s.report.drill, "data": data}
        self.changed()
        return effects.add(s, self.workflow_id, "document", payload, f"document {kind}", self.now())

    def render(self, kind: str, seq: int | None = None, report: dict | None = None) -> None:
        """Print `kind` into the archive (the chart: SVG and PNG). One waiting printing of a kind
        is enough: it reads the status when it is sent; a report joins a waiting list of reports."""
        s = self.s
        seq = seq or timeline.last_seq(s)
        if effects.join_render(s, kind, seq, report, self.printing):
            return
        payload = {"incident_id": s.incident_id, "kind": kind, "seq": seq, "reports": [report] if report else []}
        if report:  # a report prints without asking the status: its head is the title and the plan
            payload.update(title=s.report.title, drill=s.report.drill, plan={"id": s.plan.id})
        effects.add(s, self.workflow_id, "render", payload, f"printed {kind}", self.now())
        self.changed()

    def save_record(self) -> None:
        """Ask the records store to save the incident's record."""
        effects.add(self.s, self.workflow_id, "record", {}, "record (records store)", self.now())
        self.changed()

    # ------------------------------------------------------------------ deadlines

    def start_deadline(self, name: str, start: datetime, level: Level, times: DeadlineTimes | None) -> m.Deadline | None:
        s = self.s
        rule = s.plan.deadline(name)
        if rule is None or not rule.applies_to(level) or any(d.name == name for d in s.deadlines):
            return None
        d = deadlines.open_deadline(s, rule, start, level, self.now(), times)
        deadlines.already_met(s, d)
        self.deadline_scheduled(d)
        return d

    def start_deadlines(self, started: list[tuple[str, datetime, Level]], prepared: dict) -> str:
        """Open the deadlines an action starts; returns what the reply says of each."""
        return "".join(self.due_note(self.start_deadline(n, start, level, prepared.get(n)))
                       for n, start, level in started)

    def deadline_scheduled(self, d: m.Deadline) -> None:
        if d.due_at is None:
            self.record(self.now(), None, "deadline_started", {"deadline": d.name, "scheduling": True,
                                                               "source": d.source})
            return
        self.record(self.now(), None, "deadline_started",
                    {"deadline": d.name, "due_at": d.due_at.isoformat(),
                     "due_date": d.due_date.isoformat() if d.due_date else None,
                     "provisional": d.provisional, "source": d.source})

    def due_note(self, d: m.Deadline | None) -> str:
        if d is None:
            return ""
        if d.due_at is None:
            err = self.s.faults.get("calendar_unavailable", {}).get("error", "")
            return f"；{d.title}的期限暂未算出：工作日日历不可用（{err}），日历恢复后即算出"
        return f"；{d.title}应于 {d.due_date or fmt(d.due_at)} 前完成" + ("（暂定）" if d.provisional else "")
