"""The admins' page of the sign-in audit log (ecoplan/audit.py) and the open login alarms
(ecoplan/login_limiter.py): /admin/audit, for the admin role only. The full log is
`ecoplan audit` on the server."""

from __future__ import annotations

import asyncio
from contextlib import closing

from fastapi import APIRouter, Request

from ecoplan import audit
from ecoplan.web import actions as act
from ecoplan.web.context import to_login, web_of

router = APIRouter()


def _read(w) -> tuple[list, list]:
    with closing(w.store.connect()) as con:
        rows = audit.entries(con, limit=200)
    return w.limiter.alarms(), rows


@router.get("/admin/audit", include_in_schema=False)
async def audit_page(request: Request):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    if s.account.role != "admin":
        raise act.Refusal(403, "审计日志仅系统管理员可查看")
    alarms, rows = await asyncio.to_thread(_read, w)
    return w.page(request, "admin_audit.html", {"_session": s, "alarms": alarms, "rows": rows,
                                                "EVENT_NAMES": audit.EVENT_NAMES, "OUTCOME_NAMES": audit.OUTCOME_NAMES})
