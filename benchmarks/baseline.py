"""The bare Temporal baseline the benchmarks compare ecoplan against.

`BareWorkflow` has no domain logic: no state machine, no pydantic state, no search
attributes, no memo. It is driven by a *script* recorded from a real ecoplan incident
(benchmarks/driving.py reads one life-cycle history and counts, per update, the activities
and timers ecoplan scheduled), so it receives the same number of updates and runs the same
number of activities and timers, shaped the same way:

- a start segment: `awaited` activities before the first update can be taken (ecoplan
  loads its plan and schedules its first deadline there), `background` ones started;
- `ready`, a query the driver polls after starting, as ecoplan's api.start_incident polls
  the incident's status until it has pinned its plan (so updates meet the same state);
- one `step` update per ecoplan update: the handler starts `background` activities
  without waiting (ecoplan's notifications and documents), awaits `awaited` activities
  (ecoplan's due-date computations), and wakes the main loop;
- the main loop, on every wake, awaits `loop_awaited` activities (ecoplan's stuck-after
  computation) and waits with a timer while the step's timer budget lasts (ecoplan's
  single deadline timer, restarted when a deadline changes).

For the same-work baseline (benchmarks/same_work.py) a segment also names its activities
(`awaited_refs`, `background_refs`: ecoplan activity ids); each then runs `same_work(ref)`,
which does that ecoplan activity's work with its recorded input, instead of the no-op.

`noop` is the no-op update the sign-off latency is compared with.

Module kept free of side effects: the workflow sandbox re-imports it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

ACTIVITY_OPTIONS = dict(start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)))
TIMER = timedelta(hours=1)  # never fires during a benchmark: only started and cancelled


@activity.defn(name="bare_activity")
def bare_activity(n: int) -> int:
    """A synchronous no-op activity (ecoplan's activities are synchronous too, in threads)."""
    return n


def _items(segment: dict[str, Any], key: str) -> list:
    """The segment's activities of one kind: ecoplan activity ids (same-work) or a count."""
    refs = segment.get(f"{key}_refs")
    return list(refs) if refs is not None else list(range(segment.get(key, 0)))


def _activity(item: int | str):
    if isinstance(item, str):  # same-work: ecoplan's activity `item`, its work and input
        return workflow.execute_activity("same_work", item, **ACTIVITY_OPTIONS)
    return workflow.execute_activity(bare_activity, item, **ACTIVITY_OPTIONS)


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    def __init__(self) -> None:
        self.wake = False
        self.closed = False
        self.timer_budget = 0
        self.loop_awaited = 0
        self.effects: set[asyncio.Task] = set()
        self.steps = 0
        self.started = False

    @workflow.run
    async def run(self, start: dict[str, Any]) -> dict[str, Any]:
        for item in _items(start, "background"):
            self._background(item)
        for item in _items(start, "awaited"):
            await _activity(item)
        self.timer_budget = start.get("timers", 0)
        self.loop_awaited = start.get("loop_awaited", 0)
        self.started = True
        while not self.closed:
            for i in range(self.loop_awaited):
                await workflow.execute_activity(bare_activity, i, **ACTIVITY_OPTIONS)
            self.loop_awaited = 0
            timeout = None
            if self.timer_budget > 0:
                self.timer_budget -= 1
                timeout = TIMER
            self.wake = False
            try:
                await workflow.wait_condition(lambda: self.wake or self.closed, timeout=timeout)
            except asyncio.TimeoutError:
                pass
        await workflow.wait_condition(lambda: not self.effects and workflow.all_handlers_finished())
        return {"steps": self.steps}

    def _background(self, item: int | str = 0) -> None:
        task = asyncio.create_task(_activity(item))
        self.effects.add(task)
        task.add_done_callback(self.effects.discard)

    @workflow.update
    async def step(self, step: dict[str, Any]) -> dict[str, Any]:
        self.steps += 1
        timers = step.get("timers", 0)
        self.timer_budget = timers
        self.loop_awaited = step.get("loop_awaited", 0)
        if step.get("close"):
            self.closed = True
        self.wake = True
        for item in _items(step, "background"):
            self._background(item)
        for item in _items(step, "awaited"):
            await _activity(item)
        if step.get("awaited", 0) and timers > 1:
            self.wake = True  # ecoplan wakes its loop again once a new deadline is known
        return {"step": self.steps}

    @workflow.query
    def ready(self) -> bool:
        """True once the start segment is done (ecoplan's api polls its status the same way)."""
        return self.started

    @workflow.update
    async def noop(self) -> None:
        return None

    @workflow.signal
    def finish(self) -> None:
        self.closed = True
