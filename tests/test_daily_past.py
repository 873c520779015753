"""The daily report of a past date (issue 15): an incident is new on the day it was reported
(reported_at, Asia/Shanghai), not the day it was entered; the state is the one at the end of
that day (24:00), from each incident's timeline and deadlines; stage and deadline names are
in Chinese. From the records store: every time below is written by hand."""

from __future__ import annotations

from contextlib import closing
from datetime import date

from activities.daily_past import past_daily_report
from ecoplan import records
from ecoplan.views import render_daily_report
from tests.test_records import CST, entry, status


def saved(db, *statuses: dict) -> None:
    with closing(records.connect(db)) as conn:
        for st in statuses:
            records.upsert_record(conn, records.record_from_status(st), st)


def deadline(name, title, started, due, status_, met=None) -> dict:
    return {"name": name, "title": title, "started_at": started + CST, "due_at": due + CST, "due_date": None,
            "provisional": False, "status": status_, "met_at": met + CST if met else None}


def world(db) -> None:
    # A: reported 11-26, responding from 11-26 12:00, on site 11-27 20:00, closed 11-28 10:00.
    a = status("A-1", reported_at="2026-11-26T10:00:00" + CST, discovered_at="2026-11-26T09:00:00" + CST,
               stage="closed", stage_entered_at="2026-11-28T10:00:00" + CST,
               level_changes=[{"at": "2026-11-26T12:00:00" + CST, "by": None, "from_level": None, "to_level": "IV"}],
               level="IV", termination=None,
               events={"dispatched": "2026-11-27T20:00:00" + CST},
               deadlines=[deadline("initial_report", "初报", "2026-11-26T09:00:00", "2026-11-26T13:00:00", "met",
                                   "2026-11-26T11:00:00")],
               timeline=[entry(1, "2026-11-26T10:00:00", "reported", "reported", "reported"),
                         entry(2, "2026-11-26T12:00:00", "activate_response", "reported", "responding"),
                         entry(3, "2026-11-27T20:00:00", "dispatch", "responding", "on_site"),
                         entry(4, "2026-11-28T10:00:00", "close", "on_site", "closed")])
    # B: discovered 11-27 08:30, reported 09:00 (entered in the system only on 11-29: the
    # store keeps reported_at); its 初报 was due 4 h after discovery, 12:30, and made 11-28 09:00.
    b = status("B-1", reported_at="2026-11-27T09:00:00" + CST, discovered_at="2026-11-27T08:30:00" + CST,
               stage="responding", stage_entered_at="2026-11-27T10:00:00" + CST, outcome=None,
               level_changes=[{"at": "2026-11-27T10:00:00" + CST, "by": None, "from_level": None, "to_level": "III"}],
               level="III", termination=None, events={"initial_report_submitted": "2026-11-28T09:00:00" + CST},
               deadlines=[deadline("initial_report", "初报", "2026-11-27T08:30:00", "2026-11-27T12:30:00",
                                   "met_late", "2026-11-28T09:00:00"),
                          deadline("readiness", "应急力量准备", "2026-11-27T10:00:00", "2026-11-28T10:00:00", "met",
                                   "2026-11-27T23:00:00")],
               timeline=[entry(1, "2026-11-27T09:00:00", "reported", "reported", "reported"),
                         entry(2, "2026-11-27T10:00:00", "activate_response", "reported", "responding")])
    # C: reported 11-28: not there yet on 11-27.
    c = status("C-1", reported_at="2026-11-28T07:00:00" + CST, discovered_at="2026-11-28T06:00:00" + CST,
               stage="reported", stage_entered_at="2026-11-28T07:00:00" + CST, outcome=None, level=None,
               level_changes=[], termination=None, events={}, deadlines=[],
               timeline=[entry(1, "2026-11-28T07:00:00", "reported", "reported", "reported")])
    saved(db, a, b, c)


def test_a_past_date_counts_what_was_reported_that_day_as_of_its_end(store_target):
    db = store_target  # a SQLite file, then PostgreSQL (issue 27)
    world(db)
    r = past_daily_report(date(2026, 11, 27), db)
    assert r["as_of"] == "2026-11-28T00:00:00+08:00"
    assert [x["incident_id"] for x in r["new_incidents"]] == ["B-1"]  # A was reported 11-26, C 11-28
    # open at 24:00: A (closed only on 11-28) on site since 20:00, B responding at level III
    assert r["open_incidents"] == 2
    assert r["by_stage"] == {"on_site": 1, "responding": 1} and r["by_level"] == {"IV": 1, "III": 1}
    # B's 初报: due 12:30, made only the next day: at 24:00 late by 11 h 30 min = 41,400 s
    assert [(x["incident_id"], x["deadline"], x["late_by_seconds"]) for x in r["overdue"]] == [
        ("B-1", "initial_report", 11 * 3600 + 30 * 60)]
    # readiness was met at 23:00, before the end of the day: not due, not late
    assert r["due_next_24h"] == [] and r["zero_report"] is False
    md = render_daily_report(r)
    for words in ("事件状态截至 2026-11-28 00:00", "按阶段：应急响应 1，现场处置 1", "B-1 桃河化工厂泄漏（平定县，III级，应急响应）",
                  "初报 应于 2026-11-27 12:30，已逾期 11 小时"):
        assert words in md, (words, md)
    for code in ("responding", "on_site", "initial_report"):
        assert code not in md

    # 11-26: A is new (reported 10:00) and at 24:00 responding; its 初报 was met at 11:00
    r = past_daily_report(date(2026, 11, 26), db)
    assert [x["incident_id"] for x in r["new_incidents"]] == ["A-1"] and r["by_stage"] == {"responding": 1}
    assert r["overdue"] == []
    # 11-28: C new; A closed at 10:00; B still open, its 初报 met at 09:00, readiness met the day before
    r = past_daily_report(date(2026, 11, 28), db)
    assert [x["incident_id"] for x in r["new_incidents"]] == ["C-1"]
    assert r["open_incidents"] == 2 and r["by_stage"] == {"responding": 1, "reported": 1} and r["overdue"] == []
    # a day before any record: the zero report
    assert past_daily_report(date(2026, 11, 1), db)["zero_report"] is True


def test_the_cli_gives_the_past_report_from_the_store(store_target, temporal_address):
    from tests.procs import ecoplan_in_process_sync

    db = store_target
    world(db)
    env = {"ECOPLAN_DATABASE_URL": db} if isinstance(db, str) else {"ECOPLAN_RECORDS_DB": str(db)}
    p = ecoplan_in_process_sync("daily-report", "--date", "2026-11-27", address=temporal_address, env_extra=env)
    assert p.code == 0, p.err
    assert "新报事件（1）" in p.out and "B-1" in p.out and "A-1" not in p.out.split("## 逾期事项")[0].split("新报事件")[1]
    assert "初报 应于 2026-11-27 12:30" in p.out


async def test_todays_report_counts_new_by_when_reported_not_when_entered(client, worker):
    """Today's live report: an incident reported five minutes ago is new; one reported three
    days ago but entered only now (after the fact) is not. (Before: both counted as new,
    by their workflow start time.) The period ends now and starts at most 25 h before
    (the last 08:00, or the 24 h before it in the hour after 08:00), so 5 min is inside and
    3 days outside at any time of day."""
    from datetime import timedelta

    from ecoplan import api, views
    from tests.helpers import eventually, now, report

    t = now()
    fresh = await api.start_incident(client, report(title="今日接报", discovered_at=t - timedelta(minutes=10),
                                                    reported_at=t - timedelta(minutes=5)))
    late = await api.start_incident(client, report(title="补录三天前接报", discovered_at=t - timedelta(days=3, hours=1),
                                                   reported_at=t - timedelta(days=3)))

    async def listed():
        return {r["incident_id"] for r in await views.list_incidents(client, drills=True)}

    await eventually(listed, lambda ids: {fresh, late} <= ids, timeout=20)
    r = await views.daily_report(client)
    new = {x["incident_id"] for x in r["new_incidents"]}
    assert fresh in new and late not in new, new
