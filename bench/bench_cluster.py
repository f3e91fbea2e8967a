"""Cluster mode: one node's CPU beside a real redis-server 7.0 doing the same work.

Run: ``python bench/bench_cluster.py [--keys N] [--slots S]``. For each kind of first node
(ours, then real) a three-master cluster is made with ``redis-cli --cluster create`` (the
other two are real nodes), ``--keys`` keys are written through ``redis-cli -c``, then it
prints the first node's CPU seconds (from /proc) while idle (gossip, cron) for 5 s and
while ``redis-cli --cluster reshard`` moves ``--slots`` slots away from it. Also the bus
codec's cost (``aof.clusterbus``): microseconds to encode and to decode a PING with three
gossip entries. Then, for six nodes all of one kind (ours, then real): the gossip
convergence time (from CLUSTER MEET of every node with the first until every node knows
all six and none is still in handshake; then, slots assigned to three masters and a
replica given to each, until every node says ``cluster_state:ok``), and the failover
time (a master killed with SIGKILL until its replica reports ``role:master`` and every
surviving node says ``cluster_state:ok`` again), with ``cluster-node-timeout`` 1000 ms.
Each is the median of ``--repeat`` runs; ``--only`` picks parts (codec, node, gossip).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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


def _until(cond, limit: float = 60.0) -> float:
    t0 = time.time()
    while not cond():
        if time.time() - t0 > limit:
            raise TimeoutError("the cluster did not get there in %.0f s" % limit)
        time.sleep(0.02)
    return time.time() - t0


def _knows_all(port: str, n: int) -> bool:
    lines = [ln for ln in cli("-p", port, "cluster", "nodes").splitlines() if ln.strip()]
    return len(lines) == n and not any("handshake" in ln or "noaddr" in ln for ln in lines)


def six_nodes(kind: str) -> tuple[float, float, float]:
    """(gossip convergence s, cluster_state:ok after the slots s, failover s)."""
    tmp = tempfile.mkdtemp(prefix="bench-cluster-6-")
    procs = []
    try:
        for i in range(6):
            d = os.path.join(tmp, str(i))
            os.mkdir(d)
            procs.append(start(kind, d))
        ports = [str(p) for _, p in procs]
        cport = cli("-p", ports[0], "cluster", "nodes").split("@", 1)[1].split()[0].split(",")[0]
        t0 = time.time()
        for p in ports[1:]:
            cli("-p", p, "cluster", "meet", "127.0.0.1", ports[0], cport)
        _until(lambda: all(_knows_all(p, 6) for p in ports))
        gossip = time.time() - t0
        t0 = time.time()
        for i, p in enumerate(ports[:3]):
            lo, hi = i * 16384 // 3, (i + 1) * 16384 // 3 - 1
            cli("-p", p, "cluster", "addslotsrange", str(lo), str(hi))
        ids = [cli("-p", p, "cluster", "myid").strip() for p in ports[:3]]
        for p, master in zip(ports[3:], ids):
            _until(lambda p=p, m=master: m in cli("-p", p, "cluster", "nodes"))
            cli("-p", p, "cluster", "replicate", master)
        _until(lambda: all("cluster_state:ok" in cli("-p", p, "cluster", "info") for p in ports))
        slots_ok = time.time() - t0
        _until(lambda: "master_link_status:up" in cli("-p", ports[3], "info", "replication"))
        procs[0][0].kill()
        procs[0][0].wait()
        t0 = time.time()
        _until(lambda: "role:master" in cli("-p", ports[3], "info", "replication")
               and all("cluster_state:ok" in cli("-p", p, "cluster", "info") for p in ports[1:]))
        return gossip, slots_ok, time.time() - t0
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
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
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="codec,node,gossip", help="comma-separated parts to run")
    a = ap.parse_args()
    parts = set(a.only.split(","))
    if "codec" in parts:
        codec_costs()
    if "node" in parts:
        for kind in ("ours", "real"):
            node_costs(kind, a.keys, a.slots)
    if "gossip" in parts:
        print("six nodes, cluster-node-timeout 1000 ms (median of %d):" % a.repeat)
        for kind in ("ours", "real"):
            runs = [six_nodes(kind) for _ in range(a.repeat)]
            g, s, f = (statistics.median(x) for x in zip(*runs))
            print(f"{kind:4}: gossip convergence {g:5.2f} s, cluster_state:ok after slots {s:5.2f} s, "
                  f"failover after kill -9 {f:5.2f} s")


if __name__ == "__main__":
    main()
