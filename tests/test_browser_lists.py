"""事件列表, 我的待办 and a closed incident's page in a real browser (Debian's Chromium through
Playwright, as tests/test_browser.py), against the app on the session's dev server and
worker, reading the worker's records store. Screenshots in test-output/browser/."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from activities.records_store import save_status
from ecoplan import api
from plan.incident import Actor, IncidentReport, ReportContent
from tests.drive import act
from tests.helpers import COMMANDER, DUTY, SIGNED, eventually, report
from tests.test_browser import CHROMIUM, FLAGS, SHOTS, logged_in, shot
from tests.web_helpers import LEADS, incident_body, web_service
from workflows import messages as m


@pytest.fixture(scope="module")
async def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is missing at {CHROMIUM}", pytrace=False)
    from playwright.async_api import async_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture(scope="module")
async def web(client, worker, tmp_path_factory):
    async with web_service(client, tmp_path_factory.mktemp("web-lists-ui") / "accounts.db",
                           records_db=worker.records_db) as w:
        yield w


async def start(client, **over) -> str:
    return await api.start_incident(client, IncidentReport(**incident_body(**over)))


async def test_find_an_incident_by_filter_and_by_text(browser, web, client, worker):
    mark = uuid.uuid4().hex[:6]
    await start(client, title=f"盂县尾矿库渗漏{mark}", county="盂县", location="梁家寨乡")
    await start(client, title=f"盂县选矿厂废水{mark}", county="盂县", location="路家村镇")
    await start(client, title=f"桃河化工厂泄漏{mark}", county="平定县")
    ctx, page = await logged_in(browser, web, "du")
    await page.click("nav >> text=事件列表")
    rows = page.locator("#incident-list tbody tr[data-incident]")

    async def shown():
        await page.fill("input[name=q]", mark)
        await page.select_option("select[name=county]", "盂县")
        async with page.expect_navigation():
            await page.click("#filters button[type=submit]")
        return await rows.count()

    await eventually(shown, lambda n: n == 2, timeout=10)  # the records are saved within a second
    assert sorted(await page.locator("#incident-list tbody tr td:nth-child(2)").all_inner_texts()) == ["盂县", "盂县"]
    await shot(page, "incident-list")
    await page.fill("input[name=q]", "路家村镇")  # by the place
    async with page.expect_navigation():
        await page.click("#filters button[type=submit]")
    assert (await rows.locator("a").all_inner_texts()) == [f"盂县选矿厂废水{mark}"]
    assert "county=%E7%9B%82%E5%8E%BF" in await page.locator("#export-xlsx").get_attribute("href")
    r = await page.request.get(f"{web.url}/incidents.csv?q={mark}")
    assert r.status == 200 and (await r.text()).count(mark) == 3
    await ctx.close()


async def test_the_commander_finds_the_approval_waiting_for_him(browser, web, client):
    title = f"三组已签署{uuid.uuid4().hex[:6]}"
    iid = await start(client, title=title)
    await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
    await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                           content=ReportContent(summary="初报")))
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="已降至本底水平"))
    rnd = (await api.status(client, iid))["round"]
    for group, username in LEADS.items():
        by = Actor(name=username, role="工作组组长", role_id="lead", via="web")
        await act(client, iid, "sign_off", m.SignOff(by=by, group=group, lead=username, decision="approve", round=rnd))
    ctx, page = await logged_in(browser, web, "li")

    async def todo():
        await page.goto(f"{web.url}/todo")
        return await page.locator("#todo-approve").inner_text()

    await eventually(todo, lambda text: title in text, timeout=10)
    assert (await page.locator("#todo-approve h2").inner_text()).startswith("待我批示")
    await eventually(lambda: page.locator("#todo-count").inner_text(), lambda n: n.isdigit() and int(n) >= 1, timeout=5)
    await shot(page, "todo-commander")
    async with page.expect_navigation():
        await page.click(f"#todo-approve >> text={title}")  # one click away
    assert await page.locator("h1").inner_text() == title
    assert await page.locator("form[data-action=approve_termination]").count() == 1
    await ctx.close()


async def closed_record(client, folder: Path, db: Path, title: str) -> str:
    """The record a closed incident leaves: the status of a real incident (activated, with its
    deadlines), as the store holds it once closed, and its archive folder with the dossier. (A
    real close files PDFs first: seconds of rendering this test does not need.)"""
    running = await api.start_incident(client, report(title=title, county="郊区"))
    await act(client, running, "activate_response", m.ActivateResponse(by=COMMANDER))
    st = await api.status(client, running)
    # Its own id: the worker keeps saving the running incident's record under the other one.
    iid = f"closed-{running}"
    st.update(incident_id=iid, stage="closed", outcome="completed", allowed_actions=[], waiting_on=[])
    (folder / iid).mkdir(parents=True)
    (folder / iid / "dossier.json").write_text(json.dumps(st, ensure_ascii=False), encoding="utf-8")
    await asyncio.to_thread(save_status, st, folder, db)
    return iid


async def test_a_closed_incident_opens_read_only_from_its_record(browser, web, client, worker, tmp_path):
    title = f"已结案河道油污{uuid.uuid4().hex[:6]}"
    iid = await closed_record(client, tmp_path, worker.records_db, title)
    ctx, page = await logged_in(browser, web, "du", f"/incidents?closed=only&q={title}")
    async with page.expect_navigation():
        await page.click(f"#incident-list >> text={title}")
    assert page.url.endswith(f"/records/{iid}")
    assert "只读" in await page.locator("#read-only").inner_text()
    assert await page.locator("#stage").inner_text() == "结案（处置完毕）"
    assert await page.locator("form[data-action]").count() == 0  # nothing to do on a closed incident
    assert await page.locator("#deadline-chart svg").count() == 1
    link = page.locator("#documents a", has_text="事件档案数据")
    r = await page.request.get(web.url + await link.get_attribute("href"))
    assert r.status == 200 and (await r.json())["incident_id"] == iid
    r = await page.request.get(f"{web.url}/records/{iid}/documents/..%2F..%2Frecords.db")
    assert r.status == 404  # only the files the record lists
    await shot(page, "incident-closed")
    await ctx.close()


async def test_the_api_docs_work_offline_under_the_csp(browser, web):
    ctx = await browser.new_context(locale="zh-CN", offline=False)
    page = await ctx.new_page()
    outside, refused = [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(web.url) else None)
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text
            and "script" in msg.text else None)
    await page.goto(f"{web.url}/docs")
    # The operations, drawn by the UI's script (seconds on a loaded machine: a bound, not a sleep).
    await page.locator(".opblock").first.wait_for(timeout=60_000)
    assert await page.locator(".opblock-summary-path", has_text="/api/incidents").count() >= 1
    assert outside == [] and refused == []
    await shot(page, "api-docs")
    await ctx.close()
