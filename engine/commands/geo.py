"""GEO commands (geo.c semantics) over sorted sets whose scores are 52-bit geohashes:
GEOADD, GEOPOS, GEOHASH, GEODIST, and the argument parsing the searches share
(``geo_search``).

GEOADD is ZADD with encoded scores, and is logged as that ZADD (geoaddCommand calls
zaddCommand after replaceClientCommandVector). Coordinates are printed from the
decoded hash as addReplyHumanLongDouble does, distances with four decimals.
"""

from __future__ import annotations

from fractions import Fraction

from aof.replies import (
    array_header,
    bulk,
    double_text,
    null,
    null_array,
)
from engine.commands.arguments import get_double
from engine.commands.geohash import (
    GEO_LAT_MAX,
    GEO_LAT_MIN,
    GEO_LONG_MAX,
    GEO_LONG_MIN,
    GEO_STEP_MAX,
    STANDARD,
    align52,
    decode_score,
    distance,
    encode,
)
from engine.commands.zsets import _zadd
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.registry import command
from engine.propagate import rewrite
from engine.types import ZSetValue
from engine.types.strings import format_long_double

G = "geo"
_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
_GEOALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"



def read_zset(c, key: bytes):
    z = c.db.read(key)
    if z is not None and z.__class__ is not ZSetValue:
        raise WrongTypeError()
    return z


def parse_lonlat(blon: bytes, blat: bytes) -> tuple[float, float]:
    """extractLongLatOrReply."""
    lon = get_double(blon)
    lat = get_double(blat)
    if lon < GEO_LONG_MIN or lon > GEO_LONG_MAX or lat < GEO_LAT_MIN or lat > GEO_LAT_MAX:
        raise CommandError("invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def parse_unit(b: bytes) -> float:
    """extractUnitOrReply: how many metres one unit is."""
    f = _UNITS.get(b.lower())
    if f is None:
        raise CommandError("unsupported unit provided. please use M, KM, FT, MI")
    return f


def member_lonlat(z: ZSetValue, member: bytes) -> tuple[float, float]:
    score = z.score(member)
    if score is None:
        raise CommandError("could not decode requested zset member")
    return decode_score(score)


def coord_text(d: float) -> bytes:
    """A coordinate as addReplyHumanLongDouble prints it (``%.17Lf``, zeros trimmed)."""
    return format_long_double(Fraction(d))


def distance_text(d: float) -> bytes:
    """addReplyDoubleDistance: fixedpoint_d2string with four decimals (llrint of d*10^4)."""
    if d == 0:
        return b"0.0000"
    x = d * 10000.0
    if x != x or not -9223372036854775808.0 <= x < 9223372036854775808.0:
        v = -(1 << 63)  # llrint out of range (or NaN): LLONG_MIN
    else:
        v = round(x)  # llrint: to nearest, ties to even
    s = b"%d" % abs(v)
    s = b"0." + s.rjust(4, b"0") if len(s) <= 4 else s[:-4] + b"." + s[-4:]
    return b"-" + s if v < 0 else s


# -- GEOADD ----------------------------------------------------------------------------

@command("geoadd", -5, "write denyoom", 1, 1, 1, group=G, since="3.2.0",
         summary="Add one or more geospatial items in the geospatial index represented using a sorted set")
def geoadd_cmd(c, argv):
    xx = nx = False
    longidx = 2
    while longidx < len(argv):
        o = argv[longidx].lower()
        if o == b"nx":
            nx = True
        elif o == b"xx":
            xx = True
        elif o != b"ch":
            break
        longidx += 1
    if (len(argv) - longidx) % 3 or (xx and nx):
        raise SyntaxErr()
    zargv = [b"zadd", *argv[1:longidx]]
    for i in range(longidx, len(argv), 3):
        lon, lat = parse_lonlat(argv[i], argv[i + 1])
        zargv += [b"%d" % align52(encode(lon, lat, GEO_STEP_MAX) or 0, GEO_STEP_MAX), argv[i + 2]]
    dirty = c.server.dirty
    reply = _zadd(c, zargv, False)
    if c.server.dirty != dirty:
        rewrite(c, zargv)
    return reply


# -- GEOPOS / GEOHASH / GEODIST -----------------------------------------------------------

@command("geopos", -2, "readonly", 1, 1, 1, group=G, since="3.2.0",
         summary="Returns longitude and latitude of members of a geospatial index")
def geopos_cmd(c, argv):
    z = read_zset(c, argv[1])
    resp = c.resp
    parts = [array_header(len(argv) - 2)]
    for m in argv[2:]:
        score = None if z is None else z.score(m)
        if score is None:
            parts.append(null_array(resp))
            continue
        lon, lat = decode_score(score)
        parts += [array_header(2), double_text(coord_text(lon), resp), double_text(coord_text(lat), resp)]
    return b"".join(parts)


@command("geohash", -2, "readonly", 1, 1, 1, group=G, since="3.2.0",
         summary="Returns members of a geospatial index as standard geohash strings")
def geohash_cmd(c, argv):
    z = read_zset(c, argv[1])
    parts = [array_header(len(argv) - 2)]
    for m in argv[2:]:
        score = None if z is None else z.score(m)
        if score is None:
            parts.append(null(c.resp))
            continue
        # re-encoded over the standard latitude range (±90), not the ±85.05 one stored
        lon, lat = decode_score(score)
        bits = encode(lon, lat, 26, STANDARD) or 0
        text = bytes(_GEOALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)) + b"0"
        parts.append(bulk(text))
    return b"".join(parts)


@command("geodist", -4, "readonly", 1, 1, 1, group=G, since="3.2.0",
         summary="Returns the distance between two members of a geospatial index")
def geodist_cmd(c, argv):
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = parse_unit(argv[4])
    elif len(argv) > 5:
        raise SyntaxErr()
    z = read_zset(c, argv[1])
    if z is None:
        return null(c.resp)
    s1 = z.score(argv[2])
    s2 = z.score(argv[3])
    if s1 is None or s2 is None:
        return null(c.resp)
    lon1, lat1 = decode_score(s1)
    lon2, lat2 = decode_score(s2)
    return bulk(distance_text(distance(lon1, lat1, lon2, lat2) / to_meter))


def parse_radius(bdist: bytes, bunit: bytes) -> tuple[float, float]:
    """extractDistanceOrReply: (radius, metres per unit)."""
    d = get_double(bdist, "need numeric radius")
    if d < 0:
        raise CommandError("radius cannot be negative")
    return d, parse_unit(bunit)


def parse_box(bwidth: bytes, bheight: bytes, bunit: bytes) -> tuple[float, float, float]:
    """extractBoxOrReply: (width, height, metres per unit)."""
    w = get_double(bwidth, "need numeric width")
    h = get_double(bheight, "need numeric height")
    if h < 0 or w < 0:
        raise CommandError("height or width cannot be negative")
    return w, h, parse_unit(bunit)
