"""The console's second sign-in step (ecoplan/totp.py): after a right password, or a login
with the identity provider that did no second factor of its own (ecoplan/web/oidc.py), a
person whose role the settings name (ECOPLAN_TOTP_ROLES), or who enrolled by choice, types a
code from the authenticator app (/login/code), or enrols first (/login/enrol: QR code, one
code to confirm, recovery codes shown once). Between the two steps the browser holds a short
"pending" session (kind `pending`, 5 minutes, cookie path /login) that opens nothing else.
A signed-in person may enrol by choice at /login/enrol too. With ECOPLAN_TOTP_SELF_ENROL=no
nobody enrols here: an admin does (`ecoplan users enrol-2fa`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ecoplan.accounts import Account
from ecoplan.totp import TotpStore, provisioning_uri, qr_svg
from ecoplan.web import actions as act
from ecoplan.web import auth
from ecoplan.web.context import Web, address, log, safe_next, web_of
from ecoplan.web.login_pages import login_page, open_web_session

router = APIRouter()


def pending(w: Web, request: Request, account: Account, needs: str, next_: str,
            via: str = "password") -> RedirectResponse:
    """After the first step (`via`: password or oidc): the pending session, and on to the code
    or the enrolment page."""
    token, _ = w.store.open_session(account.username, "pending", w.settings.pending_lifetime, via=via)
    target = "/login/code" if needs == "code" else "/login/enrol"
    resp = RedirectResponse(f"{target}?next={safe_next(next_)}", status_code=303)
    # After the provider the browser arrives by a redirect chain that began on the provider's
    # site, where a Strict cookie is not sent: Lax then (the forms still need the pending CSRF token).
    resp.set_cookie(auth.PENDING_COOKIE, token, httponly=True, samesite="lax" if via == "oidc" else "strict",
                    secure=w.secure(request), path="/login",
                    max_age=int(w.settings.pending_lifetime.total_seconds()))
    return resp


def _via(p) -> str:
    """The audit's `via` of a pending login: web (password) or oidc."""
    return "oidc" if p.via == "oidc" else "web"


def _first_step(p) -> str:
    return "统一身份认证已通过" if p.via == "oidc" else "密码已核对"


def _pending(w: Web, request: Request):
    return w.store.session(request.cookies.get(auth.PENDING_COOKIE), "pending")


def _expired(w: Web, request: Request) -> HTMLResponse:
    return login_page(w, request, "/", "登录已超时（第一步通过后须在 5 分钟内完成第二步），请重新登录", 403)


def _finish(w: Web, request: Request, p, next_: str, response=None):
    """The pending session `p` becomes a real one."""
    w.store.close_session(request.cookies.get(auth.PENDING_COOKIE))
    resp = open_web_session(w, request, p.account, next_, via=p.via)
    if response is not None:  # the recovery codes page, with the new session's cookie
        for key, value in resp.headers.items():
            if key == "set-cookie":
                response.headers.append("set-cookie", value)
        resp = response
    resp.delete_cookie(auth.PENDING_COOKIE, path="/login")
    return resp


@router.get("/login/code", include_in_schema=False)
async def code_get(request: Request, next: str = "/"):
    w = web_of(request)
    p = _pending(w, request)
    if p is None:
        return _expired(w, request)
    return _code_page(w, request, p, next, "")


def _code_page(w: Web, request: Request, p, next_: str, error: str, status: int = 200) -> HTMLResponse:
    return w.page(request, "login_code.html", {"_session": None, "account": None, "who": p.account.label,
                                               "first_step": _first_step(p), "self_enrol": w.settings.totp_self_enrol,
                                               "pending_csrf": p.csrf, "next": safe_next(next_), "error": error},
                  status)


@router.post("/login/code", include_in_schema=False)
async def code_post(request: Request):
    w = web_of(request)
    p = _pending(w, request)
    if p is None:
        return _expired(w, request)
    form = await request.form()
    next_ = str(form.get("next") or "/")
    if not auth.same(str(form.get("csrf_token") or ""), p.csrf):
        return _code_page(w, request, p, next_, "表单已过期，请重新输入", 403)
    try:
        await auth.second_step(w.store, w.limiter, w.settings, p.account, str(form.get("code") or "")[:64],
                               address(request), via=_via(p))
    except auth.LoginRefused as e:
        resp = _code_page(w, request, p, next_, e.detail, e.status)
        if e.retry_after:
            resp.headers["Retry-After"] = str(e.retry_after)
        return resp
    return _finish(w, request, p, next_)


def _who(w: Web, request: Request):
    """(session, pending?) of whoever may enrol now: a pending login, or a signed-in person."""
    if not w.settings.totp_self_enrol:  # only an admin enrols (ecoplan users enrol-2fa)
        raise act.Refusal(403, auth.SELF_ENROL_OFF)
    p = _pending(w, request)
    if p is not None:
        return p, True
    s = w.session(request)
    return s, False


@router.get("/login/enrol", include_in_schema=False)
async def enrol_get(request: Request, next: str = "/"):
    w = web_of(request)
    s, is_pending = _who(w, request)
    if s is None:
        return _expired(w, request)
    totp = TotpStore(w.store)
    if await asyncio.to_thread(totp.enrolled, s.account.username):
        return RedirectResponse(safe_next(next), status_code=303)
    return await _enrol_page(w, request, s, is_pending, next, "")


async def _enrol_page(w: Web, request: Request, s, is_pending: bool, next_: str, error: str,
                      status: int = 200) -> HTMLResponse:
    secret = await asyncio.to_thread(TotpStore(w.store).begin, s.account.username)
    ctx = {"who": s.account.label, "qr": qr_svg(provisioning_uri(secret, s.account.username)), "secret": secret,
           "form_csrf": s.csrf, "next": safe_next(next_), "error": error,
           "required": s.account.role in w.settings.totp_roles,
           "first_step": "统一身份认证" if s.via == "oidc" else "密码"}
    if is_pending:
        ctx.update(_session=None, account=None)
    return w.page(request, "totp_enrol.html", ctx, status)


@router.post("/login/enrol", include_in_schema=False)
async def enrol_post(request: Request):
    w = web_of(request)
    s, is_pending = _who(w, request)
    if s is None:
        return _expired(w, request)
    form = await request.form()
    next_ = safe_next(str(form.get("next") or "/"))
    if not auth.same(str(form.get("csrf_token") or ""), s.csrf):
        return await _enrol_page(w, request, s, is_pending, next_, "表单已过期，请重新输入", 403)
    totp = TotpStore(w.store)
    if await asyncio.to_thread(totp.enrolled, s.account.username):
        return RedirectResponse(next_, status_code=303)
    codes = await asyncio.to_thread(totp.confirm, s.account.username, str(form.get("code") or "")[:64],
                                    address(request))
    if codes is None:
        log.info("totp_enrol", username=s.account.username, address=address(request), outcome="bad_code")
        return await _enrol_page(w, request, s, is_pending, next_,
                                 "数字不对：请输入 App 上当前显示的 6 位数字（注意手机时间要准确）", 422)
    log.info("totp_enrol", username=s.account.username, address=address(request), outcome="ok")
    page = w.page(request, "totp_recovery.html", {"codes": codes, "next": next_, "_session": None, "account": None})
    if not is_pending:
        return page
    # The first login of this account: the code just typed was its second factor.
    await asyncio.to_thread(w.store.audit, "login", s.account.username, address=address(request), outcome="ok",
                            via=_via(s), factor="enrolment", keep_days=w.settings.audit_days)
    await asyncio.to_thread(w.limiter.succeeded, s.account.username, address(request))
    return _finish(w, request, s, next_, page)
