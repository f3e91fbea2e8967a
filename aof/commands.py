"""What an AOF holds once parsed: commands with their db, place and time.

A :class:`Command` is one RESP record of an AOF (docs/formats.md §7.1): its ``argv``
exactly as written (argument case as executed, e.g. ``set`` or ``SET``), the db
it runs in (tracked through ``SELECT``, which the reader yields too), the
absolute byte span ``[offset, end)`` in the file it came from, and ``ts``, the
Unix seconds of the last ``#TS:`` annotation before it in the same file
(docs/formats.md §7.5), or None.

MULTI/EXEC (docs/formats.md §7.1, §8.6): Redis wraps multi-command units (MULTI,
scripts, functions, modules) in ``MULTI`` … ``EXEC``; the loader queues the
commands after ``MULTI`` and runs them at ``EXEC`` (mirrors
``loadSingleAppendOnlyFile``: every command but EXEC is queued while the fake
client is in MULTI state, a nested MULTI included). A reader streams commands as
they come, so a consumer either queues like Redis does, or uses
:func:`group_transactions`, which buffers each block and yields it as one
:class:`Transaction` only once its EXEC arrived; a block left open at the end of
the input (a truncated tail) is dropped, exactly what Redis does with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Command",
    "CommandRun",
    "Transaction",
    "command_name",
    "expand_runs",
    "group_transactions",
    "is_exec",
    "is_multi",
    "is_select",
    "new_command",
    "select_db",
]


@dataclass(frozen=True, slots=True)
class Command:
    """One AOF record. ``offset``/``end`` are absolute in ``file`` (the part it came from)."""

    argv: list[bytes]
    db: int = 0
    offset: int = 0
    end: int = 0
    ts: int | None = None
    file: str | None = field(default=None, compare=False)

    @property
    def name(self) -> bytes:
        """The command name, lower-cased (``b"set"``)."""
        return self.argv[0].lower()


_SLOTS = Command.__dict__
_new = object.__new__


def new_command(
    argv: list[bytes],
    db: int,
    offset: int,
    end: int,
    ts: int | None,
    file: str | None,
    _set_argv: Any = _SLOTS["argv"].__set__,
    _set_db: Any = _SLOTS["db"].__set__,
    _set_offset: Any = _SLOTS["offset"].__set__,
    _set_end: Any = _SLOTS["end"].__set__,
    _set_ts: Any = _SLOTS["ts"].__set__,
    _set_file: Any = _SLOTS["file"].__set__,
) -> Command:
    """``Command(argv, db, offset, end, ts, file)`` for the readers' hot loops: the same
    frozen object, built through the slot descriptors (half the cost of the generated
    frozen ``__init__``, which goes through ``object.__setattr__`` per field)."""
    cmd = _new(Command)
    _set_argv(cmd, argv)
    _set_db(cmd, db)
    _set_offset(cmd, offset)
    _set_end(cmd, end)
    _set_ts(cmd, ts)
    _set_file(cmd, file)
    return cmd


@dataclass(frozen=True, slots=True)
class CommandRun:
    """Consecutive commands of one file in one db, none of them SELECT, MULTI or EXEC and
    no annotation between them: what a reader opened with ``runs=True`` yields in place
    of one :class:`Command` each, so that a loader's hot loop takes plain argvs.

    ``spans`` holds ``start, end`` of every command, flat and relative to ``base``
    (absolute offset = ``base`` + span); :meth:`commands` gives back exactly the
    :class:`Command` objects a reader without runs yields for them.
    """

    argvs: list[list[bytes]]
    spans: list[int]
    base: int = 0
    db: int = 0
    ts: int | None = None
    file: str | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.argvs)

    @property
    def offset(self) -> int:
        return self.base + self.spans[0]

    @property
    def end(self) -> int:
        return self.base + self.spans[-1]

    def offset_of(self, i: int) -> int:
        """The absolute offset of command ``i`` (where an error about it points)."""
        return self.base + self.spans[2 * i]

    def command(self, i: int) -> Command:
        sp, base = self.spans, self.base
        return new_command(self.argvs[i], self.db, base + sp[2 * i], base + sp[2 * i + 1], self.ts,
                           self.file)

    def commands(self) -> Iterator[Command]:
        for i in range(len(self.argvs)):
            yield self.command(i)


def expand_runs(items: Iterable[Any]) -> Iterator[Any]:
    """``items`` with every :class:`CommandRun` replaced by its commands."""
    for item in items:
        if type(item) is CommandRun:
            yield from item.commands()
        else:
            yield item


@dataclass(frozen=True, slots=True)
class Transaction:
    """A complete ``MULTI`` … ``EXEC`` block: ``commands`` are the ones in between."""

    multi: Command
    commands: tuple[Command, ...]
    exec: Command

    @property
    def offset(self) -> int:
        return self.multi.offset

    @property
    def end(self) -> int:
        return self.exec.end


def command_name(argv: list[bytes]) -> bytes:
    return argv[0].lower() if argv else b""


def is_multi(argv: list[bytes]) -> bool:
    return len(argv[0]) == 5 and argv[0].lower() == b"multi"


def is_exec(argv: list[bytes]) -> bool:
    return len(argv[0]) == 4 and argv[0].lower() == b"exec"


def is_select(argv: list[bytes]) -> bool:
    return len(argv[0]) == 6 and argv[0].lower() == b"select"


def select_db(argv: list[bytes]) -> int | None:
    """The db a ``SELECT`` switches to, or None when Redis would refuse it.

    Mirrors ``selectCommand``: the argument must be an integer (``getIntFromObject``:
    a canonical decimal) and a valid db index; a refused SELECT leaves the db as it
    was. The upper bound (``databases``) is a server setting, so only negatives are
    refused here.
    """
    if len(argv) != 2:
        return None
    arg = argv[1]
    if not (0 < len(arg) <= 20):
        return None
    body = arg[1:] if arg[:1] == b"-" else arg
    if not body.isdigit() or (body[:1] == b"0" and len(body) > 1) or (arg == b"-0"):
        return None
    value = int(arg)
    if value < 0 or value > 2**31 - 1:
        return None
    return value


def group_transactions(items: Iterable[Any]) -> Iterator[Any]:
    """Yield the items with each complete MULTI/EXEC block folded into a :class:`Transaction`.

    Anything that is not a :class:`Command` (RDB preamble events) passes through.
    Inside a block every command except EXEC is queued (a nested MULTI too, as
    Redis queues it); an EXEC outside a block is passed through as a command (the
    server answers it with an error that the loader ignores). A block still open
    when the input ends is dropped: its commands never ran.
    """
    multi: Command | None = None
    queued: list[Command] = []
    for item in items:
        if type(item) is not Command:
            yield item
            continue
        argv = item.argv
        if multi is None:
            if is_multi(argv):
                multi = item
                queued = []
            else:
                yield item
        elif is_exec(argv):
            yield Transaction(multi, tuple(queued), item)
            multi = None
            queued = []
        else:
            queued.append(item)
