"""The daily duty report of a past date, from the records store (the incidents keep their
records current as they go): an incident is new on the day it was reported (`reported_at`,
Asia/Shanghai), and everything else is the state as of the end of that day (24:00), from
each incident's timeline and deadlines, not today's."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import date, datetime, time, timedelta
from pathlib import Path

from activities import db as store
from activities.records_store import IncidentRecord, connect, db_path
from plan.calendar import SHANGHAI

# The order a life goes through, with the record's milestone that enters each stage: used
# when the stored timeline (its newest entries) no longer reaches back to the day.
MILESTONES = (("warning", "warning_at"), ("responding", "activated_at"), ("on_site", "dispatched_at"),
              ("post_event", "terminated_at"), ("closed", "closed_at"))


def stage_at(rec: IncidentRecord, status: dict, t: datetime) -> str:
    """The incident's stage at `t`: the last timeline entry recorded for a business time
    before `t`, else the milestones of the record."""
    timeline = [e for e in status.get("timeline") or [] if not e.get("rejected")]
    before = [e for e in timeline if datetime.fromisoformat(e["at"]) < t]
    if before and (len(before) < len(timeline) or timeline[0]["seq"] == 1):
        return max(before, key=lambda e: e["seq"])["to_stage"]
    stage = "reported"
    for name, field in MILESTONES:
        at = getattr(rec, field)
        if at is not None and at < t:
            stage = name
    return stage


def past_daily_report(day: date, db: str | Path | None = None) -> dict:
    start = datetime.combine(day, time(0), SHANGHAI)
    end = start + timedelta(days=1)
    p = db_path(db)
    rows = []
    if store.exists(p):
        from sqlalchemy import text

        with closing(connect(p)) as conn:
            rows = [(IncidentRecord.model_validate_json(r.record), json.loads(r.status or "{}")) for r in
                    conn.execute(text("SELECT record, status FROM incidents WHERE drill = 0 ORDER BY reported_at"))]
    new, open_rows, late, soon = [], [], [], []
    for rec, st in rows:
        if rec.reported_at >= end:
            continue
        stage, level = stage_at(rec, st, end), rec.level_at(end)
        if start <= rec.reported_at:
            new.append({"incident_id": rec.incident_id, "title": rec.title, "county": rec.county, "level": level,
                        "stage": stage, "reported_at": rec.reported_at.isoformat()})
        if rec.closed_at is not None and rec.closed_at < end:
            continue
        open_rows.append({"incident_id": rec.incident_id, "stage": stage, "level": level})
        for d in rec.deadlines:
            if d.due_at is None or d.started_at >= end or (d.met_at is not None and d.met_at < end):
                continue
            row = {"incident_id": rec.incident_id, "title": rec.title, "county": rec.county, "level": level,
                   "stage": stage, "deadline": d.name, "deadline_title": d.title, "due_at": d.due_at.isoformat()}
            if d.due_at < end:
                late.append({**row, "late_by_seconds": int((end - d.due_at).total_seconds()), "waiting_on": []})
            elif d.due_at < end + timedelta(hours=24):
                soon.append({"incident_id": rec.incident_id, "title": rec.title, "name": d.name, "title_cn": d.title,
                             "due_at": d.due_at.isoformat()})
    late.sort(key=lambda x: -x["late_by_seconds"])
    report = {
        "report_date": day.isoformat(), "generated_at": datetime.now(SHANGHAI).isoformat(),
        "period": {"from": start.isoformat(), "to": end.isoformat()}, "as_of": end.isoformat(),
        "from_records": True,
        "open_incidents": len(open_rows),
        "by_stage": _count(r["stage"] for r in open_rows), "by_level": _count(r["level"] for r in open_rows),
        "new_incidents": new, "overdue": late,
        "stuck": [],  # the plan's stage expectations are a live view (ecoplan stuck); not kept per day
        "due_next_24h": sorted(soon, key=lambda x: x["due_at"]),
    }
    report["zero_report"] = not (open_rows or new or late or soon)
    return report


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
