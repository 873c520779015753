"""A worker process for pages only (tests/test_paging.py kills it with SIGKILL): address and
task queue from argv (a third argument `wait`: load, then poll only after a line on stdin, so
the replacement is ready when the first is killed); the settings from the environment."""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from activities.paging import PageActivities  # noqa: E402
from ecoplan.connection import DATA_CONVERTER  # noqa: E402
from ecoplan.paging_people import PagingPeople  # noqa: E402
from workflows.paging import PagingWorkflow  # noqa: E402


async def main(address: str, tq: str, wait: bool) -> None:
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    if wait:  # imported and connected; polls only when told (a line on stdin)
        print("loaded", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    pager, people = PageActivities(), PagingPeople()
    async with Worker(client, task_queue=tq, workflows=[PagingWorkflow],
                      activities=[pager.send_page, pager.record_page, people.plan_page, people.page_link],
                      activity_executor=ThreadPoolExecutor(max_workers=4),
                      # A killed worker's sticky queue is given up after 1 s, not 10: the test waits less.
                      sticky_queue_schedule_to_start_timeout=timedelta(seconds=1)):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:] == ["wait"]))
    finally:
        os._exit(0)
