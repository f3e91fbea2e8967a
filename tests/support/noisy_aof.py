"""A seeded generator of large, noisy AOFs: the input of ``compact``'s scale test and bench.

:func:`write_noisy_aof` writes RESP bytes directly (no command objects, one
``bytes %`` per command) for ``commands`` writes over ``keys`` keys spread over
several databases, as Redis 7.0 would have logged them:

* every key has one type for its life (its name says which: ``s:`` string,
  ``n:`` counter, ``l:`` list, ``h:`` hash, ``S:`` set, ``z:`` zset), so no command
  fails with WRONGTYPE — an AOF Redis wrote holds only commands that succeeded;
* strings: ``SET`` (overwrites; ASCII, integer-like, binary, long values), ``APPEND``;
  counters: ``SET <int>``, ``INCR``; lists: ``LPUSH``, ``LPOP [count]``; hashes:
  ``HSET``, ``HDEL``; sets: ``SADD``, ``SREM`` (integer members too, for intsets);
  zsets: ``ZADD``, ``ZREM`` (integer, fractional, negative and infinite scores);
  on every type ``DEL`` and ``PEXPIREAT`` — mostly far in the future (year ~2096),
  some in the past (2001: those keys are gone once loaded, unless a later ``SET``
  or ``DEL`` replaced them);
* a skewed key choice: 1% of the keys ("hot") take 30% of the writes (the first of
  them most), over larger field/member spaces and with rarer DEL/PEXPIREAT, so some
  collections outgrow the listpack/intset limits;
* commands come in runs per database (``SELECT`` between runs), some runs wrapped in
  ``MULTI``/``EXEC``; with ``select_in_multi`` some transactions switch database
  inside the block (``MULTI``, writes, ``SELECT``, writes, ``EXEC``), as Redis
  propagates a transaction touching two dbs.

The same ``seed`` and sizes give the same bytes (absolute expiry times, no clock).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DBS", "VERSION", "NoisyAofStats", "noisy_aof_path", "write_noisy_aof"]

VERSION = 2  # bump when the bytes for a given seed change (names the cached bench input)

DBS = (0, 1, 2, 9)
DB_WEIGHTS = (50, 20, 20, 10)
TYPES = "snlhSz"
TYPE_WEIGHTS = (25, 10, 20, 15, 15, 15)
FUTURE_MS = 4_000_000_000_000  # 2096-10-02
PAST_MS = 1_000_000_000_000  # 2001-09-09
SEED = 20240507


@dataclass
class NoisyAofStats:
    """What was written: sizes and a count per command name."""

    commands: int = 0  # records in the file (writes + SELECT + MULTI/EXEC)
    writes: int = 0
    keys: int = 0
    size: int = 0
    counts: Counter = field(default_factory=Counter)


def noisy_aof_path(directory: Path, commands: int, keys: int, seed: int = SEED) -> Path:
    return Path(directory) / f"noisy-v{VERSION}-{commands}-{keys}-{seed}.aof"


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(b), b)


def write_noisy_aof(
    path: Path | str,
    commands: int = 3_000_000,
    keys: int = 200_000,
    *,
    seed: int = SEED,
    multi_rate: float = 0.05,
    select_in_multi: float = 0.0,
) -> NoisyAofStats:
    """Write ``commands`` writes over ``keys`` keys to ``path`` (see the module doc).

    ``multi_rate`` is the share of runs wrapped in MULTI/EXEC; ``select_in_multi`` the
    share of those that SELECT another database inside the block.
    """
    rng = random.Random(seed)
    rand = rng.random
    randrange = rng.randrange
    randbytes = rng.randbytes
    stats = NoisyAofStats(keys=keys)
    counts = stats.counts

    # Key i: its name, type and db; per db the ids of its hot and cold keys.
    hot_n = max(1, keys // 100)
    types = rng.choices(TYPES, TYPE_WEIGHTS, k=keys)
    dbs = rng.choices(range(len(DBS)), DB_WEIGHTS, k=keys)
    names = [_bulk(b"%s:%d" % (t.encode(), i)) for i, t in enumerate(types)]
    hot: list[list[int]] = [[] for _ in DBS]
    cold: list[list[int]] = [[] for _ in DBS]
    for i, d in enumerate(dbs):
        (hot if i < hot_n else cold)[d].append(i)
    for d in range(len(DBS)):  # every db has at least one key of each kind
        if not hot[d]:
            hot[d] = cold[d][:1] or [0]
        if not cold[d]:
            cold[d] = hot[d]
    select = [b"*2\r\n$6\r\nSELECT\r\n" + _bulk(b"%d" % db) for db in DBS]
    db_choices = list(range(len(DBS)))

    def value() -> bytes:
        r = rand()
        if r < 0.35:
            return b"v%d" % randrange(1_000_000)
        if r < 0.6:
            return b"%d" % randrange(-100_000, 10_000_000)
        if r < 0.85:
            return randbytes(randrange(1, 24))  # not UTF-8, mostly
        return b"L" * randrange(45, 300) + b"%d" % randrange(1000)  # raw, not embstr

    def score() -> bytes:
        r = rand()
        if r < 0.5:
            return b"%d" % randrange(-1000, 1000)
        if r < 0.97:
            return repr(rng.uniform(-1e6, 1e6)).encode()
        return (b"inf", b"-inf", b"+inf")[randrange(3)]

    def member(space: int) -> bytes:
        n = randrange(space)
        return b"%d" % n if n & 1 else b"m%d" % n

    def expire(k: bytes) -> bytes:
        when = PAST_MS + randrange(10**9) if rand() < 0.15 else FUTURE_MS + randrange(10**10)
        counts["PEXPIREAT"] += 1
        return b"*3\r\n$9\r\nPEXPIREAT\r\n%b%b" % (k, _bulk(b"%d" % when))

    def write(i: int) -> bytes:
        k = names[i]
        t = types[i]
        big = i < hot_n
        space = 1000 if big else 24
        r = rand()
        if r < (0.001 if big else 0.03):
            counts["DEL"] += 1
            return b"*2\r\n$3\r\nDEL\r\n" + k
        if r < (0.01 if big else 0.10):
            return expire(k)
        if t == "s":
            if r < 0.75:
                counts["SET"] += 1
                return b"*3\r\n$3\r\nSET\r\n%b%b" % (k, _bulk(value()))
            counts["APPEND"] += 1
            return b"*3\r\n$6\r\nAPPEND\r\n%b%b" % (k, _bulk(b"+%d" % randrange(1000)))
        if t == "n":
            if r < 0.25:
                counts["SET"] += 1
                return b"*3\r\n$3\r\nSET\r\n%b%b" % (k, _bulk(b"%d" % randrange(-1000, 1000)))
            counts["INCR"] += 1
            return b"*2\r\n$4\r\nINCR\r\n" + k
        if t == "l":
            if r < 0.70:
                n = randrange(1, 4)
                counts["LPUSH"] += 1
                return b"*%d\r\n$5\r\nLPUSH\r\n%b%b" % (
                    2 + n, k, b"".join(_bulk(value()) for _ in range(n)))
            counts["LPOP"] += 1
            if r < 0.85:
                return b"*2\r\n$4\r\nLPOP\r\n" + k
            return b"*3\r\n$4\r\nLPOP\r\n%b%b" % (k, _bulk(b"%d" % randrange(1, 4)))
        if t == "h":
            if r < 0.70:
                n = randrange(1, 4)
                counts["HSET"] += 1
                return b"*%d\r\n$4\r\nHSET\r\n%b%b" % (
                    2 + 2 * n, k, b"".join(_bulk(b"f%d" % randrange(space)) + _bulk(value())
                                           for _ in range(n)))
            n = randrange(1, 3)
            counts["HDEL"] += 1
            return b"*%d\r\n$4\r\nHDEL\r\n%b%b" % (
                2 + n, k, b"".join(_bulk(b"f%d" % randrange(space)) for _ in range(n)))
        if t == "S":
            n = randrange(1, 4)
            if r < 0.70:
                counts["SADD"] += 1
                return b"*%d\r\n$4\r\nSADD\r\n%b%b" % (
                    2 + n, k, b"".join(_bulk(member(space)) for _ in range(n)))
            counts["SREM"] += 1
            return b"*%d\r\n$4\r\nSREM\r\n%b%b" % (
                2 + n, k, b"".join(_bulk(member(space)) for _ in range(n)))
        n = randrange(1, 4)
        if r < 0.70:
            counts["ZADD"] += 1
            return b"*%d\r\n$4\r\nZADD\r\n%b%b" % (
                2 + 2 * n, k, b"".join(_bulk(score()) + _bulk(member(space)) for _ in range(n)))
        counts["ZREM"] += 1
        return b"*%d\r\n$4\r\nZREM\r\n%b%b" % (
            2 + n, k, b"".join(_bulk(member(space)) for _ in range(n)))

    def pick(d: int) -> int:
        if rand() < 0.3:
            pool = hot[d]
            return pool[int(len(pool) * rand() ** 2)]
        pool = cold[d]
        return pool[randrange(len(pool))]

    cur = -1
    done = 0
    records = 0
    out: list[bytes] = []
    size = 0
    with open(path, "wb") as fh:
        while done < commands:
            d = rng.choices(db_choices, DB_WEIGHTS)[0]
            if d != cur:
                out.append(select[d])
                records += 1
                cur = d
            n = min(randrange(1, 40), commands - done)
            in_multi = n >= 2 and rand() < multi_rate
            if in_multi:
                out.append(b"*1\r\n$5\r\nMULTI\r\n")
                counts["MULTI"] += 1
                switch_at = randrange(1, n) if rand() < select_in_multi else -1
                for j in range(n):
                    if j == switch_at:
                        d = (d + 1 + randrange(len(DBS) - 1)) % len(DBS)
                        out.append(select[d])
                        records += 1
                        cur = d
                    out.append(write(pick(d)))
                out.append(b"*1\r\n$4\r\nEXEC\r\n")
                records += 2
            else:
                for _ in range(n):
                    out.append(write(pick(d)))
            done += n
            records += n
            if len(out) >= 4096:
                chunk = b"".join(out)
                size += len(chunk)
                fh.write(chunk)
                out.clear()
        chunk = b"".join(out)
        size += len(chunk)
        fh.write(chunk)
    stats.commands = records
    stats.writes = done
    stats.size = size
    counts["SELECT"] = records - done - 2 * counts["MULTI"]
    return stats
