"""How each account is reached (联系方式): mobile number, e-mail, DingTalk user id and WeCom user
id, in their own table (`contacts`) of the accounts store: the shared PostgreSQL of
ECOPLAN_DATABASE_URL (a worker on any machine pages with the numbers a console on another
machine saved), else the accounts' SQLite file. accounts.py keeps who may log in; this module,
every statement of it, keeps how to reach them, through the same data-access layer
(activities/db/dbapi.py: the same SQL on both databases). The table joins the accounts' migration
history (activities/db/migrations/accounts, a0002) rather than a tree of its own: it has
always lived in the accounts' owner-only file, and its rows are the accounts' usernames. A page
goes out on a person's channels in the plan's order (plan/paging_data): each channel needs the
address it speaks to.

Every error a person can cause is a ContactError with a one-line Chinese message.
"""

from __future__ import annotations

import re
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from ecoplan.accounts_tables import AccountsTables

from activities.channels.dispatch import configured_channels  # noqa: F401 - callers take it from here

FIELDS = ("mobile", "email", "dingtalk", "wecom")
FIELD_NAMES = {"mobile": "手机号", "email": "电子邮箱", "dingtalk": "钉钉用户ID", "wecom": "企业微信用户ID"}
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers (the SMS provider's domestic templates)
EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
IM_ID_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class ContactError(ValueError):
    """A contact that cannot be kept; the message is one line, for a person."""


@dataclass(frozen=True)
class Contact:
    username: str
    mobile: str = ""
    email: str = ""
    dingtalk: str = ""
    wecom: str = ""

    def public(self) -> dict:
        return asdict(self)

    def address(self, channel: str) -> str:
        """What `channel` sends to for this person ("" when they have none): the group robots
        @-mention a user id, or the mobile number DingTalk and WeCom also accept."""
        return {"email": self.email, "sms": self.mobile, "dingtalk": self.dingtalk or self.mobile,
                "wecom": self.wecom or self.mobile}.get(channel, "")


def check(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if field == "mobile":
        value = re.sub(r"[\s-]", "", value).removeprefix("+86")
        if not MOBILE_RE.match(value):
            raise ContactError(f"手机号「{value}」应为 11 位大陆手机号码，如 13800000000")
    elif field == "email" and not EMAIL_RE.match(value):
        raise ContactError(f"电子邮箱「{value}」格式不对，应如 wangwei@example.gov.cn")
    elif field in ("dingtalk", "wecom") and not IM_ID_RE.match(value):
        raise ContactError(f"{FIELD_NAMES[field]}「{value}」只能含字母、数字和 _ . @ -，至多 64 个字符")
    return value


class ContactStore(AccountsTables):
    error = ContactError

    def get(self, username: str) -> Contact:
        with closing(self._db()) as con:
            row = con.execute("SELECT * FROM contacts WHERE username = ?", (username,)).fetchone()
        return Contact(username, *(row[f] for f in FIELDS)) if row else Contact(username)

    def all(self) -> dict[str, Contact]:
        with closing(self._db()) as con:
            rows = con.execute("SELECT * FROM contacts").fetchall()
        return {r["username"]: Contact(r["username"], *(r[f] for f in FIELDS)) for r in rows}

    def set(self, username: str, **changes: str | None) -> Contact:
        """Set the fields given (None: leave as is; "": clear it); each is checked first, so a bad
        one changes nothing."""
        checked = {f: check(f, v) for f, v in changes.items() if v is not None and f in FIELDS}
        merged = {**self.get(username).public(), **checked}
        with closing(self._db()) as con:
            con.execute("INSERT INTO contacts (username, mobile, email, dingtalk, wecom, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(username) DO UPDATE SET mobile = excluded.mobile, "
                        "email = excluded.email, dingtalk = excluded.dingtalk, wecom = excluded.wecom, "
                        "updated_at = excluded.updated_at",
                        (username, *(merged[f] for f in FIELDS), datetime.now(timezone.utc).isoformat()))
        return self.get(username)
