"""`ecoplan web`: serve the console, the JSON API and the intake until Ctrl-C."""

from __future__ import annotations

import asyncio
import os

import typer

from ecoplan.errors import Fail


def web(host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (behind the HTTPS proxy: 127.0.0.1)"),
        port: int = typer.Option(8000, "--port"),
        secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                            help="mark cookies Secure even when the proxy does not say https")):
    """The web console (zh-CN), the JSON API (/api, /docs) and the 12369/119 intake (/alerts) on one port."""
    import structlog
    import uvicorn

    from ecoplan import intake
    from ecoplan.accounts import AccountError, AccountStore
    from ecoplan.connection import ConnectionSettings
    from ecoplan.errors import connect_or_fail
    from ecoplan.logging_setup import configure
    from ecoplan.users_cli import first_account_hint
    from ecoplan.web.app import create_app
    from ecoplan.web.auth import AuthSettings

    configure()
    log = structlog.get_logger("ecoplan.web")
    try:
        store = AccountStore()
        store.count()
    except AccountError as e:
        raise Fail(f"web: {e}", 2) from None
    hint = first_account_hint()
    if hint:
        print(f"ecoplan web: {hint}", flush=True)
    tokens = None
    if os.environ.get(intake.TOKENS_ENV) or os.environ.get(intake.TOKENS_FILE_ENV):
        try:
            tokens = intake.tokens_from_env()
        except intake.TokenConfigError as e:
            raise Fail(f"web: {e}", 2) from None
    from ecoplan.web.oidc import OIDC, OIDCConfigError, OIDCSettings

    try:
        oidc_settings = OIDCSettings.from_env()
    except OIDCConfigError as e:
        raise Fail(f"web: {e}", 2) from None
    # Behind the bureau's HTTPS proxy: trust its X-Forwarded-For/-Proto from these addresses.
    proxies = os.environ.get("ECOPLAN_TRUSTED_PROXIES", "127.0.0.1")

    async def main() -> None:
        settings = ConnectionSettings.from_env()
        client = await connect_or_fail(settings, who="web: ")
        app = create_app(client_factory=lambda: client, store=store, intake_tokens=tokens,
                         settings=AuthSettings(secure_cookies=secure_cookies),
                         oidc=OIDC(oidc_settings) if oidc_settings else None)
        log.info("web_starting", host=host, port=port, accounts=str(store.path),
                 intake=sorted(tokens) if tokens else "off",
                 oidc=oidc_settings.issuer if oidc_settings else "off",
                 temporal=settings.redacted())
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, lifespan="off", proxy_headers=True,
                                               forwarded_allow_ips=proxies, server_header=False))
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits on a bind failure, after logging why
            raise Fail(f"web: cannot listen on {host}:{port}") from None

    asyncio.run(main())
