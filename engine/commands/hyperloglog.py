"""HyperLogLog commands (hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

HLLs are ordinary strings holding Redis's exact representation
(:mod:`engine.types.hyperloglog`), so they travel through RDB/DUMP/AOF as strings.
A value being changed is made a ``bytearray`` first (``dbUnshareStringValue``:
OBJECT ENCODING ``raw``, as Redis). PFCOUNT refreshing the cached cardinality is a
change (``server.dirty++``): it is propagated as sent and invalidates WATCHes, as
in Redis 7.0 where PFCOUNT is ``readonly may_replicate``.
"""

from __future__ import annotations

import random

from aof.replies import OK, ONE, ZERO, array, bulk, integer, simple
from engine.errors import CommandError, WrongTypeError
from engine.execution.registry import command
from engine.notify import NOTIFY_STRING, notify
from engine.types import EmbStr
from engine.types import hyperloglog as H

G = "hyperloglog"
_STR = (bytes, bytearray, EmbStr)


def _invalid_obj() -> CommandError:
    return CommandError("Corrupted HLL object detected", "INVALIDOBJ")


def _check_hll(v: object) -> None:
    """isHLLObjectOrReply for an existing value."""
    if v.__class__ not in _STR:
        raise WrongTypeError()
    if not H.is_valid_hll(v):  # type: ignore[arg-type]
        raise CommandError("Key is not a valid HyperLogLog string value.", "WRONGTYPE")


def _unshare(db, key: bytes, v):
    """dbUnshareStringValue: the value as a mutable raw string stored under ``key``."""
    if v.__class__ is not bytearray:
        v = bytearray(v)
        db.data[key] = v
    return v


def _max_bytes(c) -> int:
    return c.server.config.hll_sparse_max_bytes


def _signal_read_change(c, key: bytes) -> None:
    """signalModifiedKey from a readonly command (the dispatcher only signals writes)."""
    db = c.db
    if db.watched or db.ks.invalidate is not None:
        c.server.signal_keys(db, [key], c)


@command("pfadd", -2, "write denyoom fast", 1, 1, 1, group=G, since="2.8.9",
         summary="Adds the specified elements to the specified HyperLogLog.")
def pfadd_cmd(c, argv):
    db = c.db
    key = argv[1]
    o = db.get(key)
    updated = 0
    if o is None:
        o = H.new_hll()
        db.add(key, o)
        updated = 1
    else:
        _check_hll(o)
        o = _unshare(db, key, o)
    max_bytes = _max_bytes(c)
    add = H.hll_add
    for ele in argv[2:]:
        r = add(o, ele, max_bytes)
        if r == 1:
            updated += 1
        elif r == -1:
            raise _invalid_obj()
    if updated:
        c.server.dirty += updated
        notify(db, NOTIFY_STRING, b"pfadd", key)
        H.invalidate_cache(o)
        return ONE
    return ZERO


def _union_registers(c, keys: list[bytes], regs: list[int]) -> bool:
    """The max of each register over ``keys`` into ``regs``; True if one was dense."""
    db = c.db
    dense = False
    for k in keys:
        o = db.read(k)
        if o is None:
            continue
        _check_hll(o)
        if o[4] == H.HLL_DENSE:
            dense = True
        if not H.merge_into(regs, o):
            raise _invalid_obj()
    return dense


@command("pfcount", -2, "readonly may_replicate", 1, -1, 1, group=G, since="2.8.9",
         summary="Return the approximated cardinality of the set(s) observed by the "
                 "HyperLogLog at key(s).")
def pfcount_cmd(c, argv):
    if len(argv) > 2:
        regs = [0] * H.HLL_REGISTERS
        _union_registers(c, argv[1:], regs)
        return integer(H.count_histogram(H.histogram(regs)))
    db = c.db
    key = argv[1]
    o = db.read(key)
    if o is None:
        return ZERO
    _check_hll(o)
    o = _unshare(db, key, o)
    card = H.cached_card(o)
    if card is None:
        card = H.hll_count(o)
        if card is None:
            raise _invalid_obj()
        H.store_card(o, card)
        _signal_read_change(c, key)
        c.server.dirty += 1
    return integer(card)


@command("pfmerge", -2, "write denyoom", 1, -1, 1, group=G, since="2.8.9", modified=lambda a: [1],
         summary="Merge N different HyperLogLogs into a single one.")
def pfmerge_cmd(c, argv):
    regs = [0] * H.HLL_REGISTERS
    use_dense = _union_registers(c, argv[1:], regs)
    db = c.db
    key = argv[1]
    o = db.get(key)
    if o is None:
        o = H.new_hll()
        db.add(key, o)
    else:  # checked as a source already
        o = _unshare(db, key, o)
    if use_dense and not H.sparse_to_dense(o):
        raise _invalid_obj()
    max_bytes = _max_bytes(c)
    if o[4] == H.HLL_DENSE:
        cur = H.decode_dense(o)
        if any(r > x for r, x in zip(regs, cur, strict=True)):
            o[H.HLL_HDR_SIZE:] = H.encode_dense(list(map(max, regs, cur)))
    else:
        for j, r in enumerate(regs):
            if r:
                if o[4] == H.HLL_DENSE:
                    H.dense_set(o, j, r)
                else:
                    H.sparse_set(o, j, r, max_bytes)
    H.invalidate_cache(o)
    c.server.dirty += 1
    notify(c.db, NOTIFY_STRING, b"pfadd", argv[1])
    return OK


@command("pfdebug", 3, "write denyoom admin", 2, 2, 1, group=G, since="2.8.9",
         summary="Internal commands for debugging HyperLogLog values")
def pfdebug_cmd(c, argv):
    sub = argv[1]
    db = c.db
    key = argv[2]
    o = db.get(key)
    if o is None:
        raise CommandError("The specified key does not exist")
    _check_hll(o)
    o = _unshare(db, key, o)
    name = sub.lower()
    if name == b"getreg":
        if o[4] == H.HLL_SPARSE:
            if not H.sparse_to_dense(o):
                raise _invalid_obj()
            c.server.dirty += 1
        regs = H.decode_dense(o)
        return array([integer(r) for r in regs])
    if name == b"decode":
        if o[4] != H.HLL_SPARSE:
            raise CommandError("HLL encoding is not sparse")
        return bulk(H.decode_sparse_text(o))
    if name == b"encoding":
        return simple(b"sparse" if o[4] == H.HLL_SPARSE else b"dense")
    if name == b"todense":
        if o[4] == H.HLL_SPARSE:
            if not H.sparse_to_dense(o):
                raise _invalid_obj()
            c.server.dirty += 1
            return ONE
        return ZERO
    raise CommandError(f"Unknown PFDEBUG subcommand '{sub.decode(errors='replace')}'")


@command("pfselftest", 1, "admin", group=G, since="2.8.9",
         summary="An internal command for testing HyperLogLog values")
def pfselftest_cmd(c, argv):
    """Redis's two checks, scaled down for Python: register access round-trips, and
    sparse/dense agreement and error bounds at cardinalities 1, 10 ... 10000
    (Redis goes to 10 million)."""
    rnd = random.Random()
    dense = bytearray(H.HLL_DENSE_SIZE)
    for _ in range(3):
        vals = [rnd.randrange(64) for _ in range(H.HLL_REGISTERS)]
        dense[H.HLL_HDR_SIZE:] = H.encode_dense(vals)
        got = H.decode_dense(dense)
        for i in range(H.HLL_REGISTERS):
            if got[i] != vals[i] or H.dense_get(dense, i) != vals[i]:
                raise CommandError(f"Register {i} should be {vals[i]} but is {got[i]}",
                                   "TESTFAILED")
    dense = bytearray(b"HYLL" + bytes(H.HLL_DENSE_SIZE - 4))
    sparse = H.new_hll()
    relerr = 1.04 / H.HLL_REGISTERS ** 0.5
    seed = rnd.getrandbits(64)
    checkpoint = 1
    max_bytes = _max_bytes(c)
    for j in range(1, 10001):
        ele = (j ^ seed).to_bytes(8, "little")
        H.hll_add(dense, ele, max_bytes)
        H.hll_add(sparse, ele, max_bytes)
        if j == checkpoint:
            if j < max_bytes // 2 and sparse[4] != H.HLL_SPARSE:
                raise CommandError("sparse encoding not used", "TESTFAILED")
            card = H.hll_count(dense)
            if card != H.hll_count(sparse):
                raise CommandError("dense/sparse disagree", "TESTFAILED")
            maxerr = 1 if j == 10 else -(-relerr * 6 * checkpoint // 1)
            abserr = abs(checkpoint - (card or 0))
            if abserr > maxerr:
                raise CommandError(f"Too big error. card:{checkpoint} abserr:{abserr}",
                                   "TESTFAILED")
            checkpoint *= 10
    return OK


__all__ = ["pfadd_cmd", "pfcount_cmd", "pfdebug_cmd", "pfmerge_cmd", "pfselftest_cmd"]
