"""The platforms' tokens: read from the settings, checked before a request's body is read."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from fastapi.responses import JSONResponse

from activities.settings import settings
from ecoplan.intake.common import (MIN_TOKEN_LENGTH, PLATFORMS, PUBLIC_PATHS, TOKENS_ENV,
                                   TOKENS_FILE_ENV, log)


class TokenConfigError(ValueError):
    pass


TokenSpec = Mapping[str, str | Iterable[str]] | str


def parse_tokens(spec: TokenSpec) -> dict[str, str]:
    """platform -> token(s) (a mapping, or the "platform=TOKEN,…" text) as token -> platform.
    Errors are one line and never contain a token."""
    pairs: list[tuple[str, str]] = []
    if isinstance(spec, str):
        for n, raw in enumerate(re.split(r"[,\n]", spec), 1):
            item = raw.split("#", 1)[0].strip()
            if not item:
                continue
            platform, sep, token = item.partition("=")
            if not sep:
                raise TokenConfigError(f"token entry {n} is not platform=TOKEN")
            pairs.append((platform.strip(), token.strip()))
    else:
        for platform, tokens in spec.items():
            for token in [tokens] if isinstance(tokens, str) else tokens:
                pairs.append((platform, token))
    table: dict[str, str] = {}
    for platform, token in pairs:
        if platform not in PLATFORMS:
            raise TokenConfigError(f"unknown platform {platform!r} in the token list: "
                                   f"use {' or '.join(PLATFORMS)}")
        if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
            raise TokenConfigError(f"the token for {platform} must be at least {MIN_TOKEN_LENGTH} "
                                   "characters without spaces")
        if table.get(token, platform) != platform:
            raise TokenConfigError(f"the same token is given to {table[token]} and {platform}")
        table[token] = platform
    if not table:
        raise TokenConfigError("no platform token configured")
    return table


def tokens_from_env(env: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """platform -> its token(s), from ECOPLAN_INTAKE_TOKENS and/or ECOPLAN_INTAKE_TOKENS_FILE."""
    s = settings(env)
    text, path = (s.intake_tokens or "").strip(), (s.intake_tokens_file or "").strip()
    if path:
        try:
            text = "\n".join(filter(None, [text, Path(path).read_text(encoding="utf-8")]))
        except OSError as err:
            raise TokenConfigError(f"{TOKENS_FILE_ENV}={path}: {err.strerror or err}") from None
    if not text.strip():
        raise TokenConfigError(f"no platform token configured: set {TOKENS_ENV}="
                               f"\"hotline_12369=TOKEN1,linkage_119=TOKEN2\" or {TOKENS_FILE_ENV}=PATH")
    by_platform: dict[str, list[str]] = {}
    for token, platform in parse_tokens(text).items():
        by_platform.setdefault(platform, []).append(token)
    return by_platform


class _TokenGate:
    """Pure ASGI middleware: every path but the published schema and docs needs a known
    platform token, checked before the body is read (so a bad token touches nothing, even
    with a malformed body). The platform goes into the request state."""

    def __init__(self, app, tokens: dict[str, str]):
        self.app = app
        self.tokens = [(t.encode(), p) for t, p in tokens.items()]

    def platform_for(self, header: str | None) -> str | None:
        scheme, _, token = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given, found = token.strip().encode(), None
        for known, platform in self.tokens:  # compare against every token: no early exit
            if hmac.compare_digest(given, known):
                found = platform
        return found

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        platform = self.platform_for(headers.get("authorization"))
        if platform is None:
            why = "missing" if "authorization" not in headers else "unknown"
            log.warning("intake_unauthorized", path=scope["path"], reason=why)
            resp = JSONResponse({"detail": f"{why} platform token: send Authorization: Bearer <token> "
                                           "as issued for hotline_12369 or linkage_119"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="ecoplan-intake"'})
            return await resp(scope, receive, send)
        scope.setdefault("state", {})["platform"] = platform
        return await self.app(scope, receive, send)
