"""List commands (t_list.c semantics), including the blocking pops and moves."""

from __future__ import annotations

from aof.replies import (
    EMPTY_ARRAY,
    MINUS_ONE,
    NULL3,
    NULL_ARRAY,
    NULL_BULK,
    OK,
    ZERO,
    array,
    bulk,
    bulks,
    integer,
    pair,
    quicklist_bulks,
)
from engine import propagate as P
from engine.commands.arguments import LONG_MAX, get_int, get_positive, get_timeout_ms
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.registry import TABLE, command
from engine.notify import NOTIFY_GENERIC, NOTIFY_LIST, notify
from engine.types import ListValue
from rdbtools._accel import c_module
from rdbtools.encodings.quicklist_ops import ql_pop, ql_push

G = "list"
HEAD, TAIL = 0, 1


def _list(db, key: bytes, read: bool = False):
    v = db.read(key) if read else db.get(key)
    if v is not None and v.__class__ is not ListValue:
        raise WrongTypeError()
    return v


def _pusher(where: int, xx: bool):
    """The handler of LPUSH, RPUSH, LPUSHX or RPUSHX (pushGenericCommand), made once per
    command so that a push is a single Python call: the benchmark's hot path."""
    head = where == HEAD
    event = b"lpush" if head else b"rpush"

    def push(c, argv) -> bytes:
        db = c.db
        key = argv[1]
        lst = db.get(key)
        items = argv[2:]
        if lst is None:
            if xx:
                return ZERO
            lst = ListValue.new(c.server.config)
            lst.push(items, head)
            lst.fit()
            db.add(key, lst)
        elif lst.__class__ is not ListValue:
            raise WrongTypeError()
        elif lst.compress:
            lst.push(items, head)
        else:  # ListValue.push inline (one C call)
            ql_push(lst.nodes, items, head, lst.fill)
            lst.count += len(items)
        c.server.dirty += len(argv) - 2
        if db.ks.config.notify_keyspace_events:  # notify()'s own first check, without the call
            notify(db, NOTIFY_LIST, event, key)
        return integer(lst.count)

    return push


lpush_cmd = command("lpush", -3, "write denyoom fast", 1, 1, 1, group=G)(_pusher(HEAD, False))
rpush_cmd = command("rpush", -3, "write denyoom fast", 1, 1, 1, group=G)(_pusher(TAIL, False))
lpushx_cmd = command("lpushx", -3, "write denyoom fast", 1, 1, 1, group=G, since="2.2.0")(_pusher(HEAD, True))
rpushx_cmd = command("rpushx", -3, "write denyoom fast", 1, 1, 1, group=G, since="2.2.0")(_pusher(TAIL, True))

_bodies = c_module("engine._fastpath")
if hasattr(_bodies, "configure_lists"):  # the common cases in C (engine/_bodies.h), the rest by these handlers
    _bodies.configure_lists(ListValue, lpush_cmd, rpush_cmd, ql_push, integer)
    TABLE.commands["lpush"].proc = _bodies.lpush
    TABLE.commands["rpush"].proc = _bodies.rpush


def _removed(c, key: bytes, lst, n: int, event: bytes) -> None:
    """listElementsRemoved: the command's event, then the key deleted once the list is empty."""
    db = c.db
    notify(db, NOTIFY_LIST, event, key)
    if not lst.count:
        db.delete(key)
        notify(db, NOTIFY_GENERIC, b"del", key)
    c.server.dirty += n


def _pop_event(where: int) -> bytes:
    return b"lpop" if where == HEAD else b"rpop"


def _popper(where: int):
    """The handler of LPOP or RPOP (popGenericCommand), made once per command so that a
    pop is a single Python call: the benchmark's hot path."""
    head = where == HEAD
    event = _pop_event(where)

    def pop(c, argv) -> bytes:
        n = len(argv)
        if n > 3:
            raise CommandError(f"wrong number of arguments for '{event.decode()}' command")
        count = get_positive(argv[2]) if n == 3 else 0
        db = c.db
        key = argv[1]
        lst = db.get(key)
        if lst is None:
            if n == 3:
                return NULL3 if c.resp == 3 else NULL_ARRAY
            return NULL3 if c.resp == 3 else NULL_BULK
        if lst.__class__ is not ListValue:
            raise WrongTypeError()
        if n == 2:  # no count: the hot path
            if lst.compress:
                v = lst.pop(head)
            else:  # ListValue.pop inline (one C call)
                v = ql_pop(lst.nodes, head)
                lst.count -= 1
            if lst.count and not db.ks.config.notify_keyspace_events:  # _removed with nothing to do
                c.server.dirty += 1
            else:
                _removed(c, key, lst, 1, event)
            return bulk(v)
        if not count:
            return EMPTY_ARRAY
        items = lst.pop_many(head, count)
        _removed(c, key, lst, len(items), event)
        return bulks(items)

    return pop


lpop_cmd = command("lpop", -2, "write fast", 1, 1, 1, group=G)(_popper(HEAD))
rpop_cmd = command("rpop", -2, "write fast", 1, 1, 1, group=G)(_popper(TAIL))


@command("llen", 2, "readonly fast", 1, 1, 1, group=G)
def llen_cmd(c, argv):
    lst = _list(c.db, argv[1], True)
    return ZERO if lst is None else integer(lst.count)


@command("lindex", 3, "readonly", 1, 1, 1, group=G)
def lindex_cmd(c, argv):
    lst = _list(c.db, argv[1], True)
    if lst is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    idx = get_int(argv[2])
    n = lst.count
    if idx < 0:
        idx += n
    if idx < 0 or idx >= n:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(lst.get(idx))


@command("lset", 4, "write denyoom", 1, 1, 1, group=G)
def lset_cmd(c, argv):
    lst = _list(c.db, argv[1])
    if lst is None:
        raise CommandError("no such key")
    idx = get_int(argv[2])
    n = lst.count
    if idx < 0:
        idx += n
    if idx < 0 or idx >= n:
        raise CommandError("index out of range")
    lst.set(idx, argv[3])
    c.server.dirty += 1
    notify(c.db, NOTIFY_LIST, b"lset", argv[1])
    return OK


@command("lrange", 4, "readonly", 1, 1, 1, group=G)
def lrange_cmd(c, argv):
    start = get_int(argv[2])
    end = get_int(argv[3])
    lst = _list(c.db, argv[1], True)
    if lst is None:
        return EMPTY_ARRAY
    # addListRangeReply's index rules; one C call writes the whole reply from the nodes
    # (no object per element): LRANGE is the benchmark's hot reply
    llen = lst.count
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        return EMPTY_ARRAY
    if end >= llen:
        end = llen - 1
    if lst.compress:
        return lst.range_reply(start, end + 1)
    return quicklist_bulks(lst.nodes, start, end + 1)  # ListValue.range_reply, inlined


@command("ltrim", 4, "write", 1, 1, 1, group=G)
def ltrim_cmd(c, argv):
    start = get_int(argv[2])
    end = get_int(argv[3])
    lst = _list(c.db, argv[1])
    if lst is None:
        return OK
    llen = lst.count
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        ltrim, rtrim = llen, 0
    else:
        if end >= llen:
            end = llen - 1
        ltrim, rtrim = start, llen - end - 1
    lst.delete_range(0, ltrim)  # quicklistDelRange from the head, then to the tail
    lst.delete_range(llen - ltrim - rtrim, rtrim)
    _removed(c, argv[1], lst, ltrim + rtrim, b"ltrim")
    return OK


@command("lrem", 4, "write", 1, 1, 1, group=G)
def lrem_cmd(c, argv):
    toremove = get_int(argv[2])
    lst = _list(c.db, argv[1])
    if lst is None:
        return ZERO
    removed = lst.remove(argv[3], toremove)
    if not removed:
        return ZERO
    _removed(c, argv[1], lst, removed, b"lrem")
    return integer(removed)


@command("linsert", 5, "write denyoom", 1, 1, 1, group=G, since="2.2.0")
def linsert_cmd(c, argv):
    w = argv[2].lower()
    if w == b"after":
        after = True
    elif w == b"before":
        after = False
    else:
        raise SyntaxErr()
    lst = _list(c.db, argv[1])
    if lst is None:
        return ZERO
    if not lst.insert_at_pivot(argv[3], argv[4], after):
        return MINUS_ONE
    c.server.dirty += 1
    notify(c.db, NOTIFY_LIST, b"linsert", argv[1])
    return integer(lst.count)


@command("lpos", -3, "readonly", 1, 1, 1, group=G, since="6.0.6")
def lpos_cmd(c, argv):
    rank, count, maxlen = 1, -1, 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        more = len(argv) - 1 - j
        if opt == b"rank" and more:
            j += 1
            rank = get_int(argv[j])
            if rank == 0:
                raise CommandError("RANK can't be zero: use 1 to start from the first match, 2 from "
                                   "the second ... or use negative to start from the end of the list")
        elif opt == b"count" and more:
            j += 1
            count = get_int(argv[j])
            if count < 0:
                raise CommandError("COUNT can't be negative")
        elif opt == b"maxlen" and more:
            j += 1
            maxlen = get_int(argv[j])
            if maxlen < 0:
                raise CommandError("MAXLEN can't be negative")
        else:
            raise SyntaxErr()
        j += 1
    reverse = rank < 0
    if reverse:
        rank = -rank
    lst = _list(c.db, argv[1], True)
    if lst is None:
        return EMPTY_ARRAY if count != -1 else (NULL3 if c.resp == 3 else NULL_BULK)
    elem = argv[2]
    llen = lst.count
    it = reversed(lst) if reverse else iter(lst)
    matches = 0
    found: list[int] = []
    fetched = llen + 1  # the iterator ran past the last node, unless it stops early
    for index, x in enumerate(it):
        if maxlen and index >= maxlen:
            fetched = index + 1
            break
        if x == elem:
            matches += 1
            if matches >= rank:
                found.append(llen - index - 1 if reverse else index)
                if count == -1 or (count and matches - rank + 1 >= count):
                    fetched = index + 1
                    break
    if lst.compress:
        lst.visit_span(not reverse, fetched)
    if count != -1:
        return array([integer(i) for i in found])
    if found:
        return integer(found[0])
    return NULL3 if c.resp == 3 else NULL_BULK


_WHERE_NAME = {HEAD: b"left", TAIL: b"right"}  # shared.left / shared.right


def _where(b: bytes) -> int:
    w = b.lower()
    if w == b"right":
        return TAIL
    if w == b"left":
        return HEAD
    raise SyntaxErr()


def lmove_generic(c, src: bytes, dst: bytes, wf: int, wt: int) -> bytes:
    db = c.db
    sl = _list(db, src)
    if sl is None or not sl.count:
        return NULL3 if c.resp == 3 else NULL_BULK
    dl = db.get(dst)
    if dl is not None and dl.__class__ is not ListValue:
        raise WrongTypeError()
    v = sl.pop(wf == HEAD)
    if dl is None:
        dl = ListValue.new(c.server.config)
        db.add(dst, dl)
    dl.push((v,), wt == HEAD)
    notify(db, NOTIFY_LIST, b"lpush" if wt == HEAD else b"rpush", dst)  # lmoveHandlePush
    notify(db, NOTIFY_LIST, _pop_event(wf), src)
    if not sl.count:
        db.delete(src)
        notify(db, NOTIFY_GENERIC, b"del", src)
    c.server.dirty += 1
    return bulk(v)


# lmoveGenericCommand signals the destination (lmoveHandlePush), then the source
_DST_FIRST = lambda argv: [2, 1]  # noqa: E731


@command("lmove", 5, "write denyoom", 1, 2, 1, group=G, since="6.2.0",
         modified=_DST_FIRST)
def lmove_cmd(c, argv):
    wf = _where(argv[3])
    wt = _where(argv[4])
    return lmove_generic(c, argv[1], argv[2], wf, wt)


@command("rpoplpush", 3, "write denyoom", 1, 2, 1, group=G, since="1.2.0",
         modified=_DST_FIRST)
def rpoplpush_cmd(c, argv):
    return lmove_generic(c, argv[1], argv[2], TAIL, HEAD)


# -- multi-key and blocking pops --------------------------------------------------

def _pop_range_with_key(c, key: bytes, lst, where: int, count: int) -> bytes:
    items = lst.pop_many(where == HEAD, count)
    _removed(c, key, lst, len(items), _pop_event(where))
    return pair(bulk(key), bulks(items))


def _pop_op(key: bytes, where: int, count: int, llen: int) -> list[bytes]:
    """What a (blocking or multi-key) pop is logged as: ``[LR]POP key [min(count, llen)]``."""
    name = P.LPOP if where == HEAD else P.RPOP
    if count == -1:
        return [name, key]
    return [name, key, b"%d" % (count if count < llen else llen)]


def _serve_pop(c, keys: list[bytes], where: int, count: int) -> bytes | None:
    """Pop from the first non-empty list (WRONGTYPE on the first non-list); None if all empty.

    The command is then logged as the plain pop it amounted to (``c.rewritten``)."""
    db = c.db
    for key in keys:
        lst = db.get(key)
        if lst is None:
            continue
        if lst.__class__ is not ListValue:
            raise WrongTypeError()
        if not lst.count:
            continue
        if c.server.propagator.targets:
            c.rewritten = [_pop_op(key, where, count, lst.count)]
        if count != -1:
            return _pop_range_with_key(c, key, lst, where, count)
        v = lst.pop(where == HEAD)
        _removed(c, key, lst, 1, _pop_event(where))
        return pair(bulk(key), bulk(v))
    return None


def _blocking_pop(c, keys: list[bytes], where: int, timeout_ms: int, count: int, name: str):
    r = _serve_pop(c, keys, where, count)
    if r is not None:
        return r
    null = NULL3 if c.resp == 3 else NULL_ARRAY
    if c.in_exec:
        return null

    def serve(cl, db, key):
        lst = db.get(key)
        if lst is None or lst.__class__ is not ListValue or not lst.count:
            return None
        cl.server.propagator.add(db.id, _pop_op(key, where, count, lst.count))
        if count != -1:
            return _pop_range_with_key(cl, key, lst, where, count)
        v = lst.pop(where == HEAD)
        _removed(cl, key, lst, 1, _pop_event(where))
        return pair(bulk(key), bulk(v))

    c.server.blocking.block(c, keys, timeout_ms, serve, null, name)
    return None


@command("blpop", -3, "write noscript blocking", 1, -2, 1, group=G, since="2.0.0")
def blpop_cmd(c, argv):
    t = get_timeout_ms(argv[-1])
    return _blocking_pop(c, argv[1:-1], HEAD, t, -1, "blpop")


@command("brpop", -3, "write noscript blocking", 1, -2, 1, group=G, since="2.0.0")
def brpop_cmd(c, argv):
    t = get_timeout_ms(argv[-1])
    return _blocking_pop(c, argv[1:-1], TAIL, t, -1, "brpop")


def _blmove(c, argv, src: bytes, dst: bytes, wf: int, wt: int, timeout_ms: int, name: str):
    """BLMOVE/BRPOPLPUSH, logged as the LMOVE/RPOPLPUSH they amount to (directions as
    sent when served at once, ``left``/``right`` when served later, as Redis does)."""
    db = c.db
    sl = _list(db, src)
    brpoplpush = name == "brpoplpush"
    if sl is not None:
        r = lmove_generic(c, src, dst, wf, wt)
        if c.server.propagator.targets:
            c.rewritten = [[P.RPOPLPUSH, src, dst] if brpoplpush else [P.LMOVE, src, dst, argv[3], argv[4]]]
        return r
    null = NULL3 if c.resp == 3 else NULL_BULK
    if c.in_exec:
        return null

    def serve(cl, db_, key):
        lst = db_.get(key)
        if lst is None or lst.__class__ is not ListValue or not lst.count:
            return None
        d = db_.get(dst)
        if d is not None and d.__class__ is not ListValue:
            raise WrongTypeError()  # the receiver gets the error and is unblocked, as in Redis
        r = lmove_generic(cl, src, dst, wf, wt)
        cl.server.propagator.add(db_.id, [P.RPOPLPUSH, src, dst] if brpoplpush else
                                 [P.LMOVE, src, dst, _WHERE_NAME[wf], _WHERE_NAME[wt]])
        cl.server.signal_keys(db_, [dst], cl)
        return r

    c.server.blocking.block(c, [src], timeout_ms, serve, null, name)
    return None


@command("blmove", 6, "write denyoom noscript blocking", 1, 2, 1, group=G, since="6.2.0",
         modified=_DST_FIRST)
def blmove_cmd(c, argv):
    wf = _where(argv[3])
    wt = _where(argv[4])
    t = get_timeout_ms(argv[5])
    return _blmove(c, argv, argv[1], argv[2], wf, wt, t, "blmove")


@command("brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1, group=G, since="2.2.0",
         modified=_DST_FIRST)
def brpoplpush_cmd(c, argv):
    t = get_timeout_ms(argv[3])
    return _blmove(c, argv, argv[1], argv[2], TAIL, HEAD, t, "brpoplpush")


def _mpop_args(argv: list[bytes], numkeys_idx: int) -> tuple[list[bytes], int, int]:
    numkeys = get_int(argv[numkeys_idx], "numkeys should be greater than 0")
    if numkeys < 1 or numkeys > LONG_MAX:
        raise CommandError("numkeys should be greater than 0")
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise SyntaxErr()
    where = _where(argv[where_idx])
    count = -1
    j = where_idx + 1
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and len(argv) - 1 - j > 0:
            j += 1
            count = get_int(argv[j], "count should be greater than 0")
            if count < 1:
                raise CommandError("count should be greater than 0")
        else:
            raise SyntaxErr()
        j += 1
    if count == -1:
        count = 1
    return argv[numkeys_idx + 1:where_idx], where, count


def _mpop_keys(argv: list[bytes], idx: int) -> list[int]:
    n = int(argv[idx])
    return list(range(idx + 1, idx + 1 + n))


@command("lmpop", -4, "write", group=G, since="7.0.0", keys=lambda a: _mpop_keys(a, 1))
def lmpop_cmd(c, argv):
    keys, where, count = _mpop_args(argv, 1)
    r = _serve_pop(c, keys, where, count)
    if r is None:
        return NULL3 if c.resp == 3 else NULL_ARRAY
    return r


@command("blmpop", -5, "write blocking", group=G, since="7.0.0", keys=lambda a: _mpop_keys(a, 2))
def blmpop_cmd(c, argv):
    keys, where, count = _mpop_args(argv, 2)
    t = get_timeout_ms(argv[1])
    return _blocking_pop(c, keys, where, t, count, "blmpop")
