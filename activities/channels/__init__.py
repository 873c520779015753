"""The channels a page goes out on, each speaking its provider's protocol: e-mail over SMTP
(email.py), the DingTalk custom robot and the WeCom group robot (robots.py), Alibaba Cloud SMS
(sms.py). send() picks one; each raises Retry (the provider may take it later: the activity
retries with backoff) or Hopeless (it never will: the page falls back to the next channel).

Secrets (the SMTP password, the robots' webhook tokens and signing secret, the SMS AccessKey
secret) are read from the settings when a message is sent and never put in an error, a log line
or a return value: errors name the provider's host and its answer only.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.settings import EcoplanSettings, settings


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


def send(channel: str, address: str, message: Message, s: EcoplanSettings | None = None) -> str:
    """Send `message` to `address` on `channel`; returns what the provider said (an id or "ok")."""
    from activities.channels import email, robots, sms

    s = s or settings()
    if channel == "email":
        return email.send(s, address, message)
    if channel == "dingtalk":
        return robots.dingtalk(s, address, message)
    if channel == "wecom":
        return robots.wecom(s, address, message)
    if channel == "sms":
        return sms.send(s, address, message)
    raise Hopeless(f"未知渠道 {channel}")
