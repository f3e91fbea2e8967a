"""Streams against a real redis-server 7.0: every command and error, blocking reads,
propagation forms, persistence round-trips, and a hypothesis stateful run.

Replies are compared raw (RESP2 and RESP3). Values that depend on the clock
(delivery times, seen-times, idle times, ``*`` IDs) are normalised by
:func:`_norm` or avoided by using explicit IDs and ``TIME``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

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

from tests.engine.conftest import ROOT, ServerProc, start_ours, start_real
from tests.engine.differential import run

pytestmark = pytest.mark.differential

_TIME_KEYS = {b"seen-time", b"idle"}


def _norm(argv: list[Any], res: tuple[str, Any]) -> Any:
    """Clock-dependent numbers become markers; everything else is compared as is."""
    kind, v = res
    if kind == "err":
        return res
    name = argv[0].lower() if isinstance(argv[0], bytes) else str(argv[0]).lower().encode()
    sub = argv[1].lower() if len(argv) > 1 and isinstance(argv[1], bytes) else b""
    if name == b"xpending" and isinstance(v, list) and len(argv) > 3:
        return ("ok", [[r[0], r[1], "t", r[3]] if isinstance(r, list) and len(r) == 4 else r for r in v])
    if name == b"xinfo" and sub in (b"stream", b"consumers"):
        return ("ok", _strip_times(v, sub == b"stream"))
    return res


def _strip_times(v: Any, nack_times: bool) -> Any:
    if isinstance(v, dict):
        return {k: ("t" if k in _TIME_KEYS else _strip_times(x, nack_times)) for k, x in v.items()}
    if isinstance(v, list):
        # RESP2 maps are flat lists: key, value, key, value ...
        out: list[Any] = []
        skip = False
        for j, x in enumerate(v):
            if skip:
                skip = False
                out.append("t")
                continue
            if isinstance(x, bytes) and x in _TIME_KEYS and j % 2 == 0:
                out.append(x)
                skip = True
                continue
            out.append(_strip_times(x, nack_times))
        # PEL rows: [id, consumer, delivery-time, count] and consumer rows [id, time, count]
        if nack_times and len(out) in (3, 4) and isinstance(out[0], bytes) and b"-" in out[0] \
                and all(isinstance(x, int) for x in out[-2:]):
            out[-2] = "t"
        return out
    return v


def check(pair: tuple[redis.Redis, redis.Redis], *cmds: list[Any]) -> None:
    ours, real = pair
    for argv in cmds:
        argv = [a.encode() if isinstance(a, str) else a for a in argv]
        a = _norm(argv, run(ours, argv))
        b = _norm(argv, run(real, argv))
        assert a == b, f"{argv!r}: ours {a!r} != real {b!r}"


def C(line: str) -> list[bytes]:
    return [x.encode() for x in line.split()]


# -- XADD / XLEN / XRANGE ----------------------------------------------------------------

def test_xadd_ids_and_errors(pair):
    check(pair, *map(C, [
        "XADD s 1-1 a 1", "XADD s 1-1 a 1", "XADD s 1-0 a 1", "XADD s 1 a 1", "XADD s 1-* b 2",
        "XADD s 1-* c 3", "XADD s 2-* x y", "XADD s 0-0 a 1", "XADD s2 0-0 a 1", "XADD s2 0 a 1",
        "XADD s2 0-* a 1", "XADD s2 0-* a 1", "XADD s 3-5 a", "XADD s 3-5 a b c", "XADD s",
        "XADD s 3-x a b", "XADD s -1 a b", "XADD s + a b", "XADD s - a b", "XADD s 18446744073709551616 a b",
        "XADD s 007-1 a b", "XADD s 10-0x a b", "XADD s 11-+3 a b", "XADD s 12--3 a b",
        "XADD s 18446744073709551615-18446744073709551615 a b", "XADD s 18446744073709551615-* a b",
        "XADD s * a b", "XLEN s", "XLEN nokey", "XRANGE s - +", "XREVRANGE s + -",
        "XADD s NOMKSTREAM 99999999999999-1 a b", "XADD nokey NOMKSTREAM 1-1 a b", "EXISTS nokey",
        "XADD s MAXLEN 2 MINID 1 * a b", "XADD s LIMIT 5 * a b", "XADD s MAXLEN ~ 1 LIMIT 5 NOMKSTREAM * a b",
        "XADD s MAXLEN -1 * a b", "XADD s MAXLEN x * a b", "XADD s MAXLEN 1 LIMIT 2 * a b",
        "XADD s MAXLEN ~ 1 LIMIT -1 * a b", "XADD s MINID - * a b", "XADD s MINID = x * a b",
        "SET str x", "XADD str * a b", "XLEN str", "XRANGE str - +", "XADD str NOMKSTREAM * a b",
    ]))


def test_xadd_auto_ids_shape(pair):
    for r in pair:
        ids = [r.execute_command("XADD", "auto", "*", "f", "v") for _ in range(5)]
        assert len(set(ids)) == 5 and ids == sorted(ids, key=lambda b: tuple(map(int, b.split(b"-"))))
        ms = int(ids[0].split(b"-")[0])
        assert abs(ms - time.time() * 1000) < 10_000
        r.execute_command("XADD", "future", "99999999999999-5", "f", "v")
        assert r.execute_command("XADD", "future", "*", "f", "v") == b"99999999999999-6"


def test_xrange_bounds_and_count(pair):
    setup = [f"XADD r {i}-{j} f{i} v{j}" for i in range(1, 5) for j in range(3)]
    check(pair, *map(C, setup + [
        "XRANGE r - +", "XRANGE r 2 3", "XRANGE r (2-0 (3-2", "XRANGE r (2 +", "XRANGE r - (1",
        "XRANGE r 2-1 2-1", "XRANGE r 3 2", "XRANGE r - + COUNT 2", "XRANGE r - + COUNT 0",
        "XRANGE r - + COUNT -1", "XRANGE r - + COUNT x", "XRANGE r - + COUNT", "XRANGE r - + FOO 1",
        "XREVRANGE r + - COUNT 3", "XREVRANGE r (3-1 (1-2", "XREVRANGE r 2 3", "XRANGE r x +",
        "XRANGE r ( +", "XRANGE r (- +", "XRANGE r - (+", "XRANGE r (+ +", "XRANGE r - (-",
        "XRANGE r (18446744073709551615-18446744073709551615 +", "XRANGE r - (0-0", "XRANGE r (0 (0",
        "XRANGE nokey - +", "XRANGE nokey - + COUNT 0", "XRANGE r 1-0 1-18446744073709551615",
        "XRANGE r 1- +", "XRANGE r -1 +", "XRANGE r  1-2-3 +", "XREVRANGE r + - COUNT 0",
    ]))


def test_wide_values_and_fields(pair):
    big = "x" * 5000
    check(pair, ["XADD", "w", "1-1", "a", big, "123", "456", "", ""], ["XADD", "w", "2-1", "a", "1", "123", "x"],
          ["XADD", "w", "3-1", "b", "1"], C("XRANGE w - +"), C("XINFO STREAM w"), C("XINFO STREAM w FULL"))


# -- XDEL / XTRIM / node layout ------------------------------------------------------------

def test_xdel(pair):
    check(pair, *map(C, [f"XADD d {i}-1 f v" for i in range(1, 8)] + [
        "XDEL d 3-1 3-1 9-9", "XDEL d 1-1", "XINFO STREAM d", "XDEL d x", "XDEL d 4-1 x",
        "XDEL d 2 5-1 6-1 7-1", "XINFO STREAM d", "XLEN d", "XDEL d 4-1", "XINFO STREAM d", "EXISTS d",
        "XADD d 8-1 f v", "XINFO STREAM d", "XDEL nokey 1-1", "SET str x", "XDEL str 1-1",
    ]))


def _fill(n: int, key: str = "t", fields: int = 1) -> list[list[bytes]]:
    out = []
    for i in range(1, n + 1):
        argv = ["XADD", key, f"{i}-0"]
        for f in range(fields):
            argv += [f"f{f}", str(i)]
        out.append([a.encode() for a in argv])
    return out


@pytest.mark.parametrize("trim", [
    "XTRIM t MAXLEN 250", "XTRIM t MAXLEN = 250", "XTRIM t MAXLEN ~ 250", "XTRIM t MAXLEN ~ 199",
    "XTRIM t MAXLEN ~ 0", "XTRIM t MAXLEN 0", "XTRIM t MINID 150", "XTRIM t MINID ~ 150",
    "XTRIM t MINID ~ 201-0", "XTRIM t MINID = 3000", "XTRIM t MAXLEN ~ 10 LIMIT 100",
    "XTRIM t MAXLEN ~ 10 LIMIT 99", "XTRIM t MAXLEN ~ 10 LIMIT 0", "XTRIM t MINID ~ 290 LIMIT 200",
    "XTRIM t MAXLEN 10 LIMIT 10", "XTRIM t LIMIT 10", "XTRIM t", "XTRIM t MAXLEN", "XTRIM t FOO 1",
    "XTRIM t MAXLEN 1 MINID 1", "XTRIM t MAXLEN -1", "XTRIM t MINID -", "XTRIM t MAXLEN ~ x",
])
def test_xtrim(pair, trim):
    check(pair, *_fill(333), C(trim), C("XLEN t"), C("XINFO STREAM t"), C("XRANGE t - + COUNT 3"),
          C("XADD t MAXLEN ~ 100 1000-0 a b"), C("XINFO STREAM t"))


def test_trim_nodes_with_config(pair):
    for r in pair:
        r.config_set("stream-node-max-entries", 7)
    try:
        check(pair, *_fill(50, "n", 2), C("XINFO STREAM n"), C("XDEL n 1-0 2-0 3-0 10-0"),
              C("XTRIM n MAXLEN ~ 40"), C("XINFO STREAM n"), C("XTRIM n MINID ~ 30"), C("XINFO STREAM n"),
              C("XTRIM n MAXLEN 12"), C("XINFO STREAM n"), C("XTRIM n MAXLEN ~ 5"), C("XINFO STREAM n"))
        for r in pair:
            r.config_set("stream-node-max-bytes", 100)
        check(pair, *_fill(30, "b", 3), C("XINFO STREAM b"),
              ["XADD", "b", "99-0", "big", "z" * 300], C("XINFO STREAM b"))
    finally:
        for r in pair:
            r.config_set("stream-node-max-entries", 100)
            r.config_set("stream-node-max-bytes", 4096)


def test_rax_nodes_sparse_ids(pair):
    ids = ["1-0", "255-0", "256-0", "65536-7", "1700000000000-0", "1700000000001-3", "18446744073709551615-1"]
    for r in pair:
        r.config_set("stream-node-max-entries", 1)
    try:
        cmds = []
        for i in ids:
            cmds += [C(f"XADD x {i} f v"), C("XINFO STREAM x")]
        cmds += [C("XDEL x 256-0"), C("XINFO STREAM x"), C("XDEL x 1-0"), C("XINFO STREAM x"),
                 C("XTRIM x MAXLEN 2"), C("XINFO STREAM x")]
        check(pair, *cmds)
    finally:
        for r in pair:
            r.config_set("stream-node-max-entries", 100)


# -- XSETID ---------------------------------------------------------------------------------

def test_xsetid(pair):
    check(pair, *map(C, [
        "XSETID nokey 1-1", "XADD s 5-1 a b", "XADD s 6-1 a b", "XSETID s 5-0", "XSETID s 6-1",
        "XSETID s 100-0 ENTRIESADDED 1", "XSETID s 100-0 ENTRIESADDED 10 MAXDELETEDID 200-0",
        "XSETID s 100-0 ENTRIESADDED -1", "XSETID s 100-0 ENTRIESADDED x", "XSETID s 100-0 FOO",
        "XSETID s 100-0 ENTRIESADDED 10 MAXDELETEDID 50-0", "XINFO STREAM s", "XADD s 99-0 a b",
        "XADD s 100-* a b", "XSETID s +", "XSETID s x", "XSETID s 200 MAXDELETEDID", "XDEL s 6-1 5-1",
        "XSETID s 1-0", "XINFO STREAM s", "SET str x", "XSETID str 1-1",
    ]))


# -- consumer groups ------------------------------------------------------------------------

def _groups_setup() -> list[list[bytes]]:
    return [C(f"XADD g {i}-0 f {i}") for i in range(1, 11)]


def test_xgroup(pair):
    check(pair, *_groups_setup(), *map(C, [
        "XGROUP CREATE g g1 0", "XGROUP CREATE g g1 0", "XGROUP CREATE g g2 $", "XGROUP CREATE g g3 5",
        "XGROUP CREATE g g4 5 ENTRIESREAD 3", "XGROUP CREATE g g5 0 ENTRIESREAD -2", "XGROUP CREATE g g5 0 ENTRIESREAD x",
        "XGROUP CREATE g g5 x", "XGROUP CREATE g g5 -", "XGROUP CREATE g g5 0 FOO", "XGROUP CREATE g g5",
        "XGROUP CREATE nokey g1 0", "XGROUP CREATE nokey g1 $ MKSTREAM", "XINFO STREAM nokey FULL",
        "XGROUP CREATE nokey2 g1 x MKSTREAM", "EXISTS nokey2", "XGROUP CREATE g g5 0 MKSTREAM ENTRIESREAD 2",
        "XGROUP SETID g g1 3", "XGROUP SETID g g1 $ ENTRIESREAD 10", "XGROUP SETID g nog 3",
        "XGROUP SETID g g1 3 MKSTREAM", "XGROUP SETID g g1 +", "XGROUP SETID g g1 3 ENTRIESREAD",
        "XGROUP SETID nokey9 g1 3", "XINFO GROUPS g",
        "XGROUP CREATECONSUMER g g1 alice", "XGROUP CREATECONSUMER g g1 alice", "XGROUP CREATECONSUMER g nog a",
        "XGROUP DELCONSUMER g g1 bob", "XGROUP DELCONSUMER g g1 alice", "XGROUP DELCONSUMER g nog alice",
        "XGROUP DESTROY g g3", "XGROUP DESTROY g g3", "XGROUP DESTROY nokey9 g3", "XINFO GROUPS g",
        "XGROUP HELP", "XGROUP HELP x", "XGROUP FOO", "XGROUP FOO a b c", "XGROUP", "XGROUP DESTROY g",
        "XGROUP CREATECONSUMER g g1", "SET str x", "XGROUP CREATE str g 0", "XGROUP CREATE str g 0 MKSTREAM",
    ]))


def test_xreadgroup_and_pel(pair):
    check(pair, *_groups_setup(), *map(C, [
        "XGROUP CREATE g grp 0", "XREADGROUP GROUP grp alice COUNT 3 STREAMS g >",
        "XREADGROUP GROUP grp bob COUNT 2 STREAMS g >", "XREADGROUP GROUP grp alice STREAMS g 0",
        "XREADGROUP GROUP grp alice COUNT 1 STREAMS g 1", "XREADGROUP GROUP grp carol STREAMS g 0",
        "XPENDING g grp", "XPENDING g grp - + 10", "XPENDING g grp - + 10 bob", "XPENDING g grp - + 10 zed",
        "XPENDING g grp (1 (3 10", "XPENDING g grp IDLE 0 - + 10", "XPENDING g grp IDLE 100000 - + 10",
        "XACK g grp 1-0 2-0 99-0", "XACK g grp x", "XACK g nog 1-0", "XACK nokey grp 1-0",
        "XPENDING g grp", "XDEL g 3-0", "XREADGROUP GROUP grp alice STREAMS g 0",
        "XREADGROUP GROUP grp dave NOACK COUNT 2 STREAMS g >", "XPENDING g grp", "XINFO GROUPS g",
        "XINFO CONSUMERS g grp", "XINFO STREAM g FULL", "XINFO STREAM g FULL COUNT 1",
        "XINFO STREAM g FULL COUNT 0", "XINFO STREAM g FULL COUNT x", "XINFO STREAM g FULL LIMIT 1",
        "XINFO STREAM g FOO", "XINFO STREAM g FULL COUNT", "XINFO CONSUMERS g nog", "XINFO GROUPS nokey",
        "XINFO HELP", "XINFO HELP x", "XINFO FOO g", "XINFO", "XINFO STREAM",
        "XREADGROUP GROUP grp alice STREAMS g >", "XREADGROUP GROUP grp alice STREAMS g $",
        "XREADGROUP GROUP nog alice STREAMS g >", "XREADGROUP GROUP grp alice STREAMS nokey >",
        "XREADGROUP STREAMS g >", "XREADGROUP GROUP grp STREAMS g >", "XREADGROUP GROUP grp a STREAMS g",
        "XREADGROUP GROUP grp a STREAMS g > x", "XREADGROUP GROUP grp a COUNT x STREAMS g >",
        "XREADGROUP GROUP grp a BLOCK x STREAMS g >", "XREADGROUP GROUP grp a BLOCK -1 STREAMS g >",
        "XREADGROUP GROUP grp a STREAMS g bad", "XREADGROUP GROUP grp a FOO STREAMS g >",
        "XPENDING g grp - + x", "XPENDING g grp x + 1", "XPENDING g grp - + 1 a b", "XPENDING g grp -",
        "XPENDING g grp IDLE x - + 1", "XPENDING g grp IDLE 1 - +", "XPENDING nokey grp",
        "SET str x", "XREADGROUP GROUP grp a STREAMS str >", "XPENDING str grp", "XACK str grp 1-0",
    ]))


def test_lag_and_entries_read(pair):
    check(pair, *_groups_setup(), *map(C, [
        "XGROUP CREATE g a 0", "XGROUP CREATE g b $", "XGROUP CREATE g c 3-0", "XINFO GROUPS g",
        "XREADGROUP GROUP a x COUNT 4 STREAMS g >", "XINFO GROUPS g", "XDEL g 6-0", "XINFO GROUPS g",
        "XREADGROUP GROUP a x COUNT 4 STREAMS g >", "XINFO GROUPS g", "XREADGROUP GROUP c x STREAMS g >",
        "XINFO GROUPS g", "XDEL g 1-0", "XINFO GROUPS g", "XTRIM g MAXLEN 2", "XINFO GROUPS g",
        "XADD g 20-0 f v", "XINFO GROUPS g", "XGROUP SETID g a 0", "XINFO GROUPS g",
        "XGROUP SETID g a 0 ENTRIESREAD 0", "XINFO GROUPS g", "XSETID g 30-0", "XINFO GROUPS g",
        "XINFO STREAM g FULL", "XGROUP CREATE e g 0 MKSTREAM", "XINFO GROUPS e", "XADD e 1-0 a b",
        "XDEL e 1-0", "XINFO GROUPS e", "XINFO STREAM e", "XINFO STREAM e FULL",
    ]))


def test_xclaim(pair):
    check(pair, *_groups_setup(), *map(C, [
        "XGROUP CREATE g grp 0", "XREADGROUP GROUP grp alice COUNT 5 STREAMS g >",
        "XCLAIM g grp bob 0 1-0 2-0", "XCLAIM g grp bob 0 1-0 JUSTID", "XCLAIM g grp bob 3600000 3-0",
        "XCLAIM g grp carol 0 4-0 TIME 1000 RETRYCOUNT 7", "XCLAIM g grp carol 0 5-0 IDLE 500",
        "XCLAIM g grp carol 0 9-0", "XCLAIM g grp carol 0 9-0 FORCE", "XCLAIM g grp carol 0 10-0 FORCE JUSTID",
        "XCLAIM g grp dave 0 8-0 FORCE LASTID 8-0 JUSTID", "XINFO GROUPS g",
        "XCLAIM g grp dave 0 1-0 LASTID 9-5 JUSTID", "XINFO GROUPS g", "XCLAIM g grp dave 0 99-0 LASTID 20-0",
        "XINFO GROUPS g", "XDEL g 2-0", "XCLAIM g grp erin 0 2-0 1-0 JUSTID", "XPENDING g grp - + 20",
        "XCLAIM g grp x 0 1-0 FOO", "XCLAIM g grp x 0 1-0 IDLE x", "XCLAIM g grp x 0 1-0 TIME x",
        "XCLAIM g grp x 0 1-0 RETRYCOUNT x", "XCLAIM g grp x 0 1-0 LASTID x", "XCLAIM g grp x x 1-0",
        "XCLAIM g grp x 0 bad", "XCLAIM g grp x -5 1-0 JUSTID", "XCLAIM g nog x 0 1-0", "XCLAIM nokey grp x 0 1-0",
        "XCLAIM g grp x 0 1-0 IDLE", "XCLAIM g grp y 0 1-0 RETRYCOUNT -1 JUSTID",
        "XPENDING g grp - + 20", "XINFO CONSUMERS g grp", "SET str x", "XCLAIM str grp x 0 1-0",
    ]))


def test_xautoclaim(pair):
    check(pair, *_groups_setup(), *map(C, [
        "XGROUP CREATE g grp 0", "XREADGROUP GROUP grp alice COUNT 8 STREAMS g >",
        "XAUTOCLAIM g grp bob 0 0 COUNT 2", "XAUTOCLAIM g grp bob 0 (2-0 COUNT 2 JUSTID",
        "XAUTOCLAIM g grp bob 3600000 0", "XDEL g 5-0 6-0", "XAUTOCLAIM g grp carol 0 0 COUNT 3",
        "XAUTOCLAIM g grp carol 0 0", "XAUTOCLAIM g grp carol 0 - JUSTID", "XPENDING g grp - + 20",
        "XAUTOCLAIM g grp x 0 0 COUNT 0", "XAUTOCLAIM g grp x 0 0 COUNT x", "XAUTOCLAIM g grp x 0 0 FOO",
        "XAUTOCLAIM g grp x x 0", "XAUTOCLAIM g grp x 0 x", "XAUTOCLAIM g nog x 0 0",
        "XAUTOCLAIM nokey grp x 0 0", "XAUTOCLAIM g grp x 0 (18446744073709551615-18446744073709551615",
        "XAUTOCLAIM g grp x 0 0 COUNT 576460752303423488", "XAUTOCLAIM g grp x 0 0 COUNT",
        "SET str x", "XAUTOCLAIM str grp x 0 0",
    ]))
    ours, real = pair
    for r in pair:  # a PEL longer than COUNT*10 attempts: the cursor stops inside it
        for i in range(1, 31):
            r.execute_command("XADD", "big", f"{i}-0", "f", "v")
        r.execute_command("XGROUP", "CREATE", "big", "grp", "0")
        r.execute_command("XREADGROUP", "GROUP", "grp", "a", "STREAMS", "big", ">")
        r.execute_command("XDEL", "big", *[f"{i}-0" for i in range(1, 25)])
    check(pair, C("XAUTOCLAIM big grp b 0 0 COUNT 1"), C("XAUTOCLAIM big grp b 0 0 COUNT 2"),
          C("XAUTOCLAIM big grp b 0 0 COUNT 100"))


def test_xinfo_errors_and_types(pair):
    check(pair, *map(C, [
        "XINFO STREAM nokey", "XINFO GROUPS nokey", "XINFO CONSUMERS nokey g", "SET str x",
        "XINFO STREAM str", "XADD s 1-1 a b", "TYPE s", "OBJECT ENCODING s", "SCAN 0 TYPE stream",
        "XINFO STREAM s", "XINFO STREAM s FULL", "RENAME s s2", "XINFO STREAM s2", "DEL s2", "TYPE s2",
    ]))


# -- XREAD --------------------------------------------------------------------------------

def test_xread_sync(pair):
    check(pair, *_groups_setup(), *map(C, [
        "XADD h 5-0 a b", "XREAD STREAMS g 0", "XREAD COUNT 2 STREAMS g h 3 0", "XREAD STREAMS g h $ $",
        "XREAD STREAMS g 10", "XREAD STREAMS g 9-5", "XREAD STREAMS nokey 0", "XREAD STREAMS g nokey 0 0",
        "XREAD COUNT 0 STREAMS g 8", "XREAD COUNT -5 STREAMS g 8", "XREAD STREAMS g", "XREAD STREAMS g h 0",
        "XREAD STREAMS g >", "XREAD STREAMS g +", "XREAD STREAMS g -", "XREAD GROUP a b STREAMS g 0",
        "XREAD NOACK STREAMS g 0", "XREAD FOO STREAMS g 0", "XREAD COUNT x STREAMS g 0", "XREAD 0",
        "XREAD BLOCK x STREAMS g 0", "XREAD BLOCK -1 STREAMS g 0", "XREAD BLOCK 0 STREAMS g 0",
        "XREAD COUNT 1 BLOCK 10 STREAMS g h 0 0", "SET str x", "XREAD STREAMS str 0",
        "XREAD STREAMS g str 0 0", "XREAD STREAMS g g 0 5",
    ]))


def test_xread_multi_exec(pair):
    check(pair, C("XADD q 1-0 a b"), C("MULTI"), C("XREAD BLOCK 0 STREAMS q $"),
          C("XREADGROUP GROUP nog c BLOCK 0 STREAMS q >"), C("XADD q 2-0 c d"), C("EXEC"))


def _blocked(srv: ServerProc, argv: list[str], out: dict, key: str, proto: int) -> threading.Thread:
    def go() -> None:
        c = srv.client(socket_timeout=10, protocol=proto)
        c.response_callbacks.clear()
        out[key] = run(c, [a.encode() for a in argv])
        c.close()

    t = threading.Thread(target=go)
    t.start()
    return t


def _wait_blocked(r: redis.Redis, n: int) -> None:
    for _ in range(200):
        info = r.execute_command("INFO", "clients")
        text = info.decode() if isinstance(info, bytes) else str(info)
        if f"blocked_clients:{n}" in text:
            return
        time.sleep(0.02)
    raise AssertionError("clients did not block")


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def servers(request, ours, real):
    for srv in (ours, real):
        c = srv.client()
        c.flushall()
        c.close()
    return request.param, ours, real


def _both_blocking(servers, setup: list[str], blocked: list[list[str]], then: list[str],
                   extra: list[str] | None = None) -> None:
    proto, ours, real = servers
    results = []
    for srv in (ours, real):
        c = srv.client(socket_timeout=10, protocol=proto)
        c.response_callbacks.clear()
        for line in setup:
            c.execute_command(*line.split())
        out: dict = {}
        threads = []
        for j, argv in enumerate(blocked):
            threads.append(_blocked(srv, argv, out, str(j), proto))
            _wait_blocked(c, j + 1)
        replies = [run(c, C(line)) for line in then]
        for t in threads:
            t.join(10)
        after = [run(c, C(line)) for line in (extra or [])]
        results.append(([out.get(str(j)) for j in range(len(blocked))], replies, after))
        c.close()
    assert results[0] == results[1]


def test_xread_block_wakes_on_xadd(servers):
    _both_blocking(servers, ["XADD s 1-0 a b"],
                   [["XREAD", "BLOCK", "5000", "STREAMS", "s", "$"],
                    ["XREAD", "BLOCK", "5000", "STREAMS", "other", "s", "$", "$"],
                    ["XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", "1-0"]],
                   ["XADD s 2-0 c d", "XADD s 3-0 e f"])


def test_xread_block_skips_unservable_reader(servers):
    _both_blocking(servers, ["XADD s 1-0 a b"],
                   [["XREAD", "BLOCK", "2000", "STREAMS", "s", "100-0"],
                    ["XREAD", "BLOCK", "5000", "STREAMS", "s", "$"]],
                   ["XADD s 5-0 c d"])


def test_xread_block_timeout_and_spurious_writes(servers):
    _both_blocking(servers, ["XADD s 1-0 a b", "XADD s 2-0 a b"],
                   [["XREAD", "BLOCK", "300", "STREAMS", "s", "$"]],
                   ["XDEL s 1-0", "XSETID s 50-0", "XTRIM s MAXLEN 0"])


def test_xreadgroup_block(servers):
    _both_blocking(servers, ["XADD s 1-0 a b", "XGROUP CREATE s g $"],
                   [["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "5000", "STREAMS", "s", ">"],
                    ["XREADGROUP", "GROUP", "g", "c2", "BLOCK", "5000", "COUNT", "1", "STREAMS", "s", ">"],
                    ["XREADGROUP", "GROUP", "g", "c3", "NOACK", "BLOCK", "300", "STREAMS", "s", ">"]],
                   ["XADD s 2-0 c d", "XADD s 3-0 e f", "XADD s 4-0 e f"],
                   ["XPENDING s g", "XINFO GROUPS s"])


def test_xreadgroup_block_group_destroyed_or_key_deleted(servers):
    _both_blocking(servers, ["XADD s 1-0 a b", "XGROUP CREATE s g $", "XADD t 1-0 a b", "XGROUP CREATE t g $"],
                   [["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "5000", "STREAMS", "s", ">"],
                    ["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "5000", "STREAMS", "t", ">"]],
                   ["XGROUP SETID s g 0", "XGROUP DESTROY s g", "DEL t"])


# -- propagation -------------------------------------------------------------------------------

def _real_aof_ops(tmp: Path, cmds: list[list[str]]) -> list[list[bytes]]:
    """What real Redis appends to its AOF for ``cmds``."""
    from aof.commands import Command
    from aof.reader import AofReader

    d = tmp / "real"
    d.mkdir()
    srv = start_real(d, "--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "no")
    try:
        c = srv.client()
        c.response_callbacks.clear()
        for argv in cmds:
            try:
                c.execute_command(*argv)
            except redis.ResponseError:
                pass
        c.close()
    finally:
        srv.stop()
    return [item.argv for item in AofReader(str(d / "appendonlydir")) if isinstance(item, Command)]


def _our_ops(cmds: list[list[str]]) -> list[list[bytes]]:
    """What our propagator delivers for ``cmds`` (a registered target, as the AOF feed is)."""
    from engine.config import Config
    from engine.execution.client import Client
    from engine.execution.dispatch import execute
    from engine.server.app import Server

    srv = Server(Config())
    c = Client(srv)
    ops: list[list[bytes]] = []
    srv.propagator.targets.append(lambda unit: ops.extend(a for _, a in unit))
    for argv in cmds:
        execute(c, [a.encode() for a in argv])
    return ops


def test_propagation_forms(tmp_path):
    cmds = [["XADD", "p", "1-*", "a", "1"], ["XADD", "p", "2-1", "a", "1"]]
    cmds += [["XADD", "p", f"{i}-0", "f", "v"] for i in range(3, 250)]
    cmds += [["XADD", "p", "MAXLEN", "~", "100", "300-0", "x", "y"], ["XTRIM", "p", "MINID", "~", "260"],
             ["XTRIM", "p", "MAXLEN", "~", "100000"],
             ["XGROUP", "CREATE", "p", "g", "0"], ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "p", ">"],
             ["XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "2", "STREAMS", "p", ">"],
             ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "p", "0"],
             ["XDEL", "p", "201-0"], ["XCLAIM", "p", "g", "carol", "0", "201-0", "202-0", "TIME", "5", "JUSTID"],
             ["XCLAIM", "p", "g", "carol", "0", "1-0", "LASTID", "290-0"],
             ["XAUTOCLAIM", "p", "g", "dave", "0", "0", "JUSTID"], ["XACK", "p", "g", "202-0"],
             ["XSETID", "p", "900-0"], ["XGROUP", "CREATECONSUMER", "p", "g", "zed"]]
    ours = _our_ops(cmds)
    real = _real_aof_ops(tmp_path, cmds)

    def norm(ops: list[list[bytes]]) -> list[list[bytes]]:
        out = []
        for argv in ops:
            if argv[0].upper() == b"XCLAIM" and len(argv) > 7 and argv[6].upper() == b"TIME":
                argv = argv[:7] + [b"t"] + argv[8:]
            if argv[0].upper() == b"SELECT":
                continue
            out.append(argv)
        return out

    assert norm(ours) == norm(real)


# -- persistence round-trips ---------------------------------------------------------------------

STREAM_SCRIPT = [C(f"XADD rt {i}-{i % 3} f{i % 4} v{i} g x") for i in range(1, 260)] + [
    C("XDEL rt 5-2 150-0 151-1"), C("XGROUP CREATE rt g1 0"), C("XGROUP CREATE rt g2 $ ENTRIESREAD 5"),
    C("XREADGROUP GROUP g1 alice COUNT 5 STREAMS rt >"), C("XREADGROUP GROUP g1 bob COUNT 3 STREAMS rt >"),
    C("XGROUP CREATECONSUMER rt g2 idle"), C("XCLAIM rt g1 carol 0 1-1 TIME 12345 RETRYCOUNT 4 JUSTID"),
    C("XSETID rt 900-0 ENTRIESADDED 400 MAXDELETEDID 151-1"), C("XGROUP CREATE empty g $ MKSTREAM"),
    C("XADD gone 1-0 a b"), C("XDEL gone 1-0"),
]


def _info_full(r: redis.Redis, key: str) -> Any:
    return r.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", "0", NEVER_DECODE=True)


def _keys_info(r: redis.Redis) -> dict:
    out = {}
    for k in sorted(r.keys("*")):
        if r.type(k) == b"stream":
            out[k] = _info_full(r, k.decode("utf-8", "surrogateescape"))
    return out


def test_save_restart_and_debug_reload(tmp_path):
    d = tmp_path / "o"
    d.mkdir()
    srv = start_ours(d)
    try:
        c = srv.client()
        for argv in STREAM_SCRIPT:
            c.execute_command(*argv)
        before = _keys_info(c)
        c.execute_command("DEBUG", "RELOAD")
        assert _keys_info(c) == before
        c.save()
        c.close()
    finally:
        srv.stop()
    srv = start_ours(d)
    try:
        c = srv.client()
        assert _keys_info(c) == before
        c.close()
    finally:
        srv.stop()
    # the same dump loads in real Redis with the same metadata
    rd = tmp_path / "r"
    rd.mkdir()
    shutil.copy(d / "dump.rdb", rd / "dump.rdb")
    real = start_real(rd)
    try:
        c = real.client()
        assert _keys_info(c) == before
        c.close()
    finally:
        real.stop()


def test_real_dump_loads_identically(tmp_path):
    rd = tmp_path / "r"
    rd.mkdir()
    real = start_real(rd)
    try:
        c = real.client()
        for argv in STREAM_SCRIPT:
            c.execute_command(*argv)
        c.save()
        expect = _keys_info(c)
        payloads = {k: c.dump(k) for k in expect}
        c.close()
    finally:
        real.stop()
    od = tmp_path / "o"
    od.mkdir()
    shutil.copy(rd / "dump.rdb", od / "dump.rdb")
    srv = start_ours(od)
    try:
        c = srv.client()
        assert _keys_info(c) == expect
        for k, p in payloads.items():  # RESTORE real payloads, and DUMP ours back
            c.restore(k + b":copy", 0, p)
            assert _info_full(c, (k + b":copy").decode()) == expect[k]
        ours_payloads = {k: c.dump(k) for k in expect}
        c.close()
    finally:
        srv.stop()
    rd2 = tmp_path / "r2"
    rd2.mkdir()
    real = start_real(rd2)
    try:
        c = real.client()
        for k, p in ours_payloads.items():
            c.restore(k, 0, p)
            assert _info_full(c, k.decode()) == expect[k]
        c.close()
    finally:
        real.stop()


@pytest.mark.parametrize("path", sorted(
    str(p) for p in (ROOT / "fixtures" / "rdb").glob("*7.0*/dump*.rdb") if "cluster" not in p.name))
def test_fixture_dumps_load_like_redis(tmp_path, path):
    """Real 7.0 dumps with streams: XINFO STREAM FULL equal on both servers after loading,
    node layout (``radix-tree-keys``/``-nodes``) included: the file's nodes are kept."""
    out = []
    for starter in (start_ours, start_real):
        d = tmp_path / starter.__name__
        d.mkdir()
        shutil.copy(path, d / "dump.rdb")
        srv = starter(d)
        try:
            infos = {}
            for db in range(2):
                c = srv.client(db=db)
                infos.update({(db, k): v for k, v in _keys_info(c).items()})
                c.close()
            out.append(infos)
        finally:
            srv.stop()
    assert out[0] == out[1]


def test_replay_compact_is_lossless(tmp_path):
    """AOF written by real Redis → our replay → records → real Redis via the rewriter."""
    from aof.rewriter import rewrite_commands
    from engine.replay import replay

    d = tmp_path / "r"
    d.mkdir()
    real = start_real(d, "--appendonly", "yes", "--aof-use-rdb-preamble", "no")
    try:
        c = real.client()
        for argv in STREAM_SCRIPT:
            c.execute_command(*argv)
        c.execute_command("XADD", "auto", "*", "a", "b")
        for i in range(250):
            c.execute_command("XADD", "aux", "*", "a", i)
        c.execute_command("XADD", "aux", "MAXLEN", "~", "10", "*", "a", "b")
        # (trimming entries that are still pending would lose those PEL entries in any
        # rewrite, Redis's included: XCLAIM of a missing entry does nothing)
        expect = _keys_info(c)
        c.close()
    finally:
        real.stop()
    res = replay(str(d / "appendonlydir"))
    assert not res.skipped and not res.lossy_keys
    cmds = list(rewrite_commands(res.records()))
    d2 = tmp_path / "r2"
    d2.mkdir()
    real = start_real(d2)
    try:
        c = real.client()
        for argv in cmds:
            c.execute_command(*argv)
        got = _keys_info(c)
        c.close()
    finally:
        real.stop()
    strip = lambda v: _strip_times(v, True)  # noqa: E731  consumers' seen-time is not logged
    got, expect = {k: strip(v) for k, v in got.items()}, {k: strip(v) for k, v in expect.items()}
    for k in expect:
        assert {f: x for f, x in got.get(k, {}).items() if got[k][f] != expect[k].get(f)} == {}, k
    assert got == expect


# -- hypothesis stateful -------------------------------------------------------------------------

SKEYS = [b"s1", b"s2", b"str"]
skey = st.sampled_from(SKEYS)
sid = st.builds(lambda ms, seq: b"%d-%d" % (ms, seq), st.integers(0, 12), st.integers(0, 3))
loose_id = st.one_of(sid, st.sampled_from([b"-", b"+", b"(3", b"(5-1", b"0", b"7", b"x", b"$", b">"]))
group = st.sampled_from([b"g1", b"g2", b"nog"])
consumer = st.sampled_from([b"alice", b"bob", b"carol"])
field = st.sampled_from([b"f", b"g", b"1", b"long" * 5])
small = st.sampled_from([b"0", b"1", b"2", b"3", b"5", b"-1", b"x"])


def _c(*parts: Any) -> st.SearchStrategy:
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts]).map(list)


STREAM_CMDS = st.one_of(
    _c(b"XADD", skey, sid, field, field), _c(b"XADD", skey, sid, field, field, field, field),
    _c(b"XADD", skey, b"MAXLEN", st.sampled_from([b"~", b"="]), small, sid, field, field),
    _c(b"XADD", skey, b"MINID", sid, sid, field, field), _c(b"XADD", skey, b"NOMKSTREAM", sid, field, field),
    _c(b"XLEN", skey), _c(b"XRANGE", skey, loose_id, loose_id), _c(b"XRANGE", skey, loose_id, loose_id, b"COUNT", small),
    _c(b"XREVRANGE", skey, loose_id, loose_id, b"COUNT", small), _c(b"XDEL", skey, sid, sid),
    _c(b"XTRIM", skey, b"MAXLEN", small), _c(b"XTRIM", skey, b"MINID", sid), _c(b"XTRIM", skey, b"MAXLEN", b"~", small),
    _c(b"XSETID", skey, sid), _c(b"XSETID", skey, sid, b"ENTRIESADDED", small, b"MAXDELETEDID", sid),
    _c(b"XGROUP", b"CREATE", skey, group, st.sampled_from([b"$", b"0", b"3-0", b"x"])),
    _c(b"XGROUP", b"CREATE", skey, group, b"$", b"MKSTREAM"),
    _c(b"XGROUP", b"SETID", skey, group, sid), _c(b"XGROUP", b"SETID", skey, group, sid, b"ENTRIESREAD", small),
    _c(b"XGROUP", b"DESTROY", skey, group), _c(b"XGROUP", b"CREATECONSUMER", skey, group, consumer),
    _c(b"XGROUP", b"DELCONSUMER", skey, group, consumer),
    _c(b"XREADGROUP", b"GROUP", group, consumer, b"COUNT", small, b"STREAMS", skey, st.sampled_from([b">", b"0", b"3"])),
    _c(b"XREADGROUP", b"GROUP", group, consumer, b"NOACK", b"STREAMS", skey, b">"),
    _c(b"XREAD", b"COUNT", small, b"STREAMS", skey, skey, loose_id, loose_id),
    _c(b"XACK", skey, group, sid, sid), _c(b"XPENDING", skey, group),
    _c(b"XPENDING", skey, group, loose_id, loose_id, small), _c(b"XPENDING", skey, group, b"-", b"+", small, consumer),
    _c(b"XCLAIM", skey, group, consumer, b"0", sid, sid, b"TIME", b"1000", b"JUSTID"),
    _c(b"XCLAIM", skey, group, consumer, b"0", sid, b"TIME", b"1000", b"FORCE", b"RETRYCOUNT", small),
    _c(b"XCLAIM", skey, group, consumer, b"0", sid, b"TIME", b"1000", b"LASTID", sid),
    _c(b"XAUTOCLAIM", skey, group, consumer, b"0", loose_id, b"COUNT", small, b"JUSTID"),
    _c(b"XINFO", b"STREAM", skey), _c(b"XINFO", b"STREAM", skey, b"FULL"), _c(b"XINFO", b"GROUPS", skey),
    _c(b"XINFO", b"CONSUMERS", skey, group), _c(b"SET", b"str", b"x"), _c(b"DEL", skey),
    _c(b"TYPE", skey), _c(b"OBJECT", b"ENCODING", skey), _c(b"EXISTS", skey),
)


class StreamMachine(RuleBasedStateMachine):
    pair: tuple[redis.Redis, redis.Redis]

    @initialize()
    def reset(self) -> None:
        for r in self.pair:
            r.flushall()
            r.config_set("stream-node-max-entries", 3)

    @rule(argv=STREAM_CMDS)
    def cmd(self, argv: list[bytes]) -> None:
        check(self.pair, argv)

    @invariant()
    def same_keys(self) -> None:
        a, b = self.pair
        assert sorted(a.keys("*")) == sorted(b.keys("*"))


def test_stateful_streams(pair):
    StreamMachine.pair = pair
    try:
        run_state_machine_as_test(StreamMachine, settings=settings(
            max_examples=int(os.environ.get("STREAM_EXAMPLES", "60")), stateful_step_count=40, deadline=None,
            suppress_health_check=list(HealthCheck)))
    finally:
        for r in pair:
            r.config_set("stream-node-max-entries", 100)
