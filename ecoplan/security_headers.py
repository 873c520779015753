"""The security headers every response of ours carries: the console's (ecoplan/web/layers.py)
and the standalone intake's (ecoplan/intake/service.py). The intake app also answers /alerts
inside the console, so a header a response already has is not added twice."""

from __future__ import annotations

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
]


def with_headers(message: dict) -> dict:
    """An ASGI `http.response.start` message with the headers it lacks added."""
    have = {k.lower() for k, _ in message.get("headers", [])}
    return {**message, "headers": [*message.get("headers", []), *(h for h in HEADERS if h[0] not in have)]}


class SecurityHeaders:
    """Pure ASGI: adds the security headers to every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            await send(with_headers(message) if message["type"] == "http.response.start" else message)

        return await self.app(scope, receive, send_with_headers)
