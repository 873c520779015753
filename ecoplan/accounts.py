"""Accounts of the people who use the console and the API: username, display name, role,
an argon2 password hash and a disabled flag, in the accounts store: the shared PostgreSQL
of ECOPLAN_DATABASE_URL (every console process serves every session), else a SQLite file
(default $ECOPLAN_HOME/accounts.db, or the path in ECOPLAN_ACCOUNTS_DB). Sessions and API
tokens live in the same store, as SHA-256 digests only, so a stolen copy opens nothing and
disabling an account ends its sessions at once. How each person is reached (ecoplan/contacts.py)
and the duty roster (ecoplan/duty_roster.py) are kept there too. The schema is Alembic's
(activities/db/migrations/accounts).

There is no default account and no default password: the first account is made with
`ecoplan users add USERNAME --role admin` (or any role).

Every error a person can cause is an AccountError with a one-line Chinese message.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

from activities import db
from activities.db import dbapi, migrate
from activities.settings import settings
from plan import problems

# Leads are named at dispatch by username, so usernames are short, ASCII and case-folded.
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
# Local choice: 10 characters (等保 testing practice asks at least 8), plus the complexity
# rule and zxcvbn's strength in ecoplan/passwords.py.
MIN_PASSWORD = 10
MAX_PASSWORD = 256
MAX_DISPLAY = 50

# How the files made before Alembic created their tables (each open ran it): kept to bring
# such a file to the first revision's shape before it is stamped (`_legacy`).
SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username   TEXT PRIMARY KEY,
    display    TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL,
    pw_hash    TEXT NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    digest     TEXT PRIMARY KEY,          -- sha256 of the token: the token itself is never stored
    username   TEXT NOT NULL REFERENCES accounts(username),
    kind       TEXT NOT NULL,             -- web (cookie) | api (bearer token)
    csrf       TEXT NOT NULL,
    via        TEXT NOT NULL,             -- how the person authenticated: password | oidc
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(username);
"""


def _schema() -> str:
    """The accounts file's tables: accounts and sessions (above), the login limiter's, the
    second factors' and the audit log's (their own modules)."""
    from ecoplan import audit, login_limiter, totp

    return SCHEMA + login_limiter.SCHEMA + totp.SCHEMA + audit.SCHEMA


def _legacy(conn) -> str | None:
    # A SQLite file from before Alembic: its tables made as they were, then stamped a0001.
    from sqlalchemy import inspect

    if not inspect(conn).has_table("accounts"):
        return None
    for statement in _schema().split(";"):
        if statement.strip():
            conn.exec_driver_sql(statement)
    return "a0001"


migrate.LEGACY["accounts"] = _legacy


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message is one line, for a person."""


class AccountNotFound(AccountError):
    pass


@dataclass(frozen=True)
class Account:
    username: str
    display: str
    role: str
    disabled: bool
    created_at: str

    @property
    def label(self) -> str:
        """How the console names the person: 王伟（wangwei）."""
        return f"{self.display}（{self.username}）" if self.display else self.username

    def public(self) -> dict:
        return {"username": self.username, "display": self.display, "role": self.role,
                "disabled": self.disabled, "created_at": self.created_at}


@dataclass(frozen=True)
class Session:
    account: Account
    kind: str
    csrf: str
    via: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp() -> str:
    from plan.calendar import SHANGHAI

    return datetime.now(SHANGHAI).isoformat(timespec="seconds")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def db_path(env: dict[str, str] | None = None) -> Path:
    """$ECOPLAN_ACCOUNTS_DB, default $ECOPLAN_HOME/accounts.db (activities/settings.py)."""
    return settings(env).accounts_path


def store_target(env: dict[str, str] | None = None) -> Path | str:
    """The accounts store: ECOPLAN_DATABASE_URL, else the SQLite file."""
    s = settings(env)
    return s.database_url or s.accounts_path


def known_roles() -> dict[str, str]:
    """role id -> its Chinese name, from the plan's role table."""
    from plan.authority import roles

    return {r.id: r.name for r in roles()}


def check_username(username: str) -> str:
    u = (username or "").strip()
    if not USERNAME_RE.match(u):
        raise AccountError(f"用户名 {username!r} 不合规：2–32 位小写字母、数字或 . _ -，以字母开头")
    return u


def check_password(password: str, username: str = "", display: str = "") -> str:
    """Length, then the 等保 complexity rule and zxcvbn's strength (ecoplan/passwords.py)."""
    from ecoplan.passwords import weakness

    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码太短：至少 {MIN_PASSWORD} 个字符")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"密码太长：至多 {MAX_PASSWORD} 个字符")
    if password != password.strip() or any(ord(c) < 32 for c in password):
        raise AccountError("密码不能以空格开头或结尾，也不能含控制字符")
    why = weakness(password, (username, display))
    if why:
        raise AccountError(why)
    return password


def check_role(role: str) -> str:
    roles = known_roles()
    if role not in roles:
        raise AccountError(f"未知角色 {role!r}：可选 " + "、".join(f"{k}（{v}）" for k, v in roles.items()))
    return role


def check_display(display: str) -> str:
    d = (display or "").strip()
    if len(d) > MAX_DISPLAY or any(ord(c) < 32 for c in d):
        raise AccountError(f"姓名至多 {MAX_DISPLAY} 个字符，且不含控制字符")
    return d


class AccountStore:
    """The accounts store. Each call opens its own short connection: the CLI and running
    consoles may use it at the same time (the database serialises the writes)."""

    def __init__(self, path: Path | str | None = None, hasher=None):
        """`path`: a SQLite file or a database URL (default: ECOPLAN_DATABASE_URL, else
        ECOPLAN_ACCOUNTS_DB). `hasher`: an argon2 PasswordHasher; the default is argon2-cffi's
        (RFC 9106 low-memory profile, about 0.4 s per login on two cores). `self.target` is the
        store (the contacts and the duty roster are kept in it too: ecoplan/contacts.py,
        ecoplan/duty_roster.py); `self.path` is its SQLite file, or the file it would be."""
        self.target: Path | str = (str(path) if db.is_url(path) else Path(path)) if path is not None else store_target()
        self.path = self.target if isinstance(self.target, Path) else db_path()
        from argon2 import PasswordHasher

        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None
        self._ready = False

    def connect(self) -> dbapi.Connection:
        """A connection to the file (autocommit; BEGIN IMMEDIATE for a transaction): the
        limiter, the second factors and the audit log use it."""
        return self._db()

    def audit(self, event: str, username: str | None, **kw) -> None:
        """One row of the audit log (ecoplan/audit.py)."""
        from ecoplan import audit

        with closing(self._db()) as con:
            audit.record(con, event, username, **kw)

    def _db(self) -> dbapi.Connection:
        from sqlalchemy.exc import SQLAlchemyError

        shown = db.shown(self.target)
        if not self._ready:
            if isinstance(self.target, Path):
                try:
                    self.target.parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise AccountError(f"账号库 {shown}：无法创建目录（{problems.os_reason(e)}）") from None
            try:
                migrate.upgrade(self.target, "accounts")
            except (db.DatabaseError, SQLAlchemyError) as e:
                what = " SQLite 文件" if isinstance(self.target, Path) else "数据库"
                raise AccountError(f"账号库 {shown}：不是可用的{what}（{getattr(e, 'reason', str(e).splitlines()[0])}）") from None
            if isinstance(self.target, Path):
                dbapi.fix_mode(self.target)  # hashes and session digests: owner only
            self._ready = True
        try:
            return dbapi.Connection(db.engine(self.target), "accounts")
        except SQLAlchemyError as e:
            raise AccountError(f"账号库 {shown}：无法打开（{str(getattr(e, 'orig', e)).splitlines()[0]}）") from None

    # ------------------------------------------------------------------ accounts

    def add(self, username: str, role: str, password: str, display: str = "", actor: str = "cli") -> Account:
        from ecoplan import audit

        username, role = check_username(username), check_role(role)
        display = check_display(display)
        password = check_password(password, username, display)
        now = _stamp()
        pw_hash = self._hasher.hash(password)
        from sqlalchemy.exc import IntegrityError

        with closing(self._db()) as con:
            try:
                con.execute("INSERT INTO accounts(username, display, role, pw_hash, disabled, created_at, updated_at)"
                            " VALUES (?,?,?,?,0,?,?)", (username, display, role, pw_hash, now, now))
            except IntegrityError:
                raise AccountError(f"账号 {username} 已存在") from None
            audit.record(con, "account_added", username, actor=actor, role=role)
        return self.get(username)

    def get(self, username: str) -> Account | None:
        with closing(self._db()) as con:
            row = con.execute("SELECT * FROM accounts WHERE username = ?", ((username or "").strip(),)).fetchone()
        return _account(row) if row else None

    def require(self, username: str) -> Account:
        acc = self.get(check_username(username))
        if acc is None:
            raise AccountNotFound(f"没有账号 {username}")
        return acc

    def list(self) -> list[Account]:
        with closing(self._db()) as con:
            return [_account(r) for r in con.execute("SELECT * FROM accounts ORDER BY username")]

    def external(self, username: str, role: str, display: str, via: str) -> Account:
        """The account of a person the identity provider vouched for (`via`: oidc): created on
        first login, its role and name following the provider. It has no password. A local
        account of that username is not taken over."""
        username, role, display = check_username(username), check_role(role), check_display(display)
        marker = f"!{via}"  # not an argon2 hash: the password form can never open it
        now = _stamp()
        with closing(self._db()) as con:
            row = con.execute("SELECT pw_hash FROM accounts WHERE username = ?", (username,)).fetchone()
            if row is None:
                con.execute("INSERT INTO accounts(username, display, role, pw_hash, disabled, created_at, updated_at)"
                            " VALUES (?,?,?,?,0,?,?)", (username, display, role, marker, now, now))
            elif row["pw_hash"] != marker:
                raise AccountError(f"本系统已有本地账号 {username}，不能用统一身份认证登录它；请联系管理员")
            else:
                con.execute("UPDATE accounts SET role = ?, display = ?, updated_at = ? WHERE username = ?",
                            (role, display, now, username))
        return self.require(username)

    def count(self) -> int:
        with closing(self._db()) as con:
            return con.execute("SELECT count(*) FROM accounts").fetchone()[0]

    def set_disabled(self, username: str, disabled: bool = True, actor: str = "cli") -> Account:
        from ecoplan import audit

        acc = self.require(username)
        with closing(self._db()) as con:
            audit.record(con, "account_disabled" if disabled else "account_enabled", acc.username, actor=actor)
            con.execute("UPDATE accounts SET disabled = ?, updated_at = ? WHERE username = ?",
                        (int(disabled), _stamp(), acc.username))
            if disabled:  # a disabled account is out at once, on every device
                con.execute("DELETE FROM sessions WHERE username = ?", (acc.username,))
        return self.require(username)

    def set_password(self, username: str, password: str, actor: str = "cli") -> Account:
        from ecoplan import audit

        acc = self.require(username)
        pw_hash = self._hasher.hash(check_password(password, acc.username, acc.display))
        with closing(self._db()) as con:
            audit.record(con, "password_changed", acc.username, actor=actor)
            con.execute("UPDATE accounts SET pw_hash = ?, updated_at = ? WHERE username = ?",
                        (pw_hash, _stamp(), acc.username))
            # A new password ends the sessions the old one opened.
            con.execute("DELETE FROM sessions WHERE username = ?", (acc.username,))
        return acc

    def verify(self, username: str, password: str) -> Account | None:
        """The account when the password is right and the account enabled; None otherwise
        (the same time either way). Upgrades the hash when argon2's parameters changed."""
        from argon2.exceptions import InvalidHashError, VerificationError

        username = (username or "").strip().lower()
        with closing(self._db()) as con:
            row = con.execute("SELECT * FROM accounts WHERE username = ?", (username,)).fetchone()
        if row is None and self._dummy is None:
            # Verified against when the username is unknown, so a wrong username costs the
            # same time as a wrong password and does not tell which accounts exist.
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        stored = row["pw_hash"] if row else self._dummy
        try:
            self._hasher.verify(stored, password or "")
            ok = row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row["disabled"]:
            return None
        if self._hasher.check_needs_rehash(stored):
            with closing(self._db()) as con:
                con.execute("UPDATE accounts SET pw_hash = ? WHERE username = ?",
                            (self._hasher.hash(password), username))
        return _account(row)

    # ------------------------------------------------------------------ sessions and API tokens

    def open_session(self, username: str, kind: str, lifetime: timedelta, via: str = "password",
                     idle: timedelta | None = None) -> tuple[str, str]:
        """A new session (kind web) or API token (kind api): returns (token, csrf token).
        With `idle`, it ends after that long without use (`session(..., keep=...)` moves the end
        on), and never later than `lifetime` after it opened."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        ends = now + (min(lifetime, idle) if idle else lifetime)
        with closing(self._db()) as con:
            con.execute("DELETE FROM sessions WHERE expires_at < ?", (now.isoformat(),))
            con.execute("INSERT INTO sessions(digest, username, kind, csrf, via, created_at, expires_at)"
                        " VALUES (?,?,?,?,?,?,?)", (_digest(token), username, kind, csrf, via,
                                                    now.isoformat(), ends.isoformat()))
        return token, csrf

    def session(self, token: str | None, kind: str,
                keep: tuple[timedelta, timedelta] | None = None) -> Session | None:
        """The live session of this token: unexpired, of this kind, its account enabled.
        `keep` = (lifetime, idle): this use keeps it open for `idle` more, up to `lifetime`
        after it opened (written at most once a minute: a page's requests come in bursts)."""
        if not token or len(token) > 200:
            return None
        with closing(self._db()) as con:
            row = con.execute(
                "SELECT s.kind, s.csrf, s.via, s.created_at AS opened_at, s.expires_at, a.* FROM sessions s"
                " JOIN accounts a USING (username) WHERE s.digest = ? AND s.kind = ?",
                (_digest(token), kind)).fetchone()
            if row is None or row["disabled"]:
                return None
            now = _now()
            expires = datetime.fromisoformat(row["expires_at"])
            if expires <= now:
                return None
            if keep is not None:
                lifetime, idle = keep
                later = min(datetime.fromisoformat(row["opened_at"]) + lifetime, now + idle)
                if later - expires >= timedelta(minutes=1):
                    con.execute("UPDATE sessions SET expires_at = ? WHERE digest = ?",
                                (later.isoformat(), _digest(token)))
                    expires = later
        return Session(account=_account(row), kind=row["kind"], csrf=row["csrf"], via=row["via"], expires_at=expires)

    def session_ended(self, token: str | None, kind: str) -> bool:
        """True when this token was a session of this kind that has run out (not one never
        issued or closed): the login page then says the session timed out."""
        if not token or len(token) > 200:
            return False
        with closing(self._db()) as con:
            row = con.execute("SELECT expires_at FROM sessions WHERE digest = ? AND kind = ?",
                              (_digest(token), kind)).fetchone()
        return row is not None and datetime.fromisoformat(row["expires_at"]) <= _now()

    def close_session(self, token: str | None) -> None:
        if token:
            with closing(self._db()) as con:
                con.execute("DELETE FROM sessions WHERE digest = ?", (_digest(token),))


def _account(row: dbapi.Row) -> Account:
    return Account(username=row["username"], display=row["display"], role=row["role"],
                   disabled=bool(row["disabled"]), created_at=row["created_at"])


def first_account_hint(store: "AccountStore | None" = None) -> Optional[str]:
    """One line for a fresh install with no account yet (`ecoplan web`, worker.py --web);
    None once there is one."""
    try:
        if (store or AccountStore()).count():
            return None
    except Exception:  # an unreadable accounts file is reported where it is used
        return None
    return ("尚无账号：先创建第一个，例如 `ecoplan users add admin --role admin`，"
            "再 `ecoplan users add USERNAME --role duty_officer --display 姓名`")
