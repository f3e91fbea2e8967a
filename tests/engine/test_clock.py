"""The keyspace's clock: relative expiries replayed from an old AOF, as Redis 7.0 loads them.

Redis 7.0 logs absolute times (``SET … PXAT``, ``PEXPIREAT``), but an AOF written by an
older Redis holds ``SET … EX 100`` and ``EXPIRE k 100``: 7.0's loader adds them to
``mstime()`` at load time (the ``#TS:`` annotations only serve redis-check-aof's
truncation), and nothing expires while it loads (``keyIsExpired`` returns 0 with
``server.loading``), so a command reading a key whose absolute deadline is long past
still sees it. The engine's keyspace owns that clock (``Keyspace.now_ms``) and the
loading flag: the same AOF loaded by a real redis-server 7.0 and by ours gives the same
keys and TTLs, and with a clock given to the server the deadlines are exact.
"""

from __future__ import annotations

import time
from pathlib import Path

from aof.reader import AofReader
from aof.replies import encode_command
from engine.config import Config
from engine.persistence.aof_replay import replay_into
from engine.server.app import Server
from tests.engine.conftest import start_ours, start_real

OLD_S = 1_600_000_000  # September 2020: the time the "old" AOF was written
OLD_MS = OLD_S * 1000


def old_aof() -> bytes:
    cmds = [
        ["SELECT", "0"],
        ["SET", "k1", "v", "EX", "100"],
        ["SET", "k2", "v"],
        ["EXPIRE", "k2", "100"],
        ["PSETEX", "k3", "100000", "v"],
        ["SET", "k4", "v"],
        ["PEXPIRE", "k4", "100000"],
        ["SET", "gone", "v", "PXAT", str(OLD_MS + 100_000)],  # long expired by now
        ["SADD", "s", "a"],
        ["PEXPIREAT", "s", str(OLD_MS + 100_000)],
        ["SUNIONSTORE", "copy", "s"],  # reads the expired set: still there while loading
        ["SET", "persist", "v", "EX", "100"],
        ["PERSIST", "persist"],
    ]
    out = b""
    for i, argv in enumerate(cmds):
        out += b"#TS:%d\r\n" % (OLD_S + i) + encode_command([a.encode() for a in argv])
    return out


def state(port_client) -> dict[str, tuple[int, object]]:
    c = port_client
    out = {}
    for k in ("k1", "k2", "k3", "k4", "gone", "s", "copy", "persist"):
        pttl = c.pttl(k)
        out[k] = (pttl, sorted(c.smembers(k)) if k in ("s", "copy") and pttl != -2 else c.exists(k))
    return out


def test_relative_expiries_in_an_old_aof_count_from_the_load_as_in_redis(tmp_path: Path) -> None:
    got = {}
    for kind, start in (("real", start_real), ("ours", start_ours)):
        d = tmp_path / kind
        d.mkdir()
        (d / "appendonly.aof").write_bytes(old_aof())  # a pre-7.0 single file: migrated at start
        srv = start(d, "--appendonly", "yes")
        try:
            got[kind] = state(srv.client())
        finally:
            srv.stop()
    real, ours = got["real"], got["ours"]
    assert {k: v[1] for k, v in ours.items()} == {k: v[1] for k, v in real.items()}
    for k in ("k1", "k2", "k3", "k4"):
        assert 80_000 < real[k][0] <= 100_000, (k, real[k])  # relative to the load, not 2020
        assert abs(ours[k][0] - real[k][0]) < 15_000, (k, ours[k], real[k])
    assert ours["gone"][0] == real["gone"][0] == -2
    assert ours["s"][0] == real["s"][0] == -2
    assert ours["copy"] == real["copy"] == (-1, [b"a"])
    assert ours["persist"] == real["persist"] == (-1, 1)


def test_the_keyspace_clock_is_the_one_replay_counts_from(tmp_path: Path) -> None:
    """With a clock given to the server, the replayed deadlines are exact: now + the TTL."""
    path = tmp_path / "old.aof"
    path.write_bytes(old_aof())
    now = int(time.time() * 1000) - 3_600_000  # an hour ago: any wall-clock use would show
    srv = Server(Config(), clock=lambda: now)
    result = replay_into(srv, AofReader(str(path)))
    db = srv.keyspace.dbs[0]
    for k in (b"k1", b"k2", b"k3", b"k4"):
        assert db.expires[k] == now + 100_000, k
    assert db.expires[b"gone"] == OLD_MS + 100_000  # absolute: kept as logged
    assert db.data[b"copy"] is not None and b"copy" not in db.expires
    assert b"persist" not in db.expires
    assert not srv.keyspace.loading
    live = {r.key for r in result.records()}  # exported by the same clock
    assert live == {b"k1", b"k2", b"k3", b"k4", b"copy", b"persist"}
    assert db.get(b"gone") is None  # after the load, lookups expire by the clock again
