"""The one switch between the C accelerators and the pure-Python code: ``RDBKIT_PUREPYTHON``.

The rule, for rdbtools, aof and engine alike: unset, empty or ``0`` → the C code is
used wherever it is built or installed; any other value (``1``) → pure Python
everywhere. It is read when a module is imported, so set it before Python starts.

The C code (never required: without a compiler the install still succeeds):

* ``rdbtools._speedups`` (sources in ``rdbtools/csrc/``): listpack/ziplist/intset
  decoders, the in-place listpack operations of small hashes and sorted sets and the intset
  operations of small sets, zset/hash pairing, the LZF decoder, the duplicate-key set, the
  decoder's key scan and the JSONL writer, the dataset digest (DEBUG DIGEST's SHA-1
  construction), the RDB string writer and LZF compression (with liblzf's end-of-buffer
  rule), SAVE's per-database key loop and a stream's node listpacks (written, and read back
  with their layout), the diff's in-place
  run sort; the engine's sparse HyperLogLog update;
* ``rdbtools._glob``: glob matching; ``aof._respfast``: request scanning,
  bulk-array and scalar (integer, bulk) replies; ``engine._fastpath``: the pipelined request loop's common case
  (``engine.execution.dispatch.run_commands``, whose Python loop is the reference) and HSET's and
  HGET's (``engine.commands.hashes.hset_cmd``, ``hget_cmd``);
* the libraries anycrc (CRC-64), python-neo-lzf (LZF compression where ``_speedups`` is
  not built) and hiredis (``aof.FastReplyParser``).

As msgpack-python keeps ``fallback.py`` beside its C module, every pure-Python
reference stays importable whatever the switch says, so the differential tests
compare the two in one process: the codec modules ``rdbtools/encodings/listpack.py``,
``ziplist.py`` and ``intset.py`` are pure (``rdbtools.encodings`` exports the chosen
decoders), and where one module holds both, the reference keeps a ``_py`` name
(``values._pairs_py``, ``jsonl._record_to_line_py``, ``keyset._PyKeySet``,
``glob._glob_match_py``, ``lzf._decompress_py``, ``lzf._compress_py``, ``lzf._lzf_fits_py``,
``snapshot._key_runs_py``, ``objects.streams._encode_stream_nodes_py``,
``objects.stream_nodes._load_nodes_py``, ``objects.stream_nodes.live_form_py``, ``crc64._crc64_py``,
``engine.types.hyperloglog._sparse_set_py``, ``digest._add_py``, ``primitives._save_string_py``, ``spill._sort_py``,
the listpack-of-pairs operations ``rdbtools.encodings.listpack_ops.lp_*_py``, the
set-listpack ones ``rdbtools.encodings.listpack_set.lps_*_py``, ``listpack.lp_entries_size_py``, the intset
operations ``rdbtools.encodings.intset_ops.is_*_py``,
``engine.server.replies._bulks_py``). Each module picks its C twin with
:func:`c_module` (``aof`` asks :func:`use_c` before importing its hiredis wrapper);
nothing else reads the variable (tests/test_accel.py checks both).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["c_module", "use_c"]


def use_c() -> bool:
    """May C code be used? False when ``RDBKIT_PUREPYTHON`` is set to anything but ``0``."""
    return os.environ.get("RDBKIT_PUREPYTHON", "") in ("", "0")


def c_module(name: str) -> ModuleType | None:
    """The compiled module or C library ``name`` (``"rdbtools._speedups"``, ``"anycrc"``)
    when :func:`use_c` allows it and it is built; None means: use the pure-Python code."""
    if not use_c():
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
