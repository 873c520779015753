"""Ports for the processes tests start."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()


def free_port() -> int:
    """A free port on 127.0.0.1 for a process the test starts, taken below the kernel's
    ephemeral range: a port the kernel hands out (bind to 0) is also one any outgoing
    connection may take before the child binds it ("address already in use" was seen with
    five test processes and their dev servers)."""
    low = max(1024, min(_EPHEMERAL_LOW, 32768) - 12000)
    for _ in range(200 if _EPHEMERAL_LOW - low >= 1000 else 0):
        port = random.randrange(low, _EPHEMERAL_LOW)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # that range full: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
