"""Build hook for the optional C accelerators; everything else lives in pyproject.toml.

``rdbtools._speedups`` is ``optional``: without a compiler the install still
succeeds and the pure-Python codecs are used (style rule 21).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "rdbtools._speedups",
            ["rdbtools/_speedups.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
