"""How often the SDK enters the workflow sandbox to replay one life cycle, and what each
kind of entry costs: ecoplan's history beside the bare baseline's.

    PYTHONPATH=. .venv/bin/python -m benchmarks.sandbox_entries [--copies 30]

Starts a dev server, records one ecoplan life cycle and the bare workflow driven by its
script (`benchmarks.lifecycle.record`, as the harness does), then replays each history `--copies` times through one
`Replayer.replay_workflows` call with the sandbox runner's `_Instance._run_code` wrapped:
every entry is counted by what it runs (`activate`, `get_serialization_context`, ...) and its
thread CPU summed, inner work included. Prints per history; BENCHMARKS.md, section "two
cuts in the workflow's own code", reads the table.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import _runner

ENTRIES: collections.Counter = collections.Counter()
CPU: collections.Counter = collections.Counter()


def _count_entries() -> None:
    run_code = _runner._Instance._run_code

    def counted(self, code: str, **kw):
        what = code.split("__temporal_in_sandbox.")[1].split("(")[0] if "__temporal_in_sandbox." in code \
            else "instance creation"
        t = time.thread_time()
        try:
            return run_code(self, code, **kw)
        finally:
            ENTRIES[what] += 1
            CPU[what] += time.thread_time() - t

    _runner._Instance._run_code = counted


async def main(copies: int) -> None:
    from temporalio.testing import WorkflowEnvironment

    import activities.search_attributes as sa
    from activities.settings import ActivitySettings
    from benchmarks.baseline import BareWorkflow
    from benchmarks.lifecycle import KINDS, record
    from ecoplan import server
    from ecoplan.connection import DATA_CONVERTER
    from workflows.incident import IncidentWorkflow

    env = await WorkflowEnvironment.start_local(dev_server_existing_path=server.temporal_binary(),
                                                search_attributes=sa.ALL, data_converter=DATA_CONVERTER,
                                                dev_server_log_level="error")
    try:
        work = Path(tempfile.mkdtemp(prefix="ecoplan-entries-"))
        settings = ActivitySettings(archive_dir=work / "archive", outbox_path=work / "outbox.jsonl")
        hists = (await record(env.client, settings, {k: f"entries-{k}" for k in KINDS}))["histories"]
    finally:
        await env.shutdown()

    _count_entries()
    for name, wf, hist in (("ecoplan", IncidentWorkflow, hists["ecoplan"]), ("bare", BareWorkflow, hists["baseline"])):
        replayer = Replayer(workflows=[wf], data_converter=DATA_CONVERTER)
        await replayer.replay_workflow(hist)  # warm: sandbox imports
        ENTRIES.clear()
        CPU.clear()

        async def histories():
            for _ in range(copies):
                yield hist

        c = time.process_time()
        results = await replayer.replay_workflows(histories())
        assert not results.replay_failures, results.replay_failures
        cpu = (time.process_time() - c) / copies * 1000
        print(f"{name}: {len(hist.events)} events, process CPU {cpu:.1f} ms per history; sandbox entries per history:")
        for what, n in ENTRIES.most_common():
            print(f"  {n / copies:7.1f} × {what:28s} {CPU[what] / copies * 1000:6.2f} ms thread CPU")


if __name__ == "__main__":
    from benchmarks.common import run_and_exit

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--copies", type=int, default=30)
    run_and_exit(main(p.parse_args().copies))
