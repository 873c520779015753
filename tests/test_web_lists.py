"""事件列表 and 我的待办 over real HTTP, against the session's dev server and worker (whose
records store the app reads): an incident is found by text, county and stage as soon as its
record is saved; who may read the list; bad filters; and the 附件2 round as the to-dos see
it: each lead's sign-off, then the commander's approval once all three are in."""

from __future__ import annotations

import uuid

import httpx
import pytest

from ecoplan import api
from plan.incident import Actor, IncidentReport, ReportContent
from tests.drive import act
from tests.helpers import COMMANDER, DUTY, SIGNED, eventually
from tests.web_helpers import LEADS, incident_body, password, web_service
from workflows import messages as m


@pytest.fixture(scope="module")
async def http(client, worker, tmp_path_factory):
    async with web_service(client, tmp_path_factory.mktemp("web-lists") / "accounts.db",
                           records_db=worker.records_db) as w:
        async with httpx.AsyncClient(base_url=w.url, timeout=60) as c:
            yield c


_tokens: dict[str, dict] = {}


async def auth(http, username: str) -> dict:
    if username not in _tokens:
        r = await http.post("/api/login", json={"username": username, "password": password(username)})
        _tokens[username] = {"Authorization": f"Bearer {r.json()['token']}"}
    return _tokens[username]


async def listed(http, who: str = "du", **params) -> dict:
    r = await http.get("/api/incidents", params=params, headers=await auth(http, who))
    assert r.status_code == 200, r.text
    return r.json()


async def test_found_by_text_county_and_stage_and_read_by_role(http, client):
    mark = uuid.uuid4().hex[:8]  # this test's own incidents, whatever else the session started
    a = await api.start_incident(client, IncidentReport(**incident_body(title=f"桃河泄漏{mark}", county="平定县")))
    b = await api.start_incident(client, IncidentReport(**incident_body(title=f"尾矿渗漏{mark}", county="盂县",
                                                                         location="梁家寨乡")))

    async def both():
        return await listed(http, q=mark)

    found = await eventually(both, lambda x: x["total"] == 2, timeout=10)
    assert {r["incident_id"] for r in found["rows"]} == {a, b}
    assert all(r["stage"] == "reported" and not r["closed"] for r in found["rows"])
    assert [r["incident_id"] for r in (await listed(http, q=mark, county="盂县"))["rows"]] == [b]
    assert (await listed(http, q="梁家寨乡", county="盂县", stage="reported"))["total"] >= 1
    assert (await listed(http, q=mark, closed="only"))["total"] == 0
    # The commander reads every incident; a lead only those he leads; a partner none.
    assert (await listed(http, "li", q=mark))["total"] == 2
    assert (await listed(http, "zhang", q=mark))["total"] == 0
    r = await http.get("/api/incidents", headers=await auth(http, "lian"))
    assert r.status_code == 403 and r.json()["detail"] == "联动单位不能查看事件列表"
    r = await http.get("/api/incidents", params={"level": "V"}, headers=await auth(http, "du"))
    assert r.status_code == 422 and r.json()["detail"].startswith("响应级别「V」无效")


async def waiting(http, who: str, kind: str, iid: str, present: bool = True) -> dict:
    async def mine():
        r = await http.get("/api/todo", headers=await auth(http, who))
        assert r.status_code == 200, r.text
        return r.json()

    def holds(body) -> bool:
        rows = next((i["rows"] for i in body["items"] if i["kind"] == kind), [])
        return (iid in {r["incident_id"] for r in rows}) == present

    return await eventually(mine, holds, timeout=10)


async def test_the_commander_approves_once_the_three_sign_offs_are_in(http, client):
    iid = await api.start_incident(client, IncidentReport(**incident_body(title="待批示事件")))
    await waiting(http, "li", "approve", iid)  # 附件1: the activation waits on the commander
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="初报")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="已降至本底水平"))
    rnd = (await api.status(client, iid))["round"]
    await waiting(http, "zhang", "sign", iid)
    await waiting(http, "li", "approve", iid, present=False)  # two groups have not signed yet
    for group, username in LEADS.items():
        by = Actor(name=username, role="工作组组长", role_id="lead", via="web")
        await act(client, iid, "sign_off", m.SignOff(by=by, group=group, lead=username, decision="approve", round=rnd))
    body = await waiting(http, "li", "approve", iid)
    assert body["count"] >= 1 and body["items"][0]["title"] == "待我批示"
    row = next(r for r in body["items"][0]["rows"] if r["incident_id"] == iid)
    assert (row["action"], row["stage"]) == ("approve_termination", "termination_pending")
    await waiting(http, "zhang", "sign", iid, present=False)
    # The supervisor acts on nothing: his to-do is what is overdue.
    assert [i["kind"] for i in (await http.get("/api/todo", headers=await auth(http, "du"))).json()["items"]] == ["overdue"]
