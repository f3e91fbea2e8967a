"""LOLWUT [VERSION v] [...] as Redis 7.0.15 draws it (lolwut.c, lolwut5.c, lolwut6.c).

7.0 has no art of its own: plain ``LOLWUT`` answers ``Redis ver. 7.0.15`` (a verbatim
string). ``VERSION 5`` draws Georg Nees's *Schotter* in braille characters and
``VERSION 6`` a skyline in four terminal grays, by the same algorithms as Redis, with
its C arithmetic kept where it decides the picture's size: Schotter's geometry is
computed in single precision (``float``) as lolwut5.c does, so the canvas and the
untouched first rows come out as Redis draws them. Both use ``rand()``, so the
scattered squares and the windows differ from run to run, as Redis's do.
"""

from __future__ import annotations

import math
import random
import struct

from aof.replies import Verbatim, encode
from engine.commands.arguments import get_int
from engine.config import REDIS_VERSION
from engine.execution.meta import Arg, CommandMeta
from engine.execution.registry import command

RAND_MAX = 2147483647
_rng = random.Random()


def _rand() -> int:
    """rand(): 0 .. RAND_MAX."""
    return _rng.getrandbits(31)


_FLOAT = struct.Struct("f")


def _f32(x: float) -> float:
    """The value as a C ``float`` holds it."""
    return _FLOAT.unpack(_FLOAT.pack(x))[0]  # type: ignore[no-any-return]


def _cround(x: float) -> int:
    """C's round(): halves away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


class Canvas:
    """lwCanvas: one byte per pixel (a color), row after row; writes outside are ignored."""

    def __init__(self, width: int, height: int, bgcolor: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray([bgcolor]) * (width * height)

    def draw_pixel(self, x: int, y: int, color: int) -> None:
        """lwDrawPixel."""
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get_pixel(self, x: int, y: int) -> int:
        """lwGetPixel: 0 outside the canvas."""
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def draw_line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """lwDrawLine: Bresenham."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        w, h, px = self.width, self.height, self.pixels
        while True:
            if 0 <= x1 < w and 0 <= y1 < h:  # lwDrawPixel, inlined: lines are most of the work
                px[x1 + y1 * w] = color
            if x1 == x2 and y1 == y2:
                return
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def draw_square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """lwDrawSquare: the four corners on a circle, starting at 45° plus ``angle``."""
        size = _f32(_cround(_f32(size / 1.4142135623)))
        k = _f32(math.pi / 4 + angle)
        px, py = [], []
        for _ in range(4):
            px.append(_cround(math.sin(k) * size + x))
            py.append(_cround(math.cos(k) * size + y))
            k = _f32(k + math.pi / 2)
        for j in range(4):
            self.draw_line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color)


def _sizes(args: list[bytes], defaults: tuple[int, ...], highs: tuple[int, ...]) -> list[int]:
    """The optional integer arguments in order (each parsed before the next, so the first bad
    one is the error), extra ones ignored, each clamped to 1..its high."""
    out = []
    for i, (default, high) in enumerate(zip(defaults, highs, strict=True)):
        v = get_int(args[i]) if i < len(args) else default
        out.append(min(max(v, 1), high))
    return out


# -- LOLWUT 5: Schotter --------------------------------------------------------------------------
def schotter(cols: int, per_row: int, per_col: int) -> Canvas:
    """lwDrawSchotter: squares scattered and rotated more as the rows go down (from the third)."""
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = _f32(_f32(width - padding * 2) / per_row)
    canvas = Canvas(width, int(_f32(_f32(side * per_col) + padding * 2)), 0)
    half = _f32(side / 2)
    for y in range(per_col):
        for x in range(per_row):
            sx = int(_f32(_f32(_f32(x * side) + half) + padding))
            sy = int(_f32(_f32(_f32(y * side) + half) + padding))
            angle = 0.0
            if y > 1:
                r1, r2, r3 = (_f32(_f32(_f32(_f32(_rand()) / _f32(RAND_MAX)) / per_col) * y)
                              for _ in range(3))
                if _rand() % 2:
                    r1 = -r1
                if _rand() % 2:
                    r2 = -r2
                if _rand() % 2:
                    r3 = -r3
                angle = r1
                sx = int(_f32(sx + _f32(_f32(r2 * side) / 3)))
                sy = int(_f32(sy + _f32(_f32(r3 * side) / 3)))
            canvas.draw_square(sx, sy, side, angle, 1)
    return canvas


# braille pattern of each dot byte (lwTranslatePixelsGroup: U+2800 + the byte)
_BRAILLE = {b: chr(0x2800 + b) for b in range(256)}


def render_braille(canvas: Canvas) -> str:
    """lolwut5.c renderCanvas: one braille character per 2x4 pixels, whose dots are bits
    0 1 2 6 (left column, top down) and 3 4 5 7 (right column); a newline after each text
    row unless that row started on the canvas's last line.

    Pixels are 0 or 1, one byte each, so adding four pixel rows as big integers, each row
    shifted by its bit, packs a column's four dots into one byte with no carry; the left
    and right columns use disjoint bits, so their bytes add up to the group's byte."""
    w, h, px = canvas.width, canvas.height, canvas.pixels
    blank = bytes(w)
    out: list[str] = []
    for y in range(0, h, 4):
        rows = [int.from_bytes(px[r * w:(r + 1) * w] if r < h else blank, "big") for r in range(y, y + 4)]
        left = (rows[0] | rows[1] << 1 | rows[2] << 2 | rows[3] << 6).to_bytes(w, "big")
        right = (rows[0] << 3 | rows[1] << 4 | rows[2] << 5 | rows[3] << 7).to_bytes(w, "big")
        cells = int.from_bytes(left[0::2], "big") | int.from_bytes(right[1::2], "big")
        out.append(cells.to_bytes(w // 2, "big").decode("latin-1").translate(_BRAILLE))
        if y != h - 1:
            out.append("\n")
    return "".join(out)


def lolwut5(args: list[bytes]) -> bytes:
    """lolwut5Command: [columns] [squares per row] [squares per column], clamped."""
    cols, per_row, per_col = _sizes(args, (66, 8, 12), (1000, 200, 200))
    text = render_braille(schotter(cols, per_row, per_col))
    text += f"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {REDIS_VERSION}\n"
    return text.encode()


# -- LOLWUT 6: the skyline -----------------------------------------------------------------------
def skyscraper(canvas: Canvas, xoff: int, width: int, height: int, windows: bool, color: int) -> None:
    """generateSkyscraper: a building standing on the last row, its roof two pixels narrower
    on each side; with ``windows``, two-pixel windows of a random gray on every other row."""
    starty = canvas.height - 1
    endy = starty - height + 1
    for y in range(starty, endy - 1, -1):
        for x in range(xoff, xoff + width):
            if y == endy and (x <= xoff + 1 or x >= xoff + width - 2):
                continue
            c = color
            if windows and xoff + 1 < x < xoff + width - 2 and endy + 1 < y < starty - 1:
                relx = x - (xoff + 1)
                rely = y - (endy + 1)
                if (relx // 2) % 2 and rely % 2:
                    c = 1 + _rand() % 2
                    while c == color:
                        c = 1 + _rand() % 2
                    if relx % 2:
                        c = canvas.get_pixel(x - 1, y)
            canvas.draw_pixel(x, y, c)


def skyline(canvas: Canvas) -> None:
    """generateSkyline: two passes of window-less buildings in the grays (the lighter behind),
    then the black ones with windows in front."""
    h = canvas.height
    for color in (2, 1):
        offset = -10
        while offset < canvas.width:
            offset += _rand() % 8
            width = 10 + _rand() % 9
            height = h // 2 + (_rand() % h) // (2 if color == 2 else 3)
            skyscraper(canvas, offset, width, height, False, color)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += _rand() % 8
        width = 5 + _rand() % 14
        if width % 4:
            width += width % 3
        height = h // 3 + (_rand() % h) // 2
        skyscraper(canvas, offset, width, height, True, 0)
        offset += width + 5


# color escape of each gray (foreground and background alike)
_GRAYS = ("0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m")


def lolwut6(args: list[bytes]) -> bytes:
    """lolwut6Command: [columns] [rows], clamped to 1..1000."""
    cols, rows = _sizes(args, (80, 20), (1000, 1000))
    canvas = Canvas(cols, rows, 3)
    skyline(canvas)
    cells = [f"\033[{g} \033[0m".encode() for g in _GRAYS]
    out = []
    px = canvas.pixels
    for y in range(rows):
        out.append(b"".join(cells[p] if p < 4 else cells[0] for p in px[y * cols:(y + 1) * cols]))
    text = b"\n".join(out)
    text += (b"\nDedicated to the 8 bit game developers of past and present.\n"
             b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. "
             + REDIS_VERSION.encode() + b"\n")
    return text


# -- LOLWUT --------------------------------------------------------------------------------------
@command("lolwut", -1, "readonly fast", group="server", since="5.0.0",
         summary="Display some computer art and the Redis version",
         meta=CommandMeta(acl=("@read", "@fast"),
                          args=(Arg("version", "integer", "VERSION", flags=("optional",)),)))
def lolwut_cmd(c, argv):
    """lolwutCommand: the art of the version asked for, picked by the version string
    ("5.x" and "4.9" Schotter, "6.x" and "5.9" the skyline, anything else the plain line);
    the version is taken as a C ``unsigned int``."""
    version = REDIS_VERSION
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        version = f"{get_int(argv[2]) & 0xFFFFFFFF}.0.0"
        args = argv[3:]
    if (version[:2] == "5." and version[2:3] != "9") or version[:3] == "4.9":
        text = lolwut5(args)
    elif (version[:2] == "6." and version[2:3] != "9") or version[:3] == "5.9":
        text = lolwut6(args)
    else:
        text = f"Redis ver. {REDIS_VERSION}\n".encode()
    return encode(Verbatim(text), c.resp)
