"""Ports for the processes tests start."""

from __future__ import annotations

import os
import random
import socket
import time
from pathlib import Path


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()


_given: dict[int, float] = {}  # ports this process handed out, and when


def free_port() -> int:
    """A free port on 127.0.0.1 for a process the test starts, taken below the kernel's
    ephemeral range: a port the kernel hands out (bind to 0) is also one any outgoing
    connection may take before the child binds it ("address already in use" was seen with
    five test processes and their dev servers). Each xdist process draws from its own part of
    that range and never hands out the same port twice within 10 minutes, so two tests cannot
    pick one port between the pick and the child's bind (seen once when all drew from one range)."""
    low = max(1024, min(_EPHEMERAL_LOW, 32768) - 12000)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    share = (_EPHEMERAL_LOW - low) // 8
    start = low + (index % 8) * share
    now = time.monotonic()
    for _ in range(200 if share >= 100 else 0):
        port = random.randrange(start, start + share)
        if now - _given.get(port, -1e9) < 600:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given[port] = now
        return port
    with socket.socket() as s:  # that range full: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
