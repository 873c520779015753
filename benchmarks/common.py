"""What the benchmark sections share: the goals, the people and places the incidents name,
small statistics and process measurements (CPU, RSS from /proc), the machine."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ecoplan import server
from plan.incident import Actor


ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

GOALS = {
    "lifecycle_ratio_max": 1.15,
    # Issue 26: against the same-work baseline, workflow-task CPU against the bare one,
    # replay against the bare workflow's, sign-off against a no-op update.
    "ratio_same_work_max": 1.2,
    "orchestration_ratio_max": 1.3,
    "replay_ratio_max": 1.2,
    "signoff_p50_ratio_max": 1.15,
    "overdue_p95_ms_max": 250.0,
    "overdue_vs_bare_list_max": 1.5,
    "worker_peak_rss_mb_max": 400.0,
    "replay_ms_max": 50.0,
    "board_p95_ms_max": 300.0,  # issue 12: the 总览 board at 10,000 open incidents
    # Issue 26 item 4, at 10,000 open incidents: an action's effect on the board (its own
    # refresh included), a deadline falling due to its overdue mark in visibility.
    "action_board_p95_s_max": 6.0,
    "deadline_overdue_p95_s_max": 2.0,
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


def run_and_exit(main) -> None:
    """Run a benchmark's coroutine and leave the process with os._exit: 0 done, 1 failed (its
    traceback printed). sdk-python issue 300: the SDK's runtime can abort at interpreter exit
    (docs/design.md, known traps)."""
    import asyncio
    import traceback

    status = 0
    try:
        asyncio.run(main)
    except Exception:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


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


def machine_info(bytecode_env: str | None) -> dict[str, Any]:
    """`bytecode_env`: PYTHONDONTWRITEBYTECODE as the harness found it (it unsets it for the run)."""
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
                          + (f"{bytecode_env!r}, unset for the run)" if bytecode_env else "not set)"),
    }


def _mem_total_mb() -> float | None:
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024)
    return None
