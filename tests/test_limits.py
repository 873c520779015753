"""Limits on what a request may carry (issue 25, finding 7, item 6): body size on /api, the
console's forms and the intake, chunked bodies included (counted as they stream, not only
by Content-Length); POST /logout needs the CSRF token; every number query parameter of the
API has a range."""

from __future__ import annotations

import httpx
import pytest

from ecoplan.body_limit import MAX_BODY_BYTES
from tests.web_helpers import INTAKE_TOKENS, password, web_service


@pytest.fixture(scope="module")
async def web(client, worker, tmp_path_factory):
    async with web_service(client, tmp_path_factory.mktemp("limits") / "accounts.db") as w:
        yield w


async def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


@pytest.mark.parametrize("path, auth", [("/api/incidents", "account"), ("/alerts", "platform"), ("/login", None)])
async def test_bodies_over_the_limit_are_refused_chunked_or_not(web, path, auth):
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        headers = {"Content-Type": "application/x-www-form-urlencoded" if path == "/login" else "application/json"}
        if auth == "account":
            r = await c.post("/api/login", json={"username": "wangwei", "password": password("wangwei")})
            headers["Authorization"] = f"Bearer {r.json()['token']}"
        elif auth == "platform":
            headers["Authorization"] = f"Bearer {INTAKE_TOKENS['hotline_12369']}"
        # Chunked: no Content-Length at all, 2 MB streamed.
        r = await c.post(path, content=_chunks(2 * MAX_BODY_BYTES), headers=headers)
        assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
        assert r.status_code == 413 and "请求体过大" in r.json()["detail"], (r.status_code, r.text[:200])
        # Declared: refused before anything is read.
        r = await c.post(path, content=b"x" * (MAX_BODY_BYTES + 1), headers=headers)
        assert r.status_code == 413
        # Within the limit, chunked: read and judged as usual (bad JSON / bad form, not 413).
        r = await c.post(path, content=_chunks(1000), headers=headers)
        assert r.status_code in (400, 403, 422), (r.status_code, r.text[:200])


async def test_logout_needs_the_csrf_token(web):
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        page = await c.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = await c.post("/login", data={"username": "du", "password": password("du"), "next": "/", "csrf_token": token})
        assert r.status_code == 303
        board = await c.get("/")
        r = await c.post("/logout", data={"csrf_token": "x" * 43})  # what a cross-site form can send
        assert r.status_code == 403 and "CSRF" in r.text
        assert (await c.get("/")).status_code == 200  # still signed in
        mine = board.text.split('name="csrf_token" value="')[1].split('"')[0]
        assert (await c.post("/logout", data={"csrf_token": mine})).status_code == 303
        assert (await c.get("/")).status_code == 303


async def test_every_number_query_parameter_has_a_range(web):
    async with httpx.AsyncClient(base_url=web.url, timeout=60) as c:
        schema = (await c.get("/openapi.json")).json()
        numbers = [(path, p["name"], p["schema"]) for path, ops in schema["paths"].items() for op in ops.values()
                   for p in op.get("parameters", []) if p["in"] == "query"
                   and p["schema"].get("type") in ("integer", "number")]
        assert numbers, "the API has number parameters (limit)"
        for path, name, s in numbers:
            assert "minimum" in s and "maximum" in s, (path, name, s)
        r = await c.post("/api/login", json={"username": "du", "password": password("du")})
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        for bad in ("0", "-1", "10001", "9" * 40, "1e3", "nan"):
            r = await c.get(f"/api/list?limit={bad}", headers=headers)
            assert r.status_code == 422 and "limit" in r.text, (bad, r.status_code, r.text[:200])
