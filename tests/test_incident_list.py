"""The 事件列表's filters, query, sort, paging and exports over a real records store (SQLite),
and 我的待办's reading of the action registry, without a server; /docs without a CDN under
the console's Content-Security-Policy (the app answering in-process)."""

from __future__ import annotations

import csv
import io
from contextlib import closing
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from activities.db import migrate
from activities.records_store import connect, record_from_status, upsert_record
from ecoplan import incident_export, todo
from ecoplan import incident_list as il
from ecoplan.web import actions as act
from tests.test_records import CST, status, two_levels


def closed(iid: str, county: str, reported: str, **over) -> dict:
    return status(iid, county=county, reported_at=f"{reported}T08:00:00{CST}",
                  discovered_at=f"{reported}T07:30:00{CST}", **over)


def running(iid: str, county: str, reported: str, stage: str = "on_site", **over) -> dict:
    return closed(iid, county, reported, stage=stage, outcome=None, **over)


# Reported dates written by hand: October and November 2026, 平定县, 盂县 and 郊区.
INCIDENTS = [
    # event IV (初步认定), its response raised to II (4.1.5): tests/test_records.py two_levels
    closed("a-oct", "平定县", "2026-10-05", title="桃河化工厂泄漏", location="冶西镇桃河段",
           **{k: two_levels()[k] for k in ("level", "level_changes", "levels")}),
    closed("b-oct", "盂县", "2026-10-20", title="盂县尾矿库渗漏", location="梁家寨乡", level="IV",
           incident_type="soil"),
    closed("c-nov", "平定县", "2026-11-02", title="平定县加油站油品泄漏", location="娘子关镇"),
    running("d-nov", "郊区", "2026-11-15", title="郊区化工园区火灾废水", location="河底镇",
            leads={"monitoring": "zhang"}, levels={**two_levels()["levels"], "event_level": "III", "event_level_kind": "graded",
                                                    "event_level_changes": [], "response_level": "III",
                                                    "response_note": "与事件等级相同"}),
    running("e-drill", "平定县", "2026-11-16", title="桃河演练", drill=True),
    closed("f-oct", "平定县", "2026-10-31", title="冶西镇河道油污", location="冶西镇"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def conn(request, tmp_path_factory):
    target = (tmp_path_factory.mktemp("list") / "records.db" if request.param == "sqlite"
              else request.getfixturevalue("pg_cluster").fresh_url())
    with closing(connect(target)) as c:
        for st in INCIDENTS:
            upsert_record(c, record_from_status(st), st)
        yield c


def ids(conn, lead=None, **params) -> list[str]:
    rows, total = il.search(conn, il.parse({k: str(v) for k, v in params.items()}), lead)
    assert total >= len(rows)
    return [r["incident_id"] for r in rows]


def test_a_supervisor_finds_last_months_closed_incident_by_county_and_date(conn):
    assert ids(conn, county="平定县", closed="only", **{"from": "2026-10-01", "to": "2026-10-31"}) == ["f-oct", "a-oct"]
    assert ids(conn, county="盂县", **{"from": "2026-10-21"}) == []


def test_text_in_the_title_or_the_place(conn):
    assert ids(conn, q="冶西镇") == ["f-oct", "a-oct"]  # a-oct by its place, f-oct by its title
    assert ids(conn, q="尾矿") == ["b-oct"]
    assert ids(conn, q="%") == []  # a wildcard typed is a character, not "anything"


def test_open_and_closed_drills_stage_level_type(conn):
    assert ids(conn, closed="exclude") == ["d-nov"]
    assert ids(conn, closed="include") == ["d-nov", "c-nov", "f-oct", "b-oct", "a-oct"]
    assert ids(conn, drills="only") == ["e-drill"]
    assert len(ids(conn, drills="include")) == 6
    assert ids(conn, stage="现场处置") == ["d-nov"]  # the stage's Chinese name, as a person types it
    assert ids(conn, level="IV") == ["b-oct"] and ids(conn, level="Ⅳ级") == ["b-oct"]
    assert ids(conn, type="soil") == ["b-oct"]


def test_the_event_level_and_the_response_level_filter_apart(conn):
    # `level` is the response's (响应级别), `event_level` the event's own (事件等级, issue 24)
    assert ids(conn, event_level="IV") == ["a-oct"] and ids(conn, event_level="Ⅳ级") == ["a-oct"]
    assert ids(conn, level="II") == ["a-oct"] and ids(conn, level="IV") == ["b-oct"]
    assert ids(conn, event_level="II") == [] and ids(conn, event_level="IV", level="IV") == []
    assert ids(conn, event_level="III") == ["d-nov"] and ids(conn, event_level="III", closed="only") == []
    rows, _ = il.search(conn, il.parse({"event_level": "IV"}))
    assert (rows[0]["event_level"], rows[0]["level"]) == ("IV", "II")
    assert il.labelled(rows[0])[5:7] == ["Ⅳ级", "Ⅱ级"]
    # III before IV ascending (where the records hold no event level, each database puts them its own way)
    assert [i for i in ids(conn, sort="event_level") if i in ("a-oct", "d-nov")] == ["d-nov", "a-oct"]


def test_sort_and_pages(conn):
    assert ids(conn, sort="reported") == ["a-oct", "b-oct", "f-oct", "c-nov", "d-nov"]
    assert ids(conn, sort="-level")[0] == "b-oct"  # IV is the lowest level: last ascending, first descending
    first = il.search(conn, il.parse({"per_page": "2", "page": "1"}))
    third = il.search(conn, il.parse({"per_page": "2", "page": "3"}))
    assert [r["incident_id"] for r in first[0]] == ["d-nov", "c-nov"] and first[1] == 5
    assert [r["incident_id"] for r in third[0]] == ["a-oct"]


def test_a_lead_sees_only_what_he_was_named_to_lead(conn):
    assert ids(conn, lead="zhang") == ["d-nov"]
    assert ids(conn, lead="qian") == []


@pytest.mark.parametrize("params, needle", [
    ({"stage": "done"}, "阶段「done」无效，可选：接报"),
    ({"level": "V"}, "响应级别「V」无效，可选：Ⅰ级"),
    ({"event_level": "V"}, "事件等级「V」无效，可选：Ⅰ级"),
    ({"type": "noise"}, "事件类型「noise」无效"),
    ({"from": "2026-11-31"}, "接报日期（起）「2026-11-31」不是日期"),
    ({"from": "2026-11-02", "to": "2026-11-01"}, "接报日期（起）不能晚于接报日期（止）"),
    ({"closed": "maybe"}, "是否含已结案「maybe」无效"),
    ({"drills": "x"}, "演练「x」无效"),
    ({"sort": "id"}, "排序「id」无效"),
    ({"page": "0"}, "页码应为 1 至"),
    ({"per_page": "201"}, "每页条数应为 1 至 200"),
    ({"per_page": "ten"}, "每页条数应为 1 至 200"),
    ({"q": "河" * 101}, "搜索文字不能超过 100 个字"),
    ({"stage": "closed", "closed": "exclude"}, "不能同时选"),
])
def test_bad_filters_are_one_chinese_line(params, needle):
    with pytest.raises(il.ListError) as e:
        il.parse(params)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_empty_fields_are_no_filter():
    assert il.parse({"q": " ", "stage": "", "county": ""}) == il.ListQuery()


def test_exports_in_chinese(conn):
    rows, _ = il.search(conn, il.parse({"closed": "only", "county": "盂县"}), everything=True)
    rows.append({**rows[0], "title": "=HYPERLINK(\"x\")"})  # typed as a formula: stays text in a spreadsheet
    text = incident_export.to_csv(rows).decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert table[0] == il.HEADERS
    assert table[0][5:7] == ["事件等级", "响应级别"]
    assert table[1] == ["b-oct", "盂县尾矿库渗漏", "盂县", "梁家寨乡", "土壤污染", "未记录", "Ⅳ级", "结案", "2026-10-20 08:00",
                        "2026-11-25 10:00", "处置完毕", "否"]
    assert table[2][1] == "'=HYPERLINK(\"x\")"
    sheet = load_workbook(io.BytesIO(incident_export.to_xlsx(rows))).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert sheet.title == "事件列表" and values[0] == il.HEADERS and values[1] == table[1]


# ------------------------------------------------------------------ 我的待办 from the registry


def actor(role: str, username: str = "u"):
    # What act.actor reads of an account (ecoplan.accounts.Account has more).
    return act.actor(SimpleNamespace(username=username, role=role, display="某人"), "web")


def stages(role: str) -> dict[str, list[str]]:
    return {k.key: list(todo.stages_for(k, actor(role))) for k in todo.KINDS}


def test_what_waits_on_each_role_comes_from_the_registry():
    # 附件1: the commander approves activation (接报 or 预警); 4.4: he approves termination.
    assert stages("commander")["approve"] == ["reported", "warning", "termination_pending"]
    # The duty officer may enter an activation the commander approved, but is not its approver.
    assert stages("duty_officer")["approve"] == []
    assert stages("duty_officer")["due"] == ["reported", "warning", "responding", "on_site", "termination_pending",
                                             "post_event"]
    # Dispatch (应急响应) and the termination proposal (现场处置) are the duty officer's next steps.
    assert stages("duty_officer")["bureau"] == ["reported", "warning", "responding", "on_site"]
    assert stages("lead") == {"approve": [], "sign": ["termination_pending"], "due": [], "bureau": []}
    assert todo.stages_for(todo.KINDS[0], actor("commander")) == {
        "reported": "activate_response", "warning": "activate_response", "termination_pending": "approve_termination"}
    assert not any(stages("supervisor").values()) and todo.watches_overdue("supervisor")
    assert not todo.watches_overdue("commander") and not todo.watches_overdue("admin")


def test_the_commanders_approval_waits_for_every_sign_off():
    from datetime import datetime

    from plan.calendar import SHANGHAI

    (kind, q, _), *_ = todo.queries(actor("commander", "li"), datetime(2026, 11, 2, 9, tzinfo=SHANGHAI))
    assert kind.title == "待我批示"
    assert "EcoStage IN ('reported', 'warning', 'termination_pending')" in q
    assert "(EcoStage != 'termination_pending' OR EcoWaitingOn = '局指挥部指挥')" in q
    sign = dict((k.key, q) for k, q, _ in todo.queries(actor("lead", "zhang"), datetime(2026, 11, 2, tzinfo=SHANGHAI)))
    assert "'zhang (应急监测组)'" in sign["sign"]


# ------------------------------------------------------------------ /docs


def test_docs_are_served_by_the_app_under_its_csp(tmp_path):
    from fastapi.testclient import TestClient

    from ecoplan.accounts import AccountStore
    from ecoplan.web import create_app

    app = create_app(client_factory=lambda: None, store=AccountStore(tmp_path / "a.db"), records_db=tmp_path / "r.db")
    with TestClient(app) as c:
        page = c.get("/docs")
        assert page.status_code == 200 and "http" not in page.text and "<script>" not in page.text
        assert "script-src 'self';" in page.headers["content-security-policy"]
        for src in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/docs.js"):
            assert src in page.text
            r = c.get(src)
            assert r.status_code == 200 and len(r.content) > 200, src
        assert c.get("/docs/assets/..%2Fswagger-ui.js.map").status_code == 404
        assert c.get("/redoc").status_code == 404  # FastAPI's ReDoc page loads from a CDN: not offered


def test_a_version_1_store_gains_the_search_tables(tmp_path):
    import json
    import sqlite3

    from activities import records_store

    db = tmp_path / "records.db"
    with closing(sqlite3.connect(db, isolation_level=None)) as c:  # a store as schema 1 made it
        for statement in SCHEMA_1.split(";"):
            if statement.strip():
                c.execute(statement)
        c.execute("PRAGMA user_version = 1")
        st = running("v1", "盂县", "2026-11-03", location="梁家寨乡", leads={"monitoring": "zhang"})
        r = record_from_status(st)
        c.execute("INSERT INTO incidents (incident_id, title, county, incident_type, source, drill, stage, discovered_at,"
                  " reported_at, reported_date, seq, hash, record, status) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 1, 'h', ?, ?)",
                  (r.incident_id, r.title, r.county, r.incident_type, r.source, r.stage, r.discovered_at.isoformat(),
                   r.reported_at.isoformat(), "2026-11-03", r.model_dump_json(), json.dumps(st, ensure_ascii=False)))
    with closing(connect(db)) as conn:
        assert migrate.current(conn, "records") == "r0003" and records_store.SCHEMA_VERSION == 2
        assert ids(conn, q="梁家寨乡") == ["v1"] and ids(conn, lead="zhang") == ["v1"]


# The records store as schema 1 made it (PRAGMA user_version 1), before Alembic: kept here as
# the files in the field have it.
SCHEMA_1 = """
CREATE TABLE incidents (
    incident_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    county TEXT NOT NULL,
    incident_type TEXT NOT NULL,
    source TEXT NOT NULL,
    drill INTEGER NOT NULL,
    stage TEXT NOT NULL,
    outcome TEXT,
    graded_level TEXT,
    level TEXT,
    shown_level TEXT,
    discovered_at TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    reported_date TEXT NOT NULL,          -- Asia/Shanghai date of reported_at: the search's --from/--to
    activated_at TEXT,
    terminated_at TEXT,
    closed_at TEXT,
    initial_report_at TEXT,
    next_deadline TEXT,                   -- {"name", "due_at"} of the earliest pending deadline, JSON
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    record TEXT NOT NULL,                 -- IncidentRecord, JSON
    status TEXT NOT NULL                  -- the status JSON it was built from: `ecoplan status` shows it
);
CREATE INDEX incidents_reported ON incidents (reported_date);
CREATE INDEX incidents_closed ON incidents (closed_at);
CREATE TABLE level_changes (
    incident_id TEXT NOT NULL REFERENCES incidents ON DELETE CASCADE,
    n INTEGER NOT NULL,
    at TEXT NOT NULL,
    from_level TEXT,
    to_level TEXT NOT NULL,
    reason TEXT,
    by TEXT,
    PRIMARY KEY (incident_id, n)
);
CREATE TABLE deadlines (
    incident_id TEXT NOT NULL REFERENCES incidents ON DELETE CASCADE,
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    started_at TEXT NOT NULL,
    due_at TEXT,
    due_date TEXT,
    provisional INTEGER NOT NULL,
    status TEXT NOT NULL,
    met_at TEXT,
    late_by_seconds INTEGER,
    PRIMARY KEY (incident_id, name)
);
CREATE INDEX deadlines_due ON deadlines (due_at);
CREATE TABLE archive_paths (
    incident_id TEXT NOT NULL REFERENCES incidents ON DELETE CASCADE,
    path TEXT NOT NULL,
    PRIMARY KEY (incident_id, path)
);
"""

