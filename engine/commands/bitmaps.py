"""Bit commands on strings (bitops.c semantics): SETBIT GETBIT BITCOUNT BITPOS BITOP."""

from __future__ import annotations

from aof.replies import MINUS_ONE, ONE, ZERO, integer
from engine.commands.arguments import get_int
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.registry import command
from engine.notify import NOTIFY_GENERIC, NOTIFY_STRING, notify
from engine.types import EmbStr
from rdbtools.numbers import string2ll

_STR = (bytes, bytearray, EmbStr)
G = "bitmap"


def must_obey(c) -> bool:
    """mustObeyClient: the AOF being loaded and a master's stream run what they carry."""
    return c.server.loading or c.client_type() == "master"


def bit_offset(c, b: bytes, bits: int = 0) -> int:
    """Mirrors getBitOffsetFromArgument: with ``bits`` (BITFIELD), ``#N`` means N*bits,
    multiplied as a C int64 (so it may wrap); the byte it reaches is held under
    proto-max-bulk-len except for clients that must be obeyed."""
    usehash = bits > 0 and b[:1] == b"#"
    v = string2ll(b[1:] if usehash else b)
    if v is not None and usehash:
        v = ((v * bits + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)
    if v is None or v < 0 or (not must_obey(c) and (v >> 3) >= c.server.config.proto_max_bulk_len):
        raise CommandError("bit offset is not an integer or out of range")
    return v


def read_string(c, key: bytes):
    v = c.db.read(key)
    if v is not None and v.__class__ not in _STR:
        raise WrongTypeError()
    return v


def string_for_bits(c, key: bytes, maxbit: int) -> tuple[bytearray, bool]:
    """Mirrors lookupStringForBitCommand: the string at ``key`` as a raw (mutable) value,
    created or zero-padded so that bit ``maxbit`` exists; the flag says it was created
    or grown (a change even when no bit moves)."""
    db = c.db
    size = (maxbit >> 3) + 1
    v = db.get(key)
    if v is None:
        v = bytearray(size)
        db.add(key, v)
        return v, True
    if v.__class__ not in _STR:
        raise WrongTypeError()
    if v.__class__ is not bytearray:  # dbUnshareStringValue
        v = bytearray(v)
        db.data[key] = v
    if len(v) < size:
        v.extend(bytes(size - len(v)))
        return v, True
    return v, False


@command("setbit", 4, "write denyoom", 1, 1, 1, group=G, since="2.2.0")
def setbit_cmd(c, argv):
    offset = bit_offset(c, argv[2])
    on = get_int(argv[3], "bit is not an integer or out of range")
    if on & ~1:
        raise CommandError("bit is not an integer or out of range")
    v, grown = string_for_bits(c, argv[1], offset)
    byte = offset >> 3
    bit = 7 - (offset & 7)
    old = (v[byte] >> bit) & 1
    if grown or old != on:  # an unchanged bit is no change (not propagated)
        if on:
            v[byte] |= 1 << bit
        else:
            v[byte] &= ~(1 << bit) & 0xFF
        c.server.dirty += 1
        notify(c.db, NOTIFY_STRING, b"setbit", argv[1])
    return ONE if old else ZERO


@command("getbit", 3, "readonly fast", 1, 1, 1, group=G, since="2.2.0")
def getbit_cmd(c, argv):
    offset = bit_offset(c, argv[2])
    v = read_string(c, argv[1])
    if v is None:
        return ZERO
    byte = offset >> 3
    if byte >= len(v):
        return ZERO
    return ONE if (v[byte] >> (7 - (offset & 7))) & 1 else ZERO


def _popcount(b: bytes | bytearray) -> int:
    return int.from_bytes(b, "big").bit_count() if b else 0


@command("bitcount", -2, "readonly", 1, 1, 1, group=G, since="2.6.0")
def bitcount_cmd(c, argv):
    v = read_string(c, argv[1])
    if v is None:
        return ZERO
    n = len(argv)
    if n in (4, 5):
        start = get_int(argv[2])
        end = get_int(argv[3])
        if start < 0 and end < 0 and start > end:
            return ZERO
        isbit = False
        if n == 5:
            opt = argv[4].lower()
            if opt == b"bit":
                isbit = True
            elif opt != b"byte":
                raise SyntaxErr()
        total = len(v) * 8 if isbit else len(v)
        if start < 0:
            start += total
        if end < 0:
            end += total
        start = max(start, 0)
        end = max(end, 0)
        if end >= total:
            end = total - 1
        if start > end:
            return ZERO
        if isbit:
            num = int.from_bytes(v[start >> 3:(end >> 3) + 1], "big")
            width = ((end >> 3) - (start >> 3) + 1) * 8
            lo = start & ~7
            # keep bits start..end (big-endian bit order within the slice)
            num >>= (width - 1 - (end - lo))
            num &= (1 << (end - start + 1)) - 1
            return integer(num.bit_count())
        return integer(_popcount(v[start:end + 1]))
    if n == 2:
        return integer(_popcount(v))
    raise SyntaxErr()


def _first_bit(data: bytearray, bit: int) -> int:
    """Index of the first bit equal to ``bit`` in ``data`` (MSB first), or -1."""
    skip = b"\x00" if bit else b"\xff"
    rest = data.lstrip(skip)
    if not rest:
        return -1
    idx = len(data) - len(rest)
    byte = rest[0] if bit else (~rest[0]) & 0xFF
    return idx * 8 + (8 - byte.bit_length())


@command("bitpos", -3, "readonly", 1, 1, 1, group=G, since="2.8.7")
def bitpos_cmd(c, argv):
    bit = get_int(argv[2])
    if bit not in (0, 1):
        raise CommandError("The bit argument must be 1 or 0.")
    v = read_string(c, argv[1])
    if v is None:
        return MINUS_ONE if bit else ZERO
    n = len(argv)
    strlen = len(v)
    isbit = end_given = False
    if n in (4, 5, 6):
        start = get_int(argv[3])
        if n == 6:
            opt = argv[5].lower()
            if opt == b"bit":
                isbit = True
            elif opt != b"byte":
                raise SyntaxErr()
        if n >= 5:
            end = get_int(argv[4])
            end_given = True
        else:
            end = strlen - 1
        total = strlen * 8 if isbit else strlen
        if start < 0:
            start += total
        if end < 0:
            end += total
        start = max(start, 0)
        end = max(end, 0)
        if end >= total:
            end = total - 1
    elif n == 3:
        start, end = 0, strlen - 1
    else:
        raise SyntaxErr()
    if start > end:
        return MINUS_ONE
    if isbit:
        bs, be = start, end
    else:
        bs, be = start * 8, end * 8 + 7
    b0, b1 = bs >> 3, be >> 3
    chunk = bytearray(v[b0:b1 + 1])
    head = bs & 7
    tail = 7 - (be & 7)
    if bit:
        chunk[0] &= 0xFF >> head
        chunk[-1] &= (0xFF << tail) & 0xFF
    else:
        chunk[0] |= (0xFF << (8 - head)) & 0xFF
        chunk[-1] |= (1 << tail) - 1
    pos = _first_bit(chunk, bit)
    if pos >= 0:
        return integer(b0 * 8 + pos)
    if bit:
        return MINUS_ONE
    if end_given:
        return MINUS_ONE
    return integer((b1 + 1) * 8)


@command("bitop", -4, "write denyoom", 2, -1, 1, group=G, since="2.6.0", modified=lambda a: [2])
def bitop_cmd(c, argv):
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise SyntaxErr()
    if op == b"not" and len(argv) != 4:
        raise CommandError("BITOP NOT must be called with a single source key.")
    db = c.db
    srcs = []
    for k in argv[3:]:
        v = db.read(k)
        if v is None:
            srcs.append(b"")
        elif v.__class__ not in _STR:
            raise WrongTypeError()
        else:
            srcs.append(bytes(v))
    maxlen = max(len(s) for s in srcs)
    dest = argv[2]
    if maxlen == 0:
        if db.delete(dest):
            c.server.dirty += 1
            notify(db, NOTIFY_GENERIC, b"del", dest)
        return ZERO
    if op == b"not":
        res = (~int.from_bytes(srcs[0], "big")) & ((1 << (8 * maxlen)) - 1)
    else:
        nums = [int.from_bytes(s.ljust(maxlen, b"\0"), "big") for s in srcs]
        res = nums[0]
        if op == b"and":
            for x in nums[1:]:
                res &= x
        elif op == b"or":
            for x in nums[1:]:
                res |= x
        else:
            for x in nums[1:]:
                res ^= x
    db.set(dest, bytearray(res.to_bytes(maxlen, "big")))
    c.server.dirty += 1
    notify(db, NOTIFY_STRING, b"set", dest)
    return integer(maxlen)
