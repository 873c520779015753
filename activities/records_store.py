"""The bureau's records store: every incident's case-file facts in a real database that
outlives Temporal's retention (突发环境事件信息档案, 17号令 第十条). This module holds the record
and its storage: the activities save to it (activities/records.py, activities/delivery.py),
the past daily report reads it (activities/daily_past.py), and ecoplan/records.py answers
people's questions from it (`ecoplan list --closed`, `ecoplan status`, `ecoplan records rebuild`).

The store is the shared PostgreSQL when ECOPLAN_DATABASE_URL is set (every worker and console
process reads and writes the same records, issue 27), else a SQLite file (`ECOPLAN_RECORDS_DB`,
default `.ecoplan/records.db`): one data-access layer for both (activities/db, SQLAlchemy
Core), the schema made and changed by Alembic (activities/db/migrations/records; a file made
before Alembic is recognised by its PRAGMA user_version and stamped).
A record is built from the incident's status JSON (the workflow's `status` query, or the
`dossier.json` the archive writes on close) by one function, `record_from_status`; when that
shape changes, only it changes. `upsert_record` is idempotent: saving the same facts again
changes nothing, and an older save arriving after a newer one (a retried activity) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from activities import db
from activities.db import migrate
from activities.settings import settings
from plan.calendar import SHANGHAI

if TYPE_CHECKING:  # SQLAlchemy itself is imported when the store is opened (activities/db)
    from sqlalchemy.engine import Connection

class RecordError(ValueError):
    """A status/dossier that is not an incident's, or a store that cannot be used: one line."""


# ------------------------------------------------------------------ the record


class LevelStep(BaseModel):
    at: datetime
    from_level: str | None
    to_level: str
    reason: str | None = None
    by: str | None = None


class EventLevelStep(BaseModel):
    """One step of the event level's history (事件等级, issue 24): graded from 附表1, then each
    初步认定 or 核定."""

    at: datetime
    from_level: str | None
    to_level: str
    kind: str  # graded / preliminary / confirmed
    reason: str | None = None
    by: str | None = None


class DeadlineFact(BaseModel):
    name: str
    title: str
    started_at: datetime
    due_at: datetime | None  # None while the incident is still computing it
    due_date: date | None = None
    provisional: bool = False
    status: str  # pending / met / overdue / met_late, as the incident last said
    met_at: datetime | None = None
    late_by_seconds: int | None = None  # met late: met_at − due_at; otherwise None


class IncidentRecord(BaseModel):
    """The facts of one incident's case file. Times are Asia/Shanghai."""

    incident_id: str
    title: str
    county: str
    location: str = ""
    incident_type: str
    source: str
    drill: bool = False
    plan_id: str | None = None
    plan_version: str | None = None
    stage: str
    outcome: str | None = None
    graded_level: str | None = None  # 附表1 初判
    level: str | None = None  # the response level in force (None: never activated)
    level_history: list[LevelStep] = []
    # The event's own level (事件等级, issue 24; schema r0003): as the bureau last judged it, else
    # as graded. None: not recorded (a record saved before r0003, or an incident opened before the
    # two levels were kept apart, whose one level is `level`).
    event_level: str | None = None
    event_level_kind: str | None = None  # graded / preliminary (初步认定) / confirmed (核定)
    event_level_history: list[EventLevelStep] = []
    response_note: str | None = None  # how the response stands to the event: 与事件等级相同, 提高，理由：…, 未启动
    discovered_at: datetime
    reported_at: datetime  # when the bureau learned of it (获知)
    warning_at: datetime | None = None
    activated_at: datetime | None = None
    dispatched_at: datetime | None = None
    terminated_at: datetime | None = None
    investigation_completed_at: datetime | None = None
    assessment_review_passed_at: datetime | None = None
    assessment_report_at: datetime | None = None
    closed_at: datetime | None = None
    initial_report_at: datetime | None = None  # 初报
    deadlines: list[DeadlineFact] = []
    archive_paths: list[str] = []
    seq: int = 0  # the incident's last timeline entry: orders saves of the same incident

    def level_at(self, t: datetime) -> str | None:
        """The response level in force at `t`, else the graded level."""
        if not self.level_history:  # never activated (or a record without its history)
            return self.level or self.graded_level
        level = None
        for step in sorted(self.level_history, key=lambda s: s.at):
            if step.at <= t:
                level = step.to_level
        return level or self.graded_level

    @property
    def shown_level(self) -> str | None:
        # As the supervisor views show it (EcoLevel): the response level, else the graded one.
        return self.level or self.graded_level


def _t(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (t.replace(tzinfo=SHANGHAI) if t.tzinfo is None else t).astimezone(SHANGHAI)


def _name(actor: Any) -> str | None:
    return actor.get("name") if isinstance(actor, dict) else None


def normalise_status(doc: dict) -> dict:
    """A dossier (the state with `report` and the whole `plan` nested) in the status query's
    shape (report fields at the top, `plan` as its reference); a status stays as it is."""
    if not isinstance(doc, dict):
        raise RecordError(f"不是事件状态对象（{type(doc).__name__}）")
    st = dict(doc)
    report = st.pop("report", None)
    if isinstance(report, dict):
        for key in ("title", "county", "location", "description", "reporter", "incident_type", "source",
                    "discovered_at", "reported_at"):
            st.setdefault(key, report.get(key))
        st["drill"] = bool(st.get("drill") or report.get("drill"))
    plan = st.get("plan")
    if isinstance(plan, dict):
        st["plan"] = {k: plan.get(k) for k in ("id", "version", "hash")}
    grading = st.get("grading")
    if isinstance(grading, dict):
        st.setdefault("graded_level", grading.get("level"))
    return st


def record_from_status(status: dict, archive_paths: list[str] | None = None) -> IncidentRecord:
    """The one place that reads the incident status shape (the `status` query of
    workflows/incident.py, or dossier.json): adapt here when that shape changes."""
    st = normalise_status(status)
    try:
        events = st.get("events") or {}
        timeline = st.get("timeline") or []
        summary = st.get("timeline_summary") or {}
        # The timeline may be cut short (summarised, or moved to the archive): its last seq is the highest known.
        seq = max([e.get("seq", 0) for e in timeline] + [summary.get("to_seq", 0), st.get("timeline_archived") or 0])
        changes = st.get("level_changes") or []
        termination = st.get("termination") or {}
        warning = st.get("warning") or {}
        stage = st["stage"]
        deadlines = []
        for d in st.get("deadlines") or []:
            due, met = _t(d.get("due_at")), _t(d.get("met_at"))
            deadlines.append(DeadlineFact(
                name=d["name"], title=d.get("title") or d["name"], started_at=_t(d["started_at"]), due_at=due,
                due_date=d.get("due_date"), provisional=bool(d.get("provisional")), status=d["status"],
                met_at=met, late_by_seconds=int((met - due).total_seconds()) if met and due and met > due else None))
        plan = st.get("plan") or {}
        lv = st.get("levels") or {}  # both levels, incidents opened since issue 24 (workflows/status.py)
        return IncidentRecord(
            incident_id=st["incident_id"], title=st["title"], county=st["county"], location=st.get("location") or "",
            incident_type=st["incident_type"], source=st["source"], drill=bool(st.get("drill")),
            plan_id=plan.get("id"), plan_version=plan.get("version"),
            stage=stage, outcome=st.get("outcome"), graded_level=st.get("graded_level"), level=st.get("level"),
            level_history=[LevelStep(at=_t(c["at"]), from_level=c.get("from_level"), to_level=c["to_level"],
                                     reason=c.get("reason"), by=_name(c.get("by"))) for c in changes],
            event_level=lv.get("event_level"), event_level_kind=lv.get("event_level_kind") if lv.get("event_level") else None,
            event_level_history=[EventLevelStep(at=_t(c["at"]), from_level=c.get("from_level"), to_level=c["to_level"],
                                                kind=c.get("kind") or "graded", reason=c.get("reason"),
                                                by=_name(c.get("by"))) for c in lv.get("event_level_changes") or []],
            response_note=lv.get("response_note") if lv.get("event_level") else None,
            discovered_at=_t(st["discovered_at"]), reported_at=_t(st["reported_at"]),
            warning_at=_t(warning.get("at")),
            activated_at=_t(changes[0]["at"]) if changes else None,
            dispatched_at=_t(events.get("dispatched")),
            terminated_at=_t(events.get("response_terminated") or termination.get("approved_at")),
            investigation_completed_at=_t(events.get("investigation_completed")),
            assessment_review_passed_at=_t(events.get("assessment_review_passed")),
            assessment_report_at=_t(events.get("assessment_report_submitted")),
            # A closed incident's stage was entered when it closed (close or lift_warning).
            closed_at=_t(st.get("stage_entered_at")) if stage == "closed" else None,
            initial_report_at=_t(events.get("initial_report_submitted")),
            deadlines=deadlines,
            # Without a folder listing, the documents the incident itself names (if its status has them).
            archive_paths=sorted(archive_paths if archive_paths is not None else
                                 {d["path"] for d in st.get("documents") or [] if isinstance(d, dict) and d.get("path")}),
            seq=seq,
        )
    except (KeyError, TypeError, ValueError, ValidationError) as e:
        what = f"missing field {e}" if isinstance(e, KeyError) else str(e).splitlines()[0]
        raise RecordError(f"不是事件状态：{what}") from None


def archive_files(folder: Path) -> list[str]:
    """The incident's documents in its archive folder (absolute paths; half-written files left out)."""
    if not folder.is_dir():
        return []
    return sorted(str(p.resolve()) for p in folder.iterdir() if p.is_file() and not p.name.endswith(".tmp"))


# ------------------------------------------------------------------ the store


def db_path(path: str | os.PathLike | None = None) -> str | Path:
    """The store: `path` (a SQLite file or a database URL), else ECOPLAN_DATABASE_URL, else
    ECOPLAN_RECORDS_DB (default $ECOPLAN_HOME/records.db)."""
    return (str(path) if db.is_url(path) else Path(path)) if path else settings().records_store


SCHEMA_VERSION = 2  # the last schema before Alembic (revision r0002): the PRAGMA user_version of such files


def _legacy(conn: Connection) -> str | None:
    # A file made before Alembic: its PRAGMA user_version says which schema it has.
    version = conn.exec_driver_sql("PRAGMA user_version").scalar()
    if version > SCHEMA_VERSION:
        raise RecordError(f"结案记录库的格式版本为 {version}，比本程序的版本 {SCHEMA_VERSION} 新：请升级 ecoplan")
    return {0: None, 1: "r0001", 2: "r0002"}[version]


migrate.LEGACY["records"] = _legacy


def _iso(t: datetime | None) -> str | None:
    # One offset and a fixed width, so that text order is time order in SQL.
    return t.astimezone(SHANGHAI).isoformat(timespec="microseconds") if t else None


def connect(path: str | os.PathLike | None = None, create: bool = True) -> Connection:
    """Open (and create or migrate) the store: a connection of the data-access layer
    (activities/db). Writers wait for each other (upsert_record)."""
    p = db_path(path)
    if not create and not db.exists(p):
        raise RecordError(f"结案记录库 {db.shown(p)} 不存在（ECOPLAN_RECORDS_DB）：用 ecoplan records rebuild 从归档重建")
    from sqlalchemy.exc import SQLAlchemyError

    try:
        migrate.upgrade(p, "records")
        return db.engine(p).connect()
    except (OSError, db.DatabaseError, SQLAlchemyError) as e:
        raise RecordError(f"无法打开结案记录库 {db.shown(p)}：{_line(e)}") from None


def _line(e: Exception) -> str:
    orig = getattr(e, "orig", None) or e
    return (str(orig).splitlines() or [type(orig).__name__])[0].removeprefix("the records store ")


def _hash(record: IncidentRecord) -> str:
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()


def _next_deadline(record: IncidentRecord) -> dict | None:
    pending = [d for d in record.deadlines if d.status == "pending" and d.due_at is not None]
    nxt = min(pending, key=lambda d: d.due_at, default=None)
    return {"name": nxt.name, "due_at": nxt.due_at.isoformat()} if nxt else None


SaveResult = Literal["inserted", "updated", "unchanged", "stale"]


def upsert_record(conn: Connection, record: IncidentRecord, status: dict | None = None) -> SaveResult:
    """Save one incident's record. The same facts again change nothing ("unchanged"); a save
    older than the stored one (a lower timeline position) is ignored ("stale")."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    h = _hash(record)
    if conn.in_transaction():
        conn.commit()  # what was read before: the save is a transaction of its own
    conn.execution_options(immediate=True)
    try:
        with conn.begin():
            db.lock_key(conn, "incident:" + record.incident_id)
            row = conn.execute(text("SELECT hash, seq FROM incidents WHERE incident_id = :i"),
                               {"i": record.incident_id}).first()
            if row is not None and row.hash == h:
                return "unchanged"
            if row is not None and row.seq > record.seq:
                return "stale"
            _write(conn, record, h, status)
            return "updated" if row is not None else "inserted"
    except SQLAlchemyError as e:
        raise RecordError(f"结案记录未能写入记录库：{_line(e)}") from None
    finally:
        conn.execution_options(immediate=False)


def _write(conn: Connection, r: IncidentRecord, h: str, status: dict | None) -> None:
    from sqlalchemy import text

    from activities import records_tables as t

    i = r.incident_id
    # Cascades to the child rows (ON DELETE CASCADE on both databases; SQLite's foreign keys are on).
    conn.execute(text("DELETE FROM incidents WHERE incident_id = :i"), {"i": i})
    nxt = _next_deadline(r)
    shown = normalise_status(status) if status is not None else None
    conn.execute(t.incidents.insert(), dict(
        incident_id=i, title=r.title, county=r.county, incident_type=r.incident_type,
        source=r.source, drill=int(r.drill), stage=r.stage, outcome=r.outcome, graded_level=r.graded_level,
        level=r.level, shown_level=r.shown_level, event_level=r.event_level, event_level_kind=r.event_level_kind,
        discovered_at=_iso(r.discovered_at),
        reported_at=_iso(r.reported_at), reported_date=r.reported_at.astimezone(SHANGHAI).date().isoformat(),
        activated_at=_iso(r.activated_at), terminated_at=_iso(r.terminated_at), closed_at=_iso(r.closed_at),
        initial_report_at=_iso(r.initial_report_at), next_deadline=json.dumps(nxt) if nxt else None,
        seq=r.seq, hash=h, record=r.model_dump_json(),
        status=json.dumps(shown if shown is not None else {}, ensure_ascii=False, default=str)))
    if r.level_history:
        conn.execute(t.level_changes.insert(), [
            dict(incident_id=i, n=n, at=_iso(s.at), from_level=s.from_level, to_level=s.to_level, reason=s.reason,
                 by=s.by) for n, s in enumerate(r.level_history, 1)])
    if r.deadlines:
        conn.execute(t.deadlines.insert(), [
            dict(incident_id=i, name=d.name, title=d.title, started_at=_iso(d.started_at), due_at=_iso(d.due_at),
                 due_date=d.due_date.isoformat() if d.due_date else None, provisional=int(d.provisional),
                 status=d.status, met_at=_iso(d.met_at), late_by_seconds=d.late_by_seconds) for d in r.deadlines])
    if r.archive_paths:
        conn.execute(t.archive_paths.insert(), [dict(incident_id=i, path=p) for p in r.archive_paths])
    conn.execute(t.incident_search.insert(), dict(incident_id=i, location=r.location))
    leads = (shown or {}).get("leads")
    named = sorted({u for u in (leads.values() if isinstance(leads, dict) else ()) if isinstance(u, str)})
    if named:
        conn.execute(t.incident_leads.insert(), [dict(incident_id=i, username=u) for u in named])


def save_status(status: dict, archive_dir: str | os.PathLike | None = None,
                path: str | os.PathLike | None = None) -> SaveResult:
    """Build the record from a status (or dossier) and save it, with the documents found in the
    incident's archive folder."""
    record = record_from_status(status)
    if archive_dir is not None:
        record = record.model_copy(update={"archive_paths": archive_files(Path(archive_dir) / record.incident_id)})
    with closing(connect(path)) as conn:
        return upsert_record(conn, record, status)


# ------------------------------------------------------------------ reads


def get_record(conn: Connection, incident_id: str) -> IncidentRecord | None:
    from sqlalchemy import text

    row = conn.execute(text("SELECT record FROM incidents WHERE incident_id = :i"), {"i": incident_id}).first()
    return IncidentRecord.model_validate_json(row.record) if row else None


def all_records(conn: Connection) -> list[IncidentRecord]:
    from sqlalchemy import text

    return [IncidentRecord.model_validate_json(r.record)
            for r in conn.execute(text("SELECT record FROM incidents ORDER BY reported_at, incident_id"))]
