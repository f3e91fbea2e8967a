"""Peak memory of the file tools on a small file holding a huge LZF string.

LZF expands up to ~90x, so a 0.75 MB file can hold a 64 MiB string (a 3 MB one 256 MiB).
Reading it costs one copy of the value (redis-check-rdb too); ``dump``/``convert`` used
to hold three more (decoded text, escaped text, joined line: 811 MB of RSS for 256 MiB)
and now write the value in pieces. Each command runs in a child whose peak RSS is read
with ``getrusage``; the bound is the interpreter's own footprint plus 1.5x the value.
``RDBKIT_SOAK=1`` adds 256 MiB values and the other verbs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rdbtools.encoder import encode_bytes
from rdbtools.model import Record
from tests.support.peak import rdbkit_peak_kib

ROOT = Path(__file__).resolve().parents[2]
SOAK = bool(os.environ.get("RDBKIT_SOAK"))
MIB = 1 << 20

peak_kib = rdbkit_peak_kib


_FILES: dict[tuple[int, bytes], Path] = {}


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """``big(mib, byte)``: a file holding ``byte * mib MiB`` as one LZF string (made once)."""
    tmp = tmp_path_factory.mktemp("big")

    def make(mib: int, byte: bytes) -> Path:
        p = _FILES.get((mib, byte))
        if p is None:
            p = tmp / f"big-{mib}-{byte.hex()}.rdb"
            value = byte * (mib * MIB)
            p.write_bytes(encode_bytes([Record(0, b"big", "string", value)], target_version=10))
            assert p.stat().st_size < mib * MIB // 50  # LZF did compress it: the value is the cost
            _FILES[(mib, byte)] = p
        return p

    return make


@pytest.fixture(scope="module")
def baseline_kib(tmp_path_factory) -> int:
    small = tmp_path_factory.mktemp("small") / "small.rdb"
    small.write_bytes(encode_bytes([Record(0, b"k", "string", b"v")], target_version=10))
    return peak_kib("dump", str(small))


CASES = [(64, b"a", "jsonl"), (64, b"\0", "json")]  # plain text; 6x-escaped control bytes
if SOAK:
    CASES += [(64, b"\xff", "jsonl"), (256, b"a", "jsonl"), (256, b"a", "json"),
              (256, b"\0", "jsonl"), (256, b"\xff", "json")]


@pytest.mark.parametrize(("mib", "byte", "fmt"), CASES)
def test_dump_holds_one_copy_of_a_huge_string(big, baseline_kib: int, mib: int, byte: bytes,
                                              fmt: str) -> None:
    used = peak_kib("dump", "--format", fmt, str(big(mib, byte))) - baseline_kib
    assert used < 1.5 * mib * 1024, f"dump --format {fmt}: {used / 1024:.0f} MiB above the interpreter"


def test_other_verbs_hold_one_copy(tmp_path: Path, big, baseline_kib: int) -> None:
    mib = 256 if SOAK else 64
    path = str(big(mib, b"a"))
    for args in (["check", path], ["report", "--summary", path],
                 ["convert", path, str(tmp_path / "out.jsonl")],
                 ["convert", path, str(tmp_path / "out.rdb")]):
        used = peak_kib(*args) - baseline_kib
        assert used < 1.5 * mib * 1024, f"{args[0]}: {used / 1024:.0f} MiB above the interpreter"
