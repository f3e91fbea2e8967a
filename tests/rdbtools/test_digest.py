"""rdbtools.digest against real Redis 7.0's DEBUG DIGEST / DIGEST-VALUE.

Each fixture written by real 6.2/7.0 is loaded by a real 7.0 server; the
digest we compute from the decoded records must be the one Redis prints, for
the whole dataset and for every key.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rdbtools.digest import dataset_digest, value_digest
from rdbtools.io import iter_records
from rdbtools.model import Record
from tests.engine.conftest import start_real

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "fixtures/rdb/redis-7.0/dump.rdb", ROOT / "fixtures/rdb/redis-6.2/dump.rdb"]


def _s(v: object) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.parent.name)
def test_digest_matches_real_redis(path: Path, tmp_path: Path) -> None:
    shutil.copy(path, tmp_path / "dump.rdb")
    srv = start_real(tmp_path, "--dbfilename", "dump.rdb", loaded=True)
    try:
        c = srv.client()
        records = list(iter_records(str(path)))
        assert len({r.type for r in records}) >= 5
        assert _s(c.execute_command("DEBUG", "DIGEST")) == dataset_digest(records)
        for rec in records:
            c.execute_command("SELECT", rec.db)
            real = c.execute_command("DEBUG", "DIGEST-VALUE", rec.key)[0]
            assert _s(real) == value_digest(rec.type, rec.value, rec.expire_ms is not None).hex(), rec.key
    finally:
        srv.stop()


def test_digest_is_order_free_within_db_but_not_across_dbs() -> None:
    a = Record(0, b"a", "string", b"1")
    b = Record(0, b"b", "list", [b"x", b"y"])
    assert dataset_digest([a, b]) == dataset_digest([b, a])
    assert dataset_digest([]) == "0" * 40
    moved = Record(1, b"a", "string", b"1")
    assert dataset_digest([moved, b]) != dataset_digest([a, b])
    rev = Record(0, b"b", "list", [b"y", b"x"])
    assert dataset_digest([a, rev]) != dataset_digest([a, b])
    ttl = Record(0, b"a", "string", b"1", expire_ms=1)
    assert dataset_digest([ttl, b]) != dataset_digest([a, b])
