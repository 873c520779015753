"""E-mail over SMTP: ECOPLAN_SMTP_HOST/_PORT/_USER/_PASSWORD/_FROM/_TLS (none | starttls | ssl).
The Message-ID carries the page's idempotency key, so a receiving system can drop a repeat."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from activities.channels.base import Hopeless, Message, Retry
from activities.settings import EcoplanSettings

TIMEOUT_S = 15
PORTS = {"none": 25, "starttls": 587, "ssl": 465}


def build(s: EcoplanSettings, to: str, m: Message) -> EmailMessage:
    e = EmailMessage()
    e["Subject"], e["From"], e["To"] = m.subject, s.smtp_from, to
    e["Date"] = formatdate(localtime=True)
    if m.key:
        e["Message-ID"] = f"<{m.key.replace('/', '.')}@ecoplan>"
    e.set_content(m.text, charset="utf-8")
    return e


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """One AUTH, PLAIN or else LOGIN (smtplib's login() goes on to the next mechanism after a
    refusal, and some servers then never answer)."""
    smtp.ehlo_or_helo_if_needed()
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    mech = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
    if mech is None:
        raise Hopeless("SMTP 服务器不提供 PLAIN 或 LOGIN 登录")
    smtp.user, smtp.password = user, password
    smtp.auth(mech, getattr(smtp, f"auth_{mech.lower()}"))


def send(s: EcoplanSettings, to: str, m: Message) -> str:
    if not (s.smtp_host and s.smtp_from):
        raise Hopeless("电子邮件渠道未配置（ECOPLAN_SMTP_HOST、ECOPLAN_SMTP_FROM）")
    mode = (s.smtp_tls or "starttls").lower()
    if mode not in PORTS:
        raise Hopeless(f"ECOPLAN_SMTP_TLS 应为 none、starttls 或 ssl，而不是 {mode!r}")
    port = s.smtp_port or PORTS[mode]
    where = f"{s.smtp_host}:{port}"
    try:
        cls = smtplib.SMTP_SSL if mode == "ssl" else smtplib.SMTP
        kw = {"context": ssl.create_default_context()} if mode == "ssl" else {}
        with cls(s.smtp_host, port, timeout=TIMEOUT_S, **kw) as smtp:
            if mode == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                _login(smtp, s.smtp_user, s.smtp_password or "")
            refused = smtp.send_message(build(s, to, m))
    except smtplib.SMTPAuthenticationError as e:
        raise Hopeless(f"SMTP {where} 拒绝登录（{e.smtp_code}）") from None
    except smtplib.SMTPRecipientsRefused as e:
        codes = [c for c, _ in e.recipients.values()]
        if all(400 <= c < 500 for c in codes):
            raise Retry(f"SMTP {where} 暂不接收收件人（{codes}）") from None
        raise Hopeless(f"SMTP {where} 拒收收件人 {to}（{codes}）") from None
    except smtplib.SMTPResponseException as e:
        if 400 <= e.smtp_code < 500:
            raise Retry(f"SMTP {where} 暂时拒绝（{e.smtp_code}）") from None
        raise Hopeless(f"SMTP {where} 拒绝（{e.smtp_code}）") from None
    except socket.gaierror:
        raise Hopeless(f"SMTP 服务器 {s.smtp_host} 无法解析") from None
    except (OSError, smtplib.SMTPException) as e:
        raise Retry(f"SMTP {where} 未连通（{type(e).__name__}）") from None
    if refused:
        raise Hopeless(f"SMTP {where} 拒收 {to}")
    return f"smtp {where} 已接收"
