"""``rdbkit diff A B``: what changed between two dumps (RDB any version, JSONL, .lz4, '-')."""

from __future__ import annotations

import json

import click

from rdbtools.diff import DiffStats, diff_sources, difference_to_json
from rdbtools.seek import DumpSource
from rdbtools.spill import DEFAULT_RUN_BYTES, SIZE

from ..errors import CliError, library_errors
from ..exitcodes import ExitStatus
from ..options import filter_options, make_filter, tmpdir_option
from ..output import Progress, diff_summary, format_difference, pipe_closed_ok


@click.command()
@click.argument("a")
@click.argument("b")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text",
              show_default=True, help="Human text, or one JSON object per difference.")
@click.option("--max-items", default=10, show_default=True,
              help="Members/fields/elements listed per key in text output.")
@click.option("-q", "--quiet", is_flag=True, help="No output; only the exit status.")
@click.option("--aux", "with_aux", is_flag=True,
              help="Compare the files' aux fields too (redis-ver, ctime, used-mem ...).")
@tmpdir_option("Where sorted runs spill when the inputs do not fit the memory budget (~32 bytes "
               "a key of each input), and where a stdin or .lz4 input is copied to be re-read")
@click.option("--run-bytes", type=click.IntRange(min=SIZE), default=DEFAULT_RUN_BYTES, hidden=True,
              help="Memory of one sorted run (tests force spilling with a small one).")
@filter_options
@click.pass_context
def diff(ctx: click.Context, a: str, b: str, fmt: str, max_items: int, quiet: bool, with_aux: bool,
         tmpdir: str | None, run_bytes: int, dbs, key_glob, key_regex, types) -> None:
    """Compare dumps A and B key by key; exit 0 if equal, 1 if different, 3 if corrupt.

    Each input is an RDB file (any version) or a JSONL dump (`rdbkit dump`),
    recognised by content; `.lz4` is read transparently, `-` is stdin. Function
    libraries are compared too when both are RDB files. Memory stays bounded
    whatever the size: per-key digests are sorted in runs spilled to --tmpdir.
    """
    if a == "-" and b == "-":
        raise CliError("only one input can be stdin", ExitStatus.USAGE)
    flt = make_filter(dbs, key_glob, key_regex, types)
    stats = DiffStats()
    echo = click.echo
    with pipe_closed_ok(), library_errors():
        # the diff refuses a key read twice itself (rdbtools.diff), without the readers'
        # duplicate-key sets that grow with the input
        with DumpSource(a, filter=flt, seekable=True, check_duplicates=False, tmpdir=tmpdir) as src_a, \
                DumpSource(b, filter=flt, seekable=True, check_duplicates=False, tmpdir=tmpdir) as src_b:
            bars = [Progress(src_a.size, "reading A"), Progress(src_b.size, "reading B")]
            src_a.progress, src_b.progress = bars[0].update, bars[1].update
            diffs = diff_sources(src_a, src_b, stats, aux=with_aux, run_bytes=run_bytes, tmpdir=tmpdir)
            try:
                for d in diffs:
                    if quiet:
                        continue
                    if fmt == "jsonl":
                        echo(json.dumps(difference_to_json(d), ensure_ascii=False))
                    else:
                        echo("\n".join(format_difference(d, max_items)))
            finally:
                diffs.close()  # the runs' files, now (an interrupt included)
                for bar in bars:
                    bar.close()
    if fmt == "text" and not quiet:
        echo(diff_summary(stats))
    ctx.exit(ExitStatus.DIFFERENT if stats.different else ExitStatus.OK)
