"""Redis glob patterns, matched as Redis 7.0's ``stringmatchlen`` (util.c) matches them.

One matcher for all of rdbkit: KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH, PSUBSCRIBE,
PUBSUB CHANNELS, FUNCTION LIST LIBRARYNAME, CONFIG GET (the engine) and the
``--key`` filters of the CLI (:class:`rdbtools.decoder.Filter`), so a glob means
the same thing everywhere.

Pattern language, byte by byte, quirks included:

- ``*`` any run of bytes, ``?`` one byte, ``\\x`` the byte ``x``; a trailing
  ``\\`` is a literal backslash.
- ``[...]`` one byte from a class; ``^`` first negates; ``\\x`` inside is ``x``;
  ``a-z`` is a range, either order, compared as *signed* chars (x86-64), so
  ``[a-\\xe9]`` is -23..97: bytes 0x00-0x61 and 0xE9-0xFF, not 0x61-0xE9.
  ``-`` binds before ``]``: ``[a-]`` is the range ']'..'a' and the class goes
  on. An unterminated ``[`` runs to the end of the pattern: ``[``
  alone matches nothing, ``[^`` any one byte. ``[]`` matches nothing, ``[^]``
  any byte.
- The empty subject matches only the empty pattern, so ``*`` does not match
  ``b""`` (KEYS and SCAN treat a lone ``*`` as "everything" before matching;
  PSUBSCRIBE and PUBSUB CHANNELS do not).
- ``nocase`` (CONFIG GET, FUNCTION LIST) folds A-Z as ``tolower`` in the C
  locale; a class range folds its two ends after ordering them, and glibc's
  ``tolower`` maps a negative char c (except -1) to c + 256, which decides
  whether a high byte falls in a folded range. Escaped bytes inside a class
  compare exactly.

Bounded time: ``stringmatchlen`` gave up on a pattern once the part after some
``*`` failed at every later offset (``skipLongerMatches``, the fix of
CVE-2022-36021). Here that is a loop with one resume point, the most recent
``*``: reaching a new ``*`` drops the older one for good, so each ``*`` is
tried at most once per subject offset and the work is at most
``len(pattern) * len(subject)`` steps, without recursion.

The C module ``rdbtools._glob`` runs the same loop; ``RDBKIT_PUREPYTHON=1`` keeps
the Python one, whose :func:`glob_matcher` hands the plainest patterns (literal,
``prefix*``, ``*suffix``, ``*infix*``, ``*``) to ``bytes`` methods that give the
same answers.
"""

from __future__ import annotations

from collections.abc import Callable

from ._accel import c_module

__all__ = ["glob_match", "glob_matcher"]

_STAR, _QMARK, _OPEN, _CLOSE, _ESC, _NOT, _DASH = b"*?[]\\^-"

# A byte as x86-64's signed ``char``.
_SIGNED = tuple(b - 256 if b >= 0x80 else b for b in range(256))
# A-Z to a-z; equal after folding exactly when glibc's tolower() values are equal.
_FOLD = bytes(b + 32 if 0x41 <= b <= 0x5A else b for b in range(256))


def _tolower(c: int) -> int:
    """glibc's C-locale ``tolower`` of a signed char value (-128..127)."""
    if 0x41 <= c <= 0x5A:
        return c + 32
    if c <= -2:
        return c + 256
    return c


def _class_match(p: bytes, i: int, c: int, nocase: bool) -> tuple[int, bool]:
    """Mirrors the ``[`` case of stringmatchlen: does byte ``c`` match the class at ``p[i]``?

    Returns the index of the class's last byte (its ``]``, or the pattern's last
    byte when unterminated) and whether ``c`` matched.
    """
    n = len(p)
    i += 1
    negate = i < n and p[i] == _NOT
    if negate:
        i += 1
    hit = False
    while True:
        if i + 1 < n and p[i] == _ESC:
            i += 1
            if p[i] == c:
                hit = True
        elif i < n and p[i] == _CLOSE:
            break
        elif i >= n:  # unterminated: the class ends at the pattern's last byte
            i -= 1
            break
        elif i + 2 < n and p[i + 1] == _DASH:
            lo, hi, x = _SIGNED[p[i]], _SIGNED[p[i + 2]], _SIGNED[c]
            if lo > hi:
                lo, hi = hi, lo
            if nocase:
                lo, hi, x = _tolower(lo), _tolower(hi), _tolower(x)
            if lo <= x <= hi:
                hit = True
            i += 2
        elif p[i] == c or (nocase and _FOLD[p[i]] == _FOLD[c]):
            hit = True
        i += 1
    return i, hit != negate


def _glob_match_py(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """Mirrors stringmatchlen(pattern, subject, nocase) with skipLongerMatches, iteratively."""
    p, s = pattern, subject
    n, m = len(p), len(s)
    pi = si = 0
    star_p = -1  # pattern index just after the most recent '*'
    star_s = 0  # the subject offset that '*' is being tried at
    while True:
        ok = True
        while pi < n and si < m:
            ch = p[pi]
            if ch == _STAR:
                while pi + 1 < n and p[pi + 1] == _STAR:
                    pi += 1
                if pi + 1 == n:
                    return True  # a trailing '*' takes the rest
                pi += 1
                star_p, star_s = pi, si
                continue
            if ch == _OPEN:
                pi, hit = _class_match(p, pi, s[si], nocase)
                if not hit:
                    ok = False
                    break
            elif ch != _QMARK:
                if ch == _ESC and pi + 1 < n:
                    pi += 1
                    ch = p[pi]
                c = s[si]
                if ch != c and not (nocase and _FOLD[ch] == _FOLD[c]):
                    ok = False
                    break
            pi += 1
            si += 1
            if si == m:  # subject used up: only '*'s may be left
                while pi < n and p[pi] == _STAR:
                    pi += 1
                break
        if ok and pi == n and si == m:
            return True
        # The rest after the last '*' failed at star_s: try the next offset.
        # Running out of offsets ends the whole match (skipLongerMatches).
        star_s += 1
        if star_p < 0 or star_s >= m:
            return False
        pi, si = star_p, star_s


def _plain_matcher(pattern: bytes) -> Callable[[bytes], bool] | None:
    """A ``bytes`` method that answers as stringmatchlen does, for the plainest patterns."""
    if b"?" in pattern or b"[" in pattern or b"\\" in pattern:
        return None
    if b"*" not in pattern:
        return lambda s: s == pattern
    body = pattern.strip(b"*")
    if b"*" in body:
        return None
    if not body:
        return bool  # only '*'s: any non-empty subject
    lead = pattern[0] == _STAR
    trail = pattern[-1] == _STAR
    if lead and trail:
        return lambda s: body in s
    if trail:
        return lambda s: s.startswith(body)
    if lead:
        return lambda s: s.endswith(body)
    return None


def _python_matcher(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A one-argument predicate: does a subject match ``pattern``? (KEYS-style loops)."""
    plain = None if nocase else _plain_matcher(pattern)
    if plain is not None:
        return plain
    return lambda s: _glob_match_py(pattern, s, nocase)


glob_match = _glob_match_py
glob_matcher = _python_matcher

if (_c := c_module("rdbtools._glob")) is not None:  # the same loop (rdbtools/csrc/glob.c)
    glob_match, glob_matcher = _c.glob_match, _c.glob_matcher
