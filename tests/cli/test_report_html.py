"""``rdbkit report --html out.html``: a treemap of memory by key prefix, opened in a real
browser (headless Chromium, installed by scripts/test.sh) and read back from the DOM
its script built: the top prefixes with the summary's sizes and key counts, box areas in
proportion to bytes, hostile keys shown as text (never as markup), non-UTF-8 bytes as
``\\xNN``, a painted (non-blank) screenshot, and a bounded file for a huge keyspace."""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from cli.treemap import readable
from tests.support.manifest import FIXTURES

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"
HOSTILE = [
    b"<script>document.title='pwned'</script>:a",
    b"</script><b id=injected>x</b>:b",
    b"<img src=x onerror=\"document.title='pwned'\">:c",
    b"\xff\xfebin:1",
    b"\xff\xfebin:2",
]
WIDTH, HEIGHT = 1200, 800


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is needed (scripts/test.sh installs Debian's chromium)"
    return path


def browse(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Open ``page`` in a fresh headless Chromium profile with no network features on."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
           *args, page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    return res


class Dom(HTMLParser):
    """Every element of the dumped DOM: (tag, attributes, path of enclosing boxes)."""

    VOID = {"meta", "br", "img", "input", "link", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
        self.stack: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        boxes = tuple(p for _, p in self.stack if p is not None)
        self.elements.append((tag, a, boxes))
        if tag not in self.VOID:
            self.stack.append((tag, a.get("data-prefix")))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def hostile_jsonl(path: Path) -> None:
    lines = []
    for i, key in enumerate(HOSTILE):
        try:
            jkey: object = key.decode("utf-8")
        except UnicodeDecodeError:
            jkey = {"base64": base64.b64encode(key).decode("ascii")}
        lines.append(json.dumps({"db": 0, "key": jkey, "type": "string", "expire_ms": None,
                                 "value": "v" * (3000 + 100 * i)}))  # big enough to be drawn
    path.write_text("\n".join(lines) + "\n")


def px(style: str, prop: str) -> float:
    m = re.search(rf"(?:^|;)\s*{prop}:\s*([0-9.]+)px", style)
    assert m, (prop, style)
    return float(m.group(1))


def test_treemap_renders_top_prefixes_in_chromium(tmp_path: Path) -> None:
    extra = tmp_path / "hostile.jsonl"
    hostile_jsonl(extra)
    page = tmp_path / "mem.html"
    files = [str(RDB), str(extra)]
    res = CliRunner().invoke(cli, ["report", *files, "--html", str(page)])
    assert res.exit_code == 0, res.output
    assert res.stdout == ""  # the per-key rows go only where -o says
    source = page.read_text("utf-8")
    # self-contained: nothing fetched from anywhere (the keys in the data block are text)
    template = re.sub(r'<script type="application/json" id="data">.*?</script>', "", source, flags=re.S)
    assert not re.search(r"(?i)<link|\bsrc\s*=|@import|url\(|https?://", template)
    assert source.count("<script") == 2  # the data block and the code, nothing from the keys

    summary = json.loads(CliRunner().invoke(
        cli, ["report", *files, "--summary", "--format", "jsonl"]).stdout)["summary"]
    dumped = browse(page, tmp_path, f"--window-size={WIDTH},{HEIGHT}", "--dump-dom").stdout
    dom = Dom()
    dom.feed(dumped)
    boxes = {a["data-prefix"]: (a, path) for tag, a, path in dom.elements if "data-prefix" in a}

    # the top-level prefixes of the text summary (all but the specks), with its bytes and counts
    top = [p for p in summary["prefixes"]
           if isinstance(p["prefix"], str) and p["bytes"] > 0.002 * summary["bytes"]]
    assert len(top) >= 7
    root = boxes[""][0]
    assert int(root["data-bytes"]) == summary["bytes"] and int(root["data-keys"]) == summary["keys"]
    area = px(root["style"], "width") * px(root["style"], "height")
    for p in top:
        a, path = boxes[p["prefix"]]
        assert path == ("",), p
        assert (int(a["data-bytes"]), int(a["data-keys"])) == (p["bytes"], p["keys"])
        share = px(a["style"], "width") * px(a["style"], "height") / area
        assert abs(share - p["bytes"] / summary["bytes"]) < 0.01, (p, share)
        assert p["prefix"] in a["title"] and f"{p['keys']} keys" in a["title"]
    # beside them the biggest keys without a prefix and one box for the rest: exact totals
    level = [a for _, a, path in dom.elements if "box" in a.get("class", "").split() and path == ("",)]
    assert sum(int(a["data-bytes"]) for a in level) == summary["bytes"]
    assert sum(int(a["data-keys"]) for a in level) == summary["keys"]
    assert sum("other" in a["class"] for a in level) == 1
    # nested by depth: str:int: sits inside str:, its type named in the tooltip
    a, path = boxes["str:int:"]
    assert path == ("", "str:") and "string" in a["title"]
    # the report's header names the total it drew
    assert f"{summary['keys']} keys" in "".join(dom.text)

    # hostile keys are text: no element, no script, no title change
    tags = [tag for tag, _, _ in dom.elements]
    assert "img" not in tags and "b" not in tags and tags.count("script") == 2
    assert not any(a.get("id") == "injected" for _, a, _ in dom.elements)
    assert re.search(r"<title>(.*?)</title>", dumped).group(1) == "rdbkit memory report"
    assert "<script>document.title='pwned'</script>:" in boxes
    # non-UTF-8 bytes shown readably
    a, _ = boxes["\\xff\\xfebin:"]
    assert a["data-keys"] == "2"


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """The rows of an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes), unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6) and body[12] == 0
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, ul = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + left) & 255
            elif f == 2:
                line[i] = (line[i] + up) & 255
            elif f == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif f == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def test_treemap_screenshot_is_painted(tmp_path: Path) -> None:
    page = tmp_path / "mem.html"
    assert CliRunner().invoke(cli, ["report", str(RDB), "--html", str(page)]).exit_code == 0
    shot = tmp_path / "shot.png"
    browse(page, tmp_path, "--window-size=320,240", f"--screenshot={shot}")
    width, bpp, rows = png_pixels(shot.read_bytes())
    colours: dict[bytes, int] = {}
    for row in rows:
        for x in range(0, width * bpp, bpp):
            px_ = row[x:x + 3]
            colours[px_] = colours.get(px_, 0) + 1
    total = sum(colours.values())
    assert len(colours) >= 8 and max(colours.values()) < 0.8 * total, sorted(colours.values())[-5:]


def test_huge_keyspace_stays_small(tmp_path: Path) -> None:
    """20 000 distinct prefixes: the page keeps the big ones and folds the tail into 'other'."""
    src = tmp_path / "many.jsonl"
    with src.open("w") as f:
        f.write(json.dumps({"db": 0, "key": "big:1", "type": "string", "expire_ms": None,
                            "value": "x" * 100_000}) + "\n")
        for i in range(20_000):
            f.write(json.dumps({"db": 0, "key": f"p{i}:k", "type": "string", "expire_ms": None,
                                "value": "v"}) + "\n")
    page = tmp_path / "mem.html"
    res = CliRunner().invoke(cli, ["report", str(src), "--html", str(page)])
    assert res.exit_code == 0, res.output
    source = page.read_text("utf-8")
    assert len(source) < 150_000
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>',
                                source, re.S).group(1))
    tree = data["tree"]
    assert tree["k"] == 20_001
    names = [c.get("p") for c in tree["c"]]
    assert "big:" in names and [c.get("n") for c in tree["c"] if c.get("o")] == [20_000]
    assert sum(c["k"] for c in tree["c"]) == 20_001 and sum(c["b"] for c in tree["c"]) == tree["b"]


def test_labels_show_every_byte_unambiguously() -> None:
    assert readable(b"caf\xc3\xa9:\xff\x00\n\\x41\xc2\x85\xe2\x80\xae") == \
        "café:\\xff\\x00\\x0a\\\\x41\\u0085\\u202e"
    long = readable(b"k" * 1000, limit=50)
    assert long == "k" * 50 + "… (1000 bytes)"
