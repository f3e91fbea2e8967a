"""streamlp.c's stream_nodes against objects.streams._encode_stream_nodes_py: the same nodes.

Entries with the master's fields and with others, values that spell integers (stored
as integer entries) and strings of every listpack string width, ids at the top of the
uint64 range (deltas that wrap), node limits by bytes and by entries under the 6.2 and
the 7.0+ rules, tuples and lists alike. The C module is imported directly, whatever
RDBKIT_PUREPYTHON says.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools.encodings import decode_listpack
from rdbtools.objects import streams
from rdbtools.policy import EncodingPolicy

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

VALUES = st.sampled_from([b"", b"0", b"-1", b"127", b"128", b"4096", b"-4097", b"70000", b"9223372036854775807",
                          b"-9223372036854775808", b"9223372036854775808", b"007", b"v", b"x" * 63, b"y" * 64,
                          b"z" * 4095, b"w" * 4096])
FIELDS = st.sampled_from([b"f", b"g", b"1", b"name" * 20])
IDS = st.sampled_from([0, 1, 5, 2**32, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1])


@st.composite
def stream_entries(draw: Any) -> list[Any]:
    ids = sorted(set(draw(st.lists(st.tuples(IDS, IDS), max_size=30))))
    out = []
    for sid in ids:
        pairs = draw(st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=4))
        out.append((sid, tuple(pairs)))
    return out


def c_nodes(entries: Any, policy: EncodingPolicy, version: int) -> Any:
    return C.stream_nodes(entries, policy.stream_node_max_bytes, policy.stream_node_max_entries, version)


@settings(max_examples=300, deadline=None)
@given(stream_entries(), st.sampled_from([0, 1, 60, 300, 4096, 1 << 31]), st.sampled_from([0, 1, 3, 100]),
       st.sampled_from([9, 10, 11]), st.booleans())
def test_c_nodes_equal_python(entries: list[Any], max_bytes: int, max_entries: int, version: int,
                              as_lists: bool) -> None:
    policy = EncodingPolicy(stream_node_max_bytes=max_bytes, stream_node_max_entries=max_entries)
    want = streams._encode_stream_nodes_py(entries, policy, version)
    given_entries = [[list(sid), [list(p) for p in fv]] for sid, fv in entries] if as_lists else entries
    got = c_nodes(given_entries, policy, version)
    assert [bytes(lp) for _, lp in got] == [lp for _, lp in want]
    assert [tuple(m) for m, _ in got] == [m for m, _ in want]
    for _, lp in got:
        decode_listpack(lp)  # a valid listpack


def test_many_entries_in_one_node_count_as_unknown() -> None:
    """A node of more than 65535 elements carries the "unknown" element count."""
    entries = [((1, i), ((b"f", b"v"),)) for i in range(20000)]
    policy = EncodingPolicy(stream_node_max_bytes=0, stream_node_max_entries=0)
    want = streams._encode_stream_nodes_py(entries, policy, 10)
    assert c_nodes(entries, policy, 10) == want
    assert want[0][1][4:6] == b"\xff\xff"


def test_bad_shapes_are_type_errors() -> None:
    policy = EncodingPolicy()
    for bad in ([((1,), ((b"f", b"v"),))], [((1, 2), ((b"f",),))], [((1, 2), b"fv")], [((-1, 2), ((b"f", b"v"),))]):
        with pytest.raises((TypeError, OverflowError)):
            c_nodes(bad, policy, 10)


def test_the_switch_picks_the_encoder() -> None:
    from rdbtools._accel import use_c

    want = streams._encode_stream_nodes_c if use_c() else streams._encode_stream_nodes_py
    assert streams.encode_stream_nodes is want
