"""The duty roster's page (值班表, `/duty`): the shifts of seven days with the people on each
post, a form per shift to correct them, the handover notes (交接班) and a form to add one, and
what the board warns of (a shift in the next 7 days with nobody on a post, hours no shift covers).

Everyone who reads every incident sees it; the duty desk and the bureau's leaders correct it
(EDITORS: local choice, the plan gives 值班管理 to the office, 2.2 (5))."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from ecoplan.duty_roster import DutyError, DutyStore, gaps
from ecoplan.people import labeller, resolver
from ecoplan.web import actions as act
from ecoplan.web.context import Web, log, now, to_login, web_of
from plan import authority
from plan.calendar import SHANGHAI
from plan.paging import load_paging

router = APIRouter()
EDITORS = ("duty_officer", "commander", "deputy_commander")  # local choice (module docstring)
AHEAD = timedelta(days=7)


def duty_store(w: Web) -> DutyStore:
    """The roster lives in the accounts' file (ecoplan/duty_roster.py)."""
    return DutyStore(w.store.target)


def duty_gaps(w: Web, at: datetime | None = None) -> list[str]:
    """The board's warnings: shifts in the next 7 days with nobody on a required post."""
    at = at or now()
    posts = {p.id: p.name for p in load_paging().duty_posts if p.required}
    return [g.text for g in gaps(duty_store(w).between(at, at + AHEAD), at, at + AHEAD, posts)]


def _session(w: Web, request: Request):
    s = w.session(request)
    if s is not None and authority.reads(s.account.role) != "all":
        raise act.Refusal(403, "值班表只对可查看全部事件的账号开放")
    return s


@router.get("/duty", include_in_schema=False)
async def duty_page(request: Request):
    w = web_of(request)
    s = _session(w, request)
    if s is None:
        return to_login(request)
    first = _day(request.query_params.get("date")) or now().date()
    start = datetime.combine(first, datetime.min.time(), SHANGHAI)
    store = duty_store(w)
    shifts = [x for x in store.between(start, start + AHEAD) if x.day >= first]
    return w.page(request, "duty.html", {
        "_session": s, "first": first, "shifts": shifts, "posts": load_paging().post_names,
        "label": labeller(w.store), "gaps": duty_gaps(w), "may_edit": s.account.role in EDITORS,
        "handovers": list(reversed(store.handovers(now() - timedelta(days=3), now() + timedelta(seconds=1)))),
        "prev": first - timedelta(days=7), "next": first + timedelta(days=7)})


@router.post("/duty/shifts/{shift_id}", include_in_schema=False)
async def correct_shift(request: Request, shift_id: int):
    w = web_of(request)
    s, form = await _editor(w, request)
    who = resolver(w.store.list())
    people: dict[str, list[str]] = {}
    for post, name in load_paging().post_names.items():
        names = [x for x in str(form.get(f"post_{post}") or "").replace("，", "、").replace(",", "、").split("、")
                 if x.strip()]
        unknown = [x for x in names if who(x) is None]
        if unknown:
            raise act.Refusal(422, f"{name}「{'、'.join(unknown)}」不是系统中的账号，班次未作改动")
        people[post] = [who(x) for x in names]
    try:
        shift = duty_store(w).set_people(shift_id, people)
    except DutyError as e:
        raise act.Refusal(404, str(e)) from None
    log.info("duty_corrected", shift_id=shift_id, username=s.account.username, people=people)
    return RedirectResponse(f"/duty?date={shift.day.isoformat()}", status_code=303)


@router.post("/duty/handover", include_in_schema=False)
async def add_handover(request: Request):
    w = web_of(request)
    s, form = await _editor(w, request, reader_may=True)
    to = str(form.get("to") or "").strip()
    taker = resolver(w.store.list())(to) if to else ""
    if taker is None:
        raise act.Refusal(422, f"接班人「{to}」不是系统中的账号，交接班未记录")
    try:
        duty_store(w).hand_over(s.account.username, str(form.get("notes") or ""), now(), to=taker or "")
    except DutyError as e:
        raise act.Refusal(422, f"{e}，交接班未记录") from None
    return RedirectResponse("/duty", status_code=303)


async def _editor(w: Web, request: Request, reader_may: bool = False):
    s = _session(w, request)
    if s is None:
        raise act.Refusal(401, "请先登录")
    if not reader_may and s.account.role not in EDITORS:
        raise act.Refusal(403, "只有值班员和局领导可以更正值班表")
    if reader_may and s.account.role == "supervisor":
        raise act.Refusal(403, "督查账号只查看，不记录交接班")
    return s, await w.check_csrf(request, s)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise act.Refusal(422, f"日期「{text}」无法识别，应为 2026-12-07 这样的日期") from None
