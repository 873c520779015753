"""What every `ecoplan` command module shares: the output (emit, table), the input parsers
(read_data, parse, parse_time, parse_date), who acts (actor, approver), running a call
against Temporal (run, do_action) and the common options (--json, --by, --as, --at …).

This module imports no command module, so every command module can import it at the top.
Exit codes: 0 done; 1 refused (the incident said no, or it does not exist, or Temporal is
not reachable); 2 bad input (a file, a field, a date). Errors are one line, never a
traceback.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, datetime
from typing import Any, Callable, Optional

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError

from activities.settings import settings
from ecoplan.errors import EcoplanError, Fail, bad, connect_or_fail
from plan import authority, files
from plan.grading import validation_message
from plan.incident import Time
from plan.loader import PlanError, load_plan
from plan.stages import STAGE_NAMES

# ------------------------------------------------------------------ output


def emit(data: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text(data) if text else data)


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(c) if c is not None else "—" for c in r] for r in [header, *rows]]
    width = [max(_w(r[i]) for r in cells) for i in range(len(header))]
    pad = lambda s, w: s + " " * (w - _w(s))  # noqa: E731
    lines = ["  ".join(pad(c, width[i]) for i, c in enumerate(r)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in width))
    return "\n".join(lines)


def _w(s: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def more(page, what: str, shown: str) -> None:
    """A one-line note on stderr when a view shows only part of its answer."""
    if page.complete:
        return
    total = f"{what}共 {page.total} 件" if page.total is not None else f"{what}不止所示"
    print(f"ecoplan: {total}；已列出{shown}。要看更多：--limit N 或 --all", file=sys.stderr)


# ------------------------------------------------------------------ input


def read_data(path: str) -> Any:
    """A JSON or YAML file ("-" for stdin), as data; one-line errors."""
    if path == "-":
        raw = sys.stdin.buffer.read()
    else:
        raw = files.read_bytes(path, path, bad)
    data = files.parse(raw, path, bad, as_json=not path.endswith((".yaml", ".yml")))
    if not isinstance(data, dict):
        raise bad(f"{path}：应为带字段名的对象（JSON 对象或 YAML 映射）")
    return data


def parse(model: type[BaseModel], data: Any, what: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise bad(validation_message(e, prefix=what)) from None


def parse_time(value: Optional[str], option: str = "--at") -> Optional[datetime]:
    if value is None:
        return None
    try:
        return TypeAdapter(Time).validate_python(value)
    except ValidationError:
        raise bad(f"{option}：“{value}”不是有效的时间（如 2026-11-23T03:10 或 2026-11-23T03:10+08:00）") from None


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad(f"{option}：“{value}”不是有效的日期（如 2026-11-23）") from None


# ------------------------------------------------------------------ who acts


def actor(by: Optional[str], role: Optional[str], action: str) -> dict:
    """Who acts through the CLI: the operator's name (--by or $ECOPLAN_USER) and the plan role
    they act in (--as, or $ECOPLAN_ROLE; a role id such as commander or the plan's name such
    as 指挥); without one, the first role the authority table gives the action, recorded as
    such. The CLI talks to Temporal directly: its endpoint (mTLS or API key) is the trust
    boundary, and every action it sends is recorded with `via: cli`."""
    name = by or cli_user()
    if not name or not name.strip():
        raise bad("谁在操作？请加 --by 姓名（或设置 ECOPLAN_USER）")
    plan = default_plan()
    stated = (role or cli_role() or "").strip()
    if stated:
        spec = next((r for r in plan.roles if stated in (r.id, r.name)), None)
        if spec is None:
            raise bad(f"--as：“{stated}”不是本预案的角色；角色有"
                      + "、".join(f"{r.name}（{r.id}）" for r in plan.roles))
    else:
        rule = authority.rule(action, plan)
        spec = authority.role(rule.roles[0], plan) if rule else None
        if spec is None:
            raise bad(f"--as：请写明以何种角色办理；角色有{'、'.join(f'{r.name}（{r.id}）' for r in plan.roles)}")
    return {"name": name.strip(), "role": spec.name, "role_id": spec.id, "via": "cli"}


def cli_user() -> Optional[str]:
    """$ECOPLAN_USER: the operator's name when --by is not given."""
    return settings().user


def cli_role() -> Optional[str]:
    """$ECOPLAN_ROLE: the plan role the operator acts in when --as is not given."""
    return settings().role


def approver(name: Optional[str]) -> Optional[dict]:
    """The 总指挥 the operator names as having approved (附件1): recorded with the plan's
    approving role; the operator answers for it (the CLI is the administrators' tool)."""
    if name is None:
        return None
    if not name.strip():
        raise bad("--approved-by：请写明批准人姓名")
    plan = default_plan()
    rule = authority.rule("activate_response", plan)
    role_id = rule.approver_roles[0] if rule and rule.approver_roles else "commander"
    spec = authority.role(role_id, plan)
    return {"name": name.strip(), "role": spec.name if spec else role_id, "role_id": role_id}


_PLAN = []


def default_plan():
    """The default plan, loaded once per command."""
    if not _PLAN:
        try:
            _PLAN.append(load_plan().plan)
        except PlanError as e:
            raise bad(f"预案：{e}") from None
    return _PLAN[0]


# ------------------------------------------------------------------ running against Temporal


def run(coro_fn: Callable[..., Any], *args) -> Any:
    """Connect, run `coro_fn(client, *args)`, and turn a refusal into one line (Fail)."""
    # temporalio is imported when a command connects, not when `ecoplan --help` starts.
    from temporalio.service import RPCError

    async def go():
        client = await connect_or_fail()
        try:
            return await coro_fn(client, *args)
        except EcoplanError as e:
            raise Fail(str(e), e.exit_code) from None
        except RPCError as e:
            raise Fail(f"Temporal 服务拒绝了请求：{e.message}") from None

    return asyncio.run(go())


def do_action(incident_id: str, action: str, model: type[BaseModel], fields: dict, as_json: bool) -> None:
    """Send one incident action (a Workflow Update) and print its answer."""
    # ecoplan.api imports the workflow and temporalio (about 1 s): only when a command runs.
    from ecoplan import api

    inp = parse(model, fields)
    result = run(api.act, incident_id, action, inp)
    emit(result, as_json, lambda r: f"{r['incident_id']}：{r['message']}［{STAGE_NAMES.get(r['stage'], r['stage'])}阶段］")


# ------------------------------------------------------------------ options

JsonOpt = typer.Option(False, "--json", help="以机器可读的 JSON 输出")
ByOpt = typer.Option(None, "--by", help="办理人（默认：$ECOPLAN_USER）")
RoleOpt = typer.Option(None, "--as", "--role", help="以预案中的哪个角色办理：角色标识（duty_officer、commander、"
                       "deputy_commander、lead）或其名称（值班员、指挥……）（默认：$ECOPLAN_ROLE，否则为权限表中"
                       "可办理该操作的第一个角色）")
AtOpt = typer.Option(None, "--at", help="发生时间，ISO 8601 格式；不带时区即北京时间（默认：现在）")
IssuedByOpt = typer.Option(None, "--issued-by", help="发布或解除的机关（3.3：市人民政府或其授权的单位）")
DocumentOpt = typer.Option(None, "--document-number", help="该机关的文号")
BackdateOpt = typer.Option(None, "--backdate-reason",
                           help="补录说明：在 --at 所记时间1小时之后才录入的原因（此时必填）")

DEFAULT_LIMIT = 50  # rows a supervisor view shows unless told --limit N or --all
LimitOpt = typer.Option(DEFAULT_LIMIT, "--limit", min=1, help="最多显示的条数，最紧急的在前")
AllOpt = typer.Option(False, "--all", help="显示全部，不限条数")
