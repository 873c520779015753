"""`ecoplan duty …`: the duty roster (值班表, ecoplan/duty_roster.py): import the bureau's
spreadsheet, show a day or who is on duty now, record a handover (交接班)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

import typer

from ecoplan.accounts import AccountStore
from ecoplan.cli.common import JsonOpt, emit, parse_date, table
from ecoplan.cli.typer_zh import Typer
from ecoplan.duty_import import RosterRejected, read_roster
from ecoplan.duty_roster import DutyError, DutyStore, Shift
from ecoplan.errors import Fail, bad
from ecoplan.people import labeller, resolver
from plan.calendar import SHANGHAI
from plan.paging import load_paging

duty_app = Typer(no_args_is_help=True, help="值班表和交接班。")


def _now() -> datetime:
    return datetime.now(SHANGHAI)


def _rows(shifts: list[Shift], label) -> list[list[str]]:
    posts = load_paging().post_names
    return [[str(s.id), f"{s.day:%Y-%m-%d}", s.name, f"{s.starts_at:%H:%M}-{s.ends_at:%H:%M}",
             *("、".join(label(u) for u in s.people.get(p, [])) or "（无人）" for p in posts), s.note]
            for s in shifts]


def _header() -> list[str]:
    return ["编号", "日期", "班次", "时间", *load_paging().post_names.values(), "备注"]


@duty_app.command("import")
def import_(file: Path = typer.Argument(..., help="值班表文件：.xlsx 或 .csv（列：日期、班次、开始、结束、带班领导、值班员、备注）"),
            as_json: bool = JsonOpt):
    """导入值班表；每个班次替换同一天同名的班次。"""
    accounts = AccountStore()
    try:
        shifts = read_roster(file, load_paging().post_names, resolver(accounts.list()))
    except RosterRejected as e:
        raise bad(f"值班表未导入（共 {len(e.lines)} 处错误，未作任何改动）：\n" + "\n".join(e.lines)) from None
    n = DutyStore().replace(shifts)
    days = sorted({s.day for s in shifts})
    emit({"imported": n, "first_day": days[0].isoformat(), "last_day": days[-1].isoformat()}, as_json,
         lambda d: f"已导入 {n} 个班次（{d['first_day']} 至 {d['last_day']}）")


@duty_app.command("show")
def show(day: Optional[str] = typer.Option(None, "--date", help="日期，年-月-日（默认：今天）"),
         days: int = typer.Option(1, "--days", min=1, max=62, help="自 --date 起显示几天"),
         as_json: bool = JsonOpt):
    """查看值班表：某一天（或 --days 天）的班次。"""
    first = parse_date(day, "--date") if day else _now().date()
    start = datetime.combine(first, datetime.min.time(), SHANGHAI)
    shifts = [s for s in DutyStore().between(start, start + timedelta(days=days)) if s.day >= first]
    if as_json:
        emit([s.public() for s in shifts], True)
        return
    if not shifts:
        print(f"{first:%Y-%m-%d} 起 {days} 天值班表中没有班次（ecoplan duty import FILE 导入）")
        return
    print(table(_rows(shifts, labeller(AccountStore())), _header()))


@duty_app.command("today")
def today(as_json: bool = JsonOpt):
    """今日值班：现在谁在值班，以及最近24小时的交接班记录。"""
    now = _now()
    store = DutyStore()
    running, notes = store.on_duty(now), store.handovers(now - timedelta(days=1), now + timedelta(seconds=1))
    if as_json:
        emit({"on_duty": [s.public() for s in running], "handovers": [h.public() for h in notes]}, True)
        return
    label = labeller(AccountStore())
    if not running:
        print(f"现在（{now:%m-%d %H:%M}）值班表中没有班次：无人值班")
    else:
        print(table(_rows(running, label), _header()))
    for h in notes:
        print(f"交接班 {h.at:%m-%d %H:%M} {label(h.by)}" + (f" → {label(h.to)}" if h.to else "") + f"：{h.notes}")


@duty_app.command("handover")
def handover(notes: str = typer.Option(..., "--notes", help="交接内容：下一班须知道的事项"),
             by: Optional[str] = typer.Option(None, "--by", help="交班人的用户名（默认：$ECOPLAN_USER）"),
             to: Optional[str] = typer.Option(None, "--to", help="接班人的用户名"),
             as_json: bool = JsonOpt):
    """在当前班次上登记交接班记录。"""
    from activities.settings import settings

    accounts = AccountStore()
    who = resolver(accounts.list())
    giver = who(by or settings().user or "")
    if giver is None:
        raise bad("--by：交班人应为系统中的账号（或设置 ECOPLAN_USER）")
    taker = who(to) if to else ""
    if taker is None:
        raise bad(f"--to：接班人「{to}」不是系统中的账号")
    try:
        h = DutyStore().hand_over(giver, notes, _now(), to=taker or "")
    except DutyError as e:
        raise Fail(str(e), 2) from None
    emit(h.public(), as_json, lambda d: f"已记录交接班（{h.at:%m-%d %H:%M}）")
