"""Cluster bus links and their send buffers (cluster-link-sendbuf-limit): a link whose
send buffer passed the limit is freed by the cron (freeClusterLinkOnBufferLimitReached)
and counted in CLUSTER INFO; CLUSTER LINKS shows the buffer; INFO memory's
mem_cluster_links counts it. The same steps as Redis's own cluster unit 24-links, on
real redis-server 7.0.15 and on ours (the peer stopped with SIGSTOP is a real node)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine.test_cluster import cluster_nodes, info, nodes, wait_for

# the real server's run, the oracle, costs a few seconds more: RDBKIT_SOAK=1 adds it
KINDS = ["real", "ours"] if os.environ.get("RDBKIT_SOAK") else ["ours"]


def links(c: Any, peer: str) -> dict[str, dict[str, Any]]:
    """CLUSTER LINKS with ``peer``, by direction."""
    out = {}
    for entry in c.execute_command("CLUSTER", "LINKS"):
        d = dict(zip(entry[::2], entry[1::2])) if isinstance(entry, list) else entry
        d = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
             for k, v in d.items()}
        if d["node"] == peer:
            out[d["direction"]] = d
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_link_freed_when_its_send_buffer_passes_the_limit(kind: str, tmp_path: Path) -> None:
    with nodes(tmp_path, kind, "real") as (a, b):
        ca, cb_ = a.client(), b.client()
        ida, idb = (x.execute_command("CLUSTER", "MYID").decode() for x in (ca, cb_))
        cport_b = int(cluster_nodes(cb_)[idb][1].split("@")[1])
        ca.execute_command("CLUSTER", "MEET", "127.0.0.1", b.port, cport_b)
        wait_for("a link each way", lambda: len(links(ca, idb)) == 2 and len(links(cb_, ida)) == 2)
        before = links(ca, idb)
        assert before["to"]["send-buffer-used"] == 0 and ca.info("memory")["mem_cluster_links"] > 0
        ca.config_set("cluster-node-timeout", 3600 * 1000)  # no reconnection for a timeout
        ca.config_set("cluster-link-sendbuf-limit", 256 * 1024)
        assert info(ca)["total_cluster_links_buffer_limit_exceeded"] == "0"
        os.kill(b.pid, signal.SIGSTOP)
        try:
            value = "x" * (128 * 1024)
            for _ in range(100):
                ca.publish("channel", value)
                time.sleep(0.1)
                if info(ca)["total_cluster_links_buffer_limit_exceeded"] != "0":
                    break
            assert info(ca)["total_cluster_links_buffer_limit_exceeded"] == "1"
            after = wait_for("a new link to the peer", lambda: "to" in links(ca, idb) and links(ca, idb), timeout=2)
            assert after["to"]["create-time"] > before["to"]["create-time"]  # a new link
            assert after["from"]["create-time"] == before["from"]["create-time"]  # untouched
        finally:
            os.kill(b.pid, signal.SIGCONT)
