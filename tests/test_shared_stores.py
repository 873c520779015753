"""The stores shared by several machines (issue 27): the archive's files in PostgreSQL
(published by one process, fetched by another), `ecoplan db copy` moving a bureau's SQLite
files, accounts and archive into PostgreSQL idempotently with its counts, and `ecoplan db
upgrade`. A real PostgreSQL (tests/pg.py); no Temporal server."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher

from activities import archive_store
from ecoplan import records
from ecoplan.accounts import AccountStore
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


def _bureau(home: Path) -> str:
    """A bureau's data folder as the embedded default has it: two records, an account with a
    session, the archive of one incident. Returns the session's token."""
    store = AccountStore(home / "accounts.db", hasher=QUICK)
    store.add("wangwei", "duty_officer", PW, display="王伟")
    token, _ = store.open_session("wangwei", "web", timedelta(hours=1))
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
    assert "档案库 archive_files：读取 2 条，新增 2，已有 0" in lines
    again = ecoplan_in_process_sync("db", "copy", "--from", "sqlite", "--to", url, "--json", env=env)
    assert again.code == 0, again.err
    counts = {(c["store"], c["table"]): c for c in json.loads(again.out)}
    assert counts["records", "incidents"]["unchanged"] == 2 and counts["records", "incidents"]["inserted"] == 0
    assert all(c["added"] == 0 for k, c in counts.items() if k[0] != "records")

    # A third working folder that shares only the database: the account, its session, the
    # record and the case file's bytes.
    third = tmp_path / "third"
    shared = {"ECOPLAN_HOME": str(third), "ECOPLAN_DATABASE_URL": url}
    assert AccountStore(url).session(token, "web").account.display == "王伟"
    assert AccountStore(url, hasher=QUICK).verify("wangwei", PW) is not None
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
    assert [l.split("：")[1] for l in up.out.splitlines()] == ["已是最新结构（r0003）", "已是最新结构（a0001）",
                                                               "已是最新结构（ar0001）"]
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
