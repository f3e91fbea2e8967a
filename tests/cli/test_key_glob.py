"""``--key GLOB`` selects the keys real Redis 7.0.15's KEYS selects.

Random keys go into a real redis-server, which SAVEs them; ``rdbkit dump --key``
on that file must list exactly the keys ``KEYS`` returns for the same pattern,
awkward bytes included (``[ ] ^ - \\``, high bytes, the signed-char ranges).
The pattern reaches click as Python hands over ``sys.argv`` (surrogateescape);
one real subprocess passes raw argv bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cli.main import cli
from rdbtools.jsonl import unjbytes
from tests.engine.conftest import ROOT, ServerProc, start_real

PAT_ALPHABET = b"*?[]^-\\abA\x80\xe9\xff"  # no NUL: an argv string cannot hold one
KEY_ALPHABET = b"abA-]^\\*?[\x00\x80\xe9\xff"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[redis.Redis, Path]]:
    tmp = tmp_path_factory.mktemp("glob-real")
    srv: ServerProc = start_real(tmp)
    c = srv.client(socket_timeout=10, protocol=2)
    yield c, tmp / "dump.rdb"
    c.close()
    srv.stop()


def _save(c: redis.Redis, keys: list[bytes]) -> None:
    c.flushall()
    if keys:
        c.mset({k: 1 for k in keys})
    c.save()


def _dumped_keys(output: str) -> list[bytes]:
    return sorted(unjbytes(json.loads(line)["key"]) for line in output.splitlines())


@settings(max_examples=40 * (20 if os.environ.get("RDBKIT_SOAK") else 1), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(keys=st.lists(st.lists(st.sampled_from(KEY_ALPHABET), max_size=6).map(bytes), max_size=12, unique=True),
       pats=st.lists(st.lists(st.sampled_from(PAT_ALPHABET), max_size=8).map(bytes),
                     min_size=1, max_size=4))
@example(keys=[b"", b"a", b"]", b"\xe9", b"\x80", b"\\", b"-"],
         pats=[b"*", b"**", b"", b"[a-\xe9]", b"[a-]", b"[^", b"[", b"\\", b"[^]", b"?"])
def test_dump_key_glob_is_keys(saved: tuple[redis.Redis, Path], keys: list[bytes], pats: list[bytes]) -> None:
    c, rdb = saved
    _save(c, keys)
    for pat in pats:
        res = CliRunner().invoke(cli, ["dump", str(rdb), "--key", os.fsdecode(pat)], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert _dumped_keys(res.output) == sorted(c.keys(pat)), pat


def test_dump_key_glob_from_raw_argv(saved: tuple[redis.Redis, Path]) -> None:
    c, rdb = saved
    _save(c, [b"\xe9t\xe9", b"et\xe9", b"\xe9", b"caf\xc3\xa9", b"b"])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for pat in (b"[\xe9-a]*", b"caf\xc3\xa9"):
        out = subprocess.run([sys.executable, "-m", "cli", "dump", str(rdb), "--key", pat],
                             env=env, capture_output=True, check=True).stdout
        assert _dumped_keys(out.decode()) == sorted(c.keys(pat)), pat
