"""ACL users and permissions (Redis 7.0's acl.c): ``server.acl`` is an :class:`Acl`.

``selector`` holds the rules of one selector and its checks, ``user`` a user (flags,
password hashes, selectors), ``keys`` which arguments are keys and channels and the
permission each needs (``engine.execution.command_keys``: Redis 7.0's key specs),
``users`` the server's users, the ACL log and the ACL file.
"""

from engine.acl.selector import (
    CATEGORIES,
    DENIED_AUTH,
    DENIED_CHANNEL,
    DENIED_CMD,
    DENIED_KEY,
    OK,
    catalog,
)
from engine.acl.users import CTX_LUA, CTX_MULTI, CTX_TOPLEVEL, Acl, validate_user_line

__all__ = ["CATEGORIES", "CTX_LUA", "CTX_MULTI", "CTX_TOPLEVEL", "DENIED_AUTH", "DENIED_CHANNEL",
           "DENIED_CMD", "DENIED_KEY", "OK", "Acl", "catalog", "validate_user_line"]
