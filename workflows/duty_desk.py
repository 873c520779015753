"""The incident's own notices to the duty desk and the command (issue 23), queued in the outbox
like any notification; the delivery activity turns each into its page (activities/page_events.py,
EVENT_PAGES), the page's id made from the notification's key, so a retried delivery, a worker
SIGKILLed between the incident's start and the delivery, or a retried start never loses or
doubles it:

- `incident_reported` when the incident is taken (paging event new_incident, 新接报事件: 4.2.2
  值班人员应第一时间进行核实，报告带班领导);
- `activation_awaited` when it starts waiting for the 总指挥's approval of the response (paging
  event awaiting_activation, 待批准启动响应: 附件1 经总指挥批准; 4.2.2 视情报告局指挥部副指挥、指挥),
  see duties.awaits_activation.

A drill's participants (usernames, the starter first) are set when it starts (`take_part`), and
every notice of a drill carries them (`detail.participants`, recorder.notify): its pages go to them
only (ecoplan/paging_people.py).
Pure: no awaits, no I/O (runs inside the workflow)."""

from __future__ import annotations

import workflows.levels as levels
import workflows.messages as m
from plan.incident import Actor

DESCRIPTION_KEPT = 300  # characters of the report's description the notice carries (the page shows 400 in all)


def take_part(s: m.IncidentState, started_by: Actor | None, participants) -> None:
    """A drill's participants: those named when it started (the starter first, as the callers make
    the list), else its starter alone; none for a real incident."""
    if not s.report.drill:
        return
    named = [p for p in dict.fromkeys(str(p).strip() for p in participants) if p]
    s.drill_participants = named or ([started_by.name] if started_by is not None else [])


def opened(rec, started_by: Actor | None) -> None:
    """新接报事件: what the duty officer and the leader on shift are paged with."""
    s, r = rec.s, rec.s.report
    rec.notify("incident_reported", f"新接报事件：{r.title}", ["值班员", "带班领导"],
               {"graded_level": s.grading.level.value, "county": r.county, "location": r.location,
                "incident_type": r.incident_type, "reported_at": r.reported_at.isoformat(), "reporter": r.reporter,
                "description": r.description[:DESCRIPTION_KEPT], "source": "4.2.2"})


def awaiting_activation(rec, why: str) -> None:
    """待批准启动响应: the response at the incident's level waits for the 总指挥 (附件1). `why`: graded
    (at the start) or the action that raised the event to a level the bureau leads (determine_event_level)."""
    s = rec.s
    level = levels.response_level(s)
    brief = s.plan.levels[level]
    rec.notify("activation_awaited", f"待批准启动{brief.response_name}：{s.report.title}", ["局指挥部指挥", "局指挥部副指挥"],
               {"level": level.value, "level_name": brief.name, "why": why,
                "source": "附件1 经局突发环境事件应急指挥部总指挥批准；4.2.2"})
