"""A Temporal outage said plainly (issue 25, finding 5, item 5), with a dev server really
stopped and started again on its own SQLite file: every page and API call answers within
3 s with the Chinese 503 and Retry-After; an open board (Chromium) shows a banner with the
time of its last good data and clears it when the server is back."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from ecoplan.web.outage import SILENT
from tests.procs import DevServer, poll
from tests.web_helpers import INTAKE_TOKENS, incident_body, password, web_service

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
DOWN = "指挥系统后台暂时无法连接，正在重试…"


async def _hidden(c: httpx.AsyncClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', (await c.get(path)).text).group(1)


async def test_outage_is_a_chinese_503_within_3_s_and_the_open_page_says_so(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is missing at {CHROMIUM}", pytrace=False)
    from playwright.async_api import async_playwright

    srv = DevServer(db=tmp_path / "temporal.db", log_dir=tmp_path)
    await srv.start()
    try:
        client = await srv.client()
        async with web_service(client, tmp_path / "accounts.db", poll_seconds=1) as w, \
                httpx.AsyncClient(base_url=w.url, timeout=30) as c, async_playwright() as pw:
            async def bearer(who: str) -> dict:
                r = await c.post("/api/login", json={"username": who, "password": password(who)})
                return {"Authorization": f"Bearer {r.json()['token']}"}
            api, duty = await bearer("du"), await bearer("wangwei")
            r = await c.post("/login", data={"username": "du", "password": password("du"), "next": "/",
                                             "csrf_token": await _hidden(c, "/login")})
            assert r.status_code == 303
            reads = ["/", "/board/live", "/incidents/none-such", "/incidents/none-such/live", "/api/list",
                     "/api/incidents/none-such", "/api/overdue"]
            before = {p: (await c.get(p, headers=api)).status_code for p in reads}
            assert before == {"/": 200, "/board/live": 200, "/incidents/none-such": 404,
                              "/incidents/none-such/live": 404, "/api/list": 200, "/api/incidents/none-such": 404,
                              "/api/overdue": 200}, before

            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = await (await browser.new_context(locale="zh-CN")).new_page()
            await page.goto(f"{w.url}/login?next=/")
            await page.fill("input[name=username]", "du")
            await page.fill("input[name=password]", password("du"))
            await page.click("button[type=submit]")
            await page.wait_for_selector("#board", timeout=15_000)

            await srv.kill()  # ------------------------------------------------ Temporal down (SIGKILL)
            platform = {"Authorization": f"Bearer {INTAKE_TOKENS['hotline_12369']}"}
            alert = {"alert_id": f"W-{uuid.uuid4().hex[:8]}", "received_at": incident_body()["reported_at"],
                     "county": "盂县", "location": "某村", "incident_type": "water", "reporter": "张先生"}
            for p in [*reads, "/api/incidents", "/alerts"]:
                t0 = time.monotonic()
                r = await (c.post(p, headers=duty, json=incident_body()) if p == "/api/incidents"
                           else c.post(p, headers=platform, json=alert) if p == "/alerts"  # the 12369 intake
                           else c.get(p, headers=api))
                took = time.monotonic() - t0
                assert r.status_code == 503 and DOWN in r.text and r.headers["retry-after"] == "5", (p, r.status_code)
                assert took < 3, (p, took)
            banner = page.locator(".stale-banner")
            await banner.wait_for(state="visible", timeout=15_000)
            text = await banner.inner_text()
            assert DOWN in text and re.search(r"以下为 \d\d:\d\d:\d\d 的数据", text), text

            await srv.start()  # ----------------------------------------------- back again

            async def back():
                return (await c.get("/api/list", headers=api)).status_code == 200
            await poll(back, 60, 0.5, "the API answers again")
            await banner.wait_for(state="detached", timeout=15_000)
            assert (await c.get("/", headers=api)).status_code == 200
            await browser.close()
    finally:
        await srv.kill()


async def test_a_server_that_never_answers_is_down_after_a_second_look():
    """A probe that is refused says down at once (the test above: the server killed); one that
    only gets no answer is asked once more, so that a console a second late once does not call
    a live server down. A port that accepts and never answers: two looks of 1 s, then SILENT
    (not up: reads get the 503, requests still go on to Temporal)."""
    from temporalio.client import Client

    from ecoplan.web.outage import Backend

    calls = []
    with _silent_port() as port:  # connections complete in the kernel; nothing is ever said on them
        async def client():
            calls.append(time.monotonic())
            return await Client.connect(f"127.0.0.1:{port}")

        backend = Backend(client)
        t0 = time.monotonic()
        assert await backend.look() == SILENT
        took = time.monotonic() - t0
        assert len(calls) == 2 and 1.9 <= took <= 3.5, (len(calls), took)
        assert await backend.up() is False and len(calls) == 2  # remembered for a second


@contextlib.contextmanager
def _silent_port():
    import socket
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    try:
        yield hole.getsockname()[1]
    finally:
        hole.close()


def _slow_app(seconds: float | None):
    """A read that answers 200 after `seconds` (never, for None)."""
    async def app(scope, receive, send):
        await asyncio.sleep(3600 if seconds is None else seconds)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": "看板".encode()})
    return app


async def test_a_read_answered_while_temporal_is_silent_is_the_reads_own_answer():
    """make test saw a loaded process miss two looks at a live server and answer the board with
    the outage 503. A silent look no longer refuses a request at once (`Web.client` goes on to
    Temporal), and the ReadGuard gives the read's own answer when it comes before the look
    ends; a read with no answer at all is still the 503 at about 3 s."""
    from temporalio.client import Client

    from ecoplan.web.outage import Backend, ReadGuard

    with _silent_port() as port:
        def guarded(seconds):
            backend = Backend(lambda: Client.connect(f"127.0.0.1:{port}"))
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=ReadGuard(_slow_app(seconds), backend)),
                                     base_url="http://console", timeout=30)
        async with guarded(1.6) as c:  # after the guard's 1 s, within the look's 2 s
            t0 = time.monotonic()
            r = await c.get("/")
            assert r.status_code == 200 and r.text == "看板" and 1.5 <= time.monotonic() - t0 < 2.9, r.status_code
        async with guarded(None) as c:
            t0 = time.monotonic()
            r = await c.get("/")
            took = time.monotonic() - t0
            assert r.status_code == 503 and DOWN in r.text and 2.9 <= took <= 4.5, (r.status_code, took)


async def test_a_console_goes_on_to_temporal_when_a_look_was_only_silent(client):
    """`Web.client()` refuses at once only when Temporal refuses connections: a silent look (a
    loaded console, a slow server) lets the request try; a refused one is the 503 at once."""
    from temporalio.client import Client

    from ecoplan.web import actions as act
    from ecoplan.web.auth import AuthSettings
    from ecoplan.web.context import Web as Console
    from ecoplan.web.outage import OUTAGE_MESSAGE, Backend
    from tests.ports import free_port

    def console(backend_port: int) -> Console:
        # Temporal itself is the live dev server; only the console's look goes elsewhere.
        return Console(client_factory=lambda: client, store=None, settings=AuthSettings(), templates=None,
                       limiter=object(), backend=Backend(lambda: Client.connect(f"127.0.0.1:{backend_port}")))

    with _silent_port() as port:
        assert await console(port).client() is client
    closed = free_port()  # nothing listens there: connections are refused
    t0 = time.monotonic()
    with pytest.raises(act.Refusal) as refused:
        await console(closed).client()
    assert refused.value.status == 503 and refused.value.detail == OUTAGE_MESSAGE and time.monotonic() - t0 < 1.5


async def test_an_error_from_something_that_listens_is_not_an_outage():
    """CI's load once made a live server's answer come back as an error, and the console refused
    a good request as an outage. A look is REFUSED only when nothing accepts a TCP connection at
    Temporal's address. Here something listens and answers every call with garbage: the call
    fails at once, and the look says SILENT (the request would go on to Temporal)."""
    import socket
    import threading

    from temporalio.client import Client

    from ecoplan.web.outage import REFUSED, Backend, refused

    garbage = socket.socket()
    garbage.bind(("127.0.0.1", 0))
    garbage.listen(16)
    port = garbage.getsockname()[1]

    def answer():
        while True:
            try:
                conn, _ = garbage.accept()
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
            conn.close()

    threading.Thread(target=answer, daemon=True).start()
    try:
        client = await Client.connect(f"127.0.0.1:{port}", lazy=True)  # connects on its first call
        assert not await refused(f"127.0.0.1:{port}", 1.0)
        assert await Backend(lambda: asyncio.sleep(0, client)).look() == SILENT
    finally:
        garbage.shutdown(socket.SHUT_RDWR)  # wakes the accept() in the thread: it stops listening
        garbage.close()
    assert await refused(f"127.0.0.1:{port}", 1.0)  # closed: refused
    assert await Backend(lambda: asyncio.sleep(0, client)).look() == REFUSED
