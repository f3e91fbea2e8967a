"""GEORADIUS, GEORADIUSBYMEMBER (and their _RO forms), GEOSEARCH, GEOSEARCHSTORE:
georadiusGeneric.

A search walks the score ranges of nine geohash boxes around the centre in a fixed
order, keeps the points inside the shape, then sorts by distance: glibc's stable
qsort for a full sort, Redis's pqsort when COUNT keeps fewer than were found — so
points at equal distances come out in Redis's order. GEORADIUS … STORE and
GEOSEARCHSTORE are logged as sent (the replica searches again).
"""

from __future__ import annotations

from aof.replies import (
    EMPTY_ARRAY,
    ZERO,
    array_header,
    bulk,
    double_text,
    integer,
)
from engine.commands.arguments import get_int
from engine.commands.geo import (
    G,
    coord_text,
    distance_text,
    member_lonlat,
    parse_box,
    parse_lonlat,
    parse_radius,
    read_zset,
)
from engine.commands.geohash import CIRCULAR_TYPE, RECTANGLE_TYPE, Shape, align52
from engine.commands.pqsort import pqsort
from engine.commands.zsets import _limits
from engine.errors import CommandError, SyntaxErr
from engine.execution.registry import command
from engine.notify import NOTIFY_GENERIC, NOTIFY_ZSET, notify
from engine.types import ZSetValue
from rdbtools.encodings.listpack_zset import zl_score_range

# georadiusGeneric's flags
RADIUS_COORDS, RADIUS_MEMBER, RADIUS_NOSTORE, GEOSEARCH, GEOSEARCHSTORE = 1, 2, 4, 8, 16
SORT_NONE, SORT_ASC, SORT_DESC = 0, 1, 2


def _points_in_box(z: ZSetValue, bits: int, step: int, shape: Shape, found: list, limit: int) -> None:
    """geoGetPointsInRange over the scores the box covers: min <= score < max."""
    lo = float(align52(bits, step))
    hi = float(align52(bits + 1, step))
    if z.lp is not None:  # geoGetPointsInRange on a listpack: the same walk over its pairs
        for member, score in zl_score_range(z.lp, lo, False, hi, True, False, 0, -1):
            hit = shape.contains(score)
            if hit is not None:
                found.append((hit[2], member, hit[0], hit[1], score))
            if found and limit and len(found) >= limit:
                break
        return
    node = z.zsl.first_in_score_range(lo, False, hi, True)
    while node is not None:
        score = node.score
        if score >= hi:
            break
        hit = shape.contains(score)
        if hit is not None:
            found.append((hit[2], node.member, hit[0], hit[1], score))
        if found and limit and len(found) >= limit:
            break
        node = node.lv[0]


def _search(z: ZSetValue, shape: Shape, limit: int) -> list:
    """membersOfAllNeighbors: the centre box then its neighbours, a box equal to the one
    searched just before skipped; with ``limit`` (ANY) it stops once that many matched."""
    found: list = []
    boxes = shape.search_boxes()
    last = 0
    for i, (bits, step) in enumerate(boxes):
        if not bits and not step:
            continue
        if last and boxes[i] == boxes[last]:
            continue
        if found and limit and len(found) >= limit:
            break
        _points_in_box(z, bits, step, shape, found, limit)
        last = i
    return found


def _cmp_asc(a: tuple, b: tuple) -> int:
    return 1 if a[0] > b[0] else (0 if a[0] == b[0] else -1)


def _cmp_desc(a: tuple, b: tuple) -> int:
    return -_cmp_asc(a, b)


def _georadius(c, argv, src: int, flags: int):
    """georadiusGeneric: every search command, its argument checks in Redis's order."""
    z = read_zset(c, argv[src])
    shape = Shape()
    storekey = None
    storedist = False
    if flags & RADIUS_COORDS:
        base = 6
        shape.type = CIRCULAR_TYPE
        shape.lon, shape.lat = parse_lonlat(argv[2], argv[3])
        shape.radius, shape.conversion = parse_radius(argv[4], argv[5])
    elif flags & RADIUS_MEMBER:
        base = 5
        if z is not None:  # without the key, the rest is parsed for the reply's shape only
            shape.type = CIRCULAR_TYPE
            shape.lon, shape.lat = member_lonlat(z, argv[2])
            shape.radius, shape.conversion = parse_radius(argv[3], argv[4])
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            storekey = argv[1]
    withdist = withhash = withcoords = False
    frommember = fromloc = byradius = bybox = anyflag = False
    sort = SORT_NONE
    count = 0
    n = len(argv)
    search = bool(flags & GEOSEARCH)
    may_store = not flags & RADIUS_NOSTORE and not search
    i = base
    while i < n:
        o = argv[i].lower()
        more = n - i - 1  # arguments after this one
        if o == b"withdist":
            withdist = True
        elif o == b"withhash":
            withhash = True
        elif o == b"withcoord":
            withcoords = True
        elif o == b"any":
            anyflag = True
        elif o == b"asc":
            sort = SORT_ASC
        elif o == b"desc":
            sort = SORT_DESC
        elif o == b"count" and more >= 1:
            count = get_int(argv[i + 1])
            if count <= 0:
                raise CommandError("COUNT must be > 0")
            i += 1
        elif o in (b"store", b"storedist") and more >= 1 and may_store:
            storekey = argv[i + 1]
            storedist = o == b"storedist"
            i += 1
        elif o == b"storedist" and search and flags & GEOSEARCHSTORE:
            storedist = True
        elif o == b"frommember" and more >= 1 and search and not fromloc:
            if z is not None:
                shape.lon, shape.lat = member_lonlat(z, argv[i + 1])
            frommember = True
            i += 1
        elif o == b"fromlonlat" and more >= 2 and search and not frommember:
            shape.lon, shape.lat = parse_lonlat(argv[i + 1], argv[i + 2])
            fromloc = True
            i += 2
        elif o == b"byradius" and more >= 2 and search and not bybox:
            shape.radius, shape.conversion = parse_radius(argv[i + 1], argv[i + 2])
            shape.type = CIRCULAR_TYPE
            byradius = True
            i += 2
        elif o == b"bybox" and more >= 3 and search and not byradius:
            shape.width, shape.height, shape.conversion = parse_box(argv[i + 1], argv[i + 2], argv[i + 3])
            shape.type = RECTANGLE_TYPE
            bybox = True
            i += 3
        else:
            raise SyntaxErr()
        i += 1
    if storekey is not None and (withdist or withhash or withcoords):
        what = "GEOSEARCHSTORE" if flags & GEOSEARCHSTORE else "STORE option in GEORADIUS"
        raise CommandError(f"{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    name = argv[0].decode("utf-8", "surrogateescape")
    if search and not (frommember or fromloc):
        raise CommandError(f"exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")
    if search and not (byradius or bybox):
        raise CommandError(f"exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if anyflag and not count:
        raise CommandError("the ANY argument requires COUNT argument")
    db = c.db
    if z is None:
        if storekey is None:
            return EMPTY_ARRAY
        if db.delete(storekey):
            c.server.dirty += 1
            notify(db, NOTIFY_GENERIC, b"del", storekey)
        return ZERO
    if count and sort == SORT_NONE and not anyflag:
        sort = SORT_ASC
    found = _search(z, shape, count if anyflag else 0)
    if not found and storekey is None:
        return EMPTY_ARRAY
    returned = len(found) if not count or len(found) < count else count
    if sort != SORT_NONE:
        if returned == len(found):  # qsort: glibc's is a stable merge sort
            found.sort(key=lambda p: p[0], reverse=sort == SORT_DESC)
        else:
            pqsort(found, _cmp_asc if sort == SORT_ASC else _cmp_desc, 0, returned - 1)
    conv = shape.conversion
    if storekey is None:
        return _reply(found[:returned], conv, withdist, withhash, withcoords, c.resp)
    event = b"geosearchstore" if name.lower().startswith("geosearch") else b"georadiusstore"
    return _store(c, storekey, found[:returned], conv, storedist, event)


def _reply(points: list, conv: float, withdist: bool, withhash: bool, withcoords: bool, resp: int) -> bytes:
    nopts = withdist + withhash + withcoords
    parts = [array_header(len(points))]
    ap = parts.append
    for dist, member, lon, lat, score in points:
        if nopts:
            ap(array_header(nopts + 1))
        ap(bulk(member))
        if withdist:
            ap(bulk(distance_text(dist / conv)))
        if withhash:
            ap(integer(int(score)))
        if withcoords:
            ap(array_header(2))
            ap(double_text(coord_text(lon), resp))
            ap(double_text(coord_text(lat), resp))
    return b"".join(parts)


def _store(c, key: bytes, points: list, conv: float, storedist: bool,
           event: bytes) -> bytes:
    """The matches as a new sorted set (scores: hashes, or distances in the unit)."""
    db = c.db
    if not points:
        if db.delete(key):
            c.server.dirty += 1
            notify(db, NOTIFY_GENERIC, b"del", key)
        return ZERO
    z = ZSetValue(lp=False)
    zd = z.dict
    for dist, member, _, _, score in points:
        s = dist / conv if storedist else score
        if member not in zd:  # type: ignore[operator]
            zd[member] = s  # type: ignore[index]
            z.zsl.insert(s, member)  # type: ignore[union-attr]
    me, mv = _limits(c)
    z.to_listpack(me, mv)  # zsetConvertToListpackIfNeeded
    db.set(key, z)
    c.server.dirty += len(points)
    notify(db, NOTIFY_ZSET, event, key)
    return integer(len(points))


def _store_keys(argv: list[bytes]) -> list[int]:
    """georadiusGetKeys: the source, and the key after the last STORE/STOREDIST."""
    stored = -1
    i = 5
    while i < len(argv):
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < len(argv):
            stored = i + 1
            i += 1
        i += 1
    return [1] if stored < 0 else [1, stored]


def _store_modified(argv: list[bytes]) -> list[int]:
    """Only the destination is signalled as modified (the source is only read)."""
    return _store_keys(argv)[1:]


_RADIUS_DOC = "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a "
_SEARCH_DOC = "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle"


@command("georadius", -6, "write denyoom", 1, 1, 1, group=G, since="3.2.0", keys=_store_keys,
         modified=_store_modified, summary=_RADIUS_DOC + "point")
def georadius_cmd(c, argv):
    return _georadius(c, argv, 1, RADIUS_COORDS)


@command("georadius_ro", -6, "readonly", 1, 1, 1, group=G, since="3.2.10",
         summary="A read-only variant for GEORADIUS")
def georadius_ro_cmd(c, argv):
    return _georadius(c, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE)


@command("georadiusbymember", -5, "write denyoom", 1, 1, 1, group=G, since="3.2.0", keys=_store_keys,
         modified=_store_modified, summary=_RADIUS_DOC + "member")
def georadiusbymember_cmd(c, argv):
    return _georadius(c, argv, 1, RADIUS_MEMBER)


@command("georadiusbymember_ro", -5, "readonly", 1, 1, 1, group=G, since="3.2.10",
         summary="A read-only variant for GEORADIUSBYMEMBER")
def georadiusbymember_ro_cmd(c, argv):
    return _georadius(c, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE)


@command("geosearch", -7, "readonly", 1, 1, 1, group=G, since="6.2.0",
         summary=_SEARCH_DOC + ".")
def geosearch_cmd(c, argv):
    return _georadius(c, argv, 1, GEOSEARCH)


@command("geosearchstore", -8, "write denyoom", 1, 2, 1, group=G, since="6.2.0", modified=lambda a: [1],
         summary=_SEARCH_DOC + ", and store the result in another key.")
def geosearchstore_cmd(c, argv):
    return _georadius(c, argv, 2, GEOSEARCH | GEOSEARCHSTORE)
