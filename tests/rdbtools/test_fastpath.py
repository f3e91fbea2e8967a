"""The decoder's C fast path and the C JSONL writer against the Python code they shortcut.

``rdbtools._speedups.scan_keys`` parses runs of common keys straight from the
decoder's buffer and hands anything else (other opcodes and types, incomplete or
invalid items) back to the Python path. ``rdbtools.decoder._scan_keys`` (None: Python
alone) picks the path for each new decoder, so both run here in one process, on:

* every fixture under ``fixtures/rdb/**``, whole and fed in chunks;
* hypothesis-built files (a small byte builder over every string encoding and the
  handled value types, mixed with opcodes and types the scan leaves to Python);
* mutated files (flipped bytes, truncations, splices): the same events before the
  error, then the same exception type, message, offset, phase, key and db.

Events compare type-exactly, including ``Record.encoding``, ``type_byte`` and
``offset`` (which take no part in ``==``) and NaN scores.

``record_to_line`` (C) is checked against the pure-Python ``jsonl.record_to_line``
on every fixture record and on hypothesis records full of nasty bytes and floats.
"""

from __future__ import annotations

import contextlib
import math
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lzf as LZF  # python-neo-lzf, a dependency: makes the LZF test data
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools import RdbDecoder, Record, decoder, jsonl, read_all
from rdbtools._accel import use_c
from rdbtools.crc64 import crc64
from rdbtools.encodings.intset import encode_intset
from rdbtools.encodings.listpack import encode_listpack
from rdbtools.encodings.ziplist import encode_ziplist
from rdbtools.errors import RdbError
from rdbtools.limits import Limits
from rdbtools.primitives import save_len, save_raw_string, save_string
from tests.conftest import fixture_rdbs
from tests.support.servers import start_real

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

ROOT = Path(__file__).resolve().parents[2]
FILES = fixture_rdbs()
IDS = [f"{p.parent.name}/{p.name}" for p in FILES]

SMALL = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


py_line = jsonl._record_to_line_py  # the pure-Python reference
py_jsonl = jsonl._records_to_jsonl_py


# --------------------------------------------------------------------------- running both paths


@contextlib.contextmanager
def fastpath(on: bool) -> Iterator[None]:
    """The C scan (with the C KeySet it records keys in) or the Python path alone."""
    saved = decoder._scan_keys, decoder.KeySet
    decoder._scan_keys = C.scan_keys if on else None
    if on:  # under RDBKIT_PUREPYTHON=1 the decoder would make the Python KeySet
        decoder.KeySet = C.KeySet
    try:
        yield
    finally:
        decoder._scan_keys, decoder.KeySet = saved


def norm(x: Any) -> str:
    """Type-exact, NaN-safe form of an event: its repr, which shows every field (the
    uncompared ``encoding``/``type_byte``/``offset`` too), bytes vs int, and floats
    exactly (-0.0, nan)."""
    return repr(x)


def decode(
    data: bytes, fast: bool, cuts: list[int] | tuple[int, ...] = (), max_string: int | None = None
) -> tuple:
    """(events, error, final offset, done) with ``data`` fed in pieces cut at ``cuts``."""
    with fastpath(fast):
        dec = RdbDecoder(limits=None if max_string is None else Limits(max_string=max_string))
        events: list = []
        err = None
        prev = 0
        try:
            for cut in [*sorted(set(cuts)), len(data)]:
                dec.feed(data[prev:cut])
                prev = cut
                while evs := dec.next_events():
                    events.extend(evs)
            dec.feed_eof()
            while evs := dec.next_events():
                events.extend(evs)
        except RdbError as exc:
            err = (
                type(exc).__name__,
                exc.message,
                exc.offset,
                exc.phase,
                exc.key,
                exc.db,
                exc.type_byte,
            )
        assert (dec._scan is not None) == fast
        return [norm(e) for e in events], err, dec.offset, dec.done


def assert_same(
    data: bytes, cuts: list[int] | tuple[int, ...] = (), max_string: int | None = None
) -> tuple:
    want = decode(data, False, cuts, max_string)
    got = decode(data, True, cuts, max_string)
    assert got[1] == want[1], "different errors"
    assert got[0] == want[0], "different events"
    assert got[2:] == want[2:], "different final state"
    return want


def test_fastpath_is_on_by_default_and_scans() -> None:
    assert (decoder._scan_keys is C.scan_keys) is use_c()
    data = _file(
        [
            _key(0, b"k", save_string(b"v")),
            b"\xfc" + struct.pack("<q", 7),
            _key(0, b"x", b"\xc0\x05"),
        ]
    )
    out: list = []
    pos, expire, idle, freq = C.scan_keys(data, 9, 100, 3, 1 << 32, Record, out, None, None, None)
    assert data[pos] == 0xFF and (expire, idle, freq) == (None, None, None)
    assert out == [Record(3, b"k", "string", b"v"), Record(3, b"x", "string", b"5", expire_ms=7)]
    assert [(r.encoding, r.type_byte, r.offset) for r in out] == [
        ("string", 0, 109),
        ("string", 0, 123),
    ]
    # pending metadata is reported where the scan stops (here: the EOF opcode)
    meta = b"\xf8\x05\xf9\x07\xfd" + struct.pack("<i", -3)
    pos, expire, idle, freq = C.scan_keys(
        meta + b"\xff", 0, 0, 0, 99, Record, out, None, None, None
    )
    assert (pos, expire, idle, freq) == (len(meta), -3000, 5, 7)
    # `limit` bounds the events in `out`: the scan stops before the next item
    out = []
    pos, *_ = C.scan_keys(data, 9, 0, 0, 99, Record, out, None, None, None, 1)
    assert pos == 14 and len(out) == 1


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fixture_same_events(path: Path) -> None:
    data = path.read_bytes()
    events, err, _, done = assert_same(data)
    assert err is None and done
    rnd = random.Random(len(data))
    for _ in range(2):
        assert_same(data, [rnd.randrange(len(data) + 1) for _ in range(rnd.randrange(1, 12))])


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fixture_mutations_same_errors(path: Path) -> None:
    data = path.read_bytes()
    rnd = random.Random(len(data) * 31 + 7)
    for _ in range(8):
        assert_same(_mutate(data, rnd))


@pytest.fixture(scope="module")
def bench_rdb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bench's mixed dataset (bench/dataset.py's command stream: every type, TTLs,
    big and compressible strings) at 10k keys, SAVEd by a real 7.0: ~1.3 MB."""
    from bench.dataset import commands

    stream = list(commands(10_000))
    with start_real(tmp_path_factory.mktemp("bench-rdb")) as srv:
        srv.conn.send_packed_command([b"".join(stream)])
        for _ in stream:
            srv.conn.read_response()
        assert srv("SAVE") == b"OK"
        return (srv.dir / "dump.rdb").read_bytes()


def test_bench_dataset_same_records(bench_rdb: bytes) -> None:
    n = len(bench_rdb)
    assert n > 1 << 20
    assert_same(bench_rdb, [n // 3, n // 3 + 5])
    assert_same(bench_rdb[: 2 * n // 3], [n // 3])  # every type, then a truncation


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randrange(1, 4)):
        kind = rnd.randrange(4)
        at = rnd.randrange(9, max(10, len(b)))
        if kind == 0:
            if at < len(b):
                b[at] ^= 1 << rnd.randrange(8)
        elif kind == 1:
            if at < len(b):
                b[at] = rnd.choice(
                    (0, 0x3F, 0x40, 0x7F, 0x80, 0x81, 0xC0, 0xC3, 0xFF, rnd.randrange(256))
                )
        elif kind == 2:
            del b[at:]
        else:
            b[at : at + rnd.randrange(4)] = rnd.randbytes(rnd.randrange(4))
    return bytes(b)


# --------------------------------------------------------------------------- a small RDB builder

NASTY = [
    b"",
    b"\x00",
    b'"',
    b"\\",
    b"\n\r\t\x08\x0c",
    b"\x1f\x7f",
    b"\xc3\xa9",
    b"\xe2\x80\xa8",
    b"\xf0\x9f\x98\x80",
    b"\xed\xa0\x80",
    b"\xc0\x80",
    b"\xe0\x80\x80",
    b"\xf4\x90\x80\x80",
    b"\xf5",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\x80",
    b"12",
    b"-7",
    b"007",
    b"1e5",
    b"nan",
]
SHORT = st.one_of(
    st.binary(max_size=10),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from(NASTY), max_size=4).map(b"".join),
    st.text(max_size=5).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.integers(-(2**40), 2**40).map(lambda i: b"%d" % i),
    st.sampled_from(
        [b"-128", b"127", b"-32768", b"32767", b"-2147483648", b"2147483647", b"2147483648"]
    ),
)
LONG = st.one_of(
    st.binary(min_size=21, max_size=200),
    st.sampled_from(NASTY[1:]).map(lambda b: b * 40),
    st.integers(21, 300).map(lambda n: b"ab" * n),
)
VALUE = st.one_of(SHORT, SHORT, LONG)
SCORES = st.one_of(
    st.floats(allow_nan=False, width=64),
    st.sampled_from([0.0, -0.0, 1.5, math.inf, -math.inf, 5e-324, 1e308, 0.1]),
)


@st.composite
def rdb_str(draw, value=VALUE) -> bytes:
    """An RDB string in one of its forms: as Redis writes it (int/LZF/raw), or raw in a wider length form."""
    b = draw(value)
    n = len(b)
    how = draw(st.integers(0, 4))
    if how == 0:
        return save_string(b)
    if how == 1 or n >= 0x4000:
        return save_raw_string(b)
    if how == 2:
        return bytes((0x40 | (n >> 8), n & 0xFF)) + b
    if how == 3:
        return b"\x80" + n.to_bytes(4, "big") + b
    return b"\x81" + n.to_bytes(8, "big") + b


ITEM = st.one_of(SHORT, st.integers(-(2**63), 2**63 - 1), st.integers(-200, 200))


def _key(t: int, key: bytes, value: bytes) -> bytes:
    return bytes((t,)) + save_string(key) + value


def _file(items: list[bytes], version: int = 10, checksum: bool = True) -> bytes:
    body = b"REDIS%04d" % version + b"".join(items) + b"\xff"
    if version >= 5:
        body += (crc64(body) if checksum else 0).to_bytes(8, "little")
    return body


@st.composite
def value_of(draw, t: int) -> bytes:
    lists = st.lists
    if t == 0:
        return draw(rdb_str())
    if t in (1, 2):
        items = draw(lists(rdb_str(SHORT), max_size=6))
        return save_len(len(items)) + b"".join(items)
    if t == 4:
        pairs = draw(lists(st.tuples(rdb_str(SHORT), rdb_str()), max_size=5))
        return save_len(len(pairs)) + b"".join(f + v for f, v in pairs)
    if t in (3, 5):
        pairs = draw(lists(st.tuples(rdb_str(SHORT), SCORES), max_size=5))
        out = [save_len(len(pairs))]
        for m, s in pairs:
            out.append(m)
            if t == 5:
                out.append(
                    struct.pack("<d", s) if draw(st.integers(0, 20)) else b"\x00" * 6 + b"\xf8\x7f"
                )
            else:
                special = {math.inf: b"\xfe", -math.inf: b"\xff"}.get(s)
                text = draw(
                    st.sampled_from(
                        [b"%.17g" % s, repr(s).encode(), b"1_0", b" 2", b"nan", b"", b"x"]
                    )
                )
                out.append(
                    special
                    or (b"\xfd" if draw(st.integers(0, 30)) == 0 else bytes((len(text),)) + text)
                )
        return b"".join(out)
    if t == 11:
        ints = draw(lists(st.integers(-(2**63), 2**63 - 1), min_size=0, max_size=6))
        blob = encode_intset(ints) if ints else b"\x02\x00\x00\x00\x00\x00\x00\x00"
        return draw(rdb_str(st.just(blob)))
    if t in (10, 12, 13, 16, 17, 20):
        items = draw(lists(ITEM, max_size=8))
        if t in (12, 17) and draw(st.booleans()):  # members and score texts (float() decides)
            scores = draw(lists(SCORES, min_size=len(items), max_size=len(items)))
            items = [
                x
                for m, s in zip(items, scores)
                for x in (m, draw(st.sampled_from([repr(s), "%.17g" % s])).encode())
            ]
        enc = encode_ziplist if t in (10, 12, 13) else encode_listpack
        return draw(rdb_str(st.just(enc(items))))
    if t == 14:
        nodes = draw(lists(lists(ITEM, max_size=5), max_size=3))
        return save_len(len(nodes)) + b"".join(
            draw(rdb_str(st.just(encode_ziplist(n)))) for n in nodes
        )
    if t == 18:
        out = []
        nodes = draw(
            lists(st.tuples(st.sampled_from([2, 2, 2, 1, 3]), lists(ITEM, max_size=5)), max_size=3)
        )
        for container, its in nodes:
            data = encode_listpack(its) if container != 1 else draw(VALUE)
            out.append(save_len(container) + draw(rdb_str(st.just(data))))
        return save_len(len(nodes)) + b"".join(out)
    raise AssertionError(t)


HANDLED = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 16, 17, 18, 20]


@st.composite
def top_item(draw) -> bytes:
    """A key with optional expire/idle/freq opcodes, or something the scan leaves to Python."""
    kind = draw(
        st.sampled_from(["key"] * 12 + ["aux", "select", "resize", "module", "hashmeta", "zipmap"])
    )
    if kind == "aux":
        return b"\xfa" + draw(rdb_str(SHORT)) + draw(rdb_str(SHORT))
    if kind == "select":
        return b"\xfe" + save_len(draw(st.integers(0, 20)))
    if kind == "resize":
        return b"\xfb" + save_len(draw(st.integers(0, 99))) + save_len(draw(st.integers(0, 99)))
    pre = []
    for op in draw(st.lists(st.sampled_from(["ms", "s", "idle", "freq"]), max_size=3)):
        if op == "ms":
            pre.append(b"\xfc" + struct.pack("<q", draw(st.integers(-(2**63), 2**63 - 1))))
        elif op == "s":
            pre.append(b"\xfd" + struct.pack("<i", draw(st.integers(-(2**31), 2**31 - 1))))
        elif op == "idle":
            pre.append(
                b"\xf8"
                + save_len(draw(st.sampled_from([0, 63, 64, 16383, 16384, 2**32, 2**64 - 1])))
            )
        else:
            pre.append(b"\xf9" + bytes((draw(st.integers(0, 255)),)))
    key = draw(rdb_str(SHORT))
    if kind == "module":  # MODULE_2: id, one UINT, EOF
        value = save_len(draw(st.integers(1, 2**64 - 1))) + b"\x02" + save_len(5) + b"\x00"
        return b"".join(pre) + b"\x07" + key + value
    if kind == "hashmeta":  # HASH_METADATA (24): min expire, n, (ttl, field, value)
        value = struct.pack("<q", 1000) + b"\x01\x00" + save_string(b"f") + save_string(b"v")
        return b"".join(pre) + b"\x18" + key + value
    if kind == "zipmap":
        return b"".join(pre) + b"\x09" + key + save_string(b"\x01\x01f\x01\x00v\xff")
    t = draw(st.sampled_from(HANDLED))
    return b"".join(pre) + bytes((t,)) + key + draw(value_of(t))


@st.composite
def rdb_files(draw) -> bytes:
    items = draw(st.lists(top_item(), max_size=12))
    if draw(st.booleans()):
        items.insert(0, b"\xfe\x00")
    version = draw(st.sampled_from([3, 9, 10, 11, 12]))
    return _file(items, version, checksum=draw(st.integers(0, 5)) > 0)


@SMALL
@given(data=rdb_files(), cuts=st.lists(st.integers(0, 1 << 20), max_size=4))
def test_generated_files_same_events(data: bytes, cuts: list[int]) -> None:
    assert_same(data)
    assert_same(data, [c % (len(data) + 1) for c in cuts])


@SMALL
@given(data=rdb_files(), max_string=st.sampled_from([0, 3, 40, 64, 100, 2**64]))
def test_generated_files_same_limits(data: bytes, max_string: int) -> None:
    assert_same(data, max_string=max_string)


@pytest.mark.parametrize("max_string", [0, 63, 64, 299, 300, 301])
def test_limits_on_every_string_form(max_string: int) -> None:
    long = b"ab" * 150
    # LZF by hand: literal "ab", then back-references of 264 and 34 bytes
    lzf_long = b"\xc3\x09" + save_len(300) + b"\x01ab\xe0\xff\x01\xe0\x19\x01"
    items = [
        _key(0, b"k" * 63, save_raw_string(b"v" * 63)),  # 6-bit lengths are never checked
        _key(0, b"a", save_raw_string(b"x" * 64)),  # 14-bit
        _key(0, b"b", b"\x80" + (300).to_bytes(4, "big") + b"y" * 300),  # 32-bit
        _key(0, b"c", lzf_long),  # LZF: the original length counts
        _key(2, b"d", b"\x01" + lzf_long),
        _key(0, b"e", save_raw_string(long)),
    ]
    for item in items:
        assert_same(_file([item]), max_string=max_string)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(LONG, st.binary(min_size=1, max_size=40).map(lambda b: b * 9)),
    seed=st.integers(0, 2**32),
    dlen=st.sampled_from([0, 0, 0, -1, 1, -3, 5]),
)
def test_lzf_payloads_same(raw: bytes, seed: int, dlen: int) -> None:
    """Damaged LZF data (in a string and a set member) with consistent lengths: the scan
    stops where the Python path raises (the decoder itself against the pure one and the
    lzf binding: test_speedups.py)."""
    comp = bytearray(LZF.compress(raw) or b"")
    if not comp:
        return
    ulen = len(raw)
    rnd = random.Random(seed)
    for _ in range(rnd.randrange(0, 3)):
        if not comp:
            break
        kind = rnd.randrange(3)
        at = rnd.randrange(len(comp))
        if kind == 0:
            comp[at] ^= 1 << rnd.randrange(8)
        elif kind == 1:
            del comp[at:]
        else:
            comp[at:at] = rnd.randbytes(rnd.randrange(1, 3))
    value = b"\xc3" + save_len(len(comp)) + save_len(max(0, ulen + dlen)) + bytes(comp)
    assert_same(_file([_key(0, b"k", value), _key(2, b"s", b"\x01" + value)]))


@SMALL
@given(data=rdb_files(), seed=st.integers(0, 2**32))
def test_generated_mutations_same_errors(data: bytes, seed: int) -> None:
    assert_same(_mutate(data, random.Random(seed)))


def test_every_value_type_goes_through_the_scan() -> None:
    """Guard against a scan that silently hands everything back to Python."""
    rnd = random.Random(5)
    items = [
        _key(0, b"s", save_string(b"x" * 100)),
        _key(1, b"l", b"\x02" + save_string(b"a") + save_string(b"b")),
        _key(2, b"set", b"\x02" + save_string(b"a") + save_string(b"b")),
        _key(3, b"z3", b"\x01" + save_string(b"m") + b"\x031.5"),
        _key(4, b"h", b"\x01" + save_string(b"f") + save_string(b"v")),
        _key(5, b"z5", b"\x01" + save_string(b"m") + struct.pack("<d", 2.5)),
        _key(10, b"zl", save_string(encode_ziplist([b"a", 1]))),
        _key(11, b"is", save_string(encode_intset([1, 5]))),
        _key(12, b"zz", save_string(encode_ziplist([b"a", b"1.5"]))),
        _key(13, b"zh", save_string(encode_ziplist([b"f", b"v"]))),
        _key(14, b"ql", b"\x01" + save_string(encode_ziplist([b"a"]))),
        _key(16, b"lh", save_string(encode_listpack([b"f", b"v"]))),
        _key(17, b"lz", save_string(encode_listpack([b"m", 3]))),
        _key(
            18,
            b"q2",
            b"\x02\x02" + save_string(encode_listpack([b"a"])) + b"\x01" + save_string(b"plain"),
        ),
        _key(20, b"ls", save_string(encode_listpack([b"a", b"b"]))),
    ]
    rnd.shuffle(items)
    data = _file(items)
    out: list = []
    pos, *_ = C.scan_keys(data, 9, 0, 0, 1 << 32, Record, out, None, None, None)
    assert data[pos] == 0xFF and len(out) == len(items)
    assert {r.type_byte for r in out} == set(HANDLED)
    assert_same(data)


# --------------------------------------------------------------------------- record_to_line


def _line_outcome(fn, r: Record) -> tuple:
    try:
        return ("ok", fn(r))
    except Exception as exc:  # noqa: BLE001 - both sides must fail alike
        return ("error", type(exc).__name__)


def _c_line(r: Record) -> str:
    return C.record_to_line(r) or py_line(r)


def _eligible(r: Record) -> bool:
    def b(x: Any) -> bool:
        return type(x) is bytes

    def i(x: Any) -> bool:
        return type(x) is int and -(2**63) <= x < 2**63

    v = r.value
    if not (b(r.key) and i(r.db) and all(x is None or i(x) for x in (r.expire_ms, r.idle, r.freq))):
        return False
    if r.type == "string":
        return b(v)
    if type(v) not in (list, tuple):
        return False
    if r.type in ("list", "set"):
        return all(b(x) for x in v)
    if r.type == "hash":
        return not r.field_expires and all(
            type(p) is tuple and len(p) == 2 and b(p[0]) and b(p[1]) for p in v
        )
    if r.type == "zset":
        return all(
            type(p) is tuple
            and len(p) == 2
            and b(p[0])
            and type(p[1]) is float
            and not math.isnan(p[1])
            for p in v
        )
    return False


def check_line(records: list[Record]) -> None:
    for r in records:
        want = _line_outcome(py_line, r)
        assert _line_outcome(_c_line, r) == want, r
        if _eligible(r):
            assert C.record_to_line(r) is not None, r
    if all(_line_outcome(py_line, r)[0] == "ok" for r in records):
        joined = "".join(py_line(r) + "\n" for r in records).encode("utf-8")
        assert C.records_to_jsonl(records, py_line) == joined
        assert C.records_to_jsonl(tuple(records), py_line) == joined


def test_fixture_records_same_lines() -> None:
    records = [ev for path in FILES for ev in read_all(path.read_bytes()) if type(ev) is Record]
    assert len(records) > 1000
    check_line(records)
    assert sum(C.record_to_line(r) is not None for r in records) > 0.9 * len(records)


BYTESISH = st.one_of(SHORT, LONG, st.binary(max_size=64))
ODD = st.sampled_from([True, 1.5, "text", None, b"ok", 2**70, -(2**63), 2**63 - 1, bytearray(b"x")])


@st.composite
def records(draw) -> Record:
    t = draw(st.sampled_from(["string", "list", "set", "hash", "zset", "zset", "stream", "module"]))
    weird = draw(st.integers(0, 9)) == 0
    if t == "string":
        value: Any = draw(BYTESISH)
    elif t in ("list", "set"):
        value = draw(st.lists(BYTESISH, max_size=8))
    elif t == "hash":
        value = draw(st.lists(st.tuples(BYTESISH, BYTESISH), max_size=6))
    elif t == "zset":
        ties = st.sampled_from([(b"a", 0.0), (b"a", -0.0), (b"b", 0.0), (b"a", 1.0)])
        value = draw(st.lists(st.one_of(st.tuples(BYTESISH, SCORES), ties), max_size=8))
        if weird and draw(st.booleans()):
            value.append((b"n", math.nan))
    else:
        value = draw(ODD)
    if weird and t != "string" and isinstance(value, list) and value and draw(st.booleans()):
        value[0] = draw(
            st.one_of(ODD, st.tuples(ODD, ODD), st.lists(BYTESISH, max_size=2).map(tuple))
        )
    if weird and draw(st.booleans()):
        value = tuple(value) if isinstance(value, list) else value
    ints = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(0, 255))
    fexp = draw(st.sampled_from([None, {}, {b"f": 5}])) if t == "hash" else None
    return Record(
        draw(st.integers(0, 15)) if not weird else draw(st.one_of(st.integers(), ODD)),
        draw(BYTESISH) if not (weird and draw(st.booleans())) else draw(ODD),
        t,
        value,
        draw(ints) if not weird else draw(st.one_of(ints, ODD)),
        draw(ints),
        draw(ints),
        fexp,
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=st.lists(records(), min_size=1, max_size=6))
def test_generated_records_same_lines(recs: list[Record]) -> None:
    check_line(recs)


def test_jsonl_module_is_wired() -> None:
    if not use_c():
        assert jsonl.record_to_line is jsonl._record_to_line_py
        return
    r = Record(0, b"k", "set", [b"b", b"a"], expire_ms=5, freq=3)
    assert jsonl.record_to_line(r) == py_line(r) == C.record_to_line(r)
    assert jsonl.records_to_jsonl([r, r]) == py_jsonl([r, r])


def test_big_and_overcounted_collections() -> None:
    """Past the C side's preallocation (1024 slots), and counts the data does not back."""
    n = 3000
    members = b"".join(save_string(b"m%d" % i) for i in range(n))
    pairs = b"".join(save_string(b"f%d" % i) + save_string(b"v") for i in range(n))
    zpairs = b"".join(save_string(b"m%d" % i) + struct.pack("<d", i / 7) for i in range(n))
    zpairs3 = b"".join(save_string(b"m%d" % i) + b"\x04%.2f" % (i % 10) for i in range(n))
    items = [
        _key(1, b"l", save_len(n) + members),
        _key(2, b"s", save_len(n) + members),
        _key(4, b"h", save_len(n) + pairs),
        _key(5, b"z", save_len(n) + zpairs),
        _key(3, b"z3", save_len(n) + zpairs3),
    ]
    data = _file(items)
    out: list = []
    pos, *_ = C.scan_keys(data, 9, 0, 0, 1 << 32, Record, out, None, None, None)
    assert data[pos] == 0xFF and [len(r.value) for r in out] == [n] * 5
    assert_same(data)
    for t, body in ((1, members), (4, pairs), (5, zpairs)):
        assert_same(_file([_key(t, b"k", save_len(10**9) + body)]))  # truncated, then corrupt
        assert_same(_file([_key(t, b"k", save_len(n + 1) + body), _key(0, b"x", b"\x01y")]))


@pytest.mark.parametrize("score", [b"1.5", b"0.12345678901234567", b"-1.7976931348623157e308", b"1e400", b".5",
                                   b"5.", b"+1", b"-0", b" 7", b"-nan", b"inf", b"1_0", b"abc", b"1.2.3", b"",
                                   b"1e", b"--1", b"0x10", b"1e+", b"\xff"])
def test_packed_zset_scores_checked_alike(score: bytes) -> None:
    """A zset listpack kept as bytes (packed_listpacks) is refused at load unless every
    score parses as float() parses it: the C check (a plain decimal's form, else the full
    parse) and the Python one agree, on common texts and odd ones."""
    lp = encode_listpack([b"a", b"1", b"b", score, b"c", b"2.25"])
    outcome = packed_outcome(_file([_key(17, b"z", save_raw_string(lp))]))
    try:
        float(score)
        assert outcome[0] == "ok"
    except ValueError:
        assert outcome[0] == "refused"


def packed_outcome(data: bytes) -> tuple:
    """The one record of ``data`` decoded with packed_listpacks, or its error: the same
    from the C scan and the Python path."""
    outcomes = []
    for fast in (False, True):
        with fastpath(fast):
            dec = RdbDecoder(packed_listpacks=True)
            dec.feed(data)
            dec.feed_eof()
            try:
                recs = [e for e in iter(dec.next_event, None) if isinstance(e, Record)]
                outcomes.append(("ok", [(m, repr(s)) for m, s in recs[0].value]))
            except RdbError as exc:
                outcomes.append(("refused", exc.message, exc.offset))
    assert outcomes[0] == outcomes[1]
    return outcomes[0]


@pytest.mark.parametrize("count", [0, 1, 2, 5, 6, 7, 8, 65534, 65535])
@pytest.mark.parametrize("t", [16, 17])
def test_packed_pairs_header_count(t: int, count: int) -> None:
    """A hash or zset listpack whose header counts other than its 6 entries is refused,
    alike on both paths (the C check sizes its field table by that count); 65535 means
    "unknown" and is fine."""
    lp = bytearray(encode_listpack([b"a", b"1", b"b", b"2", b"c", b"3"]))
    lp[4:6] = count.to_bytes(2, "little")
    outcome = packed_outcome(_file([_key(t, b"k", save_raw_string(bytes(lp)))]))
    assert outcome[0] == ("ok" if count in (6, 65535) else "refused")
