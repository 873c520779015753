"""Readiness (通知可达性): who a page may have to reach and cannot be reached by any working
channel. Those considered: the accounts in the roles pages name (plan/paging_data: the chain's
and the events' `role:` targets, the duty officers and the group leads), the people on this
week's roster, and the leads named on open incidents. A channel works when the bureau has set
it up (contacts.configured_channels) and it is not down now (its last sends failed)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ecoplan.accounts import Account
from ecoplan.contacts import Contact
from ecoplan.duty_roster import Shift
from plan.paging import CHANNEL_NAMES, Paging

OPEN_LEADS_LIMIT = 500  # open incidents whose leads are asked for (the newest first)


@dataclass
class Person:
    username: str
    label: str
    why: list[str] = field(default_factory=list)  # 角色 指挥, 值班表 12-07 夜班 值班员, 事件 … 组长
    channels: list[str] = field(default_factory=list)  # working channels that reach them
    fault: str = ""  # why none does

    def public(self) -> dict:
        return {"username": self.username, "label": self.label, "why": self.why, "channels": self.channels,
                "reachable": bool(self.channels), "fault": self.fault}


def paged_roles(paging: Paging) -> list[str]:
    named = [t[5:] for t in [*paging.escalation.chain, *(t for e in paging.events for t in e.to)] if t.startswith("role:")]
    return list(dict.fromkeys(["duty_officer", *named, "lead"]))


def readiness(paging: Paging, role_names: dict[str, str], accounts: list[Account], contacts: dict[str, Contact],
              working: list[str], shifts: list[Shift], leads: dict[str, list[str]]) -> list[Person]:
    """Everyone considered, the unreachable first. `leads`: username -> the incidents naming them."""
    by_user = {a.username: a for a in accounts}
    people: dict[str, Person] = {}

    def add(username: str, why: str) -> None:
        a = by_user.get(username)
        p = people.setdefault(username, Person(username, a.label if a else username))
        if why not in p.why:
            p.why.append(why)

    roles = paged_roles(paging)
    for a in accounts:
        if a.role in roles and not a.disabled:
            add(a.username, f"角色 {role_names.get(a.role, a.role)}")
    for s in shifts:
        for post, names in s.people.items():
            for u in names:
                add(u, f"值班表 {s.day:%m-%d} {s.name} {paging.post_names.get(post, post)}")
    for u, incidents in leads.items():
        add(u, f"在办事件组长（{'、'.join(incidents[:3])}{'等' if len(incidents) > 3 else ''}）")
    for p in people.values():
        a = by_user.get(p.username)
        c = contacts.get(p.username, Contact(p.username))
        if a is None or a.disabled:
            p.fault = "账号不存在" if a is None else "账号已停用"
            continue
        p.channels = [ch for ch in paging.escalation.channel_order if ch in working and c.address(ch)]
        if not p.channels:
            have = [CHANNEL_NAMES[ch] for ch in paging.escalation.channel_order if c.address(ch)]
            p.fault = (f"有{'、'.join(have)}，但这些渠道未配置或已中断" if have else "没有任何联系方式")
    return sorted(people.values(), key=lambda p: (bool(p.channels), p.username))


def week(now: datetime) -> tuple[datetime, datetime]:
    """This week as the roster is read for readiness: from now, seven days on."""
    return now, now + timedelta(days=7)


async def open_incident_leads(client, limit: int = OPEN_LEADS_LIMIT) -> dict[str, list[str]]:
    """username -> the open incidents (ids) that name them as a group lead (asked of each incident)."""
    from activities.supervisor_views import base_query
    from ecoplan import api

    ids = []
    async for wf in client.list_workflows(base_query(drills=True), limit=limit):
        ids.append(wf.id.removeprefix("incident-"))
    statuses = await asyncio.gather(*(api.status(client, i) for i in ids), return_exceptions=True)
    out: dict[str, list[str]] = {}
    for incident_id, st in zip(ids, statuses):
        if isinstance(st, dict):
            for username in (st.get("leads") or {}).values():
                out.setdefault(username, []).append(incident_id)
    return out


def paging_faults(store, window: timedelta, now: datetime | None = None) -> list[str]:
    """One line each: a channel whose last send failed, a page open past its first window, a page
    no one in the chain acknowledged (the last 7 days). For the faults view and the board."""
    from datetime import timezone

    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    lines = [f"通知渠道中断：{CHANNEL_NAMES.get(c, c)}（{d['at'][:16].replace('T', ' ')} UTC 起，{d['detail']}）"
             for c, d in store.channels_down().items()]
    for p in store.unacknowledged((now - window).isoformat(timespec="seconds"),
                                  (now - timedelta(days=7)).isoformat(timespec="seconds")):
        state = "呼叫链上无人确认" if p["state"] == "exhausted" else "呼叫未确认"
        lines.append(f"{state}：{p['subject']}（事件 {p['incident_id']}，呼叫 {p['id']}，当前 {p['username']}）")
    return lines


def send_test(username: str, label: str, contact: Contact, channels: list[str], store) -> list[tuple[str, bool, str]]:
    """发送测试通知: one test message on each channel set up that reaches the person; each outcome
    is also the channel's health (readiness, the board). (channel, ok, what was said) each."""
    from activities.channels.base import Hopeless, Message, Retry
    from activities.channels.dispatch import send

    out = []
    stamp = datetime.now().strftime("%m-%d %H:%M")
    for ch in channels:
        address = contact.address(ch)
        if not address:
            continue
        msg = Message(subject="【测试】ecoplan 通知渠道测试", body=f"{label}：这是一条测试通知（{stamp}），无需处理。",
                      key=f"test/{username}/{ch}/{stamp}")
        try:
            out.append((ch, True, send(ch, address, msg)))
            store.record_send(msg.key, "test", username, ch, True, out[-1][2])
        except (Hopeless, Retry) as e:
            out.append((ch, False, str(e)))
            store.record_send(msg.key, "test", username, ch, False, str(e))
    return out
