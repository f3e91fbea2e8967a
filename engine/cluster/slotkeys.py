"""db 0's keys by hash slot (cluster.c's slots_to_keys), for CLUSTER COUNTKEYSINSLOT,
GETKEYSINSLOT, SETSLOT's checks and the keys of slots this node lost.

Kept beside the keyspace rather than in it: the index is built on first use and then
fed with the keys commands write, so a server outside cluster mode pays nothing.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from aof.slots import key_hash_slot


class SlotKeys:
    def __init__(self, server: Any) -> None:
        self.server = server
        self._index: dict[int, dict[bytes, None]] = {}  # slot → db 0's keys (see _slot_index)
        self._index_data: Any = None
        self._index_entries = 0

    def _slot_index(self) -> dict[int, dict[bytes, None]]:
        """db 0's keys by slot (Redis's slots_to_keys). Built in one pass over the keys
        when first needed (or when db 0's dict was replaced, or holds keys the index
        missed); then written keys are added as commands write them (``keys_written``) and
        keys gone by any path (DEL, expiry, eviction, MIGRATE) are dropped when their slot
        is next looked at."""
        data = self.server.keyspace.dbs[0].data
        if self._index_data is not data or len(data) > self._index_entries:
            index: dict[int, dict[bytes, None]] = {}
            for k in data:
                slot = key_hash_slot(k)
                bucket = index.get(slot)
                if bucket is None:
                    index[slot] = {k: None}
                else:
                    bucket[k] = None
            self._index, self._index_data, self._index_entries = index, data, len(data)
        return self._index

    def keys_written(self, db: Any, keys: list[bytes]) -> None:
        """A command wrote ``keys`` of ``db``: index the new ones (slotToKeyAddEntry)."""
        data = db.data
        if data is not self._index_data:
            return
        for k in keys:
            if k in data:
                bucket = self._index.setdefault(key_hash_slot(k), {})
                if k not in bucket:
                    bucket[k] = None
                    self._index_entries += 1

    def _slot_keys(self, slot: int) -> dict[bytes, None]:
        bucket = self._slot_index().get(slot)
        if not bucket:
            return {}
        data = self._index_data
        gone = [k for k in bucket if k not in data]
        for k in gone:
            del bucket[k]
        self._index_entries -= len(gone)
        return bucket

    def count_keys_in_slot(self, slot: int) -> int:
        return len(self._slot_keys(slot))

    def keys_in_slot(self, slot: int, count: int) -> list[bytes]:
        """Newest first, as Redis's per-slot list (slotToKeyAddEntry adds at its head)."""
        return list(islice(reversed(self._slot_keys(slot)), max(count, 0)))

    def del_keys_in_slots(self, slots: list[int]) -> None:
        """delKeysInSlot: keys of slots another master took with a newer epoch go."""
        db = self.server.keyspace.dbs[0]
        for k in [k for slot in slots for k in self._slot_keys(slot)]:
            db.delete(k)
            self.server.dirty += 1
