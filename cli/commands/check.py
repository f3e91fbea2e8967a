"""``rdbkit check FILE|DIR``: verify an RDB (like redis-check-rdb) or an AOF (like
redis-check-aof: single file, RDB-preamble file, multi-part directory or manifest),
told apart by content; ``--fix`` truncates an AOF's bad tail after asking."""

from __future__ import annotations

import time

import click

from aof.check import analyse, apply_fix, sniff
from aof.errors import AofError
from rdbtools.digest import DatasetDigest
from rdbtools.errors import RdbError
from rdbtools.io import iter_events, open_input
from rdbtools.keycheck import KeyCheck
from rdbtools.model import End, Record
from rdbtools.summary import RdbSummary

from ..errors import CliError, library_errors
from ..exitcodes import ExitStatus
from ..output import with_progress


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


@click.command()
@click.argument("file")
@click.option("-q", "--quiet", is_flag=True, help="Only the verdict.")
@click.option("--fix", is_flag=True,
              help="AOF only: truncate the last file to its last valid command (asks first).")
@click.option("-y", "--yes", is_flag=True, help="With --fix: do not ask.")
@click.option("--aof", "as_aof", is_flag=True,
              help="Read FILE as an AOF whatever its name and content (files named *.aof are; "
                   "a 0-byte AOF is empty and valid, as redis-check-aof says).")
@click.option("--no-backup", is_flag=True, help="With --fix: do not keep a copy of the file.")
@click.option("--truncate-to-timestamp", "to_timestamp", type=int, default=None, metavar="UNIX_SECONDS",
              help="AOF only: cut the last file at the first #TS annotation later than this "
                   "(point-in-time recovery, like redis-check-aof); keeps a backup.")
@click.option("--digest", is_flag=True,
              help="RDB only: also print the DEBUG DIGEST a server shows after loading the file now "
                   "(keys already expired are left out, as a loading server drops them).")
def check(file: str, quiet: bool, fix: bool, yes: bool, as_aof: bool, no_backup: bool,
          to_timestamp: int | None, digest: bool) -> None:
    """Verify an RDB FILE (every structure, every value, the CRC-64 trailer) or an AOF
    FILE|DIR (every record, MULTI/EXEC balance, the RDB preamble; like redis-check-aof)."""
    kind = "rdb" if file == "-" else _sniff(file, as_aof)
    if kind != "rdb":
        if to_timestamp is not None:
            if fix:
                raise CliError("--fix and --truncate-to-timestamp are exclusive", ExitStatus.USAGE)
            _truncate_to_timestamp(file, to_timestamp, not no_backup)
            return
        _check_aof(file, fix, yes, not no_backup, quiet)
        return
    if fix or to_timestamp is not None:
        raise CliError("--fix and --truncate-to-timestamp apply to AOF files only", ExitStatus.USAGE)
    summary = RdbSummary()
    echo = click.echo
    dd = DatasetDigest() if digest else None
    now = int(time.time() * 1000)
    try:
        with library_errors():
            fobj, name, owned = open_input(file)
            # duplicate keys refused in bounded memory (digests drained to disk past 1M keys)
            keys = KeyCheck(file, name)
            try:
                events = with_progress(iter_events(fobj, name=name, keys=keys.keys), fobj, f"checking {name}")
                n = 0
                for ev in events:
                    if ev.__class__ is Record:
                        n += 1
                        if not n & 2047:
                            keys.drain()
                    elif ev.__class__ is End:
                        keys.finish()
                    summary.add(ev)
                    if dd is not None and ev.__class__ is Record and (ev.expire_ms is None or ev.expire_ms > now):
                        dd.add(ev)
            finally:
                keys.close()
                if owned:
                    fobj.close()
    except CliError as exc:
        cause = exc.__cause__
        if isinstance(cause, RdbError):
            echo(f"--- RDB ERROR DETECTED ---\n{cause}", err=True)
            if summary.version is not None and not quiet:
                echo(f"(read {summary.total_keys} keys before the error)", err=True)
            raise CliError(f"{file}: RDB is not valid", ExitStatus.CORRUPT_INPUT) from None
        raise
    if not quiet:
        magic = (summary.magic or b"REDIS").decode()
        echo(f"file: {file}")
        echo(f"format: {magic} RDB version {summary.version}, {summary.size} bytes")
        seen: dict[bytes, int] = {}
        for k, _ in summary.aux:
            seen[k] = seen.get(k, 0) + 1
        for k, v in summary.aux:
            if seen[k] == 1:
                echo(f"aux: {_text(k)} = {_text(v)}")
            elif seen[k] > 1:
                echo(f"aux: {_text(k)} x{seen[k]} (first = {_text(v)})")
                seen[k] = 0
        for name in summary.functions:
            echo(f"function library: {_text(name)}")
        if summary.module_aux:
            echo(f"module aux records: {summary.module_aux}")
        for db, types in summary.per_db().items():
            parts = ", ".join(f"{t}={n}" for t, n in types.items())
            echo(f"db {db}: {sum(types.values())} keys ({parts}), {summary.expires[db]} with expiry")
        if summary.checksum is None:
            echo("checksum: none (RDB version < 5)")
        elif summary.checksum == 0:
            echo("checksum: not computed (zero trailer)")
        else:
            echo(f"checksum: {summary.checksum:016x} OK")
    if dd is not None:
        echo(f"digest: {dd.hexdigest()}")
    echo(f"RDB looks OK: {summary.total_keys} keys")


def _sniff(file: str, as_aof: bool) -> str:
    with library_errors():
        return sniff(file, as_aof)


def _truncate_to_timestamp(file: str, to_timestamp: int, backup: bool) -> None:
    echo = click.echo
    with library_errors():
        report = analyse(file, to_timestamp=to_timestamp)
    cut = any(f.ts_cut is not None or f.ts_invalid for f in report.files)
    if not cut and not report.valid:  # damaged before any later timestamp: that comes first
        for line in report.lines():
            echo(line)
        if report.fatal:
            echo(report.fatal, err=True)
        raise click.exceptions.Exit(int(ExitStatus.CORRUPT_INPUT))
    plan, message = report.timestamp_plan(to_timestamp)
    if plan is None:
        echo(message)
        if cut:
            raise click.exceptions.Exit(int(ExitStatus.ERROR))
        echo("All AOF files and manifest are valid" if report.kind == "multipart" else f"AOF {file} is valid")
        return
    with library_errors():
        try:
            saved = apply_fix(plan, backup=backup)
        except AofError as exc:
            raise CliError(str(exc), ExitStatus.ERROR) from exc
    if saved:
        echo(f"Backup of the original file: {saved}", err=True)
    echo(f"{message} ({plan.removed} bytes removed, {plan.truncate_to} kept)")


def _check_aof(file: str, fix: bool, yes: bool, backup: bool, quiet: bool) -> None:
    echo = click.echo
    try:
        with library_errors():
            report = analyse(file)
    except AofError as exc:  # pragma: no cover - analyse reports problems in the report
        raise CliError(str(exc), ExitStatus.CORRUPT_INPUT) from exc
    lines = list(report.lines(fix=fix))
    if quiet:
        lines = lines[-1:]
    for line in lines:
        echo(line)
    if report.valid:
        return
    plan = report.fix_plan
    if not fix or plan is None:
        if report.fatal and (not lines or report.fatal not in lines[-1]):
            echo(report.fatal, err=True)
        bad = report.bad
        if fix and bad is not None and bad.compressed:
            echo(f"{bad.name}: a compressed file cannot be truncated in place", err=True)
        raise click.exceptions.Exit(int(ExitStatus.CORRUPT_INPUT))
    echo(plan.prompt)
    if not yes:
        echo("Continue? [y/N]: ", nl=False)
        answer = click.get_text_stream("stdin").readline()
        if not answer.strip().lower().startswith("y"):
            echo("Aborting...")
            raise click.exceptions.Exit(int(ExitStatus.ERROR))
    with library_errors():
        try:
            saved = apply_fix(plan, backup=backup)
        except AofError as exc:
            raise CliError(str(exc), ExitStatus.ERROR) from exc
    if saved:
        echo(f"Backup of the original file: {saved}", err=True)
    echo(f"Successfully truncated AOF {plan.name}")
    if report.kind == "multipart":
        echo("All AOF files and manifest are valid")
