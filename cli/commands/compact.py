"""``rdbkit compact IN [-o OUT] [--format auto|aof|preamble|multipart]``: offline AOF rewrite.

IN is any AOF form the reader takes (single file, RDB-preamble file, multi-part
directory or its manifest). It is replayed through the engine's command semantics
(:mod:`engine.replay`), keys expired by now are dropped, and the final keyspace is
written as:

* ``aof`` — the rewrite command stream (``AofRewriter``, Redis 7.0 forms);
* ``preamble`` — an RDB base (version 10) with nothing after it;

(a keyspace holding hash field TTLs is written in Redis 7.4's forms instead: RDB 12,
``HPEXPIREAT`` after the fields, as the engine's own rewrite does);
* ``multipart`` — a Redis 7 directory: ``<name>.1.base.rdb`` (``--base-format aof``:
  ``.base.aof``), an empty ``<name>.1.incr.aof`` and the manifest, built in a
  temporary directory that is renamed into place when complete;
* ``auto`` (the default) — ``multipart`` for a multi-part input (a directory or its
  manifest), else the smaller of ``preamble`` and ``aof``: the preamble is written, then
  the command stream is encoded only as far as it stays smaller (almost never far: an
  RDB is the denser form), and written instead if it ends smaller.

Files are written to a temporary name, fsynced and renamed. Sizes before/after and
key counts go to stderr. Commands or values the engine does not serve (Redis 8's
HGETEX/HSETEX, …) stop the compaction unless ``--lossy``, which drops them and
lists the keys affected.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

from rdbtools.io import fsync_dir, write_atomically

from ..errors import CliError
from ..exitcodes import ExitStatus
from ..output import Progress

FORMATS = ("auto", "aof", "preamble", "multipart")
REWRITE_TARGET = (7, 0)
REWRITE_TARGET_HFE = (7, 4)  # the first with hash field TTLs


def _input_files(path: str) -> list[str]:
    if os.path.isdir(path):
        return [os.path.join(path, n) for n in sorted(os.listdir(path))
                if os.path.isfile(os.path.join(path, n))]
    return [path]


def _size(path: str) -> int:
    return sum(os.path.getsize(p) for p in _input_files(path))


def encode_output(records: Any, fmt: str, hfe: bool = False) -> Iterator[bytes]:
    """The bytes of a single-file compact AOF: ``aof`` (RESP) or ``preamble`` (RDB base).
    ``hfe``: the records hold hash field TTLs, which need Redis 7.4's forms."""
    from aof.rewriter import AofRewriter, encode_rdb_base
    from engine.materialize import RDB_VERSION, RDB_VERSION_HFE  # what the engine writes

    if fmt == "preamble":
        return encode_rdb_base(records, target_version=RDB_VERSION_HFE if hfe else RDB_VERSION,
                               ctime=int(time.time()))
    return AofRewriter(target=REWRITE_TARGET_HFE if hfe else REWRITE_TARGET).encode(records)


def write_multipart(path: str, records: Any, base_format: str, appendfilename: str,
                    hfe: bool = False) -> None:
    """A fresh multi-part directory at ``path`` (which must not exist), built aside, renamed in."""
    from aof.manifest import Manifest
    from aof.multipart import AofDirectory, AofNames, with_new_base, with_new_incr

    if os.path.exists(path):
        raise CliError(f"{path}: already exists (multipart output must be a new directory)", ExitStatus.ERROR)
    parent, base = os.path.split(os.path.abspath(path))
    tmpdir = os.path.join(parent, f".{base}.{os.getpid()}.tmp")
    names = AofNames(appendfilename)
    rdb = base_format == "rdb"
    am, base_info = with_new_base(Manifest(), names, rdb)
    am, incr_info = with_new_incr(am, names)
    os.mkdir(tmpdir)
    try:
        write_atomically(os.path.join(tmpdir, base_info.name), encode_output(records, "preamble" if rdb else "aof", hfe))
        write_atomically(os.path.join(tmpdir, incr_info.name), iter(()))
        AofDirectory(tmpdir, am, appendfilename).commit()
        os.rename(tmpdir, path)
        tmpdir = ""
        fsync_dir(parent)
    finally:
        if tmpdir and os.path.isdir(tmpdir):
            shutil.rmtree(tmpdir, ignore_errors=True)


def _on_item(bar: Progress, total: int) -> Callable[[Any], None] | None:
    """The replay's per-item hook when the progress bar is shown: the file offset reached."""
    if not bar.enabled:
        return None
    from aof.commands import CommandRun

    n = done = end = 0
    file: str | None = None

    def progress(item: Any) -> None:
        nonlocal n, done, end, file
        before = n
        n += len(item) if item.__class__ is CommandRun else 1  # a run holds many commands
        f = getattr(item, "file", None)
        if f is not None and f != file:
            done += end
            file = f
        end = getattr(item, "end", end) or end
        if n >> 8 != before >> 8:  # every 256 commands or records
            bar.update(min(done + end, total))

    return progress


def _aof_smaller_than(records: Any, limit: int, hfe: bool) -> bool:
    """Whether the ``aof`` form of ``records`` takes fewer than ``limit`` bytes (stops
    encoding as soon as it does not)."""
    n = 0
    for chunk in encode_output(records, "aof", hfe):
        n += len(chunk)
        if n >= limit:
            return False
    return True


def _auto_format(input_path: str) -> str:
    return "multipart" if os.path.isdir(input_path) or input_path.endswith(".manifest") else "preamble"


def _default_output(input_path: str, fmt: str) -> str:
    stem = input_path.rstrip("/").removesuffix(".manifest")
    return stem + (".compact" if fmt == "multipart" else ".compact.aof")


@click.command()
@click.argument("input_path", metavar="IN")
@click.option("-o", "--output", "output_path", metavar="OUT",
              help="Output file or directory (default: IN.compact.aof, or IN.compact for multipart).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="aof: rewritten commands; preamble: RDB base only; multipart: Redis 7 directory; "
                   "auto: multipart for a multi-part input, else the smaller of preamble and aof.")
@click.option("--base-format", type=click.Choice(("rdb", "aof")), default="rdb", show_default=True,
              help="Base file of a multipart output.")
@click.option("--appendfilename", default="appendonly.aof", show_default=True,
              help="File name prefix inside a multipart output.")
@click.option("--lossy", is_flag=True,
              help="Drop commands/values the engine does not serve (streams, field TTLs, ...) and list the keys.")
@click.option("--now-ms", type=int, default=None, hidden=True, help="Clock for dropping expired keys.")
def compact(input_path, output_path, fmt, base_format, appendfilename, lossy, now_ms) -> None:
    """Replay the AOF IN and write its final keyspace as a compact AOF."""
    from aof.errors import AofError
    from engine.materialize import has_field_ttls
    from engine.replay import ReplayError, replay

    if not os.path.exists(input_path):
        raise CliError(f"{input_path}: No such file or directory", ExitStatus.ERROR)
    chosen = _auto_format(input_path) if fmt == "auto" else fmt
    output_path = output_path or _default_output(input_path, chosen)
    echo = lambda msg: click.echo(f"rdbkit: {msg}", err=True)  # noqa: E731
    before = _size(input_path)
    bar = Progress(before, f"replaying {input_path}")
    t0 = time.time()
    try:
        try:
            # automatic garbage collection off while replaying (a full collection every
            # COLLECT_EVERY commands instead): the replay only grows the keyspace, to
            # millions of container objects, and the automatic passes over them find
            # almost nothing
            result = replay(input_path, unsupported="skip" if lossy else "error",
                            on_item=_on_item(bar, before), pause_gc=True)
        finally:
            bar.close()
    except ReplayError as exc:
        hint = " (--lossy drops what the engine does not serve)" if not lossy else ""
        raise CliError(f"{input_path}: {exc}{hint}", ExitStatus.CORRUPT_INPUT) from exc
    except AofError as exc:
        raise CliError(f"{input_path}: {exc}", ExitStatus.CORRUPT_INPUT) from exc
    except OSError as exc:
        raise CliError(f"{getattr(exc, 'filename', None) or input_path}: {exc.strerror or exc}") from exc
    if result.truncation is not None:
        echo(f"{result.truncation.message} (kept the first {result.truncation.valid_up_to} bytes)")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    total = sum(len(db.data) for db in result.server.keyspace.dbs)
    live = result.key_count(now)
    hfe = has_field_ttls(result.server.keyspace, now)
    if hfe:
        echo("hash field TTLs: written in Redis 7.4's forms (RDB 12, HPEXPIREAT)")
    try:
        if chosen == "multipart":
            write_multipart(output_path, result.records(now), base_format, appendfilename, hfe)
        else:
            write_atomically(output_path, encode_output(result.records(now), chosen, hfe))
            if fmt == "auto" and _aof_smaller_than(result.records(now), _size(output_path), hfe):
                chosen = "aof"
                write_atomically(output_path, encode_output(result.records(now), chosen, hfe))
    except AofError as exc:
        raise CliError(f"{output_path}: {exc}") from exc
    except OSError as exc:
        raise CliError(f"{getattr(exc, 'filename', None) or output_path}: {exc.strerror or exc}") from exc
    after = _size(output_path)
    echo(f"replayed {result.commands} commands, {result.records_loaded} base records"
         f" in {time.time() - t0:.2f}s ({result.errors} error replies ignored)")
    echo(f"keys: {live} written, {total - live} expired dropped; {len(result.functions)} function libraries")
    pct = f" ({100.0 * after / before:.1f}%)" if before else ""
    echo(f"size: {before} bytes -> {after} bytes{pct}: {output_path} ({chosen})")
    if result.skipped:
        what = ", ".join(f"{k} x{v}" for k, v in sorted(result.skipped.items()))
        echo(f"lossy: dropped {what}; {len(result.lossy_keys)} key(s) affected:")
        for db, key in sorted(result.lossy_keys)[:20]:
            echo(f"  db {db} {key!r}")
        if len(result.lossy_keys) > 20:
            echo(f"  ... and {len(result.lossy_keys) - 20} more")
