"""Login and logout of the console: the password form (/login), the bureau's identity
provider (/login/oidc, when configured) and /logout. The JSON API's login is /api/login
(ecoplan/web/routes/api.py); the checks themselves are ecoplan/web/auth.py. Both first steps
lead to the same second one (ecoplan/web/routes/two_factor.py)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from ecoplan.web import actions as act
from ecoplan.web import auth
from ecoplan.web.context import address, log, safe_next, web_of
from ecoplan.web.login_pages import login_page, open_web_session
from ecoplan.web.oidc import OIDCRefused
from ecoplan.web.routes import two_factor

router = APIRouter()

OIDC_STATE_COOKIE = "ecoplan_oidc_state"


@router.get("/login", include_in_schema=False)
async def login_get(request: Request, next: str = "/"):
    w = web_of(request)
    if w.session(request):
        return RedirectResponse(safe_next(next), status_code=303)
    error = ""
    if w.settings.session_idle and w.store.session_ended(request.cookies.get(auth.SESSION_COOKIE), "web"):
        minutes = int(w.settings.session_idle.total_seconds() // 60)
        hours = int(w.settings.session_lifetime.total_seconds() // 3600)
        error = f"登录已超时（{minutes} 分钟无操作或已满 {hours} 小时），请重新登录"
    return login_page(w, request, next, error=error)


@router.get("/session/alive", include_in_schema=False)
async def session_alive(request: Request):
    """Typing in a form is use (live.js calls this while a person types, at most once a minute):
    a long opinion being written does not time its writer out. 204, or 401 once ended."""
    from fastapi import Response

    return Response(status_code=204 if web_of(request).session(request) else 401,
                    headers={"Cache-Control": "no-store"})


@router.post("/login", include_in_schema=False)
async def login_post(request: Request):
    w = web_of(request)
    form = await request.form()
    username, next_ = str(form.get("username") or ""), str(form.get("next") or "/")
    if not auth.same(str(form.get("csrf_token") or ""), request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
        log.warning("login", username=username.strip().lower()[:64], address=address(request), via="web",
                    outcome="bad_csrf")
        return login_page(w, request, next_, "登录表单已过期，请重新输入", 403, username)
    try:
        verified = await auth.login(w.store, w.limiter, w.settings, username, str(form.get("password") or ""),
                                    address(request), via="web")
    except auth.LoginRefused as e:
        resp = login_page(w, request, next_, e.detail, e.status, username)
        if e.retry_after:
            resp.headers["Retry-After"] = str(e.retry_after)
        return resp
    if verified.needs:  # the second factor next (ecoplan/web/routes/two_factor.py)
        resp = two_factor.pending(w, request, verified.account, verified.needs, next_)
    else:
        resp = open_web_session(w, request, verified.account, next_, via="password")
    resp.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.get("/login/oidc", include_in_schema=False)
async def oidc_start(request: Request, next: str = "/"):
    w = web_of(request)
    if w.oidc is None:
        raise act.Refusal(404, "未配置统一身份认证登录")
    try:
        url, state = await w.oidc.start(str(request.url_for("oidc_callback")), safe_next(next))
    except OIDCRefused as e:
        return login_page(w, request, next, str(e), 503)
    resp = RedirectResponse(url, status_code=303)
    # Lax: the provider sends the browser back with a top-level GET.
    resp.set_cookie(OIDC_STATE_COOKIE, state, httponly=True, samesite="lax", secure=w.secure(request),
                    path="/login/oidc", max_age=600)
    return resp


@router.get("/login/oidc/callback", include_in_schema=False, name="oidc_callback")
async def oidc_callback(request: Request, code: str = "", state: str = "", error: str = ""):
    w = web_of(request)
    if w.oidc is None:
        raise act.Refusal(404, "未配置统一身份认证登录")
    try:
        if error:
            raise OIDCRefused(f"统一身份认证未通过（{error[:100]}）")
        claims, next_ = await w.oidc.finish(state, code, request.cookies.get(OIDC_STATE_COOKIE))
        account = w.oidc.account_for(w.store, claims)
    except OIDCRefused as e:
        log.warning("login", username=None, address=address(request), via="oidc", outcome="refused", detail=str(e))
        resp = login_page(w, request, "/", str(e), 403)
        resp.delete_cookie(OIDC_STATE_COOKIE, path="/login/oidc")
        return resp
    # The provider's login is one kind of authentication: a role that needs a second factor
    # is asked the console's code next, unless the ID token says the provider asked one.
    try:
        needs = await asyncio.to_thread(auth.after_provider, w.store, w.settings, account, address(request),
                                        w.oidc.provider_factors(claims))
    except auth.LoginRefused as e:
        resp = login_page(w, request, "/", e.detail, e.status)
    else:
        if needs:
            resp = two_factor.pending(w, request, account, needs, next_, via="oidc")
        else:
            resp = open_web_session(w, request, account, next_, via="oidc")
    resp.delete_cookie(OIDC_STATE_COOKIE, path="/login/oidc")
    return resp


@router.post("/logout", include_in_schema=False)
async def logout(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is not None:
        await w.check_csrf(request, s)
        w.store.close_session(request.cookies.get(auth.SESSION_COOKIE))
        log.info("logout", username=s.account.username, address=address(request))
        w.store.audit("logout", s.account.username, address=address(request), outcome="ok", via=s.via,
                      keep_days=w.settings.audit_days)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(auth.SESSION_COOKIE, path="/")
    return resp
