"""Compact blob codecs: listpack, ziplist, intset, zipmap (docs/formats.md §3).

Each module holds a mirrored ``decode_*``/``encode_*`` pair; decoders validate
deeply and raise only ``rdbtools.errors.BadEncoding`` (offsets relative to the
blob start), encoders make the byte-exact choices Redis makes.

The modules are pure Python, the reference for the C decoders of
``rdbtools._speedups`` (same results and errors, tests/rdbtools/test_speedups.py).
The names exported here are the ones to call: the C decoders unless
``RDBKIT_PUREPYTHON`` says otherwise (rdbtools._accel).
"""

from __future__ import annotations

from .._accel import c_module
from .intset import decode_intset, decode_intset_strings, encode_intset
from .listpack import decode_listpack, decode_listpack_strings, encode_listpack, lp_entries_size_py
from .ziplist import decode_ziplist, decode_ziplist_strings, encode_ziplist
from .zipmap import decode_zipmap, encode_zipmap

lp_entries_size = lp_entries_size_py
if (_c := c_module("rdbtools._speedups")) is not None:
    decode_intset, decode_intset_strings = _c.decode_intset, _c.decode_intset_strings
    decode_listpack, decode_listpack_strings = _c.decode_listpack, _c.decode_listpack_strings
    decode_ziplist, decode_ziplist_strings = _c.decode_ziplist, _c.decode_ziplist_strings
    lp_entries_size = _c.lp_entries_size

__all__ = [
    "decode_intset",
    "decode_intset_strings",
    "decode_listpack",
    "decode_listpack_strings",
    "decode_ziplist",
    "decode_ziplist_strings",
    "decode_zipmap",
    "encode_intset",
    "encode_listpack",
    "encode_ziplist",
    "encode_zipmap",
    "lp_entries_size",
]
