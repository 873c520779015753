"""The person's own account page (/account): it shows their contact fields and edits them with
the same checks as `ecoplan users set` (ecoplan/contacts.py); a bad value changes nothing and the
form comes back with what was typed. Served by the real app in this process (httpx's ASGI
transport); no Temporal behind: the page needs none."""

from __future__ import annotations

import html

import pytest

from ecoplan.contacts import ContactStore
from tests.test_duty_web import client_for, site  # noqa: F401 - the fixture


@pytest.fixture(autouse=True)
def email_only(monkeypatch):
    monkeypatch.setenv("ECOPLAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ECOPLAN_SMTP_FROM", "yj@example.gov.cn")
    for k in ("ECOPLAN_DINGTALK_WEBHOOK", "ECOPLAN_WECOM_WEBHOOK", "ECOPLAN_SMS_ACCESS_KEY_ID"):
        monkeypatch.delenv(k, raising=False)


async def test_account_page_shows_and_edits_own_contacts(site):  # noqa: F811
    app, store = site
    contacts = ContactStore(store.target)
    contacts.set("zhang", email="zhang@example.gov.cn")
    c, csrf = client_for(app, store, "zhang")
    async with c:
        page = await c.get("/account")
        assert page.status_code == 200 and 'href="/account"' in page.text  # the header links to it
        assert 'value="zhang@example.gov.cn"' in page.text and "电子邮件" in page.text  # reached by e-mail
        form = {"csrf_token": csrf, "mobile": "+86 138-0000-1234", "email": "zhang@example.gov.cn",
                "dingtalk": "zhang_01", "wecom": ""}
        r = await c.post("/account/contact", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/account?saved=1"
        # Checked as `ecoplan users set` checks: the mobile number written plainly.
        assert contacts.get("zhang").public() == {"username": "zhang", "mobile": "13800001234", "email": "zhang@example.gov.cn",
                                                  "dingtalk": "zhang_01", "wecom": ""}
        assert "已保存联系方式" in (await c.get("/account?saved=1")).text
        bad = await c.post("/account/contact", data={**form, "mobile": "13800001234", "email": "不是邮箱"})
        assert bad.status_code == 422
        text = html.unescape(bad.text)
        assert "电子邮箱「不是邮箱」格式不对" in text and "联系方式未作改动" in text
        assert 'value="不是邮箱"' in text  # what was typed comes back
        assert contacts.get("zhang").email == "zhang@example.gov.cn"  # nothing changed
        forged = await c.post("/account/contact", data={**form, "csrf_token": "x", "email": ""})
        assert forged.status_code == 403 and contacts.get("zhang").email == "zhang@example.gov.cn"
    # Each edits only their own: the form names no username.
    other, other_csrf = client_for(app, store, "wangwei")
    async with other:
        await other.post("/account/contact", data={"csrf_token": other_csrf, "mobile": "13900000000"})
    assert contacts.get("wangwei").mobile == "13900000000" and contacts.get("zhang").mobile == "13800001234"


async def test_account_page_asks_for_a_login(site):  # noqa: F811
    import httpx

    app, _ = site
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
        assert (await c.get("/account")).status_code in (302, 303)
        assert (await c.post("/account/contact", data={"email": "x@example.gov.cn"})).status_code == 401
