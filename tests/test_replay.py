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


# The chaos soak's stuck incident (docs/design.md, "Known traps"): its live worker ran the task
# started at event 20 (12:38:35.026612, the first after a server restart, a new worker) with
# the clock of the task before (event 9, 12:38:23.873366).
SOAK = HISTORIES / "open-defects" / "soak_timer_canceled.json"
SOAK_UPTO = 216  # the events after are the stuck incident's failing tasks


def _soak(task_20_clock: str | None = None) -> WorkflowHistory:
    data = json.loads(SOAK.read_text(encoding="utf-8"))
    data["events"] = data["events"][:SOAK_UPTO]
    started = {int(e["eventId"]): e for e in data["events"]}
    if task_20_clock is not None:
        assert started[20]["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_STARTED"
        started[20]["eventTime"] = task_20_clock
    wid = data["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]
    return WorkflowHistory.from_json(wid, json.dumps(data))


async def test_the_soak_history_was_decided_with_the_previous_tasks_clock():
    """The mechanism, shown on the kept history (the defect itself is open). As recorded it does
    not replay (TMPRL1100 at event 51, a timer cancel). Given, in task 20, the clock of task 9
    (or any clock up to 12:38:34.610702: the failed delivery's retry, 2 s after that clock, is
    then due at task 25, 12:38:36.610702, where the live batch, event 31, carried it), the code
    replays all of it: the live worker decided task 20 with a clock 11 s behind the task. From
    12:38:34.70 on, it fails at event 51 as recorded."""
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=DATA_CONVERTER)
    as_recorded = await replayer.replay_workflow(_soak(), raise_on_replay_failure=False)
    assert "TMPRL1100" in str(as_recorded.replay_failure) and "id: 51, TimerCanceled" in str(as_recorded.replay_failure)

    for clock in ("2026-12-07T12:38:23.873365778Z", "2026-12-07T12:38:34.610000000Z"):  # task 9's; the last that works
        result = await replayer.replay_workflow(_soak(clock), raise_on_replay_failure=False)
        assert result.replay_failure is None, (clock, repr(result.replay_failure))
    later = await replayer.replay_workflow(_soak("2026-12-07T12:38:34.700000000Z"), raise_on_replay_failure=False)
    assert "id: 51, TimerCanceled" in str(later.replay_failure), repr(later.replay_failure)
