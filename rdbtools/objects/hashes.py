"""Hashes: type bytes 4, 9, 13, 16, 22 – 25 (docs/formats.md §1.6, §3.1, §3.6).

Wire forms::

    RDB_TYPE_HASH                     len n, n × (str field, str value)    (hash table)
    RDB_TYPE_HASH_ZIPMAP              str zipmap                            (≤ 2.4)
    RDB_TYPE_HASH_ZIPLIST             str ziplist: field, value, ...        (≤ 6.2)
    RDB_TYPE_HASH_LISTPACK            str listpack: field, value, ...       (7.0+)
    RDB_TYPE_HASH_METADATA            ms8 minExpire, len n, n × (len ttl, str field, str value)
                                      ttl 0 = no TTL, else expireAt = ttl + minExpire - 1  (7.4+)
    RDB_TYPE_HASH_LISTPACK_EX         ms8 minExpire, str listpack: field, value, expireAt
                                      (0 = no TTL) ...                                   (7.4+)
    RDB_TYPE_HASH_METADATA_PRE_GA     len n, n × (len expireAt or 0, str field, str value)  (7.4 RCs)
    RDB_TYPE_HASH_LISTPACK_EX_PRE_GA  str listpack of triplets, no minExpire           (7.4 RCs)
    VALKEY_RDB_TYPE_HASH_2 (22)       len n, n × (str field, str value, ms8 expireAt; -1 = none)

Loading gives ``(field, value)`` pairs and, for the TTL forms, ``{field: expireAt}``
(every expire time within ``EB_EXPIRE_TIME_MAX``); a repeated field is refused.
:func:`hash_type` picks the form by the target's thresholds and whether it has
field TTLs (:meth:`EncodingPolicy.hash_encoding`); a listpackex is written ordered by
expire time, fields without a TTL last, as Redis keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .._accel import c_module
from ..constants import (
    EB_EXPIRE_TIME_MAX,
    RDB_TYPE_HASH,
    RDB_TYPE_HASH_LISTPACK,
    RDB_TYPE_HASH_LISTPACK_EX,
    RDB_TYPE_HASH_METADATA,
    RDB_TYPE_HASH_ZIPLIST,
)
from ..encodings import (
    decode_listpack,
    decode_listpack_strings,
    decode_ziplist_strings,
    decode_zipmap,
    encode_listpack,
    encode_ziplist,
)
from ..encodings.listpack_ops import lp_validate_pairs
from ..errors import BadEncoding, RdbCorruptError, RdbEncodeError
from ..policy import EncodingPolicy
from ..primitives import (
    Short,
    check_unique,
    decode_blob,
    load_blob,
    load_len,
    load_ms,
    load_string,
    save_len,
    save_ms,
    save_string,
    skip_string,
    skip_strings,
)

Pairs = list[tuple[bytes, bytes]]


def _pairs(items: Sequence[bytes], what: str) -> Pairs:
    if len(items) & 1:
        raise BadEncoding(f"{what} has an odd number of entries")
    it = iter(items)
    return list(zip(it, it))


def _int_or_corrupt(v: bytes, offset: int) -> int:
    try:
        return int(v)
    except ValueError:
        raise BadEncoding("hash field expire time is not an integer", offset=offset) from None


# ----------------------------------------------------------------------------- without field TTLs


def load_hash(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, None, int]:
    n, pos = load_len(buf, pos)
    pairs = []
    for _ in range(n):
        f, pos = load_string(buf, pos, max_len)
        v, pos = load_string(buf, pos, max_len)
        pairs.append((f, v))
    check_unique([f for f, _ in pairs], "hash field")
    return pairs, None, pos


def skip_hash(buf: bytes, pos: int, max_len: int) -> int:
    return skip_strings(buf, pos, max_len, 2)


def save_hash(pairs: Pairs, fexp: Any, version: int, policy: EncodingPolicy,
              compress: bool) -> bytes:
    out = [save_len(len(pairs))]
    for f, v in pairs:
        out.append(save_string(f, compress))
        out.append(save_string(v, compress))
    return b"".join(out)


def load_hash_zipmap(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, None, int]:
    pairs, pos = load_blob(decode_zipmap, buf, pos, max_len)
    check_unique([f for f, _ in pairs], "hash field")
    return pairs, None, pos


def load_hash_ziplist(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, None, int]:
    start = pos
    items, pos = load_blob(decode_ziplist_strings, buf, pos, max_len)
    pairs = decode_blob(lambda x: _pairs(x, "hash ziplist"), items, start)
    check_unique(items[0::2], "hash field")
    return pairs, None, pos


def save_hash_ziplist(pairs: Pairs, fexp: Any, version: int, policy: EncodingPolicy,
                      compress: bool) -> bytes:
    return save_string(encode_ziplist([x for p in pairs for x in p]), compress)


def load_hash_listpack(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, None, int]:
    items, pos = load_blob(decode_listpack_strings, buf, pos, max_len)
    pairs = _pairs(items, "hash listpack")
    check_unique(items[0::2], "hash field")
    return pairs, None, pos


def save_hash_listpack(pairs: Pairs | ListpackPairs, fexp: Any, version: int, policy: EncodingPolicy,
                       compress: bool) -> bytes:
    if type(pairs) is ListpackPairs:  # written back as it is, as rdbSaveObject does
        return save_string(bytes(pairs.blob), compress)
    return save_string(encode_listpack([x for p in pairs for x in p]), compress)


class ListpackPairs:
    """A hash listpack kept as its bytes, for a server that holds small hashes as Redis
    does: a load that asks for it (``packed_listpacks``) gets no per-field objects, and a
    save writes the bytes back as they are. Everywhere else it is a hash value like any
    other: it iterates as the ``(field, value)`` pairs, in order.

    ``blob`` (bytes or a bytearray the receiver may keep) passed
    :func:`~rdbtools.encodings.listpack_ops.lp_validate_pairs` (deep checks, unique
    fields); ``entries`` is its entry count, twice the pairs.
    """

    __slots__ = ("blob", "entries")

    def __init__(self, blob: bytes | bytearray, entries: int) -> None:
        self.blob = blob
        self.entries = entries

    def pairs(self) -> Pairs:
        return _pairs(decode_listpack_strings(self.blob), "hash listpack")

    def __len__(self) -> int:
        return self.entries >> 1

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(self.pairs())

    def __getitem__(self, i: int) -> tuple[bytes, bytes]:
        return self.pairs()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListpackPairs):
            return self.pairs() == other.pairs()
        return isinstance(other, list) and self.pairs() == other

    __hash__ = None  # type: ignore[assignment]  # mutable content, as the list it stands for

    def __repr__(self) -> str:
        return f"ListpackPairs({self.pairs()!r})"


def load_hash_listpack_packed(buf: bytes, pos: int, max_len: int) -> tuple[ListpackPairs, None, int]:
    """load_hash_listpack for ``packed_listpacks``: the same checks, the bytes kept."""
    start = pos
    blob, pos = load_string(buf, pos, max_len)
    lp = bytearray(blob)
    return ListpackPairs(lp, decode_blob(lp_validate_pairs, lp, start, buf, pos)), None, pos


# ----------------------------------------------------------------------------- with field TTLs


def _load_metadata(buf: bytes, pos: int, max_len: int, ga: bool) -> tuple[Pairs, dict[bytes, int], int]:
    min_expire = 0
    if ga:
        min_expire, pos = load_ms(buf, pos)
    n, pos = load_len(buf, pos)
    pairs = []
    fexp: dict[bytes, int] = {}
    for _ in range(n):
        ttl, pos = load_len(buf, pos)
        f, pos = load_string(buf, pos, max_len)
        v, pos = load_string(buf, pos, max_len)
        pairs.append((f, v))
        if ttl:
            at = ttl + min_expire - 1 if ga else ttl
            if at > EB_EXPIRE_TIME_MAX:
                raise RdbCorruptError("hash field expire time out of range", offset=pos)
            fexp[f] = at
    check_unique([f for f, _ in pairs], "hash field")
    return pairs, fexp, pos


def skip_hash_metadata_pre_ga(buf: bytes, pos: int, max_len: int) -> int:
    n, pos = load_len(buf, pos)
    for _ in range(n):
        _, pos = load_len(buf, pos)
        pos = skip_string(buf, pos, max_len)
        pos = skip_string(buf, pos, max_len)
    return pos


def load_hash_metadata(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, dict[bytes, int], int]:
    return _load_metadata(buf, pos, max_len, True)


def skip_hash_metadata(buf: bytes, pos: int, max_len: int) -> int:
    return skip_hash_metadata_pre_ga(buf, pos + 8, max_len)  # past minExpire


def save_hash_metadata(pairs: Pairs, fexp: Mapping[bytes, int] | None, version: int,
                       policy: EncodingPolicy, compress: bool) -> bytes:
    if not fexp:  # hash_type picks this form only for a hash with field TTLs
        raise RdbEncodeError("RDB_TYPE_HASH_METADATA needs field TTLs")
    min_expire = min(fexp.values())
    out = [save_ms(min_expire), save_len(len(pairs))]
    for f, v in pairs:
        at = fexp.get(f)
        out.append(save_len(0 if at is None else at - min_expire + 1))
        out.append(save_string(f, compress))
        out.append(save_string(v, compress))
    return b"".join(out)


def load_hash_metadata_pre_ga(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, dict[bytes, int], int]:
    return _load_metadata(buf, pos, max_len, False)


def _load_listpack_ex(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, dict[bytes, int], int]:
    start = pos
    items, pos = load_blob(decode_listpack, buf, pos, max_len)
    if len(items) % 3:
        raise BadEncoding("hash listpackex is not made of triplets", offset=start)
    pairs = []
    fexp: dict[bytes, int] = {}
    for i in range(0, len(items), 3):
        f = items[i]
        v = items[i + 1]
        e = items[i + 2]
        f = f if type(f) is bytes else b"%d" % f  # type: ignore[str-format]  # not bytes: an int (isinstance is slower here)
        pairs.append((f, v if type(v) is bytes else b"%d" % v))  # type: ignore[str-format]  # not bytes: an int (isinstance is slower here)
        e = e if type(e) is int else _int_or_corrupt(e, start)  # type: ignore[arg-type]  # not an int: bytes (isinstance is slower here)
        if e:
            if e < 0 or e > EB_EXPIRE_TIME_MAX:
                raise BadEncoding("hash field expire time out of range", offset=start)
            fexp[f] = e
    check_unique([f for f, _ in pairs], "hash field")
    return pairs, fexp, pos


def load_hash_listpack_ex(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, dict[bytes, int], int]:
    _, pos = load_ms(buf, pos)  # minExpire: informational
    return _load_listpack_ex(buf, pos, max_len)


def skip_hash_listpack_ex(buf: bytes, pos: int, max_len: int) -> int:
    if pos + 8 > len(buf):
        raise Short(pos + 8)
    return skip_string(buf, pos + 8, max_len)


def save_hash_listpack_ex(pairs: Pairs, fexp: Mapping[bytes, int] | None, version: int,
                          policy: EncodingPolicy, compress: bool) -> bytes:
    # triplets ordered by expire time, fields without TTL last (0 = none)
    fexp = fexp or {}
    get = fexp.get
    order = sorted(pairs, key=lambda p: (get(p[0]) is None, get(p[0]) or 0))
    flat: list[bytes | int] = []
    for f, v in order:
        flat.append(f)
        flat.append(v)
        flat.append(get(f) or 0)
    min_expire = min(fexp.values()) if fexp else 0
    return save_ms(min_expire) + save_string(encode_listpack(flat), compress)


def load_hash_listpack_ex_pre_ga(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, dict[bytes, int], int]:
    return _load_listpack_ex(buf, pos, max_len)


def load_valkey_hash_2(buf: bytes, pos: int, max_len: int) -> tuple[Pairs, dict[bytes, int], int]:
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
    check_unique([f for f, _ in pairs], "hash field")
    return pairs, fexp, pos


def skip_valkey_hash_2(buf: bytes, pos: int, max_len: int) -> int:
    n, pos = load_len(buf, pos)
    for _ in range(n):
        pos = skip_string(buf, pos, max_len)
        pos = skip_string(buf, pos, max_len) + 8
    if pos > len(buf):
        raise Short(pos)
    return pos


# ----------------------------------------------------------------------------- choosing


def hash_type(pairs: Pairs | ListpackPairs, fexp: Mapping[bytes, int] | None, version: int,
              policy: EncodingPolicy) -> int:
    """The type byte Redis of RDB ``version`` writes a hash as (rdbSaveObjectType)."""
    if isinstance(pairs, ListpackPairs):
        if not fexp and version >= 10:
            return RDB_TYPE_HASH_LISTPACK  # validated when made; kept as the listpack it is
        pairs = pairs.pairs()
    fields = [f for f, _ in pairs]
    if len(set(fields)) != len(fields):
        raise RdbEncodeError("duplicate hash field")
    if fexp and version < 12:
        raise RdbEncodeError(
            f"hash field TTLs need RDB 12 (Redis 7.4); the target is RDB {version}"
        )
    if fexp:
        known = set(fields)
        for f, at in fexp.items():
            if f not in known:
                raise RdbEncodeError(f"field TTL for {f!r}, which is not in the hash")
            if not 0 < at <= EB_EXPIRE_TIME_MAX:
                raise RdbEncodeError(f"field {f!r} expire time {at} is outside 1..2^48-1")
    enc = policy.hash_encoding(pairs, version, field_ttls=version >= 12 and fexp is not None)
    if enc == "listpackex":
        return RDB_TYPE_HASH_LISTPACK_EX
    if enc == "listpack":
        return RDB_TYPE_HASH_LISTPACK
    if enc == "hashtable":
        return RDB_TYPE_HASH_METADATA if fexp else RDB_TYPE_HASH
    return RDB_TYPE_HASH_ZIPLIST


_pairs_py = _pairs  # the reference of the C version
if (_c := c_module("rdbtools._speedups")) is not None:  # same results and errors
    _pairs = _c.hash_pairs

__all__ = [
    "ListpackPairs",
    "hash_type",
    "load_hash",
    "load_hash_listpack",
    "load_hash_listpack_ex",
    "load_hash_listpack_ex_pre_ga",
    "load_hash_listpack_packed",
    "load_hash_metadata",
    "load_hash_metadata_pre_ga",
    "load_hash_ziplist",
    "load_hash_zipmap",
    "load_valkey_hash_2",
    "save_hash",
    "save_hash_listpack",
    "save_hash_listpack_ex",
    "save_hash_metadata",
    "save_hash_ziplist",
    "skip_hash",
    "skip_hash_listpack_ex",
    "skip_hash_metadata",
    "skip_hash_metadata_pre_ga",
    "skip_valkey_hash_2",
]
