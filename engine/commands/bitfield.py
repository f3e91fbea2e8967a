"""BITFIELD and BITFIELD_RO (bitops.c ``bitfieldGeneric``): integers of 1 to 64 bits
at any bit offset of a string, read, set or incremented with wrap/saturate/fail
overflow.

The whole argument list is parsed before the key is looked up, so a malformed
later operation leaves the string untouched. A command with only GETs reads the
key (a missing key reads as zeros, nothing is created); one that writes pads the
string with zero bytes up to the farthest bit any SET/INCRBY reaches, even when
every write then FAILs: the key is created or grown, yet, as in Redis, nothing is
counted as a change, so it is neither propagated nor seen by WATCH.

Fields are big-endian in bit order (bit 0 is the most significant bit of byte
0), as SETBIT/GETBIT number them; the arithmetic is done on Python ints, with
the overflow checks of ``checkSignedBitfieldOverflow`` /
``checkUnsignedBitfieldOverflow`` stated on the exact sum.
"""

from __future__ import annotations

from aof.replies import array_header, integer, null
from engine.commands.arguments import get_int
from engine.commands.bitmaps import G, bit_offset, read_string, string_for_bits
from engine.errors import CommandError, SyntaxErr
from engine.execution.registry import command
from engine.notify import NOTIFY_STRING, notify
from rdbtools.numbers import string2ll

BITFIELDOP_GET, BITFIELDOP_SET, BITFIELDOP_INCRBY = 0, 1, 2
BFOVERFLOW_WRAP, BFOVERFLOW_SAT, BFOVERFLOW_FAIL = 0, 1, 2
_OVERFLOW = {b"wrap": BFOVERFLOW_WRAP, b"sat": BFOVERFLOW_SAT, b"fail": BFOVERFLOW_FAIL}
_TYPE_ERR = ("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported "
             "but i64 is.")
_U64 = (1 << 64) - 1
_SUMMARY = "Perform arbitrary bitfield integer operations on strings"


def _cstr(b: bytes) -> bytes:
    """The argument as C string functions see it (strcasecmp, strlen): up to its first NUL."""
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


def _field_type(b: bytes) -> tuple[bool, int]:
    """Mirrors getBitfieldTypeFromArgument: ``i1``..``i64`` or ``u1``..``u63`` (a u64
    could not be replied as a signed 64-bit integer); (signed, bits)."""
    sign = b[:1]
    bits = string2ll(_cstr(b[1:])) if sign in (b"i", b"u") else None
    if bits is None or bits < 1 or bits > (64 if sign == b"i" else 63):
        raise CommandError(_TYPE_ERR)
    return sign == b"i", bits


def _parse(c, argv: list[bytes]) -> tuple[list[tuple[int, int, int, int, bool, int]], int]:
    """The operations as (opcode, offset, bits, value, signed, overflow), and the
    highest bit a SET/INCRBY reaches (-1 when the command only reads)."""
    ops = []
    owtype = BFOVERFLOW_WRAP
    highest = -1
    n = len(argv)
    j = 2
    while j < n:
        remargs = n - j - 1
        sub = _cstr(argv[j]).lower()
        if sub == b"get" and remargs >= 2:
            opcode = BITFIELDOP_GET
        elif sub == b"set" and remargs >= 3:
            opcode = BITFIELDOP_SET
        elif sub == b"incrby" and remargs >= 3:
            opcode = BITFIELDOP_INCRBY
        elif sub == b"overflow" and remargs >= 1:
            ow = _OVERFLOW.get(_cstr(argv[j + 1]).lower())
            if ow is None:
                raise CommandError("Invalid OVERFLOW type specified")
            owtype = ow
            j += 2
            continue
        else:
            raise SyntaxErr()
        signed, bits = _field_type(argv[j + 1])
        offset = bit_offset(c, argv[j + 2], bits)
        value = 0
        if opcode != BITFIELDOP_GET:
            highest = max(highest, offset + bits - 1)
            value = get_int(argv[j + 3])
        ops.append((opcode, offset, bits, value, signed, owtype))
        j += 3 if opcode == BITFIELDOP_GET else 4
    return ops, highest


def _load(v: bytes | bytearray, offset: int, bits: int) -> int:
    """The ``bits`` bits at ``offset`` as an unsigned int; bytes past the end read as zeros."""
    b0, b1 = offset >> 3, (offset + bits - 1) >> 3
    chunk = v[b0:b1 + 1]
    n = int.from_bytes(chunk, "big") << (8 * (b1 + 1 - b0 - len(chunk)))
    return (n >> ((b1 + 1) * 8 - offset - bits)) & ((1 << bits) - 1)


def _store(v: bytearray, offset: int, bits: int, value: int) -> None:
    """Write the low ``bits`` bits of ``value`` at ``offset`` (the string is long enough)."""
    b0, b1 = offset >> 3, (offset + bits - 1) >> 3
    shift = (b1 + 1) * 8 - offset - bits
    mask = ((1 << bits) - 1) << shift
    n = (int.from_bytes(v[b0:b1 + 1], "big") & ~mask) | ((value << shift) & mask)
    v[b0:b1 + 1] = n.to_bytes(b1 + 1 - b0, "big")


def _signed(u: int, bits: int) -> int:
    return u - (1 << bits) if u >> (bits - 1) else u


def _write(v: bytearray, op: tuple[int, int, int, int, bool, int]) -> tuple[int | None, int, int]:
    """One SET or INCRBY: (reply value or None for a FAIL'ed overflow, old, new)."""
    opcode, offset, bits, value, signed, owtype = op
    old = _load(v, offset, bits)
    if signed:
        old = _signed(old, bits)
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        target = old + value if opcode == BITFIELDOP_INCRBY else value
    else:
        lo, hi = 0, (1 << bits) - 1
        # the SET value is taken as a uint64, so a negative one is above every limit
        target = old + value if opcode == BITFIELDOP_INCRBY else value & _U64
    new = target
    if not lo <= target <= hi:
        if owtype == BFOVERFLOW_FAIL:
            return None, old, old
        if owtype == BFOVERFLOW_SAT:
            new = hi if target > hi else lo
        else:
            new = target & ((1 << bits) - 1)
            if signed:
                new = _signed(new, bits)
    _store(v, offset, bits, new)
    return (new if opcode == BITFIELDOP_INCRBY else old), old, new


def _bitfield(c, argv: list[bytes], readonly_cmd: bool) -> bytes:
    """Mirrors bitfieldGeneric."""
    ops, highest = _parse(c, argv)
    if highest < 0:
        v = read_string(c, argv[1])
        grown = False
    elif readonly_cmd:
        raise CommandError("BITFIELD_RO only supports the GET subcommand")
    else:
        v, grown = string_for_bits(c, argv[1], highest)
    out = [array_header(len(ops))]
    changes = 0
    for op in ops:
        if op[0] == BITFIELDOP_GET:
            u = _load(v, op[1], op[2]) if v is not None else 0
            out.append(integer(_signed(u, op[2]) if op[4] else u))
            continue
        reply, old, new = _write(v, op)
        if reply is None:
            out.append(null(c.resp))
            continue
        out.append(integer(reply))
        if grown or old != new:
            changes += 1
    if changes:
        c.server.dirty += changes
        notify(c.db, NOTIFY_STRING, b"setbit", argv[1])
    return b"".join(out)


@command("bitfield", -2, "write denyoom", 1, 1, 1, group=G, since="3.2.0", summary=_SUMMARY)
def bitfield_cmd(c, argv):
    return _bitfield(c, argv, False)


@command("bitfield_ro", -2, "readonly fast", 1, 1, 1, group=G, since="6.0.0",
         summary=_SUMMARY + ". Read-only variant of BITFIELD")
def bitfield_ro_cmd(c, argv):
    return _bitfield(c, argv, True)
