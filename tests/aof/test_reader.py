"""AofReader / AofDecoder: every real AOF fixture, feeding regimes, truncation at every offset."""

from __future__ import annotations

import re
from pathlib import Path

import lz4.frame
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aof.commands import (
    Command,
    Transaction,
    group_transactions,
    is_exec,
    is_multi,
    select_db,
)
from aof.errors import AofError, AofFormatError, AofTruncatedError, ManifestError
from aof.reader import NOT_LAST_TEXT, Annotation, AofDecoder, AofReader, iter_commands
from aof.replies import encode_command as enc
from rdbtools import End, Header, Record, read_all
from rdbtools.encoder import RdbEncoder
from tests.support.manifest import FIXTURES, load_manifest, manifest_keys

AOF_ROOT = FIXTURES / "aof"
SOURCES = sorted(
    [p for p in AOF_ROOT.glob("*/*/appendonly.aof")] + [p for p in AOF_ROOT.glob("*/*/appendonlydir")]
)
IDS = [f"{p.parent.parent.name}/{p.parent.name}" for p in SOURCES]


def manifest_of(src: Path) -> dict:
    return load_manifest(src.with_name(src.name + ".json"))


# ------------------------------------------------------------------------------------ fixtures


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_every_fixture_reads_completely(src: Path) -> None:
    reader = AofReader(src, annotations=True)
    items = list(reader)
    assert reader.truncation is None
    cmds = [x for x in items if type(x) is Command]
    manifest = manifest_of(src)
    # redis-check-aof counted the CRLF lines of every record (from 1, across all parts):
    # the same commands, with the same argument counts, must be here
    line = int(re.search(r"ok_up_to_line=(\d+)", " ".join(manifest["check"]["tail"]))[1])
    assert 1 + sum(1 + 2 * len(c.argv) for c in cmds) == line
    # offsets: contiguous, in the file they came from
    sizes = {f["name"]: f["size"] for f in manifest.get("files", [])}
    for c in cmds:
        assert 0 <= c.offset < c.end
        if c.file in sizes:
            assert c.end <= sizes[c.file]
    variant = src.parent.name
    records = [x for x in items if type(x) is Record]
    if variant == "aof-preamble":
        # the RDB part: exactly what the rdbtools decoder gives for that file's RDB
        rdb = src if src.is_file() else next(src.glob("*.base.rdb"))
        direct = [e for e in read_all(rdb.read_bytes()[: _rdb_len(rdb)]) if type(e) is Record]
        assert records == direct and records
        assert [type(x) for x in items].count(End) == 1
        assert type(items[0]) is Header
    elif variant == "aof-nopreamble":
        assert not records
        assert all(type(x) is not Header for x in items)
    # annotations: 7.0+ raw files were written with aof-timestamp-enabled
    anns = [x for x in items if type(x) is Annotation]
    if variant == "aof-raw" and "7." in src.parent.parent.name:
        assert anns and all(a.ts is not None for a in anns)
        assert all(c.ts is not None for c in cmds)
        first = anns[0]
        assert all(c.ts >= first.ts for c in cmds)
    elif "6.2" in src.parent.parent.name:
        assert not anns and all(c.ts is None for c in cmds)
    _check_keys_and_values(items, manifest)


def _rdb_len(path: Path) -> int:
    from rdbtools import RdbDecoder

    dec = RdbDecoder()
    dec.feed(path.read_bytes())
    dec.feed_eof()
    while dec.next_events():
        pass
    return dec.offset


def _check_keys_and_values(items: list, manifest: dict) -> None:
    """Structure, not replay: every key of the final keyspace was written by the AOF, and
    string keys whose last write is a plain SET hold that SET's value."""
    want = manifest_keys(manifest)
    touched: set[tuple[int, bytes]] = set()
    elsewhere: set[bytes] = set()  # keys that also appear in other argument positions
    last: dict[tuple[int, bytes], list[bytes]] = {}
    dbs = set()
    for x in items:
        if type(x) is Record:
            touched.add((x.db, x.key))
            last[(x.db, x.key)] = [b"<rdb>"]
        elif type(x) is Command:
            dbs.add(x.db)
            argv = x.argv
            name = x.name
            if name in (b"flushdb", b"flushall", b"swapdb"):
                last = {k: v for k, v in last.items() if k[0] != x.db} if name == b"flushdb" else {}
                continue
            if len(argv) > 1:
                last[(x.db, argv[1])] = argv
            touched.update((x.db, a) for a in argv[1:])
            elsewhere.update(argv[2:])
    assert dbs <= set(range(16))
    anywhere = {k for _, k in touched}  # MOVE/COPY … DB n write keys into other dbs
    for (db, key), entry in want.items():
        assert (db, key) in touched or key in anywhere, (db, key)
        argv = last.get((db, key))
        if entry["type"] == "string" and argv and argv[0].lower() == b"set" and key not in elsewhere:
            assert argv[2] == entry["value"], key


def test_db_tracking_and_select_argument_rules() -> None:
    data = (
        enc([b"SET", b"a", b"1"])
        + enc([b"SELECT", b"3"])
        + enc([b"SET", b"b", b"2"])
        + enc([b"select", b"x"])  # refused by Redis: the db stays 3
        + enc([b"SET", b"c", b"3"])
        + enc([b"SELECT", b"-1"])
        + enc([b"SET", b"d", b"4"])
        + enc([b"SELECT", b"0"])
        + enc([b"SET", b"e", b"5"])
    )
    dbs = {c.argv[1]: c.db for c in iter_commands(data) if c.name == b"set"}
    assert dbs == {b"a": 0, b"b": 3, b"c": 3, b"d": 3, b"e": 0}
    assert select_db([b"SELECT", b"007"]) is None and select_db([b"SELECT", b"-0"]) is None
    assert select_db([b"SELECT", b"15"]) == 15 and select_db([b"SELECT"]) is None


def test_every_file_starts_in_db0(tmp_path: Path) -> None:
    d = _multipart(tmp_path, [enc([b"SELECT", b"5"]) + enc([b"SET", b"k", b"v"]),
                              enc([b"SET", b"k2", b"v"])])
    cmds = list(iter_commands(d))
    assert [(c.argv[1], c.db, c.file) for c in cmds if c.name == b"set"] == [
        (b"k", 5, "appendonly.aof.1.base.aof"), (b"k2", 0, "appendonly.aof.1.incr.aof")]


# ------------------------------------------------------------------------------- small inputs
SAMPLE = (
    b"#TS:1700000000\r\n"
    + enc([b"SELECT", b"0"])
    + enc([b"SET", b"k", b"v"])
    + enc([b"MULTI"])
    + enc([b"INCR", b"n"])
    + enc([b"SET", b"a\r\nb", b"x" * 40])
    + enc([b"EXEC"])
    + b"#TS:1700000001\r\n"
    + enc([b"SELECT", b"2"])
    + enc([b"RPUSH", b"l", b"1", b"2", b""])
    + enc([b"SET", b"big", b"y" * 300])
)


def decode_with_splits(data: bytes, cuts: list[int], **kw) -> tuple[list, AofDecoder]:
    dec = AofDecoder(annotations=True, **kw)
    out: list = []
    prev = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        dec.feed(data[prev:cut])
        prev = cut
        while items := dec.next_events():
            out.extend(items)
    dec.feed_eof()
    while items := dec.next_events():
        out.extend(items)
    return out, dec


def _preamble_sample() -> bytes:
    rec = [Record(0, b"r:%d" % i, "string", b"v%d" % i) for i in range(20)]
    rec.append(Record(1, b"l", "list", [b"a", b"b"], expire_ms=4102444800000))
    rdb = b"".join(RdbEncoder(9, aof_base=True).encode(rec))
    return rdb + SAMPLE


@pytest.mark.parametrize("data", [SAMPLE, _preamble_sample()], ids=["resp", "preamble"])
def test_three_feeding_regimes(data: bytes) -> None:
    whole, dec = decode_with_splits(data, [])
    assert dec.done and dec.truncation is None and dec.offset == len(data)
    # one byte at a time
    bytewise, dec2 = decode_with_splits(data, list(range(1, len(data))))
    assert bytewise == whole and dec2.offset == dec.offset
    # trailing bytes of an unfinished record stay unconsumed
    tail = enc([b"SET", b"zz", b"never"])[:-3]
    more, dec3 = decode_with_splits(data + tail, [len(data) // 2])
    assert more == whole
    assert dec3.truncation is not None and dec3.truncation.valid_up_to == len(data)
    assert dec3.offset == len(data) and dec3.tail == tail
    cmds = [x for x in whole if type(x) is Command]
    assert [c.ts for c in cmds] == [1700000000] * 6 + [1700000001] * 3
    assert [c.db for c in cmds][-2:] == [2, 2]


@given(st.lists(st.integers(min_value=0, max_value=len(SAMPLE)), max_size=30))
def test_random_splits(cuts: list[int]) -> None:
    whole, _ = decode_with_splits(SAMPLE, [])
    split, dec = decode_with_splits(SAMPLE, cuts)
    assert split == whole and dec.offset == len(SAMPLE)


def _boundaries(data: bytes) -> tuple[set[int], list[Command], list[Annotation]]:
    """Offsets where a truncation may cut: after complete commands outside a MULTI."""
    items, dec = decode_with_splits(data, [])
    cmds = [x for x in items if type(x) is Command]
    anns = [x for x in items if type(x) is Annotation]
    ok = {dec.rdb_end or 0}
    multi = False
    for c in cmds:
        if is_multi(c.argv):
            multi = True
        elif is_exec(c.argv):
            multi = False
        if not multi:
            ok.add(c.end)
    return ok, cmds, anns


@pytest.mark.parametrize("data", [SAMPLE, _preamble_sample()], ids=["resp", "preamble"])
def test_truncation_at_every_offset(data: bytes) -> None:
    ok, cmds, anns = _boundaries(data)
    rdb_end = min(ok)
    for cut in range(len(data) + 1):
        part = data[:cut]
        if cut < rdb_end:  # inside the RDB part: fatal, never "truncated"
            if cut:  # (a prefix of the magic is not even an RDB: a bad first line)
                with pytest.raises(AofFormatError, match="RDB preamble" if cut >= 5 else "Bad"):
                    list(AofReader(part))
            continue
        reader = AofReader(part)
        got = [x for x in reader if type(x) is Command]
        assert got == cmds[: len(got)]
        if reader.truncation is None:
            # a clean end: after a command, or anywhere in an annotation line after one
            assert cut in ok or any(a.offset in ok and a.offset < cut <= a.end for a in anns)
            assert got == [c for c in cmds if c.end <= cut]
            continue
        t = reader.truncation
        assert t.valid_up_to in ok and t.valid_up_to <= cut and t.size == cut
        assert t.valid_up_to == max(o for o in ok if o <= cut) or t.reason == "incomplete-multi"
        # the same cut without aof-load-truncated: an error carrying the same valid_up_to
        with pytest.raises(AofTruncatedError, match="Unexpected end of file") as ei:
            list(AofReader(part, load_truncated=False))
        assert ei.value.valid_up_to == t.valid_up_to
        # cutting at valid_up_to gives a clean file with the committed commands
        clean = AofReader(data[: t.valid_up_to])
        kept = [x for x in clean if type(x) is Command]
        assert clean.truncation is None
        assert kept == [c for c in cmds if c.end <= t.valid_up_to]


def test_incomplete_multi_is_reverted() -> None:
    head = enc([b"SET", b"a", b"1"])
    data = head + enc([b"MULTI"]) + enc([b"SET", b"b", b"2"])
    r = AofReader(data)
    items = list(r)
    assert r.truncation.reason == "incomplete-multi" and r.truncation.valid_up_to == len(head)
    assert [c.name for c in items] == [b"set", b"multi", b"set"]
    grouped = list(group_transactions(items))
    assert len(grouped) == 1 and grouped[0].argv == [b"SET", b"a", b"1"]
    assert "Revert incomplete MULTI/EXEC" in r.truncation.message


def test_group_transactions() -> None:
    data = (
        enc([b"SET", b"a", b"1"]) + enc([b"multi"]) + enc([b"SET", b"b", b"2"])
        + enc([b"MULTI"]) + enc([b"exec"]) + enc([b"EXEC"])
    )
    out = list(group_transactions(iter_commands(data)))
    assert type(out[0]) is Command and type(out[1]) is Transaction
    assert [c.argv for c in out[1].commands] == [[b"SET", b"b", b"2"], [b"MULTI"]]
    assert type(out[2]) is Command and out[2].argv == [b"EXEC"]  # EXEC without MULTI
    assert out[1].offset == out[1].multi.offset and out[1].end == out[1].exec.end


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (enc([b"PING"]) + b"xyz\r\n", 14),
        (b"\x00\x00\x00\x00", 0),  # a zero-padded tail
        (enc([b"PING"]) + b"*1\r\n+PONG\r\n", 18),
        (b"*0\r\n", 0),
        (b"*1\r\n$4\r\nPINGxx", 12),
    ],
)
def test_bad_format(data: bytes, offset: int) -> None:
    with pytest.raises(AofFormatError) as ei:
        list(AofReader(data))
    err = ei.value
    assert err.offset == offset
    assert err.message.startswith("Bad file format reading the append only file <bytes>: ")
    assert "redis-check-aof --fix" in err.message
    assert "<bytes>" in str(err) and "offset" in str(err)


def test_good_commands_come_before_the_error() -> None:
    data = enc([b"SET", b"a", b"1"]) + b"garbage\r\n"
    got = []
    with pytest.raises(AofFormatError):
        for x in AofReader(data):
            got.append(x)
    assert [c.argv for c in got] == [[b"SET", b"a", b"1"]]


def test_partial_annotation_at_eof_is_fine() -> None:
    data = enc([b"SET", b"a", b"1"]) + b"#TS:17000"
    r = AofReader(data, annotations=True)
    items = list(r)
    assert r.truncation is None and type(items[-1]) is Annotation


def test_empty_file_and_empty_incr(tmp_path: Path) -> None:
    assert list(AofReader(b"")) == []
    d = _multipart(tmp_path, [enc([b"SET", b"a", b"1"]), b""])
    assert len(list(iter_commands(d))) == 1


def test_valkey_magic_is_an_rdb_part() -> None:
    data = _preamble_sample()
    with pytest.raises(AofFormatError, match="RDB preamble"):
        list(AofReader(b"VALKEY" + data[9:]))  # recognised as RDB, then rejected by rdbtools


# ------------------------------------------------------------------------------- multi-part


def _multipart(tmp: Path, parts: list[bytes], *, history: bytes | None = None, name="appendonly.aof",
               base_rdb: bool = False) -> Path:
    d = tmp / "appendonlydir"
    d.mkdir(exist_ok=True)
    lines = []
    for i, data in enumerate(parts):
        if i == 0:
            fname = f"{name}.1.base.{'rdb' if base_rdb else 'aof'}"
            lines.append(f"file {fname} seq 1 type b\n")
        else:
            fname = f"{name}.{i}.incr.aof"
            lines.append(f"file {fname} seq {i} type i\n")
        (d / fname).write_bytes(data)
    if history is not None:
        (d / f"{name}.7.incr.aof").write_bytes(history)
        lines.insert(1, f"file {name}.7.incr.aof seq 7 type h\n")
    (d / f"{name}.manifest").write_text("".join(lines))
    return d


def test_multipart_order_history_and_manifest_path(tmp_path: Path) -> None:
    d = _multipart(
        tmp_path,
        [enc([b"SET", b"a", b"1"]), enc([b"SET", b"b", b"2"]), enc([b"SET", b"c", b"3"])],
        history=b"this is not even an AOF",
    )
    for src in (d, d / "appendonly.aof.manifest", str(d)):
        r = AofReader(src)
        assert [c.argv[1] for c in r if type(c) is Command] == [b"a", b"b", b"c"]
        assert [p.kind for p in r.parts] == ["base", "incr", "incr"]
        assert [p.last for p in r.parts] == [False, False, True]
        assert r.manifest is not None and len(r.manifest.history) == 1


def test_multipart_truncation_rules(tmp_path: Path) -> None:
    full = enc([b"SET", b"b", b"2"])
    d = _multipart(tmp_path, [enc([b"SET", b"a", b"1"]), full[:-1], full])
    with pytest.raises(AofFormatError, match=NOT_LAST_TEXT) as ei:
        list(AofReader(d))
    assert isinstance(ei.value.__cause__, AofTruncatedError)
    assert ei.value.source.endswith("appendonly.aof.1.incr.aof")
    # the same damage in the last file is a tolerated truncation
    (d / "appendonly.aof.1.incr.aof").write_bytes(full)
    (d / "appendonly.aof.2.incr.aof").write_bytes(full + full[:-1])
    r = AofReader(d)
    assert len([c for c in r if type(c) is Command]) == 3
    assert r.truncation.valid_up_to == len(full) and r.truncation.file == "appendonly.aof.2.incr.aof"
    with pytest.raises(AofTruncatedError):
        list(AofReader(d, load_truncated=False))


def test_multipart_missing_part_and_bad_manifest(tmp_path: Path) -> None:
    d = _multipart(tmp_path, [enc([b"SET", b"a", b"1"]), enc([b"SET", b"b", b"2"])])
    (d / "appendonly.aof.1.incr.aof").unlink()
    with pytest.raises(AofError, match="Unable to obtain the AOF file appendonly.aof.1.incr.aof"):
        list(AofReader(d))
    (d / "appendonly.aof.manifest").write_text("file x seq 1 type q\n")
    with pytest.raises(ManifestError, match="Unknown AOF file type") as ei:
        list(AofReader(d))
    assert ei.value.line_no == 1 and ei.value.source.endswith("appendonly.aof.manifest")
    (d / "appendonly.aof.manifest").unlink()
    with pytest.raises(AofError, match="no AOF manifest"):
        list(AofReader(d))


def test_preamble_base_rdb_then_resp(tmp_path: Path) -> None:
    data = _preamble_sample()
    d = _multipart(tmp_path, [data, enc([b"SET", b"after", b"1"])], base_rdb=True)
    items = list(AofReader(d))
    assert sum(type(x) is Record for x in items) == 21
    assert [c.argv for c in items if type(c) is Command][-1] == [b"SET", b"after", b"1"]


def test_lz4_single_file_and_part(tmp_path: Path) -> None:
    plain = list(AofReader(_preamble_sample()))
    p = tmp_path / "appendonly.aof.lz4"
    p.write_bytes(lz4.frame.compress(_preamble_sample()))
    assert list(AofReader(p)) == plain
    d = _multipart(tmp_path, [lz4.frame.compress(SAMPLE)])
    assert [x for x in AofReader(d)] == [
        Command(c.argv, c.db, c.offset, c.end, c.ts, "x") for c in iter_commands(SAMPLE)
    ]


def test_file_object_and_open_errors(tmp_path: Path) -> None:
    p = tmp_path / "a.aof"
    p.write_bytes(SAMPLE)
    with p.open("rb") as f:
        assert list(iter_commands(f)) == list(iter_commands(SAMPLE))
    with pytest.raises(AofError, match="can't open"):
        list(AofReader(tmp_path / "missing.aof"))
