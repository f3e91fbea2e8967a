"""One RESP encoder: nothing but aof/replies.py writes RESP framing itself.

RESP framing here means a type byte that opens a count, a length or a typed scalar
(``*<n>``, ``$<len>``, ``$EOF:<mark>``, ``:<n>``, ``%<n>``, ``~<n>``, ``>``, ``=``,
``,``, ``(``, ``#t``, ``_``) followed by CRLF, in a bytes literal: ``b"*%d\\r\\n"``,
``b"$-1\\r\\n"``, ``b":1\\r\\n"``. Replies are built with :mod:`aof.replies` (the C
bulk-array encoder included), so a second encoder cannot grow back unnoticed. Simple
strings and error texts (``b"+OK\\r\\n"``, ``b"-ERR …\\r\\n"``) are messages, not
framing, and stay where they are said. The parsers (:mod:`aof.resp`, the hiredis
adapter) read framing and are not searched for it either.

One encoder lives outside Python on purpose: a script's reply is converted inside
the Lua state (``engine/scripting/prelude.py``, Redis's ``luaReplyToRedisReply``), so
that a table crosses into Python once, as bytes, instead of element by element.
It is Lua source, which this search does not read;
tests/engine/test_lua_replies.py holds it to the bytes of :mod:`aof.replies`.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENCODER = Path("aof/replies.py")
PARSERS = {Path("aof/resp.py"), Path("aof/_resp_hiredis.py")}
# a bytes literal opening with a RESP type byte, then a count/length/scalar, then CRLF
FRAMING = re.compile(
    r"""\bb["'](?:(?:[*$:~>=,(|]|%%?)(?:%[dsb]|-?\d)|#[tf]|_|\$EOF:)[^"'\n]*?\\r\\n"""
)


def framing_sites() -> list[str]:
    found = []
    for package in ("rdbtools", "aof", "engine", "cli"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel == ENCODER or rel in PARSERS:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if FRAMING.search(line):
                    found.append(f"{rel}:{n}: {line.strip()}")
    return found


def test_the_pattern_finds_framing() -> None:
    for raw in ('b"*%d\\r\\n" % n', "b'$-1\\r\\n'", 'b":1\\r\\n"', 'b"%%%d\\r\\n" % n',
                'b"*2\\r\\n$4\\r\\nping\\r\\n"', 'b"#t\\r\\n"', 'b"_\\r\\n"', 'b"$%d\\r\\n%s\\r\\n"',
                'b"$EOF:%b\\r\\n" % mark', 'b">%d\\r\\n"', 'b",%b\\r\\n"'):
        assert FRAMING.search(raw), raw
    for raw in ('b"+OK\\r\\n"', 'b"-ERR syntax error\\r\\n"', 'b"(master -> replica?)\\r\\n"',
                'b"\\r\\n"', 'b"%s" % x', 'b"#TS:%d\\r\\n"'):
        assert not FRAMING.search(raw), raw


def test_only_the_encoder_writes_resp_framing() -> None:
    sites = framing_sites()
    assert not sites, "RESP framing outside aof/replies.py:\n" + "\n".join(sites)
