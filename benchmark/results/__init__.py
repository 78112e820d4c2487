"""Results files: assembly, atomic writing, schema validation, migration, pandas loaders.

Public API (imported lazily, so ``import ovbench.results`` stays cheap)::

    load_results(path, *, upgrade=True, validate=False) -> dict
    validate_results(doc) -> None                      # raises SchemaError with a JSON path
    migrate.migrate(doc) -> dict                       # older schema versions -> current
    load_results_frames(path) -> dict[str, DataFrame]  # summary, per_class, fn_breakdown, ...
    load_results_table(paths_or_dir) -> DataFrame      # one row per model x oracle x split
    load_per_class_table(paths_or_dir) -> DataFrame    # one row per model x oracle x view x class
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_results": ".io",
    "write_results": ".io",
    "write_json_atomic": ".io",
    "validate_results": ".validate",
    "CURRENT_SCHEMA_VERSION": ".validate",
    "load_results_frames": ".frames",
    "load_results_table": ".frames",
    "load_per_class_table": ".frames",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
