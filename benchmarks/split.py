"""Where ecoplan's extra cost per incident goes: profile each side of the life-cycle
benchmark on its own, then compare the two profiles by category.

    .venv/bin/py-spy record -f raw -r 200 -o /tmp/eco.txt -- .venv/bin/python -m benchmarks.split run ecoplan
    .venv/bin/py-spy record -f raw -r 200 -o /tmp/bare.txt -- .venv/bin/python -m benchmarks.split run baseline
    .venv/bin/python -m benchmarks.split compare /tmp/eco.txt /tmp/bare.txt

`run` starts a dev server, records one ecoplan life cycle (the baseline's script comes from
it, as in the harness), warms the worker, then takes `--incidents` incidents concurrently
through the life cycle `--rounds` times, and prints wall and process CPU per incident.
`--unsandboxed` runs the workflows without the SDK's sandbox (an experiment only: ecoplan's
worker always runs its workflows sandboxed).

`compare` sorts every sample of the event-loop thread into one category (the first that
matches, in the order below) and counts the activity threads' work apart, and prints
samples per incident for each side and the difference. Idle executor threads are left out.
Each profile also holds the set-up (server start, one recorded ecoplan life cycle), the
same for both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# (category, a frame text that marks it); a sample goes to the first category it matches.
CATEGORIES = [
    ("sandbox: new workflow instance (re-imports the workflow module)", "_create_workflow_instance"),
    ("SDK: decode activation payloads", "decode_activation"),
    ("SDK: encode completion payloads", "encode_completion"),
    ("client: updates (api.act / execute_update)", "execute_update"),
    ("client: start and ready query", "start_incident"),
    ("client: start and ready query", "bare_lifecycle"),
    ("SDK: activity task dispatch", "_ActivityWorker"),
    ("event loop idle (epoll)", "EpollSelector.select"),
]
EVENT_LOOP = "BaseEventLoop.run_forever"  # the main thread: client, workflow worker, activity dispatch
ACTIVITY_THREAD = "_WorkItem.run"  # an executor thread: a workflow activation or an activity


def categorise(path: Path) -> Counter:
    counts: Counter = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        k = int(n)
        if ACTIVITY_THREAD in stack:  # the SDK runs workflow activations in threads too
            if "_RunningWorkflow.activate" in stack:
                counts["workflow activation in the sandbox (workflow code, state machine, pydantic)"] += k
            elif "_execute_sync_activity" in stack:
                counts["activities' own work (files, log, calendar)"] += k
            else:
                counts["executor threads: other"] += k
        elif EVENT_LOOP in stack:
            for name, mark in CATEGORIES:
                if mark in stack:
                    counts[name] += k
                    break
            else:
                counts["SDK and event loop: other"] += k
    return counts


def compare(eco_path: Path, bare_path: Path, incidents: int) -> str:
    eco, bare = categorise(eco_path), categorise(bare_path)
    rows = sorted(set(eco) | set(bare), key=lambda k: -(eco[k] - bare[k]))
    out = [f"samples per incident ({incidents} incidents per side; at 200 Hz one sample is 5 ms)", "",
           "| category | ecoplan | baseline | difference |", "|---|---|---|---|"]
    for k in rows:
        out.append(f"| {k} | {eco[k] / incidents:.1f} | {bare[k] / incidents:.1f} | {(eco[k] - bare[k]) / incidents:+.1f} |")
    te, tb = sum(eco.values()), sum(bare.values())
    out.append(f"| **all** | {te / incidents:.1f} | {tb / incidents:.1f} | {(te - tb) / incidents:+.1f} |")
    return "\n".join(out)


async def run(kind: str, incidents: int, rounds: int, unsandboxed: bool) -> None:
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from ecoplan import server
    import worker as ecoplan_worker
    import activities.search_attributes as sa
    from activities.settings import ActivitySettings
    from benchmarks import driving as h
    from benchmarks.baseline import BareWorkflow, bare_activity
    from ecoplan.connection import DATA_CONVERTER

    if unsandboxed:
        ecoplan_worker.build_worker = functools.partial(ecoplan_worker.build_worker,
                                                        workflow_runner=UnsandboxedWorkflowRunner())
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=server.temporal_binary(),
                                                search_attributes=sa.ALL, data_converter=DATA_CONVERTER,
                                                dev_server_log_level="error")
    client = env.client
    work = Path(tempfile.mkdtemp(prefix="ecoplan-split-"))
    settings = ActivitySettings(archive_dir=work / "archive", outbox_path=work / "outbox.jsonl")
    async with h.eco_worker(client, "split-eco", settings):
        iid = await h.eco_lifecycle(client, "split-eco")
        script = h.script_from_history(await h.history_of(client, f"incident-{iid}"))

    @contextlib.asynccontextmanager
    async def bare_worker():
        options = {"workflow_runner": UnsandboxedWorkflowRunner()} if unsandboxed else {}
        async with Worker(client, task_queue="split-bare", workflows=[BareWorkflow], activities=[bare_activity],
                          activity_executor=ThreadPoolExecutor(max_workers=16), **options):
            yield

    if kind == "ecoplan":
        ctx, one = h.eco_worker(client, "split-eco", settings), lambda: h.eco_lifecycle(client, "split-eco")
    else:
        ctx, one = bare_worker(), lambda: h.bare_lifecycle(client, "split-bare", script)
    async with ctx:
        await one()  # warm-up
        t, c = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            await asyncio.gather(*(one() for _ in range(incidents)))
        n = incidents * rounds
        print(f"{kind}{' (unsandboxed)' if unsandboxed else ''}: {n} incidents, "
              f"wall {(time.perf_counter() - t) / n * 1000:.1f} ms and process CPU "
              f"{(time.process_time() - c) / n * 1000:.1f} ms per incident", flush=True)
    await env.shutdown()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("kind", choices=["ecoplan", "baseline"])
    r.add_argument("--incidents", type=int, default=30)
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--unsandboxed", action="store_true")
    c = sub.add_parser("compare")
    c.add_argument("ecoplan", type=Path)
    c.add_argument("baseline", type=Path)
    c.add_argument("--incidents", type=int, default=93, help="incidents per side in the profiles (with warm-up "
                   "and the recorded one: incidents × rounds + 2 for ecoplan, + 1 for the baseline)")
    args = p.parse_args()
    if args.cmd == "compare":
        print(compare(args.ecoplan, args.baseline, args.incidents))
        return
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    asyncio.run(run(args.kind, args.incidents, args.rounds, args.unsandboxed))
    sys.stdout.flush()
    os._exit(0)  # the SDK's runtime can abort at interpreter exit (docs/design.md, known traps)


if __name__ == "__main__":
    main()
