"""`ecoplan`: the one command for the command centre, group leads, the commander and supervisors.

Exit codes: 0 done; 1 refused (the incident said no, or it does not exist, or Temporal is
not reachable); 2 bad input (a file, a field, a date). Errors are one line, never a
traceback. Every command takes --json for machines.

Where each command lives:
- app.py         the Typer app assembled from the modules below; invoke() and main() (the
                 console script `ecoplan = "ecoplan.cli:main"`)
- typer_zh.py    the Typer app, groups and commands whose --help speaks Chinese (用法：, 选项, 命令 …);
                 every module makes its app with typer_zh.Typer
- common.py      shared helpers: emit/table, read_data/parse/parse_time/parse_date,
                 actor/approver, run/do_action, the common options (--json, --by, --as, --at …)
- actions.py     start and the incident actions (warn, activate, dispatch, report, sign-off …)
- views.py       supervision: status, documents, list, overdue, stuck, faults, timeline,
                 daily-report, schedule daily-report
- records.py     records rebuild, report-period, schema; the store side of list --closed and status
- users.py       users add|list|disable|enable|passwd|set (contact methods: ecoplan/contacts.py)
- duty.py        duty import|show|today|handover (the duty roster, 值班表)
- reach.py       readiness, pages, ack, notifications (who can be reached; pages and their
                 acknowledgement; the notifications sent)
- users.py       users add|list|disable|enable|passwd|unlock|enrol-2fa|reset-2fa
- audit.py       audit (logins, logouts, alarms, account changes, repairs)
- repair.py      repair (an incident whose workflow task keeps failing: ecoplan/repair.py)
- calendar.py    calendar due|add-year|recompute|status
- plan_tools.py  grade, plan check, drill start|report, server, intake
- ecoplan/web/command.py  web
"""

from ecoplan.cli.app import app, invoke, main

__all__ = ["app", "invoke", "main"]
