"""The 总览 board's figures, one shared copy for everyone who reads every incident.

A board is overdue and stuck rows, faults, and counts by stage, level and county: about
twenty visibility queries, some 0.7 s at 2,000 open incidents and more at 10,000. Asked by
every open board every few seconds, they would load the server in proportion to the number
of viewers. Instead one refresher per variant (drills shown or hidden) asks them every
`refresh` seconds (the page's own poll interval, 5 s) while somebody looks, and a page is
rendered from the newest copy; the page shows the time of that copy (数据时间). After
`idle` seconds (10 minutes) with no viewer the refresher stops, and the next viewer waits
for a fresh copy: about 1.3 s at 10,000 open incidents (BENCHMARKS.md). A command centre's
board is open all day; the refresher then costs the server one board's queries per
`refresh`, whatever the number of viewers.

A refresh that fails (Temporal unreachable) is not hidden behind the last good copy: the
page shows the failure, as it would without the shared copy.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable

from plan.calendar import SHANGHAI


@dataclass
class Copy:
    data: dict | None = None
    as_of: datetime | None = None  # when the refresh that made `data` began
    error: BaseException | None = None
    asked: float = 0.0  # loop time of the latest viewer
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None


class BoardCopies:
    def __init__(self, compute: Callable[[bool], Awaitable[dict]], refresh: float = 5.0, idle: float = 600.0):
        self._compute = compute
        self.refresh = refresh
        self.idle = idle
        self._copies: dict[bool, Copy] = {}
        self.took: list[float] = []  # seconds each refresh took (the benchmark reports them)

    async def get(self, drills: bool) -> tuple[dict, datetime]:
        """The newest copy, and when it was taken; waits only for the first one."""
        loop = asyncio.get_running_loop()
        c = self._copies.setdefault(drills, Copy())
        c.asked = loop.time()
        if c.task is None or c.task.done():
            c.ready = asyncio.Event()
            c.task = asyncio.create_task(self._run(drills, c))
        await c.ready.wait()
        if c.error is not None:
            raise c.error
        return c.data, c.as_of

    async def _run(self, drills: bool, c: Copy) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began, t0 = datetime.now(SHANGHAI), loop.time()
            try:
                c.data, c.as_of, c.error = await self._compute(drills), began, None
            except Exception as e:  # shown to the next viewer; the refresher goes on
                c.error = e
            self.took.append(loop.time() - t0)
            del self.took[:-1000]
            c.ready.set()
            if loop.time() - c.asked > self.idle:
                return
            await asyncio.sleep(self.refresh)

    def stop(self) -> None:
        """Stop the refreshers and forget the copies: the next viewer waits for a fresh one."""
        for c in self._copies.values():
            if c.task is not None:
                c.task.cancel()
            if not c.ready.is_set():  # a viewer still waiting gets an answer, not a hang
                c.error = RuntimeError("总览数据暂停刷新，请刷新页面")
                c.ready.set()
        self._copies.clear()
