"""The bureau's records as people ask for them: `ecoplan list --closed` (`Search`,
`list_records`), `ecoplan status` of an incident Temporal no longer has (`status_of`), and
`ecoplan records rebuild` from the archive's dossiers (`rebuild`).

The record and its storage (the SQLite schema, `record_from_status`, `upsert_record`,
`save_status`) are activities/records_store.py's: the activities write the store, so it sits
in their layer; its names are imported here for the CLI and the console.
"""

from __future__ import annotations

import json
import os
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

from typing import TYPE_CHECKING

from pydantic import BaseModel

from activities import db
from activities.records_store import (SCHEMA_VERSION, DeadlineFact, IncidentRecord, LevelStep,
                                      RecordError, SaveResult, all_records, archive_files, connect, db_path,
                                      get_record, normalise_status, record_from_status, save_status,
                                      upsert_record)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["SCHEMA_VERSION", "DeadlineFact", "IncidentRecord", "LevelStep", "RebuildResult",
           "RecordError", "SaveResult", "Search", "all_records", "archive_files", "connect", "db_path",
           "get_record", "list_records", "normalise_status", "rebuild", "record_from_status", "save_status",
           "levels_of", "search", "status_of", "upsert_record"]


# ------------------------------------------------------------------ queries


def _plain(stored: str | None) -> str | None:
    return datetime.fromisoformat(stored).isoformat() if stored else None


def status_of(incident_id: str, path: str | os.PathLike | None = None) -> dict | None:
    """The stored status of an incident Temporal no longer has, marked as a record from the
    store (`closed_record`: it was closed when last saved); None when the store has none."""
    p = db_path(path)
    if not db.exists(p):
        return None
    from sqlalchemy import text

    with closing(connect(p)) as conn:
        row = conn.execute(text("SELECT record, status FROM incidents WHERE incident_id = :i"),
                           {"i": incident_id}).first()
    if row is None:
        return None
    record = IncidentRecord.model_validate_json(row.record)
    # A record saved without its status (upsert_record(conn, record)) answers with its facts.
    st = json.loads(row.status) or {**json.loads(record.model_dump_json()),
                                       "plan": {"id": record.plan_id, "version": record.plan_version},
                                       "timeline": []}
    if "levels" not in st or (st.get("levels") is None and record.event_level):
        st["levels"] = levels_of(record)
    st["from_records"] = True
    st["closed_record"] = record.stage == "closed"
    st["closed_at"] = record.closed_at.isoformat() if record.closed_at else None
    st["archive_paths"] = _local_copies(incident_id, record.archive_paths)
    return st


def levels_of(record: IncidentRecord) -> dict | None:
    """Both levels of a record as the status shows them (`levels`, workflows/status.py), for a
    record kept without its status; None when the record has no event level (saved before
    schema r0003, or an incident with one level): the pages show 事件等级 未记录."""
    if not record.event_level:
        return None
    from plan.loader import load_plan
    from workflows.levels import KIND_NAMES, roman

    names = {x.id.value: x.name for x in load_plan().plan.levels}
    kind = record.event_level_kind or "graded"
    note = record.response_note or ("未启动" if record.level is None else
                                    "与事件等级相同" if record.level == record.event_level else "")
    response = f"响应级别 {roman(record.level)}" + (f"（{note}）" if note else "") if record.level else "响应级别 未启动"
    return {
        "event_level": record.event_level, "event_level_name": names.get(record.event_level, ""),
        "event_level_kind": kind,
        "event_level_changes": [{"at": c.at.isoformat(), "by": {"name": c.by, "role": ""} if c.by else None,
                                 "from_level": c.from_level, "to_level": c.to_level, "kind": c.kind,
                                 "reason": c.reason} for c in record.event_level_history],
        "response_level": record.level, "response_note": note,
        "line": f"事件等级 {roman(record.event_level)}（{KIND_NAMES.get(kind, kind)}） · {response}"}


def _local_copies(incident_id: str, paths: list[str]) -> list[str]:
    """With the shared archive (ECOPLAN_DATABASE_URL), the record's files as this machine's
    copies, fetched from the database (the worker that filed them may be another machine);
    without it, the paths as recorded."""
    from activities import archive_store
    from activities.settings import settings

    s = settings()
    if not s.database_url:
        return paths
    try:
        archive_store.fetch(s.database_url, s.archive_path, incident_id)
    except Exception as e:  # unreachable database: one line, not a traceback
        raise RecordError(f"共享归档读不了：{str(getattr(e, 'orig', e)).splitlines()[0]}") from None
    folder = s.archive_path / incident_id
    return [str(folder / Path(p).name) for p in paths if (folder / Path(p).name).is_file()]


class Search(BaseModel):
    """`ecoplan list --closed` / `--include-closed` filters (dates are reported dates, Asia/Shanghai)."""

    closed_only: bool = True
    stage: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    county: str | None = None
    level: str | None = None  # 响应级别 (before activation: the graded level)
    event_level: str | None = None  # 事件等级 (issue 24)
    incident_type: str | None = None
    outcome: str | None = None
    drills: bool = False


def search(conn: Connection, s: Search, limit: int | None = None) -> tuple[list[dict], int]:
    """Rows as `ecoplan list --json` has them plus `closed_at` and `outcome`, most recently
    reported first; and how many match in all."""
    from sqlalchemy import text

    where, args = [], {}
    if s.closed_only:
        where.append("stage = 'closed'")
    if not s.drills:
        where.append("drill = 0")
    for n, (column, value) in enumerate((("reported_date >=", s.date_from), ("reported_date <=", s.date_to))):
        if value is not None:
            where.append(f"{column} :d{n}")
            args[f"d{n}"] = value.isoformat()
    for column, value in (("stage", s.stage), ("county", s.county), ("shown_level", s.level),
                          ("event_level", s.event_level), ("incident_type", s.incident_type),
                          ("outcome", s.outcome)):
        if value is not None:
            where.append(f"{column} = :{column}")
            args[column] = value
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(text(f"SELECT count(*) FROM incidents{cond}"), args).scalar()
    sql = (f"SELECT incident_id, title, stage, shown_level, event_level, county, drill, next_deadline, closed_at, outcome,"
           f" reported_at FROM incidents{cond} ORDER BY reported_at DESC, incident_id")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = [{
        "incident_id": r.incident_id, "title": r.title, "stage": r.stage, "level": r.shown_level,
        "event_level": r.event_level, "county": r.county, "drill": bool(r.drill),
        "next_deadline": json.loads(r.next_deadline) if r.next_deadline else None,
        "closed_at": _plain(r.closed_at), "outcome": r.outcome, "reported_at": _plain(r.reported_at),
    } for r in conn.execute(text(sql), args)]
    return rows, total


def list_records(s: Search, limit: int | None = None, path: str | os.PathLike | None = None) -> tuple[list[dict], int]:
    """What `ecoplan list --closed` shows: opens the store at `path` (default ECOPLAN_RECORDS_DB)."""
    p = db_path(path)
    if not db.exists(p):
        return [], 0
    with closing(connect(p)) as conn:
        return search(conn, s, limit)


# ------------------------------------------------------------------ rebuild


class RebuildResult(BaseModel):
    archive: str
    db: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    failed: list[dict] = []  # {"path", "error"}


def rebuild(archive_dir: str | os.PathLike, path: str | os.PathLike | None = None) -> RebuildResult:
    """(Re)fill the store from the archive's `*/dossier.json` files. Records already there with
    the same facts stay as they are; a newer stored record is not overwritten by an older dossier."""
    root = Path(archive_dir)
    if not root.is_dir():
        raise RecordError(f"归档目录 {root} 不存在")
    out = RebuildResult(archive=str(root), db=db.shown(db_path(path)))
    with closing(connect(path)) as conn:
        for f in sorted(root.glob("*/dossier.json")):
            out.read += 1
            try:
                doc = json.loads(f.read_text(encoding="utf-8"))
                record = record_from_status(doc).model_copy(update={"archive_paths": archive_files(f.parent)})
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecordError) as e:
                out.failed.append({"path": str(f), "error": str(e).splitlines()[0] if str(e) else type(e).__name__})
                continue
            result = upsert_record(conn, record, doc)
            setattr(out, result, getattr(out, result) + 1)
    return out
