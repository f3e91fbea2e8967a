"""Active expiry: the sampling cycle Redis runs from serverCron (``activeExpireCycle``).

Each run visits every database with volatile keys, checks ``keys_per_loop``
keys at a time and repeats while more than ``acceptable_stale`` percent of the
checked keys were expired, stopping when the time budget
(``25% + 2*effort`` of a cron period) is spent. Redis walks its expires hash
table by bucket; here each database walks a snapshot of its volatile keys with
a cursor (taken again when a pass completes), so every volatile key is visited
once per pass and the work per call stays bounded. Hash fields whose TTL passed are
reclaimed after the keys (``engine.keyspace.hfe``).
"""

from __future__ import annotations

import time

from engine.keyspace.db import Keyspace
from engine.keyspace.hfe import active_expire_fields

KEYS_PER_LOOP = 20
SLOW_TIME_PERC = 25
ACCEPTABLE_STALE = 10


def active_expire_cycle(ks: Keyspace, hz: int, effort: int = 1) -> int:
    """Run one slow cycle; returns the number of keys expired."""
    if ks.paused():  # clients paused: the dataset stays as it is
        return 0
    e = effort - 1
    per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP // 4 * e
    perc = SLOW_TIME_PERC + 2 * e
    stale = ACCEPTABLE_STALE - e
    budget = perc / 100.0 / max(hz, 1)
    start = time.perf_counter()
    try:
        n = _cycle(ks, per_loop, stale, budget, start)
        active_expire_fields(ks)  # activeExpireCycle's hash-field part (hashTypeDbActiveExpire)
        return n
    finally:
        # "Propagate all DELs", one by one: propagate_no_multi is set for this cycle
        if ks.propagator is not None and ks.propagator.ops:
            ks.propagator.flush(multi=False)
        if ks.latency is not None:
            ks.latency.add_if_needed("expire-cycle", int((time.perf_counter() - start) * 1000))


def _cycle(ks: Keyspace, per_loop: int, stale: int, budget: float, start: float) -> int:
    total = 0
    for db in ks.dbs:
        expires = db.expires
        if not expires:
            db.expire_snapshot = []
            db.expire_pos = 0
            continue
        while True:
            snap = db.expire_snapshot
            pos = db.expire_pos
            if pos >= len(snap):
                snap = db.expire_snapshot = list(expires)
                pos = 0
            sample = snap[pos:pos + per_loop]
            db.expire_pos = pos + per_loop
            now = ks.now_ms()
            checked = expired = 0
            ttl_sum = 0
            for key in sample:
                when = expires.get(key)
                if when is None:
                    continue
                checked += 1
                if now > when:
                    db.expire_key(key)
                    expired += 1
                else:
                    ttl_sum += when - now
            total += expired
            if checked - expired > 0:
                avg = ttl_sum // (checked - expired)
                db.avg_ttl = avg if db.avg_ttl == 0 else (db.avg_ttl // 50) * 49 + avg // 50
            if time.perf_counter() - start > budget:
                return total
            if checked == 0 or expired * 100 <= checked * stale or not expires:
                break
    return total
