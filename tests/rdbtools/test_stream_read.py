"""streamread.c against objects/stream_nodes.py: the same stream values read both ways.

``load_stream`` is run with the Python node reader and with the C one on stream values
made of node listpacks written item by item (master fields, SAMEFIELDS and other
entries, deleted entries, ids at the top of the uint64 range whose deltas wrap, integer
and string values, counts written as non-canonical text that only the reference's
``int()`` reads, LZF-compressed or plain strings), then on the same values damaged
(bytes changed, cut short): equal streams, equal node layouts and end positions, or
the same error with the same offset. ``live_form``'s two forms agree on what it reads.
The C module is imported directly, whatever RDBKIT_PUREPYTHON says.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools.encodings import encode_listpack
from rdbtools.model import StreamNodeLayout
from rdbtools.objects import stream_nodes, streams
from rdbtools.primitives import save_len, save_string

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

U64 = (1 << 64) - 1
VALUES = st.sampled_from([b"", b"0", b"-1", b"127", b"128", b"-4097", b"9223372036854775807", b"007",
                          b"v", b"x" * 63, b"y" * 64, b"z" * 300])
FIELDS = st.sampled_from([b"f", b"g", b"12", b"name" * 20])
DELTAS = st.sampled_from([0, 1, 2, -1, 1000, -(1 << 63), (1 << 63) - 1])
IDS = st.sampled_from([0, 1, 5, 2**32, 2**63, U64 - 1, U64])


@st.composite
def node_items(draw: Any) -> list[Any]:
    """One node's listpack items: master entry, then entries (some deleted)."""
    mfields = draw(st.lists(FIELDS, max_size=3, unique=True))
    items: list[Any] = [0, 0, len(mfields), *mfields, 0]
    count = deleted = 0
    for _ in range(draw(st.integers(0, 5))):
        same = draw(st.booleans())
        dead = draw(st.integers(0, 3)) == 0
        flags = (2 if same else 0) | (1 if dead else 0)
        head = [flags, draw(DELTAS), draw(DELTAS)]
        if same:
            vals = draw(st.lists(VALUES, min_size=len(mfields), max_size=len(mfields)))
            items += [*head, *vals, len(mfields) + 3]
        else:
            pairs = draw(st.lists(st.tuples(FIELDS, VALUES), max_size=3))
            items += [*head, len(pairs), *(x for p in pairs for x in p), 2 * len(pairs) + 4]
        deleted += dead
        count += not dead
    items[0], items[1] = count, deleted
    if draw(st.integers(0, 7)) == 0:  # a count as text only int() reads: the reference's case
        items[0] = b"0%d" % count
    return items


@st.composite
def stream_value(draw: Any) -> tuple[int, bytes]:
    """(version, value bytes) of a stream of up to 4 nodes with increasing keys."""
    version = draw(st.sampled_from([1, 2, 3]))
    keys = sorted(set(draw(st.lists(st.tuples(IDS, IDS), max_size=4))))
    compress = draw(st.booleans())
    out = [save_len(len(keys))]
    length = 0
    for ms, seq in keys:
        items = draw(node_items())
        length += int(items[0])
        out.append(save_string(ms.to_bytes(8, "big") + seq.to_bytes(8, "big"), compress))
        out.append(save_string(encode_listpack(items), compress))
    out.append(save_len(length) + save_len(7) + save_len(1))
    if version >= 2:
        out.append(save_len(0) * 4 + save_len(length))
    out.append(save_len(0))  # no groups
    return version, b"".join(out)


def outcome(monkeypatch: pytest.MonkeyPatch, reader: Any, version: int, buf: bytes, max_len: int) -> Any:
    monkeypatch.setattr(streams, "load_nodes", reader)
    try:
        value, end = streams.load_stream(version, buf, 0, max_len)
    except Exception as exc:  # the errors themselves are compared
        return ("err", type(exc).__name__, str(exc), getattr(exc, "offset", None), getattr(exc, "need", None))
    return ("ok", value, value.nodes, end)


def both(monkeypatch: pytest.MonkeyPatch, version: int, buf: bytes, max_len: int = 1 << 40) -> Any:
    monkeypatch.setattr(stream_nodes, "_stream_load_nodes", C.stream_load_nodes)
    py = outcome(monkeypatch, stream_nodes._load_nodes_py, version, buf, max_len)
    c = outcome(monkeypatch, stream_nodes._load_nodes_c, version, buf, max_len)
    assert c == py
    return py


@settings(max_examples=300, deadline=None)
@given(stream_value())
def test_c_reads_what_python_reads(value: tuple[int, bytes]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        got = both(mp, *value)
    assert got[0] == "ok", got
    stream, nodes = got[1], got[2]
    assert sum(n.live for n in nodes) == len(stream.entries)
    ids, flat = stream_nodes.live_form_py(stream.entries)
    assert C.live_form(stream.entries) == (ids, flat)
    assert C.live_form(list(stream.entries)) == (ids, flat)


@settings(max_examples=200, deadline=None)
@given(stream_value(), st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=3),
       st.integers(0, 1 << 16), st.sampled_from([1 << 40, 20, 100]))
def test_damaged_values_fail_alike(value: tuple[int, bytes], flips: list[tuple[int, int]], cut: int,
                                   max_len: int) -> None:
    version, raw = value
    data = bytearray(raw)
    for i, b in flips:
        data[i % len(data)] = b
    with pytest.MonkeyPatch.context() as mp:
        both(mp, version, bytes(data), max_len)
        both(mp, version, bytes(data[: cut % len(data)]), max_len)


def test_layout_of_a_node_with_deleted_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """count, deleted, size and the last id (of a deleted entry) as the listpack holds them."""
    items = [1, 2, 2, b"a", b"b", 0,
             2, 0, 0, b"1", b"2", 5,  # 7-0: same fields, live
             3, 0, 1, b"3", b"4", 5,  # 7-1: deleted
             1, 0, 2, 1, b"c", b"5", 6]  # 7-2: other fields, deleted
    lp = encode_listpack(items)
    buf = (save_len(1) + save_string((7).to_bytes(8, "big") + bytes(8)) + save_string(lp)
           + save_len(1) + save_len(7) + save_len(2) + save_len(0))
    got = both(monkeypatch, 1, buf)
    assert got[1].entries == (((7, 0), ((b"a", b"1"), (b"b", b"2"))),)
    assert got[2] == (StreamNodeLayout((7, 0), (b"a", b"b"), 1, 2, len(lp), (7, 2)),)


def test_bad_node_raises_the_references_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry whose lp-count is wrong: the reference's message, at the listpack's offset."""
    lp = encode_listpack([1, 0, 1, b"a", 0, 2, 0, 0, b"v", 9])
    buf = save_len(1) + save_string(bytes(16)) + save_string(lp) + save_len(1) + save_len(0) * 3
    got = both(monkeypatch, 1, buf)
    assert got[:4] == ("err", "BadEncoding", got[2], 18) and "lp-count" in got[2]
