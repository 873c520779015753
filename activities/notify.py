"""Notifications: one activity, channels chosen by configuration.

Always: a structured log line, a row in the paging store's `notifications` table and a line in
the worker's JSON-lines outbox. With a webhook URL: an HTTP POST carrying an idempotency key
(workflow id + event number), retried with backoff by Temporal until the endpoint takes it;
the receiver drops repeats by that key.

The table is the record of what was sent (issue 27): in the shared PostgreSQL of
ECOPLAN_DATABASE_URL (any worker's notifications, read from any machine with `ecoplan
notifications`), else in `pages.db`. A notification is recorded only after its webhook took it,
under its idempotency key, once (a retried activity adds no second row), and it is not done
until it is recorded: a store that cannot be written fails the send, which is tried again. The
outbox file (ECOPLAN_OUTBOX) is only the worker's own log, kept for people and tests reading
that machine's disk.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import urllib.error
import urllib.request
from datetime import datetime

import structlog
from pydantic import BaseModel
from temporalio import activity

from activities.settings import ActivitySettings

log = structlog.get_logger("ecoplan.notify")

# 408 Request Timeout and 429 Too Many Requests say "later"; any other 4xx says "never".
RETRYABLE_4XX = (408, 429)


def worker_name() -> str:
    """Who recorded a notification, as Temporal names a worker by default (pid@host)."""
    return f"{os.getpid()}@{socket.gethostname()}"


class Hopeless(Exception):
    """A delivery that will not succeed however often it is tried."""


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
        self._store = None  # the paging store, opened at the first send

    @activity.defn
    def notify(self, n: Notification) -> str:
        """The daily report's notification: one per call, retried by Temporal (an incident
        sends through activities/delivery.py, which ends hopeless deliveries)."""
        try:
            return self.send(n)
        except Hopeless as e:
            raise RuntimeError(str(e)) from e

    def send(self, n: Notification) -> str:
        """Log it, POST it to the webhook if there is one, then add it to the outbox. Raises
        Hopeless when the webhook can never take it, RuntimeError when it may later."""
        if n.drill and not n.subject.startswith("【演练】"):
            n = n.model_copy(update={"subject": "【演练】" + n.subject})
        record = n.model_dump(mode="json")
        log.info("notification", key=n.key, incident_id=n.incident_id, notify_event=n.event,
                 subject=n.subject, recipients=n.recipients)
        channel = "outbox"
        if self.settings.webhook_url:
            # POST first: a refused call is retried, and neither the record nor the log may say
            # it went before the endpoint took it.
            self._post(record)
            channel = "webhook"
        self._record(record, channel)
        self._append_outbox(record)
        return channel

    def _record(self, record: dict, channel: str) -> None:
        from activities.page_store import PageStore

        try:
            with self._lock:
                if self._store is None:
                    self._store = PageStore(self.settings.pages_db)
            self._store.record_notification(record, channel, worker_name())
        except Exception as e:  # the store unreachable: the send is tried again (never hopeless)
            raise RuntimeError(f"通知未能记入呼叫库：{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None

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
                    raise RuntimeError(f"通知接口答复 {resp.status}")
        except urllib.error.HTTPError as e:
            if 400 <= e.code < 500 and e.code not in RETRYABLE_4XX:
                raise Hopeless(f"通知接口拒收：HTTP {e.code} {e.reason}") from e
            raise RuntimeError(f"通知接口答复 HTTP {e.code}") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, socket.gaierror):  # a host name that does not resolve
                raise Hopeless(f"通知接口地址无法使用：{e.reason}") from e
            if isinstance(e.reason, str) and ("unknown url type" in e.reason or "no host given" in e.reason):
                raise Hopeless(f"通知接口地址无法使用：{e.reason}") from e
            raise RuntimeError(f"通知接口未连通：{e.reason}") from e
        except (ValueError, http.client.InvalidURL) as e:  # no scheme, unknown scheme, bad port
            raise Hopeless(f"通知接口地址无法使用：{e}") from e
