"""The frozen 1.x engine, part: side effects: notifications and documents, delivered reliably, re-delivered after continue-as-new.
Moved here verbatim from the one-file engine; a mixin of IncidentV1."""

from __future__ import annotations

from workflows.legacy.common import *  # noqa: F401,F403  (the frozen engine's shared names)


class EffectsV1:
    def _effect(self, coro: Awaitable) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._effects.add(task)
        task.add_done_callback(self._effects.discard)
        return task

    def _last_seq(self) -> int:
        summarised = self.s.timeline_summary["entries"] if self.s.timeline_summary else 0
        return summarised + len(self.s.timeline)

    def _notify(self, event: str, subject: str, recipients: list[str], detail: dict) -> None:
        self.s.notices += 1  # the idempotency key's event number: unique within the incident, across runs
        n = Notification(key=f"{workflow.info().workflow_id}/{self.s.notices}", incident_id=self.s.incident_id,
                         event=event, subject=subject, recipients=recipients, at=self._now(),
                         drill=self.s.report.drill, detail=detail)
        self._effect(self._reliably("notify", n.model_dump(mode="json"), f"notification {event}"))

    def _archive(self, kind: str, data: dict, seq: int | None = None):
        doc = Document(incident_id=self.s.incident_id, kind=kind, seq=seq or self._last_seq(),
                       drill=self.s.report.drill, data=data)
        return self._effect(self._reliably("archive", doc.model_dump(mode="json"), f"document {kind}"))

    async def _call(self, kind: str, payload: dict, **options):
        if kind == "notify":
            return await workflow.execute_activity_method(Notifier.notify, Notification(**payload), **options)
        return await workflow.execute_activity_method(Archive.archive_document, Document(**payload), **options)

    async def _reliably(self, kind: str, payload: dict, what: str) -> None:
        """A side effect never blocks the incident: a few quick tries, then an entry that
        supervisors see (delivery_overdue) and retries with backoff until it goes through."""
        self._effect_no += 1
        no = self._effect_no
        self._inflight[no] = {"kind": kind, "payload": payload, "what": what}
        try:
            await self._call(kind, payload, **FIRST_TRY)
            return
        except ActivityError as e:
            entry = {"kind": kind, "what": what, "since": self._now().isoformat(), "payload": payload,
                     "error": str(e.cause or e)[:300]}
        finally:
            self._inflight.pop(no, None)
        self.s.undelivered.append(entry)
        self._record(self._now(), SYSTEM, "delivery_overdue", self.s.stage, {"what": what, "error": entry["error"]})
        await self._redeliver(entry)

    async def _redeliver(self, entry: dict) -> None:
        await self._call(entry["kind"], entry["payload"], **PERSISTENT)
        self.s.undelivered = [u for u in self.s.undelivered if u is not entry and u != entry]
        self._record(self._now(), SYSTEM, "delivered_late", self.s.stage, {"what": entry["what"],
                                                                            "since": entry["since"]})
