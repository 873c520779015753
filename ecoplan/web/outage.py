"""A Temporal outage said plainly (issue 25, finding 5): every page and API call answers
within 3 s with a Chinese 503 and Retry-After, not a bare 500 after about 9 s.

Two parts:
- `Backend`: is Temporal reachable? One cheap call (GetSystemInfo, no retries, 1 s) at most
  once a second, remembered in between. Its answer is one of three: UP; REFUSED (the call
  failed and nothing accepts a TCP connection at Temporal's address: down, at once); SILENT
  (no answer in 1 s, twice, or an error from something that does listen: a server that
  accepts and never answers, or a process too loaded to hear a live one in time).
  `Web.client()` asks it first and refuses a request at once only on REFUSED (ecoplan/web/
  context.py): on SILENT the request goes on to Temporal, since a loaded console refusing a
  live server's actions was seen in make test.
- `ReadGuard` (pure ASGI, in front of the app): a read (GET/HEAD) that has not answered after
  `after` seconds asks `Backend`, while the read goes on. The read's own answer wins if it
  comes first; otherwise REFUSED or SILENT answers the 503 (the read is abandoned: nothing is
  lost by abandoning a read), so a server that never answers is a 503 within about 3 s. When
  Temporal is UP the read goes on, however long it takes: a slow board is slow, not "down".
  Posts are not cut short (an action may be on its way into the incident).

The open pages' live refresh (static/live.js) shows a banner with the time of its last
good data while the server answers 503, and clears it when the server is back.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any, Awaitable, Callable

import structlog

OUTAGE_MESSAGE = "指挥系统后台暂时无法连接，正在重试…"
RETRY_AFTER = 5  # seconds: the pages' own refresh interval

UP, REFUSED, SILENT = "up", "refused", "silent"  # what a look at Temporal found

log = structlog.get_logger("ecoplan.web")


async def refused(target: str, timeout: float) -> bool:
    """Whether a TCP connection to `target` ("host:port") is refused or fails outright. One
    that is still being made after `timeout` is not: a loaded process may be slow to see it."""
    host, _, port = target.rpartition("://")[2].rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), timeout)
    except asyncio.TimeoutError:
        return False
    except (OSError, ValueError):
        return True
    writer.close()
    return False


class Backend:
    """Temporal's reachability, asked at most once per `ttl` seconds."""

    def __init__(self, client: Callable[[], Awaitable[Any]], ttl: float = 1.0, probe_timeout: float = 1.0):
        self._client, self.ttl, self.probe_timeout = client, ttl, probe_timeout
        self._known: tuple[float, bool] | None = None
        self._probe: asyncio.Task | None = None

    async def up(self) -> bool:
        return await self.look() == UP

    async def look(self) -> str:
        """UP, REFUSED or SILENT; asked at most once per `ttl`, one probe shared by all."""
        loop = asyncio.get_running_loop()
        if self._known and loop.time() - self._known[0] < self.ttl:
            return self._known[1]
        if self._probe is None or self._probe.done():  # one probe at a time, shared by every request
            self._probe = asyncio.create_task(self._ask())
        return await asyncio.shield(self._probe)

    async def _ask(self) -> str:
        # A probe that is refused says "down" at once. One that only timed out is asked once
        # more before it counts: a loaded console (or test process) can be a second late
        # answering a server that is up, and was seen calling it down.
        ok = await self._probe_once()
        if ok is None:
            ok = await self._probe_once()
        found = UP if ok else SILENT if ok is None else REFUSED
        self._known = (asyncio.get_running_loop().time(), found)
        return found

    async def _probe_once(self) -> bool | None:
        """True: up; False: refused (nothing listens at Temporal's address); None: no answer
        within probe_timeout, or an answer that was an error from something that listens."""
        from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
        from temporalio.service import RPCError, RPCStatusCode

        try:
            client = await asyncio.wait_for(self._client(), self.probe_timeout)
        except asyncio.TimeoutError:
            return None
        except Exception:  # no client can be made at all: unreachable
            return False
        try:
            await asyncio.wait_for(client.workflow_service.get_system_info(
                GetSystemInfoRequest(), retry=False, timeout=timedelta(seconds=self.probe_timeout)),
                self.probe_timeout + 0.5)
            return True
        except asyncio.TimeoutError:
            return None
        except Exception as e:
            if isinstance(e, RPCError) and e.status == RPCStatusCode.DEADLINE_EXCEEDED:
                return None
            # An error is an outage only when nothing listens at the address: under CI's load a
            # live server's answer came back as an error, and the console refused a good request.
            target = client.service_client.config.target_host
            if await refused(target, self.probe_timeout):
                return False
            log.info("temporal_probe_error", target=target, error=f"{type(e).__name__}: {str(e)[:200]}")
            return None

    def saw_failure(self) -> None:
        """A call just failed as unreachable: the next request asks again."""
        self._known = None


def down_response(path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The 503 as JSON for the API and the intake, as a small page for the console."""
    if path.startswith(("/api/", "/alerts")):
        body = json.dumps({"detail": OUTAGE_MESSAGE}, ensure_ascii=False).encode()
        kind = b"application/json"
    else:
        body = ("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>暂时无法连接</title>"
                "<link rel=\"stylesheet\" href=\"/static/style.css\"><main><section class=\"card narrow\">"
                f"<h1>暂时无法连接</h1><p role=\"alert\">{OUTAGE_MESSAGE}</p><p>请稍后刷新本页。</p>"
                "</section></main></html>").encode()
        kind = b"text/html; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
               (b"retry-after", str(RETRY_AFTER).encode()), (b"cache-control", b"no-store")]
    return 503, headers, body


class ReadGuard:
    """Pure ASGI: a read still unanswered after `after` seconds, while Temporal is down, gets
    the 503 (see the module docstring)."""

    def __init__(self, app, backend: Backend | None, after: float = 1.0):
        self.app, self.backend, self.after = app, backend, after

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or self.backend is None or scope["method"] not in ("GET", "HEAD")
                or scope["path"].startswith("/static/")):
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, tracking_send))
        done, _ = await asyncio.wait({task}, timeout=self.after)
        if done or started:
            return await task
        look = asyncio.ensure_future(self.backend.look())
        await asyncio.wait({task, look}, return_when=asyncio.FIRST_COMPLETED)
        if task.done() or started or await look == UP:  # the read's own answer wins a tie
            return await task
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        if started:  # began answering while cancelled: nothing more can be said
            return
        status, headers, body = down_response(scope["path"])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})
