"""The replay's run path (``AofReader(runs=True)`` + ``call_loading``) against one command at a time.

The loader takes the reader's runs of plain commands through ``call_loading``; a command
it cannot take (a wrong arity, a subcommand, one that is not ``fast``, anything inside
MULTI, an unknown name) goes through ``execute`` on its own. The keyspace, the counts
and the errors (with file and offset) must be those of a replay fed one Command at a
time, with the C request scanner and with the pure-Python parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aof.reader import AofReader
from aof.replies import encode_command as enc
from engine.config import Config
from engine.execution.client import Client
from engine.execution.dispatch import execute
from engine.persistence.aof_replay import ReplayError, replay_into
from engine.server.app import Server
from rdbtools.encoder import RdbEncoder
from rdbtools.model import Record
from tests.support.noisy_aof import write_noisy_aof

# commands the run path must hand to execute, between plain ones
ODD = b"".join(enc(c) for c in [
    [b"SELECT", b"0"], [b"SET", b"odd:a", b"1"],
    [b"GET"],  # wrong arity: an error reply, ignored while loading
    [b"INCR", b"odd:a"], [b"APPEND", b"odd:a", b"x"], [b"INCR", b"odd:a"],  # error reply
    [b"OBJECT", b"ENCODING", b"odd:a"],  # a subcommand
    [b"sort", b"odd:l"], [b"RPUSH", b"odd:l", b"3", b"1", b"2"],
    [b"SORT", b"odd:l", b"STORE", b"odd:sorted"],
    [b"Multi"], [b"SET", b"odd:m", b"1"], [b"select", b"3"], [b"SET", b"odd:m", b"2"], [b"exec"],
    [b"SET", b"odd:after", b"1"],  # db 3 (the SELECT queued in the MULTI ran at EXEC)
    [b"DISCARD"], [b"EXEC"],  # outside MULTI: errors
    [b"SWAPDB", b"0", b"3"], [b"SET", b"odd:swapped", b"1"],
])


def _replay(src: Path | bytes, runs: bool, watched: bool = False) -> tuple[dict, tuple[int, int]]:
    srv = Server(Config())
    if watched:  # a WATCHer to signal: every command goes through call() (not lean_loading)
        watcher = Client(srv)
        assert execute(watcher, [b"WATCH", b"odd:a"]) == b"+OK\r\n"
        assert srv.keyspace.dbs[0].watched  # what lean_loading looks for
    r = replay_into(srv, AofReader(src, runs=runs))
    keys = {(x.db, x.key): (x.type, sorted(x.value) if x.type in ("set", "hash") else
                            list(x.value) if x.type in ("list", "zset") else x.value, x.expire_ms)
            for x in r.records(0) if type(x) is Record}
    return keys, (r.commands, r.errors)


@pytest.mark.parametrize("watched", [False, True], ids=["lean", "call"])
def test_runs_replay_like_single_commands(tmp_path: Path, resp_scan: str, watched: bool) -> None:
    src = tmp_path / "noisy.aof"
    write_noisy_aof(src, 10_000, 1_500, select_in_multi=0.3)
    data = src.read_bytes() + ODD + src.read_bytes()[:20_000].rsplit(b"*", 1)[0]
    src.write_bytes(data)
    with_runs = _replay(src, True, watched)
    single = _replay(src, False, watched)
    assert with_runs == single
    keys, (commands, errors) = with_runs
    assert commands > 10_000 and errors >= 4 and len(keys) > 800
    # SWAPDB 0 3 ran last: what db 0 held is in db 3 and the other way round
    assert keys[(0, b"odd:m")][1] == b"2" and keys[(3, b"odd:m")][1] == b"1"
    assert (0, b"odd:after") in keys and (3, b"odd:swapped") in keys
    assert keys[(3, b"odd:sorted")][1] == [b"1", b"2", b"3"]


@pytest.mark.parametrize("bad", [
    [b"NOSUCHCMD", b"x"],
    [b"HGETEX", b"h", b"EX", b"100", b"FIELDS", b"1", b"f"],  # Redis's, not served
])
def test_errors_point_at_the_command_inside_a_run(bad: list[bytes], resp_scan: str) -> None:
    head = b"".join(enc([b"SET", b"k%d" % i, b"v"]) for i in range(50))
    data = head + enc(bad) + b"".join(enc([b"DEL", b"k%d" % i]) for i in range(5))
    errors = []
    for runs in (True, False):
        with pytest.raises(ReplayError) as ei:
            replay_into(Server(Config()), AofReader(data, runs=runs))
        errors.append((str(ei.value), ei.value.file, ei.value.offset))
    assert errors[0] == errors[1] and errors[0][2] == len(head)


def test_access_clocks_after_a_replay(tmp_path: Path) -> None:
    """Every key replayed into an empty keyspace reports the load's clock (OBJECT IDLETIME
    counts from the load), without one access-clock entry a key; an RDB base's idle
    hints survive for the keys no command touched."""
    base = [Record(0, b"hinted:%d" % i, "string", b"v", idle=500) for i in range(3)]
    rdb = b"".join(RdbEncoder(10, aof_base=True).encode(base))
    cmds = b"".join(enc([b"SET", b"k%d" % i, b"v"]) for i in range(3000))
    cmds += enc([b"GET", b"hinted:0"])  # touched: its clock becomes the load's
    for data, hinted in ((cmds, False), (rdb + cmds, True)):
        src = tmp_path / "t.aof"
        src.write_bytes(data)
        srv = Server(Config())
        ks = srv.keyspace
        r = replay_into(srv, AofReader(src, runs=True, chunk_size=4096))
        assert r.commands == 3001
        db = ks.dbs[0]
        if not hinted:
            assert len(db.lru) < 3000  # not one entry a key
        ks.lru_clock += 100  # what the cron does as time passes
        for d in ks.dbs:
            d.clock = ks.lru_clock
        idle = {k: db.idle_seconds(k) for k in db.data}
        assert idle.pop(b"hinted:1", 600) == idle.pop(b"hinted:2", 600) == 600
        assert set(idle.values()) == {100}
