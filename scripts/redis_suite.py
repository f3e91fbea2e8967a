#!/usr/bin/env python3
"""Run Redis's own TCL unit tests against our server and real Redis.

The acceptance bar for ``rdbkit server``: the unit tests of Redis 7.0.15
(``tests/unit/*.tcl``, ``tests/unit/type/*.tcl``), their bodies untouched, run by
Redis's own ``test_helper.tcl`` with ``--host/--port`` against a server this
script starts fresh for every unit, with a per-unit timeout. The same units run
against real ``redis-server`` give the baseline, side by side.

Usage::

    python scripts/redis_suite.py --src ~/src/redis-7.0.15            # both servers, every unit
    python scripts/redis_suite.py --src DIR --server ours --unit type/string --unit scripting
    python scripts/redis_suite.py --src DIR --allow debug,pfdebug,save,repl --details
    python scripts/redis_suite.py --src DIR --harness --unit acl --unit acl-v2 --unit auth

Units run with ``--durable``, so a test that raises (an unknown command, say) counts
as failed and the unit goes on. ``--src`` is a Redis 7.0.15 source tree (only ``tests/`` and ``runtest`` are used;
nothing is built). ``--allow`` lifts the ``needs:*`` tags external mode denies by
default (``-slow -needs:debug -needs:pfdebug -needs:repl -needs:save``). With
``--json FILE`` the per-test results are written out for later comparison.
``--details`` lists the tests that pass on real Redis and fail on ours.

Units tagged ``external:skip`` (``acl``, ``acl-v2``, ``auth`` ...) start servers of
their own with chosen configurations, so external mode cannot run them. ``--harness``
runs each unit in the suite's own mode instead: a copy of the source's ``tests/`` in a
scratch directory next to a ``src/`` whose ``redis-server`` is a wrapper that execs our
server (``python -m engine``) or real ``redis-server``, and whose other tools
(``redis-cli``, ``redis-benchmark``, ``redis-check-aof``, ``redis-check-rdb``) are the
installed ones. The harness then starts, configures and kills servers as it does for a
Redis build; no tag is denied (``--allow`` does not apply).

``--cluster-tests`` runs Redis Cluster's own suite instead (``tests/cluster/tests/*.tcl``,
driven by ``tests/cluster/run.tcl``, which spawns twenty ``redis-server`` instances with
``cluster-enabled yes`` from the same kind of scratch tree and runs every test on them):
one harness run per unit, ``--unit 04-resharding`` picks units by name.

A developer tool (a full run takes tens of minutes), not part of ``.ci/run``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DENY = ["slow", "needs:debug", "needs:pfdebug", "needs:repl", "needs:save"]
ANSI = re.compile(rb"\x1b\[[0-9;]*m")
LINE = re.compile(r"^\[(ok|err|exception|skip|ignore|TIMEOUT)\]:?\s*(.*)$")
SERVER_ARGS = ["--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
               "--loglevel", "warning"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def units_of(src: Path) -> list[str]:
    found = []
    for sub in ("unit", "unit/type"):
        for p in sorted((src / "tests" / sub).glob("*.tcl")):
            if p.stem != "list-common":  # sourced by the list units, not a unit
                found.append(f"{sub}/{p.stem}")
    return found


def start_server(kind: str, workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    if kind == "ours":
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        argv = [sys.executable, "-m", "engine"]
    else:
        env = dict(os.environ)
        argv = [shutil.which("redis-server") or "/usr/bin/redis-server"]
    argv += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), *SERVER_ARGS]
    log = open(workdir / "server.log", "wb")
    proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server exited with {proc.returncode}; log: {workdir / 'server.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start on port {port}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def harness_tree(src: Path, kind: str, work: Path) -> Path:
    """A scratch copy of the suite where ``src/redis-server`` runs *kind*; returns its root.

    The harness spawns ``src/redis-server CONFIG [args]`` through ``/usr/bin/env`` and
    waits for `` PID: <pid>`` in its stdout, so the wrapper must ``exec`` (same pid).
    Config and data paths are relative to the harness's cwd, which the server keeps."""
    root = work / "redis"
    shutil.copytree(src / "tests", root / "tests", ignore=shutil.ignore_patterns("tmp"))
    (root / "tests" / "tmp").mkdir()
    bin_dir = root / "src"
    bin_dir.mkdir()
    if kind == "ours":
        path = str(ROOT) + "${PYTHONPATH:+:$PYTHONPATH}"
        body = f'PYTHONPATH="{path}" exec "{sys.executable}" -m engine "$@"\n'
    else:
        body = f'exec "{shutil.which("redis-server") or "/usr/bin/redis-server"}" "$@"\n'
    wrapper = bin_dir / "redis-server"
    wrapper.write_text("#!/bin/sh\n" + body)
    wrapper.chmod(0o755)
    for tool in ("redis-cli", "redis-benchmark", "redis-check-aof", "redis-check-rdb"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return root


def run_tcl(cmd: list[str], cwd: Path, timeout: float, result: dict) -> bytes:
    """Run the harness in a session of its own, so the servers it spawns die with it."""
    tcl = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=dict(os.environ, TERM="dumb"), start_new_session=True)
    out = b""
    try:
        out, _ = tcl.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        result["timeout"] = True
    finally:
        try:
            os.killpg(tcl.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if result["timeout"]:
            out, _ = tcl.communicate()
    return out


def run_unit(src: Path, kind: str, unit: str, tags: list[str], timeout: float,
             harness: bool = False) -> dict:
    """One unit against a fresh server; returns {'passed': [...], 'failed': [...], ...}.

    With *harness* the suite starts its own servers from a scratch tree (harness_tree)."""
    work = Path(tempfile.mkdtemp(prefix=f"suite-{kind}-"))
    result: dict = {"passed": [], "failed": [], "exception": None, "timeout": False}
    proc = None
    cwd = src
    cmd = ["tclsh", "tests/test_helper.tcl", "--single", unit, "--clients", "1",
           "--timeout", str(int(timeout)), "--durable",
           # the harness listens on a port below --baseport: a random range per run, so
           # runs side by side (several units, several checkouts) do not collide
           "--baseport", str(random.randrange(22000, 30000, 64)), "--portcount", "64"]
    if tags:
        cmd += ["--tags", " ".join(tags)]
    if harness:
        cwd = harness_tree(src, kind, work)
    else:
        try:
            proc, port = start_server(kind, work)
        except RuntimeError as exc:
            result["exception"] = str(exc)
            return result
        cmd += ["--host", "127.0.0.1", "--port", str(port)]
    try:
        for _attempt in range(3):
            out = run_tcl(cmd, cwd, timeout, result)
            # another run took the harness's own port (its range is random): try another
            if b"couldn't open socket: address already in use" not in out[:2000]:
                break
            cmd[cmd.index("--baseport") + 1] = str(random.randrange(22000, 30000, 64))
    finally:
        alive = proc is None or proc.poll() is None
        if proc is not None:
            stop_server(proc)
    for raw in ANSI.sub(b"", out).decode("utf-8", "replace").splitlines():
        m = LINE.match(raw.strip())
        if not m:
            continue
        what, text = m.groups()
        if what == "ok":
            result["passed"].append(re.sub(r" \(\d+ ms\)$", "", text))
        elif what == "err":
            result["failed"].append(re.sub(r" in tests/\S+$", "", text))
        elif what in ("exception", "TIMEOUT"):
            result["exception"] = text[:300]
    if not alive:
        result["exception"] = (result["exception"] or "") + " [server died]"
    if harness:  # the copied suite (its servers' logs went with its own cleanup)
        shutil.rmtree(cwd, ignore_errors=True)
    (work / "suite.out").write_bytes(out)
    result["log"] = str(work)
    return result


CLUSTER_LINE = re.compile(r"^\d\d:\d\d:\d\d> (.*): (OK|FAILED: .*)$")


def cluster_units(src: Path) -> list[str]:
    return sorted(p.stem for p in (src / "tests" / "cluster" / "tests").glob("*.tcl"))


def run_cluster_unit(src: Path, kind: str, unit: str, timeout: float) -> dict:
    """One unit of ``tests/cluster`` through its own harness (``run.tcl --single``).

    The harness prints ``HH:MM:SS> <test>: OK`` or ``... : FAILED: <why>`` (a failed
    assertion ends the unit); an error raised by a test body ends it too, printed as
    ``FAILED: caught an error in the test``."""
    work = Path(tempfile.mkdtemp(prefix=f"cluster-suite-{kind}-"))
    result: dict = {"passed": [], "failed": [], "exception": None, "timeout": False}
    root = harness_tree(src, kind, work)
    (root / "tests" / "cluster" / "tmp").mkdir(exist_ok=True)
    out = run_tcl(["tclsh", "tests/cluster/run.tcl", "--single", f"{unit}.tcl"], root, timeout, result)
    for raw in ANSI.sub(b"", out).decode("utf-8", "replace").splitlines():
        m = CLUSTER_LINE.match(raw.strip())
        if m:
            (result["passed"] if m.group(2) == "OK" else result["failed"]).append(m.group(1))
        elif raw.startswith("FAILED: caught an error"):
            result["exception"] = raw[:300]
    shutil.rmtree(root, ignore_errors=True)
    (work / "suite.out").write_bytes(out)
    result["log"] = str(work)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, default=os.environ.get("REDIS_SRC"),
                    help="a Redis 7.0.15 source tree (default: $REDIS_SRC)")
    ap.add_argument("--server", choices=["ours", "real", "both"], default="both")
    ap.add_argument("--unit", action="append", help="e.g. type/string (repeatable; default: all)")
    ap.add_argument("--allow", default="", help="needs:* tags to allow, e.g. debug,pfdebug,save,repl")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per unit")
    ap.add_argument("--json", type=Path, help="write per-test results here")
    ap.add_argument("--details", action="store_true", help="list tests passing on real, failing on ours")
    ap.add_argument("--harness", action="store_true",
                    help="let the suite start its own servers (runs external:skip units)")
    ap.add_argument("--cluster-tests", action="store_true",
                    help="run tests/cluster (Redis Cluster's suite) instead of tests/unit")
    args = ap.parse_args()
    if args.src is None or not (args.src / "tests" / "test_helper.tcl").exists():
        ap.error("--src must point at a Redis 7.0.15 source tree (with tests/test_helper.tcl)")
    if shutil.which("tclsh") is None:
        ap.error("tclsh is needed (apt-get install -y tcl)")
    allowed = {f"needs:{t.strip()}" for t in args.allow.split(",") if t.strip()}
    tags = [] if args.harness else [f"-{t}" for t in DEFAULT_DENY if t not in allowed]
    if args.cluster_tests:
        units = [f"cluster/{u}" for u in (args.unit or cluster_units(args.src))]
    else:
        units = [u if u.startswith("unit/") else f"unit/{u}" for u in (args.unit or units_of(args.src))]
    kinds = ["real", "ours"] if args.server == "both" else [args.server]
    results: dict[str, dict[str, dict]] = {k: {} for k in kinds}
    print(f"{'unit':32}" + "".join(f"{k:>16}" for k in kinds) + ("   lost" if len(kinds) == 2 else ""))
    for unit in units:
        for k in kinds:
            if args.cluster_tests:
                results[k][unit] = run_cluster_unit(args.src, k, unit[8:], args.timeout)
            else:
                results[k][unit] = run_unit(args.src, k, unit, tags, args.timeout, args.harness)
        row = f"{unit.split('/', 1)[1]:32}"
        for k in kinds:
            r = results[k][unit]
            cell = f"{len(r['passed'])}/{len(r['passed']) + len(r['failed'])}"
            if r["exception"] or r["timeout"]:
                cell += "!"
            row += f"{cell:>16}"
        if len(kinds) == 2:
            lost = set(results["real"][unit]["passed"]) - set(results["ours"][unit]["passed"])
            row += f"   {len(lost)}"
        print(row, flush=True)
    print("-" * 70)
    total = f"{'total':32}"
    for k in kinds:
        p = sum(len(r["passed"]) for r in results[k].values())
        f = sum(len(r["failed"]) for r in results[k].values())
        total += f"{f'{p}/{p + f}':>16}"
    print(total)
    print("(passed/run; '!' = the unit stopped early on an exception or timeout)")
    if len(kinds) == 2:
        lost_all = {u: sorted(set(results["real"][u]["passed"]) - set(results["ours"][u]["passed"]))
                    for u in units}
        n = sum(len(v) for v in lost_all.values())
        print(f"tests passing on real Redis and not on ours: {n}")
        if args.details:
            for u, names in lost_all.items():
                for name in names:
                    print(f"  {u}: {name}")
                if results["ours"][u]["exception"]:
                    print(f"  {u}: [exception] {results['ours'][u]['exception']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
