"""Server configuration: one table of typed entries, redis.conf parsing, redis-server args.

Each :class:`ConfigSpec` names a directive (and its alias), its type, default,
bounds and whether ``CONFIG SET`` may change it. :class:`Config` holds the live
values; every value is also mirrored as an attribute with ``-`` replaced by
``_`` (``cfg.hash_max_listpack_entries``) because the command handlers read the
thresholds on hot paths.

Parsing mirrors redis-server (``loadServerConfigFromString``): the file is split
into lines, ``#`` lines skipped, arguments split with sds rules (quotes and
escapes), and ``--name value ...`` command line options are appended as more
lines, so the last occurrence wins.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aof.manifest import sdscatrepr
from engine import oom
from engine.errors import ConfigError
from engine.notify import flags_from_string, flags_to_string
from rdbtools.glob import glob_matcher

REDIS_VERSION = "7.0.15"  # the Redis this server answers as (INFO, HELLO, --version)
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
UINT_MAX = 2**32 - 1
LONG_MAX = 2**63 - 1
ULLONG_MAX = 2**64 - 1

PROTECTED_ACTION = ("no", "yes", "local")  # protected_action_enum
MAXMEMORY_POLICIES = (
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction",
)


class ConfigValueError(ConfigError):
    """A value that does not fit its directive; ``str()`` is Redis's reason text."""


@dataclass(slots=True)
class ConfigSpec:
    name: str
    kind: str  # bool | int | memory | string | words | enum | special
    default: Any
    mutable: bool = True
    # PROTECTED_CONFIG: CONFIG SET only where enable-protected-configs allows it
    protected: bool = False
    alias: str | None = None
    lo: int = 0
    hi: int = LONG_MAX
    choices: tuple[str, ...] = ()
    # True when the server honours the value; False: accepted (so real redis.conf
    # files load) and shown by CONFIG GET, with no effect on this server.
    effective: bool = True
    # Values other than the default that this server cannot honour (refused).
    refuse_non_default: bool = False
    # HIDDEN_CONFIG: CONFIG GET shows it only when asked for by its exact name.
    hidden: bool = False
    clamp: tuple[int, int] | None = None
    # A special directive whose CONFIG SET value is one argument, spaces and all (no
    # MULTI_ARG_CONFIG flag in Redis): the parser sees it unsplit.
    one_arg: bool = False
    parse: Callable[[list[str]], Any] | None = field(default=None, repr=False)
    render: Callable[[Any], str] | None = field(default=None, repr=False)


_HOSTNAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."


def memtoll(text: str) -> int:
    """Parse a memory value like Redis's ``memtoll``: 1k=1000, 1kb=1024, ... (case-insensitive)."""
    s = text.strip().lower()
    mul = 1
    for suffix, m in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024), ("g", 1000**3),
                      ("m", 1000**2), ("k", 1000), ("b", 1)):
        if s.endswith(suffix):
            mul = m
            s = s[: -len(suffix)]
            break
    if not s or not (s.isdigit() or (s[0] == "-" and s[1:].isdigit())):
        raise ValueError(text)
    return int(s) * mul


def _parse_replicaof(args: list[str]) -> str:
    """``replicaof <host> <port>`` (or ``no one``): kept as "host port", "" for none."""
    if len(args) != 2:
        raise ConfigValueError("wrong number of arguments")
    if args[0].lower() == "no" and args[1].lower() == "one":
        return ""
    try:
        port = int(args[1])
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigValueError("Invalid master port")
    return f"{args[0]} {port}"


def _parse_save(args: list[str]) -> str:
    """setConfigSaveOption: pairs of seconds (>= 1) and changes (>= 0); a lone ""
    means no save points."""
    parts = " ".join(args).split()
    if len(parts) % 2:
        raise ConfigValueError("Invalid save parameters")
    for j, p in enumerate(parts):
        body = p[1:] if p[:1] in "+-" else p
        if not body.isdigit() or int(p) < (1 - j % 2):
            raise ConfigValueError("Invalid save parameters")
    return " ".join(str(int(p)) for p in parts)


def _parse_percentiles(args: list[str]) -> str:
    """``latency-tracking-info-percentiles``: doubles in [0, 100] (string2d), kept as
    "%f" trimmed of its trailing zeros; a lone "" means none."""
    if args == [""]:
        return ""
    out = []
    for a in args:
        try:
            if a != a.strip() or a.lower().lstrip("+-") in ("nan", "inf", "infinity"):
                raise ValueError(a)
            p = float(a)
        except ValueError:
            raise ConfigValueError("Invalid latency-tracking-info-percentiles parameters") from None
        if not 0.0 <= p <= 100.0:
            raise ConfigValueError("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        out.append(f"{p:f}".rstrip("0").rstrip("."))
    return " ".join(out)


def _parse_oom_mode(args: list[str]) -> str:
    """``oom-score-adj``: no, yes, relative (the same as yes, shown as yes), absolute."""
    mode = args[0].lower() if len(args) == 1 else ""
    if mode not in ("no", "yes", "relative", "absolute"):
        raise ConfigValueError("argument(s) must be one of the following: no, yes, relative, absolute")
    return "yes" if mode == "relative" else mode


def _parse_oom_values(args: list[str]) -> str:
    try:
        return oom.parse_values(" ".join(args).split(" ") if len(args) == 1 else args)
    except ValueError as exc:
        raise ConfigValueError(str(exc)) from None


def _parse_memory_percent(args: list[str]) -> int:
    """numericParseString for MEMORY_CONFIG|PERCENT_CONFIG (maxmemory-clients): memtoull
    bytes, else ``N%`` stored as -N; at most 100%."""
    if len(args) != 1:
        raise ConfigValueError("wrong number of arguments")
    text = args[0]
    try:
        v = memtoll(text)
        if v < 0:
            raise ValueError(text)
        return v
    except ValueError:
        pass
    num = text[:-1]
    if len(text) > 1 and text.endswith("%") and (num.isdigit() or (num[:1] == "-" and num[1:].isdigit())):
        v = -int(num)
        if v <= 0:
            if v < -100:
                raise ConfigValueError("percentage argument must be less or equal to 100")
            return v
    raise ConfigValueError("argument must be a memory or percent value")


def _render_memory_percent(v: int) -> str:
    return f"{-v}%" if v < 0 else str(v)


def _parse_sig_flags(args: list[str]) -> str:
    """``shutdown-on-sigterm``/``-sigint``: several of default|save|nosave|now|force (a
    MULTI_ARG enum), kept as configEnumGetName renders them: "default", or the names set
    in enum order ("now force" -> "now force", "force save" -> "save force")."""
    words = [w.lower() for w in " ".join(args).split()]
    if not words or any(w not in ("default", *_SHUTDOWN_FLAGS) for w in words):
        raise ConfigValueError("argument(s) must be one of the following: default, save, nosave, now, force")
    if "save" in words and "nosave" in words:
        raise ConfigValueError("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return " ".join(f for f in _SHUTDOWN_FLAGS if f in words) or "default"


_SHUTDOWN_FLAGS = ("save", "nosave", "now", "force")


def _parse_notify_flags(args: list[str]) -> int:
    """``notify-keyspace-events``: the class letters as flags (engine.notify)."""
    if len(args) != 1:
        raise ConfigValueError("wrong number of arguments")
    flags = flags_from_string(args[0])
    if flags is None:
        raise ConfigValueError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return flags


_COBL_CLASSES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}
_MEM_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_C_SPACE = " \t\n\v\f\r"
COBL_BAD_VALUE = "Error in hard, soft or soft_seconds setting in buffer limit configuration."


def memtoull(text: str) -> int:
    """Mirrors memtoull: ASCII digits then an optional unit (1k=1000, 1kb=1024, case-insensitive),
    no sign; like the C code, digits past ULLONG_MAX saturate and the product wraps at 2**64."""
    i = 0
    while i < len(text) and "0" <= text[i] <= "9":
        i += 1
    mul = _MEM_UNITS.get(text[i:].lower())
    if mul is None or text.startswith("-") or i >= 128:
        raise ValueError(text)
    return min(int(text[:i] or "0"), ULLONG_MAX) * mul % (ULLONG_MAX + 1)


def _soft_seconds(text: str) -> int:
    """``soft_seconds = strtoll(arg, &eptr, 10)`` into a C int: leading blanks and a sign are
    accepted, the value saturates at the long long range, then keeps its low 32 bits."""
    body = text.lstrip(_C_SPACE)
    sign = -1 if body[:1] == "-" else 1
    digits = body[1:] if body[:1] in ("+", "-") else body
    if not digits:
        if text:
            raise ValueError(text)  # no conversion: eptr stays at the start
        return 0
    if not all("0" <= ch <= "9" for ch in digits):
        raise ValueError(text)
    v = max(min(sign * int(digits), 2**63 - 1), -(2**63)) & UINT_MAX
    return v - 2**32 if v > INT_MAX else v


def _parse_cobl_into(current: dict[str, tuple[int, int, int]], args: list[str]) -> None:
    """updateClientOutputBufferLimit: ``<class> <hard> <soft> <soft_seconds>`` groups; all are
    checked before any is applied, and a class named twice keeps the last group."""
    if len(args) % 4:
        raise ConfigValueError("Wrong number of arguments in buffer limit configuration.")
    values = {}
    for i in range(0, len(args), 4):
        cls = _COBL_CLASSES.get(args[i].lower())
        if cls is None:
            raise ConfigValueError("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft, secs = memtoull(args[i + 1]), memtoull(args[i + 2]), _soft_seconds(args[i + 3])
        except ValueError:
            raise ConfigValueError(COBL_BAD_VALUE) from None
        if secs < 0:
            raise ConfigValueError(COBL_BAD_VALUE)
        values[cls] = (hard, soft, secs)
    current.update(values)


def _render_cobl(v: dict[str, tuple[int, int, int]]) -> str:
    """CONFIG GET: every class in bytes, the replica class under its old name."""
    return " ".join(f"{c} {v[c][0]} {v[c][1]} {v[c][2]}" for c in ("normal", "slave", "pubsub"))


def format_memory(n: int) -> str:
    """rewriteConfigFormatMemory: the largest whole unit of gb, mb, kb, else bytes."""
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def cobl_rewrite_lines(v: dict[str, tuple[int, int, int]]) -> list[tuple[str, bool]]:
    """rewriteConfigClientOutputBufferLimitOption: a line per class (``replica``, not
    ``slave``), forced when it differs from the class's default."""
    out = []
    for cls, default in _default_cobl().items():
        hard, soft, secs = v[cls]
        name = "replica" if cls == "slave" else cls
        out.append((f"client-output-buffer-limit {name} {format_memory(hard)} {format_memory(soft)} {secs}",
                    v[cls] != default))
    return out


def _specs() -> list[ConfigSpec]:
    S = ConfigSpec
    specs = [
        # networking / process
        S("port", "int", 6379, lo=0, hi=65535),  # CONFIG SET rebinds (engine.server.listeners)
        S("bind", "words", "127.0.0.1"),
        S("protected-mode", "bool", True),
        S("requirepass", "string", ""),
        S("maxclients", "int", 10000, lo=1, hi=UINT_MAX),
        S("timeout", "int", 0, lo=0, hi=INT_MAX),
        S("tcp-keepalive", "int", 300, lo=0, hi=INT_MAX),
        S("tcp-backlog", "int", 511, mutable=False, lo=0, hi=INT_MAX),
        S("databases", "int", 16, mutable=False, lo=1, hi=INT_MAX),
        S("hz", "int", 10, lo=0, hi=INT_MAX, clamp=(1, 500)),
        S("daemonize", "bool", False, mutable=False),
        S("pidfile", "string", "", mutable=False),
        S("logfile", "string", "", mutable=False),
        S("loglevel", "enum", "notice", choices=("debug", "verbose", "notice", "warning", "nothing")),
        S("dir", "string", "", protected=True),
        S("dbfilename", "string", "dump.rdb", protected=True),
        # who may run DEBUG / change protected configs (allow_protected_action); immutable so a
        # client cannot grant itself either
        S("enable-debug-command", "enum", "no", mutable=False, choices=PROTECTED_ACTION),
        S("enable-protected-configs", "enum", "no", mutable=False, choices=PROTECTED_ACTION),
        S("enable-module-command", "enum", "no", mutable=False, choices=PROTECTED_ACTION),
        # payloads are always validated deeply here (nothing unchecked is kept); the value
        # decides what INFO's dump_payload_sanitizations counts
        S("sanitize-dump-payload", "enum", "no", choices=("no", "yes", "clients")),
        # what a replica or an AOF load does with a command that fails: here always "ignore"
        # (logged, loading goes on); the value is kept for CONFIG GET
        S("propagation-error-behavior", "enum", "ignore", choices=("ignore", "panic", "panic-on-replicas"),
          effective=False),
        S("proto-max-bulk-len", "memory", 512 * 1024 * 1024, lo=1024 * 1024, hi=LONG_MAX),
        S("client-query-buffer-limit", "memory", 1024**3, lo=1024 * 1024, hi=LONG_MAX),
        S("client-output-buffer-limit", "special", None,
          render=_render_cobl),
        S("slowlog-log-slower-than", "int", 10000, lo=-1, hi=LONG_MAX),
        S("slowlog-max-len", "int", 128, lo=0, hi=LONG_MAX),
        S("active-expire-effort", "int", 1, lo=1, hi=10),
        S("maxmemory", "memory", 0, lo=0, hi=ULLONG_MAX),
        S("maxmemory-policy", "enum", "noeviction", choices=MAXMEMORY_POLICIES),
        S("maxmemory-samples", "int", 5, lo=1, hi=INT_MAX),
        S("maxmemory-eviction-tenacity", "int", 10, lo=0, hi=100),
        S("lazyfree-lazy-eviction", "bool", False),
        S("lfu-log-factor", "int", 10, lo=0, hi=INT_MAX),
        S("lfu-decay-time", "int", 1, lo=0, hi=INT_MAX),
        # encodings (docs/formats.md §10.1)
        S("hash-max-listpack-entries", "int", 512, alias="hash-max-ziplist-entries"),
        S("hash-max-listpack-value", "memory", 64, alias="hash-max-ziplist-value"),
        S("zset-max-listpack-entries", "int", 128, alias="zset-max-ziplist-entries"),
        S("zset-max-listpack-value", "memory", 64, alias="zset-max-ziplist-value"),
        S("set-max-intset-entries", "int", 512),
        S("list-max-listpack-size", "int", -2, alias="list-max-ziplist-size", lo=INT_MIN, hi=INT_MAX),
        S("list-compress-depth", "int", 0, lo=0, hi=INT_MAX),
        S("save", "special", "3600 1 300 100 60 10000", parse=_parse_save, effective=False),
        S("stop-writes-on-bgsave-error", "bool", True),
        S("rdb-key-save-delay", "int", 0, lo=INT_MIN, hi=INT_MAX, hidden=True),
        # the other HIDDEN_CONFIGs of 7.0 (test hooks there): accepted, no effect here
        S("key-load-delay", "int", 0, lo=INT_MIN, hi=INT_MAX, hidden=True),
        S("use-exit-on-panic", "bool", False, mutable=False, hidden=True, effective=False),
        S("watchdog-period", "int", 0, lo=0, hi=INT_MAX, hidden=True, effective=False),
        S("loading-process-events-interval-bytes", "int", 2 * 1024 * 1024, lo=1024, hi=INT_MAX,
          hidden=True, effective=False),
        # MEMORY_CONFIG|PERCENT_CONFIG: bytes, or a percentage of maxmemory kept negative
        S("maxmemory-clients", "special", 0, parse=_parse_memory_percent, render=_render_memory_percent,
          one_arg=True),
        S("acl-pubsub-default", "enum", "resetchannels", choices=("allchannels", "resetchannels"),
          effective=False),
        S("cluster-preferred-endpoint-type", "enum", "ip", choices=("ip", "hostname", "unknown-endpoint")),
        S("propagation-error-behavior", "enum", "ignore", choices=("ignore", "panic", "panic-on-replicas"),
          effective=False),
        S("tls-auth-clients", "enum", "yes", choices=("no", "yes", "optional"), effective=False),
        # append only file (engine.persistence.aof_state)
        S("appendonly", "bool", False),
        S("appendfsync", "enum", "everysec", choices=("always", "everysec", "no")),
        S("appendfilename", "string", "appendonly.aof", mutable=False),
        S("appenddirname", "string", "appendonlydir", mutable=False),
        S("no-appendfsync-on-rewrite", "bool", False),
        S("auto-aof-rewrite-percentage", "int", 100, lo=0, hi=INT_MAX),
        S("auto-aof-rewrite-min-size", "memory", 64 * 1024 * 1024, lo=0, hi=LONG_MAX),
        S("aof-load-truncated", "bool", True),
        S("aof-use-rdb-preamble", "bool", True),
        S("aof-timestamp-enabled", "bool", False),
        S("aof-rewrite-incremental-fsync", "bool", True),
        # replication (engine.replication)
        S("replicaof", "special", "", mutable=False, alias="slaveof", parse=_parse_replicaof),
        S("masterauth", "string", ""), S("masteruser", "string", ""),
        S("bind-source-addr", "string", ""),  # where a replica connects to its master from
        S("replica-read-only", "bool", True, alias="slave-read-only"),
        S("replica-serve-stale-data", "bool", True, alias="slave-serve-stale-data"),
        S("replica-priority", "int", 100, alias="slave-priority", lo=0, hi=INT_MAX),
        S("replica-announced", "bool", True),
        S("replica-announce-ip", "string", "", alias="slave-announce-ip"),
        S("replica-announce-port", "int", 0, alias="slave-announce-port", lo=0, hi=65535),
        S("repl-diskless-sync", "bool", True),
        S("repl-diskless-sync-delay", "int", 5, lo=0, hi=INT_MAX),
        S("repl-backlog-size", "memory", 1024 * 1024, lo=1, hi=LONG_MAX),
        S("repl-backlog-ttl", "int", 3600, lo=0, hi=INT_MAX),
        S("repl-timeout", "int", 60, lo=1, hi=INT_MAX),
        S("repl-ping-replica-period", "int", 10, alias="repl-ping-slave-period", lo=1, hi=INT_MAX),
        S("min-replicas-to-write", "int", 0, alias="min-slaves-to-write", lo=0, hi=INT_MAX),
        S("min-replicas-max-lag", "int", 10, alias="min-slaves-max-lag", lo=0, hi=INT_MAX),
        S("cluster-enabled", "bool", False, mutable=False),
        S("tls-port", "int", 0, lo=0, hi=65535, refuse_non_default=True),
        # a second listener (engine.server.app), as the harness of Redis's suite configures
        S("unixsocket", "string", "", mutable=False),
        S("unixsocketperm", "string", "0", mutable=False),  # octal; 0: the umask decides
        # ACL (engine.acl): users from `user` lines or the ACL file
        S("aclfile", "string", "", mutable=False),
        S("acl-pubsub-default", "enum", "resetchannels", choices=("allchannels", "resetchannels")),
        S("acllog-max-len", "int", 128, lo=0, hi=LONG_MAX),
        # shutdown (engine.server.shutdown)
        S("shutdown-timeout", "int", 10, lo=0, hi=INT_MAX),
        S("shutdown-on-sigint", "special", "default", parse=_parse_sig_flags),
        S("shutdown-on-sigterm", "special", "default", parse=_parse_sig_flags),
        # keyspace notifications (engine.notify): kept as flags, shown in canonical order
        S("notify-keyspace-events", "special", 0, parse=_parse_notify_flags, render=flags_to_string,
          one_arg=True),
        # the process's oom_score_adj by role (engine.oom)
        S("oom-score-adj", "special", "no", parse=_parse_oom_mode),
        S("oom-score-adj-values", "special", "0 200 800", parse=_parse_oom_values),
        # INFO latencystats (engine.server.info)
        S("latency-tracking-info-percentiles", "special", "50 99 99.9", parse=_parse_percentiles),
        # client-side caching (engine.tracking): keys past it are invalidated
        S("tracking-table-max-keys", "int", 1000000, lo=0, hi=LONG_MAX),
    ]
    noop = [  # accepted so redis.conf files load; no effect here
        ("stream-node-max-bytes", "memory", 4096), ("stream-node-max-entries", "int", 100),
        ("hll-sparse-max-bytes", "memory", 3000), ("activerehashing", "bool", True),
        ("dynamic-hz", "bool", True), ("always-show-logo", "bool", False),
        ("set-proc-title", "bool", True), ("proc-title-template", "string", "{title} {listen-addr} {server-mode}"),
        ("rdbcompression", "bool", True),
        ("rdbchecksum", "bool", True), ("rdb-del-sync-files", "bool", False),
        ("repl-diskless-sync-max-replicas", "int", 0), ("repl-diskless-load", "string", "disabled"),
        ("repl-disable-tcp-nodelay", "bool", False),
        ("lazyfree-lazy-expire", "bool", False), ("lazyfree-lazy-server-del", "bool", False),
        ("replica-lazy-flush", "bool", False), ("lazyfree-lazy-user-del", "bool", False),
        ("lazyfree-lazy-user-flush", "bool", False), ("disable-thp", "bool", True),
        ("latency-monitor-threshold", "int", 0),
        ("rdb-save-incremental-fsync", "bool", True), ("jemalloc-bg-thread", "bool", True),
        ("supervised", "string", "no"), ("syslog-enabled", "bool", False),
        ("syslog-ident", "string", "redis"), ("syslog-facility", "string", "local0"),
        ("latency-tracking", "bool", True), ("io-threads", "int", 1), ("io-threads-do-reads", "bool", False),
        ("busy-reply-threshold", "int", 5000),
        ("crash-log-enabled", "bool", True), ("crash-memcheck-enabled", "bool", True),
        ("activedefrag", "bool", False),
        ("active-defrag-cycle-max", "int", 25), ("active-defrag-cycle-min", "int", 1),
        ("active-defrag-ignore-bytes", "memory", 104857600), ("active-defrag-max-scan-fields", "int", 1000),
        ("active-defrag-threshold-lower", "int", 10), ("active-defrag-threshold-upper", "int", 100),
        ("aof-disable-auto-gc", "bool", False),
        ("replica-ignore-disk-write-errors", "bool", False),
        ("cluster-allow-pubsubshard-when-down", "bool", True), ("cluster-allow-reads-when-down", "bool", False),
        ("cluster-allow-replica-migration", "bool", True), ("cluster-announce-bus-port", "int", 0),
        ("cluster-announce-hostname", "string", ""), ("cluster-announce-ip", "string", ""),
        ("cluster-announce-port", "int", 0), ("cluster-announce-tls-port", "int", 0),
        ("cluster-link-sendbuf-limit", "memory", 0), ("cluster-migration-barrier", "int", 1),
        ("cluster-node-timeout", "int", 15000), ("cluster-replica-no-failover", "bool", False),
        ("cluster-replica-validity-factor", "int", 10), ("cluster-require-full-coverage", "bool", True),
        ("tls-ca-cert-dir", "string", ""), ("tls-ca-cert-file", "string", ""), ("tls-cert-file", "string", ""),
        ("tls-ciphers", "string", ""), ("tls-ciphersuites", "string", ""),
        ("tls-client-cert-file", "string", ""), ("tls-client-key-file", "string", ""),
        ("tls-client-key-file-pass", "string", ""), ("tls-cluster", "bool", False),
        ("tls-dh-params-file", "string", ""), ("tls-key-file", "string", ""), ("tls-key-file-pass", "string", ""),
        ("tls-prefer-server-ciphers", "bool", False), ("tls-protocols", "string", ""),
        ("tls-replication", "bool", False), ("tls-session-cache-size", "int", 20480),
        ("tls-session-cache-timeout", "int", 300), ("tls-session-caching", "bool", True),
        ("replica-ignore-maxmemory", "bool", True),
        ("ignore-warnings", "string", ""),
        ("cluster-config-file", "string", "nodes.conf"), ("cluster-port", "int", 0),
        ("socket-mark-id", "int", 0),
        ("server_cpulist", "string", ""), ("bio_cpulist", "string", ""),
        ("aof_rewrite_cpulist", "string", ""), ("bgsave_cpulist", "string", ""),
    ]
    # IMMUTABLE_CONFIG in Redis 7.0: refused by CONFIG SET however harmless here
    immutable = {"rdbchecksum", "io-threads-do-reads", "always-show-logo", "set-proc-title",
                 "syslog-enabled", "disable-thp", "syslog-ident", "supervised",
                 "syslog-facility", "io-threads", "cluster-config-file", "cluster-port",
                 "socket-mark-id", "server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist"}
    aliases = {"replica-lazy-flush": "slave-lazy-flush",
               "replica-ignore-maxmemory": "slave-ignore-maxmemory", "busy-reply-threshold": "lua-time-limit",
               "cluster-replica-no-failover": "cluster-slave-no-failover",
               "cluster-replica-validity-factor": "cluster-slave-validity-factor"}
    for name, kind, default in noop:
        specs.append(S(name, kind, default, alias=aliases.get(name), effective=False, mutable=name not in immutable,
                       lo=INT_MIN if kind == "int" else 0))
    return specs


SPECS: tuple[ConfigSpec, ...] = tuple(_specs())
_BY_NAME: dict[str, ConfigSpec] = {}
for _s in SPECS:
    _BY_NAME[_s.name] = _s
    if _s.alias:
        _BY_NAME[_s.alias] = _s


def lookup(name: str) -> ConfigSpec | None:
    return _BY_NAME.get(name.lower())


def allow_protected_action(mode: str, local: bool) -> bool:
    """allowProtectedAction: an ``enable-*`` setting of ``yes`` allows everyone, ``local``
    only local connections (``engine.execution.client.is_local_peer``), ``no`` nobody."""
    return mode == "yes" or (mode == "local" and local)


def _default_cobl() -> dict[str, tuple[int, int, int]]:
    return {"normal": (0, 0, 0), "slave": (256 * 1024 * 1024, 64 * 1024 * 1024, 60),
            "pubsub": (32 * 1024 * 1024, 8 * 1024 * 1024, 60)}


class Config:
    """Live configuration values, with attribute mirrors for the hot ones."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.config_file: str | None = None
        self.user_lines: list[tuple[str, int, list[bytes]]] = []  # `user` directives, in order
        # `rename-command` directives in order: (source, line, text, old name, new name)
        self.renames: list[tuple[str, int, str, str, str]] = []
        self.save_loaded = False  # a save line was read at start (setConfigSaveOption)
        for spec in SPECS:
            default = spec.default
            if spec.name == "client-output-buffer-limit":
                default = _default_cobl()
            elif spec.name == "dir":
                default = os.getcwd()
            self._store(spec, default)

    # -- access -------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def _store(self, spec: ConfigSpec, value: Any) -> None:
        self.values[spec.name] = value
        setattr(self, spec.name.replace("-", "_"), value)
        if spec.alias:
            setattr(self, spec.alias.replace("-", "_"), value)

    def render(self, name: str) -> str:
        spec = _BY_NAME[name]
        v = self.values[spec.name]
        if spec.render:
            return spec.render(v)
        if spec.kind == "bool":
            return "yes" if v else "no"
        return str(v)

    # -- parsing ------------------------------------------------------------
    def convert(self, spec: ConfigSpec, args: list[str]) -> Any:
        """Turn directive arguments into a value, raising ConfigValueError with Redis's reason."""
        if spec.kind == "special":
            if spec.name == "client-output-buffer-limit":
                cur = dict(self.values[spec.name])
                _parse_cobl_into(cur, args)
                return cur
            assert spec.parse is not None
            return spec.parse(args)
        if spec.kind == "words":  # several arguments kept as one space-separated value
            return " ".join(" ".join(args).split())
        if len(args) != 1:
            raise ConfigValueError("wrong number of arguments")
        text = args[0]
        if spec.kind == "bool":
            t = text.lower()
            if t == "yes":
                return True
            if t == "no":
                return False
            raise ConfigValueError("argument must be 'yes' or 'no'")
        if spec.kind in ("int", "memory"):
            try:
                if spec.kind == "memory":
                    v = memtoll(text)
                else:
                    t = text.strip()
                    if not t or not (t.isdigit() or (t[0] == "-" and t[1:].isdigit())):
                        raise ValueError(text)
                    v = int(t)
            except ValueError:
                if spec.kind == "memory":
                    raise ConfigValueError("argument must be a memory value") from None
                raise ConfigValueError("argument couldn't be parsed into an integer") from None
            if v < spec.lo or v > spec.hi:
                raise ConfigValueError(f"argument must be between {spec.lo} and {spec.hi} inclusive")
            if spec.clamp:
                v = min(max(v, spec.clamp[0]), spec.clamp[1])
            return v
        if spec.kind == "enum" and spec.choices:
            t = text.lower()
            if t not in spec.choices:
                raise ConfigValueError(
                    "argument(s) must be one of the following: " + ", ".join(spec.choices))
            return t
        return text

    def apply(self, name: str, args: list[str], *, startup: bool) -> None:
        spec = lookup(name)
        if spec is None:
            raise ConfigError(f"Bad directive or wrong number of arguments: '{name}'")
        if not startup and not spec.mutable:
            raise ConfigValueError("can't set immutable config")
        value = self.convert(spec, args)
        if spec.refuse_non_default and value != spec.default:
            raise ConfigValueError(f"'{spec.name}' is not supported by this server")
        if spec.name in ("appendfilename", "appenddirname") and (
                not value or "/" in value or "\\" in value or value in (".", "..")):
            what = "filename" if spec.name == "appendfilename" else "dirname"
            raise ConfigValueError(f"{spec.name} can't be a path, just a {what}")
        if spec.name == "dir":
            value = os.path.abspath(value)
            if not startup:
                if not os.path.isdir(value):
                    raise ConfigValueError("No such file or directory")
        if spec.name == "cluster-announce-hostname":  # isValidAnnouncedHostname
            if len(value.encode()) >= 256:
                raise ConfigValueError("Hostnames must be less than 256 characters")
            if value.strip(_HOSTNAME_CHARS):
                raise ConfigValueError("Hostnames may only contain alphanumeric characters, hyphens or dots")
        if spec.name == "proc-title-template" and not self._title_template_ok(value):
            raise ConfigValueError("template format is invalid or contains unknown variables")
        if spec.name == "save" and startup:
            # the file's first save line replaces the defaults, later ones add points
            # (save_loaded in setConfigSaveOption); `save ""` clears them
            if self.save_loaded and args != [""]:
                value = f"{self.values['save']} {value}".strip()
            self.save_loaded = True
        self._store(spec, value)

    def _title_template_ok(self, template: str) -> bool:
        """validateProcTitleTemplate: sdstemplate's syntax (``{{`` a brace, ``{name}`` one
        of the known variables) expanding, with an empty title, to something not blank."""
        values = {"title": "", "listen-addr": "*:0", "server-mode": "", "port": "0", "tls-port": "0",
                  "config-file": self.config_file or "", "unixsocket": self.values.get("unixsocket", "")}
        out, i = [], 0
        while i < len(template):
            start = template.find("{", i)
            if start < 0:
                out.append(template[i:])
                break
            out.append(template[i:start])
            if start + 1 >= len(template):
                return False
            if template[start + 1] == "{":
                out.append("{")
                i = start + 2
                continue
            end = template.find("}", start + 1)
            if end < 0 or template[start + 1:end] not in values:
                return False
            out.append(values[template[start + 1:end]])
            i = end + 1
        return bool("".join(out).strip(" "))

    def load_lines(self, lines: Iterable[tuple[str, int, str]]) -> None:
        """Apply ``(source, line_no, text)`` lines like loadServerConfigFromString."""
        for source, line_no, text in lines:
            line = text.strip()
            if not line or line.startswith("#"):
                continue
            try:
                argv = split_args(line)
            except ValueError:
                raise ConfigError(f"{source}:{line_no}: Unbalanced quotes in configuration line") from None
            if not argv:
                continue
            name = argv[0].lower()
            if name == "include":
                if len(argv) != 2:
                    raise ConfigError(f"{source}:{line_no}: include needs one file name")
                self.load_lines(read_config_file(argv[1]))
                continue
            if name == "user" and len(argv) >= 2:  # validated and applied by engine.acl at start
                self.user_lines.append((source, line_no,
                                        [a.encode("utf-8", "surrogateescape") for a in argv]))
                continue
            if name == "loadmodule":  # Redis aborts when a module fails to load; none can here
                raise ConfigError(f"{source}:{line_no}: {line!r}: this server cannot load Redis modules "
                                  f"(C shared libraries built against Redis's module API); remove the "
                                  f"directive, or run the module in a real redis-server")
            if name == "rename-command" and len(argv) == 3:  # applied by the server at start
                self.renames.append((source, line_no, line, argv[1], argv[2]))
                continue
            if name == "rename-command":
                raise ConfigError(f"{source}:{line_no}: '{line}': Bad directive or wrong number of arguments")
            if name in ("user", "sentinel"):
                raise ConfigError(f"{source}:{line_no}: '{name}' is not supported by this server")
            spec = lookup(name)
            if spec is None:
                raise ConfigError(f"{source}:{line_no}: '{line}': Bad directive or wrong number of arguments")
            args = argv[1:]
            if spec.name == "client-output-buffer-limit" and len(args) == 1 and args[0]:
                # a multi-argument directive given as one ("--client-output-buffer-limit
                # 'normal 0 0 0'") is split like a line; an unbalanced one sets nothing
                try:
                    args = split_args(args[0])
                except ValueError:
                    args = []
            try:
                self.apply(name, args, startup=True)
            except ConfigValueError as exc:
                raise ConfigError(f"{source}:{line_no}: '{line}': {exc}") from None

    def matching(self, arg: bytes) -> list[str]:
        """The names one CONFIG GET argument selects, as configGetCommand picks them.

        Without ``[``, ``*`` or ``?`` (before any NUL: strpbrk) the argument names
        one config, hidden ones too, and Redis echoes it as typed. Otherwise it
        is a glob matched without case (stringmatch, so it ends at the first NUL)
        against every name and alias except the hidden ones.
        """
        head = arg.split(b"\0", 1)[0]
        if not any(c in head for c in b"[*?"):
            typed = arg.decode("latin-1")
            return [typed] if lookup(typed) is not None else []
        m = glob_matcher(head, nocase=True)
        return [n for spec in SPECS if not spec.hidden
                for n in (spec.name, spec.alias) if n and m(n.encode("ascii"))]

    def rewrite_lines(self) -> list[tuple[str, bool]]:
        """Directive lines for CONFIG REWRITE as rewriteConfig writes them, each with
        whether it is forced (written even where the file had no such directive: a
        value off its default, ``dir``, ``save``) or only takes the place of a line the
        file has. String options are quoted (sdscatrepr), memory sizes in kb/mb/gb,
        ``save`` a line per pair, client-output-buffer-limit a line per class."""
        out: list[tuple[str, bool]] = []
        fresh = Config()
        for spec in SPECS:
            name = spec.name
            v = self.values[name]
            changed = v != fresh.values[name]
            if name == "client-output-buffer-limit":
                out += cobl_rewrite_lines(v)
            elif name == "save":  # rewriteConfigSaveOption: always, a line per pair
                words = str(v).split()
                out += ([(f"save {words[i]} {words[i + 1]}", True) for i in range(0, len(words) - 1, 2)]
                        or [('save ""', True)])
            elif name == "latency-tracking-info-percentiles":  # always, "" for none
                out.append((f"{name} {v or chr(34) * 2}", True))
            elif name == "replicaof":  # rewriteConfigReplicaOfOption: none when not a replica
                if v:
                    out.append((f"replicaof {self.render(name)}", True))
            elif name in _EMPTY_IS_NULL and not v:  # rewriteConfigStringOption: NULL, no line
                continue
            elif name in _QUOTED_OPTIONS or (spec.kind == "string" and not v):
                text = self.render(name).encode("utf-8", "surrogateescape")
                quoted = sdscatrepr(text).decode("utf-8", "surrogateescape")
                out.append((f"{name} {quoted}", changed or name == "dir"))
            elif spec.kind == "memory":
                out.append((f"{name} {format_memory(int(v))}", changed))
            else:
                out.append((f"{name} {self.render(name)}", changed))
        return out


# Options Redis rewrites with sdscatrepr: its string and sds configs (createStringConfig,
# createSDSConfig), dir and notify-keyspace-events.
_QUOTED_OPTIONS = frozenset((
    "aclfile", "unixsocket", "pidfile", "replica-announce-ip", "masteruser", "cluster-announce-ip",
    "cluster-config-file", "cluster-announce-hostname", "syslog-ident", "dbfilename", "appendfilename",
    "appenddirname", "ignore-warnings", "proc-title-template", "bind-source-addr", "logfile",
    "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file",
    "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir",
    "tls-protocols", "tls-ciphers", "tls-ciphersuites", "masterauth", "requirepass", "dir",
    "notify-keyspace-events"))


# String configs with EMPTY_STRING_IS_NULL: "" is no value, and CONFIG REWRITE writes no line.
_EMPTY_IS_NULL = frozenset((
    "unixsocket", "pidfile", "replica-announce-ip", "masteruser", "cluster-announce-ip",
    "cluster-announce-hostname", "server_cpulist", "bio_cpulist", "aof_rewrite_cpulist",
    "bgsave_cpulist", "bind-source-addr", "masterauth", "requirepass", "tls-cert-file",
    "tls-key-file", "tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file",
    "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir",
    "tls-protocols", "tls-ciphers", "tls-ciphersuites"))


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a", '"': '"', "\\": "\\"}


def split_args(line: str) -> list[str]:
    """Split a config line like sdssplitargs (double quotes with escapes, single quotes)."""
    out: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return out
        cur: list[str] = []
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    raise ValueError("unbalanced quotes")
                c = line[i]
                if c == "\\" and i + 3 < n and line[i + 1] == "x" and _ishex(line[i + 2:i + 4]):
                    cur.append(chr(int(line[i + 2:i + 4], 16)))
                    i += 3
                elif c == "\\" and i + 1 < n:
                    cur.append(_ESCAPES.get(line[i + 1], line[i + 1]))
                    i += 1
                elif c == '"':
                    if i + 1 < n and not line[i + 1].isspace():
                        raise ValueError("closing quote must be followed by a space")
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    raise ValueError("unbalanced quotes")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur.append("'")
                    i += 1
                elif c == "'":
                    if i + 1 < n and not line[i + 1].isspace():
                        raise ValueError("closing quote must be followed by a space")
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c.isspace():
                    break
                if c == '"':
                    inq = True
                elif c == "'":
                    insq = True
                else:
                    cur.append(c)
            i += 1
        out.append("".join(cur))


def _ishex(s: str) -> bool:
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)


def read_config_file(path: str) -> list[tuple[str, int, str]]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"Fatal error, can't open config file '{path}': {exc.strerror}") from None
    return [(path, i + 1, line) for i, line in enumerate(text.splitlines())]


def args_to_lines(args: Sequence[str]) -> list[tuple[str, int, str]]:
    """``--name v1 v2 --other v`` → config lines, as redis-server's main() builds them.

    An argument starting with ``--`` opens a line, unless the line before has only its
    name so far: then it is that option's value (``--proc-title-template --x``). Values
    are quoted as sdscatrepr quotes them, and an argument holding name and value
    (``"--maxmemory 700mb"``) is taken as a whole line. ``--save`` followed by another
    option or nothing means ``save ""`` (the pre-7.0.1 form, kept by Redis)."""
    lines: list[str] = []
    named_only = False  # the open line has its name and no value yet (!handled_last_config_arg)
    for j, a in enumerate(args):
        if not named_only and a.startswith("--"):
            lines.append(a[2:] + " ")
            try:
                one_word = len(split_args(a)) == 1
            except ValueError:
                one_word = False  # sdssplitargs fails: argc_tmp is 0
            named_only = one_word
            if one_word and a.lower() == "--save":
                last = j == len(args) - 1
                if last or args[j + 1].startswith("--"):
                    lines[-1] += '""'
                    named_only = last
        else:
            if not lines:
                lines.append("")
            quoted = sdscatrepr(a.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")
            lines[-1] += quoted + " "
            named_only = False
    return [("(command line)", i + 1, line) for i, line in enumerate(lines)]


def config_from_argv(argv: Sequence[str]) -> Config:
    """Build a Config like ``redis-server [file] [--opt val ...]``."""
    cfg = Config()
    args = list(argv)
    lines: list[tuple[str, int, str]] = []
    if args and not args[0].startswith("--"):
        path = args.pop(0)
        if path == "-":
            import sys

            lines.extend(("(stdin)", i + 1, ln) for i, ln in enumerate(sys.stdin.read().splitlines()))
        else:
            cfg.config_file = os.path.abspath(path)
            lines.extend(read_config_file(path))
    lines.extend(args_to_lines(args))
    cfg.load_lines(lines)
    return cfg


__all__ = ["Config", "ConfigSpec", "ConfigValueError", "SPECS", "allow_protected_action", "config_from_argv", "lookup",
           "memtoll", "split_args"]
