"""AofWriter: what goes into the buffer, the three fsync policies, and faults injected
through the sink (short writes, ENOSPC, failing truncate/fsync)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aof.commands import Command
from aof.errors import AofWriteError
from aof.files import FileSink
from aof.reader import AofReader, iter_commands
from aof.replies import encode_command
from aof.writer import AofWriter


class FaultSink:
    """An in-memory file whose write/fsync/truncate fail on demand."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.fsyncs = 0
        self.space: int | None = None  # bytes that still fit; None = unlimited
        self.max_chunk: int | None = None  # at most this much per write() call
        self.fail_truncate = False
        self.fail_fsync = False
        self.calls: list[str] = []

    @property
    def size(self) -> int:
        return len(self.data)

    def write(self, data: memoryview) -> int:
        self.calls.append("write")
        n = len(data)
        if self.max_chunk is not None:
            n = min(n, self.max_chunk)
        if self.space is not None:
            if self.space == 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            n = min(n, self.space)
            self.space -= n
        self.data += bytes(data[:n])
        return n

    def fsync(self) -> None:
        self.calls.append("fsync")
        if self.fail_fsync:
            raise OSError(errno.EIO, "Input/output error")
        self.fsyncs += 1

    def truncate(self, size: int) -> None:
        self.calls.append("truncate")
        if self.fail_truncate:
            raise OSError(errno.EPERM, "Operation not permitted")
        del self.data[size:]


def test_select_and_timestamps_like_feed_append_only_file() -> None:
    sink = FaultSink()
    w = AofWriter(sink, "no", timestamps=True)
    w.append([b"SET", b"a", b"1"], 0, now=100.2)
    w.append([b"SET", b"b", b"2"], 0, now=100.9)
    w.append([b"SET", b"c", b"3"], 2, now=101.0)
    w.append(["INCR", "n", 5], 2)
    w.flush()
    assert bytes(sink.data) == (
        b"#TS:100\r\n" + encode_command([b"SELECT", b"0"]) + encode_command([b"SET", b"a", b"1"])
        + encode_command([b"SET", b"b", b"2"])
        + b"#TS:101\r\n" + encode_command([b"SELECT", b"2"]) + encode_command([b"SET", b"c", b"3"])
        + encode_command([b"INCR", b"n", b"5"])
    )
    w.reset_db()
    w.append([b"PING"], 2)
    w.annotate(50, force=True)
    w.flush()
    cmds = list(AofReader(bytes(sink.data)))
    assert [(c.argv[0], c.db, c.ts) for c in cmds][-2:] == [(b"SELECT", 2, 101), (b"PING", 2, 101)]
    assert bytes(sink.data).endswith(b"#TS:50\r\n")


def test_always_fsyncs_before_flush_returns() -> None:
    sink = FaultSink()
    w = AofWriter(sink, "always")
    for i in range(3):
        w.append([b"SET", b"k", b"%d" % i], 0)
        assert w.flush() > 0
        assert sink.calls[-2:] == ["write", "fsync"]
        assert w.synced_size == w.size == len(sink.data)
    assert sink.fsyncs == 3
    assert w.flush() == 0 and sink.fsyncs == 3  # nothing new: no fsync


def test_everysec_fsyncs_at_most_once_a_second() -> None:
    sink = FaultSink()
    w = AofWriter(sink, "everysec")
    t = 1000.0
    for i in range(50):
        w.append([b"SET", b"k", b"%d" % i], 0)
        w.flush(t + i * 0.1)  # 5 seconds of writes
    assert 5 <= sink.fsyncs <= 6
    w.append([b"SET", b"x", b"y"], 0)
    w.flush()  # no time given: no fsync decision
    assert w.synced_size < w.size
    assert w.tick(t + 100) and w.synced_size == w.size
    n = sink.fsyncs
    assert w.tick(t + 100.5) and sink.fsyncs == n  # nothing pending


def test_no_policy_never_fsyncs_unless_asked() -> None:
    sink = FaultSink()
    w = AofWriter(sink, "no")
    w.append([b"SET", b"k", b"v"], 0)
    w.flush(1.0)
    w.tick(100.0)
    assert sink.fsyncs == 0 and w.synced_size == 0
    w.sync()
    assert sink.fsyncs == 1 and w.synced_size == w.size


def test_partial_writes_are_looped() -> None:
    sink = FaultSink()
    sink.max_chunk = 3
    w = AofWriter(sink, "always")
    w.append([b"SET", b"key", b"value"], 0)
    w.flush()
    assert list(iter_commands(bytes(sink.data)))[-1].argv == [b"SET", b"key", b"value"]


def test_short_write_is_truncated_back_and_retried() -> None:
    sink = FaultSink()
    w = AofWriter(sink, "everysec")
    w.append([b"SET", b"a", b"1"], 0)
    w.flush(0.0)
    good = bytes(sink.data)
    sink.space = 10  # the disk fills in the middle of the next batch
    w.append([b"SET", b"b", b"2" * 100], 0)
    pending = w.buffered
    with pytest.raises(AofWriteError) as ei:
        w.flush(0.5)
    err = ei.value
    assert err.errno == errno.ENOSPC and err.written == 10
    assert "Short write while writing to the AOF file: (nwritten=10, expected=" in err.message
    assert bytes(sink.data) == good  # cut back: the file still ends at a command boundary
    assert w.buffered == pending and w.size == len(good) and w.error is err
    with pytest.raises(AofWriteError) as ei2:  # still full: nothing written at all
        w.flush(0.6)
    assert ei2.value.written == 0 and "Error writing to the AOF file" in ei2.value.message
    sink.space = None  # space comes back: the same bytes go out, the error clears
    w.flush(2.0)
    assert w.error is None
    assert [c.argv for c in iter_commands(bytes(sink.data))] == [
        [b"SELECT", b"0"], [b"SET", b"a", b"1"], [b"SET", b"b", b"2" * 100]]


def test_short_write_that_cannot_be_truncated_stays_and_is_completed() -> None:
    sink = FaultSink()
    w = AofWriter(sink, "no")
    sink.space = 7
    sink.fail_truncate = True
    w.append([b"SET", b"a", b"1"], 0)
    with pytest.raises(AofWriteError) as ei:
        w.flush()
    assert ei.value.written == 7 and w.size == 7 and len(sink.data) == 7
    r = AofReader(bytes(sink.data))
    assert list(r) == [] and r.truncation is not None  # half a command, as in Redis
    sink.space = None
    w.flush()  # the rest of the same bytes: the file is whole again
    assert [c.argv for c in iter_commands(bytes(sink.data))][-1] == [b"SET", b"a", b"1"]


def test_fsync_errors() -> None:
    sink = FaultSink()
    sink.fail_fsync = True
    w = AofWriter(sink, "always")
    w.append([b"SET", b"a", b"1"], 0)
    with pytest.raises(AofWriteError, match="fsync policy is 'always'") as ei:
        w.flush()
    assert ei.value.errno == errno.EIO and w.synced_size == 0
    w2 = AofWriter(FaultSink(), "everysec")
    w2.sink.fail_fsync = True  # type: ignore[attr-defined]
    w2.append([b"SET", b"a", b"1"], 0)
    with pytest.raises(AofWriteError, match="Fail to fsync the AOF file"):
        w2.flush(10.0)


def test_bad_policy() -> None:
    with pytest.raises(ValueError):
        AofWriter(FaultSink(), "sometimes")


@pytest.mark.parametrize("policy", ["always", "everysec", "no"])
def test_file_sink(tmp_path: Path, policy: str) -> None:
    p = tmp_path / "appendonly.aof"
    with FileSink(p) as sink:
        w = AofWriter(sink, policy)
        w.append([b"SET", b"a", b"1"], 3)
        w.flush(1.0)
        w.sync(2.0)
        assert sink.size == p.stat().st_size == w.size
    with FileSink(p) as sink:  # reopened for append: size picked up
        w = AofWriter(sink, policy)
        assert w.size == p.stat().st_size
        w.append([b"SET", b"b", b"2"], 3)
        w.flush(3.0)
        sink.truncate(w.size - 1)
    r = AofReader(p)
    cmds = [c for c in r if type(c) is Command]
    assert [c.db for c in cmds if c.name == b"set"] == [3]  # the second one lost its last byte
    assert r.truncation is not None  # the cut last byte


ops = st.lists(
    st.tuples(
        st.sampled_from([b"SET", b"DEL", b"RPUSH"]),
        st.binary(max_size=12),
        st.integers(0, 3),
        st.one_of(st.none(), st.integers(0, 40)),  # disk space before this flush
        st.booleans(),  # truncate fails
    ),
    max_size=25,
)


@given(ops)
def test_whatever_the_faults_a_retried_log_holds_exactly_the_commands(steps) -> None:
    sink = FaultSink()
    w = AofWriter(sink, "always")
    expected = []
    for name, arg, db, space, bad_truncate in steps:
        w.append([name, arg], db)
        expected.append(([name, arg], db))
        sink.space = space
        sink.fail_truncate = bad_truncate
        try:
            w.flush()
        except AofWriteError:
            pass
    sink.space = None
    w.flush()
    got = [(c.argv, c.db) for c in iter_commands(bytes(sink.data)) if c.name != b"select"]
    assert got == expected
    assert w.synced_size == w.size == len(sink.data)
