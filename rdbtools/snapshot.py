"""A database's keys written as RDB bytes in one pass: the per-key loop of a SAVE.

Mirrors the loop of ``rdbSaveDb`` + ``rdbSaveKeyValuePair`` for a server whose values
already hold the bytes the file holds (docs/formats.md §1.4, §3)::

    per key:  [EXPIRETIME_MS ms:i64le]  [IDLE len | FREQ u8]  TYPE  key:str  value

A live value whose class the caller describes in ``layouts`` is written here, without a
:class:`~rdbtools.model.Record` or a Python frame per key:

* ``KIND_STRING``: the value is the string (``TYPE`` = 0, the value ``save_string``-ed);
* ``KIND_BLOB``: the attribute ``attr`` holds a blob kept as Redis writes it (a hash or
  zset listpack, an intset), written as one RDB string under the layout's type byte;
* ``KIND_QUICKLIST``: the attribute holds a list's quicklist nodes (bytes: a plain node,
  bytearray: a listpack, ``(lzf, size)``: a node held compressed), written as
  RDB_TYPE_LIST_QUICKLIST_2 (:func:`rdbtools.objects.lists.save_quicklist_nodes`);
* ``KIND_LISTPACK_SET``: the attribute holds a set's members as a listpack, written as a
  member list (RDB_TYPE_SET: the count, each member ``save_string``-ed), as a file for
  a Redis without listpack sets (before RDB 11) holds it. A set of at most ``limit``
  members that all spell integers goes to the fallback (an encoder writes an intset);
* ``KIND_STREAM``: a live stream without consumer groups, its attributes :data:`STREAM_SHAPE`
  (ids as ints ``ms << 64 | seq`` ascending, ``entries`` a dict id → flat ``[field,
  value, ...]`` list; ``last_id``, ``first_id``, ``max_deleted`` such ints,
  ``entries_added``, ``groups`` empty), written as
  :func:`rdbtools.objects.streams.save_stream` writes it (the nodes as XADD in order
  builds them); ``limit`` is ``(stream layout version, stream-node-max-bytes,
  stream-node-max-entries)``. A stream with groups goes to the fallback;
* ``KIND_PAIRS_DICT``: the attribute holds a hash as a dict of bytes, written as a
  field-value list (RDB_TYPE_HASH) when the encoder's policy makes it a hash table
  (``limit`` ``(hash-max-listpack-entries, hash-max-listpack-value)``), else the fallback;
* ``KIND_MEMBER_SET``: the attribute holds a set as a Python set of bytes, written as
  ``KIND_LISTPACK_SET`` writes its members (the same ``limit``).

A layout's ``guard`` attribute (or each of a tuple of up to two), when named, must be
None for this path (a hash's field TTLs need the general writer, and a hash listpack
that stands for a hash table must be written as one); its optional fifth item is the
``limit`` above.
Attributes that are ``__slots__`` members are read in place by the C loop, without a
reference: a BGSAVE child copies no page of a value it writes that way. A class
may map to a list of layouts, tried in order (a set: its intset, else its listpack). Every other value — an attribute that is None, a class
not listed, a guard set — goes to ``fallback(key, value)``, which returns the key's
``TYPE key value`` bytes (b"" leaves the key out); the opcodes before it are still
written here. Keys whose deadline is before ``now`` are left out.

``hints`` (None: none written) gives what ``rdbSaveKeyValuePair`` writes under an LRU or
LFU ``maxmemory-policy``: ``(HINT_IDLE, clocks, lru_clock, default_clock, 0)`` writes
IDLE ``max(0, lru_clock - clocks.get(key, default_clock))`` (estimateObjectIdleTime in
seconds); ``(HINT_FREQ, words, minutes, init, decay)`` writes FREQ, the counter of
``words[key]`` (``minutes << 8 | counter``) decayed by LFUDecrAndReturn, ``init`` for a
key without one.

:func:`key_runs` yields ``(bytes, keys written)`` runs of about ``chunk_size`` bytes;
the C twin (``rdbtools/csrc/snapshot.c``) writes the same bytes
(tests/rdbtools/test_snapshot.py holds the two equal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._accel import c_module
from .constants import RDB_OPCODE_EXPIRETIME_MS, RDB_OPCODE_FREQ, RDB_OPCODE_IDLE
from .encodings import decode_listpack_strings
from .model import Stream
from .numbers import string2ll
from .objects.lists import save_quicklist_nodes
from .objects.streams import live_entries, save_stream, split_id
from .policy import EncodingPolicy
from .primitives import save_len, save_ms, save_string, save_strings

KIND_STRING = 0
KIND_BLOB = 1
KIND_QUICKLIST = 2
KIND_LISTPACK_SET = 3
KIND_STREAM = 4
KIND_PAIRS_DICT = 5
KIND_MEMBER_SET = 6
STREAM_SHAPE = ("ids", "entries", "last_id", "first_id", "max_deleted", "entries_added", "groups")
HINT_IDLE = 1
HINT_FREQ = 2

# class -> (type byte, attribute or None, kind, guard attribute(s) or None[, limit])
Guard = str | tuple[str, ...] | None
Layout = tuple[int, str | None, int, Guard] | tuple[int, str | None, int, Guard, Any]
Layouts = Mapping[type, Layout | list[Layout]]
Hints = tuple[int, Mapping[bytes, int], int, int, int]
Fallback = Callable[[bytes, Any], bytes]

_EXPIRETIME_MS = bytes((RDB_OPCODE_EXPIRETIME_MS,))
_IDLE = bytes((RDB_OPCODE_IDLE,))
_FREQ = bytes((RDB_OPCODE_FREQ,))


def lfu_decayed(word: int, minutes: int, decay: int) -> int:
    """LFUDecrAndReturn: the counter of ``word`` less one per ``decay`` minutes elapsed
    since the word's minute (16-bit minutes, wrapping as LFUTimeElapsed counts)."""
    counter = word & 255
    last = word >> 8
    elapsed = minutes - last if minutes >= last else 65535 - last + minutes
    periods = elapsed // decay if decay else 0
    return 0 if periods > counter else counter - periods


def _hint(hints: Hints, key: bytes) -> bytes:
    mode, table, clock, default, decay = hints
    if mode == HINT_IDLE:
        return _IDLE + save_len(max(0, clock - table.get(key, default)))
    word = table.get(key)
    return _FREQ + bytes((default if word is None else lfu_decayed(word, clock, decay),))


def _guards(guard: Guard) -> tuple[str, ...]:
    if guard is None:
        return ()
    if isinstance(guard, str):
        return (guard,)
    if len(guard) > 2:
        raise ValueError("a layout has at most 2 guards")
    return guard


def _body(key: bytes, value: Any, layout: Layout | None, compress: bool) -> bytes | None:
    """``TYPE key value`` for a value the layouts describe, None for the fallback."""
    if layout is None:
        return None
    tb, attr, kind, guard = layout[:4]
    if kind == KIND_STRING:
        return bytes((tb,)) + save_string(key, compress) + save_string(value, compress)
    if kind == KIND_STREAM:
        if len(layout) != 5:
            raise ValueError("a stream layout names its limits")
        return _stream_body(key, value, layout[4], tb, compress)
    blob = getattr(value, attr or "")
    if blob is None or any(getattr(value, g) is not None for g in _guards(guard)):
        return None
    if kind == KIND_BLOB:
        return bytes((tb,)) + save_string(key, compress) + save_string(bytes(blob), compress)
    limit: Any = layout[4] if len(layout) == 5 else 0  # a 5-tuple for the kinds below
    if kind in (KIND_LISTPACK_SET, KIND_MEMBER_SET):
        members = decode_listpack_strings(blob) if kind == KIND_LISTPACK_SET else list(blob)
        if not members or (len(members) <= limit and all(string2ll(m) is not None for m in members)):
            return None
        return bytes((tb,)) + save_string(key, compress) + save_strings(members, compress)
    if kind == KIND_PAIRS_DICT:
        max_entries, max_value = limit
        if len(blob) <= max_entries and all(len(f) <= max_value and len(v) <= max_value for f, v in blob.items()):
            return None
        pairs = [save_string(f, compress) + save_string(v, compress) for f, v in blob.items()]
        return bytes((tb,)) + save_string(key, compress) + save_len(len(blob)) + b"".join(pairs)
    return bytes((tb,)) + save_string(key, compress) + save_quicklist_nodes(blob, compress)


def _stream_body(key: bytes, value: Any, limit: tuple[int, int, int], tb: int, compress: bool) -> bytes | None:
    """``TYPE key value`` of a live stream without groups (KIND_STREAM), else None."""
    if value.groups:
        return None
    layout_version, max_bytes, max_entries = limit
    ids = value.ids
    stream = Stream(entries=live_entries(ids, value.entries), length=len(ids), last_id=split_id(value.last_id),
                    first_id=split_id(value.first_id), max_deleted_id=split_id(value.max_deleted),
                    entries_added=value.entries_added, groups=())
    policy = EncodingPolicy(stream_node_max_bytes=max_bytes, stream_node_max_entries=max_entries)
    return bytes((tb,)) + save_string(key, compress) + save_stream(stream, layout_version, policy, compress)


def _key_runs_py(data: Mapping[bytes, Any], expires: Mapping[bytes, int], now: int | None, compress: bool,
                 layouts: Layouts, fallback: Fallback, hints: Hints | None = None,
                 chunk_size: int = 1 << 16) -> Iterator[tuple[bytes, int]]:
    parts: list[bytes] = []
    size = count = 0
    for key, value in data.items():
        when = expires.get(key) if expires else None
        if when is not None and now is not None and when < now:
            continue
        found = layouts.get(value.__class__)
        body = None
        for layout in found if isinstance(found, list) else (found,):
            body = _body(key, value, layout, compress)
            if body is not None:
                break
        if body is None:
            body = fallback(key, value)
            if not body:
                continue
        if when is not None:
            parts.append(_EXPIRETIME_MS + save_ms(when))
            size += 9
        if hints is not None:
            h = _hint(hints, key)
            parts.append(h)
            size += len(h)
        parts.append(body)
        size += len(body)
        count += 1
        if size >= chunk_size:
            yield b"".join(parts), count
            parts = []
            size = count = 0
    if count:
        yield b"".join(parts), count


def _key_runs_c(data: Mapping[bytes, Any], expires: Mapping[bytes, int], now: int | None, compress: bool,
                layouts: Layouts, fallback: Fallback, hints: Hints | None = None,
                chunk_size: int = 1 << 16) -> Iterator[tuple[bytes, int]]:
    """The C loop, resumed at its dict position after each run (a dict that changes
    size meanwhile is an error, as for a Python iteration)."""
    loop = _snapshot_keys
    assert loop is not None, "the C loop is not built"
    n = len(data)
    pos = 0
    while pos >= 0:
        out, pos, count = loop(data, expires, pos, chunk_size, now, compress, layouts, fallback, hints)
        if count:
            yield out, count
        if len(data) != n:
            raise RuntimeError("dictionary changed size during iteration")


_snapshot_keys: Callable[..., tuple[bytes, int, int]] | None = None  # the C loop, when built
key_runs: Callable[..., Iterator[tuple[bytes, int]]] = _key_runs_py
if (_c := c_module("rdbtools._speedups")) is not None:
    _snapshot_keys = _c.snapshot_keys
    key_runs = _key_runs_c

__all__ = ["HINT_FREQ", "HINT_IDLE", "KIND_BLOB", "KIND_LISTPACK_SET", "KIND_MEMBER_SET", "KIND_PAIRS_DICT",
           "KIND_QUICKLIST", "KIND_STREAM", "KIND_STRING",
           "STREAM_SHAPE", "Hints", "Layout",
           "Layouts", "key_runs", "lfu_decayed"]
