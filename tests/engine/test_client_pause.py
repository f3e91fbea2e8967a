"""CLIENT PAUSE / CLIENT UNPAUSE as Redis 7.0 runs them, compared with real redis-server 7.0.

Each scenario drives a few connections (``a`` pauses; ``b``, ``c`` send commands that
may be postponed) and records a transcript: replies, whether a reply has arrived yet,
INFO fields. Both servers must give the same transcript. Covered: the error texts and
the COMMAND entries; what WRITE postpones (writes, may-replicate commands such as
PUBLISH and PFCOUNT, EXEC of a transaction holding writes, EVAL of a script not declared
``no-writes``) and what it lets through; ALL; the pause ending by UNPAUSE or by its
timeout (postponed clients served in order, shown blocked in CLIENT LIST and INFO);
expiry held during the pause; a write pause of SHUTDOWN and a CLIENT PAUSE together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.engine.conftest import ServerProc, start_ours, start_real

# a step: ("a", "CMD", ...) sends on connection a and records the reply;
# ("b", "send", "CMD", ...) only sends; ("b", "read") records the reply that arrives;
# ("b", "pending") records whether b still waits for a reply; ("info", field);
# ("clientflags", conn): the flags/cmd CLIENT LIST shows for that connection; a float sleeps
Step = tuple[str, ...] | float

NO_WRITES_SCRIPT = "#!lua flags=no-writes\nreturn 12"
SHEBANG_SCRIPT = "#!lua\nreturn 13"

SCENARIOS: dict[str, list[Step]] = {
    "errors": [
        ("a", "CLIENT", "PAUSE", "abc"), ("a", "CLIENT", "PAUSE", "-1"),
        ("a", "CLIENT", "PAUSE", "10", "foo"), ("a", "CLIENT", "PAUSE", "abc", "foo"),
        ("a", "CLIENT", "PAUSE", "10", "write", "x"), ("a", "CLIENT", "PAUSE"),
        ("a", "CLIENT", "PAUSE", "99999999999999999999"), ("a", "CLIENT", "UNPAUSE", "x"),
        ("a", "CLIENT", "UNPAUSE"), ("a", "CLIENT", "PAUSE", "0"), ("b", "SET", "k", "v"),
        ("a", "CLIENT", "PAUSE", "9223372036854775807", "WRITE"), ("b", "SET", "k", "v2"),
        ("a", "EVAL", "return redis.call('client','pause','100')", "0"),
    ],
    "command entries": [
        ("a", "COMMAND", "INFO", "client|pause", "client|unpause", "client|kill"),
        ("docs", "client|pause"), ("docs", "client|unpause"),
    ],
    "write pause lets reads through": [
        ("a", "SET", "k", "v"), ("a", "PFADD", "h", "x"), ("a", "CLIENT", "PAUSE", "100000", "WRITE"),
        ("b", "GET", "k"), ("b", "PING"), ("b", "EXISTS", "k"), ("b", "EVAL_RO", "return 1", "0"),
        ("b", "EVAL", NO_WRITES_SCRIPT, "0"), ("b", "MULTI"), ("b", "GET", "k"), ("b", "EXEC"),
        ("info", "blocked_clients"), ("a", "CLIENT", "UNPAUSE"),
    ],
    "write pause postpones writes in order": [
        ("a", "CLIENT", "PAUSE", "100000", "WRITE"), ("b", "send", "SET", "k", "1"),
        ("c", "send", "INCR", "k"), ("d", "send", "PUBLISH", "ch", "m"), 0.2,
        ("b", "pending"), ("c", "pending"), ("d", "pending"), ("info", "blocked_clients"),
        ("clientflags", "b"), ("a", "GET", "k"), ("a", "CLIENT", "UNPAUSE"), ("b", "read"),
        ("c", "read"), ("d", "read"), ("a", "GET", "k"), ("info", "blocked_clients"),
    ],
    "may-replicate and scripts": [
        ("a", "PFADD", "h", "x"), ("a", "FUNCTION", "LOAD", "REPLACE",
                                   "#!lua name=lib\nredis.register_function{function_name='ro', "
                                   "callback=function() return 'hi' end, flags={'no-writes'}}\n"
                                   "redis.register_function('rw', function() return 'rw' end)"),
        ("a", "CLIENT", "PAUSE", "100000", "WRITE"),
        ("b", "send", "PFCOUNT", "h"), ("c", "send", "EVAL", "return 1", "0"),
        ("d", "send", "EVAL", SHEBANG_SCRIPT, "0"), ("e", "send", "FCALL", "rw", "0"),
        ("f", "FCALL", "ro", "0"), ("f", "FCALL_RO", "ro", "0"), 0.2,
        ("b", "pending"), ("c", "pending"), ("d", "pending"), ("e", "pending"),
        ("info", "blocked_clients"), ("a", "CLIENT", "UNPAUSE"),
        ("b", "read"), ("c", "read"), ("d", "read"), ("e", "read"),
    ],
    "transactions": [
        ("b", "MULTI"), ("b", "SET", "k", "1"), ("c", "MULTI"), ("c", "EVAL", SHEBANG_SCRIPT, "0"),
        ("a", "CLIENT", "PAUSE", "100000", "WRITE"), ("b", "send", "EXEC"), ("c", "send", "EXEC"),
        ("d", "MULTI"), ("d", "send", "SET", "x", "1"), 0.2, ("b", "pending"), ("c", "pending"),
        ("d", "pending"), ("info", "blocked_clients"), ("a", "CLIENT", "UNPAUSE"), ("b", "read"),
        ("c", "read"), ("d", "read"), ("d", "EXEC"),
    ],
    "pause starts at the end of a transaction": [
        ("a", "MULTI"), ("a", "SET", "f1", "1"), ("a", "CLIENT", "PAUSE", "100000", "WRITE"),
        ("a", "SET", "f2", "2"), ("a", "EXEC"), ("b", "send", "SET", "f3", "3"), 0.2,
        ("b", "pending"), ("a", "MGET", "f1", "f2", "f3"), ("a", "CLIENT", "UNPAUSE"), ("b", "read"),
    ],
    "all pause": [
        # everything is postponed, CLIENT UNPAUSE and INFO too: only the timeout ends it
        ("a", "SET", "k", "v"), ("a", "CLIENT", "PAUSE", "700", "ALL"), ("b", "send", "GET", "k"),
        ("c", "send", "SET", "k", "w"), ("d", "send", "CLIENT", "UNPAUSE"), ("e", "send", "INFO", "clients"),
        ("a", "send", "CLIENT", "PAUSE", "100", "WRITE"), 0.2, ("a", "pending"), ("b", "pending"),
        ("c", "pending"), ("d", "pending"), ("e", "pending"), 0.7, ("a", "read"), ("b", "read"),
        ("c", "read"), ("d", "read"), ("a", "GET", "k"), ("info", "blocked_clients"),
    ],
    "timeout ends the pause": [
        ("a", "CLIENT", "PAUSE", "500", "WRITE"), ("b", "send", "SET", "k", "1"), 0.1, ("b", "pending"),
        ("a", "CLIENT", "PAUSE", "100", "WRITE"),  # the later end time stays
        0.1, ("b", "pending"), 0.6, ("b", "pending"), ("b", "read"), ("a", "GET", "k"),
    ],
    "expiry held during a pause": [
        ("a", "DEBUG", "SET-ACTIVE-EXPIRE", "1"), ("a", "CONFIG", "SET", "hz", "100"),
        ("a", "MULTI"), ("a", "SET", "foo", "bar", "PX", "10"), ("a", "SET", "bar", "foo", "PX", "10"),
        ("a", "CLIENT", "PAUSE", "100000", "WRITE"), ("a", "EXEC"), 0.3, ("a", "GET", "foo"),
        ("a", "EXISTS", "bar"), ("a", "DBSIZE"), ("info", "expired_keys"),
        ("a", "DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("a", "CLIENT", "UNPAUSE"), ("a", "GET", "foo"),
        ("info", "expired_keys"), ("a", "DBSIZE"), ("a", "DEBUG", "SET-ACTIVE-EXPIRE", "1"), 0.3,
        ("a", "DBSIZE"), ("info", "expired_keys"), ("a", "CONFIG", "SET", "hz", "10"),
    ],
    "client pause and shutdown abort": [
        ("a", "CLIENT", "PAUSE", "100000", "WRITE"), ("a", "SHUTDOWN", "ABORT"),
        ("b", "send", "SET", "k", "1"), 0.2, ("b", "pending"), ("a", "CLIENT", "UNPAUSE"), ("b", "read"),
    ],
}


class _Player:
    """The connections of one scenario on one server and its transcript."""

    def __init__(self, srv: ServerProc) -> None:
        self.srv = srv
        self.conns: dict[str, redis.Connection] = {}
        self.out: list[Any] = []

    def conn(self, name: str) -> redis.Connection:
        c = self.conns.get(name)
        if c is None:
            c = self.conns[name] = redis.Connection(host="127.0.0.1", port=self.srv.port,
                                                    protocol=2, socket_timeout=10)
            c.connect()
            c.send_command("CLIENT", "SETNAME", name)
            c.read_response()
        return c

    def read(self, c: redis.Connection) -> Any:
        try:
            return c.read_response()
        except redis.ResponseError as exc:
            return ("err", str(exc))

    def control(self, *args: str) -> Any:
        ctl = redis.Connection(host="127.0.0.1", port=self.srv.port, protocol=2, socket_timeout=10)
        try:  # a WRITE pause lets it through: INFO, CLIENT LIST and COMMAND DOCS are not writes
            ctl.send_command(*args)
            return ctl.read_response()
        finally:
            ctl.disconnect()

    def step(self, step: Step) -> None:
        if isinstance(step, float):
            time.sleep(step)
            return
        who, *rest = step
        if who == "info":
            text = self.control("INFO", "everything").decode()
            fields = dict(ln.split(":", 1) for ln in text.splitlines() if ":" in ln)
            self.out.append((rest[0], fields.get(rest[0])))
        elif who == "docs":
            doc = self.control("COMMAND", "DOCS", rest[0])
            entry = dict(zip(doc[0::2], doc[1::2], strict=True))[rest[0].encode()]
            fields = dict(zip(entry[0::2], entry[1::2], strict=True))
            self.out.append({k: fields.get(k) for k in (b"summary", b"since", b"group")})
        elif who == "clientflags":
            for line in self.control("CLIENT", "LIST").decode().splitlines():
                f = dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)
                if f.get("name") == rest[0]:
                    self.out.append((f["flags"], f["cmd"]))
        elif rest[0] == "send":
            self.conn(who).send_command(*rest[1:])
        elif rest[0] == "read":
            self.out.append(self.read(self.conn(who)))
        elif rest[0] == "pending":
            self.out.append(not self.conn(who).can_read(timeout=0.02))
        else:
            c = self.conn(who)
            c.send_command(*rest)
            self.out.append(self.read(c))

    def close(self) -> None:
        self.control("CLIENT", "UNPAUSE")
        for c in self.conns.values():
            c.disconnect()


def _play(srv: ServerProc, steps: list[Step]) -> list[Any]:
    srv("CLIENT", "UNPAUSE")
    srv("FLUSHALL")
    p = _Player(srv)
    try:
        for s in steps:  # connect first: a paused server would postpone CLIENT SETNAME
            if not isinstance(s, float) and s[0] not in ("info", "docs", "clientflags"):
                p.conn(s[0])
        for s in steps:
            p.step(s)
    finally:
        p.close()
    return p.out


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("pause")
    starters: list[tuple[str, Callable[..., ServerProc]]] = [("real", start_real), ("ours", start_ours)]
    servers = {}
    for name, start in starters:
        (d / name).mkdir()
        servers[name] = start(Path(d / name), "--enable-debug-command", "yes")
    yield servers
    for s in servers.values():
        s.stop()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_client_pause_as_redis(pair: dict[str, ServerProc], name: str) -> None:
    want = _play(pair["real"], SCENARIOS[name])
    got = _play(pair["ours"], SCENARIOS[name])
    assert got == want


def _replica_transcript(start: Callable[..., ServerProc], tmp: Path) -> list[Any]:
    """pause.tcl's replica tests: a paused replica reads its master's stream
    (``slave_read_repl_offset``) without applying it (``slave_repl_offset`` stays) until
    the pause ends."""
    (tmp / "m").mkdir(parents=True)
    (tmp / "r").mkdir()
    master = start(tmp / "m", "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600")
    replica = start(tmp / "r")
    m, r = master.client(socket_timeout=10), replica.client(socket_timeout=10)
    out: list[Any] = []

    def until(pred: Callable[[], bool]) -> bool:
        deadline = time.time() + 10
        while time.time() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return False

    def offsets() -> tuple[int, int, int]:
        ri = r.info("replication")
        return (m.info("replication")["master_repl_offset"], ri.get("slave_read_repl_offset", -1),
                ri.get("slave_repl_offset", -1))

    try:
        r.replicaof("127.0.0.1", master.port)
        out.append(until(lambda: r.info("replication").get("master_link_status") == "up"))
        m.set("foo", "bar")
        out.append(until(lambda: offsets()[2] == offsets()[0]))
        old = offsets()[0]
        out.append(r.execute_command("CLIENT", "PAUSE", "100000", "WRITE"))
        m.set("foo2", "bar2")
        out.append(until(lambda: offsets()[1] == offsets()[0]))
        time.sleep(0.2)
        out += [offsets()[2] == old, r.get("foo2"), r.info("clients")["blocked_clients"]]
        out.append(r.execute_command("CLIENT", "UNPAUSE"))
        out.append(until(lambda: offsets()[2] == offsets()[0]))
        out += [r.get("foo2"), r.info("clients")["blocked_clients"]]
    finally:
        m.close()
        r.close()
        replica.stop()
        master.stop()
    return out


def test_paused_replica_applies_nothing(tmp_path: Path) -> None:
    want = _replica_transcript(start_real, tmp_path / "real")
    got = _replica_transcript(start_ours, tmp_path / "ours")
    assert got == want
