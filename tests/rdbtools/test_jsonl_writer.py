"""rdbtools.jsonl_writer: a string written in pieces is byte for byte the whole-record text
(JSONL and the JSON array), whatever the piece size and wherever a cut falls."""

from __future__ import annotations

import io
import json

import pytest

from rdbtools import jsonl_writer
from rdbtools.jsonl import record_to_json, record_to_line
from rdbtools.jsonl_writer import iter_record_text, write_json_array, write_jsonl
from rdbtools.model import Record

VALUES = [
    b"", b"a", b"plain ascii text " * 50, b'quo"te back\\slash', b"\x00\x01\x1f\x7f\n\r\t\b\f",
    "é€😀 mixed ütf-8 \u2028\u2029".encode() * 40, b"\xff\xfe not utf-8", b"\xc3" + b"a" * 100,
    "😀".encode() * 100 + b"\x80", bytes(range(256)) * 3, "x😀".encode()[:-1],
]


@pytest.mark.parametrize("piece", [4, 5, 7, 64, 1 << 20])
@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_pieces_make_the_whole_record_text(value: bytes, piece: int) -> None:
    for rec in (Record(0, b"k", "string", value),
                Record(3, "kéy\n".encode(), "string", value, 1700000000000, 5, 7),
                Record(1, b"\xffk", "string", value, None, None, 3)):
        assert b"".join(iter_record_text(rec, piece=piece)) == record_to_line(rec).encode()
        pretty = json.dumps(record_to_json(rec), ensure_ascii=False).encode()
        assert b"".join(iter_record_text(rec, pretty=True, piece=piece)) == pretty


def test_writers_stream_big_strings_and_batch_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl_writer, "STREAM_ABOVE", 10)
    monkeypatch.setattr(jsonl_writer, "PIECE", 6)
    recs = [Record(0, b"s", "string", b"short"), Record(0, b"big", "string", "ü\0".encode() * 20),
            Record(0, b"l", "list", [b"a", b"b"]), Record(1, b"bin", "string", b"\xff" * 30)]
    out = io.BytesIO()
    assert write_jsonl(iter(["not a record", *recs]), out.write) == 4
    assert out.getvalue() == b"".join(record_to_line(r).encode() + b"\n" for r in recs)
    out = io.BytesIO()
    write_json_array(recs, out.write)
    assert json.loads(out.getvalue()) == [record_to_json(r) for r in recs]
    want = "[\n" + ",\n".join(json.dumps(record_to_json(r), ensure_ascii=False) for r in recs) + "\n]\n"
    assert out.getvalue() == want.encode()
