"""Memory accounting: the bytes Redis 7.0 would allocate for each live key, and ``used_memory``.

Python has no allocator accounting that means anything to a Redis user (the
interpreter's objects are several times larger than Redis's), so ``used_memory``
is a model: what a 64-bit Redis 7.0 with jemalloc would report for the same
dataset. It is built from the per-key figure ``MEMORY USAGE`` reports
(``objectComputeSize`` + the key's sds + its ``dictEntry``, object.c), using the
size rules of :mod:`rdbtools.memory` (jemalloc size classes, sds headers,
listpack entry sizes) applied to the live value and its *current* encoding, plus
what ``used_memory_overhead`` adds: the expires ``dictEntry`` of volatile keys,
the bucket arrays of each database's two hash tables, a fixed startup figure
and a per-client figure.

Large containers are sampled like ``objectComputeSize`` does: the first
``samples`` elements give an average that is multiplied by the length
(``samples`` 0 = every element, ``MEMORY USAGE ... SAMPLES 0``).

With ``maxmemory`` 0 nothing is tracked (the command path pays nothing) and
INFO estimates the dataset from every key of a small database, or a sample of 16,384
keys of a larger one (kept until 1% of the keys could have changed). With ``maxmemory`` set,
:class:`MemoryAccount` keeps every key's estimate in a per-database
:class:`DbMemory` (updated after each write command for the keys it touched,
and when a key is deleted, expired, evicted or flushed), so ``used_memory`` is
O(1) and eviction can sample keys uniformly (``DbMemory.keys``).
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
from collections.abc import Sized
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from engine.types import EmbStr, HashValue, ListValue, SetValue, ZSetValue
from rdbtools.memory import (
    DICT,
    DICT_ENTRY,
    QUICKLIST,
    QUICKLIST_NODE,
    RAX_NODE,
    RAX_NODE_AUX,
    ROBJ,
    SKIPLIST_HEADER,
    SKIPLIST_NODE,
    STREAM,
    STREAM_CG,
    STREAM_CONSUMER,
    STREAM_ID,
    STREAM_NACK,
    ZSET,
    ZSKIPLIST,
    jemalloc_size,
    rax_usage,
    sds_size,
)
from rdbtools.numbers import string2ll

if TYPE_CHECKING:
    from engine.config import Config
    from engine.keyspace.db import Database, Keyspace
    from engine.keyspace.evict import Evictor
    from engine.propagate import Propagator


class MemoryHost(Protocol):
    """What the accounting and eviction use of the server (it sits higher in the order)."""

    config: Config
    keyspace: Keyspace
    propagator: Propagator
    clients: Sized
    dirty: int
    loading: bool
    loop: asyncio.AbstractEventLoop | None
    memory: MemoryAccount
    evictor: Evictor | None
    pre_command_oom_state: bool
    client_buffers: int
    replication: Any  # buffer_mem(), replicas (engine.replication)

# used_memory of an empty Redis 7.0.15 (jemalloc, 16 databases) before any client
# connects: INFO's used_memory_startup.
STARTUP_BYTES = 876144
REPL_BACKLOG_MIN = 16 * 1024  # CONFIG_REPL_BACKLOG_MIN_SIZE
REPL_BLOCK_HEADER = 64  # sizeof(replBufBlock) + sizeof(listNode): one per 16 KiB of backlog
# One connected client: the client struct, its 16 KiB reply buffer and a small query
# buffer (Redis's own figure moves between ~4 KiB idle and ~40 KiB while reading).
CLIENT_BYTES = 20480
TRACK_SAMPLES = 8  # elements sampled per container by the accounting (first 4 + last 4)
# keys per database INFO sizes when nothing is tracked (all of a smaller one): a mixed
# dataset's per-key sizes spread widely, so ~1% error needs thousands of keys
INFO_SAMPLE_KEYS = 16384
U64 = (1 << 64) - 1
SDS_MAX_PREALLOC = 1024 * 1024
STREAM_LISTPACK_MAX_PRE_ALLOCATE = 4096


def next_power(n: int) -> int:
    """Buckets of a Redis dict holding ``n`` entries (``_dictNextExp``, minimum 4)."""
    return 4 if n <= 4 else 1 << (n - 1).bit_length()


def table_bytes(n: int) -> int:
    """The bucket array of a dict table with ``n`` entries (none while empty)."""
    return 8 * next_power(n) if n else 0


# dictExpandAllowed: below this fill a table does not grow past maxmemory
HASHTABLE_MAX_LOAD_FACTOR = 1.618

class Costs(NamedTuple):
    """Struct sizes of one flavour of the estimate.

    ``MEMORY USAGE`` (objectComputeSize) adds ``sizeof`` of the structs it walks;
    ``used_memory`` (zmalloc_used_memory) sees what jemalloc handed out, so a
    24-byte dictEntry costs 32, a 56-byte dict 64, a 40-byte quicklist or node 48,
    and integers below 10000 are shared objects when no LRU/LFU policy needs a
    per-key access clock (``OBJ_SHARED_INTEGERS``).
    """

    entry: int
    dict: int
    quicklist: int
    node: int
    shared_ints: bool


SIZEOF = Costs(DICT_ENTRY, DICT, QUICKLIST, QUICKLIST_NODE, False)
ALLOCATED = Costs(jemalloc_size(DICT_ENTRY), jemalloc_size(DICT), jemalloc_size(QUICKLIST),
                  jemalloc_size(QUICKLIST_NODE), False)
ALLOCATED_SHARED = ALLOCATED._replace(shared_ints=True)


_SDS = [sds_size(n) for n in range(256)]
_EMBSTR = [jemalloc_size(ROBJ + 4 + n) for n in range(45)]


def string_usage(v: bytes | bytearray, shared_ints: bool = False) -> int:
    """objectComputeSize for a string: int (the robj alone), embstr (one block) or raw."""
    cls = v.__class__
    n = len(v)
    if cls is bytes:
        if n <= 20:
            iv = string2ll(v)
            if iv is not None:
                return 0 if shared_ints and 0 <= iv < 10000 else ROBJ
    elif cls is bytearray:
        if v.__alloc__() <= n + 1:  # made at its size (SETRANGE within it): a raw sds, exact
            return ROBJ + sds_size(n)
        # grown in place (APPEND, SETRANGE past the end): sdsMakeRoomFor's greedy alloc
        return ROBJ + sds_size(n * 2 if n < SDS_MAX_PREALLOC else n + SDS_MAX_PREALLOC)
    if n <= 44:
        return _EMBSTR[n]  # robj + sdshdr8 + bytes + NUL in one block
    return ROBJ + sds_size(n)


def value_usage(v: Any, samples: int = TRACK_SAMPLES, fill: int = -2, costs: Costs = SIZEOF) -> int:
    """``objectComputeSize(key, o, samples)``: the value's bytes, containers sampled.

    Listpack and intset encodings are measured whole (Redis takes their blob's
    allocation) unless ``costs`` is not :data:`SIZEOF` (the accounting samples them
    too, to stay O(samples) per write).
    """
    cls = v.__class__
    if cls is bytes or cls is EmbStr or cls is bytearray:
        return string_usage(v, costs.shared_ints)
    if cls is HashValue:
        return _hash_usage(v, samples, costs)
    if cls is ListValue:
        return _list_usage(v, samples, costs)
    if cls is SetValue:
        return _set_usage(v, samples, costs)
    if cls is ZSetValue:
        return _zset_usage(v, samples, costs)
    if type(v).__name__ == "StreamValue":
        return _stream_usage(v, samples, STREAM_LISTPACK_MAX_PRE_ALLOCATE)
    return ROBJ


def key_usage(key: bytes, v: Any, samples: int = TRACK_SAMPLES, fill: int = -2,
              costs: Costs = SIZEOF) -> int:
    """What ``MEMORY USAGE key SAMPLES samples`` reports: value + key sds + dictEntry."""
    return value_usage(v, samples, fill, costs) + sds_size(len(key)) + costs.entry


def _take(view: Any, n: int, samples: int) -> list[Any]:
    """Elements a sampled estimate looks at: all, or the first and last ``samples/2``
    in insertion order (names and sizes tend to drift along it: field0 … field1999)."""
    if samples <= 0 or n <= samples:
        return list(view)
    half = max(1, samples // 2)
    return list(islice(view, half)) + list(islice(reversed(view), samples - half))


def _hash_usage(h: HashValue, samples: int, costs: Costs) -> int:
    if h.lp is not None and h.wide is None:  # the listpack's own allocation, whatever the samples
        return ROBJ + jemalloc_size(len(h.lp))
    pairs = h.ht.items() if h.ht is not None else h.items()  # a wide listpack is a hashtable to Redis
    n = len(pairs)
    if n == 0:
        return ROBJ
    items = _take(pairs, n, samples)
    per = sum(sds_size(len(f)) + sds_size(len(x)) for f, x in items) + costs.entry * len(items)
    return ROBJ + costs.dict + table_bytes(n) + round(per * n / len(items))


def _set_usage(s: SetValue, samples: int, costs: Costs) -> int:
    n = len(s)
    if n == 0:
        return ROBJ
    if s.is_ is not None:  # the intset's own allocation, whatever the samples
        return ROBJ + jemalloc_size(len(s.is_))
    ht = s.ht if s.ht is not None else s.members()  # a listpack is a hashtable to Redis 7.0
    members = list(ht) if samples <= 0 or n <= samples else list(islice(ht, samples))  # hash order
    per = sum(sds_size(len(m)) for m in members) + costs.entry * len(members)
    return ROBJ + costs.dict + table_bytes(n) + round(per * n / len(members))


def _zset_usage(z: ZSetValue, samples: int, costs: Costs) -> int:
    if z.lp is not None:  # the listpack's own allocation, whatever the samples
        return ROBJ + jemalloc_size(len(z.lp))
    d = z.dict
    n = len(d)
    if n == 0:
        return ROBJ
    items = _take(d.items(), n, samples)
    per = sum(sds_size(len(m)) for m, _ in items) + (costs.entry + SKIPLIST_NODE) * len(items)
    return round(ROBJ + ZSET + ZSKIPLIST + costs.dict + table_bytes(n) + SKIPLIST_HEADER
                 + per * n / len(items))


def _list_usage(lst: ListValue, samples: int, costs: Costs) -> int:
    """objectComputeSize for a quicklist: the first ``samples`` nodes (each a node struct
    and its listpack's, plain element's or LZF block's allocation), scaled to all."""
    nodes = lst.nodes
    n = len(nodes)
    if n == 0:
        return ROBJ + costs.quicklist
    k = n if samples <= 0 else min(samples, n)
    ele = 0
    for node in nodes[:k] if k < n else nodes:
        t = node.__class__
        # a compressed node's block is quicklistLZF: an 8-byte size, then the LZF bytes
        ele += costs.node + jemalloc_size(len(node) if t is not tuple else 8 + len(node[0]))
    return int(ROBJ + costs.quicklist + ele / k * n)  # asize += (double)elesize/samples*len


LAZYFREE_THRESHOLD = 64  # lazyfree.c: a value costing more allocations is freed "in background"


def free_effort(v: Any, fill: int) -> int:
    """lazyfreeGetFreeEffort: the allocations freeing ``v`` costs — quicklist nodes,
    hash-table or skip-list entries, stream rax nodes plus groups times the first
    group's PEL; 1 for anything held in one allocation (strings, listpacks, intsets)."""
    t = v.__class__
    if t is ListValue:
        return len(v.nodes)
    if t is SetValue or t is HashValue:
        return len(v) if v.encoding() == "hashtable" else 1
    if t is ZSetValue:
        return len(v) if v.encoding() == "skiplist" else 1
    if hasattr(v, "rax_nodes"):  # a stream
        effort = v.rax_nodes()
        groups = getattr(v, "groups", None)
        if groups:
            first = next(iter(groups.values()))
            effort += len(groups) * (1 + len(first.pel))
        return effort
    return 1


def _rax_ids(ids: Any) -> int:
    return rax_usage([(i >> 64, i & U64) for i in ids])


def _stream_usage(s: Any, samples: int, prealloc: int) -> int:
    """objectComputeSize for a stream: the rax of nodes, sampled listpacks, group PELs.

    The newest node, when an append made it, was allocated with ``prealloc`` bytes (lpNew
    in streamAppendItem); a loaded, restored or copied one has its exact size."""
    nodes = s.nodes
    nn = len(nodes)
    size = ROBJ + STREAM + nn * STREAM_ID + s.rax_nodes() * (RAX_NODE + RAX_NODE_AUX)
    if nn:
        tail = nodes[-1].lp_bytes()
        size += jemalloc_size(max(tail, prealloc) if s.tail_prealloc else tail)
    if samples <= 0 or nn <= samples:
        size += sum(jemalloc_size(x.lp_bytes()) for x in nodes[:-1])
    else:
        lp = sum(jemalloc_size(x.lp_bytes()) for x in nodes[:samples]) // samples
        size += lp * (nn - 1)
    groups = s.groups.values() if samples <= 0 else islice(s.groups.values(), samples)
    for g in groups:
        size += STREAM_CG + _rax_ids(g.pel_ids) + STREAM_NACK * len(g.pel)
        for cons in g.consumers.values():
            size += STREAM_CONSUMER + len(cons.name) + _rax_ids(cons.pel_ids)
    return size


class DbMemory:
    """One database's key estimates (only while ``maxmemory`` is set).

    ``sizes`` maps a key to ``estimate << 1 | volatile``; ``keys`` and ``vkeys`` are
    lists to sample from uniformly (all keys / keys with a TTL): a key is appended
    when it becomes known (or volatile), and dropped lazily when a sample finds it
    gone (swap with the last entry), so deletions cost nothing here. Both are
    rebuilt when they grow past twice what they should hold.
    """

    __slots__ = ("acct", "sizes", "keys", "vkeys", "buckets", "counts", "tables")

    def __init__(self, acct: MemoryAccount) -> None:
        self.acct = acct
        self.sizes: dict[bytes, int] = {}
        self.keys: list[bytes] = []
        self.vkeys: list[bytes] = []
        self.buckets = 0
        self.counts = (0, 0)  # (keys, volatile keys) when ``buckets`` was computed
        self.tables = [0, 0]  # the main and expires tables' sizes behind ``buckets``

    def update(self, db: Database, key: bytes) -> None:
        v = db.data.get(key)
        if v is None:
            self.forget(db, key)
            return
        vol = 1 if db.expires and key in db.expires else 0
        acct = self.acct
        costs = acct.costs
        kn = len(key)
        if v.__class__ is bytes:  # the common case, without the dispatch of key_usage
            size = string_usage(v, costs.shared_ints) + (_SDS[kn] if kn < 256 else sds_size(kn))
        else:
            size = value_usage(v, TRACK_SAMPLES, acct.fill, costs) + sds_size(kn)
        size += costs.entry * (2 if vol else 1)
        sizes = self.sizes
        old = sizes.get(key)
        if old is None:
            self.keys.append(key)
            if vol:
                self.vkeys.append(key)
        else:
            acct.total -= old >> 1
            if vol and not old & 1:
                self.vkeys.append(key)
        sizes[key] = size << 1 | vol
        acct.total += size

    def forget(self, db: Database, key: bytes) -> None:
        """The key left the database (Database.delete): its estimate goes too."""
        old = self.sizes.pop(key, None)
        if old is not None:
            self.acct.total -= old >> 1
            self.resize(db)

    def resize(self, db: Database) -> None:
        """Bucket arrays of the main and expires tables after the key count changed: a
        power of two over the count (:func:`table_bytes`), except that a table not yet
        filled past HASHTABLE_MAX_LOAD_FACTOR does not grow when its new array would take
        used memory past ``maxmemory`` (dictExpandAllowed: no rehash to evict keys for);
        it grows at a later key once that fits."""
        self.counts = (len(db.data), len(db.expires))
        b = 8 * (self._table(0) + self._table(1))
        if b != self.buckets:
            self.acct.total += b - self.buckets
            self.buckets = b

    def _table(self, i: int) -> int:
        n = self.counts[i]
        size = next_power(n) if n else 0
        held = self.tables[i]
        if held and size > held and n - 1 <= HASHTABLE_MAX_LOAD_FACTOR * held and self.acct.over_after(8 * size):
            size = held
        self.tables[i] = size
        return size

    def reset(self) -> None:
        """FLUSHDB / FLUSHALL: everything is gone."""
        acct = self.acct
        acct.total -= sum(s >> 1 for s in self.sizes.values()) + self.buckets
        self.sizes = {}
        self.keys = []
        self.vkeys = []
        self.buckets = 0
        self.counts = (0, 0)
        self.tables = [0, 0]

    def rebuild(self, db: Database) -> None:
        """Estimate every key again (tracking starts, or a path we do not see changed it)."""
        self.reset()
        for key in list(db.data):
            self.update(db, key)
        self.resize(db)

    def reconcile(self, db: Database) -> None:
        """Take in keys that arrived without a write command we saw (MOVE, loads...)."""
        data = db.data
        sizes = self.sizes
        if len(sizes) != len(data):
            for key in [k for k in sizes if k not in data]:
                self.forget(db, key)
            for key in [k for k in data if k not in sizes]:
                self.update(db, key)
        self.resize(db)

    def sample(self, db: Database, volatile: bool, count: int) -> list[bytes]:
        """``dictGetSomeKeys``: up to ``count`` random live keys (all, or with a TTL)."""
        if volatile:
            lst, live = self.vkeys, db.expires
            if len(lst) > 2 * len(live) + 64:
                lst = self.vkeys = [k for k in live if k in self.sizes]
        else:
            lst, live = self.keys, db.data
            if len(lst) > 2 * len(self.sizes) + 64:
                lst = self.keys = list(self.sizes)
        out: list[bytes] = []
        rnd = random.randrange
        tries = 0
        while len(out) < count and lst and tries < 4 * count + 8:
            tries += 1
            i = rnd(len(lst))
            k = lst[i]
            if k in live and k in self.sizes:
                out.append(k)
            else:  # a ghost: deleted, or no longer volatile
                last = lst.pop()
                if i < len(lst):
                    lst[i] = last
        return out


class MemoryAccount:
    """``used_memory`` for INFO and for ``maxmemory`` (see the module docstring)."""

    def __init__(self, server: MemoryHost) -> None:
        self.server = server
        self.tracking = False
        self.total = 0  # sum of tracked key estimates + bucket arrays, all databases
        self.fill = server.config.list_max_listpack_size
        self.costs = ALLOCATED_SHARED
        self.peak = 0
        self._info_cache: tuple[int, int, int] | None = None  # (dirty, keys, bytes)

    # -- tracking on/off ---------------------------------------------------------
    def configure(self) -> None:
        """Follow the config: list node size, shared integers (not under LRU/LFU policies)."""
        cfg = self.server.config
        self.fill = cfg.list_max_listpack_size
        lru_lfu = cfg.maxmemory and cfg.maxmemory_policy.endswith(("lru", "lfu"))
        self.costs = ALLOCATED if lru_lfu else ALLOCATED_SHARED

    def start(self) -> None:
        """maxmemory became non-zero: estimate every key once (O(keys))."""
        self.tracking = True
        self.total = 0
        self.configure()
        for db in self.server.keyspace.dbs:
            db.mem = DbMemory(self)
            db.mem.rebuild(db)

    def stop(self) -> None:
        self.tracking = False
        self.total = 0
        for db in self.server.keyspace.dbs:
            db.mem = None

    # -- updates from the command path ----------------------------------------------
    def touched(self, db: Database, keys: Any) -> None:
        """After a write command: re-estimate the keys it named."""
        m = db.mem
        if m is None:
            return
        for k in keys:
            m.update(db, k)
        if m.counts != (len(db.data), len(db.expires)):
            m.resize(db)

    def after_write(self, c: Any, cmd: Any, argv: list[bytes]) -> None:
        """call() after a write command that changed the dataset (tracking on). A command
        that also writes to another database (MOVE, COPY ... DB) touches that key itself."""
        db = c.db
        if cmd.first == 1 and cmd.last == 1 and cmd.keys_fn is None:  # one key: argv[1]
            self.touched(db, (argv[1],))
        else:
            self.touched(db, cmd.keys(argv))

    def reconcile(self) -> None:
        for db in self.server.keyspace.dbs:
            if db.mem is not None:
                db.mem.reconcile(db)

    def cron(self) -> None:
        """Each server tick: catch keys changed out of our sight (blocked clients served,
        scripts touching undeclared keys) by re-estimating a few random keys per db."""
        for db in self.server.keyspace.dbs:
            m = db.mem
            if m is None or not db.data:
                continue
            if len(m.sizes) != len(db.data):
                m.reconcile(db)
            for k in m.sample(db, False, 4):
                m.update(db, k)
        u = self.used_memory()
        if u > self.peak:
            self.peak = u

    # -- figures -------------------------------------------------------------------
    def cluster_links_bytes(self) -> int:
        """stat_cluster_links_memory: the cluster bus links and their buffers."""
        cluster = self.server.cluster
        return sum(link.mem_usage() for link in cluster.bus.links) if cluster is not None else 0

    def clients_bytes(self) -> int:
        """The fixed part of each client, plus what their buffers hold (tracked while
        maxmemory or maxmemory-clients is set: engine.execution.clientmem)."""
        return len(self.server.clients) * CLIENT_BYTES + self.server.client_buffers

    def dataset_bytes(self) -> int:
        """Keys + values + expires entries + hash table buckets, all databases."""
        if self.tracking:
            return self.total
        srv = self.server
        dirty = srv.dirty
        nkeys = srv.keyspace.total_keys()
        c = self._info_cache
        if c is not None:
            if c[0] == dirty and c[1] == nkeys:
                return c[2]
            # a sampled figure (a large dataset) stands until 1% of the keys could have changed
            if nkeys > INFO_SAMPLE_KEYS and abs(dirty - c[0]) + abs(nkeys - c[1]) < c[1] // 100:
                return c[2]
        total = 0
        self.configure()
        fill, costs = self.fill, self.costs
        for db in srv.keyspace.dbs:
            data = db.data
            n = len(data)
            if not n:
                continue
            keys = list(data) if n <= INFO_SAMPLE_KEYS else random.sample(list(data), INFO_SAMPLE_KEYS)
            exp = db.expires
            part = 0
            for k in keys:
                part += key_usage(k, data[k], TRACK_SAMPLES, fill, costs)
                if k in exp:
                    part += costs.entry
            total += part * n // len(keys) + table_bytes(n) + table_bytes(len(exp))
        self._info_cache = (dirty, nkeys, total)
        return total

    def used_memory(self) -> int:
        backlog, replicas = self.replication_bytes()
        return STARTUP_BYTES + self.clients_bytes() + self.dataset_bytes() + backlog + replicas

    def replication_bytes(self) -> tuple[int, int]:
        """getMemoryOverheadData's (repl_backlog, clients_slaves): the shared replication
        buffer (``repl_buffer_mem``) is the backlog up to ``repl-backlog-size``, the rest
        the replicas' (stream not yet sent to a slow replica)."""
        repl = self.server.replication
        mem = repl.buffer_mem()
        size = max(self.server.config.repl_backlog_size, REPL_BACKLOG_MIN)
        if repl.replicas and mem > size:
            return size, mem - size
        return mem, 0

    def over_after(self, more: int) -> bool:
        """overMaxmemoryAfterAlloc: whether ``more`` bytes would take what counts for
        eviction past ``maxmemory`` (never without a limit)."""
        limit = self.server.config.maxmemory
        if not limit:
            return False
        return max(self.used_memory() - self.not_counted(), 0) + more > limit

    def not_counted(self) -> int:
        """``freeMemoryGetNotCountedMemory``: the replication buffer past the backlog's
        size (its blocks' headers approximated as Redis does), and the AOF buffer — ours
        is written once per event-loop pass, so it is empty whenever a command starts."""
        mem = self.server.replication.buffer_mem()
        size = max(self.server.config.repl_backlog_size, REPL_BACKLOG_MIN)
        counted = size + (size // 16384 + 1) * REPL_BLOCK_HEADER
        return mem - counted if mem > size and mem > counted else 0

    def db_overheads(self) -> list[tuple[int, int, int]]:
        """(db id, main table, expires table) bytes of each non-empty database: the
        entries and bucket arrays getMemoryOverheadData counts as overhead."""
        out = []
        for db in self.server.keyspace.dbs:
            n, e = len(db.data), len(db.expires)
            if n:
                # getMemoryOverheadData: sizeof(dictEntry) (not its allocation) and a robj per key
                out.append((db.id, n * (DICT_ENTRY + ROBJ) + table_bytes(n), e * DICT_ENTRY + table_bytes(e)))
        return out

    def info_fields(self, lua: dict[str, int]) -> list[tuple[str, object]]:
        """The memory section of INFO (Redis 7.0's field order); ``lua`` holds the
        scripting figures (``used_memory_lua`` ...) the server gets from its scripting."""
        srv = self.server
        cfg = srv.config
        used = self.used_memory()
        backlog, replicas = self.replication_bytes()
        if used > self.peak:
            self.peak = used
        rss = rss_bytes()
        overhead = STARTUP_BYTES + self.clients_bytes() + sum(
            main + expires for _, main, expires in self.db_overheads())
        dataset = max(0, used - overhead)
        net = used - STARTUP_BYTES
        try:
            total_mem = _total_system_memory()
        except (OSError, ValueError):
            total_mem = 0
        return [
            ("used_memory", used), ("used_memory_human", human_bytes(used)),
            ("used_memory_rss", rss), ("used_memory_rss_human", human_bytes(rss)),
            ("used_memory_peak", self.peak), ("used_memory_peak_human", human_bytes(self.peak)),
            ("used_memory_peak_perc", f"{used * 100 / self.peak:.2f}%" if self.peak else "0.00%"),
            ("used_memory_overhead", overhead), ("used_memory_startup", STARTUP_BYTES),
            ("used_memory_dataset", dataset),
            ("used_memory_dataset_perc", f"{dataset * 100 / net:.2f}%" if net > 0 else "0.00%"),
            ("allocator_allocated", used), ("allocator_active", used), ("allocator_resident", rss),
            ("total_system_memory", total_mem), ("total_system_memory_human", human_bytes(total_mem)),
            ("used_memory_lua", lua.get("used_memory_lua", 31744)),
            ("used_memory_lua_human", human_bytes(lua.get("used_memory_lua", 31744))),
            ("used_memory_scripts", lua.get("used_memory_scripts", 0)),
            ("used_memory_scripts_human", human_bytes(lua.get("used_memory_scripts", 0))),
            ("number_of_cached_scripts", lua.get("number_of_cached_scripts", 0)),
            ("number_of_functions", lua.get("number_of_functions", 0)),
            ("number_of_libraries", lua.get("number_of_libraries", 0)),
            ("maxmemory", cfg.maxmemory), ("maxmemory_human", human_bytes(cfg.maxmemory)),
            ("maxmemory_policy", cfg.maxmemory_policy),
            ("allocator_frag_ratio", "1.00"), ("allocator_frag_bytes", 0),
            ("allocator_rss_ratio", f"{rss / used:.2f}" if used else "0.00"),
            ("allocator_rss_bytes", rss - used), ("rss_overhead_ratio", "1.00"), ("rss_overhead_bytes", 0),
            ("mem_fragmentation_ratio", f"{rss / used:.2f}" if used else "0.00"),
            ("mem_fragmentation_bytes", rss - used),
            ("mem_not_counted_for_evict", self.not_counted()), ("mem_replication_backlog", backlog),
            ("mem_clients_slaves", replicas), ("mem_clients_normal", self.clients_bytes()),
            ("mem_cluster_links", self.cluster_links_bytes()), ("mem_aof_buffer", 0), ("mem_allocator", "rdbkit-model"),
            ("active_defrag_running", 0), ("lazyfree_pending_objects", 0),
            ("lazyfreed_objects", self.server.keyspace.lazyfreed_objects),
        ]


def human_bytes(n: int) -> str:
    """bytesToHuman: ``123B``, ``1.50K``, ``2.00M`` ..."""
    if n < 1024:
        return f"{n}B"
    d = float(n)
    for unit in "KMGTP":
        d /= 1024
        if d < 1024 or unit == "P":
            break
    return f"{d:.2f}{unit}"


def _total_system_memory() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes() -> int:
    """The process's resident set (INFO ``used_memory_rss``)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def usage_reply_bytes(srv: Any, key: bytes, value: Any, samples: int) -> int:
    """MEMORY USAGE's figure for one key (the same model the accounting uses)."""
    return key_usage(key, value, samples, srv.config.list_max_listpack_size)


__all__ = [
    "CLIENT_BYTES", "DbMemory", "MemoryAccount", "MemoryHost", "STARTUP_BYTES", "TRACK_SAMPLES", "human_bytes", "key_usage",
    "next_power", "rss_bytes", "string_usage", "table_bytes", "usage_reply_bytes", "value_usage",
]
