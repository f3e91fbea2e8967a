"""A load's per-key part in C (``engine/_load.c``, :meth:`DatasetLoader.sink`) stores what
:meth:`DatasetLoader.add` stores, key for key: the same tables in the same order, the
same values and encodings, deadlines and LRU/LFU words, the same counts and expired
keys — for real Redis files and for one holding every type and encoding the engine keeps,
under no-eviction, LRU and LFU policies (IDLE and FREQ opcodes), with keys already expired
(dropped by a master, kept by a replica), and loading over keys already present
(DEBUG RELOAD MERGE's ALLOW_DUP, and the error without it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from engine.config import config_from_argv
from engine.errors import LoadError
from engine.materialize import value_to_record
from engine.persistence import dataset
from engine.persistence.rdb_load import load_rdb_file
from engine.replay import replay
from engine.server.app import Server
from engine.types import ListValue
from tests.engine.conftest import ROOT
from tests.engine.test_save_snapshot import populated

C = pytest.importorskip("engine._load", reason="C extension not built (pip install -e .)")

CORPUS = ROOT / "fixtures" / "rdb"
REAL = [p for p in [CORPUS / "corpus-redis-7.0.15" / "dump.rdb", CORPUS / "corpus-redis-7.0.15" / "dump-lfu.rdb",
                    CORPUS / "corpus-redis-6.2.5" / "dump.rdb"] if p.exists()]


def state(srv: Server) -> list[Any]:
    out = []
    for db in srv.keyspace.dbs:
        values = [(k, type(v).__name__, v.encoding() if hasattr(v, "encoding") else None,
                   value_to_record(db.id, k, v, None, 0)) for k, v in db.data.items()]
        hexpires = {k: (v is db.data[k], t) for k, (v, t) in db.hexpires.items()}
        out.append((values, sorted(db.expires.items()), sorted(db.lru.items()), hexpires))
    return out


# limits below what the file holds: values over them converted, compressed list nodes
SMALL = ("--list-compress-depth", "1", "--list-max-listpack-size", "2", "--hash-max-listpack-entries", "1",
         "--zset-max-listpack-entries", "1", "--set-max-intset-entries", "2")


def server(policy: str, *extra: str) -> Server:
    srv = Server(config_from_argv(["--save", "", "--maxmemory-policy", policy, *extra]))
    srv.active_expire_enabled = False
    return srv


def load(monkeypatch: pytest.MonkeyPatch, path: Path, sink: bool, policy: str, **kw: Any) -> tuple[Server, Any]:
    monkeypatch.setattr(dataset, "_Sink", C.Sink if sink else None)
    srv = kw.pop("srv", None) or server(policy, *kw.pop("extra", ()))
    expired: list[tuple[int, bytes]] = []
    loaded = load_rdb_file(srv, str(path), expired_keys=expired, **kw)
    return srv, (loaded, srv.rdb.load_expired, expired, state(srv))


@pytest.fixture(params=["noeviction", "allkeys-lru", "allkeys-lfu"])
def made(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A file our server saved holding every type and encoding, hints under LRU/LFU, a key
    in db 3, and a key whose deadline has just passed by the time it is loaded."""
    srv = populated(request.param)
    srv.keyspace.dbs[0].data[b"soon"] = b"x"
    srv.keyspace.dbs[0].expires[b"soon"] = srv.keyspace.now_ms() + 30
    path = tmp_path / "made.rdb"
    path.write_bytes(saved(srv))
    time.sleep(0.05)
    return path, request.param


def saved(srv: Server) -> bytes:
    return b"".join(dataset.rdb_chunks(srv)[1])


@pytest.mark.parametrize("limits", [(), SMALL], ids=["default", "small"])
@pytest.mark.parametrize("drop_expired", [True, False])
def test_sink_stores_what_add_stores(monkeypatch: pytest.MonkeyPatch, made: tuple[Path, str],
                                     drop_expired: bool, limits: tuple[str, ...]) -> None:
    path, policy = made
    a, got = load(monkeypatch, path, True, policy, drop_expired=drop_expired, extra=limits)
    b, want = load(monkeypatch, path, False, policy, drop_expired=drop_expired, extra=limits)
    assert got == want
    loaded, expired, expired_keys, _ = got
    assert loaded > 40 and (expired, expired_keys) == ((1, [(0, b"soon")]) if drop_expired else (0, []))
    assert not drop_expired or b"soon" not in a.keyspace.dbs[0].data


@pytest.mark.parametrize("path", REAL, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("policy", ["noeviction", "allkeys-lfu"])
def test_sink_on_real_files(monkeypatch: pytest.MonkeyPatch, path: Path, policy: str) -> None:
    got = load(monkeypatch, path, True, policy)[1]
    want = load(monkeypatch, path, False, policy)[1]
    assert got == want and got[0] > 0


def test_sink_takes_plain_keys_and_declines_the_rest(made: tuple[Path, str]) -> None:
    """What it takes it counts; a key already expired comes back for add()."""
    path, policy = made
    srv = server(policy)
    loader = dataset.DatasetLoader(srv.keyspace, srv.config, drop_expired=True, keep_expired_keys=True)
    s = C.Sink(loader.tables, dataset.value_of, srv.config, loader.now, loader.lfu, loader.lru_clock,
               loader.lfu_minutes, False, dataset.SINK_CLASSES, ListValue.new(srv.config))
    now = loader.now  # what the loader compares deadlines with
    assert s(0, b"k", "string", b"v", now + 10_000, None, None, "string") is True
    assert s(0, b"gone", "string", b"v", now - 1, None, None, "string") is False
    assert s(16, b"k", "string", b"v", None, None, None, "string") is False  # past `databases`
    assert s(0, b"k", "string", b"w", None, None, None, "string") is False  # a duplicate: add() raises
    assert s(0, b"set", "set", [b"1", b"2"], None, 7, 3, "intset") is True
    assert s.taken == 2
    db = srv.keyspace.dbs[0]
    assert db.data[b"k"] == b"v" and db.expires == {b"k": now + 10_000} and b"gone" not in db.data
    assert db.data[b"set"].encoding() == "intset"
    assert (db.lru[b"set"] == (loader.lfu_minutes << 8) | 3) if loader.lfu else db.lru[b"set"] == loader.lru_clock - 7


def test_loading_over_present_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """ALLOW_DUP (DEBUG RELOAD MERGE): a present key is replaced, its TTL and hint dropped
    when the file has none; without it, the load fails on the first duplicate."""
    path = tmp_path / "dump.rdb"
    src = populated("allkeys-lru")
    path.write_bytes(saved(src))
    results = []
    for sink in (True, False):
        srv = server("allkeys-lru")
        db = srv.keyspace.dbs[0]
        for k in (b"s:2", b"h:small", b"only-here"):
            db.data[k] = b"old"
            db.expires[k] = 2**45
            db.lru[k] = 12345
        results.append(load(monkeypatch, path, sink, "allkeys-lru", srv=srv, allow_dup=True)[1])
        assert db.data[b"s:2"] != b"old" and b"s:2" not in db.expires and db.data[b"only-here"] == b"old"
        srv = server("allkeys-lru")
        srv.keyspace.dbs[0].data[b"s:2"] = b"old"
        with pytest.raises(LoadError, match="duplicated key 's:2'"):
            load(monkeypatch, path, sink, "allkeys-lru", srv=srv)
    assert results[0] == results[1]


@pytest.mark.parametrize("policy", ["noeviction", "allkeys-lru"])
def test_aof_preamble_through_the_sink(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, policy: str) -> None:
    """An AOF's RDB preamble: the replay offers its keys to the loader's sink; the
    keyspace, the records counted and the hints kept are what add() gives."""
    src = populated(policy)
    path = tmp_path / "appendonly.aof"
    path.write_bytes(saved(src) + b"*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$3\r\ns:2\r\n")
    got = []
    for sink in (True, False):
        monkeypatch.setattr(dataset, "_Sink", C.Sink if sink else None)
        result = replay(str(path), config=config_from_argv(["--maxmemory-policy", policy]))
        got.append((result.records_loaded, result.commands, state(result.server)))
    assert got[0] == got[1]
    assert got[0][0] > 40 and got[0][1] == 2
    if policy == "allkeys-lru":  # the preamble's IDLE hints survive the commands' batches
        assert any(lru for _, _, lru, _ in got[0][2])


@pytest.mark.parametrize("sink", [True, False])
def test_a_key_twice_in_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sink: bool) -> None:
    """rdbLoad's dbAddRDBLoad judges a key read twice: "RDB has duplicated key" (Redis
    panics), or under ALLOW_DUP (DEBUG RELOAD MERGE) the later one replaces it."""
    from rdbtools.encoder import encode_bytes
    from rdbtools.model import Record

    path = tmp_path / "dump.rdb"
    path.write_bytes(encode_bytes([Record(0, b"k", "string", b"v1", 2**45), Record(0, b"x", "string", b"x", None),
                                   Record(0, b"k", "hash", [(b"f", b"v2")], None)]))
    with pytest.raises(LoadError, match="RDB has duplicated key 'k' in DB 0"):
        load(monkeypatch, path, sink, "noeviction")
    srv, (loaded, *_) = load(monkeypatch, path, sink, "noeviction", allow_dup=True)
    db = srv.keyspace.dbs[0]
    assert loaded == 3 and db.data[b"k"].encoding() == "listpack" and b"k" not in db.expires
