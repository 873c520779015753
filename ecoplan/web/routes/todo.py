"""我的待办 (`/todo`, in the top navigation with its count) and `GET /api/todo`: what is
waiting on the account, for every role (ecoplan/todo.py). `/todo/count` is the number the
navigation shows, fetched by /static/nav.js so that no page waits for it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Security
from fastapi.responses import PlainTextResponse, Response

from ecoplan import todo as todos
from ecoplan.accounts import Account
from ecoplan.web import actions as act
from ecoplan.web.context import now, to_login, web_of
from ecoplan.web.routes.api import account_of, errors

router = APIRouter()


async def items(request: Request, account: Account, via: str) -> list[dict]:
    return await todos.todo(await web_of(request).client(), act.actor(account, via), now())


@router.get("/api/todo", responses=errors(401, 503))
async def api_todo(request: Request, account: Account = Security(account_of)) -> dict:
    """What is waiting on this account: `{"items": [{"kind", "title", "rows"}], "count": N}`. Kinds:
    approve (待我批示), sign (待我签署), due (报告与期限), bureau (等待局指挥部), overdue (逾期, 督查)."""
    found = await items(request, account, "api")
    return {"items": found, "count": todos.count(found)}


@router.get("/todo", include_in_schema=False)
async def todo_page(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    found = await items(request, s.account, "web")
    return w.page(request, "todo.html", {"_session": s, "items": found, "count": todos.count(found), "now": now()})


@router.get("/todo/count", include_in_schema=False)
async def todo_count(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return Response(status_code=401)
    n = todos.count(await items(request, s.account, "web"))
    return PlainTextResponse(str(n) if n else "", headers={"Cache-Control": "no-store"})
