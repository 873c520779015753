"""Side effects: notifications and documents, delivered by one activity call per batch.

An action never waits for a channel. What it must send goes into the incident's outbox
(state); the workflow sends what is due in one `deliver` activity call and reads back, per
item, whether it went through. An item that did not is tried again on the incident's
timer, backing off: after the first quick tries a `delivery_overdue` entry tells
supervisors; a channel that answers later gives `delivered_late`. A delivery that can
never succeed (the webhook answers 4xx other than 408/429, an address that cannot work) or
that has failed for GIVE_UP ends as `delivery_failed` with the reason, so a closed incident
completes. Documents come back as references (path and sha256) and stay in state as such;
notifications about a document carry its reference, not its text. Printed documents
(`render`) and the records store (`record`) go the same way: the activity reads the
incident's status itself, so their items carry only what to print.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from activities.delivery import DeliveryBatch, DeliveryItem, DeliveryResult
import workflows.messages as m
from workflows import timeline

QUICK_TRIES = 4  # then delivery_overdue
FIRST_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(minutes=5)
GIVE_UP = timedelta(hours=24)  # transient failures for this long: delivery_failed
BATCH = 50  # items per activity call
KEEP_FAILURES = 20
KEEP_DOCUMENTS = 50
RENDER_BATCH = 1  # printing items per activity call (a PDF: about 0.012 s of CPU, the first of a worker 0.7 s)
RENDER_REPORTS = 50  # reports one printing item carries
QUIET = timedelta(seconds=2)  # printing waits this long after the incident's last entry


def add(s: m.IncidentState, workflow_id: str, kind: str, payload: dict, what: str, now: datetime,
        attach: str | None = None) -> str:
    """Queue an effect; returns its key (the idempotency key of the notification/document)."""
    s.effects_made += 1
    key = f"{workflow_id}/e{s.effects_made}"
    s.outbox.append({"key": key, "kind": kind, "payload": payload, "what": what, "attach": attach,
                     "tries": 0, "first_at": now.isoformat(), "next_at": now.isoformat(), "overdue": False})
    return key


def record_key(s: m.IncidentState) -> str:
    """What the records store keeps current: stage, level, deadlines, outcome."""
    deadlines = ";".join(f"{d.name}:{d.status}:{d.due_at}:{d.met_at}" for d in s.deadlines)
    return f"{s.stage}|{s.level}|{len(s.level_changes)}|{s.outcome}|{deadlines}"


def pending(s: m.IncidentState, kind: str, besides: set[str] = frozenset()) -> bool:
    """An item of `kind` waits in the outbox, not counting those in `besides` (being sent)."""
    return any(e["kind"] == kind and e["key"] not in besides for e in s.outbox)


def join_render(s: m.IncidentState, kind: str, seq: int, report: dict | None, besides: set[str]) -> bool:
    """A printing of `kind` already waits (not being sent): it reads the status when sent, so
    it prints this change too; a report joins its list. True when joined."""
    for e in s.outbox:
        if e["kind"] == "render" and e["payload"]["kind"] == kind and e["key"] not in besides:
            if report is not None:
                if len(e["payload"]["reports"]) >= RENDER_REPORTS:
                    continue
                e["payload"]["reports"].append(report)
            e["payload"]["seq"] = max(e["payload"]["seq"], seq)
            return True
    return False


def _waits(s: m.IncidentState, e: dict, printing: bool) -> bool:
    """Not for this lane, or a report's printing whose text is not in the archive yet (its
    Markdown still in the outbox): the other lane's delivery wakes the loop when it is."""
    if (e["kind"] == "render") != printing:
        return True
    if printing and e["payload"]["kind"] == "info_report":
        seqs = {r["seq"] for r in e["payload"]["reports"]}
        return any(o["kind"] == "document" and o["payload"].get("kind") == "info_report"
                   and o["payload"].get("seq") in seqs for o in s.outbox)
    return False


def due(s: m.IncidentState, now: datetime, printing: bool = False) -> list[dict]:
    """What to send now: deliveries, or (printing) the documents to print, a few per call."""
    ready = [e for e in s.outbox if not _waits(s, e, printing) and datetime.fromisoformat(e["next_at"]) <= now]
    return ready[:RENDER_BATCH if printing else BATCH]


def next_try(s: m.IncidentState, printing: bool = False) -> datetime | None:
    return min((datetime.fromisoformat(e["next_at"]) for e in s.outbox if not _waits(s, e, printing)),
               default=None)


def batch(s: m.IncidentState, items: list[dict], timeline_entries: list[m.TimelineEntry],
          workflow_id: str) -> DeliveryBatch:
    """The activity's input, by reference: keys and a seq range only (the activity reads the
    payloads with the `outbox` query), so notification texts and timeline entries, already
    in the state, are not written into history a second time."""
    docs = {d["key"]: d for d in s.documents if d.get("key")}
    out = []
    for e in items:
        attach = docs.get(e["attach"]) if e.get("attach") else None
        out.append(DeliveryItem(key=e["key"], kind=e["kind"], attach_key=e.get("attach"),
                                attach=({"path": attach["path"], "sha256": attach["sha256"]} if attach else None)))
    return DeliveryBatch(incident_id=s.incident_id, drill=s.report.drill, items=out, by_ref=True,
                         workflow_id=workflow_id,
                         timeline_after=timeline_entries[0].seq - 1 if timeline_entries else 0,
                         timeline_upto=timeline_entries[-1].seq if timeline_entries else 0)


def read(s: m.IncidentState, keys: list[str], after: int, upto: int) -> dict:
    """What a by-reference batch names: the outbox payloads and the timeline entries."""
    wanted = set(keys)
    return {"items": {e["key"]: e["payload"] for e in s.outbox if e["key"] in wanted},
            "timeline": [t.model_dump(mode="json") for t in s.timeline if after < t.seq <= upto]}


def reads_status(s: m.IncidentState, keys: list[str]) -> bool:
    """Whether the delivery of these items reads the incident's status: a record, a printed
    document other than the reports, the dossier (activities/delivery.py asks the same)."""
    wanted = set(keys)
    return any(e["kind"] == "record" or e["kind"] == "render" and e["payload"].get("kind") != "info_report"
               or e["kind"] == "document" and e["payload"].get("kind") == "dossier"
               and (e["payload"].get("data") or {}).get("read")
               for e in s.outbox if e["key"] in wanted)


def settle(s: m.IncidentState, sent: list[dict], result: DeliveryResult | None, error: str | None,
           now: datetime) -> None:
    """Apply a delivery's outcome: done items leave the outbox, others back off or end."""
    outcomes = {r.key: r for r in result.items} if result else {}
    current = {e["key"]: e for e in s.outbox}
    for key in [e["key"] for e in sent]:
        e = current.get(key)
        if e is None:
            continue
        r = outcomes.get(e["key"])
        if r is not None and r.ok:
            s.outbox.remove(e)
            if e["kind"] == "document":
                s.documents.append({"key": e["key"], "kind": e["payload"]["kind"], "seq": e["payload"]["seq"],
                                    "path": r.path, "sha256": r.sha256})
                s.documents_count += 1
                del s.documents[:-KEEP_DOCUMENTS]
            elif e["kind"] == "render":  # printed documents: each file by reference (path, sha256)
                for f in r.files:
                    s.documents.append({"key": e["key"], "kind": f["kind"], "format": f["format"],
                                        "seq": e["payload"]["seq"], "path": f["path"], "sha256": f["sha256"]})
                    s.documents_count += 1
                del s.documents[:-KEEP_DOCUMENTS]
            if e["overdue"]:
                timeline.record(s, now, now, None, "delivered_late", s.stage,
                                {"what": e["what"], "since": e["first_at"]})
            continue
        reason = (r.error if r is not None else error) or "no answer"
        e["tries"] += 1
        first = datetime.fromisoformat(e["first_at"])
        if (r is not None and r.hopeless) or now - first >= GIVE_UP:
            s.outbox.remove(e)
            why = reason if (r is not None and r.hopeless) else f"gave up after {GIVE_UP}: {reason}"
            s.delivery_failures.append({"key": e["key"], "what": e["what"], "since": e["first_at"],
                                        "at": now.isoformat(), "reason": timeline.short(why, 300)})
            s.delivery_failures_count += 1
            del s.delivery_failures[:-KEEP_FAILURES]
            timeline.record(s, now, now, None, "delivery_failed", s.stage,
                            {"what": e["what"], "reason": timeline.short(why, 300)})
            continue
        e["next_at"] = (now + min(FIRST_BACKOFF * 2 ** (e["tries"] - 1), MAX_BACKOFF)).isoformat()
        if e["tries"] >= QUICK_TRIES and not e["overdue"]:
            e["overdue"] = True
            timeline.record(s, now, now, None, "delivery_overdue", s.stage,
                            {"what": e["what"], "error": timeline.short(reason, 300)})


def overdue(s: m.IncidentState) -> list[dict]:
    """Deliveries past their quick tries, for status and the supervisor views."""
    return [{"what": e["what"], "since": e["first_at"], "tries": e["tries"]} for e in s.outbox if e["overdue"]]


def cause(e) -> str:
    """An activity failure as one line: the innermost cause's message."""
    cause = e.cause
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause
    return (str(cause or e) or type(cause or e).__name__)[:300]
