"""Value payloads by type byte (formats.md §1.6): decode and skip, sharing one length path.

``load_value`` serves the RDB decoder and the DUMP payload decoder alike: both
are "a type byte, then the value". ``skip_value`` walks the same structure
without building anything, so filters cost little; a test checks that both end
at the same offset for every fixture.
"""

from __future__ import annotations

from typing import Any

from ._accel import c_module
from .constants import EB_EXPIRE_TIME_MAX
from .encodings import (  # the chosen decoders (C unless RDBKIT_PUREPYTHON)
    decode_intset_strings,
    decode_listpack,
    decode_listpack_strings,
    decode_ziplist_strings,
)
from .encodings.stream import load_stream, skip_stream
from .encodings.zipmap import decode_zipmap
from .errors import BadEncoding, RdbCorruptError, UnknownOpcode
from .model import ModuleValue
from .primitives import (
    Short,
    load_binary_double,
    load_len,
    load_ms,
    load_string,
    load_string_double,
    skip_string,
)

_U64_MAX = (1 << 64) - 1


def _pairs(items: list, what: str) -> list[tuple[Any, Any]]:
    if len(items) & 1:
        raise BadEncoding(f"{what} has an odd number of entries")
    it = iter(items)
    return list(zip(it, it))


def _zset_pairs(items: list) -> list[tuple[bytes, float]]:
    if len(items) & 1:
        raise BadEncoding("zset blob has an odd number of entries")
    out = []
    for i in range(0, len(items), 2):
        m = items[i]
        s = items[i + 1]
        try:
            score = float(s)
        except ValueError:
            raise BadEncoding(f"zset score {s!r} is not a number") from None
        out.append((m if type(m) is bytes else b"%d" % m, score))
    return out


def _check_unique(values: list, what: str) -> None:
    if len(set(values)) != len(values):
        raise BadEncoding(f"duplicate {what}")


def _module_value(buf: bytes, pos: int, max_len: int) -> tuple[int, int]:
    """Walk a MODULE_2 opcode stream to its EOF (what redis-check-rdb does); returns end."""
    while True:
        op, pos = load_len(buf, pos)
        if op == 0:
            return op, pos
        if op == 1 or op == 2:
            _, pos = load_len(buf, pos)
        elif op == 3:
            pos += 4
        elif op == 4:
            pos += 8
        elif op == 5:
            pos = skip_string(buf, pos, max_len)
        else:
            raise RdbCorruptError(f"unknown module opcode {op}", offset=pos)
        if pos > len(buf):
            raise Short(pos)


def load_value(
    t: int, buf: bytes, pos: int, max_len: int, valkey: bool = False
) -> tuple[str, Any, str, dict[bytes, int] | None, int]:
    """Decode one value of type byte ``t`` at ``pos``.

    Returns ``(type_name, value, encoding, field_expires, end)``; ``encoding`` names
    the on-disk form (``listpack``, ``ziplist``, ``intset``, ``quicklist`` ...).
    """
    if t == 0:
        v, pos = load_string(buf, pos, max_len)
        return "string", v, "string", None, pos
    if t == 16:  # HASH_LISTPACK
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        items = _decode_blob(decode_listpack_strings, blob, start, buf, pos)
        pairs = _pairs(items, "hash listpack")
        _check_unique(items[0::2], "hash field")
        return "hash", pairs, "listpack", None, pos
    if t == 18:  # LIST_QUICKLIST_2
        n, pos = load_len(buf, pos)
        out: list[bytes] = []
        for _ in range(n):
            container, pos = load_len(buf, pos)
            start = pos
            data, pos = load_string(buf, pos, max_len)
            if container == 2:
                items = _decode_blob(decode_listpack_strings, data, start, buf, pos)
                if not items:
                    continue  # empty nodes are skipped, as Redis does
                out.extend(items)
            elif container == 1:
                out.append(data)
            else:
                raise RdbCorruptError(f"quicklist node container {container} is invalid", offset=start)
        return "list", out, "quicklist", None, pos
    if t == 17:  # ZSET_LISTPACK
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        items = _decode_blob(decode_listpack, blob, start, buf, pos)
        pairs = _decode_blob(_zset_pairs, items, start)
        _check_unique([m for m, _ in pairs], "zset member")
        return "zset", pairs, "listpack", None, pos
    if t == 20:  # SET_LISTPACK
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        items = _decode_blob(decode_listpack_strings, blob, start, buf, pos)
        _check_unique(items, "set member")
        if not items:
            raise RdbCorruptError("empty set listpack", offset=start)
        return "set", items, "listpack", None, pos
    if t == 11:  # SET_INTSET
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        return "set", _decode_blob(decode_intset_strings, blob, start, buf, pos), "intset", None, pos
    if t == 2 or t == 1:  # SET / LIST (plain)
        n, pos = load_len(buf, pos)
        items = []
        append = items.append
        for _ in range(n):
            v, pos = load_string(buf, pos, max_len)
            append(v)
        if t == 2:
            _check_unique(items, "set member")
            return "set", items, "hashtable", None, pos
        return "list", items, "linkedlist", None, pos
    if t == 4:  # HASH
        n, pos = load_len(buf, pos)
        pairs = []
        for _ in range(n):
            f, pos = load_string(buf, pos, max_len)
            v, pos = load_string(buf, pos, max_len)
            pairs.append((f, v))
        _check_unique([f for f, _ in pairs], "hash field")
        return "hash", pairs, "hashtable", None, pos
    if t == 5 or t == 3:  # ZSET_2 / ZSET
        n, pos = load_len(buf, pos)
        zpairs = []
        load_score = load_binary_double if t == 5 else load_string_double
        for _ in range(n):
            m, pos = load_string(buf, pos, max_len)
            s, pos = load_score(buf, pos)
            if s != s:
                raise RdbCorruptError("zset score is NaN", offset=pos)
            zpairs.append((m, s))
        _check_unique([m for m, _ in zpairs], "zset member")
        return "zset", zpairs, "skiplist", None, pos
    if t == 14:  # LIST_QUICKLIST (ziplist nodes)
        n, pos = load_len(buf, pos)
        out = []
        for _ in range(n):
            start = pos
            data, pos = load_string(buf, pos, max_len)
            out.extend(_decode_blob(decode_ziplist_strings, data, start, buf, pos))
        return "list", out, "quicklist", None, pos
    if t == 10:  # LIST_ZIPLIST
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        return "list", _decode_blob(decode_ziplist_strings, blob, start, buf, pos), "ziplist", None, pos
    if t == 12:  # ZSET_ZIPLIST
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        items = _decode_blob(decode_ziplist_strings, blob, start, buf, pos)
        pairs = _decode_blob(_zset_pairs, items, start)
        _check_unique([m for m, _ in pairs], "zset member")
        return "zset", pairs, "ziplist", None, pos
    if t == 13:  # HASH_ZIPLIST
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        items = _decode_blob(decode_ziplist_strings, blob, start, buf, pos)
        pairs = _decode_blob(lambda x: _pairs(x, "hash ziplist"), items, start)
        _check_unique(items[0::2], "hash field")
        return "hash", pairs, "ziplist", None, pos
    if t == 9:  # HASH_ZIPMAP
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        pairs = _decode_blob(decode_zipmap, blob, start, buf, pos)
        _check_unique([f for f, _ in pairs], "hash field")
        return "hash", pairs, "zipmap", None, pos
    if t == 15 or t == 19 or t == 21:
        version = 1 if t == 15 else (2 if t == 19 else 3)
        stream, pos = load_stream(version, buf, pos, max_len)
        return "stream", stream, "stream", None, pos
    if t == 7:  # MODULE_2
        module_id, pos = load_len(buf, pos)
        start = pos
        _, pos = _module_value(buf, pos, max_len)
        return "module", ModuleValue(module_id, bytes(buf[start:pos])), "module", None, pos
    if t == 25 or t == 23:  # HASH_LISTPACK_EX (and its 7.4-rc form without min-expire)
        if t == 25:
            _, pos = load_ms(buf, pos)
        start = pos
        blob, pos = load_string(buf, pos, max_len)
        items = _decode_blob(decode_listpack, blob, start, buf, pos)
        if len(items) % 3:
            raise BadEncoding("hash listpackex is not made of triplets", offset=start)
        pairs = []
        fexp: dict[bytes, int] = {}
        for i in range(0, len(items), 3):
            f = items[i]
            v = items[i + 1]
            e = items[i + 2]
            f = f if type(f) is bytes else b"%d" % f
            pairs.append((f, v if type(v) is bytes else b"%d" % v))
            e = e if type(e) is int else _int_or_corrupt(e, start)
            if e:
                if e < 0 or e > EB_EXPIRE_TIME_MAX:
                    raise BadEncoding("hash field expire time out of range", offset=start)
                fexp[f] = e
        _check_unique([f for f, _ in pairs], "hash field")
        return "hash", pairs, "listpackex", fexp, pos
    if t == 24 or (t == 22 and not valkey):  # HASH_METADATA (and its 7.4-rc form)
        min_expire = 0
        if t == 24:
            min_expire, pos = load_ms(buf, pos)
        n, pos = load_len(buf, pos)
        pairs = []
        fexp = {}
        for _ in range(n):
            ttl, pos = load_len(buf, pos)
            f, pos = load_string(buf, pos, max_len)
            v, pos = load_string(buf, pos, max_len)
            pairs.append((f, v))
            if ttl:
                at = ttl + min_expire - 1 if t == 24 else ttl
                if at > EB_EXPIRE_TIME_MAX:
                    raise RdbCorruptError("hash field expire time out of range", offset=pos)
                fexp[f] = at
        _check_unique([f for f, _ in pairs], "hash field")
        return "hash", pairs, "hashtable", fexp, pos
    if t == 22:  # Valkey 9 HASH_2: field, value, ms8 expire (-1 none)
        n, pos = load_len(buf, pos)
        pairs = []
        fexp = {}
        for _ in range(n):
            f, pos = load_string(buf, pos, max_len)
            v, pos = load_string(buf, pos, max_len)
            at, pos = load_ms(buf, pos)
            pairs.append((f, v))
            if at != -1:
                fexp[f] = at
        _check_unique([f for f, _ in pairs], "hash field")
        return "hash", pairs, "hashtable", fexp, pos
    if t == 6:
        raise UnknownOpcode("pre-release module format (type 6) is not supported", offset=pos - 1)
    raise UnknownOpcode(f"unknown value type {t}", offset=pos - 1, type_byte=t)


def _int_or_corrupt(v: bytes, offset: int) -> int:
    try:
        return int(v)
    except ValueError:
        raise BadEncoding("hash field expire time is not an integer", offset=offset) from None


def _decode_blob(fn, blob, offset: int, buf: bytes | None = None, end: int | None = None):
    """Run a blob decoder; map a blob-relative error offset into the file.

    For a raw string the blob's bytes sit right before ``end``, so the offset is
    exact. Inside an LZF-compressed blob there is no file position for it: the
    error points at the string and the message names the decompressed offset.
    """
    try:
        return fn(blob)
    except BadEncoding as exc:
        rel = exc.offset
        if rel is None or buf is None:
            exc.offset = offset
        elif buf[offset] < 0xC0:
            exc.offset = end - len(blob) + rel
        else:
            exc.offset = offset
            exc.message = f"{exc.message} (offset {rel} of the decompressed LZF string)"
            exc.args = (exc.message,)
        raise


def skip_value(t: int, buf: bytes, pos: int, max_len: int, valkey: bool = False) -> int:
    """End offset of the value of type ``t`` at ``pos``, without decoding it."""
    if t in _ONE_STRING:
        return skip_string(buf, pos, max_len)
    if t == 1 or t == 2 or t == 14:
        n, pos = load_len(buf, pos)
        for _ in range(n):
            pos = skip_string(buf, pos, max_len)
        return pos
    if t == 4:
        n, pos = load_len(buf, pos)
        for _ in range(2 * n):
            pos = skip_string(buf, pos, max_len)
        return pos
    if t == 18:
        n, pos = load_len(buf, pos)
        for _ in range(n):
            _, pos = load_len(buf, pos)
            pos = skip_string(buf, pos, max_len)
        return pos
    if t == 5 or t == 3:
        n, pos = load_len(buf, pos)
        for _ in range(n):
            pos = skip_string(buf, pos, max_len)
            if t == 5:
                pos += 8
            else:
                b = buf[pos]
                pos += 1 if b >= 253 else 1 + b
        if pos > len(buf):
            raise Short(pos)
        return pos
    if t == 15 or t == 19 or t == 21:
        return skip_stream(1 if t == 15 else (2 if t == 19 else 3), buf, pos, max_len)
    if t == 7:
        _, pos = load_len(buf, pos)
        return _module_value(buf, pos, max_len)[1]
    if t == 25:
        if pos + 8 > len(buf):
            raise Short(pos + 8)
        return skip_string(buf, pos + 8, max_len)
    if t == 23:
        return skip_string(buf, pos, max_len)
    if t == 24 or (t == 22 and not valkey):
        if t == 24:
            pos += 8
        n, pos = load_len(buf, pos)
        for _ in range(n):
            _, pos = load_len(buf, pos)
            pos = skip_string(buf, pos, max_len)
            pos = skip_string(buf, pos, max_len)
        return pos
    if t == 22:
        n, pos = load_len(buf, pos)
        for _ in range(n):
            pos = skip_string(buf, pos, max_len)
            pos = skip_string(buf, pos, max_len) + 8
        if pos > len(buf):
            raise Short(pos)
        return pos
    # Unknown types cannot be skipped: decode raises the precise error.
    return load_value(t, buf, pos, max_len, valkey)[4]


_ONE_STRING = frozenset((0, 9, 10, 11, 12, 13, 16, 17, 20))


_pairs_py, _zset_pairs_py = _pairs, _zset_pairs  # the references of the C versions
if (_c := c_module("rdbtools._speedups")) is not None:  # same results and errors
    _pairs, _zset_pairs = _c.hash_pairs, _c.zset_pairs

__all__ = ["load_value", "skip_value"]
