"""What every route of the web service shares: the `Web` object (the account store, the
auth settings, the templates, the Temporal client, the board's shared figures), reached
from a request as `web_of(request)` (FastAPI dependency), and the names and filters the
pages print with. create_app (ecoplan/web/app.py) makes one `Web` per app."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlsplit

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from temporalio.client import Client
from temporalio.service import RPCError

from ecoplan.accounts import AccountStore
from ecoplan.web import actions as act
from ecoplan.web import auth, outage
from plan import authority
from plan.calendar import SHANGHAI
from plan.citation import cite
from plan.loader import load_plan
from plan.stages import FAULT_NAMES, OUTCOME_NAMES, STAGE_NAMES  # noqa: F401  (routes import them from here)

log = structlog.get_logger("ecoplan.web")
HERE = Path(__file__).parent

DEADLINE_STATUS = {"scheduling": "待工作日历答复", "pending": "进行中", "met": "按时完成", "overdue": "已逾期",
                   "met_late": "逾期完成"}
LEVEL_NAMES = {"I": "I级 特别重大", "II": "II级 重大", "III": "III级 较大", "IV": "IV级 一般"}
# How the event's level stands (17号令 第三条 初步认定; 核定 by the bureau; 附表1 the grading).
EVENT_LEVEL_KINDS = {"graded": "按附表1分级", "preliminary": "初步认定", "confirmed": "核定"}
# 32号令 第四条 第二、三款 (record_investigation_transfer).
TRANSFER_NAMES = {"delegated": "上级委托本局调查处理", "taken_over": "上级直接组织调查处理", "referred": "本局已报请上一级决定"}
# Timeline entries the system writes; people's actions are named by the authority table.
SYSTEM_ENTRIES = {"reported": "接报", "deadline_started": "期限开始", "deadline_overdue": "期限逾期",
                  "linkage_bulletin": "联动通报", "delivery_overdue": "通知未送达", "delivered_late": "通知迟送达",
                  "reject_termination": "终止被否决", "delivery_failed": "通知送达失败",
                  "plan_unavailable": "预案未能加载", "plan_restored": "预案已加载",
                  "calendar_unavailable": "工作日历不可用", "calendar_restored": "工作日历已恢复",
                  "page_step": "呼叫"}
# How each actor was authenticated, on the timeline.
VIA_NAMES = {"web": "网页", "oidc": "统一身份认证", "api": "API", "cli": "命令行", "intake": "联动平台",
             "schedule": "定时任务"}

ClientFactory = Callable[[], Client | Any]


# ------------------------------------------------------------------ formatting


def dt(value: Any, fmt: str = "%m-%d %H:%M") -> str:
    if not value:
        return "—"
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return t.astimezone(SHANGHAI).strftime(fmt)


def span(seconds: float | int) -> str:
    m = int(abs(seconds)) // 60
    d, h, m = m // 1440, (m % 1440) // 60, m % 60
    return (f"{d}天" if d else "") + (f"{h}小时" if h else "") + (f"{m}分" if m or not (d or h) else "")


def now() -> datetime:
    return datetime.now(SHANGHAI)


def left(due: Any, at: datetime) -> str:
    """Time left before a deadline, or how late it is."""
    secs = (datetime.fromisoformat(str(due)) - at).total_seconds()
    return f"剩 {span(secs)}" if secs >= 0 else f"逾期 {span(secs)}"


def safe_next(target: str | None) -> str:
    """Only a path on this site: never //host or a scheme (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def to_login(request: Request) -> RedirectResponse:
    """To the login page, then back. A form sent after the session ended comes back to the
    page it was on (its Referer, when that is this site), where the page's script puts back
    what was typed (static/live.js); the form's own address answers only posts."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        came = urlsplit(request.headers.get("referer", ""))
        if came.netloc == request.url.netloc and came.path.startswith("/") and not came.path.startswith("/login"):
            target = came.path + (f"?{came.query}" if came.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def templates_for(store: AccountStore, poll_seconds: float) -> Jinja2Templates:
    """The console's templates with their filters (dt, span, left, who, deadline) and names."""
    templates = Jinja2Templates(directory=HERE / "templates")

    def who(name: str | None) -> str:
        """An actor's name as a person reads it: the account's display name (王伟; the record
        keeps the username), else as recorded."""
        if not name:
            return "系统"
        a = store.get(name) if name.isascii() else None
        return (a.display or a.username) if a else name

    # A rule's source as people read it: the citation, without the data's reviewer notes.
    templates.env.filters.update(dt=dt, span=span, left=left, who=who, cite=cite)
    deadline_titles = {d.name: d.title for d in load_plan().plan.deadlines}
    templates.env.filters["deadline"] = lambda name: deadline_titles.get(name, name)
    labels = {**SYSTEM_ENTRIES, **{a.action: a.name for a in load_plan().plan.authority}}
    templates.env.globals.update(STAGE_NAMES=STAGE_NAMES, DEADLINE_STATUS=DEADLINE_STATUS, LEVEL_NAMES=LEVEL_NAMES,
                                 EVENT_LEVEL_KINDS=EVENT_LEVEL_KINDS, TRANSFER_NAMES=TRANSFER_NAMES,
                                 FAULT_NAMES=FAULT_NAMES, OUTCOME_NAMES=OUTCOME_NAMES, ACTION_LABELS=labels,
                                 poll_seconds=poll_seconds, VIA_NAMES=VIA_NAMES)
    return templates


# ------------------------------------------------------------------ the app's shared state


@dataclass
class Web:
    """One app's shared state and the helpers every route uses."""

    client_factory: ClientFactory
    store: AccountStore
    settings: auth.AuthSettings
    templates: Jinja2Templates
    oidc: Any = None
    task_queue: str = ""
    wait_ready: float = 30.0
    poll_seconds: float = 5.0
    limiter: auth.LoginLimiter = None  # type: ignore[assignment]
    copies: Any = None  # ecoplan.web.board.BoardCopies, set by create_app
    _cached: dict = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    backend: Any = None  # ecoplan.web.outage.Backend: is Temporal reachable

    def __post_init__(self):
        if self.limiter is None:
            self.limiter = auth.limiter_for(self.store, self.settings)
        if self.backend is None:
            self.backend = outage.Backend(self._client)

    async def client(self) -> Client:
        """The Temporal client, unless Temporal refuses connections (ecoplan/web/outage.py):
        Refusal 503 at once during an outage, never a wait of many seconds. A server that only
        did not answer a look in time is still tried: reads are bounded by the ReadGuard."""
        c = await self._client()
        if await self.backend.look() == outage.REFUSED:
            raise act.Refusal(503, outage.OUTAGE_MESSAGE)
        return c

    async def _client(self) -> Client:
        """`client_factory` is called on first use and again after a failure."""
        if "c" not in self._cached:
            async with self._lock:
                if "c" not in self._cached:
                    try:
                        c = self.client_factory()
                        self._cached["c"] = await c if inspect.isawaitable(c) else c
                    except (RuntimeError, RPCError, OSError) as e:
                        raise act.Refusal(503, f"无法连接 Temporal（{str(e).splitlines()[0][:200] if str(e) else type(e).__name__}），"
                                               "请稍后再试") from None
        return self._cached["c"]

    # -------------------------------------------------------------- console sessions

    def session(self, request: Request):
        return auth.session_of(self.store, request.cookies.get(auth.SESSION_COOKIE), self.settings,
                               used=auth.BACKGROUND_HEADER not in request.headers)

    def secure(self, request: Request) -> bool:
        return self.settings.secure_cookies or request.url.scheme == "https"

    def page(self, request: Request, name: str, ctx: dict, status: int = 200) -> HTMLResponse:
        s = ctx.pop("_session", None) or self.session(request)
        ctx = {"account": s.account if s else None, "csrf": s.csrf if s else "",
               "role_name": (authority.role(s.account.role).name if s and authority.role(s.account.role) else ""),
               "may_start_incident": bool(s) and authority.may(s.account.role, "start_incident") is None,
               "reads_all": bool(s) and authority.reads(s.account.role) == "all",
               **ctx}
        resp = self.templates.TemplateResponse(request, name, ctx, status_code=status)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    async def check_csrf(self, request: Request, s) -> Any:
        form = await request.form()
        if not auth.same(str(form.get("csrf_token") or ""), s.csrf):
            log.warning("csrf_refused", path=request.url.path, username=s.account.username, address=address(request))
            raise act.Refusal(403, "表单校验失败（缺少或错误的 CSRF 令牌）：请刷新页面后重新提交，未作任何改动")
        return form


def web_of(request: Request) -> Web:
    """The app's `Web` (a FastAPI dependency: it adds nothing to the OpenAPI schema)."""
    return request.app.state.web
