"""``convert`` and ``merge --on-duplicate`` in bounded memory: with every structure spilled
to ``--tmpdir`` (a run of one record, a digest table of 7 keys) they write what a dict
would keep and refuse what it would refuse, naming the same key and positions; a refusal
leaves no output and the tmpdir empty; peak RSS stays within 100 MB."""

from __future__ import annotations

import json
import os
from pathlib import Path

import lz4.frame
import pytest
from click.testing import CliRunner

from cli.main import cli
from rdbtools.encoder import encode_bytes, write_events
from rdbtools.io import iter_records
from rdbtools.model import Record
from rdbtools.seek import DumpSource
from tests.rdbtools.test_dedup import spill  # noqa: F401 - the fixture (in memory, all spilled)
from tests.support.peak import rdbkit_peak_kib


def run(*args: object, input: bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def _recs(tag: str, keys: range) -> list[Record]:
    return [Record(i % 3, b"key:%d" % i, "string", b"%s%d" % (tag.encode(), i)) for i in keys]


def _rdb(path: Path, recs: list[Record]) -> Path:
    path.write_bytes(encode_bytes(sorted(recs, key=lambda r: r.db), target_version=10))
    return path


def _jsonl(path: Path, recs: list[Record]) -> Path:
    path.write_text("".join(json.dumps({"db": r.db, "key": r.key.decode(), "type": "string",
                                        "value": r.value.decode()}) + "\n" for r in recs))  # type: ignore[union-attr]
    return path


def _read(path: Path) -> list[tuple[int, bytes, object]]:
    with DumpSource(path, check_duplicates=False) as src:
        return [(r.db, r.key, r.value) for r in src.records()]


def _expect(recs: list[Record], policy: str) -> set[tuple[int, bytes, object]]:
    kept: dict = {}
    for r in recs:
        if policy == "last" or (r.db, r.key) not in kept:
            kept[(r.db, r.key)] = r.value
    return {(db, key, v) for (db, key), v in kept.items()}


@pytest.mark.usefixtures("spill")
@pytest.mark.parametrize("policy", ["first", "last"])
def test_convert_keeps_what_a_dict_would(tmp_path: Path, policy: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    recs = _recs("a", range(40)) + _recs("b", range(30, 60)) + _recs("c", range(0, 60, 7))
    src = _jsonl(tmp_path / "in.jsonl", recs)
    for args, inp in (([src], None), (["-", "--from", "jsonl"], src.read_bytes())):
        out = tmp_path / "out.rdb"
        res = run("convert", *args, out, "--on-duplicate", policy, "--tmpdir", work, input=inp)
        assert res.exit_code == 0, res.output
        got = _read(out)
        assert len(got) == len({(d, k) for d, k, _ in got}) and set(got) == _expect(recs, policy)
        assert list(work.iterdir()) == []
    clean = _rdb(tmp_path / "clean.rdb", _recs("a", range(50)))
    for p in ("error", policy):  # no repeat: every policy writes the input as it is
        res = run("convert", clean, tmp_path / "same.jsonl", "--on-duplicate", p, "--tmpdir", work)
        assert res.exit_code == 0, res.output
        assert _read(tmp_path / "same.jsonl") == _read(clean)


@pytest.mark.usefixtures("spill")
def test_convert_refusal_names_the_first_repeat_and_leaves_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    recs = _recs("a", range(40)) + _recs("b", range(20, 25)) + _recs("c", range(3, 4))
    src = _jsonl(tmp_path / "in.jsonl", recs)
    lines = src.read_bytes().splitlines(keepends=True)
    offsets = [sum(map(len, lines[:i])) for i in range(len(lines))]
    packed = tmp_path / "in.jsonl.lz4"  # read again by name to name the key
    packed.write_bytes(lz4.frame.compress(src.read_bytes()))
    for inp, out in ((src, tmp_path / "out.rdb"), (src, tmp_path / "out.jsonl.lz4"), (packed, tmp_path / "o.rdb")):
        res = run("convert", inp, out, "--tmpdir", work)
        assert res.exit_code == 3, res.output
        # key:20 is the first one read twice (key:3's second time comes later)
        assert (f"duplicate key b'key:20' in db 2: at offset {offsets[20]} and at offset {offsets[40]}"
                in res.stderr)
        assert not out.exists()
    rdb = _rdb(tmp_path / "in.rdb", recs)  # an RDB: the writer stops at its End event
    with DumpSource(rdb, check_duplicates=False) as src:
        seen: dict = {}
        for r in src.records():
            if (r.db, r.key) in seen:
                break
            seen[(r.db, r.key)] = r.offset
    res = run("convert", rdb, tmp_path / "out.rdb", "--tmpdir", work)
    assert res.exit_code == 3, res.output
    assert f"{r.key!r} in db {r.db}: at offset {seen[(r.db, r.key)]} and at offset {r.offset}" in res.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "in.jsonl.lz4", "in.rdb", "work"] and list(work.iterdir()) == []


@pytest.mark.usefixtures("spill")
@pytest.mark.parametrize("policy", ["error", "first", "last"])
def test_merge_of_rdb_and_jsonl(tmp_path: Path, policy: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    a, b, c = _recs("a", range(0, 30)), _recs("b", range(25, 50)), _recs("c", range(60, 70))
    ins = [_rdb(tmp_path / "a.rdb", a), _jsonl(tmp_path / "b.jsonl", b), _rdb(tmp_path / "c.rdb", c)]
    out = tmp_path / "m.rdb"
    res = run("merge", *ins, "-o", out, "--on-duplicate", policy, "--tmpdir", work)
    if policy == "error":
        at = next(r.offset for r in iter_records(str(ins[0])) if r.key == b"key:25")
        assert res.exit_code == 3, res.output
        assert f"duplicate key b'key:25' in db 1: at {ins[0]} offset {at} and at {ins[1]} offset 0 (" in res.stderr
        assert not out.exists()
        res = run("merge", ins[0], ins[2], "-o", out, "--tmpdir", work)
        assert res.exit_code == 0 and set(_read(out)) == _expect(a + c, "error")
    else:
        assert res.exit_code == 0, res.output
        got = _read(out)
        assert len(got) == len(set(got)) and set(got) == _expect(sorted(a, key=lambda r: r.db) + b + c, policy)
    assert list(work.iterdir()) == []


@pytest.mark.usefixtures("spill")
def test_merge_from_stdin(tmp_path: Path) -> None:
    """A stdin input is spooled for first|last (read twice), and an RDB one keeps its version."""
    recs = _recs("a", range(30))
    src = _rdb(tmp_path / "a.rdb", recs)
    for policy in ("error", "first", "last"):
        res = run("merge", "-", "-o", tmp_path / "m.rdb", "--on-duplicate", policy, input=src.read_bytes())
        assert res.exit_code == 0, res.output
        assert _read(tmp_path / "m.rdb") == _read(src)


SOAK = bool(os.environ.get("RDBKIT_SOAK"))


def test_peak_memory_does_not_grow_with_the_input(tmp_path: Path) -> None:
    """CI converts and merges 20K keys; ``RDBKIT_SOAK=1`` 3M (a digest table, the last
    positions of every repeated key, would pass 100 MB there): peak RSS within 100 MB."""
    n = 3_000_000 if SOAK else 20_000
    paths = []
    for name, tag in (("a.rdb", b"a"), ("b.rdb", b"b")):
        path = tmp_path / name
        with open(path, "wb") as f:
            write_events((Record(0, b"key:%d" % i, "string", tag + b"%d" % i) for i in range(n)), f,
                         target_version=10, aux=None)
        paths.append(path)
    work = tmp_path / "work"
    work.mkdir()
    for cmd in (["convert", paths[0], tmp_path / "c.rdb"],
                ["merge", *paths, "-o", tmp_path / "m.rdb", "--on-duplicate", "last"]):
        kib = rdbkit_peak_kib(*map(str, cmd), "--tmpdir", str(work))
        assert kib / 1024 <= 100, f"{cmd[0]}: peak RSS {kib / 1024:.0f} MB"
        assert list(work.iterdir()) == []
    merged = iter_records(str(tmp_path / "m.rdb"))
    assert next(merged).value == b"b0" and sum(1 for _ in merged) == n - 1
