"""A new incident pages the duty officer on shift (roster imported from CSV) through the real
worker and a real SMTP server within 5 s; the link in the e-mail acknowledges it once (signed,
single-use); the console shows the person's own open pages at the top and the incident's pages;
`POST /api/pages/{id}/ack` and `ecoplan ack` answer for a page that is over."""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import timedelta
from email import message_from_bytes

import httpx
import pytest

from activities.page_store import PageStore
from ecoplan import api
from ecoplan.accounts import AccountStore
from ecoplan.web import create_app
from ecoplan.web.auth import SESSION_COOKIE
from tests.helpers import eventually, report
from tests.procs import ecoplan_in_process
from tests.test_duty_roster import store_env
from tests.test_paging import bureau  # noqa: F401 - the fixture

LINK = re.compile(r"确认收到：http://[^/]+(/pages/\S+)")
# Bounds on waits, not expected times: each wait ends as soon as its condition holds; the bound
# is only how long a loaded machine (2 cores shared with other suites) may take.
BOUND_S = 60


def goal_bound(goal_s: float) -> float:
    """Issue 23's 5 s, on a machine whose other work leaves this process 1/N of a core: the
    worker in this process runs N times slower, so the goal is held at N × 5 s there (N = the
    load average per core, at least 1). On a quiet machine this is the goal itself."""
    return goal_s * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


async def _value(v):
    return v


def _about(box, text: str) -> list[tuple[list[str], str]]:
    """The e-mails in the box whose text names `text` (this test's incident): other incidents of
    the session's worker may page into the same box meanwhile (an earlier test's page escalating
    to the 带班领导 five minutes on, under a slow run)."""
    out = []
    for rcpt, raw in box.messages:
        body = message_from_bytes(raw).get_payload(decode=True).decode()
        if text in body:
            out.append((list(rcpt), body))
    return out


@pytest.mark.parametrize("bureau", ["sqlite", "postgresql"], indirect=True)
async def test_new_incident_pages_the_officer_and_the_link_acknowledges(client, worker, bureau):  # noqa: F811
    box, db = bureau
    store = AccountStore(db)
    title = f"桃河水质异常{uuid.uuid4().hex[:4]}"
    iid = await api.start_incident(client, report(title=title))
    started = time.monotonic()  # the incident is taken: from here the page has 5 s (issue 23)
    mine = await eventually(lambda: _value(_about(box, title)), lambda m: len(m) >= 1, timeout=BOUND_S)
    took, bound = time.monotonic() - started, goal_bound(5)
    assert took < bound, f"the page took {took:.1f} s (goal 5 s; {bound:.1f} s at this load)"
    assert [r for rcpt, _ in mine for r in rcpt] == ["wangwei@example.gov.cn"]  # the officer on duty, only
    body = mine[0][1]
    link = LINK.search(body).group(1)
    page_id = link.split("/")[2]
    pages = PageStore.beside(db)
    app = create_app(client_factory=lambda: client, store=store)
    token, csrf = store.open_session("wangwei", "web", timedelta(hours=1))
    api_token, _ = store.open_session("wangwei", "api", timedelta(hours=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
        home = (await c.get("/duty", cookies={SESSION_COOKIE: token})).text
        assert 'id="my-pages"' in home and f"新接报事件：{title}" in home
        forged = await c.get(link.replace("&s=", "&s=0"))
        assert forged.status_code == 403 and "改动" in forged.text
        ok = await c.get(link)
        assert ok.status_code == 200 and "已确认收到" in ok.text
        again = await c.get(link)
        assert again.status_code == 409 and "已用过" in again.text
        late = await c.post(f"/api/pages/{page_id}/ack", headers={"Authorization": f"Bearer {api_token}"})
        assert late.status_code == 409, late.text
    page = await eventually(lambda: _value(pages.page(page_id)), lambda p: p["state"] == "acknowledged",
                            timeout=BOUND_S)
    assert page["acked_by"] == "wangwei"  # the page store follows the workflow
    assert [p["id"] for p in pages.incident_pages(iid)] == [page_id]
    # This incident's deadlines are hours away; its pages are over (acknowledged).

    async def page_steps():
        return [(e["detail"]["step"], e["detail"]["channel"], e["detail"]["username"])
                for e in (await api.status(client, iid))["timeline"] if e["action"] == "page_step"]
    steps = await eventually(page_steps, lambda s: len(s) >= 2, timeout=BOUND_S)
    assert steps == [("sent", "email", "wangwei"), ("acknowledged", "", "wangwei")]  # on the incident's timeline
    r = await ecoplan_in_process("ack", page_id, "--by", "li", env=store_env(db))
    assert r.code == 1 and "没有发给 li" in r.err


async def test_an_overdue_deadline_pages_the_duty_desk(client, worker, bureau):  # noqa: F811
    """The initial report (初报) is due 4 h after the bureau learned of it (17号令 第三条); learned
    4 h 1 min ago, it is overdue at once: the incident's overdue notification starts a page."""
    box, db = bureau
    from tests.helpers import now
    iid = await api.start_incident(client, report(discovered_at=now() - timedelta(hours=4, minutes=2),
                                                  reported_at=now() - timedelta(hours=4, minutes=1)))
    pages = PageStore.beside(db)

    async def events():
        return sorted(p["event"] for p in pages.incident_pages(iid))
    try:
        assert await eventually(events, lambda e: e == ["new_incident", "overdue"], timeout=BOUND_S)
        overdue = next(p for p in pages.incident_pages(iid) if p["event"] == "overdue")
        assert overdue["username"] == "wangwei" and overdue["subject"].startswith("逾期（第1次督办）：初报")
    finally:  # leave no page waiting on the session's server after the test
        async for wf in client.list_workflows("WorkflowType = 'PagingWorkflow' AND ExecutionStatus = 'Running'"):
            if iid in wf.id:
                await client.get_workflow_handle(wf.id).terminate("test over")


async def test_the_console_and_the_api_start_a_drill_with_its_participants(client, worker, bureau):  # noqa: F811
    """The drills page offers the other enabled accounts as participants (li, not wangwei who starts
    it: the starter always takes part); the drill records [wangwei, li]. The API takes them as
    `participants`; an unknown one is refused (422, naming it) and so is a list for a real incident."""
    from tests.test_paging import _stop_pages

    box, db = bureau
    store = AccountStore(db)
    app = create_app(client_factory=lambda: client, store=store)
    token, csrf = store.open_session("wangwei", "web", timedelta(hours=1))
    api_token, _ = store.open_session("wangwei", "api", timedelta(hours=1))
    bearer = {"Authorization": f"Bearer {api_token}"}
    started = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1",
                                 cookies={SESSION_COOKIE: token}) as c:
        try:
            page = (await c.get("/drills")).text
            options = re.findall(r'<option value="([^"]+)">', page.split('name="participants"')[1].split("</select>")[0])
            assert options == ["li"]
            r = await c.post("/drills", data={"csrf_token": csrf, "scenario": "pingding-taohe-chemical-spill",
                                              "participants": ["li"]})
            assert r.status_code == 303, r.text
            started.append(r.headers["location"].split("/incidents/")[1].split("?")[0])
            assert (await api.status(client, started[0]))["drill_participants"] == ["wangwei", "li"]

            drill = report(title="演练：桃河泄漏", drill=True).model_dump(mode="json")
            r = await c.post("/api/incidents", params={"participants": "li,zhangsan"}, json=drill, headers=bearer)
            assert r.status_code == 422 and "没有可用的账号 zhangsan，演练未开始" in r.text
            real = report(title="桃河泄漏").model_dump(mode="json")
            r = await c.post("/api/incidents", params={"participants": "li"}, json=real, headers=bearer)
            assert r.status_code == 422 and "只有演练可以指定演练参与人" in r.text
            r = await c.post("/api/incidents", params=[("participants", "li")], json=drill, headers=bearer)
            assert r.status_code == 201, r.text
            started.append(r.json()["incident_id"])
            assert (await api.status(client, started[1]))["drill_participants"] == ["wangwei", "li"]
        finally:
            for iid in started:
                await client.get_workflow_handle(api.workflow_id(iid)).terminate("test done")
                await _stop_pages(client, iid)
