"""DUMP/RESTORE payloads: docs/formats.md §5 vectors, every real DUMP under fixtures/dump/, errors.

Each real payload is decoded and re-encoded at its own version. The bytes must be
identical except where Redis's bytes record memory history rather than the value
(listed in ``LOGICAL_ONLY`` with the reason); those compare logically.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rdbtools import Record, lzf
from rdbtools.crc64 import crc64
from rdbtools.dump import (
    BAD_DATA_FORMAT,
    BAD_VERSION_OR_CHECKSUM,
    DumpedValue,
    dump_value,
    restore_value,
)
from rdbtools.errors import ChecksumMismatch, RdbCorruptError, RdbEncodeError, UnsupportedVersion
from rdbtools.model import Stream

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dump"
PAYLOADS = sorted(p for p in FIXTURES.rglob("*.bin") if p.name != "functions.bin")
HAVE_LZF = lzf.compress(b"a" * 40) is not None

# Payload names whose bytes depend on how the value was built, not on the value.
LOGICAL_ONLY = {
    # the list lost its head element after being built: the first node is one element short
    "list_large": "quicklist node boundaries remember elements popped since the push",
    # built under DEBUG QUICKLIST-PACKED-THRESHOLD 1024: PLAIN nodes a default server would not make
    "list_plain-nodes": "PLAIN nodes forced by a debug threshold",
    # XDEL/XTRIM leave deleted entries (and their counts) inside the node listpacks
    "stream_main": "deleted stream entries stay in the node listpacks",
    "stream_trimmed": "deleted stream entries stay in the node listpacks",
    "stream_setid": "deleted stream entries stay in the node listpacks",
    # listpackex minExpire is the hash's registered next-expiry, stale after HPERSIST
    "hfe_persisted": "min-expire header is a stale in-memory hint",
}
# Valkey 8 writes RDB 11 but gives big list elements PLAIN nodes as Redis 7.4 does
VALKEY_PLAIN = {"list_bigelements"}


def _name(path: Path) -> str:
    return path.stem.split("-", 3)[-1]


def _logical(d: DumpedValue):
    v = d.value
    if d.type in ("set", "hash"):
        return sorted(v), d.field_expires or None
    if d.type == "zset":
        return sorted(v, key=lambda p: (p[1], p[0])), None
    if d.type == "stream":
        return v.entries, v.length, v.last_id, v.groups
    return v, None


def test_formats_md_vectors() -> None:
    assert dump_value(("string", b"hello"), 10).hex() == "000568656c6c6f0a006372df766534200a"
    assert dump_value(("string", b"hello"), 11).hex() == "000568656c6c6f0b000aad620598abc983"
    assert dump_value(("string", b"hello"), 12).hex() == "000568656c6c6f0c00a804ebb69f1ebe43"
    assert dump_value(("string", b"10"), 6).hex() == "00c00a0600f8723fc5fbfb5f28"
    d = restore_value(bytes.fromhex("000568656c6c6f0c00a804ebb69f1ebe43"))
    assert (d.type, d.value, d.encoding, d.rdb_version, d.type_byte) == ("string", b"hello", "string", 12, 0)


@pytest.mark.parametrize("path", PAYLOADS, ids=[f"{p.parent.name}/{p.name}" for p in PAYLOADS])
def test_real_payloads_reencode_identically(path: Path) -> None:
    payload = path.read_bytes()
    src = restore_value(payload, max_version=80)
    ours = dump_value((src.type, src.value, src.field_expires), src.rdb_version)
    again = restore_value(ours, max_version=80)
    assert _logical(again) == _logical(src)
    assert again.type_byte == src.type_byte
    name = _name(path)
    deterministic = name not in LOGICAL_ONLY and not (
        path.parent.name.startswith("valkey") and name in VALKEY_PLAIN
    )
    if deterministic and HAVE_LZF:
        assert ours == payload


def test_record_form_and_version_limits() -> None:
    r = Record(0, b"k", "hash", [(b"f", b"v")], field_expires={b"f": 1_800_000_000_000})
    d = restore_value(dump_value(r))
    assert d.field_expires == {b"f": 1_800_000_000_000} and d.encoding == "listpackex"
    assert d.to_record(b"k").field_expires == r.field_expires
    with pytest.raises(RdbEncodeError) as info:
        dump_value(r, rdb_version=11)
    assert info.value.key == b"k"
    with pytest.raises(RdbEncodeError):
        dump_value(("stream", Stream((), 0, (0, 0), None, None, None, ())), rdb_version=8)
    with pytest.raises(RdbEncodeError):
        dump_value(("string", b"x"), rdb_version=13)
    assert restore_value(dump_value(("list", [b"a", b"1"]), 6)).encoding == "ziplist"


def _resign(body: bytes) -> bytes:
    return body + crc64(body).to_bytes(8, "little")


def test_restore_checks_length_version_checksum_and_format() -> None:
    good = dump_value(("string", b"hello"), 12)
    for bad in (b"", good[:9]):
        with pytest.raises(RdbCorruptError, match=BAD_VERSION_OR_CHECKSUM):
            restore_value(bad)
    with pytest.raises(UnsupportedVersion, match=BAD_VERSION_OR_CHECKSUM):
        restore_value(good, max_version=11)
    flipped = bytearray(good)
    flipped[3] ^= 1
    with pytest.raises(ChecksumMismatch, match=BAD_VERSION_OR_CHECKSUM):
        restore_value(bytes(flipped))
    assert restore_value(bytes(flipped), verify_checksum=False).value == b"hdllo"
    body = good[:-8]
    cases = [
        b"\x08" + body[1:],          # type byte 8 was never used
        b"\x06" + body[1:],          # pre-GA module type
        b"\x00\x10hello" + body[-2:],  # string longer than the payload
        b"\x00\x05helloX" + body[-2:],  # a byte left after the value
        b"\x0b\x03abc" + body[-2:],  # intset blob that is not an intset
    ]
    for case in cases:
        with pytest.raises(RdbCorruptError) as info:
            restore_value(_resign(case))
        assert info.value.message == BAD_DATA_FORMAT and info.value.__cause__ is not None
