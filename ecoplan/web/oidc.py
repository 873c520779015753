"""Login with the bureau's identity provider (OpenID Connect, authorization code flow with
PKCE), beside the local accounts. authlib validates the ID token's claims (issuer, audience,
expiry, nonce, at_hash); joserfc, authlib's JOSE library, checks its signature against the
provider's published keys.

Configured by environment (nothing set: the console offers local accounts only):

  ECOPLAN_OIDC_ISSUER          the provider's issuer URL (its /.well-known/openid-configuration)
  ECOPLAN_OIDC_CLIENT_ID       this console's client id at the provider
  ECOPLAN_OIDC_CLIENT_SECRET   its secret (or ECOPLAN_OIDC_CLIENT_SECRET_FILE)
  ECOPLAN_OIDC_ROLES           claim value = role id, comma-separated, first match wins:
                               "emergency-duty=duty_officer,bureau-leaders=commander,..."
  ECOPLAN_OIDC_ROLE_CLAIM      the claim holding those values (default: roles)
  ECOPLAN_OIDC_USERNAME_CLAIM  the claim that is the username (default: preferred_username)
  ECOPLAN_OIDC_MFA_AMR         `amr` values that count as a second factor done at the provider
                               (default: mfa,otp,hwk,sc; see MFA_AMR)

A person who logs in this way gets an account row (its role follows the provider's claims
at every login; it has no password, so the password form never opens it); `ecoplan users
disable` still shuts it out. A local account of the same username is never taken over.

The provider's login alone is one kind of authentication. A role that must use a second
factor (ECOPLAN_TOTP_ROLES) is asked the console's one-time code after the callback, as
after a password (ecoplan/web/auth.py after_provider), unless the signed ID token's `amr`
claim (RFC 8176) names a factor in ECOPLAN_OIDC_MFA_AMR: then the provider did it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from activities.settings import settings
from ecoplan.accounts import Account, AccountError, AccountStore
from plan import problems

PENDING_SECONDS = 600  # a login started at the provider must come back within this
# RFC 8176 `amr` values that show a second factor at the provider: `mfa` (it says so), `otp` (a
# one-time code, as ours), `hwk` (a hardware key: a U盾/UKey, a FIDO key) and `sc` (a smart card
# or certificate key). Not `pwd`, `pin`, `kba` (things known, like the password), not `sms`/`tel`
# (a code over the phone network) nor `swk` (a key kept in software, often on the same computer
# as the browser): a bureau that counts those adds them to ECOPLAN_OIDC_MFA_AMR.
MFA_AMR = frozenset({"mfa", "otp", "hwk", "sc"})


class OIDCConfigError(ValueError):
    pass


class OIDCRefused(Exception):
    """The login did not succeed; the message is one line for the person."""


@dataclass(frozen=True)
class OIDCSettings:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    role_map: tuple[tuple[str, str], ...]  # (claim value, role id), in priority order
    role_claim: str = "roles"
    username_claim: str = "preferred_username"
    display_claim: str = "name"
    scopes: str = "openid profile"
    mfa_amr: frozenset[str] = MFA_AMR

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "OIDCSettings | None":
        from ecoplan.accounts import known_roles

        e = settings(env)
        issuer = (e.oidc_issuer or "").strip().rstrip("/")
        if not issuer:
            return None
        secret = e.oidc_client_secret or ""
        if not secret and e.oidc_client_secret_file:
            try:
                with open(e.oidc_client_secret_file, encoding="utf-8") as f:
                    secret = f.read().strip()
            except OSError as err:
                raise OIDCConfigError(f"ECOPLAN_OIDC_CLIENT_SECRET_FILE：{problems.os_reason(err)}") from None
        client_id = (e.oidc_client_id or "").strip()
        if not client_id or not secret:
            raise OIDCConfigError("统一身份认证（OIDC）除地址外还须设置 ECOPLAN_OIDC_CLIENT_ID 和 ECOPLAN_OIDC_CLIENT_SECRET")
        roles = known_roles()
        pairs = []
        for item in filter(None, (x.strip() for x in (e.oidc_roles or "").split(","))):
            value, sep, role = item.partition("=")
            if not sep or role.strip() not in roles:
                raise OIDCConfigError(f"ECOPLAN_OIDC_ROLES：“{item}”应写成 声明值=角色，角色为 "
                                      f"{'、'.join(roles)} 之一")
            pairs.append((value.strip(), role.strip()))
        if not pairs:
            raise OIDCConfigError("ECOPLAN_OIDC_ROLES 没有把任何声明值对应到角色：无人能办理")
        return cls(issuer=issuer, client_id=client_id, client_secret=secret, role_map=tuple(pairs),
                   role_claim=e.oidc_role_claim, username_claim=e.oidc_username_claim, mfa_amr=e.oidc_mfa_amr_set)


@dataclass
class _Pending:
    nonce: str
    verifier: str
    redirect_uri: str
    next: str
    expires: float


class OIDC:
    def __init__(self, settings: OIDCSettings, http: httpx.AsyncClient | None = None):
        self.s = settings
        self.http = http or httpx.AsyncClient(timeout=10)
        self._meta: dict | None = None
        self._keys = None
        self._pending: dict[str, _Pending] = {}
        self._lock = asyncio.Lock()

    async def _get(self, url: str) -> dict:
        try:
            r = await self.http.get(url)
            r.raise_for_status()
            return r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise OIDCRefused(f"统一身份认证服务暂不可用（{type(e).__name__}），请稍后再试或用本系统账号登录") from None

    async def metadata(self) -> dict:
        if self._meta is None:
            meta = await self._get(f"{self.s.issuer}/.well-known/openid-configuration")
            if meta.get("issuer", "").rstrip("/") != self.s.issuer:
                raise OIDCRefused("统一身份认证服务的签发方与配置不符，已拒绝")
            self._meta = meta
        return self._meta

    async def _keyset(self, refresh: bool = False):
        from joserfc.jwk import KeySet

        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(await self._get((await self.metadata())["jwks_uri"]))
        return self._keys

    async def start(self, redirect_uri: str, next_: str) -> tuple[str, str]:
        """The provider's authorization URL, and the state to bind to this browser (cookie)."""
        from authlib.common.security import generate_token
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        meta = await self.metadata()
        now = time.monotonic()
        for k in [k for k, p in self._pending.items() if p.expires < now]:
            del self._pending[k]
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        self._pending[state] = _Pending(nonce, verifier, redirect_uri, next_, now + PENDING_SECONDS)
        query = urlencode({"response_type": "code", "client_id": self.s.client_id, "redirect_uri": redirect_uri,
                           "scope": self.s.scopes, "state": state, "nonce": nonce,
                           "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"})
        return f"{meta['authorization_endpoint']}?{query}", state

    async def finish(self, state: str, code: str, bound_state: str | None) -> tuple[dict, str]:
        """The ID token's claims for a provider's answer, and where the person was going."""
        import hmac

        from authlib.oidc.core import CodeIDToken
        from joserfc import jwt
        from joserfc.errors import JoseError

        if not state or not bound_state or not hmac.compare_digest(state, bound_state):
            raise OIDCRefused("登录状态不符（可能是过期或伪造的回调），请重新登录")
        pending = self._pending.pop(state, None)
        if pending is None or pending.expires < time.monotonic():
            raise OIDCRefused("登录已过期，请重新登录")
        meta = await self.metadata()
        try:
            r = await self.http.post(meta["token_endpoint"], auth=(self.s.client_id, self.s.client_secret), data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri,
                "code_verifier": pending.verifier})
        except httpx.HTTPError as e:
            raise OIDCRefused(f"统一身份认证服务暂不可用（{type(e).__name__}）") from None
        if r.status_code != 200:
            raise OIDCRefused("统一身份认证服务拒绝了本次登录（授权码无效或已使用）")
        tokens = r.json()
        id_token = tokens.get("id_token")
        if not id_token:
            raise OIDCRefused("统一身份认证服务没有返回身份令牌")
        algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in algorithms if a != "none"]
        try:
            try:
                token = jwt.decode(id_token, await self._keyset(), algorithms=algorithms)
            except JoseError:  # the provider may have rotated its keys: fetch them once more
                token = jwt.decode(id_token, await self._keyset(refresh=True), algorithms=algorithms)
            claims = CodeIDToken(token.claims, token.header,
                                 options={"iss": {"essential": True, "value": self.s.issuer},
                                          "aud": {"essential": True, "value": self.s.client_id}},
                                 params={"nonce": pending.nonce, "client_id": self.s.client_id,
                                         "access_token": tokens.get("access_token")})
            claims.validate(leeway=60)
        except (JoseError, ValueError) as e:
            raise OIDCRefused(f"身份令牌校验失败（{getattr(e, 'error', type(e).__name__)}），已拒绝") from None
        return dict(claims), pending.next

    def role_for(self, claims: dict) -> str | None:
        values = claims.get(self.s.role_claim)
        values = [values] if isinstance(values, str) else list(values or [])
        return next((role for value, role in self.s.role_map if value in values), None)

    def provider_factors(self, claims: dict) -> list[str]:
        """The ID token's `amr` values that count as a second factor done at the provider
        (sorted; empty when none, or no `amr`). The token's signature was checked in finish(),
        and authlib refuses an `amr` that is not a list."""
        values = claims.get("amr")
        return sorted({v for v in values if isinstance(v, str) and v in self.s.mfa_amr}) \
            if isinstance(values, list) else []

    def account_for(self, store: AccountStore, claims: dict) -> Account:
        username = str(claims.get(self.s.username_claim) or "").strip().lower()
        role = self.role_for(claims)
        if role is None:
            raise OIDCRefused(f"{username or '此用户'} 在统一身份认证中没有本系统的角色，请联系管理员")
        try:
            acc = store.external(username, role, str(claims.get(self.s.display_claim) or ""), via="oidc")
        except AccountError as e:
            raise OIDCRefused(str(e)) from None
        if acc.disabled:
            raise OIDCRefused(f"账号 {acc.label} 已停用")
        return acc
