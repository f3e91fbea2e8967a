"""Decode benchmark: rdbkit beside redis-check-rdb and the PyPI rdbtools package.

Same run, same machine, same files (the 1M-key mixed dataset written by real
Redis; ``bench/dataset.py`` makes it). Prints seconds, keys/s, MB/s and peak RSS
for each tool, then the ratios the issue sets targets for:

* ``rdbkit dump`` (JSONL) vs ``rdb --command json`` (rdbtools; RDB 9 file, it
  refuses RDB 10): target ≥ 10x faster;
* rdbkit no-output parse vs ``redis-check-rdb``: target ≤ 3x slower;
* peak memory of our parse on a 100k-key and the 1M-key file: flat;
* ``rdbkit check --digest`` vs a plain ``rdbkit check``: target <= 2x.

Run: ``python bench/bench_decode.py`` (first run builds the data and a venv for
rdbtools in ``bench/.venv-rdbtools``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
VENV = HERE / ".venv-rdbtools"
KEYS = 1_000_000


LAST_CPU = [0.0]  # CPU seconds (user + system) of the last child run()


def run(cmd: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (its CPU seconds in LAST_CPU)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-2000:]}")
    return dt, usage.ru_maxrss / 1024


def ensure_data() -> None:
    need = [DATA / "mixed-1m-rdb9.rdb", DATA / "mixed-1m-rdb10.rdb",
            DATA / "mixed-100000-rdb10.rdb"]
    if not all(p.exists() for p in need[:2]):
        subprocess.run([sys.executable, str(HERE / "dataset.py")], check=True)
    if not need[2].exists():
        subprocess.run([sys.executable, str(HERE / "dataset.py"), "--keys", "100000"], check=True)


def ensure_rdbtools() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "rdbtools", "python-lzf"], check=True)
    return py


PARSE = "import sys\nfrom rdbtools import iter_events\nfor _ in iter_events(sys.argv[1]): pass\n"
NOOP = (
    "import sys\nfrom rdbtools import RdbParser, RdbCallback\n"
    "RdbParser(RdbCallback(string_escape=None)).parse(sys.argv[1])\n"
)


def main() -> None:
    ensure_data()
    rdbtools_py = ensure_rdbtools()
    f9 = DATA / "mixed-1m-rdb9.rdb"
    f10 = DATA / "mixed-1m-rdb10.rdb"
    small = DATA / "mixed-100000-rdb10.rdb"
    rdbkit = [sys.executable, "-m", "cli"]
    rows = []

    def measure(label: str, cmd: list[str], path: Path, keys: int) -> float:
        dt, rss = run(cmd)
        mb = path.stat().st_size / 1e6
        rows.append((label, path.name, dt, keys / dt, mb / dt, rss))
        print(f"{label:<34} {path.name:<24} {dt:7.2f}s {keys / dt:10.0f} keys/s "
              f"{mb / dt:7.1f} MB/s  peak {rss:7.1f} MB", flush=True)
        return dt

    env_cwd = str(HERE.parent)
    os.chdir(env_cwd)
    print(f"files: {f9.name} {f9.stat().st_size / 1e6:.0f} MB, {f10.name} "
          f"{f10.stat().st_size / 1e6:.0f} MB, {KEYS} keys each\n")
    ours_dump9 = measure("rdbkit dump (jsonl)", rdbkit + ["dump", str(f9)], f9, KEYS)
    measure("rdbkit dump (jsonl)", rdbkit + ["dump", str(f10)], f10, KEYS)
    ours_parse = measure("rdbkit parse (no output)", [sys.executable, "-c", PARSE, str(f10)], f10, KEYS)
    _, rss_small = run([sys.executable, "-c", PARSE, str(small)])
    check = measure("redis-check-rdb 7.0", ["redis-check-rdb", str(f10)], f10, KEYS)
    theirs_json = measure("rdbtools rdb --command json", [str(VENV / "bin" / "rdb"), "--command",
                                                          "json", str(f9)], f9, KEYS)
    theirs_noop = measure("rdbtools no-op callback parse", [str(rdbtools_py), "-P", "-c", NOOP, str(f9)],
                          f9, KEYS)
    plain = measure("rdbkit check", rdbkit + ["check", "-q", str(f10)], f10, KEYS)
    plain_cpu = LAST_CPU[0]
    digest = measure("rdbkit check --digest", rdbkit + ["check", "-q", "--digest", str(f10)], f10, KEYS)
    digest_cpu = LAST_CPU[0]
    rss_big = rows[2][5]
    print()
    print(f"rdbkit dump vs rdbtools json (RDB 9):      {theirs_json / ours_dump9:5.1f}x faster "
          f"(target >= 10x)")
    print(f"rdbkit parse vs rdbtools no-op parse:      {theirs_noop / ours_parse:5.1f}x faster")
    print(f"rdbkit parse vs redis-check-rdb:           {ours_parse / check:5.1f}x slower "
          f"(target <= 3x)")
    print(f"rdbkit check --digest vs plain check:      {digest / plain:5.1f}x wall, "
          f"{digest_cpu / plain_cpu:.1f}x CPU ({digest_cpu:.2f} s vs {plain_cpu:.2f} s) (target <= 2x)")
    print(f"peak RSS of our parse: {rss_small:.0f} MB on 100k keys, {rss_big:.0f} MB on 1M keys "
          f"(file {small.stat().st_size / 1e6:.0f} MB vs {f10.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
