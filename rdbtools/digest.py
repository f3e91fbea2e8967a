"""Redis's dataset digest (``DEBUG DIGEST`` / ``DEBUG DIGEST-VALUE``) over records.

Redis's own tests compare datasets by this 20-byte SHA1 construction
(``debug.c``: ``computeDatasetDigest``/``xorObjectDigest``); computing the same
value from decoded records lets us compare a file with a live server, our
server with real Redis, and two files, all with one number.

The construction: ``xor(d, s)`` xors SHA1(s) into d; ``mix(d, s)`` is
``d = SHA1(d xor SHA1(s))`` (order-preserving). Per key: ``mix(key)``, then
``mix(type)`` and the value — lists mix their elements in order; sets xor
theirs; hashes and sorted sets xor one ``mix(field)+mix(value)`` (score as
``%.17g``) digest per element; streams mix ``ms.seq`` and each field and
value — and a key with a TTL xors ``"!!expire!!"`` (Redis 7.4: a hash field with a TTL
xors ``"!!hexpire!!"`` into its element digest first). The dataset digest mixes
each non-empty db's number (big-endian u32) once, then xors in (through SHA1,
like every xor here) every key's digest,
so key order inside a db does not matter but the db does. An empty dataset is
forty zeros. Module values contribute nothing (their digest callback is the
module's own).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from rdbtools._accel import c_module
from rdbtools.model import Record, Stream
from rdbtools.numbers import g17
from rdbtools.objects import FAMILIES

OBJ_TYPES = {name: family.obj_type for name, family in FAMILIES.items()}  # server.h OBJ_*
_ZERO = bytes(20)
_sha1 = hashlib.sha1


def _xor(d: bytearray, data: bytes) -> None:
    """d ^= SHA1(data), as one 160-bit integer xor rather than a loop over 20 bytes."""
    d[:] = (int.from_bytes(d, "big") ^ int.from_bytes(_sha1(data).digest(), "big")).to_bytes(20, "big")


def _mix(d: bytearray, data: bytes) -> None:
    _xor(d, data)
    d[:] = _sha1(d).digest()


_score = g17  # C's %.17g, a NaN's sign included


def _pair_digest(a: bytes, b: bytes) -> bytes:
    e = bytearray(20)
    _mix(e, a)
    _mix(e, b)
    return bytes(e)


def value_digest(type_name: str, value: Any, has_expire: bool,
                 field_expires: Mapping[bytes, int] | None = None) -> bytes:
    """``DEBUG DIGEST-VALUE``: the digest of one value (``xorObjectDigest`` from zero)."""
    d = bytearray(20)
    _mix_value(d, type_name, value, has_expire, field_expires)
    return bytes(d)


def _mix_value(d: bytearray, type_name: str, value: Any, has_expire: bool,
               field_expires: Mapping[bytes, int] | None = None) -> None:
    _mix(d, struct.pack(">I", OBJ_TYPES[type_name]))
    if type_name == "string":
        _mix(d, bytes(value))
    elif type_name == "list":
        for e in value:
            _mix(d, bytes(e))
    elif type_name == "set":
        for e in value:
            _xor(d, bytes(e))
    elif type_name == "zset":
        for member, score in value:
            _xor(d, _pair_digest(bytes(member), _score(score)))
    elif type_name == "hash" and field_expires:  # 7.4: a field with a TTL is marked
        for f, v in value:
            e = bytearray(_pair_digest(bytes(f), bytes(v)))
            if f in field_expires:
                _xor(e, b"!!hexpire!!")
            _xor(d, bytes(e))
    elif type_name == "hash":
        for f, v in value:
            _xor(d, _pair_digest(bytes(f), bytes(v)))
    elif type_name == "stream":
        s: Stream = value
        for (ms, seq), fields in s.entries:
            _mix(d, b"%d.%d" % (ms, seq))
            for f, v in fields:
                _mix(d, f)
                _mix(d, v)
    if has_expire:
        _xor(d, b"!!expire!!")


def key_digest(rec: Record) -> bytes:
    """One key's contribution to the dataset digest (key mixed, then its value)."""
    d = bytearray(20)
    _mix(d, rec.key)
    _mix_value(d, rec.type, rec.value, rec.expire_ms is not None, rec.field_expires)
    return bytes(d)


def _add_py(final: bytearray, rec: Record) -> None:
    """computeDatasetDigest's step for one key: its digest xored (through SHA1) into ``final``."""
    _xor(final, key_digest(rec))


_c = c_module("rdbtools._speedups")
_add_key = _c.digest_record if _c is not None else _add_py  # digest.c: the same bytes


class DatasetDigest:
    """``DEBUG DIGEST`` accumulated over records given db by db (ascending, as files hold them)."""

    __slots__ = ("_final", "_db", "_add")

    def __init__(self, add_key: Any = None) -> None:
        self._final = bytearray(20)
        self._db = -1
        self._add = add_key or _add_key

    def add(self, rec: Record) -> None:
        if rec.db != self._db:
            if rec.db < self._db:
                raise ValueError("records must come grouped by db in ascending order")
            self._db = rec.db
            _mix(self._final, struct.pack(">I", rec.db))
        if rec.field_expires:  # the C step knows no field TTLs
            _add_py(self._final, rec)
        else:
            self._add(self._final, rec)

    def hexdigest(self) -> str:
        return self._final.hex()


def dataset_digest(records: Iterable[Record]) -> str:
    """The hex digest Redis's ``DEBUG DIGEST`` prints for a dataset holding ``records``."""
    dd = DatasetDigest()
    for rec in sorted(records, key=lambda r: r.db):  # stable: keeps each db's order
        dd.add(rec)
    return dd.hexdigest()


__all__ = ["DatasetDigest", "OBJ_TYPES", "dataset_digest", "key_digest", "value_digest"]
