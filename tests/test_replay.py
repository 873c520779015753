"""Replay safety (issue 5): every recorded history in tests/histories/ replays against the
current IncidentWorkflow without nondeterminism. Recorded by `python -m tests.record_histories`;
tests/histories/README.md says when to re-record and how to change workflow code safely."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType as ET
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from ecoplan.connection import DATA_CONVERTER
from tests.record_histories import HISTORIES, PATHS, workflow_id
from tests.replay_probe import ChangedIncidentWorkflow
from workflows.incident import IncidentWorkflow

FILES = sorted(HISTORIES.glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    name = path.name.split(".")[0]
    return WorkflowHistory.from_json(workflow_id(name), path.read_text(encoding="utf-8"))


def test_every_path_is_recorded():
    recorded = {p.name.split(".")[0] for p in FILES}
    assert recorded == set(PATHS), f"run `python -m tests.record_histories`: missing {set(PATHS) - recorded}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_history_replays(path):
    history = _history(path)
    events = json.loads(path.read_text(encoding="utf-8"))["events"]
    assert events[0]["eventType"] in ("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "WorkflowExecutionStarted")
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, (
        f"{path.name} no longer replays against IncidentWorkflow: {result.replay_failure!r}. "
        "Ship the change as a new workflow type or under Worker Versioning (tests/histories/README.md), "
        "or, if no incident recorded under the old code can still be running, re-record: "
        "python -m tests.record_histories")


async def test_the_replay_check_catches_an_incompatible_change():
    """The same check against a workflow whose first step changed must fail."""
    path = HISTORIES / "warning_lifted.json"
    replayer = Replayer(workflows=[ChangedIncidentWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower() or "TMPRL1100" in str(result.replay_failure)


async def test_a_task_whose_clock_is_behind_its_fired_timer_decides_as_the_timer_says(client, worker):
    """Seen after a server restart (tests/histories/open-defects): a worker ran the task that
    delivered the deadline's fired timer with the previous task's time, decided "not due
    yet" and started a timer, where a replay at the task's recorded time decides "overdue"
    (TMPRL1100). Here a real history is doctored the same way: the task after the fired
    timer is given the previous task's start time, behind the deadline. It must replay,
    i.e. that task decides "overdue" either way."""
    from datetime import timedelta

    from ecoplan import api
    from tests.drive import deadline
    from tests.helpers import eventually, now, report

    discovered = now() - timedelta(hours=4) + timedelta(seconds=2)
    iid = await api.start_incident(client, report(discovered_at=discovered, reported_at=discovered))
    await eventually(lambda: api.status(client, iid),
                     lambda st: deadline(st, "initial_report")["next_escalation_at"] is not None, timeout=20)
    due = datetime.fromisoformat(deadline(await api.status(client, iid), "initial_report")["due_at"])
    history = await client.get_workflow_handle(api.workflow_id(iid)).fetch_history()
    events = list(history.events)

    # the task whose commands mark the deadline overdue, the task before it, and the fired timer between
    upsert = next(i for i, e in enumerate(events)
                  if e.event_type == ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
                  and "EcoOverdue" in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
                  and e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields["EcoOverdue"].data)
    started = [i for i in range(upsert) if events[i].event_type == ET.EVENT_TYPE_WORKFLOW_TASK_STARTED]
    this, before = started[-1], started[-2]
    assert any(events[i].event_type == ET.EVENT_TYPE_TIMER_FIRED for i in range(before, this))
    stale = events[before].event_time.ToDatetime(tzinfo=timezone.utc)
    assert stale < due <= events[this].event_time.ToDatetime(tzinfo=timezone.utc)
    events[this].event_time.FromDatetime(stale)

    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(WorkflowHistory(history.workflow_id, events),
                                            raise_on_replay_failure=False)
    assert result.replay_failure is None, repr(result.replay_failure)
