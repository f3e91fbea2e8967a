"""The multi-part manifest: parse/format round trips, every error, the directory view,
and real redis-server 7.0 agreeing on accepted and rejected manifests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aof.errors import AofError, AofWriteError, ManifestError
from aof.manifest import (
    AofInfo,
    Manifest,
    _atoll,
    format_info,
    format_manifest,
    load_manifest,
    looks_like_manifest,
)
from aof.multipart import (
    AofDirectory,
    AofNames,
    find_manifest,
    mark_incrs_history,
    with_new_base,
    with_new_incr,
    without_history,
)
from aof.replies import encode_command
from tests.support.manifest import FIXTURES
from tests.support.servers import ServerFailed, require_server, start_real

MANIFESTS = sorted((FIXTURES / "aof").glob("*/*/appendonlydir/*.manifest"))


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.parent.parent.name for p in MANIFESTS])
def test_fixture_manifests_round_trip(path: Path) -> None:
    data = path.read_bytes()
    am = load_manifest(data)
    assert format_manifest(am) == data
    assert am.base is not None and am.base.type == "b" and len(am.incrs) == 1
    assert am.curr_base_seq == am.base.seq and am.curr_incr_seq == am.incrs[0].seq
    assert looks_like_manifest(data)


def test_keys_any_order_any_case_unknown_keys_comments() -> None:
    text = (
        b"# a comment\n"
        b"SEQ 3 Type b FILE appendonly.aof.3.base.rdb\n"
        b"#file ignored seq 1 type b\n"
        b"file h1 seq 1 type h size 100 extra value\n"
        b"  file   i4   seq 4   type iXX  \r\n"
        b"file 'i 5' seq 5 type i\n"
    )
    am = load_manifest(text)
    assert am.base == AofInfo("appendonly.aof.3.base.rdb", 3, "b")
    assert am.history == [AofInfo("h1", 1, "h")]
    assert am.incrs == [AofInfo("i4", 4, "i"), AofInfo("i 5", 5, "i")]
    assert am.curr_incr_seq == 5
    assert format_manifest(am) == (
        b"file appendonly.aof.3.base.rdb seq 3 type b\n"
        b"file h1 seq 1 type h\n"
        b"file i4 seq 4 type i\n"
        b'file "i 5" seq 5 type i\n'
    )
    assert load_manifest(b"# only comments\n").files_to_load == []


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (b"", "Found an empty AOF manifest", None),
        (b"file a seq 1 type b", "The AOF manifest file contains too long line", 1),
        (b"file " + b"x" * 1100 + b" seq 1 type b\n", "The AOF manifest file contains too long line", 1),
        (b"#" + b"c" * 1100 + b"\n", "Invalid AOF manifest file format", 2),  # the rest of the comment
        (b"\n", "Invalid AOF manifest file format", 1),
        (b"   \t\r\n", "Invalid AOF manifest file format", 1),
        (b"file a seq 1\n", "Invalid AOF manifest file format", 1),
        (b"file a seq 1 type b x\n", "Invalid AOF manifest file format", 1),
        (b'file "a seq 1 type b\n', "Invalid AOF manifest file format", 1),
        (b"file a seq 0 type b\n", "Invalid AOF manifest file format", 1),
        (b"file a seq x1 type b\n", "Invalid AOF manifest file format", 1),
        (b"name a seq 1 type b\n", "Invalid AOF manifest file format", 1),
        (b'file a seq 1 type ""\n', "Invalid AOF manifest file format", 1),
        (b"file dir/a seq 1 type b\n", "File can't be a path, just a filename", 1),
        (b"file a\\b seq 1 type b\n", "File can't be a path, just a filename", 1),
        (b"file a seq 1 type b\nfile c seq 2 type b\n", "Found duplicate base file information", 2),
        (b"file a seq 2 type i\nfile c seq 2 type i\n", "Found a non-monotonic sequence number", 2),
        (b"file a seq -1 type i\n", "Found a non-monotonic sequence number", 1),
        (b"#x\nfile a seq 1 type x\n", "Unknown AOF file type", 2),
        (b"file a seq 1 type B\n", "Unknown AOF file type", 1),
        (b"file\x00 a seq 1 type b\n", "The AOF manifest file contains too long line", 1),
    ],
)
def test_errors_with_redis_wording_and_line(text: bytes, message: str, line: int | None) -> None:
    with pytest.raises(ManifestError) as ei:
        load_manifest(text)
    assert ei.value.message == message
    assert ei.value.line_no == line


def test_c_string_and_atoll_effects() -> None:
    # a NUL inside a quoted value ends what Redis sees of it
    am = load_manifest(b'file "ab\\x00cd" seq 1 type b\n')
    assert am.base.name == "ab"
    # atoll: blanks, sign, digits, junk after them; saturation
    assert _atoll(b" +12abc") == 12 and _atoll(b"-3") == -3 and _atoll(b"x") == 0
    assert _atoll(b"99999999999999999999") == 2**63 - 1
    am = load_manifest(b"file a seq 7junk type bogus\n")
    assert am.base == AofInfo("a", 7, "b")
    # a repeated key overrides the earlier one
    assert load_manifest(b"file a seq 1 type b file c\n").base.name == "c"


def test_format_quotes_like_sdscatrepr() -> None:
    assert format_info(AofInfo("plain.aof", 1, "i")) == b"file plain.aof seq 1 type i\n"
    weird = 'a b"c\n\t\x01\xe9'
    line = format_info(AofInfo(weird, 2, "h"))
    assert line == b'file "a b\\"c\\n\\t\\x01\\xc3\\xa9" seq 2 type h\n'
    assert load_manifest(line).history == [AofInfo(weird, 2, "h")]
    assert format_info(AofInfo("x\\y", 1, "i")) == b'file "x\\\\y" seq 1 type i\n'

    raw = AofInfo(b"\xff\xfename".decode("utf-8", "surrogateescape"), 3, "i")
    assert load_manifest(format_info(raw)).incrs == [raw]


def test_single_quote_in_a_name_is_written_bare_as_redis_does() -> None:
    # sdsneedsrepr does not flag "'", so Redis writes such a name unquoted and then cannot
    # read it back; we write the same bytes (names Redis generates never hold quotes)
    line = format_info(AofInfo("it's", 1, "i"))
    assert line == b"file it's seq 1 type i\n"
    with pytest.raises(ManifestError, match="Invalid AOF manifest file format"):
        load_manifest(line)


names = st.text(
    alphabet=st.characters(blacklist_characters="/\\\x00'", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
)


@given(
    st.one_of(st.none(), names),
    st.lists(names, max_size=4),
    st.lists(names, max_size=4),
    st.integers(1, 2**63 - 1),
)
def test_round_trip_property(base: str | None, hist: list[str], incr: list[str], seq: int) -> None:
    am = Manifest()
    if base is not None:
        am.base = AofInfo(base, seq, "b")
        am.curr_base_seq = seq
    am.history = [AofInfo(n, i + 1, "h") for i, n in enumerate(hist)]
    am.incrs = [AofInfo(n, i + 1, "i") for i, n in enumerate(incr)]
    am.curr_incr_seq = len(incr)
    data = format_manifest(am)
    if not data:
        return  # an empty manifest file is an error by definition
    if any(len(line) > 1024 for line in data.splitlines(keepends=True)):
        with pytest.raises(ManifestError):
            load_manifest(data)
        return
    assert load_manifest(data) == am


def test_names_and_manifest_transitions() -> None:
    n = AofNames("ao.aof")
    assert n.base(3, True) == "ao.aof.3.base.rdb" and n.base(3, False) == "ao.aof.3.base.aof"
    assert n.incr(4) == "ao.aof.4.incr.aof" and n.manifest == "ao.aof.manifest"
    assert n.temp_manifest == "temp-ao.aof.manifest" and n.temp_incr == "temp-ao.aof.incr"
    assert AofNames.temp_rewrite(42) == "temp-rewriteaof-bg-42.aof"
    am = load_manifest(b"file ao.aof.1.base.rdb seq 1 type b\nfile ao.aof.1.incr.aof seq 1 type i\n")
    # a rewrite: new incr opened, then the new base; the covered incr becomes history
    am2, incr = with_new_incr(am, n)
    assert incr == AofInfo("ao.aof.2.incr.aof", 2, "i")
    am3, base = with_new_base(am2, n, rdb=False)
    assert base == AofInfo("ao.aof.2.base.aof", 2, "b")
    am4 = mark_incrs_history(am3)
    assert format_manifest(am4) == (
        b"file ao.aof.2.base.aof seq 2 type b\n"
        b"file ao.aof.1.incr.aof seq 1 type h\n"
        b"file ao.aof.1.base.rdb seq 1 type h\n"
        b"file ao.aof.2.incr.aof seq 2 type i\n"
    )
    assert load_manifest(format_manifest(am4)) == am4
    assert without_history(am4).history == [] and am4.history  # pure functions
    assert mark_incrs_history(am3, keep_last=False).incrs == []


def test_directory_view_and_atomic_commit(tmp_path: Path) -> None:
    d = tmp_path / "appendonlydir"
    d.mkdir()
    (d / "appendonly.aof.1.base.aof").write_bytes(b"")
    (d / "appendonly.aof.manifest").write_bytes(b"file appendonly.aof.1.base.aof seq 1 type b\n")
    view = AofDirectory.open(str(d))
    assert view.parts() == [AofInfo("appendonly.aof.1.base.aof", 1, "b")]
    assert view.next_base_seq == 2 and view.next_incr_seq == 1
    new, info = with_new_incr(view.manifest, view.names)
    assert view.missing() == [] and AofDirectory(str(d), new).missing() == [info]
    view.commit(new)
    assert (d / "appendonly.aof.manifest").read_bytes() == format_manifest(new)
    assert not (d / "temp-appendonly.aof.manifest").exists()
    assert AofDirectory.open(str(d)).manifest == new
    # a failing replacement leaves the old manifest and the view as they were
    from aof import files

    def boom(*a: object) -> None:
        raise OSError(28, "No space left on device")

    orig = files.replace_atomically
    files.replace_atomically = boom  # type: ignore[assignment]
    try:
        with pytest.raises(AofWriteError, match="No space left") as ei:
            view.commit(with_new_incr(new, view.names)[0])
        assert ei.value.errno == 28
    finally:
        files.replace_atomically = orig  # type: ignore[assignment]
    assert view.manifest == new
    assert (d / "appendonly.aof.manifest").read_bytes() == format_manifest(new)


def test_find_manifest(tmp_path: Path) -> None:
    with pytest.raises(AofError, match="no AOF manifest"):
        find_manifest(str(tmp_path))
    (tmp_path / "temp-x.aof.manifest").write_bytes(b"")
    (tmp_path / "x.aof.manifest").write_bytes(b"")
    assert find_manifest(str(tmp_path)) == "x.aof.manifest"
    (tmp_path / "y.aof.manifest").write_bytes(b"")
    with pytest.raises(AofError, match="several"):
        find_manifest(str(tmp_path))
    assert find_manifest(str(tmp_path), "y.aof") == "y.aof.manifest"


# ---------------------------------------------------------------- real redis-server 7.0 agrees

def _redis_start(tmp: Path, manifest: bytes, files: dict[str, bytes]) -> tuple[bool, str]:
    d = tmp / "appendonlydir"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    for name, data in files.items():
        (d / name).write_bytes(data)
    (d / "appendonly.aof.manifest").write_bytes(manifest)
    log = tmp / "log.txt"
    log.unlink(missing_ok=True)
    try:
        srv = start_real(tmp, "--loglevel", "notice", "--appendonly", "yes",
                         "--appenddirname", "appendonlydir", "--logfile", str(log), loaded=True, timeout=10)
    except ServerFailed:
        return False, log.read_text(errors="replace") if log.exists() else ""
    srv.stop(kill=True)
    return True, log.read_text(errors="replace")


@pytest.mark.differential
def test_real_redis_agrees_on_manifests(tmp_path: Path) -> None:
    require_server("7.0")
    cmd = encode_command([b"SET", b"k", b"v"])
    files = {"a b.aof": cmd, "c.aof": cmd}
    cases = [
        format_manifest(Manifest(base=AofInfo("a b.aof", 1, "b"), incrs=[AofInfo("c.aof", 1, "i")])),
        b"# c\nTYPE i SEQ 9 FILE c.aof future yes\n",
        b"file c.aof seq 1 type i\nfile c.aof seq 1 type i\n",
        b"file c.aof seq 1 type z\n",
        b"file c.aof seq 1 type b\nfile c.aof seq 1 type b\n",
        b"file c.aof seq 1\n",
        b"file ../c.aof seq 1 type b\n",
        b"file c.aof seq 1 type b",
    ]
    for manifest in cases:
        started, log = _redis_start(tmp_path, manifest, files)
        try:
            am = load_manifest(manifest)
        except ManifestError as exc:
            assert not started, manifest
            assert exc.message in log, (manifest, log[-500:])
            if exc.line_no is not None and "too long" not in exc.message:
                assert f"Reading the manifest file, at line {exc.line_no}" in log
        else:
            assert started, (manifest, log[-800:])
            assert am.files_to_load
