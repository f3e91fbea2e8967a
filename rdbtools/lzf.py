"""LZF as Redis uses it (liblzf 3.6 stream format, no header).

Decompression: the bounded pure-Python decoder below is the reference for the
error rules (the output must be exactly ``expected_len`` bytes, back-references
may not reach before the start, nothing is allocated beyond ``expected_len``) and
their messages; ``rdbtools._speedups.lzf_decompress`` (rdbtools/csrc/lzf.c, the
one LZF decoder in C, which the decoder's key scan uses too) gives the same
results and errors. Compression: the python-neo-lzf binding (module ``lzf``),
whose output is liblzf's byte for byte; without it nothing is compressed.
"""

from __future__ import annotations

from ._accel import c_module
from .errors import BadEncoding


def _decompress_py(data: bytes, expected_len: int) -> bytes:
    """Decompress ``data`` into exactly ``expected_len`` bytes or raise BadEncoding."""
    if expected_len <= 0:
        if expected_len < 0:
            raise BadEncoding(f"invalid LZF data: negative length {expected_len}")
        if data:
            raise BadEncoding("invalid LZF data: data for an empty string")
        return b""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n or len(out) + run > expected_len:
                raise BadEncoding("invalid LZF data: literal run past the end")
            out += data[i : i + run]
            i += run
        else:
            length = ctrl >> 5
            if length == 7:
                if i >= n:
                    raise BadEncoding("invalid LZF data: truncated back-reference")
                length += data[i]
                i += 1
            if i >= n:
                raise BadEncoding("invalid LZF data: truncated back-reference")
            ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
            i += 1
            length += 2
            if ref < 0:
                raise BadEncoding("invalid LZF data: back-reference before the start")
            if len(out) + length > expected_len:
                raise BadEncoding("invalid LZF data: output longer than declared")
            for _ in range(length):
                out.append(out[ref])
                ref += 1
    if len(out) != expected_len:
        raise BadEncoding(
            f"invalid LZF data: decompressed to {len(out)} bytes, expected {expected_len}"
        )
    return bytes(out)


decompress = _decompress_py
if (_c := c_module("rdbtools._speedups")) is not None:
    decompress = _c.lzf_decompress  # the same results and errors

_lzf = c_module("lzf")  # the python-neo-lzf binding: compression only


def compress(data: bytes) -> bytes | None:
    """Compress as Redis's rdbSaveLzfStringObject: a result only where Redis's liblzf
    would produce one into its ``len - 4`` byte buffer (see :func:`lzf_fits`)."""
    n = len(data)
    if n <= 4:
        return None
    if _lzf is None:
        return None  # the fallback never compresses; output is still valid RDB
    c: bytes | None = _lzf.compress(data, n - 4)  # None: it does not fit in n - 4 bytes
    if c is None or not lzf_fits(n, c):
        return None
    return c


def lzf_fits(n: int, compressed: bytes) -> bool:
    """Would Redis's liblzf 3.6 have produced ``compressed`` (from ``n`` bytes) into the
    ``n - 4`` byte buffer ``rdbSaveLzfStringObject`` gives it?

    liblzf gives up early with conservative checks (``op + 4 >= out_end`` before a
    back-reference, ``op + 3 > out_end`` before the last two literals), so it refuses
    some outputs that would just fit; the python-lzf binding accepts those. The
    compressed stream is the same either way, so replaying its tokens gives the output
    position at every check. Only outputs within 5 bytes of the limit can fail.
    """
    out_len = n - 4
    if len(compressed) + 5 < out_len:
        return True
    op, lit, ip, post = 1, 0, 0, False
    i, m = 0, len(compressed)
    while i < m:
        c = compressed[i]
        i += 1
        if c < 32:  # literal run of c + 1 bytes
            i += c + 1
            for _ in range(c + 1):
                if ip < n - 2:
                    if op >= out_len:
                        return False
                elif not post:
                    post = True
                    if op + 3 > out_len:
                        return False
                lit += 1
                op += 1
                ip += 1
                if lit == 32:
                    lit = 0
                    op += 1
        else:  # back-reference: 2 bytes, 3 with a length extension
            length = c >> 5
            size = 2
            if length == 7:
                length += compressed[i]
                size = 3
                i += 1
            i += 1
            if op - (lit == 0) + 4 >= out_len:
                return False
            op += size - (lit == 0) + 1
            lit = 0
            ip += length + 2
    return post or op + 3 <= out_len


__all__ = ["compress", "decompress", "lzf_fits"]
