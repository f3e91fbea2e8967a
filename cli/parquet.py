"""The per-key memory report as Apache Parquet (``rdbkit report ... -o keys.parquet``).

One row per key: db, key (bytes), type, encoding, size_in_bytes, num_elements,
len_largest_element, expiry (a UTC timestamp in ms, null without a TTL), idle and freq
(the LRU/LFU hints the file carries, else null) and source (the input file), so a
fleet of dumps can be queried in DuckDB, pandas or Spark. Many files are read in
parallel (``--jobs``): each worker writes its file's rows to a part of its own, in row
groups of :data:`ROWS` rows, and the parts are then copied batch by batch into the one
output — memory stays a row group per process whatever the dumps' sizes.

pyarrow is an optional extra (``pip install 'rdbkit[parquet]'``).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from rdbtools.decoder import Filter
from rdbtools.io import atomic_output
from rdbtools.memory import MemoryModel
from rdbtools.seek import DumpSource

from .errors import CliError
from .exitcodes import ExitStatus

ROWS = 65536
_FILTER: Filter | None = None  # the workers' filter, inherited by fork (it may hold closures)


def _pa() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise CliError("Parquet output needs pyarrow: pip install 'rdbkit[parquet]'", ExitStatus.ERROR) from None
    return pyarrow


def schema() -> Any:
    pa = _pa()
    return pa.schema([
        ("db", pa.int32()), ("key", pa.binary()), ("type", pa.dictionary(pa.int8(), pa.string())),
        ("encoding", pa.dictionary(pa.int8(), pa.string())), ("size_in_bytes", pa.int64()),
        ("num_elements", pa.int64()), ("len_largest_element", pa.int64()),
        ("expiry", pa.timestamp("ms", tz="UTC")), ("idle", pa.int64()), ("freq", pa.int32()),
        ("source", pa.dictionary(pa.int32(), pa.string())),
    ])


def _write_part(path: str, out: str) -> int:
    """One input's rows into the Parquet file ``out``; the number of rows."""
    pa = _pa()
    flt = _FILTER
    sch = schema()
    model = MemoryModel()
    cols: dict[str, list[Any]] = {f.name: [] for f in sch}
    n = 0
    with DumpSource(path, filter=flt) as src, pa.parquet.ParquetWriter(out, sch) as w:
        def flush() -> None:
            w.write_batch(pa.record_batch([pa.array(cols[f.name], type=f.type) for f in sch], schema=sch))
            for v in cols.values():
                v.clear()
        for rec in src.records():
            est = model.estimate(rec)
            cols["db"].append(rec.db)
            cols["key"].append(rec.key)
            cols["type"].append(rec.type)
            cols["encoding"].append(est.encoding)
            cols["size_in_bytes"].append(est.total)
            cols["num_elements"].append(est.num_elements)
            cols["len_largest_element"].append(est.len_largest_element)
            cols["expiry"].append(rec.expire_ms)
            cols["idle"].append(rec.idle)
            cols["freq"].append(rec.freq)
            cols["source"].append(path)
            n += 1
            if len(cols["db"]) >= ROWS:
                flush()
        if cols["db"] or not n:
            flush()
    return n


def write_report(paths: Iterable[str], flt: Filter | None, output: str, jobs: int) -> int:
    """Every input's rows into ``output`` (whole or not at all); the number of rows."""
    global _FILTER
    pa = _pa()
    paths = list(paths)
    _FILTER = flt
    with tempfile.TemporaryDirectory(prefix="rdbkit-parquet-", dir=os.path.dirname(os.path.abspath(output))) as tmp:
        parts = [os.path.join(tmp, f"part-{i}.parquet") for i in range(len(paths))]
        if jobs > 1 and len(paths) > 1:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(min(jobs, len(paths)), mp_context=ctx) as pool:
                counts = list(pool.map(_write_part, paths, parts))
        else:
            counts = [_write_part(p, part) for p, part in zip(paths, parts)]
        with atomic_output(output) as out, pa.parquet.ParquetWriter(out, schema()) as w:
            for part in parts:
                for batch in pa.parquet.ParquetFile(part).iter_batches(batch_size=ROWS):
                    w.write_batch(batch)
    return sum(counts)
