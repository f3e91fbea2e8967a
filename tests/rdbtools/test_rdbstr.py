"""rdbstr.c's save_string against rdbtools.primitives._save_string_py: the same bytes.

Integers at every width boundary and non-canonical spellings, strings on both sides of
the 20-byte compression threshold, compressible and incompressible, bytearray and
memoryview inputs, compression off. The C module is imported directly, whatever
RDBKIT_PUREPYTHON says.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools import primitives
from rdbtools._accel import use_c

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

EDGES = [b"", b"0", b"-0", b"00", b"+1", b" 1", b"1 ", b"-", b"127", b"128", b"-128", b"-129",
         b"32767", b"32768", b"-32768", b"-32769", b"2147483647", b"2147483648", b"-2147483648",
         b"-2147483649", b"99999999999", b"12345678901", b"9223372036854775807", b"1" * 21,
         b"a" * 20, b"a" * 21, b"ab" * 40, bytes(range(256)), b"x" * 70000, b"\xff" * 30]


@pytest.mark.parametrize("compress", [True, False])
def test_edges_equal(compress: bool) -> None:
    for s in EDGES:
        want = primitives._save_string_py(s, compress)
        assert C.save_string(s, compress) == want, s[:40]
        assert C.save_string(bytearray(s), compress) == want
        assert C.save_string(memoryview(s), compress) == want
    assert C.save_string(b"abc" * 30) == primitives._save_string_py(b"abc" * 30)  # compress defaults on
    assert C.save_string(b"abc" * 30, compress=False) == primitives._save_string_py(b"abc" * 30, False)
    with pytest.raises(TypeError):
        C.save_string(b"abc", nosuch=1)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300) | st.integers(-2**63, 2**63 - 1).map(lambda i: b"%d" % i)
       | st.text("ab", max_size=200).map(str.encode), st.booleans())
def test_random_equal(s: bytes, compress: bool) -> None:
    assert C.save_string(s, compress) == primitives._save_string_py(s, compress)


def test_the_switch_picks_save_string() -> None:
    assert primitives.save_string is (C.save_string if use_c() else primitives._save_string_py)
