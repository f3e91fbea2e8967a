"""``rdbkit merge``: dumps into one, keys in two inputs refused or resolved as
``--on-duplicate`` says, ``--db-map`` moving dbs; real Redis 7.0 loads the result with
the digest of the expected keyspace."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from rdbtools.digest import dataset_digest
from rdbtools.encoder import encode_bytes
from rdbtools.io import iter_records
from rdbtools.model import FunctionLibrary, Record
from tests.support.servers import start_real

LIB = FunctionLibrary(b"#!lua name=m\nredis.register_function('mf', function() return 1 end)")


def _rdb(path: Path, recs: list[Record], *extra: object) -> str:
    path.write_bytes(encode_bytes([*extra, *recs], target_version=10))
    return str(path)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _keyspace(path: Path) -> dict[tuple[int, bytes], object]:
    return {(r.db, r.key): r.value for r in iter_records(str(path))}


def test_merge_and_duplicates(tmp_path: Path) -> None:
    a = _rdb(tmp_path / "a.rdb", [Record(0, b"x", "string", b"a-x"), Record(1, b"h", "hash", [(b"f", b"1")]),
                                  Record(0, b"both", "string", b"from-a")], LIB)
    b = _rdb(tmp_path / "b.rdb", [Record(0, b"both", "string", b"from-b"), Record(0, b"y", "set", [b"1", b"2"])])
    out = tmp_path / "out.rdb"
    res = run("merge", a, b, "-o", str(out))
    assert res.exit_code == ExitStatus.CORRUPT_INPUT and not out.exists()
    assert f"duplicate key b'both' in db 0: at {a} offset" in res.stderr and f"and at {b} offset" in res.stderr
    for policy, both in (("first", b"from-a"), ("last", b"from-b")):
        res = run("merge", a, b, "-o", str(out), "--on-duplicate", policy)
        assert res.exit_code == 0, res.output
        assert _keyspace(out) == {(0, b"x"): b"a-x", (1, b"h"): [(b"f", b"1")], (0, b"both"): both,
                                  (0, b"y"): [b"1", b"2"]}
    res = run("merge", a, b, "-o", str(tmp_path / "m.jsonl"), "--on-duplicate", "first", "--db-map", "1:3")
    assert res.exit_code == 0, res.output
    assert '"db":3,"key":"h"' in (tmp_path / "m.jsonl").read_text().replace(" ", "")


def test_real_redis_loads_the_merge(tmp_path: Path) -> None:
    a = _rdb(tmp_path / "a.rdb", [Record(0, b"k%d" % i, "string", b"v%d" % i) for i in range(50)], LIB)
    b = _rdb(tmp_path / "b.rdb", [Record(2, b"z%d" % i, "zset", [(b"m", float(i))]) for i in range(50)])
    (tmp_path / "srv").mkdir()
    assert run("merge", a, b, "-o", str(tmp_path / "srv" / "dump.rdb")).exit_code == 0
    srv = start_real(tmp_path / "srv", "--dbfilename", "dump.rdb", "--enable-debug-command", "yes", loaded=True)
    try:
        c = srv.client()
        want = list(iter_records(a)) + list(iter_records(b))
        assert c.execute_command("DEBUG", "DIGEST").decode() == dataset_digest(want)
        assert c.fcall("mf", 0) == 1  # the library came along
    finally:
        srv.stop()
    shutil.rmtree(tmp_path / "srv")
