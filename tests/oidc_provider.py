"""A small OpenID Connect provider the OIDC tests start themselves (authorization code flow
with PKCE, RS256 ID tokens, discovery and JWKS), served over real HTTP. Who is "logged in"
at the provider is set by the test (`provider.user`), and how they authenticated there
(`provider.amr`, the ID token's `amr` claim, RFC 8176); it can also be told to misbehave
(sign with a key it does not publish, answer with another audience or nonce)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID, CLIENT_SECRET = "ecoplan-console", "s3cret-" + "z" * 24


@dataclass
class Provider:
    issuer: str = ""
    user: dict | None = None  # the claims of whoever is logged in at the provider
    amr: list[str] | str | None = None  # how they logged in there; None: no `amr` claim
    redirect_uris: set[str] = field(default_factory=set)
    misbehave: str | None = None  # foreign_key | wrong_audience | wrong_nonce | expired
    codes: dict = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(
        2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"}, private=True))

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery():
            return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"]}

        @app.get("/jwks")
        async def jwks():
            return KeySet([self.key]).as_dict(private=False)

        @app.get("/authorize")
        async def authorize(request: Request):
            q = request.query_params
            if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") not in self.redirect_uris:
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            if self.user is None:
                back = {"error": "access_denied", "state": q.get("state")}
            else:
                code = secrets.token_urlsafe(24)
                self.codes[code] = {"nonce": q.get("nonce"), "challenge": q.get("code_challenge"),
                                    "redirect_uri": q.get("redirect_uri"), "user": dict(self.user),
                                    "amr": self.amr}
                back = {"code": code, "state": q.get("state")}
            return RedirectResponse(f"{q.get('redirect_uri')}?{urlencode(back)}", status_code=302)

        @app.post("/token")
        async def token(request: Request, grant_type: str = Form(), code: str = Form(),
                        redirect_uri: str = Form(), code_verifier: str = Form()):
            auth = request.headers.get("authorization", "")
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            grant = self.codes.pop(code, None)  # a code is used once
            if auth != expected or grant is None or grant_type != "authorization_code" \
                    or redirect_uri != grant["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            now = int(time.time())
            claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], **grant["user"]}
            if grant["amr"] is not None:
                claims["amr"] = grant["amr"]
            key = self.key
            if self.misbehave == "foreign_key":
                key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
            elif self.misbehave == "wrong_audience":
                claims["aud"] = "someone-else"
            elif self.misbehave == "wrong_nonce":
                claims["nonce"] = "replayed"
            elif self.misbehave == "expired":
                claims.update(iat=now - 3600, exp=now - 1800)
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
            return {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                    "id_token": id_token}

        return app
