"""Memory by key prefix, nested: the data behind the report's treemap.

A key ``user:42:profile`` split on ``:`` counts in ``user:`` and in ``user:42:``
(up to ``depth`` parts, as :meth:`rdbtools.memory.MemorySummary.prefix_of` cuts
one level); a key whose last part has no separator ends at its deepest prefix
(``own`` keys of that node), a key without any at the root. Every node's totals
are exact; only the number of nodes is bounded (``max_nodes``): past it, a key
whose prefix would need a new node is counted in the ``rest`` of the deepest
node that exists, so a keyspace of ten million distinct ids costs a bounded
table and still sums to the right bytes at every level.
"""

from __future__ import annotations


class PrefixNode:
    """One prefix: keys and bytes below it, bytes per type, and its sub-prefixes by part."""

    __slots__ = ("keys", "bytes", "types", "children", "own_keys", "own_bytes",
                 "rest_keys", "rest_bytes")

    def __init__(self) -> None:
        self.keys = 0
        self.bytes = 0
        self.types: dict[str, int] = {}
        self.children: dict[bytes, PrefixNode] = {}
        self.own_keys = 0  # keys that end at this prefix (no deeper prefix)
        self.own_bytes = 0
        self.rest_keys = 0  # keys under sub-prefixes not kept (max_nodes reached)
        self.rest_bytes = 0


class PrefixTree:
    """Keys tallied into nested prefixes, at most ``max_nodes`` of them (first seen kept).

    Unlike :class:`~rdbtools.memory.MemorySummary`'s flat prefix table, which counts
    one depth, this keeps every level so a treemap can nest them.
    """

    def __init__(self, separator: bytes = b":", depth: int = 3, max_nodes: int = 50_000) -> None:
        if not separator:
            raise ValueError("the prefix separator must not be empty")
        self.separator = separator
        self.depth = depth
        self.max_nodes = max_nodes
        self.nodes = 0
        self.root = PrefixNode()

    def add(self, key: bytes, type_name: str, size: int) -> None:
        node = self.root
        parts = key.split(self.separator, self.depth)
        last = len(parts) - 1  # a prefix for every part followed by the separator
        i = 0
        while True:
            node.keys += 1
            node.bytes += size
            types = node.types
            types[type_name] = types.get(type_name, 0) + size
            if i == last:
                node.own_keys += 1
                node.own_bytes += size
                return
            child = node.children.get(parts[i])
            if child is None:
                if self.nodes >= self.max_nodes:
                    node.rest_keys += 1
                    node.rest_bytes += size
                    return
                child = node.children[parts[i]] = PrefixNode()
                self.nodes += 1
            node = child
            i += 1

__all__ = ["PrefixNode", "PrefixTree"]
