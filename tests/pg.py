"""A real PostgreSQL for the tests (issue 27): Debian's server binaries (the Makefile installs
the `postgresql` package), one cluster per test process in a temporary folder on a free port,
started with initdb + pg_ctl as the `postgres` user when the tests run as root (PostgreSQL
refuses root). Each test that wants a store gets a schema of its own (`fresh_url`): no test
sees another's rows, and no cluster is started twice."""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from tests.ports import free_port as _free_port


def bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL's server binaries are missing: apt-get install -y postgresql (make test does)")
    return Path(found[-1]).parent




class Cluster:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ecoplan-pg-"))
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(bin_dir() / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def _template(self) -> Path:
        """One initdb per machine (5 s on a busy one): later clusters copy its folder."""
        root = Path(tempfile.gettempdir())
        template = root / f"ecoplan-pg-template-{bin_dir().parent.name}"
        with open(root / "ecoplan-pg-template.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (template / "PG_VERSION").exists():
                shutil.rmtree(template, ignore_errors=True)
                self._run("initdb", "-D", str(template), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                          "--no-sync", "--locale=C.UTF-8")
        return template

    def start(self) -> "Cluster":
        data = self.folder / "data"
        template = self._template()
        if self.as_postgres:
            subprocess.run(["runuser", "-u", "postgres", "--", "cp", "-a", str(template), str(data)], check=True)
        else:
            shutil.copytree(template, data, symlinks=True)
        # A test cluster: nothing needs to survive a crash of the machine.
        opts = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(data), "-o", opts, "-l", str(self.folder / "log"), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def fresh_url(self) -> str:
        """A schema of its own in the cluster's database, as a URL whose connections use it."""
        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url, autocommit=True) as c:
            c.execute(f"CREATE SCHEMA {schema}")
        return f"{self.url}?options=-csearch_path%3D{schema}"
