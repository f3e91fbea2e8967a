"""``server.acl``: the users, the permission checks, the ACL log, the ACL file.

Mirrors acl.c: every connection starts as the ``default`` user (authenticated when it
is ``on`` and ``nopass``); ``processCommand``, EXEC and a script's ``redis.call`` ask
:meth:`Acl.check` before running a command; ``requirepass`` is the default user's one
password; ``user`` lines of the config file and ``aclfile`` define the others.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Any

from engine.acl.keys import channels_of, has_keys, keys_of
from engine.acl.selector import (
    DENIED_AUTH,
    DENIED_CHANNEL,
    DENIED_CMD,
    DENIED_KEY,
    OK,
    READ,
    RuleError,
    has_spaces,
)
from engine.acl.user import User, merge_selectors
from engine.execution.registry import Command

log = logging.getLogger(__name__)
CTX_TOPLEVEL, CTX_MULTI, CTX_LUA = "toplevel", "multi", "lua"
REASONS = {DENIED_CMD: "command", DENIED_KEY: "key", DENIED_CHANNEL: "channel", DENIED_AUTH: "auth"}
GROUPING_MS = 60000  # ACL_LOG_GROUPING_MAX_TIME_DELTA


class LogEntry:
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "cinfo")

    def __init__(self, reason: int, context: str, obj: bytes, username: bytes, cinfo: str) -> None:
        self.count = 1
        self.reason, self.context, self.object, self.username = reason, context, obj, username
        self.ctime = int(time.time() * 1000)  # mstime()
        self.cinfo = cinfo


class Acl:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.users: dict[bytes, User] = {}
        self.default = self._create_default()
        self.users[b"default"] = self.default
        self.log: deque[LogEntry] = deque()
        self.to_load: list[list[bytes]] = []  # `user` lines of the config (UsersToLoad)

    # -- users ------------------------------------------------------------------------
    @property
    def pubsub_default(self) -> bool:
        """acl-pubsub-default allchannels: new users and selectors may use every channel."""
        return self.server.config.acl_pubsub_default == "allchannels"

    def _create_default(self) -> User:
        u = User(b"default", self.pubsub_default)
        for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            u.set(rule, False)
        return u

    def sorted_users(self) -> list[User]:
        """The users in the rax's order (bytewise by name)."""
        return [self.users[k] for k in sorted(self.users)]

    def auth_required(self) -> bool:
        """authRequired for a client that has not authenticated."""
        d = self.default
        return not d.nopass or not d.enabled

    def set_default_password(self, password: str) -> None:
        """ACLUpdateDefaultUserPassword: ``requirepass`` (empty: nopass)."""
        d = self.default
        d.set(b"resetpass", False)
        if password:
            d.set(b">" + password.encode("utf-8", "surrogateescape"), False)
        else:
            d.set(b"nopass", False)

    def set_user(self, name: bytes, args: list[bytes]) -> str | None:
        """ACLStringSetUser: all the rules or none; the error text, None when applied."""
        merged = merge_selectors(args)
        if isinstance(merged, int):
            return ("Unmatched parenthesis in acl selector starting at "
                    f"'{args[merged].decode('utf-8', 'surrogateescape')}'.")
        u = self.users.get(name)
        temp = User(name, self.pubsub_default)
        if u is not None:
            temp.copy_from(u)
        for op in merged:
            try:
                temp.set(op, self.pubsub_default)
            except RuleError as exc:
                return f"Error in ACL SETUSER modifier '{op.decode('utf-8', 'surrogateescape')}': {exc}"
        if u is not None:
            self._kill_pubsub_if_needed(temp, u)
        else:
            u = self.users[name] = User(name, self.pubsub_default)
        u.copy_from(temp)
        return None

    def delete(self, names: list[bytes], current: Any) -> int:
        """ACL DELUSER: each user's clients are logged out and disconnected."""
        n = 0
        for name in names:
            u = self.users.pop(name, None)
            if u is not None:
                self._kill_clients(u, current)
                n += 1
        return n

    def _kill_clients(self, u: User, current: Any) -> None:
        """ACLFreeUserAndKillClients."""
        for c in list(self.server.clients.values()):
            if c.user is u:
                c.user = self.default
                c.authenticated = False
                if c is current:
                    c.close_after_reply = True
                else:
                    c.close()

    def _kill_pubsub_if_needed(self, new: User, old: User) -> None:
        """ACLKillPubsubClientsIfNeeded: subscribers whose channels the new rules no longer
        allow are disconnected."""
        if any(s.allchannels for s in new.selectors):
            return
        upcoming = [ch for s in new.selectors for ch in s.channels]
        if not any(s.allchannels for s in old.selectors) and all(
                ch in upcoming for s in old.selectors for ch in s.channels):
            return
        from rdbtools.glob import glob_match

        def denied(ch: bytes, is_pattern: bool) -> bool:
            if is_pattern:
                return ch not in upcoming
            return not any(glob_match(p, ch, False) for p in upcoming)

        for c in list(self.server.clients.values()):
            if c.user is not old or not (c.sub_channels or c.sub_patterns or c.sub_shard):
                continue
            if (any(denied(p, True) for p in c.sub_patterns)
                    or any(denied(ch, False) for ch in c.sub_channels)
                    or any(denied(ch, False) for ch in c.sub_shard)):
                c.close()

    # -- authentication -----------------------------------------------------------------
    def authenticate(self, c: Any, username: bytes, password: bytes, argv0: bytes) -> bool:
        """ACLAuthenticateUser: on success the client becomes ``username``; a failure is
        logged (reason ``auth``)."""
        u = self.users.get(username)
        if u is not None and u.check_password(password):
            c.user = u
            c.authenticated = True
            parser = getattr(c, "parser", None)
            if parser is not None:
                parser.authenticated = True
            return True
        ctx = CTX_MULTI if c.multi is not None else CTX_TOPLEVEL
        self.add_log(c, DENIED_AUTH, ctx, argv0, username)
        return False

    # -- checks -----------------------------------------------------------------------
    def check(self, user: User | None, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
        """ACLCheckAllUserCommandPerm: (result, position of the key or channel refused).
        One selector allowing everything is enough; otherwise the command error if no
        selector ran the command, else the last refused key/channel position."""
        if user is None:
            return OK, 0
        relevant, last = DENIED_CMD, 0
        keys: list[tuple[int, int]] | None = None
        for s in user.selectors:
            if not s.may_run(cmd, argv):
                res, pos = DENIED_CMD, 0
            else:
                res, pos = OK, 0
                if not s.allkeys and has_keys(cmd):
                    if keys is None:
                        keys = keys_of(cmd, argv)
                    for i, perm in keys:
                        if not s.check_key(argv[i], perm):
                            res, pos = DENIED_KEY, i
                            break
                if res == OK and not s.allchannels:
                    for i, is_pattern in channels_of(cmd, argv):
                        if not s.check_channel(argv[i], is_pattern):
                            res, pos = DENIED_CHANNEL, i
                            break
                if res == OK:
                    return OK, 0
            if res > relevant or (res == relevant and pos > last):
                relevant, last = res, pos
        return relevant, last

    def unrestricted_read(self, user: User | None, cmd: Command, argv: list[bytes]) -> bool:
        """ACLUserCheckCmdWithUnrestrictedKeyAccess(CMD_KEY_ACCESS): SORT's BY and GET."""
        if user is None:
            return True
        return any(self.check(_one(user, s), cmd, argv)[0] == OK and s.unrestricted(READ)
                   for s in user.selectors)

    # -- the ACL log --------------------------------------------------------------------
    def add_log(self, c: Any, reason: int, context: str, obj: bytes, username: bytes | None = None) -> None:
        """addACLLogEntry: a repeat (same reason, context, object and user within a minute,
        among the 10 newest) bumps the existing entry's count."""
        real = c
        if getattr(c, "script", False):
            run = self.server.scripting.run
            if run is not None:
                real = run.caller
        user = username if username is not None else (c.user.name if c.user is not None else b"")
        le = LogEntry(reason, context, obj, user, real.info_line())
        for i, cur in enumerate(list(self.log)[:10]):
            if (cur.reason == le.reason and cur.context == le.context
                    and abs(cur.ctime - le.ctime) <= GROUPING_MS and cur.object == le.object
                    and cur.username == le.username):
                del self.log[i]
                self.log.appendleft(cur)
                cur.cinfo, cur.ctime = le.cinfo, le.ctime
                cur.count += 1
                return
        self.log.appendleft(le)
        while len(self.log) > self.server.config.acllog_max_len:
            self.log.pop()

    def log_denied(self, c: Any, reason: int, context: str, cmd: Command, argv: list[bytes], pos: int) -> None:
        obj = cmd.name.encode() if reason == DENIED_CMD else argv[pos]
        self.add_log(c, reason, context, obj)

    # -- files ------------------------------------------------------------------------
    def _in_dir(self, path: str) -> str:
        """Redis runs in ``dir`` (its chdir), so a relative ACL file path names a file there."""
        return os.path.join(self.server.config.dir, path)

    def save_file(self, path: str) -> bool:
        """ACLSaveToFile: a temp file renamed over the ACL file."""
        text = "".join(f"user {_s(u.name)} {u.describe()}\n" for u in self.sorted_users())
        path = self._in_dir(path)
        tmp = f"{path}.tmp-{os.getpid()}-{int(time.time() * 1000)}"
        try:
            with open(tmp, "wb") as f:
                f.write(text.encode("utf-8", "surrogateescape"))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("Writing ACL file for ACL SAVE: %s", exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True

    def load_file(self, path: str, current: Any = None) -> str | None:
        """ACLLoadFromFile: every line or nothing; the errors found, None when loaded. The
        clients of the old users are disconnected, *current* (ACL LOAD's) after its reply."""
        try:
            with open(self._in_dir(path), "rb") as f:
                data = f.read()
        except OSError as exc:
            return f"Error loading ACLs, opening file '{path}': {os.strerror(exc.errno or 0)}"
        name = self.server.config.aclfile
        errors = ""
        users: dict[bytes, User] = {}
        for n, line in enumerate(data.split(b"\n"), 1):
            line = line.strip(b" \t\r\n")
            if not line:
                continue
            argv = [a for a in line.split(b" ") if a]
            if not argv:
                continue
            if argv[0] != b"user" or len(argv) < 2:
                errors += f"{name}:{n} should start with user keyword followed by the username. "
                continue
            if has_spaces(argv[1]):
                errors += f"'{name}:{n}: username '{_s(argv[1])}' contains invalid characters. "
                continue
            if argv[1] in users:
                errors += f"WARNING: Duplicate user '{_s(argv[1])}' found on line {n}. "
                continue
            u = users[argv[1]] = User(argv[1], self.pubsub_default)
            merged = merge_selectors(argv[2:])
            if isinstance(merged, int):
                errors += f"{name}:{n}: Unmatched parenthesis in selector definition."
                continue
            syntax = False
            for op in merged:
                op = op.strip(b"\t\r\n")
                try:
                    u.set(op, self.pubsub_default)
                except RuleError as exc:
                    if str(exc).startswith("Unknown command"):
                        errors += f"{name}:{n}: Error in applying operation '{_s(op)}': {exc}. "
                    elif not syntax:
                        errors += f"{name}:{n}: {exc}. "
                        syntax = True
        if errors:
            return errors + ("WARNING: ACL errors detected, no change to the previously active "
                             "ACL rules was performed")
        new_default = users.pop(b"default", None) or self._create_default()
        old = self.users
        self.default.copy_from(new_default)
        users[b"default"] = self.default
        self.users = users
        for name_, u in old.items():
            if name_ != b"default":
                self._kill_clients(u, current)
        return None

    def load_configured(self) -> None:
        """ACLLoadConfiguredUsers, then the ACL file (ACLLoadUsersAtStartup); raises
        ValueError with the reason the server must not start."""
        cfg = self.server.config
        if cfg.aclfile and self.to_load:
            raise ValueError("Configuring Redis with users defined in redis.conf and at the same "
                             "setting an ACL file path is invalid. This setup is very likely to lead "
                             "to configuration errors and security holes, please define either an "
                             "ACL file or declare users directly in your redis.conf, but not both.")
        for argv in self.to_load:
            u = self.users.get(argv[0])
            if u is None:
                u = self.users[argv[0]] = User(argv[0], self.pubsub_default)
            else:
                u.set(b"reset", self.pubsub_default)
            for op in argv[1:]:
                try:
                    u.set(op, self.pubsub_default)
                except RuleError as exc:
                    raise ValueError(f"Error loading ACL rule '{_s(op)}' for the user named "
                                     f"'{_s(argv[0])}': {exc}") from None
        if cfg.aclfile:
            err = self.load_file(cfg.aclfile)
            if err is not None:
                raise ValueError(f"Aborting Redis startup because of ACL errors: {err}")

    def config_lines(self) -> list[str]:
        """rewriteConfigUserOption: the ``user`` lines CONFIG REWRITE writes (none with an
        ACL file: the users live there)."""
        if self.server.config.aclfile:
            return []
        return [f"user {_s(u.name)} {u.describe()}" for u in self.sorted_users()]


def _one(user: User, s: Any) -> User:
    """A user holding only selector ``s`` (checking the selectors one at a time)."""
    u = User(user.name, False)
    u.selectors = [s]
    return u


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def validate_user_line(argv: list[bytes], seen: list[list[bytes]]) -> list[bytes]:
    """ACLAppendUserForLoading's check of a config line ``user <name> <rules>...``: the
    name and its merged rules (a command unknown now is tolerated), or ValueError.
    As 7.0.15, the argument the error names is the line's argument at the index of the
    rule at fault among the rules (``user`` for the first rule)."""
    if any(a[0] == argv[1] for a in seen):
        raise ValueError(f"Error in user declaration '{_s(argv[1])}': Duplicate user found. A user "
                         "can only be defined once in config files")
    merged = merge_selectors(argv[2:])
    if isinstance(merged, int):
        raise ValueError(f"Error in user declaration '{_s(argv[merged])}': Syntax error")
    fake = User(b"__fakeuser__", False)
    for j, op in enumerate(merged):
        try:
            fake.set(op, False)
        except RuleError as exc:
            if not str(exc).startswith("Unknown command"):
                raise ValueError(f"Error in user declaration '{_s(argv[j])}': {exc}") from None
    return [argv[1], *merged]
