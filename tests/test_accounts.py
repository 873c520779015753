"""Accounts (ecoplan/accounts.py) and `ecoplan users …` as a real process on a real SQLite
file; and the plan's role and authority tables (plan/authority.py)."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
from contextlib import closing
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from ecoplan.accounts import AccountError, AccountNotFound, AccountStore
from plan import authority
from plan.loader import load_plan
from plan.models import ROLE_IDS, Plan
from tests.procs import ecoplan_in_process_sync

ECOPLAN = str(Path(sys.executable).parent / "ecoplan")
PW = "桃河-correct-horse"


def users(db: Path | str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`ecoplan users …` with stdin piped (nothing given: an empty pipe), run in this process
    (tests.procs.ecoplan_in_process_sync: the same cli.invoke, output and exit status); the
    terminal cases below (getpass) are real processes on a pseudo-terminal. `db`: a SQLite
    file, or a PostgreSQL URL (ECOPLAN_DATABASE_URL, as a bureau's machines have it)."""
    env = {"ECOPLAN_DATABASE_URL": db} if isinstance(db, str) else {"ECOPLAN_ACCOUNTS_DB": str(db)}
    r = ecoplan_in_process_sync("users", *args, env=env, stdin=stdin)
    return subprocess.CompletedProcess([ECOPLAN, *r.args], r.code, r.out, r.err)


def one_line(p: subprocess.CompletedProcess) -> str:
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    return lines[0]


# ------------------------------------------------------------------ the store


def test_store_add_verify_disable_passwd(tmp_path, store_target):
    from argon2 import PasswordHasher

    on_file = not isinstance(store_target, str)
    # The default hasher on the file; a quicker argon2id on PostgreSQL (the store is under test there).
    store = (AccountStore(tmp_path / "sub" / "a.db") if on_file else
             AccountStore(store_target, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)))
    acc = store.add("wangwei", "duty_officer", PW, display="王伟")
    assert (acc.username, acc.role, acc.display, acc.disabled) == ("wangwei", "duty_officer", "王伟", False)
    assert acc.label == "王伟（wangwei）"
    assert store.verify("wangwei", PW) == acc
    assert store.verify("WangWei ", PW) == acc  # usernames are case-folded at login
    assert store.verify("wangwei", PW + "x") is None
    assert store.verify("nobody", PW) is None
    # Only an argon2 hash is stored, never the password.
    with closing(store.connect()) as con:
        raw = con.execute("SELECT pw_hash FROM accounts").fetchone()[0]
    assert raw.startswith("$argon2id$") and PW not in raw
    assert not on_file or oct((tmp_path / "sub" / "a.db").stat().st_mode & 0o777) == "0o600"

    token, csrf = store.open_session("wangwei", "web", timedelta(hours=1))
    assert store.session(token, "web").account.username == "wangwei"
    assert store.session(token, "api") is None  # a cookie is not a bearer token
    assert store.session(token + "x", "web") is None
    store.set_password("wangwei", PW + "2")  # a new password ends every session
    assert store.session(token, "web") is None
    assert store.verify("wangwei", PW) is None and store.verify("wangwei", PW + "2")

    token, _ = store.open_session("wangwei", "api", timedelta(hours=1))
    store.set_disabled("wangwei")
    assert store.session(token, "api") is None
    assert store.verify("wangwei", PW + "2") is None  # a disabled account cannot log in
    store.set_disabled("wangwei", False)
    assert store.verify("wangwei", PW + "2")

    expired, _ = store.open_session("wangwei", "web", timedelta(seconds=-1))
    assert store.session(expired, "web") is None


@pytest.mark.parametrize("args, message", [
    (("Bad Name", "lead", PW), "不合规"),
    (("x", "lead", PW), "不合规"),
    (("zhang", "boss", PW), "未知角色"),
    (("zhang", "lead", "short"), "太短"),
    (("zhang", "lead", " " + PW), "空格"),
    # issue 25, finding 7: length alone is no policy (等保 complexity rule, then zxcvbn)
    (("zhang", "lead", "aaaaaaaaaa"), "至少 3 类（现有 1 类），请加入大写字母、数字、符号、汉字等其他字符中的一两类"),
    (("zhang", "lead", "Password123!"), "太容易被猜中（这与常见密码相近）"),
    (("zhang", "lead", "Zhang-2026"), "不要用用户名"),
    (("zhang", "lead", PW, "名" * 51), "姓名"),
])
def test_store_refuses_bad_input(tmp_path, args, message):
    store = AccountStore(tmp_path / "a.db")
    with pytest.raises(AccountError, match=message):
        store.add(*args)
    assert store.list() == []


def test_store_duplicate_and_unknown(store_target):
    store = AccountStore(store_target)
    store.add("zhang", "lead", PW)
    with pytest.raises(AccountError, match="已存在"):
        store.add("zhang", "commander", PW)
    with pytest.raises(AccountNotFound):
        store.set_disabled("nobody")
    assert [a.role for a in store.list()] == ["lead"]


def test_a_file_from_before_alembic_keeps_its_accounts_and_sessions(tmp_path):
    """An accounts.db made by the tables' CREATE TABLE IF NOT EXISTS (before issue 27) is
    stamped with the first revision, upgraded (a0002: the contacts and duty roster tables), and
    used as it is."""
    from argon2 import PasswordHasher
    from sqlalchemy import inspect, text

    from activities import db
    from activities.db import migrate
    from ecoplan.accounts import SCHEMA, _digest

    path = tmp_path / "accounts.db"
    with closing(sqlite3.connect(path)) as c, c:
        c.executescript(SCHEMA)  # as the first console made it: accounts and sessions only
        c.execute("INSERT INTO accounts VALUES ('wangwei', '王伟', 'duty_officer', ?, 0, '2026-11-01', '2026-11-01')",
                  (PasswordHasher().hash(PW),))
        c.execute("INSERT INTO sessions VALUES (?, 'wangwei', 'web', 'c', 'password', '2026-11-01T00:00:00+00:00',"
                  " '2999-01-01T00:00:00+00:00')",
                  (_digest("old-token"),))
    store = AccountStore(path)
    assert store.verify("wangwei", PW).display == "王伟"
    assert store.session("old-token", "web").account.username == "wangwei"
    store.set_disabled("wangwei", actor="cli:root")  # writes the audit log, a table the old file lacked
    assert store.session("old-token", "web") is None
    with db.engine(path).connect() as c:
        assert migrate.current(c, "accounts") == "a0002"
        assert {"login_failures", "account_totp", "audit", "contacts", "duty_shifts", "duty_people",
                "duty_handovers"} <= set(inspect(c).get_table_names())
        assert c.execute(text("SELECT event, actor FROM audit")).all() == [("account_disabled", "cli:root")]


def test_not_a_database(tmp_path):
    bad = tmp_path / "a.db"
    bad.write_text("not sqlite at all " * 100)
    with pytest.raises(AccountError, match="不是可用的 SQLite"):
        AccountStore(bad).list()


# ------------------------------------------------------------------ the command


def test_users_commands(store_target):
    db = store_target
    p = users(db, "list")
    assert p.returncode == 0 and "尚无账号" in p.stdout  # no default account

    p = users(db, "add", "wangwei", "--role", "duty_officer", "--display", "王伟", "--password-stdin", stdin=PW + "\n")
    assert p.returncode == 0, p.stderr
    assert "王伟（wangwei）" in p.stdout and "值班员" in p.stdout
    assert AccountStore(db).verify("wangwei", PW)

    p = users(db, "list", "--json")
    rows = json.loads(p.stdout)
    assert rows == [{"username": "wangwei", "display": "王伟", "role": "duty_officer", "disabled": False,
                     "created_at": rows[0]["created_at"]}]
    assert rows[0]["created_at"].endswith("+08:00")

    p = users(db, "passwd", "wangwei", "--password-stdin", stdin=PW + "-new\n")
    assert p.returncode == 0, p.stderr
    assert AccountStore(db).verify("wangwei", PW + "-new") and not AccountStore(db).verify("wangwei", PW)

    p = users(db, "disable", "wangwei")
    assert p.returncode == 0 and "已停用" in p.stdout
    assert "已停用" in users(db, "list").stdout
    assert AccountStore(db).verify("wangwei", PW + "-new") is None


@pytest.mark.parametrize("args, stdin, code, message", [
    (("add", "zhang", "--role", "boss", "--password-stdin"), PW, 2, "未知角色"),
    (("add", "Zhang San", "--role", "lead", "--password-stdin"), PW, 2, "不合规"),
    (("add", "zhang", "--role", "lead", "--password-stdin"), "short\n", 2, "太短"),
    (("add", "zhang", "--role", "lead", "--password-stdin"), "", 2, "标准输入为空"),
    (("add", "zhang", "--role", "lead"), None, 2, "--password-stdin"),  # no terminal, no stdin flag
    (("add", "zhang"), None, 2, "--role"),
    (("disable", "nobody"), None, 1, "没有账号"),
    (("passwd", "nobody", "--password-stdin"), PW, 1, "没有账号"),
])
def test_users_bad_input_is_one_line(store_target, args, stdin, code, message):
    db = store_target
    p = users(db, *args, stdin=stdin)
    assert p.returncode == code, (p.stdout, p.stderr)
    assert message in one_line(p)
    assert AccountStore(db).list() == []


def test_users_add_twice_refused(store_target):
    db = store_target
    assert users(db, "add", "zhang", "--role", "lead", "--password-stdin", stdin=PW).returncode == 0
    p = users(db, "add", "zhang", "--role", "commander", "--password-stdin", stdin=PW)
    assert p.returncode == 1 and "已存在" in one_line(p)
    assert AccountStore(db).require("zhang").role == "lead"


def _on_terminal(db: Path, args: list[str], answers: list[str], timeout: float = 30) -> tuple[int, str]:
    """Run `ecoplan users …` on a pseudo-terminal, typing each answer at its prompt."""
    env = {**os.environ, "ECOPLAN_ACCOUNTS_DB": str(db)}
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the command
        os.execve(ECOPLAN, [ECOPLAN, "users", *args], env)
    out, pending, end = b"", list(answers), time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break  # the child closed the terminal
            if not chunk:
                break
            out += chunk
            while pending and out.count("：".encode()) + out.count(b": ") > len(answers) - len(pending):
                os.write(fd, (pending.pop(0) + "\n").encode())
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_users_password_typed_twice_at_a_terminal(tmp_path):
    db = tmp_path / "acc.db"
    code, out = _on_terminal(db, ["add", "li", "--role", "commander"], [PW, PW + "typo"])
    assert code == 2 and "不一致" in out and PW not in out  # getpass does not echo
    assert AccountStore(db).list() == []
    code, out = _on_terminal(db, ["add", "li", "--role", "commander", "--display", "李局长"], [PW, PW])
    assert code == 0, out
    assert AccountStore(db).verify("li", PW).display == "李局长"


# ------------------------------------------------------------------ roles and authority (plan data)


def test_authority_table_covers_every_update_exactly():
    updates = set(__import__("workflows.actions", fromlist=["x"]).ACTIONS)  # each is an Update of the incident
    # start_incident starts one; intake_report is submit_report sent through the 12369/119 intake
    assert set(authority.actions()) == updates | {"start_incident", "intake_report"}


def test_every_role_and_rule_cites_the_plan_or_says_local_choice():
    plan = load_plan().plan
    assert [r.id for r in plan.roles] == list(ROLE_IDS)
    for item in [*plan.roles, *plan.authority]:
        assert item.source or item.local_choice
        assert item.source is None or any(ch.isdigit() or ch in "附协" for ch in item.source)


@pytest.mark.parametrize("role, action, lead, allowed", [
    ("duty_officer", "start_incident", False, True),
    ("duty_officer", "submit_report", False, True),
    ("duty_officer", "dispatch", False, True),
    ("duty_officer", "activate_response", False, True),  # entered for the 总指挥 who approved (named)
    ("deputy_commander", "approve_termination", False, False),  # Yangquan: 附件2 指挥批示 only
    ("deputy_commander", "propose_warning", False, True),
    ("duty_officer", "propose_warning", False, False),
    ("partner", "intake_report", False, True),
    ("partner", "submit_report", False, False),
    ("commander", "activate_response", False, True),
    ("commander", "adjust_level", False, True),
    ("commander", "approve_termination", False, True),
    ("duty_officer", "approve_termination", False, False),
    ("lead", "sign_off", True, True),
    ("lead", "sign_off", False, False),  # not named for that group at dispatch
    ("commander", "sign_off", True, True),
    ("lead", "submit_report", True, False),
    ("supervisor", "sign_off", True, False),
    ("partner", "submit_report", False, False),
    ("admin", "dispatch", False, False),
])
def test_may(role, action, lead, allowed):
    answer = authority.may(role, action, is_named_lead=lead)
    assert (answer is None) == allowed, answer


def test_supervisor_partner_admin_act_on_nothing():
    """In the console and the API they act on nothing; a partner's platform files follow-up
    alerts through the intake only (its token; intake_report is no console action)."""
    for role in ("supervisor", "partner", "admin"):
        assert authority.actions_for(role) == ([] if role != "partner" else ["intake_report"])
        for action in authority.actions():
            if (role, action) != ("partner", "intake_report"):
                assert authority.may(role, action, is_named_lead=True)


def test_activation_approver_and_deputy_flag():
    plan = load_plan().plan
    assert authority.approver_refusal("activate_response", "commander") is None
    why = authority.approver_refusal("activate_response", "duty_officer")
    assert why.startswith("值班员不能批准「启动应急响应」") and "总指挥" in why and "附件1" in why
    assert plan.termination.deputy_may_approve is False
    # a plan whose flag says a 副指挥 may approve must list the role in the table, and the reverse
    data = plan.model_dump(mode="json")
    data["termination"]["deputy_may_approve"] = True
    with pytest.raises(ValueError, match="deputy_may_approve"):
        Plan.model_validate(data)
    next(a for a in data["authority"] if a["action"] == "approve_termination")["roles"].append("deputy_commander")
    assert authority.may("deputy_commander", "approve_termination", plan=Plan.model_validate(data)) is None


def test_refusal_sentence_names_who_and_cites():
    text = authority.may("supervisor", "activate_response")
    assert text.startswith("督查不能办理「启动应急响应」") and "指挥" in text and "附件1" in text
    assert "本局规定" in authority.may("supervisor", "recompute_deadlines")  # a local choice, said so
    assert "未知操作" in authority.may("commander", "launch_missiles")
    assert "未知角色" in authority.may("boss", "dispatch")


def test_plan_refuses_a_rule_without_citation_or_unknown_role():
    data = load_plan().plan.model_dump(mode="json")
    data["authority"][0] = {"action": "start_incident", "name": "x", "roles": ["duty_officer"]}
    with pytest.raises(ValueError, match="local_choice"):
        Plan.model_validate(data)
    data = load_plan().plan.model_dump(mode="json")
    data["roles"] = [r for r in data["roles"] if r["id"] != "commander"]
    with pytest.raises(ValueError, match="角色 commander 不在角色表"):
        Plan.model_validate(data)
