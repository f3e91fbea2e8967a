"""Start-up with a damaged dump (docs/durability.md D-9): refuse to start, name the file and
the offset, never start empty over data we could not read; a zeroed checksum loads
(no check, as Redis), a 0-byte file is refused (as real 7.0 refuses it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.engine.conftest import COMMON_ARGS, ROOT, free_port, start_ours
from tests.support.servers import run_ours

DUMP = ROOT / "fixtures/rdb/redis-7.0/dump.rdb"


def _start_fails(tmp: Path) -> str:
    proc = run_ours("--port", str(free_port()), "--bind", "127.0.0.1", "--dir", str(tmp), *COMMON_ARGS,
                    cwd=tmp, text=True)
    assert proc.returncode != 0, "the server started over a file it could not load"
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("damage", ["checksum", "truncated", "version", "garbage"])
def test_damaged_dump_refuses_to_start(tmp_path: Path, damage: str) -> None:
    data = bytearray(DUMP.read_bytes())
    if damage == "checksum":
        data[-1] ^= 0xFF
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "version":
        data[5:9] = b"0013"
    else:
        data[200:210] = b"\xee" * 10
    (tmp_path / "dump.rdb").write_bytes(bytes(data))
    out = _start_fails(tmp_path)
    assert "dump.rdb" in out
    if damage in ("checksum", "truncated", "garbage"):
        assert "offset" in out


def test_unreadable_dump_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "dump.rdb").mkdir()  # root ignores chmod 000; a directory cannot be read either
    out = _start_fails(tmp_path)
    assert "dump.rdb" in out


def test_zero_checksum_loads_and_a_zero_byte_file_is_refused(tmp_path: Path) -> None:
    data = bytearray(DUMP.read_bytes())
    data[-8:] = bytes(8)  # "saved with checksum disabled": no check
    (tmp_path / "dump.rdb").write_bytes(bytes(data))
    srv = start_ours(tmp_path)
    try:
        assert srv.client().dbsize() > 0
    finally:
        srv.stop()
    empty = tmp_path / "e"
    empty.mkdir()
    (empty / "dump.rdb").write_bytes(b"")  # real 7.0 refuses it too ("Short read ... aborting")
    assert "offset 0" in _start_fails(empty)
    shutil.rmtree(empty)
