"""`ecoplan repair ID`: the operators' remedy for an incident whose workflow task keeps failing
(后台处理异常 in `ecoplan faults` and on the board). What it does and why: ecoplan/repair.py.
The CLI talks to Temporal directly and is the administrators' and the command centre's tool
(the Temporal endpoint is the trust boundary, as for every command); each repair is written to
the audit log (`ecoplan audit --event incident_repaired`), and, before its reset, what it will
send again (`--event incident_repair_started`). Run again on an incident whose repair did not
finish (the command died between the reset and the resends), it sends what is still missing."""

from __future__ import annotations

import getpass
import json
import sys
from contextlib import closing
from typing import Optional

import typer

from ecoplan.cli.common import JsonOpt, cli_user, run
from ecoplan.cli.typer_zh import Typer
from ecoplan.errors import Fail

app = Typer()


def _operator(by: Optional[str]) -> str:
    name = (by or cli_user() or "").strip()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return name or (f"cli:{user}" if user else "cli")


@app.command("repair")
def repair(incident_id: str,
           dry_run: bool = typer.Option(False, "--dry-run", help="只说明将做什么，不做任何更改"),
           before_event: Optional[int] = typer.Option(
               None, "--before-event", min=2,
               help="退回到第 N 个事件之前 最后完成的工作流任务（默认：自动查找）"),
           by: Optional[str] = typer.Option(None, "--by", help="修复人，记入审计日志（默认：$ECOPLAN_USER，否则为系统用户）"),
           wait: int = typer.Option(30, "--wait", min=1, max=600, help="等待新运行就绪的秒数"),
           as_json: bool = JsonOpt):
    """修复工作流任务连续失败（后台处理异常）的事件：把事件退回到历史与现有代码一致的最后一次完成的
    工作流任务，以新的运行继续，并按原办理时间重新办理此后已受理的操作。此前的修复未完成（重置后未及重新办理）时，
    再次执行即补办新运行尚未收到的操作。供运维人员使用；每次修复记入审计日志。"""
    from ecoplan import repair as rp  # lazy: imports the workflow and temporalio (about 1 s)

    operator = _operator(by)

    async def go(client):
        p = await rp.plan(client, incident_id, before_event, handed_over=lambda: _handed_over(incident_id))
        if dry_run:
            return p, None
        if not p.resumed:
            _audit_intent(p, operator)  # before the reset: a person can see what it is to send again
            await rp.reset(client, p, operator)
        try:
            await rp.resend(client, p, operator, wait)
        except rp.RepairFailed as e:
            return p, e
        return p, None

    p, failed = run(go)
    if not dry_run:
        _audit(p, operator, failed)
    from ecoplan.repair_text import paragraph

    text = paragraph(p, dry_run=dry_run, before_event=before_event)
    if as_json:
        print(json.dumps({**p.public(), "dry_run": dry_run, "text": text,
                          "error": str(failed) if failed else None}, ensure_ascii=False, indent=2))
    else:
        print(text)
    if failed:
        raise Fail(str(failed))
    refused = [r for r in p.resend if r.outcome == "refused"]
    if refused:
        raise Fail(f"事件 {incident_id} 有 {len(refused)} 项已受理的操作重新办理时被拒绝（见上文），请相关人员重新办理")
    if any(r.outcome == "failed" for r in p.resend):
        raise Fail(f"事件 {incident_id} 有已受理的操作未能送达（见上文）：再次执行 ecoplan repair {incident_id} 即补办")


def _items(rs) -> list[dict]:
    return [{"key": r.key, "kind": r.kind, "action": r.action or r.name, "run_id": r.run_id, "event_id": r.event_id,
             "who": r.who, "at": r.at.isoformat(), "outcome": r.outcome or None} for r in rs]


def _audit_intent(p, operator: str) -> None:
    """What the repair is about to do, before it resets: if it dies before it has sent the
    actions again, the row names them (and `ecoplan repair` again sends what is missing)."""
    from ecoplan.accounts import AccountError, AccountStore

    try:
        AccountStore().audit("incident_repair_started", None, actor=operator, incident_id=p.incident_id,
                             run_id=p.run_id, reset_to_event=p.reset_to, cause=p.trouble.cause,
                             to_resend=_items(p.resend))
    except (AccountError, OSError) as e:  # the history keeps what the reset leaves out: the repair goes on
        print(f"ecoplan: 审计日志未能写入（修复继续）：{e}", file=sys.stderr)


def _audit(p, operator: str, failed) -> None:
    """The repair in the audit log; a log that cannot be written is said, the repair stands.
    Each action's key and outcome: one the incident refused was given to people, and a later
    repair does not send it again (`_handed_over`)."""
    from ecoplan.accounts import AccountError, AccountStore

    if p.resumed:
        what = {"resumed": True, "run_id": p.run_id, "resets": [r.public() for r in p.resets],
                "already_in_run": p.already}
    else:
        what = {"run_id": p.run_id, "new_run_id": p.new_run_id, "reset_to_event": p.reset_to, "found_by": p.found_by,
                "cause": p.trouble.cause}
    try:
        AccountStore().audit("incident_repaired", None, actor=operator, outcome="failed" if failed else "ok",
                             incident_id=p.incident_id, **what, resent=_items(p.resend),
                             handed_to_people=[r.key for r in p.handed])
    except (AccountError, OSError) as e:
        print(f"ecoplan: 审计日志未能写入（修复已完成）：{e}", file=sys.stderr)


def _handed_over(incident_id: str) -> set[str]:
    """The keys of actions an earlier repair of this incident sent again and the incident refused:
    the command said so and asked people to take them again, so they are not sent a second time."""
    from sqlalchemy.exc import SQLAlchemyError

    from ecoplan import audit
    from ecoplan import repair as rp
    from ecoplan.accounts import AccountError, AccountStore

    try:
        with closing(AccountStore().connect()) as con:
            rows = audit.repairs_of(con, incident_id)
    except (AccountError, OSError, SQLAlchemyError) as e:
        raise rp.RepairRefused(f"审计日志无法读取（{e}）：无法确认此前修复已交相关人员办理的操作，未做任何更改；"
                               f"账号库可用后再执行 ecoplan repair {incident_id}") from None
    return {r["key"] for row in rows for r in row.detail.get("resent", []) if r.get("outcome") == "refused" and r.get("key")}
