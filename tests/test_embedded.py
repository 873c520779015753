"""`make run`'s path: worker.py --embedded starts the dev server (SQLite file, custom search
attributes) and the worker; SIGINT (Ctrl-C) stops both; incidents survive a restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEMPORAL_BIN
from tests.helpers import now
from workflows import search_attributes as sa

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def sh(*args: str, env: dict | None = None, cwd: Path | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env=env, cwd=cwd)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


async def wait_for(check, timeout: float = 60.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await check():
            return
        await asyncio.sleep(0.3)
    raise AssertionError("timed out")


async def test_embedded_server_and_worker(tmp_path):
    port, ui, metrics = free_port(), free_port(), free_port()
    address = f"127.0.0.1:{port}"
    db = tmp_path / "temporal.db"
    env = {**os.environ, "ECOPLAN_USER": "王值班", "ECOPLAN_ARCHIVE_DIR": str(tmp_path / "archive"),
           "ECOPLAN_OUTBOX": str(tmp_path / "outbox.jsonl")}
    env.pop("TEMPORAL_ADDRESS", None)
    cmd = [sys.executable, str(ROOT / "worker.py"), "--embedded", "--port", str(port), "--ui-port", str(ui),
           "--db", str(db), "--metrics-port", str(metrics)]

    async def listed() -> bool:
        code, out, _ = await sh(TEMPORAL_BIN, "operator", "search-attribute", "list", "--address", address)
        return code == 0 and all(k.name in out for k in sa.ALL)

    ecoplan = str(Path(sys.executable).parent / "ecoplan")
    cli_env = {**env, "TEMPORAL_ADDRESS": address}
    iid = f"emb-{uuid.uuid4().hex[:8]}"
    report = tmp_path / "r.json"
    report.write_text(json.dumps({
        "incident_id": iid, "title": "测试", "discovered_at": (now() - timedelta(minutes=10)).isoformat(),
        "reported_at": now().isoformat(), "county": "矿区", "location": "x", "incident_type": "air",
        "source": "inspection", "reporter": "巡查员"}, ensure_ascii=False))

    for run_no in (1, 2):
        proc = await asyncio.create_subprocess_exec(*cmd, env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            await wait_for(listed)  # every custom search attribute is registered, on both starts
            if run_no == 1:
                code, out, err = await sh(ecoplan, "start", str(report), env=cli_env)
                assert code == 0, err
                code, out, err = await sh(ecoplan, "activate", iid, env=cli_env)
                assert code == 0, err
                # the worker's runtime telemetry is served for Prometheus
                import urllib.request

                body = await asyncio.to_thread(
                    lambda: urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read().decode())
                assert "temporal_" in body and "# TYPE" in body
            # on the second start the incident is still there, in the stage it had
            code, out, err = await sh(ecoplan, "status", iid, "--json", env=cli_env)
            assert code == 0, err
            assert json.loads(out)["stage"] == "responding"
        finally:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
            stderr = (await asyncio.wait_for(proc.communicate(), 30))[1].decode()
        assert proc.returncode == 0, stderr
        assert "embedded_server_stopped" in stderr
        # the server is gone too: nothing listens on its port any more
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    assert db.exists()
