"""Benchmark sections 1, 2 and 5: the life cycle (with growth), sign-off latency, replay."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Replayer

from activities.settings import ActivitySettings
from benchmarks.baseline import BareWorkflow
from benchmarks.common import GOALS, GROUPS, Meter, log, r3, ratio, summary_ms
from benchmarks.driving import (bare_lifecycle, bare_worker, count_events, eco_lifecycle, eco_worker, history_of,
                                incident_report, lifecycle_actions, script_from_history, sign_off)
from ecoplan import api
from ecoplan.connection import DATA_CONVERTER
from workflows.incident import IncidentWorkflow


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
