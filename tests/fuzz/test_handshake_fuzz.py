"""The replica handshake parser (aof.handshake) on arbitrary master bytes.

Whatever a master (or something pretending to be one) sends, in any split, the
parser either makes progress or raises ReplicationError; it never raises
anything else and never buffers more than its line limit.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aof.handshake import _MAX_LINE, FullSync, ReplicationError

PIECES = st.sampled_from([b"+PONG\r\n", b"+OK\r\n", b"\n", b"-ERR x\r\n", b"+FULLRESYNC " + b"a" * 40 + b" 5\r\n",
                          b"$EOF:" + b"m" * 40 + b"\r\n", b"$10\r\n", b"$-3\r\n", b"m" * 40, b"REDIS0010",
                          b"+CONTINUE\r\n", b"$abc\r\n"])
STREAM = st.lists(st.one_of(PIECES, st.binary(max_size=64)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(STREAM, st.booleans(), st.integers(1, 17))
def test_any_bytes_give_progress_or_replication_error(pieces: list[bytes], auth: bool, step: int) -> None:
    s = FullSync(password=b"pw" if auth else None)
    s.start()
    data = b"".join(pieces)
    payload = 0
    try:
        for i in range(0, len(data), step):
            _, chunks = s.feed(data[i:i + step])
            payload += sum(len(c) for c in chunks)
            assert len(s._buf) <= _MAX_LINE + step
        s.feed_eof()
    except ReplicationError as exc:
        assert exc.step
    assert payload == s.received
    if s.size is not None:
        assert s.received <= s.size


def test_endless_line_is_refused() -> None:
    s = FullSync()
    s.start()
    try:
        for _ in range(100):
            s.feed(b"x" * 4096)
        raise AssertionError("no error")
    except ReplicationError as exc:
        assert "longer than" in str(exc)
