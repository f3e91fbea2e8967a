"""Hash values: a listpack's bytes while small, a dict once converted, as Redis 7.0.

A new hash is a listpack (``lp``, a ``bytearray`` holding exactly the bytes Redis's
listpack would: the same entry encodings, integers stored as integers, the header's
total and count), changed in place by the listpack-of-pairs operations of
``rdbtools.encodings.listpack_ops`` (C, with the pure-Python reference under
``RDBKIT_PUREPYTHON``). A loaded or restored listpack is kept as the bytes it came
in. Conversion to a hashtable (``ht``, a dict in insertion order) mirrors
``hashTypeTryConversion``/``hashTypeSet``/``hashTypeConvert``: a field or value longer
than ``hash-max-listpack-value``, more than ``hash-max-listpack-entries`` fields, or a
listpack that would pass ``lpSafeToAdd``'s 1 GiB converts it, one way.

Exactly one of ``lp`` and ``ht`` is set; callers go through the methods.

A hash that Redis converts only for a long field or value (most such hashes have a few
fields) keeps its listpack here, marked ``wide``: it is a hashtable to every client
(OBJECT ENCODING, HSCAN, MEMORY USAGE, DUMP and SAVE write RDB_TYPE_HASH, lazyfree's
effort) and never becomes a listpack again, but holds no dict of one object per field
and value — about a third of the memory (issue 12: a replay's peak). It becomes the
dict, as Redis's would be, past ``hash-max-listpack-entries`` fields, once its bytes
would pass :data:`WIDE_MAX` (a listpack's operations walk it), or when it is given
field TTLs (only a listpack becomes a listpackex).

Hash field TTLs (Redis 7.4): ``fx`` maps a field to its absolute expire time (ms), kept
beside the pairs rather than inside the listpack (Redis's listpackex holds triplets
ordered by TTL); ``None`` until a TTL was first set on the hash (``hashTypeSetExInit``
converts it to OBJ_ENCODING_LISTPACK_EX then, and it stays so after HPERSIST), an empty
dict once it is a listpackex with no TTL left. The pairs hold expired fields until
something reclaims them (lazily, actively); ``len()`` counts them, as hashTypeLength(o, 0).
A listpackex keeps Redis's order — fields with a TTL first, earliest first (one given a
TTL goes before those with the same), then the rest — so replies list fields as 7.4's do
(:meth:`place`).
"""

from __future__ import annotations

from collections.abc import Iterable

from rdbtools.encodings import decode_listpack_strings, encode_listpack
from rdbtools.encodings.listpack_ops import lp_length, lp_pairs_delete, lp_pairs_get, lp_pairs_set

LISTPACK_MAX_SAFETY_SIZE = 1 << 30  # listpack.c: lpSafeToAdd's limit
# Bytes a wide listpack may reach by a long field or value. Its operations walk it, where
# a dict's hash: the few-field hashes that hold most of the saving fit (the compact bench:
# 8 KiB saved 0.7 MB more, for 1.2% more instructions in its replay).
WIDE_MAX = 2048
_EMPTY = encode_listpack([])


class HashValue:
    __slots__ = ("lp", "ht", "fx", "wide")

    def __init__(self, lp: bytearray | None = None, ht: dict[bytes, bytes] | None = None,
                 fx: dict[bytes, int] | None = None) -> None:
        self.lp = bytearray(_EMPTY) if lp is None and ht is None else lp
        self.ht = ht
        self.fx = fx
        self.wide: bool | None = None  # None, or True: a hashtable to Redis held as ``lp``

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[bytes, bytes]], packed: bool, wide: bool = False) -> HashValue:
        """A hash of ``pairs`` (unique fields), a listpack when ``packed``; else with
        ``wide`` (a hashtable of a few fields) a wide listpack while within WIDE_MAX."""
        if packed or wide:
            pairs = pairs if pairs.__class__ is list else list(pairs)
            lp = bytearray(encode_listpack([x for kv in pairs for x in kv]))
            if packed or len(lp) <= WIDE_MAX:
                h = cls(lp)
                h.wide = None if packed else True
                return h
        return cls(None, dict(pairs))

    def encoding(self) -> str:
        if self.lp is not None and self.wide is None:
            return "listpack" if self.fx is None else "listpackex"
        return "hashtable"

    def widen(self, grow: int) -> None:
        """hashTypeConvert(o, OBJ_ENCODING_HT) for a long field or value, ``grow`` bytes
        about to be added: the listpack kept, marked wide, while it stays small."""
        if self.fx is not None or len(self.lp) + grow > WIDE_MAX:  # type: ignore[arg-type]
            self.convert()
        else:
            self.wide = True

    def init_ttls(self) -> None:
        """hashTypeSetExInit: the hash supports field TTLs from now on (a listpack becomes a
        listpackex; a wide one is a hashtable to Redis, and becomes the dict)."""
        if self.wide:
            self.convert()
        self.fx = {}

    def min_expire(self) -> int | None:
        """hashTypeGetMinExpire: the earliest field TTL, None without any."""
        fx = self.fx
        return min(fx.values()) if fx else None

    def expired_fields(self, now: int) -> list[bytes]:
        """The fields whose TTL is before ``now`` (hashTypeIsExpired), earliest first (a
        listpackex: in its order, as listpackExExpire walks it)."""
        fx = self.fx
        if not fx:
            return []
        if self.lp is not None:
            return [f for f in self.keys() if (at := fx.get(f)) is not None and at < now]
        return sorted((f for f, at in fx.items() if at < now), key=fx.__getitem__)

    def place(self, field: bytes) -> None:
        """listpackExUpdateExpiry: ``field`` (present) moves to where its TTL now puts it
        in a listpackex — before the first field with no TTL or one not earlier, or last
        without a TTL. A hashtable has no order to keep."""
        if self.lp is None:
            return
        fx = self.fx or {}
        items = self.items()
        i = next(k for k, (f, _) in enumerate(items) if f == field)
        pair = items.pop(i)
        at = fx.get(field)
        j = len(items) if at is None else next(
            (k for k, (f, _) in enumerate(items) if (t := fx.get(f)) is None or t >= at), len(items))
        items.insert(j, pair)
        self.lp = bytearray(encode_listpack([x for kv in items for x in kv]))

    def live_items(self, now: int) -> list[tuple[bytes, bytes]]:
        """The pairs an iteration with skipExpiredFields returns."""
        items = self.items()
        fx = self.fx
        if not fx:
            return items
        return [(f, v) for f, v in items if (at := fx.get(f)) is None or at >= now]

    def __len__(self) -> int:
        lp = self.lp
        return lp_length(lp) >> 1 if lp is not None else len(self.ht)  # type: ignore[arg-type]

    def get(self, field: bytes) -> bytes | None:
        lp = self.lp
        return lp_pairs_get(lp, field) if lp is not None else self.ht.get(field)  # type: ignore[union-attr]

    def __contains__(self, field: bytes) -> bool:
        return self.get(field) is not None

    def flat(self) -> list[bytes]:
        """field, value, field, value ... in the hash's order."""
        if self.lp is not None:
            return decode_listpack_strings(self.lp)
        return [x for kv in self.ht.items() for x in kv]  # type: ignore[union-attr]

    def items(self) -> list[tuple[bytes, bytes]]:
        if self.lp is not None:
            it = iter(decode_listpack_strings(self.lp))
            return list(zip(it, it))
        return list(self.ht.items())  # type: ignore[union-attr]

    def keys(self) -> list[bytes]:
        return self.flat()[0::2] if self.lp is not None else list(self.ht)  # type: ignore[arg-type]

    def values(self) -> list[bytes]:
        return self.flat()[1::2] if self.lp is not None else list(self.ht.values())  # type: ignore[union-attr]

    def convert(self) -> None:
        """hashTypeConvert(o, OBJ_ENCODING_HT): the listpack's pairs into a dict, in order."""
        if self.lp is not None:
            it = iter(decode_listpack_strings(self.lp))
            self.ht = dict(zip(it, it))
            self.lp = None
            self.wide = None

    def try_conversion(self, items: list[bytes], max_value: int) -> None:
        """hashTypeTryConversion, before adding: any argument longer than the value limit,
        or a listpack that could pass lpSafeToAdd's limit, converts."""
        lp = self.lp
        if lp is not None:
            total = 0
            for b in items:
                n = len(b)
                if n > max_value:  # set_field widens a wide one further, or converts it
                    if self.wide is None:
                        self.widen(sum(map(len, items)))
                    return
                total += n
            if len(lp) + total > LISTPACK_MAX_SAFETY_SIZE:
                self.convert()

    def set_field(self, field: bytes, value: bytes, max_entries: int, max_value: int,
                  keep_ttl: bool = False) -> bool:
        """hashTypeSet: returns True when the field is new. A field's TTL goes with the
        old value unless ``keep_ttl`` (HASH_SET_KEEP_TTL: HINCRBY, HINCRBYFLOAT)."""
        if self.fx and not keep_ttl and self.fx.pop(field, None) is not None and self.lp is not None:
            self.place(field)  # no TTL any more: to the end (the value is replaced below)
        lp = self.lp
        if (lp is not None and (len(field) > max_value or len(value) > max_value)
                and (self.wide is None or len(lp) + len(field) + len(value) > WIDE_MAX)):
            self.widen(len(field) + len(value))
            lp = self.lp
        if lp is not None:
            new = lp_pairs_set(lp, field, value)
            if new and lp_length(lp) > 2 * max_entries:
                self.convert()
            return new
        ht = self.ht
        new = field not in ht  # type: ignore[operator]
        ht[field] = value  # type: ignore[index]
        return new

    def delete(self, field: bytes) -> bool:
        """hashTypeDelete: True when the field was there (a hashtable stays one)."""
        if self.fx:
            self.fx.pop(field, None)
        lp = self.lp
        if lp is not None:
            return lp_pairs_delete(lp, field)
        return self.ht.pop(field, None) is not None  # type: ignore[union-attr]

    def copy(self) -> HashValue:
        """hashTypeDup: the same encoding, the same bytes."""
        fx = None if self.fx is None else dict(self.fx)
        if self.lp is not None:
            h = HashValue(bytearray(self.lp), None, fx)
            h.wide = self.wide
            return h
        return HashValue(None, dict(self.ht), fx)  # type: ignore[arg-type]
