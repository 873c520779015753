"""Supervisor views: which incidents are overdue, which are stuck, on whom they wait.

Every view is a visibility query (List Workflows) over the custom search attributes and
the `supervision` memo each incident keeps up to date; no worker is touched, so the
answer comes even when workers are busy or down. Visibility is eventually consistent:
a change shows within about a second; `ecoplan status ID` reads the workflow itself.

The same functions serve the CLI and the daily duty report (零报告/日报告, seed 004), which
a Temporal Schedule runs every day at 08:00 Asia/Shanghai.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

from plan.calendar import SHANGHAI
import workflows.search_attributes as sa

WORKFLOW_TYPE = "IncidentWorkflow"


def _q(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ts(t: datetime) -> str:
    return _q(t.astimezone(SHANGHAI).isoformat())


def base_query(drills: bool = False, running: bool = True) -> str:
    q = [f"WorkflowType = {_q(WORKFLOW_TYPE)}"]
    if running:
        q.append("ExecutionStatus = 'Running'")
    if not drills:
        q.append("EcoDrill = false")
    return " AND ".join(q)


class Row(BaseModel):
    """What one incident tells the visibility index about itself."""

    incident_id: str
    title: str
    county: str | None
    level: str | None
    stage: str | None
    drill: bool
    stage_entered_at: datetime | None
    waiting_on: list[str]
    pending_signoffs: list[str]
    memo: dict
    reported_at: datetime | None = None  # when the bureau learned of it (start memo; older incidents: entered)


class Page(list):
    """The rows a view shows, most urgent first. With a limit, a view shows the `limit` most
    urgent rows; `complete` says whether that was every row, and `total` how many incidents
    the view has in all (None when that is not known without reading them all)."""

    def __init__(self, rows: list, complete: bool, total: int | None):
        super().__init__(rows)
        self.complete = complete
        self.total = total


PAGE = 1000  # visibility rows per request (the server's maximum page)


def _value(client: Client, payload: Payload) -> Any:
    # Search attributes and memos are JSON; decoding only the fields a view prints, straight
    # from the payload, costs a fraction of the SDK's decoding every attribute of every row.
    if payload.metadata.get("encoding") == b"json/plain":
        return json.loads(payload.data)
    return client.data_converter.payload_converter.from_payload(payload)


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _row(client: Client, info) -> Row:
    fields = info.search_attributes.indexed_fields

    def attr(key):
        return _value(client, fields[key.name]) if key.name in fields else None

    memo = info.memo.fields
    sup = _value(client, memo["supervision"]) if "supervision" in memo else {}
    title = sup.get("title") if sup else None
    if not title and "title" in memo:
        title = _value(client, memo["title"])
    return Row(
        incident_id=info.execution.workflow_id.removeprefix("incident-"),
        title=title or "",
        county=attr(sa.COUNTY),
        level=attr(sa.LEVEL),
        stage=attr(sa.STAGE),
        drill=bool(attr(sa.DRILL)),
        stage_entered_at=_when(attr(sa.STAGE_ENTERED_AT)),
        waiting_on=list(attr(sa.WAITING_ON) or []),
        pending_signoffs=list(attr(sa.PENDING_SIGNOFFS) or []),
        memo=sup or {},
        # An incident started before the memo carried it: when it was entered.
        reported_at=(_when(_value(client, memo["reported_at"])) if "reported_at" in memo
                     else info.start_time.ToDatetime().replace(tzinfo=timezone.utc)),
    )


async def _rows(client: Client, query: str, limit: int | None = None) -> list[Row]:
    """Rows of a visibility query in the server's order (running ones newest first)."""
    rows: list[Row] = []
    token = b""
    while limit is None or len(rows) < limit:
        size = PAGE if limit is None else min(PAGE, limit - len(rows))
        resp = await client.workflow_service.list_workflow_executions(ListWorkflowExecutionsRequest(
            namespace=client.namespace, query=query, page_size=size, next_page_token=token))
        rows += [_row(client, info) for info in resp.executions]
        token = resp.next_page_token
        if not token:
            break
    return rows


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def _earliest(client: Client, query: str, key: SearchAttributeKey, want: int | None,
                    now: datetime) -> tuple[str, int]:
    """A query for the incidents of `query` with the earliest `key` (a datetime attribute),
    at least `want` of them, or all when there are fewer; and how many `query` has in all.

    SQL visibility refuses ORDER BY, and listing every row costs about 0.4 ms a row on the
    server (2,000 overdue rows: 0.75 s). Counting is cheap (10 ms over 10,000), so the cut-off
    time is found by counting: back from now in growing steps, then by interpolation and
    halving between the last two counts, until the window holds want to 2·want incidents."""
    total = await _count(client, query)
    if want is None or total <= 2 * want:
        return query, total

    def before(t: datetime) -> str:
        return f"{query} AND {key.name} < {_ts(t)}"

    # hi: a time with at least `want` keys before it (None: past every key, all `total`);
    # lo: a time with fewer than `want` before it.
    hi: datetime | None = None
    c_hi = total
    lo, c_lo = None, 0
    step = timedelta(hours=1)
    while lo is None:
        t = now - step
        c = await _count(client, before(t))
        if c < want:
            lo, c_lo = t, c
        else:
            hi, c_hi = t, c
            if c_hi <= 2 * want or step > timedelta(days=365 * 30):  # (more than `want` before 1996: take them)
                return before(hi), total
            step *= 4
    halve = False
    for _ in range(40):
        # Keys are times up to now (a business time may run 5 minutes ahead): search below that.
        top = hi if hi is not None else max(now + timedelta(minutes=10), lo + timedelta(seconds=2))
        if c_hi <= 2 * want or top - lo <= timedelta(seconds=1):
            break
        if halve:
            frac = 0.5
        else:  # aim at 1.5·want, assuming the keys spread evenly between lo and top
            frac = min(max((1.5 * want - c_lo) / max(c_hi - c_lo, 1), 0.05), 0.95)
        t = lo + (top - lo) * frac
        c = await _count(client, before(t))
        if c < want:
            lo, c_lo = t, c
        else:
            hi, c_hi = t, c
        halve = not halve  # alternate: interpolation is fast on even spreads, halving on skewed ones
    return (before(hi) if hi is not None else query), total


# ------------------------------------------------------------------ the three views
# Each shows the `limit` most urgent rows (all without a limit) and counts the rest, so an
# answer over 10,000 open incidents costs about what one over 100 does.


async def overdue(client: Client, drills: bool = False, now: datetime | None = None,
                  limit: int | None = None) -> Page:
    """One row per overdue deadline, most late first."""
    now = now or datetime.now(SHANGHAI)
    # An incident's EcoOverdueSince is its earliest overdue due time: its most late deadline.
    query, total = await _earliest(client, base_query(drills) + " AND EcoOverdueSince IS NOT NULL",
                                   sa.OVERDUE_SINCE, limit, now)
    out = []
    for r in await _rows(client, query):
        for d in r.memo.get("overdue", []):
            due = datetime.fromisoformat(d["due_at"])
            out.append({
                "incident_id": r.incident_id, "title": r.title, "county": r.county, "level": r.level,
                "stage": r.stage, "deadline": d["deadline"], "due_at": due.astimezone(SHANGHAI).isoformat(),
                "late_by_seconds": int((now - due).total_seconds()),
                "waiting_on": [d["who_acts"], *(w for w in r.waiting_on if w != d["who_acts"])],
                "faults": _fault_names(r),
            })
    out.sort(key=lambda x: (-x["late_by_seconds"], x["incident_id"]))
    if limit is None:
        return Page(out, True, len({x["incident_id"] for x in out}))
    return Page(out[:limit], len(out) <= limit and len({x["incident_id"] for x in out}) >= total, total)


def _fault_names(r: Row) -> list[str]:
    return [f["fault"] for f in r.memo.get("faults", [])]


async def faults(client: Client, drills: bool = False, limit: int | None = None) -> Page:
    """Running incidents with an internal fault: the calendar unavailable, the plan not
    loaded, deliveries overdue or given up; oldest fault first."""
    query = base_query(drills) + f" AND {sa.FAULT.name} IS NOT NULL"
    rows = []
    for r in await _rows(client, query):
        for f in r.memo.get("faults", []):
            rows.append({"incident_id": r.incident_id, "title": r.title, "stage": r.stage, "fault": f["fault"],
                         "since": f["since"], "detail": f.get("error") or f.get("last") or f"{f.get('count')} deliveries"})
    rows.sort(key=lambda x: (x["since"], x["incident_id"]))
    total = len({x["incident_id"] for x in rows})
    if limit is None:
        return Page(rows, True, total)
    return Page(rows[:limit], len(rows) <= limit, total)


async def provisional(client: Client, drills: bool = False, limit: int | None = None) -> Page:
    """Open deadlines whose due date is provisional: counted Monday to Friday because the
    holiday notice of a year they touch is not loaded; earliest due first. `recompute-deadlines`
    (run by `ecoplan calendar add-year` for all of them) settles them once it is."""
    query = base_query(drills) + f" AND {sa.PROVISIONAL.name} IS NOT NULL"
    total = await _count(client, query)
    rows = []
    for r in await _rows(client, query, limit):
        for d in r.memo.get("provisional", []):
            rows.append({"incident_id": r.incident_id, "title": r.title, "stage": r.stage, "county": r.county,
                         "deadline": d["deadline"], "due_date": d.get("due_date"), "status": d.get("status")})
    rows.sort(key=lambda x: (x["due_date"] or "", x["incident_id"]))
    return Page(rows, limit is None or total <= limit, total)


def parse_duration(text: str) -> timedelta:
    """'90m', '6h', '3d', '1d12h' → timedelta; one-line ValueError otherwise."""
    import re

    parts = re.fullmatch(r"\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*", text or "")
    if not text or not text.strip() or not parts or not any(parts.groups()):
        raise ValueError(f"{text!r} is not a duration like 90m, 6h, 3d or 1d12h")
    d, h, m = (int(x or 0) for x in parts.groups())
    return timedelta(days=d, hours=h, minutes=m)


def _stuck_row(r: Row, now: datetime) -> dict:
    return {
        "incident_id": r.incident_id, "title": r.title, "stage": r.stage,
        "since": r.stage_entered_at.astimezone(SHANGHAI).isoformat(),
        "idle_seconds": int((now - r.stage_entered_at).total_seconds()),
        "waiting_on": r.waiting_on, "county": r.county, "level": r.level, "faults": _fault_names(r),
    }


async def stuck(client: Client, idle: timedelta | None = None, drills: bool = False,
                now: datetime | None = None, limit: int | None = None) -> Page:
    """Incidents whose stage has not changed for longer than their plan expects for that
    stage (each incident's memo carries `stuck_after` from its own plan), or than `idle`;
    longest idle first."""
    now = now or datetime.now(SHANGHAI)
    key = sa.STAGE_ENTERED_AT
    if idle is not None:
        query, total = await _earliest(client, base_query(drills) + f" AND {key.name} < {_ts(now - idle)}",
                                       key, limit, now)
        rows = [_stuck_row(r, now) for r in await _rows(client, query) if r.stage_entered_at]
        rows.sort(key=lambda x: (-x["idle_seconds"], x["incident_id"]))
        if limit is None:
            return Page(rows, True, len(rows))
        return Page(rows[:limit], len(rows) <= limit and len(rows) >= total, total)
    # Each plan says per stage when an incident counts as stuck, and only the memo carries it,
    # so the server cannot filter on it. The longest idle are the earliest entered: widen a
    # window of those until it holds `limit` stuck ones, or everything has been read.
    base = base_query(drills) + f" AND {key.name} IS NOT NULL"
    want = None if limit is None else limit + 1  # one more than shown tells whether there are more
    while True:
        query, _ = await _earliest(client, base, key, want, now)
        rows = [_stuck_row(r, now) for r in await _rows(client, query)
                if r.stage_entered_at and r.memo.get("stuck_after")
                and datetime.fromisoformat(r.memo["stuck_after"]) <= now]
        rows.sort(key=lambda x: (-x["idle_seconds"], x["incident_id"]))
        if want is None or len(rows) >= want or query == base:
            break
        want *= 4
    if limit is None:
        return Page(rows, True, len(rows))
    if query == base:  # every candidate was read
        return Page(rows[:limit], len(rows) <= limit, len(rows))
    # More are stuck than shown; how many is not known without reading every incident.
    return Page(rows[:limit], False, None)


async def list_incidents(client: Client, stage: str | None = None, level: str | None = None,
                         county: str | None = None, drills: bool = False, limit: int | None = None) -> Page:
    """Running incidents by incident id; with a limit, the most recently started ones."""
    query = base_query(drills)
    for key, value in ((sa.STAGE, stage), (sa.LEVEL, level), (sa.COUNTY, county)):
        if value:
            query += f" AND {key.name} = {_q(value)}"
    rows = await _rows(client, query, limit)
    total = len(rows) if limit is None or len(rows) < limit else await _count(client, query)
    out = [{
        "incident_id": r.incident_id, "title": r.title, "stage": r.stage, "level": r.level,
        "county": r.county, "drill": r.drill, "next_deadline": r.memo.get("next_deadline"),
    } for r in rows]
    return Page(sorted(out, key=lambda x: x["incident_id"]), len(out) >= total, total)


# ------------------------------------------------------------------ daily duty report


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
    incidents reported that day and the state as of its end (ecoplan/daily_past.py)."""
    from plan.models import DEFAULT_DAILY_REPORT

    spec = spec or DEFAULT_DAILY_REPORT
    now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    if report_date is not None and report_date < now.date():
        from ecoplan.daily_past import past_daily_report

        return past_daily_report(report_date, records_db)
    period_start, period_end = report_period(report_date or now.date(), now, spec)
    ahead = spec.look_ahead.as_timedelta()
    report_date = report_date or now.date()
    open_rows = await _rows(client, base_query())
    # New: reported (reported_at, Asia/Shanghai) within the period, however late it was entered.
    # An incident is entered after it is reported, so every candidate started after period_start.
    entered = await _rows(client, base_query(running=False) + f" AND StartTime >= {_ts(period_start)}")
    new_rows = [r for r in entered if r.reported_at and period_start <= r.reported_at < period_end]
    due_soon = []
    for r in open_rows:
        nd = r.memo.get("next_deadline")
        if nd and now <= datetime.fromisoformat(nd["due_at"]) <= now + ahead:
            due_soon.append({"incident_id": r.incident_id, "title": r.title, **nd})
    late = await overdue(client, now=now)
    idle = await stuck(client, now=now)
    report = {
        "report_date": report_date.isoformat(),
        "generated_at": now.isoformat(),
        "period": {"from": period_start.isoformat(), "to": period_end.isoformat()},
        "open_incidents": len(open_rows),
        "by_stage": dict(Counter(r.stage for r in open_rows)),
        "by_level": dict(Counter(r.level for r in open_rows)),
        "new_incidents": [{"incident_id": r.incident_id, "title": r.title, "county": r.county,
                           "level": r.level, "stage": r.stage} for r in new_rows],
        "overdue": late,
        "stuck": idle,
        "due_next_24h": sorted(due_soon, key=lambda x: x["due_at"]),
        "settings": {"at": spec.at, "period": spec.period.label(), "look_ahead": spec.look_ahead.label(),
                     "recipients": list(spec.recipients), "contents": list(spec.contents), "source": spec.source,
                     "local_choices": [b.label() for b in spec.basis if b.status == "local_choice"]},
        "recipients": list(spec.recipients),
    }
    shown = {"open_incidents": open_rows, "new_incidents": new_rows, "overdue": late, "stuck": idle,
             "due_soon": due_soon}
    report["zero_report"] = not any(shown[c] for c in spec.contents)
    return report


def _cn(stage: str | None) -> str:
    from activities.documents.mapping import STAGE_NAMES

    return STAGE_NAMES.get(stage or "", stage or "—")


def _stage_order(kv) -> int:
    from activities.documents.mapping import STAGE_NAMES

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
    ahead = (cfg.get("look_ahead") or "24 h").replace(" h", "小时").replace(" days", "天")
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


def summary_line(report: dict) -> str:
    if report["zero_report"]:
        return f"日报告 {report['report_date']}：零报告"
    return (f"日报告 {report['report_date']}：在办 {report['open_incidents']}，新报 {len(report['new_incidents'])}，"
            f"逾期 {len(report['overdue'])}，停滞 {len(report['stuck'])}")


