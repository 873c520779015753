"""The paging activities (workflows/paging.py calls them) and the data they exchange.

send_page sends one page to one person on one channel, at most once: it claims the send's
idempotency key (page id / username / channel) in the page store before calling the provider,
so a retry after a worker was killed never sends it again (activities/page_store.py). A provider
that may take it later raises a retryable error (Temporal retries with backoff); one that never
will raises a non-retryable one, and the workflow falls back to the next channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import base as channels
from activities.channels.dispatch import send
from activities.page_store import PageStore

log = structlog.get_logger("ecoplan.paging")


class Channel(BaseModel):
    channel: str
    address: str


class PagePerson(BaseModel):
    username: str
    label: str
    target: str  # the chain's step that named them: duty:officer, role:commander, leads
    channels: list[Channel]


class PageRequest(BaseModel):
    page_id: str
    incident_id: str
    event: str  # an event of plan/paging_data
    subject: str
    body: str
    drill: bool = False
    participants: list[str] = []  # a drill's, its starter first: nobody else is told (ecoplan/paging_people.py)
    leads: list[str] = []  # the incident's named leads (for `leads` targets)
    at: Optional[datetime] = None


class PagePlan(BaseModel):
    """Who the page goes to, in order, and how long each channel waits for an acknowledgement."""

    people: list[PagePerson]
    window_s: float
    ack: bool  # the event asks for an acknowledgement (plan/paging_data `page`)
    link_valid_s: float
    links: dict[str, str] = {}  # username -> signed acknowledgement link; a plan made before there were none


class SendInput(BaseModel):
    page_id: str
    incident_id: str
    username: str
    channel: str
    address: str
    subject: str
    body: str
    link: str = ""


class PageRecord(BaseModel):
    page_id: str
    incident_id: str
    event: str
    subject: str
    username: str
    state: str  # open | acknowledged | exhausted | told
    channel: str = ""
    drill: bool = False
    acked_by: str = ""


class PageActivities:
    def __init__(self, store: PageStore | None = None):
        self._store = store

    @property
    def store(self) -> PageStore:
        return self._store or PageStore()  # read where the settings say at each call

    @activity.defn
    def send_page(self, inp: SendInput) -> str:
        key = f"{inp.page_id}/{inp.username}/{inp.channel}"
        claim = self.store.claim(key, inp.page_id, inp.username, inp.channel)
        if claim != "go":
            log.info("page_send_skipped", key=key, why=claim)
            return claim  # "sent" before, or "uncertain": never a second send
        msg = channels.Message(subject=inp.subject, body=inp.body, link=inp.link, key=key)
        try:
            said = send(inp.channel, inp.address, msg)
        except channels.Hopeless as e:
            self.store.record_send(key, inp.page_id, inp.username, inp.channel, False, str(e))
            log.warning("page_send_hopeless", key=key, channel=inp.channel, error=str(e))
            raise ApplicationError(str(e), type="Hopeless", non_retryable=True) from None
        except channels.Retry as e:
            self.store.record_send(key, inp.page_id, inp.username, inp.channel, False, str(e))
            log.warning("page_send_failed", key=key, channel=inp.channel, error=str(e),
                        attempt=activity.info().attempt)
            raise ApplicationError(str(e), type="Retry") from None
        self.store.record_send(key, inp.page_id, inp.username, inp.channel, True, said)
        log.info("page_sent", key=key, channel=inp.channel, said=said)
        return "sent"

    @activity.defn
    def record_page(self, r: PageRecord) -> None:
        self.store.put_page(r.page_id, r.incident_id, r.event, r.subject, r.username, r.state, r.channel, r.drill,
                            r.acked_by)
