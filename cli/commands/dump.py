"""``rdbkit dump FILE``: every key as one JSON object (the stable contract); a huge string
is written in pieces, never held as text (rdbtools.jsonl_writer)."""

from __future__ import annotations

import click

from rdbtools.io import atomic_output
from rdbtools.jsonl_writer import write_json_array, write_jsonl
from rdbtools.seek import DumpSource

from ..errors import library_errors
from ..options import filter_options, make_filter
from ..output import Progress


@click.command()
@click.argument("file")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json"]), default="jsonl",
              show_default=True, help="One object per line, or one JSON array.")
@click.option("-o", "--output", default="-", help="Output file ('-' = stdout; .lz4 compresses).")
@filter_options
def dump(file: str, fmt: str, output: str, dbs, key_glob, key_regex, types) -> None:
    """Print the keys of FILE as JSON: an RDB, or a JSONL/JSON dump ('-' = stdin; .lz4 read
    transparently; the format is told by content)."""
    flt = make_filter(dbs, key_glob, key_regex, types)
    with library_errors(), DumpSource(file, filter=flt) as src:
        bar = Progress(src.size, f"dumping {src.name}")
        src.progress = bar.update
        try:
            with atomic_output(output) as out:  # a file appears whole, or not at all
                if fmt == "jsonl":
                    write_jsonl(src.records(), out.write)
                else:
                    write_json_array(src.records(), out.write)
        finally:
            bar.close()
