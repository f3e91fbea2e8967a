"""RdbEncoder behaviour: file grammar, aux, lazy SELECTDB, lossy rules, encodings by version."""

from __future__ import annotations

import math

import pytest

from rdbtools import (
    Aux,
    End,
    FunctionLibrary,
    FunctionPreGA,
    Header,
    ModuleAux,
    ModuleValue,
    Record,
    ResizeDb,
    SelectDb,
    SlotInfo,
    lzf,
    read_all,
)
from rdbtools.crc64 import crc64
from rdbtools.encoder import Drop, RdbEncoder, default_aux, encode_bytes, write_events
from rdbtools.encodings.listpack import encode_listpack
from rdbtools.encodings.ziplist import encode_ziplist
from rdbtools.errors import RdbEncodeError
from rdbtools.lzf import _compress_py, lzf_fits
from rdbtools.model import Stream, module_id_from_name
from rdbtools.objects import save_value
from rdbtools.policy import (
    EncodingPolicy,
    double2ll,
    fpconv_dtoa,
    lp_entry_size,
    string_double,
    zl_entry_size,
    zset_score_entry,
)
from rdbtools.primitives import save_string as save_rdb_string


def rec(key: bytes, type_: str, value, db: int = 0, **kw) -> Record:
    return Record(db, key, type_, value, **kw)


def records_of(data: bytes) -> list[Record]:
    return [e for e in read_all(data) if type(e) is Record]


def type_byte(r: Record, version: int, policy: EncodingPolicy | None = None) -> int:
    return save_value(r.type, r.value, r.field_expires, version, policy)[0]


# ----------------------------------------------------------------------------- file grammar


def test_header_aux_select_and_trailer() -> None:
    data = encode_bytes([rec(b"k", "string", b"v")], target_version=10, ctime=1700000000, used_mem=123)
    assert data.startswith(b"REDIS0010\xfa\x09redis-ver\x067.0.15\xfa\x0aredis-bits\xc0\x40")
    assert data[-9] == 0xFF and int.from_bytes(data[-8:], "little") == crc64(data[:-8])
    events = read_all(data)
    assert [(e.key, e.value) for e in events if type(e) is Aux] == [
        (b"redis-ver", b"7.0.15"), (b"redis-bits", b"64"), (b"ctime", b"1700000000"),
        (b"used-mem", b"123"), (b"aof-base", b"0")]
    assert [type(e).__name__ for e in events if type(e) is not Aux] == ["Header", "SelectDb", "Record", "End"]
    assert events[-1].verified


def test_default_aux_by_version() -> None:
    assert default_aux(6) == []
    assert [k for k, _ in default_aux(7)] == [b"redis-ver", b"redis-bits", b"ctime", b"used-mem"]
    assert default_aux(9)[-1] == (b"aof-preamble", b"0")
    assert default_aux(12, aof_base=True)[-1] == (b"aof-base", b"1")
    assert {v: dict(default_aux(v))[b"redis-ver"] for v in (9, 10, 11, 12)} == {
        9: b"6.2.14", 10: b"7.0.15", 11: b"7.2.6", 12: b"7.4.1"}


def test_no_checksum_writes_zero_and_version_6_has_no_aux() -> None:
    data = encode_bytes([rec(b"k", "string", b"v")], target_version=6, checksum=False)
    assert data == b"REDIS0006\xfe\x00\x00\x01k\x01v\xff" + bytes(8)


def test_aux_modes() -> None:
    events = [Header(9), Aux(b"redis-ver", b"6.2.5"), Aux(b"lua", b"return 1"), rec(b"k", "string", b"v"), End(0, False)]
    passthrough = read_all(encode_bytes(events, target_version=12, aux="passthrough"))
    assert [(e.key, e.value) for e in passthrough if type(e) is Aux] == [(b"redis-ver", b"6.2.5"), (b"lua", b"return 1")]
    explicit = read_all(encode_bytes(events, target_version=12, aux={b"x": b"1"}))
    assert [(e.key, e.value) for e in explicit if type(e) is Aux] == [(b"x", b"1")]
    none = read_all(encode_bytes(events, target_version=12, aux=None))
    assert not [e for e in none if type(e) is Aux]


@pytest.mark.parametrize("aux", ["explicit", "bogus"])
def test_aux_string_other_than_a_mode_is_refused_up_front(aux: str) -> None:
    # "explicit" is the mode a mapping or pairs select, not a value to pass
    with pytest.raises(ValueError, match="aux must be"):
        RdbEncoder(aux=aux)


def test_select_is_lazy_resizedb_passes_through_and_empty_dbs_vanish() -> None:
    events = [
        Header(10), SelectDb(0), ResizeDb(1, 0), rec(b"a", "string", b"1"),
        SelectDb(3), ResizeDb(5, 2),  # every key of db 3 is dropped below
        rec(b"s", "stream", Stream((), 0, (0, 0), None, None, None, ()), db=3),
        SelectDb(7), ResizeDb(1, 1), rec(b"b", "string", b"2", db=7, expire_ms=5), End(0, False),
    ]
    out = read_all(encode_bytes(events, target_version=8, lossy=True))
    assert [(type(e).__name__, getattr(e, "db", None)) for e in out if type(e) in (SelectDb, ResizeDb)] == [
        ("SelectDb", 0), ("ResizeDb", None), ("SelectDb", 7), ("ResizeDb", None)]
    assert [(e.db_size, e.expires_size) for e in out if type(e) is ResizeDb] == [(1, 0), (1, 1)]


def test_plain_records_get_select_per_db_and_resizedb_only_when_sizes_are_known() -> None:
    recs = [rec(b"a", "string", b"1"), rec(b"b", "string", b"2", db=2), rec(b"c", "string", b"3")]
    out = read_all(encode_bytes(recs, db_sizes={2: (1, 0)}))
    kinds = [(type(e).__name__, getattr(e, "db", None)) for e in out if type(e) in (SelectDb, ResizeDb)]
    assert kinds == [("SelectDb", 0), ("SelectDb", 2), ("ResizeDb", None), ("SelectDb", 0)]
    assert [(r.db, r.key) for r in records_of(encode_bytes(recs))] == [(0, b"a"), (2, b"b"), (0, b"c")]


def test_slot_info_only_at_12_and_idle_freq_only_from_9() -> None:
    events = [Header(12), SelectDb(0), SlotInfo(866, 1, 0), rec(b"k", "string", b"v", idle=7, freq=9)]
    for version in range(6, 13):
        out = read_all(encode_bytes(events, target_version=version))
        assert bool([e for e in out if type(e) is SlotInfo]) == (version == 12)
        r = records_of(encode_bytes(events, target_version=version))[0]
        assert (r.idle, r.freq) == ((7, 9) if version >= 9 else (None, None))


def test_streaming_api_equals_batch_encoding() -> None:
    recs = [rec(b"k%d" % i, "string", b"x" * i) for i in range(300)]
    whole = encode_bytes(recs, ctime=5)
    enc = RdbEncoder(ctime=5)
    parts = [enc.start()] + [enc.encode_record(r) for r in recs] + [enc.finish()]
    assert b"".join(parts) == whole
    enc2 = RdbEncoder(ctime=5)
    parts = [enc2.encode_event(Header(9))] + [enc2.encode_event(r) for r in recs] + [enc2.encode_event(End(0, False))]
    assert b"".join(parts) == whole and enc2.done and enc2.keys_written == 300
    assert enc2.bytes_written == len(whole)
    chunks = list(RdbEncoder(ctime=5).encode(recs, chunk_size=1000))
    assert len(chunks) > 3 and b"".join(chunks) == whole

    class Sink:
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        def write(self, b: bytes) -> None:
            self.parts.append(b)

    sink = Sink()
    assert write_events(recs, sink, ctime=5).keys_written == 300 and b"".join(sink.parts) == whole


def test_unsupported_target_versions() -> None:
    for v in (5, 13, 80):
        with pytest.raises(RdbEncodeError):
            RdbEncoder(v)


# ----------------------------------------------------------------------------- lossy rules


def test_what_a_version_cannot_hold_fails_naming_the_key_or_is_dropped_when_lossy() -> None:
    hfe = rec(b"h", "hash", [(b"f", b"v"), (b"g", b"w")], db=4, field_expires={b"f": 1_900_000_000_000}, offset=77)
    stream = rec(b"s", "stream", Stream((), 0, (1, 1), None, None, None, ()))
    module = rec(b"m", "module", ModuleValue(module_id_from_name("rdbkitmod", 1), b"\x00"))
    lib = FunctionLibrary(b"#!lua name=mylib\nreturn 1", offset=20)
    cases = [(hfe, 11, "field-ttls"), (stream, 8, "key"), (module, 7, "key"), (lib, 9, "function")]
    for item, version, what in cases:
        with pytest.raises(RdbEncodeError) as info:
            encode_bytes([item], target_version=version)
        err = info.value
        if type(item) is Record:
            assert (err.key, err.db) == (item.key, item.db)
        else:
            assert b"mylib" in str(err).encode()
        seen: list[Drop] = []
        enc = RdbEncoder(version, lossy=True, on_drop=seen.append)
        data = b"".join(enc.encode([item]))
        assert enc.drops == seen and [d.what for d in seen] == [what]
        assert str(seen[0])
        out = records_of(data)
        if what == "field-ttls":
            assert out[0].value == hfe.value and out[0].field_expires is None
        else:
            assert out == []
    with pytest.raises(RdbEncodeError) as info:
        encode_bytes([hfe], target_version=9)
    assert info.value.offset == 77 and "RDB 12" in str(info.value)


def test_modules_false_drops_module_values_and_aux() -> None:
    mid = module_id_from_name("rdbkitmod", 2)
    events = [Header(9), ModuleAux(mid, 1, b"\x02\x05\x00"), rec(b"m", "module", ModuleValue(mid, b"\x02\x07\x00")),
              rec(b"k", "string", b"v")]
    kept = read_all(encode_bytes(events, target_version=9))
    assert [e for e in kept if type(e) is ModuleAux][0].raw == b"\x02\x05\x00"
    assert records_of(encode_bytes(events, target_version=9))[0].value == ModuleValue(mid, b"\x02\x07\x00")
    enc = RdbEncoder(9, modules=False, lossy=True)
    out = read_all(b"".join(enc.encode(events)))
    assert [e.key for e in out if type(e) is Record] == [b"k"]
    assert sorted(d.what for d in enc.drops) == ["key", "module-aux"]


def test_empty_collections_and_bad_values_are_encode_errors() -> None:
    for t in ("list", "set", "zset", "hash"):
        with pytest.raises(RdbEncodeError):
            encode_bytes([rec(b"e", t, [])])
    bad = [rec(b"d", "set", [b"a", b"a"]),
           rec(b"d", "hash", [(b"a", b"1"), (b"a", b"2")]), rec(b"x", "string", 12345),
           rec(b"t", "hash", [(b"a", b"1")], field_expires={b"b": 5}),
           rec(b"t", "hash", [(b"a", b"1")], field_expires={b"a": 2**48}),
           rec(b"f", "string", b"v", freq=300), rec(b"u", "nosuchtype", b"")]
    for r in bad:
        with pytest.raises(RdbEncodeError) as info:
            encode_bytes([r])
        assert info.value.key == r.key


def test_nan_scores_round_trip() -> None:
    """A zset holding NaN scores (Redis takes one in a RESTOREd listpack) is written compact
    whatever the policy (the skiplist forms cannot hold a NaN), in its given order, the
    NaN as "nan"/"-nan" text; reading it back gives the same order and signs."""
    pairs = [(b"a", 1.0), (b"m", math.nan), (b"n", -math.nan), (b"x", 5.5)]
    for version in (9, 10, 11):
        for policy in (None, EncodingPolicy(zset_max_listpack_entries=0)):
            kw = {"policy": policy} if policy else {}
            back = records_of(encode_bytes([rec(b"z", "zset", pairs)], target_version=version, **kw))[0]
            assert [m for m, _ in back.value] == [b"a", b"m", b"n", b"x"]
            assert [math.copysign(1, s) for _, s in back.value[1:3]] == [1, -1]
            assert back.encoding == ("listpack" if version >= 10 else "ziplist")
    tb, body = save_value("zset", pairs, None, 10, None, False)
    assert tb == 17 and b"\x83nan" in body and b"\x84-nan" in body


def test_function_pre_ga_becomes_a_library() -> None:
    pre = FunctionPreGA(b"rclib", b"LUA", b"desc", b"redis.register_function('f', function() return 1 end)")
    out = read_all(encode_bytes([pre], target_version=10))
    assert [e.code for e in out if type(e) is FunctionLibrary] == [b"#!LUA name=rclib\n" + pre.code]


# ----------------------------------------------------------------------------- encodings by version


def test_type_bytes_by_version_and_thresholds() -> None:
    p = EncodingPolicy()
    small_list = rec(b"l", "list", [b"a", b"1"])
    assert [type_byte(small_list, v) for v in range(6, 13)] == [10, 14, 14, 14, 18, 18, 18]
    assert type_byte(rec(b"l", "list", [b"x"] * 513), 6) == 1
    assert type_byte(rec(b"l", "list", [b"x" * 65]), 6) == 1
    ints = [b"%d" % i for i in range(512)]
    assert type_byte(rec(b"s", "set", ints), 12) == 11
    assert type_byte(rec(b"s", "set", ints + [b"512"]), 12) == 2
    strs = [b"m%d" % i for i in range(128)]
    assert [type_byte(rec(b"s", "set", strs), v) for v in (10, 11)] == [2, 20]
    assert type_byte(rec(b"s", "set", strs + [b"x"]), 11) == 2
    assert type_byte(rec(b"s", "set", [b"a" * 65]), 11) == 2
    z = [(b"m%d" % i, float(i)) for i in range(128)]
    assert [type_byte(rec(b"z", "zset", z), v) for v in (6, 7, 8, 9, 10, 12)] == [12, 12, 12, 12, 17, 17]
    big_z = z + [(b"x", 1.5)]
    assert [type_byte(rec(b"z", "zset", big_z), v) for v in (6, 7, 8, 12)] == [3, 3, 5, 5]
    assert type_byte(rec(b"z", "zset", [(b"a" * 65, 1.0)]), 12) == 5
    h = [(b"f%d" % i, b"v") for i in range(512)]
    assert [type_byte(rec(b"h", "hash", h), v) for v in (6, 9, 10, 12)] == [13, 13, 16, 16]
    assert type_byte(rec(b"h", "hash", h + [(b"x", b"y")]), 12) == 4
    assert type_byte(rec(b"h", "hash", [(b"f", b"v" * 65)]), 12) == 4
    assert type_byte(rec(b"h", "hash", h, field_expires={}), 12) == 25
    assert type_byte(rec(b"h", "hash", h + [(b"x", b"y")], field_expires={}), 12) == 4
    assert type_byte(rec(b"h", "hash", h + [(b"x", b"y")], field_expires={b"x": 10}), 12) == 24
    s = rec(b"x", "stream", Stream((), 0, (0, 0), None, None, None, ()))
    assert [type_byte(s, v) for v in (9, 10, 11, 12)] == [15, 19, 21, 21]
    loose = EncodingPolicy.from_config({"hash-max-ziplist-entries": "1000", "set-max-intset-entries": 2,
                                        "unrelated": "x"})
    assert loose.hash_max_listpack_entries == 1000 and loose.set_max_intset_entries == 2
    assert type_byte(rec(b"h", "hash", h + [(b"x", b"y")]), 12, loose) == 16
    assert type_byte(rec(b"s", "set", [b"1", b"2", b"3"]), 12, loose) == 20
    assert p.to_config()["list-max-listpack-size"] == -2


def test_listpackex_and_hash_metadata_layouts() -> None:
    pairs = [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]
    tb, body = save_value("hash", pairs, {b"c": 5000, b"a": 9000}, 12)
    assert tb == 25 and body[:8] == (5000).to_bytes(8, "little")
    assert body[8:] == save_rdb_string(encode_listpack([b"c", b"3", 5000, b"a", b"1", 9000, b"b", b"2", 0]))
    big = [(b"f%d" % i, b"v") for i in range(600)]
    tb, body = save_value("hash", big, {b"f1": 7000, b"f2": 7005}, 12)
    assert tb == 24 and body[:8] == (7000).to_bytes(8, "little")
    out = records_of(encode_bytes([rec(b"h", "hash", big, field_expires={b"f1": 7000, b"f2": 7005})]))
    assert out[0].field_expires == {b"f1": 7000, b"f2": 7005}
    small_empty = records_of(encode_bytes([rec(b"h", "hash", pairs, field_expires={})]))[0]
    assert small_empty.field_expires == {} and small_empty.encoding == "listpackex"


def test_quicklist_nodes_by_era() -> None:
    p = EncodingPolicy()
    items = [b"x" * 19] * 600
    assert [len(n) for _, n in p.list_nodes(items, 9)] == [389, 211]  # as the 6.2.5 fixture (one popped)
    assert [len(n) for _, n in p.list_nodes(items, 10)] == [389, 211]
    assert [len(n) for _, n in p.list_nodes(items, 11)] == [389, 211]
    big = [b"a", b"b" * 9000, b"c"]
    assert [plain for plain, _ in p.list_nodes(big, 10)] == [False, False, False]
    assert [plain for plain, _ in p.list_nodes(big, 11)] == [False, False, False]
    assert [plain for plain, _ in p.list_nodes(big, 12)] == [False, True, False]
    fits = [b"y" * 100] * 80  # 7 + 8000 bytes: one listpack at 7.2+, split by 7.0's overhead rule
    assert len(p.list_nodes(fits, 11)) == 1 and len(p.list_nodes(fits, 10)) == 2
    counted = EncodingPolicy(list_max_listpack_size=5)
    assert [len(n) for _, n in counted.list_nodes([b"z"] * 12, 12)] == [5, 5, 2]
    assert [len(n) for _, n in counted.list_nodes([b"z"] * 12, 9)] == [5, 5, 2]
    for item in (b"", b"a", b"12", b"-4096", b"70000", b"x" * 63, b"x" * 64, b"x" * 4095, b"x" * 4096, b"x" * 200):
        assert lp_entry_size(item) == len(encode_listpack([item])) - 7
        assert zl_entry_size(item, 0) == len(encode_ziplist([item])) - 11


def test_stream_nodes_follow_stream_node_max_entries_and_bytes() -> None:
    from rdbtools.objects.streams import encode_stream_nodes

    entries = [((1000 + i, 0), ((b"f", b"%d" % i),)) for i in range(250)]
    assert len(encode_stream_nodes(entries, EncodingPolicy(), 10)) == 3
    assert len(encode_stream_nodes(entries, EncodingPolicy(stream_node_max_entries=0), 10)) == 1
    wide = [((1000 + i, 0), ((b"f", b"v" * 500),)) for i in range(20)]
    assert len(encode_stream_nodes(wide, EncodingPolicy(), 10)) == 3
    assert len(encode_stream_nodes(wide, EncodingPolicy(), 9)) == 3


# ----------------------------------------------------------------------------- numbers and strings


def test_double2ll_and_score_entries() -> None:
    assert double2ll(-0.0) == 0 and double2ll(2.0**62) == 2**62 and double2ll(2.0**62 * 1.5) is None
    assert double2ll(0.5) is None and double2ll(math.inf) is None
    assert [zset_score_entry(-0.0, v) for v in (9, 10, 11)] == [b"-0", 0, 0]
    assert [zset_score_entry(5.0, v) for v in (9, 10, 11)] == [b"5", 5, 5]
    assert [zset_score_entry(0.1, v) for v in (9, 10, 11)] == [b"0.10000000000000001", b"0.10000000000000001", b"0.1"]
    assert zset_score_entry(2.0**53, 9) == b"9007199254740992"  # %.17g: 2^53 is past ll2string's range
    assert [zset_score_entry(math.inf, v) for v in (9, 10, 11)] == [b"inf"] * 3
    assert string_double(-0.0) == b"\x010" and string_double(1.5) == b"\x031.5"
    assert string_double(math.inf) == b"\xfe" and string_double(-math.inf) == b"\xff"


@pytest.mark.parametrize(("value", "text"), [
    (1e-5, b"0.00001"), (1.5e-5, b"0.000015"), (1e-6, b"0.000001"), (1e-7, b"1e-7"), (1.5e-7, b"1.5e-7"),
    (0.0001, b"0.0001"), (123.456, b"123.456"), (0.00123456789, b"0.00123456789"), (1.2345e-5, b"1.2345e-5"),
    (1e20, b"1e+20"), (1.234567890123e19, b"12345678901230000000"), (5e-324, b"5e-324"),
    (1.7976931348623157e308, b"1.7976931348623157e+308"), (-2.5e-10, b"-2.5e-10"), (100.0, b"100"),
    (-0.0, b"-0"), (1e308, b"1e+308"), (1e100, b"1e+100"), (1e-100, b"1e-100"),
])
def test_fpconv_layout(value: float, text: bytes) -> None:
    assert fpconv_dtoa(value) == text
    assert float(text) == value


def test_rdb_strings_and_the_lzf_edge() -> None:
    assert save_rdb_string(b"12") == b"\xc0\x0c" and save_rdb_string(b"-32768") == b"\xc1\x00\x80"
    assert save_rdb_string(b"2147483648") == b"\x0a2147483648" and save_rdb_string(b"007") == b"\x03007"
    assert save_rdb_string(b"a" * 100, compress=False) == b"\x40\x64" + b"a" * 100
    assert save_rdb_string(b"a" * 100)[0] == 0xC3  # with or without the binding
    # a hash listpack that python-lzf squeezes into exactly len-4 bytes; liblzf's
    # conservative end-of-buffer checks refuse it, so Redis stores it raw
    blob = bytes.fromhex(
        "6f00000012008266310382763103836e756d04f1393003836e656704dfff0285656d707479068001800190656d7074"
        "792d6669656c642d6e616d65118462696e000582ff00038362696704f4ffffffffffffff7f0985666c6f617406843"
        "32e313405857061727462068379657304ff")
    import lzf as binding

    c = binding.compress(blob, len(blob) - 4)
    assert c is not None and len(c) == len(blob) - 4 and not lzf_fits(len(blob), c)
    assert lzf.compress(blob) is None and _compress_py(blob, len(blob) - 4) is None
    assert save_rdb_string(blob) == b"\x40\x6f" + blob
