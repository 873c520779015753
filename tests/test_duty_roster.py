"""The duty roster (值班表): import from CSV and XLSX (openpyxl) into the accounts store, bad rows
refused one line each with nothing imported, `ecoplan duty show|today|handover`, and the gaps the
board warns of; contacts set from `ecoplan users`. Each test runs on the accounts' SQLite file and
on PostgreSQL (ECOPLAN_DATABASE_URL: `store_target`, tests/conftest.py). Server-free: files, the
databases, the CLI in this process."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from openpyxl import Workbook

from ecoplan.accounts import AccountStore
from ecoplan.duty_import import RosterRejected, read_roster
from ecoplan.duty_roster import DutyStore, gaps
from ecoplan.people import resolver
from plan.calendar import SHANGHAI
from plan.paging import load_paging
from tests.procs import ecoplan_in_process_sync

POSTS = {"officer": "值班员", "leader": "带班领导"}
HEADER = "日期,班次,开始,结束,带班领导,值班员,备注\n"


@pytest.fixture
def db(store_target) -> Path | str:
    """The accounts store with four people: a SQLite file, or a PostgreSQL URL."""
    path = store_target
    store = AccountStore(path, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    for u, role, display in [("wangwei", "duty_officer", "王伟"), ("li", "commander", "李局长"),
                             ("zhao", "duty_officer", "赵处置"), ("qian", "duty_officer", "钱排查")]:
        store.add(u, role, f"pw-{u}-桃河-2026", display=display)
    return path


def store_env(db: Path | str) -> dict[str, str]:
    """The settings that name the store: the file, or the shared database."""
    return {"ECOPLAN_DATABASE_URL": db} if isinstance(db, str) else {"ECOPLAN_ACCOUNTS_DB": str(db)}


def duty(db: Path | str, *args: str):
    return ecoplan_in_process_sync("duty", *args, env={**store_env(db), "ECOPLAN_USER": "wangwei"})


def test_plan_names_the_posts_and_the_chain():
    p = load_paging()
    assert p.post_names == {"officer": "值班员", "leader": "带班领导"}
    assert p.escalation.chain == ["duty:officer", "duty:leader", "role:deputy_commander", "role:commander"]
    assert p.escalation.window.delta == timedelta(minutes=5)
    assert "4.2.2" in p.event("new_incident").source
    from activities.page_events import EVENT_PAGES
    assert all(p.event(e) for e in EVENT_PAGES.values())  # each incident notification paged is plan data


def test_csv_import_night_shift_runs_to_the_next_morning(db, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text(HEADER + "2026-12-07,白班,08:30,17:30,李局长,王伟,\n"
                 "2026/12/07,夜班,17:30,08:30,li,赵处置、钱排查,两人\n", encoding="utf-8-sig")
    shifts = read_roster(f, POSTS, resolver(AccountStore(db).list()))
    night = shifts[1]
    # 17:30 on the 7th to 08:30 on the 8th, Beijing time: worked out by hand.
    assert night.starts_at == datetime(2026, 12, 7, 17, 30, tzinfo=SHANGHAI)
    assert night.ends_at == datetime(2026, 12, 8, 8, 30, tzinfo=SHANGHAI)
    assert night.people == {"officer": ["zhao", "qian"], "leader": ["li"]}
    store = DutyStore(db)
    store.replace(shifts)
    at_3am = datetime(2026, 12, 8, 3, 0, tzinfo=SHANGHAI)
    assert [s.name for s in store.on_duty(at_3am)] == ["夜班"]
    assert [s.name for s in store.on_day(date(2026, 12, 7))] == ["白班", "夜班"]


def test_bad_rows_one_line_each_and_nothing_imported(db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "2026-12-07,白班,08:30,17:30,li,wangwei,\n", encoding="utf-8")
    assert duty(db, "import", str(good)).code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2026-12-07,白班,08:30,17:30,li,zhao,\n"   # good, but the file has faults
                   "2026-13-40,夜班,17:30,08:30,li,wangwei,\n"
                   "2026-12-08,白班,8点半,17:30,li,wangwei,\n"
                   "2026-12-08,夜班,17:30,08:30,李局长,王五,\n"
                   "2026-12-07,白班,09:00,12:00,li,wangwei,\n", encoding="utf-8")
    r = duty(db, "import", str(bad))
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert "未作任何改动" in lines[0]
    assert lines[1].startswith("第3行：日期「2026-13-40」")
    assert lines[2].startswith("第4行：开始时间「8点半」")
    assert lines[3].startswith("第5行：值班员「王五」不是系统中的账号")
    assert lines[4] == "第6行：2026-12-07 的「白班」与第2行重复"
    assert len(lines) == 5 and "Traceback" not in r.err
    # The roster still has the first file's officer, not the bad file's first row.
    shown = json.loads(duty(db, "show", "--date", "2026-12-07", "--json").out)
    assert [s["people"]["officer"] for s in shown] == [["wangwei"]]


def test_missing_columns_and_wrong_kind(db, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("日期,开始,结束,值班员\n2026-12-07,08:30,17:30,wangwei\n", encoding="utf-8")
    r = duty(db, "import", str(f))
    assert r.code == 2 and "缺少列 带班领导" in r.err
    t = tmp_path / "r.txt"
    t.write_text("x", encoding="utf-8")
    assert "只能导入 .xlsx 或 .csv" in duty(db, "import", str(t)).err
    fake = tmp_path / "r.xlsx"
    fake.write_bytes(b"not a zip")
    assert "不是有效的 XLSX" in duty(db, "import", str(fake)).err


def test_xlsx_import_with_excel_dates_and_times_then_today_and_handover(db, tmp_path):
    now = datetime.now(SHANGHAI)
    today = now.date()
    wb = Workbook()
    ws = wb.active
    ws.append(["日期", "班次", "开始", "结束", "带班领导", "值班员", "备注"])
    # Two 12-hour shifts a day, yesterday to tomorrow: whatever the time, one runs now.
    for d in (today - timedelta(days=1), today, today + timedelta(days=1)):
        ws.append([datetime.combine(d, datetime.min.time()), "白班", "08:00", "20:00", "李局长", "王伟", None])
        ws.append([datetime.combine(d, datetime.min.time()), "夜班",
                   datetime.strptime("20:00", "%H:%M").time(), "08:00", "li", "zhao", None])
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    r = duty(db, "import", str(path))
    assert r.code == 0, r.err
    assert "已导入 6 个班次" in r.out
    running = json.loads(duty(db, "today", "--json").out)["on_duty"]
    expected = "白班" if 8 <= now.hour < 20 else "夜班"
    assert [s["name"] for s in running] == [expected]
    h = duty(db, "handover", "--notes", "桃河水质监测点位仍在加密监测", "--to", "赵处置")
    assert h.code == 0, h.err
    out = duty(db, "today").out
    assert "王伟（wangwei） → 赵处置（zhao）：桃河水质监测点位仍在加密监测" in out
    assert duty(db, "handover", "--notes", "  ").code == 2


def test_gaps_name_empty_posts_and_uncovered_hours(db, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text(HEADER + "2026-12-07,白班,08:30,17:30,li,,\n"
                 "2026-12-08,白班,08:30,17:30,li,wangwei,\n", encoding="utf-8")
    store = DutyStore(db)
    store.replace(read_roster(f, POSTS, resolver(AccountStore(db).list())))
    start = datetime(2026, 12, 7, 8, 30, tzinfo=SHANGHAI)
    end = start + timedelta(days=2)
    found = [g.text for g in gaps(store.between(start, end), start, end, POSTS)]
    assert found == ["12月07日 08:30 白班：值班员无人",
                     "12月07日 17:30 至 12月08日 08:30 无人值班（值班表无班次）",
                     "12月08日 17:30 起无人值班（值班表无班次）"]


def test_contacts_on_users_add_and_set_and_readiness(db, tmp_path):
    env = {**store_env(db), "ECOPLAN_HOME": str(tmp_path), "ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_FROM": "yj@example.gov.cn",
           "ECOPLAN_DINGTALK_WEBHOOK": None, "ECOPLAN_WECOM_WEBHOOK": None, "ECOPLAN_SMS_ACCESS_KEY_ID": None}

    def run(*args, stdin=None):
        return ecoplan_in_process_sync(*args, env=env, stdin=stdin)

    bad = run("users", "add", "sun", "--role", "deputy_commander", "--mobile", "12345", "--password-stdin",
              stdin="pw-sun-桃河-2026\n")
    assert bad.code == 2 and "手机号「12345」应为 11 位" in bad.err
    assert "sun" not in run("users", "list").out  # checked before the account is made
    r = run("users", "add", "sun", "--role", "deputy_commander", "--display", "孙副局长", "--email",
            "sun@example.gov.cn", "--mobile", "+86 138-0000-0001", "--password-stdin", stdin="pw-sun-桃河-2026\n")
    assert r.code == 0, r.err
    r = run("users", "set", "wangwei", "--email", "wangwei@example.gov.cn", "--dingtalk", "ww001")
    assert r.code == 0 and "电子邮箱 wangwei@example.gov.cn" in r.out
    assert run("users", "set", "wangwei", "--email", "not-an-address").code == 2
    f = tmp_path / "r.csv"
    today = datetime.now(SHANGHAI).date()
    f.write_text(HEADER + f"{today + timedelta(days=1)},白班,08:30,17:30,李局长,王伟,\n", encoding="utf-8")
    assert run("duty", "import", str(f)).code == 0
    r = run("readiness", "--no-incidents", "--json")
    assert r.code == 1  # someone cannot be reached
    people = {p["username"]: p for p in json.loads(r.out)["people"]}
    assert people["wangwei"]["channels"] == ["email"]  # DingTalk id, but no robot set up
    assert people["sun"]["channels"] == ["email"]
    assert people["li"]["channels"] == [] and people["li"]["fault"] == "没有任何联系方式"
    assert "角色 指挥" in people["li"]["why"] and any("值班表" in w and "带班领导" in w for w in people["li"]["why"])
    text = run("readiness", "--no-incidents").out
    assert "可用通知渠道：电子邮件" in text and "无法通过任何可用渠道通知" in text
