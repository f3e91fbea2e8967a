"""List values: a quicklist of listpack nodes, as Redis 7.0 keeps every list.

``nodes`` holds the quicklist's nodes in order (see
:mod:`rdbtools.encodings.quicklist_ops`: a ``bytearray`` listpack, ``bytes`` for a
plain node, a tuple ``(lzf, sz, count)`` for a compressed one); ``count`` the
elements. ``fill`` and ``compress`` are the list's own ``list-max-listpack-size`` and
``list-compress-depth``, taken from the configuration when the list is made
(createQuicklistObject, quicklistSetOptions), so a later CONFIG SET leaves it as it
is, as in Redis.

The methods mirror quicklist.c: the hot ones (push, pop, read by index or range) are
one C call each (``ql_*``); the rest (replace, insert before/after, delete ranges,
merges, the compression of inner nodes) follow ``quicklistReplaceEntry``,
``_quicklistInsert``, ``quicklistDelRange``, ``_quicklistMergeNodes`` and
``__quicklistCompress`` over the node-level listpack operations, so the nodes hold
the bytes Redis's would after the same commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aof.replies import quicklist_bulks
from rdbtools.encodings import quicklist_ops as Q
from rdbtools.encodings.listpack_ops import lp_length
from rdbtools.encodings.quicklist_ops import (
    PACKED_THRESHOLD,
    allow_insert,
    allow_merge,
    compress_node,
    decompress_node,
    lpl_delete,
    lpl_insert,
    lpl_push,
    lpl_replace,
    new_node,
    node_count,
    node_items,
    ql_get,
    ql_locate,
    ql_pop,
    ql_push,
    ql_range,
)


def _clamp_fill(fill: int) -> int:
    """quicklistSetFill."""
    return max(-5, min(Q.FILL_MAX, fill))


class ListValue:
    __slots__ = ("nodes", "count", "fill", "compress")

    def __init__(self, items: Iterable[bytes] = (), fill: int = -2, compress: int = 0) -> None:
        self.nodes: list = []
        self.count = 0
        self.fill = _clamp_fill(fill)
        self.compress = max(0, min(Q.COMPRESS_MAX, compress))  # quicklistSetCompressDepth
        items = items if isinstance(items, (list, tuple)) else list(items)
        if items:
            self.push(items, False)
            self.fit()

    @classmethod
    def new(cls, config: object, items: Iterable[bytes] = ()) -> ListValue:
        """createQuicklistObject with the configured fill and compress depth."""
        return cls(items, config.list_max_listpack_size, config.list_compress_depth)  # type: ignore[attr-defined]

    @classmethod
    def from_nodes(cls, config: object, nodes: list, count: int) -> ListValue:
        """A loaded list: its validated nodes appended in order (quicklistAppendListpack,
        quicklistAppendPlainNode), compressed as the depth says."""
        for node in nodes:  # node->count = lpLength(): an "unknown" count is stored
            if node.__class__ is bytearray and node[4] == node[5] == 0xFF:
                lp_length(node)
        lst = cls.new(config)
        if not lst.compress:
            lst.nodes = nodes
        else:
            for node in nodes:
                lst._insert_node(len(lst.nodes), node, len(lst.nodes) - 1 if lst.nodes else None)
        lst.count = count
        lst.fit()
        return lst

    def fit(self) -> None:
        """The node list at its exact size: one made by appends keeps spare slots, and
        most lists keep their one node for good."""
        self.nodes = self.nodes[:]

    def encoding(self) -> str:
        return "quicklist"

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self) -> Iterator[bytes]:
        for node in self.nodes:
            yield from node_items(node)

    def __reversed__(self) -> Iterator[bytes]:
        for node in reversed(self.nodes):
            yield from reversed(node_items(node))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListValue):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ListValue({list(self)!r})"

    # -- the hot operations -----------------------------------------------------

    def push(self, items: list[bytes] | tuple[bytes, ...], head: bool) -> None:
        """quicklistPush of each item (LPUSH pushes them one by one to the head)."""
        nodes = self.nodes
        if not self.compress:
            ql_push(nodes, items, head, self.fill)
        else:
            for item in items:
                if ql_push(nodes, (item,), head, self.fill):  # __quicklistInsertNode
                    n = len(nodes)
                    if n > 1:
                        self._compress_around(1 if head else n - 2)
                    self._compress_around(0 if head else n - 1)
        self.count += len(items)

    def pop(self, head: bool) -> bytes:
        """quicklistPop: the first or last element, removed."""
        nodes = self.nodes
        n = len(nodes)
        v = ql_pop(nodes, head)
        if v is None:  # a compressed end node (left by a short list): decompressed for use
            i = 0 if head else n - 1
            nodes[i] = decompress_node(nodes[i])
            v = ql_pop(nodes, head)
        self.count -= 1
        if self.compress and len(nodes) != n:
            self._compress_around(None)  # __quicklistDelNode
        return v  # type: ignore[no-any-return]

    def pop_many(self, head: bool, n: int) -> list[bytes]:
        """listPopRangeAndReplyWithKey: the first (last) ``n`` elements, read by an
        iterator, then deleted by quicklistDelRange."""
        n = min(n, self.count)
        if not self.compress:  # the same nodes as n single pops, faster
            return [self.pop(head) for _ in range(n)]
        start = 0 if head else self.count - n
        items = self.range(start, start + n)
        self.visit(start, start + n)
        self.delete_range(start, n)
        if not head:
            items.reverse()
        return items

    def get(self, index: int) -> bytes:
        """Element ``index``, 0 <= index < len (LINDEX: its node visited)."""
        if self.compress:
            self._leave(self._locate(index)[0])
        return ql_get(self.nodes, index)  # type: ignore[no-any-return]

    def range(self, start: int, stop: int) -> list[bytes]:
        """Elements ``start`` .. ``stop`` - 1 (0 <= start <= stop <= len)."""
        return ql_range(self.nodes, start, stop)  # type: ignore[no-any-return]

    def range_reply(self, start: int, stop: int) -> bytes:
        """``range`` as LRANGE's reply (a RESP array of bulk strings, by the one RESP
        encoder: aof.replies) — addListRangeReply: the nodes it reads visited."""
        if self.compress:
            self.visit(start, stop)
        return quicklist_bulks(self.nodes, start, stop)

    def visit(self, start: int, stop: int) -> None:
        """A quicklist iterator reading elements ``start`` .. ``stop`` - 1: each node it
        leaves or releases gets quicklistCompress (a raw one the depth rule; a compressed
        one, decompressed for use, is compressed back as it was)."""
        if self.compress and stop > start:
            a = self._locate(start)[0]
            b = self._locate(stop - 1)[0]
            for i in range(a, b + 1):
                self._leave(i)

    def visit_span(self, head: bool, fetched: int) -> None:
        """An iterator from the head (or the tail) that fetched ``fetched`` elements,
        the last node left too when it ran past the end."""
        n = self.count
        fetched = min(fetched, n)
        if head:
            self.visit(0, fetched)
        else:
            self.visit(n - fetched, n)

    def _leave(self, i: int) -> None:
        """quicklistCompress on a node an iterator leaves, not decompressed for use."""
        if self.nodes[i].__class__ is bytearray:
            self._compress_around(i)

    # -- node helpers -----------------------------------------------------------

    def _locate(self, index: int) -> tuple[int, int]:
        """(node number, offset in it) of element ``index``."""
        return ql_locate(self.nodes, index)  # type: ignore[no-any-return]

    def _raw(self, i: int) -> bool:
        """quicklistDecompressNodeForUse: node ``i`` made a bytearray; True when it was
        compressed (then it is recompressed after its use)."""
        node = self.nodes[i]
        if node.__class__ is tuple:
            self.nodes[i] = decompress_node(node)
            return True
        return False

    def _compress_node(self, i: int) -> None:
        """quicklistCompressNode (never the head or the tail)."""
        node = self.nodes[i]
        if node.__class__ is bytearray and 0 < i < len(self.nodes) - 1:
            c = compress_node(node)
            if c is not None:
                self.nodes[i] = c

    def _done(self, i: int, recompress: bool) -> None:
        """quicklistCompress(ql, node) after a change: its own recompression when it was
        decompressed for use, else the depth rule around it."""
        if recompress:
            self._compress_node(i)
        else:
            self._compress_around(i)

    def _compress_around(self, i: int | None) -> None:
        """__quicklistCompress: the nodes within ``compress`` of either end raw, node
        ``i`` (unless within them) and the first ones past the depth compressed."""
        depth = self.compress
        nodes = self.nodes
        n = len(nodes)
        if not depth or n < depth * 2:
            return
        f, r = 0, n - 1
        in_depth = False
        for _ in range(depth):
            if nodes[f].__class__ is tuple:
                nodes[f] = decompress_node(nodes[f])
            if nodes[r].__class__ is tuple:
                nodes[r] = decompress_node(nodes[r])
            if i == f or i == r:
                in_depth = True
            if f == r or f + 1 == r:
                return
            f += 1
            r -= 1
        if not in_depth and i is not None:
            self._compress_node(i)
        self._compress_node(f)
        self._compress_node(r)

    def _insert_node(self, at: int, node: bytearray | bytes, old: int | None) -> None:
        """__quicklistInsertNode: ``node`` placed at position ``at``; ``old`` is the
        neighbour it was inserted against (its position after the insert)."""
        self.nodes.insert(at, node)
        if self.compress:
            if old is not None:
                self._done(old, False)
            self._done(at, False)

    def _del_node(self, i: int) -> None:
        """__quicklistDelNode."""
        self.count -= node_count(self.nodes[i])
        del self.nodes[i]
        self._compress_around(None)

    # -- the other operations ---------------------------------------------------

    def set(self, index: int, item: bytes) -> None:
        """quicklistReplaceAtIndex (LSET)."""
        i, off = self._locate(index)
        node = self.nodes[i]
        if node.__class__ is not bytes and len(item) < PACKED_THRESHOLD:
            re = self._raw(i)
            lpl_replace(self.nodes[i], off, item)
            self._done(i, re)
        elif node.__class__ is bytes and len(item) >= PACKED_THRESHOLD:
            self.nodes[i] = bytes(item)
        else:  # a plain node for a small element, or a large element into a listpack
            self._insert_at(i, off, item, True)
            i, off = self._locate(index)
            if node_count(self.nodes[i]) == 1:
                self._del_node(i)
            else:
                re = self._raw(i)
                lpl_delete(self.nodes[i], off, 1)
                self.count -= 1
                self._done(i, re)

    def _insert_at(self, i: int, off: int, item: bytes, after: bool) -> None:
        """_quicklistInsert next to entry ``off`` of node ``i``."""
        nodes = self.nodes
        fill = self.fill
        node = nodes[i]
        sz = len(item)
        cnt = node_count(node)
        full = not allow_insert(node, fill, sz)
        nxt = nodes[i + 1] if i + 1 < len(nodes) else None
        prv = nodes[i - 1] if i > 0 else None
        at_tail = after and off == cnt - 1
        at_head = not after and off == 0
        avail_next = at_tail and allow_insert(nxt, fill, sz)
        avail_prev = at_head and allow_insert(prv, fill, sz)
        self.count += 1
        if sz >= PACKED_THRESHOLD:
            if node.__class__ is bytes or at_tail or at_head:
                self._insert_node(i + 1 if after else i, bytes(item), i if after else i + 1)
            else:
                self._raw(i)
                rest = self._split(i, off, after)
                self._insert_node(i + 1 if after else i, bytes(item), i if after else i + 1)
                j = i + 2 if after else i + 1
                self._insert_node(j if after else i, rest, j - 1 if after else i + 1)
            return
        if not full:
            re = self._raw(i)
            lpl_insert(nodes[i], off + 1 if after else off, item)
            if re:
                self._compress_node(i)
        elif at_tail and avail_next:
            re = self._raw(i + 1)
            lpl_push(nodes[i + 1], item, True)
            if re:
                self._compress_node(i + 1)
        elif at_head and avail_prev:
            re = self._raw(i - 1)
            lpl_push(nodes[i - 1], item, False)
            if re:
                self._compress_node(i - 1)
        elif at_tail or at_head:
            self._insert_node(i + 1 if after else i, new_node(item), i if after else i + 1)
        else:  # split the node, the element at the cut, then merges around it
            self._raw(i)
            rest = self._split(i, off, after)
            lpl_push(rest, item, after)  # prepended after the cut, appended before it
            at = i + 1 if after else i
            self._insert_node(at, rest, i if after else i + 1)
            self._merge_around(i if after else i + 1)

    def _split(self, i: int, off: int, after: bool) -> bytearray:
        """_quicklistSplitNode: node ``i`` keeps [0, off] (after) or [off, end) (before);
        the rest is returned as a new node."""
        node = self.nodes[i]
        cnt = node_count(node)
        other = bytearray(node)
        if after:
            lpl_delete(node, off + 1, cnt - off - 1)
            lpl_delete(other, 0, off + 1)
        else:
            lpl_delete(node, 0, off)
            lpl_delete(other, off, cnt - off)
        return other

    def _merge(self, a: int, b: int) -> int:
        """_quicklistListpackMerge of nodes a and b = a + 1: b's entries after a's, one
        node left (returned)."""
        nodes = self.nodes
        for j in (a, b):
            if nodes[j].__class__ is tuple:
                nodes[j] = decompress_node(nodes[j])
        la, lb = nodes[a], nodes[b]
        count = node_count(la) + node_count(lb)
        merged = bytearray(la[:-1])
        merged += lb[6:]
        merged[0:6] = len(merged).to_bytes(4, "little") + min(count, 0xFFFF).to_bytes(2, "little")
        nodes[a] = merged  # whichever lpMerge keeps, the merged node takes a's place
        del nodes[b]
        self._compress_around(None)  # __quicklistDelNode of the emptied one
        self._done(a, False)
        return a

    def _merge_around(self, center: int) -> None:
        """_quicklistMergeNodes around node ``center``."""
        nodes = self.nodes
        fill = self.fill
        if center >= 2 and allow_merge(nodes[center - 1], nodes[center - 2], fill):
            self._merge(center - 2, center - 1)
            center -= 1
        if center + 2 < len(nodes) and allow_merge(nodes[center + 1], nodes[center + 2], fill):
            self._merge(center + 1, center + 2)
        if center >= 1 and allow_merge(nodes[center], nodes[center - 1], fill):
            center = self._merge(center - 1, center)
        if center + 1 < len(nodes) and allow_merge(nodes[center], nodes[center + 1], fill):
            self._merge(center, center + 1)

    def delete_range(self, start: int, n: int) -> None:
        """quicklistDelRange: ``n`` elements from ``start`` (0 <= start, start + n <= len)."""
        if n <= 0:
            return
        i, off = self._locate(start)
        if self.compress:
            self._leave(i)  # the iterator that found the start node, released
        extent = n
        while extent:
            node = self.nodes[i]
            cnt = node_count(node)
            if off == 0 and extent >= cnt or node.__class__ is bytes:
                self._del_node(i)
                extent -= cnt
            else:
                d = min(cnt - off, extent)
                re = self._raw(i)
                lpl_delete(self.nodes[i], off, d)
                self.count -= d
                extent -= d
                if re:
                    self._compress_node(i)
                i += 1
            off = 0

    def remove(self, elem: bytes, toremove: int) -> int:
        """LREM: up to ``toremove`` elements equal to ``elem`` from the head (from the tail
        when negative; all when 0), deleted one by one as an iterator meets them
        (quicklistDelEntry: a node emptied is deleted at once)."""
        limit = abs(toremove)
        removed = 0
        nodes = self.nodes
        forward = toremove >= 0
        i = 0 if forward else len(nodes) - 1
        while 0 <= i < len(nodes):
            items = node_items(nodes[i])
            hits = [k for k, x in enumerate(items) if x == elem]
            if not forward:
                hits.reverse()
            if limit:
                hits = hits[: limit - removed]
            removed += len(hits)
            done = bool(limit) and removed >= limit
            if hits and len(hits) == len(items):
                self._del_node(i)  # the iterator moves to the next node
                if not forward:
                    i -= 1
                if done and 0 <= i < len(nodes):
                    self._leave(i)  # released on the node after the deleted one
            else:
                if hits:
                    re = self._raw(i)
                    for k in sorted(hits, reverse=True):
                        lpl_delete(nodes[i], k, 1)
                    self.count -= len(hits)
                    if re:
                        self._compress_node(i)
                    elif self.compress:
                        self._compress_around(i)
                elif self.compress:
                    self._leave(i)
                i += 1 if forward else -1
            if done:
                break
        return removed

    def insert_at_pivot(self, pivot: bytes, item: bytes, after: bool) -> bool:
        """LINSERT: ``item`` before/after the first ``pivot``; False when there is none.
        The nodes the search passes are left by its iterator."""
        for i, node in enumerate(self.nodes):
            for off, x in enumerate(node_items(node)):
                if x == pivot:
                    self._insert_at(i, off, item, after)
                    return True
            if self.compress:
                self._leave(i)
        return False

    def copy(self) -> ListValue:
        """quicklistDup: the same nodes (compressed ones as they are), the same options."""
        new = ListValue.__new__(ListValue)
        new.nodes = [bytearray(n) if n.__class__ is bytearray else n for n in self.nodes]
        new.count = self.count
        new.fill = self.fill
        new.compress = self.compress
        return new

