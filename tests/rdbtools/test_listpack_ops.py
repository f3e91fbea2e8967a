"""The listpack-of-pairs operations in C (rdbtools._speedups.lp_pairs_*) against the
pure-Python references (rdbtools.encodings.listpack_ops, docs/style.md rule 10): the same
results and the same bytes over random HSET/HDEL/HGET sequences, and those bytes equal
the listpack Redis's encoder writes for the resulting pairs (encode_listpack, lpAppend's
choices). The validation accepts exactly what the reference accepts, on mutated blobs
too. The C module is imported directly, whatever RDBKIT_PUREPYTHON says."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools.encodings import listpack_ops as OPS
from rdbtools.encodings.listpack import LP_HDR_NUMELE_UNKNOWN, encode_listpack
from rdbtools.errors import BadEncoding

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

# texts that hit every entry form: 7/13/16/24/32/64-bit integers, non-canonical
# integer text (kept as strings), 6/12/32-bit strings, multi-byte backlens
_ints = st.sampled_from([0, 1, 127, 128, -1, -4096, 4095, 4096, -32768, 32767, 40000, -8388608,
                         8388607, 2**31 - 1, -(2**31), 2**31, 2**63 - 1, -(2**63)])
text = st.one_of(
    _ints.map(lambda i: b"%d" % i),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: b"%d" % i),
    st.sampled_from([b"", b"-0", b"007", b"+1", b"1 ", b"9223372036854775808", b"a", b"\x00\xff"]),
    st.binary(max_size=8),
    st.integers(60, 70).map(lambda n: b"s" * n),
    st.sampled_from([b"L" * 130, b"M" * 4095, b"N" * 4100, b"O" * 16400]),
)
field = st.one_of(st.sampled_from([b"f", b"g", b"1", b"01", b"-5", b"5000"]), text)
op = st.one_of(st.tuples(st.just("set"), field, text), st.tuples(st.just("del"), field, st.just(b"")),
               st.tuples(st.just("get"), field, st.just(b"")))


def _apply(lp: bytearray, ops, get, set_, delete) -> list:
    out = []
    for kind, f, v in ops:
        if kind == "set":
            out.append(set_(lp, f, v))
        elif kind == "del":
            out.append(delete(lp, f))
        else:
            out.append(get(lp, f))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, max_size=60))
def test_sequences_match_and_equal_redis_encoding(ops) -> None:
    a, b = bytearray(encode_listpack([])), bytearray(encode_listpack([]))
    ra = _apply(a, ops, OPS.lp_pairs_get_py, OPS.lp_pairs_set_py, OPS.lp_pairs_delete_py)
    rb = _apply(b, ops, C.lp_pairs_get, C.lp_pairs_set, C.lp_pairs_delete)
    assert ra == rb
    assert a == b
    model: dict[bytes, bytes] = {}  # a dict in insertion order is a hash's listpack order
    for kind, f, v in ops:
        if kind == "set":
            model[f] = v
        elif kind == "del":
            model.pop(f, None)
    assert bytes(a) == encode_listpack([x for kv in model.items() for x in kv])
    assert OPS.lp_length_py(a) == C.lp_length(b) == 2 * len(model)
    assert OPS.lp_validate_pairs_py(a) == C.lp_pairs_check(b) == 2 * len(model)


def test_unknown_count_kept_as_listpack_c_does() -> None:
    """A count past 65534 turns "unknown" (65535) on the way up; lpLength stores it again
    once a walk finds it fits."""
    items = [b"%d" % i for i in range(65534)]
    a = bytearray(encode_listpack(items))
    b = bytearray(a)
    for lp, set_, delete, length in ((a, OPS.lp_pairs_set_py, OPS.lp_pairs_delete_py, OPS.lp_length_py),
                                     (b, C.lp_pairs_set, C.lp_pairs_delete, C.lp_length)):
        assert set_(lp, b"x", b"y") is True
        assert lp[4:6] == LP_HDR_NUMELE_UNKNOWN.to_bytes(2, "little")
        assert length(lp) == 65536
        assert delete(lp, b"x") is True  # unknown stays unknown ...
        assert lp[4:6] == LP_HDR_NUMELE_UNKNOWN.to_bytes(2, "little")
        assert length(lp) == 65534  # ... until a walk can store it
        assert lp[4:6] == (65534).to_bytes(2, "little")
    assert a == b


@settings(max_examples=400, deadline=None)
@given(pairs=st.lists(st.tuples(field, text), max_size=8), data=st.data())
def test_validation_matches_reference(pairs, data) -> None:
    blob = bytearray(encode_listpack([x for kv in pairs for x in kv]))
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()) and len(blob) > 8:
        del blob[data.draw(st.integers(6, len(blob) - 2))]
    try:
        want = OPS.lp_validate_pairs_py(blob)
    except BadEncoding:
        want = -1
    assert C.lp_pairs_check(bytes(blob)) == want
    if want >= 0:  # a valid blob: the ops agree on it too
        for f, _ in pairs[:3]:
            assert C.lp_pairs_get(blob, f) == OPS.lp_pairs_get_py(blob, f)


def test_c_ops_refuse_damage_without_reading_past_the_end() -> None:
    lp = bytearray(encode_listpack([b"a", b"x" * 100]))
    lp[7 + 1] = 0xFF  # the string's length byte made huge: runs past the end
    lp[6] = 0xE7
    with pytest.raises(BadEncoding):
        C.lp_pairs_get(lp, b"zz")
    with pytest.raises(BadEncoding):
        C.lp_pairs_set(bytearray(b"\x07\x00\x00\x00\x00\x00\xfe"), b"a", b"b")


# --------------------------------------------------------------------------- packed loads


def _rdb(blobs: list[bytes]) -> bytes:
    """An RDB 10 file of hash listpacks written byte for byte (the encoder writes a
    ListpackPairs as it is)."""
    from rdbtools.encoder import encode_bytes
    from rdbtools.model import Record
    from rdbtools.objects.hashes import ListpackPairs

    recs = [Record(0, b"k%d" % i, "hash", ListpackPairs(b, OPS.lp_validate_pairs_py(b)))
            for i, b in enumerate(blobs)]
    return encode_bytes(recs, target_version=10)


def _decode(data: bytes, packed: bool, fast: bool) -> tuple[list, object]:
    from rdbtools import RdbDecoder, decoder
    from rdbtools.errors import RdbError
    from rdbtools.model import Record

    saved = decoder._scan_keys, decoder.KeySet
    decoder._scan_keys = C.scan_keys if fast else None
    if fast:  # under RDBKIT_PUREPYTHON=1 the decoder would make the Python KeySet
        decoder.KeySet = C.KeySet
    try:
        dec = RdbDecoder(packed_listpacks=packed)
        dec.feed(data)
        dec.feed_eof()
        out: list = []
        err = None
        try:
            while evs := dec.next_events():
                out.extend(e for e in evs if type(e) is Record)
        except RdbError as exc:
            err = (exc.message, exc.offset, exc.key)
        return out, err
    finally:
        decoder._scan_keys, decoder.KeySet = saved


# a 6-bit string "5" where Redis would write an integer, and a 12-bit string for "ab":
# valid listpacks Redis keeps as they are (lpValidateIntegrity does not ask for the
# smallest form)
_ODD = b"\x0e\x00\x00\x00\x02\x00\x815\x02\x82x1\x03\xff"
_ODD12 = b"\x0f\x00\x00\x00\x02\x00\xe0\x02ab\x04\x81x\x02\xff"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(field, text), min_size=1, max_size=6, unique_by=lambda p: p[0]),
       data=st.data())
def test_packed_loads_keep_the_bytes_on_both_paths(pairs, data) -> None:
    """packed_listpacks: the C scan and the Python path give the same ListpackPairs, whose
    bytes are the file's and whose pairs are what an ordinary decode gives; a damaged
    blob is refused on every path alike."""
    blobs = [encode_listpack([x for kv in pairs for x in kv]), _ODD, _ODD12]
    data_ = bytearray(_rdb(blobs))
    damaged = data.draw(st.booleans())
    if damaged:  # damage: the whole file's checksum is off too, so drop it
        i = data.draw(st.integers(20, len(data_) - 11))
        data_[i] = data.draw(st.integers(0, 255))
        data_[-8:] = bytes(8)
    data_ = bytes(data_)
    plain, perr = _decode(data_, False, False)
    for fast in (False, True):
        recs, err = _decode(data_, True, fast)
        assert (err is None) == (perr is None)
        if err is not None:
            assert err[0] == perr[0] or "hash" in err[0]  # odd/duplicate: the blob named
        assert [r.value for r in recs] == [r.value for r in plain]
        if not damaged:
            assert err is None and len(recs) == len(blobs)
            for r, blob in zip(recs, blobs):
                assert bytes(r.value.blob) == blob and r.value.blob.__class__ is bytearray
    blobs_of = [[getattr(r.value, "blob", r.value) for r in _decode(data_, True, fast)[0]] for fast in (0, 1)]
    assert blobs_of[0] == blobs_of[1]
