"""The same-work baseline: the bare workflow (benchmarks/baseline.py) doing the work ecoplan's
activities do, with the same inputs, so a ratio against it measures orchestration alone.

While one ecoplan life cycle is recorded, `Recorder` (an activity interceptor) keeps every
activity's input by its activity id, and for each delivery the batch and the incident
records it resolved (the `outbox` and `status` query answers). The baseline's script then
names, in place of each of its no-op activities, the ecoplan activity it stands for (`ref`,
driving.script_from_history(refs=True)),
and `same_work(ref)` does that activity's work with its recorded input:

- a delivery: `Deliverer._deliver` on the recorded batch and records (the printed documents,
  the records save, the archive's documents and timeline, the notifications), under the bare
  incident's own id, so each incident writes its own folder and record;
- `calendar_answer`, `load_plan_snapshot`, `save_record`: the same function, same input.

It returns what ecoplan's activity returned (same result payloads). What it does not do is
what ecoplan's design adds around the work: the deliveries' `outbox`/`status` queries (their
answers are taken from memory), the state machine, the search attributes and memo.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, Interceptor


class Recorder(Interceptor):
    """Records (activity id → name, input) for one ecoplan workflow, and what each delivery
    resolved (batch after its outbox query, records after its status query)."""

    def __init__(self) -> None:
        self.calls: dict[str, dict[str, Any]] = {}
        self._patched: Any = None

    def intercept_activity(self, next):
        calls = self.calls

        class Inbound(ActivityInboundInterceptor):
            async def execute_activity(self, input):
                info = activity.info()
                calls[info.activity_id] = {"workflow_id": info.workflow_id, "name": info.activity_type,
                                           "args": list(input.args)}
                return await self.next.execute_activity(input)

        return Inbound(next)

    def __enter__(self) -> "Recorder":
        from activities.delivery import Deliverer

        old = Deliverer._deliver
        calls = self.calls

        def _deliver(deliverer, batch, records):
            calls[activity.info().activity_id]["resolved"] = (batch.model_dump_json(), json.dumps(records, default=str))
            return old(deliverer, batch, records)

        Deliverer._deliver = _deliver
        self._patched = (Deliverer, old)
        return self

    def __exit__(self, *exc) -> None:
        owner, old = self._patched
        owner._deliver = old


class SameWork:
    """The activity of the same-work baseline, holding the recorded calls."""

    def __init__(self, calls: dict[str, dict[str, Any]], incident_id: str, settings) -> None:
        from activities.calendar import CalendarActivities
        from activities.delivery import Deliverer
        from activities.records import Records

        self.calls, self.incident_id = calls, incident_id
        self.deliverer = Deliverer(settings, None)
        self.functions = {"calendar_answer": CalendarActivities(settings).calendar_answer,
                          "save_record": Records(settings).save_record}

    @activity.defn(name="same_work")
    def same_work(self, ref: str) -> Any:
        from activities.delivery import DeliveryBatch
        from activities.plan_snapshot import load_plan_snapshot

        call = self.calls[ref]
        name = call["name"]
        if name == "deliver":
            own = "b-" + activity.info().workflow_id.removeprefix("bare-")  # the shape of ecoplan's ids
            batch_json, records_json = call["resolved"]
            batch = DeliveryBatch.model_validate_json(batch_json.replace(self.incident_id, own))
            records = json.loads(records_json.replace(self.incident_id, own))
            return self.deliverer._deliver(batch, records)
        if name == "load_plan_snapshot":
            return load_plan_snapshot(*call["args"])
        return self.functions[name](*call["args"])
