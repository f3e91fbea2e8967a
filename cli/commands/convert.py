"""``rdbkit convert IN OUT``: RDB ⇄ JSONL / JSON (the ``dump`` contract) ⇄ AOF, RDB → RDB of another version.

An RDB, JSONL or JSON-array input is read by the one input layer
(:class:`rdbtools.seek.DumpSource`, told by content whatever its name); an AOF (a file of
RESP commands, ``.aof``/``.manifest``, a multi-part directory, or ``--from aof``) is
replayed through the engine. The output format comes from ``--to`` or the name
(``.rdb``, ``.jsonl``, ``.json``, ``.aof``, each with ``.lz4``). Writing RDB
needs a version: ``--rdb-version N``, else the input's own (clamped to 6–12; said on stderr
only when it had to move) or 10, what Redis 7.0 loads, for JSONL and AOF input — 12 for
an AOF whose keyspace holds hash field TTLs (said on stderr). What the target cannot
hold stops the conversion with one line naming file, offset and key, unless
``--lossy``, which drops it and reports each drop on stderr. A key that comes twice
(concatenated JSONL, a damaged dump) stops it naming both positions, unless
``--on-duplicate first|last`` keeps one (:mod:`rdbtools.dedup`, in memory that does not
grow with the input: sorted runs spill to ``--tmpdir``; ``first`` and ``last`` read the
input twice, standard input and ``.lz4`` through a copy in ``--tmpdir``). File outputs
appear whole or not at all (:func:`rdbtools.io.atomic_output`): a repeat found when the
pass ends leaves nothing behind.

Adding an output format = one writer taking the events, registered in ``WRITERS`` and
``_EXTENSIONS``; an input format belongs in the input layer, for every verb at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any, BinaryIO

import click

from rdbtools.decoder import Filter
from rdbtools.dedup import POLICIES, DuplicateKeyError, UnnamedDuplicateError, dedup, find_drops
from rdbtools.encoder import MAX_VERSION, MIN_VERSION, REDIS_VER, RdbEncoder
from rdbtools.errors import RdbEncodeError, RdbError
from rdbtools.io import atomic_output, open_input
from rdbtools.jsonl_writer import write_json_array, write_jsonl
from rdbtools.model import Header, Record
from rdbtools.seek import DumpSource

from ..errors import CliError, library_errors
from ..exitcodes import ExitStatus
from ..options import filter_options, make_filter, tmpdir_option
from ..output import Progress

DEFAULT_VERSION = 10  # a JSONL or AOF input's RDB: what Redis 7.0 loads
HFE_VERSION = 12  # an AOF input whose keyspace holds hash field TTLs: the first that keeps them
_HFE = "rdbkit.field_ttls"  # click context meta: the replayed AOF holds hash field TTLs

FORMATS = ("rdb", "jsonl", "json", "aof")
_EXTENSIONS = {".rdb": "rdb", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".aof": "aof",
               ".manifest": "aof"}


def _format_of(name: str) -> str | None:
    base = name[:-4] if name.endswith(".lz4") else name
    return _EXTENSIONS.get(os.path.splitext(base)[1].lower())


# ----------------------------------------------------------------------------- readers


def _read_aof(fobj: BinaryIO, name: str, flt: Filter | None) -> Iterator[Any]:
    """Replay the AOF (engine semantics, ``engine.replay``) and yield its final keyspace.

    A multi-part directory is read through its manifest (pass ``dir/<name>.manifest``).
    What the engine does not serve (streams, field TTLs) stops the conversion unless
    ``--lossy``, which drops it and reports the keys on stderr."""
    from aof.errors import AofError
    from engine.replay import ReplayError, replay

    ctx = click.get_current_context(silent=True)
    lossy = bool(ctx and ctx.params.get("lossy"))
    source: Any = name if name.endswith(".manifest") and os.path.isfile(name) else fobj
    try:
        result = replay(source, unsupported="skip" if lossy else "error", pause_gc=True)
    except (ReplayError, AofError) as exc:
        raise CliError(f"{name}: {exc}", ExitStatus.CORRUPT_INPUT) from exc
    for db, key in sorted(result.lossy_keys):
        click.echo(f"rdbkit: lossy: db {db} key {key!r}: not replayable by the engine, dropped", err=True)
    if ctx is not None:
        from engine.materialize import has_field_ttls

        ks = result.server.keyspace
        ctx.meta[_HFE] = has_field_ttls(ks, ks.now_ms())
    matches = flt.record_matcher() if flt is not None else None
    for rec in result.records():
        if matches is not None and type(rec) is Record and not matches(rec):
            continue
        yield rec




# ----------------------------------------------------------------------------- writers


def _write_jsonl(events: Iterator[Any], out: BinaryIO, opts: dict) -> None:
    write_jsonl(events, out.write)


def _write_json(events: Iterator[Any], out: BinaryIO, opts: dict) -> None:
    write_json_array(events, out.write)


def _write_rdb(events: Iterator[Any], out: BinaryIO, opts: dict) -> None:
    version = opts["rdb_version"]
    first = next(events, None)
    pending = [] if first is None else [first]
    if version is None:
        src = first.version if isinstance(first, Header) else None
        ctx = click.get_current_context(silent=True)
        if src is None and ctx is not None and ctx.meta.get(_HFE):  # an AOF of Redis 7.4+
            version, why = HFE_VERSION, "the first that keeps hash field TTLs"
        elif src is None:  # JSONL, an AOF: what the Redis 7.0 beside it loads
            version, why = DEFAULT_VERSION, "what Redis 7.0 loads"
        else:
            version = min(max(src, MIN_VERSION), MAX_VERSION if src < 80 else 11)
            why = "" if version == src else f"closest to the input's {src}"
        if why:  # said only when a choice was made for the user (the input's own is none)
            opts["announce"](
                f"writing RDB version {version} (Redis {REDIS_VER.get(version, b'2.6-3.0').decode()}),"
                f" {why}; pass --rdb-version N ({MIN_VERSION}-{MAX_VERSION}) to choose"
            )
    encoder = RdbEncoder(
        version,
        compress=opts["compress"],
        checksum=opts["checksum"],
        ctime=int(time.time()),
        modules=opts["modules"],
        lossy=opts["lossy"],
        on_drop=opts["on_drop"],
    )
    write = out.write
    for chunk in encoder.encode(chain(pending, events)):
        write(chunk)
    opts["encoder"] = encoder


def _write_aof(events: Iterator[Any], out: BinaryIO, opts: dict) -> None:
    """The rewrite command stream (``AofRewriter``) of the records: Redis 7.0's forms, or
    7.4's (HPEXPIREAT) when an AOF input's keyspace holds hash field TTLs."""
    from aof.errors import AofError
    from aof.rewriter import AofRewriter

    write = out.write
    first = next(events, None)
    ctx = click.get_current_context(silent=True)
    target = (7, 4) if ctx is not None and ctx.meta.get(_HFE) else (7, 0)
    events = chain(() if first is None else [first], events)
    try:
        for chunk in AofRewriter(target=target, modules="skip" if opts["lossy"] else "error").encode(events):
            write(chunk)
    except AofError as exc:
        raise CliError(str(exc), ExitStatus.ERROR) from exc


WRITERS: dict[str, Callable[[Iterator[Any], BinaryIO, dict], None]] = {
    "rdb": _write_rdb,
    "jsonl": _write_jsonl,
    "json": _write_json,
    "aof": _write_aof,
}


# ----------------------------------------------------------------------------- command


def _aof_events(path: str, flt: Filter | None) -> tuple[Iterator[Any], str]:
    """The final keyspace of an AOF input (file, directory, manifest or stdin), replayed."""
    fobj, name, owned = open_input(path) if not os.path.isdir(path) else (None, path, False)

    def events() -> Iterator[Any]:
        try:
            yield from _read_aof(fobj if fobj is not None else path, name, flt)  # type: ignore[arg-type]
        finally:
            if owned:
                fobj.close()  # type: ignore[union-attr]
    return events(), name


def _is_aof(path: str) -> bool:
    """An AOF by its form: a directory (multi-part), a manifest, or RESP commands."""
    if path == "-":
        return False
    if os.path.isdir(path):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(1) == b"*"
    except OSError:
        return False


def _with_source(events: Iterator[Any], name: str) -> Iterator[Any]:
    """Attach the input's name to errors raised while its events are consumed."""
    try:
        yield from events
    except RdbError as exc:
        exc.source = exc.source or name
        raise


def _deduplicated(src: DumpSource, policy: str, tmpdir: str | None) -> Iterator[Any]:
    """The input's events with each key once, as ``--on-duplicate`` says
    (:mod:`rdbtools.dedup`, memory bounded whatever the input's size)."""
    bar = Progress(src.size, f"{'reading' if policy != 'error' else 'converting'} {src.name}")
    src.progress = bar.update
    try:
        if policy == "error":
            yield from dedup(src.events(), policy, again=src.again if src.rereadable else None,
                             tmpdir=tmpdir)
            return
        with find_drops(src.records(), policy, tmpdir) as drops:
            bar.close()
            bar = Progress(src.size, f"converting {src.name}")
            yield from dedup(src.again(False, bar.update), policy, drops=drops)
    finally:
        bar.close()


def _write(events: Iterator[Any], output_path: str, dst_fmt: str, opts: dict, name: str) -> None:
    """Write the events, refusing what the target cannot hold and a key read twice."""
    events = _with_source(events, name)
    with atomic_output(output_path) as out:  # the output appears whole or not at all
        try:
            WRITERS[dst_fmt](events, out, opts)
        except RdbEncodeError as exc:
            exc.source = exc.source or name
            raise CliError(str(exc), ExitStatus.ERROR) from exc
        except (DuplicateKeyError, UnnamedDuplicateError) as exc:
            raise CliError(f"{name}: {exc}", ExitStatus.CORRUPT_INPUT) from None


@click.command()
@click.argument("input_path", metavar="IN")
@click.argument("output_path", metavar="OUT")
@click.option("--from", "src_fmt", type=click.Choice(FORMATS), help="Input format (default: by name or content).")
@click.option("--to", "dst_fmt", type=click.Choice(FORMATS), help="Output format (default: by name).")
@click.option("--rdb-version", type=click.IntRange(MIN_VERSION, MAX_VERSION), default=None,
              help="RDB version to write (6: Redis 2.6-3.0 ... 9: 5.0-6.2, 10: 7.0, 11: 7.2, 12: 7.4).")
@click.option("--lossy", is_flag=True, help="Drop what the target cannot hold; report each drop on stderr.")
@click.option("--no-modules", is_flag=True, help="Treat module values and module aux data as unsupported.")
@click.option("--no-compression", is_flag=True, help="Write no LZF strings (rdbcompression no).")
@click.option("--no-checksum", is_flag=True, help="Write a zero CRC-64 trailer (rdbchecksum no).")
@click.option("--on-duplicate", type=click.Choice(POLICIES), default="error", show_default=True,
              help="A key that comes twice: refuse the input (naming both positions), or keep "
                   "the first or the last one read.")
@tmpdir_option("Where --on-duplicate spills its sorted runs (~8 bytes a key for error, 32 for "
               "first|last) and where first|last copy a stdin or .lz4 input to read it twice")
@filter_options
def convert(input_path, output_path, src_fmt, dst_fmt, rdb_version, lossy, no_modules,
            no_compression, no_checksum, on_duplicate, tmpdir, dbs, key_glob, key_regex, types) -> None:
    """Convert IN to OUT ('-' = stdin/stdout; .lz4 on either side is handled)."""
    flt = make_filter(dbs, key_glob, key_regex, types)
    dst_fmt = dst_fmt or _format_of(output_path)
    if dst_fmt is None:
        raise click.UsageError(f"cannot tell the output format of {output_path!r}: use --to rdb|jsonl")
    if dst_fmt != "rdb" and rdb_version is not None:
        raise click.UsageError("--rdb-version only applies when writing RDB")
    drops = []

    def on_drop(d) -> None:
        drops.append(d)
        click.echo(f"rdbkit: lossy: {d}", err=True)

    opts = {
        "rdb_version": rdb_version, "lossy": lossy, "modules": not no_modules,
        "compress": not no_compression, "checksum": not no_checksum, "on_drop": on_drop,
        "announce": lambda msg: click.echo(f"rdbkit: {msg}", err=True),
    }
    with library_errors():
        fmt = src_fmt or _format_of(input_path) or ("aof" if _is_aof(input_path) else "dump")
        if fmt == "aof":  # a replayed keyspace holds each key once
            events, name = _aof_events(input_path, flt)
            _write(events, output_path, dst_fmt, opts, name)
        else:
            # first|last read the input twice: stdin and .lz4 are spooled to --tmpdir
            with DumpSource(input_path, filter=flt, check_duplicates=False, tmpdir=tmpdir,
                            seekable=on_duplicate != "error") as src:
                _write(_deduplicated(src, on_duplicate, tmpdir), output_path, dst_fmt, opts, src.name)
    if drops:
        click.echo(f"rdbkit: {len(drops)} item(s) dropped (--lossy)", err=True)
