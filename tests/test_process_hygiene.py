"""Process hygiene: `ecoplan server`, `worker.py --embedded` and `make run` stop the dev
server on SIGTERM (systemd, docker, `kill`), SIGHUP (a closed terminal) and SIGINT (Ctrl-C)
alike, within 10 s, and a SIGKILLed parent takes the dev server down too.

Checked against the process table, not against our own bookkeeping: every process a run
starts inherits a marker in its environment, so a `temporal` child re-parented to init
after its parent died is still found in /proc. The signal goes to the one process a
supervisor or `kill PID` would hit (each run leads a session of its own), never to a group.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.procs import ECOPLAN, ROOT, free_port, poll

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; parent-death signal")

STOP_WITHIN = 10.0  # what a supervisor waits before SIGKILL (docker: 10 s)
MARK = "ECOPLAN_HYGIENE_RUN"
MAKE = shutil.which("make")
SIGNALS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL]


def run_processes(tag: str) -> dict[int, str]:
    """pid -> command line of every live process carrying this run's marker. A zombie's
    environment reads empty, so exited-but-unreaped processes (holding nothing) drop out."""
    needle = f"{MARK}={tag}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                found[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace")[:100]
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def holders(path: Path) -> list[int]:
    """Processes with the SQLite file (or its -wal/-shm companions) open."""
    target, pids = str(path.resolve()), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}").startswith(target):
                    pids.append(int(entry))
                    break
            except OSError:
                continue
    return pids


def port_free(port: int) -> bool:
    """A new server could listen on it (SO_REUSEADDR as servers set it: the TIME_WAIT
    left by connections the old server closed does not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
            return True
        except OSError:
            return False


def fetch(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode("utf-8")


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


async def serving(port: int) -> bool:
    try:
        await Client.connect(f"127.0.0.1:{port}")  # asks for the server's system info
        return True
    except Exception:
        return False


@dataclass
class Launch:
    what: str
    tag: str
    port: int
    db: Path
    log: Path
    proc: asyncio.subprocess.Process
    web_port: int | None = None  # `make run` serves the console beside the worker

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


async def launch(what: str, tmp: Path) -> Launch:
    tag = uuid.uuid4().hex
    port, ui_port, db = free_port(), free_port(), tmp / "temporal.db"
    server_args = ["--port", str(port), "--ui-port", str(ui_port), "--db", str(db)]
    env = {**os.environ, MARK: tag, "ECOPLAN_HOME": str(tmp / ".ecoplan"), "ECOPLAN_ARCHIVE_DIR": str(tmp / "archive"),
           "ECOPLAN_OUTBOX": str(tmp / "outbox.jsonl"), "ECOPLAN_ACCOUNTS_DB": str(tmp / "accounts.db")}
    web_port = None
    for name in ("TEMPORAL_ADDRESS", "ECOPLAN_METRICS_PORT", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
        env.pop(name, None)  # the embedded server, and no make around us (`make test`) leaking in
    cwd = tmp
    if what == "ecoplan server":
        cmd = [ECOPLAN, "server", *server_args]
    elif what == "worker.py --embedded":
        cmd = [sys.executable, str(ROOT / "worker.py"), "--embedded", *server_args]
    else:  # this interpreter's bin for $(BIN); -o: never reinstall from inside a test
        web_port = free_port()
        cmd = [MAKE, "--no-print-directory", "-o", ".venv/.installed", "run",
               f"BIN={Path(sys.executable).parent}", "RUN_ARGS=" + " ".join([*server_args, "--web-port", str(web_port)])]
        cwd = ROOT
    log = tmp / "out.log"
    # make keeps a signal ignored when it starts with it ignored (pytest under nohup, a
    # background job): give the run the default dispositions a terminal would.
    reset = None
    if any(signal.getsignal(s) == signal.SIG_IGN for s in (signal.SIGINT, signal.SIGHUP)):
        def reset():
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
    with open(log, "wb") as out:
        proc = await asyncio.create_subprocess_exec(*cmd, env=env, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=out, stderr=asyncio.subprocess.STDOUT,
                                                    start_new_session=True, preexec_fn=reset)
    run = Launch(what, tag, port, db, log, proc, web_port)

    async def ready():
        if proc.returncode is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}: {run.output()[-2000:]}")
        if what == "ecoplan server":  # serving, not merely listening: as `make run` is once its worker starts
            return port_open(port) and await serving(port)
        if web_port is not None:  # the console answers beside the worker
            return "web_starting" in run.output() and port_open(web_port)
        return "worker_starting" in run.output()

    try:
        await poll(ready, 60, 0.1, f"{what} ready")
        # The marker reaches the server child: the checks after the stop are not vacuous.
        assert any("temporal server start-dev" in c for c in run_processes(tag).values()), run_processes(tag)
    except BaseException:
        await cleanup(run)
        raise
    return run


async def cleanup(run: Launch) -> None:
    for pid in run_processes(run.tag):  # only processes this run started (the marker)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if run.proc.returncode is None:
        run.proc.kill()
    await run.proc.wait()


async def stop_and_check(run: Launch, sig: signal.Signals) -> str | None:
    """Send `sig`, then wait for the run to be gone: None, or what is wrong."""
    sent = time.monotonic()
    os.kill(run.proc.pid, sig)

    async def gone():
        return (not run_processes(run.tag) and port_free(run.port) and not holders(run.db)
                and (run.web_port is None or port_free(run.web_port)))

    try:
        await poll(gone, STOP_WITHIN, 0.1, "gone")
    except AssertionError:
        return (f"{sig.name}: after {STOP_WITHIN} s still running {run_processes(run.tag)}, port {run.port} "
                f"{'free' if port_free(run.port) else 'taken'}, db held by {holders(run.db)}; "
                f"output: {run.output()[-1500:]}")
    took = time.monotonic() - sent
    code = await asyncio.wait_for(run.proc.wait(), 5)
    if "Traceback" in run.output():
        return f"{sig.name}: a traceback: {run.output()[-3000:]}"
    if sig != signal.SIGKILL and run.what != "make run" and code != 0:  # make re-raises the signal on itself
        return f"{sig.name}: exit code {code}: {run.output()[-1500:]}"
    print(f"{run.what} + {sig.name}: nothing left after {took:.1f} s")
    return None


@pytest.mark.parametrize("what", ["ecoplan server", "worker.py --embedded", "make run"])
async def test_every_stop_signal_leaves_nothing_behind(what, tmp_path):
    """One run per signal (each its own ports and SQLite file), started side by side, then
    stopped one after the other so that each stop is timed on its own."""
    if what == "make run" and MAKE is None:
        pytest.skip("GNU make is not installed")
    runs: list[Launch] = []
    try:
        for sig in SIGNALS:
            (tmp_path / sig.name).mkdir()
        launched = await asyncio.gather(*(launch(what, tmp_path / sig.name) for sig in SIGNALS),
                                        return_exceptions=True)
        runs = [r for r in launched if isinstance(r, Launch)]  # cleaned up even when one failed to start
        for failure in (r for r in launched if isinstance(r, BaseException)):
            raise failure
        for run in runs:
            if run.web_port is not None:  # a fresh `make run`: the console serves, one line says how to begin
                hint = [line for line in run.output().splitlines() if "ecoplan users add" in line]
                assert len(hint) == 1 and hint[0].startswith("ecoplan web: 尚无账号"), run.output()[-2000:]
                page = await asyncio.to_thread(fetch, f"http://127.0.0.1:{run.web_port}/login")
                assert "登录" in page
        problems = [p for run, sig in zip(runs, SIGNALS) if (p := await stop_and_check(run, sig))]
        assert not problems, f"{what}:\n" + "\n".join(problems)
    finally:
        for run in runs:
            await cleanup(run)
