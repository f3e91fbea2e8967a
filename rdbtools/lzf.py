"""LZF as Redis uses it (liblzf 3.6 stream format, no header).

Decompression: the bounded pure-Python decoder below is the reference for the
error rules (the output must be exactly ``expected_len`` bytes, back-references
may not reach before the start, nothing is allocated beyond ``expected_len``) and
their messages; ``rdbtools._speedups.lzf_decompress`` (rdbtools/csrc/lzf.c, the
one LZF decoder in C, which the decoder's key scan uses too) gives the same
results and errors. Compression: the python-neo-lzf binding (module ``lzf``),
whose output is liblzf's byte for byte, and :func:`_compress_py`, liblzf's compressor
written again in Python, which gives the same bytes (the reference of the C compressor
``rdbtools/csrc/lzfc.c`` that :func:`compress` and the C ``save_string`` use when built;
the binding where it is not, the Python code under ``RDBKIT_PUREPYTHON`` without it).
:func:`lzf_fits` (the end-of-buffer rule) has its C twin in ``rdbtools/csrc/rdbstr.c``.
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

_HSIZE = 1 << 16  # liblzf's HLOG 16
_MAX_LIT = 32
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


def _compress_py(data: bytes, out_len: int) -> bytes | None:
    """liblzf's ``lzf_compress`` as Redis builds it (HLOG 16, VERY_FAST, a fresh hash
    table), into at most ``out_len`` bytes: the same token choices, the same
    conservative end-of-buffer checks (None where liblzf returns 0). Slow; the
    reference beside the python-lzf binding, used without it."""
    n = len(data)
    if not n or not out_len:
        return None
    htab = [-1] * _HSIZE  # position + 1 of the last 3-byte prefix with that hash
    out = bytearray(b"\0")  # the first literal run's control byte, filled in later
    lit = 0
    ip = 0
    hval = (data[0] << 8) | data[1] if n > 1 else data[0] << 8
    while ip < n - 2:
        hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
        slot = ((hval >> 8) - hval * 5) & 0xFFFF
        ref = htab[slot]
        htab[slot] = ip
        if (ref >= 1 and ip - ref - 1 < _MAX_OFF and data[ref + 2] == data[ip + 2]
                and data[ref] == data[ip] and data[ref + 1] == data[ip + 1]):
            off = ip - ref - 1
            maxlen = min(n - ip - 2, _MAX_REF)
            op = len(out)
            if op + 4 >= out_len and op - (lit == 0) + 4 >= out_len:
                return None
            out[op - lit - 1] = lit - 1 & 0xFF  # close the literal run
            if not lit:
                del out[-1]  # an empty run takes no control byte
            length = 2
            unrolled = maxlen > 16
            if unrolled:  # liblzf compares 16 bytes before it looks at maxlen again
                for _ in range(16):
                    length += 1
                    if data[ref + length] != data[ip + length]:
                        break
                else:
                    unrolled = False
            if not unrolled:
                length += 1
                while length < maxlen and data[ref + length] == data[ip + length]:
                    length += 1
            length -= 2  # octets - 1
            ip += 1
            if length < 7:
                out.append((off >> 8) + (length << 5))
            else:
                out.append((off >> 8) + (7 << 5))
                out.append(length - 7)
            out.append(off & 0xFF)
            out.append(0)  # the next literal run's control byte
            lit = 0
            ip += length + 1
            if ip >= n - 2:
                break
            ip -= 2  # VERY_FAST: hash the last two positions of the match
            hval = (data[ip] << 8) | data[ip + 1]
            for _ in range(2):
                hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
                htab[((hval >> 8) - hval * 5) & 0xFFFF] = ip
                ip += 1
        else:
            if len(out) >= out_len:
                return None
            lit += 1
            out.append(data[ip])
            ip += 1
            if lit == _MAX_LIT:
                out[len(out) - lit - 1] = lit - 1
                lit = 0
                out.append(0)
    if len(out) + 3 > out_len:
        return None
    while ip < n:
        lit += 1
        out.append(data[ip])
        ip += 1
        if lit == _MAX_LIT:
            out[len(out) - lit - 1] = lit - 1
            lit = 0
            out.append(0)
    out[len(out) - lit - 1] = lit - 1 & 0xFF
    if not lit:
        del out[-1]
    return bytes(out)


def compress(data: bytes) -> bytes | None:
    """Compress as Redis's rdbSaveLzfStringObject: a result only where Redis's liblzf
    would produce one into its ``len - 4`` byte buffer (see :func:`lzf_fits`)."""
    n = len(data)
    if n <= 4:
        return None
    if _c is not None:
        c_out: bytes | None = _c.lzf_compress(data, n - 4)  # lzfc.c: _compress_py's answer
        return c_out
    if _lzf is None:
        return _compress_py(data, n - 4)
    c: bytes | None = _lzf.compress(data, n - 4)  # None: it does not fit in n - 4 bytes
    if c is None or not lzf_fits(n, c):
        return None
    return c


def _lzf_fits_py(n: int, compressed: bytes) -> bool:
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


lzf_fits = _lzf_fits_py
if _c is not None:
    lzf_fits = _c.lzf_fits  # rdbstr.c's, the same answers


__all__ = ["compress", "decompress", "lzf_fits"]
