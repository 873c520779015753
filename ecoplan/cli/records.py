"""The records commands, merged into `ecoplan` (ecoplan/cli/app.py adds this app without a name):
`ecoplan records rebuild`, `ecoplan report-period`, `ecoplan schema`, and the store side of
`ecoplan list --closed` and of `ecoplan status` (for incidents Temporal no longer has)."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Optional, get_args

import typer

from activities.db import shown
from activities.settings import ActivitySettings
from ecoplan import period_report as pr
from ecoplan import records
from ecoplan.cli.common import JsonOpt, emit, more, parse_date, table
from ecoplan.cli.typer_zh import Typer
from ecoplan.errors import Fail, bad
from plan.incident import IncidentType
from plan.stages import OUTCOME_NAMES, STAGE_NAMES
from plan import problems

app = Typer()
records_app = Typer(no_args_is_help=True, help="记录库（突发环境事件信息档案，17号令 第十条）。")
app.add_typer(records_app, name="records")


def _store_error(e: Exception) -> Fail:
    return Fail(str(e), 1)


@records_app.command("rebuild")
def rebuild(archive: Optional[str] = typer.Option(None, "--archive", help="归档文件夹"
                                                  "（默认：$ECOPLAN_ARCHIVE_DIR 或 $ECOPLAN_HOME/archive）"),
            as_json: bool = JsonOpt):
    """由归档中的 */dossier.json 文件重建记录库（$ECOPLAN_RECORDS_DB）。内容相同的记录保持
    不变；办理中事件的记录保留。"""
    folder = Path(archive) if archive else ActivitySettings.from_env().archive_dir
    if not folder.is_dir():
        raise bad(f"--archive：{folder} 不是文件夹")
    try:
        out = records.rebuild(folder)
    except records.RecordError as e:
        raise _store_error(e) from None
    emit(out, as_json, lambda d: (f"从 {d['archive']} 读入 {d['read']} 份案卷到 {d['db']}："
                                  f"新增 {d['inserted']}，更新 {d['updated']}，未变 {d['unchanged']}"
                                  + (f"，{d['stale']} 份比已存记录旧" if d["stale"] else "")))
    if out.failed:
        first = out.failed[0]
        more = f"（另有 {len(out.failed) - 1} 份，见 --json）" if len(out.failed) > 1 else ""
        raise Fail(f"{out.read} 份案卷中有 {len(out.failed)} 份未能读入：{first['path']}：{first['error']}{more}")


@app.command("report-period")
def report_period(month: Optional[str] = typer.Option(None, "--month", help="月报：年-月，如 2026-11"),
                  quarter: Optional[str] = typer.Option(None, "--quarter", help="季报：年份加 Q 和季度，如 2026Q4"),
                  half: Optional[str] = typer.Option(None, "--half", help="半年报：年份加 H1 或 H2，如 2026H2"),
                  year: Optional[str] = typer.Option(None, "--year", help="年报：年份，如 2026"),
                  out: Optional[str] = typer.Option(None, "--out", help="同时把 report-〈期间〉.md 和 .json "
                                                    "写入此文件夹"),
                  as_json: bool = JsonOpt):
    """月报、季报、半年报或年报及统计（17号令 第十条），取自记录库：按级别、类型、县（区）、
    来源计数；各期限是否按时及迟延多久；主要环节用时的中位数和第90百分位数；期末未结事件；
    演练单列。"""
    try:
        period = pr.parse_period(month=month, quarter=quarter, half=half, year=year)
    except pr.PeriodError as e:
        raise bad(str(e)) from None
    try:
        with closing(records.connect(create=False)) as conn:
            recs = records.all_records(conn)
        rep = pr.compute(recs, period)
    except records.RecordError as e:
        raise _store_error(e) from None
    except pr.PeriodError as e:
        raise bad(str(e)) from None
    md = pr.render_markdown(rep)
    if out:
        folder = Path(out)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"report-{period.label}.md").write_text(md + "\n", encoding="utf-8")
            (folder / f"report-{period.label}.json").write_text(
                json.dumps(rep, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        except OSError as e:
            raise bad(f"--out：无法写入 {out}（{problems.os_reason(e)}）") from None
    emit(rep, as_json, lambda _: md)


@app.command("schema")
def schema(name: str = typer.Argument(..., help="incident（事件报告）、assessment（评估）或 report（信息报告）")):
    """输出 ecoplan 所收文件的 JSON Schema：事件报告（`start`）、评估（`grade` 及事件的
    `assessment`）或信息报告（`report`）。字段、取值和单位见 docs/contracts.md。"""
    # lazy: ecoplan.contracts loads the plan and builds the view's models (~0.6 s), for this command only
    from ecoplan.contracts import CONTRACTS, schema as build

    if name not in CONTRACTS:
        raise bad(f"没有“{name}”这种文件格式：可选 {'、'.join(CONTRACTS)}")
    print(json.dumps(build(name), ensure_ascii=False, indent=2))


# ------------------------------------------------------------------ used by ecoplan/cli/views.py's list and status


def list_closed(*, include_running: bool, stage: str | None, level: str | None, county: str | None,
                event_level: str | None = None,
                date_from: str | None, date_to: str | None, incident_type: str | None, outcome: str | None,
                drills: bool, limit: int | None, as_json: bool) -> None:
    """`ecoplan list --closed` (or --include-closed): the search over the records store."""
    from ecoplan.views import Page  # lazy: ecoplan.views imports temporalio (~1 s), not needed for --help

    if incident_type and incident_type not in get_args(IncidentType):
        raise bad(f"--type：“{incident_type}”不是事件类型；可选 {'、'.join(get_args(IncidentType))}")
    if outcome and outcome not in ("completed", "warning_lifted"):
        raise bad(f"--outcome：“{outcome}”不是结案方式；可选 completed（后期处置完毕）、warning_lifted（预警解除）")
    d_from = parse_date(date_from, "--from") if date_from else None
    d_to = parse_date(date_to, "--to") if date_to else None
    if d_from and d_to and d_from > d_to:
        raise bad(f"--from {d_from} 晚于 --to {d_to}")
    s = records.Search(closed_only=not include_running, stage=stage, level=level, event_level=event_level,
                       county=county, date_from=d_from,
                       date_to=d_to, incident_type=incident_type, outcome=outcome, drills=drills)
    try:
        rows, total = records.list_records(s, limit)
    except records.RecordError as e:
        raise _store_error(e) from None
    what = "已结案事件" if not include_running else "事件"
    emit(rows, as_json, lambda rs: table(
        [[r["incident_id"], r["title"], STAGE_NAMES.get(r["stage"], r["stage"]), r["event_level"] or "未记录",
          r["level"], r["county"], "演练" if r["drill"] else "", r["reported_at"][:16], (r["closed_at"] or "")[:16],
          OUTCOME_NAMES.get(r["outcome"] or "", "")] for r in rs],
        ["事件编号", "事件名称", "阶段", "事件等级", "响应级别", "县（区）", "演练", "接报时间", "结案时间", "结案方式"])
        if rs else f"记录库（{shown(records.db_path())}）中没有符合条件的{what}")
    more(Page(rows, len(rows) >= total, total), f"记录库中符合条件的{what}",
          f"最近接报的 {len(rows)} 件")


def status_from_records(incident_id: str) -> dict | None:
    """The stored status of an incident Temporal does not have; None when the store has none."""
    try:
        return records.status_of(incident_id)
    except records.RecordError as e:
        raise Fail(f"Temporal 中没有事件 {incident_id}，记录库也读不了：{e}") from None


def record_note(st: dict) -> str:
    closed = st.get("closed_at")
    when = datetime.fromisoformat(closed).strftime("%Y-%m-%d %H:%M") if closed else None
    return f"（来自记录库的结案记录{'，结案于 ' + when if when else ''}：Temporal 已不再保存该事件）"
