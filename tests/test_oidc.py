"""Login with an OpenID Connect provider (ecoplan/web/oidc.py) against a provider the test
starts itself (tests/oidc_provider.py), both over real HTTP; and in the browser."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ecoplan.web import create_app
from ecoplan.web.oidc import OIDC, OIDCConfigError, OIDCSettings
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.web_helpers import serving, web_service

ENV = {"ECOPLAN_OIDC_CLIENT_ID": CLIENT_ID, "ECOPLAN_OIDC_CLIENT_SECRET": CLIENT_SECRET,
       "ECOPLAN_OIDC_ROLES": "bureau-leaders=commander,emergency-duty=duty_officer,inspection=supervisor"}
ZHOU = {"sub": "u-1001", "preferred_username": "zhouju", "name": "周局长", "roles": ["staff", "bureau-leaders"]}


@pytest.fixture(scope="module")
async def provider():
    p = Provider()
    async with serving(p.app()) as url:
        p.issuer = url
        yield p


@pytest.fixture(scope="module")
async def web(client, worker, provider, tmp_path_factory):
    settings = OIDCSettings.from_env({**ENV, "ECOPLAN_OIDC_ISSUER": provider.issuer})
    async with web_service(client, tmp_path_factory.mktemp("web-oidc") / "accounts.db") as w:
        # The same accounts file, served by an app with OIDC on.
        app = create_app(client_factory=lambda: client, store=w.store, oidc=OIDC(settings))
        async with serving(app) as url:
            w.url = url
            provider.redirect_uris = {f"{url}/login/oidc/callback"}
            yield w


@pytest.fixture(autouse=True)
def reset(provider):
    provider.user, provider.misbehave = dict(ZHOU), None
    yield


async def login_through_provider(web, next_: str = "/") -> tuple[httpx.Response, httpx.AsyncClient]:
    """Follow the redirects a browser would: console → provider → console."""
    c = httpx.AsyncClient(timeout=30)
    r = await c.get(f"{web.url}/login/oidc", params={"next": next_})
    assert r.status_code == 303 and "code_challenge=" in r.headers["location"] and "nonce=" in r.headers["location"]
    r = await c.get(r.headers["location"])  # the provider: already logged in there
    assert r.status_code == 302, r.text
    r = await c.get(r.headers["location"])  # back at the console's callback
    return r, c


async def test_login_maps_claims_to_a_role(web):
    r, c = await login_through_provider(web, "/?drills=1")
    assert r.status_code == 303 and r.headers["location"] == "/?drills=1", r.text
    page = await c.get(f"{web.url}/")
    assert page.status_code == 200 and "周局长（zhouju）" in page.text and "指挥" in page.text
    acc = web.store.get("zhouju")
    assert (acc.role, acc.display) == ("commander", "周局长")
    assert web.store.verify("zhouju", "") is None  # no password opens it
    await c.aclose()


async def test_role_follows_the_provider_and_disable_still_shuts_out(web, provider):
    provider.user = {**ZHOU, "preferred_username": "wu", "name": "吴值班", "roles": "emergency-duty"}
    r, c = await login_through_provider(web)
    assert r.status_code == 303
    assert web.store.get("wu").role == "duty_officer"
    provider.user["roles"] = ["inspection"]
    r, c = await login_through_provider(web)
    assert r.status_code == 303 and web.store.get("wu").role == "supervisor"
    web.store.set_disabled("wu")
    r, c = await login_through_provider(web)
    assert r.status_code == 403 and "已停用" in r.text
    assert "ecoplan_session" not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize("misbehave, message", [
    ("foreign_key", "身份令牌校验失败"), ("wrong_audience", "身份令牌校验失败"),
    ("wrong_nonce", "身份令牌校验失败"), ("expired", "身份令牌校验失败"),
])
async def test_bad_id_tokens_are_refused(web, provider, misbehave, message):
    provider.misbehave = misbehave
    provider.user = {**ZHOU, "preferred_username": f"bad-{misbehave.replace('_', '-')}"}
    r, _ = await login_through_provider(web)
    assert r.status_code == 403 and message in r.text, r.text
    assert web.store.get(provider.user["preferred_username"]) is None


async def test_no_role_no_takeover_no_forged_callback(web, provider):
    provider.user = {**ZHOU, "preferred_username": "visitor", "roles": ["staff"]}
    r, _ = await login_through_provider(web)
    assert r.status_code == 403 and "没有本系统的角色" in r.text
    provider.user = {**ZHOU, "preferred_username": "li"}  # a local account already has this name
    r, _ = await login_through_provider(web)
    assert r.status_code == 403 and "本地账号 li" in r.text
    assert web.store.get("li").role == "commander" and web.store.verify("li", "pw-li-桃河-2026")
    provider.user = None  # the person declines at the provider
    r, _ = await login_through_provider(web)
    assert r.status_code == 403 and "access_denied" in r.text
    # A callback whose state this browser did not start is refused, code or not.
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.get(f"{web.url}/login/oidc/callback", params={"code": "x", "state": "y"})
        assert r.status_code == 403 and "登录状态不符" in r.text


def test_settings_from_env():
    assert OIDCSettings.from_env({}) is None
    s = OIDCSettings.from_env({**ENV, "ECOPLAN_OIDC_ISSUER": "https://idp.example/realms/bureau/"})
    assert s.issuer == "https://idp.example/realms/bureau" and s.role_map[0] == ("bureau-leaders", "commander")
    assert CLIENT_SECRET not in repr(s)
    for bad in ({"ECOPLAN_OIDC_CLIENT_SECRET": ""}, {"ECOPLAN_OIDC_ROLES": ""},
                {"ECOPLAN_OIDC_ROLES": "leaders=boss"}):
        with pytest.raises(OIDCConfigError):
            OIDCSettings.from_env({**ENV, "ECOPLAN_OIDC_ISSUER": "https://idp.example", **bad})


async def test_login_in_the_browser(web, provider):
    from tests.test_browser import CHROMIUM, FLAGS, SHOTS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is missing at {CHROMIUM}: `make test` installs it", pytrace=False)
    from playwright.async_api import async_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await b.new_page(viewport={"width": 390, "height": 844})
        await page.goto(f"{web.url}/")
        await page.screenshot(path=str(SHOTS / "login-with-oidc.png"))
        await page.click("text=统一身份认证登录")
        await page.wait_for_url(f"{web.url}/")
        assert "周局长（zhouju）" in await page.locator("header").inner_text()
        await page.screenshot(path=str(SHOTS / "board-after-oidc.png"))
        await b.close()
