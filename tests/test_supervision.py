"""Supervisor views against a real dev server of their own (so "exactly the expected
incidents" can be checked): 33 incidents in mixed stages, levels and counties, some
backdated so deadlines are overdue or stages stuck, some drills."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from ecoplan import api
from ecoplan import views
from activities.settings import ActivitySettings
from ecoplan.connection import DATA_CONVERTER
from plan.incident import Actor, ReportContent
from tests.helpers import CITY_WARNING, COMMANDER, FOLLOW_UP, with_reason
from ecoplan.schedules import ensure_daily_report_schedule
from tests.conftest import ROOT, TEMPORAL_BIN
from tests.helpers import SIGNED, COMMANDER, DUTY, LEADS, eventually, lead, now, report
from tests.procs import ecoplan_in_process
from workflows import messages as m
from activities import search_attributes as sa
from workflows.daily_report import DailyReportWorkflow
from activities.daily_report import DailyReportRequest

COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县"]
ASSESS = {"I": {"deaths": 30}, "II": {"evacuated": 10000}, "III": {"direct_loss_yuan": 5_000_000}, "IV": {}}


@pytest.fixture(scope="module")
async def sup(tmp_path_factory):
    """A dev server and worker for this module only."""
    from worker import build_worker

    env = await WorkflowEnvironment.start_local(dev_server_existing_path=TEMPORAL_BIN, search_attributes=sa.ALL,
                                                data_converter=DATA_CONVERTER, dev_server_log_level="error")
    base = tmp_path_factory.mktemp("sup")
    settings = ActivitySettings(archive_dir=base / "archive", outbox_path=base / "outbox.jsonl")
    try:
        async with build_worker(env.client, settings):
            yield env, settings
    finally:
        await env.shutdown()


def ago(**kw):
    return now() - timedelta(**kw)


async def act(client, iid, action, inp):
    return await api.act(client, iid, action, with_reason(inp))


async def make(client, group: str, i: int, level: str = "IV", drill: bool = False, **kw) -> str:
    iid = f"{group}-{i}-{uuid.uuid4().hex[:4]}"
    r = report(incident_id=iid, county=COUNTIES[i % len(COUNTIES)], assessment=ASSESS[level], drill=drill,
               title=f"{group}组事件{i}", **kw)
    await api.start_incident(client, r)
    return iid


async def populate(client) -> dict[str, set[str]]:
    g: dict[str, set[str]] = {k: set() for k in "ABCDEFG"}
    # A: just reported, initial report still pending (due within 24 h): fine.
    for i in range(8):
        g["A"].add(await make(client, "A", i, level=["I", "II", "III", "IV"][i % 4],
                              discovered_at=ago(minutes=10), reported_at=ago(minutes=9)))
    # B: reported 5 h ago (IV) / 3 h ago (II), no initial report: overdue and stuck in `reported`.
    for i in range(5):
        lvl, hours = ("II", 3) if i % 2 else ("IV", 5)
        g["B"].add(await make(client, "B", i, level=lvl, discovered_at=ago(hours=hours), reported_at=ago(hours=hours)))
    # C: on site for an hour, everything on time.
    for i in range(6):
        iid = await make(client, "C", i, level="III", discovered_at=ago(hours=2), reported_at=ago(hours=2))
        await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=ago(minutes=90)))
        await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=ago(minutes=80), kind="initial",
                                                               content=ReportContent(summary="初报")))
        await act(client, iid, "dispatch", m.Dispatch(by=DUTY, at=ago(minutes=60), leads=LEADS))
        g["C"].add(iid)
    # D: termination proposed 30 h ago, only monitoring signed: stuck, waiting on two leads.
    for i in range(4):
        iid = await make(client, "D", i, discovered_at=ago(days=3), reported_at=ago(days=3))
        await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=ago(days=3)))
        await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=ago(days=3), kind="initial",
                                                               content=ReportContent(summary="初报")))
        await act(client, iid, "dispatch", m.Dispatch(by=DUTY, at=ago(days=3), leads=LEADS))
        await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, at=ago(hours=30), reason="达标"))
        await act(client, iid, "sign_off", m.SignOff(round=1, by=lead("monitoring"), at=ago(hours=29), group="monitoring",
                                                     lead=LEADS["monitoring"], decision="approve"))
        g["D"].add(iid)
    # E: post-event for 100 days; the assessment passed review 56 days ago (≈ 40 working
    # days): the 20-working-day report is overdue at once, and the stage is stuck.
    for i in range(3):
        # 较大 (III): the assessment and its report are the bureau's own only at III (5.3, issue 24)
        iid = await make(client, "E", i, level="III", discovered_at=ago(days=120), reported_at=ago(days=120))
        await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, at=ago(days=120)))
        await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, at=ago(days=120), kind="initial",
                                                               content=ReportContent(summary="初报")))
        await act(client, iid, "dispatch", m.Dispatch(by=DUTY, at=ago(days=120), leads=LEADS))
        await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, at=ago(days=101), reason="达标"))
        for grp in ("monitoring", "disposal", "investigation"):
            await act(client, iid, "sign_off", m.SignOff(round=1, by=lead(grp), at=ago(days=101), group=grp,
                                                         lead=LEADS[grp], decision="approve"))
        await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, at=ago(days=100)))
        await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", at=ago(days=90),
                                                                     document="晋环调〔2026〕3号"))  # the province's (32号令 第四条)
        await act(client, iid, "assessment_review_passed",
                  m.AssessmentReviewPassed(by=DUTY, review_date=ago(days=56).date()))
        g["E"].add(iid)
    # F: drills shaped like B: overdue and stuck, but out of the views unless asked for.
    for i in range(4):
        g["F"].add(await make(client, "F", i, drill=True, discovered_at=ago(hours=5), reported_at=ago(hours=5)))
    # G: a warning issued an hour ago: fine.
    for i in range(2):
        iid = await make(client, "G", i, discovered_at=ago(hours=1), reported_at=ago(hours=1))
        await act(client, iid, "issue_warning", m.IssueWarning(by=DUTY, **CITY_WARNING, at=ago(minutes=50), actions_done=["analysis"]))
        g["G"].add(iid)
    return g


@pytest.fixture(scope="module")
async def world(sup):
    env, settings = sup
    # The zero report first, while this server has no incident at all.
    zero = await views.daily_report(env.client)
    groups = await populate(env.client)
    return env.client, settings, groups, zero


def ids(rows) -> set[str]:
    return {r["incident_id"] for r in rows}


async def test_zero_report_when_there_is_nothing(world):
    _, _, _, zero = world
    assert zero["zero_report"] is True
    assert zero["open_incidents"] == 0 and zero["new_incidents"] == [] and zero["overdue"] == []
    assert "零报告" in views.render_daily_report(zero)


async def test_overdue_view(world):
    client, _, g, _ = world
    expected = g["B"] | g["E"]
    rows = await eventually(lambda: views.overdue(client), lambda rs: ids(rs) == expected, timeout=30)
    for r in rows:
        assert set(r) == {"incident_id", "title", "county", "level", "event_level", "stage", "deadline", "due_at",
                          "late_by_seconds", "waiting_on", "faults"}
        # the event's own level (issue 24), as the incident itself holds it
        assert r["event_level"] == (await api.status(client, r["incident_id"]))["levels"]["event_level"]
        assert r["late_by_seconds"] > 0
        if r["incident_id"] in g["B"]:
            assert (r["deadline"], r["stage"]) == ("initial_report", "reported")
            assert r["waiting_on"][0] == "局指挥部办公室"
        else:
            assert (r["deadline"], r["stage"]) == ("assessment_report", "post_event")
            assert r["waiting_on"][0] == "生态环境执法科"
    lates = [r["late_by_seconds"] for r in rows]
    assert lates == sorted(lates, reverse=True)  # most late first
    assert rows[0]["incident_id"] in g["E"]
    with_drills = await eventually(lambda: views.overdue(client, drills=True),
                                   lambda rs: ids(rs) == expected | g["F"], timeout=30)
    assert len(with_drills) == len(expected | g["F"])


async def test_stuck_view_by_plan_expectation_and_by_idle(world):
    client, _, g, _ = world
    expected = g["B"] | g["D"] | g["E"]
    rows = await eventually(lambda: views.stuck(client), lambda rs: ids(rs) == expected, timeout=30)
    by_id = {r["incident_id"]: r for r in rows}
    for iid in g["D"]:
        r = by_id[iid]
        assert r["stage"] == "termination_pending"
        assert 29 * 3600 < r["idle_seconds"] < 31 * 3600
        assert f"{LEADS['disposal']} (污染处置组)" in r["waiting_on"]
        assert f"{LEADS['investigation']} (污染排查组)" in r["waiting_on"]
        assert not any(LEADS["monitoring"] in w for w in r["waiting_on"])
    idle = await eventually(lambda: views.stuck(client, idle=timedelta(hours=20)),
                            lambda rs: ids(rs) == g["D"] | g["E"], timeout=30)
    assert all(r["idle_seconds"] > 20 * 3600 for r in idle)


async def test_list_view_and_filters(world):
    client, _, g, _ = world
    running = set().union(*(g[k] for k in "ABCDEG"))
    rows = await eventually(lambda: views.list_incidents(client), lambda rs: ids(rs) == running, timeout=30)
    assert all(set(r) == {"incident_id", "title", "stage", "level", "event_level", "county", "drill", "next_deadline"}
               for r in rows)
    assert not any(r["drill"] for r in rows)
    on_site = await views.list_incidents(client, stage="on_site")
    assert ids(on_site) == g["C"]
    level_i = await views.list_incidents(client, level="I")
    assert ids(level_i) == {r["incident_id"] for r in rows if r["level"] == "I"} and len(level_i) == 2
    county = await views.list_incidents(client, county="盂县")
    assert ids(county) == {r["incident_id"] for r in rows if r["county"] == "盂县"} and county
    drills = await views.list_incidents(client, drills=True)
    assert ids(drills) == running | g["F"]
    nd = {r["incident_id"]: r["next_deadline"] for r in rows}
    assert all(nd[i] and nd[i]["name"] == "initial_report" for i in g["A"])


async def test_views_with_a_limit_show_the_most_urgent_rows_and_count_the_rest(world):
    """A supervisor with thousands of open incidents gets the most urgent `limit` rows, found
    by counting (visibility cannot sort), exactly the head of the full answer."""
    client, _, g, _ = world
    full = await eventually(lambda: views.overdue(client), lambda rs: ids(rs) == g["B"] | g["E"], timeout=30)
    assert full.complete and full.total == 8
    def keys(rows):  # late_by_seconds moves with the clock between calls
        return [(r["incident_id"], r["deadline"]) for r in rows]

    for limit in (1, 2, 3, 5):
        page = await views.overdue(client, limit=limit)
        assert keys(page) == keys(full)[:limit]
        assert page.total == 8 and not page.complete
    assert (await views.overdue(client, limit=8)).complete
    stuck = await views.stuck(client)
    assert len(stuck) == 12
    for limit in (1, 4, 7):
        page = await views.stuck(client, limit=limit)
        assert [r["incident_id"] for r in page] == [r["incident_id"] for r in stuck][:limit]
        assert not page.complete and page.total in (None, 12)
    assert (await views.stuck(client, limit=12)).complete
    idle = await views.stuck(client, idle=timedelta(hours=20))
    page = await views.stuck(client, idle=timedelta(hours=20), limit=2)
    assert [r["incident_id"] for r in page] == [r["incident_id"] for r in idle][:2]
    assert page.total == len(idle) == 7 and not page.complete
    running = set().union(*(g[k] for k in "ABCDEG"))
    page = await views.list_incidents(client, limit=5)
    assert len(page) == 5 and ids(page) <= running and page.total == 28 and not page.complete
    assert [r["incident_id"] for r in page] == sorted(r["incident_id"] for r in page)
    assert (await views.list_incidents(client, limit=28)).complete


async def test_cli_views_json_contract(world, sup):
    env, _ = sup
    client, _, g, _ = world
    await eventually(lambda: views.overdue(client), lambda rs: ids(rs) == g["B"] | g["E"], timeout=30)
    address = env.client.service_client.config.target_host
    ecoplan = str(Path(sys.executable).parent / "ecoplan")
    # one real process (the entry point: its stdout, its stderr note, its exit status); the
    # other command lines run through the same code in this process (tests.procs.ecoplan_in_process)
    here = lambda *a: ecoplan_in_process(*a, env={"TEMPORAL_ADDRESS": address})  # noqa: E731
    for args, expected in ((["overdue"], g["B"] | g["E"]), (["stuck", "--idle", "20h"], g["D"] | g["E"]),
                           (["list", "--stage", "warning"], g["G"])):
        r = await here(*args, "--json")
        assert r.code == 0, r.err
        assert ids(json.loads(r.out)) == expected
        r = await here(*args)
        assert r.code == 0 and all(i in r.out for i in expected)
        assert r.err == ""  # every row fits the default limit: no note
    # Past the limit, the view says so on stderr, in one line, and --all shows everything.
    env_ = {**os.environ, "TEMPORAL_ADDRESS": address}
    proc = await asyncio.create_subprocess_exec(ecoplan, "overdue", "--limit", "3", "--json", env=env_,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0 and len(json.loads(out)) == 3
    assert err.decode() == "ecoplan: 逾期事件共 8 件；已列出逾期最久的 3 项。要看更多：--limit N 或 --all\n"
    r = await here("list", "--limit", "2", "--all", "--json")
    assert r.code == 0 and len(json.loads(r.out)) == 28 and r.err == ""
    r = await here("stuck", "--limit", "0")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "--limit" in r.err


async def test_daily_report_with_incidents_through_the_workflow(world, sup):
    client, settings, g, _ = world
    await eventually(lambda: views.stuck(client), lambda rs: len(rs) == 12, timeout=30)
    report_ = await client.execute_workflow(DailyReportWorkflow.run, DailyReportRequest(),
                                            id=f"daily-report-test-{uuid.uuid4().hex[:6]}", task_queue="ecoplan")
    assert report_["zero_report"] is False
    running = set().union(*(g[k] for k in "ABCDEG"))
    assert report_["open_incidents"] == len(running) == 28
    # New: reported within the period, which starts at most 25 h and at least 1 h before now (the
    # last 08:00, or the 24 h before it in the hour after): A (reported 9 min ago) always is; D
    # and E (reported 3 and 120 days ago, entered only now) never are, though all started now.
    new = {x["incident_id"] for x in report_["new_incidents"]}
    assert g["A"] <= new <= running and not new & (g["D"] | g["E"]), new
    assert {x["incident_id"] for x in report_["overdue"]} == g["B"] | g["E"]
    assert {x["incident_id"] for x in report_["stuck"]} == g["B"] | g["D"] | g["E"]
    assert {x["incident_id"] for x in report_["due_next_24h"]} == g["A"] | g["G"]
    assert report_["by_stage"]["on_site"] == 6 and report_["by_stage"]["termination_pending"] == 4
    md = (settings.archive_dir / "daily" / f"{report_['report_date']}.md").read_text()
    assert "逾期事项（8）" in md and "停滞事件（12）" in md
    outbox = [json.loads(l) for l in settings.outbox_path.read_text().splitlines()]
    assert any(n["event"] == "daily_report" and n["detail"]["overdue"] == 8 for n in outbox)


async def test_daily_report_schedule_is_created_once(sup):
    env, _ = sup
    assert await ensure_daily_report_schedule(env.client) is True
    assert await ensure_daily_report_schedule(env.client) is False
    desc = await env.client.get_schedule_handle("ecoplan-daily-report").describe()
    spec = desc.schedule.spec
    assert spec.time_zone_name == "Asia/Shanghai"
    assert spec.calendars[0].hour[0].start == 8 and spec.calendars[0].minute[0].start == 0
    assert desc.info.next_action_times  # the server has planned the next 08:00 run


async def test_overdue_escalates_and_repeats(client, worker, tmp_path):
    """An overdue deadline notifies at once and again at the plan's interval, until met."""
    shipped = yaml.safe_load((ROOT / "plan" / "plans" / "yangquan-2022.yaml").read_text(encoding="utf-8"))
    for d in shipped["deadlines"]:
        if d["name"] == "initial_report":
            d["escalation"]["repeat_every"] = {"hours": 0.0005}  # 1.8 s, so the repeat is seen in a test
    plan_file = tmp_path / "fast-escalation.yaml"
    plan_file.write_text(yaml.safe_dump({**shipped, "id": "fast-escalation"}, allow_unicode=True), encoding="utf-8")
    # the bureau learned 4 h − 3 s ago: the 4-hour initial report (from reported_at) falls due in 3 s
    r = report(plan=str(plan_file), discovered_at=ago(hours=5), reported_at=ago(hours=4, seconds=-3))
    iid = await api.start_incident(client, r)

    def overdue_notes():
        lines = worker.outbox_path.read_text(encoding="utf-8").splitlines() if worker.outbox_path.exists() else []
        return [n for n in map(json.loads, lines) if n["incident_id"] == iid and n["event"] == "deadline_overdue"]

    async def notes():
        return overdue_notes()

    got = await eventually(notes, lambda ns: len(ns) >= 2, timeout=30)
    assert got[0]["detail"]["escalation"] == 1 and got[1]["detail"]["escalation"] == 2
    assert set(got[0]["recipients"]) >= {"局指挥部办公室", "带班领导"}
    await api.act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="迟报")))
    st = await api.status(client, iid)
    d = next(x for x in st["deadlines"] if x["name"] == "initial_report")
    assert d["status"] == "met_late"
    assert d["next_escalation_at"] is None  # once met, no further escalation is planned
    assert d["escalations"] >= 2
