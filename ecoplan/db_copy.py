"""Moving a bureau from the embedded SQLite files to the shared PostgreSQL (or back):
`ecoplan db copy --from sqlite --to postgresql://…` (issue 27, item 4). Idempotent: run it
twice and the second run adds nothing; run it again after the old machine recorded more, and
only what is new moves.

- records: each incident's record and status through `upsert_record`, so a record the target
  already has with the same facts stays, and a newer one there is never overwritten (stale);
- accounts: every table's rows whose key the target lacks (an account already there keeps
  its password, sessions, second factor and contact methods); audit rows by their content
  (their ids are the target's own);
- the duty roster (in the accounts store): shifts by their day and name (a shift the target
  already has keeps its people; a new one comes with its people, under the target's own id),
  handover notes by their content, pointing at the target's shift of the same day and name;
- the paging store (`pages.db`): page sends by their idempotency key (a page sent before the
  move is never sent again after it), channel health, pages and used links by their keys, and
  the notifications sent (the record the workers kept there) by their idempotency key;
- the archive: every file of the archive folder into the shared archive (activities/
  archive_store.py), once per content hash.
"""

from __future__ import annotations

import json
import os
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from activities import db
from activities import records_store as rs
from activities.db import migrate

# The accounts store's tables in the order their foreign keys need, with their keys.
ACCOUNT_TABLES = (("accounts", ("username",)), ("sessions", ("digest",)), ("account_totp", ("username",)),
                  ("login_failures", ("username", "address")), ("login_alarms", ("username",)),
                  ("contacts", ("username",)))
# The paging store's tables (activities/page_store.py), with their keys.
PAGE_TABLES = (("page_sends", ("key",)), ("channel_health", ("channel",)), ("pages", ("id",)),
               ("used_links", ("nonce",)), ("notifications", ("key",)))
HANDOVER_COLUMNS = ("at", "by_user", "to_user", "notes")
AUDIT_COLUMNS = ("at", "event", "username", "actor", "address", "outcome", "detail")


@dataclass
class Counts:
    store: str
    table: str
    read: int = 0
    added: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One line as a person reads it (Chinese)."""
        names = {"inserted": "新增", "updated": "更新", "unchanged": "未变", "stale": "目标较新未覆盖",
                 "added": "新增", "kept": "已有"}
        parts = "，".join(f"{names[k]} {v}" for k, v in self.added.items())
        return f"{STORE_NAMES[self.store]} {self.table}：读取 {self.read} 条，{parts}"

    def public(self) -> dict:
        return {"store": self.store, "table": self.table, "read": self.read, **self.added}


STORE_NAMES = {"records": "记录库", "accounts": "账号库", "archive": "档案库", "pages": "呼叫库"}


def copy_records(source: str | os.PathLike, target: str | os.PathLike) -> Counts:
    from sqlalchemy import text

    out = Counts("records", "incidents", added={k: 0 for k in ("inserted", "updated", "unchanged", "stale")})
    with closing(rs.connect(source, create=False)) as src, closing(rs.connect(target)) as dst:
        rows = src.execute(text("SELECT record, status FROM incidents ORDER BY reported_at, incident_id")).all()
        src.rollback()
        for row in rows:
            out.read += 1
            status = json.loads(row.status) or None
            result = rs.upsert_record(dst, rs.IncidentRecord.model_validate_json(row.record), status)
            out.added[result] += 1
    return out


def _by_key(src, dst, store: str, table: str, key: tuple[str, ...]) -> Counts:
    """The source's rows of `table` whose key the target lacks."""
    from sqlalchemy import text

    counts = Counts(store, table, added={"added": 0, "kept": 0})
    rows = [dict(r._mapping) for r in src.execute(text(f"SELECT * FROM {table}"))]
    have = {tuple(r) for r in dst.execute(text(f"SELECT {', '.join(key)} FROM {table}"))}
    new = [r for r in rows if tuple(r[k] for k in key) not in have]
    if new:
        cols = list(new[0])
        dst.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"), new)
    counts.read, counts.added = len(rows), {"added": len(new), "kept": len(rows) - len(new)}
    return counts


def copy_accounts(source: str | os.PathLike, target: str | os.PathLike) -> list[Counts]:
    from sqlalchemy import text

    for end in (source, target):
        migrate.upgrade(end, "accounts")
    out = []
    with db.engine(source).connect() as src, db.write(db.engine(target)) as dst:
        out += [_by_key(src, dst, "accounts", table, key) for table, key in ACCOUNT_TABLES]
        counts = Counts("accounts", "audit")
        cols = ", ".join(AUDIT_COLUMNS)
        rows = [tuple(r) for r in src.execute(text(f"SELECT {cols} FROM audit ORDER BY id"))]
        have = {tuple(r) for r in dst.execute(text(f"SELECT {cols} FROM audit"))}
        new = [r for r in rows if r not in have]
        if new:
            dst.execute(text(f"INSERT INTO audit ({cols}) VALUES ({', '.join(':' + c for c in AUDIT_COLUMNS)})"),
                        [dict(zip(AUDIT_COLUMNS, r)) for r in new])
        counts.read, counts.added = len(rows), {"added": len(new), "kept": len(rows) - len(new)}
        out.append(counts)
        out += _copy_roster(src, dst)
    return out


def _copy_roster(src, dst) -> list[Counts]:
    """The duty roster: its ids are each database's own (PostgreSQL's sequence, SQLite's rowid),
    so shifts go by their day and name, their people and handover notes with them."""
    from sqlalchemy import text

    shifts = Counts("accounts", "duty_shifts", added={"added": 0, "kept": 0})
    people = Counts("accounts", "duty_people", added={"added": 0, "kept": 0})
    notes = Counts("accounts", "duty_handovers", added={"added": 0, "kept": 0})
    theirs = {(r.day, r.name): r.id for r in dst.execute(text("SELECT id, day, name FROM duty_shifts"))}
    to_target: dict[int, int] = {}  # the source's shift id -> the target's
    rows = src.execute(text("SELECT id, day, name, starts_at, ends_at, note FROM duty_shifts ORDER BY id")).all()
    staff = src.execute(text("SELECT shift_id, post, username, seq FROM duty_people ORDER BY shift_id, post, seq")).all()
    for r in rows:
        shifts.read += 1
        if (r.day, r.name) in theirs:
            to_target[r.id] = theirs[r.day, r.name]
            shifts.added["kept"] += 1
            continue
        new_id = dst.execute(text("INSERT INTO duty_shifts (day, name, starts_at, ends_at, note) "
                                  "VALUES (:day, :name, :starts_at, :ends_at, :note) RETURNING id"),
                             {k: getattr(r, k) for k in ("day", "name", "starts_at", "ends_at", "note")}).scalar_one()
        to_target[r.id] = new_id
        shifts.added["added"] += 1
        crew = [p for p in staff if p.shift_id == r.id]
        if crew:
            dst.execute(text("INSERT INTO duty_people (shift_id, post, username, seq) "
                             "VALUES (:shift_id, :post, :username, :seq)"),
                        [{"shift_id": new_id, "post": p.post, "username": p.username, "seq": p.seq} for p in crew])
        people.added["added"] += len(crew)
    people.read = len(staff)
    people.added["kept"] = people.read - people.added["added"]
    cols = ", ".join(HANDOVER_COLUMNS)
    have = {tuple(r) for r in dst.execute(text(f"SELECT {cols} FROM duty_handovers"))}
    for r in src.execute(text(f"SELECT shift_id, {cols} FROM duty_handovers ORDER BY id")).all():
        notes.read += 1
        if tuple(r)[1:] in have:
            notes.added["kept"] += 1
            continue
        dst.execute(text(f"INSERT INTO duty_handovers (shift_id, {cols}) "
                         f"VALUES (:shift_id, {', '.join(':' + c for c in HANDOVER_COLUMNS)})"),
                    {"shift_id": to_target.get(r.shift_id), **{c: getattr(r, c) for c in HANDOVER_COLUMNS}})
        notes.added["added"] += 1
    return [shifts, people, notes]


def copy_pages(source: str | os.PathLike, target: str | os.PathLike) -> list[Counts]:
    import activities.page_store  # noqa: F401  (registers how a pages.db from before Alembic is read)

    for end in (source, target):
        migrate.upgrade(end, "pages")
    with db.engine(source).connect() as src, db.write(db.engine(target)) as dst:
        return [_by_key(src, dst, "pages", table, key) for table, key in PAGE_TABLES]


def copy_all(records_from: str | os.PathLike | None, accounts_from: str | os.PathLike | None,
             target: str | os.PathLike, archive_dir: Path | None = None,
             pages_from: str | os.PathLike | None = None) -> list[Counts]:
    """Every store the source has (a missing SQLite file: nothing to move from it)."""
    out: list[Counts] = []
    if records_from is not None and db.exists(records_from):
        out.append(copy_records(records_from, target))
    if accounts_from is not None and db.exists(accounts_from):
        out += copy_accounts(accounts_from, target)
    if pages_from is not None and db.exists(pages_from):
        out += copy_pages(pages_from, target)
    if archive_dir is not None and archive_dir.is_dir():
        out.append(copy_archive(archive_dir, target))
    return out


def copy_archive(root: Path, target: str | os.PathLike) -> Counts:
    """Every incident folder of a local archive into the shared archive."""
    from activities import archive_store

    counts = Counts("archive", "archive_files", added={"added": 0, "kept": 0})
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        n_files = sum(1 for p in folder.iterdir() if p.is_file() and not p.name.endswith(".tmp"))
        added = archive_store.publish(str(target), root, folder.name)
        counts.read += n_files
        counts.added["added"] += added
        counts.added["kept"] += n_files - added
    return counts
