"""rdbtools._glob (C) against rdbtools.glob's pure-Python matcher, and both in bounded time.

What Redis answers is checked against a real server in tests/engine/test_glob.py
and tests/cli/test_key_glob.py; here the two implementations (and the
``bytes``-method shortcuts of the Python predicate) must agree on everything,
case-folded or not, and patterns that make a backtracking matcher explode or a
recursive one overflow must simply be answered.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools import glob as rglob

C = pytest.importorskip("rdbtools._glob", reason="C extension not built (pip install -e .)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWKWARD = b"*?[]^-\\aAbBzZ\x00\x7f\x80\xe9\xff"
# RDBKIT_SOAK=1 draws twenty times as many examples.
SCALE = 20 if os.environ.get("RDBKIT_SOAK") else 1
FAST = settings(max_examples=400 * SCALE, deadline=None)


def _all_answers(pat: bytes, s: bytes, nocase: bool) -> list[bool]:
    return [
        rglob._glob_match_py(pat, s, nocase),
        rglob._python_matcher(pat, nocase)(s),
        C.glob_match(pat, s, nocase),
        C.glob_match(pat, s, nocase=nocase),
        C.glob_matcher(pat, nocase)(s),
        C.glob_matcher(bytearray(pat), nocase=nocase)(memoryview(s)),
    ]


def _same(pat: bytes, s: bytes, nocase: bool) -> None:
    answers = _all_answers(pat, s, nocase)
    assert answers == [answers[0]] * len(answers), (pat, s, nocase, answers)


awkward = st.lists(st.sampled_from(AWKWARD), max_size=12).map(bytes)


@FAST
@given(pat=awkward, s=awkward, nocase=st.booleans())
def test_c_and_python_agree(pat: bytes, s: bytes, nocase: bool) -> None:
    _same(pat, s, nocase)


@settings(max_examples=200 * SCALE, deadline=None)
@given(pat=st.binary(max_size=10), s=st.binary(max_size=10), nocase=st.booleans())
def test_c_and_python_agree_on_any_bytes(pat: bytes, s: bytes, nocase: bool) -> None:
    _same(pat, s, nocase)


@settings(max_examples=150 * SCALE, deadline=None)
@given(parts=st.lists(st.sampled_from([b"*", b"a", b"b", b"?", b"[ab]", b"\\*", b"[^a]"]), max_size=30),
       s=st.lists(st.sampled_from(b"ab*"), max_size=40).map(bytes), nocase=st.booleans())
def test_c_and_python_agree_on_star_heavy_patterns(parts: list[bytes], s: bytes, nocase: bool) -> None:
    _same(b"".join(parts), s, nocase)


@settings(max_examples=150 * SCALE, deadline=None)
@given(body=st.binary(max_size=6).filter(lambda b: not set(b) & set(b"*?[\\")),
       shape=st.sampled_from(["{}", "{}*", "*{}", "*{}*", "**{}**", "*"]),
       s=st.lists(st.sampled_from(b"ab*?\x00"), max_size=8).map(bytes))
def test_shortcuts_answer_as_the_matcher(body: bytes, shape: str, s: bytes) -> None:
    """literal / prefix* / *suffix / *infix* / '*' go through bytes methods in Python."""
    pat = shape.encode().replace(b"{}", body)
    assert rglob._python_matcher(pat)(s) is rglob._glob_match_py(pat, s) is C.glob_match(pat, s)


@pytest.mark.parametrize("match", [rglob._glob_match_py, C.glob_match], ids=["python", "c"])
def test_pattern_bombs_are_answered(match) -> None:
    """Exponential for a backtracking matcher (CVE-2022-36021); a few thousand steps here."""
    s = b"a" * 120
    assert match(b"a*" * 60 + b"b", s) is False
    assert match(b"a*" * 60 + b"a", s) is True
    assert match(b"*a" * 60 + b"*b", s) is False
    assert match(b"?*" * 60 + b"[b]", s) is False
    assert match(b"*[a]*?" * 40 + b"\\b", s, True) is False


@pytest.mark.parametrize("match", [rglob._glob_match_py, C.glob_match], ids=["python", "c"])
def test_long_patterns_need_no_recursion(match) -> None:
    """stringmatchlen recursed once per '*'; a 200k-byte pattern must not exhaust a stack."""
    pat = b"*a" * 100_000
    assert match(pat, b"a" * 99_999) is False
    assert match(pat, b"a" * 100_000) is True
    assert match(b"[" * 200_000, b"[") is True  # one unterminated class of 199,999 literal "["s


def test_purepython_switch_selects_python() -> None:
    code = "from rdbtools import glob as g; print(g.glob_match is g._glob_match_py, g.glob_matcher is g._python_matcher)"
    for value, expected in (("1", "True True"), ("", "False False")):
        env = dict(os.environ, RDBKIT_PUREPYTHON=value, PYTHONPATH=ROOT)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == expected.split()
