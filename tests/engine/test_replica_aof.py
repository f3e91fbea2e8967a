"""A replica with ``appendonly yes`` killed while it rewrites its AOF after a full sync
restarts with one dataset, never a mix of the old one and the master's.

Redis stops the AOF before it loads the master's payload and starts it again after
(``restartAOFAfterSYNC``): until that rewrite completes, what the master sends goes to a
temporary incr file no manifest names, so a crash in that window restarts from the old
files alone (and the next sync brings the master's data again). The window is stretched
with ``rdb-key-save-delay`` (the rewrite honours it, as Redis's does); real Redis as the
replica is the reference.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.engine.conftest import ServerProc, start_ours, start_real

AOF = ("--appendonly", "yes", "--appendfsync", "always")


def _wait(pred, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _crash_mid_rewrite(master: ServerProc, start, d: Path) -> list[bytes]:
    rep = start(d, *AOF)
    try:
        r = rep.client()
        r.set("old", "1")  # in the replica's own AOF, before it follows the master
        r.config_set("rdb-key-save-delay", "200000")  # 0.2 s per key: a ~4 s rewrite
        r.replicaof("127.0.0.1", master.port)
        _wait(lambda: r.info("replication")["master_link_status"] == "up", "no sync")
        _wait(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 1, "no rewrite after the sync")
        master.client().set("during", "1")  # reaches the replica while it rewrites
        _wait(lambda: r.get("during") == b"1", "the master's write did not arrive")
        time.sleep(0.5)  # the write is on disk (appendfsync always) wherever it goes
        assert r.info("persistence")["aof_rewrite_in_progress"] == 1
        rep.proc.send_signal(signal.SIGKILL)
        rep.proc.wait()
    finally:
        rep.stop()
    again = start(d, *AOF, "--rdb-key-save-delay", "0")
    try:
        return sorted(again.client().keys())
    finally:
        again.stop()


def test_a_crash_during_the_rewrite_after_a_sync_keeps_one_dataset(tmp_path: Path) -> None:
    md = tmp_path / "master"
    md.mkdir()
    master = start_real(md)
    try:
        m = master.client()
        for i in range(20):
            m.set(f"new:{i}", i)
        got = {}
        for name, start in (("real", start_real), ("ours", start_ours)):
            d = tmp_path / name
            d.mkdir()
            got[name] = _crash_mid_rewrite(master, start, d)
    finally:
        master.stop()
    assert got["real"] == [b"old"]  # the old files alone: the sync is redone at the next start
    assert got["ours"] == got["real"]
