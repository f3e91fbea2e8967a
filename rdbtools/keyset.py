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

A reader that must stay within a memory budget whatever the key count
(:class:`rdbtools.seek.DumpSource`) drains the set (:meth:`~_PyKeySet.drain`) now and then:
the sorted digests go to a run on disk, the table is reused, and the runs are merged
when the pass ends to find a digest met twice (:meth:`~_PyKeySet.digest` then names it).
"""

from __future__ import annotations

from array import array

from ._accel import c_module

_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


class _PyKeySet:
    """The same interface as the C ``KeySet``: ``add(db, key) -> bool`` (True when new)."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def add(self, db: int, key: bytes) -> bool:
        d = self.digest(db, key)
        seen = self._seen
        if d in seen:
            return False
        seen.add(d)
        return True

    def digest(self, db: int, key: bytes) -> int:
        """The digest :meth:`add` records for ``(db, key)`` (an unsigned 64-bit int)."""
        return (hash(key) ^ (db * _GOLDEN)) & _MASK

    def drain(self) -> bytes:
        """The digests held, sorted, as native uint64 bytes; the set is emptied."""
        out = array("Q", sorted(self._seen)).tobytes()
        self._seen.clear()
        return out

    def __len__(self) -> int:
        return len(self._seen)


KeySet: type = _PyKeySet
if (_c := c_module("rdbtools._speedups")) is not None:
    KeySet = _c.KeySet

__all__ = ["KeySet"]
