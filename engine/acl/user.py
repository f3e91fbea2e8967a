"""One ACL user: flags, password hashes, selectors (acl.c's ``user`` and ACLSetUser).

Passwords are kept as Redis keeps them: the SHA-256 of the password as 64 lowercase hex
characters (``#<hash>`` in ACL LIST, ACL GETUSER's ``passwords``).
"""

from __future__ import annotations

import hashlib
import hmac

from engine.acl.selector import RuleError, Selector

BAD_HASH = ("The password hash must be exactly 64 characters and contain only lowercase "
            "hexadecimal characters")
NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
_HEX = frozenset(b"0123456789abcdef")


def hash_password(password: bytes) -> str:
    """ACLHashPassword."""
    return hashlib.sha256(password).hexdigest()


def _check_hash(h: bytes) -> str:
    """ACLCheckPasswordHash."""
    if len(h) != 64 or not set(h) <= _HEX:
        raise RuleError(BAD_HASH)
    return h.decode()


class User:
    __slots__ = ("name", "enabled", "nopass", "sanitize", "passwords", "selectors", "_text")

    def __init__(self, name: bytes, allchannels: bool) -> None:
        self.name = name
        self.enabled = False  # USER_FLAG_DISABLED at creation
        self.nopass = False
        self.sanitize: bool | None = None  # sanitize-payload / skip-sanitize-payload / neither
        self.passwords: list[str] = []
        self.selectors = [Selector(True, allchannels)]
        self._text: str | None = None  # u->acl_string

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def copy_from(self, src: User) -> None:
        """ACLCopyUser: everything but the name."""
        self.enabled, self.nopass, self.sanitize = src.enabled, src.nopass, src.sanitize
        self.passwords = list(src.passwords)
        self.selectors = [s.copy() for s in src.selectors]
        self._text = src._text

    def set(self, op: bytes, allchannels_default: bool) -> None:
        """ACLSetUser: one rule; raises RuleError with ACLSetUserStringError's text."""
        self._text = None
        if not op:
            return
        low = op.lower()
        if low == b"on":
            self.enabled = True
        elif low == b"off":
            self.enabled = False
        elif low == b"skip-sanitize-payload":
            self.sanitize = False
        elif low == b"sanitize-payload":
            self.sanitize = True
        elif low == b"nopass":
            self.nopass = True
            self.passwords = []
        elif low == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            h = hash_password(op[1:]) if op[:1] == b">" else _check_hash(op[1:])
            if h not in self.passwords:
                self.passwords.append(h)
            self.nopass = False
        elif op[:1] in (b"<", b"!"):
            h = hash_password(op[1:]) if op[:1] == b"<" else _check_hash(op[1:])
            if h not in self.passwords:
                raise RuleError(NO_SUCH_PASSWORD)
            self.passwords.remove(h)
        elif op[:1] == b"(" and op[-1:] == b")":
            self.selectors.append(selector_from(op, allchannels_default))
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            for rule in (b"resetpass", b"resetkeys", b"resetchannels"):
                self.set(rule, allchannels_default)
            if allchannels_default:
                self.set(b"allchannels", allchannels_default)
            for rule in (b"off", b"sanitize-payload", b"clearselectors", b"-@all"):
                self.set(rule, allchannels_default)
        else:
            self.root.apply(op)

    def check_password(self, password: bytes) -> bool:
        """ACLCheckUserCredentials for an existing user."""
        if not self.enabled:
            return False
        if self.nopass:
            return True
        h = hash_password(password)
        return any(hmac.compare_digest(h, p) for p in self.passwords)

    def flags(self) -> list[str]:
        """ACLUserFlags in their order: on/off, nopass, the sanitize flag."""
        out = ["on" if self.enabled else "off"]
        if self.nopass:
            out.append("nopass")
        if self.sanitize is False:
            out.append("skip-sanitize-payload")
        elif self.sanitize is True:
            out.append("sanitize-payload")
        return out

    def describe(self) -> str:
        """ACLDescribeUser: the rules that rebuild this user (ACL LIST, ACL SAVE)."""
        if self._text is None:
            parts = [*self.flags(), *("#" + p for p in self.passwords), self.root.describe()]
            text = " ".join(parts)
            for s in self.selectors[1:]:
                text += f" ({s.describe()})"
            self._text = text
        return self._text

    def unrestricted(self) -> bool:
        """Whether no check can refuse this user anything (the dispatcher's fast path)."""
        r = self.root
        return r.allcommands and r.allkeys and r.allchannels


def selector_from(op: bytes, allchannels_default: bool) -> Selector:
    """aclCreateSelectorFromOpSet: ``(rule rule ...)``."""
    s = Selector(False, allchannels_default)
    for rule in op[1:-1].split():
        s.apply(rule)
    return s


def merge_selectors(args: list[bytes]) -> list[bytes] | int:
    """ACLMergeSelectorArguments: a selector spread over several arguments becomes one;
    an unmatched ``(`` gives the index of the argument it starts at."""
    out: list[bytes] = []
    start = -1
    cur = b""
    for j, op in enumerate(args):
        if op[:1] == b"(" and op[-1:] != b")":
            cur, start = op, j
            continue
        if start != -1:
            cur += b" " + op
            if op[-1:] == b")":
                start = -1
                out.append(cur)
            continue
        out.append(op)
    return start if start != -1 else out
