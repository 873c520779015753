"""A deliberately incompatible IncidentWorkflow for tests/test_replay.py: it registers under
the same name and schedules a timer first where the real one schedules the plan-snapshot
activity, so replaying a recorded history against it must fail with nondeterminism. It
proves the replay test can fail. Workflow module: no side effects at import (docs/design.md)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow


@workflow.defn(name="IncidentWorkflow")
class ChangedIncidentWorkflow:
    @workflow.run
    async def run(self, inp: dict) -> dict:
        await workflow.sleep(timedelta(seconds=1))  # new first step, not guarded by workflow.patched
        return {}
