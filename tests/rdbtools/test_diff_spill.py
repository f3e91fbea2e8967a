"""``rdbtools.diff`` in bounded memory: sorted runs spilled to disk give the same answer.

A run of a few records forces the diff through the spilled path (many runs, merged,
collapsed past the fan-in); its output must be the in-memory answer, which must be
what a plain dict of A's keys says (the oracle below: B's differing keys in B's
order, then the keys only in A in A's order). Runs are anonymous temporary files:
the tmpdir stays empty and no file stays open, even when the diff is abandoned.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from rdbtools import diff as diffmod
from rdbtools import spill
from rdbtools.diff import DiffStats, compare_records, diff_sources, difference_to_json
from rdbtools.encoder import write_events
from rdbtools.errors import DuplicateKey
from rdbtools.jsonl import record_to_json
from rdbtools.model import Record
from rdbtools.seek import DumpSource

FAR = 4_102_444_800_000


def make_pair(n: int = 300, seed: int = 5) -> tuple[list[Record], list[Record]]:
    """A and B: B drops, changes, retypes, re-expires some of A's keys, moves some to
    another db, and adds keys; B's order is not A's."""
    rnd = random.Random(seed)
    a: list[Record] = []
    b: list[Record] = []
    for i in range(n):
        db = i % 3
        key = b"k:%d" % i
        kind = i % 5
        if kind == 0:
            rec = Record(db, key, "string", b"v%d" % rnd.randrange(1000))
        elif kind == 1:
            rec = Record(db, key, "hash", [(b"f%d" % j, b"x%d" % j) for j in range(rnd.randint(1, 4))])
        elif kind == 2:
            rec = Record(db, key, "list", [b"e%d" % rnd.randrange(9) for _ in range(rnd.randint(1, 5))])
        elif kind == 3:
            rec = Record(db, key, "set", sorted({b"m%d" % rnd.randrange(20) for _ in range(4)}))
        else:
            rec = Record(db, key, "zset", [(b"z%d" % j, float(j)) for j in range(rnd.randint(1, 4))])
        if rnd.random() < 0.2:
            rec.expire_ms = FAR + i
        a.append(rec)
        what = rnd.random()
        if what < 0.05:
            continue  # only in A
        if what < 0.10:
            new = Record(db, key, rec.type, rec.value, FAR - i)
        elif what < 0.15:
            new = Record(db, key, "string", b"retyped") if rec.type != "string" else \
                Record(db, key, "list", [b"retyped"])
        elif what < 0.20:
            new = Record(db, key, "string", b"changed") if rec.type == "string" else \
                Record(db, key, rec.type, rec.value[:-1] or rec.value + rec.value, rec.expire_ms)
            if rec.type in ("set", "hash", "zset") and len(rec.value) == 1:
                new = Record(db, key, "string", b"was-one")
        elif what < 0.22:
            new = Record((db + 1) % 3, key, rec.type, rec.value, rec.expire_ms)  # same key, other db
        else:
            new = rec
        b.append(new)
    for j in range(n // 20):
        b.append(Record(j % 2, b"new:%d" % j, "string", b"n%d" % j))
    rnd.shuffle(b)
    # an RDB holds each db's keys together: these lists are the files' orders
    return sorted(a, key=lambda r: r.db), sorted(b, key=lambda r: r.db)


def write_rdb(path: Path, records: list[Record]) -> Path:
    with open(path, "wb") as f:
        write_events(sorted(records, key=lambda r: r.db), f, target_version=10, aux=None)
    return path


def write_jsonl(path: Path, records: list[Record]) -> Path:
    path.write_text("".join(json.dumps(record_to_json(r)) + "\n" for r in records))
    return path


def oracle(a: list[Record], b: list[Record]) -> list[dict]:
    """The differences a dict of every A key gives."""
    in_a = {(r.db, r.key): r for r in a}
    out = []
    for rb in b:
        ra = in_a.pop((rb.db, rb.key), None)
        if ra is None:
            out.append({"diff": "only_in_b", "db": rb.db, "key": rb.key})
        else:
            out += [{"diff": d.kind, "db": d.db, "key": d.key} for d in compare_records(ra, rb)]
    out += [{"diff": "only_in_a", "db": r.db, "key": r.key} for r in a if (r.db, r.key) in in_a]
    return out


def run(a: Path, b: Path, **kw) -> tuple[list[dict], DiffStats]:
    st = DiffStats()
    with DumpSource(a, seekable=True, check_duplicates=False) as sa, \
            DumpSource(b, seekable=True, check_duplicates=False) as sb:
        out = [difference_to_json(d) for d in diff_sources(sa, sb, st, **kw)]
    return out, st


def brief(diffs: list[dict]) -> list[dict]:
    return [{"diff": d["diff"], "db": d["db"], "key": d["key"].encode()} for d in diffs]


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[list[Record], list[Record], Path, Path, Path]:
    d = tmp_path_factory.mktemp("pair")
    a, b = make_pair()
    return a, b, write_rdb(d / "a.rdb", a), write_rdb(d / "b.rdb", b), write_jsonl(d / "b.jsonl", b)


@pytest.mark.parametrize("run_bytes", [spill.DEFAULT_RUN_BYTES, 32 * 7, 32])
def test_spilled_runs_give_the_in_memory_answer(pair, run_bytes: int, monkeypatch) -> None:
    a, b, fa, fb, fb_jsonl = pair
    spilled = []
    real = spill.SortedRuns._spill
    monkeypatch.setattr(spill.SortedRuns, "_spill", lambda self: (spilled.append(1), real(self)))
    out, st = run(fa, fb, run_bytes=run_bytes)
    assert brief(out) == oracle(a, b)
    assert len(out) > 40 and {d["diff"] for d in out} >= {"only_in_a", "only_in_b", "type", "expire", "value"}
    assert (st.keys_a, st.keys_b) == (len(a), len(b))
    # one run for 300 keys in memory; past the fan-in with one record a run
    assert (len(spilled) == 0) if run_bytes == spill.DEFAULT_RUN_BYTES else len(spilled) > spill._FAN_IN
    in_memory, _ = run(fa, fb)
    assert out == in_memory
    assert run(fa, fb_jsonl, run_bytes=run_bytes)[0] == in_memory


def test_keys_sharing_a_digest_are_told_apart(pair, monkeypatch) -> None:
    """Eight digests for every key: each digest is met many times on both sides."""
    a, b, fa, fb, _ = pair
    real = diffmod.key_digest
    monkeypatch.setattr(diffmod, "key_digest", lambda db, key: real(db, key) % 8)
    for run_bytes in (spill.DEFAULT_RUN_BYTES, 32 * 5):
        out, _ = run(fa, fb, run_bytes=run_bytes)
        assert brief(out) == oracle(a, b)


def test_one_shared_digest_pair_is_told_apart(tmp_path, monkeypatch) -> None:
    """Two keys, one in each input, with one digest and different values: one only in A,
    one only in B (the collision is found when the records are re-read)."""
    real = diffmod.key_digest
    monkeypatch.setattr(diffmod, "key_digest", lambda db, key: 1 if key in (b"x", b"y") else real(db, key))
    a = [Record(0, b"x", "string", b"1"), Record(0, b"same", "string", b"s")]
    b = [Record(0, b"same", "string", b"s"), Record(0, b"y", "string", b"2")]
    out, _ = run(write_rdb(tmp_path / "a.rdb", a), write_rdb(tmp_path / "b.rdb", b))
    assert brief(out) == oracle(a, b) == [{"diff": "only_in_b", "db": 0, "key": b"y"},
                                          {"diff": "only_in_a", "db": 0, "key": b"x"}]


@pytest.mark.parametrize("side", ["a", "b"])
def test_a_key_twice_in_one_input_is_refused_naming_both_offsets(tmp_path, side: str) -> None:
    recs = [Record(0, b"k1", "string", b"1"), Record(0, b"dup", "string", b"first"),
            Record(0, b"k2", "string", b"2"), Record(0, b"dup", "string", b"second")]
    dup = write_jsonl(tmp_path / "dup.jsonl", recs)
    other = write_jsonl(tmp_path / "other.jsonl", recs[:3])
    lines = dup.read_bytes().split(b"\n")
    first, second = len(lines[0]) + 1, sum(len(x) + 1 for x in lines[:3])
    with pytest.raises(DuplicateKey) as info:
        run(dup, other) if side == "a" else run(other, dup)
    err = info.value
    assert (err.key, err.db, err.offset) == (b"dup", 0, second)
    assert f"first at offset {first}" in str(err) and str(dup) in str(err)


def _open_in(d: Path) -> list[str]:
    """This process's open files in ``d`` (anonymous ones show as ``d/#inode (deleted)``)."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return [x for x in links if x.startswith(str(d) + "/")]


def test_runs_live_in_tmpdir_and_leave_nothing(pair, tmp_path) -> None:
    _, _, fa, fb, _ = pair
    work = tmp_path / "runs"
    work.mkdir()
    st = DiffStats()
    with DumpSource(fa, seekable=True) as sa, DumpSource(fb, seekable=True) as sb:
        gen = diff_sources(sa, sb, st, run_bytes=32 * 7, tmpdir=str(work))
        next(gen)
        assert _open_in(work), "runs are not in --tmpdir"
        assert list(work.iterdir()) == []  # anonymous: nothing to leave behind
        rest = list(gen)
        assert rest and _open_in(work) == [] and list(work.iterdir()) == []
    with DumpSource(fa, seekable=True) as sa, DumpSource(fb, seekable=True) as sb:
        gen = diff_sources(sa, sb, run_bytes=32 * 7, tmpdir=str(work))
        next(gen)
        gen.close()  # what an interrupt in the caller does
        assert _open_in(work) == [] and list(work.iterdir()) == []
