"""The 总览 board's shared copy (ecoplan/web/board.py): viewers share one refresher, a failed
refresh reaches the viewer, the refresher stops when nobody looks, and a stopped board
answers a waiting viewer. The figures here come from a counting function; the real queries
are exercised by the browser tests and the benchmark."""

from __future__ import annotations

import asyncio

import pytest

from ecoplan.web.board import BoardCopies


async def until(check, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.01)


class Figures:
    def __init__(self) -> None:
        self.calls = 0
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def __call__(self, drills: bool) -> dict:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return {"call": self.calls, "drills": drills}


async def test_viewers_share_one_refresher_and_see_new_copies():
    f = Figures()
    b = BoardCopies(f, refresh=0.05, idle=5)
    try:
        first = await asyncio.gather(*(b.get(False) for _ in range(10)))
        assert f.calls == 1 and {d["call"] for d, _ in first} == {1}  # ten viewers, one query round
        await until(lambda: f.calls >= 3)
        data, as_of = await b.get(False)
        assert data["call"] >= 2 and as_of >= first[0][1]
        drills, _ = await b.get(True)  # the other variant has its own copy
        assert drills["drills"] is True
    finally:
        b.stop()


async def test_a_failed_refresh_is_shown_then_recovers():
    f = Figures()
    b = BoardCopies(f, refresh=0.02, idle=5)
    try:
        await b.get(False)
        f.fail = ConnectionError("cannot reach Temporal")
        seen = f.calls
        await until(lambda: f.calls > seen + 1)
        with pytest.raises(ConnectionError):
            await b.get(False)
        f.fail = None
        seen = f.calls
        await until(lambda: f.calls > seen + 1)
        data, _ = await b.get(False)
        assert data["call"] > seen
    finally:
        b.stop()


async def test_nobody_looking_stops_the_refresher_and_the_next_viewer_waits_for_a_fresh_copy():
    f = Figures()
    b = BoardCopies(f, refresh=0.01, idle=0.1)
    try:
        await b.get(False)
        await until(lambda: b._copies[False].task.done(), timeout=5)
        stopped_at = f.calls  # the refresher has returned: no query runs while nobody looks
        data, _ = await b.get(False)
        assert data["call"] == stopped_at + 1  # not the old copy
    finally:
        b.stop()


async def test_stopping_answers_a_waiting_viewer():
    f = Figures()
    f.gate = asyncio.Event()  # the first round never finishes
    b = BoardCopies(f, refresh=1, idle=5)
    waiting = asyncio.create_task(b.get(False))
    await until(lambda: f.calls == 1)
    b.stop()
    with pytest.raises(RuntimeError, match="暂停刷新"):
        await asyncio.wait_for(waiting, 2)
