"""Reaching people in the console: the readiness page (`/readiness`, who a page may have to
reach and cannot be: ecoplan/readiness.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from activities.page_store import PageStore
from ecoplan.contacts import ContactStore, configured_channels
from ecoplan.duty_roster import DutyStore
from ecoplan.readiness import open_incident_leads, readiness, week
from ecoplan.web import actions as act
from ecoplan.web.context import Web, now, to_login, web_of
from plan import authority
from plan.loader import load_plan
from plan.paging import CHANNEL_NAMES, load_paging

router = APIRouter()


def page_store(w: Web) -> PageStore:
    """The pages' store, beside the accounts' file."""
    return PageStore(w.store.path.parent / "pages.db")


def working(w: Web) -> tuple[list[str], dict]:
    down = page_store(w).channels_down()
    return [c for c in configured_channels() if c not in down], down


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
                       ContactStore(w.store.path).all(), channels, DutyStore(w.store.path).between(start, end), leads)
    return w.page(request, "readiness.html", {"_session": s, "people": people, "channels": channels, "down": down,
                                               "note": note, "CHANNEL_NAMES": CHANNEL_NAMES})
