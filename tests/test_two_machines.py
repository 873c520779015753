"""Two machines (issue 27, item 3): two `worker.py` processes and two `ecoplan web` processes,
each in a working folder of its own, on one Temporal dev server (its own: no in-process
worker may take the incident's tasks) and one PostgreSQL, sharing no disk. An incident is
started and acted on through the consoles with a session made on the other console, one
worker is SIGKILLed in the middle of the life, the other finishes it; then, with both
workers' folders gone, a third folder finds the record, the complete case file and the
notifications sent."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from datetime import datetime, timedelta

import httpx
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from sqlalchemy import text

from activities import db
from activities.page_store import PageStore
from ecoplan import api
from ecoplan.accounts import AccountStore
from ecoplan.contacts import ContactStore
from ecoplan.duty_roster import DutyStore, Shift
from plan.calendar import SHANGHAI
from tests.helpers import CITY_WARNING
from tests.procs import DevServer, WorkerProcess, free_port, poll
from tests.test_channels import Mailbox
from tests.web_helpers import incident_body

PW = "桃河-correct-horse"
ECOPLAN = str(Path(sys.executable).parent / "ecoplan")


class Console:
    """`ecoplan web` as a process in its own folder."""

    def __init__(self, address: str, folder: Path, url: str):
        self.port, self.log = free_port(), open(os.devnull, "wb")
        self.env = {**os.environ, "TEMPORAL_ADDRESS": address, "ECOPLAN_DATABASE_URL": url,
                    "ECOPLAN_HOME": str(folder / ".ecoplan"), "ECOPLAN_ARCHIVE_DIR": str(folder / "archive")}
        self.folder, self.proc = folder, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "Console":
        self.log = open(self.folder / "console.log", "wb")
        self.proc = await asyncio.create_subprocess_exec(ECOPLAN, "web", "--port", str(self.port), env=self.env,
                                                         cwd=self.folder, stdout=self.log, stderr=self.log)

        async def up():
            assert self.proc.returncode is None, (self.folder / "console.log").read_text()
            try:
                async with httpx.AsyncClient(timeout=5) as c:
                    return (await c.get(f"{self.url}/login")).status_code == 200
            except httpx.TransportError:
                return False

        await poll(up, 120, 0.2, "console up")  # four processes start at once
        return self

    async def stop(self) -> None:
        if self.log.closed:
            return
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.log.close()


async def test_two_workers_two_consoles_one_database(tmp_path, pg_cluster):
    url = pg_cluster.fresh_url()
    AccountStore(url, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)).add(
        "wangwei", "duty_officer", PW, display="王伟")
    ContactStore(url).set("wangwei", email="wangwei@example.gov.cn")
    now = datetime.now(SHANGHAI)
    DutyStore(url).replace([Shift(day=now.date(), name="测试班", starts_at=now - timedelta(hours=1),
                                  ends_at=now + timedelta(hours=2), people={"officer": ["wangwei"]})])
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    paging = {"ECOPLAN_DATABASE_URL": url, "ECOPLAN_SMTP_HOST": "127.0.0.1", "ECOPLAN_SMTP_PORT": str(smtp.port),
              "ECOPLAN_SMTP_TLS": "none", "ECOPLAN_SMTP_FROM": "yj@example.gov.cn"}
    srv = DevServer(log_dir=tmp_path)
    folders = {n: tmp_path / n for n in ("a", "b", "third")}
    for f in folders.values():
        f.mkdir()
    await srv.start()
    wa = WorkerProcess(srv.address, folders["a"], paging, name="worker-a")
    wb = WorkerProcess(srv.address, folders["b"], paging, name="worker-b")
    consoles = [Console(srv.address, folders["a"], url), Console(srv.address, folders["b"], url)]
    try:
        await asyncio.gather(wa.start(timeout=120), wb.start(timeout=120), *(c.start() for c in consoles))
        client = await srv.client()
        async with httpx.AsyncClient(base_url=consoles[0].url, timeout=60) as A, \
                httpx.AsyncClient(base_url=consoles[1].url, timeout=60) as B:
            r = await A.post("/api/login", json={"username": "wangwei", "password": PW})  # logs in on A
            assert r.status_code == 200, r.text
            h = {"Authorization": f"Bearer {r.json()['token']}"}
            r = await B.post("/api/incidents", headers=h, json=incident_body(title="两机共享测试"))  # acts on B
            assert r.status_code == 201, r.text
            iid = r.json()["incident_id"]
            # The officer on shift is paged by e-mail (a worker read the roster and the address from
            # the database); the page is in the database, and console A takes the acknowledgement.
            pages = PageStore(url)

            async def paged():
                return [p for p in pages.incident_pages(iid) if p["channel"] == "email"]
            page = (await poll(paged, 90, 0.5, "the officer's page in PostgreSQL"))[0]
            assert page["username"] == "wangwei" and page["event"] == "new_incident"
            assert [rcpt for rcpt, _ in box.messages] == [["wangwei@example.gov.cn"]]
            r = await A.post(f"/api/pages/{page['id']}/ack", headers=h)
            assert r.status_code == 200, r.text

            async def acknowledged():
                return pages.page(page["id"])["state"] == "acknowledged"
            await poll(acknowledged, 60, 0.5, "the acknowledgement in PostgreSQL")
            r = await B.post(f"/api/incidents/{iid}/actions/issue_warning", headers=h, json=CITY_WARNING)
            assert r.status_code == 200, r.text
            await wa.kill()  # ---------------------------------------- SIGKILL worker A mid-life
            r = await A.post(f"/api/incidents/{iid}/actions/lift_warning", headers=h,
                             json={**CITY_WARNING, "reason": "监测数据恢复正常"})
            assert r.status_code == 200, r.text
            final = await asyncio.wait_for(client.get_workflow_handle(api.workflow_id(iid)).result(), 120)
            assert final["outcome"] == "warning_lifted"

        async def filed():  # the case file, the chart and the dossier in the database
            with db.engine(url).connect() as c:
                names = set(c.execute(text("SELECT name FROM archive_files WHERE folder = :f"), {"f": iid}).scalars())
                stage = c.execute(text("SELECT stage FROM incidents WHERE incident_id = :i"), {"i": iid}).scalar()
            return {"case-file.pdf", "deadline-chart.svg", "dossier.json"} <= names and stage == "closed"

        await poll(filed, 90, 0.5, "case file and record in PostgreSQL")
        # Nothing of the incident on the workers' disks any more (worker B stays up: Temporal
        # asks a worker for a closed incident's status).
        await asyncio.gather(*(c.stop() for c in consoles))
        for n in ("a", "b"):
            shutil.rmtree(folders[n] / "archive", ignore_errors=True)
            (folders[n] / "outbox.jsonl").unlink(missing_ok=True)  # the workers' logs: the record is the database
        env = {**os.environ, "TEMPORAL_ADDRESS": srv.address, "ECOPLAN_DATABASE_URL": url,
               "ECOPLAN_HOME": str(folders["third"] / ".ecoplan")}
        out = folders["third"] / "papers"
        runs = [await asyncio.create_subprocess_exec(ECOPLAN, *args, env=env, cwd=folders["third"],
                                                     stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                for args in (("documents", iid, "--out", str(out), "--json"), ("list", "--closed", "--json"),
                             ("notifications", "--incident", iid, "--json"))]
        (papers, perr), (listed, lerr), (sent, serr) = [await asyncio.wait_for(p.communicate(), 90) for p in runs]
    finally:
        await asyncio.gather(wa.kill(), wb.kill(), *(c.stop() for c in consoles))
        await srv.kill()
        smtp.stop()
    assert runs[0].returncode == 0, perr.decode()
    assert {"case-file.pdf", "deadline-chart.svg"} <= {Path(p).name for p in json.loads(papers)}
    with db.engine(url).connect() as c:
        body = c.execute(text("SELECT body FROM archive_files WHERE folder = :f AND name = 'case-file.pdf'"),
                         {"f": iid}).scalar()
    assert (out / "case-file.pdf").read_bytes() == bytes(body) and bytes(body).startswith(b"%PDF")
    assert runs[1].returncode == 0, lerr.decode()
    assert [(r["incident_id"], r["outcome"]) for r in json.loads(listed)] == [(iid, "warning_lifted")]
    # The notifications both workers sent, each once, recorded in the database (the outbox files are gone).
    assert runs[2].returncode == 0, serr.decode()
    notes = json.loads(sent)
    subjects = {n["event"]: n["subject"] for n in notes}
    assert {k: subjects.get(k) for k in ("incident_reported", "warning_issued", "warning_lifted")} == {
        "incident_reported": "新接报事件：两机共享测试", "warning_issued": "预警：两机共享测试",
        "warning_lifted": "预警解除：两机共享测试"}
    assert len({n["key"] for n in notes}) == len(notes) and {n["channel"] for n in notes} == {"outbox"}
    assert all(n["incident_id"] == iid and "@" in n["worker"] for n in notes)
