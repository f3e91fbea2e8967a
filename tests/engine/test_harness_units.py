"""Behaviours the units of Redis's suite check when its harness starts the server
(``scripts/redis_suite.py --harness``), each compared with real redis-server 7.0 on
servers of their own: FLUSHALL's save with save points, DEBUG config-rewrite-force-all.
"""

from __future__ import annotations

from pathlib import Path

import redis

from tests.support.servers import ServerProc, start_ours, start_real


def _both(tmp: Path, *args: str) -> list[ServerProc]:
    (tmp / "ours").mkdir()
    (tmp / "real").mkdir()
    return [start_ours(tmp / "ours", *args), start_real(tmp / "real", *args)]


def _persistence(c: redis.Redis) -> tuple[int, int]:
    info = c.info("persistence")
    return info["rdb_changes_since_last_save"], info["rdb_saves"]


def test_flushall_saves_when_save_points_exist(tmp_path: Path) -> None:
    """flushAllDataAndResetRDB: with save points FLUSHALL saves (the dirty counter drops to
    0, rdb_saves unchanged); without, the counter keeps the writes and the keys removed."""
    got = []
    for srv in _both(tmp_path):
        with srv:
            c = srv.client()
            seen = []
            c.set("k", "v")
            c.flushall()
            seen.append(_persistence(c))
            c.flushall()
            seen.append(_persistence(c))
            c.config_set("save", "3600 1")
            c.set("k", "v")
            c.set("k2", "v")
            c.flushall()
            seen.append(_persistence(c))
            seen.append((srv.dir / "dump.rdb").exists())
            got.append(seen)
    assert got[0] == got[1]
