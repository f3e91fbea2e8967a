"""CONFIG GET/SET as Redis 7.0.15 serves them, compared with real redis-server 7.0: the
configs ``CONFIG GET *`` lists (hidden ones only by exact name), every listed config
set back to its own value, and the rollback of a CONFIG SET whose value check (set
phase) or side effect (apply phase: a port already in use) fails.
"""

from __future__ import annotations

import socket
from typing import Any

import redis

from tests.engine.conftest import ServerProc

# configs the suite's "CONFIG sanity" leaves alone (immutable, process-wide, paths)
SKIP = {"daemonize", "io-threads-do-reads", "tcp-backlog", "always-show-logo", "syslog-enabled",
        "cluster-enabled", "disable-thp", "aclfile", "unixsocket", "pidfile", "syslog-ident",
        "appendfilename", "appenddirname", "supervised", "syslog-facility", "databases", "io-threads",
        "logfile", "unixsocketperm", "replicaof", "slaveof", "requirepass", "server_cpulist",
        "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist", "set-proc-title", "rdbchecksum",
        "cluster-config-file", "cluster-port", "oom-score-adj", "oom-score-adj-values",
        "enable-protected-configs", "enable-debug-command", "enable-module-command", "dbfilename",
        "dir", "socket-mark-id"}


def _client(srv: ServerProc) -> redis.Redis:
    return srv.client(socket_timeout=10, decode_responses=True)


def _attempt(c: redis.Redis, *argv: Any) -> Any:
    try:
        return c.execute_command(*argv)
    except redis.ResponseError as exc:
        return ("err", str(exc))


def test_config_get_names_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """The same names for CONFIG GET *; a hidden config only when asked for by name."""
    a, b = _client(ours), _client(real)
    assert sorted(a.config_get("*")) == sorted(b.config_get("*"))
    for name in ("key-load-delay", "rdb-key-save-delay", "watchdog-period", "use-exit-on-panic",
                 "loading-process-events-interval-bytes"):
        assert a.config_get(name) == b.config_get(name)


def test_config_set_own_values_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """Each config set to the value CONFIG GET gives is accepted, and reads back unchanged."""
    got = []
    for srv in (ours, real):
        c = _client(srv)
        before = {k: v for k, v in c.config_get("*").items() if k not in SKIP}
        errors = {k: _attempt(c, "CONFIG", "SET", k, v) for k, v in before.items()}
        after = {k: v for k, v in c.config_get("*").items() if k not in SKIP}
        got.append(({k: e for k, e in errors.items() if e != "OK"}, before == after))
    assert got[0] == got[1]


def _rollbacks(srv: ServerProc, used_port: int) -> list[Any]:
    c = _client(srv)
    names = ("maxmemory", "maxmemory-clients", "client-query-buffer-limit", "port")
    out = [_attempt(c, "CONFIG", "SET", "maxmemory", "10000002"),
           _attempt(c, "CONFIG", "SET", "maxmemory", "10000001", "maxmemory-clients", "200%",
                    "client-query-buffer-limit", "invalid"),
           [c.config_get(n) for n in names[:3]],
           _attempt(c, "CONFIG", "SET", "maxmemory", "10000003", "port", str(used_port),
                    "client-query-buffer-limit", "10m")]
    c2 = _client(srv)  # still listening where it was
    out += [c2.ping(), [c2.config_get(n)[n] != str(used_port) for n in names],
            _attempt(c2, "CONFIG", "SET", "maxmemory-clients", "10%"), c2.config_get("maxmemory-clients"),
            _attempt(c2, "CONFIG", "SET", "maxmemory-clients", "-5%"),
            _attempt(c2, "CONFIG", "SET", "maxmemory-clients", "0", "maxmemory", "0")]
    return out


def test_config_set_rollback_like_redis(ours: ServerProc, real: ServerProc) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        used = blocker.getsockname()[1]
        assert _rollbacks(ours, used) == _rollbacks(real, used)


def test_config_set_port_moves_the_listener(ours: ServerProc, real: ServerProc) -> None:
    """CONFIG SET port listens on the new port (and no longer on the old one), then back."""
    got = []
    for srv in (ours, real):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free = s.getsockname()[1]
        c = _client(srv)
        moved = [c.config_set("port", free)]
        c2 = redis.Redis(port=free, socket_timeout=10, decode_responses=True)
        moved += [c2.ping(), c2.info("server")["tcp_port"] == free]
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
            moved.append("old port open")
        except OSError:
            moved.append("old port closed")
        moved.append(c2.config_set("port", srv.port))
        moved.append(_client(srv).ping())
        got.append(moved)
    assert got[0] == got[1]
