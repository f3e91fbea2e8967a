"""Command bodies in C (engine/_bodies.h: HSET, HGET, MSET, MSETNX, SADD, INCR, DECR,
INCRBY, DECRBY, LPUSH, RPUSH) against their Python handlers, in process.

Each case builds the same state on two fresh servers and runs one command through each:
the C body on one, the Python handler (the reference) on the other. Everything the
command can touch must come out equal — the reply or the error, the values (their
encoding, listpack bytes, dict, field TTLs, wide mark), the keys, their TTLs and access
clocks, ``dirty``, the keyspace events published — whether the body takes its common
case or hands the call to Python. The servers run under the module's own switch, so the
pure-Python pass (``RDBKIT_PUREPYTHON=1``) drives the body with the Python listpack
operations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

from aof.replies import NULL3, NULL_BULK, OK, ONE, ZERO, bulk, integer, integer_text
from engine.commands import hashes, lists, sets, strings
from engine.config import config_from_argv
from engine.errors import CommandError
from engine.execution.client import Client
from engine.execution.dispatch import execute
from engine.execution.registry import TABLE
from engine.keyspace import db as keyspace_db
from engine.server.app import Server
from engine.types import HashValue, SetValue
from engine.types.sets import LISTPACK_ENTRIES, LISTPACK_VALUE
from engine.types.strings import parse_int
from rdbtools.encodings.intset_ops import is_add_all
from rdbtools.encodings.listpack_ops import lp_length, lp_pairs_get, lp_pairs_set
from rdbtools.encodings.listpack_set import lps_add
from rdbtools.encodings.quicklist_ops import ql_push
from rdbtools.numbers import incr_text

fast = pytest.importorskip("engine._fastpath", reason="C extension not built (pip install -e .)")


def _run(c: Client, *argv: bytes | str) -> None:
    args = [a if isinstance(a, bytes) else a.encode() for a in argv]
    TABLE.lookup[args[0].lower()].proc(c, args)


def _server(args: list[str]) -> tuple[Client, list[tuple[bytes, bytes]]]:
    srv = Server(config_from_argv(args), clock=lambda: 1_700_000_000_000)  # TTLs set alike
    ks = srv.keyspace  # and LRU clocks: the two servers of a case may straddle a second
    ks.lru_clock = ks.load_clock = 80_000
    for db in ks.dbs:
        db.clock = ks.lru_clock
    events: list[tuple[bytes, bytes]] = []
    srv.keyspace.publish = lambda ch, msg: events.append((ch, msg)) or 0
    return Client(srv), events


def _state(c: Client, events: list) -> tuple:
    db = c.db
    values = {}
    for k, v in db.data.items():
        if isinstance(v, HashValue):
            values[k] = ("hash", v.encoding(), None if v.lp is None else bytes(v.lp), v.ht, v.fx, v.wide)
        elif isinstance(v, SetValue):
            values[k] = ("set", v.encoding(), None if v.is_ is None else bytes(v.is_),
                         None if v.lp is None else bytes(v.lp), v.ht)
        else:
            values[k] = repr(v)
    return (values, list(db.data), dict(db.expires), dict(db.lru), sorted(db.hexpires), db.hits, db.misses,
            c.server.dirty, list(events))  # list(db.data): the keys' order (SCAN, KEYS)


def _outcome(proc: Callable, c: Client, argv: list[bytes]) -> object:
    try:
        return proc(c, argv)
    except CommandError as e:
        return ("error", type(e).__name__, e.reply)


def _lp_unknown_count(c: Client) -> None:
    _run(c, "HSET", "h", "a", "1", "b", "2")
    c.db.data[b"h"].lp[4:6] = b"\xff\xff"  # lpLength walks it (a loaded listpack may say so)


def _expired(c: Client) -> None:
    _run(c, "HSET", "h", "a", "1")
    c.db.expires[b"h"] = 1  # logically expired: lookupKeyWrite deletes it first


# name → (server arguments, setup, the command)
CASES: dict[str, tuple[list[str], Callable[[Client], None], list[str]]] = {
    "update": ([], lambda c: _run(c, "HSET", "h", "element:000000000000", "xxx"),
               ["HSET", "h", "element:000000000000", "yyy"]),
    "same value": ([], lambda c: _run(c, "HSET", "h", "f", "v"), ["HSET", "h", "f", "v"]),
    "new field": ([], lambda c: _run(c, "HSET", "h", "f", "v"), ["HSET", "h", "g", "12345"]),
    "integer field": ([], lambda c: _run(c, "HSET", "h", "7", "-1"), ["HSET", "h", "7", "9223372036854775807"]),
    "new key": ([], lambda c: None, ["HSET", "h", "f", "v"]),
    "wrong type": ([], lambda c: _run(c, "SET", "h", "v"), ["HSET", "h", "f", "v"]),
    "more fields": ([], lambda c: _run(c, "HSET", "h", "f", "v"), ["HSET", "h", "f", "w", "g", "x"]),
    "odd arguments": ([], lambda c: _run(c, "HSET", "h", "f", "v"), ["HSET", "h", "f", "w", "g"]),
    "to hashtable by count": (["--hash-max-listpack-entries", "2"],
                              lambda c: _run(c, "HSET", "h", "a", "1", "b", "2"), ["HSET", "h", "c", "3"]),
    "count at the limit": (["--hash-max-listpack-entries", "2"], lambda c: _run(c, "HSET", "h", "a", "1"),
                           ["HSET", "h", "b", "2"]),
    "value at the limit": (["--hash-max-listpack-value", "8"], lambda c: _run(c, "HSET", "h", "a", "1"),
                           ["HSET", "h", "a", "v" * 8]),
    "value past the limit": (["--hash-max-listpack-value", "8"], lambda c: _run(c, "HSET", "h", "a", "1"),
                             ["HSET", "h", "a", "v" * 9]),
    "field past the limit": (["--hash-max-listpack-value", "8"], lambda c: _run(c, "HSET", "h", "a", "1"),
                             ["HSET", "h", "f" * 9, "1"]),
    "wide listpack": (["--hash-max-listpack-value", "8"], lambda c: _run(c, "HSET", "h", "a", "v" * 20),
                      ["HSET", "h", "b", "2"]),
    "hashtable": (["--hash-max-listpack-entries", "0"], lambda c: _run(c, "HSET", "h", "a", "1"),
                  ["HSET", "h", "a", "2"]),
    "unknown count": ([], _lp_unknown_count, ["HSET", "h", "c", "3"]),
    "key with a ttl": ([], lambda c: (_run(c, "HSET", "h", "a", "1"), _run(c, "EXPIRE", "h", "100")),
                       ["HSET", "h", "a", "2"]),
    "other key with a ttl": ([], lambda c: (_run(c, "HSET", "h", "a", "1"), _run(c, "SET", "s", "v", "EX", "100")),
                             ["HSET", "h", "a", "2"]),
    "expired key": ([], _expired, ["HSET", "h", "a", "2"]),
    "field ttls": ([], lambda c: (_run(c, "HSET", "h", "a", "1", "b", "2"),
                                  _run(c, "HEXPIRE", "h", "100", "FIELDS", "1", "a")), ["HSET", "h", "a", "3"]),
    "listpackex without ttls": ([], lambda c: (_run(c, "HSET", "h", "a", "1"),
                                               _run(c, "HEXPIRE", "h", "100", "FIELDS", "1", "a"),
                                               _run(c, "HPERSIST", "h", "FIELDS", "1", "a")), ["HSET", "h", "b", "2"]),
    "lfu": (["--maxmemory-policy", "allkeys-lfu"], lambda c: _run(c, "HSET", "h", "a", "1"), ["HSET", "h", "a", "2"]),
    "events": (["--notify-keyspace-events", "KEA"], lambda c: _run(c, "HSET", "h", "a", "1"), ["HSET", "h", "a", "2"]),
    "other events": (["--notify-keyspace-events", "Kl"], lambda c: _run(c, "HSET", "h", "a", "1"),
                     ["HSET", "h", "b", "2"]),
    "hget": ([], lambda c: _run(c, "HSET", "h", "element:000000000000", "xxx"), ["HGET", "h", "element:000000000000"]),
    "hget integer": ([], lambda c: _run(c, "HSET", "h", "1", "-100000", "b", "2"), ["HGET", "h", "1"]),
    "hget no field": ([], lambda c: _run(c, "HSET", "h", "a", "1"), ["HGET", "h", "b"]),
    "hget no field resp3": ([], lambda c: (setattr(c, "resp", 3), _run(c, "HSET", "h", "a", "1")), ["HGET", "h", "b"]),
    "hget no key": ([], lambda c: None, ["HGET", "h", "b"]),
    "hget keymiss event": (["--notify-keyspace-events", "Km"], lambda c: None, ["HGET", "h", "b"]),
    "hget hit with events": (["--notify-keyspace-events", "KEA"], lambda c: _run(c, "HSET", "h", "a", "1"),
                             ["HGET", "h", "a"]),
    "hget wrong type": ([], lambda c: _run(c, "SET", "h", "v"), ["HGET", "h", "a"]),
    "hget hashtable": (["--hash-max-listpack-entries", "0"], lambda c: _run(c, "HSET", "h", "a", "1"),
                       ["HGET", "h", "a"]),
    "hget hashtable no field": (["--hash-max-listpack-entries", "0"], lambda c: _run(c, "HSET", "h", "a", "1"),
                                ["HGET", "h", "b"]),
    "hget wide listpack": (["--hash-max-listpack-value", "8"], lambda c: _run(c, "HSET", "h", "a", "v" * 20),
                           ["HGET", "h", "a"]),
    "hget key with a ttl": ([], lambda c: (_run(c, "HSET", "h", "a", "1"), _run(c, "EXPIRE", "h", "100")),
                            ["HGET", "h", "a"]),
    "hget expired key": ([], _expired, ["HGET", "h", "a"]),
    "hget field ttls": ([], lambda c: (_run(c, "HSET", "h", "a", "1", "b", "2"),
                                       _run(c, "HEXPIRE", "h", "100", "FIELDS", "1", "a")), ["HGET", "h", "b"]),
    "hget expired field": ([], lambda c: (_run(c, "HSET", "h", "a", "1", "b", "2"),
                                          _run(c, "HEXPIRE", "h", "100", "FIELDS", "1", "a"),
                                          c.db.data[b"h"].fx.update({b"a": 1})), ["HGET", "h", "a"]),
    "hget lfu": (["--maxmemory-policy", "allkeys-lfu"], lambda c: _run(c, "HSET", "h", "a", "1"), ["HGET", "h", "a"]),
    # redis-benchmark's MSET: one key ten times
    "mset": ([], lambda c: _run(c, "SET", "key:__rand_int__", "xxx"), ["MSET", *["key:__rand_int__", "xxx"] * 10]),
    "mset new keys": ([], lambda c: None, ["MSET", "a", "1", "b", "2", "a", "3"]),
    "mset repeated keys": ([], lambda c: _run(c, "SET", "c", "0"),
                           ["MSET", "a", "1", "b", "2", "b", "3", "c", "4", "a", "5", "a", "6", "d", "7", "d", "8"]),
    "mset other types": ([], lambda c: (_run(c, "HSET", "h", "a", "1"), _run(c, "RPUSH", "l", "x")),
                         ["MSET", "h", "1", "l", "2", "s", "3"]),
    "mset field ttls": ([], lambda c: (_run(c, "HSET", "h", "a", "1"), _run(c, "HEXPIRE", "h", "100", "FIELDS", "1", "a")),
                        ["MSET", "h", "v"]),
    "mset key with a ttl": ([], lambda c: (_run(c, "SET", "a", "1"), _run(c, "SET", "b", "2", "EX", "100")),
                            ["MSET", "a", "x", "b", "y"]),
    "mset other key with a ttl": ([], lambda c: _run(c, "SET", "s", "v", "EX", "100"), ["MSET", "a", "s", "b", "y"]),
    "mset expired key": ([], lambda c: (_run(c, "SET", "a", "1"), c.db.expires.update({b"a": 1})),
                         ["MSET", "b", "x", "a", "y"]),
    "mset lfu": (["--maxmemory-policy", "allkeys-lfu"], lambda c: _run(c, "SET", "a", "1"), ["MSET", "a", "2", "b", "3"]),
    "mset events": (["--notify-keyspace-events", "KEA"], lambda c: _run(c, "SET", "a", "1"), ["MSET", "a", "2", "b", "3"]),
    "mset other events": (["--notify-keyspace-events", "Kl"], lambda c: None, ["MSET", "a", "2"]),
    "mset odd arguments": ([], lambda c: None, ["MSET", "a", "1", "b"]),
    "mset no value": ([], lambda c: None, ["MSET", "a"]),
    "msetnx": ([], lambda c: _run(c, "SET", "x", "1"), ["MSETNX", "a", "1", "b", "2", "a", "3"]),
    "msetnx existing key": ([], lambda c: _run(c, "SET", "b", "1"), ["MSETNX", "a", "1", "b", "2", "c", "3"]),
    "msetnx expired key": ([], lambda c: (_run(c, "SET", "b", "1"), c.db.expires.update({b"b": 1})),
                           ["MSETNX", "a", "1", "b", "2"]),
    "msetnx key with a ttl": ([], lambda c: _run(c, "SET", "b", "1", "EX", "100"), ["MSETNX", "a", "1", "b", "2"]),
    "msetnx lfu": (["--maxmemory-policy", "allkeys-lfu"], lambda c: _run(c, "SET", "b", "1"), ["MSETNX", "a", "1"]),
    "msetnx events": (["--notify-keyspace-events", "KEA"], lambda c: None, ["MSETNX", "a", "1"]),
    "msetnx odd arguments": ([], lambda c: None, ["MSETNX", "a", "1", "b"]),
}


def _members(n: int, width: int = 3) -> list[str]:
    return [f"m{i:0{width}}" for i in range(n)]


# SADD: redis-benchmark's (one member, there already), the listpack's limits, the
# intset's conversions, the hashtable, and every case the body leaves to sadd_cmd
E = "element:__rand_int__"
SADD_CASES: dict[str, tuple[list[str], Callable[[Client], None], list[str]]] = {
    "sadd": ([], lambda c: _run(c, "SADD", "s", E), ["SADD", "s", E]),
    "sadd new member": ([], lambda c: _run(c, "SADD", "s", E), ["SADD", "s", "x"]),
    "sadd members": ([], lambda c: _run(c, "SADD", "s", E), ["SADD", "s", "x", E, "y", "x", "7"]),
    "sadd at the count limit": ([], lambda c: _run(c, "SADD", "s", *_members(LISTPACK_ENTRIES - 2)),
                                ["SADD", "s", "a", "b"]),
    "sadd past the count limit": ([], lambda c: _run(c, "SADD", "s", *_members(LISTPACK_ENTRIES - 1)),
                                  ["SADD", "s", "a", "b"]),
    "sadd there at the count limit": ([], lambda c: _run(c, "SADD", "s", *_members(LISTPACK_ENTRIES)),
                                      ["SADD", "s", "m005"]),
    "sadd value at the limit": ([], lambda c: _run(c, "SADD", "s", "a"), ["SADD", "s", "v" * LISTPACK_VALUE]),
    "sadd value past the limit": ([], lambda c: _run(c, "SADD", "s", "a"), ["SADD", "s", "v" * (LISTPACK_VALUE + 1)]),
    "sadd unknown count": ([], lambda c: (_run(c, "SADD", "s", "a", "b"),
                                          c.db.data[b"s"].lp.__setitem__(slice(4, 6), b"\xff\xff")),
                           ["SADD", "s", "c"]),
    "sadd intset": ([], lambda c: _run(c, "SADD", "s", "1", "2"), ["SADD", "s", "2"]),
    "sadd intset new": ([], lambda c: _run(c, "SADD", "s", "1", "2"), ["SADD", "s", "-5", "70000", "2"]),
    "sadd intset to listpack": ([], lambda c: _run(c, "SADD", "s", "1", "2"), ["SADD", "s", "3", "x", "4"]),
    "sadd intset to hashtable": ([], lambda c: _run(c, "SADD", "s", "1", "2"), ["SADD", "s", "3", "x" * 65]),
    "sadd intset past its entries": (["--set-max-intset-entries", "2"], lambda c: _run(c, "SADD", "s", "1", "2"),
                                     ["SADD", "s", "3", "4"]),
    "sadd hashtable": ([], lambda c: _run(c, "SADD", "s", "x" * 65, "a"), ["SADD", "s", "a"]),
    "sadd hashtable new": ([], lambda c: _run(c, "SADD", "s", "x" * 65, "a"), ["SADD", "s", "b", "a", "b", "c"]),
    "sadd new key": ([], lambda c: None, ["SADD", "s", E]),
    "sadd new intset key": ([], lambda c: None, ["SADD", "s", "1", "x"]),
    "sadd wrong type": ([], lambda c: _run(c, "SET", "s", "v"), ["SADD", "s", E]),
    "sadd no member": ([], lambda c: _run(c, "SADD", "s", E), ["SADD", "s"]),
    "sadd key with a ttl": ([], lambda c: (_run(c, "SADD", "s", E), _run(c, "EXPIRE", "s", "100")), ["SADD", "s", "x"]),
    "sadd other key with a ttl": ([], lambda c: (_run(c, "SADD", "s", E), _run(c, "SET", "k", "v", "EX", "100")),
                                  ["SADD", "s", E]),
    "sadd expired key": ([], lambda c: (_run(c, "SADD", "s", E), c.db.expires.update({b"s": 1})), ["SADD", "s", E]),
    "sadd lfu": (["--maxmemory-policy", "allkeys-lfu"], lambda c: _run(c, "SADD", "s", E), ["SADD", "s", E]),
    "sadd events": (["--notify-keyspace-events", "KEA"], lambda c: _run(c, "SADD", "s", E), ["SADD", "s", "x"]),
    "sadd other events": (["--notify-keyspace-events", "Kh"], lambda c: _run(c, "SADD", "s", E), ["SADD", "s", "x"]),
}
CASES.update(SADD_CASES)


def _counter(value: str) -> Callable[[Client], None]:
    return lambda c: _run(c, "SET", "n", value)


# INCR, DECR, INCRBY, DECRBY: redis-benchmark's (one counter, there), the int64 edges,
# the texts string2ll refuses, and every case the body leaves to _incr
INCR_CASES: dict[str, tuple[list[str], Callable[[Client], None], list[str]]] = {
    "incr": ([], lambda c: _run(c, "INCR", "counter:__rand_int__"), ["INCR", "counter:__rand_int__"]),
    "incr negative": ([], _counter("-1"), ["INCR", "n"]),
    "incr to a long text": ([], _counter("99999999999999999"), ["INCR", "n"]),
    "incr at the maximum": ([], _counter("9223372036854775806"), ["INCR", "n"]),
    "incr overflow": ([], _counter("9223372036854775807"), ["INCR", "n"]),
    "decr underflow": ([], _counter("-9223372036854775808"), ["DECR", "n"]),
    "incr not an integer": ([], _counter("abc"), ["INCR", "n"]),
    "incr leading zero": ([], _counter("01"), ["INCR", "n"]),
    "incr plus sign": ([], _counter("+1"), ["INCR", "n"]),
    "incr space": ([], _counter(" 1"), ["INCR", "n"]),
    "incr minus zero": ([], _counter("-0"), ["INCR", "n"]),
    "incr empty": ([], _counter(""), ["INCR", "n"]),
    "incr float": ([], _counter("1.0"), ["INCR", "n"]),
    "incr after incrbyfloat": ([], lambda c: _run(c, "INCRBYFLOAT", "n", "3"), ["INCR", "n"]),
    "incr after append": ([], lambda c: (_run(c, "SET", "n", "1"), _run(c, "APPEND", "n", "2")), ["INCR", "n"]),
    "incr after setrange": ([], lambda c: (_run(c, "SET", "n", "10"), _run(c, "SETRANGE", "n", "1", "5")),
                            ["INCR", "n"]),
    "incr new key": ([], lambda c: None, ["INCR", "n"]),
    "incr wrong type": ([], lambda c: _run(c, "SADD", "n", "1"), ["INCR", "n"]),
    "incr key with a ttl": ([], lambda c: (_counter("5")(c), _run(c, "EXPIRE", "n", "100")), ["INCR", "n"]),
    "incr other key with a ttl": ([], lambda c: (_counter("5")(c), _run(c, "SET", "s", "v", "EX", "100")),
                                  ["INCR", "n"]),
    "incr expired key": ([], lambda c: (_counter("5")(c), c.db.expires.update({b"n": 1})), ["INCR", "n"]),
    "incr lfu": (["--maxmemory-policy", "allkeys-lfu"], _counter("5"), ["INCR", "n"]),
    "incr events": (["--notify-keyspace-events", "KEA"], _counter("5"), ["INCR", "n"]),
    "incr other events": (["--notify-keyspace-events", "Kl"], _counter("5"), ["INCR", "n"]),
    "incr more arguments": ([], _counter("5"), ["INCR", "n", "x"]),
    "decr": ([], _counter("0"), ["DECR", "n"]),
    "decr new key": ([], lambda c: None, ["DECR", "n"]),
    "incrby": ([], _counter("5"), ["INCRBY", "n", "-9223372036854775808"]),
    "incrby overflow": ([], _counter("1"), ["INCRBY", "n", "9223372036854775807"]),
    "incrby not an integer": ([], _counter("5"), ["INCRBY", "n", "1x"]),
    "incrby out of range": ([], _counter("5"), ["INCRBY", "n", "9223372036854775808"]),
    "incrby new key": ([], lambda c: None, ["INCRBY", "n", "7"]),
    "decrby": ([], _counter("5"), ["DECRBY", "n", "-9223372036854775807"]),
    "decrby long min": ([], _counter("5"), ["DECRBY", "n", "-9223372036854775808"]),
    "decrby underflow": ([], _counter("-2"), ["DECRBY", "n", "9223372036854775807"]),
    "decrby not an integer": ([], _counter("5"), ["DECRBY", "n", ""]),
}
CASES.update(INCR_CASES)
HANDLERS: dict[str, Callable] = {"hset": hashes.hset_cmd, "hget": hashes.hget_cmd, "mset": strings.mset_cmd,
                                 "msetnx": strings.msetnx_cmd, "sadd": sets.sadd_cmd, "incr": strings.incr_cmd,
                                 "decr": strings.decr_cmd, "incrby": strings.incrby_cmd, "decrby": strings.decrby_cmd}
_INCR_HANDLERS = (strings.incr_cmd, strings.decr_cmd, strings.incrby_cmd, strings.decrby_cmd)


def _configure() -> None:
    fast.configure_bodies(HashValue, hashes.hset_cmd, hashes.hget_cmd, ONE, ZERO, NULL_BULK, NULL3, bulk,
                          lp_pairs_set, lp_pairs_get, lp_length)
    fast.configure_strings(strings.mset_cmd, strings.msetnx_cmd, OK, ONE)
    fast.configure_sets(SetValue, sets.sadd_cmd, ZERO, ONE, integer, is_add_all, lps_add, lp_length, LISTPACK_ENTRIES,
                        LISTPACK_VALUE)
    fast.configure_incr(*_INCR_HANDLERS, incr_text, integer_text, parse_int)
    fast.configure_lists(lists.ListValue, lists.lpush_cmd, lists.rpush_cmd, ql_push, integer)


@pytest.fixture(autouse=True)
def configured() -> Iterator[None]:
    """The bodies configured with what hashes.py, strings.py and sets.py would give
    them (the listpack operations and replies of the pass: C, or the Python ones under
    RDBKIT_PUREPYTHON), and so again afterwards for the tests that follow."""
    _configure()
    yield
    _configure()


def _compare(case: tuple[list[str], Callable[[Client], None], list[str]], handlers: dict[str, Callable],
             state: Callable[[Client, list], tuple]) -> None:
    """The case run by the C body and by the handler on equal fresh states: equal outcomes."""
    args, setup, argv = case
    results = []
    cmd = argv[0].lower()
    for proc in (getattr(fast, cmd), handlers[cmd]):
        c, events = _server(args)
        setup(c)
        c.db.clock += 7  # an access clock that moved since: the touch shows
        del events[:]
        reply = _outcome(proc, c, [a.encode() for a in argv])
        results.append((reply, state(c, events)))
    assert results[0] == results[1]


@pytest.mark.parametrize("name", sorted(CASES))
def test_body_equals_handler(name: str) -> None:
    _compare(CASES[name], HANDLERS, _state)


@pytest.mark.parametrize("cmd", sorted(HANDLERS))
def test_body_is_the_command(cmd: str) -> None:
    """With the accelerator in use, the command runs the C body; under RDBKIT_PUREPYTHON,
    its handler."""
    handler = HANDLERS[cmd]
    assert TABLE.commands[cmd].proc is (handler if hashes.c_module("engine._fastpath") is None else getattr(fast, cmd))


def test_common_cases_do_what_the_commands_do() -> None:
    """The common cases themselves: the value replaced in the listpack, the key's access
    clock, the keyspace hit, dirty, the reply (the comparison above shows a difference
    only where the handler does something; this pins what both must do)."""
    c, events = _server([])
    _run(c, "HSET", "h", "f", "v")
    c.db.clock += 5
    dirty = c.server.dirty
    assert fast.hset(c, [b"HSET", b"h", b"f", b"123"]) == ZERO
    assert fast.hset(c, [b"HSET", b"h", b"g", b"w"]) == ONE
    assert c.db.data[b"h"].flat() == [b"f", b"123", b"g", b"w"]
    assert c.db.lru[b"h"] == c.db.clock and c.server.dirty == dirty + 2 and not events
    c.db.clock += 5
    assert fast.hget(c, [b"HGET", b"h", b"f"]) == b"$3\r\n123\r\n" and c.db.hits == 1
    assert fast.hget(c, [b"HGET", b"h", b"x"]) == NULL_BULK and c.db.hits == 2 and c.db.misses == 0
    assert c.db.lru[b"h"] == c.db.clock
    c.db.clock += 5
    dirty = c.server.dirty
    assert fast.mset(c, [b"MSET", b"h", b"v", b"k", b"1", b"k", b"2"]) == OK
    assert c.db.data[b"h"] == b"v" and c.db.data[b"k"] == b"2" and c.db.lru[b"k"] == c.db.lru[b"h"] == c.db.clock
    assert c.server.dirty == dirty + 3
    assert fast.msetnx(c, [b"MSETNX", b"n", b"1", b"m", b"2"]) == ONE and c.db.data[b"m"] == b"2"
    assert fast.msetnx(c, [b"MSETNX", b"o", b"1", b"m", b"3"]) == ZERO and c.db.data[b"m"] == b"2"
    assert c.server.dirty == dirty + 5 and not events


def test_sadd_common_cases() -> None:
    """SADD's own: a member there changes only the access clock (no dirty, no hit);
    new ones are added in place, counted in dirty and the reply — by the body alone
    (a handler that refuses shows it is not asked), in the listpack, the intset, the
    hashtable."""

    def refuse(c: Client, argv: list[bytes]) -> bytes:
        raise AssertionError(argv)

    c, events = _server([])
    _run(c, "SADD", "s", E)
    _run(c, "SADD", "i", "1")
    _run(c, "SADD", "h", "x" * 65)
    fast.configure_sets(SetValue, refuse, ZERO, ONE, integer, is_add_all, lps_add, lp_length, LISTPACK_ENTRIES,
                        LISTPACK_VALUE)
    s = c.db.data[b"s"]
    lp = s.lp
    c.db.clock += 5
    dirty = c.server.dirty
    assert fast.sadd(c, [b"SADD", b"s", E.encode()]) == ZERO
    assert c.db.lru[b"s"] == c.db.clock and c.server.dirty == dirty and c.db.hits == 0
    assert fast.sadd(c, [b"SADD", b"s", b"a", b"b", b"a"]) == integer(2)
    assert c.db.data[b"s"] is s and s.lp is lp and s.members() == [E.encode(), b"a", b"b"]
    assert c.server.dirty == dirty + 2 and not events
    assert fast.sadd(c, [b"SADD", b"i", b"1", b"3", b"2"]) == integer(2) and c.db.data[b"i"].members() == [b"1", b"2", b"3"]
    assert fast.sadd(c, [b"SADD", b"h", b"a", b"a"]) == ONE and c.db.data[b"h"].ht == {b"x" * 65, b"a"}


def test_incr_common_cases() -> None:
    """INCR's own: the new value stored as bytes in the key's place, its access clock,
    dirty, the integer reply — by the body alone (handlers that refuse show they are not
    asked), for each of the four commands; a TTL, or a value that is no integer, still
    goes to the handler."""

    def refuse(c: Client, argv: list[bytes]) -> bytes:
        raise AssertionError(argv)

    c, events = _server([])
    _run(c, "SET", "a", "1")
    _run(c, "SET", "n", "41")
    _run(c, "SET", "z", "1")
    fast.configure_incr(refuse, refuse, refuse, refuse, incr_text, integer_text, parse_int)
    c.db.clock += 5
    dirty = c.server.dirty
    assert fast.incr(c, [b"INCR", b"n"]) == b":42\r\n"
    assert fast.decr(c, [b"DECR", b"n"]) == b":41\r\n"
    assert fast.incrby(c, [b"INCRBY", b"n", b"-100"]) == b":-59\r\n"
    assert fast.decrby(c, [b"DECRBY", b"n", b"-9223372036854775807"]) == b":9223372036854775748\r\n"
    assert c.db.data[b"n"] == b"9223372036854775748" and type(c.db.data[b"n"]) is bytes
    assert list(c.db.data) == [b"a", b"n", b"z"] and c.db.lru[b"n"] == c.db.clock != c.db.lru[b"a"]
    assert c.server.dirty == dirty + 4 and c.db.hits == 0 and not events
    _run(c, "SET", "n", "x")
    _run(c, "EXPIRE", "a", "100")
    for argv in ([b"INCR", b"n"], [b"INCR", b"a"], [b"INCR", b"new"], [b"INCRBY", b"z", b"9223372036854775807"]):
        with pytest.raises(AssertionError):
            fast.incr(c, argv) if argv[0] == b"INCR" else fast.incrby(c, argv)


class _Wire:
    """A client's transport that keeps what is written to it (tracking invalidations)."""

    def __init__(self) -> None:
        self.out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)


def _through_the_dispatcher(monkeypatch: pytest.MonkeyPatch, procs: dict[str, Callable], first: list[str]) -> tuple:
    """INCR and kin sent through the dispatcher (execute, as the connections do) with
    the given procs installed: the replies, what was propagated, what a tracking client
    received, the values and dirty. WATCH, MULTI/EXEC, propagation and tracking are the
    dispatcher's, after the body or the handler; the two must give it the same."""
    for name, proc in procs.items():
        monkeypatch.setattr(TABLE.commands[name], "proc", proc)
    # the LRU clock (whole seconds of time.monotonic, read again by CONFIG SET) held still:
    # the two runs must not straddle a second
    monkeypatch.setattr(keyspace_db, "time", SimpleNamespace(monotonic=lambda: 80_000.0, time=time.time,
                                                             perf_counter_ns=time.perf_counter_ns))
    srv = Server(config_from_argv(["--save", ""]), clock=lambda: 1_700_000_000_000)
    units: list = []
    srv.propagator.targets.append(units.append)
    a, b, t = Client(srv), Client(srv), Client(srv)
    t.transport = _Wire()  # type: ignore[assignment]
    srv.clients[t.id] = t  # connection_made's registration: tracking finds it by id
    script = [(a, line) for line in first] + [(a, "SET n 10"), (t, "HELLO 3"), (t, "CLIENT TRACKING ON"), (t, "GET n"), (a, "WATCH n"),
              (b, "INCR n"), (a, "MULTI"), (a, "INCR n"), (a, "EXEC"), (t, "GET n"), (a, "WATCH n"), (a, "MULTI"),
              (a, "INCR n"), (a, "DECRBY n 3"), (a, "INCRBY n x"), (a, "EXEC"), (b, "DECR n"), (b, "INCRBY n -7"),
              (b, "INCR fresh"), (b, "SET s abc"), (b, "INCR s"), (b, "OBJECT ENCODING n"), (b, "OBJECT IDLETIME n")]
    replies = []
    for c, line in script:
        try:
            replies.append(execute(c, [w.encode() for w in line.split()]))
        except CommandError as e:
            replies.append(e.reply)
    mem = a.db.mem
    return (replies, units, t.transport.out, dict(a.db.data), dict(a.db.lru), srv.dirty,
            None if mem is None else (mem.sizes, mem.keys))


@pytest.mark.parametrize("first", [[], ["CONFIG SET maxmemory 100mb"]], ids=["plain", "maxmemory"])
def test_incr_through_the_dispatcher(monkeypatch: pytest.MonkeyPatch, first: list[str]) -> None:
    """... and, under maxmemory, the keys' memory estimates."""
    names = ("incr", "decr", "incrby", "decrby")
    body = _through_the_dispatcher(monkeypatch, {n: getattr(fast, n) for n in names}, first)
    handler = _through_the_dispatcher(monkeypatch, dict(zip(names, _INCR_HANDLERS)), first)
    assert body == handler
    replies, units, pushed = body[0][len(first):], body[1], body[2]
    # the WATCHed EXEC refused, the next one run; INCR logged as sent; invalidations pushed
    assert replies[8] == b"*-1\r\n" and replies[15].startswith(b"*3\r\n:12\r\n:9\r\n-ERR")
    assert [b"INCR", b"n"] in [argv for unit in units for _, argv in unit] and len(pushed) == 2
    assert (body[-1] is None) == (not first) and (not first or b"n" in body[-1][0])


# -- LPUSH, RPUSH ---------------------------------------------------------------------


def _list_state(c: Client, events: list) -> tuple:
    """What a push can touch: the lists' nodes (their bytes, plain and compressed ones as
    they are), counts and options, the other values, keys, TTLs, clocks, dirty, events."""
    values = {}
    for k, v in c.db.data.items():
        if isinstance(v, lists.ListValue):
            nodes = [bytes(n) if isinstance(n, bytearray) else n for n in v.nodes]
            values[k] = ("list", v.encoding(), nodes, v.count, v.fill, v.compress)
        else:  # the cases' other values: a string, a hash left alone
            values[k] = v if isinstance(v, bytes) else (type(v).__name__, v.encoding(), v.flat())
    return (values, list(c.db.data), dict(c.db.expires), dict(c.db.lru), c.db.hits, c.db.misses, c.server.dirty,
            list(events))


def _unknown_count(c: Client) -> None:
    _run(c, "RPUSH", "l", "a", "b")
    c.db.data[b"l"].nodes[0][4:6] = b"\xff\xff"  # a loaded node may not say its count


def _list_expired(c: Client) -> None:
    _run(c, "RPUSH", "l", "a")
    c.db.expires[b"l"] = 1


def _bench_list(c: Client) -> None:
    _run(c, "RPUSH", "l", *["xxx"] * 3000)  # several nodes, a count past the cached replies


# name → (server arguments, setup, the command)
PUSH_CASES: dict[str, tuple[list[str], Callable[[Client], None], list[str]]] = {
    "lpush": ([], _bench_list, ["LPUSH", "l", "xxx"]),  # redis-benchmark's LPUSH mylist xxx
    "rpush": ([], _bench_list, ["RPUSH", "l", "xxx"]),
    "lpush small list": ([], lambda c: _run(c, "RPUSH", "l", "a"), ["LPUSH", "l", "b"]),
    "rpush integers": ([], lambda c: _run(c, "RPUSH", "l", "a"), ["RPUSH", "l", "12345", "-1", "9223372036854775808"]),
    "lpush several": ([], lambda c: _run(c, "RPUSH", "l", "a"), ["LPUSH", "l", "b", "c", "d"]),
    "lpush new node by count": (["--list-max-listpack-size", "2"], lambda c: _run(c, "RPUSH", "l", "a", "b"),
                                ["LPUSH", "l", "c", "d", "e"]),
    "rpush new node by count": (["--list-max-listpack-size", "2"], lambda c: _run(c, "RPUSH", "l", "a"),
                                ["RPUSH", "l", "c", "d", "e"]),
    "rpush new node by size": (["--list-max-listpack-size", "-1"], lambda c: _run(c, "RPUSH", "l", "v" * 4000),
                               ["RPUSH", "l", "w" * 100]),
    "lpush large element": (["--list-max-listpack-size", "-1"], lambda c: _run(c, "RPUSH", "l", "a"),
                            ["LPUSH", "l", "v" * 5000, "b"]),
    "rpush unknown count": (["--list-max-listpack-size", "3"], _unknown_count, ["RPUSH", "l", "c", "d"]),
    "lpush compressed": (["--list-compress-depth", "1", "--list-max-listpack-size", "2"],
                         lambda c: _run(c, "RPUSH", "l", *["element"] * 20), ["LPUSH", "l", "x", "y", "z"]),
    "rpush compressed": (["--list-compress-depth", "1", "--list-max-listpack-size", "2"],
                         lambda c: _run(c, "RPUSH", "l", *["element"] * 20), ["RPUSH", "l", "x", "y", "z"]),
    "lpush new key": ([], lambda c: None, ["LPUSH", "l", "a", "b"]),
    "rpush new key": ([], lambda c: None, ["RPUSH", "l", "a"]),
    "lpush wrong type": ([], lambda c: _run(c, "SET", "l", "v"), ["LPUSH", "l", "a"]),
    "rpush wrong type": ([], lambda c: _run(c, "HSET", "l", "f", "v"), ["RPUSH", "l", "a"]),
    "lpush key with a ttl": ([], lambda c: (_run(c, "RPUSH", "l", "a"), _run(c, "EXPIRE", "l", "100")),
                             ["LPUSH", "l", "b"]),
    "rpush other key with a ttl": ([], lambda c: (_run(c, "RPUSH", "l", "a"), _run(c, "SET", "s", "v", "EX", "100")),
                                   ["RPUSH", "l", "b"]),
    "lpush expired key": ([], _list_expired, ["LPUSH", "l", "b"]),
    "rpush lfu": (["--maxmemory-policy", "allkeys-lfu"], lambda c: _run(c, "RPUSH", "l", "a"), ["RPUSH", "l", "b"]),
    "lpush events": (["--notify-keyspace-events", "KEA"], lambda c: _run(c, "RPUSH", "l", "a"), ["LPUSH", "l", "b"]),
    "rpush other events": (["--notify-keyspace-events", "Kh"], lambda c: _run(c, "RPUSH", "l", "a"),
                           ["RPUSH", "l", "b"]),
}
PUSHERS: dict[str, Callable] = {"lpush": lists.lpush_cmd, "rpush": lists.rpush_cmd}


def _configure_lists() -> None:
    fast.configure_lists(lists.ListValue, lists.lpush_cmd, lists.rpush_cmd, ql_push, integer)


@pytest.mark.parametrize("name", sorted(PUSH_CASES))
def test_push_body_equals_handler(name: str) -> None:
    _configure_lists()
    _compare(PUSH_CASES[name], PUSHERS, _list_state)


@pytest.mark.parametrize("cmd", sorted(PUSHERS))
def test_push_body_is_the_command(cmd: str) -> None:
    assert TABLE.commands[cmd].proc is (PUSHERS[cmd] if lists.c_module("engine._fastpath") is None
                                        else getattr(fast, cmd))


def test_push_common_case() -> None:
    """The common case itself, in C (the handlers given to the body refuse to run): the
    elements in the node, the access clock, dirty, the new length; nothing published."""
    c, events = _server([])
    _run(c, "RPUSH", "l", "a")

    def refuse(c: Client, argv: list[bytes]) -> bytes:
        raise AssertionError("the common case went to the handler")

    fast.configure_lists(lists.ListValue, refuse, refuse, ql_push, integer)
    try:
        c.db.clock += 5
        dirty = c.server.dirty
        assert fast.lpush(c, [b"LPUSH", b"l", b"b", b"c"]) == b":3\r\n"
        assert fast.rpush(c, [b"RPUSH", b"l", b"d"]) == b":4\r\n"
        lst = c.db.data[b"l"]
        assert list(lst) == [b"c", b"b", b"a", b"d"] and lst.count == 4 and len(lst.nodes) == 1
        assert c.db.lru[b"l"] == c.db.clock and c.server.dirty == dirty + 3 and not events
    finally:
        _configure_lists()
