"""Encode benchmark: rdbkit's RDB writer beside real Redis's SAVE of the same data.

Same run, same machine, same 1M-key mixed dataset (``bench/dataset.py`` writes
``bench/data/mixed-1m-rdb10.rdb`` with real Redis 7.0):

* the file is decoded once to records in memory, then ``RdbEncoder(10)`` writes
  them to /dev/null (pure encode: keys/s, MB/s of output);
* ``rdbkit convert`` RDB 10 → RDB 10 as a subprocess (decode + encode, streaming);
* Debian's redis-server 7.0 loads the same file (``--dir``/``--dbfilename``) and
  runs SAVE, timed from the client.

Prints the figures and the ratios. Run: ``python bench/bench_encode.py [--keys 100000]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from realredis import free_port, server_binary  # noqa: E402

from rdbtools import Record, read_all  # noqa: E402
from rdbtools.encoder import RdbEncoder  # noqa: E402


def ensure_data(keys: int) -> Path:
    suffix = "1m" if keys == 1_000_000 else str(keys)
    path = DATA / f"mixed-{suffix}-rdb10.rdb"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "dataset.py"), "--keys", str(keys)], check=True)
    return path


def redis_save(path: Path) -> tuple[float, float, int]:
    """(load seconds, SAVE seconds, size of Redis's file) for a real 7.0 server."""
    import redis

    work = Path(tempfile.mkdtemp(prefix="bench-encode-"))
    try:
        shutil.copy(path, work / "dump.rdb")
        port = free_port()
        t = time.perf_counter()
        proc = subprocess.Popen(
            [server_binary("7.0"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(work), "--dbfilename", "dump.rdb"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            c = redis.Redis(port=port, protocol=2)
            while True:
                try:
                    if c.ping():
                        break
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.02)
            load = time.perf_counter() - t
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                c.save()
                best = min(best, time.perf_counter() - t)
            size = (work / "dump.rdb").stat().st_size
        finally:
            proc.kill()
            proc.wait()
        return load, best, size
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    a = ap.parse_args()
    path = ensure_data(a.keys)
    mb_in = path.stat().st_size / 1e6
    print(f"dataset: {path.name}, {mb_in:.0f} MB\n")

    t = time.perf_counter()
    events = read_all(path)
    keys = sum(1 for e in events if type(e) is Record)
    print(f"decode to records (once, not timed below): {time.perf_counter() - t:.2f}s, {keys} keys")
    # The million records stay alive for the whole run: keep the cyclic GC from rescanning
    # them on every collection (the streaming convert below holds one record at a time).
    gc.collect()
    gc.freeze()

    enc = RdbEncoder(10)
    t = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        for chunk in enc.encode(events):
            sink.write(chunk)
    ours = time.perf_counter() - t
    out_mb = enc.bytes_written / 1e6
    print(f"rdbkit encode RDB 10 -> /dev/null:   {ours:7.2f}s {keys / ours:10.0f} keys/s {out_mb / ours:7.1f} MB/s")
    del events
    gc.unfreeze()

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli", "convert", str(path), str(Path(d) / "out.rdb"),
                        "--rdb-version", "10"], check=True, cwd=ROOT)
        conv = time.perf_counter() - t
    print(f"rdbkit convert RDB 10 -> RDB 10:     {conv:7.2f}s {keys / conv:10.0f} keys/s {mb_in / conv:7.1f} MB/s")

    load, save, size = redis_save(path)
    print(f"redis-server 7.0 SAVE (best of 3):  {save:7.2f}s {keys / save:10.0f} keys/s "
          f"{size / 1e6 / save:7.1f} MB/s  (load took {load:.2f}s)")
    print()
    print(f"encode vs Redis SAVE:   {ours / save:5.1f}x slower")
    print(f"convert vs Redis SAVE:  {conv / save:5.1f}x slower (convert also decodes)")


if __name__ == "__main__":
    main()
