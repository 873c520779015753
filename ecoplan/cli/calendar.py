"""`ecoplan calendar …`: the working-day calendar.

- `calendar due`: the n-th Chinese working day after a date (plan/calendar.py).
- `calendar add-year NOTICE`: read the State Council's holiday notice for a year
  (plan/notice.py), show what it says for a person to confirm, and write `<year>.yaml`
  into the data folder's calendar directory ($ECOPLAN_HOME/calendars, or --dir).

ecoplan.api and ecoplan.views (temporalio and the workflow, about 1 s) are imported inside
the commands that talk to Temporal ("lazy"), so that `ecoplan --help` starts fast.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Optional

import typer

from activities.calendar import bureau_calendar
from activities.settings import calendar_data_dir
from ecoplan.cli.common import JsonOpt, actor, cli_user, emit, parse_date, run
from ecoplan.cli.typer_zh import Typer
from ecoplan.errors import Fail, bad
from plan.calendar import LIBRARY_YEARS, SHANGHAI, CalendarError, load_calendar, missing_notice_text, notice_missing
from plan.notice import WEEKDAYS, NoticeError, parse_notice
from workflows.messages import RecomputeDeadlines
from plan import problems

calendar_app = Typer(no_args_is_help=True, help="工作日历。")


@calendar_app.command("due")
def calendar_due(from_: str = typer.Option(..., "--from", help="起算日期，年-月-日（当天不计）"),
                 working_days: int = typer.Option(..., "--working-days", help="工作日数"),
                 as_json: bool = JsonOpt):
    """某日之后的第 n 个工作日（含调休）。"""

    start = parse_date(from_, "--from")
    if working_days < 1 or working_days > 3660:
        raise bad(f"--working-days：应在 1 至 3660 之间（现为 {working_days}）")
    try:
        due = bureau_calendar().add_working_days(start, working_days)
    except CalendarError as e:
        raise bad(str(e)) from None
    out = {"due_date": due.due_date.isoformat(), "due_at": due.due_at.isoformat(), "provisional": due.provisional}
    emit(out, as_json, lambda d: f"到期日 {d['due_date']}（当日结束，{d['due_at']}）"
         + ("  暂定：该年没有节假日数据，按周一至周五计算" if d["provisional"] else ""))


# ------------------------------------------------------------------ add-year


def _read_notice(file: str) -> str:
    label = "标准输入" if file == "-" else file
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).expanduser().read_bytes()
    except FileNotFoundError:
        raise bad(f"{label}：文件不存在") from None
    except IsADirectoryError:
        raise bad(f"{label}：是目录，不是通知文本文件") from None
    except OSError as e:
        raise bad(f"{label}：读不了（{problems.os_reason(e)}）") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad(f"{label}：不是 UTF-8 文本，请另存为 UTF-8 后再试") from None


def _day(d: date) -> str:

    return f"{d.isoformat()}（{WEEKDAYS[d.weekday()]}）"


def _summary(notice, path: Path, exists: bool) -> str:
    """What the notice says, in Chinese, for the person who confirms it."""

    lines = [f"通知：{notice.source}", f"{notice.year}年放假安排："]
    for h in notice.holidays:
        span = _day(h.first) if h.first == h.last else f"{_day(h.first)}至{_day(h.last)}"
        lines.append(f"  {h.name}：{span}，共{h.days}天")
    makeups, ordinary = notice.makeup_days(), notice.ordinary_workdays()
    lines.append("调休上班（周末上班）：" + ("无" if not makeups else ""))
    lines += [f"  {_day(w.day)}（{w.holiday}）" for w in makeups]
    if ordinary:
        lines.append("通知列为上班、但本就是工作日（周一至周五，不写入文件）：")
        lines += [f"  {_day(w.day)}（{w.holiday}）：本就是工作日" for w in ordinary]
    lines.append(f"放假日中落在周一至周五的共{notice.weekday_days_off()}天。")
    if LIBRARY_YEARS[0] <= notice.year <= LIBRARY_YEARS[1]:
        lines.append(f"注意：chinese_calendar 已含{notice.year}年的数据，写入的文件将取代它。")
    lines.append(f"将{'替换' if exists else '写入'}：{path}")
    return "\n".join(lines)


def _confirmed(question: str, out) -> bool:
    print(question, end="", file=out, flush=True)
    try:
        answer = sys.stdin.readline()
        typed = sys.stdin.isatty()
    except (OSError, ValueError):  # no standard input at all (closed, or not readable)
        answer, typed = "", False
    if not typed:
        print(file=out)  # a terminal echoes the answer and its Enter; piped input does not
    return answer.strip().lower() in ("y", "yes")


def _expected_working(override, d: date) -> bool:
    # The rule calendars/README.md documents for a year that has a file.
    return d in override.workday_dates() or (d.weekday() < 5 and d not in override.holiday_dates())


def _write_and_check(notice, directory: Path, path: Path) -> None:
    """Write <year>.yaml, then read the directory back with load_calendar and compare every day
    of the year; on any failure put back what was there and stop with one line."""

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise bad(f"日历目录 {directory} 无法创建（{problems.os_reason(e)}），未写入") from None
    previous = path.read_bytes() if path.exists() else None
    tmp = directory / f".{path.name}.tmp"  # not *.yaml: load_calendar never sees a half-written file

    def undo() -> None:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(previous)

    try:
        tmp.write_text(notice.yaml_text(), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise bad(f"{path}：写不进去（{problems.os_reason(e)}），未写入") from None
    override = notice.to_override()
    try:
        cal = load_calendar([directory])
    except CalendarError as e:
        undo()
        raise bad(f"写入后日历目录读不回来，已撤销，未写入：{e}") from None
    d = date(notice.year, 1, 1)
    while d.year == notice.year:
        if cal.is_working_day(d) != (_expected_working(override, d), False):
            undo()
            raise bad(f"写入的文件读回后{_day(d)}与通知不符，已撤销，未写入")
        d += timedelta(days=1)


@calendar_app.command("add-year")
def calendar_add_year(
        file: str = typer.Argument(..., help="通知原文（国务院办公厅关于某年部分节假日安排的通知），"
                                             "UTF-8 编码，从网页或 PDF 中复制；'-' 表示从标准输入读取（此时须加 --yes）"),
        yes: bool = typer.Option(False, "--yes", help="不经确认直接写入"),
        replace: bool = typer.Option(False, "--replace", help="已有该年文件时替换"),
        directory: Optional[Path] = typer.Option(None, "--dir", help="日历目录（默认：$ECOPLAN_HOME/calendars，"
                                                                    "ECOPLAN_HOME 默认为项目的 .ecoplan）"),
        by: Optional[str] = typer.Option(None, "--by", help="写入后由谁重算未结事件的暂定期限"
                                                            "（默认：$ECOPLAN_USER；都没有则不重算）"),
        role: Optional[str] = typer.Option(None, "--as", "--role", help="以预案中的哪个角色办理（默认：duty_officer）"),
        as_json: bool = JsonOpt):
    """读入某年的国务院节假日安排通知，显示供确认，写入〈年份〉.yaml，再重算未结事件的暂定期限
    （有 --by 或 $ECOPLAN_USER 时）。"""

    text = _read_notice(file)
    try:
        notice = parse_notice(text)
    except NoticeError as e:
        raise bad(f"通知读不全，未写入：{e}") from None
    directory = (directory or calendar_data_dir()).expanduser()
    path = (directory / f"{notice.year}.yaml").absolute()
    exists = path.exists()
    if exists and not replace:
        raise bad(f"{notice.year}年已有日历文件 {path}，未写入；要替换请加 --replace")

    talk = sys.stderr if as_json else sys.stdout  # with --json, stdout carries only the result
    print(_summary(notice, path, exists), file=talk, flush=True)
    if not yes:
        if not _confirmed(f"确认写入{notice.year}年节假日安排？[y/N] ", talk):
            hint = "通知从标准输入读入时无法确认，请加 --yes" if file == "-" else "没有确认"
            raise Fail(f"未写入（{hint}）", 1)

    _write_and_check(notice, directory, path)
    out = {
        "year": notice.year,
        "source": notice.source,
        "path": str(path),
        "replaced": exists,
        "holidays": [h.model_dump(mode="json") for h in notice.holidays],
        "makeup_workdays": [w.model_dump(mode="json") for w in notice.makeup_days()],
        "ordinary_workdays": [w.model_dump(mode="json") for w in notice.ordinary_workdays()],
        "weekday_days_off": notice.weekday_days_off(),
    }
    if directory.resolve() != calendar_data_dir().expanduser().resolve():
        out["recompute"] = {"done": False, "why": "not_the_data_folder"}
        _print_result(out, as_json, f"已写入 {path}（已用 load_calendar 读回核对）；该目录不是数据目录，暂定期限未重算")
        return
    _share(path, out)
    who = by or cli_user()
    if not who:
        out["recompute"] = {"done": False, "why": "no_actor"}
        _print_result(out, as_json, f"已写入 {path}（已用 load_calendar 读回核对）\n"
                                    "暂定期限未重算：请运行 ecoplan calendar recompute --by 姓名")
        return
    reason = f"{notice.year}年节假日安排已载入（{notice.source}）"
    try:
        out["recompute"] = {"done": True, **_recompute_all(who, role, reason)}
    except Fail as e:
        out["recompute"] = {"done": False, "why": "error", "error": str(e)}
        _print_result(out, as_json, f"已写入 {path}（已用 load_calendar 读回核对）")
        raise Fail(f"暂定期限未重算：{str(e)}；稍后运行 ecoplan calendar recompute --by 姓名", 1) from None
    _print_result(out, as_json, f"已写入 {path}（已用 load_calendar 读回核对）\n" + _recompute_text(out["recompute"]))


def _share(path: Path, out: dict) -> None:
    """With ECOPLAN_DATABASE_URL the year's file goes into the shared archive (issue 27), before
    any incident is recomputed: every worker then reads it (activities/calendar.py)."""
    from activities.calendar import SHARED_FOLDER
    from activities.settings import settings

    url = settings().database_url
    if not url:
        return
    from activities import archive_store

    try:
        archive_store.publish(url, path.parent.parent, SHARED_FOLDER, [path.name])
    except Exception as e:
        raise Fail(f"已写入本机 {path}，但未能写入共享数据库（{(str(e).splitlines() or [type(e).__name__])[0][:200]}），其他机器读不到："
                   "请稍后用 --replace 重新运行；暂定期限未重算", 1) from None
    out["shared"] = True


def _print_result(out: dict, as_json: bool, text: str) -> None:
    print(json.dumps(out, ensure_ascii=False, indent=2) if as_json else text, flush=True)


# ------------------------------------------------------------------ status, recompute


def _recompute_all(by: str, role: Optional[str], reason: str) -> dict:
    """Send `recompute_deadlines` to every open incident with a provisional deadline (drills
    included): the incident asks the calendar again and its timeline records what changed."""
    from ecoplan import api, views  # lazy: see the module docstring

    who = actor(by, role, "recompute_deadlines")

    async def go(client):
        rows = await views.provisional(client, drills=True)
        ids = sorted({r["incident_id"] for r in rows})
        done, refused = [], []
        for iid in ids:
            try:
                res = await api.act(client, iid, "recompute_deadlines", RecomputeDeadlines(by=who, reason=reason))
                done.append({"incident_id": iid, "message": res.message})
            except api.EcoplanError as e:
                refused.append({"incident_id": iid, "error": str(e)})
        return {"incidents": done, "refused": refused}

    return run(go)


def _recompute_text(r: dict) -> str:
    lines = [f"已重算 {len(r['incidents'])} 起事件的暂定期限" if r["incidents"] else "没有需要重算的暂定期限"]
    lines += [f"  {x['incident_id']}：{x['message']}" for x in r["incidents"]]
    lines += [f"  {x['incident_id']}：未重算（{x['error']}）" for x in r["refused"]]
    return "\n".join(lines)


@calendar_app.command("recompute")
def calendar_recompute(by: Optional[str] = typer.Option(None, "--by", help="办理人（默认：$ECOPLAN_USER）"),
                       role: Optional[str] = typer.Option(None, "--as", "--role", help="以预案中的哪个角色办理"),
                       as_json: bool = JsonOpt):
    """重算每起未结事件的暂定期限（载入某年的通知之后）。"""
    who = by or cli_user()
    if not who:
        raise bad("谁在操作？请加 --by 姓名（或设置 ECOPLAN_USER）")
    r = _recompute_all(who, role, "节假日安排更新后重算")
    _print_result(r, as_json, _recompute_text(r))
    if r["refused"]:
        raise Fail("", 1)


@calendar_app.command("status")
def calendar_status(as_json: bool = JsonOpt):
    """哪些年份已载入节假日通知，哪些未到期的期限是暂定的。"""
    from ecoplan import views  # lazy: see the module docstring

    try:
        cal = bureau_calendar()
    except CalendarError as e:
        raise bad(f"日历文件有误：{e}") from None
    today = datetime.now(SHANGHAI).date()
    years = [today.year, today.year + 1]
    missing = notice_missing(cal, today)
    out = {"today": today.isoformat(),
           "years": [{"year": y, "loaded": cal.covers(y), "source": cal.source_of(y)} for y in years],
           "notice_missing": missing, "warning": missing_notice_text(missing)}
    lines = [f"{y['year']}年：" + (f"已载入（{y['source']}）" if y["loaded"] else "未载入国务院办公厅节假日安排通知")
             for y in out["years"]]
    if out["warning"]:
        lines.append(out["warning"] + "（载入：ecoplan calendar add-year 通知.txt）")

    async def provisional(client):
        return list(await views.provisional(client, drills=True))

    try:
        rows = run(provisional)
    except Fail as e:
        out["provisional"], out["error"] = None, str(e)
        _print_result(out, as_json, "\n".join(lines + [f"暂定期限：无法查询（{str(e)}）"]))
        raise Fail("", 1) from None
    out["provisional"] = rows
    lines.append(f"暂定期限：{len(rows)} 项" if rows else "暂定期限：无")
    lines += [f"  {r['incident_id']}  {r['title']}  {views._deadline_cn(r['deadline'])}  暂定应于 {r['due_date']}" for r in rows]
    _print_result(out, as_json, "\n".join(lines))
