"""``rdbkit report FILE``: estimated Redis 7.0 memory per key, and a summary."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import click

from rdbtools.io import atomic_output
from rdbtools.jsonl import jbytes
from rdbtools.memory import MemoryModel, MemorySummary
from rdbtools.seek import DumpSource

from ..errors import library_errors
from ..options import filter_options, make_filter
from ..output import Progress, iso_ms, pipe_closed_ok, summary_json, summary_lines

COLUMNS = ["database", "type", "key", "size_in_bytes", "encoding", "num_elements",
           "len_largest_element", "expiry"]


def _non_empty(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value:
        raise click.BadParameter("must not be empty")
    return value


@click.command()
@click.argument("file")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True, help="Per-key rows as CSV, or one JSON object per key.")
@click.option("--summary", "summary_only", is_flag=True,
              help="Only the summary (per type, per db, top keys, prefixes).")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Biggest keys in the summary; given alone, the summary follows the rows.")
@click.option("--separator", default=":", show_default=True, callback=_non_empty,
              help="Key-prefix separator.")
@click.option("--prefix-depth", type=click.IntRange(min=1), default=1, show_default=True,
              help="Separator-split parts per prefix.")
@click.option("-o", "--output", default="-", help="File for the per-key rows ('-' = stdout).")
@filter_options
def report(file: str, fmt: str, summary_only: bool, top: int | None, separator: str,
           prefix_depth: int, output: str, dbs, key_glob, key_regex, types) -> None:
    """Memory report of FILE (RDB or JSONL dump; .lz4 and '-' accepted).

    Sizes estimate what Redis 7.0 would use for each key (its MEMORY USAGE plus
    the expires entry of keys with a TTL), like redis-rdb-tools' memory CSV.
    """
    flt = make_filter(dbs, key_glob, key_regex, types)
    want_summary = summary_only or top is not None
    summary = MemorySummary(top=10 if top is None else top,
                            separator=separator.encode("utf-8"), depth=prefix_depth)
    model = MemoryModel()
    with pipe_closed_ok(), library_errors(), DumpSource(file, filter=flt) as src:
        bar = Progress(src.size, "reading")
        src.progress = bar.update
        try:
            sink = contextlib.nullcontext(None) if summary_only else atomic_output(output)
            with sink as out:  # a file appears whole, or not at all
                text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True) \
                    if out is not None else None
                writer = csv.writer(text, lineterminator="\n") if text and fmt == "csv" else None
                if writer:
                    writer.writerow(COLUMNS)
                for rec in src.records():
                    est = model.estimate(rec)
                    if want_summary:
                        summary.add(rec, est)
                    if writer:
                        writer.writerow([rec.db, rec.type, rec.key.decode("utf-8", "backslashreplace"),
                                         est.total, est.encoding, est.num_elements,
                                         est.len_largest_element, iso_ms(rec.expire_ms)])
                    elif text:
                        text.write(json.dumps({
                            "db": rec.db, "key": jbytes(rec.key), "type": rec.type,
                            "size_in_bytes": est.total, "encoding": est.encoding,
                            "num_elements": est.num_elements,
                            "len_largest_element": est.len_largest_element,
                            "expire_ms": rec.expire_ms}, ensure_ascii=False) + "\n")
                if text:
                    text.flush()
                    text.detach()
        finally:
            bar.close()
    if want_summary:
        if fmt == "jsonl":
            click.echo(json.dumps(summary_json(summary), ensure_ascii=False))
        else:
            click.echo("\n".join(summary_lines(summary)))
