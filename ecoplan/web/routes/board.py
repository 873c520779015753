"""The board (总览, `/` and its live part `/board/live`): for those who read every incident,
what is overdue, stuck, faulty or provisional and the counts by stage, level and county,
from one shared copy refreshed in the background (ecoplan/web/board.py); for the others,
the incidents waiting for their own 附件2 sign-off."""

from __future__ import annotations

import asyncio
from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import Response
from temporalio.client import Client

from activities.calendar import bureau_calendar
from ecoplan import views
from ecoplan.accounts import Account
from ecoplan.web.board import BoardCopies
from ecoplan.web.routes import duty, reach
from ecoplan.web.context import LEVEL_NAMES, STAGE_NAMES, Web, now, to_login, web_of
from plan import authority
from plan.calendar import CalendarError, missing_notice_text, notice_missing
from plan.loader import load_plan

router = APIRouter()


def board_copies(w: Web, refresh: float) -> BoardCopies:
    """One shared copy of the figures for all who read everything (ecoplan.web.board)."""

    async def figures(drills: bool) -> dict:
        return await board_figures(await w.client(), drills)

    return BoardCopies(figures, refresh=refresh)


async def board_figures(client: Client, drills: bool) -> dict:
    overdue, stuck, faults, provisional, counts = await asyncio.gather(
        views.overdue(client, drills=drills, limit=20), views.stuck(client, drills=drills, limit=20),
        views.faults(client, drills=drills, limit=20), views.provisional(client, drills=drills, limit=20),
        count_all(client, drills))
    return {"overdue": overdue, "stuck": stuck, "faults": faults, "provisional": provisional,
            "provisional_total": provisional.total, "counts": counts}


async def board_data(w: Web, account: Account, drills: bool) -> dict:
    client = await w.client()
    notice = calendar_notice()
    if authority.reads(account.role) != "all":
        return {"mine": await my_signoffs(client, account), "notice_missing": notice}
    (figures, as_of), mine = await asyncio.gather(w.copies.get(drills), my_signoffs(client, account))
    return {**figures, "as_of": as_of, "mine": mine, "notice_missing": notice, "duty_gaps": duty.duty_gaps(w),
            "paging_faults": reach.paging_fault_lines(w)}


def calendar_notice() -> str:
    """"2027年节假日安排尚未载入，以下期限为暂定" from 1 November of the year before; a
    calendar file that cannot be read is said too, never a failed board."""
    try:
        cal = bureau_calendar()
    except CalendarError as e:
        return f"节假日安排文件有误，工作日期限可能不准：{e}"
    return missing_notice_text(notice_missing(cal, now().date()))


async def my_signoffs(client: Client, account: Account) -> list[dict]:
    """Incidents waiting for this account's 附件2 sign-off (the incident publishes who it
    waits on as "USERNAME (GROUP NAME)")."""
    plan = load_plan().plan
    names = [f"{account.username} ({plan.group(g).name})" for g in plan.termination.signatories]
    query = views.base_query(drills=True) + " AND EcoWaitingOn IN (" + ", ".join(views._q(n) for n in names) + ")"
    out = []
    async for wf in client.list_workflows(query, limit=50):
        out.append({"incident_id": wf.id.removeprefix("incident-"),
                    "title": (await wf.memo_value("title", default="")) if wf.memo else ""})
    return out


async def count_all(client: Client, drills: bool) -> dict:
    base = views.base_query(drills)

    async def n(extra: str) -> int:
        return (await client.count_workflows(f"{base} AND {extra}")).count

    stages = [s for s in STAGE_NAMES if s != "closed"]
    levels = list(LEVEL_NAMES)
    # Counties are not a fixed list: those of the newest 200 open incidents, each counted
    # exactly (a count is ~10 ms at 10,000 open; listing every row would take seconds).
    recent = await views.list_incidents(client, drills=drills, limit=200)
    counties = sorted({r["county"] for r in recent if r["county"]})
    numbers = await asyncio.gather(*(n(f"EcoStage = {views._q(s)}") for s in stages),
                                   *(n(f"EcoLevel = {views._q(lv)}") for lv in levels),
                                   *(n(f"EcoCounty = {views._q(c)}") for c in counties),
                                   client.count_workflows(base))
    by_stage = dict(zip(stages, numbers[:len(stages)]))
    by_level = dict(zip(levels, numbers[len(stages):len(stages) + len(levels)]))
    by_county = Counter(dict(zip(counties, numbers[len(stages) + len(levels):-1])))
    total = numbers[-1].count
    rest = total - sum(by_county.values())
    if rest > 0:
        by_county["其他"] = rest
    return {"total": total, "stage": by_stage, "level": by_level,
            "county": dict(by_county.most_common())}


@router.get("/", include_in_schema=False)
async def board(request: Request, drills: bool = False):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    data = await board_data(w, s.account, drills)
    return w.page(request, "board.html", {"_session": s, "drills": drills, "now": now(), **data})


@router.get("/board/live", include_in_schema=False)
async def board_live(request: Request, drills: bool = False):
    w = web_of(request)
    s = w.session(request)
    if s is None:  # the page's script reloads, and the reload goes to the login page
        return Response(status_code=401)
    data = await board_data(w, s.account, drills)
    return w.page(request, "board_live.html", {"_session": s, "drills": drills, "now": now(), **data})
