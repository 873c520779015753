"""The acknowledgement link in a page: /pages/{id}/ack?u=USER&e=EXPIRES&n=NONCE&s=SIGNATURE,
signed with HMAC-SHA256 under ECOPLAN_PAGE_LINK_SECRET (or a random key kept in
$ECOPLAN_HOME/page-link.key, made on first use), expiring (plan/paging_data `link_valid`) and
single-use (the nonce is spent in the page store when the link is used)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

from activities.settings import settings


class LinkRefused(ValueError):
    """A link that cannot acknowledge; the message is one line, for a person."""


def _key() -> bytes:
    s = settings()
    if s.page_link_secret:
        return s.page_link_secret.encode()
    path: Path = s.in_home(None, "page-link.key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


def _mac(page_id: str, username: str, expires: int, nonce: str) -> str:
    return hmac.new(_key(), f"{page_id}|{username}|{expires}|{nonce}".encode(), hashlib.sha256).hexdigest()


def make(page_id: str, username: str, valid_s: float, now: float | None = None) -> str:
    expires = int((now or time.time()) + valid_s)
    nonce = secrets.token_urlsafe(12)
    q = urlencode({"u": username, "e": expires, "n": nonce, "s": _mac(page_id, username, expires, nonce)})
    return f"{settings().console_url.rstrip('/')}/pages/{page_id}/ack?{q}"


def check(page_id: str, username: str, expires: str, nonce: str, sig: str, now: float | None = None) -> None:
    """Raise LinkRefused unless the link is genuine and unexpired (the caller spends the nonce)."""
    try:
        exp = int(expires)
    except ValueError:
        raise LinkRefused("确认链接不完整或已被改动") from None
    if not hmac.compare_digest(_mac(page_id, username, exp, nonce), sig or ""):
        raise LinkRefused("确认链接不完整或已被改动")
    if (now or time.time()) > exp:
        raise LinkRefused("确认链接已过期：请登录控制台确认，或用 ecoplan ack")
