"""Set values: an intset's bytes while small and all-integer, a listpack's bytes while
small otherwise, a Python set once large, converting as Redis 7.0 (and 7.2) do.

A new set of integers is an intset (``is_``, a ``bytearray`` holding exactly the bytes
Redis's intset.c would: the encoding it was widened to, the length, the members
ascending in little-endian), changed in place by the operations of
``rdbtools.encodings.intset_ops`` (C, with the pure-Python reference under
``RDBKIT_PUREPYTHON``). A loaded or restored intset is kept as the bytes it came in.
A small set that is not all-integer is kept as a listpack (``lp``, a ``bytearray``
changed by ``rdbtools.encodings.listpack_set``) as Redis 7.2 keeps it: at most
:data:`LISTPACK_ENTRIES` members of at most :data:`LISTPACK_VALUE` bytes. Redis 7.0 has
no listpack sets, so such a set *reports* ``hashtable`` (OBJECT ENCODING, DEBUG OBJECT,
files written for 7.0 hold a plain set): the listpack is only how this server stores it,
a seventh of a Python ``set`` of ``bytes`` (15 members of 6 bytes: about 200 bytes
against 1,450). Its order is insertion order, a hashtable's order being undefined
anyway.

Conversions mirror ``setTypeAdd``/``setTypeConvert``, one way: a member that is not a
canonical int64 (``string2ll``) moves an intset to the listpack if the result fits it,
else to the Python set (``ht``); more than ``set-max-intset-entries`` members likewise;
a listpack past its limits becomes the Python set. Exactly one of ``is_``, ``lp`` and
``ht`` is set; callers go through the methods.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from rdbtools.encodings import decode_intset_strings, decode_listpack_strings
from rdbtools.encodings.intset_ops import (
    EMPTY_INTSET,
    is_add,
    is_add_all,
    is_find,
    is_get,
    is_pop,
    is_remove,
)
from rdbtools.encodings.listpack_ops import lp_length
from rdbtools.encodings.listpack_set import lps_add, lps_build, lps_find, lps_remove
from rdbtools.encodings.quicklist_ops import lpl_delete, lpl_get
from rdbtools.numbers import string2ll

_rand = random.random
LISTPACK_ENTRIES = 128  # Redis 7.2's set-max-listpack-entries default
LISTPACK_VALUE = 64  # and set-max-listpack-value


def _fits(members: list[bytes], count: int) -> bool:
    """Whether a set of ``count`` members, these among them, stays a listpack."""
    if count > LISTPACK_ENTRIES:
        return False
    for m in members:
        if len(m) > LISTPACK_VALUE:
            return False
    return True


class SetValue:
    __slots__ = ("is_", "lp", "ht")

    def __init__(self, is_: bytearray | None = None, ht: set[bytes] | None = None,
                 lp: bytearray | None = None) -> None:
        """createIntsetObject by default; else the given intset bytes, listpack or set."""
        self.is_ = bytearray(EMPTY_INTSET) if is_ is None and ht is None and lp is None else is_
        self.lp = lp
        self.ht = ht

    @classmethod
    def create_for(cls, first: bytes) -> SetValue:
        """setTypeCreate: an intset if the first member is an integer, else a listpack
        (if it fits one) or a hashtable."""
        if string2ll(first) is not None:
            return cls()
        return cls(lp=lps_build([])) if len(first) <= LISTPACK_VALUE else cls(None, set())

    @classmethod
    def from_members(cls, members: Iterable[bytes], max_intset: int) -> SetValue:
        """rdbLoadObject for a set stored as a member list: an intset filled member by
        member when the count allows it, else a listpack when every member fits one
        (7.2's choice), a hashtable otherwise. Duplicates count once."""
        members = members if members.__class__ is list else list(members)
        n = len(members)
        if n == 0 or (n <= max_intset and string2ll(members[0]) is not None):
            s = cls()
            s.add_all(members, max_intset)  # converts as setTypeAdd does if one is not
            return s
        if _fits(members, n):
            lp = lps_build(members)
            if len(set(members)) != n:  # duplicates: lpAppend only the first of each
                lp = lps_build(list(dict.fromkeys(members)))
            return cls(None, None, lp)
        return cls(None, set(members))

    def encoding(self) -> str:
        """What Redis 7.0 reports: it has no listpack sets."""
        return "intset" if self.is_ is not None else "hashtable"

    def __len__(self) -> int:
        is_ = self.is_
        if is_ is not None:
            return (len(is_) - 8) // is_[0]
        lp = self.lp
        return lp_length(lp) if lp is not None else len(self.ht)  # type: ignore[arg-type]

    def contains(self, member: bytes) -> bool:
        """setTypeIsMember."""
        is_ = self.is_
        if is_ is not None:
            return is_find(is_, member)
        lp = self.lp
        return lps_find(lp, member) if lp is not None else member in self.ht  # type: ignore[operator]

    __contains__ = contains

    def convert(self, extra: bytes | None = None) -> None:
        """setTypeConvert away from an intset or a listpack: to the listpack when every
        member, and ``extra`` about to be added, fits one, else to the hashtable."""
        if self.is_ is not None:
            members = self.members()
            n = len(members) + (extra is not None)
            if n <= LISTPACK_ENTRIES and (extra is None or len(extra) <= LISTPACK_VALUE):
                self.lp = lps_build(members)
            else:
                self.ht = set(members)
            self.is_ = None
        elif self.lp is not None:
            self.ht = set(self.members())
            self.lp = None

    def add_member(self, member: bytes, max_intset: int) -> bool:
        """setTypeAdd: add and convert as Redis does; True if the member is new."""
        is_ = self.is_
        if is_ is not None:
            r = is_add(is_, member)
            if r > 0:
                if (len(is_) - 8) // is_[0] > max_intset:
                    self.convert()
                return True
            if r == 0:
                return False
            self.convert(member)  # not an integer: a listpack or a hashtable from now on
        lp = self.lp
        if lp is not None:
            if len(member) <= LISTPACK_VALUE and lp_length(lp) < LISTPACK_ENTRIES:
                return lps_add(lp, member)
            if lps_find(lp, member):
                return False
            self.convert()
        ht = self.ht
        if member in ht:  # type: ignore[operator]
            return False
        ht.add(member)  # type: ignore[union-attr]
        return True

    def add_all(self, members: list[bytes], max_intset: int, start: int = 0) -> int:
        """setTypeAdd of each of ``members[start:]``, in order: how many were new."""
        added = 0
        if self.is_ is not None:
            r = is_add_all(self.is_, members, start, max_intset)
            if r.__class__ is int:
                return r  # type: ignore[return-value]
            added, start = r  # type: ignore[misc]
            self.convert(members[start] if start < len(members) else None)
        lp = self.lp
        if lp is not None:
            n = lp_length(lp)
            for i in range(start, len(members)):
                m = members[i]
                if len(m) > LISTPACK_VALUE or n >= LISTPACK_ENTRIES:
                    if lps_find(lp, m):
                        continue
                    self.convert()
                    start = i
                    break
                if lps_add(lp, m):
                    added += 1
                    n += 1
            else:
                return added
        ht = self.ht
        n0 = len(ht)  # type: ignore[arg-type]
        ht.update(members[start:] if start else members)  # type: ignore[union-attr]
        return added + len(ht) - n0  # type: ignore[arg-type]

    def remove(self, member: bytes) -> bool:
        """setTypeRemove: True when the member was there (the encoding stays)."""
        is_ = self.is_
        if is_ is not None:
            return is_remove(is_, member)
        lp = self.lp
        if lp is not None:
            return lps_remove(lp, member)
        ht = self.ht
        if member in ht:  # type: ignore[operator]
            ht.remove(member)  # type: ignore[union-attr]
            return True
        return False

    def members(self) -> list[bytes]:
        """setTypeNext's order: an intset ascending, a listpack in insertion order, a
        hashtable as Python keeps it."""
        is_ = self.is_
        if is_ is not None:
            return decode_intset_strings(is_) if len(is_) > 8 else []
        lp = self.lp
        if lp is not None:
            return decode_listpack_strings(lp)
        return list(self.ht)  # type: ignore[arg-type]

    ordered = members

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.members())

    def random_member(self) -> bytes:
        """setTypeRandomElement of a non-empty set (intsetRandom, lpRandom: a uniform
        index)."""
        is_ = self.is_
        if is_ is not None:
            return is_get(is_, int(_rand() * ((len(is_) - 8) // is_[0])))
        lp = self.lp
        if lp is not None:
            return lpl_get(lp, int(_rand() * lp_length(lp)))
        return random.choice(list(self.ht))  # type: ignore[arg-type]

    def pop_random(self) -> bytes:
        """SPOP's element: a random member, removed."""
        is_ = self.is_
        if is_ is not None:
            return is_pop(is_, int(_rand() * ((len(is_) - 8) // is_[0])))
        lp = self.lp
        if lp is not None:
            i = int(_rand() * lp_length(lp))
            m = lpl_get(lp, i)
            lpl_delete(lp, i, 1)
            return m
        ht = self.ht
        m = random.choice(list(ht)) if len(ht) < 64 else random.sample(list(ht), 1)[0]  # type: ignore[arg-type]
        ht.remove(m)  # type: ignore[union-attr]
        return m

    def copy_value(self) -> SetValue:
        """setTypeDup: the same encoding, the same bytes."""
        if self.is_ is not None:
            return SetValue(bytearray(self.is_))
        if self.lp is not None:
            return SetValue(None, None, bytearray(self.lp))
        return SetValue(None, set(self.ht))  # type: ignore[arg-type]
