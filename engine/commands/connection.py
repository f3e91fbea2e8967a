"""Connection commands: PING ECHO QUIT AUTH HELLO RESET and CLIENT."""

from __future__ import annotations

from aof.replies import (
    NULL3,
    NULL_BULK,
    OK,
    ONE,
    PONG,
    ZERO,
    Map,
    Simple,
    Verbatim,
    bulk,
    encode,
    integer,
    pair,
)
from engine.commands.arguments import get_int
from engine.config import REDIS_VERSION
from engine.errors import CommandError, SyntaxErr
from engine.execution.pause import (
    CLIENT_PAUSE_ALL,
    CLIENT_PAUSE_WRITE,
    PAUSE_BY_CLIENT_COMMAND,
    POSTPONE,
)
from engine.execution.registry import command, container, subcommand
from engine.execution.transaction import discard

G = "connection"
WRONGPASS = "invalid username-password pair or user is disabled."


@command("ping", -1, "fast", group=G)
def ping_cmd(c, argv):
    if len(argv) > 2:
        raise CommandError("wrong number of arguments for 'ping' command")
    if c.resp == 2 and (c.sub_channels or c.sub_patterns or c.sub_shard):
        # the subscribed context answers with a push-shaped array: [pong, <message or "">]
        return pair(bulk(b"pong"), bulk(argv[1] if len(argv) == 2 else b""))
    if len(argv) == 1:
        return PONG
    return bulk(argv[1])


@command("echo", 2, "fast stale loading", group=G)
def echo_cmd(c, argv):
    return bulk(argv[1])


@command("quit", -1, "noscript no_auth allow_busy fast stale loading", group=G)
def quit_cmd(c, argv):
    c.close_after_reply = True
    return OK


@command("auth", -2, "noscript no_auth fast stale loading allow_busy", group=G)
def auth_cmd(c, argv):
    """authCommand: the default user without a user name (refused while it needs no
    password), as ACLAuthenticateUser checks the pair (a failure goes to the ACL log)."""
    if len(argv) > 3:
        raise SyntaxErr()
    acl = c.server.acl
    user, pw = (b"default", argv[1]) if len(argv) == 2 else (argv[1], argv[2])
    name = argv[0]
    redact(argv, 1, len(argv))
    if len(argv) == 2:
        if acl.default.nopass:
            raise CommandError("AUTH <password> called without any password configured for the "
                               "default user. Are you sure your configuration is correct?")
    if acl.authenticate(c, user, pw, name):
        return OK
    raise CommandError(WRONGPASS, "WRONGPASS")


def redact(argv: list[bytes], start: int, end: int) -> None:
    """redactClientCommandArgument: MONITOR and the slow log show these arguments as
    "(redacted)" (the handler has read them; AUTH and HELLO are never propagated)."""
    for j in range(start, end):
        argv[j] = b"(redacted)"


def _validate_name(name: bytes) -> None:
    for ch in name:
        if ch < 0x21 or ch > 0x7E:
            raise CommandError("Client names cannot contain spaces, newlines or special characters.")


def _set_name(c, name: bytes) -> None:
    _validate_name(name)
    c.name = name or None


@command("hello", -1, "noscript no_auth fast stale loading allow_busy", group=G, since="6.0.0")
def hello_cmd(c, argv):
    ver = 0
    j = 1
    if len(argv) >= 2:
        ver = get_int(argv[1], "Protocol version is not an integer or out of range")
        if ver < 2 or ver > 3:
            raise CommandError("unsupported protocol version", "NOPROTO")
        j = 2
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"auth" and more >= 2:
            user, pw = argv[j + 1], argv[j + 2]
            redact(argv, j + 1, j + 3)
            if not c.server.acl.authenticate(c, user, pw, argv[0]):
                raise CommandError(WRONGPASS, "WRONGPASS")
            j += 2
        elif opt == b"setname" and more:
            _set_name(c, argv[j + 1])
            j += 1
        else:
            raise CommandError(f"Syntax error in HELLO option '{argv[j].decode('utf-8', 'surrogateescape')}'")
        j += 1
    if not c.authenticated:
        raise CommandError("HELLO must be called with the client already authenticated, otherwise "
                           "the HELLO AUTH <user> <pass> option can be used to authenticate the "
                           "client and select the RESP protocol version at the same time", "NOAUTH")
    if ver:
        c.resp = ver
    return encode(Map([("server", "redis"), ("version", REDIS_VERSION), ("proto", c.resp),
                       ("id", c.id), ("mode", "standalone"), ("role", "master"), ("modules", [])]),
                  c.resp)


@command("reset", 1, "no_auth fast stale loading noscript allow_busy", group=G, since="6.2.0")
def reset_cmd(c, argv):
    discard(c)
    if c.sub_channels or c.sub_patterns or c.sub_shard:
        c.server.pubsub.client_gone(c)
    if c.tracking is not None:
        c.server.tracking.disable(c)
    c.db = c.server.keyspace.dbs[0]
    c.resp = 2
    c.name = None
    if c.monitor:
        c.monitor = False
        if c in c.server.monitors:
            c.server.monitors.remove(c)
    acl = c.server.acl  # clientSetDefaultAuth: back to the default user
    c.user = acl.default
    c.authenticated = not acl.auth_required()
    try:
        c.parser.authenticated = c.authenticated
    except AttributeError:  # pragma: no cover
        pass
    return b"+RESET\r\n"


# -- CLIENT ------------------------------------------------------------------

CLIENT = container("client", -2, group=G, since="2.4.0")


@subcommand(CLIENT, "id", 2, "noscript loading stale", since="5.0.0")
def client_id(c, argv):
    return integer(c.id)


@subcommand(CLIENT, "reply", 3, "noscript loading stale", since="3.2.0",
           summary="Instruct the server whether to reply to commands")
def client_reply(c, argv):
    """The dispatcher drops the replies (dispatch.silence); OFF and SKIP reply nothing."""
    mode = argv[2].lower()
    if mode == b"on":
        c.reply_off = False
        c.reply_skip = 0
        return OK
    if mode == b"off":
        c.reply_off = True
        return b""
    if mode == b"skip":
        if not c.reply_off:
            c.reply_skip = 2
        return b""
    raise SyntaxErr()


@subcommand(CLIENT, "setname", 3, "noscript loading stale", since="2.6.9")
def client_setname(c, argv):
    _set_name(c, argv[2])
    return OK


@subcommand(CLIENT, "getname", 2, "noscript loading stale", since="2.6.9")
def client_getname(c, argv):
    if c.name is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(c.name)


@subcommand(CLIENT, "info", 2, "noscript loading stale", since="6.2.0")
def client_info(c, argv):
    return encode(Verbatim((c.info_line(c) + "\n").encode()), c.resp)


@subcommand(CLIENT, "list", -2, "admin noscript loading stale", since="2.4.0")
def client_list(c, argv):
    clients = list(c.server.clients.values())
    if len(argv) >= 3:
        opt = argv[2].lower()
        if opt == b"type" and len(argv) == 4:
            t = argv[3].lower()
            if t not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                raise CommandError(f"Unknown client type '{argv[3].decode('utf-8', 'replace')}'")
            clients = [x for x in clients if x.client_type() == _TYPES[t]]
        elif opt == b"id" and len(argv) >= 4:
            ids = set()
            for a in argv[3:]:
                v = get_int(a, "Invalid client ID")
                if v <= 0:
                    raise CommandError("Invalid client ID")
                ids.add(v)
            clients = [x for x in clients if x.id in ids]
        else:
            raise SyntaxErr()
    text = "".join(x.info_line(c) + "\n" for x in clients)
    return encode(Verbatim(text.encode()), c.resp)


@subcommand(CLIENT, "kill", -3, "admin noscript loading stale", since="2.4.0")
def client_kill(c, argv):
    srv = c.server
    if len(argv) == 3:  # old form: CLIENT KILL addr:port
        addr = argv[2].decode("utf-8", "replace")
        for x in list(srv.clients.values()):
            if x.addr == addr:
                _kill(c, x)
                return OK
        raise CommandError("No such client")
    filters: list[tuple[bytes, bytes]] = []
    skipme = True
    j = 2
    while j < len(argv):
        if j + 1 >= len(argv):
            raise SyntaxErr()
        opt = argv[j].lower()
        val = argv[j + 1]
        if opt == b"id":
            v = get_int(val, "client-id should be greater than 0")
            if v <= 0:
                raise CommandError("client-id should be greater than 0")
        elif opt == b"type":
            if val.lower() not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                raise CommandError(f"Unknown client type '{val.decode('utf-8', 'replace')}'")
        elif opt == b"skipme":
            if val.lower() == b"yes":
                skipme = True
            elif val.lower() == b"no":
                skipme = False
            else:
                raise SyntaxErr()
        elif opt == b"user":
            if val not in srv.acl.users:
                raise CommandError(f"No such user '{val.decode('utf-8', 'surrogateescape')}'")
        elif opt not in (b"addr", b"laddr"):
            raise SyntaxErr()
        filters.append((opt, val))
        j += 2
    killed = 0
    for x in list(srv.clients.values()):
        if skipme and x is c:
            continue
        ok = True
        for opt, val in filters:
            if opt == b"id" and x.id != int(val):
                ok = False
            elif opt == b"addr" and x.addr.encode() != val:
                ok = False
            elif opt == b"laddr" and x.laddr.encode() != val:
                ok = False
            elif opt == b"type" and x.client_type() != _TYPES[val.lower()]:
                ok = False
            elif opt == b"user" and (x.user is None or x.user.name != val):
                ok = False
        if ok:
            _kill(c, x)
            killed += 1
    return integer(killed)


_TYPES = {b"normal": "normal", b"master": "master", b"replica": "replica", b"slave": "replica",
          b"pubsub": "pubsub"}


def _kill(c, x) -> None:
    if x is c:
        c.close_after_reply = True
    else:
        x.close()


@subcommand(CLIENT, "unblock", -3, "admin noscript loading stale", since="5.0.0")
def client_unblock(c, argv):
    cid = get_int(argv[2])
    err = False
    if len(argv) == 4:
        m = argv[3].lower()
        if m == b"error":
            err = True
        elif m != b"timeout":
            raise CommandError("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    elif len(argv) > 4:
        raise SyntaxErr()
    x = c.server.clients.get(cid)
    if x is None or x.blocked is None or x.blocked.cmd_name in ("shutdown", POSTPONE):
        return ZERO  # 7.0.15 would panic (replyToBlockedClientTimedOut knows no such block)
    reply = (b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n" if err
             else x.blocked.timeout_reply)
    c.server.blocking.unblock_with(x, reply)
    return ONE


@subcommand(CLIENT, "unpause", 2, "admin noscript loading stale", since="6.2.0",
            summary="Resume processing of clients that were paused")
def client_unpause(c, argv):
    c.server.pause.unpause(PAUSE_BY_CLIENT_COMMAND)
    return OK


@subcommand(CLIENT, "pause", -3, "admin noscript loading stale", since="2.9.50",
            summary="Stop processing commands from clients for some time")
def client_pause(c, argv):
    """CLIENT PAUSE timeout [WRITE|ALL]: the mode is checked before the timeout; a
    timeout of 0 ends at once, as does one whose end overflows (Redis adds it to mstime()
    in a signed 64-bit integer)."""
    if len(argv) > 4:
        raise CommandError("unknown subcommand or wrong number of arguments for "
                           f"'{argv[1][:128].decode('utf-8', 'replace')}'. Try CLIENT HELP.")
    mode = CLIENT_PAUSE_ALL
    if len(argv) == 4:
        m = argv[3].lower()
        if m == b"write":
            mode = CLIENT_PAUSE_WRITE
        elif m != b"all":
            raise CommandError("CLIENT PAUSE mode must be WRITE or ALL")
    ms = get_int(argv[2], "timeout is not an integer or out of range")
    if ms < 0:
        raise CommandError("timeout is negative")
    pause = c.server.pause
    if ms > 0:  # getTimeoutFromObjectOrReply: an absolute end, wrapping as a long long would
        ms = (ms + pause.clock() + (1 << 63)) % (1 << 64) - (1 << 63)
    pause.pause(PAUSE_BY_CLIENT_COMMAND, ms, mode)
    return OK


@subcommand(CLIENT, "setinfo", 4, "noscript loading stale", since="7.2.0")
def client_setinfo(c, argv):
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        raise CommandError(f"Unrecognized option '{argv[2].decode('utf-8', 'replace')}'")
    _validate_name(argv[3])
    if attr == b"lib-name":
        c.lib_name = argv[3]
    else:
        c.lib_ver = argv[3]
    return OK


@subcommand(CLIENT, "no-evict", 3, "admin noscript loading stale", since="7.0.0")
def client_no_evict(c, argv):
    if argv[2].lower() not in (b"on", b"off"):
        raise SyntaxErr()
    c.no_evict = argv[2].lower() == b"on"
    return OK


@subcommand(CLIENT, "help", 2, "loading stale", since="5.0.0")
def client_help(c, argv):
    lines = ["CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "CACHING (YES|NO)",
             "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
             "GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
             "GETNAME", "    Return the name of the current connection.",
             "ID", "    Return the ID of the current connection.",
             "INFO", "    Return information about the current client connection.",
             "KILL <ip:port>", "    Kill connection made from <ip:port>.",
             "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are:",
             "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
             "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
             "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
             "    * USER <username>", "      Kill connections authenticated by <username>.",
             "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
             "LIST [options ...]", "    Return information about client connections. Options:",
             "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
             "UNPAUSE", "    Stop the current client pause, resuming traffic.",
             "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
             "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
             "SETNAME <name>", "    Assign the name <name> to the current connection.",
             "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
             "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
             "         [OPTIN] [OPTOUT] [NOLOOP]", "    Control server assisted client side caching.",
             "TRACKINGINFO", "    Report tracking status for the current connection.",
             "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
             "HELP", "    Prints this help."]
    return encode([Simple(x) for x in lines], c.resp)
