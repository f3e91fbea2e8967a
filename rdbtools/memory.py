"""How much memory Redis 7.0 would give a key: the figure ``MEMORY USAGE key SAMPLES 0`` reports.

The estimate mirrors ``objectComputeSize`` and ``memoryCommand`` (object.c) for a
64-bit Redis 7.0 with jemalloc, applied to the state a 7.0 server is in after it
*loads* the record from an RDB file:

* every allocation the C code measures with ``zmalloc_size`` is rounded to its
  jemalloc size class (:func:`jemalloc_size`); fixed structs count their
  ``sizeof`` (robj 16, dictEntry 24, dict 56, quicklist 40, ...), as Redis does;
* the encoding is the one 7.0 picks with its default thresholds (docs/formats.md
  §10: hash ≤ 512 entries and values ≤ 64 bytes → listpack, zset ≤ 128/64 →
  listpack, set of ≤ 512 canonical integers → intset, lists are quicklists of
  8 KiB listpack nodes), whatever encoding the input file used;
* listpack and intset blobs are sized entry by entry with the exact rules of
  ``lpEncodeGetType`` / ``intsetAdd`` (a test checks them against
  ``encode_listpack`` / ``encode_intset``); zset scores are written as 7.0's
  ``zzlInsertAt`` does (integers when integral, else ``%.17g``), except zsets
  read from a ziplist (≤ 6.2 files), whose score text 7.0 keeps as it was;
* skiplist nodes take their level at random in Redis; the expected size class
  over ``P(level = k) = 0.75 · 0.25^(k-1)`` is used instead;
* hash tables have ``next_power(n)`` buckets (dictExpand on load, min 4);
* streams are rebuilt into nodes of ≤ 100 entries / 4096 bytes (XADD's rule) to
  size their listpacks and the rax of node IDs; entries deleted inside nodes
  are not in the logical record, so their number is guessed from
  ``entries_added`` (see :meth:`MemoryModel._stream_nodes`).

``MEMORY USAGE`` does not count the key's entry in the expires dict; it is
returned separately as :attr:`MemoryEstimate.expiry_overhead` (the report's
``size_in_bytes`` includes it, as redis-rdb-tools' memory profiler does).
Module values are opaque: their raw payload length stands in for their size.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .encodings.listpack import lp_entry_size, lp_int_entry_size
from .model import Record, Stream
from .numbers import double_to_int, g17, string2ll

# sizeof() of the structs objectComputeSize adds (64-bit Redis 7.0)
ROBJ = 16
DICT_ENTRY = 24
DICT = 56
QUICKLIST = 40
QUICKLIST_NODE = 40
ZSET = 16
ZSKIPLIST = 32
STREAM = 80
STREAM_ID = 16
STREAM_CG = 40
STREAM_CONSUMER = 24
STREAM_NACK = 24
RAX_NODE = 4
RAX_NODE_AUX = 8 * 30  # streamRadixTreeMemoryUsage's fixed per-node overhead
ZSKIPLIST_MAXLEVEL = 32
LP_HDR_SIZE = 6
INTSET_HDR = 8


@dataclass(frozen=True, slots=True)
class MemoryPolicy:
    """The encoding thresholds of the server being modelled (7.0 defaults)."""

    hash_max_listpack_entries: int = 512
    hash_max_listpack_value: int = 64
    zset_max_listpack_entries: int = 128
    zset_max_listpack_value: int = 64
    set_max_intset_entries: int = 512
    list_max_listpack_size: int = -2
    stream_node_max_bytes: int = 4096
    stream_node_max_entries: int = 100


DEFAULT_POLICY = MemoryPolicy()


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """One key's estimate; ``size`` is what MEMORY USAGE would say."""

    size: int
    expiry_overhead: int
    encoding: str
    num_elements: int
    len_largest_element: int

    @property
    def total(self) -> int:
        return self.size + self.expiry_overhead


def jemalloc_size(n: int) -> int:
    """The jemalloc size class serving a request of ``n`` bytes (16-byte quantum).

    Classes: 8, then multiples of 16 up to 128, then four per doubling
    (160, 192, 224, 256, 320, ...), the same spacing for large sizes.
    """
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15
    step = 1 << ((n - 1).bit_length() - 3)
    return (n + step - 1) & ~(step - 1)


def sds_size(n: int) -> int:
    """``sdsZmallocSize`` of an exact-length sds of ``n`` bytes (sdsnewlen's header choice)."""
    if n < 32:
        hdr = 1 if n else 3  # SDS_TYPE_5, but an empty sds gets SDS_TYPE_8
    elif n < 256:
        hdr = 3
    elif n < 65536:
        hdr = 5
    elif n < 1 << 32:
        hdr = 9
    else:
        hdr = 17
    return jemalloc_size(hdr + n + 1)


def _next_power(n: int) -> int:
    """Buckets of a dict expanded for ``n`` entries (_dictNextExp, minimum 4)."""
    return 4 if n <= 4 else 1 << (n - 1).bit_length()


def listpack_size(items: list[bytes]) -> int:
    """``lpBytes`` of a listpack holding ``items`` (header + entries + end byte)."""
    return LP_HDR_SIZE + 1 + sum(map(lp_entry_size, items))


def d2string(score: float, legacy: bool = False) -> bytes:
    """A score's text in a zset listpack, as the server that built it wrote it.

    7.0 (``legacy=False``): integral doubles in the int64 range become integers
    (so ``-0.0`` is ``0``); ≤ 6.2 (``legacy``, ziplists, which 7.0 converts
    entry by entry when it loads them): ``-0``/``0`` for zeros, integers only
    within ±2^52; everything else is ``%.17g``.
    """
    if score != score:
        return g17(score)
    if score in (_INF, _NINF):
        return b"inf" if score > 0 else b"-inf"
    if legacy:
        if score == 0:
            return b"-0" if math.copysign(1.0, score) < 0 else b"0"
        iv = double_to_int(score)
        if iv is not None and -4503599627370495 < iv < 4503599627370496:
            return b"%d" % iv
        return b"%.17g" % score
    iv = double_to_int(score)
    if iv is not None:
        return b"%d" % iv
    return b"%.17g" % score


_INF = float("inf")
_NINF = float("-inf")


def _skiplist_node_expectation() -> float:
    """Expected ``zmalloc_size`` of a skiplist node (zslRandomLevel, p = 0.25)."""
    total = 0.0
    p = 0.75
    for level in range(1, ZSKIPLIST_MAXLEVEL + 1):
        prob = p * 0.25 ** (level - 1) if level < ZSKIPLIST_MAXLEVEL else 0.25 ** (level - 1)
        total += prob * jemalloc_size(24 + 16 * level)
    return total


SKIPLIST_NODE = _skiplist_node_expectation()
SKIPLIST_HEADER = jemalloc_size(24 + 16 * ZSKIPLIST_MAXLEVEL)


def _dict_size(n: int) -> int:
    return DICT + 8 * _next_power(n)


class MemoryModel:
    """Estimator for one server configuration; :meth:`estimate` sizes a record."""

    def __init__(self, policy: MemoryPolicy = DEFAULT_POLICY) -> None:
        self.policy = policy
        fill = policy.list_max_listpack_size
        self._node_limit = (4096 << (-fill - 1)) if -5 <= fill <= -1 else 8192
        self._node_count = fill if fill > 0 else 0

    def estimate(self, rec: Record) -> MemoryEstimate:
        if rec.type == "zset" and rec.encoding == "ziplist":
            size, enc, count, largest = self._zset(rec.value, legacy=True)
        else:
            size, enc, count, largest = self.value_size(rec.type, rec.value)
        size += sds_size(len(rec.key)) + DICT_ENTRY
        expiry = DICT_ENTRY if rec.expire_ms is not None else 0
        return MemoryEstimate(int(size), expiry, enc, count, largest)

    def value_size(self, type_name: str, value: Any) -> tuple[float, str, int, int]:
        """``(bytes, encoding, num_elements, len_largest_element)`` of one value."""
        fn: Callable[[Any], tuple[float, str, int, int]] | None = getattr(
            self, "_" + type_name, None
        )
        if fn is None:
            raise ValueError(f"unknown type {type_name!r}")
        return fn(value)

    # ------------------------------------------------------------ by type

    def _string(self, v: bytes) -> tuple[float, str, int, int]:
        n = len(v)
        if n <= 20 and string2ll(v) is not None:
            return ROBJ, "int", n, n
        if n <= 44:  # OBJ_ENCODING_EMBSTR_SIZE_LIMIT: robj + sdshdr8 + bytes + NUL in one block
            return jemalloc_size(ROBJ + 3 + n + 1), "embstr", n, n
        return ROBJ + sds_size(n), "raw", n, n

    def _list(self, items: list[bytes]) -> tuple[float, str, int, int]:
        # _quicklistNodeAllowInsert (7.0): a node takes the element while its size
        # estimate stays within the fill limit; sizes are the listpacks' lpBytes.
        limit = self._node_limit
        max_count = self._node_count
        total = ROBJ + QUICKLIST
        node_bytes = 0  # lpBytes of the current node, 0 = no node yet
        node_count = 0
        largest = 0
        for s in items:
            n = len(s)
            if n > largest:
                largest = n
            e = lp_entry_size(s)
            if node_bytes:
                over = (1 if n < 254 else 5) + (1 if n < 64 else 2 if n < 16384 else 5)
                new_sz = node_bytes + n + over
                if new_sz <= limit or (new_sz <= 8192 and node_count < max_count):
                    node_bytes += e
                    node_count += 1
                    continue
                total += QUICKLIST_NODE + jemalloc_size(node_bytes)
            node_bytes = LP_HDR_SIZE + 1 + e
            node_count = 1
        if node_bytes:
            total += QUICKLIST_NODE + jemalloc_size(node_bytes)
        return total, "quicklist", len(items), largest

    def _set(self, members: list[bytes]) -> tuple[float, str, int, int]:
        n = len(members)
        largest = max(map(len, members), default=0)
        ints = []
        if n <= self.policy.set_max_intset_entries:
            for m in members:
                v = string2ll(m) if len(m) <= 20 else None
                if v is None:
                    break
                ints.append(v)
        if n and len(ints) == n:
            lo, hi = min(ints), max(ints)
            width = 2 if -32768 <= lo and hi <= 32767 else 4 if -(1 << 31) <= lo and hi < (1 << 31) else 8
            return ROBJ + jemalloc_size(INTSET_HDR + n * width), "intset", n, largest
        elems = sum(DICT_ENTRY + sds_size(len(m)) for m in members)
        return ROBJ + _dict_size(n) + elems, "hashtable", n, largest

    def _zset(
        self, pairs: list[tuple[bytes, float]], legacy: bool = False
    ) -> tuple[float, str, int, int]:
        n = len(pairs)
        largest = max((len(m) for m, _ in pairs), default=0)
        p = self.policy
        if n <= p.zset_max_listpack_entries and largest <= p.zset_max_listpack_value:
            lp = LP_HDR_SIZE + 1
            for m, s in pairs:
                lp += lp_entry_size(m) + lp_entry_size(d2string(s, legacy))
            return ROBJ + jemalloc_size(lp), "listpack", n, largest
        size: float = ROBJ + ZSET + ZSKIPLIST + _dict_size(n) + SKIPLIST_HEADER
        size += sum(sds_size(len(m)) for m, _ in pairs) + n * (DICT_ENTRY + SKIPLIST_NODE)
        return size, "skiplist", n, largest

    def _hash(self, pairs: list[tuple[bytes, bytes]]) -> tuple[float, str, int, int]:
        n = len(pairs)
        largest = 0
        for f, v in pairs:
            if len(f) > largest:
                largest = len(f)
            if len(v) > largest:
                largest = len(v)
        p = self.policy
        if n <= p.hash_max_listpack_entries and largest <= p.hash_max_listpack_value:
            lp = LP_HDR_SIZE + 1
            for f, v in pairs:
                lp += lp_entry_size(f) + lp_entry_size(v)
            return ROBJ + jemalloc_size(lp), "listpack", n, largest
        elems = sum(DICT_ENTRY + sds_size(len(f)) + sds_size(len(v)) for f, v in pairs)
        return ROBJ + _dict_size(n) + elems, "hashtable", n, largest

    def _stream(self, s: Stream) -> tuple[float, str, int, int]:
        nodes, lp_total, largest = self._stream_nodes(s)
        size = ROBJ + STREAM + rax_usage(nodes) + lp_total
        for g in s.groups:
            size += STREAM_CG + rax_usage([p.id for p in g.pending]) + STREAM_NACK * len(g.pending)
            for c in g.consumers:
                size += STREAM_CONSUMER + len(c.name) + rax_usage(list(c.pending))
        return size, "stream", len(s.entries), largest

    def _stream_nodes(self, s: Stream) -> tuple[list[tuple[int, int]], int, int]:
        """Master IDs and summed listpack allocations of the nodes XADD would have built.

        Deleted entries stay inside their node until the whole node is empty.
        The record only has the live ones; when the file says how many were ever
        added (stream v2+), the deleted ones are assumed to have been trimmed from
        the head, so ``deleted % capacity`` dead entries shaped like the first live
        one are put in front (``capacity``: how many such entries fill a node; a
        ``MAXLEN ~`` trim frees whole nodes and leaves none), and nodes left
        without live entries are dropped, as Redis frees them.
        """
        p = self.policy
        max_bytes = p.stream_node_max_bytes or (1 << 30)
        max_entries = p.stream_node_max_entries
        entries = list(s.entries)
        dead = 0
        if entries and s.entries_added is not None and s.entries_added > len(entries):
            dead = (s.entries_added - len(entries)) % self._node_capacity(entries[0][1])
            entries = [entries[0]] * dead + entries
        masters: list[tuple[int, int]] = []
        lp_total = 0
        largest = 0
        lp = 0  # lpBytes of the open node, 0 = none
        count = 0  # entries in the open node, live and deleted
        live = 0
        master_id = (0, 0)
        master_fields: tuple[bytes, ...] = ()
        for i, (eid, fields) in enumerate(entries):
            names = tuple(f for f, _ in fields)
            tot = 0
            for f, v in fields:
                tot += len(f) + len(v)
                if len(f) > largest:
                    largest = len(f)
                if len(v) > largest:
                    largest = len(v)
            if lp and (lp + tot >= max_bytes or (max_entries and count >= max_entries)):
                if live:
                    lp_total += jemalloc_size(lp)
                    masters.append(master_id)
                lp = 0
            if not lp:
                master_id = eid
                master_fields = names
                count = live = 0
                # live count, deleted count, num-fields, fields..., master terminator 0
                lp = LP_HDR_SIZE + 1 + 2 + 2 + lp_int_entry_size(len(names)) + 2
                lp += sum(lp_entry_size(f) for f in names)
            count += 1
            if i >= dead:  # the node's live count is rewritten on every append
                lp += lp_int_entry_size(live + 1) - lp_int_entry_size(live)
                live += 1
            ms_diff = eid[0] - master_id[0]
            seq_diff = eid[1] - master_id[1]
            body = 2 + lp_int_entry_size(ms_diff) + lp_int_entry_size(seq_diff)
            if names == master_fields:
                body += sum(lp_entry_size(v) for _, v in fields)
                lp_count = len(fields) + 3
            else:
                body += lp_int_entry_size(len(fields))
                body += sum(lp_entry_size(f) + lp_entry_size(v) for f, v in fields)
                lp_count = 2 * len(fields) + 4
            lp += body + lp_int_entry_size(lp_count)
        if lp and live:
            lp_total += jemalloc_size(lp)
            masters.append(master_id)
        return masters, lp_total, largest

    def _node_capacity(self, fields: tuple[tuple[bytes, bytes], ...]) -> int:
        """How many entries with these fields XADD puts in one node."""
        p = self.policy
        max_bytes = p.stream_node_max_bytes or (1 << 30)
        max_entries = p.stream_node_max_entries or (1 << 30)
        tot = sum(len(f) + len(v) for f, v in fields)
        master = LP_HDR_SIZE + 1 + 2 + 2 + lp_int_entry_size(len(fields)) + 2
        master += sum(lp_entry_size(f) for f, _ in fields)
        entry = 2 + 2 + 2 + sum(lp_entry_size(v) for _, v in fields) + 2
        lp = master + entry
        count = 1
        while count < max_entries and lp + tot < max_bytes:
            lp += entry
            count += 1
        return count

    def _module(self, v: Any) -> tuple[float, str, int, int]:
        return ROBJ + len(v.raw), "module", 1, len(v.raw)


def rax_usage(ids: list[tuple[int, int]]) -> int:
    """``streamRadixTreeMemoryUsage`` of a rax keyed by these stream IDs (big-endian 128-bit)."""
    keys = sorted({ms.to_bytes(8, "big") + seq.to_bytes(8, "big") for ms, seq in ids})
    return len(keys) * STREAM_ID + rax_nodes(keys) * (RAX_NODE + RAX_NODE_AUX)


def rax_nodes(keys: list[bytes]) -> int:
    """Nodes of a Redis rax holding these sorted, equal-length, distinct keys.

    Each maximal run without a branch is one compressed node, each branch point
    one node, each key end one leaf; an empty rax is its head node alone.
    """
    if not keys:
        return 1
    count = 0
    stack = [(0, len(keys), 0)]  # key range [lo, hi) sharing a prefix of length depth
    while stack:
        lo, hi, depth = stack.pop()
        first = keys[lo]
        width = len(first)
        if depth >= width:
            count += 1  # leaf
            continue
        last = keys[hi - 1]
        common = depth
        while common < width and first[common] == last[common]:
            common += 1
        if common > depth:
            count += 1  # compressed node for first[depth:common]
            stack.append((lo, hi, common))
            continue
        count += 1  # branching node
        i = lo
        while i < hi:
            c = keys[i][depth]
            j = i + 1
            while j < hi and keys[j][depth] == c:
                j += 1
            stack.append((i, j, depth + 1))
            i = j
    return count


_K = TypeVar("_K")


def _tally(table: dict[_K, list[int]], key: _K, size: int) -> None:
    """Count one key of ``size`` bytes in ``table[key]``, a ``[keys, bytes]`` pair."""
    slot = table.get(key)
    if slot is None:
        table[key] = [1, size]
    else:
        slot[0] += 1
        slot[1] += size


class MemorySummary:
    """Totals for the report: per type, per db, the biggest keys, a key-prefix histogram.

    Memory stays bounded: the top list is a heap of ``top`` entries and the
    prefix table stops taking new prefixes after ``max_prefixes`` (the rest
    are counted under ``None`` with the keys that have no separator).
    """

    def __init__(
        self, top: int = 10, separator: bytes = b":", depth: int = 1, max_prefixes: int = 100_000
    ) -> None:
        self.top_n = top
        self.separator = separator
        self.depth = depth
        self.max_prefixes = max_prefixes
        self.keys = 0
        self.bytes = 0
        self.by_type: dict[str, list[int]] = {}
        self.by_db: dict[int, list[int]] = {}
        self.prefixes: dict[bytes | None, list[int]] = {}
        self._heap: list[tuple[int, int, int, bytes, str, str, int]] = []
        self._seq = 0

    def add(self, rec: Record, est: MemoryEstimate) -> None:
        size = est.total
        self.keys += 1
        self.bytes += size
        _tally(self.by_type, rec.type, size)
        _tally(self.by_db, rec.db, size)
        prefix = self.prefix_of(rec.key)
        slot = self.prefixes.get(prefix)
        if slot is None:
            if len(self.prefixes) >= self.max_prefixes:
                prefix = None
                slot = self.prefixes.setdefault(None, [0, 0])
            else:
                slot = self.prefixes[prefix] = [0, 0]
        slot[0] += 1
        slot[1] += size
        if self.top_n > 0:
            self._seq += 1
            heap = self._heap
            if len(heap) < self.top_n:
                heapq.heappush(heap, (size, -self._seq, rec.db, rec.key, rec.type, est.encoding,
                                      est.num_elements))
            elif size > heap[0][0]:  # an equal size never displaces the earlier key
                heapq.heapreplace(heap, (size, -self._seq, rec.db, rec.key, rec.type, est.encoding,
                                         est.num_elements))

    def prefix_of(self, key: bytes) -> bytes | None:
        parts = key.split(self.separator, self.depth)
        if len(parts) <= self.depth:
            return None
        return self.separator.join(parts[: self.depth]) + self.separator

    def top_keys(self) -> list[tuple[int, int, bytes, str, str, int]]:
        """``(size, db, key, type, encoding, num_elements)``, biggest first."""
        items = sorted(self._heap, reverse=True)
        return [(s, db, k, t, e, n) for s, _, db, k, t, e, n in items]

    def top_prefixes(self, n: int) -> list[tuple[bytes | None, int, int]]:
        """``(prefix, keys, bytes)`` by bytes, biggest first."""
        rows = sorted(self.prefixes.items(), key=lambda kv: (-kv[1][1], kv[0] or b""))
        return [(p, c, b) for p, (c, b) in rows[:n]]


_DEFAULT = MemoryModel()


def estimate(rec: Record, model: MemoryModel | None = None) -> MemoryEstimate:
    """The memory estimate of one record under Redis 7.0's default configuration."""
    return (model or _DEFAULT).estimate(rec)


__all__ = [
    "DEFAULT_POLICY",
    "MemoryEstimate",
    "MemoryModel",
    "MemoryPolicy",
    "MemorySummary",
    "d2string",
    "estimate",
    "jemalloc_size",
    "listpack_size",
    "lp_entry_size",
    "rax_nodes",
    "rax_usage",
    "sds_size",
]
