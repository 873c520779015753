"""The two levels of a closed incident from the records store (issue 24; schema r0003): a real
dev server, worker and console. The incident runs as tests/histories' `two_levels` does: graded
IV (附表1: the report's assessment matches no row above IV), 初步认定 III by the commander, the
response activated at II (4.1.5 可适当提高响应级别), closed. Its record, saved by the incident
itself, shows both levels where closed incidents are read: `ecoplan status` (from the store),
`ecoplan list --closed`, the closed incident's page, the 事件列表 and `GET /api/incidents`.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from contextlib import closing

import httpx
import pytest

from ecoplan import api, records
from ecoplan.cli.views import status_text
from plan.incident import ReportContent
from tests.drive import act, close_after_delegated_investigation, sign_all
from tests.helpers import COMMANDER, DUTY, FOLLOW_UP, LEADS, SIGNED, eventually, report
from tests.test_cli import ahere
from tests.test_levels_web import bearer, signed_in
from tests.web_helpers import web_service
from workflows import messages as m

LINE = "事件等级 Ⅲ级（初步认定） · 响应级别 Ⅱ级（提高，理由：临近水源地）"


@pytest.fixture(scope="module")
async def web(client, worker, tmp_path_factory):
    async with web_service(client, tmp_path_factory.mktemp("levels-records") / "accounts.db",
                           records_db=worker.records_db) as w:
        yield w


async def rows(c: httpx.AsyncClient, headers: dict, **params) -> list[dict]:
    r = await c.get("/api/incidents", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["rows"]


async def test_a_closed_incident_shows_both_levels_from_the_records_store(client, worker, web, temporal_address):
    title = f"两级结案{uuid.uuid4().hex[:6]}"
    r = report(title=title, county="矿区")
    iid = await api.start_incident(client, r)
    await act(client, iid, "determine_event_level", m.DetermineEventLevel(by=COMMANDER, level="III", reason="跨县界影响"))
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        auth = await bearer(c, "du")
        # open: the 初步认定 alone saves the record (no stage or response change), so the filter finds it
        found = await eventually(lambda: rows(c, auth, q=title, event_level="III"), lambda rs: len(rs) == 1, timeout=30)
        assert (found[0]["stage"], found[0]["event_level"], found[0]["level"]) == ("reported", "III", "IV")
        assert await rows(c, auth, q=title, event_level="IV") == []

    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER, level="II", reason="临近水源地"))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="书面初报")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="达标"))
    await sign_all(client, iid)
    await act(client, iid, "approve_termination", m.ApproveTermination(by=COMMANDER, instruction="同意终止",
                                                                        follow_up=FOLLOW_UP))
    await close_after_delegated_investigation(client, iid)
    await asyncio.wait_for(client.get_workflow_handle(api.workflow_id(iid)).result(), 60)

    # the record the incident saved itself on close
    with closing(records.connect(worker.records_db)) as conn:
        saved = records.get_record(conn, iid)
    assert (saved.stage, saved.event_level, saved.event_level_kind, saved.level) == ("closed", "III", "preliminary", "II")
    assert [(s.from_level, s.to_level, s.kind) for s in saved.event_level_history] == [
        (None, "IV", "graded"), ("IV", "III", "preliminary")]
    # `ecoplan status` answers from the store once Temporal no longer has it: the same line
    st = records.status_of(iid, worker.records_db)
    assert st["from_records"] and st["levels"]["line"] == LINE
    assert f"结案阶段  {LINE}" in status_text(st)
    p = await ahere("list", "--closed", "--event-level", "III", "--county", "矿区", "--from", str(r.reported_at.date()),
                    "--json", env_extra={"ECOPLAN_RECORDS_DB": str(worker.records_db)}, address=temporal_address)
    assert p.returncode == 0, p.stderr
    listed = {r["incident_id"]: (r["event_level"], r["level"]) for r in json.loads(p.stdout)}
    assert listed[iid] == ("III", "II") and all(v[0] == "III" for v in listed.values())

    supervisor = await signed_in(web, "du")
    try:
        page = (await supervisor.get(f"/records/{iid}")).text
        assert re.search(r'id="event-level">III级 较大<span class="muted small">（初步认定）', page)
        assert re.search(r'id="response-level">II级 重大<span class="muted small">（提高，理由：临近水源地）', page)
        listing = (await supervisor.get("/incidents", params={"q": title, "event_level": "III", "closed": "only"})).text
        row = next(r for r in listing.split("<tr") if f"/records/{iid}" in r)
        assert "<td>Ⅲ级</td><td>Ⅱ级</td>" in row  # 事件等级, 响应级别
        assert f"/records/{iid}" not in (await supervisor.get("/incidents", params={"q": title, "event_level": "II"})).text
        auth = await bearer(supervisor, "du")
        closed = await rows(supervisor, auth, q=title, closed="only", event_level="III", level="II")
        assert [(r["incident_id"], r["event_level"], r["level"], r["closed"]) for r in closed] == [(iid, "III", "II", True)]
    finally:
        await supervisor.aclose()
