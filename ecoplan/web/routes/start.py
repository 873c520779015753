"""Console pages for starting incidents: the new-incident form with its live 附表1 grading
preview, and drills (list, start from a scenario, the after-action report).

The session, CSRF and page helpers are the app's own (ecoplan/web/context.py), so these pages follow the same rules as the rest of the console: a page needs a session, a
post needs the form's CSRF token, and who may start is the plan's authority table
(`start_incident`), asked again by `actions.start`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ecoplan import people, views
from ecoplan.web import actions as act
from ecoplan.web import documents as webdocs
from ecoplan.web.context import Web, to_login, web_of
from plan import authority, problems
from plan.calendar import SHANGHAI
from plan.drill import evaluate, render_markdown
from plan.grading import Assessment, classify
from plan.incident import IncidentReport
from plan.scenarios import ScenarioError, list_scenarios, load_scenario

router = APIRouter()

TYPES = (("water", "水污染"), ("air", "大气污染"), ("soil", "土壤污染"), ("hazardous_chemicals", "危险化学品"),
         ("solid_waste", "固体废物"), ("other", "其他"))
SOURCES = (("hotline_12369", "12369 环保热线"), ("linkage_119", "119 联动"), ("inspection", "执法检查"),
           ("county_bureau", "县（区）分局报告"), ("other", "其他"))
WATER = (("none", "无"), ("township", "乡镇集中式饮用水水源取水中断"), ("county", "县级城市集中式饮用水水源取水中断"),
         ("city", "设区的市级城市集中式饮用水水源取水中断"))
BOUNDARY = (("none", "无"), ("county_dispute", "跨县级行政区域纠纷"), ("city", "跨设区的市"), ("province", "跨省"))
ECOLOGY = (("none", "无"), ("protected_species_damaged", "国家重点保护动植物物种受到破坏"),
           ("partial_function_loss", "区域生态功能部分丧失"),
           ("function_loss_or_extinction", "区域生态功能丧失或濒危物种生存环境受到污染"))
COUNTS = (("deaths", "死亡人数"), ("poisoned_or_injured", "中毒或重伤人数"), ("evacuated", "疏散转移人数"))

# The new-incident form's inputs, labelled as every message names them (plan/problems.py).
FORM_INPUTS = ("title", "discovered_at", "reported_at", "county", "location", "incident_type", "description",
               "source", "reporter", "deaths", "poisoned_or_injured", "evacuated", "direct_loss_yuan",
               "drinking_water_interrupted", "cross_boundary", "ecological_impact")
LABELS = {name: problems.LABELS.get(name, name) for name in FORM_INPUTS}


def fault_of(err: ValidationError) -> str | None:
    """The form input the first problem is about (an 附表1 fact is its own input); None when it
    is about the report as a whole (e.g. the two times together)."""
    loc = [str(p) for p in err.errors(include_url=False)[0]["loc"]]
    return loc[-1] if loc and loc[-1] in LABELS else None


def zh_problem(err: ValidationError) -> str:
    """The first problem of a report as one sentence in Chinese, naming the field as the form
    does (plan/problems.py: the same sentences as the API, the CLI and the intake)."""
    return problems.validation_message(err)


def _local(value: datetime) -> str:
    """A time as a datetime-local input shows it (the bureau's clock)."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def assessment_from(form: Any) -> tuple[Assessment | None, str | None]:
    """The 附表1 facts typed so far; empty inputs count as none."""
    assessment, problem, _ = _assessment(form)
    return assessment, problem


def _assessment(form: Any) -> tuple[Assessment | None, str | None, str | None]:
    """The 附表1 facts, or the problem and the input it is about."""
    data: dict[str, Any] = {}
    for name, parse in [*((n, int) for n, _ in COUNTS), ("direct_loss_yuan", float)]:
        raw = str(form.get(name) or "").strip()
        if raw:
            try:
                data[name] = parse(raw)
            except ValueError:  # named, as every other problem is: 死亡人数应为整数
                return None, problems.PROBLEMS["int_parsing" if parse is int else "float_parsing"].format(
                    f=problems.LABELS[name]), name
    for name in ("drinking_water_interrupted", "cross_boundary", "ecological_impact"):
        raw = str(form.get(name) or "").strip()
        if raw:
            data[name] = raw
    try:
        return Assessment(**data), None, None
    except ValidationError as e:
        return None, zh_problem(e), fault_of(e)


def report_from(form: Any, account) -> IncidentReport:
    assessment, problem, fault = _assessment(form)
    if problem:
        raise act.Refusal(422, problem, fault)

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    data = {"title": text("title"), "county": text("county"), "location": text("location"),
            "incident_type": text("incident_type"), "source": text("source"), "description": text("description"),
            "reporter": text("reporter") or account.display or account.username, "discovered_at": text("discovered_at") or None,
            "reported_at": text("reported_at") or None, "assessment": assessment, "drill": "drill" in form}
    try:
        return IncidentReport.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as e:
        raise act.Refusal(422, zh_problem(e), fault_of(e)) from None


def labelled(detail: str) -> str | None:
    """The input whose label a refusal names (接报时间…), the longest label first."""
    named = sorted(((label, name) for name, label in LABELS.items() if name != "assessment"), key=lambda x: -len(x[0]))
    return next((name for label, name in named if label in detail), None)


def may_start(account) -> str | None:
    return authority.may(account.role, "start_incident")


def form_page(w: Web, request: Request, s, values: dict, error: str = "", status: int = 200,
              fault: str | None = None) -> HTMLResponse:
    """The form, with what was typed; after a refusal, the input at fault marked with why
    (or the reason at the top when it is about the report as a whole)."""
    assessment, _ = assessment_from(values)
    return w.page(request, "new_incident.html", {
        "_session": s, "v": values, "error": error, "fault": fault, "types": TYPES, "sources": SOURCES, "water": WATER,
        "boundary": BOUNDARY, "ecology": ECOLOGY, "counts": COUNTS,
        "grading": classify(assessment or Assessment())}, status)


@router.get("/incidents/new", include_in_schema=False)
async def new_incident(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    why = may_start(s.account)
    if why:
        raise act.Refusal(403, why)
    now = datetime.now(SHANGHAI)
    return form_page(w, request, s, {"discovered_at": _local(now), "reported_at": _local(now),
                                     "reporter": s.account.display or s.account.username})


@router.post("/incidents/new", include_in_schema=False)
async def new_incident_post(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    form = await w.check_csrf(request, s)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        why = may_start(s.account)
        if why:
            raise act.Refusal(403, why)
        report = report_from(form, s.account)
        iid = await act.start(await w.client(), s.account, report, w.wait_ready)
    except act.Refusal as e:
        return form_page(w, request, s, values, e.detail, e.status, e.field or labelled(e.detail))
    return RedirectResponse(f"/incidents/{quote(iid)}?started=1", status_code=303)


@router.get("/grade/preview", include_in_schema=False)
async def grade_preview(request: Request):
    """The 附表1 level for what is typed so far: an HTML fragment the form swaps in."""
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return Response(status_code=401)
    assessment, problem = assessment_from(request.query_params)
    return w.page(request, "grading_preview.html",
                  {"_session": s, "grading": classify(assessment) if assessment else None, "problem": problem})


# ------------------------------------------------------------------ drills


@router.get("/drills", include_in_schema=False)
async def drills(request: Request, error: str = ""):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    if authority.reads(s.account.role) != "all":
        raise act.Refusal(403, "只有值班、指挥和督查人员可以查看演练")
    scenarios = []
    for sid in list_scenarios():
        try:
            sc = load_scenario(sid)
            scenarios.append({"id": sc.id, "title": sc.title})
        except ScenarioError:
            continue
    rows = await views.list_incidents(await w.client(), drills=True, limit=100)
    # The participants to choose from: the enabled accounts but the one starting (always taking part).
    accounts = sorted((a for a in w.store.list() if not a.disabled and a.username != s.account.username),
                      key=lambda a: (a.display or a.username, a.username))
    return w.page(request, "drills.html", {"_session": s, "scenarios": scenarios, "error": error,
                                           "rows": [r for r in rows if r.get("drill")],
                                           "accounts": people.choices(accounts),
                                           "may_start": may_start(s.account) is None})


@router.post("/drills", include_in_schema=False)
async def drill_start(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    form = await w.check_csrf(request, s)
    sid = str(form.get("scenario") or "")
    why = may_start(s.account)
    if why:
        raise act.Refusal(403, why)
    if sid not in list_scenarios():  # only the shipped scenarios: never a path from a form
        raise act.Refusal(422, f"没有演练情景 {sid!r}")
    try:
        report = load_scenario(sid).incident_report()
    except ScenarioError as e:
        raise act.Refusal(422, str(e)) from None
    iid = await act.start(await w.client(), s.account, report, w.wait_ready, store=w.store,
                          participants=[str(p) for p in form.getlist("participants")])
    return RedirectResponse(f"/incidents/{quote(iid)}?started=1", status_code=303)


@router.get("/drills/{incident_id}/report", include_in_schema=False)
async def drill_report(request: Request, incident_id: str):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    st = await act.read_incident(await w.client(), s.account, incident_id)
    if not st.get("drill"):
        raise act.Refusal(404, f"事件 {incident_id} 不是演练")
    report = evaluate(st)
    papers = await asyncio.to_thread(webdocs.listing, st)  # the deadline chart beside the figures
    return w.page(request, "drill_report.html", {"_session": s, "st": st, "report": report,
                                                 "markdown": render_markdown(report),
                                                 "chart_svg": papers["chart_svg"],
                                                 "chart_error": papers["chart_error"]})
