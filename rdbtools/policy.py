"""Redis's encoding choices: which compact form a value gets, per RDB version.

The thresholds are Redis's config parameters with Redis's defaults
(docs/formats.md §10.1), named as in ``redis.conf`` so ``EncodingPolicy.from_config``
takes a server's ``CONFIG GET`` output as is (old ``*-ziplist-*`` aliases too).
The encoder and, later, the server's value types ask the same questions here, so
a key reports the same ``OBJECT ENCODING`` that its RDB type byte implies.

Version eras (docs/formats.md §1.7): RDB 6 is Redis 2.6–3.0 (ziplist or linked list
lists), 7–9 are 3.2–6.2 (quicklist of ziplists), 10 is 7.0 (listpacks,
quicklist 2), 11 is 7.2 (set listpacks, one-node listpack lists), 12 is 7.4
(hash field TTLs; PLAIN quicklist nodes for elements above the node size).

Besides the thresholds this module holds the rules that decide byte-exact
output: ``double2ll`` (util.c: integral doubles within ±2^62 are stored as
integers), ``zset_score_entry``/``fpconv_dtoa`` (how each era spells a score
inside a ziplist/listpack) and how each era splits a list into quicklist nodes
(``_quicklistNodeAllowInsert``). Whether liblzf keeps a compressed string is
:func:`rdbtools.lzf.lzf_fits`. Every rule here is checked against DUMP/SAVE
output of real 6.2 and 7.0 servers (tests/differential).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from itertools import chain

from .encodings.listpack import lp_entry_size
from .numbers import double2ll, g17, string2ll

# quicklist.c: optimization_level[] (bytes per node for fill -1..-5) and SIZE_SAFETY_LIMIT
_NODE_LEVELS = (4096, 8192, 16384, 32768, 65536)
_SIZE_SAFETY_LIMIT = 8192
_SIZE_ESTIMATE_OVERHEAD = 8  # quicklist.c, 7.0+
_PACKED_THRESHOLD_70 = 1 << 30  # 7.0/7.2: only elements ≥ 1 GiB get PLAIN nodes
_LLONG_HALF = float((2**63 - 1) // 2)  # (double)(LLONG_MAX/2) == 2^62

_ALIASES = {
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value",
    "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
    "list-max-ziplist-size": "list-max-listpack-size",
}


@dataclass(frozen=True, slots=True)
class EncodingPolicy:
    """Compact-encoding thresholds, one attribute per Redis config parameter."""

    hash_max_listpack_entries: int = 512
    hash_max_listpack_value: int = 64
    zset_max_listpack_entries: int = 128
    zset_max_listpack_value: int = 64
    set_max_intset_entries: int = 512
    set_max_listpack_entries: int = 128
    set_max_listpack_value: int = 64
    list_max_listpack_size: int = -2
    list_max_ziplist_entries: int = 512  # Redis ≤ 3.0 (RDB 6) lists
    list_max_ziplist_value: int = 64
    stream_node_max_bytes: int = 4096
    stream_node_max_entries: int = 100

    @classmethod
    def from_config(cls, config: Mapping[str, int | str | bytes]) -> EncodingPolicy:
        """A policy from Redis config names (``hash-max-listpack-entries``, aliases too).

        Unknown names are ignored so a whole ``CONFIG GET *`` reply can be passed.
        """
        names = {f.name for f in fields(cls)}
        values: dict[str, int] = {}
        for raw_name, raw in config.items():
            name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            name = _ALIASES.get(name.lower(), name.lower())
            attr = name.replace("-", "_")
            if attr in names:
                values[attr] = int(raw)
        return replace(cls(), **values)

    def to_config(self) -> dict[str, int]:
        return {f.name.replace("_", "-"): getattr(self, f.name) for f in fields(self)}

    # ------------------------------------------------------------------ choices

    def set_encoding(self, members: Sequence[bytes], version: int) -> str:
        """``intset``, ``listpack`` (RDB ≥ 11) or ``hashtable`` (t_set.c setTypeCreate/Add)."""
        n = len(members)
        if n <= self.set_max_intset_entries and None not in map(string2ll, members):
            return "intset"
        if (
            version >= 11
            and n <= self.set_max_listpack_entries
            and (not members or max(map(len, members)) <= self.set_max_listpack_value)
        ):
            return "listpack"
        return "hashtable"

    def zset_encoding(self, pairs: Sequence[tuple[bytes, float]], version: int) -> str:
        """``listpack`` (≥ 10) / ``ziplist`` (≤ 9) while small, else ``skiplist``."""
        if len(pairs) <= self.zset_max_listpack_entries and (
            not pairs or max(len(p[0]) for p in pairs) <= self.zset_max_listpack_value
        ):
            return "listpack" if version >= 10 else "ziplist"
        return "skiplist"

    def hash_encoding(
        self, pairs: Sequence[tuple[bytes, bytes]], version: int, field_ttls: bool = False
    ) -> str:
        """``listpack``/``ziplist`` while small (``listpackex`` with field TTLs), else ``hashtable``."""
        if len(pairs) <= self.hash_max_listpack_entries and (
            not pairs or max(map(len, chain.from_iterable(pairs))) <= self.hash_max_listpack_value
        ):
            if field_ttls:
                return "listpackex"
            return "listpack" if version >= 10 else "ziplist"
        return "hashtable"

    def list_encoding(self, items: Sequence[bytes], version: int) -> str:
        """RDB 6 (Redis ≤ 3.0): ``ziplist`` or ``linkedlist``; later always ``quicklist``."""
        if version >= 7:
            return "quicklist"
        if len(items) <= self.list_max_ziplist_entries and (
            not items or max(map(len, items)) <= self.list_max_ziplist_value
        ):
            return "ziplist"
        return "linkedlist"

    # ------------------------------------------------------------------ quicklist nodes

    def _node_limits(self) -> tuple[int | None, int | None]:
        """(size limit, count limit) of a node for ``list-max-listpack-size`` (quicklistNodeLimit)."""
        fill = self.list_max_listpack_size
        if fill >= 0:
            return None, (1 if fill == 0 else fill)
        return _NODE_LEVELS[min(-fill - 1, len(_NODE_LEVELS) - 1)], None

    def list_nodes(self, items: Sequence[bytes], version: int) -> list[tuple[bool, list[bytes]]]:
        """Split a list into quicklist nodes as RPUSH of each element would (RDB ≥ 7).

        Returns ``[(plain, elements), ...]``; a ``plain`` node holds one big element.
        Mirrors ``_quicklistNodeAllowInsert`` of the version's era: 3.2–6.2 estimate
        the ziplist growth; 7.0 and 7.2 add 8 bytes per element and give only
        elements ≥ 1 GiB a PLAIN node; 7.2+ keep a list that fits one node as a
        single listpack (t_list.c listTypeTryConvertListpack); 7.4 sends elements
        above the node size limit to PLAIN nodes.
        """
        era = 12 if version >= 12 else version if version >= 10 else 9
        size_limit, count_limit = self._node_limits()
        total = 7 + sum(map(len, items))
        if era >= 11:
            if size_limit is not None:
                fits = total <= size_limit
            else:
                fits = (total <= _SIZE_SAFETY_LIMIT and count_limit is not None
                        and len(items) <= count_limit)
            if fits:
                return [(False, list(items))]
        elif size_limit is not None and total + 4 + 10 * len(items) <= size_limit:
            # every entry costs at most its length + 10 bytes and every estimate adds at most
            # 10, so no insert can cross the limit: one node, without walking the elements
            return [(False, list(items))]
        return self._split(items, era, size_limit, count_limit)

    def _split(
        self, items: Sequence[bytes], era: int, size_limit: int | None, count_limit: int | None
    ) -> list[tuple[bool, list[bytes]]]:
        nodes: list[tuple[bool, list[bytes]]] = []
        cur: list[bytes] | None = None
        node_sz = 0
        prev_entry = 0  # ziplist: size of the previous entry (for its prevlen field)
        if era == 12:
            large_from = (size_limit if size_limit is not None else _SIZE_SAFETY_LIMIT) + 1
        elif era >= 10:
            large_from = _PACKED_THRESHOLD_70
        else:
            large_from = -1
        for item in items:
            sz = len(item)
            if 0 <= large_from <= sz:
                nodes.append((True, [item]))
                cur = None
                continue
            if cur is not None and _allow_insert(era, node_sz, len(cur), sz, size_limit, count_limit):
                cur.append(item)
            else:
                cur = [item]
                nodes.append((False, cur))
                node_sz = 7 if era >= 10 else 11  # empty listpack / ziplist
                prev_entry = 0
            if era >= 10:
                node_sz += lp_entry_size(item)
            else:
                entry = zl_entry_size(item, prev_entry)
                node_sz += entry
                prev_entry = entry
        return nodes

    # ------------------------------------------------------------------ streams

    def stream_node_full(self, lp_bytes: int, entries: int, new_bytes: int, version: int) -> bool:
        """Does a new stream entry need a new node? (``streamAppendItem``)

        6.2 (RDB 9) looks at the node's size alone; 7.0+ adds the new entry's
        field and value bytes (``new_bytes``). Both count live and deleted entries.
        """
        max_bytes = self.stream_node_max_bytes
        if version >= 10:
            if max_bytes <= 0 or max_bytes > 1 << 30:
                max_bytes = 1 << 30
            if lp_bytes + new_bytes >= max_bytes:
                return True
        elif max_bytes and lp_bytes >= max_bytes:
            return True
        return bool(self.stream_node_max_entries) and entries >= self.stream_node_max_entries


def _allow_insert(
    era: int, node_sz: int, count: int, sz: int, size_limit: int | None, count_limit: int | None
) -> bool:
    """quicklist.c ``_quicklistNodeAllowInsert`` for the era (9: ≤ 6.2, 10: 7.0, 11+: 7.2+)."""
    if era >= 11:
        new_sz = node_sz + sz + _SIZE_ESTIMATE_OVERHEAD
        if size_limit is not None:
            return new_sz <= size_limit
        return new_sz <= _SIZE_SAFETY_LIMIT and count_limit is not None and count + 1 <= count_limit
    if era == 10:
        new_sz = node_sz + sz + _SIZE_ESTIMATE_OVERHEAD
    else:
        new_sz = node_sz + sz + (1 if sz < 254 else 5) + (1 if sz < 64 else 2 if sz < 16384 else 5)
    if size_limit is not None and new_sz <= size_limit:
        return True
    if new_sz > _SIZE_SAFETY_LIMIT:
        return False
    return count_limit is not None and count < count_limit




def zl_entry_size(item: bytes, prev_entry: int) -> int:
    """Bytes a ziplist entry for ``item`` takes after an entry of ``prev_entry`` bytes."""
    head = 1 if prev_entry < 254 else 5
    n = len(item)
    v = string2ll(item) if 0 < n < 32 else None
    if v is not None:
        if 0 <= v <= 12:
            return head + 1
        if -128 <= v <= 127:
            return head + 2
        if -32768 <= v <= 32767:
            return head + 3
        if -8388608 <= v <= 8388607:
            return head + 4
        if -2147483648 <= v <= 2147483647:
            return head + 5
        return head + 9
    return head + n + (1 if n <= 63 else 2 if n <= 16383 else 5)


# ----------------------------------------------------------------------------- strings


# ----------------------------------------------------------------------------- numbers



def _d2string_62(v: float) -> bytes:
    """Redis ≤ 7.0 ``d2string``/``rdbSaveDoubleValue`` text: integers below 2^52 without a
    fraction, ``-0`` kept, everything else ``%.17g``."""
    if math.isinf(v):
        return b"inf" if v > 0 else b"-inf"
    if v == 0:
        return b"-0" if math.copysign(1.0, v) < 0 else b"0"
    if -4503599627370495.0 < v < 4503599627370496.0 and v == int(v):
        return b"%d" % int(v)
    return b"%.17g" % v


def fpconv_dtoa(v: float) -> bytes:
    """Redis 7.2+ ``fpconv_dtoa`` layout around the shortest round-trip digits.

    The digits come from Python's ``repr`` (shortest round trip); fpconv's grisu2
    gives the same digits except for rare doubles where grisu2 is not shortest.
    The layout follows ``emit_digits``: plain integer while the exponent is below
    ndigits + 7, plain decimal for K > -7 or exponent < 4, else ``d.ddde±x``.
    """
    if math.isinf(v):
        return b"inf" if v > 0 else b"-inf"
    if v != v:  # filter_special after the sign of the bits: "nan" / "-nan"
        return g17(v)
    if v == 0:
        return b"-0" if math.copysign(1.0, v) < 0 else b"0"
    neg = v < 0
    text = repr(abs(v))
    mant, _, exp_text = text.partition("e")
    whole, _, frac = mant.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    k = (int(exp_text) if exp_text else 0) - len(frac)
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    nd = len(digits)
    e = abs(k + nd - 1)
    if k >= 0 and e < nd + 7:
        out = digits + "0" * k
    elif k < 0 and (k > -7 or e < 4):
        offset = nd + k
        if offset <= 0:
            out = "0." + "0" * (-offset) + digits
        else:
            out = digits[:offset] + "." + digits[offset:]
    else:
        nd = min(nd, 18 - neg)
        out = digits[0] + ("." + digits[1:nd] if nd > 1 else "")
        out += "e" + ("-" if k + nd - 1 < 0 else "+") + str(e)
    return ("-" + out if neg else out).encode("ascii")


def zset_score_entry(score: float, version: int) -> bytes | int:
    """A zset score as the era's ``zzlInsertAt`` puts it in a ziplist/listpack.

    ≤ 6.2 (RDB ≤ 9): ``d2string`` text (integral → digits, stored as a ziplist int
    by the blob encoder; ``-0`` stays text). 7.0+: ``double2ll`` → integer entry,
    else ``%.17g`` (7.0, RDB 10) or the shortest round-trip text (7.2+, RDB ≥ 11).
    """
    if version <= 9:
        return _d2string_62(score)
    iv = double2ll(score)
    if iv is not None:
        return iv
    if version == 10:
        return _d2string_62(score)
    return fpconv_dtoa(score)


def string_double(score: float) -> bytes:
    """Type-3 zset score (``rdbSaveDoubleValue``): length byte + text, 253/254/255 specials."""
    if score != score:
        return b"\xfd"
    if math.isinf(score):
        return b"\xfe" if score > 0 else b"\xff"
    text = _d2string_62(score)
    if text == b"-0":
        text = b"0"  # rdbSaveDoubleValue's integer path prints (long long)-0.0 as 0
    return bytes((len(text),)) + text


__all__ = [
    "EncodingPolicy",
    "double2ll",
    "fpconv_dtoa",
    "lp_entry_size",
    "string_double",
    "zl_entry_size",
    "zset_score_entry",
]
