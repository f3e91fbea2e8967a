"""The keys a decoder has read, per db: to refuse a key that comes twice.

A loading redis-server panics on a key it already holds ("RDB has duplicated key 'k'
in DB n", ``rdbLoadRioWithLoadingCtx``); redis-check-rdb keeps no keyspace and passes
such a file. We refuse it in every reader, which needs memory in proportion to the key
count — Redis holds every key anyway. What is kept is an 8-byte digest per key, not
the key: Python's keyed hash of the key bytes (SipHash, seeded per process) mixed with
the db number.

* The C table (``rdbtools._speedups.KeySet``): open addressing over ``uint64``, grown
  at 2/3 load, so 12 to 24 bytes a key (1M keys: 16 MiB; 10M keys: 128 MiB).
* The pure-Python fallback (no compiler, ``RDBKIT_PUREPYTHON=1``): a ``set`` of ints,
  about 70 bytes a key.

Two different keys of one db share a digest with probability 2^-64 a pair (10M keys:
about 3e-6 for the whole file); the per-process seed makes a collision impossible to
craft, and a file refused that way once passes the next run.
"""

from __future__ import annotations

from ._accel import c_module

_GOLDEN = 0x9E3779B97F4A7C15


class _PyKeySet:
    """The same interface as the C ``KeySet``: ``add(db, key) -> bool`` (True when new)."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def add(self, db: int, key: bytes) -> bool:
        d = hash(key) ^ (db * _GOLDEN)
        seen = self._seen
        if d in seen:
            return False
        seen.add(d)
        return True

    def __len__(self) -> int:
        return len(self._seen)


KeySet: type = _PyKeySet
if (_c := c_module("rdbtools._speedups")) is not None:
    KeySet = _c.KeySet

__all__ = ["KeySet"]
