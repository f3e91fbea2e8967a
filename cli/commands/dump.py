"""``rdbkit dump FILE``: every key as one JSON object (the stable contract); a huge string
is written in pieces, never held as text (rdbtools.jsonl_writer)."""

from __future__ import annotations

import click

from rdbtools.io import atomic_output, iter_records, open_input
from rdbtools.jsonl_writer import write_json_array, write_jsonl

from ..errors import library_errors
from ..options import filter_options, make_filter
from ..output import with_progress


@click.command()
@click.argument("file")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json"]), default="jsonl",
              show_default=True, help="One object per line, or one JSON array.")
@click.option("-o", "--output", default="-", help="Output file ('-' = stdout; .lz4 compresses).")
@filter_options
def dump(file: str, fmt: str, output: str, dbs, key_glob, key_regex, types) -> None:
    """Print the keys of an RDB FILE ('-' = stdin; .lz4 read transparently) as JSON."""
    flt = make_filter(dbs, key_glob, key_regex, types)
    with library_errors():
        fobj, name, in_owned = open_input(file)
        try:
            with atomic_output(output) as out:  # a file appears whole, or not at all
                records = with_progress(iter_records(fobj, filter=flt, name=name), fobj, f"dumping {name}")
                if fmt == "jsonl":
                    write_jsonl(records, out.write)
                else:
                    write_json_array(records, out.write)
        finally:
            if in_owned:
                fobj.close()
