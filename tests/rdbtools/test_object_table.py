"""The object table (rdbtools.objects): one row per type byte, load / skip / save mirrored.

What every fixture's values say about the rows: for each RDB version we write, the
type byte :func:`save_value` picks is a row that version carries, the row's own
``load`` reads the bytes back to the same value, and its ``skip`` ends where the
load ends.
"""

from __future__ import annotations

import math
from collections import defaultdict

import pytest

from rdbtools import Record, read_all
from rdbtools.constants import RdbType
from rdbtools.encoder import MAX_VERSION, MIN_VERSION
from rdbtools.errors import RdbEncodeError
from rdbtools.limits import Limits
from rdbtools.objects import FAMILIES, OBJECT_TYPES, VALKEY_OBJECT_TYPES, save_value
from rdbtools.policy import EncodingPolicy
from tests.conftest import fixture_rdbs

MAX_LEN = Limits().max_string


def _samples() -> list[Record]:
    """A few records of every (type byte, encoding) the fixtures hold."""
    seen: dict[tuple, list[Record]] = defaultdict(list)
    for path in fixture_rdbs():
        for ev in read_all(path.read_bytes()):
            if type(ev) is Record:
                bucket = seen[(ev.type_byte, ev.encoding, bool(ev.field_expires))]
                if len(bucket) < 3:
                    bucket.append(ev)
    return [r for bucket in seen.values() for r in bucket]


def _norm(type_name: str, value, fexp) -> object:
    """The value as a comparable logical form (the writers reorder sets, zsets, hashes)."""
    if type_name in ("set",):
        return sorted(value)
    if type_name == "zset":
        return sorted((m, "nan" if math.isnan(s) else s) for m, s in value)
    if type_name == "hash":
        return sorted(value), dict(fexp or {})
    if type_name == "stream":
        return value.entries
    return value


def test_every_named_type_byte_has_its_row() -> None:
    assert sorted(OBJECT_TYPES) == sorted(int(t) for t in RdbType)
    for t, row in OBJECT_TYPES.items():
        assert row.type_byte == t
        assert row.type in FAMILIES
        assert row.since <= (row.until or MAX_VERSION)
    # Valkey 9 reads byte 22 as its HASH_2; every other row is Redis's
    diff = {t for t in VALKEY_OBJECT_TYPES if VALKEY_OBJECT_TYPES[t] is not OBJECT_TYPES.get(t)}
    assert diff == {int(RdbType.RDB_TYPE_HASH_METADATA_PRE_GA)}


SAMPLES = _samples()


def test_samples_cover_every_family() -> None:
    assert {r.type for r in SAMPLES} == set(FAMILIES)


@pytest.mark.parametrize("version", range(MIN_VERSION, MAX_VERSION + 1))
def test_saved_rows_are_carried_by_the_version_and_load_back(version: int) -> None:
    written = set()
    for rec in SAMPLES:
        try:
            t, body = save_value(rec.type, rec.value, rec.field_expires, version)
        except RdbEncodeError:
            continue  # the version cannot hold it (streams before 9, field TTLs before 12 ...)
        row = OBJECT_TYPES[t]
        written.add(t)
        assert row.save is not None
        assert row.type == rec.type
        assert row.since <= version <= (row.until or MAX_VERSION), (RdbType(t).name, version)
        value, fexp, end = row.load(body, 0, MAX_LEN)
        assert end == len(body) == row.skip(body, 0, MAX_LEN), RdbType(t).name
        assert _norm(rec.type, value, fexp) == _norm(rec.type, rec.value, rec.field_expires)
    # every family but module values and streams is writable at every version we write
    assert {OBJECT_TYPES[t].type for t in written} >= {"string", "list", "set", "zset", "hash"}


@pytest.mark.parametrize("fexp", [None, {}])
def test_hash_metadata_row_without_field_ttls_is_an_encode_error(fexp) -> None:
    """The row is picked only for a hash with field TTLs; called without any, it says so."""
    save = OBJECT_TYPES[RdbType.RDB_TYPE_HASH_METADATA].save
    assert save is not None
    with pytest.raises(RdbEncodeError, match="needs field TTLs"):
        save([(b"f", b"v")], fexp, 12, EncodingPolicy(), True)
