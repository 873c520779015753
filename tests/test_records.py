"""The records store (17号令 第十条): a real SQLite file or PostgreSQL schema (issue 27), records
built from the status shape, idempotent saves, the search behind `ecoplan list --closed`, the
rebuild from dossiers, and the issue's done-when: a closed incident Temporal has deleted is
still shown and found."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import shutil
import sqlite3
import uuid
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment

from activities import db as store
from activities.db import migrate
from activities.records import Records
from activities.settings import ActivitySettings
from ecoplan import api, records
from ecoplan.connection import TASK_QUEUE
from ecoplan.records import IncidentRecord, Search
from tests.conftest import TEMPORAL_BIN
from tests.drive import act, archived, final_report, to_post_event
from tests.helpers import CITY_WARNING, DUTY, eventually, now, report
from tests.test_cli import ahere, ecoplan, here, one_line_error
from worker import build_worker
from workflows import messages as m

CST = "+08:00"


def entry(seq: int, at: str, action: str, from_stage: str, to_stage: str) -> dict:
    return {"seq": seq, "at": at + CST, "recorded_at": at + CST, "by": {"name": "王值班", "role": "值班员"},
            "action": action, "from_stage": from_stage, "to_stage": to_stage, "detail": {}, "rejected": False}


def status(iid: str = "r-1", **over) -> dict:
    """An incident status as the `status` query gives it, trimmed to what a record reads;
    times written down by hand."""
    st = {
        "incident_id": iid, "title": "桃河化工厂泄漏", "county": "平定县", "location": "冶西镇桃河段",
        "incident_type": "water", "source": "linkage_119", "drill": False, "reporter": "119指挥中心",
        "discovered_at": f"2026-11-02T07:30:00{CST}", "reported_at": f"2026-11-02T08:00:00{CST}",
        "plan": {"id": "yangquan-2022", "version": "2022.1", "hash": "sha256:x"},
        "grading": {"level": "IV", "level_name": "一般", "reasons": []}, "graded_level": "IV",
        "stage": "closed", "stage_entered_at": f"2026-11-25T10:00:00{CST}", "outcome": "completed",
        "level": "III",
        "level_changes": [
            {"at": f"2026-11-02T09:00:00{CST}", "by": {"name": "王值班", "role": "值班员"}, "from_level": None,
             "to_level": "IV", "reason": None},
            {"at": f"2026-11-03T10:00:00{CST}", "by": {"name": "王值班", "role": "值班员"}, "from_level": "IV",
             "to_level": "III", "reason": "疏散人数上升"},
        ],
        "warning": None,
        "termination": {"approved_at": f"2026-11-05T09:00:00{CST}"},
        "events": {
            "discovered": f"2026-11-02T07:30:00{CST}", "initial_report_submitted": f"2026-11-02T09:00:00{CST}",
            "dispatched": f"2026-11-02T10:00:00{CST}", "response_terminated": f"2026-11-05T09:00:00{CST}",
            "investigation_completed": f"2026-11-18T09:00:00{CST}",
            "assessment_review_passed": f"2026-11-10T09:00:00{CST}",
            "assessment_report_submitted": f"2026-11-20T09:00:00{CST}",
        },
        "deadlines": [
            {"name": "initial_report", "title": "初报", "started_at": f"2026-11-02T07:30:00{CST}",
             "due_at": f"2026-11-02T11:30:00{CST}", "due_date": None, "provisional": False, "status": "met",
             "met_at": f"2026-11-02T09:00:00{CST}"},
            {"name": "assessment_report", "title": "损害评估报告报送", "started_at": f"2026-11-10T09:00:00{CST}",
             "due_at": f"2026-11-17T23:59:59{CST}", "due_date": "2026-11-17", "provisional": False,
             "status": "met_late", "met_at": f"2026-11-20T09:00:00{CST}"},
        ],
        "timeline": [entry(1, "2026-11-02T08:00:00", "reported", "reported", "reported"),
                     entry(2, "2026-11-02T09:00:00", "activate_response", "reported", "responding"),
                     entry(30, "2026-11-25T10:00:00", "close", "post_event", "closed")],
        "timeline_summary": None,
    }
    st.update(over)
    return st


def as_dossier(st: dict) -> dict:
    """The same incident as dossier.json holds it: the state with the report and the whole plan nested."""
    d = copy.deepcopy(st)
    rep = {k: d.pop(k) for k in ("title", "county", "location", "incident_type", "source", "reporter",
                                 "discovered_at", "reported_at")}
    d.pop("graded_level")
    rep["drill"] = d["drill"]
    d["report"] = rep
    d["plan"] = {**d["plan"], "title": "阳泉市生态环境局突发环境事件应急预案", "groups": {}}
    return d


# ------------------------------------------------------------------ the record


def test_record_from_status_reads_the_case_file_facts():
    r = records.record_from_status(status())
    t = lambda s: datetime.fromisoformat(s + CST)  # noqa: E731
    assert (r.incident_id, r.county, r.incident_type, r.source, r.drill) == ("r-1", "平定县", "water", "linkage_119", False)
    assert (r.graded_level, r.level, r.stage, r.outcome) == ("IV", "III", "closed", "completed")
    assert [(s.from_level, s.to_level) for s in r.level_history] == [(None, "IV"), ("IV", "III")]
    assert r.activated_at == t("2026-11-02T09:00:00")
    assert r.initial_report_at == t("2026-11-02T09:00:00")
    assert r.terminated_at == t("2026-11-05T09:00:00")
    assert r.assessment_report_at == t("2026-11-20T09:00:00")
    assert r.closed_at == t("2026-11-25T10:00:00")  # a closed incident's stage was entered on close
    assert (r.plan_id, r.seq) == ("yangquan-2022", 30)
    late = {d.name: d.late_by_seconds for d in r.deadlines}
    # met 11-20 09:00, due 11-17 23:59:59: 2 days 9 h 1 s late = 2·86400 + 9·3600 + 1
    assert late == {"initial_report": None, "assessment_report": 2 * 86400 + 9 * 3600 + 1}
    # the level in force: IV from 11-02 09:00, III from 11-03 10:00; the graded level before
    assert r.level_at(t("2026-11-02T08:30:00")) == "IV"
    assert r.level_at(t("2026-11-03T09:59:59")) == "IV"
    assert r.level_at(t("2026-11-03T10:00:00")) == "III"


def test_a_dossier_gives_the_same_record_as_the_status():
    assert records.record_from_status(as_dossier(status())) == records.record_from_status(status())


def test_an_open_incident_has_no_closing_time_and_a_due_time_may_be_pending(tmp_path):
    st = status(stage="post_event", outcome=None)
    # a deadline whose working-day due time the incident is still computing (due_at None)
    st["deadlines"].append({"name": "investigation", "title": "事件调查", "started_at": f"2026-11-05T09:00:00{CST}",
                            "due_at": None, "status": "pending", "met_at": None})
    r = records.record_from_status(st)
    assert r.closed_at is None and r.stage == "post_event"
    assert [(d.name, d.due_at) for d in r.deadlines][-1] == ("investigation", None)
    with closing(records.connect(tmp_path / "r.db")) as conn:
        assert records.upsert_record(conn, r, st) == "inserted"
        rows, _ = records.search(conn, Search(closed_only=False))
    assert rows[0]["next_deadline"] is None  # the only pending one has no due time yet


@pytest.mark.parametrize("doc,needle", [
    ({"incident_id": "x"}, "missing field"),
    ([1, 2], "不是事件状态对象"),
    ({**status(), "reported_at": "yesterday"}, "不是事件状态"),
])
def test_not_a_status_is_one_line(doc, needle):
    with pytest.raises(records.RecordError) as e:
        records.record_from_status(doc)
    assert needle in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------ the store


def table_rows(db: Path | str, incident_id: str | None = None) -> dict[str, list[tuple]]:
    """Every row of every table (of one incident's, when given)."""
    where, args = (" WHERE incident_id = :i", {"i": incident_id}) if incident_id else ("", {})
    with store.engine(db).connect() as c:
        return {t: sorted(tuple(r) for r in c.execute(text(f"SELECT * FROM {t}{where}"), args))
                for t in ("incidents", "level_changes", "deadlines", "archive_paths", "incident_search")}


def test_upsert_is_idempotent_and_ignores_an_older_save(store_target):
    db = store_target
    newer = records.record_from_status(status())
    with closing(records.connect(db)) as conn:
        assert records.upsert_record(conn, newer, status()) == "inserted"
        before = table_rows(db)
        assert records.upsert_record(conn, newer, status()) == "unchanged"
        assert table_rows(db) == before
        # a retried save from earlier in the incident's life (timeline at 12) arrives late
        older = records.record_from_status(status(stage="post_event", outcome=None,
                                                  timeline=[entry(12, "2026-11-05T09:00:00", "approve_termination",
                                                                   "termination_pending", "post_event")]))
        assert records.upsert_record(conn, older, None) == "stale"
        assert table_rows(db) == before
        moved = records.record_from_status(status(county="盂县", timeline=[entry(31, "2026-11-25T11:00:00", "record_aftercare",
                                                                                   "closed", "closed")]))
        assert records.upsert_record(conn, moved, None) == "updated"
        assert records.get_record(conn, "r-1").county == "盂县"
    rows = table_rows(db)
    assert len(rows["incidents"]) == 1 and len(rows["level_changes"]) == 2 and len(rows["deadlines"]) == 2
    with store.engine(db).connect() as c:
        assert migrate.current(c, "records") == migrate.head("records") == "r0003"


def test_a_store_from_a_newer_ecoplan_is_refused(store_target):
    records.connect(store_target).close()
    with store.engine(store_target).begin() as c:
        c.execute(text("UPDATE alembic_version_records SET version_num = 'r9999'"))
    with pytest.raises(store.DatabaseError, match="比本程序的版本 r0003 新"):
        migrate.upgrade(store_target, "records", force=True)


def test_a_file_from_before_alembic_newer_than_this_ecoplan_is_refused(tmp_path):
    db = tmp_path / "records.db"
    with closing(sqlite3.connect(db)) as c:
        c.execute(f"PRAGMA user_version = {records.SCHEMA_VERSION + 1}")
    with pytest.raises(records.RecordError, match="比本程序的版本"):
        records.connect(db)


def test_search_by_reported_date_county_level_type_outcome_and_drills(store_target):
    db = store_target
    docs = [
        # 23:30 in Shanghai on 11-26 is 15:30 UTC: the reported date is the 26th
        status("a", reported_at="2026-11-26T15:30:00+00:00", discovered_at="2026-11-26T15:00:00+00:00"),
        # 00:00 in Shanghai on 11-27 is 16:00 UTC on the 26th: the 27th
        status("b", reported_at="2026-11-26T16:00:00+00:00", discovered_at="2026-11-26T15:00:00+00:00",
               county="盂县", incident_type="air"),
        status("c", reported_at=f"2026-11-28T09:00:00{CST}", outcome="warning_lifted", level=None,
               level_changes=[]),
        status("d", reported_at=f"2026-11-27T09:00:00{CST}", drill=True),
        status("e", reported_at=f"2026-11-27T10:00:00{CST}", stage="on_site", outcome=None),
    ]
    with closing(records.connect(db)) as conn:
        for d in docs:
            records.upsert_record(conn, records.record_from_status(d), d)

        def ids(limit=None, **kw):
            rows, total = records.search(conn, Search(**kw), limit)
            return [r["incident_id"] for r in rows], total

        # most recently reported first; drills and open incidents left out
        assert ids() == (["c", "b", "a"], 3)
        assert ids(date_from=date(2026, 11, 27)) == (["c", "b"], 2)
        assert ids(date_to=date(2026, 11, 26)) == (["a"], 1)
        assert ids(date_from=date(2026, 11, 27), date_to=date(2026, 11, 27)) == (["b"], 1)
        assert ids(county="盂县") == (["b"], 1)
        assert ids(incident_type="air") == (["b"], 1)
        assert ids(outcome="warning_lifted") == (["c"], 1)
        assert ids(level="IV") == (["c"], 1)  # never activated: its graded level
        assert ids(level="III") == (["b", "a"], 2)
        assert ids(drills=True, date_from=date(2026, 11, 27)) == (["c", "d", "b"], 3)
        assert ids(closed_only=False) == (["c", "e", "b", "a"], 4)
        assert ids(limit=2) == (["c", "b"], 3)
        # a record made without record_from_status, its time in UTC: 16:30 UTC is 00:30 on the 27th
        direct = records.record_from_status(status("f", county="郊区")).model_copy(
            update={"reported_at": datetime.fromisoformat("2026-11-26T16:30:00+00:00")})
        records.upsert_record(conn, direct)
        assert ids(county="郊区", date_from=date(2026, 11, 27), date_to=date(2026, 11, 27)) == (["f"], 1)
        rows, _ = records.search(conn, Search(county="盂县"))
    assert set(rows[0]) >= {"incident_id", "title", "stage", "level", "county", "drill", "next_deadline",
                            "closed_at", "outcome"}
    assert rows[0]["closed_at"] == f"2026-11-25T10:00:00{CST}" and rows[0]["outcome"] == "completed"


def test_rebuild_from_dossiers(tmp_path, store_target):
    archive, db = tmp_path / "archive", store_target
    for iid in ("r-1", "r-2"):
        (archive / iid).mkdir(parents=True)
        (archive / iid / "dossier.json").write_text(json.dumps(as_dossier(status(iid)), ensure_ascii=False))
        (archive / iid / "0003-activation_notice.md").write_text("# 通知")
    (archive / "daily").mkdir()
    (archive / "daily" / "2026-11-29.json").write_text("{}")  # not a dossier: not read
    (archive / "broken").mkdir()
    (archive / "broken" / "dossier.json").write_text('{"incident_id": ')
    out = records.rebuild(archive, db)
    assert (out.read, out.inserted, out.unchanged, len(out.failed)) == (3, 2, 0, 1)
    assert "broken" in out.failed[0]["path"]
    again = records.rebuild(archive, db)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    with closing(records.connect(db)) as conn:
        r = records.get_record(conn, "r-2")
    assert [Path(p).name for p in r.archive_paths] == ["0003-activation_notice.md", "dossier.json"]


def test_cli_rebuild_list_and_status_without_temporal(tmp_path, store_target):
    """The store answers without a server: rebuild, list --closed, and one-line errors. The
    rebuild is a real process (the entry point); the rest run the same command line in this
    process (tests.test_cli.here)."""
    archive, db = tmp_path / "archive", store_target
    (archive / "r-1").mkdir(parents=True)
    (archive / "r-1" / "dossier.json").write_text(json.dumps(as_dossier(status()), ensure_ascii=False))
    env = {"ECOPLAN_DATABASE_URL" if store.is_url(db) else "ECOPLAN_RECORDS_DB": str(db)}
    p = ecoplan("records", "rebuild", "--archive", str(archive), "--json", env_extra=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["inserted"] == 1
    p = here("list", "--closed", "--from", "2026-11-02", "--to", "2026-11-02", "--county", "平定县", "--json",
             env_extra=env)
    assert p.returncode == 0, p.stderr
    assert [(r["incident_id"], r["outcome"]) for r in json.loads(p.stdout)] == [("r-1", "completed")]
    bad = [(["list", "--type", "water"], "请加 --closed"),
           (["list", "--closed", "--from", "2026-11-31"], "--from"),
           (["list", "--closed", "--type", "lava"], "--type"),
           (["records", "rebuild", "--archive", str(tmp_path / "none")], "--archive")]
    for (args, needle), p in zip(bad, (here(*a, env_extra=env) for a, _ in bad)):
        assert p.returncode == 2 and needle in one_line_error(p), (args, p.stderr)


# ------------------------------------------------------------------ with a real Temporal dev server


async def test_the_activity_saves_a_closed_incident_once(client, worker, temporal_address, store_target):
    """The records activity run as the workflow runs it on close, into a SQLite file or (issue 27)
    the shared PostgreSQL, as a worker with ECOPLAN_DATABASE_URL has both (ActivitySettings.from_env:
    the records store and the shared archive are that database); the CLI reads the same store."""
    db = store_target
    shared = store.is_url(db)
    settings = ActivitySettings(archive_dir=worker.archive_dir, records_db=db, database_url=db if shared else None)
    iid = await api.start_incident(client, report(title="桃河记录测试", county="矿区"))
    await to_post_event(client, iid)
    await act(client, iid, "complete_investigation", m.CompleteInvestigation(by=DUTY))
    await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    await act(client, iid, "submit_report", final_report())
    await act(client, iid, "close", m.Close(by=DUTY))
    await archived(worker, iid, "dossier.json", "case-file.pdf", "deadline-chart.svg")  # all it files on close
    # Completed: every file is written (the printing lane may still have been filing the
    # chart's PNG or a report; a file landing between the two saves below made one "updated").
    await asyncio.wait_for(client.get_workflow_handle(api.workflow_id(iid)).result(), 60)
    st = await api.status(client, iid)

    # what the workflow will do on close: the activity, run twice (a retry) — saved once
    save = Records(settings).save_record
    env = ActivityEnvironment()
    assert await asyncio.to_thread(env.run, save, st) == "inserted"
    before = table_rows(settings.records_db)
    assert await asyncio.to_thread(env.run, save, st) == "unchanged"
    assert table_rows(settings.records_db) == before
    # the dossier holds the same facts: a rebuild (of the session's whole archive, other
    # tests' incidents too) leaves this record as it is
    assert records.rebuild(worker.archive_dir, settings.records_db).unchanged >= 1
    assert table_rows(settings.records_db, iid) == before
    with closing(records.connect(settings.records_db)) as conn:
        r = records.get_record(conn, iid)
    assert (r.stage, r.outcome, r.closed_at) == ("closed", "completed", datetime.fromisoformat(st["stage_entered_at"]))
    assert "dossier.json" in {Path(p).name for p in r.archive_paths}
    assert r.initial_report_at == datetime.fromisoformat(st["events"]["initial_report_submitted"])

    cli_env = {"ECOPLAN_DATABASE_URL": db} if shared else {"ECOPLAN_RECORDS_DB": str(db)}
    p = await ahere("list", "--closed", "--county", "矿区", "--from", str(now().date() - timedelta(days=1)),
                    "--json", env_extra=cli_env, address=temporal_address)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert [(r["outcome"], r["stage"]) for r in rows if r["incident_id"] == iid] == [("completed", "closed")]
    # the rebuild may have brought the other variant's incident (the same session archive) too
    assert {(r["county"], r["stage"]) for r in rows} == {("矿区", "closed")}
    # while Temporal still has it, `status` reads the workflow, not the store
    p = await ahere("status", iid, "--json", env_extra=cli_env, address=temporal_address)
    assert p.returncode == 0, p.stderr
    assert "from_records" not in json.loads(p.stdout)


async def test_status_answers_from_the_store_when_temporal_has_no_such_incident(temporal_address, tmp_path,
                                                                                store_target):
    db = store_target
    iid = f"gone-{uuid.uuid4().hex[:8]}"  # never started on this server: as after retention
    with closing(records.connect(db)) as conn:
        records.upsert_record(conn, records.record_from_status(status(iid)), status(iid))
    env = {"ECOPLAN_DATABASE_URL": db} if isinstance(db, str) else {"ECOPLAN_RECORDS_DB": str(db)}
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    as_json, text, unknown, broken = await asyncio.gather(
        ahere("status", iid, "--json", env_extra=env, address=temporal_address),
        ahere("status", iid, env_extra=env, address=temporal_address),
        ahere("status", "never-was", env_extra=env, address=temporal_address),
        ahere("status", "never-was", env_extra={"ECOPLAN_RECORDS_DB": str(garbage)}, address=temporal_address))
    assert as_json.returncode == 0, as_json.stderr
    shown = json.loads(as_json.stdout)
    assert (shown["from_records"], shown["closed_record"], shown["outcome"]) == (True, True, "completed")
    assert shown["closed_at"] == f"2026-11-25T10:00:00{CST}"
    assert text.returncode == 0 and "来自记录库的结案记录，结案于 2026-11-25 10:00" in text.stdout
    assert unknown.returncode == 1 and "没有事件 never-was" in one_line_error(unknown)
    assert broken.returncode == 1 and "记录库也读不了" in one_line_error(broken)


@pytest.mark.slow
async def test_a_deleted_closed_incident_is_still_shown_and_found(client, worker, temporal_address, tmp_path,
                                                                 shared_db):
    """The issue's done-when, with `temporal workflow delete` (the dev server deletes a closed
    workflow about 30 s after the request: this test waits for that). The record is the one
    the incident saved itself (through its delivery activity) when it closed; so are the
    documents `ecoplan documents` then gives from the store. On PostgreSQL (issue 27) the
    incident runs on a worker of its own whose records and archive are the shared database;
    that worker is stopped and its folder deleted before the CLI asks, with nothing but
    ECOPLAN_DATABASE_URL and an empty archive folder: record and documents come from the
    database."""
    url = shared_db
    if url:
        home = tmp_path / "worker"
        mine = ActivitySettings(archive_dir=home / "archive", outbox_path=home / "outbox.jsonl", records_db=url,
                                database_url=url)
        tq = f"deleted-{uuid.uuid4().hex[:6]}"
        running = build_worker(client, mine, task_queue=tq)
    else:
        mine, tq, running = worker, TASK_QUEUE, contextlib.nullcontext()
    async with running:
        iid = await api.start_incident(client, report(title="预警解除记录", county="开发区"), task_queue=tq)
        await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING))
        await act(client, iid, "lift_warning", m.LiftWarning(by=DUTY, **CITY_WARNING, reason="监测数据恢复正常"))
        await archived(mine, iid, "dossier.json", "case-file.pdf")

        async def done():
            return (await client.get_workflow_handle(api.workflow_id(iid)).describe()).status

        await eventually(done, lambda s: s == WorkflowExecutionStatus.COMPLETED, timeout=30)
    with closing(records.connect(mine.records_db)) as conn:
        saved = records.get_record(conn, iid)
    assert (saved.stage, saved.outcome) == ("closed", "warning_lifted")
    case_file = (mine.archive_dir / iid / "case-file.pdf").read_bytes()
    if url:  # the worker kept no store file (records, pages) on its disk; its folder goes away
        assert (home / "archive" / iid).is_dir() and not list(home.rglob("*.db")), sorted(home.rglob("*"))
        shutil.rmtree(home)

    proc = await asyncio.create_subprocess_exec(
        TEMPORAL_BIN, "workflow", "delete", "--workflow-id", api.workflow_id(iid), "--address", temporal_address,
        "--yes", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()

    async def gone():
        try:
            await client.get_workflow_handle(api.workflow_id(iid)).describe()
            return False
        except RPCError:
            return True

    await eventually(gone, bool, timeout=90, interval=0.5)
    if url:
        fresh = tmp_path / "cli-archive"
        fresh.mkdir()
        env = {"ECOPLAN_DATABASE_URL": url, "ECOPLAN_ARCHIVE_DIR": str(fresh)}
    else:
        env = {"ECOPLAN_RECORDS_DB": str(worker.records_db), "ECOPLAN_ARCHIVE_DIR": str(worker.archive_dir)}
    out = tmp_path / "papers"
    shown, found, papers = await asyncio.gather(
        ahere("status", iid, "--json", env_extra=env, address=temporal_address),
        ahere("list", "--closed", "--county", "开发区", "--outcome", "warning_lifted", "--json",
              env_extra=env, address=temporal_address),
        ahere("documents", iid, "--out", str(out), "--json", env_extra=env, address=temporal_address))
    assert shown.returncode == 0, shown.stderr
    st2 = json.loads(shown.stdout)
    assert (st2["incident_id"], st2["closed_record"], st2["outcome"]) == (iid, True, "warning_lifted")
    assert [e["action"] for e in st2["timeline"]][-1] == "lift_warning"
    assert found.returncode == 0, found.stderr
    assert [r["incident_id"] for r in json.loads(found.stdout)] == [iid]
    # the case file and the chart it filed on close (a lifted warning has no 附件1 or 附件2)
    assert papers.returncode == 0, papers.stderr
    assert sorted(Path(p).name for p in json.loads(papers.stdout)) == [
        "case-file.pdf", "deadline-chart.png", "deadline-chart.svg"]
    assert (out / "case-file.pdf").read_bytes() == case_file
    if url:  # the CLI's copies came out of the database into the folder it was given
        assert (fresh / iid / "case-file.pdf").read_bytes() == case_file


def test_record_model_round_trips_through_the_store(store_target):
    r = records.record_from_status(status())
    with closing(records.connect(store_target)) as conn:
        records.upsert_record(conn, r)
        assert records.get_record(conn, "r-1") == r
        assert records.all_records(conn) == [r]
    assert isinstance(r, IncidentRecord)
    # saved without its status, `ecoplan status` of it answers with the record's facts
    st = records.status_of("r-1", store_target)
    assert (st["from_records"], st["closed_record"], st["county"]) == (True, True, "平定县")
    assert records.status_of("never-was", store_target) is None


# ------------------------------------------------------------------ the two levels (issue 24, schema r0003)

RAISED = "临近桃河水源地，从严应对"


def two_levels(iid: str = "lv-1", **over) -> dict:
    """A closed incident graded IV (附表1), 初步认定 IV by the commander, its response activated at II
    (4.1.5 提高): the `levels` part written by hand as workflows/status.py gives it."""
    commander = {"name": "li", "role": "指挥"}
    return status(iid, level="II", level_changes=[
        {"at": f"2026-11-02T09:00:00{CST}", "by": commander, "from_level": None, "to_level": "II", "reason": RAISED}],
        levels={"event_level": "IV", "event_level_name": "一般", "event_level_kind": "preliminary",
                "event_level_changes": [
                    {"at": f"2026-11-02T08:00:00{CST}", "by": None, "from_level": None, "to_level": "IV",
                     "kind": "graded", "reason": "不属于特别重大、重大、较大突发环境事件"},
                    {"at": f"2026-11-02T08:40:00{CST}", "by": commander, "from_level": "IV", "to_level": "IV",
                     "kind": "preliminary", "reason": "现场核实：无人员伤亡"}],
                "response_level": "II", "response_note": f"提高，理由：{RAISED}",
                "line": f"事件等级 Ⅳ级（初步认定） · 响应级别 Ⅱ级（提高，理由：{RAISED}）"}, **over)


def test_the_record_keeps_the_event_level_beside_the_response_level(store_target):
    st = two_levels()
    r = records.record_from_status(st)
    assert (r.event_level, r.event_level_kind, r.level, r.shown_level) == ("IV", "preliminary", "II", "II")
    assert [(s.from_level, s.to_level, s.kind, s.by) for s in r.event_level_history] == [
        (None, "IV", "graded", None), ("IV", "IV", "preliminary", "li")]
    assert r.event_level_history[1].at == datetime.fromisoformat(f"2026-11-02T08:40:00{CST}")
    assert r.response_note == f"提高，理由：{RAISED}"
    with closing(records.connect(store_target)) as conn:
        assert records.upsert_record(conn, r, st) == "inserted"
        assert records.get_record(conn, "lv-1") == r
        records.upsert_record(conn, records.record_from_status(status("one")), status("one"))  # no `levels`
        row = conn.execute(text("SELECT event_level, event_level_kind, shown_level FROM incidents"
                                " WHERE incident_id = 'lv-1'")).one()
        assert tuple(row) == ("IV", "preliminary", "II")

        def found(**kw):
            rows, total = records.search(conn, Search(**kw))
            return [(x["incident_id"], x["event_level"], x["level"]) for x in rows]

        assert found(event_level="IV") == [("lv-1", "IV", "II")]
        assert found(level="II") == [("lv-1", "IV", "II")]  # `level` is the response's
        assert found(level="IV") == [] and found(event_level="II") == []
        assert found(level="III") == [("one", None, "III")]  # saved without the event's level: unknown
    # `ecoplan status` of it once Temporal has forgotten it: both levels, as the open page says them
    from ecoplan.cli.views import status_text

    shown = records.status_of("lv-1", store_target)
    assert shown["levels"]["line"] == f"事件等级 Ⅳ级（初步认定） · 响应级别 Ⅱ级（提高，理由：{RAISED}）"
    assert f"结案阶段  事件等级 Ⅳ级（初步认定） · 响应级别 Ⅱ级（提高，理由：{RAISED}）" in status_text(shown)
    assert "结案阶段  事件等级 未记录 · 响应级别 III（分级 IV）" in status_text(records.status_of("one", store_target))


def test_a_record_kept_without_its_status_still_shows_both_levels(store_target):
    with closing(records.connect(store_target)) as conn:
        records.upsert_record(conn, records.record_from_status(two_levels("lv-2")))  # the record alone
    lv = records.status_of("lv-2", store_target)["levels"]
    assert lv["line"] == f"事件等级 Ⅳ级（初步认定） · 响应级别 Ⅱ级（提高，理由：{RAISED}）"
    assert (lv["event_level"], lv["event_level_name"], lv["event_level_kind"], lv["response_level"]) == (
        "IV", "一般", "preliminary", "II")
    assert [(c["kind"], c["to_level"], c["by"]) for c in lv["event_level_changes"]] == [
        ("graded", "IV", None), ("preliminary", "IV", {"name": "li", "role": ""})]


def test_a_store_at_r0002_upgrades_to_r0003_and_its_records_still_read(store_target):
    """A store an older ecoplan made (schema r0002) with two records: one of an incident with one
    level (no `levels` in its status), one saved after issue 24 but before r0003 (its status has
    `levels`, its record has no event level). Both read after the upgrade."""
    from alembic import command
    from sqlalchemy import inspect

    with store.engine(store_target).begin() as c:
        command.upgrade(migrate._config("records", c), "r0002")
    with store.engine(store_target).begin() as c:
        assert migrate.current(c, "records") == "r0002"
        assert "event_level" not in {col["name"] for col in inspect(c).get_columns("incidents")}
        old_fields = {"event_level", "event_level_kind", "event_level_history", "response_note"}
        for iid, st in (("old-1", status("old-1")), ("old-2", two_levels("old-2"))):
            rec = {k: v for k, v in json.loads(records.record_from_status(st).model_dump_json()).items()
                   if k not in old_fields}  # the record as r0002's ecoplan wrote it
            c.execute(text(
                "INSERT INTO incidents (incident_id, title, county, incident_type, source, drill, stage, outcome,"
                " graded_level, level, shown_level, discovered_at, reported_at, reported_date, closed_at, seq,"
                " hash, record, status) VALUES (:i, '桃河化工厂泄漏', '平定县', 'water', 'linkage_119', 0,"
                " 'closed', 'completed', 'IV', :lv, :lv, :t, :t, '2026-11-02', :closed, 30, 'h', :rec, :st)"),
                {"i": iid, "lv": st["level"], "t": f"2026-11-02T08:00:00.000000{CST}",
                 "closed": f"2026-11-25T10:00:00.000000{CST}", "rec": json.dumps(rec, ensure_ascii=False),
                 "st": json.dumps(st, ensure_ascii=False)})
    with closing(records.connect(store_target)) as conn:  # opening it upgrades it
        assert migrate.current(conn, "records") == "r0003"
        one, two = records.get_record(conn, "old-1"), records.get_record(conn, "old-2")
        assert (one.event_level, one.event_level_kind, one.event_level_history, one.level) == (None, None, [], "III")
        assert (two.event_level, two.event_level_kind, two.level) == ("IV", "preliminary", "II")
        assert [(s.to_level, s.kind, s.by) for s in two.event_level_history] == [("IV", "graded", None),
                                                                                 ("IV", "preliminary", "li")]
        assert two.response_note == f"提高，理由：{RAISED}"
        rows, _ = records.search(conn, Search())
        assert sorted((r["incident_id"], r["event_level"], r["level"]) for r in rows) == [
            ("old-1", None, "III"), ("old-2", "IV", "II")]
        assert [r["incident_id"] for r in records.search(conn, Search(event_level="IV"))[0]] == ["old-2"]
        # saved again by this ecoplan: the columns follow the record
        assert records.upsert_record(conn, records.record_from_status(two_levels("old-1")), two_levels("old-1")) == "updated"
        assert records.get_record(conn, "old-1").event_level == "IV"
    assert records.status_of("old-2", store_target)["levels"]["event_level"] == "IV"
