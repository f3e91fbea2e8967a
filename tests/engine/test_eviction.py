"""``maxmemory``: the eight eviction policies, OOM refusals, evicted keys in the AOF.

Each scenario runs on our server and on a real redis-server 7.0 with the same
memory budget above the server's own empty-server ``used_memory``; both must
give the same qualitative outcome (which class of keys survives, when OOM
starts), not the same counts: used memory is modelled on our side (see
``engine.keyspace.memory``), and eviction samples keys at random on both.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from aof.commands import Command as AofCommand
from aof.commands import is_select
from aof.multipart import AofDirectory
from aof.reader import AofReader
from engine.keyspace.memory import ALLOCATED, SIZEOF, key_usage, value_usage
from engine.types import HashValue, ListValue, SetValue, ZSetValue
from rdbtools.memory import MemoryModel
from tests.engine.conftest import ServerProc, start_ours, start_real

OOM = "command not allowed when used memory > 'maxmemory'."
BUDGET = 600_000  # bytes above the empty server's used_memory
VALUE = b"v" * 100  # ~200 bytes a key on both sides: ~3000 keys fill the budget


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProc]]:
    procs = {"ours": start_ours(tmp_path_factory.mktemp("ev-ours"))}
    try:
        procs["real"] = start_real(tmp_path_factory.mktemp("ev-real"))
    except pytest.skip.Exception:
        pass
    yield procs
    for p in procs.values():
        p.stop()


@pytest.fixture(params=["ours", "real"])
def r(request: pytest.FixtureRequest, servers: dict[str, ServerProc]) -> Iterator[redis.Redis]:
    if request.param not in servers:
        pytest.skip("redis-server is not installed")
    c = servers[request.param].client(socket_timeout=30)
    c.config_set("maxmemory", 0)
    c.flushall()
    c.config_set("maxmemory-samples", 5)
    c.config_set("lazyfree-lazy-eviction", "no")
    c.config_resetstat()
    yield c
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "noeviction")
    c.flushall()
    c.close()


def limit(r: redis.Redis, policy: str, budget: int = BUDGET) -> None:
    r.config_set("maxmemory-policy", policy)
    r.config_set("maxmemory", int(r.info("memory")["used_memory"]) + budget)


def fill(r: redis.Redis, prefix: str, n: int, ex: int | None = None, ignore_oom: bool = False) -> int:
    """SET prefix:0 … prefix:n-1 in small pipelines (a big query buffer counts as used
    memory on the real server); returns how many were refused with OOM."""
    refused = 0
    for start in range(0, n, 100):
        p = r.pipeline(transaction=False)
        for i in range(start, min(n, start + 100)):
            p.set(f"{prefix}:{i}", VALUE, ex=ex)
        for res in p.execute(raise_on_error=False):
            if isinstance(res, redis.ResponseError):
                assert OOM in str(res), res
                refused += 1
                if not ignore_oom:
                    raise res
    return refused


def alive(r: redis.Redis, prefix: str, n: int) -> int:
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.exists(f"{prefix}:{i}")
    return sum(p.execute())


def evicted(r: redis.Redis) -> int:
    return int(r.info("stats")["evicted_keys"])


def settle(r: redis.Redis) -> None:
    """Let an eviction time proc finish (it runs between commands on both servers)."""
    for _ in range(50):
        if int(r.info("memory")["used_memory"]) <= int(r.config_get("maxmemory")["maxmemory"]):
            return
        time.sleep(0.02)


# -- noeviction --------------------------------------------------------------------------

def test_noeviction_refuses_denyoom_writes(r: redis.Redis) -> None:
    limit(r, "noeviction")
    refused = fill(r, "k", 6000, ignore_oom=True)
    assert refused > 0 and evicted(r) == 0
    n = r.dbsize()
    assert 1500 < n < 6000
    with pytest.raises(redis.ResponseError, match="^" + OOM.replace(".", r"\.") + "$"):
        r.set("x", "y")
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        r.rpush("list", "a")
    assert r.get("k:0") == VALUE  # reads are served
    assert r.strlen("k:1") == len(VALUE)
    assert r.delete("k:0", "k:1") == 2  # DEL is not denyoom
    assert r.expire("k:2", 100)  # nor EXPIRE
    # MULTI: a write queued while there was room; then out of memory: any command is
    # refused at queueing time, and EXEC of a transaction holding a write aborts
    r.delete(*[f"k:{i}" for i in range(2, 1000)])
    conn = r.connection_pool.get_connection()
    try:
        conn.send_command("MULTI")
        assert conn.read_response() == b"OK"
        conn.send_command("SET", "queued", "1")
        assert conn.read_response() == b"QUEUED"
        fill(r, "m", 2000, ignore_oom=True)
        conn.send_command("GET", "k:5")
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            conn.read_response()
        conn.send_command("EXEC")
        with pytest.raises(redis.ResponseError,
                           match="^Transaction discarded because of: OOM command not allowed when used "
                                 "memory > 'maxmemory'.$"):
            conn.read_response()
    finally:
        conn.disconnect()
        r.connection_pool.release(conn)
    assert not r.exists("queued")
    assert evicted(r) == 0 and r.dbsize() > 1000


def test_config_set_maxmemory_below_usage(r: redis.Redis) -> None:
    r.config_set("maxmemory-policy", "allkeys-random")
    fill(r, "k", 3000)
    assert r.dbsize() == 3000
    r.config_set("maxmemory", int(r.info("memory")["used_memory"]) - 300_000)
    r.ping()
    settle(r)
    n = r.dbsize()
    assert 300 < n < 2800
    assert evicted(r) == 3000 - n


# -- volatile-* ----------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_volatile_policies_evict_only_keys_with_ttl(r: redis.Redis, policy: str) -> None:
    limit(r, policy)
    fill(r, "p", 1200)  # persistent: ~40% of the budget
    fill(r, "v", 4000, ex=3600)  # volatile: far past the limit
    assert evicted(r) > 0
    assert alive(r, "p", 1200) == 1200
    assert alive(r, "v", 4000) < 4000
    # once no volatile key is left, writes are refused
    refused = fill(r, "q", 4000, ignore_oom=True)
    assert refused > 0
    assert alive(r, "p", 1200) == 1200
    assert alive(r, "v", 4000) == 0
    assert r.get("p:1") == VALUE


def test_volatile_ttl_evicts_the_soonest_expiring_first(r: redis.Redis) -> None:
    limit(r, "volatile-ttl")
    p = r.pipeline(transaction=False)
    for i in range(1000):  # interleaved so insertion order says nothing
        p.set(f"short:{i}", VALUE, ex=1000 + i)
        p.set(f"long:{i}", VALUE, ex=100000 + i)
    p.execute()
    fill(r, "new", 700, ex=200000)
    short, long_ = alive(r, "short", 1000), alive(r, "long", 1000)
    assert short < 900
    assert 1000 - short > 3 * (1000 - long_), (short, long_)


# -- allkeys-* -------------------------------------------------------------------------------

def test_allkeys_lru_keeps_recently_used_keys(r: redis.Redis) -> None:
    limit(r, "allkeys-lru")
    fill(r, "k", 2500)
    assert evicted(r) == 0
    time.sleep(2.1)  # the LRU clock has a 1 s resolution on both servers
    p = r.pipeline(transaction=False)
    for i in range(0, 2500, 5):  # touch 20% of the keys
        p.get(f"k:{i}")
    p.execute()
    fill(r, "n", 1500)
    assert evicted(r) > 300
    touched = sum(r.exists(f"k:{i}") for i in range(0, 2500, 5))
    untouched = alive(r, "k", 2500) - touched
    assert touched >= 0.9 * 500, (touched, untouched)
    assert untouched < 0.8 * 2000, (touched, untouched)


def test_allkeys_lfu_keeps_frequently_used_keys(r: redis.Redis) -> None:
    limit(r, "allkeys-lfu")
    fill(r, "k", 2500)
    p = r.pipeline(transaction=False)
    for _ in range(5):
        for i in range(0, 2500, 5):  # 20% of the keys read 5 times: counter 5 → ≥ 6
            p.get(f"k:{i}")
    p.execute()
    fill(r, "n", 1500)
    assert evicted(r) > 300
    hot = sum(r.exists(f"k:{i}") for i in range(0, 2500, 5))
    assert hot >= 0.9 * 500, hot


@pytest.mark.parametrize("policy", ["allkeys-random", "volatile-random"])
def test_random_policies(r: redis.Redis, policy: str) -> None:
    limit(r, policy)
    fill(r, "p", 1500)
    fill(r, "v", 2500, ex=3600)
    assert evicted(r) > 0
    p_alive, v_alive = alive(r, "p", 1500), alive(r, "v", 2500)
    assert v_alive < 2500
    if policy == "allkeys-random":
        assert p_alive < 1500  # some of both
    else:
        assert p_alive == 1500


# -- propagation -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ours", "real"])
def test_evicted_keys_are_logged_as_del(tmp_path: Path, kind: str) -> None:
    args = ("--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "no",
            "--maxmemory-policy", "allkeys-random")
    proc = (start_ours if kind == "ours" else start_real)(tmp_path, *args)
    try:
        c = proc.client(socket_timeout=30)
        c.config_set("maxmemory", int(c.info("memory")["used_memory"]) + BUDGET)
        fill(c, "k", 4000)
        c.config_set("lazyfree-lazy-eviction", "yes")
        fill(c, "u", 500)
        settle(c)
        time.sleep(0.3)
        n = evicted(c)
        assert n > 0
        d = AofDirectory.open(str(tmp_path / "appendonlydir"))
        cmds = [list(item.argv) for item in AofReader(d.path(d.incrs[-1]))
                if type(item) is AofCommand and not is_select(item.argv)]
        dels = [a for a in cmds if a[0] in (b"DEL", b"UNLINK")]
        assert len(dels) == n
        assert all(len(a) == 2 for a in dels)
        assert not any(a[0] in (b"MULTI", b"EXEC") for a in cmds)  # each its own unit
        assert any(a[0] == b"UNLINK" for a in dels) and any(a[0] == b"DEL" for a in dels)
        assert all(not c.exists(a[1]) for a in dels[-50:])
        sets = sum(1 for a in cmds if a[0] == b"SET")
        if evicted(c) == n:  # (the real server may still be evicting while lazy frees finish)
            assert sets - len(dels) == c.dbsize()
        c.close()
    finally:
        proc.stop()


# -- accounting ----------------------------------------------------------------------------------

def test_used_memory_moves_with_the_dataset(r: redis.Redis) -> None:
    base = int(r.info("memory")["used_memory"])
    fill(r, "k", 5000)
    grown = int(r.info("memory")["used_memory"]) - base
    assert 5000 * 180 < grown < 5000 * 260, grown  # ~210 bytes a key in Redis 7.0
    r.flushall()
    assert int(r.info("memory")["used_memory"]) - base < 100_000


def test_memory_usage_matches_real_redis(servers: dict[str, ServerProc]) -> None:
    if "real" not in servers:
        pytest.skip("redis-server is not installed")
    figures = {}
    for kind in ("ours", "real"):
        c = servers[kind].client()
        c.flushall()
        c.set("s", "abc")
        c.set("raw", "x" * 1000)
        c.set("i", 123456)
        c.hset("h", mapping={f"f{i}": f"v{i}" for i in range(20)})
        c.hset("H", mapping={f"field{i}": "x" * 70 for i in range(600)})
        c.rpush("l", *[f"item-{i}" for i in range(3000)])
        c.sadd("si", *range(200))
        c.sadd("ss", *[f"m{i}" for i in range(1000)])
        c.zadd("z", {f"m{i}": i / 3 for i in range(50)})
        c.zadd("Z", {f"member:{i}": i for i in range(500)})
        c.setrange("sr", 100_000, "x")  # created at its exact size (sdsnewlen)
        figures[kind] = {k: c.memory_usage(k, samples=0) for k in
                         ("s", "raw", "i", "h", "H", "l", "si", "ss", "z", "Z", "sr")}
        c.flushall()
        c.close()
    for k, want in figures["real"].items():
        got = figures["ours"][k]
        assert abs(got - want) <= 0.1 * want, (k, got, want)


def test_value_usage_agrees_with_the_rdb_model() -> None:
    """Fresh values (encodings as a load would pick): the live estimate with every
    element counted equals rdbtools.memory's record model."""
    model = MemoryModel()
    h = HashValue.from_pairs([(b"f%d" % i, b"v%d" % i) for i in range(30)], True)
    big = HashValue.from_pairs([(b"field%d" % i, b"x" * i) for i in range(100)], False)
    lst = ListValue(b"x" * (i % 300) for i in range(2000))
    s = SetValue.from_members([b"%d" % i for i in range(100)], 512)
    ss = SetValue.from_members([b"m%d" % i for i in range(600)], 512)
    z = ZSetValue()
    for i in range(40):
        z.insert(b"m%d" % i, i / 7, 128, 64)
    cases = [("hash", h, list(h.items())), ("hash", big, list(big.items())), ("list", lst, list(lst)),
             ("set", s, list(s)), ("set", ss, list(ss)), ("zset", z, z.pairs())]
    for type_name, live, rec in cases:
        want = model.value_size(type_name, rec)[0]
        assert value_usage(live, 0, -2, SIZEOF) == pytest.approx(want, rel=1e-6), type_name
        # the accounting samples: within a few percent on values like these
        sampled = value_usage(live, 8, -2, ALLOCATED)
        assert sampled == pytest.approx(want, rel=0.25), type_name
    assert key_usage(b"key", b"abc") == 32 + 8 + 24  # embstr block + key sds + dictEntry


def _err(fn) -> str | None:
    try:
        fn()
    except redis.ResponseError as exc:
        return str(exc)
    return None


def test_scripts_under_oom(r: redis.Redis) -> None:
    """scriptVerifyOOM and scriptPrepareForRun's allow-oom check, on both servers."""
    limit(r, "noeviction")
    assert fill(r, "k", 20_000, ignore_oom=True) > 0
    # a plain EVAL may run, but its first denyoom call is refused
    assert OOM in (_err(lambda: r.eval("return redis.call('set', 'x', '1')", 0)) or "")
    assert r.eval("return redis.call('get', 'k:1')", 0) == VALUE
    # a shebang script without allow-oom (and not no-writes) is deny-oom as a command: refused
    # by processCommand before it runs (its declared flags replace EVAL's own)
    assert OOM in (_err(lambda: r.eval("#!lua\nreturn 1", 0)) or "")
    assert r.eval("#!lua flags=no-writes\nreturn 2", 0) == 2
    assert r.eval("#!lua flags=allow-oom\nreturn redis.call('set', 'y', '1')", 0) == b"OK"


def _no_rehash_past_maxmemory(srv: ServerProc) -> tuple[int, int]:
    """unit/maxmemory's "Don't rehash if used memory exceeds maxmemory after rehash": the
    4097th key would grow the main table to 8192 buckets (64 KB) with 10 KB to spare."""
    c = srv.client()
    c.config_set("latency-tracking", "no")
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "allkeys-random")
    p = c.pipeline(transaction=False)
    for i in range(4096):
        p.set(f"key:{i}", "v")
    p.execute()
    c.config_set("maxmemory", c.info("memory")["used_memory"] + 10 * 1024)
    c.set("k1", "v1")
    c.set("k2", "v2")  # evicts if the SET before grew the table
    kept = c.dbsize()
    c.config_set("maxmemory", 0)  # the table grows at the next key once there is room
    c.set("k3", "v3")
    return kept, c.info("stats")["evicted_keys"]


@pytest.mark.differential
def test_no_rehash_past_maxmemory(tmp_path: Path) -> None:
    got = []
    for start, d in ((start_ours, tmp_path / "a"), (start_real, tmp_path / "b")):
        d.mkdir()
        srv = start(d)
        try:
            got.append(_no_rehash_past_maxmemory(srv))
        finally:
            srv.stop()
    assert got[0] == got[1] == (4098, 0)
