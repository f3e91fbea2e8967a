"""``rdbkit dump FILE``: every key as one JSON object (the stable contract)."""

from __future__ import annotations

import click

from rdbtools.io import iter_records, open_input, open_output
from rdbtools.jsonl import record_to_json, records_to_jsonl
from rdbtools.model import Record

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
        out, owned = open_output(output)
        try:
            records = with_progress(iter_records(fobj, filter=flt, name=name), fobj, f"dumping {name}")
            write = out.write
            if fmt == "jsonl":
                # small batches: the records are freed while hot, the GC stays idle
                batch: list[Record] = []
                for rec in records:
                    batch.append(rec)
                    if len(batch) >= 256:
                        write(records_to_jsonl(batch))
                        batch = []
                if batch:
                    write(records_to_jsonl(batch))
            else:
                import json

                write(b"[")
                first = True
                for rec in records:
                    write(b"\n" if first else b",\n")
                    first = False
                    write(json.dumps(record_to_json(rec), ensure_ascii=False).encode("utf-8"))
                write(b"\n]\n")
            out.flush()
        finally:
            if owned:
                out.close()
            if in_owned:
                fobj.close()
