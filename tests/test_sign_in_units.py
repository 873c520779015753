"""Server-free checks of the sign-in parts (issue 25, items 2-4): the login limiter's
growing delay and its counting before the check, the one-time codes (no replay, recovery
codes once), the audit log's retention floor, the password rule. A hand-driven clock."""

from __future__ import annotations

import json
import re
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
from ecoplan.totp import TotpStore, provisioning_uri, qr_svg, qr_terminal
from plan.calendar import SHANGHAI
from tests.conftest import ROOT

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


def test_the_count_is_shared_by_processes_and_outlives_them(store):
    """Finding 4: the limiter lived in one process's memory. Another process (a second console,
    `python -c`) fails three times and exits; a limiter opened afterwards here, as a restarted
    console would, delays the next attempt from that address and no other."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from argon2 import PasswordHasher\n"
        "from ecoplan.accounts import AccountStore\n"
        "from ecoplan.login_limiter import Limits, LoginLimiter\n"
        "s = AccountStore(sys.argv[1], hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))\n"
        "lim = LoginLimiter(s, Limits(free_failures=3))\n"
        "for _ in range(3):\n"
        "    assert lim.begin('wangwei', '10.1.1.1') == 0\n"
        "    lim.failed('wangwei', '10.1.1.1')\n")
    done = subprocess.run([sys.executable, "-c", script, str(store.target)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    here = LoginLimiter(AccountStore(store.target), Limits(free_failures=3))
    assert 25 < here.begin("wangwei", "10.1.1.1") <= 30  # 3 failures: 30 s, counted from the other's last
    assert here.begin("wangwei", "10.1.1.2") == 0


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


def test_an_admins_enrolment_holds_at_once_and_replaces_one_begun(store):
    clock = Clock()
    totp = TotpStore(store, clock)
    begun = totp.begin("wangwei")  # someone holding the password started enrolling
    secret, codes = totp.enrol("wangwei", "cli:root")
    assert secret != begun and totp.enrolled("wangwei") and len(set(codes)) == 10
    assert totp.verify("wangwei", pyotp.TOTP(begun).at(clock.t)) is None  # that half-done one is gone
    assert totp.verify("wangwei", pyotp.TOTP(secret).at(clock.t)) == "totp"  # the first code works
    assert totp.verify("wangwei", codes[9]) == "recovery"
    with pytest.raises(ValueError):
        totp.enrol("wangwei", "cli:root")  # one in use is reset first
    with closing(store.connect()) as con:
        row = audit.entries(con, username="wangwei", event="totp_enrolled")[0]
    assert (row.actor, row.outcome, row.detail) == ("cli:root", "ok", {"by": "admin"})
    assert secret not in str(row.detail) and codes[0] not in str(row.detail)


def test_qr_code_is_inline_svg_of_the_otpauth_uri():
    uri = provisioning_uri(pyotp.random_base32(), "li")
    assert uri.startswith("otpauth://totp/") and "li" in uri
    svg = qr_svg(uri)
    assert svg.startswith("<svg") and "<script" not in svg and "<path" in svg
    # In a terminal: read back from the colours, the same modules as the code itself (with its
    # quiet zone of 4), black on white set explicitly, two rows a line.
    import segno

    want = [[bool(m) for m in row] for row in segno.make(uri, error="m").matrix_iter(scale=1, border=4)]
    cells = [re.findall(r"\x1b\[(30|97);(40|107)m\u2580", line) for line in qr_terminal(uri).splitlines()]
    got = []
    for line in cells:
        got += [[fg == "30" for fg, _ in line], [bg == "40" for _, bg in line]]
    assert got[:len(want)] == want and not any(m for row in got[len(want):] for m in row)
    assert len(want[0]) <= 80  # fits a terminal of 80 columns


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
    # An admin's enrolment, printed once (no QR code without a terminal), then refused while in use.
    r = ecoplan_in_process_sync("users", "enrol-2fa", "wangwei", env=env)
    assert r.code == 0 and r.out.startswith("已为 wangwei 登记动态口令。以下内容只显示这一次"), r.err
    secret = re.search(r"手动输入密钥：([A-Z2-7]{32})$", r.out, re.M).group(1)
    assert "otpauth://totp/" in r.out and f"secret={secret}" in r.out and "\x1b[" not in r.out
    codes = re.findall(r"^  ([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})$", r.out, re.M)
    assert len(codes) == 10 and totp.verify("wangwei", codes[0]) == "recovery"
    assert totp.verify("wangwei", pyotp.TOTP(secret).now()) == "totp"
    r = ecoplan_in_process_sync("users", "enrol-2fa", "wangwei", env=env)
    assert r.code == 1 and r.err.strip() == ("ecoplan: wangwei 已绑定动态口令：如需更换，先运行 "
                                             "ecoplan users reset-2fa wangwei")
    r = ecoplan_in_process_sync("users", "reset-2fa", "wangwei", env={**env, "ECOPLAN_TOTP_SELF_ENROL": "no"})
    assert r.code == 0 and r.out.strip().endswith("请用 ecoplan users enrol-2fa wangwei 重新登记"), r.out
    r = ecoplan_in_process_sync("users", "enrol-2fa", "wangwei", "--json", env=env)
    out = json.loads(r.out)
    assert r.code == 0 and len(out["recovery_codes"]) == 10 and out["username"] == "wangwei"
    assert out["otpauth_uri"].startswith("otpauth://totp/") and f"secret={out['secret']}" in out["otpauth_uri"]
    r = ecoplan_in_process_sync("users", "enrol-2fa", "nobody", env=env)
    assert r.code == 1 and r.err.strip() == "ecoplan: 没有账号 nobody", r.err
    r = ecoplan_in_process_sync("users", "unlock", "nobody", env=env)
    assert r.code == 1 and r.err.strip() == "ecoplan: 没有账号 nobody"
    r = ecoplan_in_process_sync("audit", "--event", "nothing", env=env)
    assert r.code == 2 and "--event 'nothing'：可选 login（登录）" in r.err
    r = ecoplan_in_process_sync("audit", "--since", "yesterday", env=env)
    assert r.code == 2 and "应为日期或时间" in r.err
    r = ecoplan_in_process_sync("audit", "--user", "wangwei", env=env)
    lines = r.out.splitlines()
    assert r.code == 0 and "绑定动态口令（成功）" in lines[0] and "操作人 cli:" in lines[0]  # the --json enrolment
    assert "重置动态口令（成功）" in lines[1] and "绑定动态口令（成功）" in lines[2] and "操作人 cli:" in lines[2]
    assert "重置动态口令（成功）" in lines[3] and "绑定动态口令（成功）" in lines[4] and "创建账号" in lines[-1]
