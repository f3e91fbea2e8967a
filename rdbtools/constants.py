"""Byte constants named exactly as in Redis's rdb.h / listpack.c / ziplist.c.

See ``docs/formats.md`` §1.5, §1.6, §2 for the meaning of each byte.
"""

from __future__ import annotations

from enum import IntEnum


class RdbType(IntEnum):
    RDB_TYPE_STRING = 0
    RDB_TYPE_LIST = 1
    RDB_TYPE_SET = 2
    RDB_TYPE_ZSET = 3
    RDB_TYPE_HASH = 4
    RDB_TYPE_ZSET_2 = 5
    RDB_TYPE_MODULE_PRE_GA = 6
    RDB_TYPE_MODULE_2 = 7
    RDB_TYPE_HASH_ZIPMAP = 9
    RDB_TYPE_LIST_ZIPLIST = 10
    RDB_TYPE_SET_INTSET = 11
    RDB_TYPE_ZSET_ZIPLIST = 12
    RDB_TYPE_HASH_ZIPLIST = 13
    RDB_TYPE_LIST_QUICKLIST = 14
    RDB_TYPE_STREAM_LISTPACKS = 15
    RDB_TYPE_HASH_LISTPACK = 16
    RDB_TYPE_ZSET_LISTPACK = 17
    RDB_TYPE_LIST_QUICKLIST_2 = 18
    RDB_TYPE_STREAM_LISTPACKS_2 = 19
    RDB_TYPE_SET_LISTPACK = 20
    RDB_TYPE_STREAM_LISTPACKS_3 = 21
    RDB_TYPE_HASH_METADATA_PRE_GA = 22  # Valkey 9 (RDB 80): HASH_2
    RDB_TYPE_HASH_LISTPACK_EX_PRE_GA = 23
    RDB_TYPE_HASH_METADATA = 24
    RDB_TYPE_HASH_LISTPACK_EX = 25


class RdbOpcode(IntEnum):
    RDB_OPCODE_KEY_META = 243  # Redis 8.6 (RDB 13); Valkey 9: SLOT_IMPORT
    RDB_OPCODE_SLOT_INFO = 244
    RDB_OPCODE_FUNCTION2 = 245
    RDB_OPCODE_FUNCTION_PRE_GA = 246
    RDB_OPCODE_MODULE_AUX = 247
    RDB_OPCODE_IDLE = 248
    RDB_OPCODE_FREQ = 249
    RDB_OPCODE_AUX = 250
    RDB_OPCODE_RESIZEDB = 251
    RDB_OPCODE_EXPIRETIME_MS = 252
    RDB_OPCODE_EXPIRETIME = 253
    RDB_OPCODE_SELECTDB = 254
    RDB_OPCODE_EOF = 255


# Length encoding (rdb.h)
RDB_6BITLEN = 0
RDB_14BITLEN = 1
RDB_32BITLEN = 0x80
RDB_64BITLEN = 0x81
RDB_ENCVAL = 3

# Special string encodings (low 6 bits after an 11xxxxxx length byte)
RDB_ENC_INT8 = 0
RDB_ENC_INT16 = 1
RDB_ENC_INT32 = 2
RDB_ENC_LZF = 3

# Module value opcodes (rdb.h RDB_MODULE_OPCODE_*)
RDB_MODULE_OPCODE_EOF = 0
RDB_MODULE_OPCODE_SINT = 1
RDB_MODULE_OPCODE_UINT = 2
RDB_MODULE_OPCODE_FLOAT = 3
RDB_MODULE_OPCODE_DOUBLE = 4
RDB_MODULE_OPCODE_STRING = 5

# Quicklist v2 node containers (quicklist.h)
QUICKLIST_NODE_CONTAINER_PLAIN = 1
QUICKLIST_NODE_CONTAINER_PACKED = 2

# Stream listpack entry flags (t_stream.c)
STREAM_ITEM_FLAG_NONE = 0
STREAM_ITEM_FLAG_DELETED = 1
STREAM_ITEM_FLAG_SAMEFIELDS = 2

# Highest versions we read
RDB_VERSION_MAX_REDIS = 12
RDB_VERSION_MAX_READ = 13
VALKEY_RDB_VERSIONS = (80,)

# Hash field expiry ceiling (ebuckets.h EB_EXPIRE_TIME_MAX)
EB_EXPIRE_TIME_MAX = (1 << 48) - 1

# Logical type names, as TYPE and the JSONL contract say them
STRING = "string"
LIST = "list"
SET = "set"
ZSET = "zset"
HASH = "hash"
STREAM = "stream"
MODULE = "module"

TYPE_NAME_BY_BYTE: dict[int, str] = {
    0: STRING,
    1: LIST,
    2: SET,
    3: ZSET,
    4: HASH,
    5: ZSET,
    6: MODULE,
    7: MODULE,
    9: HASH,
    10: LIST,
    11: SET,
    12: ZSET,
    13: HASH,
    14: LIST,
    15: STREAM,
    16: HASH,
    17: ZSET,
    18: LIST,
    19: STREAM,
    20: SET,
    21: STREAM,
    22: HASH,
    23: HASH,
    24: HASH,
    25: HASH,
}
