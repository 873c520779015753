"""Process exit (issue 5, docs/design.md "Known traps"): a short-lived process that used a
Temporal client can abort at interpreter exit (exit 134, sdk-python issue 300). Run
`ecoplan` 10 times against the dev server and see the expected exit code every time (the
CLI leaves through os._exit, so an abort is not a matter of chance; the runs were 50 while it
was, and cost the suite 78 s of a CPU-bound run)."""

from __future__ import annotations

import asyncio
import collections
import json

import pytest

from ecoplan import api
from tests.helpers import report
from tests.procs import ecoplan

pytestmark = pytest.mark.slow

RUNS_OK, RUNS_UNKNOWN = 6, 4


async def test_ten_runs_exit_with_the_expected_code(client, worker, temporal_address):
    iid = await api.start_incident(client, report())
    expected = json.loads(json.dumps(await api.status(client, iid), ensure_ascii=False))
    jobs = [("status", iid, "--json")] * RUNS_OK + [("status", "nope-exit-code")] * RUNS_UNKNOWN
    sem = asyncio.Semaphore(4)

    async def one(args):
        async with sem:
            return await ecoplan(*args, address=temporal_address)

    runs = await asyncio.gather(*(one(a) for a in jobs))
    codes = collections.Counter((r.args[1] == iid, r.code) for r in runs)
    assert codes == {(True, 0): RUNS_OK, (False, 1): RUNS_UNKNOWN}, f"exit codes seen: {dict(codes)}"
    for r in runs:
        assert "Fatal Python error" not in r.err and "Traceback" not in r.err, r.err
        if r.code == 0:
            assert json.loads(r.out) == expected
            assert r.err == ""
        else:
            assert r.err.strip() == "ecoplan: 没有事件 nope-exit-code" and r.out == ""


async def test_unreachable_server_exits_1_every_time():
    """No server at all: a one-line refusal and exit 1 (not 134), run after run."""
    from tests.procs import free_port

    address = f"127.0.0.1:{free_port()}"
    runs = [await ecoplan("status", "x", address=address) for _ in range(3)]
    assert [r.code for r in runs] == [1] * 3, [(r.code, r.err) for r in runs]
    for r in runs:
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and f"连不上 Temporal 服务（{address}" in lines[0], r.err
