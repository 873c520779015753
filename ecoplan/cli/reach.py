"""`ecoplan readiness` (who a page may have to reach and cannot be: ecoplan/readiness.py), `ecoplan pages`
(open pages, an incident's pages), `ecoplan ack PAGE_ID` (acknowledge one: workflows/paging.py) and
`ecoplan notifications` (the notifications sent, as the paging store records them: activities/notify.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Optional

import typer

from ecoplan.accounts import AccountStore
from ecoplan.cli.common import JsonOpt, emit, table
from ecoplan.cli.typer_zh import Typer
from ecoplan.contacts import ContactStore, configured_channels
from ecoplan.duty_roster import DutyStore
from ecoplan.errors import Fail
from ecoplan.readiness import open_incident_leads, readiness, week
from plan.calendar import SHANGHAI
from plan.loader import load_plan
from plan.paging import CHANNEL_NAMES, load_paging

app = Typer()


def working_channels() -> list[str]:
    """The channels set up and not down now (a channel is down after failed sends: activities/page_store.py)."""
    from activities.page_store import PageStore

    down = set(PageStore().channels_down())
    return [c for c in configured_channels() if c not in down]


def paging_fault_lines() -> list[str]:
    from activities import db
    from activities.page_store import PageStore, store_target
    from ecoplan.readiness import paging_faults

    target = store_target()
    if not db.exists(target):  # no page was ever sent: nothing to say, and no file made by asking
        return []
    return paging_faults(PageStore(target), load_paging().escalation.window.delta)


@app.command("readiness")
def readiness_cmd(incidents: bool = typer.Option(True, "--incidents/--no-incidents",
                                                 help="是否也向未结事件查询其指定的组长（需连接 Temporal）"),
                  as_json: bool = JsonOpt):
    """通知可达性：预案角色、本周值班表中的人员和未结事件的组长中，哪些人联系不上。"""
    accounts = AccountStore()
    leads, note = {}, ""
    if incidents:
        try:
            leads = asyncio.run(_leads())
        except Fail as e:
            note = f"未能查询在办事件的组长：{e}"
    start, end = week(datetime.now(SHANGHAI))
    people = readiness(load_paging(), {r.id: r.name for r in load_plan().plan.roles}, accounts.list(),
                       ContactStore(accounts.target).all(), working_channels(), DutyStore(accounts.target).between(start, end),
                       leads)
    bad = [p for p in people if not p.channels]
    if as_json:
        emit({"people": [p.public() for p in people], "unreachable": len(bad), "note": note,
              "channels": working_channels()}, True)
    else:
        working = "、".join(CHANNEL_NAMES[c] for c in working_channels()) or "无（未配置任何通知渠道）"
        print(f"可用通知渠道：{working}")
        if note:
            print(note)
        if people:
            print(table([[p.label, "；".join(p.why), "、".join(CHANNEL_NAMES[c] for c in p.channels) or "无法通知",
                          p.fault] for p in people], ["人员", "为何需要通知", "可用渠道", "问题"]))
        print(f"共 {len(people)} 人，{len(bad)} 人无法通过任何可用渠道通知" if bad else f"共 {len(people)} 人，均可通知")
    if bad:
        raise Fail("", 1)  # exit 1: someone cannot be reached (for monitoring scripts)


async def _leads() -> dict[str, list[str]]:
    from ecoplan.errors import connect_or_fail

    return await open_incident_leads(await connect_or_fail())


@app.command("pages")
def pages_cmd(user: Optional[str] = typer.Option(None, "--user", help="只看此人的（默认：所有人的）"),
              incident: Optional[str] = typer.Option(None, "--incident", help="某起事件的全部呼叫，不论状态"),
              as_json: bool = JsonOpt):
    """尚无人确认收到的呼叫，或某起事件的呼叫。"""
    from activities.page_store import PageStore

    store = PageStore()
    rows = store.incident_pages(incident) if incident else store.open_pages(user, limit=500)
    if as_json:
        emit(rows, True)
        return
    if not rows:
        print("没有待确认的呼叫" if not incident else f"事件 {incident} 没有呼叫")
        return
    states = {"open": "待确认", "acknowledged": "已确认", "exhausted": "无人确认", "told": "已通知"}
    print(table([[r["id"], r["subject"], r["username"], CHANNEL_NAMES.get(r["channel"], r["channel"] or "—"),
                  states.get(r["state"], r["state"]), r["updated_at"][:16]] for r in rows],
                ["编号", "事由", "当前对象", "渠道", "状态", "更新于"]))


CHANNELS_SENT = {"outbox": "仅记录", "webhook": "通知接口"}


@app.command("notifications")
def notifications_cmd(incident: Optional[str] = typer.Option(None, "--incident", help="只看这起事件的"),
                      limit: int = typer.Option(50, "--limit", min=1, max=100_000,
                                                help="最多显示的条数：最新的若干条，按时间先后列出"),
                      as_json: bool = JsonOpt):
    """已发出的通知：呼叫库中的记录（有 ECOPLAN_DATABASE_URL 时为共享数据库，任一工作进程发出的都在其中）。"""
    from activities import db
    from activities.page_store import PageStore, store_target

    target = store_target()
    try:  # no pages.db yet: nothing was ever sent, and asking makes no file
        rows = PageStore(target).notifications(incident, limit) if db.exists(target) else []
    except db.DatabaseError as e:
        raise Fail(str(e), 1) from None
    if as_json:
        emit(rows, True)
        return
    if not rows:
        print(f"事件 {incident} 没有已发出的通知" if incident else "没有已发出的通知")
        return
    print(table([[_shanghai(r["at"]), r["incident_id"], r["subject"], "、".join(r["recipients"]) or "—",
                  CHANNELS_SENT.get(r["channel"], r["channel"]), r["worker"] or "—"] for r in rows],
                ["时间", "事件编号", "事由", "接收人", "渠道", "记录者"]))


def _shanghai(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@app.command("ack")
def ack_cmd(page_id: str, by: Optional[str] = typer.Option(None, "--by", help="确认人的用户名"
                                                                                "（默认：$ECOPLAN_USER）"),
            as_json: bool = JsonOpt):
    """确认收到发给您的呼叫：其逐级升级随即停止。"""
    from activities.page_store import PageStore
    from activities.settings import settings
    from ecoplan import pages
    from ecoplan.cli.common import run
    from ecoplan.errors import bad

    who = (by or settings().user or "").strip()
    if not who:
        raise bad("--by：谁确认收到？（或设置 ECOPLAN_USER）")
    store = PageStore()
    page = store.page(page_id)
    if page is None:
        raise Fail(f"没有编号为 {page_id} 的呼叫", 1)
    if who not in {page["username"], *(s["username"] for s in store.sends(page_id))}:
        raise Fail(f"呼叫 {page_id} 没有发给 {who}：只有被呼叫的人可以确认收到", 1)
    said = run(pages.acknowledge, page_id, who, "cli")
    emit({"page_id": page_id, "acknowledged_by": who, "result": said}, as_json, lambda d: f"{said}（呼叫 {page_id}）")


@app.command("notify-test")
def notify_test(username: str, as_json: bool = JsonOpt):
    """发送测试通知：经此人的每个通知渠道各发一条测试消息。"""
    from activities.page_store import PageStore
    from ecoplan.readiness import send_test

    accounts = AccountStore()
    acc = accounts.get(username)
    if acc is None:
        raise Fail(f"没有账号 {username}", 1)
    results = send_test(acc.username, acc.label, ContactStore(accounts.target).get(acc.username), configured_channels(),
                        PageStore())
    if as_json:
        emit([{"channel": c, "ok": ok, "detail": d} for c, ok, d in results], True)
    elif not results:
        print(f"{acc.label} 没有可用渠道的联系方式（或未配置任何通知渠道），未发送")
    for c, ok, d in results if not as_json else []:
        print(f"{CHANNEL_NAMES[c]}：{'已发送' if ok else '失败'}（{d}）")
    if not results or not all(ok for _, ok, _ in results):
        raise Fail("", 1)
