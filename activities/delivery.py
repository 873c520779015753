"""One activity for an incident's side effects: the notifications and documents that
are due, in one call, with an outcome per item.

A failing item never fails the call: it comes back with its error, and `hopeless` when it
can never succeed (the webhook refuses it with a 4xx other than 408/429, or its address
cannot work), so the incident decides to try again later or to give up. Documents come back
as a path and the sha256 of the bytes written (claim check): the incident keeps the
reference, not the text. Timeline entries the incident no longer keeps in full are
appended to the archive's timeline.jsonl, each once.

Two kinds read the incident's record with its `status` query here (claim check: nothing
big passes through history): `render` writes the printed documents (PDF, the deadline
chart) into the incident's archive folder, `record` saves its case-file facts to the
records store. A renderer or a store that fails (a missing font, an unwritable database)
fails only its item, which the incident tries again like any delivery.

Nothing a delivery records lives only on this worker's disk (issue 27): each notification sent
is a row of the paging store's `notifications` table, with the channel it went by
(activities/notify.py; the outbox file is the worker's log); the documents and timeline.jsonl
are in the archive, which with ECOPLAN_DATABASE_URL is published to the shared archive before
the batch reports them done (`_deliver_shared`); the case-file facts go to the records store;
and each item's outcome goes back to the incident, into its history.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import structlog
from pydantic import BaseModel
from temporalio import activity

from activities import archive_store, records_store
from activities.archive import Archive, Document, merge_timeline, TIMELINE
from activities import page_events
from activities.notify import Hopeless, Notification, Notifier
from activities.settings import ActivitySettings

log = structlog.get_logger("ecoplan.delivery")
# Typesetting is CPU-bound: two threads (the cores of the machine it is sized for) print, and
# a separate pool does the deliveries (file appends, HTTP), so neither waits for the other.
PRINTING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ecoplan-print")
DELIVERING = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ecoplan-deliver")


class DeliveryItem(BaseModel):
    key: str  # the idempotency key: "<workflow id>/e<n>"
    kind: Literal["notify", "document", "render", "record"]
    # A Notification, a Document, a Render ({"kind", "seq", "report_no"}) or {} for a record;
    # empty when the batch is by reference (read from the incident's outbox query).
    payload: dict = {}
    attach_key: str | None = None  # a document (of this batch or an earlier one) the notification is about
    attach: dict | None = None  # its reference when written earlier: path, sha256


class DeliveryBatch(BaseModel):
    incident_id: str
    drill: bool = False
    items: list[DeliveryItem] = []
    timeline: list[dict] = []  # entries to append to the archive's timeline.jsonl
    # By reference (claim check; what the incident sends): the items carry
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
    files: list[dict] = []  # render: each file written, {"kind", "format", "path", "sha256"}


class DeliveryResult(BaseModel):
    items: list[ItemOutcome]
    timeline_to: int = 0  # the highest timeline seq the archive now holds


class Deliverer:
    def __init__(self, settings: ActivitySettings, client=None):
        self.archive = Archive(settings)
        self.notifier = Notifier(settings)
        self.client = client  # reads the incident's own record for its dossier (claim check)
        self.settings = settings

    @activity.defn
    async def deliver(self, batch: DeliveryBatch) -> DeliveryResult:
        """The dossier is the incident's full record, read here with its `status` query rather
        than sent through history; the rest is file and HTTP work, done off the event loop."""
        status: dict | None = None  # one query answers every item of the batch
        if batch.by_ref:  # the outbox answer carries the status when an item reads it
            batch, status = await self._fill(batch)
        await self._start_pages(batch)  # pages first: before the record's query and the batch's own work
        records: dict[str, dict] = {}
        for item in batch.items:
            if "__error__" in item.payload:  # its outbox entry could not be read: fails in _deliver
                continue
            if (item.kind == "record" or item.kind == "render" and item.payload["kind"] != "info_report"
                    or item.kind == "document" and item.payload.get("kind") == "dossier"
                    and item.payload["data"].get("read")):
                if status is None:
                    try:
                        handle = self.client.get_workflow_handle(f"incident-{batch.incident_id}")
                        status = await handle.query("status")
                    except Exception as e:  # the incident answers later: tried again like any delivery
                        status = {"__error__": f"could not read the incident's record: {e}"[:300]}
                records[item.key] = dict(status)
        # Printing runs on its own threads (PRINTING): a notification's batch never waits behind
        # PDFs being typeset for other incidents.
        pool = PRINTING if any(i.kind == "render" for i in batch.items) else DELIVERING
        # In the activity's context (as asyncio.to_thread would run it): activity.info() works there.
        run = contextvars.copy_context().run
        return await asyncio.get_running_loop().run_in_executor(pool, run, self._deliver_shared, batch, records)

    async def _start_pages(self, batch: DeliveryBatch) -> None:
        """Pages (issue 23, activities/page_events.py) start first, before the batch's own work
        (the record's query, outbox, webhook, printing): a page is its own channel, and its id is
        the notification's key, so a retried batch never starts it twice."""
        if self.client is None or not page_events.configured_channels():
            return
        notes = []
        for i in batch.items:
            if i.kind == "notify" and "__error__" not in i.payload:
                try:
                    notes.append(Notification(**{**i.payload, "key": i.key}))
                except ValueError:  # a payload no notification is made of fails its own item below
                    continue
        if notes:
            await page_events.start_pages(self.client, notes, activity.info().task_queue)

    async def _fill(self, batch: DeliveryBatch) -> tuple[DeliveryBatch, dict | None]:
        """The payloads of a by-reference batch, read from the incident, and its status when an
        item reads it (the workflow decides, effects.reads_status). If it cannot be read the
        items come back failed (tried again later, like a channel that is down)."""
        handle = self.client.get_workflow_handle(batch.workflow_id or f"incident-{batch.incident_id}")
        try:
            got = await handle.query("outbox", args=[[i.key for i in batch.items],
                                                      batch.timeline_after, batch.timeline_upto, True])
        except Exception as e:
            why = f"could not read the incident's outbox: {e}"[:300]
            return batch.model_copy(update={"items": [i.model_copy(update={"payload": {"__error__": why}})
                                                      for i in batch.items], "timeline": []}), None
        payloads = got.get("items", {})
        items = [i.model_copy(update={"payload": payloads.get(i.key, {"__error__": "no longer in the outbox"})})
                 for i in batch.items]
        return batch.model_copy(update={"items": items, "timeline": got.get("timeline", [])}), got.get("status")

    def _deliver_shared(self, batch: DeliveryBatch, records: dict[str, dict]) -> DeliveryResult:
        """With a shared archive (ECOPLAN_DATABASE_URL, activities/archive_store.py): the
        incident's folder as the database has it first (another worker may have filed in it),
        then what this delivery filed back into the database. If that fails, every item is
        tried again (each is idempotent): no file stays only on this disk."""
        target = self.settings.database_url
        if not target:
            return self._deliver(batch, records)
        root = Path(self.settings.archive_dir)
        try:
            archive_store.fetch(target, root, batch.incident_id)
        except Exception as e:  # the database unreachable: the whole batch later
            return _all_failed(batch, f"共享归档读不了：{e}")
        result = self._deliver(batch, records)
        try:
            archive_store.publish(target, root, batch.incident_id)
        except Exception as e:
            return _all_failed(batch, f"未能写入共享归档：{e}", result.timeline_to)
        return result

    def _deliver(self, batch: DeliveryBatch, records: dict[str, dict]) -> DeliveryResult:
        timeline_to = self.archive.append_timeline(batch.incident_id, batch.timeline) if batch.timeline else 0
        written: dict[str, dict] = {}
        out = []
        # Documents first: a notification in the same batch may be about one of them; the
        # printed documents next, then the record, which lists the archive's files.
        order = {"document": 0, "notify": 1, "render": 2, "record": 3}
        for item in sorted(batch.items, key=lambda i: order[i.kind]):
            try:
                if "__error__" in item.payload:
                    raise RuntimeError(item.payload["__error__"])
                if item.key in records and "__error__" in records[item.key]:
                    raise RuntimeError(records[item.key]["__error__"])
                if item.kind == "render":
                    files = self._render(batch.incident_id, item.payload, records.get(item.key))
                    out.append(ItemOutcome(key=item.key, ok=True, path=files[0]["path"], sha256=files[0]["sha256"],
                                           files=files))
                    continue
                if item.kind == "record":
                    self._record(records[item.key])
                    out.append(ItemOutcome(key=item.key, ok=True))
                    continue
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
            except records_store.RecordError as e:  # a status no record can be built from: will not mend
                log.error("record_broken", key=item.key, error=str(e)[:300])
                out.append(ItemOutcome(key=item.key, ok=False, hopeless=True, error=str(e)[:300]))
            except Hopeless as e:
                out.append(ItemOutcome(key=item.key, ok=False, hopeless=True, error=str(e)[:300]))
            except (KeyError, TypeError, ValueError) as e:  # a document that cannot be rendered: a bug, not a channel
                log.error("delivery_broken", key=item.key, error=repr(e)[:300])
                out.append(ItemOutcome(key=item.key, ok=False, hopeless=True, error=f"cannot be rendered: {e!r}"[:300]))
            except Exception as e:  # a channel down, a disk full: may go through later
                out.append(ItemOutcome(key=item.key, ok=False, error=str(e)[:300] or type(e).__name__))
        return DeliveryResult(items=out, timeline_to=timeline_to)

    def _render(self, incident_id: str, payload: dict, status: dict | None) -> list[dict]:
        """Write one kind of printed document into the incident's archive folder, from its
        status (reports: from what the item carries and the text the archive holds); returns
        each file written with its sha256."""
        from activities.documents import from_status, render
        from activities.documents.fonts import FontSettings
        from activities.documents.mapping import CASE_FILE, CHART_PNG, CHART_SVG

        folder = self.archive.folder(incident_id)
        kind = payload["kind"]
        fonts = self.settings.fonts or FontSettings.from_env()
        if kind == "info_report":
            written = render(self._reports(folder, payload), folder, [kind], fonts)
        else:
            if kind == "case_file":  # the whole timeline: the archive's entries and those the incident holds
                status = {**status, "timeline": merge_timeline(folder / TIMELINE, status.get("timeline") or []),
                          "timeline_summary": None}
            written = render(from_status(status), folder, [kind], fonts)
        if not written:
            raise ValueError(f"事件状态中尚无可打印的{kind}")
        names = {CASE_FILE: "case_file", CHART_SVG: "chart", CHART_PNG: "chart"}
        return [{"kind": names.get(p.name, kind), "format": p.suffix.lstrip("."), "path": str(p),
                 "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in written]

    @staticmethod
    def _reports(folder: Path, payload: dict):
        """The reports one item prints: who and when from the item, the full text from the
        archive (`NNNN-info_report.json`, written with the Markdown; the status keeps only a
        summary of the newest), the head from the plan. No status query: reports come in bursts."""
        import json
        from datetime import datetime

        from activities.documents.mapping import _plan, _who, header_of
        from activities.documents.models import InfoReport
        from plan.calendar import SHANGHAI
        from plan.incident import ReportContent

        plan = _plan(payload)
        h = header_of(payload, plan, datetime.now(SHANGHAI))
        out = []
        for r in payload["reports"]:
            data = folder / f"{r['seq']:04d}-info_report.json"
            if not data.exists():  # the Markdown is delivered first (effects.py waits for it)
                raise RuntimeError(f"第 {r['no']} 份报告的正文尚未归档（{data.name}）")
            d = json.loads(data.read_text(encoding="utf-8"))
            out.append(InfoReport(header=h, kind=d["kind"], number=r["no"], reporting_unit=h.bureau,
                                  recipients=d["recipients"], submitted_at=d["at"], submitted_by=_who(d["actor"]),
                                  content=ReportContent(**d["content"])))
        return _Reports(out)

    def _record(self, status: dict) -> str:
        records_store.record_from_status(status)  # a status that cannot be a record: RecordError, hopeless
        try:
            return records_store.save_status(status, archive_dir=self.settings.archive_dir, path=self.settings.records_db)
        except records_store.RecordError as e:  # the store (a path, a lock, a disk): may work later
            raise RuntimeError(str(e)) from None


def _all_failed(batch: DeliveryBatch, error: str, timeline_to: int = 0) -> DeliveryResult:
    line = (error.splitlines() or ["?"])[0][:300]
    return DeliveryResult(items=[ItemOutcome(key=i.key, ok=False, error=line) for i in batch.items],
                          timeline_to=timeline_to)


class _Reports:
    """What `render` reads for kind info_report: only the reports."""

    activation_notice = termination_form = None

    def __init__(self, reports):
        self.info_reports = reports
