"""Upgrade results documents written under older schema versions, one function per step.

Steps (``@step(from_version)``, each pure: it gets a deep copy and returns the next version):

* ``1 -> 2`` (:func:`v1_to_v2`): schema 2 checks the diagnostics sections ``pool_recall``,
  ``calibration`` and ``sweeps`` against the diagnostics fragment; version 1 left ``diagnostics``
  free-form. Sections that already follow the fragment (everything ovbench's runner wrote) are
  kept as they are; a section under one of these names that does not is kept too, renamed
  ``legacy_v1_<name>`` (free-form, as in v1), so that every valid v1 file stays loadable and no
  data is dropped. Other diagnostics keys are untouched.

A schema bump to version N + 1 is: write ``schema/v<N+1>.json`` and set
``validate.CURRENT_SCHEMA_VERSION``; add one ``@step(N)`` function here; keep a version-N file in
``tests/fixtures/historic/`` (``tests/unit/test_results_migrate.py`` loads every historic file,
migrates it and validates the result against the current schema).

Files newer than this ovbench are refused with a message asking to upgrade ovbench.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from ..errors import SchemaError
from .validate import CURRENT_SCHEMA_VERSION, load_schema

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


# ---- the steps ----------------------------------------------------------------------------------------
#: diagnostics sections that schema version 2 checks against its embedded fragment
V2_DIAGNOSTICS = ("pool_recall", "calibration", "sweeps")
LEGACY_PREFIX = "legacy_v1_"


@cache
def _v2_fragment_validator() -> Any:
    import jsonschema

    fragment = load_schema("v2")["$defs"]["diagnostics_fragment"]
    return jsonschema.validators.validator_for(fragment)(fragment)


def follows_v2_fragment(name: str, section: Any) -> bool:
    """Does diagnostics section `name` follow the diagnostics fragment of schema version 2?"""
    return _v2_fragment_validator().is_valid({name: section})


@step(1)
def v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: keep conforming diagnostics sections, rename the others ``legacy_v1_<name>``."""
    diag = doc.get("diagnostics")
    if isinstance(diag, dict):
        renamed: dict[str, Any] = {}
        for key, value in diag.items():
            if key in V2_DIAGNOSTICS and not follows_v2_fragment(key, value):
                new, n = f"{LEGACY_PREFIX}{key}", 2
                while new in diag or new in renamed:
                    new, n = f"{LEGACY_PREFIX}{key}_{n}", n + 1
                key = new
            renamed[key] = value
        doc["diagnostics"] = renamed
    doc["schema_version"] = 2
    return doc
