"""The web service under test: real accounts in a SQLite file, the real app served by uvicorn
on 127.0.0.1 (an ephemeral port) in the test event loop, a real dev server and worker behind."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import uvicorn
from argon2 import PasswordHasher

from ecoplan.accounts import AccountStore
from ecoplan.web import create_app
from ecoplan.web.auth import AuthSettings
from tests.helpers import eventually, now

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"  # screenshots of what the browser tests checked

PEOPLE = {  # username: (role, display)
    "wangwei": ("duty_officer", "王伟"),
    "li": ("commander", "李局长"),
    "zhang": ("lead", "张监测"),
    "zhao": ("lead", "赵处置"),
    "qian": ("lead", "钱排查"),
    "sun": ("lead", "孙其他"),  # a lead of no group in these incidents
    "du": ("supervisor", "杜督查"),
    "lian": ("partner", "市消防救援支队"),
    "root": ("admin", "管理员"),
}
LEADS = {"monitoring": "zhang", "disposal": "zhao", "investigation": "qian"}
INTAKE_TOKENS = {"hotline_12369": "hotline-token-" + "c" * 24}


def password(username: str) -> str:
    return f"pw-{username}-桃河-2026"


@dataclass
class Web:
    url: str
    store: AccountStore


@asynccontextmanager
async def serving(app):
    # As `ecoplan web` serves it: X-Forwarded-* are the app's to read (ECOPLAN_TRUSTED_PROXIES), not uvicorn's.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning",
                                           proxy_headers=False))
    task = asyncio.create_task(server.serve())

    async def up():
        return server.started or task.done()

    await eventually(up, bool, timeout=10, interval=0.02)
    if task.done():
        task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        copies = getattr(app.state, "board_copies", None)
        if copies is not None:
            copies.stop()


@asynccontextmanager
async def web_service(client, db: Path, poll_seconds: float = 5.0, settings: AuthSettings | None = None,
                      records_db: Path | None = None, totp_roles: frozenset[str] = frozenset()):
    # Real argon2id at a lower cost than production's (0.4 s a hash here): the web tests log in
    # dozens of times; tests/test_accounts.py uses the production parameters.
    store = AccountStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    for username, (role, display) in PEOPLE.items():
        store.add(username, role, password(username), display=display)
    # The second factor is off for the roles here unless a test names them (tests/test_login.py);
    # a real deployment's default (AuthSettings, ECOPLAN_TOTP_ROLES) is admin and commander.
    settings = replace(settings or AuthSettings(), totp_roles=totp_roles)
    app = create_app(client_factory=lambda: client, store=store, intake_tokens=INTAKE_TOKENS,
                     settings=settings, poll_seconds=poll_seconds, records_db=records_db)
    async with serving(app) as url:
        yield Web(url=url, store=store)


def incident_body(**over) -> dict:
    t = now()
    body = dict(title="桃河化工厂储罐泄漏", discovered_at=(t - timedelta(minutes=40)).isoformat(),
                reported_at=(t - timedelta(minutes=30)).isoformat(), county="平定县", location="冶西镇桃河段",
                incident_type="hazardous_chemicals", source="linkage_119", reporter="119指挥中心",
                assessment={"evacuated": 200})
    body.update(over)
    return body


def session_times(store, token: str) -> tuple:
    """A console session's (created_at, expires_at), as stored (SQLite accounts file)."""
    from contextlib import closing
    from datetime import datetime

    from ecoplan.accounts import _digest

    with closing(store._db()) as con:
        row = con.execute("SELECT created_at, expires_at FROM sessions WHERE digest = ?", (_digest(token),)).fetchone()
    return datetime.fromisoformat(row["created_at"]), datetime.fromisoformat(row["expires_at"])


def set_session_times(store, token: str, created, expires) -> None:
    """Move a session's times: how the tests make time pass unused, without waiting."""
    from contextlib import closing

    from ecoplan.accounts import _digest

    with closing(store._db()) as con:
        con.execute("UPDATE sessions SET created_at = ?, expires_at = ? WHERE digest = ?",
                    (created.isoformat(), expires.isoformat(), _digest(token)))
