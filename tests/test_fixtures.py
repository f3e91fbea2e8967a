"""The fixture corpus is complete and self-consistent.

These checks use no rdbtools code: they guard the oracle itself (every file
has a parseable manifest whose header facts match the bytes), so a decoder
test failing against a fixture points at the decoder, not at the fixture.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct

import anycrc
import pytest

from tests.support.manifest import (
    FIXTURES,
    iter_fixture_rdbs,
    load_manifest,
    manifest_keys,
    manifest_path,
)

RDBS = iter_fixture_rdbs()
_CRC = anycrc.Model("CRC64-REDIS")


def _id(p):
    return str(p.relative_to(FIXTURES))


def test_corpus_is_present():
    labels = {p.parent.name for p in RDBS}
    assert {"redis-7.0", "redis-6.2", "legacy", "corpus-redis-7.4.1"} <= labels
    assert len(RDBS) >= 50


def test_every_rdb_has_a_manifest():
    missing = [_id(p) for p in (FIXTURES / "rdb").rglob("*.rdb") if not manifest_path(p).is_file()]
    assert missing == []


@pytest.mark.parametrize("path", RDBS, ids=_id)
def test_manifest_matches_file(path):
    manifest = load_manifest(path)
    data = path.read_bytes()
    assert manifest["kind"] == "rdb"
    assert manifest["file"] == path.name
    assert data[:5] == b"REDIS"
    assert int(data[5:9]) == manifest["observed"]["rdb_version"]
    assert len(data) == manifest["observed"]["size"]
    assert hashlib.sha256(data).hexdigest() == manifest["observed"]["sha256"]
    keys = manifest_keys(manifest)
    assert len(keys) == sum(manifest["key_count"].values())
    for entry in keys.values():
        assert isinstance(entry["type"], str)
        assert entry["expire_ms"] is None or entry["expire_ms"] > 0


@pytest.mark.parametrize("path", [p for p in RDBS if int(p.read_bytes()[5:9]) >= 5], ids=_id)
def test_checksum_trailer(path):
    """RDB >= 5 ends in 0xFF + CRC-64/REDIS LE, or eight zero bytes (rdbchecksum no)."""
    data = path.read_bytes()
    assert data[-9] == 0xFF
    (stored,) = struct.unpack("<Q", data[-8:])
    assert stored in (0, _CRC.calc(data[:-8]))


def test_old_files_have_no_trailer():
    for path in RDBS:
        data = path.read_bytes()
        if int(data[5:9]) < 5:
            assert data[-1] == 0xFF, _id(path)


def test_other_manifests_parse():
    for path in list((FIXTURES / "dump").rglob("*.json")) + list(
        (FIXTURES / "aof").rglob("*.json")
    ):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        assert manifest["corpus_format"] == 1, path


def test_legacy_files_are_reproducible():
    """fixtures/legacy.py is deterministic and its committed output is current."""
    spec = importlib.util.spec_from_file_location("fixtures_legacy", FIXTURES / "legacy.py")
    assert spec is not None and spec.loader is not None
    legacy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(legacy)
    for build in legacy.BUILDERS:
        rdb = build()
        data, manifest = rdb.finish()
        path = FIXTURES / "rdb" / "legacy" / rdb.name
        assert path.read_bytes() == data, rdb.name
        assert load_manifest(path) == json.loads(json.dumps(manifest)), rdb.name
