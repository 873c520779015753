"""The intake app (POST /alerts) and `ecoplan intake`: an alert starts an incident, or adds a
progress report (续报) to the one it names, idempotently by the platform's alert id."""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Awaitable, Callable
from typing import Annotated

import uvicorn
from fastapi import Body, FastAPI, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from ecoplan import api, api_docs
from ecoplan.body_limit import MAX_BODY_BYTES, BodyLimit
from ecoplan.connection import TASK_QUEUE, ConnectionSettings
from ecoplan.errors import Fail, connect_or_fail
from ecoplan.intake.alert import Alert, AlertAccepted, Problem, ValidationProblem, _problem
from ecoplan.intake.common import log
from ecoplan.intake.mapping import (incident_id_for, incident_report, platform_actor, progress_marker,
                                    progress_report)
from ecoplan.intake.tokens import TokenConfigError, TokenSpec, _TokenGate, parse_tokens, tokens_from_env
from ecoplan.logging_setup import configure
from ecoplan.security_headers import SecurityHeaders
from plan.problems import validation_message

ClientFactory = Callable[[], Client | Awaitable[Client]]

DESCRIPTION = (
    "Alerts (接警信息) from the 12369 environmental hotline platform and the 119 fire command "
    "platform (郑环办〔2013〕84号: 12369与119互联互通，及时通报接警信息).\n\n"
    "Authenticate with your platform's token: `Authorization: Bearer <token>`.\n\n"
    "POST /alerts is idempotent by the platform's `alert_id`: a new alert starts an incident "
    "(201, `created: true`), a repeat names the same incident (200, `created: false`). "
    "An alert with `incident_id` is a progress report (续报) on that incident.")
ERROR_RESPONSES = {
    401: {"model": Problem, "description": "missing or unknown platform token; nothing was done"},
    404: {"model": Problem, "description": "the alert names an incident that does not exist"},
    409: {"model": Problem, "description": "the incident refused the report (closed, …): its own sentence"},
    413: {"model": Problem, "description": "body too large"},
    422: {"model": ValidationProblem, "description": "bad input; the message names the field"},
    503: {"model": Problem, "description": "Temporal is unreachable; retry (idempotent)"},
}
bearer = HTTPBearer(auto_error=False, scheme_name="platformToken",
                    description="the token issued to hotline_12369 or linkage_119")


class _Fail(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def platform_of(request: Request, _cred: HTTPAuthorizationCredentials | None = Security(bearer)) -> str:
    return request.state.platform  # set by _TokenGate, which refused the request otherwise


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    problem = _problem(list(exc.errors()))
    log.info("intake_invalid", platform=getattr(request.state, "platform", None), detail=problem.detail)
    return JSONResponse(problem.model_dump(), status_code=422)


async def _failed(request: Request, exc: _Fail) -> JSONResponse:
    log.info("intake_refused", platform=getattr(request.state, "platform", None), status=exc.status,
             detail=exc.detail)
    # A 503 is worth resending (the same alert_id never starts a second incident): say when.
    headers = {"Retry-After": "5"} if exc.status == 503 else {}
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)


class Intake:
    """What one intake app holds: its Temporal client (made on first use, again after a
    failure), where incidents start, and one lock per alert taken as a progress report."""

    def __init__(self, client_factory: ClientFactory, task_queue: str, wait_ready: float):
        self.client_factory, self.task_queue, self.wait_ready = client_factory, task_queue, wait_ready
        self._client_lock = asyncio.Lock()
        self._cached: dict[str, Client] = {}
        self._progress_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def client(self) -> Client:
        if "c" not in self._cached:
            async with self._client_lock:
                if "c" not in self._cached:
                    try:
                        c = self.client_factory()
                        self._cached["c"] = await c if inspect.isawaitable(c) else c
                    except Exception as e:  # unreachable, or the console's outage answer (a Refusal)
                        said = getattr(e, "detail", None) or (str(e).splitlines()[0][:200] if str(e) else type(e).__name__)
                        raise _Fail(503, f"连不上 Temporal 服务（{said}）：请重发，同一接警单重发不会重复立案") from None
        return self._cached["c"]

    async def take(self, platform: str, alert: Alert) -> AlertAccepted:
        missing = alert.missing_for_new_incident()
        if missing:
            raise RequestValidationError([
                {"type": "missing_for_new_incident", "loc": ("body", f), "input": None,
                 "msg": "新事件必须填写（接警信息未指明事件编号）"} for f in missing])
        client = await self.client()
        try:
            if alert.incident_id is None:
                return await self.start(client, platform, alert)
            return await self.progress(client, platform, alert)
        except RPCError as e:
            raise _Fail(503, f"Temporal 服务拒绝了请求（{e.message}）：请重发，同一接警单重发不会重复立案") from None

    async def start(self, client: Client, platform: str, alert: Alert) -> AlertAccepted:
        try:
            report = incident_report(platform, alert)
        except ValidationError as e:  # the alert's own validation should have caught it
            raise _Fail(422, validation_message(e)) from None
        iid = report.incident_id
        done = dict(incident_id=iid, entry="incident", platform=platform, alert_id=alert.alert_id)
        try:
            await api.start_incident(client, report, task_queue=self.task_queue, wait_ready=self.wait_ready,
                                     started_by=platform_actor(platform))
        except api.IncidentExists:
            return AlertAccepted(**done, created=False, message=f"该接警单已受理：事件 {iid}")
        except api.ActionRefused as e:
            raise _Fail(422 if e.kind == "invalid" else 409, str(e)) from None
        except api.EcoplanError as e:  # started, but no worker picked it up yet: it exists all the same
            return AlertAccepted(**done, created=True, message=str(e))
        return AlertAccepted(**done, created=True, message=f"已立案：事件 {iid}")

    async def progress(self, client: Client, platform: str, alert: Alert) -> AlertAccepted:
        iid = alert.incident_id
        key = incident_id_for(platform, alert.alert_id)
        marker = progress_marker(platform, alert.alert_id)
        done = dict(incident_id=iid, entry="progress", platform=platform, alert_id=alert.alert_id)
        # One at a time per alert in this process, so a repeat sees the first one's entry and
        # answers created=false. Across processes the update id below keeps it to one entry.
        lock = self._progress_locks.get(marker)
        if lock is None:
            lock = self._progress_locks[marker] = asyncio.Lock()
        async with lock:
            try:
                st = await api.status(client, iid)
            except api.IncidentNotFound as e:
                raise _Fail(404, str(e)) from None
            except api.IncidentClosed as e:
                raise _Fail(409, str(e)) from None
            if any(str(r.get("summary", "")).startswith(marker) for r in st.get("reports") or []):
                return AlertAccepted(**done, created=False, message=f"该接警单已记入事件 {iid}")
            if st.get("outcome"):
                raise _Fail(409, f"事件 {iid} 已结案，不再接收续报")
            try:
                # The update id is derived from the alert: Temporal runs an update id once per
                # workflow run and hands a repeat the first one's outcome.
                res = await api.act(client, iid, "submit_report", progress_report(platform, alert),
                                    update_id=f"intake-{key}")
            except api.ActionRefused as e:
                raise _Fail(409, str(e)) from None
            except (api.IncidentClosed, api.IncidentNotFound):
                # It existed a moment ago (status answered): it closed in between.
                raise _Fail(409, f"事件 {iid} 已结案，不再接收续报") from None
        return AlertAccepted(**done, created=True, message=res.message)


def create_app(client_factory: ClientFactory, tokens: TokenSpec, task_queue: str = TASK_QUEUE,
               wait_ready: float = 30.0) -> FastAPI:
    """The intake app. `client_factory` returns a Temporal client (or an awaitable of one);
    it is called on first use and again after a failure. `tokens`: platform -> token(s),
    or the ECOPLAN_INTAKE_TOKENS text. Raises TokenConfigError when no usable token is given."""
    token_table = parse_tokens(tokens)
    intake = Intake(client_factory, task_queue, wait_ready)
    # /docs: ecoplan/api_docs.py, offline and under the CSP (FastAPI's loads from a CDN)
    app = FastAPI(title="ecoplan intake", version="1", description=DESCRIPTION, docs_url=None, redoc_url=None)
    app.include_router(api_docs.router)
    app.add_middleware(_TokenGate, tokens=token_table)
    app.add_middleware(SecurityHeaders)  # as the console's; inside the console, its headers are not doubled
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)  # chunked bodies too: counted as they stream in
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(_Fail, _failed)

    @app.post("/alerts", status_code=201, response_model=AlertAccepted,
              responses={200: {"model": AlertAccepted, "description": "a repeat of an alert already taken"},
                         201: {"description": "the alert started an incident or added a progress report"},
                         **ERROR_RESPONSES})
    async def post_alert(response: Response, alert: Annotated[Alert, Body()],
                         platform: str = Security(platform_of)) -> AlertAccepted:
        """Take one alert from the 12369 or 119 platform (idempotent by `alert_id`)."""
        result = await intake.take(platform, alert)
        response.status_code = 201 if result.created else 200
        log.info("intake_alert", platform=platform, alert_id=alert.alert_id, incident_id=result.incident_id,
                 entry=result.entry, created=result.created)
        return result

    return app


# ------------------------------------------------------------------ `ecoplan intake`


def serve(host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the service until Ctrl-C (for `ecoplan intake`). Refuses to start, with one line,
    when no token is configured or Temporal cannot be reached."""
    try:
        tokens = tokens_from_env()
    except TokenConfigError as e:
        raise Fail(f"接警服务：{e}", 2) from None
    configure()

    async def main() -> None:
        settings = ConnectionSettings.from_env()
        client = await connect_or_fail(settings, who="接警服务：")
        app = create_app(client_factory=lambda: client, tokens=tokens)
        log.info("intake_starting", host=host, port=port, platforms=sorted(tokens),
                 temporal=settings.redacted())
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, lifespan="off"))
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits on a bind failure, after logging why
            raise Fail(f"接警服务：无法在 {host}:{port} 上监听（端口被占用？）") from None

    asyncio.run(main())
