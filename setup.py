"""Build hook for the optional C accelerators; everything else lives in pyproject.toml.

``rdbtools._speedups`` (blob decoders), ``rdbtools._glob`` (Redis glob
matching) and ``aof._respfast`` (RESP request scanning, bulk-array replies) are
``optional``: without a compiler the install still succeeds and the pure-Python
codecs are used (docs/style.md rule 10); ``RDBKIT_PUREPYTHON=1`` selects those at run
time even when the modules are built.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "rdbtools._speedups",
            ["rdbtools/_speedups.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        Extension(
            "rdbtools._glob",
            ["rdbtools/_glob.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        Extension(
            "aof._respfast",
            ["aof/_respfast.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
    ]
)
