"""The incident action commands: `ecoplan start`, and one command per action of the action
registry (workflows/actions/), made from its declared CLI name, summary and options. Every
command also takes --by/--as (who acts, in what plan role), --at and --backdate-reason (when
it happened; the reason for an entry more than an hour late) and --json."""

from __future__ import annotations

import inspect
from typing import Any, Optional

import typer

from ecoplan.cli.common import (AtOpt, BackdateOpt, ByOpt, JsonOpt, RoleOpt, actor, approver, cli_user, do_action,
                                emit, parse, parse_date, parse_time, read_data, run)
from ecoplan import people
from ecoplan.cli.typer_zh import Typer
from ecoplan.errors import bad
from plan.incident import Actor, IncidentReport, ReportFile
from workflows.actions import ACTIONS
from workflows.actions.spec import ActionSpec, CliOption

app = Typer()


@app.command()
def start(file: str = typer.Argument(..., help="事件报告文件（JSON/YAML；'-' 表示从标准输入读取）；incident_type：water | air | "
                                      "soil | hazardous_chemicals | solid_waste | other；source：hotline_12369 | "
                                      "linkage_119 | inspection | county_bureau | other。全部字段见 "
                                      "`ecoplan schema incident` 和 docs/contracts.md"),
          by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, as_json: bool = JsonOpt):
    """按事件报告文件启动一起事件；输出事件编号。有 --by（或 $ECOPLAN_USER）时，录入人与
    报告人一并记录。"""
    from ecoplan import api  # lazy: with temporalio and the workflow (~1 s), not needed for --help

    report = parse(IncidentReport, read_data(file))
    who = by or cli_user()
    started_by = Actor(**actor(who, role, "start_incident")) if who and who.strip() else None
    iid = run(api.start_incident, report, api.TASK_QUEUE, 30.0, started_by)
    emit({"incident_id": iid}, as_json, lambda d: d["incident_id"])


# ------------------------------------------------------------------ the registry's actions

TYPES = {"text": Optional[str], "int": Optional[int], "date": Optional[str], "flag": bool, "many": list[str],
         "pairs": list[str], "choice": Optional[str], "report_file": Optional[str], "approver": Optional[str],
         "lead": Optional[str], "no_wait": bool}


def _param(opt: CliOption) -> str:
    return opt.flag.lstrip("-").replace("-", "_")


def _option(opt: CliOption) -> inspect.Parameter:
    if opt.kind in ("flag", "no_wait"):
        default = typer.Option(False, opt.flag, help=opt.help)
    elif opt.kind in ("many", "pairs"):
        default = typer.Option(... if opt.required else [], opt.flag, help=opt.help)
    else:
        help_ = opt.help + (f"（取值：{'、'.join(opt.value)}）" if opt.kind == "choice" and opt.value[0] not in opt.help else "")
        default = typer.Option(... if opt.required else opt.default, opt.flag, help=help_)
    return inspect.Parameter(_param(opt), inspect.Parameter.KEYWORD_ONLY, default=default, annotation=TYPES[opt.kind])


def _pairs(opt: CliOption, items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    form = opt.value if isinstance(opt.value, str) else "KEY=VALUE"
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise bad(f"{opt.flag}：“{item}”应写成 {form}")
        if key.strip() in out:
            raise bad(f"{opt.flag}：{key.strip()} 写了两次")
        out[key.strip()] = value.strip()
    return out


def _value(opt: CliOption, v: Any) -> Any:
    """The option's value as the input field takes it (None: leave the field to its default)."""
    if opt.kind == "flag":
        return opt.value if v else opt.default
    if opt.kind == "many":
        return v or None
    if opt.kind == "pairs":
        return _pairs(opt, v)
    if v is None:
        return None
    if opt.kind == "date":
        return parse_date(v, opt.flag)
    if opt.kind == "choice":
        if v not in opt.value:
            raise bad(f"{opt.flag}：“{v}”应为 {' 或 '.join(opt.value)}")
        return v == opt.value[0]
    return v


def _fields(spec: ActionSpec, kw: dict) -> dict:
    fields: dict[str, Any] = {}
    nested: dict[str, dict] = {}
    for opt in spec.cli_options:
        v = kw[_param(opt)]
        if opt.kind == "report_file":
            if v is None:  # not required: the content may come from other options (--summary)
                continue
            content, head = parse(ReportFile, read_data(v)).split()
            fields.update(content=content, **{k: x for k, x in head.model_dump().items() if x is not None})
            continue
        if opt.kind in ("approver", "no_wait"):
            continue
        value = _value(opt, v)
        head, _, tail = opt.field.partition(".")
        if tail:
            if v is not None:
                nested.setdefault(head, {})[tail] = value
        elif value is not None:
            fields[head] = value
    for head, given in nested.items():
        choice = next((o for o in spec.cli_options if o.field.startswith(head + ".") and o.kind == "choice"), None)
        if choice is not None and choice.field.partition(".")[2] not in given:
            raise bad(f"{choice.flag}：请写明 {' 或 '.join(choice.value)}（{spec.source}）")
        base = fields.get(head)  # a report file's content, with the options' values over it
        base = base.model_dump(exclude_none=True) if hasattr(base, "model_dump") else dict(base or {})
        fields[head] = {**base, **given}
    return fields


def _who(spec: ActionSpec, kw: dict) -> tuple[dict, dict | None]:
    """Who acts, and the approver named for an act that needs one (附件1): entered for the
    approver, the role defaults to the duty officer's; the approver entering their own approval
    names nobody else."""
    by, role = kw["by"], kw["role"]
    lead = next((kw[_param(o)] for o in spec.cli_options if o.kind == "lead"), None)
    named = next((approver(kw[_param(o)]) for o in spec.cli_options if o.kind == "approver"), None)
    who = actor(by or lead, role or ("duty_officer" if named else None), spec.name)
    if named and who["role_id"] != "duty_officer" and named["name"] == who["name"]:
        named = None
    return who, named


def _command(spec: ActionSpec):
    def command(incident_id: str, **kw) -> None:
        who, named = _who(spec, kw)
        fields = {"by": who, **_fields(spec, kw)}
        # People named are the bureau's accounts that may hold the post, where it keeps accounts.
        for name in spec.names_accounts:
            if fields.get(name):
                fields[name], why = people.named_leads(fields[name])
                if why:
                    raise bad(why)
        if named:
            acc, why = people.named_approver(named["name"], spec.name)
            if why:
                raise bad(why)
            if acc:  # recorded by username with the name people read, as the console records it
                named.update(name=acc.username, display=acc.display or None)
        if named:
            fields["approver"] = named
        if spec.with_time:
            fields.update(at=parse_time(kw["at"]), backdate_reason=kw["backdate_reason"])
        if any(o.kind == "no_wait" and kw[_param(o)] for o in spec.cli_options):
            from ecoplan import api  # lazy, as in do_action

            run(api.signal_action, incident_id, spec.name, parse(spec.input, fields))
            emit({"incident_id": incident_id, "sent": True}, kw["as_json"],
                 lambda d: f"{incident_id}: {spec.title}已发出；用 `ecoplan status {incident_id}` 查看是否办理")
            return
        do_action(incident_id, spec.name, spec.input, fields, kw["as_json"])

    K = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("incident_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
              *(_option(o) for o in spec.cli_options),
              inspect.Parameter("by", K, default=ByOpt, annotation=Optional[str]),
              inspect.Parameter("role", K, default=RoleOpt, annotation=Optional[str])]
    if spec.with_time:
        params += [inspect.Parameter("at", K, default=AtOpt, annotation=Optional[str]),
                   inspect.Parameter("backdate_reason", K, default=BackdateOpt, annotation=Optional[str])]
    params.append(inspect.Parameter("as_json", K, default=JsonOpt, annotation=bool))
    command.__signature__ = inspect.Signature(params)
    command.__name__ = spec.name
    command.__doc__ = f"{spec.cli_help}\n\n{spec.title}（{spec.source}）；接口中的操作名：{spec.name}。"
    return command


for _spec in ACTIONS.values():
    app.command(_spec.cli)(_command(_spec))
