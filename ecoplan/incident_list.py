"""事件列表: every incident a viewer may read, open and closed, in one list: the filters a
person types (`ListQuery`, checked here with one Chinese sentence per mistake), the query,
sort and page over the bureau's records store, the page's open rows freshened from Temporal
visibility, and the rows as people read them (Chinese headers and values) for the page and
the CSV/XLSX export.

Why the records store answers the filters, open incidents included: it holds every incident
(each writes its record when it starts and whenever its stage, level, a deadline or its
outcome changes, activities/records_store.py), and it can search text and sort. Visibility
can do neither, and reading every running incident from it costs about 0.8 ms a row (10,000
open: 7.8 s, BENCHMARKS.md). So the store filters, counts and pages; then one visibility query
for the page's open rows (never one per row) puts the running incident's own stage and level
over the store's copy, so a record the store has not caught up with (a save being retried)
still shows where the incident is.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Mapping

from pydantic import BaseModel

from activities.documents.mapping import TYPE_NAMES
from activities.supervisor_views import WORKFLOW_TYPE, _event_level, _q, read_rows
from plan.stages import STAGE_NAMES, STAGES

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row

LEVELS = ["I", "II", "III", "IV"]
LEVEL_LABELS = {"I": "Ⅰ级", "II": "Ⅱ级", "III": "Ⅲ级", "IV": "Ⅳ级"}
OUTCOME_LABELS = {"completed": "处置完毕", "warning_lifted": "预警解除"}
CLOSED_CHOICES = {"include": "含已结案", "only": "仅已结案", "exclude": "不含已结案"}
DRILL_CHOICES = {"exclude": "不含演练", "include": "含演练", "only": "仅演练"}
# sort key -> (SQL expression, label); "-key" sorts descending.
SORTS = {
    "reported": ("reported_at", "接报时间"),
    "closed": ("closed_at", "结案时间"),
    "level": ("shown_level", "响应级别"),  # I < II < III < IV as text too: most severe first ascending
    "event_level": ("event_level", "事件等级"),
    "stage": ("CASE stage " + " ".join(f"WHEN '{st}' THEN {i}" for i, st in enumerate(STAGES)) + " END", "阶段"),
    "county": ("county", "县（区）"),
    "title": ("title", "事件名称"),
}
MAX_PER_PAGE = 200
MAX_EXPORT = 50_000  # rows in one export: more than ten years of a city's incidents
MAX_TEXT = 100


class ListError(ValueError):
    """A filter a person typed that cannot be used: one Chinese sentence."""


class ListQuery(BaseModel):
    q: str = ""
    stage: str | None = None
    level: str | None = None  # 响应级别 (`shown_level`: before activation, the graded level)
    event_level: str | None = None  # 事件等级 (issue 24; unknown for records saved before schema r0003)
    county: str | None = None
    incident_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    closed: Literal["include", "only", "exclude"] = "include"
    drills: Literal["include", "only", "exclude"] = "exclude"
    sort: str = "-reported"
    page: int = 1
    per_page: int = 50


def _choice(value: str, allowed: Mapping[str, str], what: str) -> str:
    # An id or its Chinese name (the page's selects send ids; a person may type either).
    for key, label in allowed.items():
        if value in (key, label):
            return key
    raise ListError(f"{what}「{value[:30]}」无效，可选：{'、'.join(allowed.values())}")


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ListError(f"{what}「{value[:30]}」不是日期，应写作 2026-11-23") from None


def _int(value: str, what: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is None or not low <= n <= high:
        raise ListError(f"{what}应为 {low} 至 {high} 的整数，收到「{value[:30]}」")
    return n


def parse(params: Mapping[str, str], export: bool = False) -> ListQuery:
    """The query string as a ListQuery; ListError with one Chinese sentence on a bad value.
    Empty values are no filter (the page's form sends every field)."""
    p = {k: v.strip() for k, v in params.items() if isinstance(v, str) and v.strip()}
    out: dict[str, Any] = {}
    if len(p.get("q", "")) > MAX_TEXT:
        raise ListError(f"搜索文字不能超过 {MAX_TEXT} 个字")
    out["q"] = p.get("q", "")
    if "stage" in p:
        out["stage"] = _choice(p["stage"], STAGE_NAMES, "阶段")
    if "level" in p:
        out["level"] = _choice(p["level"], LEVEL_LABELS, "响应级别")
    if "event_level" in p:
        out["event_level"] = _choice(p["event_level"], LEVEL_LABELS, "事件等级")
    if "county" in p:
        if len(p["county"]) > 50:
            raise ListError("县（区）不能超过 50 个字")
        out["county"] = p["county"]
    if "type" in p:
        out["incident_type"] = _choice(p["type"], TYPE_NAMES, "事件类型")
    if "from" in p:
        out["date_from"] = _date(p["from"], "接报日期（起）")
    if "to" in p:
        out["date_to"] = _date(p["to"], "接报日期（止）")
    if out.get("date_from") and out.get("date_to") and out["date_from"] > out["date_to"]:
        raise ListError("接报日期（起）不能晚于接报日期（止）")
    if "closed" in p:
        out["closed"] = _choice(p["closed"], CLOSED_CHOICES, "是否含已结案")
    if "drills" in p:
        out["drills"] = _choice(p["drills"], DRILL_CHOICES, "演练")
    if "sort" in p:
        if p["sort"].removeprefix("-") not in SORTS:
            raise ListError(f"排序「{p['sort'][:30]}」无效，可选：{'、'.join(v[1] for v in SORTS.values())}（可倒序）")
        out["sort"] = p["sort"]
    if "page" in p:
        out["page"] = _int(p["page"], "页码", 1, 1_000_000)
    if "per_page" in p:
        out["per_page"] = _int(p["per_page"], "每页条数", 1, MAX_EXPORT if export else MAX_PER_PAGE)
    stage = out.get("stage")
    if stage == "closed" and out.get("closed") == "exclude" or stage not in (None, "closed") and out.get("closed") == "only":
        raise ListError(f"阶段「{STAGE_NAMES[stage]}」与「{CLOSED_CHOICES[out['closed']]}」不能同时选")
    return ListQuery(**out)


# ------------------------------------------------------------------ the query (records store)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def where(query: ListQuery, lead: str | None = None) -> tuple[str, dict]:
    """The SQL condition for the filters; `lead`: only incidents naming this account as a
    group's lead (the role that reads only what it leads)."""
    cond, args = [], {}
    if query.closed == "only":
        cond.append("stage = 'closed'")
    elif query.closed == "exclude":
        cond.append("stage != 'closed'")
    if query.drills != "include":
        cond.append(f"drill = {1 if query.drills == 'only' else 0}")
    for column, value in (("stage", query.stage), ("shown_level", query.level), ("event_level", query.event_level),
                          ("county", query.county),
                          ("incident_type", query.incident_type)):
        if value is not None:
            cond.append(f"{column} = :{column}")
            args[column] = value
    if query.date_from:
        cond.append("reported_date >= :date_from")
        args["date_from"] = query.date_from.isoformat()
    if query.date_to:
        cond.append("reported_date <= :date_to")
        args["date_to"] = query.date_to.isoformat()
    if query.q:
        cond.append("(title LIKE :q ESCAPE '\\' OR i.incident_id LIKE :q ESCAPE '\\' OR i.incident_id IN"
                    " (SELECT incident_id FROM incident_search WHERE location LIKE :q ESCAPE '\\'))")
        args["q"] = _like(query.q)
    if lead is not None:
        cond.append("i.incident_id IN (SELECT incident_id FROM incident_leads WHERE username = :lead)")
        args["lead"] = lead
    return (" WHERE " + " AND ".join(cond)) if cond else "", args


COLUMNS = ("i.incident_id, title, county, incident_type, drill, stage, outcome, shown_level, event_level, reported_at,"
           " closed_at, next_deadline")
# Every column above is in the covering index incidents_list (activities/records_store.py,
# schema 2, event_level since schema 3): the wide record and status texts are never read by the list.
TABLES = "incidents i"


def search(conn: Connection, query: ListQuery, lead: str | None = None,
           everything: bool = False) -> tuple[list[dict], int]:
    """The page's rows (every matching row with `everything`, for an export) and the total."""
    from sqlalchemy import bindparam, text

    cond, args = where(query, lead)
    total = conn.execute(text(f"SELECT count(*) FROM {TABLES}{cond}"), args).scalar()
    key = query.sort.removeprefix("-")
    direction = "DESC" if query.sort.startswith("-") else "ASC"
    sql = f"SELECT {COLUMNS} FROM {TABLES}{cond} ORDER BY {SORTS[key][0]} {direction}, i.incident_id {direction}"
    if everything:
        sql += f" LIMIT {MAX_EXPORT}"
    else:
        sql += f" LIMIT {int(query.per_page)} OFFSET {int((query.page - 1) * query.per_page)}"
    rows = [_row(r) for r in conn.execute(text(sql), args)]
    places = dict(conn.execute(text("SELECT incident_id, location FROM incident_search WHERE incident_id IN :ids")
                               .bindparams(bindparam("ids", expanding=True)),
                               {"ids": [r["incident_id"] for r in rows]}).all()) if rows else {}
    return [{**r, "location": places.get(r["incident_id"]) or ""} for r in rows], total


def _plain(stored: str | None) -> str | None:
    return datetime.fromisoformat(stored).isoformat() if stored else None


def _row(row: Row) -> dict:
    r = row._mapping
    nxt = json.loads(r["next_deadline"]) if r["next_deadline"] else None
    return {"incident_id": r["incident_id"], "title": r["title"], "county": r["county"],
            "location": "", "incident_type": r["incident_type"], "drill": bool(r["drill"]),
            "stage": r["stage"], "level": r["shown_level"], "event_level": r["event_level"], "outcome": r["outcome"],
            "reported_at": _plain(r["reported_at"]), "closed_at": _plain(r["closed_at"]),
            "next_deadline": nxt, "closed": r["stage"] == "closed"}


async def freshen(client, rows: list[dict]) -> list[dict]:
    """The running incidents' own stage and levels over the store's copy: one visibility query
    for the page's open rows (the event's level from the incident's `supervision` memo, as the
    board reads it)."""
    open_ids = [r["incident_id"] for r in rows if not r["closed"]]
    if not open_ids:
        return rows
    ids = ", ".join(_q(f"incident-{i}") for i in open_ids)
    live = {v.incident_id: v for v in await read_rows(
        client, f"WorkflowType = {_q(WORKFLOW_TYPE)} AND ExecutionStatus = 'Running' AND WorkflowId IN ({ids})")}
    out = []
    for r in rows:
        v = live.get(r["incident_id"])
        if v is not None:
            r = {**r, "stage": v.stage or r["stage"], "level": v.level or r["level"],
                 "event_level": _event_level(v) or r["event_level"],
                 "next_deadline": v.memo.get("next_deadline", r["next_deadline"])}
        out.append(r)
    return out


# ------------------------------------------------------------------ as people read it

HEADERS = ["事件编号", "事件名称", "县（区）", "地点", "事件类型", "事件等级", "响应级别", "阶段", "接报时间", "结案时间", "结果", "演练"]


def _time(value: str | None) -> str:
    from plan.calendar import SHANGHAI

    return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def labelled(row: dict) -> list[str]:
    """One row's cells under HEADERS, in Chinese."""
    return [row["incident_id"], row["title"], row["county"], row["location"],
            TYPE_NAMES.get(row["incident_type"], row["incident_type"]),
            LEVEL_LABELS.get(row.get("event_level") or "", "未记录"), LEVEL_LABELS.get(row["level"] or "", "未定级"), STAGE_NAMES.get(row["stage"], row["stage"]),
            _time(row["reported_at"]), _time(row["closed_at"]),
            OUTCOME_LABELS.get(row["outcome"] or "", row["outcome"] or ""), "是" if row["drill"] else "否"]
