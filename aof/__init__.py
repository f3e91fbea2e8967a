"""RESP and AOF formats (sans-IO). Imports ``rdbtools`` only.

Besides the codecs: the replica's side of replication (``handshake``: the
handshake and full-sync framing; ``replstream``: payload then command stream) and
Redis Cluster's hash slots (``slots``): protocol pieces that the engine's replica
link and the CLI's remote commands drive over their own sockets.

``FastReplyParser`` is the hiredis-backed reply parser when hiredis is installed
and ``RDBKIT_PUREPYTHON`` allows C code (``rdbtools._accel``: unset, empty or ``0``);
otherwise it is the pure-Python :class:`ReplyParser`. Use it only for trusted
streams. :class:`ReplyParser` is pure Python; :class:`RequestParser` scans whole
canonical multibulk commands with the optional C module ``aof._respfast`` (same
results, differential-tested) and leaves everything else, every error included, to
its Python state machine; ``RDBKIT_PUREPYTHON`` turns the C scan off.
"""

from __future__ import annotations

from aof.check import AofCheckReport, FileCheck, FixPlan, analyse, apply_fix
from aof.commands import Command, Transaction, group_transactions
from aof.errors import (
    AofError,
    AofFormatError,
    AofTruncatedError,
    AofWriteError,
    ManifestError,
    RespProtocolError,
)
from aof.handshake import FullSync, ReplicationError
from aof.manifest import AofInfo, Manifest, format_manifest, load_manifest
from aof.multipart import AofDirectory, AofNames
from aof.reader import Annotation, AofDecoder, AofReader, Truncation, iter_commands
from aof.replies import (
    encode_array,
    encode_bignum,
    encode_bool,
    encode_bulk,
    encode_bulk_array,
    encode_command,
    encode_double,
    encode_error,
    encode_int,
    encode_map,
    encode_null,
    encode_push,
    encode_set,
    encode_simple,
    encode_verbatim,
)
from aof.replstream import MasterStream
from aof.resp import NEED_DATA, Push, ReplyError, ReplyParser, RequestParser, RespLimits, split_args
from aof.rewriter import AofRewriter, encode_rdb_base, rewrite_commands
from aof.slots import key_hash_slot
from aof.writer import AofSink, AofWriter
from rdbtools._accel import use_c

FastReplyParser: type[ReplyParser] | type
HAS_HIREDIS = False
FastReplyParser = ReplyParser
if use_c():
    try:
        from aof._resp_hiredis import HiredisReplyParser as FastReplyParser

        HAS_HIREDIS = True
    except ImportError:  # pragma: no cover - depends on the environment
        pass

__all__ = [
    "HAS_HIREDIS",
    "NEED_DATA",
    "Annotation",
    "AofCheckReport",
    "AofDecoder",
    "AofDirectory",
    "AofError",
    "AofFormatError",
    "AofInfo",
    "AofNames",
    "AofReader",
    "AofRewriter",
    "AofSink",
    "AofTruncatedError",
    "AofWriteError",
    "AofWriter",
    "Command",
    "FastReplyParser",
    "FileCheck",
    "FixPlan",
    "FullSync",
    "Manifest",
    "ManifestError",
    "MasterStream",
    "Push",
    "ReplicationError",
    "ReplyError",
    "ReplyParser",
    "RequestParser",
    "RespLimits",
    "RespProtocolError",
    "Transaction",
    "Truncation",
    "analyse",
    "apply_fix",
    "encode_array",
    "encode_bignum",
    "encode_bool",
    "encode_bulk",
    "encode_bulk_array",
    "encode_command",
    "encode_double",
    "encode_error",
    "encode_int",
    "encode_map",
    "encode_null",
    "encode_push",
    "encode_set",
    "encode_simple",
    "encode_rdb_base",
    "encode_verbatim",
    "format_manifest",
    "group_transactions",
    "iter_commands",
    "key_hash_slot",
    "load_manifest",
    "rewrite_commands",
    "split_args",
]
