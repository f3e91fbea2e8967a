"""What the values of a large keyspace cost: the memory ``rdbkit compact`` and an AOF load
peak at (issue 12: a peak within 1.5x of what Redis needs for the same dataset).

A sorted set dropped while the cyclic collector is held off (a replay pauses it, and
what a collection keeps is frozen, out of its reach for good) must be freed by its
reference counts, as Redis's zslFree frees it node by node.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from engine.types.zsets import ZSetValue


def _skiplist_zset(n: int) -> ZSetValue:
    z = ZSetValue(lp=False)
    for i in range(n):
        z.insert(b"m%d" % i, float(i % 17), 0, 0)
    return z


@contextlib.contextmanager
def _collector_held() -> Iterator[None]:
    """The cyclic collector off, as a replay holds it (nothing pending when it starts)."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def test_dropped_skiplist_leaves_no_cyclic_garbage() -> None:
    with _collector_held():
        z = _skiplist_zset(300)
        assert z.encoding() == "skiplist" and len(z) == 300
        del z
        assert gc.collect() == 0  # nothing left for the collector: freed when dropped


def test_converted_skiplist_leaves_no_cyclic_garbage() -> None:
    with _collector_held():
        z = _skiplist_zset(50)
        z.to_listpack(128, 64)  # zsetConvertToListpackIfNeeded drops the skip list
        assert z.encoding() == "listpack" and len(z) == 50
        assert gc.collect() == 0
