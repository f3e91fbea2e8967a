"""``maxmemory``: the eight eviction policies of Redis 7.0 (evict.c).

Before a command runs, ``processCommand`` calls ``performEvictions`` whenever
``maxmemory`` is set: while ``used_memory`` (minus what is not counted, see
:meth:`MemoryAccount.not_counted`) is over the limit, keys are picked and
deleted, each one propagated as its own ``DEL`` (``UNLINK`` under
``lazyfree-lazy-eviction``), counted in ``evicted_keys`` and invalidating
WATCHes. If nothing can be freed (``noeviction``, or a ``volatile-*`` policy
with no volatile key left) :meth:`Evictor.before_command` says so, and the
dispatcher (:mod:`engine.execution.dispatch`) refuses the command with ``-OOM``
when it is flagged ``denyoom`` (any command but EXEC/DISCARD/QUIT/RESET inside
MULTI, and EXEC of a transaction that queued one); reads are always served.

Picking a key:

* ``*-lru``, ``*-lfu``, ``volatile-ttl``: ``evictionPoolPopulate`` samples
  ``maxmemory-samples`` keys of every database into a pool of 16 candidates
  kept sorted by score (idle time, ``255 - LFU counter``, or how soon the TTL
  ends), and the best one still present is evicted; the pool survives across
  calls, as Redis's static ``EvictionPoolLRU`` does.
* ``*-random``: a random key, visiting the databases round robin (``next_db``).
* ``volatile-*`` sample only keys with a TTL (Redis samples ``db->expires``).

The loop stops once enough bytes were freed, or after
``maxmemory-eviction-tenacity``'s time budget (checked every 16 keys); then an
event-loop callback keeps evicting between commands (``evictionTimeProc``) and
the command is not refused. ``CONFIG SET maxmemory`` starts that callback too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from engine.keyspace.memory import CLIENT_BYTES, STARTUP_BYTES
from engine.notify import NOTIFY_EVICTED, notify
from engine.propagate import DEL, UNLINK

if TYPE_CHECKING:
    from engine.keyspace.memory import MemoryHost
    from engine.latency import LatencyMonitor

EVICT_OK, EVICT_RUNNING, EVICT_FAIL = 0, 1, 2
EVPOOL_SIZE = 16
_ULLONG_MAX = (1 << 64) - 1


def eviction_time_limit_us(tenacity: int) -> float:
    """evictionTimeLimitUs: 0..500 µs linearly up to 10, then +15% a step, unbounded at 100."""
    if tenacity <= 10:
        return 50.0 * tenacity
    if tenacity < 100:
        return 500.0 * 1.15 ** (tenacity - 10)
    return float("inf")


class Evictor:
    """Eviction state of a server with ``maxmemory`` set (``Server.evictor``)."""

    def __init__(self, server: MemoryHost) -> None:
        self.server = server
        self.acct = server.memory
        # the pool: [score, dbid, key] entries sorted by ascending score (best last)
        self.pool: list[list[Any]] = []
        self.next_db = 0
        self.proc_running = False
        self.exceeded_since = 0.0  # stat_last_eviction_exceeded_time (monotonic s, 0 = not over)
        self.exceeded_total_us = 0  # stat_total_eviction_exceeded_time

    # -- processCommand -------------------------------------------------------------
    def before_command(self) -> bool:
        """performEvictions before a command (``processCommand``); True when it could not
        free enough (the command path then refuses what would grow the dataset, -OOM)."""
        srv = self.server
        if srv.loading or srv.propagator.depth:  # isPerformEvictions: loading, yielding script
            srv.pre_command_oom_state = False
            return False
        acct = self.acct
        if (not self.exceeded_since and acct.total + STARTUP_BYTES + CLIENT_BYTES * len(srv.clients)
                + srv.client_buffers <= srv.config.maxmemory):  # within the limit: the common case, inlined
            srv.pre_command_oom_state = False
            return False
        oom = self.perform() == EVICT_FAIL
        srv.pre_command_oom_state = oom
        return oom

    # -- performEvictions -------------------------------------------------------------
    def over_limit(self) -> int:
        """getMaxmemoryState: bytes to free, 0 when within the limit."""
        limit = self.server.config.maxmemory
        if not limit:
            return 0
        used = self.acct.used_memory()
        if used <= limit:
            return 0
        used -= self.acct.not_counted()
        return used - limit if used > limit else 0

    def perform(self) -> int:
        srv = self.server
        if srv.keyspace.paused():  # isSafeToPerformEvictions: a fake EVICT_OK, no metrics
            return EVICT_OK
        tofree = self.over_limit()
        if not tofree:
            return self._metrics(EVICT_OK)
        policy = srv.config.maxmemory_policy
        if policy == "noeviction":
            return self._metrics(EVICT_FAIL)
        limit_us = eviction_time_limit_us(srv.config.maxmemory_eviction_tenacity)
        start = time.perf_counter()
        lazy = srv.config.lazyfree_lazy_eviction
        mon = srv.keyspace.latency
        try:
            return self._evict_loop(tofree, policy, limit_us, start, mon, lazy)
        finally:
            if mon is not None:
                mon.add_if_needed("eviction-cycle", int((time.perf_counter() - start) * 1000))

    def _evict_loop(self, tofree: int, policy: str, limit_us: float, start: float,
                    mon: LatencyMonitor | None, lazy: bool) -> int:
        """performEvictions' loop: delete the best candidates until ``tofree`` bytes are
        gone, nothing is left to evict, or the time limit moves the rest to a timer."""
        acct = self.acct
        freed = 0
        keys_freed = 0
        pooled = not policy.endswith("random")
        volatile = policy.startswith("volatile")
        while freed < tofree:
            picked = self._pick_pooled(policy, volatile) if pooled else self._pick_random(volatile)
            if picked is None:
                return self._metrics(EVICT_FAIL)  # cant_free: nothing left to evict
            db, key = picked
            before = acct.total
            t0 = time.perf_counter_ns()
            self.evict(db, key, lazy)
            if mon is not None:
                mon.add_if_needed("eviction-del", (time.perf_counter_ns() - t0) // 1_000_000)
            freed += before - acct.total
            keys_freed += 1
            if keys_freed % 16 == 0 and (time.perf_counter() - start) * 1e6 > limit_us:
                self.start_time_proc()  # still over: keep evicting between commands
                break
        return self._metrics(EVICT_RUNNING if self.proc_running else EVICT_OK)

    def evict(self, db: Any, key: bytes, lazy: bool) -> None:
        """Delete one key as an eviction: stats, WATCH invalidation, its own DEL unit."""
        srv = self.server
        db.delete(key, lazy)
        srv.keyspace.evicted_keys += 1
        db.signal_modified(key)
        notify(db, NOTIFY_EVICTED, b"evicted", key)
        prop = srv.propagator
        if prop.targets:
            prop.ops.append((db.id, [UNLINK if lazy else DEL, key]))
            prop.flush()  # propagatePendingCommands: one unit per evicted key

    def _metrics(self, result: int) -> int:
        if result == EVICT_OK:
            if self.exceeded_since:
                self.exceeded_total_us += int((time.monotonic() - self.exceeded_since) * 1e6)
                self.exceeded_since = 0.0
        elif not self.exceeded_since:
            self.exceeded_since = time.monotonic()
        return result

    # -- candidates -------------------------------------------------------------------
    def _pick_random(self, volatile: bool) -> tuple[Any, bytes] | None:
        dbs = self.server.keyspace.dbs
        n = len(dbs)
        for attempt in range(2):
            for _ in range(n):
                self.next_db += 1
                db = dbs[self.next_db % n]
                m = db.mem
                if m is None or not (db.expires if volatile else db.data):
                    continue
                keys = m.sample(db, volatile, 1)
                if keys:
                    return db, keys[0]
            if attempt == 0:
                self.acct.reconcile()  # keys present but not yet known to the accounting
        return None

    def _pick_pooled(self, policy: str, volatile: bool) -> tuple[Any, bytes] | None:
        dbs = self.server.keyspace.dbs
        pool = self.pool
        reconciled = False
        while True:
            total = added = 0
            for db in dbs:
                d = db.expires if volatile else db.data
                if d and db.mem is not None:
                    added += self._populate(db, policy, volatile)
                    total += len(d)
            if not total:
                return None
            while pool:  # best (highest score) first; ghosts are dropped
                _, dbid, key = pool.pop()
                db = dbs[dbid]
                if key in (db.expires if volatile else db.data):
                    return db, key
            if not added:  # keys present but none sampled: not yet known to the accounting
                if reconciled:
                    return None
                self.acct.reconcile()
                reconciled = True

    def _populate(self, db: Any, policy: str, volatile: bool) -> int:
        """evictionPoolPopulate: sample keys of ``db`` into the pool by score."""
        m = db.mem
        pool = self.pool
        count = self.server.config.maxmemory_samples
        if policy == "volatile-ttl":
            exp = db.expires
            scores = [(_ULLONG_MAX - exp[k], k) for k in m.sample(db, True, count)]
        elif policy.endswith("lru"):
            idle = db.idle_seconds
            scores = [(idle(k) * 1000, k) for k in m.sample(db, volatile, count)]
        else:
            freq = db.lfu_counter
            scores = [(255 - freq(k), k) for k in m.sample(db, volatile, count)]
        dbid = db.id
        for score, key in scores:
            # the first slot whose score is not smaller than ours (pool sorted ascending)
            k = 0
            n = len(pool)
            while k < n and pool[k][0] < score:
                k += 1
            if k == 0 and n >= EVPOOL_SIZE:
                continue  # worse than everything in a full pool
            if n < EVPOOL_SIZE:
                pool.insert(k, [score, dbid, key])
            else:  # full: drop the worst (first) entry, insert at k-1
                del pool[0]
                pool.insert(k - 1, [score, dbid, key])
        return len(scores)

    # -- evictionTimeProc ---------------------------------------------------------------
    def start_time_proc(self) -> None:
        if self.proc_running:
            return
        loop = self.server.loop
        if loop is None:
            return
        self.proc_running = True
        loop.call_soon(self._time_proc)

    def _time_proc(self) -> None:
        srv = self.server
        if srv.evictor is not self:  # maxmemory was turned off
            self.proc_running = False
            return
        if srv.loading or srv.propagator.depth:
            srv.loop.call_later(0.001, self._time_proc)  # type: ignore[union-attr]
            return
        if self.perform() == EVICT_RUNNING:
            srv.loop.call_soon(self._time_proc)  # type: ignore[union-attr]
            return
        self.proc_running = False

    def info_fields(self) -> list[tuple[str, object]]:
        """INFO stats: total_eviction_exceeded_time / current_eviction_exceeded_time (ms)."""
        cur = int((time.monotonic() - self.exceeded_since) * 1000) if self.exceeded_since else 0
        return [("total_eviction_exceeded_time", self.exceeded_total_us // 1000 + cur),
                ("current_eviction_exceeded_time", cur)]


def configure(server: MemoryHost) -> None:
    """Apply ``maxmemory`` / policy: start or stop tracking, start evicting if over."""
    cfg = server.config
    if cfg.maxmemory:
        if server.evictor is None:
            server.memory.start()
            server.evictor = Evictor(server)
        else:
            server.memory.configure()
            server.evictor.pool.clear()  # scores of another policy are meaningless
        server.evictor.start_time_proc()  # updateMaxmemory → startEvictionTimeProc
    elif server.evictor is not None:
        server.evictor = None
        server.memory.stop()


__all__ = ["EVICT_FAIL", "EVICT_OK", "EVICT_RUNNING", "EVPOOL_SIZE", "Evictor", "configure",
           "eviction_time_limit_us"]
