"""The stores shared by several machines (issue 27): the archive's files in PostgreSQL
(published by one process, fetched by another), `ecoplan db copy` moving a bureau's SQLite
files (records, accounts with contacts and duty roster, pages and the notifications sent) and
archive into PostgreSQL idempotently with its counts, `ecoplan db upgrade`, and files made before Alembic (a
`pages.db`, an accounts file holding contacts and roster) kept; the daily report's full copy
published like an incident's files. A real PostgreSQL (tests/pg.py); the daily report's
visibility queries go to the session's dev server."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher

from activities import archive_store
from activities.notify import Notification, Notifier
from activities.page_store import PageStore
from activities.settings import ActivitySettings
from ecoplan import records
from ecoplan.accounts import AccountStore
from ecoplan.contacts import ContactStore
from ecoplan.duty_roster import DutyStore, Shift
from plan.calendar import SHANGHAI
from tests.procs import ecoplan_in_process_sync
from tests.test_records import as_dossier, status

PW = "桃河-correct-horse"
QUICK = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def test_a_file_published_by_one_machine_is_fetched_whole_by_another(tmp_path, pg_cluster):
    url = pg_cluster.fresh_url()
    a, b = tmp_path / "a" / "archive", tmp_path / "b" / "archive"
    (a / "r-1").mkdir(parents=True)
    (a / "r-1" / "case-file.pdf").write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 40)
    (a / "r-1" / "timeline.jsonl").write_text('{"seq": 1}\n', encoding="utf-8")
    (a / "r-1" / "half.pdf.tmp").write_bytes(b"half")  # being written: never published
    assert archive_store.publish(url, a, "r-1") == 2
    assert archive_store.publish(url, a, "r-1") == 0  # the same bytes again: nothing
    assert archive_store.fetch(url, b, "r-1") == 2
    assert sorted(p.name for p in (b / "r-1").iterdir()) == ["case-file.pdf", "timeline.jsonl"]
    assert (b / "r-1" / "case-file.pdf").read_bytes() == (a / "r-1" / "case-file.pdf").read_bytes()
    # the timeline grows on machine B; A fetches the new content, and only that file
    with (b / "r-1" / "timeline.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"seq": 2}\n')
    assert archive_store.publish(url, b, "r-1") == 1
    assert archive_store.fetch(url, a, "r-1") == 1
    assert (a / "r-1" / "timeline.jsonl").read_text(encoding="utf-8") == '{"seq": 1}\n{"seq": 2}\n'
    assert archive_store.fetch(url, a, "../etc") == 0  # an id is never a path


async def test_the_daily_reports_full_copy_is_in_the_shared_archive(tmp_path, pg_cluster, client):
    """The worker that compiles the daily report keeps its full copy (daily/<date>.json and .md)
    in the database too: another machine's folder fetches both, byte for byte."""
    from temporalio.testing import ActivityEnvironment

    from activities.daily_report import DailyReportActivities, DailyReportRequest

    url = pg_cluster.fresh_url()
    a = tmp_path / "a"
    settings = ActivitySettings(archive_dir=a / "archive", outbox_path=a / "outbox.jsonl",
                                records_db=a / "records.db", database_url=url)
    day = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)
    got = await ActivityEnvironment().run(DailyReportActivities(client, settings).compile_daily_report,
                                          DailyReportRequest(report_date=day.date(), now=day))
    assert got["archived"] == "daily/2026-12-07.json"
    b = tmp_path / "b" / "archive"
    assert archive_store.fetch(url, b, "daily") == 2
    for name in ("2026-12-07.json", "2026-12-07.md"):
        assert (b / "daily" / name).read_bytes() == (a / "archive" / "daily" / name).read_bytes()


DAY = datetime(2026, 12, 7, 8, 30, tzinfo=SHANGHAI)


def _shift(day_offset: int, officer: str) -> Shift:
    start = DAY + timedelta(days=day_offset)
    return Shift(day=start.date(), name="白班", starts_at=start, ends_at=start + timedelta(hours=9),
                 people={"officer": [officer], "leader": ["wangwei"]})


def _bureau(home: Path) -> str:
    """A bureau's data folder as the embedded default has it: two records, an account with a
    session, contacts, two shifts with a handover note, a page sent once with its link used, a
    notification sent, the archive of one incident. Returns the session's token."""
    store = AccountStore(home / "accounts.db", hasher=QUICK)
    store.add("wangwei", "duty_officer", PW, display="王伟")
    token, _ = store.open_session("wangwei", "web", timedelta(hours=1))
    ContactStore(home / "accounts.db").set("wangwei", mobile="13800000000", email="wangwei@example.gov.cn")
    duty = DutyStore(home / "accounts.db")
    duty.replace([_shift(0, "wangwei"), _shift(1, "wangwei")])
    duty.hand_over("wangwei", "桃河监测点位加密", DAY + timedelta(hours=8))
    pages = PageStore(home / "pages.db")
    pages.put_page("pg-1", "r-1", "new_incident", "新接报事件：桃河", "wangwei", "acknowledged", "email", acked_by="wangwei")
    assert pages.claim("pg-1/wangwei/email", "pg-1", "wangwei", "email") == "go"
    pages.record_send("pg-1/wangwei/email", "pg-1", "wangwei", "email", True)
    assert pages.use_link("nonce-1")
    Notifier(ActivitySettings(archive_dir=home / "archive", outbox_path=home / "outbox.jsonl")).send(Notification(
        key="incident-r-1/e1", incident_id="r-1", event="incident_reported", subject="新接报事件：桃河",
        recipients=["值班员", "带班领导"], at=DAY))  # as a worker of the embedded default records it, in pages.db
    folder = home / "archive" / "r-1"
    folder.mkdir(parents=True)
    (folder / "dossier.json").write_text(json.dumps(as_dossier(status()), ensure_ascii=False), encoding="utf-8")
    (folder / "case-file.pdf").write_bytes(b"%PDF-1.7 case file")
    for iid in ("r-1", "r-2"):  # as the worker saves them: with the files of the incident's folder
        records.save_status(status(iid), archive_dir=home / "archive", path=home / "records.db")
    return token


def test_db_copy_moves_a_bureau_idempotently_and_a_third_folder_finds_everything(tmp_path, pg_cluster, monkeypatch):
    home = tmp_path / "old"
    token = _bureau(home)
    url = pg_cluster.fresh_url()
    env = {"ECOPLAN_HOME": str(home)}
    first = ecoplan_in_process_sync("db", "copy", "--from", "sqlite", "--to", url, env=env)
    assert first.code == 0, first.err
    lines = first.out.splitlines()
    assert lines[0].startswith("复制到 postgresql+psycopg://postgres@127.0.0.1:")
    assert "记录库 incidents：读取 2 条，新增 2，更新 0，未变 0，目标较新未覆盖 0" in lines
    assert "账号库 accounts：读取 1 条，新增 1，已有 0" in lines
    assert "账号库 sessions：读取 1 条，新增 1，已有 0" in lines
    assert "账号库 audit：读取 1 条，新增 1，已有 0" in lines  # account_added
    assert "账号库 contacts：读取 1 条，新增 1，已有 0" in lines
    assert "账号库 duty_shifts：读取 2 条，新增 2，已有 0" in lines
    assert "账号库 duty_people：读取 4 条，新增 4，已有 0" in lines
    assert "账号库 duty_handovers：读取 1 条，新增 1，已有 0" in lines
    assert "呼叫库 page_sends：读取 1 条，新增 1，已有 0" in lines
    assert "呼叫库 channel_health：读取 1 条，新增 1，已有 0" in lines
    assert "呼叫库 pages：读取 1 条，新增 1，已有 0" in lines
    assert "呼叫库 used_links：读取 1 条，新增 1，已有 0" in lines
    assert "呼叫库 notifications：读取 1 条，新增 1，已有 0" in lines
    assert "档案库 archive_files：读取 2 条，新增 2，已有 0" in lines
    again = ecoplan_in_process_sync("db", "copy", "--from", "sqlite", "--to", url, "--json", env=env)
    assert again.code == 0, again.err
    counts = {(c["store"], c["table"]): c for c in json.loads(again.out)}
    assert counts["records", "incidents"]["unchanged"] == 2 and counts["records", "incidents"]["inserted"] == 0
    assert all(c["added"] == 0 for k, c in counts.items() if k[0] != "records")
    assert counts["accounts", "duty_people"]["kept"] == 4 and counts["pages", "page_sends"]["kept"] == 1
    assert counts["pages", "notifications"] == {"store": "pages", "table": "notifications", "read": 1, "added": 0,
                                                "kept": 1}

    # The shared roster takes a shift of its own (its id from PostgreSQL's sequence, past the
    # copied ones); the old machine adds a third day and a second note: a third copy moves only those.
    assert DutyStore(url).replace([_shift(5, "wangwei")]) == 1
    DutyStore(home / "accounts.db").replace([_shift(2, "wangwei")])
    DutyStore(home / "accounts.db").hand_over("wangwei", "夜间无新情况", DAY + timedelta(days=1, hours=8))
    third_run = ecoplan_in_process_sync("db", "copy", "--from", "sqlite", "--to", url, "--json", env=env)
    counts = {(c["store"], c["table"]): c for c in json.loads(third_run.out)}
    assert (counts["accounts", "duty_shifts"]["added"], counts["accounts", "duty_shifts"]["kept"]) == (1, 2)
    assert (counts["accounts", "duty_people"]["added"], counts["accounts", "duty_people"]["kept"]) == (2, 4)
    assert (counts["accounts", "duty_handovers"]["added"], counts["accounts", "duty_handovers"]["kept"]) == (1, 1)
    roster = DutyStore(url).between(DAY, DAY + timedelta(days=6))
    assert [s.day.day for s in roster] == [7, 8, 9, 12] and len({s.id for s in roster}) == 4
    notes = DutyStore(url).handovers(DAY, DAY + timedelta(days=2))
    assert [(h.notes, h.shift_id) for h in notes] == [("桃河监测点位加密", roster[0].id), ("夜间无新情况", roster[1].id)]

    # A third working folder that shares only the database: the account, its session, the
    # record and the case file's bytes.
    third = tmp_path / "third"
    shared = {"ECOPLAN_HOME": str(third), "ECOPLAN_DATABASE_URL": url}
    assert AccountStore(url).session(token, "web").account.display == "王伟"
    assert AccountStore(url, hasher=QUICK).verify("wangwei", PW) is not None
    assert ContactStore(url).get("wangwei").mobile == "13800000000"
    moved = PageStore(url)
    assert moved.claim("pg-1/wangwei/email", "pg-1", "wangwei", "email") == "sent"  # never sent again
    assert not moved.use_link("nonce-1") and moved.page("pg-1")["state"] == "acknowledged"
    sent = ecoplan_in_process_sync("notifications", "--incident", "r-1", "--json", env=shared)
    assert [(n["key"], n["subject"], n["channel"]) for n in json.loads(sent.out)] == [
        ("incident-r-1/e1", "新接报事件：桃河", "outbox")]
    listed = ecoplan_in_process_sync("list", "--closed", "--json", env=shared)
    assert listed.code == 0, listed.err
    assert [r["incident_id"] for r in json.loads(listed.out)] == ["r-1", "r-2"]  # reported at the same time
    for k, v in shared.items():
        monkeypatch.setenv(k, v)
    st = records.status_of("r-1")  # as `ecoplan status` and the console's closed page read it
    assert st["archive_paths"] == [str(third / "archive" / "r-1" / n) for n in ("case-file.pdf", "dossier.json")]
    assert st["from_records"] and st["title"] == "桃河化工厂泄漏"
    assert (third / "archive" / "r-1" / "case-file.pdf").read_bytes() == b"%PDF-1.7 case file"


def test_db_upgrade_and_bad_targets_are_one_chinese_line(tmp_path, pg_cluster):
    url = pg_cluster.fresh_url()
    up = ecoplan_in_process_sync("db", "upgrade", env={"ECOPLAN_HOME": str(tmp_path), "ECOPLAN_DATABASE_URL": url})
    assert up.code == 0, up.err
    assert [l.split("：")[1] for l in up.out.splitlines()] == ["已是最新结构（r0003）", "已是最新结构（a0002）",
                                                               "已是最新结构（p0002）", "已是最新结构（ar0001）"]
    bad = ecoplan_in_process_sync("db", "copy", "--from", "sqlite", "--to", str(tmp_path / "x.db"),
                                  env={"ECOPLAN_HOME": str(tmp_path)})
    assert bad.code == 2 and "应为数据库地址" in bad.err and len(bad.err.strip().splitlines()) == 1
    with closing(records.connect(tmp_path / "records.db")) as conn:
        records.upsert_record(conn, records.record_from_status(status()), status())
    down = ecoplan_in_process_sync("db", "copy", "--from", "sqlite", "--to", "postgresql://nobody@127.0.0.1:1/x",
                                   env={"ECOPLAN_HOME": str(tmp_path)})
    assert down.code == 1 and down.err.startswith("ecoplan: 复制未完成") and len(down.err.strip().splitlines()) == 1


def test_the_heads_written_in_the_code_are_the_migrations():
    from activities.db import migrate

    assert {s: migrate.alembic_head(s) for s in migrate.STORES} == migrate.HEADS


# How the files made before Alembic created these tables (the modules ran it on each open).
OLD_PAGES = """
CREATE TABLE IF NOT EXISTS page_sends (key TEXT PRIMARY KEY, page_id TEXT NOT NULL, username TEXT NOT NULL,
    channel TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channel_health (channel TEXT PRIMARY KEY, ok INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT '', at TEXT NOT NULL);
INSERT INTO page_sends VALUES ('old/u/email', 'old', 'u', 'email', 'sending', '', '2026-12-01T00:00:00+00:00');
"""
OLD_REACH = """
CREATE TABLE IF NOT EXISTS contacts (username TEXT PRIMARY KEY, mobile TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '', dingtalk TEXT NOT NULL DEFAULT '', wecom TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS duty_shifts (id INTEGER PRIMARY KEY, day TEXT NOT NULL, name TEXT NOT NULL,
    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', UNIQUE (day, name));
CREATE TABLE IF NOT EXISTS duty_people (shift_id INTEGER NOT NULL REFERENCES duty_shifts(id) ON DELETE CASCADE,
    post TEXT NOT NULL, username TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (shift_id, post, username));
CREATE TABLE IF NOT EXISTS duty_handovers (id INTEGER PRIMARY KEY,
    shift_id INTEGER REFERENCES duty_shifts(id) ON DELETE SET NULL, at TEXT NOT NULL, by_user TEXT NOT NULL,
    to_user TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS duty_shifts_time ON duty_shifts(starts_at, ends_at);
INSERT INTO contacts VALUES ('wangwei', '13800000000', '', '', '', '2026-12-01T00:00:00+00:00');
INSERT INTO duty_shifts VALUES (7, '2026-12-07', '白班', '2026-12-07T00:30:00+00:00', '2026-12-07T09:30:00+00:00', '');
INSERT INTO duty_people VALUES (7, 'officer', 'wangwei', 0);
"""


def test_files_made_before_alembic_keep_their_pages_contacts_and_roster(tmp_path):
    """A `pages.db` and an accounts file as the raw-sqlite3 code left them: opened by this
    ecoplan, they are stamped and migrated (pages p0001 then p0002; accounts a0001 then a0002, which keeps
    the contacts and roster tables the file has), and nothing in them is lost: a send begun there
    is still never made again."""
    import sqlite3

    from activities.db import migrate
    from ecoplan.accounts import _schema

    with closing(sqlite3.connect(tmp_path / "pages.db")) as con:
        con.executescript(OLD_PAGES)
    with closing(sqlite3.connect(tmp_path / "accounts.db")) as con:
        con.executescript(_schema() + OLD_REACH)
    pages = PageStore(tmp_path / "pages.db")
    assert pages.claim("old/u/email", "old", "u", "email") == "uncertain"
    assert pages.open_pages() == [] and pages.use_link("n")  # the tables the old file lacked are made
    assert ContactStore(tmp_path / "accounts.db").get("wangwei").mobile == "13800000000"
    duty = DutyStore(tmp_path / "accounts.db")
    assert duty.shift(7).people == {"officer": ["wangwei"]}
    duty.replace([_shift(1, "wangwei")])
    assert [s.id for s in duty.between(DAY, DAY + timedelta(days=2))] == [7, 8]
    with closing(sqlite3.connect(tmp_path / "accounts.db")) as con:
        assert con.execute(f"SELECT version_num FROM {migrate.version_table('accounts')}").fetchone() == ("a0002",)
    with closing(sqlite3.connect(tmp_path / "pages.db")) as con:
        assert con.execute(f"SELECT version_num FROM {migrate.version_table('pages')}").fetchone() == ("p0002",)


def test_a_year_added_on_one_machine_counts_on_every_worker(tmp_path, pg_cluster):
    """`ecoplan calendar add-year` on machine A puts the year's file into the database; a worker
    on machine B, which has no such file, answers with it at its next question that reaches that
    year. The made-up 2027 notice of tests/test_calendar_cli.py, by hand: from Thu 4 Feb 2027, Fri
    5 and Mon 8 – Fri 12 Feb are 春节 days off and 13–14 Feb a weekend, so two working days after
    end on Tue 16 Feb (on weekends alone they would end on Mon 8 Feb)."""
    from activities.calendar import CalendarActivities
    from plan.deadlines import CalendarQuestion, TimeRequest
    from plan.models import Duration
    from tests.test_calendar_cli import notice_file, one_chinese_line, run

    url = pg_cluster.fresh_url()
    b = tmp_path / "b"
    worker_b = CalendarActivities(ActivitySettings(archive_dir=b / "archive", outbox_path=b / "outbox.jsonl",
                                                   records_db=b / "records.db", database_url=url,
                                                   calendar_data=b / "calendars"))
    q = CalendarQuestion(times=[TimeRequest(start=datetime(2027, 2, 4, 10, 0, tzinfo=SHANGHAI),
                                            duration=Duration(working_days=2))])
    before = worker_b.calendar_answer(q).times[0]
    if before.provisional:  # no notice for 2027 on B yet (a library that covers it: not provisional)
        assert before.day == datetime(2027, 2, 8).date()

    a = tmp_path / "a"
    p = run("calendar", "add-year", notice_file(tmp_path), "--yes", "--json",
            env_extra={"ECOPLAN_HOME": str(a), "ECOPLAN_DATABASE_URL": url, "ECOPLAN_USER": None})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["shared"] is True
    after = worker_b.calendar_answer(q).times[0]  # within the same minute: asked at once, as provisional
    assert (after.day, after.provisional) == (datetime(2027, 2, 16).date(), False)
    assert (b / "calendars" / "2027.yaml").read_bytes() == (a / "calendars" / "2027.yaml").read_bytes()

    # The database unreachable: written here, said in one line, nothing recomputed.
    c = tmp_path / "c"
    p = run("calendar", "add-year", notice_file(tmp_path), "--yes",
            env_extra={"ECOPLAN_HOME": str(c), "ECOPLAN_DATABASE_URL": "postgresql://ecoplan@127.0.0.1:1/none",
                       "ECOPLAN_USER": None})
    assert p.returncode == 1 and "未能写入共享数据库" in one_chinese_line(p)
    assert (c / "calendars" / "2027.yaml").is_file()
