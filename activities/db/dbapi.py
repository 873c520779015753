"""A connection in the DB-API manner the accounts modules were written in (`execute(sql,
params)` with `?` placeholders, explicit `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK`, rows read
by column name or position), over the data-access layer: the same SQL runs on SQLite and on
PostgreSQL. Outside an explicit transaction each statement commits on its own (autocommit, as
the SQLite files were opened). `BEGIN IMMEDIATE` makes the transaction the store's only
writer: SQLite's write lock, or on PostgreSQL an advisory lock on the store's name held until
COMMIT, so the login limiter's count-then-check stays one at a time across processes."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from activities.db import lock_key

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_PLACEHOLDER = re.compile(r"\?")


class Row(tuple):
    """A row read by position, by unpacking, or by column name (`row["username"]`)."""

    def __new__(cls, values: Sequence[Any], keys: Sequence[str]):
        row = super().__new__(cls, values)
        row._keys = {k: i for i, k in enumerate(keys)}
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._keys[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._keys)


class Cursor:
    def __init__(self, rows: list[Row], rowcount: int):
        self._rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())

    def close(self) -> None:
        self._rows = []


def _named(sql: str, params: Sequence[Any] | dict) -> tuple[str, dict]:
    if isinstance(params, dict):
        return sql, params
    names = iter(range(len(params)))
    return _PLACEHOLDER.sub(lambda _: f":p{next(names)}", sql), {f"p{i}": v for i, v in enumerate(params)}


class Connection:
    def __init__(self, engine: Engine, store: str):
        self._conn = engine.connect()
        self._store = store
        self._tx = None
        self.dialect = engine.dialect.name

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Cursor:
        word = sql.strip().upper()
        if word.startswith("BEGIN"):
            self._conn.execution_options(immediate=True)
            self._tx = self._conn.begin()
            lock_key(self._conn, "ecoplan-writer-" + self._store)
            return Cursor([], -1)
        if word in ("COMMIT", "ROLLBACK"):
            tx, self._tx = self._tx, None
            self._conn.execution_options(immediate=False)
            if tx is not None:
                tx.commit() if word == "COMMIT" else tx.rollback()
            return Cursor([], -1)
        from sqlalchemy import text

        query, args = _named(sql, params)
        try:
            result = self._conn.execute(text(query), args)
        except Exception:
            if self._tx is None:
                self._conn.rollback()  # a failed statement of its own leaves nothing open
            raise
        rows = [Row(tuple(r), list(result.keys())) for r in result] if result.returns_rows else []
        cur = Cursor(rows, result.rowcount)
        if self._tx is None:
            self._conn.commit()
        return cur

    def close(self) -> None:
        if self._tx is not None:
            self._tx.rollback()
            self._tx = None
        self._conn.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fix_mode(path: str | os.PathLike) -> None:
    """Owner only: a SQLite file of hashes and session digests."""
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass
