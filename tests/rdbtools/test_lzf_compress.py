"""The pure-Python LZF compressor gives liblzf's bytes (what Redis writes).

``rdbtools.lzf._compress_py`` is what SAVE, DUMP and ``rdbkit convert`` use without the
python-lzf binding (or under ``RDBKIT_PUREPYTHON=1``). It must choose the same tokens and
refuse the same outputs as Redis's liblzf: compared with the binding (filtered by
``lzf_fits``, liblzf's end-of-buffer checks) on generated data, and with real Redis
7.0's DUMP payloads.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools import lzf as rlzf
from rdbtools.lzf import _compress_py, decompress, lzf_fits
from rdbtools.primitives import load_len, load_string

binding = pytest.importorskip("lzf", reason="python-neo-lzf is a dependency")

# repetitive data: a small alphabet, runs, copies of earlier parts
data = st.one_of(
    st.binary(min_size=5, max_size=300),
    st.builds(lambda alpha, picks: bytes(alpha[i % len(alpha)] for i in picks),
              st.binary(min_size=1, max_size=6), st.lists(st.integers(0, 5), min_size=5, max_size=3000)),
    st.builds(lambda a, k: (a * k)[: 9000], st.binary(min_size=1, max_size=40), st.integers(5, 400)),
).filter(lambda d: len(d) > 4)  # Redis compresses only strings over 20 bytes; liblzf's edge


def _liblzf(d: bytes) -> bytes | None:
    c = binding.compress(d, len(d) - 4)
    return c if c is not None and lzf_fits(len(d), c) else None


@settings(max_examples=300, deadline=None)
@given(data)
def test_the_python_compressor_gives_liblzf_bytes(d: bytes) -> None:
    got = _compress_py(d, len(d) - 4)
    assert got == _liblzf(d)
    if got is not None:
        assert decompress(got, len(d)) == d


def test_long_matches_and_the_largest_offset() -> None:
    rng = random.Random(7)
    noise = bytes(rng.getrandbits(8) for _ in range(8200))
    for d in (b"x" * 70000, noise + noise[:300], noise[:100] + b"ab" * 5000, bytes(range(256)) * 40):
        assert _compress_py(d, len(d) - 4) == _liblzf(d)


def test_dump_payloads_of_real_redis(tmp_path) -> None:
    from tests.support.servers import start_real

    srv = start_real(tmp_path)
    try:
        c = srv.client()
        rng = random.Random(3)
        for i in range(40):
            alpha = bytes(rng.sample(range(256), rng.randint(1, 8)))
            value = bytes(rng.choice(alpha) for _ in range(rng.randint(21, 4000)))
            c.set(f"k{i}", value)
            payload = c.dump(f"k{i}")
            assert payload[0] == 0  # a string
            if payload[1] >> 6 == 3 and payload[1] & 0x3F == 3:  # LZF-compressed
                clen, pos = load_len(payload, 2)
                _, pos = load_len(payload, pos)
                assert _compress_py(value, len(value) - 4) == payload[pos: pos + clen]
            else:
                assert _compress_py(value, len(value) - 4) is None
            assert load_string(payload, 1, 1 << 20)[0] == value
    finally:
        srv.stop()


def test_compress_uses_the_python_compressor_without_the_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    d = b"abcabcabcabcabcabcabcabcabc" * 10
    want = rlzf.compress(d)
    monkeypatch.setattr(rlzf, "_lzf", None)
    assert rlzf.compress(d) == want == _compress_py(d, len(d) - 4)


@settings(max_examples=300, deadline=None)
@given(data, st.integers(-8, 8))
def test_c_lzf_fits_answers_as_the_python_one(d: bytes, room: int) -> None:
    """rdbstr.c's lzf_fits (what save_string asks) against the reference, on liblzf's
    streams that end near the n - 4 limit, on both sides of it."""
    c_mod = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")
    c = binding.compress(d, max(1, len(d) - 4 + room))
    if c is None:
        return
    assert c_mod.lzf_fits(len(d), c) is rlzf._lzf_fits_py(len(d), c)


@settings(max_examples=300, deadline=None)
@given(data, st.integers(-30, 8))
def test_the_c_compressor_gives_the_python_ones_bytes(d: bytes, room: int) -> None:
    """lzfc.c (what save_string and lzf.compress use when built) against _compress_py,
    into buffers on both sides of the n - 4 that Redis gives."""
    c_mod = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")
    out_len = max(0, len(d) - 4 + room)
    assert c_mod.lzf_compress(d, out_len) == _compress_py(d, out_len)
    assert c_mod.lzf_compress(bytearray(d), out_len) == _compress_py(d, out_len)


def test_compress_uses_the_c_compressor_when_built() -> None:
    from rdbtools._accel import use_c

    d = b"abcabcabcabcabcabcabc" * 5
    assert rlzf.compress(d) == _liblzf(d)
    if use_c():
        assert rlzf._c is not None
