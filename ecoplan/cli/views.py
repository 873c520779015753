"""The supervision commands: one incident's record (status, timeline, documents) and the
views over all of them (list, overdue, stuck, faults, daily-report, schedule daily-report).
`list --closed` and the status of an incident Temporal no longer has come from the records
store (ecoplan/cli/records.py).

ecoplan.api, ecoplan.views, ecoplan.documents and ecoplan.schedules are imported inside the
commands that use them (marked "lazy"): they pull in temporalio, the workflow and the PDF
renderer (about 1 s), which `ecoplan --help` and the other commands do not need."""

from __future__ import annotations

import asyncio
import json
from typing import Optional

import typer

from ecoplan import records
from ecoplan.cli import records as records_cli
from ecoplan.cli.common import AllOpt, JsonOpt, LimitOpt, emit, more, parse_date, run, table
from ecoplan.cli.typer_zh import Typer
from ecoplan.errors import Fail, bad
from plan.loader import load_plan
from activities.daily_report import _deadline_cn
from plan.citation import cite
from plan.stages import FAULT_NAMES, OUTCOME_NAMES, STAGE_NAMES, SYSTEM_ENTRIES
from workflows.lifecycle import STAGES

app = Typer()
schedule_app = Typer(no_args_is_help=True, help="Temporal 定时任务。")
app.add_typer(schedule_app, name="schedule")


DEADLINE_STATUS = {"scheduling": "计算中", "pending": "未到期", "met": "按时完成", "overdue": "已逾期", "met_late": "逾期完成"}
WHOSE = {"performs": "本局办理", "optional": "本局视情况办理", "records": "{body}办理，本局登记", "assists": "{body}办理，本局配合"}


def _entry(action: str) -> str:
    from workflows.actions import ACTION_NAMES  # lazy: the registry imports the workflow (~1 s)

    return ACTION_NAMES.get(action) or SYSTEM_ENTRIES.get(action, action)


def _who(e: dict) -> str:
    by = e.get("by") or {}
    return by.get("display") or by.get("name") or "系统"


def _levels_text(s: dict) -> str:
    """Both levels as the incident page names them (issue 24): 事件等级 … · 响应级别 …; a record
    saved without the event's level says so; an incident with one level shows that one."""
    if s.get("levels"):
        return s["levels"]["line"]
    one = f"响应级别 {s.get('level') or '—'}（分级 {s['graded_level']}）"
    return f"事件等级 未记录 · {one}" if s.get("from_records") else one


def status_text(s: dict) -> str:
    lines = [
        f"{s['incident_id']}  {s['title']}{'  【演练】' if s.get('drill') else ''}",
        f"{STAGE_NAMES.get(s['stage'], s['stage'])}阶段  {_levels_text(s)}"
        f"  县（区） {s['county']}" + (f"  {OUTCOME_NAMES.get(s['outcome'], s['outcome'])}" if s.get("outcome") else ""),
        f"预案 {s['plan']['id']} {s['plan']['version']}",
    ]
    groups = {g.id: g.name for g in load_plan().plan.groups}
    if s.get("leads"):
        lines.append("各组组长：" + "，".join(f"{groups.get(g, g)} {n}" for g, n in s["leads"].items()))
    if s.get("pending_signoffs"):
        lines.append(f"待签署（第 {s.get('round')} 轮）：" + "、".join(groups.get(g, g) for g in s["pending_signoffs"]))
    if s.get("waiting_on"):
        lines.append("等待：" + "、".join(s["waiting_on"]))
    for f in s.get("faults") or []:
        lines.append(f"故障 {FAULT_NAMES.get(f['fault'], f['fault'])}，自 {f['since'][:16]}：" + str(
            f.get("error") or f.get("last") or f"{f.get('count')} 项通知"))
    if s.get("duties"):
        lines += ["", f"{s['duties'][0]['level']}级事件各事项的办理（预案分级职责；* 为结案前须完成）："]
        for d in s["duties"]:
            other = d.get("recorded_as_other")
            state = (f"已登记：{other['body']}，{other['document']}，{other['at'][:16]}" if other
                     else "本局已办理" if d["done"] else "—")
            lines.append(f"  {'*' if d['needed_to_close'] else ' '} {d['name']}：{WHOSE[d['mode']].format(body=d['body'])}："
                         f"{state}  ［{cite(d['source'])[:60]}］")
    if s.get("deadlines"):
        lines += ["", table([[d["title"], DEADLINE_STATUS.get(d["status"], d["status"]),
                              d["due_date"] or (d["due_at"] or "计算中")[:16], "暂定" if d["provisional"] else "",
                              (d["met_at"] or "")[:16] + ("（补录）" if d.get("met_backdated") else "")]
                             for d in s["deadlines"]], ["期限", "状态", "到期", "暂定", "完成时间"])]
    lines += ["", table([[e["seq"], e["at"][:16], _who(e), _entry(e["action"])
                          + ("（未受理）" if e["rejected"] else "")
                          + (f"（补录，登记于 {e['recorded_at'][:16]}：{e['backdate_reason']}）"
                             if e.get("backdate_reason") else ""),
                          f"{STAGE_NAMES.get(e['from_stage'], e['from_stage'])}→{STAGE_NAMES.get(e['to_stage'], e['to_stage'])}"]
                         for e in s["timeline"][-10:]], ["#", "时间", "办理人", "事项", "阶段"])]
    return "\n".join(lines)


@app.command()
def status(incident_id: str, as_json: bool = JsonOpt):
    """一起事件的完整记录（直接读取事件本身，而非检索索引）；Temporal 中已没有的事件，
    从记录库中读出，并加以注明。"""
    from ecoplan import api  # lazy: see above

    async def go(client):
        try:
            return await api.status(client, incident_id)
        except api.IncidentNotFound:
            if (st := records_cli.status_from_records(incident_id)) is None:
                raise
            return st

    st = run(go)
    emit(st, as_json, lambda s: status_text(s) + ("\n" + records_cli.record_note(s) if s.get("from_records") else ""))


@app.command()
def documents(incident_id: str,
              kind: Optional[list[str]] = typer.Option(None, "--kind", help="activation_notice（附件1）、termination_form（附件2）、"
                                                       "info_report（信息报告）、case_file（案卷）或 chart（期限图），可重复（默认：全部）"),
              out: Optional[str] = typer.Option(None, "--out", help="写入的文件夹（默认：./事件编号-documents）"),
              as_json: bool = JsonOpt):
    """事件的打印文书：附件1、附件2、各次报告、案卷（PDF）和期限图（SVG、PNG）。办理中的
    事件按当前情况打印；已结案的事件（包括 Temporal 中已没有的，取自记录库和归档案卷）
    给出归档时的文本。"""
    from ecoplan import api  # lazy: see above
    from ecoplan import documents as docs  # lazy: see above

    try:
        kinds = docs.kinds_of(kind)
    except docs.DocumentsError as e:
        raise bad(str(e)) from None

    async def go(client):
        try:
            return await api.status(client, incident_id)
        except api.IncidentNotFound:
            st = records_cli.status_from_records(incident_id) or docs.from_dossier(incident_id)
            if st is None:
                raise
            return st

    st = run(go)
    if st.get("loading"):
        raise Fail(f"事件 {incident_id} 仍在载入预案，尚无文书")
    try:
        written = docs.write(st, out or f"{incident_id}-documents", kinds)
    except docs.DocumentsError as e:
        raise bad(str(e)) from None
    except Exception as e:  # a renderer that fails (a missing font): one line
        raise Fail(f"文书打印失败：{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    emit([str(p) for p in written], as_json,
         lambda ps: "\n".join(ps) if ps else f"{incident_id}：尚无所选文书")



def _ago(seconds: int) -> str:
    m = abs(seconds) // 60
    d, h, m = m // 1440, (m % 1440) // 60, m % 60
    return (f"{d}天" if d else "") + (f"{h}小时" if h or d else "") + f"{m:02d}分"


def _stage(row: dict) -> str:
    """The stage, marked with the incident's internal faults (details: `ecoplan faults`)."""
    return STAGE_NAMES.get(row["stage"], row["stage"]) + (
        f"［{'、'.join(FAULT_NAMES.get(f, f) for f in row['faults'])}］" if row.get("faults") else "")



@app.command()
def overdue(drills: bool = typer.Option(False, "--drills", help="包括演练"),
            limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """有期限已超时的办理中事件，超时最久的在前，并列出应由谁办理。"""
    from ecoplan import views  # lazy: see above

    rows = run(lambda c: views.overdue(c, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], r["county"], r["level"], _stage(r), r.get("title_deadline") or
          _deadline_cn(r["deadline"]), r["due_at"][:16], _ago(r["late_by_seconds"]), "、".join(r["waiting_on"])] for r in rs],
        ["事件编号", "事件名称", "县（区）", "级别", "阶段", "期限", "到期", "逾期", "应办理者"])
        if rs else "没有逾期事件")
    more(rows, "逾期事件", f"逾期最久的 {len(rows)} 项")


@app.command()
def stuck(idle: Optional[str] = typer.Option(None, "--idle", help="停滞多久算停滞，如 6h、3d、90m（h 时、d 天、m 分；默认：预案对各阶段的要求）"),
          drills: bool = typer.Option(False, "--drills", help="包括演练"),
          limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """阶段停滞过久的办理中事件，停滞最久的在前，并列出在等待什么。"""
    from ecoplan import views  # lazy: see above

    try:
        after = views.parse_duration(idle) if idle is not None else None
    except ValueError as e:
        raise bad(f"--idle：{e}") from None
    rows = run(lambda c: views.stuck(c, idle=after, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], _stage(r), r["since"][:16], _ago(r["idle_seconds"]),
          "、".join(r["waiting_on"])] for r in rs],
        ["事件编号", "事件名称", "阶段", "自", "停滞", "等待"]) if rs else "没有停滞事件")
    more(rows, "停滞事件", f"停滞最久的 {len(rows)} 件")


@app.command("list")
def list_(stage: Optional[str] = typer.Option(None, "--stage", help="阶段"),
          level: Optional[str] = typer.Option(None, "--level", help="响应级别 I–IV（启动响应前：分级结果）"),
          event_level: Optional[str] = typer.Option(None, "--event-level",
                                                    help="事件等级 I–IV（与 --closed 同用）"),
          county: Optional[str] = typer.Option(None, "--county", help="县（区）"),
          drills: bool = typer.Option(False, "--drills", help="包括演练"),
          closed: bool = typer.Option(False, "--closed", help="已结案的事件，取自记录库"),
          include_closed: bool = typer.Option(False, "--include-closed",
                                              help="记录库中的全部事件，不论是否结案"),
          from_: Optional[str] = typer.Option(None, "--from", help="在此日期（年-月-日）或之后报告的（与 --closed 同用）"),
          to: Optional[str] = typer.Option(None, "--to", help="在此日期（年-月-日）或之前报告的（与 --closed 同用）"),
          type_: Optional[str] = typer.Option(None, "--type", help="事件类型（incident_type），如 water（与 --closed 同用）"),
          outcome: Optional[str] = typer.Option(None, "--outcome", help="结案方式：completed（办结）或 warning_lifted（预警解除）（与 --closed 同用）"),
          limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """按事件编号列出办理中的事件，可按阶段、级别、县（区）筛选（多于 --limit 件时，列出最近
    启动的）。--closed 在记录库中查找已结案的事件（最近报告的在前），各行另列 closed_at 和 outcome。"""
    from ecoplan import views  # lazy: see above

    if stage and stage not in STAGES:
        raise bad(f"--stage：“{stage}”不是阶段；可选 {'、'.join(f'{x}（{STAGE_NAMES[x]}）' for x in STAGES)}")
    if level and level not in ("I", "II", "III", "IV"):
        raise bad(f"--level：“{level}”不是响应级别；可选 I、II、III、IV")
    if event_level and event_level not in ("I", "II", "III", "IV"):
        raise bad(f"--event-level：“{event_level}”不是事件等级；可选 I、II、III、IV")
    if closed or include_closed:
        return records_cli.list_closed(include_running=include_closed, stage=stage, level=level,
                                       event_level=event_level, county=county,
                                       date_from=from_, date_to=to, incident_type=type_, outcome=outcome,
                                       drills=drills, limit=None if all_ else limit, as_json=as_json)
    if any(v is not None for v in (from_, to, type_, outcome, event_level)):
        raise bad("--from、--to、--type、--outcome、--event-level 用于查询记录库：请加 --closed 或 --include-closed")
    rows = run(lambda c: views.list_incidents(c, stage=stage, level=level, county=county, drills=drills,
                                                    limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], STAGE_NAMES.get(r["stage"], r["stage"]), r["level"], r["county"],
          "演练" if r["drill"] else "",
          f"{_deadline_cn(r['next_deadline']['name'])} {r['next_deadline']['due_at'][:16]}" if r["next_deadline"] else ""]
         for r in rs], ["事件编号", "事件名称", "阶段", "级别", "县（区）", "演练", "下一期限"])
        if rs else "没有进行中的事件")
    more(rows, "进行中的事件", f"最近开始的 {len(rows)} 件")


@app.command()
def faults(drills: bool = typer.Option(False, "--drills", help="包括演练"),
           limit: int = LimitOpt, all_: bool = AllOpt, as_json: bool = JsonOpt):
    """有内部故障的办理中事件（后台处理异常即工作流任务连续失败、工作日历不可用、投递超时或失败）。
    后台处理异常的事件排在最前，由运维人员用 ecoplan repair 修复。"""
    from ecoplan import views  # lazy: see above

    rows = run(lambda c: views.faults(c, drills=drills, limit=None if all_ else limit))
    emit(list(rows), as_json, lambda rs: table(
        [[r["incident_id"], r["title"], STAGE_NAMES.get(r["stage"], r["stage"]), FAULT_NAMES.get(r["fault"], r["fault"]),
          r["since"][:16], r["detail"]] for r in rs],
        ["事件编号", "事件名称", "阶段", "故障", "自", "详情"]) if rs else "没有故障")
    more(rows, "有故障的事件", f"最早的 {len(rows)} 项故障")
    if not as_json:  # channels down and pages nobody acknowledged (issue 23)
        from ecoplan.cli.reach import paging_fault_lines
        print("\n".join(paging_fault_lines()) or "通知渠道与呼叫：无故障")


def _entry_line(e: dict) -> str:
    who = _who(e)
    flag = "（未受理）" if e["rejected"] else ""
    if e.get("backdate_reason"):
        flag += f"（补录，登记于 {e['recorded_at'][:19]}：{e['backdate_reason']}）"
    move = (f" {STAGE_NAMES.get(e['from_stage'], e['from_stage'])}→{STAGE_NAMES.get(e['to_stage'], e['to_stage'])}"
            if e["from_stage"] != e["to_stage"] else "")
    detail = json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else ""
    return f"#{e['seq']:<4} {e['at'][:19]}  {who}  {_entry(e['action'])}{flag}{move}  {detail}"


@app.command()
def timeline(incident_id: str, follow: bool = typer.Option(False, "--follow", "-f",
                                                           help="持续输出新的记录，直到结案"),
             as_json: bool = JsonOpt):
    """事件的办理记录；加 --follow 时持续输出新的记录（按 Ctrl-C 停止）。"""
    from ecoplan import api  # lazy: see above

    async def go(client):
        seen = 0
        while True:
            st = await api.status(client, incident_id)
            for e in st["timeline"][seen:]:
                print(json.dumps(e, ensure_ascii=False) if as_json else _entry_line(e), flush=True)
            seen = len(st["timeline"])
            if not follow or st.get("outcome"):
                return
            await asyncio.sleep(1.0)

    run(go)


@app.command("daily-report")
def daily_report_cmd(date_: Optional[str] = typer.Option(None, "--date", help="日期，年-月-日（默认：今天）"),
                     as_json: bool = JsonOpt):
    """值班日报（零报告/日报告），与每天08:00定时生成的相同。--date 为过去的日期时：当天报告的
    事件及当天结束时的状态，取自记录库。"""
    from ecoplan import views  # lazy: see above

    day = parse_date(date_, "--date") if date_ else None
    spec = load_plan().plan.daily_report  # its time, period and contents are the plan's
    try:
        report = run(lambda c: views.daily_report(c, day, spec=spec))
    except records.RecordError as e:
        raise Fail(f"记录库读不了：{e}") from None
    emit(report, as_json, views.render_daily_report)



@schedule_app.command("daily-report")
def schedule_daily_report(as_json: bool = JsonOpt):
    """建立每天08:00（北京时间）生成日报的定时任务；已有则不重复建立。"""
    from ecoplan.schedules import ensure_daily_report_schedule  # lazy: see above

    created = run(ensure_daily_report_schedule)
    emit({"schedule": "ecoplan-daily-report", "created": created}, as_json,
         lambda d: f"定时任务 {d['schedule']} {'已建立' if d['created'] else '已存在'}（每日 08:00，北京时间）")

