"""Unit tests of the engine's pure parts: config parsing, skip list, numbers (globs: test_glob.py)."""

from __future__ import annotations

import random
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import Config, config_from_argv, memtoll, split_args
from engine.errors import ConfigError
from engine.keyspace.scan import KeyspaceScanIndex, parse_cursor, scan_items
from engine.types.strings import format_long_double, ld_add, parse_double, parse_long_double
from engine.types.zsets import ZSetValue


def test_config_file_then_args(tmp_path) -> None:
    f = tmp_path / "r.conf"
    f.write_text('port 7000\n# comment\nsave 900 1\nsave ""\nrequirepass "a b"\nhash-max-ziplist-entries 64\n')
    cfg = config_from_argv([str(f), "--port", "7001", "--client-output-buffer-limit", "normal", "1mb", "2mb", "3"])
    assert cfg.port == 7001
    assert cfg.requirepass == "a b"
    assert cfg.hash_max_listpack_entries == 64
    assert cfg.render("save") == ""
    assert cfg.render("client-output-buffer-limit").startswith("normal 1048576 2097152 3 slave")


@pytest.mark.parametrize("argv", [["--port", "x"], ["--nosuch", "1"], ["--hz"], ["--maxmemory-policy", "lru"],
                                  ["port", "1"], ["--appendfsync", "sometimes"], ["--protected-mode", "maybe"]])
def test_config_errors(argv: list[str]) -> None:
    with pytest.raises(ConfigError):
        config_from_argv(argv)


def test_memtoll_and_split_args() -> None:
    assert memtoll("1k") == 1000 and memtoll("1KB") == 1024 and memtoll("2gb") == 2 * 1024**3
    assert split_args('a "b\\x41\\n" \'c d\'') == ["a", "bA\n", "c d"]
    with pytest.raises(ValueError):
        split_args('"unbalanced')
    assert Config().render("protected-mode") == "yes"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"f"]),
                          st.integers(-3, 3).map(float)), max_size=60))
def test_skiplist_matches_sorted_reference(ops: list[tuple[bytes, float]]) -> None:
    z = ZSetValue()
    ref: dict[bytes, float] = {}
    for m, s in ops:
        if m in ref and random.random() < 0.3:
            z.remove(m)
            del ref[m]
        elif m in ref:
            z.set_score(m, ref[m], s)
            ref[m] = s
        else:
            z.insert(m, s, 128, 64)
            ref[m] = s
    order = sorted(ref.items(), key=lambda t: (t[1], t[0]))
    assert list(z.items()) == order
    for i, (m, _) in enumerate(order):
        assert z.rank(m) == i and z.rank(m, True) == len(order) - 1 - i
    if order:
        assert z.range_by_rank(0, len(order) - 1) == order


def test_skiplist_memory_per_member() -> None:
    """A large zset's node keeps its levels in one list (forward links and spans
    interleaved), not two: the heap it takes a member, besides the member's bytes, stays
    under 215 bytes (about 170; a list each for links and spans took about 235)."""
    members = [b"m%d" % i for i in range(20_000)]
    rng = random.Random(7)
    scores = [rng.uniform(-1e6, 1e6) for _ in members]
    z = ZSetValue(lp=False)
    tracemalloc.start()
    try:
        for m, s in zip(members, scores, strict=True):
            z.insert(m, s, 0, 0)
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert used / len(members) < 215
    assert [m for m, _ in z.items()] == [m for _, m in sorted(zip(scores, members, strict=True))]


def test_scan_cursor_rules() -> None:
    assert parse_cursor(b"0") == 0 and parse_cursor(b"-1") == 2**64 - 1
    keys = [b"k%d" % i for i in range(1000)]
    idx = KeyspaceScanIndex(keys)
    seen, cur = [], 0
    while True:
        cur, got = idx.step(cur, 7)
        seen += got
        if cur == 0:
            break
    assert sorted(seen) == sorted(keys)
    seen2, cur = set(), 0
    while True:
        cur, got = scan_items(set(keys), cur, 13)
        seen2.update(got)
        if cur == 0:
            break
    assert seen2 == set(keys)


def test_numbers_as_redis() -> None:
    assert parse_double(b"1e400") is None and parse_double(b"inf") == float("inf")
    assert parse_double(b" 1") is None and parse_double(b"nan") is None and parse_double(b"0x10") == 16.0
    v = ld_add(parse_long_double(b"10.5"), parse_long_double(b"0.1"))
    assert format_long_double(v) == b"10.6"  # type: ignore[arg-type]
    assert format_long_double(ld_add(parse_long_double(b"1"), parse_long_double(b"1e-17"))) == b"1.00000000000000001"  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"7"]), st.integers(-3, 3).map(float), max_size=6),
       st.booleans(), st.tuples(st.integers(-4, 4), st.booleans(), st.integers(-4, 4), st.booleans()),
       st.booleans(), st.sampled_from([0, 0, 1, 2, 7]), st.sampled_from([-1, -1, -2, 0, 1, 2, 3]),
       st.tuples(st.sampled_from([-1, 0, 0]), st.sampled_from([b"a", b"c", b"e"]), st.booleans()),
       st.tuples(st.sampled_from([1, 0, 0]), st.sampled_from([b"b", b"d", b"7"]), st.booleans()))
def test_listpack_walks_match_the_skip_list(pairs, same, r, reverse, offset, limit, lo, hi) -> None:
    """A listpack zset's ranges (the zzl* walks) and ranks equal the skip list's on the
    same sorted pairs (lex ranges on equal scores, where they are defined)."""
    from engine.commands.zset_ranges import lex_range, score_range

    a, b = ZSetValue(True), ZSetValue(False)
    for m, s in pairs.items():
        a.insert(m, 0.0 if same else s, 128, 64)
        b.insert(m, 0.0 if same else s, 128, 64)
    assert a.encoding() == "listpack" and b.encoding() == "skiplist"
    sr = (float(r[0]), r[1], float(r[2]), r[3])
    assert score_range(a, sr, reverse, offset, limit) == score_range(b, sr, reverse, offset, limit)
    if same:
        assert lex_range(a, lo, hi, reverse, offset, limit) == lex_range(b, lo, hi, reverse, offset, limit)
    for m in [*pairs, b"zz"]:
        assert (a.rank(m), a.rank(m, True), a.score(m)) == (b.rank(m), b.rank(m, True), b.score(m))
    assert a.range_by_rank(0, len(a) - 1, reverse) == b.range_by_rank(0, len(b) - 1, reverse)
