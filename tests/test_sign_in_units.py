"""Server-free checks of the sign-in parts (issue 25, items 2-4): the login limiter's
growing delay and its counting before the check, the one-time codes (no replay, recovery
codes once), the audit log's retention floor, the password rule. A hand-driven clock."""

from __future__ import annotations

import threading
from contextlib import closing
from datetime import datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher

from activities.settings import SettingsError, settings
from ecoplan import audit
from ecoplan.accounts import AccountStore
from ecoplan.login_limiter import BUSY, Limits, LoginLimiter
from ecoplan.passwords import kinds, weakness
from ecoplan.totp import TotpStore, provisioning_uri, qr_svg
from plan.calendar import SHANGHAI

PW = "pw-wangwei-桃河-2026"


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(store_target):
    """On SQLite and on PostgreSQL (tests/conftest.py store_target)."""
    s = AccountStore(store_target, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    s.add("wangwei", "duty_officer", PW)
    return s


def test_the_delay_grows_per_account_and_address_and_forgets(store):
    clock = Clock()
    lim = LoginLimiter(store, Limits(free_failures=3, delay_base=30, delay_cap=120, forget_after=3600), clock)
    for _ in range(3):
        assert lim.begin("wangwei", "a") == 0
        lim.failed("wangwei", "a")
    assert lim.begin("wangwei", "a") == 30  # 3 failures: 30 s
    assert lim.begin("wangwei", "b") == 0  # another address is not delayed
    lim.succeeded("wangwei", "b")
    clock.t += 30
    assert lim.begin("wangwei", "a") == 0
    lim.failed("wangwei", "a")
    assert lim.begin("wangwei", "a") == 60  # 4 failures: 60 s
    clock.t += 60
    assert lim.begin("wangwei", "a") == 0
    lim.failed("wangwei", "a")
    clock.t += 1
    assert lim.begin("wangwei", "a") == 119  # 5 failures: 120 s (the cap), one gone
    clock.t += 3600
    assert lim.begin("wangwei", "a") == 0  # an hour quiet: forgotten


def test_counted_before_the_check_and_parallel_attempts_wait_their_turn(store):
    clock = Clock()
    lim = LoginLimiter(store, Limits(free_failures=2), clock)
    assert lim.begin("wangwei", "a") == 0 and lim.begin("wangwei", "a") == 0
    assert lim.begin("wangwei", "a") == BUSY  # two still being checked use the allowance
    lim.succeeded("wangwei", "a")  # one was right: failures cleared
    assert lim.begin("wangwei", "a") == 0
    lim.failed("wangwei", "a")
    lim.failed("wangwei", "a")
    assert lim.begin("wangwei", "a") == 30
    # A right password waiting for its code takes back only its own count.
    clock.t += 30
    assert lim.begin("wangwei", "a") == 0
    lim.retract("wangwei", "a")
    assert lim.begin("wangwei", "a") == 30  # the two failures stand; the delay counts from the last attempt


def test_concurrent_begins_never_pass_more_than_the_allowance(store):
    lim = LoginLimiter(store, Limits(free_failures=5))
    answers: list[float] = []
    threads = [threading.Thread(target=lambda: answers.append(lim.begin("wangwei", "x"))) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers).count(0) == 5 and answers.count(BUSY) == 15


def test_alarm_once_then_unlock(store):
    lim = LoginLimiter(store, Limits(alarm_failures=4), Clock())
    for i in range(4):
        assert lim.begin("wangwei", f"10.0.0.{i}") == 0
        alarm = lim.failed("wangwei", f"10.0.0.{i}")
    assert alarm and (alarm.failures, alarm.addresses) == (4, 4)
    assert lim.begin("wangwei", "10.0.0.9") == 0 and lim.failed("wangwei", "10.0.0.9") is None  # raised once
    assert lim.unlock("wangwei", "cli:root") == (5, True)
    assert lim.alarms() == []


def test_codes_are_accepted_once_and_recovery_codes_once(store):
    clock = Clock()
    totp = TotpStore(store, clock)
    secret = totp.begin("wangwei")
    assert totp.begin("wangwei") == secret  # a reload shows the same QR code
    assert totp.confirm("wangwei", "000000") is None and not totp.enrolled("wangwei")
    codes = totp.confirm("wangwei", pyotp.TOTP(secret).at(clock.t))
    assert codes and len(codes) == 10 and totp.enrolled("wangwei")
    same = pyotp.TOTP(secret).at(clock.t)
    assert totp.verify("wangwei", same) is None  # replay within its 30 s refused
    clock.t += 30
    assert totp.verify("wangwei", pyotp.TOTP(secret).at(clock.t)) == "totp"
    assert totp.verify("wangwei", pyotp.TOTP(secret).at(clock.t - 30)) is None  # an older step too
    assert totp.verify("wangwei", codes[3].upper()) == "recovery"
    assert totp.verify("wangwei", codes[3]) is None and totp.recovery_left("wangwei") == 9
    with closing(store.connect()) as con:
        raw = con.execute("SELECT recovery FROM account_totp").fetchone()[0]
    assert codes[0] not in raw  # digests only
    assert totp.reset("wangwei", "cli:root") and not totp.enrolled("wangwei")


def test_qr_code_is_inline_svg_of_the_otpauth_uri():
    uri = provisioning_uri(pyotp.random_base32(), "li")
    assert uri.startswith("otpauth://totp/") and "li" in uri
    svg = qr_svg(uri)
    assert svg.startswith("<svg") and "<script" not in svg and "<path" in svg


def test_audit_rows_are_kept_at_least_180_days(store):
    with closing(store.connect()) as con:
        for days in (400, 181, 179, 1):
            at = (datetime.now(SHANGHAI) - timedelta(days=days)).isoformat(timespec="seconds")
            con.execute("INSERT INTO audit(at, event, username) VALUES (?, 'login', ?)", (at, f"d{days}"))
        assert audit.prune(con, keep_days=30) == 2  # asked for 30: still 180 (网络安全法 第二十一条)
        left = {e.username for e in audit.entries(con, event="login")}
    assert {"d179", "d1"} <= left and not {"d181", "d400"} & left
    with pytest.raises(SettingsError, match="ECOPLAN_AUDIT_DAYS"):
        settings({"ECOPLAN_AUDIT_DAYS": "90"})


def test_account_changes_are_audited(store):
    store.set_password("wangwei", PW + "-新", actor="cli:root")
    store.set_disabled("wangwei", actor="cli:root")
    with closing(store.connect()) as con:
        rows = [(e.event, e.actor) for e in reversed(audit.entries(con, username="wangwei"))]
    assert rows == [("account_added", "cli"), ("password_changed", "cli:root"), ("account_disabled", "cli:root")]


@pytest.mark.parametrize("password, kinds_found, ok", [
    ("aaaaaaaaaa", 1, False), ("abcdefgh12", 2, False), ("correct horse battery", 2, False),
    ("Password123!", 4, False), ("桃河-correct-horse", 3, True), ("Gx7#pq-river-lamp", 4, True),
])
def test_password_rule(password, kinds_found, ok):
    assert len(kinds(password)) == kinds_found
    assert (weakness(password) is None) == ok


def test_users_unlock_reset_2fa_and_audit_commands(store):
    from tests.procs import ecoplan_in_process_sync

    env = {"ECOPLAN_DATABASE_URL" if isinstance(store.target, str) else "ECOPLAN_ACCOUNTS_DB": str(store.target)}
    totp = TotpStore(store)
    secret = totp.begin("wangwei")
    assert totp.confirm("wangwei", pyotp.TOTP(secret).now())
    r = ecoplan_in_process_sync("users", "list", env=env)
    assert r.code == 0 and "已绑定" in r.out
    r = ecoplan_in_process_sync("users", "reset-2fa", "wangwei", env=env)
    assert r.code == 0 and "已重置" in r.out and not totp.enrolled("wangwei")
    r = ecoplan_in_process_sync("users", "unlock", "nobody", env=env)
    assert r.code == 1 and r.err.strip() == "ecoplan: 没有账号 nobody"
    r = ecoplan_in_process_sync("audit", "--event", "nothing", env=env)
    assert r.code == 2 and "--event 'nothing'：可选 login（登录）" in r.err
    r = ecoplan_in_process_sync("audit", "--since", "yesterday", env=env)
    assert r.code == 2 and "应为日期或时间" in r.err
    r = ecoplan_in_process_sync("audit", "--user", "wangwei", env=env)
    lines = r.out.splitlines()
    assert r.code == 0 and "重置动态口令（none）" not in lines[0] and "重置动态口令" in lines[0]
    assert "绑定动态口令（成功）" in lines[1] and "创建账号" in lines[-1]
