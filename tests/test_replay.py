"""Replay safety (issue 5): every recorded history in tests/histories/ replays against the
current IncidentWorkflow without nondeterminism. Recorded by `python -m tests.record_histories`;
tests/histories/README.md says when to re-record and how to change workflow code safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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
        "Guard the change with workflow.patched() (tests/histories/README.md), or, if no incident "
        "recorded under the old code can still be running, re-record: python -m tests.record_histories")


async def test_the_replay_check_catches_an_incompatible_change():
    """The same check against a workflow whose first step changed must fail."""
    path = HISTORIES / "warning_lifted.json"
    replayer = Replayer(workflows=[ChangedIncidentWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower() or "TMPRL1100" in str(result.replay_failure)
