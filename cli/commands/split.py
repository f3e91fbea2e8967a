"""``rdbkit split FILE -o DIR``: one RDB per Redis Cluster node or slot range (as
redis-rdb-cli's ``rdt -s``), each key by its hash slot.

The shards come from a cluster's ``nodes.conf`` (``--nodes``: one file per master, named
``<ip>-<port>.rdb``), from ``--ranges 0-5460,5461-10922,10923-16383`` or from ``--count N``
ranges as ``redis-cli --cluster create`` gives N masters (``slots-<first>-<last>.rdb``). A cluster has only db 0: keys of another db
are refused unless ``--db-map N:0`` moves them (or ``--db 0`` leaves them out); a key whose
slot no shard holds is refused. Every file gets the input's aux fields and function
libraries, and is written at the input's RDB version (``--rdb-version`` to choose);
the files appear whole or not at all.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import replace
from typing import Any, BinaryIO

import click

from aof.slots import SLOTS, key_hash_slot
from rdbtools.encoder import MAX_VERSION, MIN_VERSION, RdbEncoder
from rdbtools.io import atomic_output
from rdbtools.model import Aux, FunctionLibrary, FunctionPreGA, Header, Record
from rdbtools.seek import DumpSource

from ..errors import CliError, library_errors
from ..exitcodes import ExitStatus
from ..options import db_map_option, filter_options, make_filter
from ..output import Progress

Shard = tuple[str, list[tuple[int, int]]]  # file name, slot ranges (inclusive)


def shards_from_nodes_conf(text: str) -> list[Shard]:
    """The masters of a ``nodes.conf`` and their slots (migrating/importing marks ignored)."""
    out: list[Shard] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8 or parts[0] == "vars" or "master" not in parts[2].split(","):
            continue
        addr = parts[1].split("@")[0].split(",")[0]
        host, _, port = addr.rpartition(":")
        ranges = []
        for tok in parts[8:]:
            if tok.startswith("["):
                continue
            a, _, b = tok.partition("-")
            ranges.append((int(a), int(b or a)))
        if ranges:
            out.append((f"{host or 'node'}-{port}.rdb", ranges))
    if not out:
        raise click.BadParameter("no master with slots in it", param_hint="'--nodes'")
    return out


def shards_from_ranges(text: str) -> list[Shard]:
    out: list[Shard] = []
    for tok in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", tok)
        if m is None:
            raise click.BadParameter(f"{tok!r}: a slot range such as 0-5460", param_hint="'--ranges'")
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        if not a <= b < SLOTS:
            raise click.BadParameter(f"{tok!r}: slots are 0-{SLOTS - 1}, first <= last", param_hint="'--ranges'")
        out.append((f"slots-{a}-{b}.rdb", [(a, b)]))
    return out


def shards_by_count(n: int) -> list[Shard]:
    """N ranges as ``redis-cli --cluster create`` allocates slots to N masters."""
    per = SLOTS / n
    out: list[Shard] = []
    first, cursor = 0, 0.0
    for i in range(n):
        last = int(cursor + per - 1 + 0.5)  # lround of a positive value
        if last > SLOTS or i == n - 1:
            last = SLOTS - 1
        last = max(last, first)
        out.append((f"slots-{first}-{last}.rdb", [(first, last)]))
        first = last + 1
        cursor += per
    return out


def slot_owner(shards: list[Shard]) -> list[int]:
    """For each slot, the shard holding it (-1: none); two shards holding one slot is an error."""
    owner = [-1] * SLOTS
    for i, (name, ranges) in enumerate(shards):
        for a, b in ranges:
            for s in range(a, b + 1):
                if owner[s] != -1:
                    raise click.UsageError(f"slot {s} is in two shards ({shards[owner[s]][0]}, {name})")
                owner[s] = i
    return owner


@click.command()
@click.argument("file")
@click.option("-o", "--output", "outdir", required=True, help="Directory for the files (created if needed).")
@click.option("--nodes", type=click.Path(exists=True, dir_okay=False), help="A cluster's nodes.conf: a file per master.")
@click.option("--ranges", help="Slot ranges, e.g. 0-5460,5461-10922,10923-16383: a file per range.")
@click.option("--count", type=click.IntRange(1, SLOTS),
              help="N slot ranges, as redis-cli --cluster create gives N masters.")
@db_map_option("Move the keys of db SRC to DST (a cluster has only db 0).")
@click.option("--rdb-version", type=click.IntRange(MIN_VERSION, MAX_VERSION), default=None,
              help="RDB version to write (default: the input's; 10 for a JSONL/JSON input).")
@filter_options
def split(file: str, outdir: str, nodes: str | None, ranges: str | None, count: int | None,
          db_map: dict[int, int], rdb_version: int | None, dbs, key_glob, key_regex, types) -> None:
    """Split FILE (any dump) into one RDB per cluster node or slot range."""
    if sum(x is not None for x in (nodes, ranges, count)) != 1:
        raise click.UsageError("give exactly one of --nodes, --ranges, --count")
    if nodes is not None:
        with open(nodes, encoding="utf-8", errors="replace") as f:
            shards = shards_from_nodes_conf(f.read())
    elif ranges is not None:
        shards = shards_from_ranges(ranges)
    else:
        shards = shards_by_count(count)  # type: ignore[arg-type]
    owner = slot_owner(shards)
    flt = make_filter(dbs, key_glob, key_regex, types)
    os.makedirs(outdir, exist_ok=True)
    with library_errors(), DumpSource(file, filter=flt) as src, contextlib.ExitStack() as stack:
        outs: list[BinaryIO] = []
        encoders: list[RdbEncoder] = []
        head: list[Any] = []  # aux fields and libraries until the first key
        version = rdb_version
        counts = [0] * len(shards)

        def open_all() -> None:
            aux = [(ev.key, ev.value) for ev in head if type(ev) is Aux] or "default"
            for name, _ in shards:
                out = stack.enter_context(atomic_output(os.path.join(outdir, name)))
                enc = RdbEncoder(version or 10, aux=aux)
                out.write(enc.start())
                for ev in head:
                    if type(ev) is FunctionLibrary:
                        out.write(enc.encode_event(ev))
                outs.append(out)
                encoders.append(enc)

        bar = Progress(src.size, f"splitting {src.name}")
        src.progress = bar.update
        stack.callback(bar.close)
        for ev in src.events():
            t = type(ev)
            if t is Header:
                version = version or min(max(ev.version, MIN_VERSION), MAX_VERSION)
            elif t is Aux or t is FunctionLibrary or t is FunctionPreGA:
                lib = ev.library() if t is FunctionPreGA else ev
                if encoders:  # a library after the keys: every shard gets it too
                    for out, enc in zip(outs, encoders):
                        out.write(enc.encode_event(lib))
                else:
                    head.append(lib)
            elif t is Record:
                if not encoders:
                    open_all()
                db = db_map.get(ev.db, ev.db)
                if db != 0:
                    raise CliError(f"{src.name}: key {ev.key!r} is in db {db} and a cluster has only db 0: "
                                   f"move it with --db-map {db}:0, or leave it out with --db 0", ExitStatus.ERROR)
                slot = key_hash_slot(ev.key)
                i = owner[slot]
                if i < 0:
                    raise CliError(f"{src.name}: key {ev.key!r} hashes to slot {slot}, which no shard holds",
                                   ExitStatus.ERROR)
                rec = replace(ev, db=0) if ev.db else ev
                outs[i].write(encoders[i].encode_record(rec))
                counts[i] += 1
        if not encoders:
            open_all()
        for out, enc in zip(outs, encoders):
            out.write(enc.finish())
    for (name, _), n in zip(shards, counts):
        click.echo(f"rdbkit: {os.path.join(outdir, name)}: {n} keys", err=True)
