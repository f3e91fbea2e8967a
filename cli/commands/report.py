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
from rdbtools.prefixes import PrefixTree
from rdbtools.seek import DumpSource

from ..errors import library_errors
from ..options import filter_options, make_filter
from ..output import Progress, iso_ms, pipe_closed_ok, summary_json, summary_lines
from ..treemap import BOX_KEYS, page_data, render

COLUMNS = ["database", "type", "key", "size_in_bytes", "encoding", "num_elements",
           "len_largest_element", "expiry"]


def _non_empty(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value:
        raise click.BadParameter("must not be empty")
    return value


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True, help="Per-key rows as CSV, or one JSON object per key.")
@click.option("--summary", "summary_only", is_flag=True,
              help="Only the summary (per type, per db, top keys, prefixes).")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Biggest keys in the summary; given alone, the summary follows the rows.")
@click.option("--separator", default=":", show_default=True, callback=_non_empty,
              help="Key-prefix separator.")
@click.option("--prefix-depth", type=click.IntRange(min=1), default=None,
              help="Separator-split parts per prefix (summary: 1; --html: levels nested, 3).")
@click.option("-o", "--output", default=None,
              help="File for the per-key rows ('-' = stdout, the default unless --html); "
                   "a .parquet name writes Apache Parquet.")
@click.option("--html", "html_out", metavar="FILE", default=None,
              help="Also write a treemap of memory by key prefix as one self-contained HTML page.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Parquet output: inputs read in parallel by this many processes.")
@filter_options
def report(files: tuple[str, ...], fmt: str, summary_only: bool, top: int | None, separator: str,
           prefix_depth: int | None, output: str | None, html_out: str | None, jobs: int,
           dbs, key_glob, key_regex, types) -> None:
    """Memory report of FILE... (RDB, JSONL or JSON dumps; .lz4 and '-' accepted).

    Sizes estimate what Redis 7.0 would use for each key (its MEMORY USAGE plus
    the expires entry of keys with a TTL), like redis-rdb-tools' memory CSV. With more
    than one FILE each row also names its file (``source``). ``-o keys.parquet`` writes
    the rows as Apache Parquet (with the LRU/LFU hints and the source file), the files
    read in parallel with ``--jobs``: a fleet of dumps to query in DuckDB or pandas.
    ``--html mem.html`` draws memory by key prefix as a treemap in one HTML page that
    needs nothing but a browser; the rows are then written only where ``-o`` says.
    """
    flt = make_filter(dbs, key_glob, key_regex, types)
    if output is None and not html_out:
        output = "-"
    if output is not None and output.endswith(".parquet"):
        if summary_only or top is not None or html_out:
            raise click.UsageError("--summary, --top and --html need the text report; "
                                   "leave them out with a .parquet output")
        from ..parquet import write_report

        with library_errors():
            rows = write_report(files, flt, output, jobs)
        click.echo(f"rdbkit: {rows} keys from {len(files)} file(s) into {output}", err=True)
        return
    multi = len(files) > 1
    want_summary = summary_only or top is not None
    summary = MemorySummary(top=10 if top is None else top,
                            separator=separator.encode("utf-8"), depth=prefix_depth or 1)
    tree = PrefixTree(separator.encode("utf-8"), prefix_depth or 3) if html_out else None
    # the page's own summary: more biggest keys (boxes) than --top prints; prefixes in the tree
    page = MemorySummary(top=BOX_KEYS, max_prefixes=0) if tree else None
    model = MemoryModel()
    sink = contextlib.nullcontext(None) if summary_only or output is None else atomic_output(output)
    with pipe_closed_ok(), library_errors(), sink as out:  # a file appears whole, or not at all
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True) \
            if out is not None else None
        writer = csv.writer(text, lineterminator="\n") if text and fmt == "csv" else None
        if writer:
            writer.writerow(COLUMNS + ["source"] if multi else COLUMNS)
        for file in files:
            with DumpSource(file, filter=flt) as src:
                bar = Progress(src.size, "reading")
                src.progress = bar.update
                try:
                    for rec in src.records():
                        est = model.estimate(rec)
                        if want_summary:
                            summary.add(rec, est)
                        if tree and page:
                            tree.add(rec.key, rec.type, est.total)
                            page.add(rec, est)
                        if writer:
                            row = [rec.db, rec.type, rec.key.decode("utf-8", "backslashreplace"),
                                   est.total, est.encoding, est.num_elements,
                                   est.len_largest_element, iso_ms(rec.expire_ms)]
                            writer.writerow(row + [file] if multi else row)
                        elif text:
                            obj = {"db": rec.db, "key": jbytes(rec.key), "type": rec.type,
                                   "size_in_bytes": est.total, "encoding": est.encoding,
                                   "num_elements": est.num_elements,
                                   "len_largest_element": est.len_largest_element,
                                   "expire_ms": rec.expire_ms}
                            if multi:
                                obj["source"] = file
                            text.write(json.dumps(obj, ensure_ascii=False) + "\n")
                finally:
                    bar.close()
        if text:
            text.flush()
            text.detach()
    if tree and page and html_out:
        with pipe_closed_ok(), library_errors(), atomic_output(html_out) as sink:
            sink.write(render(page_data(tree, page, list(files))))
    if want_summary:
        if fmt == "jsonl":
            click.echo(json.dumps(summary_json(summary), ensure_ascii=False))
        else:
            click.echo("\n".join(summary_lines(summary)))
