"""`ecoplan audit`: the audit log of sign-ins and account changes (ecoplan/audit.py), read on
the server by an administrator (it reads the accounts file, as `ecoplan users` does)."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime

import typer

from ecoplan import audit as audit_log
from ecoplan.accounts import AccountError, AccountStore
from ecoplan.cli.common import JsonOpt
from ecoplan.cli.typer_zh import Typer
from ecoplan.errors import bad

app = Typer()


@app.command("audit")
def audit(user: str = typer.Option("", "--user", help="只看此账号"),
          event: str = typer.Option("", "--event", help="只看此类事件："
                                                  + "、".join(f"{k}（{v}）" for k, v in audit_log.EVENT_NAMES.items())),
          since: str = typer.Option("", "--since", help="自此日期或时间起（如 2026-12-01、2026-12-01T08:00）"),
          limit: int = typer.Option(200, "--limit", min=1, max=100_000, help="最多显示的条数，最新的在前"),
          as_json: bool = JsonOpt):
    """审计日志：登录、退出、告警、账号变更和事件修复，最新的在前（保留不少于180天）。"""
    if event and event not in audit_log.EVENT_NAMES:
        raise bad(f"--event {event!r}：可选 " + "、".join(f"{k}（{v}）" for k, v in audit_log.EVENT_NAMES.items()))
    if since:
        try:
            datetime.fromisoformat(since)
        except ValueError:
            raise bad(f"--since {since!r}：应为日期或时间，如 2026-12-01 或 2026-12-01T08:00") from None
    try:
        with closing(AccountStore().connect()) as con:
            rows = audit_log.entries(con, username=user.strip().lower() or None, event=event or None,
                                     since=since or None, limit=limit)
    except AccountError as e:
        raise bad(str(e)) from None
    if as_json:
        print(json.dumps([r.public() for r in rows], ensure_ascii=False, indent=2))
    elif not rows:
        print("审计日志中没有符合条件的记录")
    else:
        print("\n".join(r.line for r in rows))
