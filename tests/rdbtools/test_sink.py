"""The decoder's ``sink``: the C scan offers it each key before building a Record; what it
takes is not delivered, what it declines is, and a consumer applying both sees every key
exactly once and in file order — whatever the chunking (whole input, random cuts, a byte
at a time), whatever it declines. Without the C scan nothing is offered."""

from __future__ import annotations

import random
from typing import Any

import pytest

from rdbtools import NEED_DATA, RdbDecoder, Record, read_all
from rdbtools import decoder as decoder_module
from tests.conftest import fixture_rdbs

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

FILES = fixture_rdbs()


def applied(data: bytes, cuts: list[int], declines: Any, scan: Any = C.scan_keys) -> tuple[list[tuple[int, bytes]], int]:
    """(db, key) in the order a loader would apply them: taken ones as the sink sees them,
    declined ones as they are delivered; and how many the sink took. The C scan is used
    also in the pure-Python pass (RDBKIT_PUREPYTHON=1), which would offer nothing."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(decoder_module, "_scan_keys", scan)
        return _applied(data, cuts, declines)


def _applied(data: bytes, cuts: list[int], declines: Any) -> tuple[list[tuple[int, bytes]], int]:
    order: list[tuple[int, bytes]] = []
    taken = 0

    def sink(db: int, key: bytes, t: str, value: Any, expire: Any, idle: Any, freq: Any, enc: Any) -> bool:
        nonlocal taken
        if declines(key):
            return False
        order.append((db, key))
        taken += 1
        return True

    dec = RdbDecoder(sink=sink, keys=C.KeySet())
    prev = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        dec.feed(data[prev:cut])
        prev = cut
        while (ev := dec.next_event()) not in (None, NEED_DATA):
            if isinstance(ev, Record):
                order.append((ev.db, ev.key))
    dec.feed_eof()
    while (ev := dec.next_event()) not in (None, NEED_DATA):
        if isinstance(ev, Record):
            order.append((ev.db, ev.key))
    assert dec.done
    return order, taken


def file_order(data: bytes) -> list[tuple[int, bytes]]:
    return [(ev.db, ev.key) for ev in read_all(data) if isinstance(ev, Record)]


@pytest.mark.parametrize("path", FILES[:12], ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("declines", ["none", "odd", "all"])
def test_keys_applied_once_in_file_order(path: Any, declines: str) -> None:
    data = path.read_bytes()
    want = file_order(data)
    rule = {"none": lambda k: False, "odd": lambda k: sum(k) % 2 == 1, "all": lambda k: True}[declines]
    rnd = random.Random(len(data))
    for cuts in ([], [rnd.randrange(len(data)) for _ in range(50)]):
        order, taken = applied(data, cuts, rule)
        assert order == want
        if declines == "all":
            assert taken == 0


def test_byte_at_a_time() -> None:
    path = min(FILES, key=lambda p: p.stat().st_size)
    data = path.read_bytes()
    order, _ = applied(data, list(range(1, len(data))), lambda k: len(k) % 3 == 0)
    assert order == file_order(data)


def test_a_sink_that_takes_every_plain_key_leaves_the_rest() -> None:
    data = max(FILES, key=lambda p: len(file_order(p.read_bytes()))).read_bytes()
    order, taken = applied(data, [], lambda k: False)
    assert taken > 0 and order == file_order(data)


def test_without_the_c_scan_nothing_is_offered() -> None:
    data = FILES[0].read_bytes()
    order, taken = applied(data, [], lambda k: False, scan=None)
    assert taken == 0 and order == file_order(data)


class Refused(Exception):
    pass


def test_a_failing_sink_fails_the_decode() -> None:
    def sink(*args: Any) -> bool:
        raise Refused

    data = max(FILES, key=lambda p: len(file_order(p.read_bytes()))).read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(decoder_module, "_scan_keys", C.scan_keys)
        dec = RdbDecoder(sink=sink, keys=C.KeySet())
        dec.feed(data)
        dec.feed_eof()
        with pytest.raises(Refused):
            while dec.next_event() not in (None, NEED_DATA):
                pass
