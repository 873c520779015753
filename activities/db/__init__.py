"""One data-access layer for the bureau's stores (SQLAlchemy Core), on the embedded SQLite
files under the data folder or on one shared PostgreSQL (`ECOPLAN_DATABASE_URL=postgresql://…`,
issue 27): with PostgreSQL, any worker and any console process on any machine reads and writes
the same records, accounts and archive, and nothing of an incident lives on one disk.

A store is named by a *target*: a file path (SQLite) or a database URL. `engine(target)` is
the process's engine for it (one per URL and process; SQLite opens a connection per use, so a
test's temporary file is never held open). `write(engine)` opens a transaction that writers
take one at a time on SQLite (BEGIN IMMEDIATE: no upgrade deadlock between two readers that
both want to write); PostgreSQL's writers lock what they touch (`lock_key`).
The schemas and their migrations are Alembic's (activities/db/migrate.py).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # SQLAlchemy is imported when a store is first used: a CLI command that
    from sqlalchemy.engine import Connection, Engine  # touches none does not pay 0.3 s for it

_ENGINES: dict[tuple[int, str], Engine] = {}
_LOCK = threading.Lock()


class DatabaseError(ValueError):
    """A store that cannot be reached or used: one line naming it (never its password)."""


def is_url(target: str | os.PathLike | None) -> bool:
    return target is not None and "://" in str(target)


def url_of(target: str | os.PathLike) -> str:
    """The SQLAlchemy URL of a target: `postgresql://` runs on psycopg 3; a path is a SQLite file."""
    s = str(target)
    if s.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + s.split("://", 1)[1]
    if is_url(s):
        return s
    return "sqlite:///" + str(Path(s).expanduser().absolute())


def shown(target: str | os.PathLike) -> str:
    """The target as a message may name it: a URL without its password."""
    if not is_url(target):
        return str(target)
    from sqlalchemy.engine import make_url

    return make_url(url_of(target)).render_as_string(hide_password=True)


def exists(target: str | os.PathLike | None) -> bool:
    """Whether there is a store to read: a database server always; a SQLite file when present."""
    return target is not None and (is_url(target) or Path(target).exists())


def is_postgres(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"


def engine(target: str | os.PathLike) -> Engine:
    url = url_of(target)
    key = (os.getpid(), url)  # a forked process makes its own
    with _LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            eng = _ENGINES[key] = _make(url)
    return eng


def _make(url: str) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        eng = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

        @event.listens_for(eng, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
            dbapi_conn.execute("PRAGMA foreign_keys = ON")
            dbapi_conn.execute("PRAGMA journal_mode = WAL")

        @event.listens_for(eng, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")

        return eng
    return create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)


@contextmanager
def read(eng: Engine) -> Iterator[Connection]:
    with eng.connect() as conn:
        yield conn


@contextmanager
def write(eng: Engine) -> Iterator[Connection]:
    """One transaction, committed on leaving, rolled back on an error."""
    with eng.connect().execution_options(immediate=True) as conn, conn.begin():
        yield conn


def lock_key(conn: Connection, name: str) -> None:
    """Writers of the same `name` (an incident, an account) one at a time until the transaction
    ends (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises every writer)."""
    if is_postgres(conn):
        from sqlalchemy import text

        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": name})


def dispose(target: str | os.PathLike) -> None:
    """Close the process's connections to `target` (a test's database going away)."""
    with _LOCK:
        eng = _ENGINES.pop((os.getpid(), url_of(target)), None)
    if eng is not None:
        eng.dispose()
