"""The README's screenshots of the 事件列表 and 我的待办, taken with Playwright (Debian's
Chromium, as the browser tests) against the real console on a dev server of its own, with a
handful of incidents brought to their stages by the client API as the bureau's people would:

    .venv/bin/python docs/screenshots/take.py          # writes docs/screenshots/*.png, ~1 min

Everything runs in a temporary folder (the dev server, the worker's archive and records, the
accounts); nothing is downloaded. The accounts and the console are the browser tests'
(tests/web_helpers.py), so the people on the pictures are the tests' 王伟, 李局长, 张监测 ….
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from temporalio.testing import WorkflowEnvironment  # noqa: E402

from activities import search_attributes as sa  # noqa: E402
from activities.settings import ActivitySettings  # noqa: E402
from ecoplan import api, server  # noqa: E402
from ecoplan.connection import DATA_CONVERTER  # noqa: E402
from plan.incident import Actor, IncidentReport, ReportContent  # noqa: E402
from tests.helpers import eventually, now  # noqa: E402
from tests.web_helpers import LEADS, PEOPLE, password, web_service  # noqa: E402
from workflows import messages as m  # noqa: E402

OUT = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("ECOPLAN_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def person(username: str, via: str = "web") -> Actor:
    role_id, display = PEOPLE[username]
    role = {"duty_officer": "值班员", "commander": "指挥", "lead": "工作组组长"}[role_id]
    return Actor(name=username, role=role, role_id=role_id, display=display, via=via)


DUTY, BOSS = person("wangwei"), person("li")
SIGNED = {"signed_by": "李局长", "contact_person": "王伟", "contact_phone": "0353-2020000"}
# (title, county, place, type, hours since it was reported, 附表1 facts, how far it has gone)
INCIDENTS = [
    ("桃河化工厂储罐泄漏", "平定县", "冶西镇桃河段", "hazardous_chemicals", 30, {"direct_loss_yuan": 6_000_000}, "signed"),
    ("盂县尾矿库渗漏", "盂县", "梁家寨乡", "solid_waste", 2, {}, "reported"),
    ("郊区加油站柴油泄漏", "郊区", "河底镇", "water", 5, {"evacuated": 200}, "dispatched"),
    ("矿区选煤厂废水外溢", "矿区", "沙坪街道", "water", 9, {}, "activated"),
    ("城区危化品运输车侧翻", "城区", "桃北东街", "hazardous_chemicals", 1, {"evacuated": 60}, "reported"),
    ("郊区污水处理厂超标排放", "郊区", "荫营镇", "water", 20, {"direct_loss_yuan": 5_500_000}, "proposed"),
    ("平定县陶瓷厂废气超标", "平定县", "冠山镇", "air", 70, {"direct_loss_yuan": 6_000_000}, "closed"),
]


async def act(client, iid: str, action: str, inp: m.Action) -> None:
    await api.act(client, iid, action, inp)


async def bring(client, iid: str, to: str) -> None:
    """The incident's steps up to `to`, each by the account that takes it."""
    if to == "reported":
        return
    await act(client, iid, "activate_response", m.ActivateResponse(by=BOSS))
    await act(client, iid, "submit_report", m.SubmitReport(by=DUTY, kind="initial", **SIGNED,
                                                           content=ReportContent(summary="事发经过与初步处置")))
    if to == "activated":
        return
    await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads=LEADS))
    if to == "dispatched":
        return
    await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="特征污染物已降至本底水平"))
    rnd = (await api.status(client, iid))["round"]
    for group, username in LEADS.items():
        if to == "proposed" and group == "monitoring":
            continue  # 张监测's sign-off is still open: his 待我签署
        await act(client, iid, "sign_off", m.SignOff(by=person(username), group=group, lead=username,
                                                     decision="approve", opinion="同意终止", round=rnd))
    if to in ("signed", "proposed"):
        return
    await act(client, iid, "approve_termination", m.ApproveTermination(
        by=BOSS, instruction="同意终止", follow_up=m.FollowUp(continue_monitoring=False, decided_by="市应急指挥部会同专家组")))
    # Level III: the province investigates (32号令 第四条); the bureau's assessment (5.3); the close.
    await act(client, iid, "record_other_act", m.RecordOtherAct(by=DUTY, step="investigation", document="晋环调〔2026〕3号"))
    await act(client, iid, "assessment_review_passed", m.AssessmentReviewPassed(by=DUTY))
    await act(client, iid, "submit_assessment_report", m.SubmitAssessmentReport(by=DUTY))
    await act(client, iid, "submit_report", m.SubmitReport(by=DUTY, kind="final", **SIGNED,
                                                           content=ReportContent(summary="处置完毕，水质恢复")))
    await act(client, iid, "close", m.Close(by=DUTY, note="处置完毕"))


async def seed(client) -> None:
    t = now()
    for title, county, place, kind, hours, facts, to in INCIDENTS:
        iid = await api.start_incident(client, IncidentReport(
            title=title, county=county, location=place, incident_type=kind, source="hotline_12369", reporter="12369热线",
            discovered_at=t - timedelta(hours=hours, minutes=20), reported_at=t - timedelta(hours=hours),
            assessment=facts), started_by=DUTY)
        await bring(client, iid, to)


async def pictures(url: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

        async def page_of(username: str, viewport: dict):
            ctx = await b.new_context(viewport=viewport, locale="zh-CN")
            page = await ctx.new_page()
            await page.goto(f"{url}/login")
            await page.fill("input[name=username]", username)
            await page.fill("input[name=password]", password(username))
            await page.click("button[type=submit]")
            await page.wait_for_load_state()
            return page

        wide = {"width": 1280, "height": 640}
        du = await page_of("du", wide)

        async def listed() -> int:  # open incidents from visibility, closed ones from the records
            await du.goto(f"{url}/incidents")
            return await du.locator("#incident-list tbody tr[data-incident]").count()

        await eventually(listed, lambda n: n == len(INCIDENTS), timeout=60)
        await du.screenshot(path=str(OUT / "incident-list.png"), full_page=True)
        li = await page_of("li", wide)

        async def waiting() -> str:
            await li.goto(f"{url}/todo")
            return await li.locator("#todo-approve").inner_text()

        await eventually(waiting, lambda text: "桃河化工厂储罐泄漏" in text, timeout=30)
        await li.screenshot(path=str(OUT / "todo-commander.png"), full_page=True)
        zhang = await page_of("zhang", {"width": 390, "height": 640})

        async def to_sign() -> str:
            await zhang.goto(f"{url}/todo")
            return await zhang.locator("#todo-sign").inner_text()

        await eventually(to_sign, lambda text: "郊区污水处理厂超标排放" in text, timeout=30)
        await zhang.screenshot(path=str(OUT / "todo-lead-phone.png"), full_page=True)
        await b.close()


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ecoplan-shots-") as tmp:
        base = Path(tmp)
        os.environ["ECOPLAN_ACCOUNTS_DB"] = str(base / "accounts.db")  # the pages' stores sit beside it
        env = await WorkflowEnvironment.start_local(dev_server_existing_path=server.temporal_binary(),
                                                    search_attributes=sa.ALL, data_converter=DATA_CONVERTER,
                                                    dev_server_log_level="error")
        try:
            from worker import build_worker

            settings = ActivitySettings(archive_dir=base / "archive", outbox_path=base / "outbox.jsonl",
                                        records_db=base / "records.db")
            async with build_worker(env.client, settings), \
                    web_service(env.client, base / "accounts.db", records_db=settings.records_db) as web:
                await seed(env.client)
                await pictures(web.url)
        finally:
            await env.shutdown()
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(OUT.glob("*.png"))))


if __name__ == "__main__":
    asyncio.run(main())
