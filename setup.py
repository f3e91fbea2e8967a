"""Build hook for the optional C accelerators; everything else lives in pyproject.toml.

``rdbtools._speedups`` (blob decoders, pairing, LZF, the duplicate-key set, the
decoder's key scan, JSONL lines: one module from the files of ``rdbtools/csrc``,
see ``speedups.h`` for why one), ``rdbtools._glob`` (Redis glob matching),
``aof._respfast`` (RESP request scanning, bulk-array replies), ``engine._fastpath`` (the
request loop's common case) and ``engine._load`` (a load's per-key part) are ``optional``:
without a compiler the install still succeeds and the pure-Python codecs are used
(docs/style.md rule 10); ``RDBKIT_PUREPYTHON=1`` selects those at run time even when the
modules are built (``rdbtools/_accel.py``).
"""

from setuptools import Extension, setup

SPEEDUPS = ["speedups", "listpack", "ziplist", "intset", "pairs", "lzf", "keyset", "scan",
            "scan_value", "jsontext", "jsonl", "hll", "lpentry", "lpops", "zsetlp", "digest", "rdbstr",
            "quicklist", "runs", "lpset", "snapshot", "streamlp", "streamread", "lzfc"]
# Hidden symbols: only PyInit_* leaves a module, calls between its files stay direct.
CFLAGS = ["-O2", "-fvisibility=hidden"]

setup(
    ext_modules=[
        Extension(
            "rdbtools._speedups",
            [f"rdbtools/csrc/{name}.c" for name in SPEEDUPS],
            depends=["rdbtools/csrc/speedups.h"],
            extra_compile_args=CFLAGS,
            optional=True,
        ),
        Extension(
            "rdbtools._glob",
            ["rdbtools/csrc/glob.c"],
            extra_compile_args=CFLAGS,
            optional=True,
        ),
        Extension(
            "engine._fastpath",
            ["engine/_fastpath.c"],
            depends=["engine/_received.h", "engine/_bodies.h", "engine/_slots.h"],
            extra_compile_args=CFLAGS,
            optional=True,
        ),
        Extension(
            "engine._load",
            ["engine/_load.c"],
            depends=["engine/_slots.h"],
            extra_compile_args=CFLAGS,
            optional=True,
        ),
        Extension(
            "aof._respfast",
            ["aof/_respfast.c"],
            depends=["rdbtools/csrc/speedups.h"],
            extra_compile_args=CFLAGS,
            optional=True,
        ),
    ]
)
