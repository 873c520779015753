"""Benchmark sections 3 and 4: the supervisor views (overdue, stuck, list, the board) over
open incidents on a `python worker.py` of its own, and that worker's memory; at each size
also what users wait for there (issue 26 item 4, benchmarks/waits.py).

The open incidents are real ones, not drills (the views and the board are asked with drills
shown, so they see them either way): the 08:00 daily report leaves drills out, as it must, and
is measured over the same population. The benchmark's worker has no paging channel set up, so
a real incident pages nobody here, as a drill would not."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable

from temporalio.client import Client

from benchmarks.common import COUNTIES, GOALS, ROOT, STAGE_SLOTS, cpu_seconds, log, pct, r3, ratio, rss_mb, summary_ms
from benchmarks.driving import incident_report, lifecycle_actions
from ecoplan import api, views
from benchmarks.waits import measure_waits, waits_summary
from ecoplan.cli.common import DEFAULT_LIMIT  # the CLI's default: the views are timed as supervisors run them
from plan.calendar import SHANGHAI


# ------------------------------------------------------------------ 3 + 4. supervisor views, worker memory


class RssSampler:
    """Samples a process's RSS from /proc every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval = pid, interval
        self.peak = 0.0
        self.hwm = 0.0
        self.last = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.last, self.hwm = rss_mb(self.pid)
                self.peak = max(self.peak, self.last)
                self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def population_spec(i: int) -> dict:
    """Incident i of the open population: stage, county, and whether its times are backdated
    (then its initial report is overdue and its stage, entered hours ago, counts as stuck)."""
    backdated = i % 5 == 0
    return {"stage": STAGE_SLOTS[(i * 3) % len(STAGE_SLOTS)], "county": COUNTIES[i % len(COUNTIES)],
            "backdated": backdated}


async def open_incident(client: Client, spec: dict) -> str:
    back = timedelta(hours=5) if spec["backdated"] else timedelta(0)
    at = datetime.now(SHANGHAI) - timedelta(hours=4, minutes=30) if spec["backdated"] else None
    iid = await api.start_incident(client, incident_report(county=spec["county"], backdate=back, prefix="d"),
                                   wait_ready=120)
    stage = spec["stage"]
    if stage == "reported":
        return iid
    steps = lifecycle_actions(at)
    if spec["backdated"]:  # no initial report: the 4 h initial-report deadline stays overdue
        steps = [s for s in steps if s[0] != "submit_report"]
    upto = {"responding": "activate_response", "on_site": "dispatch", "termination_pending": "propose_termination",
            "post_event": "approve_termination"}[stage]
    for action, inp in steps:
        await api.act(client, iid, action, inp)
        if action == upto:
            break
    return iid


async def settle(client: Client, expect_running: int, expect_overdue: int, timeout: float = 60) -> dict:
    """Wait until visibility shows every open incident and every overdue one."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    q_over = views.base_query(drills=True) + " AND EcoOverdueSince IS NOT NULL"
    while True:
        running = (await client.count_workflows("ExecutionStatus = 'Running'")).count
        over = (await client.count_workflows(q_over)).count
        if (running == expect_running and over == expect_overdue) or loop.time() > end:
            if running != expect_running:
                others = [f"{w.workflow_type}:{w.id}" async for w in client.list_workflows("ExecutionStatus = 'Running'")
                          if not w.id.startswith(("incident-d-", "incident-due-"))]
                log(f"running workflows other than the open incidents: {others[:10]}")
            return {"running": running, "overdue": over}
        await asyncio.sleep(0.5)


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    t = time.perf_counter()
    res = await fn()
    return time.perf_counter() - t, res


class Population:
    """The open incidents so far: how many, how many of them overdue, and the worker's RSS
    once the first one was ready (the worker is up then). `extra_open`: incidents other
    measures started and left open (benchmarks/waits.py), counted in the size; `movable`:
    incidents in 接报 with nothing overdue, which the action → board measure moves on."""

    def __init__(self, client: Client):
        self.client = client
        self.opened = 0
        self.extra_open = 0
        self.expected_overdue = 0
        self.movable: list[str] = []
        self.idle_rss: float | None = None
        self._sem = asyncio.Semaphore(48)

    @property
    def total(self) -> int:
        return self.opened + self.extra_open

    async def one(self, i: int) -> None:
        async with self._sem:
            spec = population_spec(i)
            iid = await open_incident(self.client, spec)
            if spec["stage"] == "reported" and not spec["backdated"]:
                self.movable.append(iid)

    async def grow_to(self, size: int, rss: RssSampler) -> int:
        """Open incidents up to `size` open in all; returns how many this batch opened."""
        size -= self.extra_open
        if self.idle_rss is None:
            await self.one(self.opened)  # the worker is up once the first incident is ready
            self.expected_overdue += population_spec(self.opened)["backdated"]
            self.opened += 1
            self.idle_rss = rss.last
        batch = list(range(self.opened, size))
        await asyncio.gather(*(self.one(i) for i in batch))
        self.expected_overdue += sum(population_spec(i)["backdated"] for i in batch)
        self.opened = size
        return len(batch)


def start_worker(address: str, workdir: Path) -> tuple[subprocess.Popen, Any]:
    """`python worker.py` in its own process, against the benchmark's server."""
    env = {**os.environ, "TEMPORAL_ADDRESS": address, "ECOPLAN_ARCHIVE_DIR": str(workdir / "sup-archive"),
           "ECOPLAN_OUTBOX": str(workdir / "sup-outbox.jsonl")}
    env.pop("ECOPLAN_WEBHOOK_URL", None)
    env.pop("ECOPLAN_METRICS_PORT", None)
    worker_log = open(workdir / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=worker_log,
                            stderr=subprocess.STDOUT)
    return proc, worker_log


async def measure_size(client: Client, proc: subprocess.Popen, rss: RssSampler, pop: Population, size: int,
                       board, prof: dict, waits: list[dict] | None) -> dict:
    """Open incidents up to `size`, wait for visibility, and time the views and the board;
    then, when `waits` is a list, what users wait for at that size (appended to it)."""
    t0 = time.perf_counter()
    cpu0 = cpu_seconds(proc.pid)
    batch = await pop.grow_to(size, rss)
    populate_s = time.perf_counter() - t0
    worker_cpu = cpu_seconds(proc.pid) - cpu0
    seen = await settle(client, pop.total, pop.expected_overdue, timeout=60 + pop.total / 50)
    log(f"open incidents: {pop.total} ({populate_s:.1f} s to open; visibility {seen}); "
        f"worker RSS {rss.last:.1f} MB, peak {rss.peak:.1f} MB")
    # Cold: the first viewer after nobody looked waits for a fresh copy (the warm-up
    # fetch of measure_queries below); the timed fetches find the refresher running.
    board.copies.stop()
    del board.ages[:], board.refresh_took[:], board.took[:]
    figures = await measure_queries(client, prof["query_repeats"], board=board)
    figures["board_cold_ms"] = r3(board.took[0] * 1000)
    # The board is rendered from a shared copy of its figures: how long a refresh of
    # that copy took, and how old the figures a fetch showed were (whole seconds).
    figures["board_refresh"] = summary_ms(list(board.refresh_took))
    figures["board_data_age_s"] = {"n": len(board.ages), "p50": r3(pct(board.ages, 50)),
                                   "p95": r3(pct(board.ages, 95)), "max": r3(max(board.ages, default=None))}
    log(f"  overdue p50 {figures['overdue']['p50_ms']} p95 {figures['overdue']['p95_ms']} ms "
        f"(same query bare p95 {figures['bare_overdue_list']['p95_ms']} ms); "
        f"stuck p95 {figures['stuck']['p95_ms']}; list p95 {figures['list']['p95_ms']}; "
        f"bare list p95 {figures['bare_list']['p95_ms']} ms; --all: overdue p95 "
        f"{figures['overdue_all']['p95_ms']}, stuck {figures['stuck_all']['p95_ms']}, "
        f"list {figures['list_all']['p95_ms']} ms")
    at_size = {"open_incidents": pop.total, "expected_overdue": pop.expected_overdue, "visible": seen,
            "populate_s": r3(populate_s),
            "worker_cpu_ms_per_incident_opened": r3(worker_cpu / max(batch, 1) * 1000),
            "worker_rss_mb": r3(rss.last), "worker_peak_rss_mb": r3(rss.peak),
            **figures}
    if waits is not None:
        waits.append(await measure_waits(client, board, pop, prof, rss))
    return at_size


async def bench_supervisor(client: Client, address: str, prof: dict, out: dict, workdir: Path,
                           waits: bool = False) -> None:
    proc, worker_log = start_worker(address, workdir)
    by_size = []
    waits_by_size: list[dict] | None = [] if waits else None
    board_ctx = board_page(client, workdir, poll_seconds=prof.get("board_poll_s"))
    board = await board_ctx.__aenter__()
    try:
        with RssSampler(proc.pid) as rss:
            await asyncio.sleep(0)
            pop = Population(client)
            for size in prof["query_sizes"]:
                by_size.append(await measure_size(client, proc, rss, pop, size, board, prof, waits_by_size))
            # Hold the full population a little longer: the worker's steady state with all open.
            await asyncio.sleep(3)
            final_rss, hwm = rss_mb(proc.pid)
            peak = max(rss.peak, final_rss)
    finally:
        await board_ctx.__aexit__(None, None, None)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        worker_log.close()
    out["supervisor_queries"] = queries_summary(by_size)
    out["worker_memory"] = memory_summary(by_size, rss, peak=peak, hwm=hwm, final_rss=final_rss,
                                          idle_rss=pop.idle_rss)
    if waits_by_size:
        out["user_waits"] = waits_summary(waits_by_size, out["worker_memory"])


def queries_summary(by_size: list[dict]) -> dict:
    top = by_size[-1]
    return {
        "description": "incidents (not drills) open on one `python worker.py`; overdue/stuck/list through "
                       "ecoplan.views with drills=True (the CLI's path) vs a bare "
                       "ExecutionStatus='Running' list iterated fully; interleaved repeats",
        "sizes": [s["open_incidents"] for s in by_size],
        "open_incidents": top["open_incidents"],
        "overdue_p50_ms": top["overdue"]["p50_ms"], "overdue_p95_ms": top["overdue"]["p95_ms"],
        "stuck_p95_ms": top["stuck"]["p95_ms"], "list_p95_ms": top["list"]["p95_ms"],
        "board_p50_ms": top["board"]["p50_ms"], "board_p95_ms": top["board"]["p95_ms"],
        "board_refresh_p95_ms": top["board_refresh"]["p95_ms"], "board_data_age_p95_s": top["board_data_age_s"]["p95"],
        "board_cold_ms": top["board_cold_ms"],
        "goal_board_p95_ms_max": GOALS["board_p95_ms_max"],
        "board_goal_met": top["board"]["p95_ms"] <= GOALS["board_p95_ms_max"],
        "baseline_p50_ms": top["bare_list"]["p50_ms"], "baseline_p95_ms": top["bare_list"]["p95_ms"],
        "ratio": top["overdue_vs_bare_p95"],
        "bare_overdue_list_p95_ms": top["bare_overdue_list"]["p95_ms"],
        "overdue_vs_bare_overdue_p95": top["overdue_vs_bare_overdue_p95"],
        "goal_overdue_p95_ms_max": GOALS["overdue_p95_ms_max"],
        "goal_ratio_max": GOALS["overdue_vs_bare_list_max"],
        "goal_met": top["overdue"]["p95_ms"] <= GOALS["overdue_p95_ms_max"]
        and (top["overdue_vs_bare_p95"] or 0) <= GOALS["overdue_vs_bare_list_max"],
        "by_size": by_size,
    }


def memory_summary(by_size: list[dict], rss: RssSampler, *, peak: float, hwm: float, final_rss: float,
                   idle_rss: float | None) -> dict:
    top = by_size[-1]
    return {
        "description": "RSS of `python worker.py` (separate process, TEMPORAL_ADDRESS) sampled from "
                       "/proc/PID/status every 0.2 s while the open incidents were started and queried",
        "sizes": [s["open_incidents"] for s in by_size],
        "open_incidents": top["open_incidents"],
        "peak_rss_mb": r3(peak),
        "vm_hwm_mb": r3(hwm),
        "rss_at_end_mb": r3(final_rss),
        "rss_after_first_incident_mb": r3(idle_rss),
        "samples": rss.samples,
        "by_size": [{"open_incidents": s["open_incidents"], "rss_mb": s["worker_rss_mb"],
                     "peak_rss_mb": s["worker_peak_rss_mb"]} for s in by_size],
        "goal_peak_rss_mb_max": GOALS["worker_peak_rss_mb_max"],
        "goal_met": peak <= GOALS["worker_peak_rss_mb_max"],
    }


@contextlib.asynccontextmanager
async def board_page(client: Client, workdir: Path, poll_seconds: float | None = None):
    """The console's 总览 board as a supervisor's browser asks for it every few seconds:
    GET /board/live over HTTP from `ecoplan web`'s app (served by uvicorn in this process),
    with a real session. Yields a function that fetches it once; its `get_live` returns the
    answer's HTML, `every` is the page's poll interval as the page states it (data-every).
    `poll_seconds`: the app's (default: `ecoplan web`'s, 5 s; the smoke profile's is shorter)."""
    import httpx
    import uvicorn

    from ecoplan.accounts import AccountStore
    from ecoplan.web import create_app

    store = AccountStore(workdir / "bench-accounts.db")
    if store.get("bench_du") is None:
        store.add("bench_du", "supervisor", "bench-password-2026-" + "x" * 16, display="督查")
    token, _ = store.open_session("bench_du", "web", timedelta(hours=12))
    app = create_app(client_factory=lambda: client, store=store,
                     **({"poll_seconds": poll_seconds} if poll_seconds else {}))
    server = uvicorn.Server(uvicorn.Config(app,
                                           host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", cookies={"ecoplan_session": token},
                                 timeout=60) as http:
        ages: list[float] = []
        took: list[float] = []

        async def fetch() -> int:
            t0 = time.perf_counter()
            r = await http.get("/board/live", params={"drills": "1"})
            took.append(time.perf_counter() - t0)
            r.raise_for_status()
            # How old the shown figures are: the page prints the time of its shared copy.
            m = re.search(r"数据时间 (\d\d):(\d\d):(\d\d)", r.text)
            if m:
                t = datetime.now(SHANGHAI)
                shown = t.replace(hour=int(m[1]), minute=int(m[2]), second=int(m[3]), microsecond=0)
                ages.append((t - shown).total_seconds() % 86400)
            return 1

        async def get_live() -> str:
            r = await http.get("/board/live", params={"drills": "1"})
            r.raise_for_status()
            return r.text

        # The page's own poll interval, as the browser reads it (board.html, data-every).
        page = (await http.get("/", params={"drills": "1"})).text
        fetch.every = float(re.search(r'data-every="([0-9.]+)"', page)[1])  # type: ignore[attr-defined]
        app.state.board_copies.stop()  # that page started a refresher: nobody looks yet
        fetch.get_live = get_live  # type: ignore[attr-defined]
        fetch.ages = ages  # type: ignore[attr-defined]
        fetch.took = took  # type: ignore[attr-defined]
        fetch.copies = app.state.board_copies  # type: ignore[attr-defined]
        fetch.refresh_took = app.state.board_copies.took  # type: ignore[attr-defined]

        try:
            yield fetch
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 15)
            app.state.board_copies.stop()


async def measure_queries(client: Client, repeats: int, board: Callable[[], Awaitable[int]] | None = None) -> dict:
    async def bare() -> int:
        n = 0
        async for _ in client.list_workflows("ExecutionStatus = 'Running'"):
            n += 1
        return n

    async def bare_overdue() -> int:
        n = 0
        async for _ in client.list_workflows(views.base_query(drills=True) + " AND EcoOverdueSince IS NOT NULL"):
            n += 1
        return n

    # The CLI shows the 50 most urgent rows unless told --all; both are timed.
    queries: dict[str, Callable[[], Awaitable[Any]]] = {
        "overdue": lambda: views.overdue(client, drills=True, limit=DEFAULT_LIMIT),
        "bare_overdue_list": bare_overdue,
        "stuck": lambda: views.stuck(client, drills=True, limit=DEFAULT_LIMIT),
        "list": lambda: views.list_incidents(client, drills=True, limit=DEFAULT_LIMIT),
        "bare_list": bare,
        "overdue_all": lambda: views.overdue(client, drills=True),
        "stuck_all": lambda: views.stuck(client, drills=True),
        "list_all": lambda: views.list_incidents(client, drills=True),
    }
    if board is not None:
        queries["board"] = board
    times: dict[str, list[float]] = {k: [] for k in queries}
    rows: dict[str, int] = {}
    totals: dict[str, int | None] = {}
    for k, fn in queries.items():  # warm-up
        _, res = await timed(fn)
        rows[k] = res if isinstance(res, int) else len(res)
        totals[k] = getattr(res, "total", rows[k])
    # A listing of thousands of rows takes seconds: fewer repeats of those, never fewer than 5.
    n = {k: max(5, min(repeats, int(repeats * 1000 / max(rows[k], 1)) + 1)) for k in queries}
    for i in range(max(n.values())):
        keys = list(queries) if i % 2 == 0 else list(reversed(queries))
        for k in keys:
            if i < n[k]:
                dt, _ = await timed(queries[k])
                times[k].append(dt)
    fig = {k: {**summary_ms(v), "rows": rows[k], "total": totals[k], "repeats": n[k]} for k, v in times.items()}
    fig["limit"] = DEFAULT_LIMIT
    fig["overdue_vs_bare_p95"] = ratio(fig["overdue"]["p95_ms"], fig["bare_list"]["p95_ms"])
    # The same visibility query without ecoplan's per-row work (memo decode, Row model, sorting).
    fig["overdue_vs_bare_overdue_p95"] = ratio(fig["overdue"]["p95_ms"], fig["bare_overdue_list"]["p95_ms"])
    fig["overdue_all_vs_bare_overdue_p95"] = ratio(fig["overdue_all"]["p95_ms"], fig["bare_overdue_list"]["p95_ms"])
    fig["stuck_vs_bare_p95"] = ratio(fig["stuck"]["p95_ms"], fig["bare_list"]["p95_ms"])
    fig["list_vs_bare_p95"] = ratio(fig["list"]["p95_ms"], fig["bare_list"]["p95_ms"])
    return fig
