"""One incident's console pages: its page (/incidents/ID, with the forms of the actions the
account may take now; an incident Temporal no longer has but the records store keeps leads
to its record, /records/ID), the live part the page polls, its printed documents, and the posts
of those forms (/incidents/ID/actions/ACTION). Starting an incident: routes/start.py."""

from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from temporalio.client import Client

from activities.calendar import bureau_calendar
from ecoplan import people
from ecoplan.records import status_of
from ecoplan.web import actions as act
from ecoplan.web import forms
from ecoplan.web import documents as webdocs
from ecoplan.web.context import STAGE_NAMES, Web, log, now, to_login, web_of
from ecoplan.web.routes.incident_list import records_db
from plan import authority
from plan.calendar import SHANGHAI, CalendarError, missing_notice_text, years_without_notice
from plan.loader import load_plan

router = APIRouter()


def provisional_note(st: dict) -> str:
    """Why this incident's provisional due dates are provisional, in one sentence."""
    open_ = [d for d in st.get("deadlines", []) if d.get("provisional") and d["status"] in ("pending", "overdue")]
    if not open_:
        return ""
    try:
        cal = bureau_calendar()
    except CalendarError as e:
        return f"节假日安排文件有误，工作日期限可能不准：{e}"
    years = sorted({y for d in open_ for y in years_without_notice(
        cal, datetime.fromisoformat(d["started_at"]).astimezone(SHANGHAI).date(),
        datetime.fromisoformat(d["due_at"]).astimezone(SHANGHAI).date())})
    if years:
        return missing_notice_text(years)
    return "节假日安排已载入，暂定期限待重算（ecoplan calendar recompute）"


async def incident_context(w: Web, client: Client, s, incident_id: str) -> dict:
    st = await act.read_incident(client, s.account, incident_id)
    # Pages name people by display name (张监测); the record keeps the username.
    labels = {g: people.display_name(w.store, u) for g, u in (st.get("leads") or {}).items()}
    groups = {g.id: g.name for g in load_plan().plan.groups}
    # the sign-offs waited for, by the leads' names (the status names them by username)
    named = {f"{u} ({groups.get(g, g)})": f"{labels[g]}（{groups.get(g, g)}）" for g, u in (st.get("leads") or {}).items()}
    return {"_session": s, "st": st, "now": now(), "provisional_note": provisional_note(st),
            "forms": forms.forms_for(s.account, st, w.store), "lead_labels": labels,
            "waiting": [named.get(x, x) for x in st.get("waiting_on") or ()], "groups": groups,
            "stages": [x for x in STAGE_NAMES if x != "warning" or st.get("warning")]}


@router.get("/incidents/{incident_id}", include_in_schema=False)
async def incident_page(request: Request, incident_id: str, done: str | None = None, started: str | None = None):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    try:
        ctx = await incident_context(w, await w.client(), s, incident_id)
    except act.Refusal as e:
        # A closed incident past Temporal's retention (or an old link): its record, read-only.
        if e.status == 404 and await asyncio.to_thread(status_of, incident_id, records_db(request)) is not None:
            return RedirectResponse(f"/records/{quote(incident_id)}", status_code=303)
        raise
    r = authority.rule(done) if done else None
    papers = await asyncio.to_thread(webdocs.listing, ctx["st"])
    return w.page(request, "incident.html", {**ctx, "done": r.name if r else ("建立事件" if started else None), **papers})


@router.get("/incidents/{incident_id}/documents/{name}", include_in_schema=False)
async def incident_document(request: Request, incident_id: str, name: str):
    """One printed document, for the accounts that may read the incident's page."""
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    st = await act.read_incident(await w.client(), s.account, incident_id)
    body, media = await asyncio.to_thread(webdocs.one, st, name)
    log.info("web_document", username=s.account.username, incident_id=incident_id, document=name)
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(incident_id + '-' + name)}"})


@router.get("/incidents/{incident_id}/live", include_in_schema=False)
async def incident_live(request: Request, incident_id: str):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return Response(status_code=401)
    try:
        ctx = await incident_context(w, await w.client(), s, incident_id)
    except act.Stuck as e:  # an open page says why nothing moves, and who repairs it
        return HTMLResponse(f'<p class="error" role="alert" id="stuck">{escape(e.detail)}</p>')
    return w.page(request, "incident_live.html", ctx)


def refused_form(offered: list, action: str, form, e: act.Refusal) -> dict:
    """The refused form shown again, open, with what was typed and the field at fault marked;
    a refusal that names no field of the form is shown at the form's top."""
    values = forms.typed(form)
    mine = next((f for f in offered if f.action == action
                 and all(values.get(k) == v for k, v in f.fixed)), None)
    fault = forms.field_at_fault(mine.fields, e.detail, e.field) if mine else None
    return {"error": e.detail, "failed": mine.key if mine else action, "values": values, "fault": fault}


@router.post("/incidents/{incident_id}/actions/{action}", include_in_schema=False)
async def incident_action(request: Request, incident_id: str, action: str):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    form = await w.check_csrf(request, s)
    client = await w.client()
    try:
        if action not in act.ACTION_MODELS:
            raise act.Refusal(404, f"未知操作 {action!r}")
        fields = forms.fields_from_form(action, form)
        await act.perform(client, w.store, s.account, incident_id, action, fields,
                          via="oidc" if s.via == "oidc" else "web")
    except act.Refusal as e:
        log.info("web_refused", path=request.url.path, status=e.status, detail=e.detail,
                 username=s.account.username)
        try:
            ctx = await incident_context(w, client, s, incident_id)
        except act.Refusal:
            raise e from None
        return w.page(request, "incident.html", {**ctx, **refused_form(ctx["forms"], action, form, e)}, e.status)
    log.info("web_action", username=s.account.username, incident_id=incident_id, action=action)
    return RedirectResponse(f"/incidents/{quote(incident_id)}?done={quote(action)}", status_code=303)
