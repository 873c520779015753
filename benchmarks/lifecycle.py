"""Benchmark section 1: the life cycle, against two baselines, with its CPU split.

N incidents run concurrently from start to close on one in-process worker; beside them, in
alternating rounds on the same dev server, the bare workflow driven with the same updates,
activities and timers (`baseline`: its activities do nothing) and the same bare workflow doing
ecoplan's activities' work with their recorded inputs (`same_work`, benchmarks/same_work.py).
Every phase is measured with benchmarks/cpu_split.py's buckets (thread CPU per incident by
workflow tasks, each activity kind and the client). Ratios in `lifecycle`:

- `ratio`: ecoplan's wall ms per incident over the bare baseline's (median over rounds);
- `ratio_same_work`: the same over the same-work baseline's (`cpu_ratio_same_work` beside it);
- `orchestration_ratio`: workflow-task CPU per incident (the SDK's activation handling on the
  event loop, the activation in the workflow thread, instance creation, queries), ecoplan over
  the bare baseline.
"""

from __future__ import annotations

import asyncio
import statistics
import uuid
from pathlib import Path

from temporalio.client import Client

from activities.settings import ActivitySettings
from benchmarks.common import GOALS, Meter, log, r3, ratio
from benchmarks.cpu_split import CpuSplit, diff, threads_cpu
from benchmarks.driving import (bare_lifecycle, bare_worker, count_events, eco_lifecycle, eco_worker, history_of,
                                script_from_history)
from benchmarks.same_work import Recorder, SameWork
from ecoplan import api

KINDS = ("baseline", "same_work", "ecoplan")
ORCHESTRATION = ("workflow tasks: SDK on the event loop (payloads)", "workflow tasks: activation (sandbox, workflow code)",
                 "workflow instance creation (sandbox)", "workflow queries (status, outbox, ready)")


async def record(client: Client, settings: ActivitySettings, queues: dict[str, str]) -> dict:
    """One ecoplan life cycle with its activities' inputs kept; the baselines' scripts from it;
    one life cycle of each baseline. Returns the histories, scripts and the same-work activity."""
    recorder = Recorder()
    with recorder:
        async with eco_worker(client, queues["ecoplan"], settings, interceptors=[recorder]):
            iid = await eco_lifecycle(client, queues["ecoplan"])
            eco_hist = await history_of(client, api.workflow_id(iid))
    scripts = {"baseline": script_from_history(eco_hist), "same_work": script_from_history(eco_hist, refs=True)}
    wid = api.workflow_id(iid)
    same = SameWork({k: v for k, v in recorder.calls.items() if v["workflow_id"] == wid}, iid, settings)
    hists = {"ecoplan": eco_hist}
    for kind in ("baseline", "same_work"):
        async with bare_worker(client, queues[kind], activities=(same.same_work,)):
            hists[kind] = await history_of(client, await bare_lifecycle(client, queues[kind], scripts[kind]))
    return {"histories": hists, "scripts": scripts, "same": same}


def per_incident_ms(buckets: dict[str, float], n: int) -> dict[str, float]:
    return {k: r3(v / n * 1000) for k, v in sorted(buckets.items(), key=lambda kv: -kv[1]) if v > 0}


async def bench_lifecycle(client: Client, srv: int | None, settings: ActivitySettings, prof: dict,
                          out: dict, workdir: Path) -> None:
    queues = {k: f"bench-{k}-{uuid.uuid4().hex[:6]}" for k in KINDS}
    rec = await record(client, settings, queues)
    out["_histories"] = dict(rec["histories"])
    for kind, hist in rec["histories"].items():
        (workdir / f"history-{kind}.json").write_text(hist.to_json(), encoding="utf-8")
    counts = {k: count_events(h) for k, h in rec["histories"].items()}
    log(f"per incident: {counts}")
    split = CpuSplit()

    async def phase(kind: str, n: int) -> dict:
        tq = queues[kind]
        if kind == "ecoplan":
            ctx, drive = eco_worker(client, tq, settings, interceptors=[split.interceptor()]), eco_lifecycle
        else:
            ctx = bare_worker(client, tq, activities=(rec["same"].same_work,), interceptors=[split.interceptor()])
            drive = lambda c, q: bare_lifecycle(c, q, rec["scripts"][kind])  # noqa: E731
        run = split.timed_coro(drive, "client (start, updates, result)", lambda *a: kind)
        with split.side(kind, tq):
            async with ctx:
                await run(client, tq)  # warm the worker (sandbox, caches) outside the measurement
                before, calls_before, threads_before = split.snapshot(kind), split.counts(kind), threads_cpu()
                with Meter(srv) as mt:
                    await asyncio.gather(*(run(client, tq) for _ in range(n)))
                buckets, calls = diff(split.snapshot(kind), before), diff(split.counts(kind), calls_before)
                threads = diff(threads_cpu(), threads_before)
        buckets["SDK core threads and the event loop's other work"] = mt.cpu - sum(buckets.values())
        return {"incidents": n, "wall_s": r3(mt.wall), "incidents_per_s": r3(n / mt.wall),
                "ms_per_incident": r3(mt.wall / n * 1000), "cpu_ms_per_incident": r3(mt.cpu / n * 1000),
                "server_cpu_ms_per_incident": r3(mt.server_cpu / n * 1000) if mt.server_cpu is not None else None,
                "orchestration_cpu_ms_per_incident": r3(sum(buckets.get(b, 0.0) for b in ORCHESTRATION) / n * 1000),
                "cpu_split_ms_per_incident": per_incident_ms(buckets, n),
                "calls_per_incident": {k: round(v / n, 2) for k, v in sorted(calls.items()) if v},
                "threads_cpu_ms_per_incident": per_incident_ms(threads, n)}

    with split:
        sizes = [await size(phase, n, prof["lifecycle_rounds"]) for n in prof["lifecycle_sizes"]]
    top = sizes[-1]
    out["lifecycle"] = {
        "description": __doc__.split("\n\n", 1)[1].strip(),
        "sizes": [s["incidents"] for s in sizes],
        "incidents": top["incidents"],
        **{f"{k}_ms_per_incident": top[k]["ms_per_incident"] for k in KINDS},
        "ecoplan_incidents_per_s": top["ecoplan"]["incidents_per_s"],
        "baseline_incidents_per_s": top["baseline"]["incidents_per_s"],
        **{k: top[k] for k in ("ratio", "cpu_ratio", "ratio_same_work", "cpu_ratio_same_work",
                               "orchestration_ratio", "orchestration_ratio_same_work")},
        "goal_ratio_max": GOALS["lifecycle_ratio_max"],
        "goal_met": top["ratio"] is not None and top["ratio"] <= GOALS["lifecycle_ratio_max"],
        "goal_ratio_same_work_max": GOALS["ratio_same_work_max"],
        "goal_same_work_met": top["ratio_same_work"] is not None
        and top["ratio_same_work"] <= GOALS["ratio_same_work_max"],
        "goal_orchestration_ratio_max": GOALS["orchestration_ratio_max"],
        "goal_orchestration_met": top["orchestration_ratio"] is not None
        and top["orchestration_ratio"] <= GOALS["orchestration_ratio_max"],
        "cpu_split_ms_per_incident": {k: top[k]["cpu_split_ms_per_incident"] for k in KINDS},
        "per_incident_history": counts,
        "baseline_script": rec["scripts"]["baseline"],
        "by_size": sizes,
    }


async def size(phase, n: int, rounds: int) -> dict:
    """`rounds` rounds of the three sides at `n` incidents, order rotating; medians and ratios."""
    runs: dict[str, list[dict]] = {k: [] for k in KINDS}
    for rnd in range(rounds):
        for kind in KINDS[rnd % 3:] + KINDS[:rnd % 3]:
            res = await phase(kind, n)
            runs[kind].append(res)
            log(f"lifecycle n={n} round {rnd + 1} {kind}: {res['ms_per_incident']} ms/incident, cpu "
                f"{res['cpu_ms_per_incident']} ms/incident, orchestration {res['orchestration_cpu_ms_per_incident']} ms")

    def med(kind: str, key: str) -> float | None:
        vals = [r[key] for r in runs[kind] if r[key] is not None]
        return r3(statistics.median(vals)) if vals else None

    def split_median(kind: str) -> dict[str, float]:
        keys = {k for r in runs[kind] for k in r["cpu_split_ms_per_incident"]}
        return per_incident_ms({k: statistics.median(r["cpu_split_ms_per_incident"].get(k, 0.0) for r in runs[kind])
                                for k in keys}, 1000)

    keys = ("incidents_per_s", "ms_per_incident", "cpu_ms_per_incident", "server_cpu_ms_per_incident",
            "orchestration_cpu_ms_per_incident")
    sides = {k: {**{key: med(k, key) for key in keys}, "cpu_split_ms_per_incident": split_median(k), "runs": runs[k]}
             for k in KINDS}
    eco, bare, same = sides["ecoplan"], sides["baseline"], sides["same_work"]
    return {"incidents": n, "rounds": rounds, **sides,
            "ratio": ratio(eco["ms_per_incident"], bare["ms_per_incident"]),
            "cpu_ratio": ratio(eco["cpu_ms_per_incident"], bare["cpu_ms_per_incident"]),
            "ratio_same_work": ratio(eco["ms_per_incident"], same["ms_per_incident"]),
            "cpu_ratio_same_work": ratio(eco["cpu_ms_per_incident"], same["cpu_ms_per_incident"]),
            "orchestration_ratio": ratio(eco["orchestration_cpu_ms_per_incident"], bare["orchestration_cpu_ms_per_incident"]),
            "orchestration_ratio_same_work": ratio(eco["orchestration_cpu_ms_per_incident"],
                                                   same["orchestration_cpu_ms_per_incident"])}
