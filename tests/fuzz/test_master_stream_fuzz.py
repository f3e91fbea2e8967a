"""The replica's reader of its master (aof.replstream.MasterStream).

Arbitrary bytes in arbitrary splits give progress or ReplicationError, never a
foreign exception; a well-formed conversation (handshake, RDB payload in either
framing or +CONTINUE, then commands) yields the same events and offsets whole,
byte by byte and at random split points.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aof.handshake import FullSync, ReplicationError
from aof.replies import encode_command
from aof.replstream import Continue, FullResync, Loaded, MasterStream
from rdbtools.encoder import encode_bytes
from rdbtools.model import Record

RID = b"a" * 40
MARK = b"m" * 40
RDB = encode_bytes([Record(0, b"k", "string", b"v", None), Record(2, b"h", "hash", [(b"f", b"1")], 99)])
CMDS = [[b"SELECT", b"2"], [b"SET", b"k", b"v" * 30], [b"MULTI"], [b"INCR", b"n"], [b"EXEC"],
        [b"ping"], [b"REPLCONF", b"GETACK", b"*"]]
STREAM = b"".join(encode_command(a) for a in CMDS)
HANDSHAKE = b"+PONG\r\n+OK\r\n+OK\r\n"

PIECES = st.sampled_from([
    b"+PONG\r\n", b"+OK\r\n", b"\n", b"-ERR x\r\n", b"+FULLRESYNC " + RID + b" 5\r\n",
    b"+CONTINUE " + RID + b"\r\n", b"+CONTINUE\r\n", b"$EOF:" + MARK + b"\r\n", MARK,
    b"$%d\r\n" % len(RDB), RDB, RDB[:20], b"*3\r\n$3\r\nSET\r\n", b"$-1\r\n", b"*-5\r\n", STREAM,
    b"$99999999999999999999\r\n", b"REDIS0010\xfe\x00\xff",
])
NOISE = st.lists(st.one_of(PIECES, st.binary(max_size=48)), max_size=25)


def _stream(psync: bool) -> MasterStream:
    sync = FullSync(rdb_only=False, listening_port=6380,
                    psync=(RID, 101) if psync else None)
    s = MasterStream(sync)
    s.start()
    return s


def _run(s: MasterStream, data: bytes, splits: list[int]) -> list[object]:
    events: list[object] = []
    pos = 0
    for cut in [*sorted(splits), len(data)]:
        if cut < pos:
            continue
        _, evs = s.feed(data[pos:cut])
        events += evs
        pos = cut
    return events


@settings(max_examples=300, deadline=None)
@given(NOISE, st.booleans(), st.lists(st.integers(0, 2000), max_size=12))
def test_any_bytes_give_progress_or_replication_error(pieces: list[bytes], psync: bool,
                                                      splits: list[int]) -> None:
    s = _stream(psync)
    data = b"".join(pieces)
    try:
        _run(s, data, splits)
        s.feed_eof()
    except ReplicationError as exc:
        assert exc.step


def _conversations() -> list[tuple[bool, bytes, list[int]]]:
    """(psync, bytes, cuts every feeding regime keeps). After an ``$EOF:`` payload the
    master sends nothing until the replica's first ACK: the mark ends a read."""
    full_eof = HANDSHAKE + b"+FULLRESYNC " + RID + b" 7\r\n" + b"$EOF:" + MARK + b"\r\n" + RDB + MARK
    full_disk = HANDSHAKE + b"\n\n+FULLRESYNC " + RID + b" 7\r\n\n$%d\r\n" % len(RDB) + RDB
    cont = HANDSHAKE + b"+CONTINUE " + b"b" * 40 + b"\r\n"
    return [(False, full_eof + STREAM, [len(full_eof)]), (False, full_disk + STREAM, []),
            (True, cont + STREAM, [])]


def _summary(events: list[object]) -> list[object]:
    return [e if not isinstance(e, tuple) else (e[0], e[1], tuple(e[2])) for e in events]


def test_conversations_whole_and_bytewise() -> None:
    for psync, data, cuts in _conversations():
        whole = _summary(_run(_stream(psync), data, cuts))
        bytewise = _summary(_run(_stream(psync), data, list(range(len(data)))))
        assert whole == bytewise
        cmds = [e for e in whole if isinstance(e, tuple)]
        assert [list(c[2]) for c in cmds] == CMDS
        assert cmds[-1][1] == len(STREAM)  # offsets count stream bytes from the first one
        if psync:
            assert whole[0] == Continue("b" * 40)
        else:
            assert whole[0] == FullResync(RID.decode(), 7)
            assert [e.key for e in whole if isinstance(e, Record)] == [b"k", b"h"]
            assert any(isinstance(e, Loaded) for e in whole)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2), st.lists(st.integers(0, 600), max_size=20))
def test_conversations_at_random_splits(which: int, splits: list[int]) -> None:
    psync, data, cuts = _conversations()[which]
    assert _summary(_run(_stream(psync), data, splits + cuts)) == _summary(_run(_stream(psync), data, cuts))


def test_take_hands_out_stream_bytes_in_order() -> None:
    psync, data, _ = _conversations()[2]
    s = _stream(psync)
    _run(s, data, [len(data) - 5])
    assert s.take(len(STREAM)) == STREAM and s.take(10) == b""


def test_payload_keys_offered_to_a_sink() -> None:
    """The replica's loader takes the payload's plain keys as the decoder reads them
    (MasterStream(rdb_sink=...), called as the payload starts); the rest still come as
    Records, and nothing else changes: the same Loaded and stream events follow."""
    from pytest import MonkeyPatch, importorskip

    from rdbtools import decoder

    C = importorskip("rdbtools._speedups")
    taken: list[tuple[int, bytes]] = []
    calls = []

    def factory():  # type: ignore[no-untyped-def]
        calls.append(1)
        return lambda db, key, *rest: taken.append((db, key)) or key == b"k"

    psync, data, cuts = _conversations()[0]
    with MonkeyPatch.context() as mp:  # the C scan, also in the pure-Python pass
        mp.setattr(decoder, "_scan_keys", C.scan_keys)
        mp.setattr(decoder, "KeySet", C.KeySet)
        s = MasterStream(FullSync(rdb_only=False, listening_port=6380), rdb_sink=factory)
        s.start()
        got = _run(s, data, cuts)
    plain = MasterStream(FullSync(rdb_only=False, listening_port=6380))
    plain.start()
    want = _run(plain, data, cuts)
    assert calls == [1] and (0, b"k") in taken
    assert [e for e in want if not (isinstance(e, Record) and e.key == b"k")] == got
