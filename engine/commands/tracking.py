"""CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO: client-side caching's commands
(``clientCommand`` in networking.c); the state and the invalidations are
``engine.tracking``, reached as ``c.server.tracking``."""

from __future__ import annotations

from aof.replies import OK, bulk, bulks, error, integer, map_header, set_of_bulks
from engine.commands.arguments import get_int
from engine.commands.connection import CLIENT
from engine.errors import CommandError, SyntaxErr
from engine.execution.meta import Arg, CommandMeta
from engine.execution.registry import subcommand
from engine.tracking import prefix_collision

_RESWITCH = "tracking for this client, and then re-enabling it with a different mode."

_TRACKING_META = CommandMeta(
    complexity="O(1). Some options may introduce additional complexity.",
    args=(Arg("status", "oneof", args=(Arg("on", "pure-token", token="ON"),
                                       Arg("off", "pure-token", token="OFF"))),
          Arg("client-id", "integer", token="REDIRECT", flags=("optional",)),
          Arg("prefix", "string", token="PREFIX", flags=("optional", "multiple", "multiple_token")),
          Arg("bcast", "pure-token", token="BCAST", flags=("optional",)),
          Arg("optin", "pure-token", token="OPTIN", flags=("optional",)),
          Arg("optout", "pure-token", token="OPTOUT", flags=("optional",)),
          Arg("noloop", "pure-token", token="NOLOOP", flags=("optional",))))


@subcommand(CLIENT, "tracking", -3, "noscript loading stale", since="6.0.0",
            summary="Enable or disable server assisted client side caching support", meta=_TRACKING_META)
def client_tracking(c, argv):
    """CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]:
    every option is parsed (and a redirection checked) before ON or OFF is read, then
    ON checks the options against each other and the client's current mode."""
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    n = len(argv)
    j = 3
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"redirect" and more:
            j += 1
            if redirect != 0:
                raise CommandError("A client can only redirect to a single other client")
            redirect = get_int(argv[j])
            if redirect not in c.server.clients:
                raise CommandError("The client ID you want redirect to does not exist")
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            raise SyntaxErr()
        j += 1
    mode = argv[2].lower()
    trk = c.server.tracking
    if mode == b"off":
        trk.disable(c)
        return OK
    if mode != b"on":
        raise SyntaxErr()
    st = c.tracking
    if prefixes and not bcast:
        raise CommandError("PREFIX option requires BCAST mode to be enabled")
    if st is not None and st.bcast != bcast:
        raise CommandError("You can't switch BCAST mode on/off before disabling " + _RESWITCH)
    if bcast and (optin or optout):
        raise CommandError("OPTIN and OPTOUT are not compatible with BCAST")
    if optin and optout:
        raise CommandError("You can't specify both OPTIN mode and OPTOUT mode")
    if st is not None and ((optin and st.optout) or (optout and st.optin)):
        raise CommandError("You can't switch OPTIN/OPTOUT mode before disabling " + _RESWITCH)
    before = b""
    if bcast:
        hit = prefix_collision(st.prefixes if st is not None else {}, prefixes)
        if hit is not None:
            text, ret = hit
            if ret == 0:
                raise CommandError(text)
            # 7.0.15: a collision between given prefixes past the first is replied as an
            # error, then tracking is enabled anyway and OK follows (two replies)
            before = error("ERR " + text)  # counted by call(): the reply starts with it
    trk.enable(c, redirect, bcast, optin, optout, noloop, prefixes)
    return before + OK


@subcommand(CLIENT, "caching", 3, "noscript loading stale", since="6.0.0",
            summary="Instruct the server about tracking or not keys in the next request",
            meta=CommandMeta(complexity="O(1)", args=(Arg("mode", "oneof", args=(
                Arg("yes", "pure-token", token="YES"), Arg("no", "pure-token", token="NO"))),)))
def client_caching(c, argv):
    """CLIENT CACHING YES (OPTIN) / NO (OPTOUT): for the next command, or the next
    transaction; the dispatcher clears it after any other command (resetClient)."""
    st = c.tracking
    if st is None:
        raise CommandError("CLIENT CACHING can be called only when the client is in tracking mode "
                           "with OPTIN or OPTOUT mode enabled")
    opt = argv[2].lower()
    if opt == b"yes":
        if not st.optin:
            raise CommandError("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
    elif opt == b"no":
        if not st.optout:
            raise CommandError("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    else:
        raise SyntaxErr()
    st.caching = True
    return OK


@subcommand(CLIENT, "getredir", 2, "noscript loading stale", since="6.0.0",
            summary="Get tracking notifications redirection client ID if any",
            meta=CommandMeta(complexity="O(1)"))
def client_getredir(c, argv):
    st = c.tracking
    return integer(st.redirect if st is not None else -1)


@subcommand(CLIENT, "trackinginfo", 2, "noscript loading stale", since="6.2.0",
            summary="Return information about server assisted client side caching for the current connection",
            meta=CommandMeta(complexity="O(1)"))
def client_trackinginfo(c, argv):
    """A map: flags (a set: on/off, then the modes), redirect (-1 when off), prefixes
    (in the client's rax order)."""
    st = c.tracking
    resp = c.resp
    if st is None:
        flags, redirect, prefixes = [b"off"], -1, []
    else:
        flags, redirect, prefixes = [b"on", *st.flag_names()], st.redirect, sorted(st.prefixes)
    return (map_header(3, resp) + bulk(b"flags") + set_of_bulks(flags, resp) + bulk(b"redirect")
            + integer(redirect) + bulk(b"prefixes") + bulks(prefixes))
