"""Benchmark sections 2 and 5: sign-off latency, replay (1, the life cycle: benchmarks/lifecycle.py)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

from temporalio.client import Client
from temporalio.worker import Replayer

from activities.settings import ActivitySettings
from benchmarks.baseline import BareWorkflow
from benchmarks.common import GOALS, GROUPS, log, r3, ratio, summary_ms
from benchmarks.driving import bare_worker, eco_worker, incident_report, lifecycle_actions, sign_off
from ecoplan import api
from ecoplan.connection import DATA_CONVERTER
from workflows.incident import IncidentWorkflow


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
    # same_work: the bare workflow's history with the same activities' results
    for kind, wf, hist in (("ecoplan", IncidentWorkflow, hists["ecoplan"]), ("baseline", BareWorkflow, hists["baseline"]),
                           ("same_work", BareWorkflow, hists["same_work"])):
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
    eco, bare, same = res["ecoplan"], res["baseline"], res["same_work"]
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
        # The same bare workflow whose history holds ecoplan's activity results (lifecycle's
        # same_work side): what replaying the same work costs without ecoplan's orchestration.
        "same_work_ms": same["per_history_ms"], "same_work_events": same["events"],
        "ratio_same_work": ratio(eco["per_history_ms"], same["per_history_ms"]),
        "same_work_ratio_to_bare": ratio(same["per_history_ms"], bare["per_history_ms"]),
        "single_call_ratio": ratio(eco["single_call"]["p50_ms"], bare["single_call"]["p50_ms"]),
        "goal_ms_max": GOALS["replay_ms_max"],
        "goal_ratio_max": GOALS["replay_ratio_max"],
        # Issue 26: replay within 1.2x the bare workflow's, same run (the absolute 50 ms is
        # below the bare workflow's own replay on this machine: kept as `goal_ms_met`).
        "goal_met": ratio(eco["per_history_ms"], bare["per_history_ms"]) <= GOALS["replay_ratio_max"],
        "goal_ms_met": eco["per_history_ms"] <= GOALS["replay_ms_max"],
        "goal_met_single_call": eco["single_call"]["p50_ms"] <= GOALS["replay_ms_max"],
    }
    log(f"replay {eco['per_history_ms']} ms per history (cpu {eco['per_history_cpu_ms']} ms, baseline "
        f"{bare['per_history_cpu_ms']} ms), single call p50 {eco['single_call']['p50_ms']} ms "
        f"(cold {eco['cold_ms']} ms); baseline {bare['per_history_ms']} / {bare['single_call']['p50_ms']} ms"
        + f"; same work {same['per_history_ms']} ms")
