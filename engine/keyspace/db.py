"""Databases: ``data`` (key → value), ``expires`` (key → absolute ms) and access hints.

Lookups expire keys lazily (``expireIfNeeded``: a key is expired once the clock
is past its deadline). The clock is the keyspace's: :meth:`Keyspace.now_ms` is
Redis's ``mstime()`` (what relative TTLs are added to, what TTL subtracts), from a
time source given to the keyspace (the wall clock unless a test gives another);
lookups compare deadlines with :attr:`Keyspace.lookup_ms`, which returns 0 — no
deadline is past — while the dataset loads (``keyIsExpired`` returns 0 while
``server.loading``) and while a replica applies its master's stream
(``expireIfNeeded`` for the master client): see :meth:`Keyspace.expiry_held`.
``lru`` holds per-key access information for OBJECT
IDLETIME/FREQ: the LRU clock (seconds) under LRU/no-eviction policies, or the
LFU word ``(minutes << 8) | counter`` when an LFU policy is configured, as
``updateLFU``/``LFULogIncr`` do.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from engine.notify import NOTIFY_EXPIRED, NOTIFY_KEY_MISS, NOTIFY_NEW, notify
from engine.types.hashes import HashValue
from rdbtools.snapshot import lfu_decayed

if TYPE_CHECKING:
    from engine.config import Config
    from engine.keyspace.memory import DbMemory
    from engine.latency import LatencyMonitor
    from engine.propagate import Propagator

LFU_INIT_VAL = 5


def wall_ms() -> int:
    """``mstime()``: milliseconds since the epoch, the keyspace's default time source."""
    return int(time.time() * 1000)


def _nothing_expires() -> int:
    """A lookup clock before every deadline (they are all >= 0)."""
    return 0


def _not_paused() -> bool:
    return False


class Database:
    __slots__ = ("id", "ks", "data", "expires", "lru", "blocking", "watched", "clock", "lfu", "hits", "misses",
                 "scan_keys", "scan_hashes", "avg_ttl", "expire_snapshot", "expire_pos", "mem", "hexpires")

    def __init__(self, index: int, ks: Keyspace) -> None:
        self.id = index
        self.ks = ks
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, int] = {}
        self.lru: dict[bytes, int] = {}
        self.blocking: dict[bytes, list[Any]] = {}  # key → blocked clients (FIFO)
        # key → {client WATCHing it: whether the key was already expired at WATCH time}
        self.watched: dict[bytes, dict[Any, bool]] = {}
        self.clock = ks.lru_clock
        self.lfu = ks.lfu
        self.hits = 0
        self.misses = 0
        self.scan_keys: list[bytes] | None = None
        self.scan_hashes: list[int] | None = None
        self.avg_ttl = 0
        self.expire_snapshot: list[bytes] = []
        self.expire_pos = 0
        self.mem: DbMemory | None = None  # per-key memory estimates, only while maxmemory is set
        # hashes with field TTLs → (the hash, no field due before): engine.keyspace.hfe
        self.hexpires: dict[bytes, tuple[Any, int]] = {}

    # -- lookups ------------------------------------------------------------
    def get(self, key: bytes) -> Any:
        """lookupKey: the live value or None; expires lazily and records the access."""
        v = self.data.get(key)
        if v is None:
            return None
        exp = self.expires
        if exp:
            when = exp.get(key)
            if when is not None and self.ks.lookup_ms() > when:
                self.expire_key(key)
                return None
        if self.lfu:
            self.lfu_touch(key)
        else:
            self.lru[key] = self.clock
        return v

    def read(self, key: bytes) -> Any:
        """lookupKeyRead: get() plus the keyspace hit/miss counters INFO reports (inlined: hot)."""
        v = self.data.get(key)
        if v is None:
            self.misses += 1
            if self.ks.config.notify_keyspace_events & NOTIFY_KEY_MISS:
                notify(self, NOTIFY_KEY_MISS, b"keymiss", key)
            return None
        exp = self.expires
        if exp:
            when = exp.get(key)
            if when is not None and self.ks.lookup_ms() > when:
                self.expire_key(key)
                self.misses += 1
                notify(self, NOTIFY_KEY_MISS, b"keymiss", key)
                return None
        if self.lfu:
            self.lfu_touch(key)
        else:
            self.lru[key] = self.clock
        self.hits += 1
        return v

    def read_notouch(self, key: bytes, notify_miss: bool = True) -> Any:
        """lookupKeyReadWithFlags(LOOKUP_NOTOUCH): hit/miss counted, access time and LFU
        counter left alone (EXISTS, TYPE, TTL, OBJECT must not make a key look recently
        used); OBJECT adds LOOKUP_NONOTIFY (``notify_miss`` False)."""
        v = self.data.get(key)
        if v is not None:
            when = self.expires.get(key) if self.expires else None
            if when is None or self.ks.lookup_ms() <= when:
                self.hits += 1
                return v
            self.expire_key(key)
        self.misses += 1
        if notify_miss:
            notify(self, NOTIFY_KEY_MISS, b"keymiss", key)
        return None

    def peek(self, key: bytes) -> Any:
        """Like get() but without touching access metadata (OBJECT, TYPE-less reads)."""
        v = self.data.get(key)
        if v is None:
            return None
        exp = self.expires
        if exp:
            when = exp.get(key)
            if when is not None and self.ks.lookup_ms() > when:
                self.expire_key(key)
                return None
        return v

    def exists(self, key: bytes) -> bool:
        return self.peek(key) is not None

    # -- writes -------------------------------------------------------------
    def set(self, key: bytes, value: Any, keepttl: bool = False, looked_up: bool = False) -> None:
        """setKey: store, dropping any TTL unless ``keepttl``.

        Like setKey's ``lookupKeyWrite``, a logically expired key is expired first
        (and its DEL propagated before the command), so KEEPTTL cannot revive it.
        ``looked_up``: the caller has just looked the key up (SETKEY_ALREADY_EXIST /
        SETKEY_DOESNT_EXIST): no second touch, an existing key keeps its LFU word as
        dbOverwrite does.
        """
        exp = self.expires
        if exp:
            when = exp.get(key)
            if when is not None:
                if self.ks.lookup_ms() > when:
                    self.expire_key(key)
                    exp.pop(key, None)  # still there while clients are paused: logically gone
                elif not keepttl:
                    del exp[key]
        data = self.data
        if key in data:  # setKey: lookupKeyWrite touches an existing key
            if not self.lfu:
                self.lru[key] = self.clock
            elif not looked_up:
                self.lfu_touch(key)
            data[key] = value
            if value.__class__ is HashValue and value.fx:
                self.track_hfe(key, value)
        else:
            self.add(key, value)

    def set_pairs(self, argv: list[bytes]) -> None:
        """:meth:`set` of each key/value pair of ``argv[1:]``, in order (MSET's loop).

        While no LFU counter, keyspace event or TTL of these keys is involved, setKey
        does the same for a new key as for an old one (the value stored, the access
        clock written), which one loop does without a call per pair."""
        exp = self.expires
        it = iter(argv)
        next(it)
        if not self.lfu and not self.ks.config.notify_keyspace_events and (not exp or exp.keys().isdisjoint(argv)):
            data = self.data
            lru = self.lru
            clock = self.clock
            for key in it:
                data[key] = next(it)
                lru[key] = clock
            return
        s = self.set
        for key in it:
            s(key, next(it))

    def replace(self, key: bytes, value: Any) -> None:
        """dbOverwrite: a new value for an existing key (just looked up), keeping its TTL
        and, under an LFU policy, its LFU word; else the new value is as old as now."""
        self.data[key] = value
        if value.__class__ is HashValue and value.fx:
            self.track_hfe(key, value)
        if not self.lfu:
            self.lru[key] = self.clock

    def add(self, key: bytes, value: Any) -> None:
        """dbAdd: the key is known to be absent (a new key starts at LFU_INIT_VAL)."""
        self.data[key] = value
        if value.__class__ is HashValue and value.fx:  # RESTORE, COPY, MOVE, RENAME
            self.track_hfe(key, value)
        if self.lfu:
            self.lru[key] = (self.ks.lfu_minutes() << 8) | LFU_INIT_VAL
        else:
            self.lru[key] = self.clock
        if self.ks.config.notify_keyspace_events & NOTIFY_NEW:
            notify(self, NOTIFY_NEW, b"new", key)

    def delete(self, key: bytes, lazy: bool = False) -> bool:
        """dbSyncDelete, or dbAsyncDelete when ``lazy`` (UNLINK, the lazyfree-lazy-*
        options): the value is dropped at once either way; a lazy delete of a value
        costing more than LAZYFREE_THRESHOLD allocations counts in ``lazyfreed_objects``."""
        v = self.data.pop(key, None)
        if v is None:
            return False
        if lazy:
            self.ks.free_async(v)
        if self.expires:
            self.expires.pop(key, None)
        self.lru.pop(key, None)
        if self.mem is not None:
            self.mem.forget(self, key)
        return True

    def track_hfe(self, key: bytes, h: HashValue, at: int | None = None) -> None:
        """The hash at ``key`` holds field TTLs: the active cycle visits it from its earliest
        one on (``at``: a TTL just set, lowering what was registered for it)."""
        prev = self.hexpires.get(key)
        if at is None or prev is None or prev[0] is not h:
            due = min(h.fx.values()) if h.fx else 0
            if at is not None:
                due = min(due, at)
        else:
            due = min(prev[1], at)
        self.hexpires[key] = (h, due)

    def expire_key(self, key: bytes) -> None:
        """deleteExpiredKeyAndPropagate: drop the key and log a DEL for it.

        A read-only replica only reports the key missing: its master's DEL removes it.
        So does any server while clients are paused (expireIfNeeded's
        checkClientPauseTimeoutAndReturnIfPaused): the dataset stays as it is."""
        ks = self.ks
        if ks.replica_ro or ks.paused():
            return
        t0 = time.perf_counter_ns()
        self.delete(key, ks.config.lazyfree_lazy_expire)
        if ks.latency is not None:
            ks.latency.add_if_needed("expire-del", (time.perf_counter_ns() - t0) // 1_000_000)
        ks.expired_keys += 1
        notify(self, NOTIFY_EXPIRED, b"expired", key)
        self.signal_modified(key)
        p = self.ks.propagator
        if p is not None and p.targets:
            p.ops.append((self.id, [b"UNLINK" if self.ks.config.lazyfree_lazy_expire else b"DEL", key]))

    def signal_modified(self, key: bytes, modifier: Any = None) -> None:
        """signalModifiedKey, the one place a changed key is announced: its WATCHers will
        fail their EXEC, the clients caching it (client-side caching, ``engine.tracking``)
        are told. ``modifier`` is the client whose command changed it (None: expiry,
        eviction)."""
        if self.watched:
            self.touch_watched(key)
        invalidate = self.ks.invalidate
        if invalidate is not None:
            invalidate(key, modifier)

    # -- WATCH (multi.c) -------------------------------------------------------------
    def key_is_expired(self, key: bytes, expires: dict[bytes, int] | None = None) -> bool:
        """keyIsExpired: the key has a deadline already past (never while loading)."""
        when = (self.expires if expires is None else expires).get(key)
        return when is not None and not self.ks.loading and self.ks.lookup_ms() > when

    def touch_watched(self, key: bytes) -> None:
        """touchWatchedKey: the clients WATCHing ``key`` will fail their EXEC — except
        those that watched it already expired and now find it deleted (no logical
        change: their flag is cleared). A watcher of an expired key that still exists
        stops the walk, as in Redis."""
        clients = self.watched.get(key)
        if not clients:
            return
        for cl, expired in list(clients.items()):
            if expired:
                if key not in self.data:
                    clients[cl] = False
                    continue
                break
            cl.dirty_cas = True

    def touch_all_watched(self, replaced_with: Database | None = None) -> None:
        """touchAllWatchedKeysInDb, before this database is emptied (FLUSHDB/FLUSHALL,
        a reload) or swapped with ``replaced_with`` (SWAPDB, a full sync): a watched key
        is touched when it exists here or in the replacement, with the same care for
        keys that were already expired when WATCHed."""
        other = replaced_with.data if replaced_with is not None else None
        for key, clients in self.watched.items():
            here = key in self.data
            there = other is not None and key in other
            if not (here or there):
                continue
            for cl, expired in list(clients.items()):
                if expired:
                    if not there:
                        clients[cl] = False  # the expired key is gone: no logical change
                        continue
                    if replaced_with.key_is_expired(key):  # type: ignore[union-attr]
                        continue
                elif not here and replaced_with is not None and replaced_with.key_is_expired(key):
                    clients[cl] = True  # a missing key replaced by an expired one
                    continue
                cl.dirty_cas = True

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms

    def get_expire(self, key: bytes) -> int | None:
        return self.expires.get(key) if self.expires else None

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def clear(self) -> int:
        n = len(self.data)
        self.data = {}
        self.expires = {}
        self.lru = {}
        self.hexpires = {}
        self.scan_keys = None
        self.scan_hashes = None
        self.expire_snapshot = []
        self.expire_pos = 0
        if self.mem is not None:
            self.mem.reset()
        return n

    def random_key(self) -> bytes | None:
        """A random non-expired key (dbRandomKey), or None when empty."""
        for _ in range(100):
            n = len(self.data)
            if n == 0:
                return None
            idx = random.randrange(n)
            if idx < n // 2:
                it = iter(self.data)
            else:
                it = reversed(self.data)  # type: ignore[assignment]
                idx = n - 1 - idx
            for _ in range(idx):
                next(it)
            key = next(it)
            if self.peek(key) is not None:
                return key
        return None

    # -- access metadata ----------------------------------------------------
    def lfu_touch(self, key: bytes) -> None:
        word = self.lru.get(key)
        ks = self.ks
        minutes = ks.lfu_minutes()
        if word is None:
            counter = LFU_INIT_VAL
        else:
            counter = ks.lfu_decayed(word, minutes)
        counter = ks.lfu_log_incr(counter)
        self.lru[key] = (minutes << 8) | counter

    def idle_seconds(self, key: bytes) -> int:
        """Keys never touched since loading have no entry: their clock is the load time."""
        word = self.lru.get(key, self.ks.load_clock)
        return max(0, self.ks.lru_clock - word)

    def lfu_counter(self, key: bytes) -> int:
        word = self.lru.get(key)
        if word is None:
            return LFU_INIT_VAL
        return self.ks.lfu_decayed(word, self.ks.lfu_minutes())


class Keyspace:
    """All databases plus the counters INFO reports about them."""

    # read on every request by the C path (engine/_fastpath.c), by offset
    __slots__ = ("loading", "__dict__")

    def __init__(self, config: Config, clock: Callable[[], int] = wall_ms) -> None:
        self.config = config
        self.clock = clock  # the time source (ms since the epoch): mstime()
        self.lookup_ms = clock  # what lookups compare deadlines with (see expiry_held)
        self.loading = False  # server.loading: the dataset is being loaded
        self.lru_clock = int(time.monotonic())
        self.load_clock = self.lru_clock  # access clock of keys loaded and not touched since
        self.lfu = config.maxmemory_policy.endswith("lfu")
        self.expired_keys = 0
        self.expired_subkeys = 0  # hash fields reclaimed by their TTL (stat_expired_subkeys)
        self.evicted_keys = 0
        self.lazyfreed_objects = 0  # INFO's lazyfreed_objects (freeObjAsync, emptyDbAsync)
        self.propagator: Propagator | None = None  # set by the server
        self.latency: LatencyMonitor | None = None  # set by the server: expire/eviction samples
        # set by the server: PubSub.publish, where keyspace notifications go (engine.notify)
        self.publish: Callable[[bytes, bytes], int] | None = None
        # set by engine.tracking once a client turns tracking on: Tracking.invalidate(key,
        # modifier), what signal_modified tells of every changed key
        self.invalidate: Callable[[bytes, Any], None] | None = None
        self.replica_ro = False  # a read-only replica: expired keys stay until the master's DEL
        # checkClientPauseTimeoutAndReturnIfPaused, set by the server: while True nothing is
        # expired or evicted (engine.execution.pause)
        self.paused: Callable[[], bool] = _not_paused
        self.dbs = [Database(i, self) for i in range(config.databases)]

    def free_async(self, value: object) -> None:
        """freeObjAsync's accounting: Python frees at once, the count is Redis's."""
        from engine.keyspace.memory import LAZYFREE_THRESHOLD, free_effort

        if free_effort(value, self.config.list_max_listpack_size) > LAZYFREE_THRESHOLD:
            self.lazyfreed_objects += 1

    def now_ms(self) -> int:
        """``mstime()``: relative TTLs are added to it, TTL subtracts it, keys saved or
        loaded are expired by it."""
        return self.clock()

    @contextlib.contextmanager
    def time_snapshot(self) -> Iterator[None]:
        """scriptTimeSnapshot: while a script runs, keys expire by the time it started
        (a key alive at its first access stays alive for the whole script, so what it
        propagates replays the same); outside loading and a replica's stream only."""
        held = self.lookup_ms
        if held is self.clock:
            start = self.clock()
            self.lookup_ms = lambda: start
        try:
            yield
        finally:
            self.lookup_ms = held

    @contextlib.contextmanager
    def expiry_held(self, loading: bool = False) -> Iterator[None]:
        """No lookup expires a key inside the block: the dataset loading (``loading``:
        ``server.loading``, keyIsExpired returns 0) or a replica applying its master's
        stream (expireIfNeeded: the master's DELs do it). Commands still read the real
        clock (:meth:`now_ms`): a relative TTL replayed from an old AOF counts from now,
        as Redis 7.0 loads it."""
        held, was_loading = self.lookup_ms, self.loading
        self.lookup_ms = _nothing_expires
        self.loading = loading or was_loading
        try:
            yield
        finally:
            self.lookup_ms, self.loading = held, was_loading

    def update_clock(self) -> None:
        """Called by the server cron: refresh the cached LRU clock and the policy flag."""
        self.lru_clock = int(time.monotonic())
        lfu = self.config.maxmemory_policy.endswith("lfu")
        if lfu != self.lfu:
            self.lfu = lfu
            for db in self.dbs:
                db.lru.clear()
        for db in self.dbs:
            db.clock = self.lru_clock
            db.lfu = lfu

    def lfu_minutes(self) -> int:
        return (int(time.time()) // 60) & 0xFFFF

    def lfu_decayed(self, word: int, minutes: int) -> int:
        """LFUDecrAndReturn: counter decremented by elapsed periods of lfu-decay-time
        (the formula a SAVE writes FREQ with, :func:`rdbtools.snapshot.lfu_decayed`)."""
        return lfu_decayed(word, minutes, self.config.lfu_decay_time)

    def lfu_log_incr(self, counter: int) -> int:
        if counter == 255:
            return 255
        base = counter - LFU_INIT_VAL
        if base < 0:
            base = 0
        p = 1.0 / (base * self.config.lfu_log_factor + 1)
        return counter + 1 if random.random() < p else counter

    @property
    def hits(self) -> int:
        return sum(db.hits for db in self.dbs)

    @property
    def misses(self) -> int:
        return sum(db.misses for db in self.dbs)

    def reset_hits(self) -> None:
        for db in self.dbs:
            db.hits = db.misses = 0

    def total_keys(self) -> int:
        return sum(len(db.data) for db in self.dbs)


__all__ = ["Database", "Keyspace", "wall_ms"]
