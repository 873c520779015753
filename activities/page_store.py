"""What the paging activities keep (every statement here), in the paging store: the shared
PostgreSQL of ECOPLAN_DATABASE_URL (a page sent by one machine's worker is seen by every
other worker and console process, and never sent again by any of them), else the SQLite file
`pages.db` beside the accounts file. One data-access layer for both (activities/db, the same
SQL); the schema is Alembic's (activities/db/migrations/pages).

The paging store has its own migration tree rather than joining the accounts': on SQLite it
has always been a file of its own, written by every worker at each send (so a burst of sends
never holds the accounts file's write lock against a login), and a SQLite file holds one
store's history. A `pages.db` made before Alembic is stamped p0001 and kept.

- sends: one row per (page, person, channel) send, keyed by its idempotency key, so a retried
  activity (a worker killed after the provider took it) never sends the same page to the same
  person on the same channel twice: the claim is one `INSERT … ON CONFLICT (key) DO UPDATE …
  WHERE outcome = 'failed'` whose row count says whether this caller got it, the same
  statement and the same answer on SQLite and PostgreSQL (there, two machines claiming at once:
  the second waits for the first's row and finds it taken);
- channel health: the last outcome of each channel, so readiness and the board show a channel down;
- pages: each page's person, incident, event and state (open, acknowledged, escalated, failed), for
  the console's panels (a person's own open pages, an incident's pages);
- used links: the single-use acknowledgement links already used (`INSERT … ON CONFLICT DO
  NOTHING`: a second use inserts no row, on either database);
- notifications (p0002): every notification an incident (or the daily report) sent, keyed by
  its idempotency key, with the channel it went by and the worker that recorded it. This table
  is the record of what was sent (`ecoplan notifications` reads it); the worker's JSON-lines
  outbox (ECOPLAN_OUTBOX) is only that machine's log. A retried activity inserts nothing the
  second time (`INSERT … ON CONFLICT (key) DO NOTHING`, the same on both databases).
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from activities import db
from activities.db import dbapi, migrate
from activities.settings import settings

# How `pages.db` files made before Alembic created their tables (each open ran it): kept to
# bring such a file to p0001's shape before it is stamped (`_legacy`).
SCHEMA = """
CREATE TABLE IF NOT EXISTS page_sends (
    key      TEXT PRIMARY KEY,   -- page id / username / channel
    page_id  TEXT NOT NULL,
    username TEXT NOT NULL,
    channel  TEXT NOT NULL,
    outcome  TEXT NOT NULL,      -- sent | failed
    detail   TEXT NOT NULL DEFAULT '',
    at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_health (
    channel  TEXT PRIMARY KEY,
    ok       INTEGER NOT NULL,
    detail   TEXT NOT NULL DEFAULT '',
    at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    event       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    username    TEXT NOT NULL,   -- who it is with now (escalation moves it on)
    state       TEXT NOT NULL,   -- open | acknowledged | exhausted
    channel     TEXT NOT NULL DEFAULT '',
    drill       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    acked_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS pages_user ON pages(username, state);
CREATE INDEX IF NOT EXISTS pages_incident ON pages(incident_id);
CREATE TABLE IF NOT EXISTS used_links (nonce TEXT PRIMARY KEY, at TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _utc(at: datetime | str) -> str:
    """A time as UTC ISO text: the rows sort by it whatever offset the caller wrote."""
    t = datetime.fromisoformat(at) if isinstance(at, str) else at
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()


def _legacy(conn) -> str | None:
    from sqlalchemy import inspect

    if not inspect(conn).has_table("page_sends"):
        return None
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.exec_driver_sql(statement)
    return "p0001"


migrate.LEGACY["pages"] = _legacy


def store_target(accounts: Path | str | None = None) -> Path | str:
    """The paging store: ECOPLAN_DATABASE_URL, else `pages.db` beside the accounts file.
    `accounts`: an accounts store's target (a file: `pages.db` beside it; a database URL: the same
    database)."""
    if accounts is not None:
        return str(accounts) if db.is_url(accounts) else Path(accounts).parent / "pages.db"
    s = settings()
    return s.database_url or s.accounts_path.parent / "pages.db"


class PageStore:
    def __init__(self, path: Path | str | None = None):
        """`path`: a SQLite file or a database URL (default: `store_target()`)."""
        self.target: Path | str = (str(path) if db.is_url(path) else Path(path)) if path is not None else store_target()
        from sqlalchemy.exc import SQLAlchemyError

        try:
            if isinstance(self.target, Path):
                self.target.parent.mkdir(parents=True, exist_ok=True)
            migrate.upgrade(self.target, "pages")
        except (OSError, db.DatabaseError, SQLAlchemyError) as e:
            what = " SQLite 文件" if isinstance(self.target, Path) else "数据库"
            reason = getattr(e, "reason", None) or str(getattr(e, "orig", None) or e).splitlines()[0]
            raise db.DatabaseError(f"呼叫库 {db.shown(self.target)}：不是可用的{what}（{reason}）") from None

    @classmethod
    def beside(cls, accounts: Path | str) -> "PageStore":
        """The paging store of the accounts store at `accounts` (store_target)."""
        return cls(store_target(accounts))

    @property
    def path(self) -> Path | str:
        return self.target

    def _db(self) -> dbapi.Connection:
        return dbapi.Connection(db.engine(self.target), "pages")

    # -------------------------------------------------------------- sends (idempotency)

    def claim(self, key: str, page_id: str, username: str, channel: str) -> str:
        """Claim a send before making it: "go" (never tried, or tried and refused), "sent" (done
        before), or "uncertain" (a send began and its end was never recorded: a worker killed
        mid-send). Only "go" may send: a page is never sent twice to a person on a channel."""
        with closing(self._db()) as con:
            cur = con.execute("INSERT INTO page_sends (key, page_id, username, channel, outcome, at) "
                              "VALUES (?, ?, ?, ?, 'sending', ?) ON CONFLICT(key) DO UPDATE SET outcome = 'sending', "
                              "at = excluded.at WHERE page_sends.outcome = 'failed'",
                              (key, page_id, username, channel, _now()))
            if cur.rowcount:
                return "go"
            row = con.execute("SELECT outcome FROM page_sends WHERE key = ?", (key,)).fetchone()
        return "sent" if row["outcome"] == "sent" else "uncertain"

    def record_send(self, key: str, page_id: str, username: str, channel: str, ok: bool, detail: str = "") -> None:
        with closing(self._db()) as con:  # the send and the channel's health together
            con.execute("BEGIN")
            con.execute("INSERT INTO page_sends (key, page_id, username, channel, outcome, detail, at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET outcome = excluded.outcome, "
                        "detail = excluded.detail, at = excluded.at WHERE page_sends.outcome != 'sent'",
                        (key, page_id, username, channel, "sent" if ok else "failed", detail[:300], _now()))
            con.execute("INSERT INTO channel_health (channel, ok, detail, at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(channel) DO UPDATE SET ok = excluded.ok, detail = excluded.detail, at = excluded.at",
                        (channel, int(ok), detail[:300], _now()))
            con.execute("COMMIT")

    def sends(self, page_id: str) -> list[dict]:
        with closing(self._db()) as con:
            return [dict(r) for r in con.execute("SELECT * FROM page_sends WHERE page_id = ? ORDER BY at", (page_id,))]

    def channels_down(self) -> dict[str, dict]:
        """channel -> {detail, at} for each channel whose last send failed."""
        with closing(self._db()) as con:
            rows = con.execute("SELECT * FROM channel_health WHERE ok = 0 ORDER BY channel").fetchall()
        return {r["channel"]: {"detail": r["detail"], "at": r["at"]} for r in rows}

    # -------------------------------------------------------------- pages (the console's panels)

    def put_page(self, page_id: str, incident_id: str, event: str, subject: str, username: str, state: str,
                 channel: str = "", drill: bool = False, acked_by: str = "") -> None:
        now = _now()
        with closing(self._db()) as con:
            con.execute("INSERT INTO pages (id, incident_id, event, subject, username, state, channel, drill, created_at, "
                        "updated_at, acked_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                        "username = excluded.username, state = excluded.state, channel = excluded.channel, "
                        "updated_at = excluded.updated_at, acked_by = excluded.acked_by",
                        (page_id, incident_id, event, subject, username, state, channel, int(drill), now, now, acked_by))

    def page(self, page_id: str) -> dict | None:
        with closing(self._db()) as con:
            row = con.execute("SELECT * FROM pages WHERE id = ?", (page_id,)).fetchone()
        return dict(row) if row else None

    def open_pages(self, username: str | None = None, limit: int = 50) -> list[dict]:
        where, args = ("WHERE state = 'open' AND username = ?", (username,)) if username else ("WHERE state = 'open'", ())
        with closing(self._db()) as con:
            return [dict(r) for r in con.execute(f"SELECT * FROM pages {where} ORDER BY created_at LIMIT ?", (*args, limit))]

    def unacknowledged(self, open_before: str, exhausted_since: str, limit: int = 50) -> list[dict]:
        """Pages open since before `open_before` (past their first window) or that ran out of people
        since `exhausted_since` (UTC ISO): the faults nobody may miss."""
        with closing(self._db()) as con:
            return [dict(r) for r in con.execute(
                "SELECT * FROM pages WHERE (state = 'open' AND created_at < ?) OR (state = 'exhausted' AND updated_at >= ?)"
                " ORDER BY created_at LIMIT ?", (open_before, exhausted_since, limit))]

    def incident_pages(self, incident_id: str) -> list[dict]:
        with closing(self._db()) as con:
            return [dict(r) for r in con.execute("SELECT * FROM pages WHERE incident_id = ? ORDER BY created_at",
                                                 (incident_id,))]

    # -------------------------------------------------------------- single-use links

    def use_link(self, nonce: str) -> bool:
        """True the first time a link's nonce is used, False ever after."""
        with closing(self._db()) as con:
            cur = con.execute("INSERT INTO used_links (nonce, at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING",
                              (nonce, _now()))
        return cur.rowcount == 1

    # -------------------------------------------------------------- notifications (the record of what was sent)

    def record_notification(self, n: dict, channel: str, worker: str) -> bool:
        """Record a sent notification (`n`: a Notification as JSON: key, incident_id, event,
        subject, recipients, at, drill, detail). True when this call made the row; False when it
        was recorded before (a retried activity): the first record stays as it was."""
        with closing(self._db()) as con:
            cur = con.execute("INSERT INTO notifications (key, incident_id, event, subject, recipients, at, drill, "
                              "detail, channel, recorded_at, worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT (key) DO NOTHING",
                              (n["key"], n["incident_id"], n["event"], n["subject"],
                               json.dumps(n.get("recipients", []), ensure_ascii=False), _utc(n["at"]),
                               int(bool(n.get("drill"))), json.dumps(n.get("detail") or {}, ensure_ascii=False),
                               channel, _now(), worker))
        return cur.rowcount == 1

    def notifications(self, incident_id: str | None = None, limit: int = 50) -> list[dict]:
        """The newest `limit` notifications (of one incident, or of all), oldest first, with
        `recipients` and `detail` read back from JSON and `drill` a bool."""
        where, args = ("WHERE incident_id = ?", (incident_id,)) if incident_id else ("", ())
        with closing(self._db()) as con:
            rows = con.execute(f"SELECT * FROM notifications {where} ORDER BY at DESC, recorded_at DESC, key DESC "
                               "LIMIT ?", (*args, limit)).fetchall()
        out = []
        for r in reversed(rows):
            d = dict(r)
            d["recipients"], d["detail"], d["drill"] = json.loads(d["recipients"]), json.loads(d["detail"]), bool(d["drill"])
            out.append(d)
        return out
