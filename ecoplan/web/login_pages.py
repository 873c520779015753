"""The pages and cookies both sign-in steps share: the password form's page and opening a
console session (ecoplan/web/routes/auth.py, ecoplan/web/routes/two_factor.py)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ecoplan.accounts import Account
from ecoplan.web import auth
from ecoplan.web.context import Web, safe_next


def login_page(w: Web, request: Request, next_: str, error: str = "", status: int = 200,
               username: str = "") -> HTMLResponse:
    token = request.cookies.get(auth.LOGIN_CSRF_COOKIE) or auth.new_login_csrf()
    resp = w.page(request, "login.html", {"login_csrf": token, "next": safe_next(next_), "error": error,
                                          "username": username, "oidc": w.oidc is not None}, status)
    resp.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=w.secure(request),
                    path="/login", max_age=3600)
    return resp


def open_web_session(w: Web, request: Request, account: Account, next_: str, via: str) -> RedirectResponse:
    token, _ = w.store.open_session(account.username, "web", w.settings.session_lifetime, via=via,
                                    idle=w.settings.session_idle)
    resp = RedirectResponse(safe_next(next_), status_code=303)
    resp.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="lax", secure=w.secure(request),
                    max_age=int(w.settings.session_lifetime.total_seconds()), path="/")
    return resp
