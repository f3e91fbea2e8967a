"""rdbtools.prefixes.PrefixTree: nested prefix totals that stay exact at every level
while the number of prefixes kept is bounded."""

from __future__ import annotations

import pytest

from rdbtools.memory import MemorySummary, estimate
from rdbtools.model import Record
from rdbtools.prefixes import PrefixNode, PrefixTree

KEYS = [b"user:1:name", b"user:1:mail", b"user:2:name", b"user", b"session:x", b"a:b:c:d:e", b":lead"]


def sizes(tree: PrefixTree) -> list[tuple[int, int]]:
    """(keys, bytes) of every node, checking that each is its children plus own and rest."""
    out, todo = [], [tree.root]
    while todo:
        node: PrefixNode = todo.pop()
        kids = node.children.values()
        assert node.keys == sum(c.keys for c in kids) + node.own_keys + node.rest_keys
        assert node.bytes == sum(c.bytes for c in kids) + node.own_bytes + node.rest_bytes
        assert node.bytes == sum(node.types.values())
        out.append((node.keys, node.bytes))
        todo.extend(kids)
    return out


def test_levels_and_first_level_match_the_flat_summary() -> None:
    tree = PrefixTree(b":", depth=3)
    flat = MemorySummary(separator=b":", depth=1)
    for i, key in enumerate(KEYS):
        rec = Record(0, key, "string", b"v" * 10 * i)
        est = estimate(rec)
        tree.add(key, rec.type, est.total)
        flat.add(rec, est)
    sizes(tree)
    user = tree.root.children[b"user"]
    assert (user.keys, user.own_keys, sorted(user.children)) == (3, 0, [b"1", b"2"])
    assert user.children[b"1"].own_keys == 2 and tree.root.own_keys == 1  # b"user" has no separator
    assert tree.root.children[b"a"].children[b"b"].children[b"c"].own_keys == 1  # depth 3: a:b:c:
    assert tree.root.children[b""].keys == 1  # ":lead" is under the empty part ":"
    level1 = {p + b":": (c.keys, c.bytes) for p, c in tree.root.children.items()}
    assert level1 == {p: (n, b) for p, n, b in flat.top_prefixes(100) if p is not None}


def test_node_bound_keeps_totals_exact() -> None:
    tree = PrefixTree(b":", depth=2, max_nodes=10)
    for i in range(1000):
        tree.add(b"p%d:q%d:x" % (i % 7, i), "set", i)
    assert tree.nodes == 10
    got = sizes(tree)
    assert got[0] == (1000, sum(range(1000)))
    assert tree.root.children[b"p0"].rest_keys > 0


def test_empty_separator_is_refused() -> None:
    with pytest.raises(ValueError):
        PrefixTree(b"")

