"""Protected mode, protected configs and protected commands, against a real redis-server 7.0.

Redis 7.0 counts a connection as local (``islocalClient``) only when it comes
over a unix socket or from exactly 127.0.0.1 or ::1. On Linux the whole
127.0.0.0/8 routes over ``lo``, so a client socket bound to 127.0.0.2 is a
non-local peer on this very host: that is how these tests play the remote
client. One rule serves protected mode, ``enable-debug-command local`` and
``enable-protected-configs local``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import hiredis
import pytest
import redis

import engine.server.app  # noqa: F401  (the command table before client.py, whose imports are circular)
from engine.execution.client import is_local_peer
from tests.engine.conftest import ServerProc, start_ours, start_real
from tests.engine.differential import run

pytestmark = pytest.mark.differential

TWO_ADDRS = ("--bind", "127.0.0.1", "127.0.0.2")


def _encode(argv: tuple[str, ...]) -> bytes:
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def talk(port: int, *cmds: tuple[str, ...], source: str = "127.0.0.1", dest: str = "127.0.0.1") -> bytes:
    """Send ``cmds`` from the address ``source``; the raw bytes that came back (until one
    reply per command arrived, or the server closed the connection)."""
    with socket.create_connection((dest, port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(b"".join(_encode(c) for c in cmds))
        reader = hiredis.Reader()
        got, data = 0, b""
        while got < len(cmds):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            reader.feed(chunk)
            while reader.gets() is not False:
                got += 1
        return data


def _pair(tmp: Path, *extra: str) -> tuple[ServerProc, ServerProc]:
    (tmp / "o").mkdir()
    (tmp / "r").mkdir()
    ours = start_ours(tmp / "o", *extra)
    try:
        real = start_real(tmp / "r", *extra)
    except BaseException:
        ours.stop()
        raise
    return ours, real


@pytest.mark.parametrize(("peer", "local"), [
    (("127.0.0.1", 5000), True), (("::1", 5000, 0, 0), True),
    (("127.0.0.2", 5000), False), (("127.1.2.3", 5000), False), (("127.255.255.254", 1), False),
    (("::ffff:127.0.0.1", 5000, 0, 0), False),  # inet_ntop spells it so: not "127.0.0.1"
    (("10.0.0.1", 5000), False), (("0.0.0.0", 5000), False), (("::", 1, 0, 0), False),
    ("", True), ("/tmp/redis.sock", True),  # AF_UNIX peers: always local
    (None, False),
])
def test_local_peer_policy(peer: Any, local: bool) -> None:
    assert is_local_peer(peer) is local


def test_protected_mode_denies_other_loopback_addresses(tmp_path: Path) -> None:
    """With no password, 127.0.0.2 is refused with Redis's exact DENIED text; a password lifts it."""
    ours, real = _pair(tmp_path, *TWO_ADDRS, "--protected-mode", "yes")
    try:
        seen = []
        for srv in (ours, real):
            p = srv.port
            seen.append([
                talk(p, ("PING",), source="127.0.0.2"),
                talk(p, ("PING",), source="127.0.0.2", dest="127.0.0.2"),
                talk(p, ("PING",), source="127.0.0.3", dest="127.0.0.2"),
                talk(p, ("PING",), source="127.0.0.1", dest="127.0.0.2"),
                talk(p, ("CONFIG", "SET", "requirepass", "secret")),
                talk(p, ("PING",), ("AUTH", "secret"), ("PING",), source="127.0.0.2"),
                talk(p, ("AUTH", "secret"), ("INFO", "stats"), source="127.0.0.2").split(b"\r\n"),
            ])
            seen[-1][-1] = [x for x in seen[-1][-1] if x.startswith(b"rejected_connections:")]
        assert seen[0] == seen[1]
        assert seen[0][0].startswith(b"-DENIED Redis is running in protected mode")
        assert seen[0][3] == b"+PONG\r\n"
        assert seen[0][-1] == [b"rejected_connections:3"]
    finally:
        ours.stop()
        real.stop()


@pytest.mark.parametrize("mode", ["no", "local", "yes"])
def test_debug_and_protected_configs_by_peer(tmp_path: Path, mode: str) -> None:
    """``enable-debug-command``/``enable-protected-configs``: ``local`` lets 127.0.0.1 in, not 127.0.0.2."""
    ours, real = _pair(tmp_path, *TWO_ADDRS, "--protected-mode", "no",
                       "--enable-debug-command", mode, "--enable-protected-configs", mode)
    newdir = tmp_path / "elsewhere"
    newdir.mkdir()
    cmds = [("DEBUG", "SET-ACTIVE-EXPIRE", "1"), ("CONFIG", "SET", "dbfilename", "other.rdb"),
            ("CONFIG", "SET", "dir", str(newdir)), ("CONFIG", "SET", "maxmemory", "1mb", "dir", str(newdir)),
            ("CONFIG", "GET", "maxmemory"), ("CONFIG", "GET", "dbfilename"),
            # refused before MULTI queues it (processCommand), so EXEC aborts
            ("MULTI",), ("DEBUG", "SET-ACTIVE-EXPIRE", "1"), ("EXEC",)]
    try:
        seen = [[talk(srv.port, *cmds, source=src) for src in ("127.0.0.2", "127.0.0.1")]
                for srv in (ours, real)]
        assert seen[0] == seen[1]
        if mode == "local":
            assert b"can't set protected config" in seen[0][0] and b"DEBUG command not allowed" in seen[0][0]
            assert b"protected" not in seen[0][1] and b"not allowed" not in seen[0][1]
    finally:
        ours.stop()
        real.stop()


# ours cannot rebind its listeners at run time, so it refuses these (Redis 7.0 rebinds)
_NOT_SETTABLE_HERE = {"port", "bind"}


def test_config_set_immutable_and_protected_match_real(tmp_path: Path) -> None:
    """Every config 7.0 refuses at run time (IMMUTABLE_CONFIG, PROTECTED_CONFIG without
    ``enable-protected-configs``) is refused here with the same reply, and nothing else is."""
    ours, real = _pair(tmp_path)
    try:
        a, b = ours.client(), real.client()
        names = sorted(b.config_get("*"))
        refused = []
        for name in names:
            if name in _NOT_SETTABLE_HERE:
                continue
            value = b.config_get(name)[name]
            argv = ["CONFIG", "SET", name, value]
            got, want = run(a, argv), run(b, argv)
            if any(w in str(x) for x in (got, want) for w in ("immutable", "protected")):
                assert got == want, name
                refused.append(name)
            if name.startswith("enable-"):  # not even to a different value
                argv = ["CONFIG", "SET", name, "local"]
                assert run(a, argv) == run(b, argv)
        assert {"enable-debug-command", "enable-protected-configs", "enable-module-command", "dir",
                "dbfilename", "daemonize", "databases"} <= set(refused)
        # refused before any value is checked or applied: the whole CONFIG SET fails, naming it
        for argv in (["CONFIG", "SET", "maxmemory", "bad", "enable-debug-command", "yes"],
                     ["CONFIG", "SET", "maxmemory", "100", "dir", "/"], ["CONFIG", "GET", "maxmemory"]):
            assert run(a, argv) == run(b, argv)
    finally:
        ours.stop()
        real.stop()


@pytest.mark.parametrize("conf", ["aclfile users.acl\n", "user default off\n"])
def test_acl_configuration_is_honoured(tmp_path: Path, conf: str) -> None:
    """Users from an ACL file or ``user`` lines are served: ``user default off`` leaves
    every new connection unauthenticated (engine.acl), never open."""
    (tmp_path / "users.acl").write_text("user default off\n")
    (tmp_path / "redis.conf").write_text(conf)
    srv = start_ours(tmp_path, config=tmp_path / "redis.conf")
    try:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=srv.port).ping()
    finally:
        srv.stop()
