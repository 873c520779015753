"""Real processes for the reliability tests: a Temporal dev server of their own (started,
stopped, SIGKILLed, restarted on the same SQLite file), `python worker.py` as a separate
process, `ecoplan` runs, a webhook receiver on 127.0.0.1 and a TLS front for the dev server.

Nothing here blocks the event loop the session worker runs on: processes are asyncio
subprocesses, the HTTP and TLS servers run in their own threads, and every wait is a
bounded poll.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from temporalio.client import Client

from ecoplan import server as embedded
from ecoplan.connection import DATA_CONVERTER
from tests.ports import free_port  # noqa: F401  (the tests import it from here too)

ROOT = Path(__file__).resolve().parent.parent
ECOPLAN = str(Path(sys.executable).parent / "ecoplan")


async def poll(check, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Await `check()` until it returns something truthy, for at most `timeout` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"{what}: not met within {timeout} s")
        await asyncio.sleep(interval)


# ---------------------------------------------------------------------------- ecoplan CLI


@dataclass
class Run:
    args: tuple
    code: int
    out: str
    err: str


async def ecoplan(*args: str, address: str | None = None, env_extra: dict | None = None,
                  stdin: bytes | None = None, timeout: float = 60) -> Run:
    env = {**os.environ, "ECOPLAN_USER": "王值班", **(env_extra or {})}
    if address:
        env["TEMPORAL_ADDRESS"] = address
    proc = await asyncio.create_subprocess_exec(
        ECOPLAN, *args, env=env, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    return Run(args, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


_IN_PROCESS = threading.Lock()  # one command at a time: stdout, stderr, stdin, cwd and the environment are the process's


class _ThreadStream(io.TextIOBase):
    """sys.stdout / sys.stderr while a command runs in this process: what the command's own
    thread writes goes to its buffer; what any other thread writes (a Temporal worker running
    in the test's event loop, logging) goes on to the stream that was there before. So the
    captured output is the command's own, as it is for a process."""

    def __init__(self, owner: int, mine: io.StringIO, others):
        self.owner, self.mine, self.others = owner, mine, others

    def _target(self):
        return self.mine if threading.get_ident() == self.owner else self.others

    def write(self, s):
        return self._target().write(s)

    def flush(self):
        try:
            self._target().flush()
        except (ValueError, OSError):
            pass

    def isatty(self):
        return False

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True


def _invoke(args: tuple, env: dict, stdin: bytes | str | None = None, cwd: Path | str | None = None) -> Run:
    """One command line through cli.invoke under _IN_PROCESS. env: set these variables for
    the command (a value of None: the variable is unset); stdin: what the command reads (as
    with a pipe; nothing given is an empty pipe, like DEVNULL, never a terminal); cwd: the
    working directory the command sees (os.chdir: the whole process's while it runs, so only
    for tests with no other thread reading relative paths)."""
    from ecoplan import cli

    out, err = io.StringIO(), io.StringIO()
    data = stdin.encode("utf-8") if isinstance(stdin, str) else (stdin or b"")
    with _IN_PROCESS:
        saved = {k: os.environ.get(k) for k in env}
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        saved_streams = sys.stdin, sys.stdout, sys.stderr
        saved_cwd = os.getcwd() if cwd is not None else None
        me = threading.get_ident()
        try:
            if cwd is not None:
                os.chdir(cwd)
            sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
            sys.stdout = _ThreadStream(me, out, saved_streams[1])
            sys.stderr = _ThreadStream(me, err, saved_streams[2])
            code = cli.invoke(list(args))
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            if saved_cwd is not None:
                os.chdir(saved_cwd)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return Run(args, code, out.getvalue(), err.getvalue())


def _env(address: str | None, env_extra: dict | None) -> dict:
    env = {"ECOPLAN_USER": "王值班", **(env_extra or {})}
    if address:
        env["TEMPORAL_ADDRESS"] = address
    return env


async def ecoplan_in_process(*args: str, address: str | None = None, env_extra: dict | None = None,
                             stdin: bytes | str | None = None, cwd: Path | str | None = None,
                             env: dict | None = None) -> Run:
    """What `ecoplan(*args)` does up to its exit: the same command line through the same
    code (cli.invoke, which main() leaves the process with), in this process. For cases that
    check a message and an exit status; what needs a process (the exit itself, a terminal,
    signals, a crash at interpreter exit) goes through ecoplan(). stdin is read as from a
    pipe (none given: an empty one); cwd is the working directory during the command. Runs
    in a thread: the command makes its own event loop, as it does in a process. env, when
    given, is the whole set of changes to the environment (a None value unsets one), in
    place of ECOPLAN_USER, address and env_extra."""
    return await asyncio.to_thread(_invoke, args, _env(address, env_extra) if env is None else env, stdin, cwd)


def ecoplan_in_process_sync(*args: str, address: str | None = None, env_extra: dict | None = None,
                            stdin: bytes | str | None = None, cwd: Path | str | None = None,
                            env: dict | None = None) -> Run:
    """ecoplan_in_process for a test that is not async (still in a thread of its own, so the
    command's event loop never touches the test's); the same arguments."""
    result: list[Run] = []
    failure: list[BaseException] = []

    def go():
        try:
            result.append(_invoke(args, _env(address, env_extra) if env is None else env, stdin, cwd))
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            failure.append(e)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(120)
    if failure:
        raise failure[0]
    assert result, f"ecoplan {args}: still running after 120 s"
    return result[0]


# ---------------------------------------------------------------------------- dev server


class DevServer:
    """`temporal server start-dev` (server.dev_server_command) as a child process: the
    project's search attributes registered, optionally a SQLite file kept across restarts."""

    def __init__(self, db: Path | None = None, log_dir: Path | None = None, extra: list[str] | None = None):
        self.port, self.ui_port = free_port(), free_port()
        self.db, self.extra = db, list(extra or [])
        self.log_dir = log_dir
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60) -> None:
        cmd = embedded.dev_server_command(port=self.port, ui_port=self.ui_port, db=self.db, extra=self.extra)
        self.starts += 1
        log = (open(self.log_dir / f"temporal-{self.port}-{self.starts}.log", "wb")
               if self.log_dir else subprocess.DEVNULL)
        self.proc = await asyncio.create_subprocess_exec(*cmd, stdout=log, stderr=log, start_new_session=True)
        if log is not subprocess.DEVNULL:
            log.close()

        async def up():
            if self.proc.returncode is not None:
                raise AssertionError(f"dev server exited with {self.proc.returncode}")
            try:
                await Client.connect(self.address, data_converter=DATA_CONVERTER)  # asks for system info
                return True
            except Exception:
                return False

        await poll(up, timeout, 0.25, "dev server up")

    async def client(self) -> Client:
        return await Client.connect(self.address, data_converter=DATA_CONVERTER)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)


# ---------------------------------------------------------------------------- worker.py


class WorkerProcess:
    """`python worker.py` against a server, its output kept in a file (JSON log lines)."""

    def __init__(self, address: str, workdir: Path, env_extra: dict | None = None, name: str = "worker"):
        self.address, self.workdir, self.name = address, workdir, name
        self.env_extra = env_extra or {}
        self.proc: asyncio.subprocess.Process | None = None
        self.log: Path | None = None
        self.runs = 0

    def env(self) -> dict:
        env = {**os.environ, "TEMPORAL_ADDRESS": self.address, "ECOPLAN_HOME": str(self.workdir / ".ecoplan"),
               "ECOPLAN_ARCHIVE_DIR": str(self.workdir / "archive"),
               "ECOPLAN_OUTBOX": str(self.workdir / "outbox.jsonl"), **self.env_extra}
        env.pop("ECOPLAN_METRICS_PORT", None)
        return env

    async def start(self, wait_ready: bool = True, timeout: float = 60) -> "WorkerProcess":
        self.runs += 1
        self.log = self.workdir / f"{self.name}-{self.runs}.log"
        with open(self.log, "wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "worker.py"), env=self.env(), cwd=self.workdir,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if wait_ready:
            async def ready():
                if self.proc.returncode is not None:
                    raise AssertionError(f"worker exited with {self.proc.returncode}: {self.output()}")
                return "worker_starting" in self.output()
            await poll(ready, timeout, 0.1, "worker ready")
        return self

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log and self.log.exists() else ""

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the server."""
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def terminate(self, timeout: float = 30) -> int:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    async def wait(self, timeout: float) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


# ---------------------------------------------------------------------------- webhook receiver


@dataclass
class Attempt:
    key: str | None
    status: int  # what we answered; 0: the connection was gone before we could answer
    body: dict | None


@dataclass
class Webhook:
    """A notification endpoint on 127.0.0.1: answers 500 to the first `fail_first` calls,
    can hold calls until released, and drops repeats by Idempotency-Key (answering 200, as
    a receiver that already has it would)."""

    fail_first: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    delivered: dict[str, dict] = field(default_factory=dict)  # key -> body, first accepted
    repeats: dict[str, int] = field(default_factory=dict)  # key -> repeats dropped
    port: int = 0
    hold: threading.Event | None = None  # when set: calls wait for it before answering
    hold_only: Callable[[dict], bool] | None = None  # which calls to hold (by body); None: all
    held: threading.Event = field(default_factory=threading.Event)  # a call is being held
    held_keys: list[str] = field(default_factory=list)  # the keys of the calls that were held

    def __post_init__(self):
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def start(self, port: int = 0) -> "Webhook":
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output quiet
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key")
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
                hold = hook.hold
                if hold is not None and hook.hold_only is not None and not (body and hook.hold_only(body)):
                    hold = None  # not the call the test waits for: answered at once
                if hold is not None:
                    hook.held_keys.append(key)
                    hook.held.set()
                    hold.wait(120)
                with hook._lock:
                    n = len(hook.attempts)
                    if n < hook.fail_first or key is None or body is None or body.get("key") != key:
                        status = 500 if n < hook.fail_first else 400
                    else:
                        status = 200
                        if key in hook.delivered:
                            hook.repeats[key] = hook.repeats.get(key, 0) + 1
                        else:
                            hook.delivered[key] = body
                    attempt = Attempt(key, status, body)
                    hook.attempts.append(attempt)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the caller is gone (killed): it never heard our answer
                    with hook._lock:
                        attempt.status = 0

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def snapshot(self) -> tuple[list[Attempt], dict[str, dict], dict[str, int]]:
        with self._lock:
            return list(self.attempts), dict(self.delivered), dict(self.repeats)


def refused_port() -> tuple[int, socket.socket]:
    """A port on 127.0.0.1 that refuses connections (bound, not listening) until released."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1], s


# ---------------------------------------------------------------------------- TLS in front of the dev server


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_pki(folder: Path) -> Pki | None:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate,
    made with the openssl command (None when it is not installed)."""
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    p = lambda n: folder / n  # noqa: E731

    def run(*args):
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=ecoplan test CA")
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                                    "extendedKeyUsage=serverAuth\n")
    (folder / "client.cnf").write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                                       "extendedKeyUsage=clientAuth\n")
    for name, ext in (("server", "san.cnf"), ("client", "client.cnf")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={'localhost' if name == 'server' else 'ecoplan-worker'}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", ext)
    return Pki(p("ca.pem"), p("server.pem"), p("server.key"), p("client.pem"), p("client.key"))


class TlsFront:
    """TLS (optionally requiring a client certificate) terminated here and piped to the
    dev server's plaintext port: a secured endpoint made of real sockets and certificates."""

    def __init__(self, pki: Pki, upstream_port: int, require_client_cert: bool = False):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki.server_cert, pki.server_key)
        self.ctx.set_alpn_protocols(["h2"])
        if require_client_cert:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(pki.ca)
        self.upstream_port = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.handshakes_ok = 0
        self.handshakes_failed = 0
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            conn.close()
            return
        self.handshakes_ok += 1
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            tls.close()
            return

        def pipe(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(up, tls), daemon=True).start()
        pipe(tls, up)

    def close(self) -> None:
        self._closed = True
        self.sock.close()


def jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
