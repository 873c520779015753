"""The JSON API (/api, listed in /openapi.json): login for a bearer token, the incident's
record and documents, its actions, and the supervisor views (= the CLI's --json answers).
The bearer token is checked before the body is read (ecoplan/web/layers.py); here the
account is `request.state.account`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from ecoplan import views
from ecoplan.accounts import Account
from ecoplan.intake import Problem, ValidationProblem
from ecoplan.web import action_schemas
from ecoplan.web import actions as act
from ecoplan.web import auth
from ecoplan.web import documents as webdocs
from ecoplan.web.context import LEVEL_NAMES, STAGE_NAMES, Web, address, log, now, web_of
from plan import authority
from plan.incident import IncidentReport
from workflows.actions import ACTIONS

router = APIRouter()
bearer = HTTPBearer(auto_error=False, scheme_name="accountToken", description="the token from POST /api/login")


class LoginBody(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    code: str | None = Field(None, max_length=64, description="the one-time code of the authenticator app (or a "
                             "recovery code): needed by the roles ECOPLAN_TOTP_ROLES names and by enrolled accounts")


class TokenOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer TOKEN` on every /api call")
    expires_at: str
    username: str
    role: str


class StartedOut(BaseModel):
    incident_id: str


ERRORS = {
    401: {"model": Problem, "description": "missing, unknown or expired token"},
    403: {"model": Problem, "description": "the account's role may not (nothing applied)"},
    404: {"model": Problem, "description": "no such incident or action"},
    409: {"model": Problem, "description": "the incident refused, with its sentence"},
    422: {"model": ValidationProblem, "description": "bad input; the message names the field"},
    503: {"model": Problem, "description": "Temporal is unreachable; retry"},
}


def errors(*codes: int) -> dict:
    return {k: ERRORS[k] for k in codes}


def account_of(request: Request, _cred: HTTPAuthorizationCredentials | None = Security(bearer)) -> Account:
    return request.state.account  # set by ecoplan.web.layers, which answered 401 otherwise


def need_reads_all(account: Account) -> None:
    if authority.reads(account.role) != "all":
        spec = authority.role(account.role)
        raise act.Refusal(403, f"{spec.name if spec else account.role}不能查看全部事件")


WebDep = Annotated[Web, Depends(web_of)]
Limit = Annotated[int, Query(ge=1, le=10_000)]


@router.post("/api/login", response_model=TokenOut, responses={401: ERRORS[401], 429: {"model": Problem}})
async def api_login(request: Request, body: LoginBody, w: WebDep):
    """Exchange a username and password for a bearer token (rate-limited, logged)."""
    try:
        verified = await auth.login(w.store, w.limiter, w.settings, body.username, body.password, address(request),
                                    via="api", code=body.code or "")
    except auth.LoginRefused as e:
        headers = {"Retry-After": str(e.retry_after)} if e.retry_after else None
        return JSONResponse({"detail": e.detail}, status_code=e.status, headers=headers)
    account = verified.account
    if verified.needs == "enrol":
        return JSONResponse({"detail": "此账号须使用动态口令：请先在控制台登录一次，按提示绑定验证器 App"}, status_code=403)
    token, _ = w.store.open_session(account.username, "api", w.settings.token_lifetime)
    expires = (now() + w.settings.token_lifetime).isoformat(timespec="seconds")
    return TokenOut(token=token, expires_at=expires, username=account.username, role=account.role)


@router.post("/api/logout", status_code=204, responses={401: ERRORS[401]})
async def api_logout(request: Request, w: WebDep, account: Account = Security(account_of)):
    """End this token."""
    _, _, token = request.headers.get("authorization", "").partition(" ")
    w.store.close_session(token.strip())
    return Response(status_code=204)


@router.get("/api/me", responses={401: ERRORS[401]})
async def api_me(account: Account = Security(account_of)) -> dict:
    """The account the token belongs to, and the actions its role may take."""
    return {**account.public(), "actions": authority.actions_for(account.role)}


@router.post("/api/incidents", status_code=201, response_model=StartedOut, responses=errors(401, 403, 409, 422, 503))
async def api_start(report: Annotated[IncidentReport, Body()], w: WebDep, account: Account = Security(account_of),
                    participants: Annotated[list[str], Query(description="a drill's participants (drill: true): account "
                                                             "usernames, repeated or comma-separated; the caller always "
                                                             "takes part; an unknown one is refused (422)")] = []):
    """Start an incident: the body is the `ecoplan start FILE` report."""
    iid = await act.start(await w.client(), account, report, w.wait_ready, via="api", store=w.store,
                          participants=participants)
    log.info("web_started", username=account.username, incident_id=iid)
    return StartedOut(incident_id=iid)


@router.get("/api/incidents/{incident_id}", responses=errors(401, 403, 404, 503))
async def api_status(incident_id: str, w: WebDep, account: Account = Security(account_of)) -> dict:
    """The incident's full record (= `ecoplan status ID --json`)."""
    return await act.read_incident(await w.client(), account, incident_id)


@router.get("/api/incidents/{incident_id}/documents", responses=errors(401, 403, 404, 503))
async def api_documents(incident_id: str, w: WebDep, account: Account = Security(account_of)) -> list[dict]:
    """The incident's printable documents: [{"name", "title"}], as the incident page lists them."""
    st = await act.read_incident(await w.client(), account, incident_id)
    papers = await asyncio.to_thread(webdocs.listing, st)
    return [{"name": name, "title": title} for name, title in papers["papers"]]


@router.get("/api/incidents/{incident_id}/documents/{name}",
            responses={200: {"description": "the document's bytes (docx, pdf, svg or png)"},
                       **errors(401, 403, 404, 503)})
async def api_document(incident_id: str, name: str, w: WebDep, account: Account = Security(account_of)):
    """One document, for the accounts that may read the incident."""
    st = await act.read_incident(await w.client(), account, incident_id)
    body, media = await asyncio.to_thread(webdocs.one, st, name)
    log.info("web_document", username=account.username, incident_id=incident_id, document=name, via="api")
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(incident_id + '-' + name)}"})


async def _act(w: Web, account: Account, incident_id: str, action: str, body: dict[str, Any] | None) -> dict:
    result = await act.perform(await w.client(), w.store, account, incident_id, action, body or {}, via="api")
    log.info("web_action", username=account.username, incident_id=incident_id, action=action, via="api")
    return result.model_dump(mode="json")


def _action_endpoint(name: str):
    async def endpoint(incident_id: str, w: WebDep, body: Annotated[dict[str, Any], Body()] = None,
                       account: Account = Security(account_of)) -> dict:
        return await _act(w, account, incident_id, name, body)

    return endpoint


# One operation per action of the registry, each with its body's schema in /openapi.json
# (ecoplan/web/action_schemas.py); the body is checked by ecoplan/web/actions.py `perform`.
for _name, _spec in ACTIONS.items():
    router.add_api_route(action_schemas.path_of(_name), _action_endpoint(_name), methods=["POST"], responses=ERRORS,
                         operation_id=f"action_{_name}", tags=["actions"], **action_schemas.describe(_spec))


@router.post("/api/incidents/{incident_id}/actions/{action}", responses=ERRORS, include_in_schema=False)
async def api_action(incident_id: str, action: str, w: WebDep, body: Annotated[dict[str, Any], Body()] = None,
                     account: Account = Security(account_of)) -> dict:
    """An action the registry does not have: 404 with the sentence (`perform` says which)."""
    return await _act(w, account, incident_id, action, body)


@router.get("/api/overdue", responses=errors(401, 403, 503))
async def api_overdue(w: WebDep, drills: bool = False, limit: Limit = 50, all: bool = False,
                      account: Account = Security(account_of)) -> list[dict]:
    """= `ecoplan overdue --json`."""
    need_reads_all(account)
    return list(await views.overdue(await w.client(), drills=drills, limit=None if all else limit))


@router.get("/api/stuck", responses=errors(401, 403, 422, 503))
async def api_stuck(w: WebDep, idle: str | None = None, drills: bool = False, limit: Limit = 50, all: bool = False,
                    account: Account = Security(account_of)) -> list[dict]:
    """= `ecoplan stuck --json` (idle: 90m, 6h, 3d; default: the plan's per-stage expectation)."""
    need_reads_all(account)
    try:
        after = views.parse_duration(idle) if idle is not None else None
    except ValueError as e:
        raise act.Refusal(422, f"空闲时长：{e}") from None
    return list(await views.stuck(await w.client(), idle=after, drills=drills, limit=None if all else limit))


@router.get("/api/faults", responses=errors(401, 403, 503))
async def api_faults(w: WebDep, drills: bool = False, limit: Limit = 50, all: bool = False,
                     account: Account = Security(account_of)) -> list[dict]:
    """= `ecoplan faults --json`: running incidents with an internal fault, oldest first."""
    need_reads_all(account)
    return list(await views.faults(await w.client(), drills=drills, limit=None if all else limit))


@router.get("/api/list", responses=errors(401, 403, 422, 503))
async def api_list(w: WebDep, stage: str | None = None, level: str | None = None, county: str | None = None,
                   drills: bool = False, limit: Limit = 50, all: bool = False,
                   account: Account = Security(account_of)) -> list[dict]:
    """= `ecoplan list --json`."""
    need_reads_all(account)
    if stage and stage not in STAGE_NAMES:
        raise act.Refusal(422, f"阶段「{stage}」不是可选的值，可选：{'、'.join(f'{k}（{v}）' for k, v in STAGE_NAMES.items())}")
    if level and level not in LEVEL_NAMES:
        raise act.Refusal(422, f"响应级别「{level}」不是可选的值，可选：I、II、III、IV")
    return list(await views.list_incidents(await w.client(), stage=stage, level=level, county=county,
                                           drills=drills, limit=None if all else limit))
