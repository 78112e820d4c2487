"""Upgrade results documents written under older schema versions, one function per step.

Version 1 is the first schema, so :data:`MIGRATIONS` is empty today. A schema bump to version 2 is:

1. write ``schema/v2.json`` and set ``validate.CURRENT_SCHEMA_VERSION = 2``;
2. add one function here, decorated ``@step(1)``, that turns a v1 dict into a v2 dict (pure: it
   gets a deep copy, returns the new dict with ``schema_version = 2``);
3. keep a v1 file in ``tests/fixtures/historic/``: ``tests/unit/test_results_migrate.py`` loads
   every historic file, migrates it and validates the result against the current schema.

Files newer than this ovbench are refused with a message asking to upgrade ovbench.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import SchemaError
from .validate import CURRENT_SCHEMA_VERSION

Migration = Callable[[dict[str, Any]], dict[str, Any]]

#: from-version -> function returning the document at from-version + 1
MIGRATIONS: dict[int, Migration] = {}


def step(from_version: int) -> Callable[[Migration], Migration]:
    """Register `fn` as the migration from `from_version` to `from_version + 1`."""

    def deco(fn: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise ValueError(f"two migrations from schema version {from_version}")
        MIGRATIONS[from_version] = fn
        return fn

    return deco


def migrate(doc: Mapping[str, Any], *, target: int = CURRENT_SCHEMA_VERSION, source: str = "results") -> dict[str, Any]:
    """Return `doc` upgraded to schema version `target` (a new dict; `doc` is not modified).

    Raises :class:`SchemaError` for a missing/invalid ``schema_version``, for a version newer than
    `target`, or for a gap in the chain of migrations.
    """
    version = doc.get("schema_version") if isinstance(doc, Mapping) else None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SchemaError(f"{source}: $.schema_version: expected a positive integer, got {version!r}")
    if version > target:
        raise SchemaError(
            f"{source}: schema version {version} is newer than this ovbench understands ({target}); upgrade ovbench"
        )
    out = copy.deepcopy(dict(doc))
    while version < target:
        fn = MIGRATIONS.get(version)
        if fn is None:
            raise SchemaError(f"{source}: no migration from schema version {version} to {version + 1}")
        out = fn(out)
        if out.get("schema_version") != version + 1:
            raise SchemaError(f"migration {fn.__name__} did not set schema_version to {version + 1}")
        version += 1
    return out
