"""What every channel takes and raises (activities/channels)."""

from __future__ import annotations

from dataclasses import dataclass


class Retry(Exception):
    """Not sent now; may be later."""


class Hopeless(Exception):
    """Will not be sent on this channel however often it is tried."""


@dataclass(frozen=True)
class Message:
    subject: str  # starts with 【演练】 for a drill
    body: str
    link: str = ""  # the acknowledgement link, when the page asks for one
    key: str = ""  # idempotency key: page id / username / channel

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}" + (f"\n确认收到：{self.link}" if self.link else "")


