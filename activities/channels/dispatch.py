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


def configured_channels(s: EcoplanSettings | None = None) -> list[str]:
    """The channels this bureau has set up (README, 通知渠道)."""
    s = s or settings()
    out = []
    if s.dingtalk_webhook:
        out.append("dingtalk")
    if s.wecom_webhook:
        out.append("wecom")
    if s.sms_access_key_id and s.sms_access_key_secret and s.sms_sign_name and s.sms_template_code:
        out.append("sms")
    if s.smtp_host and s.smtp_from:
        out.append("email")
    return out
