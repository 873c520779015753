"""The two levels where people read them (issue 24): the incident page names the event's level
and the response's, and the board's overdue row shows the event's level beside a raised
response's. A real dev server, worker and console.

A 一般 (IV) event: the report's assessment matches no row of 附表1 above IV. Its response is
raised to II (4.1.5 可适当提高响应级别). The bureau learned of it 5 hours ago, so its 初报 —
due 4 hours after (17号令 第三条, by the event's level IV) — is an hour overdue.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from ecoplan import api
from tests.helpers import eventually
from tests.web_helpers import incident_body, now, password, web_service


@pytest.fixture(scope="module")
async def web(client, worker, tmp_path_factory):
    async with web_service(client, tmp_path_factory.mktemp("levels-web") / "accounts.db") as w:
        yield w


async def signed_in(web, username: str) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=web.url, timeout=60)
    page = (await c.get("/login")).text
    token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
    r = await c.post("/login", data={"username": username, "password": password(username), "next": "/",
                                     "csrf_token": token})
    assert r.status_code == 303, r.text
    return c


async def bearer(c: httpx.AsyncClient, username: str) -> dict:
    r = await c.post("/api/login", json={"username": username, "password": password(username)})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_the_page_and_the_board_name_both_levels(web, client):
    t = now()
    body = incident_body(title="两级显示测试", assessment={}, discovered_at=(t - timedelta(hours=5, minutes=10)).isoformat(),
                         reported_at=(t - timedelta(hours=5)).isoformat())
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        r = await c.post("/api/incidents", json=body, headers=await bearer(c, "wangwei"))
        assert r.status_code == 201, r.text
        iid = r.json()["incident_id"]
        r = await c.post(f"/api/incidents/{iid}/actions/activate_response", headers=await bearer(c, "li"),
                         json={"level": "II", "reason": "临近桃河水源地，从严应对"})
        assert r.status_code == 200, r.text
    st = await api.status(client, iid)
    assert (st["levels"]["event_level"], st["levels"]["response_level"]) == ("IV", "II")

    commander = await signed_in(web, "li")
    try:
        page = (await commander.get(f"/incidents/{iid}")).text
        assert re.search(r'id="event-level">IV级 一般<span class="muted small">（按附表1分级）', page)
        assert re.search(r'id="response-level">II级 重大<span class="muted small">（提高', page)
        assert "临近桃河水源地" in page
    finally:
        await commander.aclose()

    supervisor = await signed_in(web, "du")
    try:
        async def board():
            return (await supervisor.get("/board/live")).text

        def has_row(html: str) -> bool:
            return "两级显示测试" in html and "（事件等级 IV级 一般）" in html

        html = await eventually(board, has_row, timeout=30)
        row = next(r for r in html.split("<tr>") if "两级显示测试" in r)
        assert "II级 重大" in row and "（事件等级 IV级 一般）" in row
    finally:
        await supervisor.aclose()
