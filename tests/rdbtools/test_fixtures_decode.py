"""Every fixture decodes to exactly its manifest: keys, types, values, TTLs, LFU/LRU, streams."""

from __future__ import annotations

import math

import pytest

from rdbtools import FunctionLibrary, FunctionPreGA, ModuleValue, Record, read_all
from tests.support.manifest import iter_fixture_rdbs, load_manifest, manifest_keys

FILES = iter_fixture_rdbs()

# Which on-disk encodings may hold what OBJECT ENCODING reported at save time.
COMPATIBLE = {
    "string": {"int", "embstr", "raw"},
    "listpack": {"listpack"},
    "ziplist": {"ziplist"},
    "intset": {"intset"},
    "hashtable": {"hashtable"},
    "skiplist": {"skiplist"},
    "quicklist": {"quicklist", "listpack"},  # 7.2+ saves listpack lists as one packed node
    "linkedlist": {"linkedlist"},
    "zipmap": {"zipmap"},
    "listpackex": {"listpackex"},
    "stream": {"stream"},
    "module": {"raw", None},
}


def _sid(i) -> bytes:
    return b"%d-%d" % i


def _norm(rec: Record):
    v = rec.value
    if rec.type == "set":
        return sorted(v)
    if rec.type == "zset":
        return sorted(v, key=lambda p: (p[1], p[0]))
    if rec.type == "hash":
        return sorted(v)
    if rec.type == "list" or rec.type == "string":
        return v
    return v


def _same_scores(got, want) -> bool:
    if [m for m, _ in got] != [m for m, _ in want]:
        return False
    return all(a == b and math.copysign(1, a) == math.copysign(1, b) for (_, a), (_, b) in zip(got, want))


def _check_stream(rec: Record, want: dict) -> None:
    s = rec.value
    assert [(_sid(i), [x for fv in f for x in fv]) for i, f in s.entries] == [
        (i, list(fv)) for i, fv in want["entries"]
    ]
    info = want["xinfo_full"]
    assert s.length == info["length"]
    assert _sid(s.last_id) == info["last-generated-id"]
    if "entries-added" in info:
        assert s.entries_added == info["entries-added"]
        assert _sid(s.max_deleted_id) == info["max-deleted-entry-id"]
        assert _sid(s.first_id) == info["recorded-first-entry-id"]
    assert [g.name for g in s.groups] == [g["name"] for g in info["groups"]]
    for g, wg in zip(s.groups, info["groups"]):
        assert _sid(g.last_id) == wg["last-delivered-id"]
        if "entries-read" in wg:
            assert g.entries_read == wg["entries-read"]
        assert [(_sid(p.id), p.consumer, p.delivery_time, p.delivery_count) for p in g.pending] == [
            (p[0], p[1], p[2], p[3]) for p in wg["pending"]
        ]
        assert [c.name for c in g.consumers] == [c["name"] for c in wg["consumers"]]
        for c, wc in zip(g.consumers, wg["consumers"]):
            assert c.seen_time == wc["seen-time"]
            if "active-time" in wc:
                assert c.active_time == wc["active-time"]
            assert [_sid(i) for i in c.pending] == [p[0] for p in wc["pending"]]


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_fixture_decodes_to_its_manifest(path):
    manifest = load_manifest(path)
    want = manifest_keys(manifest)
    events = read_all(path)
    records = {(e.db, e.key): e for e in events if type(e) is Record}
    assert sorted(records) == sorted(want)
    for k, w in want.items():
        rec = records[k]
        assert rec.type == w["type"], k
        assert rec.expire_ms == w["expire_ms"], k
        if w.get("lfu_freq") is not None:
            assert rec.freq == w["lfu_freq"], k
        if w.get("lru_idle_s") is not None:
            assert rec.idle is not None and abs(rec.idle - w["lru_idle_s"]) <= 3, k
        assert (rec.field_expires or None) == (w.get("field_expires") or None), k
        if w.get("encoding") is not None:
            assert w["encoding"] in COMPATIBLE[rec.encoding], (k, rec.encoding, w["encoding"])
        if rec.type == "stream":
            _check_stream(rec, w["value"])
        elif rec.type == "zset":
            assert _same_scores(_norm(rec), w["value"]), k
        elif rec.type == "module":
            assert isinstance(rec.value, ModuleValue)
            assert rec.value.module_name == w["value"]["module_name"]
            assert rec.value.raw == w["value"]["raw"]
        else:
            assert _norm(rec) == w["value"], k
    libs = [e.code for e in events if type(e) is FunctionLibrary]
    pre_ga = [e for e in events if type(e) is FunctionPreGA]
    if manifest.get("functions") and not pre_ga:
        assert sorted(libs) == sorted(f["library_code"].encode("latin-1") for f in manifest["functions"])
    if manifest.get("functions_pre_ga"):
        assert len(pre_ga) == len(manifest["functions_pre_ga"])
