"""The duty roster's console page (/duty) and the board's warning of empty shifts, served by
the real app in this process (httpx's ASGI transport); no Temporal behind: the page needs none.
The accounts store (with the roster and contacts) on its SQLite file and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher

from ecoplan.accounts import AccountStore
from ecoplan.duty_roster import DutyStore, Shift
from ecoplan.web import create_app
from ecoplan.web.auth import SESSION_COOKIE
from plan.calendar import SHANGHAI


def _no_temporal():
    raise RuntimeError("no Temporal in this test")


@pytest.fixture
def site(store_target):
    store = AccountStore(store_target, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    for u, role, display in [("wangwei", "duty_officer", "王伟"), ("li", "commander", "李局长"),
                             ("du", "supervisor", "杜督查"), ("zhang", "lead", "张监测")]:
        store.add(u, role, f"pw-{u}-桃河-2026", display=display)
    app = create_app(client_factory=_no_temporal, store=store)
    return app, store


def client_for(app, store, username):
    token, csrf = store.open_session(username, "web", timedelta(hours=1))
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1",
                          cookies={SESSION_COOKIE: token})
    return c, csrf


async def test_page_shows_warns_and_corrects(site):
    app, store = site
    start = datetime.now(SHANGHAI).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    duty = DutyStore(store.target)
    duty.replace([Shift(day=start.date(), name="白班", starts_at=start, ends_at=start + timedelta(hours=9),
                        people={"officer": [], "leader": ["li"]})])
    shift_id = duty.on_duty(start)[0].id
    c, csrf = client_for(app, store, "wangwei")
    async with c:
        page = (await c.get(f"/duty?date={start.date().isoformat()}")).text
        assert "李局长（li）" in page and "值班员无人" in page and 'id="duty-gaps"' in page
        r = await c.post(f"/duty/shifts/{shift_id}", data={"csrf_token": csrf, "post_officer": "王伟",
                                                            "post_leader": "li"})
        assert r.status_code == 303
        assert duty.shift(shift_id).people == {"officer": ["wangwei"], "leader": ["li"]}
        bad = await c.post(f"/duty/shifts/{shift_id}", data={"csrf_token": csrf, "post_officer": "王五",
                                                              "post_leader": "li"})
        assert bad.status_code == 422 and "王五" in bad.text and "未作改动" in bad.text
        assert duty.shift(shift_id).people["officer"] == ["wangwei"]
        no_csrf = await c.post(f"/duty/shifts/{shift_id}", data={"post_officer": ""})
        assert no_csrf.status_code == 403
        r = await c.post("/duty/handover", data={"csrf_token": csrf, "notes": "事件 A 续报待发", "to": "李局长"})
        assert r.status_code == 303
        assert "王伟（wangwei） → 李局长（li）：事件 A 续报待发" in (await c.get("/duty")).text
    sup, sup_csrf = client_for(app, store, "du")
    async with sup:
        assert (await sup.get("/duty")).status_code == 200
        r = await sup.post(f"/duty/shifts/{shift_id}", data={"csrf_token": sup_csrf, "post_officer": ""})
        assert r.status_code == 403 and duty.shift(shift_id).people["officer"] == ["wangwei"]
    lead, _ = client_for(app, store, "zhang")
    async with lead:
        assert (await lead.get("/duty")).status_code == 403


async def test_readiness_page_names_who_cannot_be_reached(site):
    app, store = site
    c, _ = client_for(app, store, "li")
    async with c:
        page = (await c.get("/readiness")).text
    assert "未能查询在办事件的组长" in page  # no Temporal here: said, not a failed page
    assert "李局长（li）" in page and "没有任何联系方式" in page and "无法通过任何可用渠道通知" in page
