"""decode(encode(records, version)) == records, for every version 6–12.

Hypothesis builds arbitrary records of every type — binary keys and values,
integer-edge strings, collections just below / at / above every encoding
threshold, extreme scores, expiries, LRU/LFU hints, streams with groups, PELs
and consumers, module values — and each example is written at every version
6–12 and read back by our decoder. What a version cannot hold is dropped by the
lossy encoder and must be reported; everything else must come back identical
(set/hash order and zset order normalised; streams compared on what the
layout stores). The fixture corpus makes the same trip.
"""

from __future__ import annotations

import math
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools import ModuleValue, Record, read_all
from rdbtools._accel import use_c
from rdbtools.encoder import RdbEncoder
from rdbtools.model import PendingEntry, Stream, StreamConsumer, StreamGroup, module_id_from_name
from rdbtools.primitives import save_len, save_raw_string
from tests.support.manifest import iter_fixture_rdbs

VERSIONS = range(6, 13)
INT_EDGES = [0, 1, -1, 12, 13, 127, 128, -128, -129, 4095, 4096, -4096, -4097, 32767, 32768, -32768,
             -32769, 8388607, 8388608, -8388608, -8388609, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1,
             2**63 - 1, -(2**63)]
ODD_NUMBERS = [b"007", b"+5", b"-0", b" 12", b"12 ", b"1e3", b"0x1f", b"9223372036854775808",
               b"-9223372036854775809", b"00", b"-", b"", b"12345678901234567890123"]
SCORES = [0.0, -0.0, 1.0, -1.0, 0.1, 1e-5, 1.5e-7, 2.0**52, 2.0**53, 2.0**62, 2.0**63, 1e20, 1e308,
          5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308, math.inf, -math.inf,
          4503599627370495.0, 9007199254740993.0, -2.5e-10, 123456789012345678.0]

# ----------------------------------------------------------------------------- strategies

int_text = st.one_of(st.sampled_from(INT_EDGES), st.integers(-(2**63), 2**63 - 1)).map(lambda i: b"%d" % i)
element = st.one_of(
    st.binary(max_size=12),
    int_text,
    st.sampled_from(ODD_NUMBERS),
    st.binary(min_size=60, max_size=70),
    st.binary(min_size=1, max_size=4).map(lambda b: b * 30),  # LZF-compressible
)
big_element = st.sampled_from([4096, 8192, 8193, 9000]).map(lambda n: (b"big-%d-" % n) * (n // 8))


def _bulk(seed: int, n: int, kind: str) -> list[bytes]:
    """``n`` distinct deterministic elements (hypothesis draws only the size and seed)."""
    rnd = random.Random(seed)
    if kind == "int":
        pool = {b"%d" % rnd.choice([rnd.randint(-300, 300), rnd.randint(-(2**40), 2**40)]) for _ in range(n * 2)}
        out = sorted(pool)[:n]
        while len(out) < n:
            out.append(b"%d" % (10**15 + len(out)))
        return out
    width = {"short": 8, "edge": 64, "long": 65}[kind]
    out = []
    for i in range(n):
        base = b"%d:" % i
        out.append(base + bytes(rnd.randrange(256) for _ in range(max(0, width - len(base)))))
    return out


def sizes(*edges: int):
    return st.sampled_from(edges)


@st.composite
def list_values(draw):
    if draw(st.booleans()):
        return draw(st.lists(st.one_of(element, big_element) if draw(st.booleans()) else element,
                             min_size=1, max_size=25))
    n = draw(sizes(63, 64, 127, 128, 129, 511, 512, 513, 700))
    return _bulk(draw(st.integers(0, 1000)), n, draw(st.sampled_from(["int", "short", "edge", "long"])))


@st.composite
def set_values(draw):
    if draw(st.booleans()):
        return draw(st.lists(st.one_of(element, int_text), min_size=1, max_size=25, unique=True))
    n = draw(sizes(127, 128, 129, 511, 512, 513))
    return _bulk(draw(st.integers(0, 1000)), n, draw(st.sampled_from(["int", "int", "short", "edge", "long"])))


scores = st.one_of(st.sampled_from(SCORES), st.floats(allow_nan=False), st.integers(-(2**60), 2**60).map(float))


@st.composite
def zset_values(draw):
    if draw(st.booleans()):
        members = draw(st.lists(element, min_size=1, max_size=20, unique=True))
    else:
        n = draw(sizes(127, 128, 129, 200))
        members = _bulk(draw(st.integers(0, 1000)), n, draw(st.sampled_from(["short", "edge", "long"])))
    return [(m, draw(scores)) for m in members]


@st.composite
def hash_values(draw):
    if draw(st.booleans()):
        fields = draw(st.lists(element, min_size=1, max_size=20, unique=True))
        pairs = [(f, draw(element)) for f in fields]
    else:
        n = draw(sizes(511, 512, 513))
        kind = draw(st.sampled_from(["short", "edge", "long"]))
        fields = _bulk(draw(st.integers(0, 1000)), n, "short")
        values = _bulk(draw(st.integers(0, 1000)), n, kind)
        pairs = list(zip(fields, values))
    fexp = draw(st.one_of(st.none(), st.just({}), st.just("some")))
    if fexp == "some":
        chosen = draw(st.lists(st.sampled_from([f for f, _ in pairs]), min_size=1, max_size=8, unique=True))
        fexp = {f: draw(st.integers(1, 2**48 - 1)) for f in chosen}
    return pairs, fexp


@st.composite
def stream_values(draw):
    vocab = [b"a", b"temp", b"n", b"", b"123"]
    n = draw(st.integers(0, 12)) if draw(st.booleans()) else draw(sizes(99, 100, 101, 250))
    ms = draw(st.integers(0, 2**40))
    seq = draw(st.integers(0, 2**20))
    rnd = random.Random(draw(st.integers(0, 1000)))
    entries = []
    base_fields = [rnd.choice(vocab) for _ in range(rnd.randint(1, 3))]
    for _ in range(n):
        if rnd.random() < 0.5:
            ms += rnd.choice([1, 5, 2**20])
            seq = rnd.randint(0, 3)
        else:
            seq += 1
        fields = base_fields if rnd.random() < 0.6 else [rnd.choice(vocab) for _ in range(rnd.randint(1, 3))]
        entries.append(((ms, seq), tuple((f, rnd.choice([b"v", b"42", rnd.randbytes(rnd.randint(0, 90))]))
                                         for f in fields)))
    last = entries[-1][0] if entries else (ms, seq)
    if draw(st.booleans()):
        last = (last[0] + draw(st.integers(0, 10)), last[1])
    v1 = draw(st.booleans())
    ids = [i for i, _ in entries]
    groups = []
    for gi in range(draw(st.integers(0, 2))):
        names = draw(st.lists(st.binary(min_size=1, max_size=6), max_size=3, unique=True))
        pel_ids = sorted(rnd.sample(ids, min(len(ids), rnd.randint(0, 6)))) if names else []
        owner = {i: rnd.choice(names) for i in pel_ids}
        pending = tuple(PendingEntry(i, rnd.randint(0, 2**45), rnd.randint(1, 300), owner[i]) for i in pel_ids)
        consumers = tuple(
            StreamConsumer(c, rnd.randint(0, 2**45), None if v1 or rnd.random() < 0.3 else rnd.randint(0, 2**45),
                           tuple(i for i in pel_ids if owner[i] == c))
            for c in sorted(names)
        )
        er = None if v1 or rnd.random() < 0.3 else rnd.randint(0, 10**6)
        groups.append(StreamGroup(b"g%d" % gi, last if rnd.random() < 0.5 else (0, 0), er, pending, consumers))
    return Stream(
        entries=tuple(entries),
        length=len(entries),
        last_id=last,
        first_id=None if v1 else (ids[0] if ids else (0, 0)),
        max_deleted_id=None if v1 else (0, draw(st.integers(0, 5))),
        entries_added=None if v1 else len(entries) + draw(st.integers(0, 5)),
        groups=tuple(groups),
    )


@st.composite
def module_values(draw):
    parts = []
    for op in draw(st.lists(st.sampled_from([2, 3, 4, 5]), max_size=5)):
        if op == 2:
            parts.append(save_len(2) + save_len(draw(st.integers(0, 2**64 - 1))))
        elif op == 3:
            parts.append(save_len(3) + draw(st.binary(min_size=4, max_size=4)))
        elif op == 4:
            parts.append(save_len(4) + draw(st.binary(min_size=8, max_size=8)))
        else:
            parts.append(save_len(5) + save_raw_string(draw(st.binary(max_size=30))))
    mid = module_id_from_name("rdbkitmod", draw(st.integers(0, 1023)))
    return ModuleValue(mid, b"".join(parts) + save_len(0))


@st.composite
def records(draw):
    kind = draw(st.sampled_from(["string", "string", "list", "set", "zset", "hash", "stream", "module"]))
    fexp = None
    if kind == "string":
        value = draw(st.one_of(element, big_element, int_text, st.binary(max_size=300)))
    elif kind == "list":
        value = draw(list_values())
    elif kind == "set":
        value = draw(set_values())
    elif kind == "zset":
        value = draw(zset_values())
    elif kind == "hash":
        value, fexp = draw(hash_values())
    elif kind == "stream":
        value = draw(stream_values())
    else:
        value = draw(module_values())
    return Record(
        db=0,
        key=draw(st.one_of(st.binary(max_size=16), int_text, st.binary(min_size=30, max_size=40))),
        type=kind,
        value=value,
        expire_ms=draw(st.one_of(st.none(), st.integers(1, 2**62))),
        idle=draw(st.one_of(st.none(), st.integers(0, 2**40))),
        freq=draw(st.one_of(st.none(), st.integers(0, 255))),
        field_expires=fexp,
    )


@st.composite
def datasets(draw):
    recs = draw(st.lists(records(), min_size=1, max_size=6))
    seen = set()
    out = []
    for r in recs:
        r.db = draw(st.sampled_from([0, 0, 1, 15, 300]))
        if (r.db, r.key) not in seen:
            seen.add((r.db, r.key))
            out.append(r)
    return out


# ----------------------------------------------------------------------------- comparison


def layout(version: int) -> int:
    return 0 if version < 9 else 1 if version == 9 else 2 if version == 10 else 3


def stream_view(s: Stream, lay: int):
    """What stream layout ``lay`` (1: RDB 9, 2: 10, 3: 11+) stores, with derived defaults."""
    ents = s.entries
    groups = []
    for g in sorted(s.groups, key=lambda g: g.name):
        cons = tuple(
            (c.name, c.seen_time, (c.seen_time if c.active_time is None else c.active_time) if lay >= 3 else None,
             tuple(sorted(c.pending)))
            for c in sorted(g.consumers, key=lambda c: c.name)
        )
        pel = tuple(sorted((p.id, p.delivery_time, p.delivery_count, p.consumer) for p in g.pending))
        groups.append((g.name, g.last_id, g.entries_read if lay >= 2 else None, pel, cons))
    meta = None
    if lay >= 2:
        first = s.first_id if s.first_id is not None else (ents[0][0] if ents else (0, 0))
        added = len(ents) if s.entries_added is None else s.entries_added
        meta = (first, s.max_deleted_id or (0, 0), added)
    return ents, len(ents), s.last_id, meta, tuple(groups)


def logical(r: Record, version: int, src_layout: int = 3):
    v = r.value
    if r.type == "set":
        v = sorted(v)
    elif r.type == "hash":
        v = sorted(v)
    elif r.type == "zset":
        v = sorted(v, key=lambda p: (p[1], p[0]))
    elif r.type == "stream":
        v = stream_view(v, min(layout(version), src_layout))
    fexp = (r.field_expires or None) if version >= 12 else None
    hints = (r.idle, r.freq) if version >= 9 else (None, None)
    return r.db, r.key, r.type, v, r.expire_ms, fexp, hints


def roundtrip(events, version: int):
    enc = RdbEncoder(version, lossy=True)
    data = b"".join(enc.encode(events))
    out = [e for e in read_all(data) if type(e) is Record]
    return enc, out


def expected_after(recs: list[Record], enc: RdbEncoder, version: int, src_layout: int = 3):
    gone = {(d.db, d.key) for d in enc.drops if d.what == "key"}
    return [logical(r, version, src_layout) for r in recs if (r.db, r.key) not in gone]


# ----------------------------------------------------------------------------- tests


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(datasets())
def test_arbitrary_records_roundtrip_at_every_version(recs: list[Record]) -> None:
    for version in VERSIONS:
        enc, out = roundtrip(recs, version)
        assert [logical(r, version) for r in out] == expected_after(recs, enc, version), version
        for d in enc.drops:  # only what the version cannot hold is dropped
            rec = next(r for r in recs if (r.db, r.key) == (d.db, d.key))
            if d.what == "field-ttls":
                assert version < 12 and rec.field_expires
            else:
                assert (rec.type == "stream" and version < 9) or (rec.type == "module" and version < 8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.binary(max_size=6), scores), min_size=1, max_size=10, unique_by=lambda p: p[0]))
def test_zset_scores_survive_bit_for_bit_where_the_format_keeps_them(pairs) -> None:
    """ZSET_2 (binary doubles) keeps every double exactly, -0.0 included."""
    pairs = list(pairs) + [(b"fill:%d" % i, float(i)) for i in range(130)]  # a skiplist
    rec = Record(0, b"z", "zset", pairs)
    for version in range(8, 13):
        _, out = roundtrip([rec], version)
        got = dict(out[0].value)
        for m, s in pairs:
            assert math.copysign(1.0, got[m]) == math.copysign(1.0, s) and got[m] == s


FIXTURES = [p for p in iter_fixture_rdbs() if p.name in ("dump.rdb", "dump-lfu.rdb") or p.parent.name == "legacy"]
if not use_c():  # pure-Python CRC/LZF: the legacy files and one 7.4 file
    FIXTURES = [p for p in FIXTURES if p.parent.name in ("legacy", "corpus-redis-7.4.1")]


def test_fixture_corpus_roundtrips_at_every_version() -> None:
    for path in FIXTURES:
        events = read_all(path)
        src_version = events[0].version
        src_layout = 3 if src_version >= 80 else layout(src_version)
        recs = [e for e in events if type(e) is Record]
        for version in VERSIONS:
            enc, out = roundtrip(events, version)
            got = [logical(r, version, src_layout) for r in out]
            assert got == expected_after(recs, enc, version, src_layout), (path, version)
