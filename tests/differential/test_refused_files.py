"""Files real Redis 7.0 refuses to load are refused by every rdbkit reader too.

Each file is built with our encoder: a key twice in one db (redis-server panics, "RDB
has duplicated key"), and the stream consumer-group invariants ``rdbLoadObject`` checks
(group names, consumer names, global PEL ids, consumer PEL ids that must be in the
global PEL and owned once, and — with ``sanitize-dump-payload yes``, as redis-check-rdb
runs — every PEL entry owned by a consumer). For each: real redis-server 7.0.15 does not
come up (its log says why), ``rdbkit check`` exits 3 with one line naming file, offset,
key and db (for streams the offset redis-check-rdb reports), ``dump``/``convert`` exit 3,
and our server refuses to start on it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from rdbtools.decoder import RdbDecoder
from rdbtools.encoder import encode_bytes
from rdbtools.model import PendingEntry, Record, Stream, StreamConsumer, StreamGroup
from tests.differential.conftest import ServerFailed, check_rdb_binary, start_real

_ENTRIES = (((1, 0), ((b"f", b"v"),)), ((2, 0), ((b"f", b"v"),)))
_P1 = PendingEntry((1, 0), 1000, 1)
_P2 = PendingEntry((2, 0), 1000, 1)


def _consumer(name: bytes, *ids: tuple[int, int]) -> StreamConsumer:
    return StreamConsumer(name, 1000, None, tuple(ids))


def _stream(*groups: tuple[bytes, list, list]) -> list[Record]:
    gs = tuple(StreamGroup(n, (2, 0), 2, tuple(pel), tuple(cons)) for n, pel, cons in groups)
    return [Record(0, b"s", "stream", Stream(_ENTRIES, 2, (2, 0), (1, 0), (0, 0), 2, gs))]


# name: (records, what real redis-server logs, key, db)
CASES = {
    "dup-key": ([Record(0, b"a", "string", b"1"), Record(0, b"b", "string", b"2"),
                 Record(0, b"a", "string", b"3")], "RDB has duplicated key 'a' in DB 0", b"a", 0),
    "dup-key-db1": ([Record(0, b"a", "string", b"1"), Record(1, b"a", "string", b"2"),
                     Record(1, b"a", "list", [b"x"])], "RDB has duplicated key 'a' in DB 1", b"a", 1),
    "dup-group": (_stream((b"g", [], []), (b"g", [], [])),
                  "Duplicated consumer group name g", b"s", 0),
    "dup-consumer": (_stream((b"g", [], [_consumer(b"c"), _consumer(b"c")])),
                     "Duplicate stream consumer detected.", b"s", 0),
    "dup-global-pel": (_stream((b"g", [_P1, _P1], [_consumer(b"c", (1, 0))])),
                       "Duplicated global PEL entry", b"s", 0),
    "consumer-pel-not-in-group": (_stream((b"g", [_P1], [_consumer(b"c", (1, 0), (2, 0))])),
                                  "Consumer entry not found in group global PEL", b"s", 0),
    "consumer-pel-dup": (_stream((b"g", [_P1], [_consumer(b"c", (1, 0), (1, 0))])),
                         "already has a consumer assigned", b"s", 0),
    "pel-two-owners": (_stream((b"g", [_P1], [_consumer(b"a", (1, 0)), _consumer(b"b", (1, 0))])),
                       "already has a consumer assigned", b"s", 0),
    "pel-without-consumer": (_stream((b"g", [_P1, _P2], [_consumer(b"c", (1, 0))])),
                             "Stream CG PEL entry without consumer", b"s", 0),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("refused")
    out = {}
    for name, (records, *_) in CASES.items():
        p = d / f"{name}.rdb"
        p.write_bytes(encode_bytes(records, target_version=10))
        out[name] = p
    return out


@pytest.mark.differential
@pytest.mark.parametrize("name", CASES)
def test_real_redis_refuses(tmp_path: Path, files: dict[str, Path], name: str) -> None:
    (tmp_path / "dump.rdb").write_bytes(files[name].read_bytes())
    log = tmp_path / "redis.log"
    # sanitize-dump-payload yes: the deep checks redis-check-rdb runs, which we always run
    try:
        srv = start_real(tmp_path, "--loglevel", "notice", "--dbfilename", "dump.rdb",
                         "--logfile", str(log), "--sanitize-dump-payload", "yes", loaded=True, timeout=15)
    except ServerFailed as exc:
        assert exc.returncode not in (0, None), exc
    else:
        srv.stop(kill=True)
        pytest.fail(f"redis-server came up on {name}")
    assert CASES[name][1] in log.read_text(errors="replace")


@pytest.mark.parametrize("name", CASES)
def test_check_refuses_with_file_offset_key_db(files: dict[str, Path], name: str) -> None:
    path = files[name]
    _, why, key, db = CASES[name]
    res = CliRunner().invoke(cli, ["check", str(path)])
    assert res.exit_code == ExitStatus.CORRUPT_INPUT, res.output
    line = next(x for x in res.stderr.splitlines() if x.startswith(str(path)) and "offset" in x)
    assert f"key {key!r}" in line and f"db {db}" in line
    assert ("duplicated key" if name.startswith("dup-key") else "stream") in line.lower()
    offset = int(re.search(r"at offset (\d+)", line).group(1))
    tool = check_rdb_binary()
    if tool and not name.startswith("dup-key"):  # redis-check-rdb loads no keyspace: no dup keys
        out = subprocess.run([tool, str(path)], capture_output=True, text=True).stdout
        assert f"[offset {offset}] Internal error" in out, out
    elif name.startswith("dup-key"):  # the second key's type byte
        dec = RdbDecoder(check_duplicates=False)
        dec.feed(path.read_bytes())
        dec.feed_eof()
        assert offset == [ev.offset for ev in dec if type(ev) is Record][-1]


@pytest.mark.parametrize("name", ["dup-key", "dup-key-db1", "dup-group", "pel-without-consumer"])
def test_dump_and_convert_refuse(tmp_path: Path, files: dict[str, Path], name: str) -> None:
    path = files[name]
    for args in (["dump", str(path)], ["dump", "--format", "json", str(path)],
                 ["convert", str(path), str(tmp_path / "out.jsonl")],
                 ["convert", str(path), str(tmp_path / "out.rdb")],
                 ["report", "--summary", str(path)], ["diff", str(path), str(path)]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == ExitStatus.CORRUPT_INPUT, (args, res.output)
        assert str(path) in res.stderr and "offset" in res.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["dup-key-db1", "dup-group", "pel-without-consumer"])
def test_our_server_refuses_to_start(tmp_path: Path, files: dict[str, Path], name: str) -> None:
    from tests.engine.test_load_faults import _start_fails

    (tmp_path / "dump.rdb").write_bytes(files[name].read_bytes())
    out = _start_fails(tmp_path)
    _, _, key, db = CASES[name]
    assert "dump.rdb" in out and "offset" in out and f"key {key!r}" in out and f"db {db}" in out
