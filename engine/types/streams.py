"""Stream values: entries in ID order, node bookkeeping, consumer groups (t_stream.c).

IDs are single ints ``ms << 64 | seq`` so that comparisons, successor and
predecessor are integer operations (``streamIncrID``/``streamDecrID``). Live
entries sit in a sorted list of IDs (``ids``, bisect for O(log N) seeks) plus a
dict ID → flat ``[field, value, ...]`` list.

Redis keeps entries in a radix tree of listpack nodes; the node layout is
observable (approximate ``~`` trimming removes whole nodes only, XINFO reports
``radix-tree-keys``/``radix-tree-nodes``), so :class:`StreamNode` tracks, per
node, what ``streamAppendItem``/``streamTrim`` look at: the master ID and fields,
live and deleted counts, the listpack's byte size and its last (possibly
deleted) ID. Entry bytes are not kept a second time. A loaded stream's nodes are the
file's (:meth:`StreamValue.load_nodes`), as ``rdbLoadObject`` keeps them.

Consumer groups mirror ``streamCG``/``streamConsumer``/``streamNACK``: a group's
PEL and each consumer's PEL share the same :class:`NACK` objects.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence

from rdbtools.encodings import lp_entries_size
from rdbtools.encodings.listpack import lp_entry_size, lp_int_entry_size
from rdbtools.model import StreamNodeLayout
from rdbtools.objects.stream_nodes import Entry, live_form

U64 = (1 << 64) - 1
MAX_ID = (1 << 128) - 1
STREAM_LISTPACK_MAX_SIZE = 1 << 30
SCG_INVALID_ENTRIES_READ = -1
FLAG_SAMEFIELDS_SIZE = 2  # a 7-bit uint entry: flags 0..3 all take 2 bytes


def mstime() -> int:
    """Wall-clock ms (``mstime()``): stream IDs and PEL times. The keyspace's clock
    (``Keyspace.now_ms``) is the same wall clock unless a test gives it another."""
    return int(time.time() * 1000)


def make_id(ms: int, seq: int) -> int:
    return (ms << 64) | seq


def id_bytes(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & U64)


def s64(v: int) -> int:
    """C's ``(long long)`` of a 64-bit value: the counters are ``uint64_t`` (entries_added)
    or ``long long`` (entries_read, lag) in Redis, and wrap as they do there."""
    v &= U64
    return v - (1 << 64) if v >= 1 << 63 else v


def _delta(a: int, b: int) -> int:
    return s64(a - b)


class StreamNode:
    """One listpack node: what the append/trim rules need to know about it."""

    __slots__ = ("master", "fields", "count", "deleted", "body", "last")

    def __init__(self, master: int, fields: tuple[bytes, ...]) -> None:
        self.master = master
        self.fields = fields
        self.count = 0
        self.deleted = 0
        # every listpack entry but the live/deleted counters: master fields + entries
        self.body = lp_int_entry_size(len(fields)) + sum(lp_entry_size(f) for f in fields) + 2
        self.last = master

    def lp_bytes(self) -> int:
        return 7 + lp_int_entry_size(self.count) + lp_int_entry_size(self.deleted) + self.body


class NACK:
    __slots__ = ("delivery_time", "delivery_count", "consumer")

    def __init__(self, consumer: Consumer | None, now: int | None = None) -> None:
        self.delivery_time = mstime() if now is None else now
        self.delivery_count = 1
        self.consumer = consumer


class Consumer:
    __slots__ = ("name", "seen_time", "pel", "pel_ids")

    def __init__(self, name: bytes, seen_time: int | None = None) -> None:
        self.name = name
        self.seen_time = mstime() if seen_time is None else seen_time
        self.pel: dict[int, NACK] = {}
        self.pel_ids: list[int] = []

    def add(self, i: int, nack: NACK) -> None:
        if i not in self.pel:
            insort(self.pel_ids, i)
        self.pel[i] = nack

    def remove(self, i: int) -> None:
        if self.pel.pop(i, None) is not None:
            del self.pel_ids[bisect_left(self.pel_ids, i)]


class Group:
    __slots__ = ("last_id", "entries_read", "pel", "pel_ids", "consumers")

    def __init__(self, last_id: int, entries_read: int) -> None:
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: dict[int, NACK] = {}
        self.pel_ids: list[int] = []
        self.consumers: dict[bytes, Consumer] = {}

    def pel_add(self, i: int, nack: NACK) -> None:
        if i not in self.pel:
            insort(self.pel_ids, i)
        self.pel[i] = nack

    def pel_remove(self, i: int) -> NACK | None:
        nack = self.pel.pop(i, None)
        if nack is not None:
            del self.pel_ids[bisect_left(self.pel_ids, i)]
            if nack.consumer is not None:
                nack.consumer.remove(i)
        return nack

    def lookup_consumer(self, name: bytes, refresh: bool = True) -> Consumer | None:
        """streamLookupConsumer (SLC_DEFAULT refreshes seen-time)."""
        cons = self.consumers.get(name)
        if cons is not None and refresh:
            cons.seen_time = mstime()
        return cons

    def create_consumer(self, name: bytes) -> Consumer | None:
        if name in self.consumers:
            return None
        cons = self.consumers[name] = Consumer(name)
        return cons

    def delete_consumer(self, cons: Consumer) -> None:
        for i in cons.pel_ids:
            self.pel.pop(i, None)
            del self.pel_ids[bisect_left(self.pel_ids, i)]
        del self.consumers[cons.name]


class StreamValue:
    __slots__ = ("ids", "entries", "nodes", "node_keys", "last_id", "first_id", "max_deleted",
                 "entries_added", "groups", "wake", "tail_prealloc")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.entries: dict[int, list[bytes]] = {}
        self.nodes: list[StreamNode] = []
        self.node_keys: list[int] = []
        self.last_id = 0
        self.first_id = 0
        self.max_deleted = 0
        self.entries_added = 0
        self.groups: dict[bytes, Group] = {}
        self.wake = 0  # bumped by the events Redis signals blocked readers for
        # the newest node was made by an append (lpNew with STREAM_LISTPACK_MAX_PRE_ALLOCATE
        # bytes), not loaded or copied at its exact size (MEMORY USAGE)
        self.tail_prealloc = False

    def encoding(self) -> str:
        return "stream"

    def __len__(self) -> int:
        return len(self.ids)

    # -- appending ------------------------------------------------------------
    def append(self, i: int, fv: list[bytes], max_bytes: int, max_entries: int) -> None:
        """The storage half of streamAppendItem: ``i`` is already known to be > last_id."""
        nodes = self.nodes
        node = nodes[-1] if nodes else None
        if node is not None:
            mb = max_bytes
            if mb <= 0 or mb > STREAM_LISTPACK_MAX_SIZE:
                mb = STREAM_LISTPACK_MAX_SIZE
            if node.lp_bytes() + sum(len(x) for x in fv) >= mb:
                node = None
            elif max_entries and node.count + node.deleted >= max_entries:
                node = None
        n = len(fv) // 2
        if node is None:
            node = StreamNode(i, tuple(fv[0::2]))
            nodes.append(node)
            self.tail_prealloc = True
            self.node_keys.append(i)
            same = True
        else:
            same = len(node.fields) == n and tuple(fv[0::2]) == node.fields
        body = (FLAG_SAMEFIELDS_SIZE + lp_int_entry_size(_delta(i >> 64, node.master >> 64))
                + lp_int_entry_size(_delta(i & U64, node.master & U64)))
        if same:
            body += lp_entries_size(fv, 1, 2) + lp_int_entry_size(n + 3)
        else:
            body += lp_int_entry_size(n) + lp_entries_size(fv, 0, 1) + lp_int_entry_size(2 * n + 4)
        node.body += body
        node.count += 1
        node.last = i
        self.ids.append(i)
        self.entries[i] = fv
        self.entries_added = (self.entries_added + 1) & U64  # uint64_t: wraps to 0
        self.last_id = i
        if len(self.ids) == 1:
            self.first_id = i

    def load_nodes(self, layouts: Iterable[StreamNodeLayout], entries: Sequence[Entry]) -> bool:
        """rdbLoadObject's nodes: the file's listpack nodes kept as they are (each listpack
        goes into the radix tree whole), so the next XADD, XTRIM ~, MEMORY USAGE and
        XINFO see the file's layout: its nodes' master fields, sizes and deleted
        entries. ``entries`` are the live entries of those nodes, in order. The metadata
        (last id, first id, entries added) is the caller's to set. False, with nothing
        kept, when the layouts do not account for the entries (a Stream changed after
        it was decoded): the caller appends them instead."""
        nodes: list[StreamNode] = []
        keys: list[int] = []
        new = StreamNode.__new__
        live = 0
        for (mms, mseq), fields, count, deleted, size, (lms, lseq) in layouts:
            node = new(StreamNode)
            node.master = key = mms << 64 | mseq
            node.fields = fields
            node.count = count
            node.deleted = deleted
            # lp_bytes() = size: the counters' entries are 2 bytes each below 128
            node.body = size - 7 - (2 if count < 128 else lp_int_entry_size(count)) - (
                2 if deleted < 128 else lp_int_entry_size(deleted))
            node.last = lms << 64 | lseq
            nodes.append(node)
            keys.append(key)
            live += count
        if live != len(entries):
            return False
        self.ids, self.entries = live_form(entries)
        self.nodes = nodes
        self.node_keys = keys
        return True

    # -- lookups ----------------------------------------------------------------
    def range_ids(self, start: int, end: int, count: int = 0, rev: bool = False) -> list[int]:
        """IDs in [start, end] ascending (or descending with ``rev``), at most ``count`` (0 = all)."""
        ids = self.ids
        lo = bisect_left(ids, start)
        hi = bisect_right(ids, end)
        if lo >= hi:
            return []
        if rev:
            if count and hi - lo > count:
                lo = hi - count
            return ids[lo:hi][::-1]
        if count and hi - lo > count:
            hi = lo + count
        return ids[lo:hi]

    def last_valid_id(self) -> int:
        return self.ids[-1] if self.ids else 0

    def _node_index(self, i: int) -> int:
        return bisect_right(self.node_keys, i) - 1

    # -- deleting -----------------------------------------------------------------
    def delete(self, i: int) -> bool:
        """streamDeleteItem: mark one live entry deleted; drop its node once empty."""
        fv = self.entries.pop(i, None)
        if fv is None:
            return False
        ids = self.ids
        del ids[bisect_left(ids, i)]
        k = self._node_index(i)
        node = self.nodes[k]
        if node.count == 1:
            del self.nodes[k]
            del self.node_keys[k]
        else:
            node.count -= 1
            node.deleted += 1
        return True

    def _drop_head(self, n: int) -> None:
        ids = self.ids
        ents = self.entries
        for i in ids[:n]:
            del ents[i]
        del ids[:n]

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """streamTrim: by MAXLEN (``maxlen``) or MINID (``minid``); returns entries removed."""
        deleted = 0
        nodes = self.nodes
        while nodes:
            if maxlen is not None and len(self.ids) <= maxlen:
                break
            node = nodes[0]
            entries = node.count
            if limit and deleted + entries > limit:
                break
            if maxlen is not None:
                remove_node = len(self.ids) - entries >= maxlen
            else:
                remove_node = node.last < minid  # type: ignore[operator]
            if remove_node:
                del nodes[0]
                del self.node_keys[0]
                self._drop_head(entries)
                deleted += entries
                continue
            if approx:
                break
            if maxlen is not None:
                k = len(self.ids) - maxlen
            else:
                k = bisect_left(self.ids, minid, 0, entries)  # type: ignore[arg-type]
            if k > 0:
                self._drop_head(k)
                node.count -= k
                node.deleted += k
                deleted += k
            break
        if not self.ids:
            self.first_id = 0
        elif deleted:
            self.first_id = self.ids[0]
        return deleted

    def first_entry_with_tombstones(self) -> int:
        """streamGetEdgeID(s, 1, 0): the first node's first entry, deleted or not."""
        return self.nodes[0].master if self.nodes else MAX_ID

    # -- consumer groups ----------------------------------------------------------
    def range_has_tombstones(self, start: int | None, end: int | None) -> bool:
        md = self.max_deleted
        if not self.ids or md == 0:
            return False
        if self.first_id > md:
            return False
        s = 0 if start is None else start
        e = MAX_ID if end is None else end
        return s <= md <= e

    def estimate_distance(self, i: int) -> int:
        """streamEstimateDistanceFromFirstEverEntry (-1 when unknown); a ``long long`` as
        there, so an entries_added of 2^64-1 reads as -1 (unknown) too."""
        added = self.entries_added
        if not added:
            return 0
        if not self.ids and i <= self.last_id:
            return s64(added)
        if i == self.last_id:
            return s64(added)
        if i > self.last_id:
            return SCG_INVALID_ENTRIES_READ
        md = self.max_deleted
        if md == 0 or md < self.first_id:
            if i < self.first_id:
                return s64(added - len(self.ids))
            if i == self.first_id:
                return s64(added - len(self.ids) + 1)
        return SCG_INVALID_ENTRIES_READ

    def lag(self, g: Group) -> int | None:
        """streamReplyWithCGLag: None when it cannot be known."""
        if not self.entries_added:
            return 0
        if g.entries_read != SCG_INVALID_ENTRIES_READ and not self.range_has_tombstones(g.last_id, None):
            return s64(self.entries_added - g.entries_read)
        er = self.estimate_distance(g.last_id)
        if er != SCG_INVALID_ENTRIES_READ:
            return s64(self.entries_added - er)
        return None

    # -- introspection -------------------------------------------------------------
    def rax_nodes(self) -> int:
        """``rax->numnodes`` for the node keys (16-byte big-endian IDs) of a compressed radix tree."""
        keys = self.node_keys
        if not keys:
            return 1
        seen = {(0, 0)}
        for k in keys:
            seen.add((16, k))
        for a, b in zip(keys, keys[1:]):
            lcp = (128 - (a ^ b).bit_length()) // 8
            seen.add((lcp, a >> (128 - 8 * lcp)))
            sh = 128 - 8 * (lcp + 1)
            seen.add((lcp + 1, a >> sh))
            seen.add((lcp + 1, b >> sh))
        return len(seen)

    def copy_value(self) -> StreamValue:
        """streamDup: entries, node layout, metadata and groups (consumers and PELs shared-NACK)."""
        s = StreamValue()
        s.ids = list(self.ids)
        s.entries = dict(self.entries)
        for n in self.nodes:
            m = StreamNode.__new__(StreamNode)
            m.master, m.fields, m.count, m.deleted, m.body, m.last = (
                n.master, n.fields, n.count, n.deleted, n.body, n.last)
            s.nodes.append(m)
        s.node_keys = list(self.node_keys)
        s.last_id, s.first_id, s.max_deleted, s.entries_added = (
            self.last_id, self.first_id, self.max_deleted, self.entries_added)
        for name, g in self.groups.items():
            ng = s.groups[name] = Group(g.last_id, g.entries_read)
            for cname, c in g.consumers.items():
                ng.consumers[cname] = Consumer(cname, c.seen_time)
            for i in g.pel_ids:
                old = g.pel[i]
                cons = ng.consumers[old.consumer.name] if old.consumer is not None else None
                nack = NACK(cons, old.delivery_time)
                nack.delivery_count = old.delivery_count
                ng.pel_add(i, nack)
                if cons is not None:
                    cons.add(i, nack)
        return s


def _register() -> None:
    """TYPE/OBJECT ENCODING tables of engine.types know the stream class once it is imported."""
    from engine.types import TYPE_NAMES

    TYPE_NAMES[StreamValue] = b"stream"


_register()

__all__ = ["Consumer", "Group", "MAX_ID", "NACK", "SCG_INVALID_ENTRIES_READ", "StreamNode",
           "StreamValue", "U64", "id_bytes", "make_id", "mstime", "s64"]
