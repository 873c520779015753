"""Login with an OpenID Connect provider (ecoplan/web/oidc.py) against a provider the test
starts itself (tests/oidc_provider.py), both over real HTTP; and in the browser. A role that
must use a second factor (admin, commander by default) is asked the console's one-time code
after the provider unless the ID token's `amr` shows the provider asked one."""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path

import httpx
import pyotp
import pytest

from ecoplan import audit
from ecoplan.totp import TotpStore
from ecoplan.web import create_app
from ecoplan.web.auth import PENDING_COOKIE, SESSION_COOKIE, AuthSettings
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
        # The same accounts file, served by an app with OIDC on (a deployment's defaults: the
        # second factor for admin and commander, enrolled at the first login) and by one where
        # only an admin enrols (ECOPLAN_TOTP_SELF_ENROL=no).
        app = create_app(client_factory=lambda: client, store=w.store, oidc=OIDC(settings))
        strict = create_app(client_factory=lambda: client, store=w.store, oidc=OIDC(settings),
                            settings=AuthSettings(totp_self_enrol=False))
        async with serving(app) as url, serving(strict) as strict_url:
            w.url, w.strict_url = url, strict_url
            provider.redirect_uris = {f"{url}/login/oidc/callback", f"{strict_url}/login/oidc/callback"}
            yield w


@pytest.fixture(autouse=True)
def reset(provider):
    # Unless a test says otherwise the provider asked its own second factor (`amr` mfa).
    provider.user, provider.misbehave, provider.amr = dict(ZHOU), None, ["pwd", "mfa"]
    yield


async def login_through_provider(web, next_: str = "/", url: str | None = None,
                                 c: httpx.AsyncClient | None = None) -> tuple[httpx.Response, httpx.AsyncClient]:
    """Follow the redirects a browser would: console → provider → console."""
    url = url or web.url
    c = c or httpx.AsyncClient(timeout=30)
    r = await c.get(f"{url}/login/oidc", params={"next": next_})
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
    # A commander: in at once because the provider did a second factor, and the log says so.
    last = _audit(web, "zhouju")[0]
    assert (last.event, last.outcome, last.detail) == ("login", "ok", {"via": "oidc", "factor": "provider",
                                                                       "amr": ["mfa"]})


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


def _audit(web, username: str) -> list[audit.Entry]:
    with closing(web.store.connect()) as con:
        return audit.entries(con, username=username)


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


async def _nothing_opens(web, token: str) -> None:
    """The pending session of a first step: no page, no API, no action, whichever way it is sent."""
    async with httpx.AsyncClient(base_url=web.url, timeout=30, cookies={SESSION_COOKIE: token}) as b:
        for path in ("/", "/incidents", "/todo", "/admin/audit"):
            r = await b.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?"), (path, r.status_code)
        r = await b.post("/incidents/new", data={"csrf_token": "x", "title": "储罐泄漏"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login?")
    async with httpx.AsyncClient(base_url=web.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as b:
        assert (await b.get("/api/me")).status_code == 401
        assert (await b.get("/api/incidents")).status_code == 401
        assert (await b.post("/api/incidents", json={})).status_code == 401


async def test_a_commander_without_a_second_factor_at_the_provider_gives_the_consoles_code(web, provider):
    provider.user = {**ZHOU, "preferred_username": "qinju", "name": "秦局长"}
    provider.amr = "mfa"  # not a list (RFC 8176): the token is refused
    r, c = await login_through_provider(web)
    assert r.status_code == 403 and "身份令牌校验失败（invalid_claim）" in r.text
    await c.aclose()
    provider.amr = ["pwd"]  # the provider's password only
    r, c = await login_through_provider(web, "/todo")
    assert r.status_code == 303 and r.headers["location"] == "/login/enrol?next=/todo", r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    token = c.cookies[PENDING_COOKIE]
    [cookie] = [h for h in r.headers.get_list("set-cookie") if h.startswith(f"{PENDING_COOKIE}=")]
    assert "samesite=lax" in cookie.lower()  # the browser comes back from the provider's site
    await _nothing_opens(web, token)
    assert (await c.get(f"{web.url}/")).status_code == 303  # the browser itself: no session yet
    enrol = await c.get(f"{web.url}{r.headers['location']}")
    assert enrol.status_code == 200 and "统一身份认证加动态口令" in enrol.text
    secret = re.search(r'class="secret">([A-Z2-7]+)<', enrol.text).group(1)
    done = await c.post(f"{web.url}/login/enrol", data={"code": pyotp.TOTP(secret).now(), "next": "/todo",
                                                         "csrf_token": _hidden(enrol.text, "csrf_token")})
    assert done.status_code == 200 and "动态口令已绑定" in done.text
    recovery = re.findall(r"<code>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</code>", done.text)
    assert len(recovery) == 10
    board = await c.get(f"{web.url}/")
    assert board.status_code == 200 and "秦局长（qinju）" in board.text
    out = await c.post(f"{web.url}/logout", data={"csrf_token": _hidden(board.text, "csrf_token")})
    assert out.status_code == 303
    await c.aclose()

    # Enrolled: the next login asks the code, after the provider as after a password.
    r, c = await login_through_provider(web)
    assert r.status_code == 303 and r.headers["location"] == "/login/code?next=/"
    form = await c.get(f"{web.url}/login/code?next=/")
    assert "统一身份认证已通过" in form.text
    wrong = await c.post(f"{web.url}/login/code", data={"code": "123456", "next": "/",
                                                        "csrf_token": _hidden(form.text, "csrf_token")})
    assert wrong.status_code == 401 and "动态口令错误" in wrong.text
    await _nothing_opens(web, c.cookies[PENDING_COOKIE])
    ok = await c.post(f"{web.url}/login/code", data={"code": recovery[0], "next": "/",
                                                     "csrf_token": _hidden(form.text, "csrf_token")})
    assert ok.status_code == 303 and (await c.get(f"{web.url}/")).status_code == 200
    session = web.store.session(c.cookies[SESSION_COOKIE], "web")
    assert (session.via, session.account.username) == ("oidc", "qinju")
    await c.aclose()

    # A provider that asked a one-time code of its own: in at once.
    provider.amr = ["pwd", "otp"]
    r, c = await login_through_provider(web)
    assert r.status_code == 303 and r.headers["location"] == "/" and SESSION_COOKIE in c.cookies
    await c.aclose()

    seen = [(e.event, e.outcome, e.detail) for e in reversed(_audit(web, "qinju"))]
    assert seen == [
        ("login", "needs_enrolment", {"via": "oidc"}), ("totp_enrolled", "ok", {}),
        ("login", "ok", {"via": "oidc", "factor": "enrolment"}), ("logout", "ok", {"via": "oidc"}),
        ("login", "needs_code", {"via": "oidc"}), ("login", "bad_code", {"via": "oidc"}),
        ("login", "ok", {"via": "oidc", "factor": "recovery"}),
        ("login", "ok", {"via": "oidc", "factor": "provider", "amr": ["otp"]}),
    ], seen


async def test_a_duty_officer_is_not_asked_a_code_after_the_provider(web, provider):
    provider.user, provider.amr = {**ZHOU, "preferred_username": "zhaoyi", "roles": ["emergency-duty"]}, None
    r, c = await login_through_provider(web)
    assert r.status_code == 303 and r.headers["location"] == "/" and SESSION_COOKIE in c.cookies
    await c.aclose()
    assert [(e.event, e.outcome) for e in _audit(web, "zhaoyi")] == [("login", "ok")]


async def test_without_self_enrolment_a_commander_with_no_authenticator_is_refused(web, provider):
    provider.user, provider.amr = {**ZHOU, "preferred_username": "hanju", "name": "韩局长"}, ["pwd"]
    r, c = await login_through_provider(web, url=web.strict_url)
    assert r.status_code == 403 and "请联系管理员登记动态口令" in r.text
    assert SESSION_COOKIE not in c.cookies and PENDING_COOKIE not in c.cookies
    assert (await c.get(f"{web.strict_url}/login/enrol")).status_code == 403  # no enrolling here either
    [refused] = _audit(web, "hanju")
    assert (refused.event, refused.outcome, refused.detail) == ("login", "not_enrolled", {"via": "oidc"})
    # The admin enrols the account and hands the secret over: the code then opens it.
    secret, _ = TotpStore(web.store).enrol("hanju", "cli:root")
    r, c = await login_through_provider(web, url=web.strict_url, c=c)
    assert r.status_code == 303 and r.headers["location"] == "/login/code?next=/"
    form = await c.get(f"{web.strict_url}/login/code?next=/")
    assert "再由管理员重新登记" in form.text
    ok = await c.post(f"{web.strict_url}/login/code", data={"code": pyotp.TOTP(secret).now(), "next": "/",
                                                            "csrf_token": _hidden(form.text, "csrf_token")})
    assert ok.status_code == 303 and (await c.get(f"{web.strict_url}/")).status_code == 200
    await c.aclose()


def test_which_amr_values_count_as_a_second_factor():
    oidc = OIDC(OIDCSettings.from_env({**ENV, "ECOPLAN_OIDC_ISSUER": "https://idp.example"}))
    assert oidc.s.mfa_amr == {"mfa", "otp", "hwk", "sc"}
    for amr, factors in [(None, []), ([], []), (["pwd"], []), ("mfa", []), (["pwd", "otp"], ["otp"]),
                         (["hwk", "pwd", "mfa"], ["hwk", "mfa"]), (["pwd", "sms"], []), (["swk"], []),
                         ({"mfa": True}, []), ([1, "pin"], [])]:
        assert oidc.provider_factors({} if amr is None else {"amr": amr}) == factors, amr
    wider = OIDCSettings.from_env({**ENV, "ECOPLAN_OIDC_ISSUER": "https://idp.example",
                                   "ECOPLAN_OIDC_MFA_AMR": "mfa, sms"})
    assert OIDC(wider).provider_factors({"amr": ["pwd", "sms"]}) == ["sms"]
    never = OIDCSettings.from_env({**ENV, "ECOPLAN_OIDC_ISSUER": "https://idp.example", "ECOPLAN_OIDC_MFA_AMR": "none"})
    assert OIDC(never).provider_factors({"amr": ["mfa"]}) == []
