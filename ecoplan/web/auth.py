"""Login for the console and the API: password check, the login rate limit, sessions in
cookies, bearer tokens, CSRF tokens. Every login attempt is written to the log (username,
client address, outcome; never the password)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta

import structlog

from ecoplan.accounts import Account, AccountStore, Session

log = structlog.get_logger("ecoplan.web")

SESSION_COOKIE = "ecoplan_session"
LOGIN_CSRF_COOKIE = "ecoplan_login_csrf"


@dataclass(frozen=True)
class AuthSettings:
    # Local choices: a session lasts one duty shift; the limits make online guessing hopeless
    # (5 wrong passwords per account, 30 attempts per address, each per 15 minutes).
    session_lifetime: timedelta = timedelta(hours=12)
    token_lifetime: timedelta = timedelta(hours=12)
    window: float = 15 * 60
    max_failures_per_user: int = 5
    max_attempts_per_address: int = 30
    secure_cookies: bool = False  # also Secure whenever the request came over https


class LoginLimiter:
    """Sliding windows in this process: failed attempts per username, all attempts per
    client address. A success clears the username's failures."""

    def __init__(self, settings: AuthSettings, clock=time.monotonic):
        self.s = settings
        self.clock = clock
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.attempts: dict[str, deque[float]] = defaultdict(deque)

    def _trim(self, q: deque[float], now: float) -> deque[float]:
        while q and q[0] <= now - self.s.window:
            q.popleft()
        return q

    def wait(self, username: str, address: str) -> float:
        """Seconds until this username / address may try again (0: now)."""
        now = self.clock()
        waits = [0.0]
        f = self._trim(self.failures[username], now)
        if len(f) >= self.s.max_failures_per_user:
            waits.append(f[0] + self.s.window - now)
        a = self._trim(self.attempts[address], now)
        if len(a) >= self.s.max_attempts_per_address:
            waits.append(a[0] + self.s.window - now)
        return max(waits)

    def record(self, username: str, address: str, ok: bool) -> None:
        now = self.clock()
        self.attempts[address].append(now)
        if ok:
            self.failures.pop(username, None)
        else:
            self.failures[username].append(now)


class LoginRefused(Exception):
    def __init__(self, status: int, detail: str, retry_after: int | None = None):
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after


async def login(store: AccountStore, limiter: LoginLimiter, username: str, password: str, address: str,
                via: str) -> Account:
    """The account for a right password, within the rate limit; LoginRefused otherwise.
    Logged either way."""
    key = (username or "").strip().lower()[:64]
    wait = limiter.wait(key, address)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        log.warning("login", username=key, address=address, via=via, outcome="rate_limited")
        raise LoginRefused(429, f"登录尝试过多，请 {minutes} 分钟后再试", retry_after=int(wait) + 1)
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    account = await asyncio.to_thread(store.verify, key, password or "")
    limiter.record(key, address, account is not None)
    log.info("login", username=key, address=address, via=via, outcome="ok" if account else "bad_credentials")
    if account is None:
        raise LoginRefused(401, "用户名或密码错误，或账号已停用")
    return account


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def session_of(store: AccountStore, token: str | None) -> Session | None:
    return store.session(token, "web")
