"""事件列表 (`/incidents`, in the top navigation) and its JSON (`GET /api/incidents`) and
exports (`/incidents.csv`, `/incidents.xlsx`): every incident the account may read, open and
closed, filtered, sorted and paged (ecoplan/incident_list.py). Who reads what is the plan's
role table (`authority.reads`): all, or only the incidents the account was named to lead."""

from __future__ import annotations

import asyncio
from contextlib import closing
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Security
from fastapi.responses import Response

from activities.documents.mapping import TYPE_NAMES
from activities.records_store import RecordError, connect, db_path
from ecoplan import incident_export
from ecoplan import incident_list as il
from ecoplan.accounts import Account
from ecoplan.web import actions as act
from ecoplan.web.context import log, to_login, web_of
from ecoplan.web.routes.api import account_of, errors
from plan import authority
from plan.stages import STAGE_NAMES

router = APIRouter()


def records_db(request: Request) -> Path | str:
    """The records store this app reads (create_app's `records_db`, else ECOPLAN_RECORDS_DB)."""
    return getattr(request.app.state, "records_db", None) or db_path()


def reads_incidents(role_id: str) -> bool:
    return authority.reads(role_id) in ("all", "led")


def scope(account: Account) -> str | None:
    """None: every incident; a username: only those naming it as a lead. 403 for the others."""
    reads = authority.reads(account.role)
    if reads == "all":
        return None
    if reads == "led":
        return account.username
    spec = authority.role(account.role)
    raise act.Refusal(403, f"{spec.name if spec else account.role}不能查看事件列表")


def query_of(request: Request, export: bool = False) -> il.ListQuery:
    try:
        return il.parse(dict(request.query_params), export=export)
    except il.ListError as e:
        raise act.Refusal(422, str(e)) from None


def _search(path: Path | str, query: il.ListQuery, lead: str | None, everything: bool) -> tuple[list[dict], int, list[str]]:
    try:
        conn = connect(path, create=False)
    except RecordError:  # no store yet: nothing has been recorded
        return [], 0, []
    with closing(conn):
        rows, total = il.search(conn, query, lead, everything)
        from sqlalchemy import text

        counties = list(conn.execute(text("SELECT DISTINCT county FROM incidents ORDER BY county LIMIT 200")).scalars())
    return rows, total, counties


async def listing(request: Request, account: Account, everything: bool = False) -> dict:
    query = query_of(request, export=everything)
    lead = scope(account)
    rows, total, counties = await asyncio.to_thread(_search, records_db(request), query, lead, everything)
    if not everything:
        rows = await il.freshen(await web_of(request).client(), rows)
    return {"query": query, "rows": rows, "total": total, "counties": counties}


@router.get("/api/incidents", responses=errors(401, 403, 422, 503))
async def api_incidents(request: Request, q: str = "", stage: str = "", level: str = "", event_level: str = "",
                        county: str = "",
                        type: str = "", from_: str = Query("", alias="from"), to: str = "",
                        closed: str = "include", drills: str = "exclude", sort: str = "-reported",
                        page: str = "1", per_page: str = "50", account: Account = Security(account_of)) -> dict:
    """事件列表: every incident the account may read, open and closed. `level`: the response level
    (响应级别; before activation, the graded level); `event_level`: the event's own level (事件等级,
    issue 24; a row's `event_level` is null when its record was saved without it). `from`/`to`: reported date
    (Asia/Shanghai, YYYY-MM-DD); `closed`: include|only|exclude; `drills`: exclude|include|only;
    `sort`: reported, closed, level, event_level, stage, county, title (`-` first: descending). → `{"rows", "total"}`."""
    data = await listing(request, account)
    return {"rows": data["rows"], "total": data["total"], "page": data["query"].page,
            "per_page": data["query"].per_page}


@router.get("/incidents", include_in_schema=False)
async def incidents_page(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    try:
        data = await listing(request, s.account)
        error = None
    except act.Refusal as e:
        if e.status != 422:
            raise
        data = {"query": il.ListQuery(), "rows": [], "total": 0, "counties": []}
        error = e.detail
    q = data["query"]
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    pages = max(1, -(-data["total"] // q.per_page))
    return w.page(request, "incident_list.html", {
        "_session": s, **data, "error": error, "params": params, "pages": pages,
        "page_url": lambda n: "/incidents?" + urlencode({**params, "page": n}),
        "export_query": urlencode(params), "labelled": il.labelled, "HEADERS": il.HEADERS,
        "choices": {"stage": STAGE_NAMES, "level": il.LEVEL_LABELS, "event_level": il.LEVEL_LABELS, "type": TYPE_NAMES,
                    "closed": il.CLOSED_CHOICES, "drills": il.DRILL_CHOICES},
        "sorts": {k: v[1] for k, v in il.SORTS.items()}}, 422 if error else 200)


@router.get("/incidents.{fmt}", include_in_schema=False)
async def incidents_export(request: Request, fmt: str):
    """The filtered rows (every page) as CSV or XLSX, for the console's accounts."""
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    if fmt not in ("csv", "xlsx"):
        raise act.Refusal(404, f"没有 {fmt} 格式的导出，可选：csv、xlsx")
    data = await listing(request, s.account, everything=True)
    write = incident_export.to_csv if fmt == "csv" else incident_export.to_xlsx
    body = await asyncio.to_thread(write, data["rows"])
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    log.info("web_export", username=s.account.username, rows=len(data["rows"]), format=fmt)
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote('事件列表.' + fmt)}"})
