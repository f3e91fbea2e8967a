"""``rdbtools.memory``: the size rules checked against our encoders and hand-worked cases.

The comparison with a real server's MEMORY USAGE is in
``tests/differential/test_memory_usage.py``.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rdbtools.encodings.intset import encode_intset
from rdbtools.encodings.listpack import encode_listpack
from rdbtools.memory import (
    DICT_ENTRY,
    ROBJ,
    MemoryModel,
    MemoryPolicy,
    MemorySummary,
    d2string,
    estimate,
    jemalloc_size,
    listpack_size,
    lp_entry_size,
    rax_nodes,
    sds_size,
)
from rdbtools.model import Record, Stream

elements = st.one_of(
    st.binary(max_size=70),
    st.binary(min_size=4000, max_size=4200),
    st.integers(-(1 << 63), (1 << 63) - 1).map(lambda i: b"%d" % i),
    st.integers(-5000, 5000).map(lambda i: b"%d" % i),
)


@given(st.lists(elements, max_size=40))
def test_listpack_size_is_the_encoders(items):
    assert listpack_size(items) == len(encode_listpack(items))
    for x in items:
        assert lp_entry_size(x) == len(encode_listpack([x])) - 7


@given(st.lists(st.integers(-(1 << 63), (1 << 63) - 1), min_size=1, max_size=50, unique=True))
def test_intset_size_is_the_encoders(values):
    rec = Record(0, b"k", "set", [b"%d" % v for v in values])
    est = estimate(rec)
    assert est.encoding == "intset"
    blob = len(encode_intset(values))
    assert est.size == ROBJ + jemalloc_size(blob) + sds_size(1) + DICT_ENTRY


def test_jemalloc_classes():
    assert [jemalloc_size(n) for n in (1, 8, 9, 16, 17, 128, 129, 160, 161, 256, 257)] == [
        8, 8, 16, 16, 32, 128, 160, 160, 192, 256, 320]
    assert jemalloc_size(4097) == 5120 and jemalloc_size(16385) == 20480
    assert jemalloc_size(1 << 20) == 1 << 20 and jemalloc_size((1 << 20) + 1) == 1310720


def test_sds_headers():
    assert sds_size(0) == 8  # SDS_TYPE_8 for an empty string: 3 + 0 + 1
    assert sds_size(1) == 8 and sds_size(31) == 48  # SDS_TYPE_5: 1 + 31 + 1 = 33
    assert sds_size(32) == 48  # 3 + 32 + 1 = 36
    assert sds_size(300) == jemalloc_size(5 + 300 + 1)


def test_strings_follow_7_0_encodings():
    m = MemoryModel()
    key = sds_size(1) + DICT_ENTRY
    assert m.estimate(Record(0, b"k", "string", b"12345")).size == ROBJ + key
    assert m.estimate(Record(0, b"k", "string", b"012")).encoding == "embstr"
    assert m.estimate(Record(0, b"k", "string", b"x" * 44)).size == 64 + key
    raw = m.estimate(Record(0, b"k", "string", b"x" * 45))
    assert raw.encoding == "raw" and raw.size == ROBJ + jemalloc_size(3 + 45 + 1) + key
    ttl = m.estimate(Record(0, b"k", "string", b"v", expire_ms=1))
    assert ttl.expiry_overhead == DICT_ENTRY and ttl.total == ttl.size + DICT_ENTRY


def test_encoding_thresholds():
    m = MemoryModel()
    small = [(b"f%d" % i, b"v") for i in range(512)]
    assert m.estimate(Record(0, b"h", "hash", small)).encoding == "listpack"
    assert m.estimate(Record(0, b"h", "hash", small + [(b"x", b"y")])).encoding == "hashtable"
    assert m.estimate(Record(0, b"h", "hash", [(b"f", b"v" * 65)])).encoding == "hashtable"
    z = [(b"m%d" % i, float(i)) for i in range(128)]
    assert m.estimate(Record(0, b"z", "zset", z)).encoding == "listpack"
    assert m.estimate(Record(0, b"z", "zset", z + [(b"x", 1.0)])).encoding == "skiplist"
    ints = [b"%d" % i for i in range(512)]
    assert m.estimate(Record(0, b"s", "set", ints)).encoding == "intset"
    assert m.estimate(Record(0, b"s", "set", ints + [b"512"])).encoding == "hashtable"
    assert m.estimate(Record(0, b"s", "set", [b"a"])).encoding == "hashtable"  # no listpack sets in 7.0
    custom = MemoryModel(MemoryPolicy(hash_max_listpack_entries=1))
    assert custom.estimate(Record(0, b"h", "hash", small[:2])).encoding == "hashtable"


def test_list_nodes_split_at_8k():
    m = MemoryModel()
    one = m.estimate(Record(0, b"l", "list", [b"a"]))
    assert one.size == ROBJ + 40 + 40 + jemalloc_size(7 + 2) + sds_size(1) + DICT_ENTRY
    # 103-byte entries; a node takes one more while lpBytes + 100 + 3 <= 8192: 79 a node
    items = [b"x" * 100] * 200
    est = m.estimate(Record(0, b"l", "list", items))
    nodes = [7 + 103 * 79, 7 + 103 * 79, 7 + 103 * 42]
    assert est.size == ROBJ + 40 + sum(40 + jemalloc_size(n) for n in nodes) + sds_size(
        1) + DICT_ENTRY
    assert (est.num_elements, est.len_largest_element) == (200, 100)


def test_scores_as_7_0_and_6_2_write_them():
    assert d2string(1.0) == b"1" and d2string(-0.0) == b"0" and d2string(0.1) == b"0.10000000000000001"
    assert d2string(1.2345678901234568e17) == b"123456789012345680"
    assert d2string(1.2345678901234568e17, legacy=True) == b"1.2345678901234568e+17"
    assert d2string(-0.0, legacy=True) == b"-0" and d2string(float("inf")) == b"inf"


def test_rax_nodes():
    assert rax_nodes([]) == 1
    assert rax_nodes([b"abce"]) == 2
    assert rax_nodes([b"abcd", b"abce"]) == 4
    assert rax_nodes([b"ab", b"cd"]) == 1 + 2 * 2


def test_stream_nodes_and_groups():
    entries = tuple(((1000 + i, 0), ((b"f", b"v%d" % i),)) for i in range(250))
    s = Stream(entries, 250, (1249, 0), (1000, 0), (0, 0), 250, ())
    m = MemoryModel()
    masters, lp_total, largest = m._stream_nodes(s)
    assert [ms for ms, _ in masters] == [1000, 1100, 1200] and largest == 4
    trimmed = Stream(entries[30:], 220, (1249, 0), (1030, 0), (0, 0), 250, ())
    masters2, lp2, _ = m._stream_nodes(trimmed)
    assert len(masters2) == 3 and lp2 == lp_total  # the 30 trimmed entries stay in node 1
    assert m.estimate(Record(0, b"s", "stream", s)).encoding == "stream"


def test_summary_top_and_prefixes():
    s = MemorySummary(top=2, separator=b":", depth=1)
    m = MemoryModel()
    for key, v in ((b"a:1", b"x"), (b"a:2", b"y" * 100), (b"b:1", b"z" * 1000), (b"plain", b"q")):
        rec = Record(0, key, "string", v)
        s.add(rec, m.estimate(rec))
    assert s.keys == 4 and s.by_type["string"][0] == 4
    assert [k for _, _, k, *_ in s.top_keys()] == [b"b:1", b"a:2"]
    assert [p for p, _, _ in s.top_prefixes(5)] == [b"b:", b"a:", None]
    capped = MemorySummary(max_prefixes=1)
    for key in (b"a:1", b"b:1"):
        rec = Record(0, key, "string", b"v")
        capped.add(rec, m.estimate(rec))
    assert capped.prefixes[None][0] == 1
