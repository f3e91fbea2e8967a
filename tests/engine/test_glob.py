"""Redis globs on our server against real redis-server 7.0.15.

The CVE-2022-36021 pattern bomb (``a*`` twenty times then ``b``, against forty
``a``s) must get Redis's answer at once from every command that matches a glob,
on the C matcher and on the pure-Python one. Then random patterns over the
awkward alphabet (``* ? [ ] ^ - \\``, letters, NUL and high bytes) must select
exactly what Redis selects: KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH, PSUBSCRIBE (as
PUBLISH's receiver count), PUBSUB CHANNELS, and the case-insensitive callers
CONFIG GET and FUNCTION LIST LIBRARYNAME. The same draws also check
rdbtools.glob in-process, C and pure Python, against Redis's KEYS reply.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rdbtools import glob as rglob
from tests.engine.conftest import ServerProc, start_ours

SUBJECT = b"a" * 40
BOMB = b"a*" * 20 + b"b"  # matches nothing; a backtracking matcher never finishes
BOMB_HIT = b"a*" * 20 + b"a"  # matches SUBJECT
# A hang shows up as a socket timeout. Generous on a loaded machine: the old
# regex took 81 s for twelve 'a*', and each further one multiplies that.
BOUND = 5.0

PAT_ALPHABET = b"*?[]^-\\abA\x00\x80\xe9\xff"
KEY_ALPHABET = b"abA-]^\\*?[\x00\x80\xe9\xff"
# RDBKIT_SOAK=1 draws twenty times as many examples.
SCALE = 20 if os.environ.get("RDBKIT_SOAK") else 1


def _examples(n: int) -> settings:
    return settings(max_examples=n * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _client(srv: ServerProc) -> redis.Redis:
    c = srv.client(socket_timeout=BOUND, protocol=2)
    c.response_callbacks.clear()  # raw replies: CONFIG GET and FUNCTION LIST as flat lists
    return c


def _raw(c: redis.Redis, *argv: Any) -> Any:
    return c.execute_command(*argv, NEVER_DECODE=True)


def _scan_all(c: redis.Redis, cmd: list[Any]) -> list[bytes]:
    """Every item a full SCAN-family iteration returns (cursor 0 to 0)."""
    out: list[bytes] = []
    cursor = b"0"
    while True:
        argv = list(cmd)
        argv[argv.index("CURSOR")] = cursor
        cursor, items = _raw(c, *argv)
        out += items
        if cursor == b"0":
            return out


@pytest.fixture(params=["c", "pure"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProc]:
    """A server of our own per test: one that hangs must not stall the shared one."""
    if request.param == "pure":
        monkeypatch.setenv("RDBKIT_PUREPYTHON", "1")
    else:
        monkeypatch.delenv("RDBKIT_PUREPYTHON", raising=False)
    srv = start_ours(tmp_path)
    yield srv
    srv.stop()


@contextmanager
def _subscribed(c: redis.Redis, channels: list[bytes], pats: list[bytes]) -> Iterator[None]:
    """A connection subscribed to ``channels`` and ``pats``, confirmed before and after."""
    p = c.pubsub()
    try:
        if channels:
            p.subscribe(*channels)
        p.psubscribe(*pats)
        for _ in range(len(channels) + len(pats)):
            assert p.get_message(timeout=BOUND) is not None
        yield
        p.unsubscribe()
        p.punsubscribe()
        while (m := p.get_message(timeout=BOUND)) is not None:  # gone before the next test publishes
            if m["type"] == "punsubscribe" and m["data"] == 0:
                break
        else:
            raise AssertionError("unsubscribing was not confirmed")
    finally:
        p.close()


def _lib(name: bytes) -> bytes:
    return b"#!lua name=" + name + b"\nredis.register_function('f_" + name + b"', function() return 1 end)"


def test_pattern_bomb_answers_like_redis(fresh: ServerProc, real: ServerProc) -> None:
    a, b = _client(fresh), _client(real)
    try:
        b.flushall()
        _raw(b, "FUNCTION", "FLUSH")
        for c in (a, b):
            c.set(SUBJECT, 1)
            c.hset(b"h", SUBJECT, 1)
            c.sadd(b"s", SUBJECT)
            c.zadd(b"z", {SUBJECT: 1})
            _raw(c, "FUNCTION", "LOAD", _lib(SUBJECT))
        with _subscribed(a, [SUBJECT], [BOMB, BOMB_HIT]), _subscribed(b, [SUBJECT], [BOMB, BOMB_HIT]):
            for pat in (BOMB, BOMB_HIT):
                for cmd in (["KEYS", pat], ["SCAN", 0, "MATCH", pat, "COUNT", 100],
                            ["HSCAN", "h", 0, "MATCH", pat], ["SSCAN", "s", 0, "MATCH", pat],
                            ["ZSCAN", "z", 0, "MATCH", pat], ["PUBSUB", "CHANNELS", pat],
                            ["FUNCTION", "LIST", "LIBRARYNAME", pat]):
                    ra, rb = _raw(a, *cmd), _raw(b, *cmd)
                    assert ra == rb, (cmd, ra, rb)
            assert _raw(a, "PUBLISH", SUBJECT, "m") == _raw(b, "PUBLISH", SUBJECT, "m") == 2
    finally:
        _raw(b, "FUNCTION", "FLUSH")
        a.close()
        b.close()


# -- random patterns against Redis ------------------------------------------------------

patterns = st.lists(st.binary(max_size=0) | st.lists(st.sampled_from(PAT_ALPHABET), max_size=9).map(bytes),
                    min_size=1, max_size=4, unique=True)
keys = st.lists(st.lists(st.sampled_from(KEY_ALPHABET), max_size=6).map(bytes),
                max_size=12, unique=True)


@pytest.fixture
def both(ours: ServerProc, real: ServerProc) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    a, b = _client(ours), _client(real)
    yield a, b
    a.close()
    b.close()


@_examples(80)
@given(keys=keys, pats=patterns)
@example(keys=[b"a", b"b", b"]", b"^", b"\\", b"\xe9", b"\x80", b"\x00", b"-", b""],
         pats=[b"[a-\xe9]", b"[\xe9-a]", b"[a-]", b"[a-]b", b"[", b"[^", b"[]", b"[^]", b"\\", b"[\\",
               b"**", b"*", b"", b"[a-\\]", b"?*", b"[\\-]", b"[^a", b"a\\"])
def test_keyspace_matches_like_redis(both: tuple[redis.Redis, redis.Redis], keys: list[bytes],
                                     pats: list[bytes]) -> None:
    a, b = both
    for c in (a, b):
        c.flushall()
        if keys:
            c.mset({k: 1 for k in keys})
            c.hset(b"\x01h", mapping={k: 1 for k in keys})
            c.sadd(b"\x01s", *keys)
            c.zadd(b"\x01z", {k: 1 for k in keys})
    for pat in pats:
        real_keys = sorted(_raw(b, "KEYS", pat))
        assert sorted(_raw(a, "KEYS", pat)) == real_keys, pat
        if pat != b"*":  # KEYS * lists everything without matching, "" included
            for m in (rglob._python_matcher(pat), rglob.glob_matcher(pat)):  # pure Python, C when built
                present = [*keys, b"\x01h", b"\x01s", b"\x01z"] if keys else []
                mine = sorted(k for k in present if m(k))
                assert mine == real_keys, (m, pat)
        for cmd in (["SCAN", "CURSOR", "MATCH", pat, "COUNT", 1000],
                    ["HSCAN", b"\x01h", "CURSOR", "MATCH", pat, "COUNT", 1000],
                    ["SSCAN", b"\x01s", "CURSOR", "MATCH", pat, "COUNT", 1000],
                    ["ZSCAN", b"\x01z", "CURSOR", "MATCH", pat, "COUNT", 1000]):
            assert sorted(_scan_all(a, cmd)) == sorted(_scan_all(b, cmd)), cmd


@_examples(40)
@given(channels=keys, pats=patterns)
@example(channels=[b"", b"a", b"\xe9"], pats=[b"*", b"[^", b"?"])
def test_pubsub_matches_like_redis(both: tuple[redis.Redis, redis.Redis], channels: list[bytes],
                                   pats: list[bytes]) -> None:
    a, b = both
    with _subscribed(a, channels, pats), _subscribed(b, channels, pats):
        for pat in pats:
            assert sorted(_raw(a, "PUBSUB", "CHANNELS", pat)) == sorted(_raw(b, "PUBSUB", "CHANNELS", pat))
        for ch in [*channels, b"b", b"\xe9a"]:
            assert _raw(a, "PUBLISH", ch, "m") == _raw(b, "PUBLISH", ch, "m"), ch


# -- the case-insensitive callers -------------------------------------------------------

CONFIG_ALPHABET = b"*?[]^-\\aemxoyAEMXY\x80\xe9"


@_examples(50)
@given(pats=st.lists(st.lists(st.sampled_from(CONFIG_ALPHABET), max_size=11).map(bytes),
                     min_size=1, max_size=3))
@example(pats=[b"[\\M]axmemory", b"[^]axmemory", b"[\x80-z]axmemory", b"[Z-a]axmemory", b"[a-Z]axmemory",
               b"MAXMEMORY", b"*MEM*", b"maxmemory\x00*", b"MAX*\x00x", b"rdb-key-save-delay",
               b"rdb-key-save-del*", b"m[^]xmemory", b"maxmemory\\", b"maxmemor\\y"])
def test_config_get_matches_like_redis(both: tuple[redis.Redis, redis.Redis], pats: list[bytes]) -> None:
    """CONFIG GET matches without case; names this server does not have are left out of Redis's reply."""
    a, b = both
    known = {k.lower() for k in _raw(a, "CONFIG", "GET", "*")[::2]} | {b"rdb-key-save-delay"}  # hidden
    for argv in [[p] for p in pats] + [pats]:
        mine = sorted(_raw(a, "CONFIG", "GET", *argv)[::2])
        assert mine == sorted(k for k in _raw(b, "CONFIG", "GET", *argv)[::2] if k.lower() in known), argv


LIBS = [b"Alpha", b"alpha_2", b"BETA", b"b_x", b"Z9"]


@pytest.fixture
def libs(both: tuple[redis.Redis, redis.Redis]) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    for c in both:
        _raw(c, "FUNCTION", "FLUSH")
        for name in LIBS:
            _raw(c, "FUNCTION", "LOAD", _lib(name))
    yield both
    for c in both:
        _raw(c, "FUNCTION", "FLUSH")


def _lib_names(reply: list[Any]) -> list[bytes]:
    return sorted(lib[lib.index(b"library_name") + 1] for lib in reply)


@_examples(50)
@given(pat=st.lists(st.sampled_from(b"*?[]^-\\aAbBlLpPZz_29\xe9"), max_size=8).map(bytes))
@example(pat=b"[A-b]*")
@example(pat=b"[\\A]lpha")
@example(pat=b"[Z-a]*")
def test_function_list_libraryname_like_redis(libs: tuple[redis.Redis, redis.Redis], pat: bytes) -> None:
    a, b = libs
    cmd = ["FUNCTION", "LIST", "LIBRARYNAME", pat]
    assert _lib_names(_raw(a, *cmd)) == _lib_names(_raw(b, *cmd)), pat
