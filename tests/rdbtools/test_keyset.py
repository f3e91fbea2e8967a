"""Duplicated keys: the digest table (C and Python) and the decoder's refusal on both paths.

The decoder records every key it reads — filtered out or not, in the C scan and in the
Python path alike — and a key read a second time in the same db is a DuplicateKey at the
second key's type byte, after every event before it was delivered.
"""

from __future__ import annotations

import random

import pytest

from rdbtools import keyset
from rdbtools.decoder import Filter, RdbDecoder
from rdbtools.encoder import encode_bytes
from rdbtools.errors import DuplicateKey
from rdbtools.model import Record
from tests.rdbtools.test_fastpath import fastpath

IMPLS = [keyset._PyKeySet]
if keyset.KeySet is not keyset._PyKeySet:
    IMPLS.append(keyset.KeySet)


@pytest.mark.parametrize("impl", IMPLS, ids=lambda c: c.__module__)
def test_keyset_tells_new_from_seen_across_growth(impl) -> None:
    ks = impl()
    rnd = random.Random(5)
    keys = [rnd.randbytes(rnd.randrange(0, 12)) + b"%d" % i for i in range(60_000)]
    assert all(ks.add(i % 3, k) for i, k in enumerate(keys))
    assert len(ks) == len(keys)
    assert not any(ks.add(i % 3, k) for i, k in enumerate(keys))
    assert all(ks.add(i % 3 + 3, k) for i, k in enumerate(keys[:1000]))  # other dbs: new
    assert ks.add(0, b"") is False or ks.add(0, b"") is False  # b"" was added (or is now)
    if hasattr(ks, "nbytes"):
        assert ks.nbytes <= 24 * len(ks) + 8192  # the documented 12-24 bytes a key


def _file(dup_db: int, n: int = 3000) -> tuple[bytes, list[Record]]:
    recs = [Record(i % 2, b"key:%d" % i, "string", b"v%d" % i) for i in range(n)]
    recs += [Record(1, b"only-in-1", "list", [b"a", b"b"]), Record(dup_db, b"key:%d" % (2 * 7 + dup_db),
                                                                    "set", [b"m"])]
    recs.sort(key=lambda r: r.db)  # one SELECTDB per db: the duplicate is the db's last key
    return encode_bytes(recs, target_version=10), recs


def _decode(data: bytes, **kw) -> tuple[list, Exception | None]:
    dec = RdbDecoder(**kw)
    dec.feed(data)
    dec.feed_eof()
    events: list = []
    try:
        for ev in dec:
            events.append(ev)
    except DuplicateKey as exc:
        return events, exc
    return events, None


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("dup_db", [0, 1])
def test_decoder_refuses_a_key_read_twice_in_a_db(fast: bool, dup_db: int) -> None:
    data, recs = _file(dup_db)
    at = max(i for i, r in enumerate(recs) if r.db == dup_db)  # the duplicate: its db's last key
    with fastpath(fast):
        events, err = _decode(data)
        assert err is not None and (err.db, err.key) == (dup_db, recs[at].key)
        assert "duplicated key" in str(err) and data[err.offset] == 2  # the set's type byte
        got = [e for e in events if type(e) is Record]
        assert [(r.db, r.key) for r in got] == [(r.db, r.key) for r in recs[:at]]  # all before it
        # a filter that skips the duplicate's db still refuses: skipped keys are read too
        _, err2 = _decode(data, filter=Filter(dbs={1 - dup_db}))
        assert err2 is not None and err2.offset == err.offset
        events, err3 = _decode(data, check_duplicates=False)
        assert err3 is None and len([e for e in events if type(e) is Record]) == len(recs)


def test_same_key_in_different_dbs_is_fine() -> None:
    recs = [Record(db, b"k", "string", b"v") for db in range(16)]
    events, err = _decode(encode_bytes(recs, target_version=10))
    assert err is None and len([e for e in events if type(e) is Record]) == 16


@pytest.mark.parametrize("impl", IMPLS, ids=lambda c: c.__module__)
def test_drain_gives_the_sorted_digests_and_empties_the_set(impl) -> None:
    from array import array

    ks = impl()
    keys = [(i % 4, b"k%d" % i) for i in range(5000)]
    for db, k in keys:
        ks.add(db, k)
    got = array("Q", ks.drain())
    assert list(got) == sorted(ks.digest(db, k) for db, k in keys) and len(set(got)) == 5000
    assert len(ks) == 0 and ks.drain() == b""
    assert all(ks.add(db, k) for db, k in keys)  # new again: the table was emptied, not lost
