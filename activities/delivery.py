"""One activity for an incident's side effects (2.0): the notifications and documents that
are due, in one call, with an outcome per item.

A failing item never fails the call: it comes back with its error, and `hopeless` when it
can never succeed (the webhook refuses it with a 4xx other than 408/429, or its address
cannot work), so the incident decides to try again later or to give up. Documents come back
as a path and the sha256 of the bytes written (claim check): the incident keeps the
reference, not the text. Timeline entries the incident no longer keeps in full are
appended to the archive's timeline.jsonl, each once.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import structlog
from pydantic import BaseModel
from temporalio import activity

from activities.archive import Archive, Document
from activities.notify import Hopeless, Notification, Notifier
from activities.settings import ActivitySettings

log = structlog.get_logger("ecoplan.delivery")


class DeliveryItem(BaseModel):
    key: str  # the idempotency key: "<workflow id>/e<n>"
    kind: Literal["notify", "document"]
    payload: dict = {}  # a Notification or a Document; empty when the batch is by reference
    attach_key: str | None = None  # a document (of this batch or an earlier one) the notification is about
    attach: dict | None = None  # its reference when written earlier: path, sha256


class DeliveryBatch(BaseModel):
    incident_id: str
    drill: bool = False
    items: list[DeliveryItem] = []
    timeline: list[dict] = []  # entries to append to the archive's timeline.jsonl
    # By reference (claim check, engine 2.0 with the "delivery-by-ref" patch): the items carry
    # only their keys and the timeline only its seq range; the activity reads the payloads and
    # entries from the incident's `outbox` query, so they never enter history.
    by_ref: bool = False
    workflow_id: str = ""
    timeline_after: int = 0
    timeline_upto: int = 0


class ItemOutcome(BaseModel):
    key: str
    ok: bool
    hopeless: bool = False
    error: str | None = None
    path: str | None = None  # documents
    sha256: str | None = None


class DeliveryResult(BaseModel):
    items: list[ItemOutcome]
    timeline_to: int = 0  # the highest timeline seq the archive now holds


class Deliverer:
    def __init__(self, settings: ActivitySettings, client=None):
        self.archive = Archive(settings)
        self.notifier = Notifier(settings)
        self.client = client  # reads the incident's own record for its dossier (claim check)

    @activity.defn
    async def deliver(self, batch: DeliveryBatch) -> DeliveryResult:
        """The dossier is the incident's full record, read here with its `status` query rather
        than sent through history; the rest is file and HTTP work, done off the event loop."""
        if batch.by_ref:
            batch = await self._fill(batch)
        records: dict[str, dict] = {}
        for item in batch.items:
            if item.kind == "document" and item.payload.get("kind") == "dossier" and item.payload["data"].get("read"):
                try:
                    handle = self.client.get_workflow_handle(f"incident-{batch.incident_id}")
                    records[item.key] = await handle.query("status")
                except Exception as e:  # the incident answers later: tried again like any delivery
                    records[item.key] = {"__error__": f"could not read the incident's record: {e}"[:300]}
        return await asyncio.to_thread(self._deliver, batch, records)

    async def _fill(self, batch: DeliveryBatch) -> DeliveryBatch:
        """The payloads of a by-reference batch, read from the incident. If it cannot be read
        the items come back failed (tried again later, like a channel that is down)."""
        handle = self.client.get_workflow_handle(batch.workflow_id or f"incident-{batch.incident_id}")
        try:
            got = await handle.query("outbox", args=[[i.key for i in batch.items],
                                                      batch.timeline_after, batch.timeline_upto])
        except Exception as e:
            why = f"could not read the incident's outbox: {e}"[:300]
            return batch.model_copy(update={"items": [i.model_copy(update={"payload": {"__error__": why}})
                                                      for i in batch.items], "timeline": []})
        payloads = got.get("items", {})
        items = [i.model_copy(update={"payload": payloads.get(i.key, {"__error__": "no longer in the outbox"})})
                 for i in batch.items]
        return batch.model_copy(update={"items": items, "timeline": got.get("timeline", [])})

    def _deliver(self, batch: DeliveryBatch, records: dict[str, dict]) -> DeliveryResult:
        timeline_to = self.archive.append_timeline(batch.incident_id, batch.timeline) if batch.timeline else 0
        written: dict[str, dict] = {}
        out = []
        # Documents first: a notification in the same batch may be about one of them.
        for item in sorted(batch.items, key=lambda i: i.kind != "document"):
            try:
                if "__error__" in item.payload:
                    raise RuntimeError(item.payload["__error__"])
                if item.kind == "document":
                    payload = item.payload
                    if item.key in records:
                        if "__error__" in records[item.key]:
                            raise RuntimeError(records[item.key]["__error__"])
                        status = records[item.key]
                        payload = {**payload, "data": {**status, "timeline_tail": status.pop("timeline", [])}}
                    path, digest = self.archive.write(Document(**payload))
                    written[item.key] = {"path": str(path), "sha256": digest}
                    out.append(ItemOutcome(key=item.key, ok=True, path=str(path), sha256=digest))
                    continue
                n = Notification(**{**item.payload, "key": item.key})
                ref = item.attach or written.get(item.attach_key or "")
                if ref:
                    n = n.model_copy(update={"detail": {**n.detail, "document": ref}})
                self.notifier.send(n)
                out.append(ItemOutcome(key=item.key, ok=True))
            except Hopeless as e:
                out.append(ItemOutcome(key=item.key, ok=False, hopeless=True, error=str(e)[:300]))
            except (KeyError, TypeError, ValueError) as e:  # a document that cannot be rendered: a bug, not a channel
                log.error("delivery_broken", key=item.key, error=repr(e)[:300])
                out.append(ItemOutcome(key=item.key, ok=False, hopeless=True, error=f"cannot be rendered: {e!r}"[:300]))
            except Exception as e:  # a channel down, a disk full: may go through later
                out.append(ItemOutcome(key=item.key, ok=False, error=str(e)[:300] or type(e).__name__))
        return DeliveryResult(items=out, timeline_to=timeline_to)
