"""Side effects: notifications and documents, delivered by one activity call per batch.

An action never waits for a channel. What it must send goes into the incident's outbox
(state); the workflow sends what is due in one `deliver` activity call and reads back, per
item, whether it went through. An item that did not is tried again on the incident's
timer, backing off: after the first quick tries a `delivery_overdue` entry tells
supervisors; a channel that answers later gives `delivered_late`. A delivery that can
never succeed (the webhook answers 4xx other than 408/429, an address that cannot work) or
that has failed for GIVE_UP ends as `delivery_failed` with the reason, so a closed incident
completes. Documents come back as references (path and sha256) and stay in state as such;
notifications about a document carry its reference, not its text.
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


def add(s: m.IncidentState, workflow_id: str, kind: str, payload: dict, what: str, now: datetime,
        attach: str | None = None) -> str:
    """Queue an effect; returns its key (the idempotency key of the notification/document)."""
    s.effects_made += 1
    key = f"{workflow_id}/e{s.effects_made}"
    s.outbox.append({"key": key, "kind": kind, "payload": payload, "what": what, "attach": attach,
                     "tries": 0, "first_at": now.isoformat(), "next_at": now.isoformat(), "overdue": False})
    return key


def due(s: m.IncidentState, now: datetime) -> list[dict]:
    return [e for e in s.outbox if datetime.fromisoformat(e["next_at"]) <= now][:BATCH]


def next_try(s: m.IncidentState) -> datetime | None:
    return min((datetime.fromisoformat(e["next_at"]) for e in s.outbox), default=None)


def batch(s: m.IncidentState, items: list[dict], timeline_entries: list[m.TimelineEntry],
          workflow_id: str = "", by_ref: bool = False) -> DeliveryBatch:
    """The activity's input. By reference: keys and a seq range only (the activity reads the
    payloads with the `outbox` query), so notification texts and timeline entries, already
    in the state, are not written into history a second time."""
    docs = {d["key"]: d for d in s.documents if d.get("key")}
    out = []
    for e in items:
        attach = docs.get(e["attach"]) if e.get("attach") else None
        out.append(DeliveryItem(key=e["key"], kind=e["kind"], payload={} if by_ref else e["payload"],
                                attach_key=e.get("attach"),
                                attach=({"path": attach["path"], "sha256": attach["sha256"]} if attach else None)))
    if by_ref:
        return DeliveryBatch(incident_id=s.incident_id, drill=s.report.drill, items=out, by_ref=True,
                             workflow_id=workflow_id,
                             timeline_after=timeline_entries[0].seq - 1 if timeline_entries else 0,
                             timeline_upto=timeline_entries[-1].seq if timeline_entries else 0)
    return DeliveryBatch(incident_id=s.incident_id, drill=s.report.drill, items=out,
                         timeline=[t.model_dump(mode="json") for t in timeline_entries])


def read(s: m.IncidentState, keys: list[str], after: int, upto: int) -> dict:
    """What a by-reference batch names: the outbox payloads and the timeline entries."""
    wanted = set(keys)
    return {"items": {e["key"]: e["payload"] for e in s.outbox if e["key"] in wanted},
            "timeline": [t.model_dump(mode="json") for t in s.timeline if after < t.seq <= upto]}


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


def adopt_v1(s: m.IncidentState, workflow_id: str, now: datetime) -> None:
    """A 1.x incident continued as new: its undelivered and carried side effects (whole
    payloads) join the outbox, sent again under their old keys."""
    for entry in [*s.undelivered, *s.carried]:
        kind = "notify" if entry["kind"] == "notify" else "document"
        key = entry["payload"].get("key") or f"{workflow_id}/v1-{s.effects_made + 1}"
        s.effects_made += 1
        s.outbox.append({"key": key, "kind": kind, "payload": entry["payload"], "what": entry["what"], "attach": None,
                         "tries": 0, "first_at": entry.get("since", now.isoformat()), "next_at": now.isoformat(),
                         "overdue": "since" in entry})
    s.undelivered, s.carried = [], []
