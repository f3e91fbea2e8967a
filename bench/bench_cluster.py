"""Cluster mode: one node's CPU beside a real redis-server 7.0 doing the same work.

Run: ``python bench/bench_cluster.py [--keys N] [--slots S]``. For each kind of first node
(ours, then real) a three-master cluster is made with ``redis-cli --cluster create`` (the
other two are real nodes), ``--keys`` keys are written through ``redis-cli -c``, then it
prints the first node's CPU seconds (from /proc) while idle (gossip, cron) for 5 s and
while ``redis-cli --cluster reshard`` moves ``--slots`` slots away from it. Also the bus
codec's cost (``aof.clusterbus``): microseconds to encode and to decode a PING with three
gossip entries.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.realredis import free_port, server_binary, tool_binary  # noqa: E402

TCK = os.sysconf("SC_CLK_TCK")


def cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TCK


def cli(*args: str, data: str | None = None) -> str:
    return subprocess.run([tool_binary("redis-cli"), *args], input=data, capture_output=True, text=True).stdout


def start(kind: str, d: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--cluster-enabled", "yes", "--cluster-port",
            str(free_port()), "--cluster-node-timeout", "1000", "--save", "", "--appendonly", "no"]
    argv = [sys.executable, "-m", "engine", *args] if kind == "ours" else [server_binary("7.0"), *args]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while cli("-p", str(port), "ping").strip() != "PONG":
        time.sleep(0.1)
    return proc, port


def node_costs(kind: str, keys: int, slots: int) -> None:
    tmp = tempfile.mkdtemp(prefix="bench-cluster-")
    procs = []
    try:
        for i, k in enumerate((kind, "real", "real")):
            d = os.path.join(tmp, str(i))
            os.mkdir(d)
            procs.append(start(k, d))
        ports = [str(p) for _, p in procs]
        cli("--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-yes")
        while "cluster_state:ok" not in cli("-p", ports[0], "cluster", "info"):
            time.sleep(0.1)
        cli("-c", "-p", ports[0], data="".join(f"SET key:{i} v{i}\n" for i in range(keys)))
        pid = procs[0][0].pid
        c0 = cpu(pid)
        time.sleep(5)
        idle = (cpu(pid) - c0) / 5
        src, dst = (cli("-p", p, "cluster", "myid").strip() for p in ports[:2])
        held = int(cli("-p", ports[0], "dbsize"))
        c0, t0 = cpu(pid), time.time()
        cli("--cluster", "reshard", f"127.0.0.1:{ports[0]}", "--cluster-from", src, "--cluster-to", dst,
            "--cluster-slots", str(slots), "--cluster-yes")
        wall, used = time.time() - t0, cpu(pid) - c0
        moved = held - int(cli("-p", ports[0], "dbsize"))
        print(f"{kind:4}: idle {idle * 1000:5.1f} ms CPU/s; reshard {slots} slots ({moved} keys) away: "
              f"{used:5.2f} s CPU, {wall:5.2f} s wall")
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def codec_costs(n: int = 20000) -> None:
    from aof import clusterbus as cb

    m = cb.BusMessage(cb.CLUSTERMSG_TYPE_PING, b"a" * 40, port=7000, cport=17000, myslots=cb.slot_bitmap(range(5461)),
                      gossip=[cb.Gossip(b"%040d" % i, 0, 0, b"127.0.0.1", 7000 + i, 17000 + i, 1) for i in range(3)])
    frame = cb.encode(m)
    t = time.process_time()
    for _ in range(n):
        cb.encode(m)
    enc = (time.process_time() - t) / n
    reader, blob = cb.BusReader(), frame * 100
    t = time.process_time()
    for _ in range(n // 100):
        reader.feed(blob)
    dec = (time.process_time() - t) / n
    print(f"bus codec: a {len(frame)}-byte PING encodes in {enc * 1e6:.1f} us, decodes in {dec * 1e6:.1f} us")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=20000)
    ap.add_argument("--slots", type=int, default=1000)
    a = ap.parse_args()
    codec_costs()
    for kind in ("ours", "real"):
        node_costs(kind, a.keys, a.slots)


if __name__ == "__main__":
    main()
