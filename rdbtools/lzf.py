"""LZF as Redis uses it (liblzf 3.6 stream format, no header).

The C binding (python-neo-lzf, module ``lzf``) does the work; a bounded pure
Python decompressor is the fallback and the reference for the error rules:
the output must be exactly ``expected_len`` bytes, back-references may not reach
before the start, and nothing is allocated beyond ``expected_len``.
"""

from __future__ import annotations

import os

from .errors import BadEncoding


def _decompress_py(data: bytes, expected_len: int) -> bytes:
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


try:  # pragma: no cover - environment dependent
    if os.environ.get("RDBKIT_PUREPYTHON"):
        raise ImportError
    import lzf as _lzf
except ImportError:  # pragma: no cover
    _lzf = None


def decompress(data: bytes, expected_len: int) -> bytes:
    """Decompress ``data`` into exactly ``expected_len`` bytes or raise BadEncoding."""
    if expected_len == 0:
        if data:
            raise BadEncoding("invalid LZF data: data for an empty string")
        return b""
    if _lzf is None:
        return _decompress_py(data, expected_len)
    try:
        out = _lzf.decompress(data, expected_len)
    except (ValueError, OverflowError, MemoryError) as exc:
        raise BadEncoding(f"invalid LZF data ({exc})") from exc
    if out is None or len(out) != expected_len:
        raise BadEncoding(f"invalid LZF data: output is not {expected_len} bytes")
    return out


def compress(data: bytes) -> bytes | None:
    """Compress as Redis's rdbSaveLzfStringObject: result only if it saves ≥ 4 bytes."""
    n = len(data)
    if n <= 4:
        return None
    if _lzf is None:
        return None  # the fallback never compresses; output is still valid RDB
    return _lzf.compress(data, n - 4)


__all__ = ["compress", "decompress"]
