"""One settings object (activities/settings.py) for every ECOPLAN_* and TEMPORAL_* variable:
the README's table is the model's, nothing else reads the environment, and ECOPLAN_HOME
anchors the stores, so the CLI gives the same answers from any working directory."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from activities.settings import (DEFAULT_HOME, PROJECT_ROOT, TABLE_END, TABLE_START, EcoplanSettings, SettingsError,
                                 settings, settings_table)
from ecoplan import records
from tests.procs import ECOPLAN, ROOT
from tests.test_period_report import RECORDS
from tests.test_records import status

CODE = [ROOT / "worker.py", *(p for d in ("plan", "activities", "workflows", "ecoplan", "benchmarks")
                              for p in sorted((ROOT / d).rglob("*.py")))]
VARIABLES = {n for f in EcoplanSettings.model_fields.values() for n in f.validation_alias.choices}


def test_the_readme_table_is_the_models():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(TABLE_START) + len(TABLE_START), readme.index(TABLE_END)
    assert readme[start:end].strip() == settings_table(), (
        "README's settings table differs from activities/settings.py: paste the output of "
        "python -c 'from activities.settings import settings_table; print(settings_table())'")


def test_every_variable_the_code_names_is_in_the_model():
    named = {v for p in CODE for v in re.findall(r"\b(?:ECOPLAN|TEMPORAL)_[A-Z0-9_]*[A-Z0-9]\b", p.read_text("utf-8"))}
    assert named - VARIABLES == set()


def test_only_the_settings_module_reads_the_environment():
    allowed = {ROOT / "activities" / "settings.py",
               ROOT / "ecoplan" / "processes.py",  # MAKELEVEL: make's, not ours
               ROOT / "benchmarks" / "harness.py", ROOT / "benchmarks" / "split.py",  # PYTHONDONTWRITEBYTECODE
               ROOT / "benchmarks" / "supervisor.py",  # the environment of the worker it starts
               ROOT / "benchmarks" / "workers.py",  # the environment of the workers it starts
               ROOT / "benchmarks" / "paging.py"}  # the channels' settings of the in-process worker it runs
    readers = [str(p.relative_to(ROOT)) for p in CODE if p not in allowed
               and re.search(r"os\.environ|getenv\(", p.read_text(encoding="utf-8"))]
    assert readers == []


def test_values_defaults_and_errors():
    s = settings({})
    assert s.home == DEFAULT_HOME == PROJECT_ROOT / ".ecoplan" and s.records_path == DEFAULT_HOME / "records.db"
    assert (s.temporal_address, s.tls_on, s.max_cached_workflows, s.metrics_port) == ("localhost:7233", False, 250, None)
    s = settings({"ECOPLAN_HOME": "/srv/eco", "ECOPLAN_RECORDS_DB": "store/r.db", "ECOPLAN_ARCHIVE_DIR": "/a",
                  "ECOPLAN_CALENDAR_DIRS": "c1:/c2", "TEMPORAL_TLS": "yes", "ECOPLAN_USER": ""})
    assert s.records_path == Path("/srv/eco/store/r.db") and s.archive_path == Path("/a")  # relative: in home
    assert s.accounts_path == Path("/srv/eco/accounts.db") and s.calendar_data == Path("/srv/eco/calendars")
    assert s.calendar_dir_list == (Path("/srv/eco/c1"), Path("/c2")) and s.tls_on and s.user is None
    try:
        settings({"ECOPLAN_METRICS_PORT": "eighty"})
    except SettingsError as e:
        assert str(e).startswith("ECOPLAN_METRICS_PORT: 'eighty'")
    else:
        raise AssertionError("a bad port was taken")
    shown = repr(settings({"TEMPORAL_API_KEY": "key-value-1", "ECOPLAN_OIDC_CLIENT_SECRET": "secret-value-2"}))
    assert "key-value-1" not in shown and "secret-value-2" not in shown


def test_the_default_home_does_not_depend_on_the_current_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ECOPLAN_HOME"}
    p = subprocess.run([sys.executable, "-c", "from activities.settings import settings; print(settings().home)"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert Path(p.stdout.strip()) == ROOT / ".ecoplan"


async def run_in(cwd: Path, *args: str, env: dict) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(ECOPLAN, *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_the_cli_gives_the_same_answers_from_any_directory(temporal_address, tmp_path):
    """report-period, status (of an incident Temporal no longer has) and list --closed read
    the records store in ECOPLAN_HOME, run from the project folder or from anywhere else."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    home.mkdir()
    gone = "gone-settings-1"
    with closing(records.connect(home / "records.db")) as conn:
        for r in RECORDS:
            records.upsert_record(conn, r)
        records.upsert_record(conn, records.record_from_status(status(gone)), status(gone))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOPLAN_")}
    env.update({"ECOPLAN_HOME": str(home), "TEMPORAL_ADDRESS": temporal_address})
    commands = [("report-period", "--month", "2026-11", "--json"), ("status", gone, "--json"),
                ("list", "--closed", "--all", "--json"), ("status", gone)]
    answers = await asyncio.gather(*(run_in(cwd, *c, env=env) for cwd in (ROOT, elsewhere) for c in commands))
    here, there = answers[:len(commands)], answers[len(commands):]
    for c, a in zip(commands, here):
        assert a[0] == 0, (c, a[2])
    assert here == there
    # and a relative ECOPLAN_RECORDS_DB is taken inside ECOPLAN_HOME, not the current directory
    env["ECOPLAN_RECORDS_DB"] = "records.db"
    assert await run_in(elsewhere, *commands[2], env=env) == here[2]
