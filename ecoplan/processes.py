"""How our long-running processes stop without leaving a child behind.

`ecoplan server` and `worker.py --embedded` (`make run`) own a `temporal` dev server child
that holds a port and a SQLite file. They stop it on SIGTERM (systemd, docker, `kill`),
SIGHUP (a closed terminal) and SIGINT (Ctrl-C) alike, and the child is told to stop when
its parent dies without a word (SIGKILL, a crash): Linux's parent-death signal.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
from typing import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

# The dev server stops in ~1.5 s on SIGTERM (seen up to 4.5 s on a loaded 2-CPU machine);
# past this it is SIGKILLed, so that a stop (worker shutdown included) stays under the 10 s
# a supervisor usually waits before it SIGKILLs us and leaves the rest to the kernel.
STOP_GRACE = 8.0

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def parent_death_preexec(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive `sig` when this process dies (None
    off Linux). It survives setsid (start_new_session=True) and exec. The kernel sends it
    when the *thread* that started the child ends: start long-lived children from the main
    thread."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(int(sig)), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
        if os.getppid() != parent:  # the parent died before prctl: no signal would ever come
            os._exit(1)

    return preexec


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask for `sig` when this process's parent dies (Linux); False when not possible."""
    prctl = _prctl()
    return prctl is not None and prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(int(sig)), ctypes.c_ulong(0),
                                 ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0


def stop_group(proc: subprocess.Popen, grace: float = STOP_GRACE) -> int:
    """SIGTERM the child's process group (it leads one: start_new_session=True), wait up to
    `grace` seconds, then SIGKILL it. Returns the child's exit code (-9: it was killed)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


# ------------------------------------------------------------------ under `make run`


def _caught_signals(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16)
    except OSError:
        return None
    return None


def _bit(sig: int) -> int:
    return 1 << (int(sig) - 1)


def make_parent_watch(on_stop: Callable[[], None], interval: float = 0.5) -> asyncio.Task | None:
    """When run as a `make` recipe (`make run`), call `on_stop` once make is told to stop.

    GNU make passes SIGTERM on to its recipe, but not SIGHUP or SIGINT: it expects the
    terminal to have sent those to the whole process group, and then waits for the recipe
    forever. `kill -HUP <make>` would leave everything running. Its handler for a fatal
    signal first resets that signal to the default action, which /proc shows (SigCgt loses
    the bit): that is what this watches for. Also asks for SIGTERM should make be SIGKILLed.
    None when not under make (or not on Linux)."""
    parent = os.getppid()
    if os.environ.get("MAKELEVEL") is None:
        return None
    try:
        with open(f"/proc/{parent}/comm") as f:
            if f.read().strip() not in ("make", "gmake"):
                return None
    except OSError:
        return None
    die_with_parent(signal.SIGTERM)
    caught = _caught_signals(parent)
    if caught is None:
        return None
    watched = [s for s in STOP_SIGNALS if caught & _bit(s)]

    async def watch() -> None:
        while True:
            await asyncio.sleep(interval)
            now = _caught_signals(parent)
            if now is None or os.getppid() != parent or any(not now & _bit(s) for s in watched):
                on_stop()
                return

    return asyncio.get_running_loop().create_task(watch(), name="make-parent-watch")
