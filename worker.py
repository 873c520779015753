"""Wiring: connect to Temporal (or start the embedded dev server), register, run.

    python worker.py              a worker against TEMPORAL_ADDRESS (default localhost:7233)
    python worker.py --embedded   `make run`: the embedded dev server too, unless
                                  TEMPORAL_ADDRESS is set; Ctrl-C, SIGTERM or
                                  SIGHUP stops both
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import structlog
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from ecoplan import logging_setup, processes
from activities.calendar import CalendarActivities
from activities.delivery import Deliverer
from activities.notify import Notifier
from activities.paging import PageActivities
from activities.plan_snapshot import load_plan_snapshot
from activities.records import Records
from activities.settings import ActivitySettings, settings as env_settings
from activities.daily_report import DailyReportActivities
from ecoplan.connection import TASK_QUEUE, ConnectionSettings, connect
from ecoplan.paging_people import PagingPeople
from ecoplan.schedules import ensure_daily_report_schedule
from workflows.daily_report import DailyReportWorkflow
from workflows.incident import IncidentWorkflow
from workflows.paging import PagingWorkflow

log = structlog.get_logger("ecoplan.worker")


def compile_workflow_modules() -> bool:
    """Write the workflow modules' bytecode if it is missing or stale. The sandbox imports
    `workflows/incident.py` afresh for every new incident (and every replay); without a
    .pyc (PYTHONDONTWRITEBYTECODE, a fresh checkout, a read-only image) it compiles 1,000
    lines of source each time. False when the folder cannot be written: then it still works."""
    try:
        return bool(compileall.compile_dir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "workflows"),
                                           maxlevels=0, quiet=2))
    except OSError:
        return False


def build_worker(client: Client, settings: ActivitySettings | None = None, task_queue: str = TASK_QUEUE,
                 **worker_options) -> Worker:
    settings = settings or ActivitySettings.from_env()
    compile_workflow_modules()
    calendar, notifier = CalendarActivities(settings), Notifier(settings)
    daily, deliverer = DailyReportActivities(client, settings), Deliverer(settings, client)
    # The incident saves its record and prints its documents through `deliver` (its `record` and
    # `render` items); save_record stays for a caller with a status in hand.
    saver = Records(settings)
    pager, people = PageActivities(), PagingPeople()  # pages (issue 23): stores beside the accounts file
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[IncidentWorkflow, DailyReportWorkflow, PagingWorkflow],
        activities=[load_plan_snapshot, calendar.calendar_answer, deliverer.deliver, daily.compile_daily_report,
                    saver.save_record, notifier.notify,  # notify: the daily report's
                    pager.send_page, pager.record_page, people.plan_page, people.page_link],
        # The activities are plain functions doing file and HTTP I/O: run them in threads.
        activity_executor=ThreadPoolExecutor(max_workers=16),
        # Each cached incident costs ~0.5–1 MB of sandbox state; an evicted one is replayed
        # (~0.1 s) on its next task. Bounded, thousands of idle incidents fit in little memory.
        max_cached_workflows=env_settings().max_cached_workflows,
        **worker_options,
    )


async def reachable(client: Client) -> bool:
    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=5))
        return True
    except Exception:
        return False


async def serve(client: Client, stop: asyncio.Event, every: float = 1.0) -> None:
    """Run the Temporal worker until `stop`; none while the server cannot be reached, and a
    new one, its workflow cache empty, when it is back.

    Why: a worker that kept its cached incidents across a server restart was seen answering
    with commands its history does not replay to (a task run with the previous task's
    clock; a timed-out task's work kept and another task's update put after it), and every
    later replay of that incident then failed. A new worker replays each incident from its
    history instead."""
    while not stop.is_set():
        async with build_worker(client):
            misses = 0
            # Three missed checks in a row (refused at once when the server is down; a slow
            # answer has 5 s) make an outage: a loaded server is not mistaken for a lost one.
            while not stop.is_set() and misses < 3:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every)
                if not stop.is_set():
                    misses = 0 if await reachable(client) else misses + 1
        if stop.is_set():
            return
        log.warning("server_unreachable", action="worker paused; a new one starts when the server is back")
        while not stop.is_set() and not await reachable(client):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every / 4)
        if not stop.is_set():
            log.info("server_back", action="new worker, workflow cache empty")


def metrics_runtime(port: int | None) -> Runtime | None:
    """The SDK's runtime telemetry as Prometheus metrics on http://0.0.0.0:PORT/metrics."""
    if not port:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{port}")))


def connect_wait() -> float:
    """How long to keep trying to reach Temporal at start: ECOPLAN_CONNECT_WAIT seconds (30)."""
    raw = env_settings().connect_wait
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"ECOPLAN_CONNECT_WAIT: {raw!r} is not a number of seconds")
    return seconds


class EmbeddedServerExited(RuntimeError):
    """The embedded dev server ended before the worker could connect to it."""


async def _wait_for_server(settings: ConnectionSettings, seconds: float = 30, runtime: Runtime | None = None,
                           stop: asyncio.Event | None = None, server_proc=None) -> Client | None:
    """None when `stop` is set first (a stop signal while the server is still starting). An
    embedded server that has exited is not waited for: it says so at once (a port already
    taken made the worker wait the whole `seconds` and then report a refused connection)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    def exited() -> EmbeddedServerExited | None:
        if server_proc is None or server_proc.poll() is None:
            return None
        return EmbeddedServerExited(
            f"内置 Temporal 服务启动后即退出（退出码 {server_proc.returncode}）：其端口（{settings.address}"
            f"及网页端口）可能已被占用，或数据库文件不可用")

    while not (stop and stop.is_set()):
        attempt = asyncio.ensure_future(connect(settings, runtime=runtime))
        # One connection attempt can itself take half a minute (the SDK's own retries): the
        # server's exit is watched meanwhile.
        while server_proc is not None and not attempt.done():
            await asyncio.wait([attempt], timeout=0.25)
            if not attempt.done() and (gone := exited()) is not None:
                attempt.cancel()
                raise gone
        try:
            return await attempt
        except ValueError:  # a mistake in the settings (e.g. half of mutual TLS): waiting cannot mend it
            raise
        except Exception:
            if (gone := exited()) is not None:
                raise gone from None
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.25)
    return None


async def run(embedded: bool, port: int = 7233, ui_port: int = 8233, db: str | None = None,
              metrics_port: int | None = None, web: tuple[str, int] | None = None) -> int:
    logging_setup.configure()
    settings = ConnectionSettings.from_env()
    if env_settings().database_url:  # shared stores (issue 27): their schema before any worker or console uses them
        from ecoplan.cli.db import upgrade_all

        log.info("stores_upgraded", **{k: v["revision"] for k, v in upgrade_all().items()})
    server_proc = None
    web_setup = web_server = web_task = None
    if web is not None:
        from ecoplan.web import command as web_command

        web_setup = web_command.setup()  # a bad accounts file or setting: one line, before anything starts
        if web_setup.hint:
            print(f"ecoplan web: {web_setup.hint}", flush=True)
    # Handlers before the server starts: any stop signal (SIGHUP: a closed terminal) then
    # reaches `finally`, which stops it.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in processes.STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    make_watch = processes.make_parent_watch(stop.set)  # `make run`: make keeps SIGHUP/SIGINT to itself
    if embedded and "temporal_address" not in env_settings().model_fields_set:  # TEMPORAL_ADDRESS unset
        import dataclasses

        from ecoplan import server

        db = db or str(server.default_db())
        server_proc = server.start_dev_server(port=port, ui_port=ui_port, db=db)
        settings = dataclasses.replace(settings, address=f"127.0.0.1:{port}")
        log.info("embedded_server_started", address=settings.address, ui=f"http://localhost:{ui_port}", db=db)
    try:
        client = await _wait_for_server(settings, connect_wait(), runtime=metrics_runtime(metrics_port), stop=stop,
                                        server_proc=server_proc)
        if client is None:
            log.info("worker_stopped", before="server_up")
            return 0
        created = await ensure_daily_report_schedule(client)
        log.info("worker_starting", task_queue=TASK_QUEUE, daily_report_schedule="created" if created else "exists",
                 metrics=f"http://0.0.0.0:{metrics_port}/metrics" if metrics_port else None, **settings.redacted())
        if web_setup is not None:  # the console beside the worker, in this process: it stops with it
            web_server, web_task = await web_command.start_beside(web_setup, client, web[0], web[1], log)
        await serve(client, stop)
        log.info("worker_stopped")
    finally:
        if web_task is not None:
            await web_command.stop_beside(web_server, web_task)
            log.info("web_stopped")
        if server_proc is not None:
            code = server.stop_dev_server(server_proc)
            log.info("embedded_server_stopped", exit_code=code)
        if make_watch is not None:
            make_watch.cancel()
    return 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--embedded", action="store_true", help="also start the embedded dev server")
    p.add_argument("--port", type=int, default=7233, help="embedded server gRPC port")
    p.add_argument("--ui-port", type=int, default=8233, help="embedded server Web UI port")
    p.add_argument("--db", default=None, help="embedded server SQLite file (default $ECOPLAN_HOME/temporal.db)")
    p.add_argument("--web", action="store_true", help="also serve the web console, API and intake (`make run`)")
    p.add_argument("--web-host", default="127.0.0.1", help="the console's address (default 127.0.0.1)")
    p.add_argument("--web-port", type=int, default=8000, help="the console's port (default 8000)")
    p.add_argument("--metrics-port", type=int, default=env_settings().metrics_port or None,
                   help="serve Prometheus metrics on this port (env ECOPLAN_METRICS_PORT)")
    args = p.parse_args()
    try:
        status = asyncio.run(run(args.embedded, args.port, args.ui_port, args.db, args.metrics_port,
                                 (args.web_host, args.web_port) if args.web else None))
    except Exception as e:  # a one-line reason, not a traceback
        print(f"ecoplan worker: {e}", file=sys.stderr)
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # sdk-python issue 300: avoid the abort at interpreter exit


if __name__ == "__main__":
    main()
