"""SORT and SORT_RO (sort.c semantics): lists, sets and sorted sets, by their own values
or by weights read through patterns, with GET patterns, LIMIT and STORE.

Ties are ordered as Redis orders them: a full sort is glibc's ``qsort`` (a stable merge
sort), a BY sort with a LIMIT window Redis's own partial quicksort (:func:`pqsort`).
ALPHA compares with ``strcoll`` in the process's ``LC_COLLATE`` (Redis calls
``setlocale(LC_COLLATE, "")`` at start, as ``engine.server.app.main`` does), except with
STORE, which compares bytes so a replica stores the same list.
"""

from __future__ import annotations

import locale
from collections.abc import Callable

from aof.replies import bulks_resp, integer
from engine.commands.arguments import get_int
from engine.commands.pqsort import pqsort
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.registry import TABLE, command
from engine.keyspace.hfe import lazy_field
from engine.notify import NOTIFY_GENERIC, NOTIFY_LIST, notify
from engine.types import EmbStr, HashValue, ListValue, SetValue, ZSetValue
from engine.types.strings import parse_float_text, strtod_range_error

_STRINGS = (bytes, bytearray, EmbStr)
_SORTABLE = (ListValue, SetValue, ZSetValue)
_DECIMAL = b"0123456789.+-eE"
_DBL_MIN = 2.2250738585072014e-308
_INF = float("inf")


def _cstr(b: bytes) -> bytes:
    """What a C string function sees of ``b``: the bytes before the first NUL."""
    return (b if b.__class__ is bytes else bytes(b)).split(b"\0", 1)[0]


# -- patterns and weights ------------------------------------------------------------

def pattern_reader(db, pattern: bytes) -> Callable[[bytes], object]:
    """lookupKeyByPattern, with ``pattern`` parsed once: a function of the element. ``#``
    is the element itself; the first ``*`` is replaced by it, ``->field`` after the ``*``
    reads a hash field; only a string (or the field) is a value, anything else None."""
    head = _cstr(pattern)  # strchr/strstr stop at a NUL
    if head == b"#":
        return lambda e: e
    p = head.find(b"*")
    if p < 0:
        return lambda e: None
    pre = pattern[:p]
    f = head.find(b"->", p + 1)
    if f >= 0 and f + 2 < len(head):
        field, post = pattern[f + 2:], pattern[p + 1:f]

        def hash_field(e: bytes) -> object:
            k = pre + e + post
            o = db.read(k)
            if o is None or o.__class__ is not HashValue or (o.fx and lazy_field(db, k, o, field)):
                return None  # an expired field is reclaimed (HFE_LAZY_EXPIRE)
            return o.get(field)

        return hash_field
    post = pattern[p + 1:]

    def string(e: bytes) -> object:
        o = db.read(pre + e + post)
        return o if o is not None and o.__class__ in _STRINGS else None

    return string


def sort_score(b: bytes) -> float | None:
    """The weight sortCommandGeneric reads with strtod: leading spaces allowed, the rest
    must be consumed up to a NUL (an empty string is 0); None for NaN and ERANGE, which
    fail the sort."""
    if b.__class__ is not bytes:
        b = bytes(b)
    if b and not b.translate(None, _DECIMAL):  # fast path: float() reads these as strtod does
        try:
            v = float(b)
        except ValueError:
            pass
        else:
            if _DBL_MIN <= abs(v) < _INF:  # neither ERANGE case
                return v
    s = _cstr(b)
    if not s:
        return 0.0
    t = s.lstrip(b" \t\n\v\f\r")
    v = parse_float_text(t) if t else None
    if v is None or v != v or strtod_range_error(t, v):
        return None
    return v


def _collation() -> Callable[[bytes], bytes]:
    """Sort keys that order as ``strcoll`` does in the current ``LC_COLLATE``."""
    name = locale.setlocale(locale.LC_COLLATE)  # a query: changes nothing
    if name in ("C", "POSIX") or name.startswith(("C.", "POSIX.")):
        return _cstr  # strcoll is strcmp there (C.UTF-8 included: code point order)
    return strxfrm


_libc = None


def strxfrm(b: bytes) -> bytes:
    """libc's strxfrm of ``b`` (up to a NUL, as strcoll reads it): keys that compare as
    bytes the way strcoll compares the strings, in any locale."""
    import ctypes

    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None)
    s = _cstr(b)
    n = _libc.strxfrm(None, s, 0)
    buf = ctypes.create_string_buffer(n + 1)
    _libc.strxfrm(buf, s, n + 1)
    return buf.raw[:n]


# -- the command --------------------------------------------------------------------

def _parse(argv: list[bytes], readonly: bool, full_access: bool = True):
    """sortCommandGeneric's option loop: errors in argument order, the last of each wins;
    a BY without ``*`` turns sorting off for good. A BY pattern or GET needs read access
    to every key (``full_access``: ACLUserCheckCmdWithUnrestrictedKeyAccess)."""
    desc = alpha = dontsort = False
    start, count = 0, -1
    sortby: bytes | None = None
    store: bytes | None = None
    gets: list[bytes] = []
    j, n = 2, len(argv)
    while j < n:
        left = n - j - 1
        opt = _cstr(argv[j]).lower()  # strcasecmp
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            start, count = get_int(argv[j + 1]), get_int(argv[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            store = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            sortby = argv[j + 1]
            if b"*" not in _cstr(sortby):
                dontsort = True
            elif not full_access:
                raise CommandError("BY option of SORT denied due to insufficient ACL permissions.")
            j += 1
        elif opt == b"get" and left >= 1:
            if not full_access:
                raise CommandError("GET option of SORT denied due to insufficient ACL permissions.")
            gets.append(argv[j + 1])
            j += 1
        else:
            raise SyntaxErr()
        j += 1
    return desc, alpha, dontsort, start, count, sortby, store, gets


def _window(start: int, count: int, n: int) -> tuple[int, int]:
    """The LIMIT window clamped to the collection: (first position, element count)."""
    start = min(max(start, 0), n)
    count = min(max(count, -1), n)
    end = n - 1 if count < 0 else start + count - 1
    if start >= n:
        start, end = n - 1, n - 2
    end = min(end, n - 1)
    return start, end - start + 1


def sort_generic(c, argv: list[bytes], readonly: bool) -> bytes:
    """sortCommandGeneric: the options, the vector to sort (or only the LIMIT window of a
    list or sorted set left unsorted), the sort, then the reply or the STORE."""
    user = c.user
    full = user is None or user.unrestricted() or c.server.acl.unrestricted_read(
        user, TABLE.lookup[b"sort_ro" if readonly else b"sort"], argv)
    desc, alpha, dontsort, lstart, lcount, sortby, store, gets = _parse(argv, readonly, full)
    db = c.db
    val = db.read(argv[1])
    if val is not None and val.__class__ not in _SORTABLE:
        raise WrongTypeError()
    kind = ListValue if val is None else val.__class__
    if dontsort and kind is SetValue and (store is not None or c.script):
        dontsort, alpha, sortby = False, True, None  # a set's order must not leak to replicas
    if kind is ZSetValue and not val.has_nan():
        val.convert()  # zsetConvert to a skiplist, even for SORT_RO (a NaN cannot be in one)
    n = 0 if val is None else len(val)
    start, count = _window(lstart, lcount, n)
    if val is None:
        vec: list[bytes] = []
    elif dontsort and kind is ListValue:  # the list's own order, only the window
        a, b = (n - start - count, n - start) if desc else (start, start + count)
        vec = val.range(max(a, 0), max(a, b, 0))
        val.visit(max(a, 0), max(a, b, 0))  # read by an iterator
        if desc:
            vec.reverse()
        start = 0
    elif dontsort and kind is ZSetValue:
        vec = [m for m, _ in val.range_by_rank(start, start + count - 1, desc)]
        start = 0
    elif kind is ListValue:
        vec = val.range(0, n)
        val.visit(0, n)
    elif kind is SetValue:
        vec = val.ordered()
    else:
        vec = val.members()
    failed = False
    if not dontsort and vec:
        vec, failed = _sorted(db, vec, desc, alpha, sortby, store is not None, start, count)
    if failed:
        raise CommandError("One or more scores can't be converted into double")
    out = vec[start:start + count] if start >= 0 else []
    if gets:
        readers = [pattern_reader(db, g) for g in gets]
        out = [read(e) for e in out for read in readers]  # type: ignore[misc]
    if store is None:
        return bulks_resp(out, c.resp)  # type: ignore[arg-type]
    if out:
        db.set(store, ListValue.new(c.server.config, [b"" if v is None else (v if v.__class__ is bytes else bytes(v))
                                                      for v in out]))
        c.server.dirty += len(out)
        notify(db, NOTIFY_LIST, b"sortstore", store)
    elif db.delete(store):
        c.server.dirty += 1
        notify(db, NOTIFY_GENERIC, b"del", store)
    return integer(len(out))


def _sorted(db, vec: list[bytes], desc: bool, alpha: bool, sortby: bytes | None,
            binary: bool, start: int, count: int) -> tuple[list[bytes], bool]:
    """sortCompare as sort keys, and the sort (qsort, or pqsort for a BY window); True
    when a weight is not a number (the sort is done anyway, as Redis does, then refused)."""
    failed = False
    byvals = list(map(pattern_reader(db, sortby), vec)) if sortby is not None else vec
    if alpha:
        coll = (lambda b: b if b.__class__ is bytes else bytes(b)) if binary else _collation()
        if sortby is None:
            keys: list[object] = [coll(e) for e in vec]
        else:  # a missing weight sorts first
            keys = [(0, b"") if v is None else (1, coll(v)) for v in byvals]
    else:
        keys = []
        for e, v in zip(vec, byvals, strict=True):
            score = 0.0 if v is None else sort_score(v)
            if score is None:
                failed, score = True, 0.0
            keys.append((score, e))  # equal weights: by the element's bytes
    order = list(range(len(vec)))
    # pqsort's window only shows when distinct elements tie: equal ALPHA weights (numeric
    # keys carry the element, so their ties are copies of one element); else any sort will do
    if (sortby is not None and alpha and (start != 0 or count != len(vec))
            and len(set(keys)) < len(keys)):
        sign = -1 if desc else 1

        def cmp(i: object, j: object) -> int:
            a, b = keys[i], keys[j]  # type: ignore[index]
            return sign * ((a > b) - (a < b))  # type: ignore[operator]

        pqsort(order, cmp, start, start + count - 1)
    else:
        order.sort(key=keys.__getitem__, reverse=desc)  # stable, as glibc's merge sort
    return [vec[i] for i in order], failed


# -- registration --------------------------------------------------------------------

def sort_keys(argv: list[bytes]) -> list[int]:
    """sortGetKeys: the sorted key, and the key after the last STORE found while skipping
    the arguments of LIMIT, GET and BY (a STORE without a following argument is no key)."""
    keys = [1]
    store = 0
    i, n = 2, len(argv)
    while i < n:
        word = _cstr(argv[i]).lower()
        if word == b"limit":
            i += 2
        elif word in (b"get", b"by"):
            i += 1
        elif word == b"store" and i + 1 < n:
            store = i + 1
        i += 1
    return keys + [store] if store else keys


@command("sort", -2, "write denyoom", 1, 1, 1, keys=sort_keys, modified=lambda argv: sort_keys(argv)[1:],
         summary="Sort the elements in a list, set or sorted set")
def sort_cmd(c, argv):
    return sort_generic(c, argv, False)


@command("sort_ro", -2, "readonly", 1, 1, 1, keys=lambda argv: [1], since="7.0.0",
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.")
def sort_ro_cmd(c, argv):
    return sort_generic(c, argv, True)
