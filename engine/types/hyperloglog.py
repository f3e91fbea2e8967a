"""HyperLogLog values as Redis 7.0 stores them (hyperloglog.c): plain strings.

Wire form (``struct hllhdr``, 16 bytes, then the registers)::

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused zero bytes | card (u64 LE)

``card`` caches the last PFCOUNT result; its top bit set means "stale".
Dense: 16384 6-bit registers packed LSB first (12288 bytes). Sparse: a run of
opcodes ``00xxxxxx`` ZERO (1..64 zero registers), ``01xxxxxx yyyyyyyy`` XZERO
(1..16384 zero registers), ``1vvvvvxx`` VAL (1..4 registers of value 1..32).

Every function works on the value in place (a ``bytearray``) and follows Redis's
code step by step, so after the same commands the bytes are identical to a real
Redis's: sparse updates split/merge opcodes exactly as ``hllSparseSet``, the
sparse → dense promotion happens at the same byte count, and the estimator is
Ertl's (``hllCount`` with tau/sigma). Elements are hashed with MurmurHash64A
(seed 0xadc83b19), the low 14 bits picking the register.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable

from rdbtools._accel import c_module

HLL_P = 14
HLL_Q = 64 - HLL_P
HLL_REGISTERS = 1 << HLL_P
HLL_P_MASK = HLL_REGISTERS - 1
HLL_BITS = 6
HLL_REGISTER_MAX = (1 << HLL_BITS) - 1
HLL_HDR_SIZE = 16
HLL_DENSE_SIZE = HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) // 8
HLL_DENSE = 0
HLL_SPARSE = 1
HLL_MAX_ENCODING = 1
HLL_SPARSE_VAL_MAX_VALUE = 32
HLL_SPARSE_VAL_MAX_LEN = 4
HLL_SPARSE_ZERO_MAX_LEN = 64
HLL_SPARSE_XZERO_MAX_LEN = 16384
HLL_ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)
HLL_SEED = 0xADC83B19

_SPEEDUPS = c_module("rdbtools._speedups")
_c_sparse_set = getattr(_SPEEDUPS, "hll_sparse_set", None)

_M64 = 0xFFFFFFFFFFFFFFFF
_MURMUR_M = 0xC6A4A7935BD1E995


def murmurhash64a(data: bytes | bytearray | memoryview, seed: int = HLL_SEED) -> int:
    """MurmurHash64A as in hyperloglog.c (endian-neutral: blocks read little endian)."""
    m = _MURMUR_M
    n = len(data)
    h = (seed ^ (n * m)) & _M64
    nblocks = n >> 3
    if nblocks:
        for k in struct.unpack_from(f"<{nblocks}Q", data):
            k = (k * m) & _M64
            k ^= k >> 47
            k = (k * m) & _M64
            h ^= k
            h = (h * m) & _M64
    if n & 7:
        h ^= int.from_bytes(data[nblocks << 3:], "little")
        h = (h * m) & _M64
    h ^= h >> 47
    h = (h * m) & _M64
    h ^= h >> 47
    return h


def pat_len(ele: bytes) -> tuple[int, int]:
    """hllPatLen: (register index, length of the 000..1 pattern after the index bits)."""
    h = murmurhash64a(ele)
    index = h & HLL_P_MASK
    h = (h >> HLL_P) | (1 << HLL_Q)
    return index, (h & -h).bit_length()


# ---------------------------------------------------------------- the header


def new_hll() -> bytearray:
    """createHLLObject: an empty sparse HLL (one XZERO covering every register)."""
    s = bytearray(b"HYLL\x01" + bytes(11))
    aux = HLL_REGISTERS
    while aux:
        xzero = min(HLL_SPARSE_XZERO_MAX_LEN, aux)
        s += bytes((((xzero - 1) >> 8) | 0x40, (xzero - 1) & 0xFF))
        aux -= xzero
    return s


def is_valid_hll(v: bytes | bytearray) -> bool:
    """isHLLObjectOrReply, after the type check: magic, encoding, dense size."""
    n = len(v)
    if n < HLL_HDR_SIZE or v[:4] != b"HYLL" or v[4] > HLL_MAX_ENCODING:
        return False
    return not (v[4] == HLL_DENSE and n != HLL_DENSE_SIZE)


def invalidate_cache(s: bytearray) -> None:
    s[15] |= 0x80


def cached_card(s: bytes | bytearray) -> int | None:
    """The cached cardinality, or None when the stale bit is set."""
    if s[15] & 0x80:
        return None
    return int.from_bytes(s[8:16], "little")


def store_card(s: bytearray, card: int) -> None:
    s[8:16] = (card & _M64).to_bytes(8, "little")


# ---------------------------------------------------------------- dense


def dense_get(s: bytes | bytearray, regnum: int) -> int:
    byte = HLL_HDR_SIZE + regnum * HLL_BITS // 8
    fb = regnum * HLL_BITS & 7
    b1 = s[byte + 1] if byte + 1 < len(s) else 0  # the sds terminator past the end
    return ((s[byte] >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX


def dense_set(s: bytearray, regnum: int, count: int) -> int:
    """hllDenseSet: raise register ``regnum`` to ``count``; 1 if it changed."""
    byte = HLL_HDR_SIZE + regnum * HLL_BITS // 8
    fb = regnum * HLL_BITS & 7
    fb8 = 8 - fb
    b1 = s[byte + 1] if byte + 1 < len(s) else 0
    old = ((s[byte] >> fb) | (b1 << fb8)) & HLL_REGISTER_MAX
    if count <= old:
        return 0
    s[byte] = (s[byte] & ~(HLL_REGISTER_MAX << fb) & 0xFF) | ((count << fb) & 0xFF)
    if byte + 1 < len(s):
        s[byte + 1] = (b1 & ~(HLL_REGISTER_MAX >> fb8) & 0xFF) | (count >> fb8)
    return 1


def decode_dense(s: bytes | bytearray) -> list[int]:
    """The 16384 registers of a dense HLL (4 registers per 3 bytes)."""
    reg = s[HLL_HDR_SIZE:HLL_DENSE_SIZE]
    out: list[int] = []
    ext = out.extend
    for b0, b1, b2 in zip(reg[0::3], reg[1::3], reg[2::3], strict=True):
        ext((b0 & 63, (b0 >> 6 | b1 << 2) & 63, (b1 >> 4 | b2 << 4) & 63, b2 >> 2))
    return out


def encode_dense(regs: list[int]) -> bytes:
    """The 12288 register bytes for 16384 register values (each 0..63)."""
    out = bytearray()
    ext = out.extend
    it = iter(regs)
    for r0, r1, r2, r3 in zip(it, it, it, it, strict=True):
        ext((r0 | (r1 << 6) & 0xFF, (r1 >> 2) | (r2 << 4) & 0xFF, (r2 >> 4) | (r3 << 2)))
    return bytes(out)


# ---------------------------------------------------------------- sparse


def _op(s: bytes | bytearray, p: int) -> tuple[int, int, int, int]:
    """(kind, run length, value, opcode size) of the opcode at ``p``; kind 0 ZERO,
    1 XZERO, 2 VAL. A truncated XZERO reads the sds terminator (0) as Redis does."""
    b = s[p]
    if not b & 0xC0:
        return 0, (b & 0x3F) + 1, 0, 1
    if b & 0x80:
        return 2, (b & 0x3) + 1, ((b >> 2) & 0x1F) + 1, 1
    b1 = s[p + 1] if p + 1 < len(s) else 0
    return 1, (((b & 0x3F) << 8) | b1) + 1, 0, 2


def _val(value: int, length: int) -> int:
    return ((value - 1) << 2 | (length - 1)) | 0x80


def _zero_run(length: int) -> bytes:
    if length > HLL_SPARSE_ZERO_MAX_LEN:
        return bytes((((length - 1) >> 8) | 0x40, (length - 1) & 0xFF))
    return bytes((length - 1,))


def sparse_registers(s: bytes | bytearray) -> list[int] | None:
    """The registers a sparse HLL encodes (hllSparseToDense / hllMerge's walk);
    None when the opcodes do not cover exactly 16384 registers. Any opcode running
    past the last register is corrupt, as in 7.0.15 with the CVE-2025-32023 fix
    (Debian's redis-server; unpatched 7.0 ignored a ZERO/XZERO overrun there)."""
    regs = [0] * HLL_REGISTERS
    idx = 0
    p = HLL_HDR_SIZE
    end = len(s)
    while p < end:
        kind, runlen, value, size = _op(s, p)
        if runlen + idx > HLL_REGISTERS:
            return None
        if kind == 2:
            regs[idx:idx + runlen] = [value] * runlen
        idx += runlen
        p += size
    return regs if idx == HLL_REGISTERS else None


def sparse_to_dense(s: bytearray) -> bool:
    """hllSparseToDense, in place (header copied, encoding set to dense); False if
    the sparse form is corrupt (``s`` untouched)."""
    if s[4] == HLL_DENSE:
        return True
    regs = sparse_registers(s)
    if regs is None:
        return False
    s[:] = s[:4] + bytes((HLL_DENSE,)) + s[5:16] + encode_dense(regs)
    return True


def sparse_set(s: bytearray, index: int, count: int, max_bytes: int) -> int:
    """hllSparseSet: 1 updated (maybe promoted to dense), 0 unchanged, -1 corrupt.
    The C twin (rdbtools._speedups.hll_sparse_set) when built: the scan over a sparse
    value of up to ``hll-sparse-max-bytes`` is per element, so PFADD's cost is here."""
    if _c_sparse_set is not None:
        r = _c_sparse_set(s, index, count, max_bytes)
        return _promote(s, index, count) if r == 2 else r
    return _sparse_set_py(s, index, count, max_bytes)


def _sparse_set_py(s: bytearray, index: int, count: int, max_bytes: int) -> int:
    """The reference hllSparseSet (the C twin must give the same bytes)."""
    if count > HLL_SPARSE_VAL_MAX_VALUE:
        return _promote(s, index, count)
    # Step 1: the opcode covering ``index``.
    end = len(s)
    p = HLL_HDR_SIZE
    first = 0
    prev = -1
    span = 0
    kind = runlen = value = size = 0
    while p < end:
        kind, span, value, size = _op(s, p)
        if index <= first + span - 1:
            break
        prev = p
        p += size
        first += span
    if span == 0 or p >= end:
        return -1
    runlen = span
    # Step 2: the trivial in-place updates (cases A, B, C), else the split (D).
    if kind == 2:
        if value >= count:
            return 0
        if runlen == 1:
            s[p] = _val(count, 1)
            return _merge_adjacent(s, prev, end)
    if kind == 0 and runlen == 1:
        s[p] = _val(count, 1)
        return _merge_adjacent(s, prev, end)
    last = first + span - 1
    seq = bytearray()
    if kind != 2:
        if index != first:
            seq += _zero_run(index - first)
        seq.append(_val(count, 1))
        if index != last:
            seq += _zero_run(last - index)
    else:
        if index != first:
            seq.append(_val(value, index - first))
        seq.append(_val(count, 1))
        if index != last:
            seq.append(_val(value, last - index))
    # Step 3: put the sequence in place of the opcode (promoting if it grows too big).
    oldlen = 2 if kind == 1 else 1
    delta = len(seq) - oldlen
    if delta > 0 and end + delta > max_bytes:
        return _promote(s, index, count)
    s[p:p + oldlen] = seq
    end += delta
    del s[end:]
    return _merge_adjacent(s, prev, end)


def _merge_adjacent(s: bytearray, prev: int, end: int) -> int:
    """Step 4 of hllSparseSet: merge adjacent VALs of equal value (up to 5 opcodes
    from the one before the change), then invalidate the cached cardinality."""
    p = prev if prev >= 0 else HLL_HDR_SIZE
    scanlen = 5
    while p < end:
        if not scanlen:
            break
        scanlen -= 1
        b = s[p]
        if not b & 0x80:
            p += 2 if b & 0x40 else 1
            continue
        if p + 1 < end and s[p + 1] & 0x80:
            b2 = s[p + 1]
            v1 = (b >> 2) & 0x1F
            if v1 == (b2 >> 2) & 0x1F:
                length = (b & 3) + (b2 & 3) + 2
                if length <= HLL_SPARSE_VAL_MAX_LEN:
                    s[p + 1] = _val(v1 + 1, length)
                    del s[p]
                    end -= 1
                    continue
        p += 1
    invalidate_cache(s)
    return 1


def _promote(s: bytearray, index: int, count: int) -> int:
    if not sparse_to_dense(s):
        return -1
    dense_set(s, index, count)
    return 1


# ---------------------------------------------------------------- operations


def hll_add(s: bytearray, ele: bytes, max_bytes: int) -> int:
    """hllAdd: 1 if a register changed, 0 if not, -1 for a corrupt value."""
    index, count = pat_len(ele)
    enc = s[4]
    if enc == HLL_DENSE:
        return dense_set(s, index, count)
    if enc == HLL_SPARSE:
        return sparse_set(s, index, count, max_bytes)
    return -1


def registers(s: bytes | bytearray) -> list[int] | None:
    """Every register of a valid dense or sparse HLL (None: corrupt sparse form)."""
    if s[4] == HLL_DENSE:
        return decode_dense(s)
    return sparse_registers(s)


def merge_into(maxregs: list[int], s: bytes | bytearray) -> bool:
    """hllMerge: maxregs[i] = max(maxregs[i], register i); False if ``s`` is corrupt."""
    regs = registers(s)
    if regs is None:
        return False
    maxregs[:] = map(max, maxregs, regs)
    return True


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        zp = z
        z += x * y
        y += y
        if zp == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        zp = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if zp == z:
            return z / 3


def count_histogram(reghisto: list[int]) -> int:
    """The estimator of hllCount (Ertl, arXiv:1702.01284) from a 64-slot histogram."""
    m = float(HLL_REGISTERS)
    z = m * _tau((m - reghisto[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += reghisto[j]
        z *= 0.5
    z += m * _sigma(reghisto[0] / m)
    e = HLL_ALPHA_INF * m * m / z
    r = math.floor(e)  # llroundl: halves away from zero
    return int(r + 1 if e - r >= 0.5 else r)


def histogram(regs: Iterable[int]) -> list[int]:
    h = [0] * 64
    for r in regs:
        h[r] += 1
    return h


def hll_count(s: bytes | bytearray) -> int | None:
    """hllCount of a dense or sparse HLL; None if a sparse form does not cover
    exactly 16384 registers (the ``invalid`` flag)."""
    if s[4] == HLL_DENSE:
        return count_histogram(histogram(decode_dense(s)))
    h = [0] * 64
    idx = 0
    p = HLL_HDR_SIZE
    end = len(s)
    while p < end:
        kind, runlen, value, size = _op(s, p)
        idx += runlen
        h[value] += runlen
        p += size
    if idx != HLL_REGISTERS:
        return None
    return count_histogram(h)


def decode_sparse_text(s: bytes | bytearray) -> bytes:
    """PFDEBUG DECODE: ``z:<len>``, ``Z:<len>``, ``v:<value>,<len>`` separated by spaces."""
    parts = []
    p = HLL_HDR_SIZE
    end = len(s)
    while p < end:
        kind, runlen, value, size = _op(s, p)
        parts.append(f"v:{value},{runlen}" if kind == 2 else f"{'zZ'[kind]}:{runlen}")
        p += size
    return " ".join(parts).encode()


__all__ = [
    "HLL_DENSE", "HLL_DENSE_SIZE", "HLL_HDR_SIZE", "HLL_REGISTERS", "HLL_SPARSE",
    "cached_card", "count_histogram", "decode_dense", "decode_sparse_text", "dense_get",
    "dense_set", "encode_dense", "histogram", "hll_add", "hll_count", "invalidate_cache",
    "is_valid_hll", "merge_into", "murmurhash64a", "new_hll", "pat_len", "registers",
    "sparse_set", "sparse_to_dense", "store_card",
]
