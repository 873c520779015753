"""Life cycles per second with one `python worker.py` and with two (issue 27, item 6).

One Temporal dev server of its own (as the harness starts it: in-memory SQLite, the project's
search attributes) and one PostgreSQL cluster (started as tests/pg.py starts it: fsync off, a
test cluster). Three set-ups, each run in its own phase with freshly started worker processes
in working folders of their own (no shared disk):

- `sqlite-1`: one worker on the embedded default (its own SQLite files and archive folder);
- `postgresql-1`: one worker with ECOPLAN_DATABASE_URL (records, pages and notifications, and
  the shared archive: each delivery fetches the incident's folder from the database and
  publishes what it wrote);
- `postgresql-2`: two workers on the same database and task queue; Temporal hands each
  incident's tasks to either.

In each phase this process drives N incidents at once through the brief's life cycle
(benchmarks/driving.py: start, 13 updates, the close; the same client path as the CLI and the
console) after two warm-up life cycles, and measures the wall time, the CPU of each worker
process, of the dev server, of PostgreSQL (its server process and the backends alive at the end)
and of this driver, and the machine's busy share of its cores over the phase (/proc/stat: other
people's work included). Rounds rotate the order of the set-ups; the figures are medians.

    python -m benchmarks.workers --n 24 --rounds 2     # `make bench-workers`

Writes benchmarks/results/workers-<N>-<time>.json (or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.dont_write_bytecode = False  # as the harness: a deployed worker imports compiled bytecode
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

from activities import search_attributes as sa  # noqa: E402
from benchmarks.common import RESULTS, children, cpu_seconds, log, machine_info, r3, run_and_exit, server_pid  # noqa: E402
from benchmarks.driving import eco_lifecycle  # noqa: E402
from ecoplan import server  # noqa: E402
from ecoplan.connection import DATA_CONVERTER, TASK_QUEUE  # noqa: E402

SETUPS = {"sqlite-1": ("sqlite", 1), "postgresql-1": ("postgresql", 1), "postgresql-2": ("postgresql", 2)}


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v[:8]) - idle, sum(v[:8])


def postgres_pids(folder: Path) -> list[int]:
    """The cluster's server process (its data folder on the command line) and its backends."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"postgres") and str(folder / "data").encode() in cmd:
            return [int(d), *children(int(d))]
    return []


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, IndexError, ValueError):  # a backend that ended meanwhile
            pass
    return total


class Workers:
    """`python worker.py` processes, each in a folder of its own, against the benchmark's server."""

    def __init__(self, address: str, base: Path, count: int, database_url: str | None):
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        for i in range(count):
            folder = base / f"w{i}-{uuid.uuid4().hex[:6]}"
            folder.mkdir(parents=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOPLAN_", "TEMPORAL_"))}
            env.update({"TEMPORAL_ADDRESS": address, "ECOPLAN_HOME": str(folder / ".ecoplan"),
                        "ECOPLAN_ARCHIVE_DIR": str(folder / "archive"), "ECOPLAN_OUTBOX": str(folder / "outbox.jsonl")})
            if database_url:
                env["ECOPLAN_DATABASE_URL"] = database_url
            self.logs.append(folder / "worker.log")
            with open(self.logs[-1], "wb") as out:
                self.procs.append(subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=folder, env=env,
                                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

    async def ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for proc, path in zip(self.procs, self.logs):
            while b"worker_starting" not in path.read_bytes():
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited {proc.returncode}: {path.read_text(errors='replace')[-2000:]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker not up after {timeout} s: {path}")
                await asyncio.sleep(0.2)

    def cpu(self) -> list[float]:
        return [cpu_seconds(p.pid) for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


async def phase(client, address: str, srv: int | None, cluster, base: Path, setup: str, n: int) -> dict:
    store, count = SETUPS[setup]
    url = cluster.fresh_url() if store == "postgresql" else None
    workers = Workers(address, base, count, url)
    try:
        t0 = time.perf_counter()
        await workers.ready()
        started_s = time.perf_counter() - t0
        # Warm-up outside the measurement: each worker's sandbox, caches, the stores' schema.
        await asyncio.gather(*(eco_lifecycle(client, TASK_QUEUE) for _ in range(2 * count)))
        pg = postgres_pids(cluster.folder) if url else []
        w0, s0, p0, d0, (b0, t0m) = workers.cpu(), cpu_seconds(srv) if srv else 0.0, _cpu(pg), time.process_time(), \
            machine_busy()
        t = time.perf_counter()
        await asyncio.gather(*(eco_lifecycle(client, TASK_QUEUE) for _ in range(n)))
        wall = time.perf_counter() - t
        b1, t1m = machine_busy()
        pg = sorted(set(pg) | set(postgres_pids(cluster.folder))) if url else []
        worker_cpu = [w1 - w for w1, w in zip(workers.cpu(), w0)]
        res = {
            "setup": setup, "store": store, "workers": count, "incidents": n, "wall_s": r3(wall),
            "incidents_per_s": r3(n / wall), "ms_per_incident": r3(wall / n * 1000),
            "worker_cpu_ms_per_incident": [r3(c / n * 1000) for c in worker_cpu],
            "workers_cpu_ms_per_incident": r3(sum(worker_cpu) / n * 1000),
            "server_cpu_ms_per_incident": r3((cpu_seconds(srv) - s0) / n * 1000) if srv else None,
            "postgres_cpu_ms_per_incident": r3((_cpu(pg) - p0) / n * 1000) if url else None,
            "driver_cpu_ms_per_incident": r3((time.process_time() - d0) / n * 1000),
            "machine_busy_share": r3((b1 - b0) / max(t1m - t0m, 1)),
            "workers_start_s": r3(started_s), "loadavg_after": list(os.getloadavg()),
        }
    finally:
        workers.stop()
    log(f"{setup}: {res['incidents_per_s']} life cycles/s ({res['ms_per_incident']} ms each); worker CPU "
        f"{res['worker_cpu_ms_per_incident']} ms/incident; machine busy {res['machine_busy_share']}")
    return res


async def run(n: int, rounds: int, setups: list[str], out_path: Path | None) -> dict:
    from temporalio.testing import WorkflowEnvironment

    from tests.pg import Cluster

    started = datetime.now(timezone.utc)
    out: dict = {"benchmark": "workers", "started_at": started.isoformat(timespec="seconds"),
                 "settings": {"incidents": n, "rounds": rounds, "setups": setups},
                 "description": __doc__.split("\n\n", 2)[1].strip(), "machine": machine_info(None)}
    base = Path(tempfile.mkdtemp(prefix="ecoplan-bench-workers-"))
    cluster = Cluster().start()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server.temporal_binary(), search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER, dev_server_log_level="error")
    try:
        client = env.client
        address, srv = client.service_client.config.target_host, server_pid()
        log(f"dev server {address}, PostgreSQL port {cluster.port}; {n} incidents × {rounds} rounds of {setups}")
        runs: dict[str, list[dict]] = {s: [] for s in setups}
        for rnd in range(rounds):
            order = setups if rnd % 2 == 0 else list(reversed(setups))
            for setup in order:
                runs[setup].append(await phase(client, address, srv, cluster, base, setup, n))
    finally:
        await env.shutdown()
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)

    def med(setup: str, key: str) -> float | None:
        vals = [r[key] for r in runs[setup] if r[key] is not None]
        return r3(statistics.median(vals)) if vals else None

    keys = ("incidents_per_s", "ms_per_incident", "workers_cpu_ms_per_incident", "server_cpu_ms_per_incident",
            "postgres_cpu_ms_per_incident", "driver_cpu_ms_per_incident", "machine_busy_share")
    out["by_setup"] = {s: {**{k: med(s, k) for k in keys}, "runs": runs[s]} for s in setups}
    per_s = {s: out["by_setup"][s]["incidents_per_s"] for s in setups}
    if per_s.get("postgresql-1") and per_s.get("postgresql-2"):
        out["two_over_one"] = r3(per_s["postgresql-2"] / per_s["postgresql-1"])
    if per_s.get("sqlite-1") and per_s.get("postgresql-1"):
        out["postgresql_over_sqlite"] = r3(per_s["postgresql-1"] / per_s["sqlite-1"])
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    out["duration_s"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
    out_path = out_path or RESULTS / f"workers-{n}-{started:%Y%m%dT%H%M}.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"wrote {out_path} in {out['duration_s']} s: life cycles/s {per_s}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=24, help="incidents driven at once in each phase")
    p.add_argument("--rounds", type=int, default=2, help="rounds of every set-up, order alternating")
    p.add_argument("--setups", default=",".join(SETUPS), help="comma-separated: " + ", ".join(SETUPS))
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = [s for s in setups if s not in SETUPS]
    if unknown:
        p.error(f"unknown set-up {unknown}")
    run_and_exit(run(args.n, args.rounds, setups, args.out))


if __name__ == "__main__":
    main()
