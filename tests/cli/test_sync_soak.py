"""``rdbkit sync`` under longer loads (RDBKIT_SOAK=1): into a cluster of our nodes and
real ones, from a real source and from ours; and into a cluster that reshards
meanwhile. The quick runs are tests/cli/test_sync.py; the helpers
tests/support/syncing.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.servers import start_ours, start_real
from tests.support.syncing import (
    SOURCE_ARGS,
    Cluster,
    SyncProc,
    assert_equal,
    benchmark,
    caught_up,
    online,
    preload,
    three_masters,
    under_load_killed_and_resumed,
)

SOAK = bool(os.environ.get("RDBKIT_SOAK"))


@pytest.mark.skipif(not SOAK, reason="RDBKIT_SOAK=1: a cluster of our nodes and real ones under a longer load")
@pytest.mark.parametrize("source_kind", ["real", "ours"])
def test_sync_into_ours_and_real_under_load(tmp_path: Path, source_kind: str) -> None:
    d = tmp_path / "source"
    d.mkdir()
    (tmp_path / "c").mkdir()
    start = start_real if source_kind == "real" else start_ours
    with three_masters(tmp_path / "c", "ours", "real", "ours") as c, start(d, *SOURCE_ARGS) as src:
        under_load_killed_and_resumed(tmp_path, src, c, 100_000 if source_kind == "real" else 20_000)


@pytest.mark.skipif(not SOAK, reason="RDBKIT_SOAK=1: the target resharded while the sync follows a load")
def test_sync_while_the_target_reshards(tmp_path: Path) -> None:
    """``redis-cli --cluster reshard`` moves 2,000 slots (and their keys, by MIGRATE)
    between two masters while the sync applies a redis-benchmark load: MOVED, ASK and
    "non local key" inside the scripts are followed, and the copy ends equal."""
    from tests.engine.test_cluster import _reshard

    d = tmp_path / "source"
    d.mkdir()
    (tmp_path / "c").mkdir()
    with three_masters(tmp_path / "c", "real", "real", "real") as c, start_real(d, *SOURCE_ARGS) as src:
        preload(src)
        sync = SyncProc(tmp_path, src, c.procs[0])
        try:
            online(src, sync)
            load = benchmark(src, 60_000)
            _reshard(c.procs, c.procs[0], c.procs[1], 2000)
            assert load.wait(300) == 0
            caught_up(src, sync, 120)
            assert sync.stop() == 0, sync.stderr
            assert assert_equal(src, Cluster(c.procs)) > 2000
            last = sync.stderr.splitlines()[-1]
            assert " 0 errors," in last and " 0 rounds replayed" not in last, last  # it did meet moving slots
        finally:
            sync.stop(signal.SIGKILL)
