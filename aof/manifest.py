"""The Redis 7 multi-part AOF manifest, parsed and written exactly as Redis does.

Wire layout (docs/formats.md §7.3; mirrors ``aofLoadManifestFromFile`` and
``aofInfoFormat``/``getAofManifestAsString`` of aof.c, Redis 7.0–7.4)::

    file appendonly.aof.2.base.rdb seq 2 type b\\n
    file appendonly.aof.1.incr.aof seq 1 type h\\n
    file appendonly.aof.3.incr.aof seq 3 type i\\n

Reading, line by line as ``fgets`` with a 1025-byte buffer delivers them (a
line longer than 1024 bytes arrives in pieces, each counted as a line):

* a piece starting with ``#`` is a comment (checked before anything else);
* a piece without ``\\n`` → ``The AOF manifest file contains too long line``
  (so the last line must end in a newline, too);
* the piece is trimmed of `` \\t\\r\\n`` at both ends; empty → ``Invalid AOF
  manifest file format``;
* split like shell arguments (``sdssplitargs``, :func:`aof.resp.split_args`);
  unbalanced quotes, fewer than 6 tokens or an odd count → invalid format;
* key/value pairs, keys ``file``/``seq``/``type`` case-insensitive in any order,
  unknown keys ignored (forward compatibility), a repeated key overrides; the
  file must be a bare name (no ``/`` or ``\\``: ``File can't be a path, just a
  filename``), ``seq`` is read with ``atoll`` and must be non-zero, ``type`` is
  the first character of its value; all three must be present;
* ``b`` base (a second one: ``Found duplicate base file information``), ``h``
  history, ``i`` incr (seq must strictly increase from 0: ``Found a
  non-monotonic sequence number``), anything else ``Unknown AOF file type``;
* an input of zero bytes: ``Found an empty AOF manifest`` (comments only is fine).

C-string effects are kept: a NUL byte ends what Redis sees of a line (and of a
file name). Writing quotes a name with ``sdscatrepr`` when ``sdsneedsrepr``
says so (a quote, backslash, control or non-ASCII byte, or a blank).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from aof.errors import ManifestError
from aof.resp import split_args

__all__ = [
    "AOF_FILE_TYPE_BASE",
    "AOF_FILE_TYPE_HIST",
    "AOF_FILE_TYPE_INCR",
    "MANIFEST_MAX_LINE",
    "AofInfo",
    "Manifest",
    "format_info",
    "format_manifest",
    "load_manifest",
    "looks_like_manifest",
]

AOF_FILE_TYPE_BASE: Final = "b"
AOF_FILE_TYPE_HIST: Final = "h"
AOF_FILE_TYPE_INCR: Final = "i"
MANIFEST_MAX_LINE: Final = 1024

_LLONG_MAX: Final = 2**63 - 1
_LLONG_MIN: Final = -(2**63)
_C_SPACE: Final = b" \t\n\v\f\r"

ERR_EMPTY: Final = "Found an empty AOF manifest"
ERR_TOO_LONG: Final = "The AOF manifest file contains too long line"
ERR_FORMAT: Final = "Invalid AOF manifest file format"
ERR_PATH: Final = "File can't be a path, just a filename"
ERR_DUP_BASE: Final = "Found duplicate base file information"
ERR_MONOTONIC: Final = "Found a non-monotonic sequence number"
ERR_TYPE: Final = "Unknown AOF file type"


def _fsdecode(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _fsencode(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class AofInfo:
    """One manifest line: a bare file name, its sequence number and type (b/h/i).

    ``name`` is text; bytes that are not UTF-8 survive as surrogate escapes, so
    ``os`` functions find the file and :func:`format_info` writes them back.
    """

    name: str
    seq: int
    type: str

    @property
    def name_bytes(self) -> bytes:
        return _fsencode(self.name)


@dataclass(slots=True)
class Manifest:
    """The parsed manifest: at most one base, the history files, the incr files.

    ``curr_base_seq``/``curr_incr_seq`` are Redis's ``curr_base_file_seq`` and
    ``curr_incr_file_seq``: the seq of the base line and of the last incr line
    (0 when absent); new files take the next number.
    """

    base: AofInfo | None = None
    history: list[AofInfo] = field(default_factory=list)
    incrs: list[AofInfo] = field(default_factory=list)
    curr_base_seq: int = 0
    curr_incr_seq: int = 0

    @property
    def files_to_load(self) -> list[AofInfo]:
        """Base first, then the incr files in manifest order (history is not loaded)."""
        return ([self.base] if self.base is not None else []) + list(self.incrs)

    def copy(self) -> Manifest:
        return Manifest(
            self.base, list(self.history), list(self.incrs), self.curr_base_seq, self.curr_incr_seq
        )


# --- C helpers ------------------------------------------------------------------------------
def _atoll(s: bytes) -> int:
    """glibc ``atoll`` (``strtoll(s, NULL, 10)``): blanks, sign, digits; saturates."""
    i = 0
    n = len(s)
    while i < n and s[i] in _C_SPACE:
        i += 1
    neg = False
    if i < n and s[i] in b"+-":
        neg = s[i] == 45
        i += 1
    j = i
    while j < n and 48 <= s[j] <= 57:
        j += 1
    if j == i:
        return 0
    v = int(s[i:j])
    v = -v if neg else v
    return max(_LLONG_MIN, min(_LLONG_MAX, v))


def _cstr(b: bytes) -> bytes:
    """What C string functions see: the bytes before the first NUL."""
    nul = b.find(b"\0")
    return b if nul < 0 else b[:nul]


def _fgets_lines(data: bytes, size: int) -> list[bytes]:
    """Pieces as successive ``fgets(buf, size, fp)`` calls return them."""
    out = []
    pos = 0
    n = len(data)
    cap = size - 1
    while pos < n:
        nl = data.find(b"\n", pos, pos + cap)
        end = nl + 1 if nl >= 0 else min(n, pos + cap)
        out.append(data[pos:end])
        pos = end
    return out


def _isprint(c: int) -> bool:
    return 0x20 <= c <= 0x7E


_REPR_ESCAPES: Final = {
    0x5C: b"\\\\",
    0x22: b'\\"',
    0x0A: b"\\n",
    0x0D: b"\\r",
    0x09: b"\\t",
    0x07: b"\\a",
    0x08: b"\\b",
}


def _needs_repr(b: bytes) -> bool:
    # mirrors sdsneedsrepr: escapes, non-printables and blanks force quoting
    return any(c in _REPR_ESCAPES or not _isprint(c) or c in _C_SPACE for c in b)


def sdscatrepr(b: bytes) -> bytes:
    """``b`` in double quotes with C escapes, as Redis's sdscatrepr writes it (AOF
    manifests, CONFIG REWRITE's string options)."""
    parts = [b'"']
    for c in b:
        esc = _REPR_ESCAPES.get(c)
        if esc is not None:
            parts.append(esc)
        elif _isprint(c):
            parts.append(bytes((c,)))
        else:
            parts.append(b"\\x%02x" % c)
    parts.append(b'"')
    return b"".join(parts)


# --- reading --------------------------------------------------------------------------------
def _fail(msg: str, line_no: int | None, line: bytes | None = None) -> ManifestError:
    return ManifestError(msg, line_no=line_no, line=line)


def load_manifest(data: bytes) -> Manifest:
    """Parse manifest bytes; any problem raises :class:`ManifestError` with Redis's
    text and the 1-based ``line_no`` (counted in ``fgets`` pieces, comments included)."""
    if not data:
        raise _fail(ERR_EMPTY, None)
    am = Manifest()
    maxseq = 0
    line_no = 0
    for piece in _fgets_lines(data, MANIFEST_MAX_LINE + 1):
        line_no += 1
        buf = _cstr(piece)
        if buf[:1] == b"#":
            continue
        if b"\n" not in buf:
            raise _fail(ERR_TOO_LONG, line_no)
        line = buf.strip(b" \t\r\n")
        if not line:
            raise _fail(ERR_FORMAT, line_no, line)
        argv = split_args(line)
        if argv is None or len(argv) < 6 or len(argv) % 2:
            raise _fail(ERR_FORMAT, line_no, line)
        name: bytes | None = None
        seq = 0
        ftype = 0
        for i in range(0, len(argv), 2):
            key = _cstr(argv[i]).lower()
            value = argv[i + 1]
            if key == b"file":
                name = _cstr(value)
                if b"/" in name or b"\\" in name:
                    raise _fail(ERR_PATH, line_no, line)
            elif key == b"seq":
                seq = _atoll(value)
            elif key == b"type":
                ftype = value[0] if value else 0
        if name is None or not seq or not ftype:
            raise _fail(ERR_FORMAT, line_no, line)
        info = AofInfo(_fsdecode(name), seq, chr(ftype))
        if info.type == AOF_FILE_TYPE_BASE:
            if am.base is not None:
                raise _fail(ERR_DUP_BASE, line_no, line)
            am.base = info
            am.curr_base_seq = seq
        elif info.type == AOF_FILE_TYPE_HIST:
            am.history.append(info)
        elif info.type == AOF_FILE_TYPE_INCR:
            if seq <= maxseq:
                raise _fail(ERR_MONOTONIC, line_no, line)
            am.incrs.append(info)
            am.curr_incr_seq = seq
            maxseq = seq
        else:
            raise _fail(ERR_TYPE, line_no, line)
    return am


def looks_like_manifest(head: bytes) -> bool:
    """redis-check-aof's test (``fileIsManifest``), on the first bytes of a file: some
    non-comment line starts with ``file``. Only the lines inside ``head`` are looked at."""
    if not head:
        return False
    for piece in _fgets_lines(head, MANIFEST_MAX_LINE + 1):
        if piece[:1] == b"#":
            continue
        if piece[:4] == b"file":
            return True
        if piece[:1] in (b"*", b"$"):
            return False  # a RESP AOF; redis-check-aof would scan on, but finds no 'file'
    return False


# --- writing --------------------------------------------------------------------------------
def format_info(info: AofInfo) -> bytes:
    """One line, ``file <name> seq <n> type <c>\\n`` (name quoted when needed)."""
    name = info.name_bytes
    if _needs_repr(name):
        name = sdscatrepr(name)
    return b"file %b seq %d type %b\n" % (name, info.seq, info.type.encode("latin-1"))


def format_manifest(am: Manifest) -> bytes:
    """The whole manifest: base line first, then history, then incr (Redis's order)."""
    lines = []
    if am.base is not None:
        lines.append(format_info(am.base))
    lines.extend(format_info(i) for i in am.history)
    lines.extend(format_info(i) for i in am.incrs)
    return b"".join(lines)
