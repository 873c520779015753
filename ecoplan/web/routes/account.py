"""The person's own account page (`/account`, 我的账号): who they are and how ecoplan reaches
them (手机号, 电子邮箱, 钉钉用户ID, 企业微信用户ID), which they correct here with the same checks as
`ecoplan users set` (ecoplan/contacts.py `check`): a bad value changes nothing and the form comes
back with what was typed and one line saying what is wrong. From here they send themselves a
test message (发送测试通知, `/readiness/test/{username}`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from ecoplan.contacts import FIELD_NAMES, FIELDS, ContactError, ContactStore, configured_channels
from ecoplan.web import actions as act
from ecoplan.web.context import Web, log, to_login, web_of
from plan.paging import CHANNEL_NAMES

router = APIRouter()


def _page(w: Web, request: Request, s, values: dict, error: str = "", saved: bool = False, status: int = 200):
    contact = ContactStore(w.store.target).get(s.account.username)
    reach = [CHANNEL_NAMES[c] for c in configured_channels() if contact.address(c)]
    return w.page(request, "account.html", {"_session": s, "values": values, "FIELD_NAMES": FIELD_NAMES,
                                             "error": error, "saved": saved, "reach": reach}, status)


@router.get("/account", include_in_schema=False)
async def account_page(request: Request, saved: int = 0):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    return _page(w, request, s, ContactStore(w.store.target).get(s.account.username).public(), saved=bool(saved))


@router.post("/account/contact", include_in_schema=False)
async def set_contact(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        raise act.Refusal(401, "请先登录")
    form = await w.check_csrf(request, s)
    typed = {f: str(form.get(f) or "") for f in FIELDS}
    try:
        ContactStore(w.store.target).set(s.account.username, **typed)
    except ContactError as e:
        return _page(w, request, s, typed, error=f"{e}，联系方式未作改动", status=422)
    log.info("contact_changed", username=s.account.username, fields=[f for f in FIELDS if typed[f]])
    return RedirectResponse("/account?saved=1", status_code=303)
