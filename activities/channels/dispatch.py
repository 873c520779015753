"""send(): a message on the channel named (activities/channels)."""

from __future__ import annotations

from activities.channels import email, robots, sms
from activities.channels.base import Hopeless, Message
from activities.settings import EcoplanSettings, settings


def send(channel: str, address: str, message: Message, s: EcoplanSettings | None = None) -> str:
    """Send `message` to `address` on `channel`; returns what the provider said (an id or "ok")."""
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
