"""The web service: the console (zh-CN pages rendered on the server), the JSON API and the
12369/119 intake, one FastAPI app on one port, with its OpenAPI schema at /openapi.json.

Who may do what is the plan's authority table (plan/authority.py); the stage in which an
action may be taken is the incident's own answer (`allowed_actions` in its status). Both
are asked before a form is shown, and again when anything is posted.

create_app assembles it: the shared state (ecoplan/web/context.py), the ASGI layer for
tokens and headers (layers.py), the error pages, and the routers by area (routes/).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from temporalio.service import RPCError, RPCStatusCode

from ecoplan.accounts import AccountStore
from ecoplan.body_limit import BodyLimit
from ecoplan.connection import TASK_QUEUE
from ecoplan.intake import _problem
from ecoplan.web import action_schemas
from ecoplan.web import actions as act
from ecoplan.web import auth, outage
from ecoplan.web.context import HERE, ClientFactory, Web, log, templates_for, web_of
from ecoplan.web.layers import Layers
from ecoplan import api_docs
from ecoplan.web.routes import account, admin, api, board, closed, duty, incident_list, incidents, intake, reach, start, todo, two_factor
from ecoplan.web.routes import auth as login
from plan import authority

DESCRIPTION = (
    "阳泉市生态环境局突发环境事件应急预案 (阳环发〔2022〕24号) as durable workflows: the console's JSON API "
    "and the 12369/119 intake.\n\n"
    "`POST /api/login` with `{\"username\", \"password\"}` returns a token; send it as "
    "`Authorization: Bearer TOKEN` on every other `/api` call (401 without a valid one).\n\n"
    "`POST /api/incidents/{id}/actions/{action}`: `action` is the incident's action (its Workflow Update "
    "name: {actions}); the body is the "
    "action's fields without `by` (the server fills it from the account). 200 with the result; 403 the role "
    "or account may not (nothing applied); 409 the incident refuses, with its sentence; 422 bad input.")


def create_app(client_factory: ClientFactory, store: AccountStore, intake_tokens=None, *,
               settings: auth.AuthSettings | None = None, task_queue: str = TASK_QUEUE,
               wait_ready: float = 30.0, poll_seconds: float = 5.0, board_refresh: float | None = None,
               oidc=None, records_db=None) -> FastAPI:
    """`client_factory` returns a Temporal client (or an awaitable of one), called on first
    use and again after a failure. `intake_tokens`: the 12369/119 platform tokens (as
    ecoplan.intake takes them); None serves no intake (/alerts answers 503). `oidc`: an
    ecoplan.web.oidc.OIDC for login with the bureau's identity provider, beside passwords.
    `board_refresh`: seconds between refreshes of the board's shared figures (default: the
    pages' poll interval, `poll_seconds`). `records_db`: the records store the 事件列表 and the
    closed incidents' pages read (default ECOPLAN_RECORDS_DB)."""
    w = Web(client_factory=client_factory, store=store, settings=settings or auth.AuthSettings(),
            templates=templates_for(store, poll_seconds), oidc=oidc, task_queue=task_queue,
            wait_ready=wait_ready, poll_seconds=poll_seconds)
    w.copies = board.board_copies(w, refresh=board_refresh or poll_seconds)
    reach.install(w)  # the pages panels (issue 23)
    w.templates.env.globals["reads_incidents"] = incident_list.reads_incidents  # the navigation's 事件列表
    alerts = intake.intake_app(w, intake_tokens)

    names = ", ".join(a for a in authority.actions() if a != "start_incident")
    app = FastAPI(title="ecoplan", version="1", description=DESCRIPTION.replace("{actions}", names),
                  docs_url=None, redoc_url=None)  # /docs: ecoplan/api_docs.py, offline and under the CSP
    app.state.web = w
    app.state.records_db = records_db
    app.state.board_copies = w.copies
    app.add_middleware(Layers, store=store, intake_app=alerts, trusted=w.settings.trusted_proxies)
    app.add_middleware(outage.ReadGuard, backend=w.backend)  # bounds every read's wait
    app.add_middleware(BodyLimit)  # outermost: /api, the forms and /alerts, chunked bodies too
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if alerts is not None:
        intake.merge_openapi(app, alerts)
    app.add_exception_handler(act.Refusal, _refused)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(RPCError, _unreachable)
    # start before incidents: /incidents/new
    for area in (start, login, two_factor, board, incident_list, todo, closed, incidents, api, api_docs, duty, reach, account, admin):
        app.include_router(area.router)
    action_schemas.merge_action_schemas(app)  # each action's body schema (the action registry)
    return app


# ------------------------------------------------------------------ errors


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _refused(request: Request, exc: act.Refusal) -> Response:
    account = getattr(request.state, "account", None)
    log.info("web_refused", path=request.url.path, status=exc.status, detail=exc.detail,
             username=account.username if account else None)
    headers = {"Retry-After": str(outage.RETRY_AFTER)} if exc.status == 503 else {}
    if _wants_json(request):
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="ecoplan"'
        body = {"detail": exc.detail, **({"field": exc.field} if exc.field else {})}  # the input at fault
        return JSONResponse(body, status_code=exc.status, headers=headers)
    resp = web_of(request).page(request, "message.html", {"title": "未能完成", "message": exc.detail}, exc.status)
    resp.headers.update(headers)
    return resp


async def _unreachable(request: Request, exc: RPCError) -> Response:
    """A Temporal call that failed mid-way: the outage's 503 when it is one, else a plain 500."""
    backend = web_of(request).backend
    backend.saw_failure()
    # A connection cut mid-call (the server killed) can come back as UNKNOWN "transport
    # error": the outage's too when the probe finds Temporal down (seen under load, issue 26).
    if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED) \
            or not await backend.up():
        log.warning("web_temporal_unreachable", path=request.url.path, status=exc.status.name, message=str(exc)[:200])
        return await _refused(request, act.Refusal(503, outage.OUTAGE_MESSAGE))
    log.error("web_rpc_error", path=request.url.path, status=exc.status.name, message=str(exc)[:200])
    return await _refused(request, act.Refusal(500, "指挥系统后台出错，请稍后再试"))


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    problem = _problem(list(exc.errors()))
    if _wants_json(request):
        return JSONResponse(problem.model_dump(), status_code=422)
    return web_of(request).page(request, "message.html", {"title": "输入有误", "message": problem.detail}, 422)
