"""Records → the command stream an AOF rewrite writes, or an RDB-preamble base.

Mirrors ``rewriteAppendOnlyFileRio`` and its helpers in aof.c (7.0 and 7.4;
docs/formats.md §7.7):

* ``#TS:<now>`` first when timestamps are on; then ``FUNCTION LOAD <code>`` per
  library; then per db with keys ``SELECT <db>`` and per key:
* string ``SET k v``; list ``RPUSH``, set ``SADD``, zset ``ZADD k score member …``,
  hash ``HMSET k f v …`` — at most ``AOF_REWRITE_ITEMS_PER_CMD`` (64) elements or
  pairs per command;
* a hash with field TTLs (7.4): one ``HMSET k f v`` per field, each followed by
  ``HPEXPIREAT k <ms> FIELDS 1 f`` when that field has a TTL;
* stream: ``XADD k <id> f v …`` per entry (an empty stream: ``XADD k MAXLEN 0 0-1
  x y``), ``XSETID k <last> ENTRIESADDED n MAXDELETEDID <id>``, per group ``XGROUP
  CREATE k g <last> ENTRIESREAD n`` (-1 when unknown), per consumer in name order
  either ``XGROUP CREATECONSUMER k g c`` (no pending entries) or one ``XCLAIM k g
  c 0 <id> TIME <ms> RETRYCOUNT <n> JUSTID FORCE`` per pending entry in ID order;
* a key's TTL: ``PEXPIREAT k <ms>`` after its value.
* values no command form can recreate — a zset holding a NaN score (Redis writes
  ``ZADD k nan m``, which its own loader refuses, dropping the key), a stream whose
  entries-added or a group's entries-read is past 2^63-1 (Redis writes the signed
  value, which XSETID / XGROUP CREATE refuse) — are written as ``RESTORE k 0
  <payload>`` in the target's RDB version, which every loader takes.

``target`` is the Redis version whose rewrite to mirror (default 7.4): scores as
``%.17g`` before 7.2, as ``fpconv_dtoa`` (shortest round-trip digits) from 7.2;
before 7.0 streams get the 6.2 forms (``XSETID k <last>``, ``XGROUP CREATE k g
<last>``) and functions do not exist; hash field TTLs need 7.4. What the target
cannot express raises :class:`AofError` naming the key.
Keys are written in the order given (Redis writes its dict order); SELECT is
emitted whenever the db changes. Module values have no generic command form
(Redis calls the module's ``aof_rewrite``): they raise, or are dropped with
``modules="skip"``.

The preamble form (``aof-use-rdb-preamble yes``) is an RDB written by
:class:`rdbtools.encoder.RdbEncoder` with the ``aof-base``/``aof-preamble`` aux
set (:func:`encode_rdb_base`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from math import copysign, isinf, isnan
from typing import Any, Final

from aof.errors import AofError
from aof.replies import encode_command
from rdbtools.model import FunctionLibrary, FunctionPreGA, ModuleValue, Record, Stream

__all__ = [
    "AOF_REWRITE_ITEMS_PER_CMD",
    "AofRewriter",
    "encode_rdb_base",
    "format_score",
    "rewrite_commands",
]

AOF_REWRITE_ITEMS_PER_CMD: Final = 64


# --- score formatting -------------------------------------------------------------------------
def _fpconv(x: float) -> bytes:
    """Redis 7.2+ ``fpconv_dtoa``: shortest digits, plain notation in a window, else
    ``d.ddde±x``."""
    neg = copysign(1.0, x) < 0
    sign = "-" if neg else ""
    if isnan(x):
        return (sign + "nan").encode()
    if isinf(x):
        return (sign + "inf").encode()
    if x == 0:
        return (sign + "0").encode()
    mant, _, e = repr(abs(x)).partition("e")
    exp10 = int(e) if e else 0
    ip, _, fp = mant.partition(".")
    if fp == "0":
        fp = ""
    digits = (ip + fp).lstrip("0")
    k = exp10 - len(fp)
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    nd = len(digits)
    ex = abs(k + nd - 1)
    if k >= 0 and ex < nd + 7:
        out = digits + "0" * k
    elif k < 0 and (k > -7 or ex < 4):
        off = nd - abs(k)
        out = "0." + "0" * (-off) + digits if off <= 0 else digits[:off] + "." + digits[off:]
    else:
        nd2 = min(nd, 18 - neg)
        out = digits[0] + ("." + digits[1:nd2] if nd2 > 1 else "")
        out += "e" + ("-" if k + nd - 1 < 0 else "+") + str(ex)
    return (sign + out).encode()


def format_score(x: float, score_format: str = "%.17g") -> bytes:
    """A zset score as the rewrite writes it (``rioWriteBulkDouble``)."""
    if score_format == "fpconv":
        return _fpconv(x)
    if isinf(x):
        return b"inf" if x > 0 else b"-inf"
    if isnan(x):
        return b"nan"
    return b"%.17g" % x


_S64_MAX: Final = (1 << 63) - 1


def _no_command_form(t: str, v: Any) -> bool:
    """True for the values ``record`` writes as RESTORE (see the module docstring)."""
    if t == "zset":
        return any(s != s for _, s in v)
    if t == "stream" and isinstance(v, Stream):
        if v.entries_added is not None and v.entries_added > _S64_MAX:
            return True
        return any(g.entries_read is not None and g.entries_read > _S64_MAX for g in v.groups)
    return False


def _sid(i: tuple[int, int]) -> bytes:
    return b"%d-%d" % i


# --- per type -------------------------------------------------------------------------------
def _batched(head: list[bytes], items: list[bytes], per: int) -> Iterator[list[bytes]]:
    """``head + items`` split so each command carries at most ``per`` elements of ``per``
    units (``items`` is already flattened; ``per`` counts flattened slots)."""
    for i in range(0, len(items), per):
        yield head + items[i : i + per]


class AofRewriter:
    """Turns records (and FunctionLibrary events) into rewrite commands.

    ``commands(items)`` yields argv lists; ``encode(items)`` yields RESP bytes
    (with the leading ``#TS`` when ``timestamp`` is given). Other rdbtools events
    (Header, Aux, SelectDb, ResizeDb, End, …) are ignored.
    """

    def __init__(
        self,
        *,
        target: tuple[int, int] = (7, 4),
        modules: str = "error",
        timestamp: int | None = None,
        items_per_cmd: int = AOF_REWRITE_ITEMS_PER_CMD,
    ) -> None:
        if modules not in ("error", "skip"):
            raise ValueError("modules is 'error' or 'skip'")
        self.target = tuple(target)
        self.score_format = "fpconv" if self.target >= (7, 2) else "%.17g"
        self.modules = modules
        self.timestamp = timestamp
        self.per = items_per_cmd
        self.skipped: list[tuple[int, bytes]] = []  # (db, key) of dropped module values

    def commands(self, items: Iterable[Any]) -> Iterator[list[bytes]]:
        db: int | None = None
        for item in items:
            t = type(item)
            if t is Record:
                if item.db != db:
                    db = item.db
                    yield [b"SELECT", b"%d" % db]
                yield from self.record(item)
            elif t is FunctionLibrary or t is FunctionPreGA:
                if self.target < (7, 0):
                    raise AofError("functions need Redis 7.0 (FUNCTION LOAD)")
                code = item.library().code if t is FunctionPreGA else item.code
                yield [b"FUNCTION", b"LOAD", code]

    def encode(self, items: Iterable[Any], chunk_size: int = 1 << 16) -> Iterator[bytes]:
        parts: list[bytes] = []
        size = 0
        if self.timestamp is not None:
            parts.append(b"#TS:%d\r\n" % self.timestamp)
        for argv in self.commands(items):
            data = encode_command(argv)
            parts.append(data)
            size += len(data)
            if size >= chunk_size:
                yield b"".join(parts)
                parts = []
                size = 0
        if parts:
            yield b"".join(parts)

    def record(self, rec: Record) -> Iterator[list[bytes]]:
        """The commands for one key, its TTL last."""
        key = rec.key
        t = rec.type
        v = rec.value
        per = self.per
        if _no_command_form(t, v):
            yield [b"RESTORE", key, b"0", self._payload(rec)]
        elif t == "string":
            yield [b"SET", key, v]
        elif t == "list":
            yield from _batched([b"RPUSH", key], list(v), per)
        elif t == "set":
            yield from _batched([b"SADD", key], list(v), per)
        elif t == "zset":
            fmt = self.score_format
            flat = [x for m, s in v for x in (format_score(s, fmt), m)]
            yield from _batched([b"ZADD", key], flat, 2 * per)
        elif t == "hash":
            yield from self._hash(rec)
        elif t == "stream":
            yield from self._stream(key, v)
        elif t == "module" or isinstance(v, ModuleValue):
            if self.modules == "skip":
                self.skipped.append((rec.db, key))
                return
            raise AofError(
                f"cannot rewrite the module value of key {key!r} (db {rec.db}): "
                "module types need their module's aof_rewrite callback"
            )
        else:
            raise AofError(f"cannot rewrite key {key!r} (db {rec.db}): unknown type {t!r}")
        if rec.expire_ms is not None:
            yield [b"PEXPIREAT", key, b"%d" % rec.expire_ms]

    def _payload(self, rec: Record) -> bytes:
        from rdbtools.dump import dump_value

        version = 12 if self.target >= (7, 4) else 11 if self.target >= (7, 2) else 10 if self.target >= (7, 0) else 9
        return dump_value((rec.type, rec.value), version)

    def _hash(self, rec: Record) -> Iterator[list[bytes]]:
        key = rec.key
        ttls = rec.field_expires
        if ttls and self.target < (7, 4):
            raise AofError(
                f"cannot rewrite key {key!r} (db {rec.db}): hash field TTLs need Redis 7.4"
            )
        if not ttls:
            flat = [x for f, val in rec.value for x in (f, val)]
            yield from _batched([b"HMSET", key], flat, 2 * self.per)
            return
        for f, val in rec.value:
            yield [b"HMSET", key, f, val]
            ms = ttls.get(f)
            if ms is not None:
                yield [b"HPEXPIREAT", key, b"%d" % ms, b"FIELDS", b"1", f]

    def _stream(self, key: bytes, s: Stream) -> Iterator[list[bytes]]:
        if s.entries:
            for sid, fields in s.entries:
                yield [b"XADD", key, _sid(sid), *[x for fv in fields for x in fv]]
        else:
            yield [b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]
        v7 = self.target >= (7, 0)
        if v7 and s.entries_added is not None and s.max_deleted_id is not None:
            yield [
                b"XSETID", key, _sid(s.last_id),
                b"ENTRIESADDED", b"%d" % s.entries_added,
                b"MAXDELETEDID", _sid(s.max_deleted_id),
            ]
        else:  # 6.2's form (stream v1 holds no counters)
            yield [b"XSETID", key, _sid(s.last_id)]
        for g in s.groups:
            create = [b"XGROUP", b"CREATE", key, g.name, _sid(g.last_id)]
            if v7:
                er = -1 if g.entries_read is None else g.entries_read
                create += [b"ENTRIESREAD", b"%d" % er]
            yield create
            nacks = {p.id: p for p in g.pending}
            for c in sorted(g.consumers, key=lambda c: c.name):
                if not c.pending:
                    yield [b"XGROUP", b"CREATECONSUMER", key, g.name, c.name]
                    continue
                for pid in sorted(c.pending):
                    p = nacks.get(pid)
                    dt = p.delivery_time if p is not None else 0
                    dc = p.delivery_count if p is not None else 1
                    yield [
                        b"XCLAIM", key, g.name, c.name, b"0", _sid(pid),
                        b"TIME", b"%d" % dt, b"RETRYCOUNT", b"%d" % dc, b"JUSTID", b"FORCE",
                    ]


def rewrite_commands(items: Iterable[Any], **kwargs: Any) -> Iterator[list[bytes]]:
    """Shorthand for ``AofRewriter(**kwargs).commands(items)``."""
    return AofRewriter(**kwargs).commands(items)


def encode_rdb_base(
    items: Iterable[Any],
    *,
    target_version: int = 10,
    ctime: int = 0,
    chunk_size: int = 1 << 16,
    **encoder_kwargs: Any,
) -> Iterator[bytes]:
    """An RDB-preamble base (or 4.0–6.2 preamble, ``target_version`` ≤ 9) for the records:
    the RDB with ``aof-base``/``aof-preamble`` set to 1. RESP commands appended after it
    make the old single-file hybrid form."""
    from rdbtools.encoder import RdbEncoder  # the encoder is optional at import time

    enc = RdbEncoder(target_version=target_version, ctime=ctime, aof_base=True, **encoder_kwargs)
    return enc.encode(items, chunk_size=chunk_size)
