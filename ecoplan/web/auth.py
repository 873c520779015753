"""Login for the console and the API: password check, the login limit (ecoplan/login_limiter.py),
the second factor (ecoplan/totp.py), sessions in cookies, bearer tokens, CSRF tokens. Every
login attempt is written to the log and the audit log (username, client address, outcome;
never the password or a code)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from ecoplan import audit
from ecoplan.accounts import Account, AccountStore, Session
from ecoplan.login_limiter import BUSY, Limits, LoginLimiter
from ecoplan.totp import TotpStore

log = structlog.get_logger("ecoplan.web")

SESSION_COOKIE = "ecoplan_session"
LOGIN_CSRF_COOKIE = "ecoplan_login_csrf"
PENDING_COOKIE = "ecoplan_pending"  # a right password, waiting for its second factor


@dataclass(frozen=True)
class AuthSettings:
    # Local choices: a session lasts one duty shift; the login limits are
    # ecoplan/login_limiter.py's (failures per account and address, a growing delay).
    session_lifetime: timedelta = timedelta(hours=12)
    # Unused this long, a console session ends (ECOPLAN_SESSION_IDLE_MINUTES; GB/T 22239-2019
    # 8.1.4.1 b), 登录连接超时自动退出). None: no idle limit.
    session_idle: timedelta | None = timedelta(minutes=30)
    token_lifetime: timedelta = timedelta(hours=12)
    limits: Limits = field(default_factory=Limits)
    secure_cookies: bool = False  # also Secure whenever the request came over https
    # Peers whose X-Forwarded-For/-Proto are believed (ECOPLAN_TRUSTED_PROXIES); none by default.
    trusted_proxies: frozenset[str] = frozenset()
    # Roles that must sign in with a second factor (ECOPLAN_TOTP_ROLES; GB/T 22239-2019 8.1.4.1 d)).
    totp_roles: frozenset[str] = frozenset({"admin", "commander"})
    # ECOPLAN_TOTP_SELF_ENROL: False means only an admin enrols (`ecoplan users enrol-2fa`); an
    # account of those roles without an authenticator is then refused instead of enrolling
    # whoever holds its password (trust on first use).
    totp_self_enrol: bool = True
    audit_days: int = audit.KEEP_DAYS
    pending_lifetime: timedelta = timedelta(minutes=5)  # between the password and the code

    @classmethod
    def from_env(cls, **over) -> "AuthSettings":
        from activities.settings import settings

        env = settings()
        over.setdefault("session_idle", timedelta(minutes=env.session_idle_minutes) if env.session_idle_minutes
                        else None)
        return cls(trusted_proxies=env.trusted_proxy_set, totp_roles=env.totp_role_set,
                   totp_self_enrol=env.totp_self_enrol, audit_days=env.audit_days, **over)


def limiter_for(store: AccountStore, settings: AuthSettings) -> LoginLimiter:
    return LoginLimiter(store, settings.limits)


class LoginRefused(Exception):
    def __init__(self, status: int, detail: str, retry_after: int | None = None):
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after


@dataclass(frozen=True)
class Verified:
    """A right password: the account, and what the second factor still needs: None (nothing),
    'code' (a code from the app or a recovery code) or 'enrol' (the app is not yet set up)."""

    account: Account
    needs: str | None


NOT_ENROLLED = "此账号须使用动态口令，但尚未登记：请联系管理员登记动态口令后再登录"
SELF_ENROL_OFF = "本系统的动态口令由管理员登记，不能自行绑定：请联系管理员"


def second_factor(store: AccountStore, settings: AuthSettings, account: Account) -> str | None:
    """What this account must still show after its password (see Verified)."""
    if TotpStore(store).enrolled(account.username):
        return "code"
    return "enrol" if account.role in settings.totp_roles else None


def _not_enrolled(store: AccountStore, settings: AuthSettings, key: str, address: str, via: str,
                  **detail) -> LoginRefused:
    """An account that must show a second factor, has none, and may not enrol itself."""
    log.warning("login", username=key, address=address, via=via, outcome="not_enrolled")
    _audit(store, settings, key, address, via, "not_enrolled", **detail)
    return LoginRefused(403, NOT_ENROLLED)


def _audit(store: AccountStore, settings: AuthSettings, username: str, address: str, via: str, outcome: str,
           event: str = "login", **detail) -> None:
    store.audit(event, username, address=address, outcome=outcome, keep_days=settings.audit_days, via=via, **detail)


async def _begin(store: AccountStore, limiter: LoginLimiter, settings: AuthSettings, key: str, address: str,
                 via: str) -> None:
    """Count the attempt before any check (LoginRefused 429 when this pair must wait)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 10
    wait = await asyncio.to_thread(limiter.begin, key, address)
    while wait == BUSY and loop.time() < give_up:  # earlier attempts of this pair are being checked
        await asyncio.sleep(0.05)
        wait = await asyncio.to_thread(limiter.begin, key, address)
    if wait == BUSY:
        wait = 5.0
    if wait > 0:
        log.warning("login", username=key, address=address, via=via, outcome="rate_limited")
        await asyncio.to_thread(_audit, store, settings, key, address, via, "rate_limited")
        wait_s = int(wait) + 1
        when = f"{wait_s} 秒" if wait_s < 120 else f"{round(wait_s / 60)} 分钟"
        raise LoginRefused(429, f"此账号在本地址登录失败次数过多，请 {when}后再试（其他地址不受影响；管理员可解除）",
                           retry_after=wait_s)


async def _failed(store, limiter, settings, key, address, via, outcome, detail) -> LoginRefused:
    await asyncio.to_thread(limiter.failed, key, address)
    log.info("login", username=key, address=address, via=via, outcome=outcome)
    await asyncio.to_thread(_audit, store, settings, key, address, via, outcome)
    return LoginRefused(401, detail)


async def login(store: AccountStore, limiter: LoginLimiter, settings: AuthSettings, username: str, password: str,
                address: str, via: str, code: str | None = None) -> Verified:
    """The password check, counted by the limiter before it runs. With `code` (the API),
    the second factor is checked in the same attempt; without it (the console) the caller
    asks for it next when `needs` says so. LoginRefused otherwise. Logged and audited."""
    key = (username or "").strip().lower()[:64]
    await _begin(store, limiter, settings, key, address, via)
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    account = await asyncio.to_thread(store.verify, key, password or "")
    if account is None:
        raise await _failed(store, limiter, settings, key, address, via, "bad_credentials", "用户名或密码错误，或账号已停用")
    needs = await asyncio.to_thread(second_factor, store, settings, account)
    if code is not None and needs == "code":
        if not code.strip():
            await asyncio.to_thread(limiter.retract, key, address)
            log.info("login", username=key, address=address, via=via, outcome="needs_code")
            raise LoginRefused(401, "此账号须同时提供动态口令：请在 code 中给出验证器 App 上当前的 6 位数字或一个恢复码")
        if not await asyncio.to_thread(TotpStore(store).verify, key, code):
            raise await _failed(store, limiter, settings, key, address, via, "bad_code", "动态口令错误或已用过")
        needs = None
    if needs is None:
        await asyncio.to_thread(limiter.succeeded, key, address)
        log.info("login", username=key, address=address, via=via, outcome="ok")
        await asyncio.to_thread(_audit, store, settings, key, address, via, "ok")
    else:
        # The password was right: its own count is taken back; the code is counted on its own.
        await asyncio.to_thread(limiter.retract, key, address)
        if needs == "enrol" and not settings.totp_self_enrol:
            raise await asyncio.to_thread(_not_enrolled, store, settings, key, address, via)
        log.info("login", username=key, address=address, via=via, outcome=f"needs_{needs}")
    return Verified(account, needs)


def after_provider(store: AccountStore, settings: AuthSettings, account: Account, address: str,
                   provider_factors: list[str]) -> str | None:
    """After the identity provider vouched for `account` (OIDC): what it must still show here,
    as Verified.needs. `provider_factors`: the ID token's `amr` values that count as a second
    factor done at the provider (ecoplan/web/oidc.py); with one, nothing more is asked. Audited
    either way: `ok` (with the provider's factors) or `needs_code`/`needs_enrolment`; an
    account that may not enrol itself is refused (LoginRefused)."""
    needs = None if provider_factors else second_factor(store, settings, account)
    key, via = account.username, "oidc"
    detail = {"amr": provider_factors} if provider_factors else {}
    if needs == "enrol" and not settings.totp_self_enrol:
        raise _not_enrolled(store, settings, key, address, via)
    outcome = {None: "ok", "code": "needs_code", "enrol": "needs_enrolment"}[needs]
    log.info("login", username=key, address=address, via=via, outcome=outcome, role=account.role, **detail)
    _audit(store, settings, key, address, via, outcome, **({"factor": "provider", **detail} if detail else {}))
    return needs


async def second_step(store: AccountStore, limiter: LoginLimiter, settings: AuthSettings, account: Account,
                      code: str, address: str, via: str) -> None:
    """The code after a right password (console): counted like a password; LoginRefused when wrong."""
    key = account.username
    await _begin(store, limiter, settings, key, address, via)
    kind = await asyncio.to_thread(TotpStore(store).verify, key, code or "")
    if not kind:
        raise await _failed(store, limiter, settings, key, address, via, "bad_code",
                            "动态口令错误或已用过：请输入验证器 App 上当前的 6 位数字，或一个恢复码")
    await asyncio.to_thread(limiter.succeeded, key, address)
    log.info("login", username=key, address=address, via=via, outcome="ok", factor=kind)
    await asyncio.to_thread(_audit, store, settings, key, address, via, "ok", factor=kind)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


# A request the page makes by itself (live.js's refresh, the to-do count) says so with this
# header: it does not keep an unattended session open.
BACKGROUND_HEADER = "X-Ecoplan-Background"


def session_of(store: AccountStore, token: str | None, settings: AuthSettings | None = None,
               used: bool = False) -> Session | None:
    """The console session of this cookie; `used`: a person's request, which keeps it open."""
    keep = None
    if used and settings is not None and settings.session_idle:
        keep = (settings.session_lifetime, settings.session_idle)
    return store.session(token, "web", keep=keep)
