"""`ecoplan repair ID`: the operators' remedy for an incident whose workflow task keeps failing
(后台处理异常 in `ecoplan faults` and on the board). What it does and why: ecoplan/repair.py.
The CLI talks to Temporal directly and is the administrators' and the command centre's tool
(the Temporal endpoint is the trust boundary, as for every command); each repair is written to
the audit log (`ecoplan audit --event incident_repaired`)."""

from __future__ import annotations

import getpass
import json
import sys
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
    工作流任务，以新的运行继续，并按原办理时间重新办理此后已受理的操作。供运维人员使用；每次修复记入审计日志。"""
    from ecoplan import repair as rp  # lazy: imports the workflow and temporalio (about 1 s)

    operator = _operator(by)

    async def go(client):
        p = await rp.plan(client, incident_id, before_event)
        if dry_run:
            return p, None
        try:
            await rp.run(client, p, operator, wait)
        except rp.RepairFailed as e:
            return p, e
        return p, None

    p, failed = run(go)
    if not dry_run:
        _audit(p, operator, failed)
    text = rp.paragraph(p, dry_run=dry_run, before_event=before_event)
    if as_json:
        print(json.dumps({**p.public(), "dry_run": dry_run, "text": text,
                          "error": str(failed) if failed else None}, ensure_ascii=False, indent=2))
    else:
        print(text)
    if failed:
        raise Fail(str(failed))
    undone = [r for r in p.resend if r.outcome in ("refused", "failed")]
    if undone:
        raise Fail(f"事件 {incident_id} 已重置，但有 {len(undone)} 项已受理的操作未能重新办理（见上文），请相关人员重新办理")


def _audit(p, operator: str, failed) -> None:
    """The repair in the audit log; a log that cannot be written is said, the repair stands."""
    from ecoplan.accounts import AccountError, AccountStore

    try:
        AccountStore().audit("incident_repaired", None, actor=operator, outcome="failed" if failed else "ok",
                             incident_id=p.incident_id, run_id=p.run_id, new_run_id=p.new_run_id,
                             reset_to_event=p.reset_to, found_by=p.found_by, cause=p.trouble.cause,
                             resent=[{"action": r.action or r.name, "at": r.at.isoformat(), "outcome": r.outcome}
                                     for r in p.resend])
    except (AccountError, OSError) as e:
        print(f"ecoplan: 审计日志未能写入（修复已完成）：{e}", file=sys.stderr)
