"""``rdbtools.diff`` and ``rdbtools.seek``: the streamed, indexed diff of two dumps.

The constructed case: the real 7.0 fixture (RDB) against a JSONL copy of it
mutated in every way a diff must report, plus changes it must not report
(set/hash order, LRU/LFU hints, a stream's metadata unknown to an older format).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import lz4.frame
import pytest

from rdbtools import diff as diffmod
from rdbtools.decoder import Filter
from rdbtools.diff import (
    EXPIRE,
    FIELD_EXPIRE,
    ONLY_IN_A,
    ONLY_IN_B,
    TYPE,
    VALUE,
    DiffStats,
    compare_records,
    diff_sources,
    difference_to_json,
    value_digest,
)
from rdbtools.errors import RdbCorruptError, RdbError
from rdbtools.io import iter_records
from rdbtools.jsonl import record_to_json
from rdbtools.model import PendingEntry, Record, Stream, StreamGroup
from rdbtools.seek import DumpSource, decode_record_at
from tests.support.manifest import FIXTURES, iter_fixture_rdbs

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"


def write_jsonl(path: Path, records: list[Record]) -> Path:
    path.write_text("".join(json.dumps(record_to_json(r)) + "\n" for r in records))
    return path


def run_diff(a, b, flt=None) -> tuple[list, DiffStats]:
    st = DiffStats()
    with DumpSource(a, filter=flt, seekable=True) as sa, DumpSource(b, filter=flt) as sb:
        out = list(diff_sources(sa, sb, st))
    return out, st


def by_key(diffs) -> dict:
    out: dict = {}
    for d in diffs:
        out.setdefault((d.db, d.key), {})[d.kind] = d
    return out


def mutate(records: list[Record]) -> list[Record]:
    """The B side: every kind of difference, each on its own key."""
    recs = {(r.db, r.key): dataclasses.replace(r) for r in records}

    def rec(key: bytes, db: int = 0) -> Record:
        return recs[(db, key)]

    del recs[(0, b"str:random")]  # only in A
    recs[(2, b"new:key")] = Record(2, b"new:key", "string", b"fresh")  # only in B
    r = rec(b"str:len20")  # type changed
    recs[(0, b"str:len20")] = Record(0, r.key, "list", [r.value])
    rec(b"str:counter").expire_ms = 4102444800000  # expiry added
    rec(b"str:ttl:pxat").expire_ms = None  # expiry removed
    rec(b"zset:ttl").expire_ms += 1  # expiry changed
    rec(b"str:len45").value = b"y" * 45  # string value
    s = rec(b"set:strings")  # set: one member removed, one added; order shuffled
    s.value = list(reversed(s.value[1:])) + [b"added-member"]
    h = rec(b"hash:small")  # hash: field added, removed, changed; field TTL set
    pairs = dict(h.value)
    first, second, third, *_ = sorted(pairs)
    del pairs[first]
    pairs[second] = b"changed-value"
    pairs[b"new-field"] = b"v"
    h.value = list(reversed(pairs.items()))
    h.field_expires = {third: 4102444800999}
    z = rec(b"zset:128")  # zset: member added, removed, score changed
    zs = dict(z.value)
    del zs[b"m0"]
    zs[b"m1"] = 99.5
    zs[b"brand-new"] = -1.0
    z.value = list(zs.items())
    lst = rec(b"list:small")  # list: element changed and appended
    lst.value = lst.value[:2] + [b"X"] + lst.value[3:] + [b"tail"]
    st = rec(b"stream:main")  # stream: an entry added, a group's last id moved
    v = st.value
    new_id = (v.last_id[0] + 1, 0)
    g0 = dataclasses.replace(v.groups[0], last_id=new_id)
    st.value = dataclasses.replace(
        v, entries=v.entries + ((new_id, ((b"k", b"v"),)),), length=v.length + 1,
        last_id=new_id, groups=(g0,) + v.groups[1:],
    )
    rec(b"str:int:1").idle = 12345  # hints are not data
    rec(b"db15:str", 15).freq = 7
    return list(recs.values())


EXPECTED = {
    (0, b"str:random"): {ONLY_IN_A},
    (2, b"new:key"): {ONLY_IN_B},
    (0, b"str:len20"): {TYPE},
    (0, b"str:counter"): {EXPIRE},
    (0, b"str:ttl:pxat"): {EXPIRE},
    (0, b"zset:ttl"): {EXPIRE},
    (0, b"str:len45"): {VALUE},
    (0, b"set:strings"): {VALUE},
    (0, b"hash:small"): {VALUE, FIELD_EXPIRE},
    (0, b"zset:128"): {VALUE},
    (0, b"list:small"): {VALUE},
    (0, b"stream:main"): {VALUE},
}


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return list(iter_records(RDB))


def test_every_kind_of_difference(tmp_path, records):
    b = write_jsonl(tmp_path / "b.jsonl", mutate(records))
    diffs, st = run_diff(str(RDB), str(b))
    got = by_key(diffs)
    assert {k: set(v) for k, v in got.items()} == EXPECTED
    assert st.keys_a == len(records) and st.keys_b == len(records)
    assert st.changed_keys == len(EXPECTED) - 2 and st.keys_different == len(EXPECTED)
    assert st.reread == len(EXPECTED) - 1  # changed keys and the key only in A; never all keys

    only_a = got[(0, b"str:random")][ONLY_IN_A]
    assert only_a.detail["record"].value == next(r.value for r in records if r.key == b"str:random")
    assert got[(0, b"str:len20")][TYPE].detail == {"a": "string", "b": "list"}
    assert got[(0, b"str:counter")][EXPIRE].detail == {"a": None, "b": 4102444800000}
    assert got[(0, b"str:ttl:pxat")][EXPIRE].detail == {"a": 4102444800123, "b": None}
    z = got[(0, b"zset:ttl")][EXPIRE].detail
    assert z["b"] == z["a"] + 1
    assert got[(0, b"str:len45")][VALUE].detail["b"] == b"y" * 45
    sd = got[(0, b"set:strings")][VALUE].detail
    assert sd["added"] == [b"added-member"] and len(sd["removed"]) == 1
    hd = got[(0, b"hash:small")][VALUE].detail
    assert len(hd["added"]) == 1 and len(hd["removed"]) == 1
    assert [c[2] for c in hd["changed"]] == [b"changed-value"]
    ft = got[(0, b"hash:small")][FIELD_EXPIRE].detail["changed"]
    assert [(x, y) for _, x, y in ft] == [(None, 4102444800999)]
    zd = got[(0, b"zset:128")][VALUE].detail
    assert zd["added"] == [(b"brand-new", -1.0)] and zd["removed"] == [(b"m0", 0.0)]
    assert zd["changed"] == [(b"m1", 0.25, 99.5)]
    ld = got[(0, b"list:small")][VALUE].detail
    assert (ld["len_a"], ld["len_b"], ld["first_index"]) == (7, 8, 2)
    assert b"X" in ld["added"] and b"tail" in ld["added"] and len(ld["removed"]) == 1
    sd = got[(0, b"stream:main")][VALUE].detail
    assert len(sd["entries_added"]) == 1 and sd["meta"]["length"] == (297, 298)
    assert list(sd["groups_changed"]) == [b"g1"]
    for d in diffs:  # every difference has a JSON form with jbytes keys
        obj = json.loads(json.dumps(difference_to_json(d)))
        assert obj["diff"] == d.kind and obj["db"] == d.db


def test_equal_inputs_in_every_format(tmp_path, records):
    jl = write_jsonl(tmp_path / "a.jsonl", records)
    packed = tmp_path / "a.rdb.lz4"
    packed.write_bytes(lz4.frame.compress(RDB.read_bytes()))
    jpacked = tmp_path / "a.jsonl.lz4"
    jpacked.write_bytes(lz4.frame.compress(jl.read_bytes()))
    for a, b in ((RDB, RDB), (RDB, jl), (jl, RDB), (packed, jpacked), (jpacked, packed)):
        diffs, st = run_diff(str(a), str(b))
        assert diffs == [] and st.keys_different == 0 and st.reread == 0
        assert st.keys_a == st.keys_b == len(records)


def test_batches_and_compressed_a_side(tmp_path, records, monkeypatch):
    monkeypatch.setattr(diffmod, "_BATCH", 3)
    b = write_jsonl(tmp_path / "b.jsonl", mutate(records))
    packed = tmp_path / "a.rdb.lz4"  # A must be spooled to be re-read
    packed.write_bytes(lz4.frame.compress(RDB.read_bytes()))
    diffs, _ = run_diff(str(packed), str(b))
    assert {k: set(v) for k, v in by_key(diffs).items()} == EXPECTED
    # swapped sides: only-in-A/B swap, A is now the JSONL file
    swapped, _ = run_diff(str(b), str(RDB))
    kinds = {k: set(v) for k, v in by_key(swapped).items()}
    assert kinds[(0, b"str:random")] == {ONLY_IN_B} and kinds[(2, b"new:key")] == {ONLY_IN_A}


def test_filters_apply_to_both_sides(tmp_path, records):
    b = write_jsonl(tmp_path / "b.jsonl", mutate(records))
    diffs, st = run_diff(str(RDB), str(b), Filter(types=frozenset({"zset"})))
    assert {d.key for d in diffs} == {b"zset:ttl", b"zset:128"}
    assert st.keys_a == sum(r.type == "zset" for r in records)
    diffs, _ = run_diff(str(RDB), str(b), Filter(dbs=frozenset({2})))
    assert [(d.kind, d.key) for d in diffs] == [(ONLY_IN_B, b"new:key")]
    diffs, _ = run_diff(str(RDB), str(b), Filter(key="str:*"))
    assert {d.key for d in diffs} == {k for (_, k) in EXPECTED if k.startswith(b"str:")}


def test_stream_metadata_missing_in_older_format_is_not_a_difference():
    entries = (((1, 0), ((b"f", b"v"),)),)
    g_old = StreamGroup(b"g", (1, 0), None, (PendingEntry((1, 0), 5, 1, b"c"),), ())
    g_new = dataclasses.replace(g_old, entries_read=1)
    old = Stream(entries, 1, (1, 0), None, None, None, (g_old,))
    new = Stream(entries, 1, (1, 0), (1, 0), (0, 0), 1, (g_new,))
    a = Record(0, b"s", "stream", old)
    b = Record(0, b"s", "stream", new)
    assert value_digest(a) != value_digest(b)
    assert compare_records(a, b) == []
    newer = dataclasses.replace(new, entries_added=2)
    assert compare_records(Record(0, b"s", "stream", new), Record(0, b"s", "stream", newer))


def test_compare_records_units():
    def r(t, v, **kw):
        return Record(0, b"k", t, v, **kw)

    assert compare_records(r("zset", [(b"a", 0.0)]), r("zset", [(b"a", -0.0)])) == []
    assert compare_records(r("set", [b"a", b"b"]), r("set", [b"b", b"a"])) == []
    assert value_digest(r("set", [b"a", b"b"])) == value_digest(r("set", [b"b", b"a"]))
    assert value_digest(r("hash", [(b"a", b"1"), (b"b", b"2")])) == value_digest(
        r("hash", [(b"b", b"2"), (b"a", b"1")]))
    assert value_digest(r("string", b"x", idle=5, freq=3)) == value_digest(r("string", b"x"))
    assert value_digest(r("string", b"x", expire_ms=1)) != value_digest(r("string", b"x"))
    d = compare_records(r("list", [b"a", b"b", b"b"]), r("list", [b"a", b"b", b"c", b"b"]))
    assert d[0].detail == {"len_a": 3, "len_b": 4, "first_index": 2, "added": [b"c"], "removed": []}
    d = compare_records(
        r("hash", [(b"f", b"v"), (b"g", b"w")], field_expires={b"f": 1, b"g": 2}),
        r("hash", [(b"f", b"v"), (b"g", b"w")], field_expires={b"f": 1, b"g": 3}),
    )
    assert [x.kind for x in d] == [FIELD_EXPIRE] and d[0].detail["changed"] == [(b"g", 2, 3)]
    d = compare_records(r("string", b"1", expire_ms=5), r("set", [b"1"]))
    assert [x.kind for x in d] == [TYPE, EXPIRE]


def test_binary_keys_in_json(tmp_path, records):
    recs = [r for r in records if r.key == b"bin\x00key\xff\xfe"]
    b = write_jsonl(tmp_path / "b.jsonl", [dataclasses.replace(recs[0], value=b"other")])
    diffs, _ = run_diff(str(RDB), str(b), Filter(key="bin*"))
    obj = difference_to_json(diffs[0])
    assert obj["key"] == {"base64": "YmluAGtlef/+"} and obj["b"] == "other"


@pytest.mark.parametrize("path", iter_fixture_rdbs(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_seek_rereads_every_fixture_record(path):
    with DumpSource(path, seekable=True) as src:
        recs = list(src.records())
        got = src.read_many([(r.offset, r.expire_ms) for r in recs])
    for r in recs:
        g = got[r.offset]
        assert (g.db, g.key, g.type, g.value, g.field_expires, g.expire_ms) == (
            r.db, r.key, r.type, r.value, r.field_expires, r.expire_ms)


def test_seek_errors(tmp_path):
    data = RDB.read_bytes()
    with open(RDB, "rb") as f:
        with pytest.raises(RdbCorruptError):
            decode_record_at(f, 0)  # the header is not a key
    cut = tmp_path / "cut.rdb"
    first = next(iter_records(RDB))
    cut.write_bytes(data[: first.offset + 20])
    with open(cut, "rb") as f, pytest.raises(RdbError):
        decode_record_at(f, first.offset)
    bad = tmp_path / "bad.jsonl"
    good = '{"db": 0, "key": "a", "type": "string", "expire_ms": null, "value": "x"}\n'
    bad.write_text(good + "{oops\n")
    with DumpSource(bad) as src, pytest.raises(RdbCorruptError) as exc:
        list(src.records())
    assert exc.value.offset == len(good)
    assert str(exc.value).startswith(f"{bad}: invalid JSONL record on line 2")
    other = tmp_path / "x.txt"
    other.write_bytes(b"hello")
    with pytest.raises(RdbCorruptError):
        DumpSource(other)
