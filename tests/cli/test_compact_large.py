"""``rdbkit compact`` at scale, judged by real Redis.

A seeded noisy AOF (:mod:`tests.support.noisy_aof`: SET/APPEND/INCR/LPUSH/LPOP/HSET/
HDEL/SADD/SREM/ZADD/ZREM/DEL, PEXPIREAT in the future and in the past, SELECT over
four dbs, MULTI/EXEC) is compacted in every output format; each output must load in
real redis-server 7.0 as exactly the final state real Redis 7.0 reaches by loading
the input itself: every db, key, type, value and TTL (``PEXPIRETIME``; the input
only has absolute deadlines, so TTLs compare exactly), plus ``DEBUG DIGEST``.

CI size: 300k writes on 20k keys (well under a minute). ``RDBKIT_SOAK=1`` runs the
issue's size, 3M writes on 200k keys (several minutes: compact replays the input
once per format).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.support.aof_loading import (
    REDIS_SERVER,
    digest,
    keyspace,
    place_single_file,
    real_redis_aof,
)
from tests.support.noisy_aof import DBS, write_noisy_aof

SOAK = os.environ.get("RDBKIT_SOAK") == "1"
WRITES, KEYS = (3_000_000, 200_000) if SOAK else (300_000, 20_000)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.differential,
    pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="needs Debian's redis-server 7.0"),
]

FORMATS = {
    "aof": ["--format", "aof"],
    "preamble": ["--format", "preamble"],
    "multipart-rdb": ["--format", "multipart", "--base-format", "rdb"],
    "multipart-aof": ["--format", "multipart", "--base-format", "aof"],
}


def _compact(src: Path, out: Path, args: list[str]) -> str:
    res = CliRunner().invoke(cli, ["compact", str(src), "-o", str(out), *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "(0 error replies ignored)" in res.output, res.output  # the input has no failing command
    return res.output


def _load(output: Path, workdir: Path) -> tuple[dict, bytes]:
    """What real Redis holds after loading ``output`` (a file: as its single-file AOF)."""
    if output.is_dir():
        assert output.parent == workdir and output.name == "appendonlydir"
    else:
        place_single_file(output, workdir)
    with real_redis_aof(workdir) as srv:
        return keyspace(srv.port), digest(srv.port)


def _diff(want: dict, got: dict, limit: int = 8) -> list[str]:
    out = []
    for k in sorted(set(want) | set(got)):
        a, b = want.get(k), got.get(k)
        if a != b:
            out.append(f"db {k[0]} key {k[1]!r}: input {repr(a)[:200]} / compact {repr(b)[:200]}")
            if len(out) >= limit:
                break
    return out


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("noisy") / "input.aof"
    stats = write_noisy_aof(path, WRITES, KEYS)
    assert stats.writes == WRITES
    return path


@pytest.fixture(scope="module")
def expected(noisy: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, bytes]:
    """The input's final state, as real Redis 7.0 loads it."""
    return _load(noisy, tmp_path_factory.mktemp("real-input"))


def test_input_is_noisy_enough(expected: tuple[dict, bytes]) -> None:
    """The oracle's keyspace covers what the compaction must get right."""
    keys, _ = expected
    assert {db for db, _ in keys} == set(DBS)
    types = {t for t, _, _ in keys.values()}
    assert types == {"string", "list", "set", "hash", "zset"}
    assert sum(1 for _, _, e in keys.values() if e is not None) > len(keys) // 20  # TTLs survive
    assert len(keys) < KEYS  # deleted and expired keys are gone
    biggest = {t: max(len(v) for tt, v, _ in keys.values() if tt == t) for t in types}
    # past listpack / intset limits (8 kB list nodes, 128 hash fields and zset
    # members, 512 set members), so both encodings of each are in the input
    assert biggest["list"] > 500 and biggest["hash"] > 128 and biggest["zset"] > 128
    assert biggest["set"] > 512
    zscores = {s for t, v, _ in keys.values() if t == "zset" for _, s in v}
    assert float("inf") in zscores and float("-inf") in zscores


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_compact_output_loads_in_real_redis_as_input(
    fmt: str, noisy: Path, expected: tuple[dict, bytes], tmp_path: Path
) -> None:
    want_keys, want_digest = expected
    out = tmp_path / ("appendonlydir" if fmt.startswith("multipart") else "compact.aof")
    log = _compact(noisy, out, FORMATS[fmt])
    assert f"keys: {len(want_keys)} written" in log, log
    got_keys, got_digest = _load(out, tmp_path)
    assert not _diff(want_keys, got_keys), "\n".join(_diff(want_keys, got_keys))
    assert got_digest == want_digest
    if not out.is_dir():
        assert out.stat().st_size < noisy.stat().st_size // 2


def test_compact_select_inside_multi(tmp_path: Path) -> None:
    src = tmp_path / "multi.aof"
    write_noisy_aof(src, 20_000, 2_000, multi_rate=0.3, select_in_multi=0.5)
    want_keys, want_digest = _load(src, tmp_path / "in")
    _compact(src, tmp_path / "out.aof", ["--format", "aof"])
    got_keys, got_digest = _load(tmp_path / "out.aof", tmp_path / "out")
    assert not _diff(want_keys, got_keys), "\n".join(_diff(want_keys, got_keys))
    assert got_digest == want_digest
