"""DEBUG: the introspection and test hooks Redis's own test suite leans on.

DIGEST/DIGEST-VALUE compute Redis's dataset digest (``rdbtools.digest``) from
the live values, so a dataset here and in real Redis compare as one number;
POPULATE and RELOAD (save, flush, load back: ``server.rdb``,
:mod:`engine.persistence.rdb_state`) work as in ``debug.c``.
"""

from __future__ import annotations

import logging
import re
import time

from aof.replies import (
    OK,
    Simple,
    array,
    attribute_header,
    boolean,
    bulk,
    double,
    encode,
    encode_bignum,
    integer,
    map_header,
    null,
    push_header,
    set_header,
    verbatim,
)
from engine.commands.arguments import get_double, get_int
from engine.commands.server import rewrite_config_file
from engine.errors import CommandError, LoadError
from engine.execution.registry import command
from engine.execution.replybuf import DEFAULT_PEAK_RESET_MS
from engine.materialize import dump_payload, iter_records, value_to_record
from engine.types import HashValue, ListValue, SetValue, ZSetValue, encoding_name
from rdbtools.digest import DatasetDigest, value_digest
from rdbtools.encodings.quicklist_ops import node_size

log = logging.getLogger(__name__)

_POSITIVE = "value is out of range, must be positive"
_HELP = ["DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
         "DIGEST", "    Output a hex signature representing the current DB content.",
         "DIGEST-VALUE <key> [<key> ...]", "    Output a hex signature of the values of all the specified keys.",
         "OBJECT <key>", "    Show low level info about `key` and associated value.",
         "DROP-CLUSTER-PACKET-FILTER <packet-type>",
         "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
         "POPULATE <count> [<prefix>] [<size>]",
         "    Create <count> string keys named key:<num>. If <prefix> is specified then",
         "    it is used instead of the 'key' prefix. These are not propagated to",
         "    replicas. Cluster slots are not respected so keys not belonging to the",
         "    current node can be created in cluster mode.",
         "RELOAD [option ...]", "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
         "    * MERGE: Merge the content of the RDB file into the current dataset.",
         "    * NOFLUSH: Do not empty the dataset before loading the RDB file.",
         "    * NOSAVE: the database will be loaded from an existing RDB file.",
         "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
         "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
         "    In case NEVER is provided the last observed peak will never be reset",
         "    In case RESET is provided the peak reset time will be restored to the default value",
         "REPLYBUFFER RESIZING <0|1>", "    Enable or disable the reply buffer resize cron job",
         "CLUSTERLINK KILL <to|from|all> <node-id>",
         "    Kills the link based on the direction to/from (both) with the provided node.",
         "SET-ACTIVE-EXPIRE <0|1>", "    Setting it to 0 disables expiring keys in background.",
         "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
         "HELP", "    Prints this help."]


def _replybuffer(name: bytes, c, what: bytes, arg: bytes) -> bytes:
    """DEBUG REPLYBUFFER PEAK-RESET-TIME <never|reset|ms> / RESIZING <0|1>."""
    rb = c.server.replybuf
    if what == b"peak-reset-time":
        a = arg.lower()
        if a == b"never":
            rb.peak_reset_ms = -1
        elif a == b"reset":
            rb.peak_reset_ms = DEFAULT_PEAK_RESET_MS
        else:
            rb.peak_reset_ms = get_int(arg)
    elif what == b"resizing":
        rb.resizing = _atoi(arg) != 0
    else:
        raise CommandError(f"unknown subcommand or wrong number of arguments for "
                           f"'{name.decode('utf-8', 'replace')}'. Try DEBUG HELP.")
    return OK


def _atoi(b: bytes) -> int:
    """C's atoi: leading blanks, a sign and digits; 0 when nothing parses."""
    m = re.match(rb"\s*([+-]?\d+)", b)
    return int(m.group(1)) if m else 0


def _digest_hex(c, keys) -> list[Simple]:
    db = c.db
    out = []
    for k in keys:
        v = db.data.get(k)  # logically expired keys count too, as in Redis
        if v is None:
            out.append(Simple("0" * 40))
            continue
        _iterated(v)
        rec = value_to_record(db.id, k, v, None)
        out.append(Simple(value_digest(rec.type, rec.value, k in db.expires, rec.field_expires).hex()))
    return out


def _iterated(v) -> None:
    """xorObjectDigest reads a list with an iterator, which leaves every node
    (quicklistCompress: a raw inner node of a compressed list gets compressed)."""
    if v.__class__ is ListValue and v.compress:
        v.visit(0, v.count)


def _dataset_digest(c) -> str:
    """computeDatasetDigest: every key, logically expired ones too (``now`` None)."""
    dd = DatasetDigest()
    for db in c.server.keyspace.dbs:
        for v in db.data.values():
            _iterated(v)
    for rec in iter_records(c.server.keyspace, None):
        dd.add(rec)
    return dd.hexdigest()


def _positive(arg: bytes) -> int:
    """getPositiveLongFromObjectOrReply: one message for junk and negatives alike."""
    try:
        n = get_int(arg)
    except CommandError:
        n = -1
    if n < 0:
        raise CommandError(_POSITIVE)
    return n


def _populate(c, argv) -> bytes:
    n = _positive(argv[2])
    prefix = argv[3] if len(argv) >= 4 else b"key"
    size = _positive(argv[4]) if len(argv) == 5 else 0
    db = c.db
    for j in range(n):
        key = b"%s:%d" % (prefix, j)
        if db.get(key) is not None:
            continue
        val = b"value:%d" % j
        if size:
            val = val[:size].ljust(size, b"\0")
        db.add(key, val)
        if db.watched or db.blocking:
            c.server.signal_keys(db, [key])
    return OK


def _reload(c, argv) -> bytes:
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: the server's RDB state does the work."""
    flush = save = True
    merge = False
    for opt in argv[2:]:
        o = opt.lower()
        if o == b"merge":
            merge = True  # RDBFLAGS_ALLOW_DUP: keys and libraries already present are replaced
        elif o == b"noflush":
            flush = False
        elif o == b"nosave":
            save = False
        else:
            raise CommandError("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    c.server.rdb.reload(save, flush, merge)
    return OK


@command("debug", -2, "admin noscript loading stale protected", group="server")
def debug_cmd(c, argv):
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"sleep" and n == 3:
        secs = get_double(argv[2])
        time.sleep(max(0.0, secs))
        return OK
    if sub == b"object" and n == 3:
        return _object(c, argv[2])
    if sub == b"digest" and n == 2:
        return encode(Simple(_dataset_digest(c)), c.resp)
    if sub == b"digest-value":
        return encode(_digest_hex(c, argv[2:]), c.resp)
    if sub == b"populate" and 3 <= n <= 5:
        return _populate(c, argv)
    if sub == b"reload":
        return _reload(c, argv)
    if sub == b"loadaof" and n == 2:
        try:
            c.server.aof.debug_loadaof()
        except LoadError as exc:
            raise CommandError(str(exc)) from None
        return OK
    if sub == b"protocol" and n == 3:
        return _protocol(c.resp, argv[2].lower())
    if sub == b"set-disable-deny-scripts" and n == 3:
        c.server.script_disable_deny_script = get_int(argv[2]) != 0
        return OK
    if sub == b"pause-cron" and n == 3:
        c.server.pause_cron = get_int(argv[2]) != 0
        return OK
    if sub == b"replybuffer" and n == 4:
        return _replybuffer(argv[1], c, argv[2].lower(), argv[3])
    if sub == b"drop-cluster-packet-filter" and n == 3:  # received bus messages of this type dropped
        c.server.cluster_drop_packet_filter = get_int(argv[2])
        return OK
    if sub == b"set-active-expire" and n == 3:
        c.server.active_expire_enabled = argv[2] != b"0"
        return OK
    if sub in (b"jmap", b"quicklist-packed-threshold", b"change-repl-id"):
        return OK
    if sub == b"config-rewrite-force-all" and n == 2:  # every config written, defaults too
        try:
            rewrite_config_file(c.server.config.config_file or "", c.server.config,
                                c.server.acl.config_lines(), force_all=True)
        except OSError as exc:
            raise CommandError(f"CONFIG-REWRITE-FORCE-ALL failed: {exc.strerror}") from None
        return OK
    if sub == b"replybuffer" and n == 4 and argv[2].lower() in (b"peak-reset-time", b"resizing"):
        # the reply buffer here is not a resized allocation: accepted, nothing to change
        if argv[2].lower() == b"peak-reset-time" and argv[3].lower() not in (b"never", b"reset"):
            get_int(argv[3])
        return OK
    if sub == b"clusterlink" and n == 5 and argv[2].lower() == b"kill":
        return _kill_cluster_link(c, argv[3], argv[4])
    if sub == b"log" and n == 3:
        log.warning("DEBUG LOG: %s", argv[2].decode("utf-8", "replace"))
        return OK
    if sub == b"help":
        return encode([Simple(x) for x in _HELP], c.resp)
    raise CommandError(f"unknown subcommand or wrong number of arguments for '{argv[1].decode('utf-8', 'replace')}'. Try DEBUG HELP.")


def _kill_cluster_link(c, direction: bytes, name: bytes) -> bytes:
    """DEBUG CLUSTERLINK KILL: the bus link to and/or from a node is closed (the cluster's
    cron connects again). An unknown direction is refused (7.0.15 replies the error and
    then +OK as well: one reply here)."""
    cl = c.server.cluster
    if cl is None:
        raise CommandError("Debug option only available for cluster mode enabled setup!")
    node = cl.lookup(name)
    if node is None:
        raise CommandError(f"Unknown node {name.decode('utf-8', 'surrogateescape')}")
    links = {b"from": (node.inbound_link,), b"to": (node.link,), b"all": (node.link, node.inbound_link)}
    if direction.lower() not in links:
        raise CommandError(f"Unknown direction {direction.decode('utf-8', 'surrogateescape')}")
    for link in links[direction.lower()]:
        if link is not None:
            link.close()
    return OK


def _protocol(resp: int, name: bytes) -> bytes:
    """DEBUG PROTOCOL <type>: one reply of each RESP3 type (its RESP2 form to RESP2 clients)."""
    if name == b"string":
        return bulk(b"Hello World")
    if name == b"integer":
        return integer(12345)
    if name == b"double":
        return double(3.141, resp)
    if name == b"bignum":
        return encode_bignum(b"1234567999999999999999999999999999999", resp == 3)
    if name == b"null":
        return null(resp)
    if name == b"array":
        return array([integer(j) for j in range(3)])
    if name == b"set":
        return set_header(3, resp) + b"".join(integer(j) for j in range(3))
    if name == b"map":
        return map_header(3, resp) + b"".join(integer(j) + boolean(j == 1, resp) for j in range(3))
    if name == b"attrib":  # an attribute is not a reply: a real one follows
        attrib = (attribute_header(1) + bulk(b"key-popularity") + array([bulk(b"key:123"), integer(90)])
                  if resp >= 3 else b"")
        return attrib + bulk(b"Some real reply following the attribute")
    if name == b"push":
        if resp < 3:
            raise CommandError("RESP2 is not supported by this command")
        return (push_header(2, resp) + bulk(b"server-cpu-usage") + integer(42)
                + bulk(b"Some real reply following the push reply"))
    if name in (b"true", b"false"):
        return boolean(name == b"true", resp)
    if name == b"verbatim":
        return verbatim(b"This is a verbatim\nstring", resp)
    raise CommandError("Wrong protocol type name. Please use one of the following: "
                       "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")


def _object(c, key: bytes) -> bytes:
    db = c.db
    v = db.data.get(key)  # a dictFind: an expired key not yet deleted is still shown
    if v is None:
        raise CommandError("no such key")
    enc = encoding_name(v)
    extra = ""
    if enc == "quicklist":
        nodes = v.nodes
        extra = (f" ql_nodes:{len(nodes)} ql_avg_node:{v.count / len(nodes):.2f}"
                 f" ql_listpack_max:{v.fill} ql_compressed:{int(v.compress != 0)}"
                 f" ql_uncompressed_size:{sum(map(node_size, nodes))}")
    return b"+Value at:0x%x refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d%s\r\n" % (
        id(v), enc.encode(), _serialized_len(v, c.server.config), db.lru.get(key, c.server.keyspace.load_clock) & 0xFFFFFF,
        db.idle_seconds(key), extra.encode())


def _serialized_len(v, config) -> int:
    if isinstance(v, (bytes, bytearray)):
        return len(v) + 1
    if (v.__class__ in (HashValue, ZSetValue, ListValue)
            or (v.__class__ is SetValue and v.is_ is not None)):
        return len(dump_payload(v, config)) - 11  # rdbSavedObjectLen: the value as DUMP writes it
    try:
        return sum(len(x) for x in v) + len(v)
    except TypeError:
        return len(v)
