"""Every file the CLI writes appears whole or not at all (rdbtools.io.atomic_output).

A verb that fails half-way — corrupt input found after some keys were written, or
Ctrl-C — leaves no output file, no temporary file, and an existing output as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from rdbtools import io as rio

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "fixtures" / "rdb" / "corpus-redis-7.0.15" / "dump.rdb"


def _corrupt_tail(tmp: Path) -> Path:
    """The fixture with its last value bytes damaged: keys decode, then the checksum fails."""
    data = bytearray(DUMP.read_bytes())
    data[-12] ^= 0xFF
    p = tmp / "bad.rdb"
    p.write_bytes(bytes(data))
    return p


@pytest.mark.parametrize("argv", [
    ["dump", "{in}", "-o", "{out}.jsonl"],
    ["dump", "{in}", "--format", "json", "-o", "{out}.json.lz4"],
    ["convert", "{in}", "{out}.jsonl"],
    ["convert", "{in}", "{out}.rdb"],
    ["report", "{in}", "-o", "{out}.csv"],
    ["report", "{in}", "--html", "{out}.html"],
])
def test_failed_verb_leaves_no_output(tmp_path: Path, argv: list[str]) -> None:
    bad = _corrupt_tail(tmp_path)
    out = tmp_path / "out"
    args = [a.format(**{"in": bad, "out": out}) for a in argv]
    target = Path(args[-1])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == ExitStatus.CORRUPT_INPUT, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.rdb"]
    # an existing output is left as it was
    target.write_bytes(b"previous")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == ExitStatus.CORRUPT_INPUT
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["bad.rdb", target.name])


def test_interrupted_dump_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rdbtools.seek import DumpSource

    real = DumpSource.records

    def interrupted(self):
        for i, rec in enumerate(real(self)):
            if i == 3:
                raise KeyboardInterrupt
            yield rec

    monkeypatch.setattr(DumpSource, "records", interrupted)
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(cli, ["dump", str(DUMP), "-o", str(out)])
    assert res.exit_code == ExitStatus.INTERRUPTED
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), rio.atomic_output(target) as out:
        out.write(b"new, half")
        raise RuntimeError("stop")
    assert target.read_bytes() == b"old"
    rio.write_atomically(target, [b"new", b" whole"])
    assert target.read_bytes() == b"new whole"
    rio.write_atomically(tmp_path / "y.lz4", b"framed")
    import lz4.frame

    assert lz4.frame.decompress((tmp_path / "y.lz4").read_bytes()) == b"framed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin", "y.lz4"]


def test_output_to_a_fifo_or_device_is_written_in_place(tmp_path: Path) -> None:
    """``-o /dev/null``, ``-o /dev/stdout`` or a FIFO is no file to replace: renaming a temp
    file over it would turn /dev/null into a regular file (as root) or fail (``/dev`` is
    not writable otherwise). The bytes go into it directly."""
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    res = CliRunner().invoke(cli, ["dump", str(DUMP), "-o", str(fifo)])
    try:
        assert res.exit_code == 0, res.output
        reader.join(10)
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        assert got and got[0].count(b"\n") == sum(1 for _ in rio.iter_records(str(DUMP)))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]
    finally:
        if reader.is_alive():  # release the reader the unfixed code left waiting
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

