"""rdbtools: Redis RDB bytes ⇄ logical records. Imports nothing else of rdbkit.

The public surface: the sans-IO :class:`RdbDecoder`, the pull helpers
:func:`iter_events` / :func:`iter_records`, the model classes, and one error
hierarchy rooted at :class:`RdbError`.
"""

from __future__ import annotations

from .decoder import NEED_DATA, Filter, RdbDecoder
from .dump import DumpedValue, dump_value, restore_value
from .encoder import Drop, RdbEncoder, encode_bytes, write_events
from .errors import (
    BadEncoding,
    ChecksumMismatch,
    LimitExceeded,
    RdbCorruptError,
    RdbEncodeError,
    RdbError,
    RdbTruncatedError,
    UnknownOpcode,
    UnsupportedVersion,
)
from .io import aiter_stream, iter_events, iter_records, open_input, open_output, read_all
from .limits import Limits
from .model import (
    Aux,
    End,
    FunctionLibrary,
    FunctionPreGA,
    Header,
    ModuleAux,
    ModuleValue,
    PendingEntry,
    Record,
    ResizeDb,
    SelectDb,
    SlotImport,
    SlotInfo,
    Stream,
    StreamConsumer,
    StreamGroup,
)
from .policy import EncodingPolicy

__all__ = [
    "NEED_DATA",
    "Aux",
    "BadEncoding",
    "ChecksumMismatch",
    "Drop",
    "DumpedValue",
    "EncodingPolicy",
    "End",
    "Filter",
    "FunctionLibrary",
    "FunctionPreGA",
    "Header",
    "LimitExceeded",
    "Limits",
    "ModuleAux",
    "ModuleValue",
    "PendingEntry",
    "RdbCorruptError",
    "RdbDecoder",
    "RdbEncoder",
    "RdbEncodeError",
    "RdbError",
    "RdbTruncatedError",
    "Record",
    "ResizeDb",
    "SelectDb",
    "SlotImport",
    "SlotInfo",
    "Stream",
    "StreamConsumer",
    "StreamGroup",
    "UnknownOpcode",
    "UnsupportedVersion",
    "aiter_stream",
    "dump_value",
    "encode_bytes",
    "iter_events",
    "iter_records",
    "open_input",
    "open_output",
    "read_all",
    "restore_value",
    "write_events",
]
