"""Pages end to end on a time-skipping dev server (conftest `skipping_env`): the roster (imported
from a CSV) names the duty officer, a real SMTP server (aiosmtpd) takes the e-mail; unacknowledged
within the plan's 5-minute window (virtual time) the page escalates to the 带班领导; an
acknowledgement stops it; a channel that is down (DingTalk robot at a closed port) is retried,
then the page falls back to e-mail, and readiness shows the channel down."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

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
BOUND_S = 60  # a bound on each wait (it ends when its condition holds), for a loaded machine


@pytest.fixture
def bureau(request, tmp_path, monkeypatch):
    """Accounts with contacts, a roster whose shift runs now, an SMTP server, the settings. The
    stores on the SQLite files, or (`@pytest.mark.parametrize("bureau", ["postgresql"],
    indirect=True)`) in a fresh PostgreSQL schema named by ECOPLAN_DATABASE_URL: accounts,
    contacts, roster and pages alike (issue 27). Escalation, channel fallback and the worker
    SIGKILL run on both (`["sqlite", "postgresql"]`): their pages read roster and contacts from
    the store, claim each send and record each step there, and the tests read the pages, sends
    and channels back from it; the other tests here use the SQLite files."""
    db: Path | str = tmp_path / "accounts.db"
    if getattr(request, "param", "sqlite") == "postgresql":
        db = request.getfixturevalue("pg_cluster").fresh_url()
        monkeypatch.setenv("ECOPLAN_DATABASE_URL", db)
    else:
        monkeypatch.delenv("ECOPLAN_DATABASE_URL", raising=False)
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
    for k, v in {"ECOPLAN_ACCOUNTS_DB": str(tmp_path / "accounts.db"), "ECOPLAN_HOME": str(tmp_path), "ECOPLAN_SMTP_HOST": "127.0.0.1",
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


@pytest.mark.parametrize("bureau", ["sqlite", "postgresql"], indirect=True)
async def test_unacknowledged_page_escalates_to_the_leader_then_ack_stops_it(skipping_env, bureau):
    box, db = bureau
    env, tq = skipping_env, f"paging-{uuid.uuid4().hex[:6]}"
    async with worker_for(env.client, tq):
        page_id, handle = await start(env, tq)
        await eventually(lambda: _async(recipients(box)), lambda r: r == ["wangwei@example.gov.cn"], timeout=BOUND_S)
        await sent_and_recorded(db, page_id, "wangwei")
        assert PageStore.beside(db).open_pages("wangwei")[0]["id"] == page_id
        await env.fast_forward(handle, WINDOW + timedelta(seconds=30))
        await eventually(lambda: _async(recipients(box)), lambda r: r[-1:] == ["li@example.gov.cn"], timeout=BOUND_S)
        assert recipients(box) == ["wangwei@example.gov.cn", "li@example.gov.cn"]
        await sent_and_recorded(db, page_id, "li")  # acknowledged after the send, not during it
        assert await pages.acknowledge(env.client, page_id, "li", "cli") == "已确认收到"
        st = await handle.result()  # a dict: the handle has no result type
        assert st["state"] == "acknowledged" and st["acked_by"] == "li"
        assert [s["step"] for s in st["steps"]] == ["sent", "unacknowledged", "escalated", "sent", "acknowledged"]
        with pytest.raises(Exception):  # a closed page takes no second acknowledgement
            await pages.acknowledge(env.client, page_id, "wangwei", "cli")
        assert PageStore.beside(db).page(page_id)["state"] == "acknowledged"


async def test_acknowledged_page_does_not_escalate_and_drill_goes_to_participants(skipping_env, bureau):
    box, db = bureau
    env, tq = skipping_env, f"paging-{uuid.uuid4().hex[:6]}"
    async with worker_for(env.client, tq):
        page_id, handle = await start(env, tq, drill=True, participants=["li"])
        await eventually(lambda: _async(recipients(box)), lambda r: r == ["li@example.gov.cn"], timeout=BOUND_S)
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


@pytest.mark.parametrize("bureau", ["sqlite", "postgresql"], indirect=True)
async def test_channel_down_falls_back_to_email(skipping_env, bureau, monkeypatch):
    box, db = bureau
    monkeypatch.setenv("ECOPLAN_DINGTALK_WEBHOOK", f"http://127.0.0.1:{free_port()}/robot/send?access_token=t")
    env, tq = skipping_env, f"paging-{uuid.uuid4().hex[:6]}"
    async with worker_for(env.client, tq):
        page_id, handle = await start(env, tq)

        async def mailed():
            await env.fast_forward(handle, timedelta(seconds=5))  # the send's retry backoff, in virtual time
            return recipients(box)
        await eventually(mailed, lambda r: r == ["wangwei@example.gov.cn"], timeout=BOUND_S)
        await sent_and_recorded(db, page_id, "wangwei")
        st = (await handle.query(PagingWorkflow.status)).model_dump()
        assert [(s["channel"], s["step"]) for s in st["steps"]] == [("dingtalk", "failed"), ("email", "sent")]
        store = PageStore.beside(db)
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


async def sent_and_recorded(db, page_id: str, username: str) -> dict:
    """Wait until the page store has the page with `username` on e-mail: the workflow records
    that after the send's activity returned and its step was taken, just before it waits for
    the acknowledgement (workflows/paging.py). The e-mail reaches the box during the send, and
    the page's first record runs beside the send: neither says the send is done."""
    store = PageStore.beside(db)
    return await eventually(lambda: _async(store.page(page_id)),
                            lambda p: p is not None and (p["username"], p["channel"]) == (username, "email"),
                            timeout=BOUND_S)


@pytest.mark.parametrize("bureau", ["sqlite", "postgresql"], indirect=True)
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
        await eventually(lambda: _async(recipients(box)), lambda r: r == ["wangwei@example.gov.cn"], timeout=BOUND_S)
        store = PageStore.beside(db)  # the send is recorded: the page now waits on its timer
        await eventually(lambda: _async(store.page(page_id)), lambda p: p and p["channel"] == "email", timeout=BOUND_S)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        second.stdin.write(b"go\n")
        await second.stdin.drain()
        assert (await asyncio.wait_for(second.stdout.readline(), 30)).strip() == b"ready"
        await env.fast_forward(handle, WINDOW + timedelta(seconds=30))
        await eventually(lambda: _async(recipients(box)), lambda r: len(r) >= 2, timeout=BOUND_S)
        await pages.acknowledge(env.client, page_id, "li", "cli")
        st = await handle.result()
    finally:
        for p in (first, second):
            if p.returncode is None:
                p.kill()
                await p.wait()
    assert recipients(box) == ["wangwei@example.gov.cn", "li@example.gov.cn"]
    assert [s["step"] for s in st["steps"]].count("sent") == 2


def test_a_send_is_claimed_once(store_target):
    """The idempotency key: a send begun and never finished (a worker killed between the
    provider's answer and the record) is never made again; a refused one may be. On the SQLite
    file and on PostgreSQL: the same statement, the same answers."""
    store = PageStore(store_target)
    assert store.claim("p/u/email", "p", "u", "email") == "go"
    assert store.claim("p/u/email", "p", "u", "email") == "uncertain"
    store.record_send("p/u/sms", "p", "u", "sms", False, "refused") if store.claim("p/u/sms", "p", "u", "sms") else None
    assert store.claim("p/u/sms", "p", "u", "sms") == "go"  # refused before: tried again
    store.record_send("p/u/sms", "p", "u", "sms", True, "ok")
    assert store.claim("p/u/sms", "p", "u", "sms") == "sent"
    assert store.channels_down() == {}  # sms's last send went through
    assert [s["outcome"] for s in store.sends("p")] in (["sending", "sent"], ["sent", "sending"])
    assert store.use_link("n-1") and not store.use_link("n-1")  # a link is used once


def test_one_claim_wins_among_machines_claiming_at_once(store_target):
    """Eight workers (threads, each with its own store object and connection, as on eight
    machines) claim the same send at the same moment: exactly one may send; the others are told
    it is under way. Then one refused send is retried by all eight at once: again exactly one."""
    import threading

    stores = [PageStore(store_target) for _ in range(8)]
    start = threading.Barrier(8)

    def claim_all() -> list[str]:
        got: list[str] = [""] * 8

        def one(i: int) -> None:
            start.wait(10)
            got[i] = stores[i].claim("p2/u/email", "p2", "u", "email")
        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return sorted(got)

    assert claim_all() == ["go"] + ["uncertain"] * 7
    stores[0].record_send("p2/u/email", "p2", "u", "email", False, "refused")
    assert stores[1].channels_down()["email"]["detail"] == "refused"
    assert claim_all() == ["go"] + ["uncertain"] * 7  # refused before: one retry, not eight
    stores[2].record_send("p2/u/email", "p2", "u", "email", True)
    assert claim_all() == ["sent"] * 8
    stores[3].record_send("p2/u/email", "p2", "u", "email", False, "late")  # a sent send stays sent
    assert [s["outcome"] for s in stores[4].sends("p2")] == ["sent"]


async def test_a_page_begun_before_plans_carried_links_replays():
    """A page whose history was recorded by the code before the plan carried each person's link
    and before the record went beside the first send (a page_link activity per person, the record
    first; tests/paging_histories/, made with commit 5f8f2d4): the workflow replays it as it ran."""
    from pathlib import Path

    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from ecoplan.connection import DATA_CONVERTER

    path = Path(__file__).parent / "paging_histories" / "escalated_then_acknowledged.before_links.json"
    history = WorkflowHistory.from_json("page-before-links", path.read_text(encoding="utf-8"))
    assert sum(1 for e in history.events if e.activity_task_scheduled_event_attributes.activity_type.name
               == "page_link") == 2  # the old shape: one link activity per person
    result = await Replayer(workflows=[PagingWorkflow], data_converter=DATA_CONVERTER).replay_workflow(
        history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_the_link_key_is_made_once_when_pages_are_planned_at_once(tmp_path, monkeypatch):
    """A burst of deadlines plans many pages at once, each making links: the first use makes
    the key file, and every caller signs with that one key (none with a key of its own or a file
    read half written); a link made by one verifies with the key another read."""
    import threading

    from ecoplan import page_links

    monkeypatch.setenv("ECOPLAN_HOME", str(tmp_path))
    monkeypatch.delenv("ECOPLAN_PAGE_LINK_SECRET", raising=False)
    keys, errors, start = [], [], threading.Barrier(16)

    def plan():
        start.wait()
        try:
            keys.append(page_links._key())
        except Exception as e:  # noqa: BLE001 - what failed is the finding
            errors.append(repr(e))
    threads = [threading.Thread(target=plan) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(keys) == 16 and len(set(keys)) == 1 and len(keys[0]) >= 32
    assert [p.name for p in tmp_path.iterdir()] == ["page-link.key"]  # no temporary file left
    link = page_links.make("p-1", "wangwei", 600)
    q = dict(x.split("=", 1) for x in link.split("?", 1)[1].split("&"))
    page_links.check("p-1", q["u"], q["e"], q["n"], q["s"])  # raises LinkRefused if it does not verify


# ---------------------------------------------------------------------------- the incident's own pages
# The new incident's page (新接报事件) and the commander's (待批准启动响应) come from the incident's own
# notices, delivered and paged by the worker under the notice's key (workflows/duty_desk.py,
# activities/page_events.py): the caller that started the incident pages nothing.

def _level_iii():
    """5,000,000 yuan of direct loss: 较大 (附表1), level III."""
    from plan.grading import Assessment
    return Assessment(direct_loss_yuan=5_000_000)


def _sent(box) -> list[tuple[str, str]]:
    """(recipient, decoded subject) of each e-mail, in the order they arrived."""
    from email import message_from_bytes
    from email.header import decode_header, make_header
    out = []
    for rcpt, raw in box.messages:
        subject = str(make_header(decode_header(message_from_bytes(raw)["Subject"])))
        out += [(r, subject) for r in rcpt]
    return out


async def _page_events(store: PageStore, iid: str) -> list[tuple[str, str]]:
    return sorted((p["event"], p["username"]) for p in store.incident_pages(iid))


async def _stop_pages(client, iid: str) -> None:
    """Leave no page of this incident waiting on the session's server after the test."""
    async for wf in client.list_workflows("WorkflowType = 'PagingWorkflow' AND ExecutionStatus = 'Running'"):
        if iid in wf.id:
            await client.get_workflow_handle(wf.id).terminate("test over")


async def test_an_incident_awaiting_activation_pages_the_commander(client, worker, bureau):
    """Graded III (附表1 较大: 5,000,000 yuan), the response is the bureau's and waits for the 总指挥's
    approval (附件1): the officer on shift is paged of the new incident, the commander (li, the only
    指挥/副指挥 account) of the activation awaited. Graded IV, the county leads (4.1.1): no commander's
    page, until the bureau's 初步认定 raises the event to III before activation."""
    from ecoplan import api
    from tests.helpers import COMMANDER, report
    from workflows import messages as m

    box, db = bureau
    store = PageStore.beside(db)
    a = await api.start_incident(client, report(title="桃河化工厂泄漏", assessment=_level_iii()))
    b = await api.start_incident(client, report(title="冶西镇异味"))
    try:
        assert await eventually(lambda: _page_events(store, a), lambda e: len(e) == 2, timeout=BOUND_S) == [
            ("awaiting_activation", "li"), ("new_incident", "wangwei")]
        assert await eventually(lambda: _page_events(store, b), lambda e: len(e) == 1, timeout=BOUND_S) == [
            ("new_incident", "wangwei")]
        mails = await eventually(lambda: _async(_sent(box)), lambda s: len(s) == 3, timeout=BOUND_S)
        assert sorted(mails) == [("li@example.gov.cn", "待批准启动III级响应：桃河化工厂泄漏"),
                                 ("wangwei@example.gov.cn", "新接报事件：冶西镇异味"),
                                 ("wangwei@example.gov.cn", "新接报事件：桃河化工厂泄漏")]
        await api.act(client, b, "determine_event_level",
                      m.DetermineEventLevel(by=COMMANDER, level="III", reason="下游取水口超标"))
        assert await eventually(lambda: _page_events(store, b), lambda e: len(e) == 2, timeout=BOUND_S) == [
            ("awaiting_activation", "li"), ("new_incident", "wangwei")]
        await eventually(lambda: _async(_sent(box)), lambda s: len(s) == 4, timeout=BOUND_S)
        assert _sent(box)[-1] == ("li@example.gov.cn", "待批准启动III级响应：冶西镇异味")
        # Activated, nothing waits any more: a second 认定 (II) pages nobody.
        await api.act(client, b, "activate_response", m.ActivateResponse(by=COMMANDER))
        await api.act(client, b, "determine_event_level",
                      m.DetermineEventLevel(by=COMMANDER, level="II", reason="影响扩大", final=True))

        async def activation_steps():
            return [e["detail"]["step"] for e in (await api.status(client, b))["timeline"]
                    if e["action"] == "page_step" and e["detail"]["event"] == "awaiting_activation"]
        assert await eventually(activation_steps, lambda s: s == ["sent"], timeout=BOUND_S) == ["sent"]
        assert len(await _page_events(store, b)) == 2 and len(_sent(box)) == 4
    finally:
        for iid in (a, b):
            await _stop_pages(client, iid)


async def test_a_drill_pages_only_its_participant(client, worker, bureau):
    """A drill (graded III) started by zhou, a duty officer not on shift: its new-incident page and
    its activation page go to zhou only, each subject 【演练】; the officer on shift and the
    commander hear nothing."""
    from ecoplan import api
    from plan.incident import Actor
    from tests.helpers import report

    box, db = bureau
    AccountStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)).add(
        "zhou", "duty_officer", "pw-zhou-桃河-2026", display="周演练")
    ContactStore(db).set("zhou", email="zhou@example.gov.cn")
    store = PageStore.beside(db)
    iid = await api.start_incident(client, report(title="演练：桃河泄漏", drill=True, assessment=_level_iii()),
                                   started_by=Actor(name="zhou", role="值班员", role_id="duty_officer", via="web"))
    try:
        assert await eventually(lambda: _page_events(store, iid), lambda e: len(e) == 2, timeout=BOUND_S) == [
            ("awaiting_activation", "zhou"), ("new_incident", "zhou")]
        mails = await eventually(lambda: _async(_sent(box)), lambda s: len(s) == 2, timeout=BOUND_S)
        assert sorted(mails) == [("zhou@example.gov.cn", "【演练】待批准启动III级响应：演练：桃河泄漏"),
                                 ("zhou@example.gov.cn", "【演练】新接报事件：演练：桃河泄漏")]
        assert all(p["drill"] for p in store.incident_pages(iid))
    finally:
        await _stop_pages(client, iid)
    assert [r for r, _ in _sent(box)] == ["zhou@example.gov.cn"] * 2  # nobody else, then or since


@pytest.mark.slow
async def test_new_incident_page_survives_its_caller_and_a_worker_sigkill(skipping_env, bureau, tmp_path):
    """The incident is started while no worker runs, and its caller does nothing more (it may die):
    the worker that comes later pages the officer on shift. That worker is SIGKILLed while the
    incident's first delivery (the new-incident notice, held at the webhook) is under way; the next
    worker's retried delivery finds the page started (its id is the notice's key): one page, one
    e-mail, the notice at the webhook once."""
    import threading

    from ecoplan import api
    from tests.helpers import report
    from tests.procs import Webhook, WorkerProcess, poll

    box, db = bureau
    env = skipping_env
    store = PageStore.beside(db)
    hook = Webhook(hold=threading.Event()).start()
    workers = WorkerProcess(env.client.service_client.config.target_host, tmp_path,
                            {"ECOPLAN_WEBHOOK_URL": hook.url, "ECOPLAN_HOME": str(db.parent)})
    try:
        with env.with_time_skipping_disabled():  # the incident's own clock: its deadlines are hours away
            iid = await api.start_incident(env.client, report(title="桃河水质异常"), wait_ready=0)
        await workers.start()  # ------------------------------------------------------------ worker 1
        await poll(lambda: asyncio.to_thread(hook.held.wait, 0.2), BOUND_S, 0, "the first delivery at the webhook")
        notice = hook.held_keys[0]
        assert notice == f"incident-{iid}/e1"  # the incident's first notice: 新接报事件
        # The page was started first (before the webhook); its send recorded, the page waits for an ack.
        page = await eventually(lambda: _async(store.page(f"incident-{iid}-e1")), lambda p: p and p["channel"] == "email",
                                timeout=BOUND_S)
        assert page["event"] == "new_incident" and page["username"] == "wangwei"
        await workers.kill()  # ---------------------------------------------------- SIGKILL mid-delivery
        hook.hold.set()
        hook.hold = None
        await workers.start()  # ------------------------------------------------------------ worker 2
        # The held call is answered to a dead worker; the delivery (30 s to close) times out and the
        # incident tries it again: the webhook sees the notice a second time (a repeat, dropped by key).
        await eventually(lambda: _async(hook.snapshot()[2]), lambda r: r.get(notice) == 1, timeout=BOUND_S + 30)
        assert hook.snapshot()[1][notice]["event"] == "incident_reported"
        assert await _page_events(store, iid) == [("new_incident", "wangwei")]
        assert _sent(box) == [("wangwei@example.gov.cn", "新接报事件：桃河水质异常")]
        await pages.acknowledge(env.client, f"incident-{iid}-e1", "wangwei", "cli")
    finally:
        await workers.kill()
        hook.stop()


async def test_a_drill_pages_its_participants_among_those_each_event_would_reach(skipping_env, bureau, tmp_path):
    """A drill (graded III) started by wangwei, the officer on shift, naming zhang (a group lead)
    its participant: the list is [wangwei, zhang]. Worked out by hand from plan/paging_data and the
    roster (officer wangwei, leader li; li is also the only 指挥):
    - 新接报事件 would reach wangwei, li (leader), li (commander): of the participants, wangwei;
    - 待批准启动响应 would reach li (指挥) only, no participant: the drill's starter, wangwei;
    - 等待组长签署 would reach the lead zhang, then the chain wangwei, li: zhang first, and when
      zhang does not acknowledge within the window, wangwei; then the page is over (exhausted).
    li, the commander and the leader on shift, is not in the list and gets nothing. Every subject
    starts 【演练】."""
    from ecoplan import api
    from plan.incident import Actor
    from tests.drive import act
    from tests.helpers import COMMANDER, DUTY, LEADS, SIGNED, report
    from tests.test_filing import settings_for
    from worker import build_worker
    from workflows import messages as m
    from plan.incident import ReportContent

    box, db = bureau
    AccountStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)).add(
        "zhang", "lead", "pw-zhang-桃河-2026", display="张监测")
    ContactStore(db).set("zhang", email="zhang@example.gov.cn")
    store = PageStore(db.parent / "pages.db")
    env, tq = skipping_env, f"drill-{uuid.uuid4().hex[:6]}"
    client = env.client
    title = "演练：桃河泄漏"
    async with build_worker(client, settings_for(tmp_path), task_queue=tq):
        with env.with_time_skipping_disabled():
            iid = await api.start_incident(
                client, report(title=title, drill=True, assessment=_level_iii()), task_queue=tq,
                started_by=Actor(name="wangwei", role="值班员", role_id="duty_officer", via="web"),
                drill_participants=["wangwei", "zhang"])
        try:
            assert (await api.status(client, iid))["drill"] is True
            assert await eventually(lambda: _page_events(store, iid), lambda e: len(e) == 2, timeout=BOUND_S) == [
                ("awaiting_activation", "wangwei"), ("new_incident", "wangwei")]
            await act(client, iid, "activate_response", m.ActivateResponse(by=COMMANDER))
            await act(client, iid, "submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial",
                                                                   content=ReportContent(summary="初报")))
            await act(client, iid, "dispatch", m.Dispatch(by=DUTY, leads={**LEADS, "monitoring": "zhang"}))
            await act(client, iid, "propose_termination", m.ProposeTermination(by=DUTY, reason="特征污染物已降至本底水平"))
            pages_now = await eventually(lambda: _async(store.incident_pages(iid)), lambda p: len(p) == 3,
                                         timeout=BOUND_S)
            signoff = next(p for p in pages_now if p["event"] == "signoff_waiting")
            assert signoff["username"] == "zhang"
            await eventually(lambda: _async(_sent(box)), lambda s: len(s) == 3, timeout=BOUND_S)
            # zhang does not acknowledge: past the window the page goes on to wangwei, then ends.
            handle = client.get_workflow_handle(page_workflow_id(signoff["id"]))
            await env.fast_forward(handle, WINDOW + timedelta(seconds=30))
            await eventually(lambda: _async(_sent(box)), lambda s: len(s) == 4, timeout=BOUND_S)
            await env.fast_forward(handle, WINDOW + timedelta(seconds=30))
            st = await handle.result()
            assert st["state"] == "exhausted"
            assert [(s["username"], s["step"]) for s in st["steps"]] == [
                ("zhang", "sent"), ("zhang", "unacknowledged"), ("wangwei", "escalated"), ("wangwei", "sent"),
                ("wangwei", "unacknowledged"), ("", "exhausted")]
            signoff_subject = f"【演练】应急响应终止签报（第1轮）：{title}"
            assert sorted(_sent(box)) == sorted([
                ("wangwei@example.gov.cn", f"【演练】新接报事件：{title}"),
                ("wangwei@example.gov.cn", f"【演练】待批准启动III级响应：{title}"),
                ("zhang@example.gov.cn", signoff_subject),
                ("wangwei@example.gov.cn", signoff_subject)])
            assert all(p["drill"] for p in store.incident_pages(iid))
        finally:
            await _stop_pages(client, iid)
    assert "li@example.gov.cn" not in [r for r, _ in _sent(box)]  # outside the list: nothing, then or since
    assert all(subject.startswith("【演练】") for _, subject in _sent(box))


def test_drill_participants_are_accounts_the_starter_first(bureau):
    """Names are usernames or a 姓名 one account has; the starter leads the list (as a username
    where the account is theirs); an unknown or disabled name refuses them all, in one line."""
    from ecoplan.people import drill_participants

    box, db = bureau
    accounts = AccountStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    accounts.add("zhang", "lead", "pw-zhang-桃河-2026", display="张监测")
    accounts.add("old", "lead", "pw-old-桃河-2026-x", display="老组长")
    accounts.set_disabled("old", True)
    assert drill_participants(accounts, ["zhang,李局长"], "王伟") == (["wangwei", "zhang", "li"], None)
    assert drill_participants(accounts, [], "wangwei") == (["wangwei"], None)
    assert drill_participants(accounts, ["wangwei"], "wangwei") == (["wangwei"], None)
    assert drill_participants(accounts, [], "王值班") == (["王值班"], None)  # the CLI's operator, no account
    assert drill_participants(accounts, ["zhangsan，zhang", "old", "lisi"], "wangwei") == (
        [], "演练参与人：没有可用的账号 zhangsan、old、lisi，演练未开始（参与人须是已启用的账号）")
