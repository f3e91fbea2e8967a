"""``rdbkit keys FILE``: the keys of a dump, one a line (what ``redis-cli --scan`` prints
of a live server), with every filter of the other verbs (``--db``, ``--key``,
``--not-key``, ``--type``, ``--expiry``, ``--encoding``, ``--min-size`` ...)."""

from __future__ import annotations

import click

from rdbtools.io import atomic_output
from rdbtools.seek import DumpSource

from ..errors import library_errors
from ..options import filter_options, make_filter
from ..output import Progress


@click.command()
@click.argument("file")
@click.option("--with-db", is_flag=True, help="Prefix each key with its db number and a tab.")
@click.option("-o", "--output", default="-", help="Output file ('-' = stdout; .lz4 compresses).")
@filter_options
def keys(file: str, with_db: bool, output: str, dbs, key_glob, key_regex, types) -> None:
    """Print the keys of FILE (an RDB, JSONL or JSON dump; '-' = stdin), one a line, as
    their raw bytes."""
    flt = make_filter(dbs, key_glob, key_regex, types)
    with library_errors(), DumpSource(file, filter=flt) as src:
        bar = Progress(src.size, f"reading {src.name}")
        src.progress = bar.update
        try:
            with atomic_output(output) as out:
                write = out.write
                batch: list[bytes] = []
                for rec in src.records():
                    batch.append(b"%d\t%s\n" % (rec.db, rec.key) if with_db else rec.key + b"\n")
                    if len(batch) >= 4096:
                        write(b"".join(batch))
                        batch.clear()
                write(b"".join(batch))
        finally:
            bar.close()
