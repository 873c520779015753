"""Supervisor views: which incidents are overdue, which are stuck, which have a fault or a
provisional due date, on whom they wait.

Every view is a visibility query (List Workflows) over the custom search attributes
(activities/search_attributes.py) and the `supervision` memo each incident keeps up to date;
no worker is touched, so the answer comes even when workers are busy or down. Visibility is
eventually consistent: a change shows within about a second; `ecoplan status ID` reads the
workflow itself.

The same functions serve the CLI and the console (through ecoplan/views.py) and the daily
duty report (零报告/日报告, seed 004, activities/daily_report.py), which a Temporal Schedule
runs every day at 08:00 Asia/Shanghai: they read Temporal, so they sit in the activities' layer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Callable

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError

import activities.search_attributes as sa
import activities.task_failures as task_failures
from plan.calendar import SHANGHAI
from plan.incident import EARLIEST, LATEST

WORKFLOW_TYPE = "IncidentWorkflow"
# A row whose stored data cannot be shown (a time no incident has, a memo of another shape):
# the row says so and links to the incident, and the rest of the view answers (issue 25).
FAULTY = "此行数据无法显示"
log = logging.getLogger(__name__)


def _q(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def time_literal(t: datetime) -> str:
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
    faulty: bool = False  # its stored data could not be read: shown as FAULTY


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
    """A stored time as the views compute with it. One outside the times an incident can hold
    (plan/incident.py), e.g. stored before they were refused at entry, makes its row faulty:
    it would overflow the arithmetic and the formatting downstream."""
    if not value:
        return None
    t = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    t = t.replace(tzinfo=SHANGHAI) if t.tzinfo is None else t
    if not EARLIEST <= t < LATEST:
        raise ValueError(f"time outside {EARLIEST:%Y}-{LATEST:%Y}: {value}")
    return t.astimezone(SHANGHAI)


def faulty(incident_id: str, why: BaseException, **blank) -> dict:
    """The row a view shows for an incident whose data it cannot show: the view's keys, empty."""
    log.warning("view row of incident %s cannot be shown: %s: %s", incident_id, type(why).__name__, why)
    return {"incident_id": incident_id, "title": FAULTY, "stage": "", "county": None, "level": None,
            "faulty": True, **blank}


def rows_of(r: Row, make: Callable[[], list[dict]], **blank) -> list[dict]:
    """The view's rows for one incident, or one faulty row when its data cannot be shown."""
    try:
        if r.faulty:
            raise ValueError("its search attributes or memo could not be read")
        return make()
    except Exception as e:  # any stored value: never the whole view
        return [faulty(r.incident_id, e, **blank)]


def _row(client: Client, info) -> Row:
    try:
        return _read_row(client, info)
    except Exception as e:  # one incident's stored data: its row is faulty, the view answers
        iid = info.execution.workflow_id.removeprefix("incident-")
        log.warning("visibility row of incident %s cannot be read: %s: %s", iid, type(e).__name__, e)
        return Row(incident_id=iid, title=FAULTY, county=None, level=None, stage=None, drill=False,
                   stage_entered_at=None, waiting_on=[], pending_signoffs=[], memo={}, faulty=True)


def _read_row(client: Client, info) -> Row:
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


async def each_row(client: Client, query: str, limit: int | None = None) -> AsyncIterator[Row]:
    """The rows of a visibility query in the server's order (running ones newest first), read
    a page at a time: a reader that counts or keeps a few of them holds one page, not all."""
    token, seen = b"", 0
    while limit is None or seen < limit:
        size = PAGE if limit is None else min(PAGE, limit - seen)
        resp = await client.workflow_service.list_workflow_executions(ListWorkflowExecutionsRequest(
            namespace=client.namespace, query=query, page_size=size, next_page_token=token))
        for info in resp.executions:
            seen += 1
            yield _row(client, info)
        token = resp.next_page_token
        if not token:
            break


async def read_rows(client: Client, query: str, limit: int | None = None) -> list[Row]:
    """Rows of a visibility query in the server's order (running ones newest first)."""
    return [r async for r in each_row(client, query, limit)]


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
        return f"{query} AND {key.name} < {time_literal(t)}"

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
    async for r in each_row(client, query):  # a page at a time: the daily report reads them all
        out += rows_of(r, lambda: [_overdue_row(r, d, now) for d in r.memo.get("overdue", [])],
                       deadline="", due_at="", late_by_seconds=0, waiting_on=[], faults=[])
    out.sort(key=lambda x: (-x["late_by_seconds"], x["incident_id"]))
    if limit is None:
        return Page(out, True, len({x["incident_id"] for x in out}))
    return Page(out[:limit], len(out) <= limit and len({x["incident_id"] for x in out}) >= total, total)


def _overdue_row(r: Row, d: dict, now: datetime) -> dict:
    due = _when(d["due_at"])
    return {"incident_id": r.incident_id, "title": r.title, "county": r.county, "level": r.level,
            "event_level": _event_level(r),
            "stage": r.stage, "deadline": str(d["deadline"]), "due_at": due.isoformat(),
            "late_by_seconds": int((now - due).total_seconds()),
            "waiting_on": [str(d["who_acts"]), *(w for w in r.waiting_on if w != d["who_acts"])],
            "faults": _fault_names(r)}


def _event_level(r: Row) -> str | None:
    """The event's own level (issue 24) where the incident keeps one apart from the response's."""
    got = r.memo.get("event_level")
    return str(got) if got else None


def _fault_names(r: Row) -> list[str]:
    return [f["fault"] for f in r.memo.get("faults", [])]


async def faults(client: Client, drills: bool = False, limit: int | None = None) -> Page:
    """Running incidents with an internal fault: the calendar unavailable, the plan not
    loaded, deliveries overdue or given up (the incident's own record of them), and a
    workflow task that keeps failing (the server's: activities/task_failures.py); oldest
    fault first, except that an incident that cannot move at all (its task failing) comes
    before every other."""
    query = base_query(drills) + f" AND {sa.FAULT.name} IS NOT NULL"
    rows, recorded = await asyncio.gather(failing_tasks(client, drills, limit), read_rows(client, query))
    for r in recorded:
        rows += rows_of(r, lambda: [{
            "incident_id": r.incident_id, "title": r.title, "stage": r.stage, "fault": str(f["fault"]),
            "since": _when(f["since"]).isoformat(),
            "detail": str(f.get("error") or f.get("last") or f"{f.get('count')} deliveries")}
            for f in r.memo.get("faults", [])], fault="", since="", detail="")
    rows.sort(key=lambda x: (x["fault"] != task_failures.FAULT, x["since"], x["incident_id"]))
    total = len({x["incident_id"] for x in rows})
    if limit is None:
        return Page(rows, True, total)
    return Page(rows[:limit], len(rows) <= limit, total)


async def failing_tasks(client: Client, drills: bool = False, limit: int | None = None) -> list[dict]:
    """One faults row per incident the server marks as failing its workflow task
    (TemporalReportedProblems): one visibility query, then a describe and a short read of the
    history for each incident found, and for no other."""
    query = base_query(drills) + " AND " + task_failures.PROBLEM_QUERY
    try:
        found = await read_rows(client, query, limit)
    except RPCError as e:  # a server that does not know the attribute: said in the log, the view answers
        log.warning("failing workflow tasks cannot be listed: %s", e.message)
        return []

    async def row(r: Row) -> list[dict]:
        try:
            t = await task_failures.inspect(client, f"incident-{r.incident_id}")
        except RPCError as e:  # closed or reset meanwhile: the next look says
            log.warning("incident %s cannot be described: %s", r.incident_id, e.message)
            return []
        if not t.stuck:
            return []
        return [{"incident_id": r.incident_id, "title": r.title, "stage": r.stage or "", "fault": task_failures.FAULT,
                 "since": t.since.isoformat() if t.since else "", "detail": t.sentence(r.incident_id)}]

    return [x for got in await asyncio.gather(*(row(r) for r in found)) for x in got]


async def provisional(client: Client, drills: bool = False, limit: int | None = None) -> Page:
    """Open deadlines whose due date is provisional: counted Monday to Friday because the
    holiday notice of a year they touch is not loaded; earliest due first. `recompute-deadlines`
    (run by `ecoplan calendar add-year` for all of them) settles them once it is."""
    query = base_query(drills) + f" AND {sa.PROVISIONAL.name} IS NOT NULL"
    total = await _count(client, query)
    rows = []
    for r in await read_rows(client, query, limit):
        rows += rows_of(r, lambda: [{
            "incident_id": r.incident_id, "title": r.title, "stage": r.stage, "county": r.county,
            "deadline": str(d["deadline"]), "due_date": _day(d.get("due_date")), "status": d.get("status")}
            for d in r.memo.get("provisional", [])], deadline="", due_date=None, status=None)
    rows.sort(key=lambda x: (x["due_date"] or "", x["incident_id"]))
    return Page(rows, limit is None or total <= limit, total)


def _day(value: Any) -> str | None:
    """A stored date (YYYY-MM-DD), checked as a time of its midnight."""
    return _when(value + "T00:00").date().isoformat() if value else None


def _stuck_row(r: Row, now: datetime) -> dict:
    return {
        "incident_id": r.incident_id, "title": r.title, "stage": r.stage,
        "since": r.stage_entered_at.astimezone(SHANGHAI).isoformat(),
        "idle_seconds": int((now - r.stage_entered_at).total_seconds()),
        "waiting_on": r.waiting_on, "county": r.county, "level": r.level, "event_level": _event_level(r),
        "faults": _fault_names(r),
    }


def _stuck_rows(r: Row, now: datetime, by_plan: bool) -> list[dict]:
    """The incident's row when it is stuck: idle past its plan's expectation (`by_plan`), or
    selected by the query's idle time."""
    def make() -> list[dict]:
        if r.stage_entered_at is None:
            return []
        if by_plan and not (r.memo.get("stuck_after") and _when(r.memo["stuck_after"]) <= now):
            return []
        return [_stuck_row(r, now)]

    return rows_of(r, make, since="", idle_seconds=0, waiting_on=[], faults=[])


async def stuck(client: Client, idle: timedelta | None = None, drills: bool = False,
                now: datetime | None = None, limit: int | None = None) -> Page:
    """Incidents whose stage has not changed for longer than their plan expects for that
    stage (each incident's memo carries `stuck_after` from its own plan), or than `idle`;
    longest idle first."""
    now = now or datetime.now(SHANGHAI)
    key = sa.STAGE_ENTERED_AT
    if idle is not None:
        query, total = await _earliest(client, base_query(drills) + f" AND {key.name} < {time_literal(now - idle)}",
                                       key, limit, now)
        rows = [x async for r in each_row(client, query) for x in _stuck_rows(r, now, by_plan=False)]
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
        rows = [x async for r in each_row(client, query) for x in _stuck_rows(r, now, by_plan=True)]
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


def next_deadline(memo: dict) -> dict | None:
    """The memo's next deadline (name, due_at, ...), its time checked as the views read it."""
    nd = memo.get("next_deadline")
    if not nd:
        return None
    return {**nd, "name": str(nd["name"]), "due_at": _when(nd["due_at"]).isoformat()}


async def list_incidents(client: Client, stage: str | None = None, level: str | None = None,
                         county: str | None = None, drills: bool = False, limit: int | None = None) -> Page:
    """Running incidents by incident id; with a limit, the most recently started ones."""
    query = base_query(drills)
    for key, value in ((sa.STAGE, stage), (sa.LEVEL, level), (sa.COUNTY, county)):
        if value:
            query += f" AND {key.name} = {_q(value)}"
    rows = await read_rows(client, query, limit)
    total = len(rows) if limit is None or len(rows) < limit else await _count(client, query)
    out = [x for r in rows for x in rows_of(r, lambda: [{
        "incident_id": r.incident_id, "title": r.title, "stage": r.stage, "level": r.level,
        "event_level": _event_level(r),
        "county": r.county, "drill": r.drill, "next_deadline": next_deadline(r.memo)}], drill=r.drill, next_deadline=None)]
    return Page(sorted(out, key=lambda x: x["incident_id"]), len(out) >= total, total)
