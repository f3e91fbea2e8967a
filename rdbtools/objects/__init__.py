"""RDB values by type: the object table and one module per type family.

:mod:`.table` holds the registry (type byte → load / skip / save row, as Redis's
rdbLoadObject / rdbSaveObject mirror each other); ``strings``, ``lists``,
``sets``, ``zsets``, ``hashes``, ``streams`` and ``modules`` hold each family's
functions side by side with the wire forms they read and write.
"""

from __future__ import annotations

from .table import (
    FAMILIES,
    OBJECT_TYPES,
    VALKEY_OBJECT_TYPES,
    ObjectFamily,
    ObjectType,
    load_value,
    object_types,
    save_value,
    skip_value,
)

__all__ = [
    "FAMILIES",
    "OBJECT_TYPES",
    "VALKEY_OBJECT_TYPES",
    "ObjectFamily",
    "ObjectType",
    "load_value",
    "object_types",
    "save_value",
    "skip_value",
]
