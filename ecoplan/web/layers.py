"""The pure-ASGI layer in front of the web app: /alerts goes to the intake app (its own
platform tokens); every /api path but /api/login needs a valid bearer token, checked before
the body is read; every response gets the security headers."""

from __future__ import annotations

import asyncio

from fastapi.responses import JSONResponse

from ecoplan.accounts import AccountStore
from ecoplan.security_headers import HEADERS, with_headers


class Layers:
    """Pure ASGI, in front of the app: the intake paths go to the intake app (its own
    platform tokens); every /api path but /api/login needs a valid bearer token, checked
    before the body is read; every response gets the security headers."""

    HEADERS = HEADERS  # ecoplan/security_headers.py, shared with the standalone intake
    OPEN_API_PATHS = frozenset({"/api/login"})

    def __init__(self, app, store: AccountStore, intake_app, trusted: frozenset[str] = frozenset()):
        self.app, self.store, self.intake_app, self.trusted = app, store, intake_app, trusted

    def forwarded(self, scope) -> None:
        """From a trusted proxy only: the client is the last X-Forwarded-For address that is not
        itself a trusted proxy (a client's own X-Forwarded-For sits left of it), the scheme its
        X-Forwarded-Proto. From any other peer both headers are ignored."""
        peer = scope.get("client")
        if not peer or peer[0] not in self.trusted:
            return
        headers = dict(scope["headers"])
        hops = [h.strip() for h in headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in self.trusted:
                scope["client"] = (hop[:64], 0)
                break
        proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.forwarded(scope)
        path = scope["path"]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = with_headers(message)
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
