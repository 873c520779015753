"""The worker writes the workflow modules' bytecode, so the sandbox's per-incident import
of workflows/incident.py reads a .pyc instead of compiling the source each time."""

import importlib.util
import os
from pathlib import Path

import worker

ROOT = Path(__file__).resolve().parent.parent


def test_worker_refreshes_stale_workflow_bytecode():
    source = ROOT / "workflows" / "incident.py"
    cached = Path(importlib.util.cache_from_source(str(source)))
    if cached.exists():
        cached.unlink()
    assert worker.compile_workflow_modules() is True
    assert cached.exists()
    # The .pyc records the source's mtime and size; a stale one is rewritten.
    stat = source.stat()
    header = cached.read_bytes()[:16]
    assert int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
    assert int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF
    # Made stale in one rename: another test process (pytest -n) may be importing it right now.
    stale = cached.with_suffix(f".{os.getpid()}.tmp")
    stale.write_bytes(header[:8] + (0).to_bytes(4, "little") + header[12:] + cached.read_bytes()[16:])
    os.utime(stale, (0, 0))
    os.replace(stale, cached)
    assert worker.compile_workflow_modules() is True
    assert int.from_bytes(cached.read_bytes()[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
