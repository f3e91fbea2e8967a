"""Compact blob codecs: listpack, ziplist, intset, zipmap (docs/formats.md §3).

Each module holds a mirrored ``decode_*``/``encode_*`` pair; decoders validate
deeply and raise only ``rdbtools.errors.BadEncoding`` (offsets relative to the
blob start), encoders make the byte-exact choices Redis makes.
"""

from __future__ import annotations

from .intset import decode_intset, encode_intset
from .listpack import decode_listpack, decode_listpack_strings, encode_listpack
from .ziplist import decode_ziplist, decode_ziplist_strings, encode_ziplist
from .zipmap import decode_zipmap, encode_zipmap

__all__ = [
    "decode_intset",
    "decode_listpack",
    "decode_listpack_strings",
    "decode_ziplist",
    "decode_ziplist_strings",
    "decode_zipmap",
    "encode_intset",
    "encode_listpack",
    "encode_ziplist",
    "encode_zipmap",
]
