"""``rdbkit fetch`` against real servers: the snapshot a live 7.0 / 6.2 sends over the
replication protocol, framed disk-based (``$<size>``) and diskless (``$EOF:<mark>``).

The fetched file must decode, carry the server's own digest (DEBUG DIGEST) and
its keys; AUTH and failures (wrong password, nothing listening) exit non-zero
with one line and leave no file behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aof.handshake import FullSync, ReplicationError
from cli.main import cli
from rdbtools.digest import dataset_digest
from rdbtools.io import read_all
from rdbtools.model import Record
from tests.differential.conftest import _free_port, run_server, server_binary


def _fill(srv) -> None:
    srv("SELECT", 2)
    srv("RPUSH", "l", *range(300))
    srv("HSET", "h", "a", "1", "b", "2")
    srv("SELECT", 0)
    srv("DEBUG", "POPULATE", 2000)
    srv("ZADD", "z", 1.5, "x", 2, "y")
    srv("SET", "ttl", "v", "EX", 1000)


def _fetch(port: int, out: Path, *extra: str):
    return CliRunner().invoke(cli, ["fetch", "-p", str(port), "-o", str(out), *extra],
                              catch_exceptions=False)


@pytest.mark.parametrize("version", ["7.0", "6.2"])
@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_fetch_matches_the_live_dataset(tmp_path: Path, version: str, diskless: str) -> None:
    if server_binary(version) is None:
        pytest.skip(f"redis-server {version} is not installed")
    (tmp_path / "srv").mkdir()
    debug = ["--enable-debug-command", "yes"] if version == "7.0" else []
    with run_server(version, tmp_path / "srv", "dump.rdb", "--repl-diskless-sync", diskless,
                    "--repl-diskless-sync-delay", "0", *debug) as srv:
        _fill(srv)
        digest = srv("DEBUG", "DIGEST").decode()
        out = tmp_path / "fetched.rdb"
        res = _fetch(srv.port, out)
        assert res.exit_code == 0, res.output
        records = [e for e in read_all(str(out)) if isinstance(e, Record)]
        assert len(records) == 2004
        assert dataset_digest(records) == digest
        assert "2004 keys, checksum OK" in res.output
        jl = tmp_path / "fetched.jsonl"
        res = _fetch(srv.port, jl, "--format", "jsonl")
        assert res.exit_code == 0, res.output
        assert len(jl.read_bytes().splitlines()) == 2004


def test_fetch_with_auth_and_failures(tmp_path: Path) -> None:
    if server_binary("7.0") is None:
        pytest.skip("redis-server 7.0 is not installed")
    (tmp_path / "srv").mkdir()
    with run_server("7.0", tmp_path / "srv", "dump.rdb", "--repl-diskless-sync-delay", "0") as srv:
        srv("SET", "k", "v")
        srv("CONFIG", "SET", "requirepass", "s3cret")
        out = tmp_path / "a.rdb"
        res = _fetch(srv.port, out, "-a", "s3cret")
        assert res.exit_code == 0, res.output
        assert [r.key for r in read_all(str(out)) if isinstance(r, Record)] == [b"k"]
        bad = tmp_path / "b.rdb"
        res = _fetch(srv.port, bad, "-a", "wrong")
        assert res.exit_code != 0 and "authentication failed" in res.output
        assert not bad.exists() and not list(tmp_path.glob("b.rdb.tmp-*"))
    res = _fetch(_free_port(), tmp_path / "c.rdb", "--timeout", "2")
    assert res.exit_code != 0 and "cannot connect" in res.output


def test_handshake_framing_edge_cases() -> None:
    """Sans-IO: keep-alive newlines, a mark split across reads, a size-framed payload and trailing bytes."""
    mark = b"a" * 40
    body = b"REDIS0010" + b"x" * 100
    s = FullSync(rdb_only=False)
    send = s.start()
    assert send.startswith(b"*1\r\n$4\r\nPING")
    replies = [b"+PONG\r\n", b"+OK\r\n", b"\n\n+FULLRESYNC " + b"f" * 40 + b" 77\r\n\n$EOF:" + mark + b"\r\n"]
    for r in replies:
        send, chunks = s.feed(r)
    got = []
    data = body + mark
    for i in range(0, len(data), 7):  # the mark arrives in pieces
        _, chunks = s.feed(data[i:i + 7])
        got += chunks
    assert s.done and b"".join(got) == body and s.offset == 77
    s = FullSync()
    s.start()
    for r in (b"+PONG\r\n", b"+OK\r\n", b"-ERR Unrecognized REPLCONF option: rdb-only\r\n"):
        s.feed(r)
    send, _ = s.feed(b"-ERR unknown command 'PSYNC'\r\n")
    assert b"SYNC" in send  # legacy master: SYNC, the payload follows directly
    _, chunks = s.feed(b"$5\r\nREDISextra")
    assert s.done and chunks == [b"REDIS"] and s.trailing == b"extra"
    s = FullSync()
    s.start()
    for r in (b"+PONG\r\n", b"+OK\r\n", b"+OK\r\n", b"+FULLRESYNC x 0\r\n"):
        s.feed(r)
    with pytest.raises(ReplicationError, match="aborted"):
        s.feed(b"-ERR BGSAVE failed\r\n")
    s = FullSync()
    s.start()
    with pytest.raises(ReplicationError, match="closed by the master"):
        s.feed_eof()
