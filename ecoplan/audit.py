"""The audit log of sign-ins, account changes and operators' repairs: every login (and how it
ended), logout, login alarm, unlock, two-factor enrolment, account change and `ecoplan repair`
(an incident's workflow reset, issue 25), one row each, in the accounts
database beside the accounts (ecoplan/accounts.py), read by admins with `ecoplan audit` and
on the console's /admin/audit page.

网络安全法 第二十一条（三）: 网络运营者应当"采取监测、记录网络运行状态、网络安全事件的技术措施，
并按照规定留存相关的网络日志不少于六个月". So a row is never deleted before it is
KEEP_DAYS (180) days old; older rows are pruned now and then (ECOPLAN_AUDIT_DAYS may keep
them longer, never shorter).
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta

# 网络安全法 第二十一条: not less than six months; 180 days is the floor, not a default to shorten.
KEEP_DAYS = 180

# The table as files made before Alembic had it (activities/db/migrations/accounts makes it now).
SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,             -- Asia/Shanghai, ISO 8601
    event    TEXT NOT NULL,             -- login | logout | login_alarm | unlock | totp_enrolled | ...
    username TEXT,                      -- whose account it concerns
    actor    TEXT,                      -- who did it (the account itself, an admin, `cli`)
    address  TEXT,                      -- the client's address, for web and API events
    outcome  TEXT,                      -- ok | bad_credentials | rate_limited | bad_code | ...
    detail   TEXT NOT NULL DEFAULT '{}' -- JSON: anything else (never a password or a code)
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
"""

# What each event is called where a person reads it.
EVENT_NAMES = {"login": "登录", "logout": "退出", "login_alarm": "登录失败告警", "unlock": "解除登录限制",
               "totp_enrolled": "绑定动态口令", "totp_reset": "重置动态口令", "recovery_used": "使用恢复码",
               "account_added": "创建账号", "account_disabled": "停用账号", "account_enabled": "启用账号",
               "password_changed": "修改密码", "incident_repaired": "修复事件（重置工作流）",
               "incident_repair_started": "开始修复事件（重置前记下将重新办理的操作）"}
OUTCOME_NAMES = {"ok": "成功", "failed": "未完成", "bad_credentials": "密码错误", "rate_limited": "尝试过多被拒", "bad_code": "动态口令错误",
                 "bad_csrf": "表单过期", "needs_code": "待输入动态口令", "needs_enrolment": "待绑定动态口令",
                 "not_enrolled": "未登记动态口令，被拒"}


@dataclass(frozen=True)
class Entry:
    id: int
    at: str
    event: str
    username: str | None
    actor: str | None
    address: str | None
    outcome: str | None
    detail: dict

    def public(self) -> dict:
        return {"id": self.id, "at": self.at, "event": self.event, "username": self.username, "actor": self.actor,
                "address": self.address, "outcome": self.outcome, "detail": self.detail}

    @property
    def line(self) -> str:
        """One line as `ecoplan audit` prints it."""
        what = EVENT_NAMES.get(self.event, self.event)
        how = OUTCOME_NAMES.get(self.outcome or "", self.outcome or "")
        parts = [self.at[:19].replace("T", " "), what + (f"（{how}）" if how else ""), self.username or "—"]
        if self.actor and self.actor != self.username:
            parts.append(f"操作人 {self.actor}")
        if self.address:
            parts.append(f"地址 {self.address}")
        if self.detail:
            parts.append(json.dumps(self.detail, ensure_ascii=False))
        return "  ".join(parts)


def _stamp() -> str:
    from plan.calendar import SHANGHAI

    return datetime.now(SHANGHAI).isoformat(timespec="seconds")


def record(con, event: str, username: str | None, *, actor: str | None = None,
           address: str | None = None, outcome: str | None = None, keep_days: int = KEEP_DAYS, **detail) -> None:
    """One row, on an open connection of the accounts store (activities/db/dbapi.py) (inside the caller's transaction
    when there is one). Every hundredth row prunes what is older than `keep_days` (>= 180)."""
    row = con.execute("INSERT INTO audit(at, event, username, actor, address, outcome, detail) VALUES (?,?,?,?,?,?,?)"
                      " RETURNING id", (_stamp(), event, username, actor or username, address, outcome,
                                        json.dumps(detail, ensure_ascii=False, default=str))).fetchone()
    if row and row[0] % 100 == 0:
        prune(con, keep_days)


def prune(con, keep_days: int = KEEP_DAYS) -> int:
    """Delete rows older than `keep_days`, never fewer than KEEP_DAYS (网络安全法 第二十一条)."""
    from plan.calendar import SHANGHAI

    cutoff = datetime.now(SHANGHAI) - timedelta(days=max(KEEP_DAYS, keep_days))
    return con.execute("DELETE FROM audit WHERE at < ?", (cutoff.isoformat(timespec="seconds"),)).rowcount


def entries(con, *, username: str | None = None, event: str | None = None,
            since: str | None = None, limit: int = 200) -> list[Entry]:
    """The newest rows first, filtered by account, event, and time (ISO, Asia/Shanghai)."""
    where, args = [], []
    for col, val, op in (("username", username, "="), ("event", event, "="), ("at", since, ">=")):
        if val:
            where.append(f"{col} {op} ?")
            args.append(val)
    sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?"
    with closing(con.execute(sql, (*args, limit))) as cur:
        return [_entry(r) for r in cur.fetchall()]


def repairs_of(con, incident_id: str) -> list[Entry]:
    """One incident's rows of `ecoplan repair` (incident_repaired), newest first."""
    like = f'%"incident_id": {json.dumps(incident_id, ensure_ascii=False)}%'  # as `record` writes it; checked below
    with closing(con.execute("SELECT * FROM audit WHERE event = ? AND detail LIKE ? ORDER BY id DESC",
                             ("incident_repaired", like))) as cur:
        return [e for e in map(_entry, cur.fetchall()) if e.detail.get("incident_id") == incident_id]


def _entry(r) -> Entry:
    return Entry(id=r["id"], at=r["at"], event=r["event"], username=r["username"], actor=r["actor"],
                 address=r["address"], outcome=r["outcome"], detail=json.loads(r["detail"] or "{}"))
