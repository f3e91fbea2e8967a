"""``rdbkit diff`` of 1M- and 10M-key dumps: wall, CPU and peak RSS beside the file sizes.

Pairs (bench/data, made by ``bench/dataset.py`` on first use):

* ``mixed-1m-rdb10.rdb`` vs ``mixed-1m-rdb9.rdb``: the same commands replayed into
  7.0 and 6.2. Only the streams differ (``XADD *`` took each server's clock).
* ``mixed-1m-rdb10.rdb`` vs ``mixed-1m-rdb10-changed.rdb``: the RDB 10 file
  loaded into a real 7.0 server, ~1% of the keys changed with commands (deleted,
  added, retyped, re-expired, and one change per collection type), then SAVEd.
  The number of keys the diff reports is checked against the keys changed.
* ``mixed-10m-rdb10.rdb`` vs ``mixed-10m-rdb10-changed.rdb``: 10M mostly small keys
  and a copy with ~1% of them changed, written by our encoder
  (``dataset.py --synthetic 10000000``, minutes; ~350 MB each).

Target: peak RSS <= 100 MB whatever the size (the diff spills sorted runs to
``--tmpdir``), CPU time within 1.5x of the in-memory index it replaced. ``--baseline DIR``
runs the same diffs with the code of another checkout (e.g. a worktree of the previous
revision) beside ours. Run: ``python bench/bench_diff.py [--baseline DIR] [--skip-10m]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from realredis import real_redis

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
KEYS = 1_000_000
CHANGED = DATA / "mixed-1m-rdb10-changed.rdb"
BIG_KEYS = 10_000_000
BIG = DATA / "mixed-10m-rdb10.rdb"
BIG_CHANGED = DATA / "mixed-10m-rdb10-changed.rdb"
TARGET_MB = 100
FAR = 4_102_444_800_000 + 987_654_321


def run(cmd: list[str], out: Path) -> tuple[float, float, float, int]:
    """Wall and CPU seconds, peak RSS (MB), exit status of one child; stdout to ``out``."""
    t = time.perf_counter()
    with open(out, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{proc.stderr.read().decode()[-2000:]}")
    return dt, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code


def ensure_data(big: bool) -> None:
    if not (DATA / "mixed-1m-rdb9.rdb").exists() or not (DATA / "mixed-1m-rdb10.rdb").exists():
        subprocess.run([sys.executable, str(HERE / "dataset.py")], check=True)
    if big and not BIG_CHANGED.with_suffix(".json").exists():
        subprocess.run([sys.executable, str(HERE / "dataset.py"), "--synthetic", str(BIG_KEYS)],
                       check=True)


def make_changed(src: Path, out: Path, fraction: float = 0.01, seed: int = 11) -> dict[str, int]:
    """Load ``src`` into real 7.0, change ``fraction`` of the keys, SAVE to ``out``."""
    import redis

    rnd = random.Random(seed)
    picked = rnd.sample(range(KEYS), int(KEYS * fraction))
    work = Path(tempfile.mkdtemp(prefix="bench-diff-"))
    shutil.copy(src, work / "dump.rdb")
    counts: collections.Counter[str] = collections.Counter()
    try:
        with real_redis("7.0", str(work)) as (port, d):
            r = redis.Redis(port=port)
            deadline = time.time() + 120
            while True:
                try:
                    r.ping()
                    break
                except redis.exceptions.BusyLoadingError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
            keys = [b"k:%d" % i for i in picked]
            p = r.pipeline(transaction=False)
            for k in keys:
                p.type(k)
            types = [t.decode() for t in p.execute()]
            p = r.pipeline(transaction=False)
            for n, (k, t) in enumerate(zip(keys, types)):
                what = n % 20
                if what < 3:
                    p.delete(k)
                    counts["deleted"] += 1
                elif what < 6:
                    p.set(b"new:%d" % n, b"v%d" % n)  # plus the key itself, changed below
                    counts["added"] += 1
                    if t == "string":
                        p.append(k, b"!")
                    else:
                        p.pexpireat(k, FAR + n)
                    counts["changed"] += 1
                elif what < 7:
                    p.delete(k)
                    if t == "string":
                        p.rpush(k, b"retyped")
                    else:
                        p.set(k, b"retyped")
                    counts["retyped"] += 1
                elif what < 9:
                    p.pexpireat(k, FAR + n)
                    counts["expiry"] += 1
                else:
                    if t == "string":
                        p.append(k, b"!")
                    elif t == "list":
                        p.rpush(k, b"added")
                    elif t == "hash":
                        p.hset(k, b"new-field", b"x")
                    elif t == "set":
                        p.sadd(k, b"new-member")
                    elif t == "zset":
                        p.zadd(k, {b"new-member": 1.5})
                    else:
                        p.xadd(k, {b"f": b"v"})
                    counts["value"] += 1
            p.execute()
            r.save()
            shutil.move(str(d / "dump.rdb"), out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counts["keys_reported"] = len(picked) + counts["added"]
    return dict(counts)


def diff_once(root: Path, a: Path, b: Path) -> tuple[float, float, float, int, collections.Counter[str], int]:
    """One ``rdbkit diff --format jsonl`` with the code of ``root``: wall, CPU, peak RSS,
    exit status, differences by kind/type, keys reported."""
    out = Path(tempfile.mkstemp(prefix="bench-diff-", suffix=".jsonl")[1])
    cwd = os.getcwd()
    os.chdir(root)
    try:
        dt, cpu, rss, code = run([sys.executable, "-m", "cli", "diff", "--format", "jsonl", str(a), str(b)], out)
        kinds: collections.Counter[str] = collections.Counter()
        keys = set()
        with open(out) as f:
            for line in f:
                obj = json.loads(line)
                kinds[f"{obj['diff']}/{obj['type']}"] += 1
                keys.add((obj["db"], json.dumps(obj["key"])))
    finally:
        os.chdir(cwd)
        out.unlink()
    return dt, cpu, rss, code, kinds, len(keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="a checkout whose diff runs beside ours")
    ap.add_argument("--skip-10m", action="store_true", help="only the 1M pairs")
    opts = ap.parse_args()
    ensure_data(not opts.skip_10m)
    f10 = DATA / "mixed-1m-rdb10.rdb"
    f9 = DATA / "mixed-1m-rdb9.rdb"
    meta = CHANGED.with_suffix(".json")
    if not CHANGED.exists() or not meta.exists():
        t = time.perf_counter()
        meta.write_text(json.dumps(make_changed(f10, CHANGED)))
        print(f"made {CHANGED.name} in {time.perf_counter() - t:.1f}s")
    pairs = [(f10, f9, None), (f10, CHANGED, meta)]
    if not opts.skip_10m:
        pairs.append((BIG, BIG_CHANGED, BIG_CHANGED.with_suffix(".json")))
    roots = [("ours", HERE.parent)] + ([("baseline", opts.baseline.resolve())] if opts.baseline else [])
    print(f"{'pair':<52} {'code':<8} {'wall':>7} {'cpu':>7} {'peak RSS':>9} {'A size':>8} "
          f"{'B size':>8} {'diffs':>6} {'keys':>6}")
    worst = 0.0
    for a, b, expected_meta in pairs:
        expected = json.loads(expected_meta.read_text()) if expected_meta else None
        for label, root in roots:
            dt, cpu, rss, code, kinds, keys = diff_once(root, a, b)
            if label == "ours":
                worst = max(worst, rss)
            print(f"{a.name + ' vs ' + b.name:<52} {label:<8} {dt:6.1f}s {cpu:6.1f}s {rss:6.0f} MB "
                  f"{a.stat().st_size / 1e6:5.0f} MB {b.stat().st_size / 1e6:5.0f} MB "
                  f"{sum(kinds.values()):6d} {keys:6d}  exit {code}")
            if expected is not None:
                ok = keys == expected["keys_reported"]
                print(f"    changed: {expected} -> keys reported {'match' if ok else 'DO NOT match'}")
        print("    " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    print(f"target: peak RSS <= {TARGET_MB} MB at any size: {'met' if worst <= TARGET_MB else 'NOT met'} "
          f"(worst {worst:.0f} MB). Load average now {os.getloadavg()[0]:.1f}: wall time includes "
          "waiting for the CPU, read the CPU column")


if __name__ == "__main__":
    main()
