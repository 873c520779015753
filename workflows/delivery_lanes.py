"""The incident's side effects on their way out (a mixin of IncidentWorkflow): the two
delivery lanes (deliveries, and printing, which yields to them), each one `deliver` activity call per batch. The outbox rules are effects.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    import activities.delivery as delivery
    import workflows.effects as effects
    import workflows.filing as filing
    import workflows.messages as m
    import workflows.timeline as timeline

DELIVER = dict(start_to_close_timeout=timedelta(seconds=30), retry_policy=RetryPolicy(maximum_attempts=1))


class DeliveryLanes:
    def _start_flush(self) -> None:
        s, now = self.s, self._now()
        if self._flush_task is None:
            items = effects.due(s, now)
            pending = timeline.unarchived(s)
            # The archive takes the timeline in chunks, when the state would otherwise keep too much.
            entries = pending if len(pending) > timeline.KEEP + 50 else []
            if items or entries:
                self._sending = {e["key"] for e in items}
                self._flush_task = asyncio.create_task(self._flush(items, entries))
                return
        if self._print_task is None and self._flush_task is None and filing.quiet(self, now):  # yields
            prints = effects.due(s, now, printing=True)
            if prints:
                self._printing = {e["key"] for e in prints}
                self._print_task = asyncio.create_task(self._flush(prints, [], printing=True))

    async def _flush(self, items: list[dict], entries: list[m.TimelineEntry], printing: bool = False) -> None:
        result, error = None, None
        try:
            result = await workflow.execute_activity_method(
                delivery.Deliverer.deliver, effects.batch(self.s, items, entries, workflow.info().workflow_id),
                **DELIVER)
        except ActivityError as e:
            error = effects.cause(e)
        effects.settle(self.s, items, result, error, self._now())
        if result is not None and entries and result.timeline_to >= entries[-1].seq:
            self.s.timeline_archived = max(self.s.timeline_archived, entries[-1].seq)
        if printing:
            self._print_task, self._printing = None, set()
        else:
            self._flush_task, self._sending = None, set()
        self._dirty = True
