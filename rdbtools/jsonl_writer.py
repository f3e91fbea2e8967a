"""Writing records as JSONL (``rdbkit dump``/``convert``) or one JSON array, bounded in memory.

Small records are formatted in batches (:func:`rdbtools.jsonl.records_to_jsonl`, the
fast path). A string value longer than :data:`STREAM_ABOVE` is written in pieces
instead: an LZF string of a 3 MB file can hold 256 MiB, and formatting it whole holds
the value, its decoded text, its escaped text and the joined line at once (about 3x
the value; 6x for control bytes, which JSON escapes as ``\\u00XX``). Streamed, the
cost is the value plus one piece of about :data:`PIECE` bytes of text.

The text is byte for byte what the whole-record functions write
(``record_to_line`` for JSONL, ``json.dumps(record_to_json(r), ensure_ascii=False)``
for the array): the same separators, the same escaping (``encode_basestring``, applied
to pieces cut at character boundaries), the same ``{"base64": …}`` form for bytes that
are not UTF-8 (pieces of a multiple of 3 bytes encode to the same base64 as the whole).
No I/O here: the caller passes ``write``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .jsonl import record_to_json, records_to_jsonl
from .model import Record

STREAM_ABOVE = 1 << 20
PIECE = 1 << 20  # a multiple of 3: base64 pieces join into the whole's base64

_str = json.encoder.encode_basestring  # the escaping json.dumps(ensure_ascii=False) uses
_ESCAPED = bytes(range(0x20)) + b'"\\'  # what _str rewrites; nothing else
_BATCH = 256

Write = Callable[[bytes], Any]


def _pieces(b: memoryview, piece: int) -> Iterator[memoryview]:
    """``b`` cut into pieces of about ``piece`` bytes, each cut before a UTF-8 lead byte
    (at most 3 continuation bytes are stepped back over), so valid UTF-8 pieces decode
    alone and invalid bytes stay invalid in their piece."""
    n = len(b)
    i = 0
    while i < n:
        end = min(i + piece, n)
        back = 0
        while end < n and back < 3 and b[end] & 0xC0 == 0x80:
            end -= 1
            back += 1
        if end == i:  # cannot happen with piece > 3; never loop forever
            end = min(i + piece, n)
        yield b[i:end]
        i = end


def _is_utf8(b: memoryview, piece: int) -> bool:
    try:
        for part in _pieces(b, piece):
            str(part, "utf-8")
    except UnicodeDecodeError:
        return False
    return True


def iter_json_string(value: bytes, piece: int | None = None, sep: str = ":") -> Iterator[bytes]:
    """The JSON text of ``jbytes(value)`` in pieces of about ``piece`` bytes of input:
    a quoted string when ``value`` is UTF-8, else ``{"base64":"…"}`` (``sep`` is the
    key separator of that object: ``":"`` in JSONL, ``": "`` in the array form)."""
    piece = piece or PIECE
    mv = memoryview(value)
    if value.isascii() or _is_utf8(mv, piece):
        yield b'"'
        for part in _pieces(mv, piece):
            kept = bytes(part).translate(None, _ESCAPED)
            if len(kept) == len(part):  # the common case: the bytes are the text
                yield kept
            else:
                yield _str(str(part, "utf-8"))[1:-1].encode("utf-8")
        yield b'"'
        return
    yield ('{"base64"' + sep + '"').encode("ascii")
    piece -= piece % 3
    for i in range(0, len(mv), piece):
        yield base64.b64encode(mv[i : i + piece])
    yield b'"}'


def iter_record_text(rec: Record, pretty: bool = False, piece: int | None = None) -> Iterator[bytes]:
    """The text of one string record in pieces, without a newline: ``record_to_line(rec)``,
    or with ``pretty`` ``json.dumps(record_to_json(rec), ensure_ascii=False)``."""
    item, key = (", ", ": ") if pretty else (",", ":")
    exp = "null" if rec.expire_ms is None else str(rec.expire_ms)
    head = [
        '{"db"', key, str(rec.db), item, '"key"', key, _whole(rec.key, key), item,
        '"type"', key, '"string"', item, '"expire_ms"', key, exp, item, '"value"', key,
    ]
    yield "".join(head).encode("utf-8")
    yield from iter_json_string(rec.value, piece, key)
    tail = []
    if rec.idle is not None:
        tail += [item, '"lru_idle"', key, str(rec.idle)]
    if rec.freq is not None:
        tail += [item, '"lfu_freq"', key, str(rec.freq)]
    tail.append("}")
    yield "".join(tail).encode("utf-8")


def _whole(b: bytes, sep: str) -> str:
    return b"".join(iter_json_string(b, max(len(b), 3), sep)).decode("utf-8")


def _streamed(rec: Any) -> bool:
    return type(rec) is Record and rec.type == "string" and len(rec.value) > STREAM_ABOVE


def write_jsonl(records: Iterable[Any], write: Write) -> int:
    """Write every :class:`Record` of ``records`` (other events are skipped) as one JSONL
    line each; returns how many. Memory: a batch of small records, or one big value."""
    batch: list[Record] = []
    count = 0
    for rec in records:
        if type(rec) is not Record:
            continue
        count += 1
        if _streamed(rec):
            if batch:
                write(records_to_jsonl(batch))
                batch = []
            for part in iter_record_text(rec):
                write(part)
            write(b"\n")
            continue
        batch.append(rec)
        if len(batch) >= _BATCH:  # small batches: records are freed while hot, the GC stays idle
            write(records_to_jsonl(batch))
            batch = []
    if batch:
        write(records_to_jsonl(batch))
    return count


def write_json_array(records: Iterable[Any], write: Write) -> int:
    """Write the records as one JSON array, an element a line (``rdbkit dump --format
    json``); returns how many."""
    write(b"[")
    count = 0
    for rec in records:
        if type(rec) is not Record:
            continue
        write(b",\n" if count else b"\n")
        count += 1
        if _streamed(rec):
            for part in iter_record_text(rec, pretty=True):
                write(part)
        else:
            write(json.dumps(record_to_json(rec), ensure_ascii=False).encode("utf-8"))
    write(b"\n]\n")
    return count


__all__ = [
    "PIECE",
    "STREAM_ABOVE",
    "iter_json_string",
    "iter_record_text",
    "write_json_array",
    "write_jsonl",
]
