"""`ecoplan web`: serve the console, the JSON API and the intake until Ctrl-C. `make run`
serves the same app beside the worker, in the worker's process (worker.py --web)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import typer

from activities.db import shown
from activities.settings import settings
from ecoplan.errors import Fail


@dataclass
class WebSetup:
    """What the service needs besides a Temporal client, read and checked before it starts."""

    store: Any
    tokens: dict | None
    oidc_settings: Any
    hint: str | None  # how to create the first account, while there is none


def setup() -> WebSetup:
    """Accounts, intake tokens, OIDC and proxy settings; a bad one is one line (Fail, exit 2)."""
    from ecoplan import intake
    from ecoplan.accounts import AccountError, AccountStore, first_account_hint
    from ecoplan.web.oidc import OIDCConfigError, OIDCSettings

    try:
        store = AccountStore()
        store.count()
    except AccountError as e:
        raise Fail(f"控制台：{e}", 2) from None
    tokens = None
    env = settings()
    if env.intake_tokens or env.intake_tokens_file:
        try:
            tokens = intake.tokens_from_env()
        except intake.TokenConfigError as e:
            raise Fail(f"控制台：{e}", 2) from None
    try:
        oidc_settings = OIDCSettings.from_env()
    except OIDCConfigError as e:
        raise Fail(f"控制台：{e}", 2) from None
    return WebSetup(store=store, tokens=tokens, oidc_settings=oidc_settings, hint=first_account_hint(store))


class _Server:
    """uvicorn's server without its own signal handlers: beside the worker, the worker's
    handlers decide when everything stops (ecoplan/processes.py)."""

    @staticmethod
    def make(config):
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):
                yield

        return Quiet(config)


def server(ws: WebSetup, client, host: str, port: int, *, secure_cookies: bool = False, own_signals: bool = True):
    """The uvicorn server of the app; `own_signals=False` beside the worker."""
    import uvicorn

    from ecoplan.web.app import create_app
    from ecoplan.web.auth import AuthSettings
    from ecoplan.web.oidc import OIDC

    app = create_app(client_factory=lambda: client, store=ws.store, intake_tokens=ws.tokens,
                     settings=AuthSettings.from_env(secure_cookies=secure_cookies),
                     oidc=OIDC(ws.oidc_settings) if ws.oidc_settings else None)
    # X-Forwarded-* are read by the app itself, from ECOPLAN_TRUSTED_PROXIES only (ecoplan/web/layers.py).
    config = uvicorn.Config(app, host=host, port=port, lifespan="off", proxy_headers=False, server_header=False)
    return uvicorn.Server(config) if own_signals else _Server.make(config)


async def start_beside(ws: WebSetup, client, host: str, port: int, log) -> tuple[Any, asyncio.Task]:
    """Serve the console in this event loop (beside the worker) once it listens; Fail with one
    line when it cannot (e.g. the port is taken)."""
    srv = server(ws, client, host, port, own_signals=False)
    task = asyncio.create_task(srv.serve(), name="web")
    while not srv.started and not task.done():
        await asyncio.sleep(0.05)
    if task.done():
        with contextlib.suppress(BaseException):
            task.result()
        raise Fail(f"控制台：无法在 {host}:{port} 上监听（端口被占用？）")
    log.info("web_starting", url=f"http://{host}:{port}", accounts=shown(ws.store.target),
             intake=sorted(ws.tokens) if ws.tokens else "off",
             oidc=ws.oidc_settings.issuer if ws.oidc_settings else "off")
    return srv, task


async def stop_beside(srv, task: asyncio.Task) -> None:
    srv.should_exit = True
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(task, timeout=5)


def web(host: str = typer.Option("127.0.0.1", "--host", help="监听地址（在 HTTPS 反向代理之后：127.0.0.1）"),
        port: int = typer.Option(8000, "--port", help="监听端口"),
        secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                            help="即使代理未声明 HTTPS，也给 Cookie 加 Secure 标记")):
    """在同一端口提供网页控制台、JSON 接口（/api，/docs）和12369/119接入（/alerts）。"""
    import structlog

    from ecoplan.connection import ConnectionSettings
    from ecoplan.errors import connect_or_fail
    from ecoplan.logging_setup import configure

    configure()
    log = structlog.get_logger("ecoplan.web")
    ws = setup()
    if ws.hint:
        print(f"ecoplan web: {ws.hint}", flush=True)

    async def main() -> None:
        settings = ConnectionSettings.from_env()
        client = await connect_or_fail(settings, who="控制台：")
        srv = server(ws, client, host, port, secure_cookies=secure_cookies)
        log.info("web_starting", host=host, port=port, accounts=shown(ws.store.target),
                 intake=sorted(ws.tokens) if ws.tokens else "off",
                 oidc=ws.oidc_settings.issuer if ws.oidc_settings else "off",
                 temporal=settings.redacted())
        try:
            await srv.serve()
        except SystemExit:  # uvicorn exits on a bind failure, after logging why
            raise Fail(f"控制台：无法在 {host}:{port} 上监听（端口被占用？）") from None

    asyncio.run(main())
