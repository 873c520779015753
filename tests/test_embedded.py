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
from activities import search_attributes as sa
from tests.ports import free_port

pytestmark = pytest.mark.slow


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


async def _start(cmd_for, env: dict, cwd: Path):
    """Start worker.py --embedded and wait until every custom search attribute is registered.
    A port taken between free_port() and the server's bind (another test's server, under
    load) is tried again with fresh ports; any other early exit fails with its stderr."""
    for _ in range(3):
        port, ui, metrics = free_port(), free_port(), free_port()
        address = f"127.0.0.1:{port}"
        proc = await asyncio.create_subprocess_exec(*cmd_for(port, ui, metrics), env=env, cwd=cwd,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)

        async def up() -> bool:
            if proc.returncode is not None:
                return True
            code, out, _ = await sh(TEMPORAL_BIN, "operator", "search-attribute", "list", "--address", address)
            return code == 0 and all(k.name in out for k in sa.ALL)

        await wait_for(up, timeout=120)
        if proc.returncode is None:
            return proc, port, metrics, address
        err = (await proc.stderr.read()).decode()
        # the server's own output goes to stdout (not read here): a server that exited at once is
        # taken for a port clash too, and tried again on fresh ports
        if "address already in use" not in err.lower() and "内置 Temporal 服务启动后即退出" not in err:
            raise AssertionError(f"worker.py --embedded exited {proc.returncode}: {err[-3000:]}")
    raise AssertionError("worker.py --embedded: no free ports in three tries")


async def test_embedded_server_and_worker(tmp_path):
    db = tmp_path / "temporal.db"
    # A dev server starting on a loaded machine (four test processes) may take longer than
    # the worker's default 30 s wait for it; this test is about what happens once it is up.
    env = {**os.environ, "ECOPLAN_USER": "王值班", "ECOPLAN_HOME": str(tmp_path / ".ecoplan"),
           "ECOPLAN_ARCHIVE_DIR": str(tmp_path / "archive"),
           "ECOPLAN_OUTBOX": str(tmp_path / "outbox.jsonl"), "ECOPLAN_CONNECT_WAIT": "90"}
    env.pop("TEMPORAL_ADDRESS", None)

    def cmd_for(port: int, ui: int, metrics: int) -> list[str]:
        return [sys.executable, str(ROOT / "worker.py"), "--embedded", "--port", str(port), "--ui-port", str(ui),
                "--db", str(db), "--metrics-port", str(metrics)]

    ecoplan = str(Path(sys.executable).parent / "ecoplan")
    iid = f"emb-{uuid.uuid4().hex[:8]}"
    report = tmp_path / "r.json"
    report.write_text(json.dumps({
        "incident_id": iid, "title": "测试", "discovered_at": (now() - timedelta(minutes=10)).isoformat(),
        "reported_at": now().isoformat(), "county": "矿区", "location": "x", "incident_type": "air",
        "source": "inspection", "reporter": "巡查员"}, ensure_ascii=False))

    for run_no in (1, 2):
        # every custom search attribute is registered, on both starts
        proc, port, metrics, address = await _start(cmd_for, env, tmp_path)
        cli_env = {**env, "TEMPORAL_ADDRESS": address}
        try:
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


async def test_a_taken_port_is_said_at_once(tmp_path):
    """The embedded server cannot bind its port (another program holds it): the worker says so
    in one Chinese line and exits 1 at once, instead of waiting its 30 s for a server that has
    already gone and then reporting a refused connection."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = {**os.environ, "ECOPLAN_HOME": str(tmp_path / ".ecoplan")}
        env.pop("TEMPORAL_ADDRESS", None)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "worker.py"), "--embedded", "--port", str(port), "--ui-port", "0",
            "--db", str(tmp_path / "temporal.db"), env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        took = loop.time() - t0
    last = err.decode().strip().splitlines()[-1]
    assert proc.returncode == 1, err.decode()
    assert last == (f"ecoplan worker: 内置 Temporal 服务启动后即退出（退出码 1）：其端口（127.0.0.1:{port}"
                    "及网页端口）可能已被占用，或数据库文件不可用"), last
    assert took < 25, took  # the connect wait is 30 s: it did not wait it out
