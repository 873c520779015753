"""The HTTP intake for the 12369 hotline platform and the 119 command platform (issue 7).

郑环办〔2013〕84号 (seed 000) asks the bureau to connect 12369 环保举报热线 and the 119
指挥平台 (互联互通，及时通报接警信息); this service is that connection on the bureau's side.
A platform POSTs an alert (接警信息) to `/alerts`:

- a new alert starts an incident (`api.start_incident`) whose id is derived from the
  platform and the platform's own alert id, so a repeated or concurrent post of the same
  alert names the same incident and never starts a second one (Temporal's workflow-id
  uniqueness decides: the loser gets `IncidentExists`);
- an alert that names an existing incident (`incident_id`) becomes a progress report
  (续报, `submit_report`) on it, recorded once per platform alert id.

Each request carries its platform's token (`Authorization: Bearer <token>`); the token
says which platform is speaking. Tokens come from `ECOPLAN_INTAKE_TOKENS`
("hotline_12369=TOKEN1,linkage_119=TOKEN2") or a file named by `ECOPLAN_INTAKE_TOKENS_FILE`
(the same pairs, one a line or comma-separated; `#` comments). Token values are never logged.

Responses: 201 {incident_id, created: true, ...} the first time; 200 {…, created: false}
for a repeat; 401 unknown or missing token (nothing touched); 404 the named incident does
not exist; 409 the incident refused (its own sentence); 413 body too large; 422 bad input
(the message names the field); 503 Temporal unreachable (retry: the post is idempotent).
The OpenAPI schema is served at /openapi.json (and /docs).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import re
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import structlog
from fastapi import Body, FastAPI, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, ValidationError, ValidationInfo, field_validator
from temporalio.client import Client
from temporalio.service import RPCError

from activities.settings import settings
from ecoplan import api
from ecoplan.connection import TASK_QUEUE
from plan.calendar import SHANGHAI
from plan.grading import Assessment, Count
from plan.incident import MAX_TEXT, Actor, Id, IncidentReport, IncidentType, Model, Name, ReportContent, Time
from plan.loader import validation_message
from workflows.messages import SubmitReport

log = structlog.get_logger("intake")

PLATFORMS: dict[str, str] = {"hotline_12369": "12369环保举报热线", "linkage_119": "119指挥平台"}
PLATFORM_CODE: dict[str, str] = {"hotline_12369": "12369", "linkage_119": "119"}
TYPE_LABEL: dict[str, str] = {"water": "水污染", "air": "大气污染", "soil": "土壤污染",
                              "hazardous_chemicals": "危险化学品泄漏", "solid_waste": "固体废物污染",
                              "other": "突发环境事件"}
TOKENS_ENV, TOKENS_FILE_ENV = "ECOPLAN_INTAKE_TOKENS", "ECOPLAN_INTAKE_TOKENS_FILE"
MIN_TOKEN_LENGTH = 16
MAX_BODY_BYTES = 1_000_000
FUTURE_TOLERANCE = timedelta(minutes=5)  # platform clocks drift; the workflow allows the same
NEW_INCIDENT_FIELDS = ("county", "location", "incident_type", "reporter")
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})

_ID_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


# ------------------------------------------------------------------ the alert (request body)


def _no_controls(v: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in v):
        raise ValueError("contains control characters")
    return v


def _no_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be empty or only spaces")
    return v.strip()


AlertId = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_controls),
                    AfterValidator(_no_blank)]
Short = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_controls), AfterValidator(_no_blank)]
Long = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_controls)]


class Casualties(Model):
    """人员伤亡 as the platform knows it at the time of the alert."""

    deaths: Count = Field(0, description="死亡人数")
    injured: Count = Field(0, description="受伤或中毒人数 (counts as poisoned_or_injured for grading)")
    note: Short | None = Field(None, description="free text, e.g. 2人送医")


class FireInfo(Model):
    """What the fire brigade reports (协议 二.3: 公安消防参战力量、消防水使用量)."""

    forces: Short | None = Field(None, description="公安消防参战力量, e.g. 3个中队12车60人")
    water_used_m3: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = Field(
        None, description="消防水使用量 in cubic metres (firefighting water may carry the pollutant)")
    note: Short | None = Field(None, description="anything else the brigade reports")


class Alert(Model):
    """One alert (接警信息) as the 12369 or 119 platform sends it. Times are ISO 8601; a time
    without an offset is Asia/Shanghai. Unknown fields are refused (422)."""

    alert_id: AlertId = Field(description="the platform's own alert / case number (接警单号); a repeat of "
                                          "the same id is the same alert (idempotent)")
    received_at: Time = Field(description="when the platform received the alert (接警时间); "
                                          "the incident's reported_at, and discovered_at unless given")
    discovered_at: Time | None = Field(None, description="when the event was discovered, if earlier than "
                                                          "received_at (default: received_at)")
    incident_id: Id | None = Field(None, description="an existing incident this alert is about: the alert "
                                                     "becomes a progress report (续报) on it (404 if unknown)")
    title: Short | None = Field(None, description="short title; default: county + location + type + platform")
    county: Name | None = Field(None, description="county / district (县（市、区）); required for a new incident")
    location: Short | None = Field(None, description="place (事发地点), e.g. 冶西镇桃河段; required for a new incident")
    incident_type: IncidentType | None = Field(None, description="kind of event; required for a new incident")
    description: Long = Field("", description="what the caller / brigade reports (事件情况)")
    reporter: Name | None = Field(None, description="caller or reporting unit (报警人/来电人); "
                                                    "required for a new incident")
    reporter_phone: Annotated[str, StringConstraints(max_length=50), AfterValidator(_no_controls)] | None = Field(
        None, description="callback number (联系电话)")
    cause: Short | None = Field(None, description="初步原因分析")
    casualties: Casualties | None = Field(None, description="人员伤亡")
    fire: FireInfo | None = Field(None, description="fire brigade information (119)")
    impact: Short | None = Field(None, description="影响情况 / 影响范围")
    hazards: Short | None = Field(None, description="可能存在的隐患")
    monitoring_data: Short | None = Field(None, description="监测数据")
    trend: Short | None = Field(None, description="发展趋势")
    actions_taken: Short | None = Field(None, description="已采取的措施")
    assessment: Assessment | None = Field(None, description="grading inputs (附表1), as in the start contract; "
                                                            "used for a new incident")
    drill: bool = Field(False, description="a joint drill (联合演练), not a real event")

    @field_validator("received_at", "discovered_at")
    @classmethod
    def _not_future(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        if v is not None and v > datetime.now(SHANGHAI) + FUTURE_TOLERANCE:
            raise ValueError("is in the future (more than 5 minutes ahead of the bureau's clock)")
        received = info.data.get("received_at")
        if info.field_name == "discovered_at" and v is not None and received is not None and v > received:
            raise ValueError("is after received_at: an event is discovered before it is reported")
        return v

    def missing_for_new_incident(self) -> list[str]:
        """The fields a new incident needs that this alert leaves out (none when it names an incident)."""
        if self.incident_id is not None:
            return []
        return [f for f in NEW_INCIDENT_FIELDS if getattr(self, f) is None]


class AlertAccepted(BaseModel):
    incident_id: str = Field(description="the incident the alert started or was added to")
    created: bool = Field(description="true the first time; false for a repeat of the same alert")
    entry: Literal["incident", "progress"] = Field(description="incident: the alert started it; "
                                                               "progress: a progress report (续报) on it")
    platform: str
    alert_id: str
    message: str


class Problem(BaseModel):
    detail: str


class FieldProblem(BaseModel):
    field: str
    message: str


class ValidationProblem(BaseModel):
    detail: str = Field(description="one line: the first field and what is wrong with it")
    errors: list[FieldProblem]


# ------------------------------------------------------------------ ids, tokens


def incident_id_for(platform: str, alert_id: str) -> str:
    """The incident id of a platform's alert: deterministic, and it fits IncidentReport's id
    pattern. "12369-<alert_id>" when the alert id is id-safe and short enough, else
    "12369.<sha256 prefix>" (a different separator, so the two forms never collide)."""
    code = PLATFORM_CODE[platform]
    alert_id = alert_id.strip()
    plain = f"{code}-{alert_id}"
    if _ID_SAFE.match(alert_id) and len(plain) <= 80:
        return plain
    return f"{code}.{hashlib.sha256(alert_id.encode()).hexdigest()[:32]}"


def progress_marker(platform: str, alert_id: str) -> str:
    """The prefix of a progress report's summary that records which alert it came from."""
    return f"[alert {incident_id_for(platform, alert_id)}]"


class TokenConfigError(ValueError):
    pass


TokenSpec = Mapping[str, str | Iterable[str]] | str


def parse_tokens(spec: TokenSpec) -> dict[str, str]:
    """platform -> token(s) (a mapping, or the "platform=TOKEN,…" text) as token -> platform.
    Errors are one line and never contain a token."""
    pairs: list[tuple[str, str]] = []
    if isinstance(spec, str):
        for n, raw in enumerate(re.split(r"[,\n]", spec), 1):
            item = raw.split("#", 1)[0].strip()
            if not item:
                continue
            platform, sep, token = item.partition("=")
            if not sep:
                raise TokenConfigError(f"token entry {n} is not platform=TOKEN")
            pairs.append((platform.strip(), token.strip()))
    else:
        for platform, tokens in spec.items():
            for token in [tokens] if isinstance(tokens, str) else tokens:
                pairs.append((platform, token))
    table: dict[str, str] = {}
    for platform, token in pairs:
        if platform not in PLATFORMS:
            raise TokenConfigError(f"unknown platform {platform!r} in the token list: "
                                   f"use {' or '.join(PLATFORMS)}")
        if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
            raise TokenConfigError(f"the token for {platform} must be at least {MIN_TOKEN_LENGTH} "
                                   "characters without spaces")
        if table.get(token, platform) != platform:
            raise TokenConfigError(f"the same token is given to {table[token]} and {platform}")
        table[token] = platform
    if not table:
        raise TokenConfigError("no platform token configured")
    return table


def tokens_from_env(env: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """platform -> its token(s), from ECOPLAN_INTAKE_TOKENS and/or ECOPLAN_INTAKE_TOKENS_FILE."""
    s = settings(env)
    text, path = (s.intake_tokens or "").strip(), (s.intake_tokens_file or "").strip()
    if path:
        try:
            text = "\n".join(filter(None, [text, Path(path).read_text(encoding="utf-8")]))
        except OSError as err:
            raise TokenConfigError(f"{TOKENS_FILE_ENV}={path}: {err.strerror or err}") from None
    if not text.strip():
        raise TokenConfigError(f"no platform token configured: set {TOKENS_ENV}="
                               f"\"hotline_12369=TOKEN1,linkage_119=TOKEN2\" or {TOKENS_FILE_ENV}=PATH")
    by_platform: dict[str, list[str]] = {}
    for token, platform in parse_tokens(text).items():
        by_platform.setdefault(platform, []).append(token)
    return by_platform


class _TokenGate:
    """Pure ASGI middleware: every path but the published schema and docs needs a known
    platform token, checked before the body is read (so a bad token touches nothing, even
    with a malformed body). The platform goes into the request state."""

    def __init__(self, app, tokens: dict[str, str]):
        self.app = app
        self.tokens = [(t.encode(), p) for t, p in tokens.items()]

    def platform_for(self, header: str | None) -> str | None:
        scheme, _, token = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given, found = token.strip().encode(), None
        for known, platform in self.tokens:  # compare against every token: no early exit
            if hmac.compare_digest(given, known):
                found = platform
        return found

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        platform = self.platform_for(headers.get("authorization"))
        if platform is None:
            why = "missing" if "authorization" not in headers else "unknown"
            log.warning("intake_unauthorized", path=scope["path"], reason=why)
            resp = JSONResponse({"detail": f"{why} platform token: send Authorization: Bearer <token> "
                                           "as issued for hotline_12369 or linkage_119"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="ecoplan-intake"'})
            return await resp(scope, receive, send)
        try:
            too_big = int(headers.get("content-length") or 0) > MAX_BODY_BYTES
        except ValueError:
            too_big = False
        if too_big:
            resp = JSONResponse({"detail": f"body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
            return await resp(scope, receive, send)
        scope.setdefault("state", {})["platform"] = platform
        return await self.app(scope, receive, send)


# ------------------------------------------------------------------ mapping


def _truncate(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _casualties_text(c: Casualties | None) -> str | None:
    if c is None:
        return None
    return "；".join(filter(None, [f"死亡{c.deaths}人，受伤/中毒{c.injured}人", c.note]))


def _fire_lines(f: FireInfo | None) -> list[str]:
    if f is None:
        return []
    return [s for s in [f.forces and f"消防参战力量：{f.forces}",
                        f.water_used_m3 is not None and f"消防水使用量：{f.water_used_m3:g} m³",
                        f.note and f"消防情况：{f.note}"] if s]


def _detail_lines(a: Alert) -> list[str]:
    return [s for s in [
        a.reporter_phone and f"联系电话：{a.reporter_phone}",
        a.cause and f"初步原因：{a.cause}",
        a.casualties and f"人员伤亡：{_casualties_text(a.casualties)}",
        *_fire_lines(a.fire),
        a.impact and f"影响情况：{a.impact}",
        a.hazards and f"可能存在的隐患：{a.hazards}",
        a.monitoring_data and f"监测数据：{a.monitoring_data}",
        a.trend and f"发展趋势：{a.trend}",
        a.actions_taken and f"已采取措施：{a.actions_taken}",
    ] if s]


def incident_report(platform: str, alert: Alert) -> IncidentReport:
    """The start report of the incident a new alert opens."""
    code = PLATFORM_CODE[platform]
    title = alert.title or f"{alert.county}{alert.location}{TYPE_LABEL[alert.incident_type]}（{code}接警）"
    source_line = f"来源：{PLATFORMS[platform]}，接警单号 {alert.alert_id}，接警时间 {alert.received_at.isoformat()}"
    description = "\n".join(filter(None, [alert.description.strip(), *_detail_lines(alert), source_line]))
    assessment = alert.assessment or Assessment()
    if alert.casualties:
        assessment = assessment.model_copy(update={
            "deaths": max(assessment.deaths, alert.casualties.deaths),
            "poisoned_or_injured": max(assessment.poisoned_or_injured, alert.casualties.injured)})
    return IncidentReport(
        incident_id=incident_id_for(platform, alert.alert_id), title=title,
        discovered_at=alert.discovered_at or alert.received_at, reported_at=alert.received_at,
        county=alert.county, location=alert.location, incident_type=alert.incident_type,
        description=_truncate(description), source=platform, reporter=alert.reporter,
        assessment=assessment, drill=alert.drill)


def progress_report(platform: str, alert: Alert) -> SubmitReport:
    """The progress report (续报) an alert about an existing incident becomes. Its summary
    starts with the alert's marker: that is the record that keeps it idempotent."""
    head = f"{progress_marker(platform, alert.alert_id)} {PLATFORMS[platform]}续报"
    body = "：".join(filter(None, [alert.title, alert.description.strip()]))
    extra = [s for s in [
        alert.reporter and f"报告人：{alert.reporter}",
        alert.incident_type and f"类型：{TYPE_LABEL[alert.incident_type]}",
        alert.impact and f"影响情况：{alert.impact}",
        alert.hazards and f"可能存在的隐患：{alert.hazards}",
        *_fire_lines(alert.fire),
        alert.assessment and "分级要素：" + "，".join(
            f"{k}={v}" for k, v in alert.assessment.model_dump().items() if v not in (0, "none")),
    ] if s]
    summary = "\n".join([f"{head}：{body}" if body else head, *extra])
    place = "".join(filter(None, [alert.county, alert.location])) or None
    content = ReportContent(
        summary=_truncate(summary), time=alert.received_at.isoformat(), place=place, source=alert.cause,
        monitoring_data=alert.monitoring_data, casualties=_casualties_text(alert.casualties),
        trend=alert.trend, actions_taken=alert.actions_taken)
    return SubmitReport(by=platform_actor(platform), kind="progress", content=content,
                        relayed_from=PLATFORMS[platform])


def platform_actor(platform: str) -> Actor:
    """A linkage platform as the workflow records it: the token's platform name, acting as
    the plan's linkage partner (联动单位) through the intake (authority table: intake_report)."""
    from plan import authority

    spec = authority.role("partner")
    return Actor(name=platform, role=spec.name if spec else "联动单位", role_id="partner", via="intake")


# ------------------------------------------------------------------ the app


class _Fail(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


ClientFactory = Callable[[], Client | Awaitable[Client]]


def _field(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts)


def _problem(errors: list[dict]) -> ValidationProblem:
    items = []
    for e in errors:
        where, msg = _field(e.get("loc", ())), str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") == "json_invalid":
            msg = f"malformed JSON ({(e.get('ctx') or {}).get('error', 'cannot parse')})"
            where = ""
        elif e.get("type") == "missing" and not where:
            msg = "a JSON object (the alert) is required"
        elif e.get("type") == "model_attributes_type" and not where:
            msg = "the alert must be a JSON object"
        items.append(FieldProblem(field=where or "body", message=" ".join(msg.split())))
    first = items[0] if items else FieldProblem(field="body", message="invalid input")
    detail = f"{first.field}: {first.message}" + (f" (and {len(items) - 1} more)" if len(items) > 1 else "")
    return ValidationProblem(detail=detail, errors=items)


def create_app(client_factory: ClientFactory, tokens: TokenSpec, task_queue: str = TASK_QUEUE,
               wait_ready: float = 30.0) -> FastAPI:
    """The intake app. `client_factory` returns a Temporal client (or an awaitable of one);
    it is called on first use and again after a failure. `tokens`: platform -> token(s),
    or the ECOPLAN_INTAKE_TOKENS text. Raises TokenConfigError when no usable token is given."""
    token_table = parse_tokens(tokens)
    client_lock = asyncio.Lock()
    cached: dict[str, Client] = {}
    progress_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def get_client() -> Client:
        if "c" not in cached:
            async with client_lock:
                if "c" not in cached:
                    try:
                        c = client_factory()
                        cached["c"] = await c if inspect.isawaitable(c) else c
                    except (RuntimeError, RPCError, OSError) as e:
                        raise _Fail(503, f"cannot reach Temporal ({str(e).splitlines()[0][:200] if str(e) else type(e).__name__}); "
                                         "retry: the alert is idempotent") from None
        return cached["c"]

    app = FastAPI(
        title="ecoplan intake",
        version="1",
        description=(
            "Alerts (接警信息) from the 12369 environmental hotline platform and the 119 fire command "
            "platform (郑环办〔2013〕84号: 12369与119互联互通，及时通报接警信息).\n\n"
            "Authenticate with your platform's token: `Authorization: Bearer <token>`.\n\n"
            "POST /alerts is idempotent by the platform's `alert_id`: a new alert starts an incident "
            "(201, `created: true`), a repeat names the same incident (200, `created: false`). "
            "An alert with `incident_id` is a progress report (续报) on that incident."),
    )
    app.add_middleware(_TokenGate, tokens=token_table)
    bearer = HTTPBearer(auto_error=False, scheme_name="platformToken",
                        description="the token issued to hotline_12369 or linkage_119")

    def platform_of(request: Request,
                    _cred: HTTPAuthorizationCredentials | None = Security(bearer)) -> str:
        return request.state.platform  # set by _TokenGate, which refused the request otherwise

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem = _problem(list(exc.errors()))
        log.info("intake_invalid", platform=getattr(request.state, "platform", None), detail=problem.detail)
        return JSONResponse(problem.model_dump(), status_code=422)

    @app.exception_handler(_Fail)
    async def _failed(request: Request, exc: _Fail) -> JSONResponse:
        log.info("intake_refused", platform=getattr(request.state, "platform", None), status=exc.status,
                 detail=exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    error_responses = {
        401: {"model": Problem, "description": "missing or unknown platform token; nothing was done"},
        404: {"model": Problem, "description": "the alert names an incident that does not exist"},
        409: {"model": Problem, "description": "the incident refused the report (closed, …): its own sentence"},
        413: {"model": Problem, "description": "body too large"},
        422: {"model": ValidationProblem, "description": "bad input; the message names the field"},
        503: {"model": Problem, "description": "Temporal is unreachable; retry (idempotent)"},
    }

    @app.post("/alerts", status_code=201, response_model=AlertAccepted,
              responses={200: {"model": AlertAccepted, "description": "a repeat of an alert already taken"},
                         201: {"description": "the alert started an incident or added a progress report"},
                         **error_responses})
    async def post_alert(response: Response, alert: Annotated[Alert, Body()],
                         platform: str = Security(platform_of)) -> AlertAccepted:
        """Take one alert from the 12369 or 119 platform (idempotent by `alert_id`)."""
        missing = alert.missing_for_new_incident()
        if missing:
            raise RequestValidationError([
                {"type": "missing", "loc": ("body", f), "input": None,
                 "msg": "Field required for a new incident (the alert names no incident_id)"} for f in missing])
        client = await get_client()
        try:
            if alert.incident_id is None:
                result = await _start(client, platform, alert)
            else:
                result = await _progress(client, platform, alert)
        except RPCError as e:
            raise _Fail(503, f"Temporal refused: {e.message}; retry: the alert is idempotent") from None
        response.status_code = 201 if result.created else 200
        log.info("intake_alert", platform=platform, alert_id=alert.alert_id, incident_id=result.incident_id,
                 entry=result.entry, created=result.created)
        return result

    async def _start(client: Client, platform: str, alert: Alert) -> AlertAccepted:
        try:
            report = incident_report(platform, alert)
        except ValidationError as e:  # the alert's own validation should have caught it
            raise _Fail(422, validation_message(e)) from None
        iid = report.incident_id
        done = dict(incident_id=iid, entry="incident", platform=platform, alert_id=alert.alert_id)
        try:
            await api.start_incident(client, report, task_queue=task_queue, wait_ready=wait_ready,
                                     started_by=platform_actor(platform))
        except api.IncidentExists:
            return AlertAccepted(**done, created=False, message=f"alert already taken: incident {iid}")
        except api.ActionRefused as e:
            raise _Fail(409, str(e)) from None
        except api.EcoplanError as e:  # started, but no worker picked it up yet: it exists all the same
            return AlertAccepted(**done, created=True, message=str(e))
        return AlertAccepted(**done, created=True, message=f"incident {iid} started")

    async def _progress(client: Client, platform: str, alert: Alert) -> AlertAccepted:
        iid = alert.incident_id
        key = incident_id_for(platform, alert.alert_id)
        marker = progress_marker(platform, alert.alert_id)
        done = dict(incident_id=iid, entry="progress", platform=platform, alert_id=alert.alert_id)
        # One at a time per alert in this process, so a repeat sees the first one's entry and
        # answers created=false. Across processes the update id below keeps it to one entry.
        lock = progress_locks.get(marker)
        if lock is None:
            lock = progress_locks[marker] = asyncio.Lock()
        async with lock:
            try:
                st = await api.status(client, iid)
            except api.IncidentNotFound as e:
                raise _Fail(404, str(e)) from None
            except api.IncidentClosed as e:
                raise _Fail(409, str(e)) from None
            if any(str(r.get("summary", "")).startswith(marker) for r in st.get("reports") or []):
                return AlertAccepted(**done, created=False, message=f"alert already recorded on incident {iid}")
            if st.get("outcome"):
                raise _Fail(409, f"incident {iid} is closed ({st['outcome']}); no further reports")
            try:
                # The update id is derived from the alert: Temporal runs an update id once per
                # workflow run and hands a repeat the first one's outcome.
                res = await api.act(client, iid, "submit_report", progress_report(platform, alert),
                                    update_id=f"intake-{key}")
            except api.ActionRefused as e:
                raise _Fail(409, str(e)) from None
            except (api.IncidentClosed, api.IncidentNotFound):
                # It existed a moment ago (status answered): it closed in between.
                raise _Fail(409, f"incident {iid} is closed; no further reports") from None
        return AlertAccepted(**done, created=True, message=res.message)

    return app


# ------------------------------------------------------------------ `ecoplan intake`


def serve(host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the service until Ctrl-C (for `ecoplan intake`). Refuses to start, with one line,
    when no token is configured or Temporal cannot be reached."""
    import uvicorn

    from ecoplan.connection import ConnectionSettings
    from ecoplan.errors import Fail, connect_or_fail
    from ecoplan.logging_setup import configure

    try:
        tokens = tokens_from_env()
    except TokenConfigError as e:
        raise Fail(f"intake: {e}", 2) from None
    configure()

    async def main() -> None:
        settings = ConnectionSettings.from_env()
        client = await connect_or_fail(settings, who="intake: ")
        app = create_app(client_factory=lambda: client, tokens=tokens)
        log.info("intake_starting", host=host, port=port, platforms=sorted(tokens),
                 temporal=settings.redacted())
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, lifespan="off"))
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits on a bind failure, after logging why
            raise Fail(f"intake: cannot listen on {host}:{port}") from None

    asyncio.run(main())
