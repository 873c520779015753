"""Periodic reports (月度、季度、半年度和年度报告以及统计情况, 17号令 第十条): pure computation over
the records store's IncidentRecords, as JSON and as Markdown with Chinese labels.

Every figure is as of the period's end (or now, for a period not yet over), so a report made
again later gives the same figures:
- counts: incidents reported (获知, `reported_at`) within the period;
- deadlines: those that fell due within the period; on time = met at or before due; late =
  met after due; unmet = not met by the period's end (late so far: end − due);
- durations: each counted in the period its end falls in (初报, 响应终止, 评估报告报送);
  median, and the 90th percentile by nearest rank (the ⌈0.9·n⌉-th smallest);
- open: reported before the end and not closed by then, with the phase reached by then;
- level: the response level in force at the end, else the graded (初判) level;
- drills (演练) are left out of every figure and counted apart.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Iterable, get_args

from pydantic import BaseModel

from activities.records_store import IncidentRecord
from plan.calendar import SHANGHAI
from plan.incident import IncidentType, Source

LEVELS = ["I", "II", "III", "IV"]
LEVEL_NAMES = {"I": "特别重大（I级）", "II": "重大（II级）", "III": "较大（III级）", "IV": "一般（IV级）"}
TYPE_NAMES = {"water": "水污染", "air": "大气污染", "soil": "土壤污染", "hazardous_chemicals": "危险化学品",
              "solid_waste": "固体废物", "other": "其他"}
SOURCE_NAMES = {"hotline_12369": "12369环保热线", "linkage_119": "119联动", "inspection": "执法检查",
                "county_bureau": "县区分局报告", "other": "其他"}
DEADLINE_ORDER = ["initial_report", "readiness", "assessment_completion", "investigation", "assessment_report"]
DEADLINE_NAMES = {"initial_report": "初报", "readiness": "应急力量准备", "assessment_completion": "污染损害评估完成",
                  "investigation": "事件调查", "assessment_report": "损害评估报告报送"}
PHASE_NAMES = {"reported": "接报", "warning": "预警", "responding": "应急响应", "post_event": "后期处置"}
DURATIONS = {  # key: (label, start field, end field)
    "learned_to_initial_report": ("获知→初报", "reported_at", "initial_report_at"),
    "activation_to_termination": ("启动响应→响应终止", "activated_at", "terminated_at"),
    "termination_to_assessment_report": ("响应终止→损害评估报告报送", "terminated_at", "assessment_report_at"),
}
KIND_NAMES = {"month": "月度", "quarter": "季度", "half": "半年度", "year": "年度"}


class PeriodError(ValueError):
    pass


class Period(BaseModel):
    kind: str  # month / quarter / half / year
    label: str  # 2026-11, 2026Q4, 2026H2, 2026
    name: str  # 2026年11月 …
    start: datetime  # inclusive, Asia/Shanghai
    end: datetime  # exclusive


def _first(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=SHANGHAI)


PERIOD_WORDS = {"month": "月份", "quarter": "季度", "half": "半年", "year": "年份"}  # as typed: 2026-11 is a 月份


def parse_period(month: str | None = None, quarter: str | None = None, half: str | None = None,
                 year: str | None = None) -> Period:
    """Exactly one of --month 2026-11, --quarter 2026Q4, --half 2026H2, --year 2026."""
    given = {k: v for k, v in (("month", month), ("quarter", quarter), ("half", half), ("year", year)) if v is not None}
    if len(given) != 1:
        raise PeriodError("请只给出一个统计期：--month 2026-11、--quarter 2026Q4、--half 2026H2 或 --year 2026 这样的一项")
    kind, text = next(iter(given.items()))
    pattern = {"month": r"(\d{4})-(\d{2})", "quarter": r"(\d{4})[Qq]([1-4])", "half": r"(\d{4})[Hh]([12])",
               "year": r"(\d{4})"}[kind]
    m = re.fullmatch(pattern, text.strip())
    example = {"month": "2026-11", "quarter": "2026Q4", "half": "2026H2", "year": "2026"}[kind]
    if not m or not 2000 <= int(m.group(1)) <= 2100 or (kind == "month" and not 1 <= int(m.group(2)) <= 12):
        raise PeriodError(f"--{kind}：“{text}”不是有效的{PERIOD_WORDS[kind]}（如 {example}）")
    y = int(m.group(1))
    n = int(m.group(2)) if kind != "year" else 1
    months = {"month": 1, "quarter": 3, "half": 6, "year": 12}[kind]
    first = {"month": n, "quarter": 3 * n - 2, "half": 6 * n - 5, "year": 1}[kind]
    after = first + months
    end = _first(y + 1, 1) if after > 12 else _first(y, after)
    label = {"month": f"{y}-{n:02d}", "quarter": f"{y}Q{n}", "half": f"{y}H{n}", "year": f"{y}"}[kind]
    if kind == "month":
        name = f"{y}年{n}月"
    elif kind == "quarter":
        name = f"{y}年第{'一二三四'[n - 1]}季度"
    elif kind == "half":
        name = f"{y}年{'上下'[n - 1]}半年"
    else:
        name = f"{y}年"
    return Period(kind=kind, label=label, name=name, start=_first(y, first), end=end)


def _in(t: datetime | None, start: datetime, end: datetime) -> bool:
    return t is not None and start <= t < end


def _seconds(d: timedelta) -> int | float:
    s = d.total_seconds()
    return int(s) if s == int(s) else s


def _stats(values: list[int | float]) -> dict:
    if not values:
        return {"count": 0, "median_seconds": None, "p90_seconds": None}
    ordered = sorted(values)
    median = statistics.median(ordered)
    return {"count": len(ordered), "median_seconds": int(median) if median == int(median) else median,
            "p90_seconds": ordered[math.ceil(0.9 * len(ordered)) - 1]}


def _counts(values: Iterable[str | None], keys: list[str]) -> dict[str, int]:
    """Every known key (zeros too) in its order, then others (most first)."""
    c = Counter(v if v is not None else "unknown" for v in values)
    out = {k: c.pop(k, 0) for k in keys}
    out.update(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def _phase(r: IncidentRecord, t: datetime) -> str:
    if r.terminated_at is not None and r.terminated_at < t:
        return "post_event"
    if r.activated_at is not None and r.activated_at < t:
        return "responding"
    if r.warning_at is not None and r.warning_at < t:
        return "warning"
    return "reported"


def compute(records: Iterable[IncidentRecord], period: Period, now: datetime | None = None) -> dict:
    """The period's figures as of its end (or `now`, when that is earlier)."""
    now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    if now <= period.start:
        raise PeriodError(f"统计期 {period.label} 尚未开始")
    start, cut = period.start, min(period.end, now)
    all_ = list(records)
    real = [r for r in all_ if not r.drill]
    drills = [r for r in all_ if r.drill and _in(r.reported_at, start, cut)]
    reported = sorted((r for r in real if _in(r.reported_at, start, cut)), key=lambda r: (r.reported_at, r.incident_id))

    deadlines: dict[str, dict] = {}
    for r in real:
        for d in r.deadlines:
            if not _in(d.due_at, start, cut):  # (a due time still being computed is None: not due)
                continue
            row = deadlines.setdefault(d.name, {"name": d.name, "title": DEADLINE_NAMES.get(d.name, d.title),
                                                "due": 0, "on_time": 0, "met_late": 0, "unmet": 0, "late": []})
            row["due"] += 1
            if d.met_at is not None and d.met_at <= d.due_at:
                row["on_time"] += 1
                continue
            met = d.met_at is not None and d.met_at < cut
            row["met_late" if met else "unmet"] += 1
            row["late"].append({"incident_id": r.incident_id, "title": r.title, "due_at": d.due_at.isoformat(),
                                "met_at": d.met_at.isoformat() if met else None, "met": met,
                                "late_by_seconds": _seconds((d.met_at if met else cut) - d.due_at)})
    for row in deadlines.values():
        row["on_time_rate"] = row["on_time"] / row["due"]
        row["late"].sort(key=lambda x: (-x["late_by_seconds"], x["incident_id"]))
        lates = [x["late_by_seconds"] for x in row["late"]]
        row["max_late_seconds"] = max(lates, default=None)
        row["median_late_seconds"] = _stats(lates)["median_seconds"]
    order = {n: i for i, n in enumerate(DEADLINE_ORDER)}
    deadline_rows = sorted(deadlines.values(), key=lambda x: (order.get(x["name"], len(order)), x["name"]))

    durations = {}
    for key, (label, a, b) in DURATIONS.items():
        values = [_seconds(getattr(r, b) - getattr(r, a)) for r in real
                  if getattr(r, a) is not None and _in(getattr(r, b), start, cut)]
        durations[key] = {"label": label, **_stats(values)}

    open_ = sorted((r for r in real if r.reported_at < cut and (r.closed_at is None or r.closed_at >= cut)),
                   key=lambda r: (r.reported_at, r.incident_id))
    open_rows = [{"incident_id": r.incident_id, "title": r.title, "county": r.county, "level": r.level_at(cut),
                  "phase": _phase(r, cut), "reported_at": r.reported_at.isoformat()} for r in open_]

    return {
        "period": {**period.model_dump(mode="json"), "as_of": cut.isoformat(), "complete": cut == period.end},
        "basis": "《突发环境事件信息报告办法》（环境保护部令第17号）第十条",
        "incidents": {
            "total": len(reported),
            "by_level": _counts((r.level_at(cut) for r in reported), LEVELS),
            "by_type": _counts((r.incident_type for r in reported), list(get_args(IncidentType))),
            "by_county": _counts((r.county for r in reported), []),
            "by_source": _counts((r.source for r in reported), list(get_args(Source))),
            "list": [{"incident_id": r.incident_id, "title": r.title, "county": r.county, "level": r.level_at(cut),
                      "incident_type": r.incident_type, "source": r.source, "reported_at": r.reported_at.isoformat(),
                      "closed_at": r.closed_at.isoformat() if r.closed_at and r.closed_at < cut else None,
                      "outcome": r.outcome if r.closed_at and r.closed_at < cut else None} for r in reported],
        },
        "deadlines": deadline_rows,
        "durations": durations,
        "open_at_end": {"count": len(open_rows), "by_phase": _counts((x["phase"] for x in open_rows), list(PHASE_NAMES)),
                        "list": open_rows},
        "drills": {"total": len(drills), "by_type": _counts((r.incident_type for r in drills), []),
                   "list": [{"incident_id": r.incident_id, "title": r.title, "county": r.county,
                             "reported_at": r.reported_at.isoformat()}
                            for r in sorted(drills, key=lambda r: (r.reported_at, r.incident_id))]},
    }


# ------------------------------------------------------------------ Markdown


def duration_text(seconds: int | float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}秒"
    d, rest = divmod(s // 60, 1440)
    h, m = divmod(rest, 60)
    return "".join([f"{d}天" if d else "", f"{h}小时" if h or (d and m) else "", f"{m}分" if m else ""]) or "0分"


def _t(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if iso else "—"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join("—" if c is None else str(c) for c in r) + " |" for r in rows)]


def _count_table(title: str, counts: dict[str, int], names: dict[str, str]) -> list[str]:
    rows = [[names.get(k, "未定级" if k == "unknown" else k), v] for k, v in counts.items()]
    return [f"### {title}", "", *(_table(["", "起数"], rows) if rows else ["无。"]), ""]


def render_markdown(rep: dict) -> str:
    p = rep["period"]
    end_text = _t(p["end"]) if p["complete"] else f"{_t(p['as_of'])}（统计时段尚未结束）"
    inc = rep["incidents"]
    last_day = (datetime.fromisoformat(p["end"]) - timedelta(days=1)).date().isoformat()
    lines = [
        f"# 突发环境事件{KIND_NAMES[p['kind']]}报告（{p['name']}）",
        "",
        f"统计时段：{p['start'][:10]} 至 {last_day}（北京时间）；数据截至：{end_text}。",
        f"依据：{rep['basis']}。演练不计入以下各项统计，另行列出。",
        "",
        "## 一、事件数量",
        "",
        f"本期获知突发环境事件 {inc['total']} 起。",
        "",
        *_count_table("按级别", inc["by_level"], LEVEL_NAMES),
        *_count_table("按类型", inc["by_type"], TYPE_NAMES),
        *_count_table("按县区", inc["by_county"], {}),
        *_count_table("按信息来源", inc["by_source"], SOURCE_NAMES),
        "## 二、时限执行情况",
        "",
    ]
    if rep["deadlines"]:
        lines += _table(["时限", "本期到期", "按时", "逾期完成", "逾期未完成", "按时率", "最长逾期", "逾期中位数"], [
            [d["title"], d["due"], d["on_time"], d["met_late"], d["unmet"], f"{d['on_time_rate'] * 100:.1f}%",
             duration_text(d["max_late_seconds"]), duration_text(d["median_late_seconds"])]
            for d in rep["deadlines"]])
        late = [(d, x) for d in rep["deadlines"] for x in d["late"]]
        if late:
            lines += ["", "逾期明细：", ""]
            lines += _table(["时限", "事件", "到期时间", "完成时间", "逾期"], [
                [d["title"], f"{x['incident_id']} {x['title']}", _t(x["due_at"]),
                 _t(x["met_at"]) if x["met"] else "期末未完成", duration_text(x["late_by_seconds"])]
                for d, x in late])
    else:
        lines.append("本期无到期时限。")
    lines += ["", "## 三、处置时长", ""]
    lines += _table(["环节", "件数", "中位数", "90百分位"], [
        [d["label"], d["count"], duration_text(d["median_seconds"]), duration_text(d["p90_seconds"])]
        for d in rep["durations"].values()])
    op = rep["open_at_end"]
    lines += ["", "## 四、期末未结事件", "", f"期末未结事件 {op['count']} 起。", ""]
    if op["list"]:
        lines += _table(["事件", "县区", "级别", "所处阶段", "获知时间"], [
            [f"{x['incident_id']} {x['title']}", x["county"], LEVEL_NAMES.get(x["level"] or "", x["level"]),
             PHASE_NAMES[x["phase"]], _t(x["reported_at"])] for x in op["list"]])
        lines.append("")
    dr = rep["drills"]
    lines += ["## 五、应急演练（不计入上述统计）", "", f"本期演练 {dr['total']} 次。", ""]
    if dr["list"]:
        lines += _table(["演练", "县区", "时间"], [[f"{x['incident_id']} {x['title']}", x["county"],
                                                 _t(x["reported_at"])] for x in dr["list"]])
        lines.append("")
    if inc["list"]:
        lines += ["## 附：本期事件清单", ""]
        lines += _table(["事件", "县区", "级别", "类型", "来源", "获知时间", "结案时间"], [
            [f"{x['incident_id']} {x['title']}", x["county"], LEVEL_NAMES.get(x["level"] or "", x["level"]),
             TYPE_NAMES.get(x["incident_type"], x["incident_type"]), SOURCE_NAMES.get(x["source"], x["source"]),
             _t(x["reported_at"]), _t(x["closed_at"])] for x in inc["list"]])
        lines.append("")
    lines += [
        "## 统计口径",
        "",
        "- 事件数量按获知时间（接报时间）计入本期；级别取期末实施的响应级别，未启动响应的取初判级别。",
        "- 时限按到期时间计入本期：到期前（含到期时刻）完成为按时；到期后完成为逾期完成；期末仍未完成为逾期未完成，逾期时长计至期末。",
        "- 处置时长按该环节完成时间计入本期；90百分位取排序后第⌈0.9n⌉个值。",
        "- 期末未结：期末前获知且期末时尚未结案的事件。",
    ]
    return "\n".join(lines)
