"""Record ⇄ the stable JSON object contract that every rdbkit tool and test uses.

One object per key::

    {"db": 0, "key": S, "type": "string|list|set|zset|hash|stream|module",
     "expire_ms": int|null, "value": V}

``S`` is a JSON string when the bytes are valid UTF-8, else ``{"base64": "…"}``.
Values: string → S; list → [S…] in order; set → [S…] sorted bytewise; zset →
[[S, score]…] by score then member (``"inf"``/``"-inf"`` for infinities, ``"nan"``/
``"-nan"`` for a NaN by its sign bit; a zset holding a NaN keeps its stored order,
as Redis keeps that listpack); hash →
[[field, value]…] sorted by field, with a third element (the field's expire_ms)
when it has one; stream → a dict (entries, ids, groups); module → module name,
id and raw bytes. Optional ``lru_idle`` / ``lfu_freq`` appear only when the file
had them. Canonical ordering makes two dumps of the same data compare equal.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from ._accel import c_module
from .model import (
    ModuleValue,
    PendingEntry,
    Record,
    Stream,
    StreamConsumer,
    StreamGroup,
    StreamID,
)


def jbytes(b: bytes) -> Any:
    """Bytes as a JSON string when UTF-8, else ``{"base64": ...}``."""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(b).decode("ascii")}


def unjbytes(v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, dict) and "base64" in v:
        return base64.b64decode(v["base64"])
    raise ValueError(f"expected a string or {{'base64': ...}}, got {v!r}")


def jscore(s: float) -> Any:
    if math.isinf(s):
        return "inf" if s > 0 else "-inf"
    if s != s:
        return "-nan" if math.copysign(1.0, s) < 0 else "nan"
    return s


def unjscore(v: Any) -> float:
    """A score back from JSON: a number, or "inf"/"-inf"/"nan"/"-nan" (float() keeps the sign)."""
    return float(v)


def zset_order(pairs: Any) -> Any:
    """The contract's zset order: by score then member, except that a zset holding a NaN
    score (which orders nothing) keeps its stored order."""
    if any(s != s for _, s in pairs):
        return pairs
    return sorted(pairs, key=_zkey)


def jid(i: StreamID) -> str:
    return f"{i[0]}-{i[1]}"


def unjid(s: str) -> StreamID:
    ms, _, seq = s.partition("-")
    return int(ms), int(seq)


def _zkey(p: tuple[bytes, float]) -> tuple[float, bytes]:
    return p[1], p[0]


def value_to_json(type_name: str, value: Any, field_expires: dict[bytes, int] | None = None) -> Any:
    if type_name == "string":
        return jbytes(value)
    if type_name == "list":
        return [jbytes(v) for v in value]
    if type_name == "set":
        return [jbytes(v) for v in sorted(value)]
    if type_name == "zset":
        return [[jbytes(m), jscore(s)] for m, s in zset_order(value)]
    if type_name == "hash":
        out = []
        fe = field_expires or {}
        for f, v in sorted(value):
            e = fe.get(f)
            out.append([jbytes(f), jbytes(v)] if e is None else [jbytes(f), jbytes(v), e])
        return out
    if type_name == "stream":
        return stream_to_json(value)
    if type_name == "module":
        return {
            "module": value.module_name,
            "module_id": value.module_id,
            "raw": base64.b64encode(value.raw).decode("ascii"),
        }
    raise ValueError(f"unknown type {type_name!r}")


def stream_to_json(s: Stream) -> dict[str, Any]:
    return {
        "entries": [[jid(i), [jbytes(x) for fv in fields for x in fv]] for i, fields in s.entries],
        "length": s.length,
        "last_id": jid(s.last_id),
        "first_id": None if s.first_id is None else jid(s.first_id),
        "max_deleted_id": None if s.max_deleted_id is None else jid(s.max_deleted_id),
        "entries_added": s.entries_added,
        "groups": [
            {
                "name": jbytes(g.name),
                "last_id": jid(g.last_id),
                "entries_read": g.entries_read,
                "pending": [
                    [jid(p.id), None if p.consumer is None else jbytes(p.consumer),
                     p.delivery_time, p.delivery_count]
                    for p in g.pending
                ],
                "consumers": [
                    {
                        "name": jbytes(c.name),
                        "seen_time": c.seen_time,
                        "active_time": c.active_time,
                        "pending": [jid(i) for i in c.pending],
                    }
                    for c in g.consumers
                ],
            }
            for g in s.groups
        ],
    }


def stream_from_json(d: dict[str, Any]) -> Stream:
    entries = []
    for sid, flat in d["entries"]:
        items = [unjbytes(x) for x in flat]
        entries.append((unjid(sid), tuple(zip(items[0::2], items[1::2], strict=True))))
    groups = []
    for g in d.get("groups", []):
        pending = tuple(
            PendingEntry(unjid(p[0]), int(p[2]), int(p[3]), None if p[1] is None else unjbytes(p[1]))
            for p in g.get("pending", [])
        )
        consumers = tuple(
            StreamConsumer(
                unjbytes(c["name"]),
                int(c["seen_time"]),
                None if c.get("active_time") is None else int(c["active_time"]),
                tuple(unjid(i) for i in c.get("pending", [])),
            )
            for c in g.get("consumers", [])
        )
        groups.append(
            StreamGroup(unjbytes(g["name"]), unjid(g["last_id"]), g.get("entries_read"), pending, consumers)
        )
    return Stream(
        entries=tuple(entries),
        length=int(d.get("length", len(entries))),
        last_id=unjid(d["last_id"]),
        first_id=None if d.get("first_id") is None else unjid(d["first_id"]),
        max_deleted_id=None if d.get("max_deleted_id") is None else unjid(d["max_deleted_id"]),
        entries_added=d.get("entries_added"),
        groups=tuple(groups),
    )


def record_to_json(r: Record) -> dict[str, Any]:
    obj = {
        "db": r.db,
        "key": jbytes(r.key),
        "type": r.type,
        "expire_ms": r.expire_ms,
        "value": value_to_json(r.type, r.value, r.field_expires),
    }
    if r.idle is not None:
        obj["lru_idle"] = r.idle
    if r.freq is not None:
        obj["lfu_freq"] = r.freq
    return obj


def record_from_json(obj: dict[str, Any]) -> Record:
    """Inverse of :func:`record_to_json` (the order of sets/hashes is the canonical one)."""
    t = obj["type"]
    v = obj["value"]
    fexp = None
    if t == "string":
        value: Any = unjbytes(v)
    elif t in ("list", "set"):
        value = [unjbytes(x) for x in v]
    elif t == "zset":
        value = [(unjbytes(m), unjscore(s)) for m, s in v]
    elif t == "hash":
        value = []
        for item in v:
            f = unjbytes(item[0])
            value.append((f, unjbytes(item[1])))
            if len(item) > 2 and item[2] is not None:
                fexp = fexp or {}
                fexp[f] = int(item[2])
    elif t == "stream":
        value = stream_from_json(v)
    elif t == "module":
        value = ModuleValue(int(v["module_id"]), base64.b64decode(v["raw"]))
    else:
        raise ValueError(f"unknown type {t!r}")
    return Record(
        db=int(obj.get("db", 0)),
        key=unjbytes(obj["key"]),
        type=t,
        value=value,
        expire_ms=obj.get("expire_ms"),
        idle=obj.get("lru_idle"),
        freq=obj.get("lfu_freq"),
        field_expires=fexp,
    )


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_str = json.encoder.encode_basestring  # C-accelerated: quotes and escapes a str
_b64 = base64.b64encode


def _s(b: bytes) -> str:
    """JSON text of ``jbytes(b)``, written directly (the hot path of ``rdbkit dump``)."""
    if b.isascii():
        return _str(b.decode("ascii"))
    try:
        return _str(b.decode("utf-8"))
    except UnicodeDecodeError:
        return '{"base64":"' + _b64(b).decode("ascii") + '"}'


def _score(x: float) -> str:
    if x != x or x in (_INF, _NINF):
        return '"%s"' % jscore(x)
    return repr(x)


_INF = float("inf")
_NINF = float("-inf")


def record_to_line(r: Record) -> str:
    """One JSONL line (no newline); byte-for-byte ``json.dumps(record_to_json(r))``."""
    t = r.type
    v = r.value
    if t == "string":
        value = _s(v)
    elif t == "list":
        value = "[" + ",".join(map(_s, v)) + "]"
    elif t == "set":
        value = "[" + ",".join(map(_s, sorted(v))) + "]"
    elif t == "hash" and not r.field_expires:
        value = "[" + ",".join(["[" + _s(f) + "," + _s(x) + "]" for f, x in sorted(v)]) + "]"
    elif t == "zset":
        value = "[" + ",".join(
            ["[" + _s(m) + "," + _score(sc) + "]" for m, sc in zset_order(v)]
        ) + "]"
    else:
        return _dumps(record_to_json(r))
    exp = "null" if r.expire_ms is None else str(r.expire_ms)
    line = '{"db":%d,"key":%s,"type":"%s","expire_ms":%s,"value":%s' % (r.db, _s(r.key), t, exp, value)
    if r.idle is not None:
        line += ',"lru_idle":%d' % r.idle
    if r.freq is not None:
        line += ',"lfu_freq":%d' % r.freq
    return line + "}"


def records_to_jsonl(records: Sequence[Record]) -> bytes:
    """The lines of ``records``, each ending in a newline, as UTF-8 (a batch of ``rdbkit dump``)."""
    line = _record_to_line_py  # the pure reference calls the pure line writer
    return "".join([line(r) + "\n" for r in records]).encode("utf-8")


_record_to_line_py, _records_to_jsonl_py = record_to_line, records_to_jsonl  # the references

if (_c := c_module("rdbtools._speedups")) is not None:  # the same text (rdbtools/csrc/jsonl.c)
    # None: a record the C writer leaves to Python
    _c_record_to_line: Callable[[Record], str | None] = _c.record_to_line
    _c_records_to_jsonl: Callable[[Sequence[Record], Callable[[Record], str]], bytes] = (
        _c.records_to_jsonl
    )

    def record_to_line(r: Record) -> str:  # noqa: F811 - C first, Python for what C leaves
        """One JSONL line (no newline); byte-for-byte ``json.dumps(record_to_json(r))``."""
        return _c_record_to_line(r) or _record_to_line_py(r)

    def records_to_jsonl(records: Sequence[Record]) -> bytes:  # noqa: F811
        """The lines of ``records``, each ending in a newline, as UTF-8 (a batch of ``rdbkit dump``)."""
        return _c_records_to_jsonl(records, _record_to_line_py)


__all__ = [
    "jbytes",
    "record_from_json",
    "record_to_json",
    "record_to_line",
    "records_to_jsonl",
    "stream_from_json",
    "stream_to_json",
    "unjbytes",
    "value_to_json",
]
