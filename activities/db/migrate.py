"""Schema migrations of the stores (Alembic), for SQLite and PostgreSQL alike: each store has
its own history (migrations/<store>/versions) and its own version table, so that one
PostgreSQL database holds every store and each SQLite file holds one. `upgrade(target,
store)` runs on first use in a process (the worker, the console, the CLI) and from
`ecoplan db upgrade`; a store already at its head costs one SELECT.

A SQLite file made before Alembic (the records store's `PRAGMA user_version` 1 or 2, the
accounts store's tables, the paging store's `pages.db`) is stamped with the revision its schema is, then upgraded: existing
files keep working. Two processes upgrading one PostgreSQL wait for each other (an advisory
lock), and the second finds nothing left to do.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from activities.db import DatabaseError, engine, is_postgres, shown, url_of

HERE = Path(__file__).resolve().parent / "migrations"
STORES = ("records", "accounts", "archive", "pages")
STORE_NAMES = {"records": "结案记录库", "accounts": "账号库", "archive": "共享归档", "pages": "呼叫库"}
if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_DONE: set[tuple[int, str, str]] = set()
_LOCK = threading.Lock()
# store -> function(conn) giving the revision of a SQLite file made before Alembic (None: empty)
LEGACY: dict[str, Callable[[Connection], str | None]] = {}


def version_table(store: str) -> str:
    return f"alembic_version_{store}"


def _config(store: str, conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / store))
    cfg.attributes["connection"] = conn
    cfg.attributes["version_table"] = version_table(store)
    return cfg


# Each store's newest revision, written here so that a process whose stores are up to date
# never loads Alembic (a CLI command is a process: 0.3 s saved); tests/test_shared_stores.py
# checks it against the migrations.
HEADS = {"records": "r0003", "accounts": "a0002", "archive": "ar0001", "pages": "p0002"}


def head(store: str) -> str:
    return HEADS[store]


@lru_cache(maxsize=None)
def alembic_head(store: str) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(HERE / store)).get_current_head()


def current(conn: Connection, store: str) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table(version_table(store)):
        return None
    return conn.execute(text(f"SELECT version_num FROM {version_table(store)}")).scalar()


def upgrade(target: str | os.PathLike, store: str, force: bool = False) -> str:
    """Bring the store at `target` to its newest schema; returns the revision it is at."""
    key = (os.getpid(), url_of(target), store)
    if key in _DONE and not force:
        return head(store)
    from sqlalchemy.exc import SQLAlchemyError

    with _LOCK:
        try:
            rev = _upgrade(target, store)
        except SQLAlchemyError as e:
            reason = str(e.orig if getattr(e, "orig", None) else e).splitlines()[0]
            err = DatabaseError(f"the {store} store {shown(target)} is not usable: {reason}")
            err.reason = reason
            raise err from None
        _DONE.add(key)
        return rev


def _upgrade(target: str | os.PathLike, store: str) -> str:
    want = head(store)
    eng = engine(target)
    with eng.connect() as conn:
        if current(conn, store) == want:
            return want  # the usual case: no lock, no Alembic
    from alembic import command
    from sqlalchemy import text

    with eng.connect().execution_options(immediate=True) as conn:
        with conn.begin():
            if is_postgres(conn):
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "ecoplan-migrate-" + store})
            else:
                conn.exec_driver_sql("SELECT 1")  # takes SQLite's write lock (BEGIN IMMEDIATE) now
            have = current(conn, store)
            if have is None and store in LEGACY and not is_postgres(conn):
                have = LEGACY[store](conn)
                if have is not None:
                    command.stamp(_config(store, conn), have)
            if have is not None and have != want and not _known(store, have):
                raise DatabaseError(f"{STORE_NAMES.get(store, store)} {shown(target)} 的格式版本为 {have}，"
                                    f"比本程序的版本 {want} 新：请升级 ecoplan")
            if have != want:
                if alembic_head(store) != want:
                    raise DatabaseError(f"程序错误：{store} 库的格式版本 {want} 与迁移脚本的最新版本 "
                                        f"{alembic_head(store)} 不一致（migrate.HEADS）")
                command.upgrade(_config(store, conn), "head")
    return want


def _known(store: str, rev: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory(str(HERE / store)).get_revision(rev) is not None
    except CommandError:
        return False
