"""The web service: the console (zh-CN pages rendered on the server), the JSON API and the
12369/119 intake, one FastAPI app on one port, with its OpenAPI schema at /openapi.json.

Who may do what is the plan's authority table (plan/authority.py); the stage in which an
action may be taken is the incident's own answer (`allowed_actions` in its status). Both
are asked before a form is shown, and again when anything is posted.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Callable
from urllib.parse import quote

import structlog
from fastapi import Body, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.service import RPCError

from ecoplan import views
from ecoplan.accounts import Account, AccountStore
from ecoplan.connection import TASK_QUEUE
from ecoplan.intake import Problem, ValidationProblem, _problem
from ecoplan.web import actions as act
from ecoplan.web import auth
from ecoplan.web.board import BoardCopies
from ecoplan.web import documents as webdocs
from plan import authority
from activities.calendar import bureau_calendar
from plan.calendar import SHANGHAI, CalendarError, missing_notice_text, notice_missing, years_without_notice
from plan.incident import IncidentReport
from plan.loader import load_plan

log = structlog.get_logger("ecoplan.web")
HERE = Path(__file__).parent

STAGE_NAMES = {"reported": "接报", "warning": "预警", "responding": "启动响应", "on_site": "现场处置",
               "termination_pending": "终止签报", "post_event": "后期处置", "closed": "结案"}
DEADLINE_STATUS = {"scheduling": "待工作日历答复", "pending": "进行中", "met": "按时完成", "overdue": "已逾期",
                   "met_late": "逾期完成"}
# Internal faults (workflows/publishing.py): recorded and retried, never failing an incident.
FAULT_NAMES = {"plan_unavailable": "预案未能加载", "calendar_unavailable": "工作日历不可用",
               "delivery_overdue": "通知未送达", "delivery_failed": "通知送达失败"}
# How a closed incident ended (workflows/incident.py outcomes).
OUTCOME_NAMES = {"completed": "处置完毕", "warning_lifted": "预警解除"}
LEVEL_NAMES = {"I": "I级 特别重大", "II": "II级 重大", "III": "III级 较大", "IV": "IV级 一般"}
# Timeline entries the system writes; people's actions are named by the authority table.
SYSTEM_ENTRIES = {"reported": "接报", "deadline_started": "期限开始", "deadline_overdue": "期限逾期",
                  "linkage_bulletin": "联动通报", "delivery_overdue": "通知未送达", "delivered_late": "通知迟送达",
                  "reject_termination": "终止被否决", "delivery_failed": "通知送达失败",
                  "plan_unavailable": "预案未能加载", "plan_restored": "预案已加载",
                  "calendar_unavailable": "工作日历不可用", "calendar_restored": "工作日历已恢复"}

ClientFactory = Callable[[], Client | Any]


class LoginBody(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class TokenOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer TOKEN` on every /api call")
    expires_at: str
    username: str
    role: str


class StartedOut(BaseModel):
    incident_id: str


# ------------------------------------------------------------------ formatting


def _dt(value: Any, fmt: str = "%m-%d %H:%M") -> str:
    if not value:
        return "—"
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return t.astimezone(SHANGHAI).strftime(fmt)


def _span(seconds: float | int) -> str:
    m = int(abs(seconds)) // 60
    d, h, m = m // 1440, (m % 1440) // 60, m % 60
    return (f"{d}天" if d else "") + (f"{h}小时" if h else "") + (f"{m}分" if m or not (d or h) else "")


def _now() -> datetime:
    return datetime.now(SHANGHAI)


def _left(due: Any, now: datetime) -> str:
    """Time left before a deadline, or how late it is."""
    secs = (datetime.fromisoformat(str(due)) - now).total_seconds()
    return f"剩 {_span(secs)}" if secs >= 0 else f"逾期 {_span(secs)}"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never //host or a scheme (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# ------------------------------------------------------------------ ASGI layers


class _Layers:
    """Pure ASGI, in front of the app: the intake paths go to the intake app (its own
    platform tokens); every /api path but /api/login needs a valid bearer token, checked
    before the body is read; every response gets the security headers."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"content-security-policy",
         b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
         b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    ]
    OPEN_API_PATHS = frozenset({"/api/login"})

    def __init__(self, app, store: AccountStore, intake_app):
        self.app, self.store, self.intake_app = app, store, intake_app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.HEADERS]}
            await send(message)

        if path == "/alerts" or path.startswith("/alerts/"):
            if self.intake_app is None:
                resp = JSONResponse({"detail": "intake is not configured: set ECOPLAN_INTAKE_TOKENS "
                                               "(platform tokens) and restart `ecoplan web`"}, status_code=503)
                return await resp(scope, receive, send_with_headers)
            return await self.intake_app(scope, receive, send_with_headers)
        if path.startswith("/api/") and path not in self.OPEN_API_PATHS:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            scheme, _, token = headers.get("authorization", "").strip().partition(" ")
            session = (await asyncio.to_thread(self.store.session, token.strip(), "api")
                       if scheme.lower() == "bearer" and token.strip() else None)
            if session is None:
                why = "缺少" if "authorization" not in headers else "无效或已过期的"
                resp = JSONResponse({"detail": f"{why}令牌：先 POST /api/login 取得 token，"
                                               "再带 Authorization: Bearer TOKEN"},
                                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="ecoplan"'})
                return await resp(scope, receive, send_with_headers)
            scope.setdefault("state", {})["account"] = session.account
        return await self.app(scope, receive, send_with_headers)


# ------------------------------------------------------------------ the app


def create_app(client_factory: ClientFactory, store: AccountStore, intake_tokens=None, *,
               settings: auth.AuthSettings | None = None, task_queue: str = TASK_QUEUE,
               wait_ready: float = 30.0, poll_seconds: float = 5.0, board_refresh: float | None = None,
               oidc=None) -> FastAPI:
    """`client_factory` returns a Temporal client (or an awaitable of one), called on first
    use and again after a failure. `intake_tokens`: the 12369/119 platform tokens (as
    ecoplan.intake takes them); None serves no intake (/alerts answers 503). `oidc`: an
    ecoplan.web.oidc.OIDC for login with the bureau's identity provider, beside passwords.
    `board_refresh`: seconds between refreshes of the board's shared figures (default: the
    pages' poll interval, `poll_seconds`)."""
    from ecoplan import intake

    settings = settings or auth.AuthSettings()
    limiter = auth.LoginLimiter(settings)
    cached: dict[str, Client] = {}
    client_lock = asyncio.Lock()

    async def get_client() -> Client:
        if "c" not in cached:
            async with client_lock:
                if "c" not in cached:
                    try:
                        c = client_factory()
                        cached["c"] = await c if inspect.isawaitable(c) else c
                    except (RuntimeError, RPCError, OSError) as e:
                        raise act.Refusal(503, f"无法连接 Temporal（{str(e).splitlines()[0][:200] if str(e) else type(e).__name__}），"
                                               "请稍后再试") from None
        return cached["c"]

    intake_app = (intake.create_app(client_factory=get_client, tokens=intake_tokens, task_queue=task_queue,
                                    wait_ready=wait_ready) if intake_tokens else None)

    app = FastAPI(
        title="ecoplan",
        version="1",
        description=(
            "阳泉市生态环境局突发环境事件应急预案 (阳环发〔2022〕24号) as durable workflows: the console's JSON API "
            "and the 12369/119 intake.\n\n"
            "`POST /api/login` with `{\"username\", \"password\"}` returns a token; send it as "
            "`Authorization: Bearer TOKEN` on every other `/api` call (401 without a valid one).\n\n"
            "`POST /api/incidents/{id}/actions/{action}`: `action` is the incident's action (its Workflow Update "
            "name: " + ", ".join(a for a in authority.actions() if a != "start_incident") + "); the body is the "
            "action's fields without `by` (the server fills it from the account). 200 with the result; 403 the role "
            "or account may not (nothing applied); 409 the incident refuses, with its sentence; 422 bad input."),
    )
    app.add_middleware(_Layers, store=store, intake_app=intake_app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    def who(name: str | None) -> str:
        """An actor's name as a person reads it: 王伟（wangwei） for an account, else as recorded."""
        if not name:
            return "系统"
        a = store.get(name) if name.isascii() else None
        return a.label if a else name

    templates.env.filters.update(dt=_dt, span=_span, left=_left, who=who)
    deadline_titles = {d.name: d.title for d in load_plan().plan.deadlines}
    templates.env.filters["deadline"] = lambda name: deadline_titles.get(name, name)
    labels = {**SYSTEM_ENTRIES, **{a.action: a.name for a in load_plan().plan.authority}}
    templates.env.globals.update(STAGE_NAMES=STAGE_NAMES, DEADLINE_STATUS=DEADLINE_STATUS, LEVEL_NAMES=LEVEL_NAMES,
                                 FAULT_NAMES=FAULT_NAMES, OUTCOME_NAMES=OUTCOME_NAMES, ACTION_LABELS=labels, poll_seconds=poll_seconds,
                                 # how each actor was authenticated, on the timeline
                                 VIA_NAMES={"web": "网页", "oidc": "统一身份认证", "api": "API", "cli": "命令行",
                                            "intake": "联动平台", "schedule": "定时任务"})
    bearer = HTTPBearer(auto_error=False, scheme_name="accountToken",
                        description="the token from POST /api/login")

    if intake_app is not None:
        base_openapi = app.openapi

        def merged_openapi() -> dict:
            # One schema for the port: the intake's /alerts beside the API.
            if app.openapi_schema:
                return app.openapi_schema
            schema = base_openapi()
            other = intake_app.openapi()
            schema["paths"].update(other.get("paths", {}))
            for kind, items in other.get("components", {}).items():
                schema.setdefault("components", {}).setdefault(kind, {}).update(items)
            app.openapi_schema = schema
            return schema

        app.openapi = merged_openapi

    # -------------------------------------------------------------- errors

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(act.Refusal)
    async def _refused(request: Request, exc: act.Refusal) -> Response:
        account = getattr(request.state, "account", None)
        log.info("web_refused", path=request.url.path, status=exc.status, detail=exc.detail,
                 username=account.username if account else None)
        if wants_json(request):
            headers = {"WWW-Authenticate": 'Bearer realm="ecoplan"'} if exc.status == 401 else None
            return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)
        return page(request, "message.html", {"title": "未能完成", "message": exc.detail}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problem = _problem(list(exc.errors()))
        if wants_json(request):
            return JSONResponse(problem.model_dump(), status_code=422)
        return page(request, "message.html", {"title": "输入有误", "message": problem.detail}, 422)

    # -------------------------------------------------------------- sessions (console)

    def session(request: Request):
        return auth.session_of(store, request.cookies.get(auth.SESSION_COOKIE))

    def secure(request: Request) -> bool:
        return settings.secure_cookies or request.url.scheme == "https"

    def page(request: Request, name: str, ctx: dict, status: int = 200) -> HTMLResponse:
        s = ctx.pop("_session", None) or session(request)
        ctx = {"account": s.account if s else None, "csrf": s.csrf if s else "",
               "role_name": (authority.role(s.account.role).name if s and authority.role(s.account.role) else ""),
               "may_start_incident": bool(s) and authority.may(s.account.role, "start_incident") is None,
               "reads_all": bool(s) and authority.reads(s.account.role) == "all",
               **ctx}
        resp = templates.TemplateResponse(request, name, ctx, status_code=status)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def to_login(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    def login_page(request: Request, next_: str, error: str = "", status: int = 200, username: str = "") -> HTMLResponse:
        token = request.cookies.get(auth.LOGIN_CSRF_COOKIE) or auth.new_login_csrf()
        resp = page(request, "login.html", {"login_csrf": token, "next": _safe_next(next_), "error": error,
                                            "username": username, "oidc": oidc is not None}, status)
        resp.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
                        path="/login", max_age=3600)
        return resp

    def address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def check_csrf(request: Request, s) -> Any:
        form = await request.form()
        if not auth.same(str(form.get("csrf_token") or ""), s.csrf):
            log.warning("csrf_refused", path=request.url.path, username=s.account.username, address=address(request))
            raise act.Refusal(403, "表单校验失败（缺少或错误的 CSRF 令牌）：请刷新页面后重新提交，未作任何改动")
        return form

    # -------------------------------------------------------------- console pages

    # Before /incidents/{incident_id}: "/incidents/new" must not be taken for an incident id.
    from ecoplan.web import pages

    pages.add_routes(app, pages.Deps(session=session, page=page, to_login=to_login, check_csrf=check_csrf,
                                     get_client=get_client, wait_ready=wait_ready))

    @app.get("/login", include_in_schema=False)
    async def login_get(request: Request, next: str = "/"):
        if session(request):
            return RedirectResponse(_safe_next(next), status_code=303)
        return login_page(request, next)

    @app.post("/login", include_in_schema=False)
    async def login_post(request: Request):
        form = await request.form()
        username, next_ = str(form.get("username") or ""), str(form.get("next") or "/")
        if not auth.same(str(form.get("csrf_token") or ""), request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
            log.warning("login", username=username.strip().lower()[:64], address=address(request), via="web",
                        outcome="bad_csrf")
            return login_page(request, next_, "登录表单已过期，请重新输入", 403, username)
        try:
            account = await auth.login(store, limiter, username, str(form.get("password") or ""),
                                       address(request), via="web")
        except auth.LoginRefused as e:
            resp = login_page(request, next_, e.detail, e.status, username)
            if e.retry_after:
                resp.headers["Retry-After"] = str(e.retry_after)
            return resp
        resp = open_web_session(request, account, next_, via="password")
        resp.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
        return resp

    def open_web_session(request: Request, account: Account, next_: str, via: str) -> RedirectResponse:
        token, _ = store.open_session(account.username, "web", settings.session_lifetime, via=via)
        resp = RedirectResponse(_safe_next(next_), status_code=303)
        resp.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure(request),
                        max_age=int(settings.session_lifetime.total_seconds()), path="/")
        return resp

    OIDC_STATE_COOKIE = "ecoplan_oidc_state"

    @app.get("/login/oidc", include_in_schema=False)
    async def oidc_start(request: Request, next: str = "/"):
        from ecoplan.web.oidc import OIDCRefused

        if oidc is None:
            raise act.Refusal(404, "未配置统一身份认证登录")
        try:
            url, state = await oidc.start(str(request.url_for("oidc_callback")), _safe_next(next))
        except OIDCRefused as e:
            return login_page(request, next, str(e), 503)
        resp = RedirectResponse(url, status_code=303)
        # Lax: the provider sends the browser back with a top-level GET.
        resp.set_cookie(OIDC_STATE_COOKIE, state, httponly=True, samesite="lax", secure=secure(request),
                        path="/login/oidc", max_age=600)
        return resp

    @app.get("/login/oidc/callback", include_in_schema=False, name="oidc_callback")
    async def oidc_callback(request: Request, code: str = "", state: str = "", error: str = ""):
        from ecoplan.web.oidc import OIDCRefused

        if oidc is None:
            raise act.Refusal(404, "未配置统一身份认证登录")
        try:
            if error:
                raise OIDCRefused(f"统一身份认证未通过（{error[:100]}）")
            claims, next_ = await oidc.finish(state, code, request.cookies.get(OIDC_STATE_COOKIE))
            account = oidc.account_for(store, claims)
        except OIDCRefused as e:
            log.warning("login", username=None, address=address(request), via="oidc", outcome="refused", detail=str(e))
            resp = login_page(request, "/", str(e), 403)
            resp.delete_cookie(OIDC_STATE_COOKIE, path="/login/oidc")
            return resp
        log.info("login", username=account.username, address=address(request), via="oidc", outcome="ok",
                 role=account.role)
        resp = open_web_session(request, account, next_, via="oidc")
        resp.delete_cookie(OIDC_STATE_COOKIE, path="/login/oidc")
        return resp

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        s = session(request)
        if s is not None:
            await check_csrf(request, s)
            store.close_session(request.cookies.get(auth.SESSION_COOKIE))
            log.info("logout", username=s.account.username, address=address(request))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(auth.SESSION_COOKIE, path="/")
        return resp

    async def board_figures(drills: bool) -> dict:
        client = await get_client()
        overdue, stuck, faults, provisional, counts = await asyncio.gather(
            views.overdue(client, drills=drills, limit=20), views.stuck(client, drills=drills, limit=20),
            views.faults(client, drills=drills, limit=20), views.provisional(client, drills=drills, limit=20),
            count_all(client, drills))
        return {"overdue": overdue, "stuck": stuck, "faults": faults, "provisional": provisional,
                "provisional_total": provisional.total, "counts": counts}

    # One shared copy of the figures for all who read everything (ecoplan.web.board).
    copies = BoardCopies(board_figures, refresh=board_refresh or poll_seconds)
    app.state.board_copies = copies

    async def board_data(account: Account, drills: bool) -> dict:
        client = await get_client()
        notice = calendar_notice()
        if authority.reads(account.role) != "all":
            return {"mine": await my_signoffs(client, account), "notice_missing": notice}
        (figures, as_of), mine = await asyncio.gather(copies.get(drills), my_signoffs(client, account))
        return {**figures, "as_of": as_of, "mine": mine, "notice_missing": notice}

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

    def calendar_notice() -> str:
        """"2027年节假日安排尚未载入，以下期限为暂定" from 1 November of the year before; a
        calendar file that cannot be read is said too, never a failed board."""
        try:
            cal = bureau_calendar()
        except CalendarError as e:
            return f"节假日安排文件有误，工作日期限可能不准：{e}"
        return missing_notice_text(notice_missing(cal, _now().date()))

    async def my_signoffs(client: Client, account: Account) -> list[dict]:
        """Incidents waiting for this account's 附件2 sign-off (the incident publishes who it
        waits on as "USERNAME (GROUP NAME)")."""
        plan = load_plan().plan
        names = [f"{account.username} ({plan.group(g).name})" for g in plan.termination.signatories]
        query = views.base_query(drills=True) + " AND EcoWaitingOn IN (" + ", ".join(views._q(n) for n in names) + ")"
        out = []
        async for w in client.list_workflows(query, limit=50):
            out.append({"incident_id": w.id.removeprefix("incident-"),
                        "title": (await w.memo_value("title", default="")) if w.memo else ""})
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

    @app.get("/", include_in_schema=False)
    async def board(request: Request, drills: bool = False):
        s = session(request)
        if s is None:
            return to_login(request)
        data = await board_data(s.account, drills)
        return page(request, "board.html", {"_session": s, "drills": drills, "now": _now(), **data})

    @app.get("/board/live", include_in_schema=False)
    async def board_live(request: Request, drills: bool = False):
        s = session(request)
        if s is None:  # the page's script reloads, and the reload goes to the login page
            return Response(status_code=401)
        data = await board_data(s.account, drills)
        return page(request, "board_live.html", {"_session": s, "drills": drills, "now": _now(), **data})

    async def incident_context(client: Client, s, incident_id: str) -> dict:
        st = await act.read_incident(client, s.account, incident_id)
        labels = {}
        for g, u in (st.get("leads") or {}).items():
            a = store.get(u)
            labels[g] = a.label if a else u  # a lead named by the CLI is a name, not an account
        return {"_session": s, "st": st, "now": _now(), "provisional_note": provisional_note(st),
                "forms": act.forms_for(s.account, st), "lead_labels": labels,
                "groups": {g.id: g.name for g in load_plan().plan.groups},
                "stages": [x for x in STAGE_NAMES if x != "warning" or st.get("warning")]}

    @app.get("/incidents/{incident_id}", include_in_schema=False)
    async def incident_page(request: Request, incident_id: str, done: str | None = None, started: str | None = None):
        s = session(request)
        if s is None:
            return to_login(request)
        ctx = await incident_context(await get_client(), s, incident_id)
        r = authority.rule(done) if done else None
        papers = await asyncio.to_thread(webdocs.listing, ctx["st"])
        return page(request, "incident.html", {**ctx, "done": r.name if r else ("建立事件" if started else None), **papers})

    @app.get("/incidents/{incident_id}/documents/{name}", include_in_schema=False)
    async def incident_document(request: Request, incident_id: str, name: str):
        """One printed document, for the accounts that may read the incident's page."""
        s = session(request)
        if s is None:
            return to_login(request)
        st = await act.read_incident(await get_client(), s.account, incident_id)
        body, media = await asyncio.to_thread(webdocs.one, st, name)
        log.info("web_document", username=s.account.username, incident_id=incident_id, document=name)
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(incident_id + '-' + name)}"})

    @app.get("/incidents/{incident_id}/live", include_in_schema=False)
    async def incident_live(request: Request, incident_id: str):
        s = session(request)
        if s is None:
            return Response(status_code=401)
        ctx = await incident_context(await get_client(), s, incident_id)
        return page(request, "incident_live.html", ctx)

    @app.post("/incidents/{incident_id}/actions/{action}", include_in_schema=False)
    async def incident_action(request: Request, incident_id: str, action: str):
        s = session(request)
        if s is None:
            return to_login(request)
        form = await check_csrf(request, s)
        client = await get_client()
        try:
            if action not in act.ACTION_MODELS:
                raise act.Refusal(404, f"未知操作 {action!r}")
            fields = act.fields_from_form(action, form)
            await act.perform(client, store, s.account, incident_id, action, fields,
                              via="oidc" if s.via == "oidc" else "web")
        except act.Refusal as e:
            log.info("web_refused", path=request.url.path, status=e.status, detail=e.detail,
                     username=s.account.username)
            try:
                ctx = await incident_context(client, s, incident_id)
            except act.Refusal:
                raise e from None
            return page(request, "incident.html", {**ctx, "error": e.detail, "failed_action": action}, e.status)
        log.info("web_action", username=s.account.username, incident_id=incident_id, action=action)
        return RedirectResponse(f"/incidents/{quote(incident_id)}?done={quote(action)}", status_code=303)

    # -------------------------------------------------------------- JSON API

    def account_of(request: Request,
                   _cred: HTTPAuthorizationCredentials | None = Security(bearer)) -> Account:
        return request.state.account  # set by _Layers, which answered 401 otherwise

    errors = {
        401: {"model": Problem, "description": "missing, unknown or expired token"},
        403: {"model": Problem, "description": "the account's role may not (nothing applied)"},
        404: {"model": Problem, "description": "no such incident or action"},
        409: {"model": Problem, "description": "the incident refused, with its sentence"},
        422: {"model": ValidationProblem, "description": "bad input; the message names the field"},
        503: {"model": Problem, "description": "Temporal is unreachable; retry"},
    }

    def need_reads_all(account: Account) -> None:
        if authority.reads(account.role) != "all":
            spec = authority.role(account.role)
            raise act.Refusal(403, f"{spec.name if spec else account.role}不能查看全部事件")

    @app.post("/api/login", response_model=TokenOut, responses={401: errors[401], 429: {"model": Problem}})
    async def api_login(request: Request, body: LoginBody):
        """Exchange a username and password for a bearer token (rate-limited, logged)."""
        try:
            account = await auth.login(store, limiter, body.username, body.password, address(request), via="api")
        except auth.LoginRefused as e:
            headers = {"Retry-After": str(e.retry_after)} if e.retry_after else None
            return JSONResponse({"detail": e.detail}, status_code=e.status, headers=headers)
        token, _ = store.open_session(account.username, "api", settings.token_lifetime)
        expires = (_now() + settings.token_lifetime).isoformat(timespec="seconds")
        return TokenOut(token=token, expires_at=expires, username=account.username, role=account.role)

    @app.post("/api/logout", status_code=204, responses={401: errors[401]})
    async def api_logout(request: Request, account: Account = Security(account_of)):
        """End this token."""
        _, _, token = request.headers.get("authorization", "").partition(" ")
        store.close_session(token.strip())
        return Response(status_code=204)

    @app.get("/api/me", responses={401: errors[401]})
    async def api_me(account: Account = Security(account_of)) -> dict:
        """The account the token belongs to, and the actions its role may take."""
        return {**account.public(), "actions": authority.actions_for(account.role)}

    @app.post("/api/incidents", status_code=201, response_model=StartedOut,
              responses={k: errors[k] for k in (401, 403, 409, 422, 503)})
    async def api_start(report: Annotated[IncidentReport, Body()], account: Account = Security(account_of)):
        """Start an incident: the body is the `ecoplan start FILE` report."""
        iid = await act.start(await get_client(), account, report, wait_ready, via="api")
        log.info("web_started", username=account.username, incident_id=iid)
        return StartedOut(incident_id=iid)

    @app.get("/api/incidents/{incident_id}", responses={k: errors[k] for k in (401, 403, 404, 503)})
    async def api_status(incident_id: str, account: Account = Security(account_of)) -> dict:
        """The incident's full record (= `ecoplan status ID --json`)."""
        return await act.read_incident(await get_client(), account, incident_id)

    @app.get("/api/incidents/{incident_id}/documents", responses={k: errors[k] for k in (401, 403, 404, 503)})
    async def api_documents(incident_id: str, account: Account = Security(account_of)) -> list[dict]:
        """The incident's printable documents: [{"name", "title"}], as the incident page lists them."""
        st = await act.read_incident(await get_client(), account, incident_id)
        papers = await asyncio.to_thread(webdocs.listing, st)
        return [{"name": name, "title": title} for name, title in papers["papers"]]

    @app.get("/api/incidents/{incident_id}/documents/{name}",
             responses={200: {"description": "the document's bytes (docx, pdf, svg or png)"},
                        **{k: errors[k] for k in (401, 403, 404, 503)}})
    async def api_document(incident_id: str, name: str, account: Account = Security(account_of)):
        """One document, for the accounts that may read the incident."""
        st = await act.read_incident(await get_client(), account, incident_id)
        body, media = await asyncio.to_thread(webdocs.one, st, name)
        log.info("web_document", username=account.username, incident_id=incident_id, document=name, via="api")
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(incident_id + '-' + name)}"})

    @app.post("/api/incidents/{incident_id}/actions/{action}", responses=errors)
    async def api_action(incident_id: str, action: str, body: Annotated[dict[str, Any], Body()] = None,
                         account: Account = Security(account_of)) -> dict:
        """Take an action on an incident; the body is its fields without `by`."""
        result = await act.perform(await get_client(), store, account, incident_id, action, body or {}, via="api")
        log.info("web_action", username=account.username, incident_id=incident_id, action=action, via="api")
        return result.model_dump(mode="json")

    @app.get("/api/overdue", responses={k: errors[k] for k in (401, 403, 503)})
    async def api_overdue(drills: bool = False, limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
                          all: bool = False, account: Account = Security(account_of)) -> list[dict]:
        """= `ecoplan overdue --json`."""
        need_reads_all(account)
        return list(await views.overdue(await get_client(), drills=drills, limit=None if all else limit))

    @app.get("/api/stuck", responses={k: errors[k] for k in (401, 403, 422, 503)})
    async def api_stuck(idle: str | None = None, drills: bool = False,
                        limit: Annotated[int, Query(ge=1, le=10_000)] = 50, all: bool = False,
                        account: Account = Security(account_of)) -> list[dict]:
        """= `ecoplan stuck --json` (idle: 90m, 6h, 3d; default: the plan's per-stage expectation)."""
        need_reads_all(account)
        try:
            after = views.parse_duration(idle) if idle is not None else None
        except ValueError as e:
            raise act.Refusal(422, f"idle: {e}") from None
        return list(await views.stuck(await get_client(), idle=after, drills=drills, limit=None if all else limit))

    @app.get("/api/faults", responses={k: errors[k] for k in (401, 403, 503)})
    async def api_faults(drills: bool = False, limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
                         all: bool = False, account: Account = Security(account_of)) -> list[dict]:
        """= `ecoplan faults --json`: running incidents with an internal fault, oldest first."""
        need_reads_all(account)
        return list(await views.faults(await get_client(), drills=drills, limit=None if all else limit))

    @app.get("/api/list", responses={k: errors[k] for k in (401, 403, 422, 503)})
    async def api_list(stage: str | None = None, level: str | None = None, county: str | None = None,
                       drills: bool = False, limit: Annotated[int, Query(ge=1, le=10_000)] = 50, all: bool = False,
                       account: Account = Security(account_of)) -> list[dict]:
        """= `ecoplan list --json`."""
        need_reads_all(account)
        if stage and stage not in STAGE_NAMES:
            raise act.Refusal(422, f"stage: {stage!r} is not a stage ({', '.join(STAGE_NAMES)})")
        if level and level not in LEVEL_NAMES:
            raise act.Refusal(422, f"level: {level!r} is not one of I, II, III, IV")
        return list(await views.list_incidents(await get_client(), stage=stage, level=level, county=county,
                                               drills=drills, limit=None if all else limit))

    return app
