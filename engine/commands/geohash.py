"""The geohash arithmetic of Redis 7.0 (geohash.c, geohash_helper.c), operation for operation.

A GEO set is a sorted set whose scores are 52-bit geohashes: 26 bits of latitude and
26 of longitude, interleaved (latitude in the even bits). Replies print coordinates
decoded from those bits and distances computed from them, and a search picks its
candidates from nine geohash boxes, so every float operation here is done in the
order and with the constants Redis uses (IEEE doubles on both sides, the same libm):
a different order would print different digits or find different points.

Python's ``math`` functions raise where C returns NaN (``cos(inf)``, ``asin(1.0000001)``);
the wrappers below return NaN as C does, so the comparisons that follow behave alike.
"""

from __future__ import annotations

import math

# geohash.h
GEO_STEP_MAX = 26
GEO_LAT_MIN = -85.05112878
GEO_LAT_MAX = 85.05112878
GEO_LONG_MIN = -180.0
GEO_LONG_MAX = 180.0
# geohash_helper.c
D_R = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37

CIRCULAR_TYPE = 1
RECTANGLE_TYPE = 2

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1
ZERO = (0, 0)  # HASHISZERO: a neighbour excluded from the search

Range = tuple[float, float]  # (min, max)
Area = tuple[float, float, float, float]  # longitude min, max, latitude min, max
Hash = tuple[int, int]  # (bits, step)

WGS84: tuple[Range, Range] = ((GEO_LONG_MIN, GEO_LONG_MAX), (GEO_LAT_MIN, GEO_LAT_MAX))
STANDARD: tuple[Range, Range] = ((-180.0, 180.0), (-90.0, 90.0))  # GEOHASH's strings


def _sin(x: float) -> float:
    try:
        return math.sin(x)
    except ValueError:
        return math.nan


def _cos(x: float) -> float:
    try:
        return math.cos(x)
    except ValueError:
        return math.nan


def _asin_sqrt(a: float) -> float:
    try:
        return math.asin(math.sqrt(a))
    except ValueError:
        return math.nan


def interleave64(xlo: int, ylo: int) -> int:
    """Bits of ``xlo`` at the even positions, of ``ylo`` at the odd ones (mirrors interleave64)."""
    x, y = xlo, ylo
    x = (x | (x << 16)) & 0x0000FFFF0000FFFF
    y = (y | (y << 16)) & 0x0000FFFF0000FFFF
    x = (x | (x << 8)) & 0x00FF00FF00FF00FF
    y = (y | (y << 8)) & 0x00FF00FF00FF00FF
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0F
    y = (y | (y << 4)) & 0x0F0F0F0F0F0F0F0F
    x = (x | (x << 2)) & 0x3333333333333333
    y = (y | (y << 2)) & 0x3333333333333333
    x = (x | (x << 1)) & 0x5555555555555555
    y = (y | (y << 1)) & 0x5555555555555555
    return (x | (y << 1)) & U64


def deinterleave64(interleaved: int) -> int:
    """The even bits in the low word, the odd bits in the high word (mirrors deinterleave64)."""
    x = interleaved & 0x5555555555555555
    y = (interleaved >> 1) & 0x5555555555555555
    x = (x | (x >> 1)) & 0x3333333333333333
    y = (y | (y >> 1)) & 0x3333333333333333
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0F
    y = (y | (y >> 2)) & 0x0F0F0F0F0F0F0F0F
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FF
    y = (y | (y >> 4)) & 0x00FF00FF00FF00FF
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFF
    y = (y | (y >> 8)) & 0x0000FFFF0000FFFF
    x = (x | (x >> 16)) & 0x00000000FFFFFFFF
    y = (y | (y >> 16)) & 0x00000000FFFFFFFF
    return x | (y << 32)


def encode(lon: float, lat: float, step: int, ranges: tuple[Range, Range] = WGS84) -> int | None:
    """The ``2*step``-bit hash of a point, None outside the ranges (mirrors geohashEncode)."""
    (lon_min, lon_max), (lat_min, lat_max) = ranges
    if not 0 < step <= 32:
        return None
    if lon > GEO_LONG_MAX or lon < GEO_LONG_MIN or lat > GEO_LAT_MAX or lat < GEO_LAT_MIN:
        return None
    if lat < lat_min or lat > lat_max or lon < lon_min or lon > lon_max:
        return None
    lat_offset = (lat - lat_min) / (lat_max - lat_min)
    long_offset = (lon - lon_min) / (lon_max - lon_min)
    lat_offset *= float(1 << step)
    long_offset *= float(1 << step)
    return interleave64(int(lat_offset) & U32, int(long_offset) & U32)


def decode(bits: int, step: int, ranges: tuple[Range, Range] = WGS84) -> Area:
    """The box a hash names (mirrors geohashDecode; the caller skips zero hashes)."""
    (lon_min, lon_max), (lat_min, lat_max) = ranges
    sep = deinterleave64(bits)
    lat_scale = lat_max - lat_min
    long_scale = lon_max - lon_min
    ilato = sep & U32
    ilono = sep >> 32
    div = float(1 << step)
    return (lon_min + (ilono * 1.0 / div) * long_scale,
            lon_min + (((ilono + 1) & U32) * 1.0 / div) * long_scale,
            lat_min + (ilato * 1.0 / div) * lat_scale,
            lat_min + (((ilato + 1) & U32) * 1.0 / div) * lat_scale)


def score_to_u64(score: float) -> int:
    """``(uint64_t)score`` as gcc compiles it on x86-64 (cvttsd2si, with the 2^63 split):
    only scores GEOADD did not write reach the odd branches."""
    if score != score:
        return 1 << 63
    if score < 9223372036854775808.0:
        if score <= -9223372036854775808.0 and score != -9223372036854775808.0:
            return 1 << 63  # out of int64: the "integer indefinite" value
        return int(score) & U64
    high = score - 9223372036854775808.0
    if high >= 9223372036854775808.0:
        return 0  # indefinite ^ the sign bit
    return (int(high) ^ (1 << 63)) & U64


def decode_score(score: float) -> tuple[float, float]:
    """(longitude, latitude) of a GEO set score: the centre of its step-26 box, clamped
    to the valid ranges (mirrors decodeGeohash → geohashDecodeAreaToLongLat)."""
    lon_min, lon_max, lat_min, lat_max = decode(score_to_u64(score), GEO_STEP_MAX)
    lon = (lon_min + lon_max) / 2
    if lon > GEO_LONG_MAX:
        lon = GEO_LONG_MAX
    if lon < GEO_LONG_MIN:
        lon = GEO_LONG_MIN
    lat = (lat_min + lat_max) / 2
    if lat > GEO_LAT_MAX:
        lat = GEO_LAT_MAX
    if lat < GEO_LAT_MIN:
        lat = GEO_LAT_MIN
    return lon, lat


_X = 0xAAAAAAAAAAAAAAAA  # longitude bits (odd positions)
_Y = 0x5555555555555555  # latitude bits (even positions)


def _move(bits: int, step: int, d: int, axis: int) -> int:
    """One box along ``axis`` (_X or _Y) in direction ``d``, wrapping around
    (mirrors geohash_move_x / geohash_move_y)."""
    other = _Y if axis == _X else _X
    v = bits & axis
    zz = other >> (64 - step * 2)
    if d > 0:
        v = v + (zz + 1)
    else:
        v = (v | zz) - (zz + 1)
    v &= axis >> (64 - step * 2)
    return v | (bits & other)


def neighbors(bits: int, step: int) -> dict[str, int]:
    """The eight boxes around one (mirrors geohashNeighbors; x is longitude, y latitude)."""

    def at(dx: int, dy: int) -> int:
        b = _move(bits, step, dx, _X) if dx else bits
        return _move(b, step, dy, _Y) if dy else b

    return {"north": at(0, 1), "south": at(0, -1), "east": at(1, 0), "west": at(-1, 0),
            "north_east": at(1, 1), "north_west": at(-1, 1), "south_east": at(1, -1), "south_west": at(-1, -1)}


def estimate_steps(range_meters: float, lat: float) -> int:
    """Bits of precision whose boxes cover the radius (mirrors geohashEstimateStepsByRadius)."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


class Shape:
    """GeoShape: a circle (``radius``) or a box (``width`` × ``height``) around (lon, lat),
    its sizes in a unit ``conversion`` metres long."""

    __slots__ = ("type", "lon", "lat", "conversion", "radius", "width", "height")

    def __init__(self) -> None:
        self.type = 0
        self.lon = self.lat = 0.0
        self.conversion = 0.0
        self.radius = self.width = self.height = 0.0

    def bounding_box(self) -> tuple[float, float, float, float]:
        """min lon, min lat, max lon, max lat (mirrors geohashBoundingBox)."""
        lon, lat = self.lon, self.lat
        circle = self.type == CIRCULAR_TYPE
        height = self.conversion * (self.radius if circle else self.height / 2)
        width = self.conversion * (self.radius if circle else self.width / 2)
        lat_delta = height / EARTH_RADIUS_IN_METERS / D_R
        long_delta_top = width / EARTH_RADIUS_IN_METERS / _cos((lat + lat_delta) * D_R) / D_R
        long_delta_bottom = width / EARTH_RADIUS_IN_METERS / _cos((lat - lat_delta) * D_R) / D_R
        south = lat < 0
        delta = long_delta_bottom if south else long_delta_top
        return lon - delta, lat - lat_delta, lon + delta, lat + lat_delta

    def search_boxes(self) -> list[Hash]:
        """The centre box and its eight neighbours, in membersOfAllNeighbors's order, useless
        ones zeroed (mirrors geohashCalculateAreasByShapeWGS84)."""
        min_lon, min_lat, max_lon, max_lat = self.bounding_box()
        lon, lat = self.lon, self.lat
        if self.type == CIRCULAR_TYPE:
            radius_meters = self.radius
        else:
            radius_meters = math.sqrt((self.width / 2) * (self.width / 2) + (self.height / 2) * (self.height / 2))
        radius_meters *= self.conversion
        steps = estimate_steps(radius_meters, lat)
        bits = encode(lon, lat, steps) or 0
        nb = neighbors(bits, steps)
        if steps > 1 and (decode(nb["north"], steps)[3] < max_lat or decode(nb["south"], steps)[2] > min_lat
                          or decode(nb["east"], steps)[1] < max_lon or decode(nb["west"], steps)[0] > min_lon):
            steps -= 1
            bits = encode(lon, lat, steps) or 0
            nb = neighbors(bits, steps)
        boxes = {k: (v, steps) for k, v in nb.items()}
        if steps >= 2:
            a_lon_min, a_lon_max, a_lat_min, a_lat_max = decode(bits, steps)
            drop = []
            if a_lat_min < min_lat:
                drop += ["south", "south_west", "south_east"]
            if a_lat_max > max_lat:
                drop += ["north", "north_east", "north_west"]
            if a_lon_min < min_lon:
                drop += ["west", "south_west", "north_west"]
            if a_lon_max > max_lon:
                drop += ["east", "south_east", "north_east"]
            for k in drop:
                boxes[k] = ZERO
        order = ("north", "south", "east", "west", "north_east", "north_west", "south_east", "south_west")
        return [(bits, steps)] + [boxes[k] for k in order]

    def contains(self, score: float) -> tuple[float, float, float] | None:
        """(lon, lat, distance) of a score inside the shape, else None (mirrors geoWithinShape)."""
        x2, y2 = decode_score(score)
        if self.type == CIRCULAR_TYPE:
            d = distance(self.lon, self.lat, x2, y2)
            return None if d > self.radius * self.conversion else (x2, y2, d)
        width_m = self.width * self.conversion
        height_m = self.height * self.conversion
        if lat_distance(y2, self.lat) > height_m / 2:
            return None
        if distance(x2, y2, self.lon, y2) > width_m / 2:
            return None
        return x2, y2, distance(self.lon, self.lat, x2, y2)


def align52(bits: int, step: int) -> int:
    """geohashAlign52Bits: the hash as a 52-bit score prefix."""
    return (bits << (52 - step * 2)) & U64


def lat_distance(lat1d: float, lat2d: float) -> float:
    """geohashGetLatDistance."""
    return EARTH_RADIUS_IN_METERS * abs(lat2d * D_R - lat1d * D_R)


def distance(lon1d: float, lat1d: float, lon2d: float, lat2d: float) -> float:
    """Haversine great-circle distance in metres (mirrors geohashGetDistance)."""
    lon1r = lon1d * D_R
    lon2r = lon2d * D_R
    v = _sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1d, lat2d)
    lat1r = lat1d * D_R
    lat2r = lat2d * D_R
    u = _sin((lat2r - lat1r) / 2)
    a = u * u + _cos(lat1r) * _cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * _asin_sqrt(a)
