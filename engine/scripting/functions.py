"""Redis 7.0 functions: libraries loaded by FUNCTION LOAD, called by FCALL (``functions.c``).

A library is its full source (``#!lua name=<lib>`` first line included, as
FUNCTION LIST WITHCODE, FUNCTION DUMP and the RDB keep it) plus the functions its
top-level code registered through ``redis.register_function``. All libraries run
in one Lua state, separate from EVAL's; while library code loads, only the
loading API (``redis.register_function``, ``redis.log``, the version fields) is
visible, as ``luaEngineCreate`` arranges.

Persistence: libraries are FUNCTION2 records in the RDB (``rdb_save`` writes
:meth:`Functions.records`, ``rdb_load`` feeds :meth:`Functions.load_code`), and
FUNCTION LOAD/DELETE/FLUSH/RESTORE reach the AOF as sent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import CommandError
from engine.materialize import RDB_VERSION
from engine.scripting.eval import new_state, split_args
from rdbtools.constants import RdbOpcode
from rdbtools.dump import BAD_VERSION_OR_CHECKSUM, open_payload, seal_payload
from rdbtools.errors import RdbError
from rdbtools.model import FunctionLibrary
from rdbtools.primitives import load_string, save_string

if TYPE_CHECKING:
    from engine.scripting.eval import Scripting
    from engine.scripting.runtime import LuaState

ENGINE_NAME = b"LUA"
LOAD_TIMEOUT_MS = 500
FUNCTION2, FUNCTION_PRE_GA = RdbOpcode.RDB_OPCODE_FUNCTION2, RdbOpcode.RDB_OPCODE_FUNCTION_PRE_GA
_NAME_RE = re.compile(rb"[A-Za-z0-9_]+\Z")
BAD_NAME = ("Library names can only contain letters, numbers, or underscores(_) and must be at "
            "least one character long")


@dataclass(slots=True)
class FunctionInfo:
    name: bytes
    func: Any
    desc: bytes | None
    flags: int


@dataclass(slots=True)
class Library:
    name: bytes
    code: bytes
    functions: dict[bytes, FunctionInfo] = field(default_factory=dict)


def lib_metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """functionExtractLibMetaData: (engine, name, code after the shebang line)."""
    if not code.startswith(b"#!"):
        raise CommandError("Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise CommandError("Invalid library metadata")
    parts = split_args(code[:end])
    if not parts:
        raise CommandError("Invalid library metadata")
    engine = parts[0][2:]
    name: bytes | None = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise CommandError("Invalid metadata value, name argument was given multiple times")
            name = part[5:]
            continue
        raise CommandError("Invalid metadata value given: " + part.decode("utf-8", "surrogateescape"))
    if name is None:
        raise CommandError("Library name was not given")
    return engine, name, code[end:]


def _name_ok(name: bytes) -> bool:
    return bool(_NAME_RE.match(name))


class Functions:
    """The current libraries (``curr_functions_lib_ctx``) and the LUA engine's state."""

    def __init__(self, host: Scripting) -> None:
        self.host = host
        self._lua: LuaState | None = None  # made on first use: no lupa needed until then
        self.libraries: dict[bytes, Library] = {}
        # every library's functions by lower-cased name: FCALL finds them in any case and
        # two libraries cannot hold names differing only in case (functionDictType)
        self.functions: dict[bytes, FunctionInfo] = {}

    @property
    def lua(self) -> LuaState:
        if self._lua is None:
            self._lua = new_state(self.host, "function")
        return self._lua

    def runnable(self) -> bool:
        """Whether libraries can run here (lupa installed: the Lua state can be made)."""
        try:
            return self.lua is not None
        except CommandError:
            return False

    # -- creation (functionsCreateWithLibraryCtx) ---------------------------------------
    def create(self, code: bytes, replace: bool, libraries: dict[bytes, Library],
               functions: dict[bytes, FunctionInfo], timeout_ms: int) -> Library:
        """Compile and register ``code`` into ``libraries``/``functions``; raises CommandError."""
        engine, name, body = lib_metadata(code)
        if not _name_ok(name):
            raise CommandError(BAD_NAME)
        if engine.upper() != ENGINE_NAME:
            raise CommandError(f"Engine '{engine.decode('utf-8', 'surrogateescape')}' not found")
        old = libraries.get(name)
        if old is not None and not replace:
            raise CommandError(f"Library '{name.decode('utf-8', 'surrogateescape')}' already exists")
        lib = Library(name, code)

        def register(*args: Any) -> tuple[bool, bytes | None]:
            r = self.lua.api.register_args(*args)
            if not isinstance(r, tuple) or r[0] is None:
                return False, r[1]
            fname, cb, desc, flags = r
            if not _name_ok(fname):
                return False, BAD_NAME.encode()
            if fname in lib.functions:
                return False, b"Function already exists in the library"
            lib.functions[fname] = FunctionInfo(fname, cb, desc, int(flags))
            return True, None

        host = self.host
        host.load_deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms > 0 else None
        try:
            ok, err = self.lua.api.load_library(body, register, timeout_ms > 0)
        finally:
            host.load_deadline = None
        if not ok:
            raise CommandError(err.decode("utf-8", "surrogateescape"))
        if not lib.functions:
            raise CommandError("No functions registered")
        for fname in lib.functions:
            owner = functions.get(fname.lower())
            if owner is not None and not (old is not None and any(f is owner for f in old.functions.values())):
                raise CommandError(f"Function {fname.decode('utf-8', 'surrogateescape')} already exists")
        if old is not None:
            _unlink(libraries, functions, old)
        _link(libraries, functions, lib)
        return lib

    def load(self, code: bytes, replace: bool = False, timeout_ms: int = LOAD_TIMEOUT_MS) -> bytes:
        return self.create(code, replace, self.libraries, self.functions, timeout_ms).name

    def load_code(self, code: bytes, replace: bool = True) -> None:
        """A FUNCTION2 record from an RDB file or an AOF base (a same-named library is
        replaced, or refused when not ``replace``)."""
        self.create(code, replace, self.libraries, self.functions, 0)

    def delete(self, name: bytes) -> None:
        lib = self.libraries.get(name)
        if lib is None:
            raise CommandError("Library not found")
        _unlink(self.libraries, self.functions, lib)

    def flush(self) -> None:
        self.libraries = {}
        self.functions = {}

    # -- DUMP / RESTORE ------------------------------------------------------------------
    def dump(self) -> bytes:
        """functionDumpCommand: FUNCTION2 records sealed as a DUMP payload (version, CRC-64)."""
        body = b"".join(bytes((FUNCTION2,)) + save_string(lib.code, True) for lib in self.libraries.values())
        return seal_payload(body, RDB_VERSION)

    def restore(self, payload: bytes, policy: str) -> None:
        try:
            body, _ = open_payload(payload, RDB_VERSION)
        except RdbError:
            raise CommandError(BAD_VERSION_OR_CHECKSUM) from None
        libraries: dict[bytes, Library] = {}
        functions: dict[bytes, FunctionInfo] = {}
        pos = 0
        while pos < len(body):
            t = body[pos]
            pos += 1
            if t == FUNCTION_PRE_GA:
                raise CommandError("Pre-GA function format not supported")
            if t != FUNCTION2:
                raise CommandError("given type is not a function")
            try:
                code, pos = load_string(body, pos, 1 << 29)
            except Exception:  # noqa: BLE001 - any decode failure is this error in Redis
                raise CommandError("failed loading the given functions payload") from None
            self.create(bytes(code), False, libraries, functions, 0)
        if policy == "flush":
            self.libraries, self.functions = libraries, functions
            return
        replace = policy == "replace"
        for lib in libraries.values():  # libraryJoin
            if lib.name in self.libraries and not replace:
                raise CommandError(f"Library {lib.name.decode('utf-8', 'surrogateescape')} already exists")
        new_libs = dict(self.libraries)
        new_funcs = dict(self.functions)
        for lib in libraries.values():
            old = new_libs.get(lib.name)
            if old is not None:
                _unlink(new_libs, new_funcs, old)
        for fname in functions:
            if fname in new_funcs:
                raise CommandError(f"Function {fname.decode('utf-8', 'surrogateescape')} already exists")
        for lib in libraries.values():
            _link(new_libs, new_funcs, lib)
        self.libraries, self.functions = new_libs, new_funcs

    def records(self) -> list[FunctionLibrary]:
        return [FunctionLibrary(lib.code) for lib in self.libraries.values()]


def _link(libraries: dict[bytes, Library], functions: dict[bytes, FunctionInfo], lib: Library) -> None:
    libraries[lib.name] = lib
    functions.update((fname.lower(), fi) for fname, fi in lib.functions.items())


def _unlink(libraries: dict[bytes, Library], functions: dict[bytes, FunctionInfo], lib: Library) -> None:
    libraries.pop(lib.name, None)
    for fname in lib.functions:
        functions.pop(fname.lower(), None)


__all__ = ["ENGINE_NAME", "FunctionInfo", "Functions", "Library", "lib_metadata"]
