"""Nothing stored in an incident makes a supervisor view fail (issue 25, item 1, defence in
depth): a year-1 start once made the board, overdue, stuck and the daily report answer 500
for everyone (`OverflowError: date value out of range`). Times like that are refused at
entry now; an incident that stored one before, or a memo of another shape, shows as one
faulty row ("此行数据无法显示") and the rest of the view answers.

The stored data is written here as an incident publishes it (search attributes and the
`supervision` memo, workflows/publishing.py) on executions of the incident's workflow type
that no worker runs (their task queue has none), so what the views read is exactly what a
poisoned incident would have left."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities import search_attributes as sa
from activities.supervisor_views import FAULTY
from ecoplan import views
from ecoplan.web.routes.board import board_figures
from plan.calendar import SHANGHAI

NOW = datetime.now(SHANGHAI)
YEAR_ONE = "0001-01-01T00:00:00+08:00"
HOUR_AGO = (NOW - timedelta(hours=1)).isoformat()
POISONED = {  # every time the views read, in year 1 or 9999
    "overdue": [{"deadline": "initial_report", "due_at": YEAR_ONE, "who_acts": "值班员"}],
    "next_deadline": {"name": "initial_report", "due_at": "9999-12-31T23:59:00+08:00"},
    "stuck_after": YEAR_ONE,
    "faults": [{"fault": "calendar_unavailable", "since": YEAR_ONE, "error": "x"}],
    "provisional": [{"deadline": "initial_report", "due_date": "0001-01-01", "status": "pending"}],
}
HEALTHY = {
    "overdue": [{"deadline": "initial_report", "due_at": HOUR_AGO, "who_acts": "值班员"}],
    "next_deadline": {"name": "initial_report", "due_at": (NOW + timedelta(hours=2)).isoformat()},
    "stuck_after": HOUR_AGO,
    "faults": [{"fault": "calendar_unavailable", "since": HOUR_AGO, "error": "日历服务暂不可用"}],
    "provisional": [{"deadline": "initial_report", "due_date": NOW.date().isoformat(), "status": "pending"}],
}


async def _stored(client, name: str, supervision, entered: datetime) -> str:
    iid = f"rows-{name}-{uuid.uuid4().hex[:6]}"
    attrs = [SearchAttributePair(sa.STAGE, "responding"), SearchAttributePair(sa.COUNTY, "平定县"),
             SearchAttributePair(sa.DRILL, False), SearchAttributePair(sa.STAGE_ENTERED_AT, entered),
             SearchAttributePair(sa.OVERDUE_SINCE, entered), SearchAttributePair(sa.FAULT, "calendar_unavailable"),
             SearchAttributePair(sa.PROVISIONAL, "initial_report")]
    await client.start_workflow("IncidentWorkflow", {}, id=f"incident-{iid}", task_queue=f"nobody-{iid}",
                                memo={"title": f"桃河泄漏 {name}", "supervision": supervision},
                                search_attributes=TypedSearchAttributes(attrs))
    return iid


@pytest.fixture
async def stored(client):
    """A poisoned incident, one whose memo is not a mapping at all, and a healthy one; ended
    (and gone from the running views) afterwards, so no other test sees them."""
    two_hours_ago = NOW - timedelta(hours=2)
    ids = {"poisoned": await _stored(client, "poisoned", POISONED, two_hours_ago),
           "garbled": await _stored(client, "garbled", "不是一个对象", two_hours_ago),
           "healthy": await _stored(client, "healthy", HEALTHY, two_hours_ago)}
    query = " OR ".join(f"WorkflowId = 'incident-{i}'" for i in ids.values())
    try:
        for _ in range(100):  # visibility is eventually consistent: until all three are listed
            if (await client.count_workflows(f"ExecutionStatus = 'Running' AND ({query})")).count == 3:
                break
            await asyncio.sleep(0.1)
        yield ids
    finally:
        for i in ids.values():
            await client.get_workflow_handle(f"incident-{i}").terminate("test over")
        for _ in range(100):
            if (await client.count_workflows(f"ExecutionStatus = 'Running' AND ({query})")).count == 0:
                break
            await asyncio.sleep(0.1)


def mine(rows, ids: dict) -> dict[str, list[dict]]:
    by_id = {v: k for k, v in ids.items()}
    out: dict[str, list[dict]] = {}
    for r in rows:
        if r["incident_id"] in by_id:
            out.setdefault(by_id[r["incident_id"]], []).append(r)
    return out


def faulty_and_healthy(rows, ids: dict, faulty=("poisoned", "garbled")) -> dict:
    got = mine(rows, ids)
    for name in faulty:
        assert [r["title"] for r in got[name]] == [FAULTY], (name, got.get(name))
    assert got["healthy"] and all(r["title"] == "桃河泄漏 healthy" for r in got["healthy"])
    return got["healthy"][0]


async def test_each_view_shows_a_row_it_cannot_read_as_faulty_and_the_rest(client, stored):
    row = faulty_and_healthy(await views.overdue(client, now=NOW), stored)
    assert row["deadline"] == "initial_report" and 3000 <= row["late_by_seconds"] <= 3700
    row = faulty_and_healthy(await views.stuck(client, now=NOW), stored)
    assert 7100 <= row["idle_seconds"] <= 7300  # entered two hours before NOW
    # by idle time the poisoned one's stored times are not read (its stage began two hours ago)
    idle = await views.stuck(client, idle=timedelta(minutes=30), now=NOW)
    assert faulty_and_healthy(idle, stored, faulty=["garbled"])["idle_seconds"] >= 7100
    assert mine(idle, stored)["poisoned"][0]["title"] == "桃河泄漏 poisoned"
    assert faulty_and_healthy(await views.faults(client), stored)["detail"] == "日历服务暂不可用"
    assert faulty_and_healthy(await views.provisional(client), stored)["due_date"] == NOW.date().isoformat()
    assert faulty_and_healthy(await views.list_incidents(client), stored)["next_deadline"]["name"] == "initial_report"


async def test_the_board_and_the_daily_report_answer_with_a_faulty_row(client, stored):
    figures = await board_figures(client, drills=False)
    for part in ("overdue", "stuck", "faults", "provisional"):
        faulty_and_healthy(figures[part], stored)
    report = await views.daily_report(client, now=NOW)
    faulty_and_healthy(report["overdue"], stored)
    soon = mine(report["due_next_24h"], stored)
    assert [r["title"] for r in soon["poisoned"]] == [FAULTY] and soon["healthy"][0]["name"] == "initial_report"
    text = views.render_daily_report(report)
    assert text.count(FAULTY) >= 4 and "桃河泄漏 healthy" in text
