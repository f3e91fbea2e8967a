"""A BGSAVE child that dies half-way leaves nothing behind (backgroundSaveDoneHandlerDisk).

Redis removes the child's ``temp-<pid>.rdb`` when the child was killed by a signal and
marks the save failed (``rdb_last_bgsave_status:err``) unless the signal was SIGUSR1 —
its own way of stopping a child without an error (killRDBChild). The previous
``dump.rdb`` stays as it was. Both servers are driven the same way and compared.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.engine.conftest import ServerProc, start_ours, start_real


def _child_of(pid: int, timeout: float = 10) -> int:
    """The one child process of ``pid`` (the BGSAVE fork)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                kids = [int(x) for x in fh.read().split()]
        except OSError:
            kids = []
        if kids:
            return kids[0]
        time.sleep(0.01)
    raise AssertionError("no BGSAVE child appeared")


def _kill_child_mid_save(srv: ServerProc, sig: int) -> dict[str, object]:
    c = srv.client()
    c.set("before", "1")
    c.save()
    saved = (srv.dir / "dump.rdb").read_bytes()
    c.execute_command("DEBUG", "POPULATE", "200")
    c.config_set("rdb-key-save-delay", "100000")  # 0.1 s per key: the child is still writing
    c.bgsave()
    child = _child_of(srv.pid)
    temp = srv.dir / f"temp-{child}.rdb"
    deadline = time.monotonic() + 10
    while not temp.exists():  # the child has opened its file
        assert time.monotonic() < deadline, "the child never created its temp file"
        time.sleep(0.01)
    os.kill(child, sig)
    deadline = time.monotonic() + 10
    while c.info("persistence")["rdb_bgsave_in_progress"]:
        assert time.monotonic() < deadline, "the killed child was never reaped"
        time.sleep(0.02)
    c.config_set("rdb-key-save-delay", "0")
    info = c.info("persistence")
    return {"temp files": sorted(p.name for p in srv.dir.glob("temp-*.rdb")),
            "dump.rdb unchanged": (srv.dir / "dump.rdb").read_bytes() == saved,
            "last status": info["rdb_last_bgsave_status"],
            "still serving": c.get("before")}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGUSR1])
def test_a_killed_bgsave_child_leaves_no_temp_file(tmp_path: Path, sig: int) -> None:
    got = {}
    for name, start in (("real", start_real), ("ours", start_ours)):
        d = tmp_path / name
        d.mkdir()
        srv = start(d)
        try:
            got[name] = _kill_child_mid_save(srv, sig)
        finally:
            srv.stop()
    assert got["real"]["temp files"] == [] and got["real"]["dump.rdb unchanged"]
    assert got["ours"] == got["real"]
