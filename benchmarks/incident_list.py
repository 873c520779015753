"""Benchmark: the 事件列表 (`GET /api/incidents`, issue 22) with N open and M closed incidents.

    python -m benchmarks.incident_list --open 10000 --closed 10000 [--repeats 20]

The records store (SQLite) gets N open and M closed records, spread over counties, types,
levels, stages and 400 reported days; the dev server gets the N open ones as running
workflows with the same ids and the search attributes and memo an incident publishes (started
on a task queue no worker polls: visibility holds them as Running, as it does real ones, and
nothing runs; opening 10,000 real incidents takes about 28 minutes, BENCHMARKS.md). The app
is `ecoplan web`'s, served by uvicorn in this process; each request is a supervisor's (every
incident) or a lead's (only those naming him). Each filter mix is asked `repeats` times,
interleaved; the result gives p50/p95 per mix and over all, and the time of one XLSX export
of every closed row. Goal: p95 ≤ 300 ms (issue 22).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

import activities.search_attributes as sa
from sqlalchemy import text

from activities.records_store import DeadlineFact, IncidentRecord, connect, upsert_record
from benchmarks.common import COUNTIES, RESULTS, log, machine_info, summary_ms
from ecoplan.connection import DATA_CONVERTER
from ecoplan import server
from plan.calendar import SHANGHAI

GOAL_P95_MS = 300.0
TYPES = ["water", "air", "soil", "hazardous_chemicals", "solid_waste", "other"]
OPEN_STAGES = ["reported", "responding", "on_site", "termination_pending", "post_event"]
PLACES = ["桃河段", "冶西镇", "梁家寨乡", "娘子关镇", "河底镇", "工业园区", "尾矿库", "加油站"]
IDLE_QUEUE = "bench-incident-list-idle"  # no worker polls it
DEADLINES = [("initial_report", "初报", 4), ("readiness", "应急力量准备", 1), ("investigation", "突发环境事件调查", 1440),
             ("assessment_report", "污染损害评估报告报送", 720)]


def record(i: int, closed: bool, rng: random.Random) -> tuple[IncidentRecord, dict]:
    reported = datetime(2025, 11, 1, 8, tzinfo=SHANGHAI) + timedelta(minutes=rng.randrange(400 * 1440))
    stage = "closed" if closed else rng.choice(OPEN_STAGES)
    place = rng.choice(PLACES)
    r = IncidentRecord(
        incident_id=f"{'c' if closed else 'o'}{i:06d}", title=f"{place}突发环境事件{i}", county=rng.choice(COUNTIES),
        location=f"{place}{i % 97}号", incident_type=rng.choice(TYPES), source="hotline_12369",
        drill=i % 50 == 0, stage=stage, outcome="completed" if closed else None,
        graded_level=rng.choice(["III", "IV", "IV", "IV"]), level=None, discovered_at=reported - timedelta(minutes=20),
        reported_at=reported, closed_at=reported + timedelta(days=20) if closed else None, seq=10)
    leads = {"monitoring": f"lead{i % 40}"} if stage not in ("reported",) else {}
    r.deadlines = [DeadlineFact(name=n, title=t, started_at=reported, due_at=reported + timedelta(hours=h),
                                status="met", met_at=reported + timedelta(hours=h / 2))
                   for n, t, h in DEADLINES]
    # As wide as a real status: its timeline is most of it (the list must never read it).
    timeline = [{"seq": k, "at": reported.isoformat(), "action": "submit_report", "by": {"name": "王值班", "role": "值班员"},
                 "detail": {"summary": "现场监测数据：" + "特征污染物浓度持续下降，" * 8}} for k in range(40)]
    return r, {"incident_id": r.incident_id, "leads": leads, "timeline": timeline}


def fill_store(db: Path, n_open: int, n_closed: int) -> list[IncidentRecord]:
    rng = random.Random(22)
    opened = []
    with closing(connect(db)) as conn:
        for closed, n in ((False, n_open), (True, n_closed)):
            for i in range(n):
                r, st = record(i, closed, rng)
                upsert_record(conn, r, st)
                if not closed:
                    opened.append(r)
    return opened


async def start_running(client, records: list[IncidentRecord], concurrency: int = 32) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(r: IncidentRecord) -> None:
        attrs = TypedSearchAttributes([
            SearchAttributePair(sa.STAGE, r.stage), SearchAttributePair(sa.LEVEL, r.shown_level or "IV"),
            SearchAttributePair(sa.COUNTY, r.county), SearchAttributePair(sa.INCIDENT_TYPE, r.incident_type),
            SearchAttributePair(sa.DRILL, r.drill)])
        async with gate:
            await client.start_workflow("IncidentWorkflow", id=f"incident-{r.incident_id}", task_queue=IDLE_QUEUE,
                                        search_attributes=attrs, memo={"title": r.title, "supervision": {}})

    await asyncio.gather(*(one(r) for r in records))


MIXES = {  # name -> (account, query)
    "first page": ("du", {}),
    "text in title or place": ("du", {"q": "梁家寨乡"}),
    "closed, county and a month": ("du", {"closed": "only", "county": "盂县", "from": "2026-05-01", "to": "2026-05-31"}),
    "open, stage and level": ("du", {"closed": "exclude", "stage": "on_site", "level": "IV"}),
    "sorted by level, page 40": ("du", {"sort": "-level", "page": "40"}),
    "200 per page": ("du", {"per_page": "200"}),
    "a lead's incidents": ("lead7", {}),
}


async def measure(client, db: Path, workdir: Path, repeats: int) -> dict:
    import httpx
    import uvicorn

    from ecoplan.accounts import AccountStore
    from ecoplan.web import create_app

    store = AccountStore(workdir / "accounts.db")
    store.add("du", "supervisor", "Bench-Password-2026-" + "x" * 8, display="督查")
    store.add("lead7", "lead", "Bench-Password-2026-" + "x" * 8, display="组长")
    tokens = {u: store.open_session(u, "api", timedelta(hours=1))[0] for u in ("du", "lead7")}
    app = create_app(client_factory=lambda: client, store=store, records_db=db)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        await asyncio.sleep(0.02)
    port = srv.servers[0].sockets[0].getsockname()[1]
    took: dict[str, list[float]] = {k: [] for k in MIXES}
    totals: dict[str, int] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for _ in range(repeats):
                for name, (who, params) in MIXES.items():
                    t0 = time.perf_counter()
                    r = await http.get("/api/incidents", params=params, headers={"Authorization": f"Bearer {tokens[who]}"})
                    took[name].append(time.perf_counter() - t0)
                    r.raise_for_status()
                    totals[name] = r.json()["total"]
        from ecoplan import incident_export
        from ecoplan import incident_list as il

        # The parts of one first-page request, in-process: the store's query, then the one
        # visibility query over the page's open rows.
        store_s, live_s = [], []
        with closing(connect(db)) as conn:
            for _ in range(repeats):
                t0 = time.perf_counter()
                page, _ = il.search(conn, il.parse({"closed": "exclude"}))
                store_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await il.freshen(client, page)
                live_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            rows, _ = il.search(conn, il.parse({"closed": "only"}, export=True), everything=True)
            xlsx = incident_export.to_xlsx(rows)
            export_s = time.perf_counter() - t0
    finally:
        srv.should_exit = True
        await asyncio.wait_for(task, 15)
        app.state.board_copies.stop()
    every = [x for xs in took.values() for x in xs]
    return {"all": summary_ms(every), "by_mix": {k: {**summary_ms(v), "total": totals.get(k)} for k, v in took.items()},
            "open_page_store_query": summary_ms(store_s), "open_page_visibility_query": summary_ms(live_s),
            "export_xlsx_closed": {"rows": len(rows), "seconds": round(export_s, 2), "bytes": len(xlsx)}}


def open_records(db: Path) -> list[IncidentRecord]:
    with closing(connect(db)) as conn:
        return [IncidentRecord.model_validate_json(r[0])
                for r in conn.execute(text("SELECT record FROM incidents WHERE stage != 'closed'"))]


async def run(n_open: int, n_closed: int, repeats: int, reuse: Path | None = None) -> dict:
    started = datetime.now(SHANGHAI)
    workdir = Path(tempfile.mkdtemp(prefix="ecoplan-bench-list-"))
    db = workdir / "records.db"
    t0 = time.perf_counter()
    if reuse is not None:  # a store an earlier run filled (it is migrated on open)
        db = reuse
        opened = await asyncio.to_thread(open_records, db)
    else:
        opened = await asyncio.to_thread(fill_store, db, n_open, n_closed)
    log(f"records store {db}: {n_open} open + {n_closed} closed in {time.perf_counter() - t0:.0f} s")
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=server.temporal_binary(),
                                                search_attributes=sa.ALL, data_converter=DATA_CONVERTER,
                                                dev_server_log_level="error")
    try:
        t0 = time.perf_counter()
        await start_running(env.client, opened)
        log(f"{len(opened)} running workflows in {time.perf_counter() - t0:.0f} s")
        while (await env.client.count_workflows("ExecutionStatus = 'Running'")).count < len(opened):
            await asyncio.sleep(0.5)  # visibility catches up
        figures = await measure(env.client, db, workdir, repeats)
    finally:
        await env.shutdown()
    p95 = figures["all"]["p95_ms"]
    return {"benchmark": "incident_list", "started_at": started.isoformat(timespec="seconds"),
            "open": n_open, "closed": n_closed, "repeats": repeats, **figures,
            "goal_p95_ms_max": GOAL_P95_MS, "goal_met": p95 <= GOAL_P95_MS, "machine": machine_info(None)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--open", type=int, default=10_000)
    p.add_argument("--closed", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--db", type=Path, default=None, help="reuse the records store of an earlier run (same sizes)")
    args = p.parse_args()
    out = asyncio.run(run(args.open, args.closed, args.repeats, args.db))
    path = RESULTS / f"incident-list-{args.open}-{datetime.now():%Y%m%dT%H%M}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("open", "closed", "all", "goal_met", "export_xlsx_closed")}, ensure_ascii=False))
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
