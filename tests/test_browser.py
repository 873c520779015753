"""The console in a real browser: Playwright driving Debian's Chromium (`make test` installs
it; Playwright's own browser download cannot be reached here) against `ecoplan web`'s app on
a real dev server and worker. Each test saves a screenshot of the page it checks in
test-output/browser/."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from ecoplan import api
from plan.incident import IncidentReport
from tests.helpers import SIGNED, eventually, now
from tests.workdays import known
from tests.web_helpers import LEADS, OUTPUT, incident_body, password, web_service

CHROMIUM = os.environ.get("ECOPLAN_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = OUTPUT / "browser"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
async def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is missing at {CHROMIUM}: `make test` installs it "
                    "(apt-get install -y chromium fonts-noto-cjk)", pytrace=False)
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
    # Pages refresh every 2 s here (5 s in service), so "appears without a reload" is quick to see.
    async with web_service(client, tmp_path_factory.mktemp("web-ui") / "accounts.db", poll_seconds=2) as w:
        yield w


async def shot(page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def logged_in(browser, web, username: str, path: str = "/", viewport: dict | None = None):
    ctx = await browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    await page.goto(f"{web.url}{path}")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password(username))
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    return ctx, page


async def start(client, **over) -> str:
    return await api.start_incident(client, IncidentReport(**incident_body(**over)))


# 4.4: the follow-up monitoring decision, entered with the approval (a select and a text).
FOLLOW_UP_FORM = {"follow_up.continue_monitoring": "false", "follow_up.decided_by": "市应急指挥部会同专家组"}


async def take(page, action: str, **fields: str) -> None:
    """Open an action's form on the incident page, fill it and submit it."""
    form = page.locator(f"form[data-action={action}]")
    # Open (not toggle: a refused form comes back already open).
    await page.locator(f"details:has(form[data-action={action}])").evaluate("d => { d.open = true; }")
    for name, value in fields.items():
        field = form.locator(f"[name='{name}']")
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()


async def test_logged_out_visitor_is_sent_to_login(browser, web, client):
    iid = await start(client)
    ctx = await browser.new_context(locale="zh-CN")
    page = await ctx.new_page()
    for path in ("/", f"/incidents/{iid}"):
        await page.goto(f"{web.url}{path}")
        assert re.search(r"/login\?next=", page.url), page.url
        assert await page.locator("h1").inner_text() == "登录"
    await shot(page, "logged-out-to-login")
    # A wrong password says so, in Chinese; then the right one lands where the visitor was going.
    await page.fill("input[name=username]", "li")
    await page.fill("input[name=password]", "not-the-password")
    await page.click("button[type=submit]")
    assert "用户名或密码错误" in await page.locator(".error").inner_text()
    await page.fill("input[name=password]", password("li"))
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{web.url}/incidents/{iid}")
    assert await page.locator("h1").inner_text() == "桃河化工厂储罐泄漏"
    cookie = next(c for c in await ctx.cookies() if c["name"] == "ecoplan_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    # Logging out ends the session: the board sends the visitor to login again.
    await page.click("header button[type=submit]")
    await page.goto(f"{web.url}/")
    assert "/login" in page.url
    await ctx.close()


async def test_login_then_board(browser, web, client):
    await start(client, county="盂县", title="盂县尾矿库渗漏")
    ctx, page = await logged_in(browser, web, "du")
    assert page.url == f"{web.url}/"
    assert await page.locator("h1").inner_text() == "总览"
    assert "杜督查（du）" in await page.locator("header").inner_text()
    await page.locator("#board").get_by_text("盂县").first.wait_for()
    for heading in ("按阶段", "按级别", "按县（区）", "逾期", "停滞"):
        await page.get_by_role("heading", name=re.compile(heading)).first.wait_for()
    await shot(page, "board")
    await ctx.close()


async def test_board_says_which_years_have_no_holiday_notice(browser, web, client):
    """From 1 November the board says when next year's holiday notice is not loaded (and all
    year when this year's is not): the due dates counted over that year are provisional.
    Expected independently of the product's calendar (tests/workdays.py)."""
    today = now().date()
    missing = [y for y in (today.year, today.year + 1)
               if not known(y) and (y == today.year or (today.month, today.day) >= (11, 1))]
    ctx, page = await logged_in(browser, web, "du")
    await page.locator("#board").get_by_text("按阶段").first.wait_for()
    notice = page.locator("#calendar-notice")
    if missing:
        text = "、".join(f"{y}年" for y in missing) + "节假日安排尚未载入，以下期限为暂定"
        assert text in await notice.inner_text()
        await shot(page, "board-calendar-notice")
    else:
        assert "节假日安排尚未载入" not in await page.locator("#board").inner_text()
    await ctx.close()


async def test_post_without_csrf_token_is_refused(browser, web, client):
    iid = await start(client)
    before = await api.status(client, iid)
    ctx, page = await logged_in(browser, web, "li", f"/incidents/{iid}")
    await page.locator("form[data-action=activate_response] input[name=csrf_token]").evaluate("e => e.remove()")
    await page.locator("details:has(form[data-action=activate_response]) > summary").click()
    async with page.expect_navigation() as nav:
        await page.locator("form[data-action=activate_response] button[type=submit]").click()
    assert (await nav.value).status == 403
    assert "CSRF" in await page.locator(".error").inner_text()
    await shot(page, "csrf-refused")
    after = await api.status(client, iid)
    assert after["stage"] == "reported" and after["timeline"] == before["timeline"]
    # A token from another session is no better.
    status = await page.evaluate("""async ([url]) => {
        const body = new URLSearchParams({csrf_token: "forged-token-0123456789"});
        return (await fetch(url, {method: "POST", body})).status; }""",
                                 [f"/incidents/{iid}/actions/activate_response"])
    assert status == 403
    assert (await api.status(client, iid))["timeline"] == before["timeline"]
    await ctx.close()


async def test_supervisor_sees_no_action_and_a_forged_post_gets_403(browser, web, client):
    iid = await start(client)
    before = await api.status(client, iid)
    ctx, page = await logged_in(browser, web, "du", f"/incidents/{iid}")
    assert await page.locator("form[data-action]").count() == 0
    assert await page.locator("#no-actions").is_visible()
    # The forged post carries the supervisor's own, valid CSRF token: the role decides.
    csrf = await page.locator("header input[name=csrf_token]").input_value()
    status, text = await page.evaluate("""async ([url, csrf]) => {
        const body = new URLSearchParams({csrf_token: csrf});
        const r = await fetch(url, {method: "POST", body});
        return [r.status, await r.text()]; }""", [f"/incidents/{iid}/actions/activate_response", csrf])
    assert status == 403 and "督查不能办理「启动应急响应」" in text
    await shot(page, "supervisor-no-actions")
    after = await api.status(client, iid)
    assert after["stage"] == "reported" and after["timeline"] == before["timeline"]
    await ctx.close()


async def test_overdue_deadline_appears_on_an_open_board_without_reload(browser, web, client):
    ctx, page = await logged_in(browser, web, "du")
    await page.evaluate("window.__same_page = true")
    # 一般 (IV): the initial report is due 4 h after the bureau learned (17号令 第三条); learned 4 h − 3 s ago.
    title = f"逾期测试-{now():%H%M%S%f}"
    await start(client, title=title, discovered_at=(now() - timedelta(hours=5)).isoformat(),
                reported_at=(now() - timedelta(hours=4) + timedelta(seconds=3)).isoformat(), assessment={})
    row = page.locator("#overdue tr", has_text=title)
    await row.wait_for(timeout=30_000)
    assert await page.evaluate("window.__same_page === true")  # no reload happened
    assert "初报" in await row.inner_text()
    await shot(page, "board-overdue-live")
    # 督查's 我的待办 is what is overdue: the same row, under 逾期
    await page.goto(f"{web.url}/todo")
    assert "初报" in await page.locator("#todo-overdue li", has_text=title).inner_text()
    assert await page.locator("#todo-approve, #todo-sign").count() == 0  # nothing to approve or sign
    await ctx.close()


async def test_whole_termination_in_the_console(browser, web, client):
    """The duty officer finds the incident in 报告与期限, reports and dispatches, the commander
    activates; three leads sign on a phone (one from 待我签署), one rejecting first; the commander
    approves; the duty officer takes it to the close."""
    iid = await start(client)
    path = f"/incidents/{iid}"
    duty_ctx, duty = await logged_in(browser, web, "wangwei", "/todo")
    boss_ctx, boss = await logged_in(browser, web, "li", path)

    async def due() -> int:  # 报告与期限: the 初报 due within the day (the list reads visibility, a moment late)
        await duty.goto(f"{web.url}/todo")
        return await duty.locator(f"#todo-due a[href='{path}']").count()

    await eventually(due, lambda n: n == 1, timeout=10)
    async with duty.expect_navigation():
        await duty.locator(f"#todo-due a[href='{path}']").click()

    # A spaces-only 事件概况 is refused next to it; the signer and contact typed are kept.
    await take(duty, "submit_report", **{"kind": "initial", "content.summary": "   ", **SIGNED})
    report = duty.locator("form[data-action=submit_report]")
    assert await report.locator("[aria-invalid=true]").get_attribute("name") == "content.summary"
    assert "事件概况不能为空" in await report.locator(".field-error").inner_text()
    for name, value in SIGNED.items():
        assert await report.locator(f"[name='{name}']").input_value() == value
    await take(duty, "submit_report", **{"kind": "initial", "content.summary": "储罐泄漏，部分物料进入桃河", **SIGNED})
    assert "已办理：信息报告" in await duty.locator(".ok-box").inner_text()
    await boss.reload()
    await take(boss, "activate_response", level="III", reason="下游有饮用水源地")
    assert await boss.locator("#stage").inner_text() == "应急响应"
    await duty.reload()
    # Leads are chosen by name from the accounts that may lead, not typed: the duty officer
    # (who proposes the termination they would sign, 附件2) and the supervisor are not offered.
    chosen = duty.locator("form[data-action=dispatch] select[name='leads.monitoring'] option")
    names = await chosen.evaluate_all("os => os.map(o => o.textContent)")  # in a closed <details>
    assert {"张监测", "赵处置", "钱排查"} <= set(names) and not {"王伟", "杜督查", "李局长"} & set(names)
    # ... and found by typing part of a name: the filter before the select (static/pick.js)
    await duty.locator("details:has(form[data-action=dispatch])").evaluate("d => { d.open = true; }")
    dispatch = duty.locator("form[data-action=dispatch]")
    await dispatch.locator("input.pick-filter[data-for='leads.disposal']").fill("处置")
    shown = await dispatch.locator("select[name='leads.disposal'] option").evaluate_all(
        "os => os.filter(o => o.value && !o.hidden).map(o => o.textContent)")
    assert shown == ["赵处置"], shown
    assert await dispatch.locator("select[name='leads.disposal']").input_value() == LEADS["disposal"]
    await dispatch.locator("input.pick-filter[data-for='leads.disposal']").fill("")
    await take(duty, "dispatch", **{f"leads.{g}": u for g, u in LEADS.items()})
    assert "应急监测组" in await duty.locator("#incident-live").inner_text()
    assert "张监测" in await duty.locator("#incident-live").inner_text()
    await take(duty, "propose_termination", reason="特征污染物已降至本底水平")
    assert await duty.locator("#stage").inner_text() == "终止签报"

    leads = {g: await logged_in(browser, web, u, path, viewport=PHONE) for g, u in LEADS.items()}
    _, qian = leads["investigation"]
    await take(qian, "sign_off", decision="reject", opinion="")  # a rejection needs an opinion
    assert await qian.locator(".error").count() == 1
    assert await qian.locator("[aria-invalid=true]").get_attribute("name") == "opinion"  # marked, on a phone
    await take(qian, "sign_off", decision="reject", opinion="下游断面仍超标")
    await shot(qian, "lead-rejects-phone")
    assert await qian.locator("#stage").inner_text() == "现场处置"

    await duty.reload()
    await take(duty, "propose_termination", reason="复测达标")
    # The monitoring lead's page still shows round 1 (its form carries the round it showed):
    # signing from it signs nothing in round 2, and the incident says which round is open.
    _, zhang = leads["monitoring"]
    assert await zhang.locator("form[data-action=sign_off] input[name=round]").input_value() == "1"
    await take(zhang, "sign_off", decision="approve", opinion="同意终止")
    error = await zhang.locator(".error").inner_text()
    assert "第 1 轮已不在签署中" in error and "正在签署第 2 轮" in error and "复测达标" in error
    st = await api.status(client, iid)
    assert st["open_round"] == 2 and st["signoffs"] == {} and len(st["signoff_history"]) == 1
    # 待我签署 on the lead's phone: the incident, one tap away
    async def listed() -> int:  # the list reads Temporal's visibility, which lags by a moment
        await zhang.goto(f"{web.url}/todo")
        return await zhang.locator(f"#todo-sign a[href='{path}']").count()

    await eventually(listed, lambda n: n == 1, timeout=10)
    await shot(zhang, "todo-lead-phone")
    async with zhang.expect_navigation():
        await zhang.locator(f"#todo-sign a[href='{path}']").click()
    for group, (_, page) in leads.items():
        await page.reload()
        options = await page.locator("form[data-action=sign_off] select[name=group] option").all_inner_texts()
        assert len(options) == 1  # each lead signs only for the group it leads
        assert await page.locator("form[data-action=sign_off] input[name=round]").input_value() == "2"
        if group == "monitoring":  # the first to sign: 等待 names the three leads by name
            assert "钱排查（污染排查组）" in await page.locator("#incident-live").inner_text()
        await take(page, "sign_off", decision="approve", opinion="同意终止")
        assert "已办理" in await page.locator(".ok-box").inner_text()
    await shot(leads["monitoring"][1], "lead-signs-phone")

    await boss.reload()
    # Refused for the missing follow-up date: the date is marked, the instruction text kept.
    await take(boss, "approve_termination", instruction="同意终止，继续监测下游断面",
               **{**FOLLOW_UP_FORM, "follow_up.continue_monitoring": "true"})
    approval = boss.locator("form[data-action=approve_termination]")
    assert await approval.locator("[aria-invalid=true]").get_attribute("name") == "follow_up.until"
    assert "至何时" in await approval.locator(".field-error").inner_text()
    assert await approval.locator("[name=instruction]").input_value() == "同意终止，继续监测下游断面"
    assert await approval.locator("[name='follow_up.continue_monitoring']").input_value() == "true"
    await shot(boss, "approval-refused-kept")
    await take(boss, "approve_termination", instruction="同意终止应急响应", **FOLLOW_UP_FORM)
    assert await boss.locator("#stage").inner_text() == "后期处置"
    await shot(boss, "commander-approved")
    # the timeline says who acted, in which role, through which path
    assert "（指挥 · 网页）" in await boss.content() and "（工作组组长 · 网页）" in await boss.content()
    st = await api.status(client, iid)
    assert st["stage"] == "post_event" and st["level"] == "III"
    assert [(s["round"], s["group"], s["decision"]) for s in st["signoff_history"]] == \
        [(1, "investigation", "reject"), *((2, g, "approve") for g in LEADS)]
    assert st["termination"]["approved_by"] == {"name": "li", "display": "李局长", "role": "指挥",
                                                "role_id": "commander", "via": "web"}
    assert st["termination"]["follow_up"] == {"continue_monitoring": False, "decided_by": "市应急指挥部会同专家组",
                                              "until": None, "note": ""}

    # 后期处置 to the close, still in the console. The response was raised to III, the event stays
    # 一般 (IV): the city bureau investigates itself (32号令 第四条, issue 24); the bureau has the
    # assessment reviewed and reports it, then sends the 处理结果报告 and closes.
    await duty.reload()
    await take(duty, "record_aftercare", note="督促企业清运危险废物")
    # the event stays 一般 (IV): the bureau's own 调查完成 (5.2) is offered, not the province's act
    summaries = await duty.locator("#actions summary").all_inner_texts()
    assert "登记事件调查完成" in summaries and "登记省生态环境厅的调查结论" not in summaries
    await take(duty, "complete_investigation", summary="储罐阀门老化")
    await take(duty, "assessment_review_passed", review_date=now().date().isoformat())
    await take(duty, "submit_assessment_report")
    await take(duty, "submit_report", **{"kind": "final", "content.summary": "处置完毕，下游断面达标", **SIGNED})
    await take(duty, "close", note="处置完毕")
    assert await duty.locator("#stage").inner_text() == "结案（处置完毕）"
    assert await duty.locator("form[data-action]").count() == 0  # nothing left to do
    await shot(duty, "closed")
    st = await api.status(client, iid)
    assert (st["stage"], st["outcome"]) == ("closed", "completed")
    assert [e["action"] for e in st["timeline"] if e["by"] and e["by"].get("via") == "web"][-6:] == [
        "record_aftercare", "complete_investigation", "assessment_review_passed", "submit_assessment_report",
        "submit_report", "close"]
    for ctx in (duty_ctx, boss_ctx, *(c for c, _ in leads.values())):
        await ctx.close()


async def test_backdated_action_needs_its_reason_in_the_console(browser, web, client):
    """A form's 发生时间 more than an hour back is refused without 补录说明, nothing applied;
    with it the action is taken and the timeline shows the late entry and its reason."""
    t = now()
    iid = await start(client, discovered_at=(t - timedelta(hours=5)).isoformat(),
                      reported_at=(t - timedelta(hours=4)).isoformat())
    before = await api.status(client, iid)
    ctx, page = await logged_in(browser, web, "li", f"/incidents/{iid}")
    at = (t - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    await take(page, "activate_response", at=at)
    assert "补录说明" in await page.locator(".error").inner_text()
    # the 补录说明 is marked, the time typed is kept
    assert await page.locator("[aria-invalid=true]").get_attribute("name") == "backdate_reason"
    assert await page.locator("form[data-action=activate_response] [name=at]").input_value() == at
    after = await api.status(client, iid)
    assert after["stage"] == "reported" and after["timeline"] == before["timeline"]
    await take(page, "activate_response", at=at, backdate_reason="夜间通讯中断，事后补录")
    assert "已办理：启动应急响应" in await page.locator(".ok-box").inner_text()
    assert "补录：夜间通讯中断，事后补录" in await page.locator("#timeline").inner_text()
    await shot(page, "backdated-action")
    st = await api.status(client, iid)
    entry = next(e for e in st["timeline"] if e["action"] == "activate_response")
    assert entry["backdate_reason"] == "夜间通讯中断，事后补录" and entry["at"].startswith(at)
    await ctx.close()


async def test_new_incident_form_grades_as_one_types_and_starts_the_incident(browser, web, client):
    """A duty officer enters a report in the console: the 附表1 level follows what is typed
    (no reload), bad input is refused in Chinese with nothing lost, and the incident starts."""
    ctx, page = await logged_in(browser, web, "wangwei", "/incidents/new", viewport=PHONE)
    assert await page.locator("h1").inner_text() == "新建事件（接报）"
    title = f"平定县桃河油罐车侧翻{now().strftime('%H%M%S%f')}"
    await page.fill("input[name=title]", title)
    await page.fill("input[name=county]", "平定县")
    await page.fill("input[name=location]", "桃河娘子关段")
    await page.select_option("select[name=incident_type]", "hazardous_chemicals")
    await page.select_option("select[name=source]", "linkage_119")
    level = page.locator("#grading-level")
    await page.fill("input[name=direct_loss_yuan]", "")
    await level.filter(has_text="IV级").wait_for()  # nothing known: 一般
    # 附表1 较大 2: 10 to 50 poisoned or seriously injured → III (typed, not submitted).
    await page.fill("input[name=poisoned_or_injured]", "12")
    await level.filter(has_text="III级").wait_for(timeout=5000)
    assert "中毒" in await page.locator("#grading-reasons").inner_text()
    # 附表1 重大: a county town's drinking-water source cut → II, shown at once.
    await page.select_option("select[name=drinking_water_interrupted]", "county")
    await level.filter(has_text="II级").wait_for(timeout=5000)
    await shot(page, "new-incident-grading")
    # Reported before discovered: refused in one Chinese sentence, what was typed kept.
    await page.fill("input[name=discovered_at]", "2026-11-29T10:00")
    await page.fill("input[name=reported_at]", "2026-11-29T09:00")
    async with page.expect_navigation():
        await page.click("form#new-incident button[type=submit]")
    assert "接报时间早于发现时间" in await page.locator(".error").inner_text()
    # the time the report's model faults is marked, with the reason beside it
    assert await page.locator("[aria-invalid=true]").get_attribute("name") in ("discovered_at", "reported_at")
    assert await page.locator(".field-error").count() == 1
    assert await page.locator("input[name=title]").input_value() == title
    assert await page.locator("input[name=poisoned_or_injured]").input_value() == "12"
    # Corrected, the incident starts and its page opens, graded II.
    t0 = (now() - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    t1 = (now() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    await page.fill("input[name=discovered_at]", t0)
    await page.fill("input[name=reported_at]", t1)
    async with page.expect_navigation():
        await page.click("form#new-incident button[type=submit]")
    assert re.search(r"/incidents/[^/?]+\?started=1$", page.url), page.url
    assert await page.locator("h1").inner_text() == title
    iid = page.url.split("/incidents/")[1].split("?")[0]
    st = await api.status(client, iid)
    assert (st["title"], st["graded_level"], st["county"], st["source"]) == (title, "II", "平定县", "linkage_119")
    await shot(page, "new-incident-started")
    await ctx.close()


async def test_new_incident_form_is_not_offered_to_a_lead_and_a_forged_post_is_refused(browser, web, client):
    ctx, page = await logged_in(browser, web, "zhang", "/")
    assert await page.locator("header a[href='/incidents/new']").count() == 0
    resp = await page.goto(f"{web.url}/incidents/new")
    assert resp.status == 403
    await ctx.close()


async def test_drill_started_from_a_scenario_and_its_report(browser, web, client):
    ctx, page = await logged_in(browser, web, "wangwei", "/drills")
    assert await page.locator("h1").inner_text() == "演练"
    buttons = page.locator("form.inline-form button")
    assert await buttons.count() >= 3  # the three shipped scenarios
    async with page.expect_navigation():
        await buttons.first.click()
    assert "?started=1" in page.url
    iid = page.url.split("/incidents/")[1].split("?")[0]
    st = await api.status(client, iid)
    assert st["drill"] is True and "演练" in st["title"]
    await page.goto(f"{web.url}/drills/{iid}/report")
    report = await page.locator("#drill-report").inner_text()
    # the deadline chart beside the evaluation: one bar per deadline the drill has
    bars = await page.locator("#deadline-chart svg rect.bar").count()
    timed = [x["name"] for x in st["deadlines"] if x.get("due_at")]
    assert bars == len(timed) and bars >= 1, (bars, timed)
    assert st["title"] in report or iid in report
    await shot(page, "drill-report")
    # A real incident has no drill report.
    real = await start(client)
    resp = await page.goto(f"{web.url}/drills/{real}/report")
    assert resp.status == 404
    await ctx.close()
