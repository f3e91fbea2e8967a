"""``rdbkit convert`` and ``merge`` with ``--on-duplicate``: CPU seconds and peak RSS.

On the 1M-key dataset of ``bench_diff.py`` (``mixed-1m-rdb10.rdb``, its JSONL made by
``convert`` on first use, and ``mixed-1m-rdb9.rdb``: the same keys, so merging the two
repeats every key — the case where keeping each repeated key's position in memory grew
to ~300 MB), and with ``--big`` the 10M-key file (``dataset.py --synthetic``, minutes).

Target: peak RSS <= 100 MB whatever the size (the duplicate policies spill sorted runs
to ``--tmpdir``), CPU within 1.5x of the in-memory code. ``--baseline DIR`` runs the same
commands with another checkout's code beside ours (e.g. a worktree of the previous
revision). Run: ``python bench/bench_dedup.py [--baseline DIR] [--big]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_diff import BIG, DATA, HERE, TARGET_MB, ensure_data, run

JSONL = DATA / "mixed-1m-rdb10.jsonl"


def cases(big: bool) -> list[tuple[str, list[str]]]:
    f10, f9 = str(DATA / "mixed-1m-rdb10.rdb"), str(DATA / "mixed-1m-rdb9.rdb")
    out = [
        ("convert RDB -> RDB (error)", ["convert", f10, "{out}.rdb"]),
        ("convert JSONL -> RDB (error)", ["convert", str(JSONL), "{out}.rdb"]),
        ("convert RDB -> RDB --on-duplicate last", ["convert", f10, "{out}.rdb", "--on-duplicate", "last"]),
        ("merge rdb10 rdb9 --on-duplicate first", ["merge", f10, f9, "-o", "{out}.rdb", "--on-duplicate", "first"]),
        ("merge rdb10 rdb9 --on-duplicate last", ["merge", f10, f9, "-o", "{out}.rdb", "--on-duplicate", "last"]),
    ]
    if big:
        out += [("convert 10M RDB -> RDB (error)", ["convert", str(BIG), "{out}.rdb"]),
                ("convert 10M RDB -> RDB --on-duplicate last",
                 ["convert", str(BIG), "{out}.rdb", "--on-duplicate", "last"])]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="a checkout whose commands run beside ours")
    ap.add_argument("--big", action="store_true", help="the 10M-key file too (made on first use)")
    opts = ap.parse_args()
    ensure_data(opts.big)
    if not JSONL.exists():
        subprocess.run([sys.executable, "-m", "cli", "convert", str(DATA / "mixed-1m-rdb10.rdb"), str(JSONL)],
                       cwd=HERE.parent, check=True)
    roots = [("ours", HERE.parent)] + ([("baseline", opts.baseline.resolve())] if opts.baseline else [])
    print(f"{'command':<44} {'code':<8} {'wall':>7} {'cpu':>7} {'peak RSS':>9}")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as work:
        for name, argv in cases(opts.big):
            for label, root in roots:
                cmd = [sys.executable, "-m", "cli", *(a.format(out=os.path.join(work, "out")) for a in argv)]
                cwd = os.getcwd()
                os.chdir(root)
                try:
                    dt, cpu, rss, _ = run(cmd, Path(work) / "stdout")
                finally:
                    os.chdir(cwd)
                if label == "ours":
                    worst = max(worst, rss)
                print(f"{name:<44} {label:<8} {dt:6.1f}s {cpu:6.1f}s {rss:6.0f} MB")
    print(f"target: peak RSS <= {TARGET_MB} MB: {'met' if worst <= TARGET_MB else 'NOT met'} (worst "
          f"{worst:.0f} MB). Load average now {os.getloadavg()[0]:.1f}: read the CPU column")


if __name__ == "__main__":
    main()
