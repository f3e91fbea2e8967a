"""Set values: an intset's bytes while small and all-integer, a Python set once
converted, as Redis 7.0 (which has no listpack sets).

A new set of integers is an intset (``is_``, a ``bytearray`` holding exactly the bytes
Redis's intset.c would: the encoding it was widened to, the length, the members
ascending in little-endian), changed in place by the operations of
``rdbtools.encodings.intset_ops`` (C, with the pure-Python reference under
``RDBKIT_PUREPYTHON``). A loaded or restored intset is kept as the bytes it came in.
Conversion to a hashtable (``ht``, a ``set``) mirrors ``setTypeAdd``/``setTypeConvert``:
a member that is not a canonical int64 (``string2ll``), or more than
``set-max-intset-entries`` members, converts it, one way.

An intset iterates (and replies) in ascending integer order; a hashtable in no
defined order. Exactly one of ``is_`` and ``ht`` is set; callers go through the methods.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from rdbtools.encodings import decode_intset_strings
from rdbtools.encodings.intset_ops import (
    EMPTY_INTSET,
    is_add,
    is_add_all,
    is_find,
    is_get,
    is_pop,
    is_remove,
)
from rdbtools.numbers import string2ll

_rand = random.random


class SetValue:
    __slots__ = ("is_", "ht")

    def __init__(self, is_: bytearray | None = None, ht: set[bytes] | None = None) -> None:
        """createIntsetObject by default; else the given intset bytes or set."""
        self.is_ = bytearray(EMPTY_INTSET) if is_ is None and ht is None else is_
        self.ht = ht

    @classmethod
    def create_for(cls, first: bytes) -> SetValue:
        """setTypeCreate: an intset if the first member is an integer."""
        return cls() if string2ll(first) is not None else cls(None, set())

    @classmethod
    def from_members(cls, members: Iterable[bytes], max_intset: int) -> SetValue:
        """rdbLoadObject for a set stored as a member list: an intset filled member by
        member when the count allows it, a hashtable otherwise."""
        members = members if members.__class__ is list else list(members)
        if len(members) > max_intset:
            return cls(None, set(members))
        s = cls()
        s.add_all(members, max_intset)
        return s

    def encoding(self) -> str:
        return "intset" if self.is_ is not None else "hashtable"

    def __len__(self) -> int:
        is_ = self.is_
        return (len(is_) - 8) // is_[0] if is_ is not None else len(self.ht)  # type: ignore[arg-type]

    def contains(self, member: bytes) -> bool:
        """setTypeIsMember."""
        is_ = self.is_
        return is_find(is_, member) if is_ is not None else member in self.ht  # type: ignore[operator]

    __contains__ = contains

    def convert(self) -> None:
        """setTypeConvert(o, OBJ_ENCODING_HT)."""
        if self.is_ is not None:
            self.ht = set(self.members())
            self.is_ = None

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
            self.convert()  # not an integer: a hashtable from now on
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
            self.convert()  # a member that is not an integer, or an add past the limit
        ht = self.ht
        n0 = len(ht)  # type: ignore[arg-type]
        ht.update(members[start:] if start else members)  # type: ignore[union-attr]
        return added + len(ht) - n0  # type: ignore[arg-type]

    def remove(self, member: bytes) -> bool:
        """setTypeRemove: True when the member was there (a hashtable stays one)."""
        is_ = self.is_
        if is_ is not None:
            return is_remove(is_, member)
        ht = self.ht
        if member in ht:  # type: ignore[operator]
            ht.remove(member)  # type: ignore[union-attr]
            return True
        return False

    def members(self) -> list[bytes]:
        """setTypeNext's order: an intset ascending, a hashtable as Python keeps it."""
        is_ = self.is_
        if is_ is not None:
            return decode_intset_strings(is_) if len(is_) > 8 else []
        return list(self.ht)  # type: ignore[arg-type]

    ordered = members

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.members())

    def random_member(self) -> bytes:
        """setTypeRandomElement of a non-empty set (intsetRandom: a uniform index)."""
        is_ = self.is_
        if is_ is not None:
            return is_get(is_, int(_rand() * ((len(is_) - 8) // is_[0])))
        return random.choice(list(self.ht))  # type: ignore[arg-type]

    def pop_random(self) -> bytes:
        """SPOP's element: a random member, removed."""
        is_ = self.is_
        if is_ is not None:
            return is_pop(is_, int(_rand() * ((len(is_) - 8) // is_[0])))
        ht = self.ht
        m = random.choice(list(ht)) if len(ht) < 64 else random.sample(list(ht), 1)[0]  # type: ignore[arg-type]
        ht.remove(m)  # type: ignore[union-attr]
        return m

    def copy_value(self) -> SetValue:
        """setTypeDup: the same encoding, the same bytes."""
        if self.is_ is not None:
            return SetValue(bytearray(self.is_))
        return SetValue(None, set(self.ht))  # type: ignore[arg-type]
