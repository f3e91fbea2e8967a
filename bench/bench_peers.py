"""``report``, ``keys`` and ``split`` beside the peers that have them, on the same file.

Peers: PyPI's rdbtools (redis-rdb-tools: ``rdb --command memory`` is its per-key
memory CSV, ``rdb --command justkeys`` its key list; it has no split and refuses
RDB 10, so both run on the RDB 9 copy of the 1M-key dataset). redis-rdb-cli
(``rct -f mem``, ``rdt -s``) is Java built with Maven from Maven Central; where
that cannot be reached it is reported as not measured. Prints CPU seconds (user +
system, the figure that does not depend on what else the machine runs), wall
seconds, peak RSS and the rows each tool wrote, then the ratios.

Run: ``python bench/bench_peers.py`` (first run makes the data with
``bench/dataset.py`` and a venv for rdbtools in ``bench/.venv-rdbtools``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_decode import LAST_CPU, VENV, ensure_rdbtools, run

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
NODES = """\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922
c3 127.0.0.1:7002@17002 master - 0 0 3 connected 10923-16383
"""


def rows(path: Path) -> int:
    """Lines of a file, or of every file in a directory (records for RDBs: not counted)."""
    if path.is_dir():
        return sum(1 for _ in path.iterdir())
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def main() -> None:
    f9, f10 = DATA / "mixed-1m-rdb9.rdb", DATA / "mixed-1m-rdb10.rdb"
    if not (f9.exists() and f10.exists()):
        subprocess.run([sys.executable, str(HERE / "dataset.py")], check=True)
    ensure_rdbtools()
    rdb = str(VENV / "bin" / "rdb")
    ours = [sys.executable, "-m", "cli"]
    os.chdir(HERE.parent)
    tmp = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    (tmp / "nodes.conf").write_text(NODES)
    cpu: dict[str, float] = {}

    def measure(label: str, cmd: list[str], out: Path, stdout: bool = False) -> None:
        if stdout:
            with out.open("wb") as f:
                wall, rss = run(cmd, stdout=f)
        else:
            wall, rss = run(cmd)
        cpu[label] = LAST_CPU[0]
        print(f"{label:<36} {LAST_CPU[0]:7.2f} s CPU {wall:7.2f} s wall  peak {rss:6.0f} MB  "
              f"{rows(out):>9} {'files' if out.is_dir() else 'lines'}", flush=True)

    try:
        print(f"{f9.name} ({f9.stat().st_size / 1e6:.0f} MB), {f10.name} "
              f"({f10.stat().st_size / 1e6:.0f} MB)\n")
        measure("rdbkit report (RDB 9)", ours + ["report", str(f9), "-o", str(tmp / "r9.csv")], tmp / "r9.csv")
        measure("rdbtools rdb --command memory", [rdb, "--command", "memory", "-f", str(tmp / "m.csv"), str(f9)],
                tmp / "m.csv")
        measure("rdbkit report (RDB 10)", ours + ["report", str(f10), "-o", str(tmp / "r10.csv")], tmp / "r10.csv")
        measure("rdbkit report --html (RDB 10)", ours + ["report", str(f10), "-o", str(tmp / "h.csv"),
                                                         "--html", str(tmp / "h.html")], tmp / "h.csv")
        measure("rdbkit keys (RDB 9)", ours + ["keys", str(f9)], tmp / "k9.txt", stdout=True)
        measure("rdbtools rdb --command justkeys", [rdb, "--command", "justkeys", "-f", str(tmp / "jk.txt"),
                                                    str(f9)], tmp / "jk.txt")
        measure("rdbkit split --nodes (RDB 10)", ours + ["split", str(f10), "-o", str(tmp / "shards"),
                                                         "--nodes", str(tmp / "nodes.conf")], tmp / "shards")
        print()
        print(f"report vs rdbtools memory:   {cpu['rdbtools rdb --command memory'] / cpu['rdbkit report (RDB 9)']:5.1f}x "
              "less CPU")
        print(f"keys vs rdbtools justkeys:   {cpu['rdbtools rdb --command justkeys'] / cpu['rdbkit keys (RDB 9)']:5.1f}x "
              "less CPU (rdbtools prints a collection's key once per element)")
        print(f"report --html vs report:     {cpu['rdbkit report --html (RDB 10)'] / cpu['rdbkit report (RDB 10)']:5.2f}x CPU")
        print("split: rdbtools has none; redis-rdb-cli (rdt -s) " + (
            "is on PATH but not measured by this script" if shutil.which("rdt") else
            "is not installed (its Maven build needs Maven Central)"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
