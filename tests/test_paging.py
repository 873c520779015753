"""Pages end to end on a time-skipping dev server (conftest `skipping_env`): the roster (imported
from a CSV) names the duty officer, a real SMTP server (aiosmtpd) takes the e-mail; unacknowledged
within the plan's 5-minute window (virtual time) the page escalates to the 带班领导; an
acknowledgement stops it; a channel that is down (DingTalk robot at a closed port) is retried,
then the page falls back to e-mail, and readiness shows the channel down."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from temporalio.worker import Worker

from activities.page_store import PageStore
from activities.paging import PageActivities, PageRequest
from ecoplan import pages
from ecoplan.accounts import AccountStore
from ecoplan.contacts import ContactStore
from ecoplan.duty_import import read_roster
from ecoplan.duty_roster import DutyStore
from ecoplan.errors import ActionRefused
from ecoplan.paging_people import PagingPeople
from ecoplan.people import resolver
from ecoplan.readiness import paging_faults
from plan.calendar import SHANGHAI
from tests.helpers import eventually
from tests.test_channels import Mailbox, free_port
from workflows.paging import PagingWorkflow, page_workflow_id

WINDOW = timedelta(minutes=5)  # plan/paging_data escalation.window


@pytest.fixture
def bureau(tmp_path, monkeypatch):
    """Accounts with contacts, a roster whose shift runs now, an SMTP server, the settings."""
    db = tmp_path / "accounts.db"
    accounts = AccountStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    for u, role, display in [("wangwei", "duty_officer", "王伟"), ("li", "commander", "李局长")]:
        accounts.add(u, role, f"pw-{u}-桃河-2026", display=display)
    contacts = ContactStore(db)
    contacts.set("wangwei", email="wangwei@example.gov.cn", dingtalk="ww001")
    contacts.set("li", email="li@example.gov.cn")
    now = datetime.now(SHANGHAI)
    roster = tmp_path / "roster.csv"
    day = now.date() - timedelta(days=1)
    # Yesterday 12:00 to today 11:59, then to tomorrow 11:58 (an end before the start: the next day):
    # whenever today the test runs, a shift is on.
    roster.write_text("日期,班次,开始,结束,带班领导,值班员\n"
                      f"{day},一班,12:00,11:59,李局长,王伟\n{day + timedelta(days=1)},二班,11:59,11:58,li,wangwei\n",
                      encoding="utf-8")
    DutyStore(db).replace(read_roster(roster, {"officer": "值班员", "leader": "带班领导"}, resolver(accounts.list())))
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    for k, v in {"ECOPLAN_ACCOUNTS_DB": str(db), "ECOPLAN_HOME": str(tmp_path), "ECOPLAN_SMTP_HOST": "127.0.0.1",
                 "ECOPLAN_SMTP_PORT": str(smtp.port), "ECOPLAN_SMTP_TLS": "none",
                 "ECOPLAN_SMTP_FROM": "yj@example.gov.cn", "ECOPLAN_PAGE_LINK_SECRET": "test-link-key"}.items():
        monkeypatch.setenv(k, v)
    for k in ("ECOPLAN_DINGTALK_WEBHOOK", "ECOPLAN_WECOM_WEBHOOK", "ECOPLAN_SMS_ACCESS_KEY_ID", "ECOPLAN_SMTP_USER"):
        monkeypatch.delenv(k, raising=False)
    yield box, db
    smtp.stop()


def worker_for(client, tq: str) -> Worker:
    pager, people = PageActivities(), PagingPeople()
    return Worker(client, task_queue=tq, workflows=[PagingWorkflow],
                  activities=[pager.send_page, pager.record_page, people.plan_page, people.page_link],
                  activity_executor=ThreadPoolExecutor(max_workers=4))


def recipients(box) -> list[str]:
    return [r for rcpt, _ in box.messages for r in rcpt]


async def start(env, tq: str, drill: bool = False, participants=()) -> tuple[str, object]:
    page_id = f"t-{uuid.uuid4().hex[:8]}"
    req = PageRequest(page_id=page_id, incident_id="INC-1", event="new_incident", subject="新接报事件：桃河水质异常",
                      body="郊区 桃河，水污染", drill=drill, participants=list(participants))
    with env.with_time_skipping_disabled():
        await pages.start_page(env.client, req, task_queue=tq)
    return page_id, env.client.get_workflow_handle(page_workflow_id(page_id))


async def test_unacknowledged_page_escalates_to_the_leader_then_ack_stops_it(skipping_env, bureau):
    box, db = bureau
    env, tq = skipping_env, f"paging-{uuid.uuid4().hex[:6]}"
    async with worker_for(env.client, tq):
        page_id, handle = await start(env, tq)
        await eventually(lambda: _async(recipients(box)), lambda r: r == ["wangwei@example.gov.cn"], timeout=10)
        assert PageStore(db.parent / "pages.db").open_pages("wangwei")[0]["id"] == page_id
        await env.fast_forward(handle, WINDOW + timedelta(seconds=30))
        await eventually(lambda: _async(recipients(box)), lambda r: r[-1:] == ["li@example.gov.cn"], timeout=10)
        assert recipients(box) == ["wangwei@example.gov.cn", "li@example.gov.cn"]
        assert await pages.acknowledge(env.client, page_id, "li", "cli") == "已确认收到"
        st = await handle.result()  # a dict: the handle has no result type
        assert st["state"] == "acknowledged" and st["acked_by"] == "li"
        assert [s["step"] for s in st["steps"]] == ["sent", "unacknowledged", "escalated", "sent", "acknowledged"]
        with pytest.raises(Exception):  # a closed page takes no second acknowledgement
            await pages.acknowledge(env.client, page_id, "wangwei", "cli")
        assert PageStore(db.parent / "pages.db").page(page_id)["state"] == "acknowledged"


async def test_acknowledged_page_does_not_escalate_and_drill_goes_to_participants(skipping_env, bureau):
    box, db = bureau
    env, tq = skipping_env, f"paging-{uuid.uuid4().hex[:6]}"
    async with worker_for(env.client, tq):
        page_id, handle = await start(env, tq, drill=True, participants=["li"])
        await eventually(lambda: _async(recipients(box)), lambda r: r == ["li@example.gov.cn"], timeout=10)
        subject = box.messages[0][1].decode(errors="replace")
        assert "=?utf-8?" in subject  # the encoded subject; decoded below
        from email import message_from_bytes
        from email.header import decode_header, make_header
        mail = message_from_bytes(box.messages[0][1])
        assert str(make_header(decode_header(mail["Subject"]))).startswith("【演练】新接报事件")
        await pages.acknowledge(env.client, page_id, "li", "api")
        await env.fast_forward(handle, WINDOW * 3)
        st = await handle.result()
        assert st["state"] == "acknowledged" and recipients(box) == ["li@example.gov.cn"]


async def test_channel_down_falls_back_to_email(skipping_env, bureau, monkeypatch):
    box, db = bureau
    monkeypatch.setenv("ECOPLAN_DINGTALK_WEBHOOK", f"http://127.0.0.1:{free_port()}/robot/send?access_token=t")
    env, tq = skipping_env, f"paging-{uuid.uuid4().hex[:6]}"
    async with worker_for(env.client, tq):
        page_id, handle = await start(env, tq)

        async def mailed():
            await env.fast_forward(handle, timedelta(seconds=5))  # the send's retry backoff, in virtual time
            return recipients(box)
        await eventually(mailed, lambda r: r == ["wangwei@example.gov.cn"], timeout=20)
        st = (await handle.query(PagingWorkflow.status)).model_dump()
        assert [(s["channel"], s["step"]) for s in st["steps"]] == [("dingtalk", "failed"), ("email", "sent")]
        store = PageStore(db.parent / "pages.db")
        assert "dingtalk" in store.channels_down()
        assert [s["outcome"] for s in store.sends(page_id)] == ["failed", "sent"]
        lines = paging_faults(store, WINDOW)
        assert lines[0].startswith("通知渠道中断：钉钉") and "未连通" in lines[0] and "access_token" not in lines[0]
        await pages.acknowledge(env.client, page_id, "wangwei", "cli")
        await handle.result()
    with pytest.raises(ActionRefused):
        await pages.acknowledge(env.client, page_id, "wangwei", "cli")


async def _async(value):
    return value


async def test_worker_sigkill_mid_page_loses_and_doubles_nothing(skipping_env, bureau):
    """The worker is SIGKILLed while the page waits for an acknowledgement; another takes over
    from history: the officer's e-mail is not sent again, and the escalation still comes."""
    import asyncio
    import os
    import signal
    import sys
    from pathlib import Path

    box, db = bureau
    env, tq = skipping_env, f"paging-{uuid.uuid4().hex[:6]}"
    address = env.client.service_client.config.target_host
    script = str(Path(__file__).with_name("paging_worker.py"))

    async def spawn(*extra):
        return await asyncio.create_subprocess_exec(
            sys.executable, script, address, tq, *extra, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(script).parent.parent)})

    first, second = await asyncio.gather(spawn(), spawn("wait"))  # the imports overlap
    try:
        lines = await asyncio.wait_for(asyncio.gather(first.stdout.readline(), second.stdout.readline()), 60)
        assert [x.strip() for x in lines] == [b"ready", b"loaded"]
        page_id, handle = await start(env, tq)
        await eventually(lambda: _async(recipients(box)), lambda r: r == ["wangwei@example.gov.cn"], timeout=10)
        store = PageStore(db.parent / "pages.db")  # the send is recorded: the page now waits on its timer
        await eventually(lambda: _async(store.page(page_id)), lambda p: p and p["channel"] == "email", timeout=10)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        second.stdin.write(b"go\n")
        await second.stdin.drain()
        assert (await asyncio.wait_for(second.stdout.readline(), 30)).strip() == b"ready"
        await env.fast_forward(handle, WINDOW + timedelta(seconds=30))
        await eventually(lambda: _async(recipients(box)), lambda r: len(r) >= 2, timeout=15)
        await pages.acknowledge(env.client, page_id, "li", "cli")
        st = await handle.result()
    finally:
        for p in (first, second):
            if p.returncode is None:
                p.kill()
                await p.wait()
    assert recipients(box) == ["wangwei@example.gov.cn", "li@example.gov.cn"]
    assert [s["step"] for s in st["steps"]].count("sent") == 2


def test_a_send_is_claimed_once(tmp_path):
    """The idempotency key: a send begun and never finished (a worker killed between the
    provider's answer and the record) is never made again; a refused one may be."""
    store = PageStore(tmp_path / "pages.db")
    assert store.claim("p/u/email", "p", "u", "email") == "go"
    assert store.claim("p/u/email", "p", "u", "email") == "uncertain"
    store.record_send("p/u/sms", "p", "u", "sms", False, "refused") if store.claim("p/u/sms", "p", "u", "sms") else None
    assert store.claim("p/u/sms", "p", "u", "sms") == "go"  # refused before: tried again
    store.record_send("p/u/sms", "p", "u", "sms", True, "ok")
    assert store.claim("p/u/sms", "p", "u", "sms") == "sent"
    assert store.channels_down() == {}  # sms's last send went through
