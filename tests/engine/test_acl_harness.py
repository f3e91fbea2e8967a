"""What Redis's own test harness and its ``acl``, ``acl-v2`` and ``auth`` units need of a
server, compared with real Redis 7.0.15: the harness's ``default.conf`` accepted, the
`` PID: <pid>`` banner it waits for, and the ACL behaviours those units check
(``scripts/redis_suite.py --harness`` runs the units themselves)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aof.replies import encode_command
from tests.engine.conftest import ServerProc, free_port, start_ours, start_real
from tests.engine.test_acl import Conn
from tests.support import servers
from tests.support.servers import ours_argv, ours_env, real_argv


@pytest.fixture(autouse=True)
def _kill_leftovers() -> Iterator[None]:
    """The servers a test started are killed when it ends, passed or failed."""
    before = {id(s) for s in servers._STARTED}
    yield
    for s in list(servers._STARTED):
        if id(s) not in before:
            s.stop(kill=True)


# the directives of the suite's tests/assets/default.conf that are not already in every
# test server's command line
_SUITE_CONF = """always-show-logo yes
notify-keyspace-events KEA
latency-monitor-threshold 1
repl-diskless-sync-delay 0
slave-serve-stale-data yes
enable-protected-configs yes
enable-module-command yes
propagation-error-behavior panic
"""


def test_suite_default_conf_and_pid_banner(tmp_path: Path) -> None:
    """The harness starts ``redis-server <its default.conf>`` and waits for " PID: <pid>"
    in its stdout (wait_server_started); both servers accept the file and print it."""
    outs = []
    for start in (start_ours, start_real):
        d = tmp_path / start.__name__
        d.mkdir()
        conf = d / "redis.conf"
        conf.write_text(_SUITE_CONF)
        srv = start(d, "--loglevel", "verbose", config=conf)
        c = Conn(srv.port)
        outs.append([c("CONFIG", "GET", "propagation-error-behavior"),
                     c("CONFIG", "SET", "propagation-error-behavior", "ignore"),
                     c("CONFIG", "SET", "propagation-error-behavior", "bogus"),
                     c("CONFIG", "GET", "propagation-error-behavior")])
        c.close()
        deadline = time.monotonic() + 5
        while f" PID: {srv.pid}" not in srv.output.read_text(errors="replace"):
            assert time.monotonic() < deadline, (start.__name__, srv.output.read_text())
            time.sleep(0.05)
        srv.stop()
    assert outs[0] == outs[1]


def _unix_call(path: Path, *argv: str) -> bytes:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(str(path))
    s.sendall(encode_command([a.encode() for a in argv]))
    data = s.recv(65536)
    s.close()
    return data


def test_unixsocket_listens(tmp_path: Path) -> None:
    """Every server the harness starts has ``unixsocket <dir>/socket``; clients connect
    there as ``/unixsocket:0`` (anetFdToString) and the file goes at shutdown."""
    outs = []
    # one directory for both, its path longer than CLIENT INFO's 77 characters of addr:
    # Redis cuts "<path>:0" there (genClientAddrString into NET_ADDR_STR_LEN)
    d = tmp_path / ("d" * 20)
    assert len(str(d / "socket")) + 2 > 77
    for start in (start_ours, start_real):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
        sock = d / "socket"
        srv = start(d, "--unixsocket", str(sock), "--unixsocketperm", "700")
        out = [_unix_call(sock, "PING"), oct(sock.stat().st_mode & 0o777).encode(),
               re.sub(rb"^\$\d+|id=\d+ |fd=\d+ |age=\d+ idle=\d+ |qbuf=.*?events", b"",
                      _unix_call(sock, "CLIENT", "INFO")).replace(str(sock).encode(), b"S"),
               Conn(srv.port)("CONFIG", "GET", "unixsocket").replace(str(sock).encode(), b"S")]
        Conn(srv.port)("SHUTDOWN", "NOSAVE")
        srv.proc.wait(10)
        out.append(str(sock.exists()).encode())
        srv.stop()
        outs.append(out)
    assert outs[0] == outs[1]


def test_relative_aclfile_is_in_dir(tmp_path: Path) -> None:
    """Redis chdir()s into ``dir``, so a relative ``aclfile`` (the acl unit's ``aclfile
    user.acl``) names a file there, whatever directory the server started from."""
    outs = []
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    for argv_of, env in ((ours_argv, ours_env()), (real_argv, None)):
        d = tmp_path / argv_of.__name__
        d.mkdir()
        (d / "users.acl").write_text("user alice on nopass ~a* +get\nuser default on nopass ~* &* +@all\n")
        port = free_port()
        srv = ServerProc(argv_of(port, d, "--aclfile", "users.acl"), port, elsewhere, env)
        c = Conn(srv.port)
        out = [c("ACL", "LIST"), c("ACL", "SETUSER", "bob", "on"), c("ACL", "SAVE"),
               (d / "users.acl").read_bytes(), c("ACL", "LOAD"), c("ACL", "USERS")]
        c.close()
        srv.stop()
        outs.append(out)
    assert outs[0] == outs[1]
    assert not list(elsewhere.iterdir())


def _gone(c: Conn, *argv: str) -> bytes:
    """The reply, or <closed> for a connection closed (or reset) by the server."""
    try:
        return c(*argv)
    except ConnectionResetError:
        return b"<closed>"


def test_acl_load_by_a_reloaded_user_gets_its_reply(tmp_path: Path) -> None:
    """ACL LOAD frees every user and disconnects their clients; the client that sent it
    gets its +OK first (CLIENT_CLOSE_AFTER_COMMAND), the others are closed at once."""
    outs = []
    for start in (start_ours, start_real):
        d = tmp_path / start.__name__
        d.mkdir()
        (d / "users.acl").write_text("user default on nopass ~* &* +@all\n")
        srv = start(d, "--aclfile", str(d / "users.acl"))
        c1, c2, c3 = Conn(srv.port), Conn(srv.port), Conn(srv.port)
        out = [c1("ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*"), c1("ACL", "SAVE"),
               c2("AUTH", "bob", "pw"), c3("AUTH", "bob", "pw"),
               c2("ACL", "LOAD"), _gone(c2, "PING"), _gone(c3, "PING"), c1("ACL", "WHOAMI")]
        srv.stop()
        outs.append(out)
    assert outs[0] == outs[1]


def _info_field(c: Conn, field: bytes) -> bytes:
    for line in c("INFO", "replication").split(b"\r\n"):
        if line.startswith(field + b":"):
            return line.split(b":", 1)[1]
    return b""


def test_masterauth_binary_password(tmp_path: Path) -> None:
    """auth.tcl's MASTERAUTH test: a master's requirepass with a NUL byte; a replica with
    the wrong masterauth logs "Unable to AUTH to MASTER" and stays down, the right one
    (NUL and all) gets the link up."""
    for start in (start_ours, start_real):
        d = tmp_path / start.__name__
        (d / "m").mkdir(parents=True)
        (d / "r").mkdir()
        master = start(d / "m", "--repl-diskless-sync-delay", "0")
        replica = start(d / "r", "--loglevel", "notice")
        m, r = Conn(master.port), Conn(replica.port)
        assert m("CONFIG", "SET", "requirepass", b"abc\x00def") == b"+OK\r\n"
        r("REPLICAOF", "127.0.0.1", str(master.port))
        r("CONFIG", "SET", "masterauth", "abc")
        deadline = time.monotonic() + 10
        while "Unable to AUTH to MASTER" not in replica.log.read_text(errors="replace"):
            assert time.monotonic() < deadline, (start.__name__, replica.log.read_text())
            time.sleep(0.05)
        assert _info_field(r, b"master_link_status") == b"down"
        r("CONFIG", "SET", "masterauth", b"abc\x00def")
        while _info_field(r, b"master_link_status") != b"up":
            assert time.monotonic() < deadline + 10, start.__name__
            time.sleep(0.05)
        replica.stop()
        master.stop()


def test_migrate_keys_skip_auth_arguments(tmp_path: Path) -> None:
    """migrateGetKeys steps over AUTH's password and AUTH2's user and password looking for
    KEYS (acl-v2's "odd commands" test), and finds no key when KEYS follows a key."""
    outs = []
    cases = [["", "0", "5000", "AUTH", "KEYS", "KEYS", "rw"], ["", "0", "5000", "AUTH", "KEYS", "KEYS", "read"],
             ["", "0", "5000", "AUTH2", "KEYS", "123", "KEYS", "write"],
             ["", "0", "5000", "AUTH2", "USER", "KEYS", "KEYS", "rw"], ["", "0", "5000", "KEYS", "read"],
             ["k", "0", "5000", "KEYS", "a"], ["k", "0", "5000", "COPY", "REPLACE"], ["read", "0", "5"]]
    for start in (start_ours, start_real):
        d = tmp_path / start.__name__
        d.mkdir()
        srv = start(d)
        c = Conn(srv.port)
        out = [c("ACL", "SETUSER", "command-test", "+@all", "%R~read*", "%W~write*", "%RW~rw*")]
        for case in cases:
            out.append(c("ACL", "DRYRUN", "command-test", "MIGRATE", "h", "1", *case))
            out.append(c("COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", "1", *case))
        c.close()
        srv.stop()
        outs.append(out)
    assert outs[0] == outs[1]


def test_busy_port_is_reported_as_the_harness_expects(tmp_path: Path) -> None:
    """The harness retries another port when the log says "Failed listening on port"
    (wait_server_started); both servers exit with that line when the port is taken."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        for argv_of, env in ((ours_argv, ours_env()), (real_argv, None)):
            argv = argv_of(port, tmp_path, "--loglevel", "notice")
            p = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            assert p.returncode == 1
            assert f"Failed listening on port {port} (TCP), aborting.".encode() in p.stdout, p.stdout


def test_unixsocket_served_while_a_script_is_busy(tmp_path: Path) -> None:
    """A busy script does not stop the unixsocket listener: a client connecting there gets
    -BUSY and can SCRIPT KILL (processEventsWhileBlocked accepts on every listener)."""
    outs = []
    # one directory for both, its path longer than CLIENT INFO's 77 characters of addr:
    # Redis cuts "<path>:0" there (genClientAddrString into NET_ADDR_STR_LEN)
    d = tmp_path / ("d" * 20)
    assert len(str(d / "socket")) + 2 > 77
    for start in (start_ours, start_real):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
        sock = d / "socket"
        srv = start(d, "--unixsocket", str(sock), "--busy-reply-threshold", "100")
        busy = Conn(srv.port)
        busy.s.sendall(encode_command([b"EVAL", b"while true do end", b"0"]))
        time.sleep(0.5)
        out = [_unix_call(sock, "PING"), _unix_call(sock, "SCRIPT", "KILL")]
        out.append(busy.s.recv(65536))
        out.append(busy("PING"))
        srv.stop()
        outs.append(out)
    assert outs[0] == outs[1]
