"""The quicklist operations in C (rdbtools._speedups.lpl_* / ql_*) against the pure-Python
references (rdbtools.encodings.quicklist_ops, docs/style.md rule 10): the same results
and the same node bytes over random sequences, those bytes equal to the listpacks
Redis's encoder writes for the node's elements, and the elements equal to a plain
Python list's. The C module is imported directly, whatever RDBKIT_PUREPYTHON says."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools.encodings import quicklist_ops as Q
from rdbtools.encodings.listpack import decode_listpack_strings, encode_listpack
from rdbtools.errors import BadEncoding

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

text = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(lambda i: b"%d" % i),
    st.sampled_from([b"0", b"127", b"128", b"-4096", b"4095", b"-0", b"007", b"", b"x"]),
    st.binary(max_size=10),
    st.sampled_from([b"L" * 130, b"M" * 4095, b"N" * 5000]),
)
node_op = st.one_of(
    st.tuples(st.just("push"), text, st.booleans()),
    st.tuples(st.just("pop"), st.just(b""), st.booleans()),
    st.tuples(st.just("get"), st.just(b""), st.integers(0, 50)),
    st.tuples(st.just("replace"), text, st.integers(0, 50)),
    st.tuples(st.just("insert"), text, st.integers(0, 50)),
    st.tuples(st.just("delete"), st.just(b""), st.tuples(st.integers(0, 50), st.integers(0, 5))),
)


def _node_ops(lp: bytearray, ops, m) -> list:
    """Apply ops to a node through module m (the Python names or the C twins)."""
    out: list = []
    model = decode_listpack_strings(lp)
    for kind, item, arg in ops:
        n = len(model)
        if kind == "push":
            m[0](lp, item, arg)
            model.insert(0 if arg else n, item)
        elif kind == "pop" and n:
            out.append(m[1](lp, arg))
            model.pop(0 if arg else -1)
        elif kind == "get" and n:
            out.append(m[2](lp, arg % n))
        elif kind == "replace" and n:
            m[3](lp, arg % n, item)
            model[arg % n] = item
        elif kind == "insert":
            m[4](lp, arg % (n + 1), item)
            model.insert(arg % (n + 1), item)
        elif kind == "delete" and n:
            start = arg[0] % n
            k = min(arg[1], n - start)
            m[5](lp, start, k)
            del model[start : start + k]
        assert decode_listpack_strings(lp) == model
        assert bytes(lp) == encode_listpack(model)  # the bytes lpAppend's choices give
    return out


PY = (Q.lpl_push_py, Q.lpl_pop_py, Q.lpl_get_py, Q.lpl_replace_py, Q.lpl_insert_py, Q.lpl_delete_py)
CC = (C.lpl_push, C.lpl_pop, C.lpl_get, C.lpl_replace, C.lpl_insert, C.lpl_delete)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.lists(text, max_size=8), ops=st.lists(node_op, max_size=40))
def test_node_ops_match(start, ops) -> None:
    a, b = bytearray(encode_listpack(start)), bytearray(encode_listpack(start))
    assert _node_ops(a, ops, PY) == _node_ops(b, ops, CC)
    assert a == b


list_op = st.one_of(
    st.tuples(st.just("push"), st.lists(text, min_size=1, max_size=6), st.booleans()),
    st.tuples(st.just("pop"), st.just([]), st.booleans()),
    st.tuples(st.just("get"), st.just([]), st.integers(0, 1000)),
    st.tuples(st.just("range"), st.just([]), st.tuples(st.integers(0, 1000), st.integers(0, 1000))),
)


def _list_ops(nodes: list, fill: int, ops, push, pop, get, rng) -> list:
    out: list = []
    model: list[bytes] = []
    for kind, items, arg in ops:
        n = len(model)
        if kind == "push":
            out.append(push(nodes, items, arg, fill))
            for x in items:
                model.insert(0 if arg else len(model), x)
        elif kind == "pop" and n:
            out.append(pop(nodes, arg))
            model.pop(0 if arg else -1)
        elif kind == "get" and n:
            out.append(get[0](nodes, arg % n))
            node, off = get[1](nodes, arg % n)
            assert Q.node_items(nodes[node])[off] == model[arg % n]
            out.append((node, off))
        elif kind == "range":
            a = arg[0] % (n + 1)
            b = a + arg[1] % (n + 1 - a)
            out.append(rng[0](nodes, a, b))
            assert out[-1] == model[a:b]
        assert [x for nd in nodes for x in Q.node_items(nd)] == model
        assert all(nd.__class__ is bytes or Q.lpl_count(nd) for nd in nodes)  # no empty node
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fill=st.sampled_from([-1, -2, -5, 0, 1, 3, 128]), ops=st.lists(list_op, max_size=60))
def test_list_ops_match(fill, ops) -> None:
    a: list = []
    b: list = []
    ra = _list_ops(a, fill, ops, Q.ql_push_py, Q.ql_pop_py, (Q.ql_get_py, Q.ql_locate_py), (Q.ql_range_py,))
    rb = _list_ops(b, fill, ops, C.ql_push, C.ql_pop, (C.ql_get, C.ql_locate), (C.ql_range,))
    assert ra == rb
    assert a == b


def test_fill_rules_cut_nodes_as_redis() -> None:
    """fill 3: three elements a node; fill -1: 4 KiB a node with the 8-byte estimate."""
    for push in (Q.ql_push_py, C.ql_push):
        nodes: list = []
        push(nodes, [b"a"] * 7, False, 3)
        assert [Q.lpl_count(n) for n in nodes] == [3, 3, 1]
        nodes = []
        push(nodes, [b"x" * 100] * 80, False, -1)
        # an entry is 103 bytes: 7 + 38 * 103 + 100 + 8 <= 4096 < 7 + 39 * 103 + 108
        assert [Q.lpl_count(n) for n in nodes] == [39, 39, 2]


def test_ranges_read_compressed_nodes() -> None:
    lp = bytearray(encode_listpack([b"abc" * 10] * 20))
    cnode = Q.compress_node(lp)
    assert cnode is not None and cnode[1] == len(lp) and cnode[2] == 20
    nodes = [bytearray(encode_listpack([b"h"])), cnode, bytearray(encode_listpack([b"t"]))]
    want = [b"h"] + [b"abc" * 10] * 20 + [b"t"]
    assert Q.ql_range_py(nodes, 0, 22) == C.ql_range(nodes, 0, 22) == want
    assert Q.ql_get_py(nodes, 5) == C.ql_get(nodes, 5) == b"abc" * 10
    assert Q.ql_range_py(nodes, 1, 3) == C.ql_range(nodes, 1, 3) == [b"abc" * 10] * 2
    assert Q.ql_pop_py(nodes[1:2], True) is None and C.ql_pop(nodes[1:2], True) is None


def test_small_or_incompressible_nodes_stay_raw() -> None:
    assert Q.compress_node(bytearray(encode_listpack([b"a" * 30]))) is None  # < 48 bytes
    import os

    assert Q.compress_node(bytearray(encode_listpack([os.urandom(200)]))) is None


def test_damaged_node_raises_bad_encoding() -> None:
    lp = bytearray(encode_listpack([b"a", b"b"]))
    lp[-2] = 0x7F  # the last backlen points before the header
    for pop in (Q.lpl_pop_py, C.lpl_pop):
        with pytest.raises(BadEncoding):
            pop(bytearray(lp), False)
