"""``rdbkit merge A B ... -o OUT``: several dumps into one (as redis-rdb-cli's ``rdt -m``).

Each input is any dump the input layer reads (RDB of any version, JSONL, JSON array,
``.lz4``); the output is an RDB (the newest input version, at least 7.0's 10 when no
input is an RDB; ``--rdb-version`` chooses), JSONL or JSON by its name. A key in two
inputs (or twice in one) is refused naming both places unless ``--on-duplicate first|last``
keeps one (the inputs are then read twice, a stdin one through a copy in ``--tmpdir``;
memory does not grow with them, :mod:`rdbtools.dedup`); ``--db-map SRC:DST`` moves a db's keys.
Function libraries come along (one name with two codes follows the same policy); the
aux fields are the first RDB input's. The output appears whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import click

from rdbtools.dedup import POLICIES, DuplicateKeyError, UnnamedDuplicateError, dedup, find_drops
from rdbtools.encoder import MAX_VERSION, MIN_VERSION
from rdbtools.errors import RdbEncodeError
from rdbtools.io import atomic_output
from rdbtools.model import Aux, FunctionLibrary, FunctionPreGA, Header, ModuleAux, Record
from rdbtools.seek import DumpSource

from ..errors import CliError, library_errors
from ..exitcodes import ExitStatus
from ..options import db_map_option, filter_options, make_filter, tmpdir_option
from ..output import Progress
from .convert import WRITERS, _format_of


class _Inputs:
    """The inputs, read in order as often as a policy needs (``--on-duplicate first|last``:
    twice). Records come with their position (input number, offset) in ``rec.offset``'s
    stead. A stdin input is read once and, when it must be read again, spooled to
    ``tmpdir`` on the way (:meth:`rdbtools.seek.DumpSource.again`)."""

    def __init__(self, paths: tuple[str, ...], flt: Any, db_map: dict[int, int], tmpdir: str | None,
                 passes: int) -> None:
        self._paths, self._flt, self._db_map, self._tmpdir = paths, flt, db_map, tmpdir
        self._passes = passes
        self._stdin: DumpSource | None = None

    def records(self) -> Iterator[Any]:
        """Every input's records."""
        return self._read(False)

    def events(self) -> Iterator[Any]:
        """Every input's records and function libraries, and the first input's header
        and aux fields."""
        return self._read(True)

    def _read(self, keep_events: bool) -> Iterator[Any]:
        for i, path in enumerate(self._paths):
            if path != "-":
                with DumpSource(path, filter=self._flt, check_duplicates=False) as src:
                    bar = Progress(src.size, f"{'merging' if keep_events else 'reading'} {src.name}")
                    src.progress = bar.update
                    try:
                        yield from self._placed(i, src.events() if keep_events else src.records(), keep_events)
                    finally:
                        bar.close()
            elif self._stdin is None:
                self._stdin = DumpSource(path, filter=self._flt, check_duplicates=False,
                                         seekable=self._passes > 1, tmpdir=self._tmpdir)
                yield from self._placed(i, self._stdin.events() if keep_events else self._stdin.records(),
                                        keep_events)
            else:
                yield from self._placed(i, self._stdin.again(not keep_events), keep_events)

    def _placed(self, i: int, events: Iterator[Any], keep_events: bool) -> Iterator[Any]:
        db_map = self._db_map
        for ev in events:
            t = type(ev)
            if t is Record:
                if db_map and ev.db in db_map:
                    ev = replace(ev, db=db_map[ev.db])
                ev.offset = (i, ev.offset)  # merge's position
                yield ev
            elif t is FunctionLibrary or t is FunctionPreGA:
                yield ev.library() if t is FunctionPreGA else ev
            elif i == 0 and (t is Header or t is Aux or t is ModuleAux):
                yield ev  # the first input's header and aux data (not its End, db sizes)

    def close(self) -> None:
        if self._stdin is not None:
            self._stdin.close()


def _libraries_once(events: Iterator[Any], policy: str) -> Iterator[Any]:
    """A function library name once: the same code twice is one; other code follows the policy."""
    seen: dict[bytes, bytes] = {}
    held: list[FunctionLibrary] = []
    for ev in events:
        if type(ev) is not FunctionLibrary:
            yield ev
            continue
        name = ev.name or b""
        if name in seen and seen[name] != ev.code and policy == "error":
            raise CliError(f"function library {name!r} comes twice with different code "
                           "(--on-duplicate first|last keeps one)", ExitStatus.CORRUPT_INPUT)
        if name not in seen or policy == "last":
            seen[name] = ev.code
            held = [x for x in held if (x.name or b"") != name] + [ev]
    yield from held  # libraries are written after the keys: an RDB loads them in any order


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="IN...")
@click.option("-o", "--output", required=True, help="Output: .rdb, .jsonl or .json (.lz4 on any).")
@click.option("--on-duplicate", type=click.Choice(POLICIES), default="error", show_default=True,
              help="A key in two inputs: refuse (naming both), or keep the first or the last one read.")
@db_map_option("Put the keys of db SRC into db DST (repeatable).")
@click.option("--rdb-version", type=click.IntRange(MIN_VERSION, MAX_VERSION), default=None,
              help="RDB version to write (default: the newest input's, or 10).")
@tmpdir_option("Where --on-duplicate spills its sorted runs (~8 bytes a key for error, 32 for "
               "first|last) and where first|last copy a stdin input to read it twice")
@filter_options
def merge(inputs: tuple[str, ...], output: str, on_duplicate: str, db_map: dict[int, int],
          rdb_version: int | None, tmpdir: str | None, dbs, key_glob, key_regex, types) -> None:
    """Merge the dumps IN... into one OUT."""
    fmt = _format_of(output)
    if fmt not in ("rdb", "jsonl", "json"):
        raise click.UsageError(f"cannot tell the output format of {output!r}: name it .rdb, .jsonl or .json")
    if "-" in inputs and len(inputs) > 1:
        raise click.UsageError("'-' (stdin) can only be the one input")
    flt = make_filter(dbs, key_glob, key_regex, types)
    names = list(inputs)

    def where(p: Any) -> str:
        return f"{names[p[0]]} offset {p[1]}"

    def pos(rec: Record) -> Any:
        return rec.offset

    with library_errors():
        version = rdb_version
        if fmt == "rdb" and version is None and "-" not in inputs:  # stdin's: the writer's choice
            heads = []
            for path in inputs:
                with DumpSource(path) as src:
                    first = next(iter(src.events()), None)
                    if isinstance(first, Header):
                        heads.append(first.version)
            version = min(max(heads), MAX_VERSION) if heads else 10
        reads = _Inputs(inputs, flt, db_map, tmpdir, 1 if on_duplicate == "error" else 2)
        drops = None
        try:
            if on_duplicate != "error":
                drops = find_drops(reads.records(), on_duplicate, tmpdir)
            events = _libraries_once(reads.events(), on_duplicate)
            events = dedup(events, on_duplicate, drops=drops, pos=pos, where=where, tmpdir=tmpdir,
                           again=reads.records if "-" not in inputs else None)
            drop_notes: list[Any] = []
            opts = {"rdb_version": version, "lossy": False, "modules": True, "compress": True,
                    "checksum": True, "on_drop": drop_notes.append, "announce": lambda msg: None}
            with atomic_output(output) as out:
                WRITERS[fmt](_plain_offsets(events), out, opts)
        except (DuplicateKeyError, UnnamedDuplicateError) as exc:
            raise CliError(str(exc), ExitStatus.CORRUPT_INPUT) from None
        except RdbEncodeError as exc:
            raise CliError(f"{output}: {exc}", ExitStatus.ERROR) from exc
        finally:
            if drops is not None:
                drops.close()
            reads.close()
    click.echo(f"rdbkit: merged {len(inputs)} inputs into {output}", err=True)


def _plain_offsets(events: Iterator[Any]) -> Iterator[Any]:
    """Records get their own offset back before a writer sees them."""
    for ev in events:
        if type(ev) is Record and isinstance(ev.offset, tuple):
            ev.offset = ev.offset[1]
        yield ev


