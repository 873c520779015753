"""Notifications: one activity, channels chosen by configuration.

Always: a structured log line and a line in the JSON-lines outbox. With a webhook URL: an
HTTP POST carrying an idempotency key (workflow id + event number), retried with backoff
by Temporal until the endpoint takes it; the receiver drops repeats by that key.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import datetime

import structlog
from pydantic import BaseModel
from temporalio import activity

from activities.settings import ActivitySettings

log = structlog.get_logger("ecoplan.notify")


class Notification(BaseModel):
    key: str  # idempotency key: "<workflow id>/<event number>"
    incident_id: str
    event: str  # e.g. deadline_overdue, deadline_reminder, response_activated
    subject: str
    recipients: list[str]
    at: datetime
    drill: bool = False
    detail: dict = {}


class Notifier:
    def __init__(self, settings: ActivitySettings):
        self.settings = settings
        self._lock = threading.Lock()

    @activity.defn
    def notify(self, n: Notification) -> str:
        if n.drill and not n.subject.startswith("【演练】"):
            n = n.model_copy(update={"subject": "【演练】" + n.subject})
        record = n.model_dump(mode="json")
        log.info("notification", key=n.key, incident_id=n.incident_id, notify_event=n.event,
                 subject=n.subject, recipients=n.recipients)
        if self.settings.webhook_url:
            # POST first: a refused call is retried, and the outbox must not gain a line per try.
            self._post(record)
            self._append_outbox(record)
            return "webhook"
        self._append_outbox(record)
        return "outbox"

    def _append_outbox(self, record: dict) -> None:
        path = self.settings.outbox_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _post(self, record: dict) -> None:
        body = json.dumps(record, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(
            self.settings.webhook_url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": record["key"]},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.settings.webhook_timeout_s) as resp:
                if resp.status >= 300:
                    raise RuntimeError(f"webhook answered {resp.status}")
        except urllib.error.URLError as e:
            # Raise so Temporal retries with backoff; the workflow carries on meanwhile.
            raise RuntimeError(f"webhook not reached: {e}") from e
