"""Lists held as Redis 7.0's quicklist, against real redis-server 7.0.15.

Redis keeps a list as listpack nodes cut by ``list-max-listpack-size`` (a byte class or an
entry count), inner nodes LZF-compressed by ``list-compress-depth``; inserts split and
merge nodes, iterators compress the nodes they leave. The nodes show through DUMP (each
node written as it is, a compressed one as its LZF block), DEBUG OBJECT (ql_nodes,
ql_uncompressed_size, serializedlength) and MEMORY USAGE (objectComputeSize sums the
nodes' allocations): all must equal real Redis's through random command sequences, on
RESP2 and RESP3. A loaded or restored list keeps its nodes' bytes (odd encodings too),
ziplist quicklists of older files are converted node by node, our SAVE loads in real
Redis with the same digest, and mutated node bytes in a RESTORE payload are refused as
Redis refuses them, an accepted one then serving every list command as Redis does.
"""

from __future__ import annotations

import random
import re

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from rdbtools.crc64 import crc64
from rdbtools.encoder import encode_bytes
from rdbtools.encodings.listpack import encode_listpack
from rdbtools.model import Record
from rdbtools.policy import EncodingPolicy
from rdbtools.primitives import save_len, save_string
from tests.engine.conftest import ServerProc, start_ours, start_real
from tests.engine.differential import run
from tests.engine.test_hash_listpack import _entry_str, _lp

pytestmark = pytest.mark.differential

KEYS = [b"l0", b"l1"]
key = st.sampled_from(KEYS)
elem = st.one_of(
    st.sampled_from([b"a", b"b", b"12", b"-7", b"hello world", b"1234567890123", b"x" * 70, b"y" * 300,
                     b"z" * 5000, b"", b"007"]),
    st.integers(0, 40).map(lambda i: b"v%d" % i),
)
idx = st.integers(-25, 25).map(lambda i: b"%d" % i)
side = st.sampled_from([b"LEFT", b"RIGHT"])
LIST_CMDS = st.one_of(
    st.tuples(st.sampled_from([b"LPUSH", b"RPUSH", b"LPUSHX", b"RPUSHX"]), key,
              st.lists(elem, min_size=1, max_size=12)).map(lambda t: [t[0], t[1], *t[2]]),
    st.tuples(st.sampled_from([b"LPOP", b"RPOP"]), key).map(list),
    st.tuples(st.sampled_from([b"LPOP", b"RPOP"]), key, st.integers(1, 8).map(b"%d".__mod__)).map(list),
    st.tuples(st.just(b"LSET"), key, idx, elem).map(list),
    st.tuples(st.just(b"LINSERT"), key, st.sampled_from([b"BEFORE", b"AFTER"]), elem, elem).map(list),
    st.tuples(st.just(b"LREM"), key, st.integers(-3, 3).map(b"%d".__mod__), elem).map(list),
    st.tuples(st.just(b"LTRIM"), key, idx, idx).map(list),
    st.tuples(st.just(b"LRANGE"), key, idx, idx).map(list),
    st.tuples(st.just(b"LINDEX"), key, idx).map(list),
    st.tuples(st.just(b"LMOVE"), key, key, side, side).map(list),
    st.tuples(st.just(b"LMPOP"), st.just(b"1"), key, side, st.just(b"COUNT"),
              st.integers(1, 9).map(b"%d".__mod__)).map(list),
    st.tuples(st.just(b"LPOS"), key, elem, st.sampled_from([[], [b"RANK", b"-1"], [b"MAXLEN", b"7"], [b"COUNT", b"0"]])
              ).map(lambda t: [t[0], t[1], t[2], *t[3]]),
    st.tuples(st.just(b"SORT"), key, st.sampled_from([[b"ALPHA"], [b"BY", b"nosort", b"LIMIT", b"3", b"4"],
                                                      [b"BY", b"nosort", b"DESC", b"LIMIT", b"1", b"5"]])
              ).map(lambda t: [t[0], t[1], *t[2]]),
    st.tuples(st.just(b"DEBUG"), st.just(b"DIGEST-VALUE"), key).map(list),
    st.tuples(st.just(b"COPY"), key, key, st.just(b"REPLACE")).map(list),
)
CONFIGS = [(-2, 0), (-1, 1), (3, 0), (4, 2), (1, 1), (0, 0), (5, 3)]


def _debug_object(c: redis.Redis, k: bytes) -> object:
    kind, v = run(c, [b"DEBUG", b"OBJECT", k])
    if kind != "ok":
        return kind, v
    return re.sub(rb"Value at:\S+ |lru:\S+ |lru_seconds_idle:\S+ ?", b"", v if isinstance(v, bytes) else str(v).encode())


def _state(c: redis.Redis, k: bytes) -> list:
    """What shows a list's nodes: its DUMP, DEBUG OBJECT's ql_* fields and MEMORY USAGE."""
    return [run(c, [b"DUMP", k]), _debug_object(c, k), run(c, [b"MEMORY", b"USAGE", k, b"SAMPLES", b"0"]),
            run(c, [b"MEMORY", b"USAGE", k]), run(c, [b"OBJECT", b"ENCODING", k]), run(c, [b"LLEN", k])]


class ListMachine(RuleBasedStateMachine):
    ours = None
    real = None

    @initialize(config=st.sampled_from(CONFIGS))
    def setup(self, config: tuple[int, int]) -> None:
        for c in (self.ours, self.real):
            c.execute_command("FLUSHALL")
            c.execute_command("CONFIG", "SET", "list-max-listpack-size", config[0])
            c.execute_command("CONFIG", "SET", "list-compress-depth", config[1])

    @rule(argv=LIST_CMDS)
    def command(self, argv: list[bytes]) -> None:
        a, b = run(self.ours, argv), run(self.real, argv)
        assert a == b, f"{argv!r}\n  ours={a!r}\n  real={b!r}"

    @rule(argv=st.tuples(st.sampled_from([b"RPUSH", b"LPUSH"]), key, st.lists(elem, min_size=10, max_size=40)))
    def bulk_push(self, argv: tuple) -> None:
        self.command([argv[0], argv[1], *argv[2]])

    @invariant()
    def same_nodes(self) -> None:
        for k in KEYS:
            a, b = _state(self.ours, k), _state(self.real, k)
            assert a == b, (k, a, b)


def test_list_sequences_match_real(pair) -> None:
    ListMachine.ours, ListMachine.real = pair
    run_state_machine_as_test(ListMachine, settings=settings(
        max_examples=12, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)))


def _payload(nodes: list[tuple[int, bytes]]) -> bytes:
    """A DUMP payload of a quicklist-2 list: (container, data) nodes, stored raw."""
    body = save_len(len(nodes)) + b"".join(save_len(ct) + save_string(d, compress=False) for ct, d in nodes)
    p = b"\x12" + body + (10).to_bytes(2, "little")
    return p + crc64(p).to_bytes(8, "little")


ODD_NODES = {
    # integers kept as strings, a count of "unknown": kept as they are
    "strings-for-ints": [(2, _lp([_entry_str(b"5"), _entry_str(b"x"), _entry_str(b"300")])),
                         (2, encode_listpack([b"a", b"b"]))],
    "unknown-count": [(2, _lp([_entry_str(b"p"), _entry_str(b"q")], 0xFFFF)), (2, encode_listpack([b"r"]))],
    "empty-node-skipped": [(2, encode_listpack([])), (2, encode_listpack([b"a", b"1"]))],
    "plain-node": [(2, encode_listpack([b"h"])), (1, b"a plain element"), (2, encode_listpack([b"t"]))],
}
STEPS = [[b"DUMP", b"l"], [b"LRANGE", b"l", b"0", b"-1"], [b"LINDEX", b"l", b"1"], [b"LPUSH", b"l", b"n"],
         [b"DUMP", b"l"], [b"LSET", b"l", b"1", b"77"], [b"DUMP", b"l"], [b"LINSERT", b"l", b"AFTER", b"n", b"m"],
         [b"DUMP", b"l"], [b"RPOP", b"l"], [b"DUMP", b"l"], [b"LREM", b"l", b"0", b"5"], [b"DUMP", b"l"],
         [b"DEBUG", b"DIGEST-VALUE", b"l"], [b"MEMORY", b"USAGE", b"l"], [b"RPUSH", b"l", b"e"], [b"DUMP", b"l"]]


@pytest.mark.parametrize("name", sorted(ODD_NODES))
def test_restored_nodes_kept_as_their_bytes(ours: ServerProc, real: ServerProc, name: str) -> None:
    servers = (ours, real)
    payload = _payload(ODD_NODES[name])
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.config_set("sanitize-dump-payload", "yes")
        assert run(c, [b"RESTORE", b"l", b"0", payload]) == ("ok", b"OK")
        got.append([run(c, argv) for argv in STEPS] + [_debug_object(c, b"l")])
        c.config_set("sanitize-dump-payload", "no")
    assert got[0] == got[1]


def test_compressed_nodes_round_trip(ours: ServerProc, real: ServerProc) -> None:
    """A compressed list DUMPed by real Redis (rdbcompression off: the nodes held
    compressed go out as LZF blocks, the others raw) restores, DUMPs and reloads here as
    in Redis."""
    servers = (ours, real)
    rc = real.client()
    rc.flushall()
    rc.config_set("list-compress-depth", 1)
    rc.config_set("list-max-listpack-size", 8)
    rc.config_set("rdbcompression", "no")
    try:
        rc.rpush("src", *[b"value-%d-" % (i % 5) * 6 for i in range(60)])
        payload = rc.dump("src")
    finally:
        rc.config_set("rdbcompression", "yes")
    assert b"\xc3" in payload  # LZF blocks in it
    got = []
    for srv in servers:
        c = srv.client()
        c.config_set("list-compress-depth", 1)
        c.config_set("list-max-listpack-size", 8)
        c.config_set("rdbcompression", "no")
        try:
            c.restore("l", 0, payload, replace=True)
            out = [c.dump("l") == payload, _state(c, b"l")]
            c.save()
            c.execute_command("DEBUG", "RELOAD", "NOSAVE")
            out += [c.dump("l") == payload, _state(c, b"l"), c.lrange("l", 0, -1)]
        finally:
            c.config_set("rdbcompression", "yes")
            c.config_set("list-compress-depth", 0)
            c.config_set("list-max-listpack-size", -2)
        got.append(out)
    assert got[0] == got[1]
    assert got[0][0] and got[0][2]


def test_ziplist_quicklist_converted_node_by_node(tmp_path) -> None:
    """An RDB 9 file (quicklist of ziplists, 3 elements a node): each ziplist becomes one
    listpack node at load, whatever list-max-listpack-size says, as in Redis 7.0."""
    recs = [Record(db=0, key=b"l", type="list", value=[b"a", b"12", b"x" * 40, b"-5", b"b", b"c", b"d"]),
            Record(db=0, key=b"old", type="list", value=[b"%d" % i for i in range(20)])]
    data = encode_bytes(recs, target_version=9, policy=EncodingPolicy(list_max_listpack_size=3))
    got = []
    for d, start in (("ours", start_ours), ("real", start_real)):
        (tmp_path / d).mkdir()
        (tmp_path / d / "dump.rdb").write_bytes(data)
        srv = start(tmp_path / d, loaded=True)
        try:
            c = srv.client()
            got.append([_state(c, b"l"), _state(c, b"old"), c.execute_command("DEBUG", "DIGEST")])
        finally:
            srv.stop()
    assert got[0] == got[1]


def test_save_loads_in_real_redis(tmp_path) -> None:
    """Our SAVE of lists of every shape (compressed, split, plain-sized, integer
    elements) loads in real 7.0 with the same digest and the same nodes."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    ours = start_ours(tmp_path / "ours")
    rng = random.Random(7)
    try:
        c = ours.client()
        for depth, fill in ((0, -2), (1, 4), (2, -1)):
            c.config_set("list-compress-depth", depth)
            c.config_set("list-max-listpack-size", fill)
            k = b"l%d" % depth
            for _ in range(120):
                v = rng.choice([b"x" * rng.randrange(1, 400), b"%d" % rng.randrange(-10**12, 10**12), b"abc" * 30])
                c.lpush(k, v) if rng.random() < 0.5 else c.rpush(k, v)
            c.linsert(k, "BEFORE", c.lindex(k, 50), b"inserted")
            c.ltrim(k, 3, -4)
        want = [c.execute_command("DEBUG", "DIGEST")] + [_state(c, k) for k in (b"l0", b"l1", b"l2")]
        c.save()
        (tmp_path / "real" / "dump.rdb").write_bytes((tmp_path / "ours" / "dump.rdb").read_bytes())
    finally:
        ours.stop()
    real = start_real(tmp_path / "real", "--list-compress-depth", "1", "--list-max-listpack-size", "4", loaded=True)
    try:
        r = real.client()
        assert r.execute_command("DEBUG", "DIGEST") == want[0]
        assert r.dump("l1") == want[2][0][1]  # compressed nodes, the same bytes
        assert [r.llen(k) for k in (b"l0", b"l1", b"l2")] == [w[-1][1] for w in want[1:]]
    finally:
        real.stop()


LIST_COMMANDS = [[b"LRANGE", b"l", b"0", b"-1"], [b"LLEN", b"l"], [b"LINDEX", b"l", b"-1"], [b"LPUSH", b"l", b"n"],
                 [b"RPUSH", b"l", b"12"], [b"LSET", b"l", b"1", b"s"], [b"LINSERT", b"l", b"BEFORE", b"a", b"i"],
                 [b"LREM", b"l", b"0", b"b"], [b"LPOS", b"l", b"12"], [b"LTRIM", b"l", b"0", b"20"],
                 [b"DUMP", b"l"], [b"OBJECT", b"ENCODING", b"l"], [b"DEBUG", b"DIGEST-VALUE", b"l"],
                 [b"COPY", b"l", b"l2"], [b"SORT", b"l", b"ALPHA"], [b"RPOP", b"l", b"2"], [b"LPOP", b"l"],
                 [b"LMOVE", b"l", b"l2", b"LEFT", b"RIGHT"], [b"DEL", b"l", b"l2"]]


def test_mutated_quicklist_payloads(ours: ServerProc, real: ServerProc) -> None:
    """Seeded byte mutations of a list's listpack nodes (CRC recomputed): refused exactly
    when real Redis with sanitize-dump-payload yes refuses them; an accepted one serves
    every list command on the key as real Redis does (and never crashes our server)."""
    rng = random.Random(21)
    nodes = [encode_listpack([b"a", b"12", b"b", b"-300"]), encode_listpack([b"x" * 70, b"b", b"7"])]
    clients = [srv.client() for srv in (ours, real)]
    for c in clients:
        c.flushall()
        c.config_set("sanitize-dump-payload", "yes")
    accepted = 0
    for _ in range(250):
        muts = [bytearray(n) for n in nodes]
        for _ in range(rng.choice((1, 1, 2, 3))):
            m = muts[rng.randrange(2)]
            m[rng.randrange(len(m))] = rng.randrange(256)
        payload = _payload([(2, bytes(m)) for m in muts])
        res = [run(c, [b"RESTORE", b"l", b"0", payload, b"REPLACE"]) for c in clients]
        assert res[0] == res[1], (payload.hex(), res)
        if res[0][0] != "ok":
            continue
        accepted += 1
        for argv in LIST_COMMANDS:
            a, b = (run(c, argv) for c in clients)
            assert a == b, (payload.hex(), argv, a, b)
    for c in clients:
        c.config_set("sanitize-dump-payload", "no")
        assert c.ping()
    assert accepted > 0


def test_full_sync_from_real_master_keeps_the_nodes(tmp_path) -> None:
    """Our replica of a real master: the payload's quicklist nodes arrive as they are
    (odd encodings kept, compressed nodes compressed again by the replica's depth)."""
    from tests.engine.test_replication import in_sync

    for d in ("m", "r"):
        (tmp_path / d).mkdir()
    real = start_real(tmp_path / "m", "--repl-diskless-sync-delay", "0", "--list-compress-depth", "1",
                      "--list-max-listpack-size", "5")
    ours = None
    try:
        m = real.client(socket_timeout=10)
        for name, nodes in ODD_NODES.items():
            m.restore(name, 0, _payload(nodes))
        m.rpush("big", *[b"item-%d-" % (i % 7) * 5 for i in range(80)])
        m.lrange("big", 10, 20)  # an iterator's visit changes which nodes are compressed
        ours = start_ours(tmp_path / "r", "--replicaof", "127.0.0.1", str(real.port), "--list-compress-depth", "1",
                          "--list-max-listpack-size", "5")
        r = ours.client(socket_timeout=10)
        in_sync(m, r)
        for k in [*ODD_NODES, "big"]:
            assert _state(r, k.encode()) == _state(m, k.encode()), k
    finally:
        if ours is not None:
            ours.stop()
        real.stop()
