"""The `ecoplan` Typer app, assembled from the command modules, and its entry point.

Every command module has a Typer app of its own; this one merges them (add_typer without a
name keeps their command names at the top level). invoke() runs one command and returns its
exit status; main() (the `ecoplan` console script) leaves the process with it.
"""

from __future__ import annotations

import os
import re
import sys

import typer
from typer._click import exceptions as cx  # typer's own click: its usage errors

from ecoplan.cli import actions, audit, calendar, db, duty, plan_tools, reach, records, repair, users, views
from ecoplan.cli.typer_zh import ARGUMENT_NAMES as ARGUMENTS, Typer
from ecoplan.errors import Fail
from ecoplan.web.command import web
from plan.problems import LABELS

app = Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
            help="ecoplan：按生态环境局的突发环境事件应急预案办理事件。")
app.command("web")(web)
app.add_typer(plan_tools.app)          # grade, server, intake, plan check, drill start|report
app.add_typer(actions.app)             # start and the incident actions (warn, activate, dispatch, …)
app.add_typer(views.app)               # status, documents, overdue, stuck, list, faults, timeline, daily-report
app.add_typer(calendar.calendar_app, name="calendar")
app.add_typer(records.app)             # records rebuild, report-period, schema
app.add_typer(users.users_app, name="users")
app.add_typer(duty.duty_app, name="duty")  # the duty roster (值班表)
app.add_typer(reach.app)               # readiness, pages, ack, notifications
app.add_typer(audit.app)               # audit (the sign-in audit log)
app.add_typer(repair.app)              # repair (an incident whose workflow task keeps failing)
app.add_typer(db.db_app, name="db")    # db upgrade, db copy (the stores' database, issue 27)


def _param(p) -> str:
    if p is None:
        return ""
    if getattr(p, "param_type_name", "") == "option" and p.opts:
        return p.opts[0]
    return ARGUMENTS.get(p.name or "", LABELS.get(p.name or "", (p.name or "").upper()))


def usage_line(e: cx.ClickException) -> str:
    """A usage error (click's sentence is English) as one Chinese line; the help text of a
    command given without arguments passes through."""
    msg = e.format_message()
    if isinstance(e, cx.NoSuchOption):
        near = f"（是否想用 {'、'.join(e.possibilities)}？）" if e.possibilities else ""
        return f"没有选项 {e.option_name}{near}"
    if isinstance(e, cx.MissingParameter):
        return f"缺少{'选项' if getattr(e.param, 'param_type_name', '') == 'option' else '参数'} {_param(e.param)}"
    if isinstance(e, cx.BadParameter):
        return f"{_param(e.param)} 的值有误"
    if isinstance(e, cx.BadOptionUsage):
        return f"选项 {e.option_name} 须带一个值"
    if isinstance(e, cx.UsageError) and (m := re.match(r"No such command '(.*)'", msg)):
        return f"没有命令 {m.group(1)}（ecoplan --help 列出全部命令）"
    if isinstance(e, cx.UsageError) and (m := re.match(r"Got unexpected extra arguments?(?:\(s\))? \((.*)\)", msg)):
        return f"多余的参数：{m.group(1)}"
    if isinstance(e, cx.NoArgsIsHelpError):
        return msg
    return f"命令用法有误（ecoplan 命令 --help 查看用法）：{msg}"


def invoke(argv: list[str] | None = None) -> int:
    """Run one command: its output on stdout, an error as one line on stderr; the exit status
    (0 done, 1 refused, 2 bad input, 130 interrupted). main() leaves the process with it."""
    code = 0
    try:
        typer.main.get_command(app).main(args=argv, prog_name="ecoplan", standalone_mode=False)
    except Fail as e:
        if str(e):
            print(f"ecoplan: {e}", file=sys.stderr)
        code = e.code
    except typer.Abort:
        code = 130
    except typer.Exit as e:
        code = e.exit_code
    except typer.TyperException as e:  # usage errors: unknown option, missing argument (exit 2)
        if e.format_message():
            print(f"ecoplan: {usage_line(e)}", file=sys.stderr)
        code = e.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as e:  # a bug: still one line, with the type to report it by
        print(f"ecoplan: 内部错误（{type(e).__name__}）：{str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        code = 1
    return code


def main(argv: list[str] | None = None) -> None:
    """Run one command and leave with its true status through os._exit (sdk-python issue 300:
    a process that used a Temporal client can abort at interpreter exit)."""
    code = invoke(argv)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
