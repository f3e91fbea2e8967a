"""How ``rdbkit sync`` cuts a master's share of a round into scripts
(cli/remote/applier.py): bounded scripts, never cut inside a MULTI block, and a marker
that never claims part of a block."""

from __future__ import annotations

from cli.remote.applier import APPLY, MAX_SCRIPT, Applier, Entry


class _Router:
    """What the cutting reads of the routing client: a single server's view."""

    cluster = False
    version = 0
    slots: list = []


def _cut(entries: list[Entry]) -> list[tuple[str, bytes]]:
    app = Applier(_Router(), "id")  # type: ignore[arg-type]
    batch, plan = app._segments(("h", 1), entries)
    out = []
    for argv, (_, value) in zip(batch, plan):
        if argv[0] == b"EVAL":
            assert argv[1] == APPLY and argv[4] == value
            out.append((f"script of {(len(argv) - 5) // 3}", value))
        else:
            out.append((argv[0].decode(), value))
    return out


def _set(off: int) -> Entry:
    return (None, [b"SET", b"k"], off, True)


def test_scripts_are_bounded() -> None:
    got = _cut([_set(i) for i in range(1, 2 * MAX_SCRIPT + 501)])
    assert got == [(f"script of {MAX_SCRIPT}", b"id %d" % MAX_SCRIPT),
                   (f"script of {MAX_SCRIPT}", b"id %d" % (2 * MAX_SCRIPT)),
                   ("script of 500", b"id %d" % (2 * MAX_SCRIPT + 500))]


def test_a_multi_block_is_not_cut() -> None:
    block = [_set(7)] + [_set(9)] * (MAX_SCRIPT + 500) + [_set(11)]  # one offset: one EXEC
    assert _cut(block) == [(f"script of {MAX_SCRIPT + 501}", b"id 9"), ("script of 1", b"id 11")]


def test_a_script_ending_inside_a_block_leaves_the_marker() -> None:
    load = (None, [b"FUNCTION", b"LOAD", b"x"], 9, False)  # no script may run it
    assert _cut([_set(5), _set(9), load, _set(9), _set(12)]) == [
        ("script of 2", b""),  # ends inside the block of offset 9: the marker stays at 5's round before
        ("FUNCTION", b""),
        ("script of 2", b"id 12")]
