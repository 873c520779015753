"""The daily duty report (零报告/日报告, 临安监发〔2018〕42号): compiled from the supervisor
views (visibility queries, activities/supervisor_views.py) with the plan's daily_report
settings, rendered in Chinese, and, as an activity, written to the archive as JSON and
Markdown. The CLI and the console show the same report through ecoplan/views.py.

The plan's models, the plan loader, the documents' stage names and the records store are
imported where they are used, and the activity settings only for type checking: every CLI
view imports this module (through ecoplan/views.py), and they would add about a quarter of
a second to each.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client

from activities.supervisor_views import base_query, next_deadline, overdue, each_row, rows_of, stuck, time_literal
from plan.calendar import SHANGHAI
from plan.stages import STAGE_NAMES

if TYPE_CHECKING:  # activities.settings loads the documents package (fonts): 0.2 s to each CLI view
    from activities.settings import ActivitySettings


class DailyReportRequest(BaseModel):
    report_date: date | None = None  # default: today, Asia/Shanghai
    now: datetime | None = None  # default: the wall clock (activities may read it)
    plan: str | None = None  # whose daily_report settings (plan id or path); None = the shipped default


# ------------------------------------------------------------------ the report


REPORT_HOUR = time(8, 0)  # the duty report's time, Asia/Shanghai


def report_period(report_date: date, now: datetime, spec=None) -> tuple[datetime, datetime]:
    """A past date's report covers the plan's period (24 h) up to its time (08:00). Today's
    covers the time since the last report, and within the first hour after its time (the
    scheduled run) the whole period before it."""
    at = time(spec.hour, spec.minute) if spec is not None else REPORT_HOUR
    period = spec.period.as_timedelta() if spec is not None else timedelta(days=1)
    eight = datetime.combine(report_date, at, SHANGHAI)
    if report_date < now.date():
        return eight - period, eight
    last = eight if now >= eight else eight - timedelta(days=1)
    start = last - period if now - last < timedelta(hours=1) else last
    return start, now


async def daily_report(client: Client, report_date: date | None = None, now: datetime | None = None,
                       spec=None, records_db=None) -> dict:
    """零报告/日报告: open incidents by stage and level, incidents reported since the last
    report, overdue and stuck ones, deadlines due soon; an explicit zero report when there
    is nothing. Its time, period, look-ahead, recipients and contents are the plan's
    (`daily_report`, local choices marked there). A past date: from the records store, the
    incidents reported that day and the state as of its end (activities/daily_past.py)."""
    from plan.models import DEFAULT_DAILY_REPORT

    spec = spec or DEFAULT_DAILY_REPORT
    now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    if report_date is not None and report_date < now.date():
        from activities.daily_past import past_daily_report

        return past_daily_report(report_date, records_db)
    period_start, period_end = report_period(report_date or now.date(), now, spec)
    ahead = spec.look_ahead.as_timedelta()
    report_date = report_date or now.date()

    def soon(r) -> list[dict]:
        nd = next_deadline(r.memo)
        if nd and now <= datetime.fromisoformat(nd["due_at"]) <= now + ahead:
            return [{"incident_id": r.incident_id, "title": r.title, **nd}]
        return []

    # Read a page at a time and kept only as counts and the rows the report lists: with every
    # row held at once, the compile at 10,000 open took the worker from 386 to 524 MB.
    open_count, by_stage, by_level, due_soon = 0, Counter(), Counter(), []
    async for r in each_row(client, base_query()):
        open_count += 1
        by_stage[r.stage] += 1
        by_level[r.level] += 1
        due_soon += rows_of(r, lambda: soon(r), name="", due_at="")
    # New: reported (reported_at, Asia/Shanghai) within the period, however late it was entered.
    # An incident is entered after it is reported, so every candidate started after period_start.
    entered = base_query(running=False) + f" AND StartTime >= {time_literal(period_start)}"
    new_incidents = [{"incident_id": r.incident_id, "title": r.title, "county": r.county, "level": r.level,
                      "stage": r.stage} async for r in each_row(client, entered)
                     if r.reported_at and period_start <= r.reported_at < period_end]
    late = await overdue(client, now=now)
    idle = await stuck(client, now=now)
    report = {
        "report_date": report_date.isoformat(),
        "generated_at": now.isoformat(),
        "period": {"from": period_start.isoformat(), "to": period_end.isoformat()},
        "open_incidents": open_count,
        "by_stage": dict(by_stage),
        "by_level": dict(by_level),
        "new_incidents": new_incidents,
        "overdue": late,
        "stuck": idle,
        "due_next_24h": sorted(due_soon, key=lambda x: x["due_at"]),
        "settings": {"at": spec.at, "period": spec.period.label(), "look_ahead": spec.look_ahead.label(),
                     "recipients": list(spec.recipients), "contents": list(spec.contents), "source": spec.source,
                     "local_choices": [b.label() for b in spec.basis if b.status == "local_choice"]},
        "recipients": list(spec.recipients),
    }
    shown = {"open_incidents": open_count, "new_incidents": new_incidents, "overdue": late, "stuck": idle,
             "due_soon": due_soon}
    report["zero_report"] = not any(shown[c] for c in spec.contents)
    return report


def _cn(stage: str | None) -> str:
    return STAGE_NAMES.get(stage or "", stage or "—")


def _stage_order(kv) -> int:
    order = list(STAGE_NAMES)
    return order.index(kv[0]) if kv[0] in order else len(order)


def _deadline_cn(name: str) -> str:
    from plan.loader import PlanError, load_plan

    try:
        rule = load_plan().plan.deadline(name)
    except PlanError:
        rule = None
    return rule.title if rule is not None else name


def _hm(t: str) -> str:
    return t[:16].replace("T", " ")


def render_daily_report(r: dict) -> str:
    """The report in Chinese: stage and deadline names as the plan writes them; the sections
    the plan's `daily_report.contents` lists."""
    cfg = r.get("settings") or {}
    contents = cfg.get("contents") or ["open_incidents", "new_incidents", "overdue", "stuck", "due_soon"]
    ahead = (cfg.get("look_ahead") or "24 小时").replace(" h", "小时").replace(" days", "天")  # "24 h": kept reports
    ahead = ahead.replace(" 小时", "小时").replace(" 天", "天").replace(" 个工作日", "个工作日")  # in a sentence: 未来24小时
    lines = [f"# 突发环境事件日报告 {r['report_date']}", "",
             f"统计时段：{_hm(r['period']['from'])} 至 {_hm(r['period']['to'])}（生成于 {_hm(r['generated_at'])}）"]
    if cfg.get("recipients"):
        lines.append(f"报送：{'、'.join(cfg['recipients'])}（{cfg.get('at', '')}）")
    if r.get("as_of"):
        lines.append(f"事件状态截至 {_hm(r['as_of'])}（据归档记录；新报事件按报告时间计）")
    lines.append("")
    if r["zero_report"]:
        none = {"new_incidents": "无新发突发环境事件", "open_incidents": "无在办事件", "overdue": "无逾期事项",
                "stuck": "无停滞事件", "due_soon": f"未来{ahead}无到期事项"}
        lines += ["**零报告**：本时段" + "，".join(none[c] for c in contents) + "。"]
        return "\n".join(lines)
    if "open_incidents" in contents:
        lines += [f"在办事件：{r['open_incidents']} 起",
                  "按阶段：" + ("，".join(f"{_cn(k)} {v}" for k, v in sorted(r["by_stage"].items(), key=_stage_order)) or "无"),
                  "按级别：" + ("，".join(f"{k or '未定'}级 {v}" for k, v in sorted(r["by_level"].items(), key=lambda kv: kv[0] or "")) or "无"),
                  ""]
    if "new_incidents" in contents:
        lines.append(f"## 新报事件（{len(r['new_incidents'])}）")
        lines += [f"- {x['incident_id']} {x['title']}（{x['county']}，{x['level'] or '—'}级，{_cn(x['stage'])}）"
                  for x in r["new_incidents"]] or ["- 无"]
    if "overdue" in contents:
        lines.append(f"\n## 逾期事项（{len(r['overdue'])}）")
        lines += [f"- {x['incident_id']} {x['title']}：{x.get('deadline_title') or _deadline_cn(x['deadline'])} 应于 "
                  f"{_hm(x['due_at'])}，已逾期 {x['late_by_seconds'] // 3600} 小时"
                  + (f"；待办：{'、'.join(x['waiting_on'])}" if x.get("waiting_on") else "") for x in r["overdue"]] or ["- 无"]
    if "stuck" in contents:
        if r.get("from_records"):
            lines.append("\n## 停滞事件：历史日期不统计（见 ecoplan stuck）")
        else:
            lines.append(f"\n## 停滞事件（{len(r['stuck'])}）")
            lines += [f"- {x['incident_id']} {x['title']}：{_cn(x['stage'])} 自 {_hm(x['since'])}；等待：{'、'.join(x['waiting_on']) or '—'}"
                      for x in r["stuck"]] or ["- 无"]
    if "due_soon" in contents:
        lines.append(f"\n## 未来{ahead}到期（{len(r['due_next_24h'])}）")
        lines += [f"- {x['incident_id']} {x['title']}：{x.get('title_cn') or _deadline_cn(x['name'])} {_hm(x['due_at'])}"
                  for x in r["due_next_24h"]] or ["- 无"]
    return "\n".join(lines)


# ------------------------------------------------------------------ the activity


class DailyReportActivities:
    """The daily report needs the Temporal client for its visibility queries."""

    def __init__(self, client: Client, settings: ActivitySettings):
        self.client = client
        self.settings = settings

    @activity.defn
    async def compile_daily_report(self, req: DailyReportRequest) -> dict:
        from plan.loader import load_plan

        # Time, period, recipients and contents are the plan's (read here, not in the workflow).
        spec = load_plan(req.plan).plan.daily_report
        report = await daily_report(self.client, req.report_date, req.now, spec=spec,
                                    records_db=self.settings.records_db)
        folder = self.settings.archive_dir / "daily"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / report["report_date"]
        stem.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        stem.with_suffix(".md").write_text(render_daily_report(report) + "\n", encoding="utf-8")
        if self.settings.database_url:  # issue 27: the full copy is not left on this worker's disk only
            from activities import archive_store

            await asyncio.to_thread(archive_store.publish, self.settings.database_url, self.settings.archive_dir,
                                    "daily", [stem.with_suffix(".json").name, stem.with_suffix(".md").name])
        return for_history(report)


# Entries of each list the activity returns into history (the archive keeps them all). At
# 10,000 open incidents the whole report was 3.57 MB, over Temporal's 2 MiB payload limit: the
# activity failed every attempt and no daily report went out (BENCHMARKS.md, issue 26 item 4).
# 100 entries of each of the four lists stay under 0.2 MB (local choice).
LISTS_KEPT = 100
LISTS = ("new_incidents", "overdue", "stuck", "due_next_24h")


def for_history(report: dict) -> dict:
    """The report as the workflow gets it: every figure, each list's full length in `counts`,
    and at most LISTS_KEPT entries of each list (`cut`: some were left out; the archived
    daily/<date>.json and .md hold them all)."""
    out = dict(report)
    out["counts"] = {k: len(report.get(k) or []) for k in LISTS}
    out["cut"] = any(n > LISTS_KEPT for n in out["counts"].values())
    for k in LISTS:
        out[k] = list(report.get(k) or [])[:LISTS_KEPT]
    out["archived"] = f"daily/{report['report_date']}.json"
    return out
