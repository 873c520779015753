"""Reaching people in the console: the readiness page (`/readiness`, who a page may have to
reach and cannot be: ecoplan/readiness.py); acknowledging a page (`GET /pages/{id}/ack`, the
signed single-use link in the message; `POST /pages/{id}/ack`, the console's button;
`POST /api/pages/{id}/ack`); and the panels every page shows (install(): a person's own open
pages at the top, an incident's pages on its page)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Security
from fastapi.responses import RedirectResponse

from activities.page_store import PageStore
from ecoplan import page_links, pages
from ecoplan.accounts import Account
from ecoplan.contacts import ContactStore, configured_channels
from ecoplan.errors import ActionRefused, EcoplanError
from ecoplan.duty_roster import DutyStore
from ecoplan.readiness import open_incident_leads, readiness, week
from ecoplan.web import actions as act
from ecoplan.web.context import Web, log, now, safe_next, to_login, web_of
from ecoplan.web.routes.api import account_of
from plan import authority
from plan.loader import load_plan
from plan.paging import CHANNEL_NAMES, load_paging

router = APIRouter()


def page_store(w: Web) -> PageStore:
    """The paging store: the shared database, or `pages.db` beside the accounts' file."""
    return PageStore.beside(w.store.target)


def working(w: Web) -> tuple[list[str], dict]:
    down = page_store(w).channels_down()
    return [c for c in configured_channels() if c not in down], down


def paging_fault_lines(w: Web) -> list[str]:
    """The board's lines: channels down, pages nobody acknowledged (ecoplan/readiness.py)."""
    from ecoplan.readiness import paging_faults

    return paging_faults(page_store(w), load_paging().escalation.window.delta)


@router.get("/readiness", include_in_schema=False)
async def readiness_page(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    if authority.reads(s.account.role) != "all":
        raise act.Refusal(403, "通知可达性只对可查看全部事件的账号开放")
    note = ""
    try:
        leads = await open_incident_leads(await w.client())
    except act.Refusal as e:
        leads, note = {}, f"未能查询在办事件的组长：{e.detail}"
    channels, down = working(w)
    start, end = week(now())
    people = readiness(load_paging(), {r.id: r.name for r in load_plan().plan.roles}, w.store.list(),
                       ContactStore(w.store.target).all(), channels, DutyStore(w.store.target).between(start, end), leads)
    return w.page(request, "readiness.html", {"_session": s, "people": people, "channels": channels, "down": down,
                                               "note": note, "CHANNEL_NAMES": CHANNEL_NAMES})


@router.post("/readiness/test/{username}", include_in_schema=False)
async def test_notify(request: Request, username: str):
    """发送测试通知 to one person, on each channel that reaches them (the duty desk and leaders)."""
    import asyncio

    from ecoplan.readiness import send_test

    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    if s.account.role not in ("duty_officer", "commander", "deputy_commander", "admin") and s.account.username != username:
        raise act.Refusal(403, "只有值班员、局领导和管理员可以向他人发送测试通知")
    await w.check_csrf(request, s)
    acc = w.store.get(username)
    if acc is None:
        raise act.Refusal(404, f"没有账号 {username}")
    results = await asyncio.to_thread(send_test, acc.username, acc.label, ContactStore(w.store.target).get(acc.username),
                                      configured_channels(), page_store(w))
    text = "；".join(f"{CHANNEL_NAMES[c]}{'已发送' if ok else '失败：' + d}" for c, ok, d in results) or "没有可用渠道，未发送"
    return w.page(request, "message.html", {"title": f"测试通知 · {acc.label}", "message": text},
                  200 if results and all(ok for _, ok, _ in results) else 422)


# ------------------------------------------------------------------ acknowledging a page

PAGE_STATES = {"open": "待确认", "acknowledged": "已确认", "exhausted": "无人确认", "told": "已通知", "planning": "准备中"}


def install(w: Web) -> None:
    """The panels' data as template globals: my_pages(account), incident_pages(incident id)."""
    def mine(account) -> list[dict]:
        return page_store(w).open_pages(account.username, limit=10) if account else []

    w.templates.env.globals.update(my_pages=mine, incident_pages=lambda iid: page_store(w).incident_pages(iid),
                                   PAGE_STATES=PAGE_STATES, CHANNEL_NAMES=CHANNEL_NAMES)


async def _ack(w: Web, page_id: str, username: str, via: str) -> str:
    page = page_store(w).page(page_id)
    if page is None:
        raise act.Refusal(404, f"没有编号为 {page_id} 的呼叫")
    paged = {page["username"], *(x["username"] for x in page_store(w).sends(page_id))}
    if username not in paged:
        raise act.Refusal(403, "只有被呼叫的人可以确认收到")
    try:
        said = await pages.acknowledge(await w.client(), page_id, username, via)
    except ActionRefused as e:
        raise act.Refusal(409, str(e)) from None
    except EcoplanError as e:
        raise act.Refusal(404, str(e)) from None
    log.info("page_acknowledged", page_id=page_id, username=username, via=via)
    return said


@router.get("/pages/{page_id}/ack", include_in_schema=False)
async def ack_by_link(request: Request, page_id: str, u: str = "", e: str = "", n: str = "", s: str = ""):
    """The link in the message: one click acknowledges (signed, expiring, single-use)."""
    w = web_of(request)
    try:
        page_links.check(page_id, u, e, n, s)
    except page_links.LinkRefused as err:
        raise act.Refusal(403, str(err)) from None
    if not page_store(w).use_link(n):
        raise act.Refusal(409, "该确认链接已用过")
    said = await _ack(w, page_id, u, "link")
    return w.page(request, "message.html", {"title": "已确认收到", "message": said})


@router.post("/pages/{page_id}/ack", include_in_schema=False)
async def ack_in_console(request: Request, page_id: str):
    w = web_of(request)
    sess = w.session(request)
    if sess is None:
        return to_login(request)
    form = await w.check_csrf(request, sess)
    await _ack(w, page_id, sess.account.username, "web")
    return RedirectResponse(safe_next(str(form.get("next") or "/")), status_code=303)


@router.post("/api/pages/{page_id}/ack")
async def api_ack(request: Request, page_id: str, account: Account = Security(account_of)) -> dict:
    """Acknowledge a page sent to this account: its escalation stops."""
    w = web_of(request)
    return {"page_id": page_id, "acknowledged_by": account.username,
            "result": await _ack(w, page_id, account.username, "api")}
