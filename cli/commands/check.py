"""``rdbkit check FILE``: verify structure and checksum, like redis-check-rdb."""

from __future__ import annotations

import click

from rdbtools.errors import RdbError
from rdbtools.io import iter_events
from rdbtools.summary import RdbSummary

from ..errors import CliError, library_errors
from ..exitcodes import ExitStatus


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


@click.command()
@click.argument("file")
@click.option("-q", "--quiet", is_flag=True, help="Only the verdict.")
def check(file: str, quiet: bool) -> None:
    """Verify an RDB FILE: every structure, every value, the CRC-64 trailer."""
    summary = RdbSummary()
    echo = click.echo
    try:
        with library_errors():
            for ev in iter_events(file):
                summary.add(ev)
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
    echo(f"RDB looks OK: {summary.total_keys} keys")
