"""Where ``rdbkit sync`` sends each command of a master's stream in a cluster
(cli/remote/placement.py): by the slot of its keys, split where the pieces do the same,
refused with the command's name where they would not."""

from __future__ import annotations

from aof.slots import key_hash_slot
from cli.remote.placement import ANY, EVERY, Refused, place, place_transaction


def test_one_slot_goes_whole() -> None:
    assert place([b"SET", b"k", b"v", b"PXAT", b"1"]) == [(key_hash_slot(b"k"), [b"SET", b"k", b"v", b"PXAT", b"1"])]
    argv = [b"RENAME", b"{u}a", b"{u}b"]
    assert place(argv) == [(key_hash_slot(b"u"), argv)]


def test_multi_key_commands_split_by_slot() -> None:
    parts = place([b"MSETNX", b"a", b"1", b"b", b"2", b"{a}c", b"3"])
    assert parts == [(key_hash_slot(b"a"), [b"MSET", b"a", b"1", b"{a}c", b"3"]),
                     (key_hash_slot(b"b"), [b"MSET", b"b", b"2"])]
    for cmd in (b"DEL", b"UNLINK", b"TOUCH"):
        assert place([cmd, b"a", b"b", b"{b}x"]) == [(key_hash_slot(b"a"), [cmd, b"a"]),
                                                     (key_hash_slot(b"b"), [cmd, b"b", b"{b}x"])]


def test_keyless_commands() -> None:
    assert place([b"FLUSHALL"]) == [(EVERY, [b"FLUSHALL"])]
    assert place([b"FUNCTION", b"FLUSH"]) == [(EVERY, [b"FUNCTION", b"FLUSH"])]
    assert place([b"PUBLISH", b"ch", b"m"]) == [(ANY, [b"PUBLISH", b"ch", b"m"])]


def test_refusals_name_the_command() -> None:
    for argv, words in [([b"RENAME", b"a", b"b"], "RENAME spans 2 hash slots"),
                        ([b"LMOVE", b"a", b"b", b"LEFT", b"RIGHT"], "LMOVE spans 2 hash slots"),
                        ([b"SUNIONSTORE", b"d", b"a", b"b"], "SUNIONSTORE spans"),
                        ([b"SWAPDB", b"0", b"1"], "SWAPDB: a cluster has only db 0"),
                        ([b"MOVE", b"k", b"1"], "MOVE: a cluster has only db 0"),
                        ([b"NOSUCHCMD", b"k"], "NOSUCHCMD is not a command")]:
        got = place(argv)
        assert isinstance(got, Refused) and words in got.why, (argv, got)


def test_transactions() -> None:
    one = [[b"SET", b"{t}a", b"1"], [b"INCR", b"{t}b"]]
    assert place_transaction(one, split=False) == [(key_hash_slot(b"t"), c) for c in one]
    two = [[b"SET", b"a", b"1"], [b"INCR", b"b"]]
    got = place_transaction(two, split=False)
    assert isinstance(got, Refused) and "MULTI/EXEC spans 2 hash slots (INCR, SET)" in got.why
    assert place_transaction(two, split=True) == [(key_hash_slot(b"a"), two[0]), (key_hash_slot(b"b"), two[1])]
    got = place_transaction([[b"SET", b"a", b"1"], [b"RENAME", b"a", b"b"]], split=True)
    assert isinstance(got, Refused) and got.why.startswith("MULTI/EXEC: RENAME spans")
