"""Sign-in hardening (issue 25, findings 3 and 4, items 2 and 3), over real HTTP against the
real app (uvicorn; the accounts in a SQLite file, then in PostgreSQL): the login limit cannot
be raced or turned against the people it protects; X-Forwarded-For only from a trusted proxy;
the second factor for the roles the settings name; the audit log; the session time-out."""

from __future__ import annotations

import asyncio
import json
import re
import time
from contextlib import closing
from datetime import timedelta

import httpx
import pyotp
import pytest

from activities.settings import SettingsError, settings
from ecoplan import audit
from ecoplan.login_limiter import Limits, LoginLimiter
from ecoplan.totp import TotpStore
from ecoplan.web.auth import SESSION_COOKIE, AuthSettings
from tests.procs import ecoplan_in_process
from tests.web_helpers import password, session_times, set_session_times, web_service


PROXY = "127.0.0.2"  # the reverse proxy: clients connecting from this loopback address


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def direct(request, client, worker, tmp_path_factory):
    """TOTP as a real deployment has it (admin, commander); the proxy at 127.0.0.2 trusted, so
    a client connecting from 127.0.0.1 is a direct one whose X-Forwarded-For is ignored. The
    accounts in a SQLite file, then in PostgreSQL (issue 27: every store test on both)."""
    settings = AuthSettings(trusted_proxies=frozenset({PROXY}))
    target = (tmp_path_factory.mktemp("login") / "accounts.db" if request.param == "sqlite"
              else request.getfixturevalue("pg_cluster").fresh_url())
    async with web_service(client, target, settings=settings, totp_roles=frozenset({"admin", "commander"})) as w:
        yield w


def accounts_env(store) -> dict:
    """How a CLI process finds these accounts."""
    if isinstance(store.target, str):
        return {"ECOPLAN_DATABASE_URL": store.target}
    return {"ECOPLAN_ACCOUNTS_DB": str(store.path)}


@pytest.fixture
def proxied(direct):
    return direct


def through_proxy(web) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=web.url, timeout=60, transport=httpx.AsyncHTTPTransport(local_address=PROXY))


def login_json(username: str, pw: str | None = None, **extra) -> dict:
    return {"username": username, "password": pw if pw is not None else password(username), **extra}


async def test_parallel_guesses_with_forged_forwarded_for_are_refused_beyond_the_limit(direct):
    # The probe: 20 parallel wrong passwords for one account, each with its own X-Forwarded-For.
    async with httpx.AsyncClient(base_url=direct.url, timeout=60) as c:
        rs = await asyncio.gather(*(c.post("/api/login", json=login_json("wangwei", "wrong-桃河-pw-1"),
                                           headers={"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(20)))
    codes = sorted(r.status_code for r in rs)
    free = Limits().free_failures
    assert codes == [401] * free + [429] * (20 - free), codes
    assert all(int(r.headers["retry-after"]) >= 1 for r in rs if r.status_code == 429)
    # All were counted against the real peer, 127.0.0.1: the forged header changed nothing.
    assert LoginLimiter(direct.store, Limits()).begin("wangwei", "127.0.0.1") > 0


async def test_a_strangers_guesses_do_not_stop_the_commander_at_his_desk(proxied):
    proxied.store.add("cmdr", "commander", password("cmdr"), display="指挥长")
    totp = TotpStore(proxied.store)
    secret = totp.begin("cmdr")
    assert totp.confirm("cmdr", pyotp.TOTP(secret).at(time.time() - 30))  # enrolled with the previous 30 s code
    async with through_proxy(proxied) as c:
        stranger = {"X-Forwarded-For": "198.51.100.7"}
        for _ in range(5):
            r = await c.post("/api/login", json=login_json("cmdr", "wrong-桃河-pw-1"), headers=stranger)
            assert r.status_code == 401
        r = await c.post("/api/login", json=login_json("cmdr", "wrong-桃河-pw-1"), headers=stranger)
        assert r.status_code == 429 and "其他地址不受影响" in r.json()["detail"]
        # A client's own X-Forwarded-For is left of the proxy's: the stranger cannot borrow the desk's address.
        code = pyotp.TOTP(secret).now()
        r = await c.post("/api/login", json=login_json("cmdr", code=code),
                         headers={"X-Forwarded-For": "10.1.2.3, 198.51.100.7"})
        assert r.status_code == 429
        # The commander at his own desk logs in.
        r = await c.post("/api/login", json=login_json("cmdr", code=code), headers={"X-Forwarded-For": "10.1.2.3"})
        assert r.status_code == 200, r.text


async def test_thirty_good_logins_from_one_address_lock_nobody(proxied):
    office = {"X-Forwarded-For": "10.9.9.9"}
    async with through_proxy(proxied) as c:
        people = ["zhang", "zhao", "qian", "lian", "sun"]
        rs = await asyncio.gather(*(c.post("/api/login", json=login_json(people[i % 5]), headers=office)
                                    for i in range(30)))
        assert [r.status_code for r in rs] == [200] * 30, [r.text for r in rs if r.status_code != 200]
        # Nobody is locked: not these five, and not another account from the same address.
        r = await c.post("/api/login", json=login_json("tmpa", "x"), headers=office)
        assert r.status_code == 401


async def test_an_account_wide_alarm_not_a_lock_and_unlock(proxied):
    limits = Limits()
    async with through_proxy(proxied) as c:
        for i in range(limits.alarm_failures):  # from many addresses: no pair reaches its delay
            r = await c.post("/api/login", json=login_json("du", "wrong-桃河-pw-1"),
                             headers={"X-Forwarded-For": f"192.0.2.{i}"})
            assert r.status_code == 401
        [alarm] = [a for a in LoginLimiter(proxied.store, limits).alarms() if a.username == "du"]
        assert (alarm.failures, alarm.addresses) == (limits.alarm_failures, limits.alarm_failures)
        r = await c.post("/api/login", json=login_json("du"), headers={"X-Forwarded-For": "10.0.0.1"})
        assert r.status_code == 200  # an alarm, not a lock
        # Shown to admins: `ecoplan users list`, the console's /admin/audit, and the audit log.
        env = accounts_env(proxied.store)
        listed = await ecoplan_in_process("users", "list", env=env)
        assert listed.code == 0 and re.search(r"du .*失败 10 次/10 个地址", listed.out), listed.out
        admin, _ = proxied.store.open_session("root", "web", timedelta(hours=1))
        lead, _ = proxied.store.open_session("sun", "web", timedelta(hours=1))

        async def audit_page(token: str) -> httpx.Response:
            async with httpx.AsyncClient(base_url=proxied.url, timeout=60, cookies={SESSION_COOKIE: token}) as b:
                return await b.get("/admin/audit")
        page = await audit_page(admin)
        assert page.status_code == 200 and re.search(r"<td>du</td><td>[^<]+</td><td>10</td><td>10</td>", page.text)
        assert "登录失败告警" in page.text and 'href="/admin/audit" id="nav-audit"' in page.text  # in the admin's menu
        assert (await audit_page(lead)).status_code == 403
        async with httpx.AsyncClient(base_url=proxied.url, timeout=60, cookies={SESSION_COOKIE: lead}) as b:
            assert "nav-audit" not in (await b.get("/todo")).text  # not in anyone else's
        unlocked = await ecoplan_in_process("users", "unlock", "du", env=env)
        assert unlocked.code == 0 and "登录告警已清除" in unlocked.out, unlocked.err
        assert not [a for a in LoginLimiter(proxied.store, limits).alarms() if a.username == "du"]
        page = await audit_page(admin)
        assert "没有登录告警" in page.text and "解除登录限制" in page.text
        log = await ecoplan_in_process("audit", "--user", "du", "--json", env=env)
        events = [(e["event"], e["outcome"]) for e in json.loads(log.out)]
        assert ("login_alarm", None) in events and ("unlock", None) in events and ("login", "ok") in events
        assert events.count(("login", "bad_credentials")) == limits.alarm_failures


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


async def test_commander_enrols_a_second_factor_then_needs_it(direct):
    async with httpx.AsyncClient(base_url=direct.url, timeout=60) as c:
        page = await c.get("/login")
        r = await c.post("/login", data={"username": "li", "password": password("li"), "next": "/",
                                         "csrf_token": _hidden(page.text, "csrf_token")})
        assert r.status_code == 303 and r.headers["location"].startswith("/login/enrol")
        assert (await c.get("/")).status_code == 303  # no session yet: the password alone opens nothing
        enrol = await c.get(r.headers["location"])
        assert enrol.status_code == 200 and "<svg" in enrol.text and "动态口令" in enrol.text
        secret = re.search(r'class="secret">([A-Z2-7]+)<', enrol.text).group(1)
        bad = await c.post("/login/enrol", data={"code": "000000", "next": "/", "csrf_token": _hidden(enrol.text, "csrf_token")})
        assert bad.status_code == 422 and "数字不对" in bad.text
        done = await c.post("/login/enrol", data={"code": pyotp.TOTP(secret).now(), "next": "/",
                                                  "csrf_token": _hidden(enrol.text, "csrf_token")})
        assert done.status_code == 200
        recovery = re.findall(r"<code>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</code>", done.text)
        assert len(recovery) == 10
        board = await c.get("/")
        assert board.status_code == 200 and "李局长" in board.text
        # Logout needs the CSRF token: a cross-site POST does nothing.
        assert (await c.post("/logout", data={})).status_code == 403
        assert (await c.get("/")).status_code == 200
        assert (await c.post("/logout", data={"csrf_token": _hidden(board.text, "csrf_token")})).status_code == 303
        assert (await c.get("/")).status_code == 303

        # Next time: password, then a code (here a recovery code: the app's code of this 30 s was spent).
        page = await c.get("/login")
        r = await c.post("/login", data={"username": "li", "password": password("li"), "next": "/",
                                         "csrf_token": _hidden(page.text, "csrf_token")})
        assert r.headers["location"].startswith("/login/code")
        form = await c.get(r.headers["location"])
        wrong = await c.post("/login/code", data={"code": "123456", "next": "/", "csrf_token": _hidden(form.text, "csrf_token")})
        assert wrong.status_code == 401 and "动态口令错误" in wrong.text
        ok = await c.post("/login/code", data={"code": recovery[0], "next": "/", "csrf_token": _hidden(form.text, "csrf_token")})
        assert ok.status_code == 303 and (await c.get("/")).status_code == 200

    # The API: the code in the same request; a spent recovery code is refused.
    async with httpx.AsyncClient(base_url=direct.url, timeout=60) as c:
        r = await c.post("/api/login", json=login_json("li"))
        assert r.status_code == 401 and "动态口令" in r.json()["detail"]
        r = await c.post("/api/login", json=login_json("li", code=recovery[0]))
        assert r.status_code == 401
        r = await c.post("/api/login", json=login_json("li", code=recovery[1]))
        assert r.status_code == 200, r.text
        # An admin who never enrolled gets no token until the console enrolment.
        r = await c.post("/api/login", json=login_json("root"))
        assert r.status_code == 403 and "绑定" in r.json()["detail"]
    with closing(direct.store.connect()) as con:
        rows = audit.entries(con, username="li")
    seen = [(e.event, e.outcome) for e in reversed(rows)]
    for step in [("totp_enrolled", "ok"), ("login", "ok"), ("logout", "ok"), ("login", "bad_code")]:
        assert step in seen, seen
    assert not any(recovery[1] in str(e.detail) or secret in str(e.detail) for e in rows)


def test_default_settings_require_the_second_factor_for_admin_and_commander():
    assert AuthSettings().totp_roles == {"admin", "commander"} and AuthSettings().trusted_proxies == frozenset()
    defaults = settings({})  # the environment's defaults (what `ecoplan web` reads when nothing is set)
    assert defaults.totp_role_set == {"admin", "commander"} and defaults.trusted_proxy_set == frozenset()
    assert settings({"ECOPLAN_TOTP_ROLES": "none"}).totp_role_set == frozenset()
    assert settings({"ECOPLAN_TRUSTED_PROXIES": "10.0.0.1, 127.0.0.1"}).trusted_proxy_set == {"10.0.0.1", "127.0.0.1"}
    # Enrolment at the first login stays the default; `no` leaves it to an admin.
    assert AuthSettings().totp_self_enrol and defaults.totp_self_enrol
    assert not settings({"ECOPLAN_TOTP_SELF_ENROL": "no"}).totp_self_enrol
    with pytest.raises(SettingsError, match="ECOPLAN_TOTP_SELF_ENROL"):
        settings({"ECOPLAN_TOTP_SELF_ENROL": "maybe"})
    assert defaults.oidc_mfa_amr_set == {"mfa", "otp", "hwk", "sc"}
    assert settings({"ECOPLAN_OIDC_MFA_AMR": "none"}).oidc_mfa_amr_set == frozenset()


async def test_without_self_enrolment_only_an_admin_enrols(client, direct):
    """ECOPLAN_TOTP_SELF_ENROL=no: the password alone never enrols an authenticator; an admin does."""
    from ecoplan.web import create_app
    from tests.web_helpers import serving

    direct.store.add("gly", "admin", password("gly"), display="高管理")
    strict = create_app(client_factory=lambda: client, store=direct.store,
                        settings=AuthSettings(totp_self_enrol=False))
    env = {**accounts_env(direct.store), "ECOPLAN_TOTP_SELF_ENROL": "no"}
    async with serving(strict) as url, httpx.AsyncClient(base_url=url, timeout=60) as c:
        page = await c.get("/login")
        r = await c.post("/login", data={"username": "gly", "password": password("gly"), "next": "/",
                                         "csrf_token": _hidden(page.text, "csrf_token")})
        assert r.status_code == 403 and "请联系管理员登记动态口令" in r.text
        assert "ecoplan_pending" not in c.cookies and SESSION_COOKIE not in c.cookies
        r = await c.post("/api/login", json=login_json("gly"))
        assert r.status_code == 403 and r.json()["detail"].startswith("此账号须使用动态口令，但尚未登记：请联系管理员")
        enrol = await c.get("/login/enrol")
        assert enrol.status_code == 403 and "由管理员登记" in enrol.text
        # Refused with the right password: not counted as a failure (no delay builds up).
        assert LoginLimiter(direct.store, Limits()).begin("gly", "127.0.0.1") == 0

        printed = await ecoplan_in_process("users", "enrol-2fa", "gly", env=env)
        assert printed.code == 0 and "高管理（gly）" in printed.out, printed.err
        secret = re.search(r"手动输入密钥：([A-Z2-7]+)$", printed.out, re.M).group(1)
        page = await c.get("/login")
        r = await c.post("/login", data={"username": "gly", "password": password("gly"), "next": "/",
                                         "csrf_token": _hidden(page.text, "csrf_token")})
        assert r.status_code == 303 and r.headers["location"] == "/login/code?next=/"
        form = await c.get(r.headers["location"])
        ok = await c.post("/login/code", data={"code": pyotp.TOTP(secret).now(), "next": "/",
                                               "csrf_token": _hidden(form.text, "csrf_token")})
        assert ok.status_code == 303 and (await c.get("/admin/audit")).status_code == 200

        reset = await ecoplan_in_process("users", "reset-2fa", "gly", env=env)
        assert reset.code == 0 and "请用 ecoplan users enrol-2fa gly 重新登记" in reset.out
        assert (await c.get("/admin/audit")).status_code == 303  # its session ended with the reset
        r = await c.post("/api/login", json=login_json("gly"))
        assert r.status_code == 403
    with closing(direct.store.connect()) as con:
        seen = [(e.event, e.outcome, e.detail.get("via")) for e in reversed(audit.entries(con, username="gly"))]
    assert seen == [("account_added", None, None), ("login", "not_enrolled", "web"),
                    ("login", "not_enrolled", "api"), ("totp_enrolled", "ok", None), ("login", "ok", "web"),
                    ("totp_reset", "ok", None), ("login", "not_enrolled", "api")], seen


# ------------------------------------------------------------------ session time-out (等保 8.1.4.1 b)

async def test_an_unused_console_session_times_out_and_typing_keeps_it(direct):
    """30 minutes without use end a console session (the default of ECOPLAN_SESSION_IDLE_MINUTES);
    a page refreshing itself is not use, typing (/session/alive) and opening a page are; no
    session outlives 12 hours. Idle time is made by moving the session's times back."""
    from datetime import datetime, timezone

    async with httpx.AsyncClient(base_url=direct.url, timeout=60) as c:
        page = await c.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = await c.post("/login", data={"username": "du", "password": password("du"), "next": "/", "csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/"
        token = c.cookies[SESSION_COOKIE]
        opened, ends = session_times(direct.store, token)
        assert timedelta(minutes=29, seconds=50) <= ends - opened <= timedelta(minutes=30)  # 30 min, not 12 h

        # 25 minutes unused: 5 left. The board refreshing itself keeps the 5; opening a page gives 30 again.
        t0 = datetime.now(timezone.utc)
        set_session_times(direct.store, token, t0 - timedelta(minutes=25), t0 + timedelta(minutes=5))
        background = {"X-Ecoplan-Background": "1"}
        assert (await c.get("/todo/count", headers=background)).status_code == 200
        assert session_times(direct.store, token)[1] == t0 + timedelta(minutes=5)
        assert (await c.get("/")).status_code == 200
        kept = session_times(direct.store, token)[1] - datetime.now(timezone.utc)
        assert timedelta(minutes=29) < kept <= timedelta(minutes=30)
        # Typing in a form: the same, through /session/alive.
        t0 = datetime.now(timezone.utc)
        set_session_times(direct.store, token, t0 - timedelta(minutes=25), t0 + timedelta(minutes=5))
        assert (await c.get("/session/alive")).status_code == 204
        kept = session_times(direct.store, token)[1] - datetime.now(timezone.utc)
        assert timedelta(minutes=29) < kept <= timedelta(minutes=30)

        # 11 h 50 min after the login, use gives the 10 minutes left of the 12 hours, not 30.
        t0 = datetime.now(timezone.utc)
        set_session_times(direct.store, token, t0 - timedelta(hours=11, minutes=50), t0 + timedelta(minutes=5))
        assert (await c.get("/session/alive")).status_code == 204
        assert session_times(direct.store, token)[1] == t0 - timedelta(hours=11, minutes=50) + timedelta(hours=12)

        # Run out: the page sends the person to the login page, which says why; the refresh gets 401.
        set_session_times(direct.store, token, t0 - timedelta(minutes=40), t0 - timedelta(seconds=1))
        r = await c.get("/")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert (await c.get("/session/alive")).status_code == 401
        login = await c.get(r.headers["location"])
        assert login.status_code == 200 and "登录已超时（30 分钟无操作或已满 12 小时），请重新登录" in login.text
    # A new visitor's login page says nothing of a time-out.
    async with httpx.AsyncClient(base_url=direct.url, timeout=60) as fresh:
        assert "登录已超时" not in (await fresh.get("/login")).text
