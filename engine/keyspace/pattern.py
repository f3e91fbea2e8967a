"""Redis glob patterns (``stringmatchlen``) compiled to anchored bytes regexes.

Supports ``*``, ``?``, ``[...]`` (``^`` negation, ``a-z`` ranges in either
order, ``\\`` escapes) and ``\\x`` escapes. Redis quirks kept: ``[]`` matches
nothing and ``[^]`` any one byte; an unterminated ``[`` runs to the end of the
pattern; a trailing ``\\`` matches a backslash.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _esc(b: int) -> str:
    return "\\x%02x" % b


@lru_cache(maxsize=256)
def compile_glob(pat: bytes) -> re.Pattern[bytes]:
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        ch = pat[i]
        if ch == 0x2A:  # *
            while i + 1 < n and pat[i + 1] == 0x2A:
                i += 1
            out.append(".*")
        elif ch == 0x3F:  # ?
            out.append(".")
        elif ch == 0x5B:  # [
            i += 1
            negate = i < n and pat[i] == 0x5E
            if negate:
                i += 1
            items: list[str] = []
            while i < n:
                c = pat[i]
                if c == 0x5C and i + 1 < n:
                    i += 1
                    items.append(_esc(pat[i]))
                elif c == 0x5D:
                    break
                elif i + 2 < n and pat[i + 1] == 0x2D:
                    lo, hi = c, pat[i + 2]
                    if lo > hi:
                        lo, hi = hi, lo
                    items.append(f"{_esc(lo)}-{_esc(hi)}")
                    i += 2
                else:
                    items.append(_esc(c))
                i += 1
            if not items:
                out.append("." if negate else "(?!)")
            else:
                out.append("[" + ("^" if negate else "") + "".join(items) + "]")
        elif ch == 0x5C:  # backslash
            if i + 1 < n:
                i += 1
            out.append(_esc(pat[i]))
        else:
            out.append(_esc(ch))
        i += 1
    return re.compile(("".join(out) + r"\Z").encode(), re.DOTALL)


def glob_match(pat: bytes, s: bytes) -> bool:
    if pat == b"*":
        return True
    return compile_glob(pat).match(s) is not None
