"""aof.check: redis-check-aof's verdicts and transcript, fix plans, and fixed files that
Debian's redis-check-aof and redis-server 7.0 accept."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aof.check import analyse, apply_fix, check_bytes, sniff
from aof.errors import AofError
from aof.reader import AofReader
from aof.replies import encode_command as enc
from tests.aof.test_reader import SAMPLE, _preamble_sample
from tests.support.manifest import FIXTURES

CHECK_AOF = shutil.which("redis-check-aof") or "/usr/bin/redis-check-aof"
HAVE_TOOL = Path(CHECK_AOF).exists()
AOF_ROOT = FIXTURES / "aof"
SINGLE = sorted(AOF_ROOT.glob("*/*/appendonly.aof"))
MULTI = sorted(AOF_ROOT.glob("*/*/appendonlydir"))


def tool(path: Path, *args: str) -> tuple[int, list[str]]:
    res = subprocess.run([CHECK_AOF, *args, str(path)], capture_output=True, timeout=30,
                         input=b"y\n")
    text = res.stdout.decode("utf-8", "surrogateescape").replace("\r", "\n")
    return res.returncode, text.splitlines()


def ours(path: Path) -> list[str]:
    return "\n".join(analyse(str(path)).lines()).replace("\r", "\n").splitlines()


@pytest.mark.parametrize("src", SINGLE + MULTI, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_fixtures_are_valid_with_the_recorded_numbers(src: Path) -> None:
    rep = analyse(str(src))
    assert rep.valid and rep.fix_plan is None and rep.fatal is None
    recorded = json.loads(src.with_name(src.name + ".json").read_text())["check"]["tail"]
    want = [re.sub(r"filename=\S+ ", "", x) for x in recorded if x.startswith("AOF analyzed")]
    got = [re.sub(r"filename=\S+ ", "", x) for x in rep.lines() if x.startswith("AOF analyzed")]
    assert got[-1:] == want
    if src in MULTI:
        assert list(rep.lines())[-1] == "All AOF files and manifest are valid"
        assert [f.role for f in rep.files] == ["base", "incr"]
        assert rep.files[0].preamble == (src.parent.name != "aof-nopreamble")
    assert rep.kind == ("multipart" if src in MULTI else
                        "preamble" if src.parent.name == "aof-preamble" else "resp")


@pytest.mark.differential
def test_every_cut_gives_redis_check_aofs_transcript(tmp_path: Path) -> None:
    if not HAVE_TOOL:
        pytest.skip("no redis-check-aof")
    data = SAMPLE[:200]  # annotation, SELECT, SET, MULTI … EXEC: every kind of cut
    p = tmp_path / "a.aof"
    for cut in range(len(data) + 1):
        p.write_bytes(data[:cut])
        assert ours(p) == tool(p)[1], cut


@pytest.mark.differential
def test_mutations_give_redis_check_aofs_transcript(tmp_path: Path) -> None:
    if not HAVE_TOOL:
        pytest.skip("no redis-check-aof")
    rnd = random.Random(7)
    p = tmp_path / "a.aof"
    for _ in range(150):
        b = bytearray(SAMPLE)
        for _ in range(rnd.randint(1, 3)):
            b[rnd.randrange(len(b))] = rnd.choice(b"*$\r\n#123xyz\xff")
        p.write_bytes(b)
        assert ours(p) == tool(p)[1], bytes(b)


def test_unexpected_multi_and_exec() -> None:
    head = enc([b"SET", b"a", b"1"])
    rep = check_bytes(head + enc([b"MULTI"]) + enc([b"MULTI"]) + enc([b"EXEC"]))
    f = rep.files[0]
    assert f.reason == "unexpected-multi" and f.ok_up_to == len(head)
    assert "Unexpected MULTI in AOF" in f.error
    rep = check_bytes(head + enc([b"EXEC"]) + head)
    assert rep.files[0].reason == "unexpected-exec" and rep.files[0].ok_up_to == len(head)
    rep = check_bytes(head + enc([b"MULTI"]) + head)
    assert rep.files[0].error.endswith("Reached EOF before reading EXEC for MULTI")
    assert rep.fix_plan is None  # bytes have no path to fix


def test_corrupt_preamble_is_fatal_not_fixable(tmp_path: Path) -> None:
    data = bytearray(_preamble_sample())
    data[60] ^= 0xFF
    p = tmp_path / "appendonly.aof"
    p.write_bytes(bytes(data))
    rep = analyse(str(p))
    assert not rep.valid and rep.fix_plan is None
    assert rep.fatal == "RDB preamble of AOF file is not sane, aborting."
    assert list(rep.lines())[-1] == rep.fatal


def _truncated_copy(src: Path, tmp: Path, cut_from_end: int) -> Path:
    if src.is_dir():
        dst = tmp / "appendonlydir"
        shutil.copytree(src, dst)
        last = sorted(dst.glob("*.incr.aof"))[-1]
        data = last.read_bytes()
        last.write_bytes(data[: len(data) - cut_from_end])
        return dst
    dst = tmp / "appendonly.aof"
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) - cut_from_end])
    return dst


CASES = [(s, c) for s in SINGLE[:3] + MULTI[:3] for c in (1, 7, 300)]


@pytest.mark.parametrize(("src", "cut"), CASES,
                         ids=[f"{s.parent.parent.name}/{s.parent.name}-{c}" for s, c in CASES])
def test_fix_truncated_copies(src: Path, cut: int, tmp_path: Path) -> None:
    path = _truncated_copy(src, tmp_path, cut)
    rep = analyse(str(path))
    assert not rep.valid and rep.fatal is None
    plan = rep.fix_plan
    assert plan is not None and plan.truncate_to < plan.size and plan.removed == rep.bad.diff
    before = Path(plan.path).read_bytes()
    saved = apply_fix(plan)
    assert Path(saved).read_bytes() == before  # the backup
    assert len(Path(plan.path).read_bytes()) == plan.truncate_to
    with pytest.raises(AofError, match="changed since"):
        apply_fix(plan)
    again = analyse(str(path))
    assert again.valid
    r = AofReader(path)
    list(r)
    assert r.truncation is None
    if HAVE_TOOL:
        target = path / "appendonly.aof.manifest" if path.is_dir() else path
        rc, out = tool(target)
        assert rc == 0 and (out[-1].endswith("is valid") or out[-1].startswith("All AOF")), out


def test_a_bad_file_that_is_not_the_last_cannot_be_fixed(tmp_path: Path) -> None:
    d = tmp_path / "appendonlydir"
    shutil.copytree(MULTI[0], d)
    base = sorted(d.glob("*.base.*"))[0]
    base.write_bytes(base.read_bytes() + b"*2\r\n$3\r\nGET")
    rep = analyse(str(d))
    assert rep.fix_plan is None and rep.bad.role == "base" and "not the last file" in rep.fatal
    assert list(rep.lines(fix=True))[-1].startswith("Failed to truncate AOF")


def test_sniff(tmp_path: Path) -> None:
    assert sniff(str(MULTI[0])) == "aof-multipart"
    assert sniff(str(next(MULTI[0].glob("*.manifest")))) == "aof-multipart"
    assert sniff(str(SINGLE[0])) == "aof-resp"
    assert sniff(str(AOF_ROOT / "redis-6.2.5/aof-preamble/appendonly.aof")) == "aof-preamble"
    assert sniff(str(next((AOF_ROOT / "redis-7.0.15/aof-preamble").glob("*/*.base.rdb")))) == \
        "aof-preamble"
    assert sniff(str(FIXTURES / "rdb/redis-7.0/dump.rdb")) == "rdb"
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello")
    assert sniff(str(junk)) == "rdb"


@pytest.mark.differential
def test_fixed_multipart_loads_in_redis(tmp_path: Path) -> None:
    """Cut the incr file of a real 7.0 directory mid-command, fix it, start redis-server
    7.0 on it: it loads the directory without complaint."""
    from tests.differential.conftest import run_server

    src = AOF_ROOT / "redis-7.0.15" / "aof-raw" / "appendonlydir"
    d = _truncated_copy(src, tmp_path, 5000)
    rep = analyse(str(d))
    apply_fix(rep.fix_plan, backup=False)
    keys: set[tuple[int, bytes]] = set()
    from aof.commands import Command

    n = sum(1 for x in AofReader(d) if type(x) is Command)
    assert n > 100
    with run_server("7.0", tmp_path, "none.rdb", "--appendonly", "yes",
                    "--appenddirname", "appendonlydir") as srv:
        for db in range(16):
            srv("SELECT", db)
            keys.update((db, k) for k in srv("KEYS", "*"))
        log = srv.log.read_text(errors="replace")
    assert "DB loaded from incr file appendonly.aof.1.incr.aof" in log
    assert "short read" not in log and keys
