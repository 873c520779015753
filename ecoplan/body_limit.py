"""A request body limit that holds for chunked bodies too (issue 25, finding 7): pure ASGI,
in front of the console's app and of the intake. A declared Content-Length over the limit
is refused before anything is read; otherwise the body is counted as it streams in, and the
request is refused with 413 the moment it passes the limit, however it was sent
(Transfer-Encoding: chunked has no Content-Length to check)."""

from __future__ import annotations

import json

MAX_BODY_BYTES = 1_000_000  # an incident report or an action is a few kB; the intake's cap, kept


DRAIN_FACTOR = 8


class BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> tuple[dict, dict]:
    body = json.dumps({"detail": f"请求体过大：至多 {limit} 字节"}, ensure_ascii=False).encode()
    start = {"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    def __init__(self, app, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        try:
            over = declared is not None and int(declared) > self.limit
        except ValueError:
            over = True  # a Content-Length that is not a number is not a request to read
        if over:
            start, body = _too_large(self.limit)
            await send(start)
            await send(body)
            return await self._drain(receive, 0)
        seen, exceeded, started = 0, False, False

        async def counting_receive():
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message):
            # The app may catch the error reading its body (FastAPI answers 400 "error parsing
            # the body"): whatever it answers then, the client gets the 413.
            nonlocal started
            if exceeded:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    start, body = _too_large(self.limit)
                    await send(start)
                    await send(body)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                start, body = _too_large(self.limit)
                await send(start)
                await send(body)
        if exceeded:
            await self._drain(receive, seen)

    async def _drain(self, receive, seen: int) -> None:
        """Read (and drop) the rest of a refused body, up to DRAIN_FACTOR times the limit, so a
        client that sends it all before reading hears the 413 rather than a reset connection;
        beyond that the connection is closed."""
        while seen <= self.limit * DRAIN_FACTOR:
            message = await receive()
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return
