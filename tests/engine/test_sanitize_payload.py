"""RESTORE of damaged payloads under each ``sanitize-dump-payload`` setting, against real 7.0.

Real Redis validates a payload deeply (listpack/intset/ziplist entries,
duplicates, stream PELs) only with ``yes`` (or ``clients`` for a normal client);
with ``no`` it accepts payloads that corrupt it, and some crash it (a listpack
hash with a duplicate field past hash-max-listpack-entries panics inside
RESTORE). Our server decodes every payload into live values, so it always
validates deeply: whatever the setting, it must refuse everything real Redis
refuses with ``yes`` and never crash. The setting still decides what INFO's
``dump_payload_sanitizations`` counts, as in ``rdbLoadObject``.

The payloads are real Redis DUMPs, hand-made damaged ones, and seeded random
byte mutations of the DUMPs with the CRC recomputed (so they reach the value
parser instead of failing the checksum).
"""

from __future__ import annotations

import dataclasses
import math
import random
import struct
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from rdbtools.crc64 import crc64
from rdbtools.dump import dump_value, restore_value
from rdbtools.encodings.listpack import encode_listpack
from rdbtools.encodings.ziplist import encode_ziplist
from rdbtools.primitives import save_len, save_string
from tests.engine.conftest import ServerProc, start_ours, start_real

pytestmark = pytest.mark.differential

MODES = ("no", "yes", "clients")
BAD = "Bad data format"

SETUP = [
    ["SET", "str", "hello world"], ["SET", "int", "12345"], ["PFADD", "hll", "a", "b", "c"],
    ["RPUSH", "list", "a", "1", "bbb", "-5", "x" * 70],
    ["SADD", "intset", "3", "1", "2", "-70000", "5000000000"], ["SADD", "set", "a", "b", "c"],
    ["HSET", "hash", "f", "v", "g", "1", "h", "300"],
    ["HSET", "bighash", *[x for i in range(600) for x in (f"f{i}", "v")]],
    ["ZADD", "zset", "1.5", "a", "2", "b", "-3", "c", "1e300", "d"],
    ["ZADD", "bigzset", *[x for i in range(200) for x in (str(i / 3), f"m{i}")]],
    ["XADD", "stream", "1-1", "a", "1", "b", "2"], ["XADD", "stream", "1-2", "a", "3", "b", "4"],
    ["XADD", "stream", "2-1", "c", "5"], ["XDEL", "stream", "1-2"], ["XGROUP", "CREATE", "stream", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "stream", ">"],
]


def payload(type_byte: int, body: bytes, version: int = 10) -> bytes:
    p = bytes((type_byte,)) + body + version.to_bytes(2, "little")
    return p + crc64(p).to_bytes(8, "little")


def blob(data: bytes) -> bytes:
    return save_string(data, compress=False)


def lp(type_byte: int, items: list[bytes | int]) -> bytes:
    return payload(type_byte, blob(encode_listpack(items)))


def lp_counted(items: list[bytes | int], count: int) -> bytes:
    """A listpack whose header claims ``count`` entries."""
    raw = encode_listpack(items)
    return raw[:4] + struct.pack("<H", count) + raw[6:]


def intset(width: int, values: list[int]) -> bytes:
    raw = struct.pack("<II", width, len(values)) + b"".join(v.to_bytes(width, "little", signed=True) for v in values)
    return payload(11, blob(raw))


def crafted(dumps: dict[str, bytes]) -> dict[str, bytes]:
    """Damage the validators must catch (and a few valid edge cases)."""
    stream = restore_value(dumps["stream"]).value
    g = stream.groups[0]
    no_owner = dataclasses.replace(g, consumers=tuple(dataclasses.replace(c, pending=()) for c in g.consumers))
    many = [x for i in range(600) for x in (b"f%d" % (i % 599), b"v")]
    return {
        "hash listpack duplicate field": lp(16, [b"f", b"v", b"f", b"w"]),
        "hash listpack odd entries": lp(16, [b"f", b"v", b"g"]),
        # real 7.0 with "no" panics converting it to a hashtable (600 > 512 entries)
        "big hash listpack duplicate field": payload(16, blob(encode_listpack(many))),
        "hash listpack wrong count": payload(16, blob(lp_counted([b"f", b"v"], 4))),
        "zset listpack duplicate member": lp(17, [b"a", 1, b"a", 2]),
        # real 7.0 accepts it and then asserts (crashes) converting it to a skiplist; refused here
        "zset listpack NaN score": lp(17, [b"a", b"nan", b"b", 2]),
        "zset listpack inf score": lp(17, [b"a", b"inf", b"b", 2]),
        "zset binary NaN score": payload(5, save_len(1) + save_string(b"a") + struct.pack("<d", math.nan)),
        "intset duplicate": intset(2, [1, 2, 2]),
        "intset unsorted": intset(2, [3, 2, 1]),
        "intset bad width": intset(3, [1]),
        "intset wider than needed": intset(4, [1, 2]),
        "list listpack bad backlen": payload(18, save_len(1) + save_len(2) + blob(
            encode_listpack([b"a", b"b"]).replace(b"\x81b\x02", b"\x81b\x03"))),
        "list empty listpack node": payload(18, save_len(2) + save_len(2) + blob(encode_listpack([]))
                                            + save_len(2) + blob(encode_listpack([b"x"]))),
        "list bad container": payload(18, save_len(1) + save_len(3) + blob(encode_listpack([b"a"]))),
        "hash ziplist duplicate field": payload(13, blob(encode_ziplist([b"f", b"v", b"f", b"w"])), 9),
        "list ziplist (RDB 9)": payload(10, blob(encode_ziplist([b"a", b"b"])), 9),
        "set duplicate member": payload(2, save_len(2) + save_string(b"a") + save_string(b"a")),
        "hash duplicate field": payload(4, save_len(2) + save_string(b"a") + save_string(b"1")
                                        + save_string(b"a") + save_string(b"2")),
        "stream PEL entry without consumer": dump_value(
            ("stream", dataclasses.replace(stream, groups=(no_owner,))), 10),
        "stream consumer PEL entry not in the group PEL": dump_value(
            ("stream", dataclasses.replace(stream, groups=(dataclasses.replace(g, pending=()),))), 10),
    }


def mutations(dumps: dict[str, bytes], per_key: int, seed: int) -> list[bytes]:
    """Random byte damage inside the value (type byte and trailer kept), CRC recomputed."""
    rnd = random.Random(seed)
    out = []
    for p in dumps.values():
        n = len(p) - 10
        for _ in range(per_key):
            b = bytearray(p[:-8])
            i = rnd.randrange(1, n)
            r = rnd.random()
            if r < 0.4:
                b[i] = rnd.randrange(256)
            elif r < 0.7:
                b[i] ^= 1 << rnd.randrange(8)
            elif r < 0.85:
                b[i] = (b[i] + rnd.choice((1, 255))) % 256
            else:
                j = min(n, i + rnd.randrange(1, 4))
                b[i:j] = bytes(rnd.randrange(256) for _ in range(j - i))
            out.append(bytes(b) + crc64(bytes(b)).to_bytes(8, "little"))
    return out


class Restorer:
    """One server; a real server that crashes is restarted (and the crash counted)."""

    def __init__(self, tmp: Path, ours: bool, *args: str) -> None:
        self.dir = tmp / f"{'ours' if ours else 'real'}{'-'.join(args)}"
        self.dir.mkdir()
        # a crashing real server skips its memory test and bug report
        self.args = args if ours else (*args, "--crash-memcheck-enabled", "no", "--crash-log-enabled", "no")
        self.start = start_ours if ours else start_real
        self.crashes = 0
        self.srv: ServerProc = self.start(self.dir, *self.args)
        self.c = self.connect()

    def connect(self) -> redis.Redis:
        return self.srv.client(socket_timeout=10, retry=Retry(NoBackoff(), 0))  # a crash is no hiccup

    def restore(self, p: bytes) -> str:
        try:
            self.c.restore("k", 0, p, replace=True)
            return "OK"
        except redis.ResponseError as exc:
            return str(exc)
        except redis.ConnectionError:
            self.crashes += 1
            self.srv.stop()
            self.srv = self.start(self.dir, *self.args)
            self.c = self.connect()
            return "crash"

    def digest(self) -> bytes:
        return self.c.execute_command("DEBUG", "DIGEST-VALUE", "k")[0]

    def sanitizations(self) -> int:
        return int(self.c.info("stats")["dump_payload_sanitizations"])


def test_damaged_payloads_by_setting(tmp_path: Path) -> None:
    src = start_real(tmp_path)
    try:
        c = src.client()
        for argv in SETUP:
            c.execute_command(*argv)
        dumps = {k.decode(): c.dump(k) for k in sorted(c.keys())}
    finally:
        src.stop()
    cases = crafted(dumps)
    payloads = list(dumps.values()) + list(cases.values()) + mutations(dumps, 25, seed=7)
    names = list(dumps) + list(cases) + ["mutation"] * (len(payloads) - len(dumps) - len(cases))
    real = {mode: Restorer(tmp_path, False, "--sanitize-dump-payload", mode) for mode in MODES}
    ours = Restorer(tmp_path, True)
    try:
        got: dict[str, list[str]] = {}
        theirs: dict[str, list[str]] = {}
        for mode in MODES:  # one server of ours, set at run time
            ours.c.config_set("sanitize-dump-payload", mode)
            ours.c.config_resetstat()
            got[mode] = [ours.restore(p) for p in payloads]
            theirs[mode] = [real[mode].restore(p) for p in payloads]
            if real[mode].crashes == 0:  # a restarted server has lost its count
                assert ours.sanitizations() == real[mode].sanitizations(), mode
            assert (ours.sanitizations() > 0) == (mode != "no"), mode
        # the setting never changes what this server accepts; it never crashes
        assert got["no"] == got["yes"] == got["clients"]
        assert set(got["yes"]) <= {"OK", BAD}
        stricter = set()
        refused = set()
        for i, (name, p) in enumerate(zip(names, payloads)):
            mine = got["yes"][i]
            if mine != "OK":
                refused.add(name)
            for mode in MODES:  # whatever real Redis refuses under a setting is refused here
                if theirs[mode][i] not in ("OK", "crash"):
                    assert mine == BAD, (name, mode, theirs[mode][i])
            if theirs["yes"][i] == "OK":
                if mine == "OK":  # both took it: the same value
                    ours.restore(p)
                    real["yes"].restore(p)
                    assert ours.digest() == real["yes"].digest(), name
                else:
                    stricter.add(name)
        assert {"stream PEL entry without consumer", "hash listpack duplicate field", "intset unsorted",
                "big hash listpack duplicate field", "hash listpack wrong count"} <= refused
        # a listpack NaN score is kept as real 7.0 keeps it (tests/engine/test_edge_values.py);
        # refused here though real 7.0 accepts them: mutations real Redis lets through (bytes
        # after the value, scores like "1x")
        assert not stricter - {"mutation"}, stricter
        assert real["no"].crashes >= 1  # what "no" risks on real Redis
        assert "crash" not in theirs["yes"] + theirs["clients"]
    finally:
        for s in (ours, *real.values()):
            s.srv.stop()


def test_clients_setting_trusts_the_master_link(tmp_path: Path) -> None:
    """``clients``: a RESTORE arriving from the master is not counted (rdbLoadObject skips
    deep validation for CLIENT_MASTER); ``yes`` counts it. Our replica and a real one agree."""
    from tests.engine.test_replication import FAST, in_sync

    (tmp_path / "m").mkdir()
    master = start_real(tmp_path / "m", *FAST)
    replicas: list[ServerProc] = []
    try:
        for start in (start_ours, start_real):
            d = tmp_path / f"r{len(replicas)}"
            d.mkdir()
            replicas.append(start(d, "--replicaof", "127.0.0.1", str(master.port),
                                  "--sanitize-dump-payload", "clients"))
        m = master.client()
        m.hset("h", mapping={"f": "v"})
        p = m.dump("h")
        seen = []
        for mode in ("clients", "yes"):
            for r in replicas:
                r.client().config_set("sanitize-dump-payload", mode)
            m.restore("h2", 0, p, replace=True)
            for r in replicas:
                in_sync(m, r.client())
            seen.append([int(r.client().info("stats")["dump_payload_sanitizations"]) for r in replicas])
        assert seen == [[0, 0], [1, 1]]
    finally:
        for s in (*replicas, master):
            s.stop()
