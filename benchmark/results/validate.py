"""Validate a results document against its JSON Schema (``schema/v<N>.json``).

:func:`validate_results` raises :class:`~ovbench.errors.SchemaError` whose message starts with the
JSON path of the first failure (``$.oracles.baseline.splits.all.pq``), then lists every other
failure. Besides the schema, it checks what JSON Schema cannot say: every number is finite
(Python's ``json`` module reads ``NaN``/``Infinity``), and a confidence interval has lo <= hi.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from ..errors import SchemaError

CURRENT_SCHEMA_VERSION = 2
RESULTS_KIND = "ovbench-results"
MAX_ERRORS = 20


@cache
def load_schema(name: str = f"v{CURRENT_SCHEMA_VERSION}") -> dict[str, Any]:
    """The JSON Schema ``schema/<name>.json`` shipped with ovbench (package data)."""
    ref = resources.files("ovbench.results").joinpath("schema", f"{name}.json")
    try:
        text = ref.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(
            f"schema file {ref} is missing from the installed package (package data 'ovbench.results': schema/*.json)"
        ) from None
    return json.loads(text)


@cache
def _validator(name: str) -> Any:
    import jsonschema

    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def json_path(parts: Any) -> str:
    """``['oracles', 'baseline', 'splits']`` -> ``$.oracles.baseline.splits``; ints become ``[i]``."""
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.isidentifier():
            out += f".{p}"
        else:
            out += f"[{json.dumps(p)}]"
    return out


def iter_nonfinite(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], float]]:
    """Yield (path, value) for every NaN or infinite float inside `obj`."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            yield path, obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from iter_nonfinite(v, (*path, k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from iter_nonfinite(v, (*path, i))


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def schema_problems(doc: Any, schema_name: str = f"v{CURRENT_SCHEMA_VERSION}") -> list[str]:
    """Every problem of `doc` as ``"<json path>: <message>"`` strings (empty list if valid)."""
    problems = [f"{json_path(p)}: {v!r} is not a finite number (NaN/Infinity are not allowed)" for p, v in iter_nonfinite(doc)]
    if problems:  # jsonschema would accept NaN as a number; report these first and stop here
        return problems
    errors = sorted(_validator(schema_name).iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    for err in errors:
        # oneOf/anyOf errors: report the most specific sub-error, which names the real problem
        best = err
        if err.context:
            import jsonschema.exceptions

            best = jsonschema.exceptions.best_match([err]) or err
        problems.append(f"{json_path(best.absolute_path)}: {_describe(best)}")
    if not errors and schema_name.startswith("v"):
        problems.extend(_semantic_problems(doc))
    return list(dict.fromkeys(problems))  # one rule can fail through two branches (oneOf + if/then)


def _describe(err: Any) -> str:
    if err.validator == "additionalProperties":
        return f"{err.message} (this section is strict: see benchmark/results/schema/v{CURRENT_SCHEMA_VERSION}.json)"
    if err.validator in ("pattern", "not") and isinstance(err.instance, str):
        return f"{_short(err.instance)} has the wrong form ({err.validator}: {err.validator_value!r})"
    return err.message


def _semantic_problems(doc: Mapping[str, Any]) -> list[str]:
    """Rules JSON Schema cannot express."""
    problems = []
    for key, oracle in doc.get("oracles", {}).items():
        for split, st in oracle.get("splits", {}).items():
            ci = st.get("pq_ci95")
            if ci is not None and ci[0] > ci[1]:
                problems.append(f"{json_path(('oracles', key, 'splits', split, 'pq_ci95'))}: lower bound {ci[0]} > upper bound {ci[1]}")
    return problems


def validate_results(doc: Any) -> None:
    """Raise :class:`SchemaError` unless `doc` is a valid results document of the current version.

    The message starts with the JSON path of the first failure; all failures (up to 20) are listed.
    Older schema versions must be migrated first (:func:`ovbench.results.migrate.migrate`).
    """
    if not isinstance(doc, Mapping):
        raise SchemaError(f"$: a results file must be a JSON object, not {type(doc).__name__}")
    if doc.get("kind") != RESULTS_KIND:
        raise SchemaError(f"$.kind: expected {RESULTS_KIND!r}, got {_short(doc.get('kind'))}: not an ovbench results file")
    version = doc.get("schema_version")
    if version != CURRENT_SCHEMA_VERSION:
        raise SchemaError(
            f"$.schema_version: expected {CURRENT_SCHEMA_VERSION}, got {_short(version)}"
            " (load the file with ovbench.results.load_results, which migrates older versions)"
        )
    problems = schema_problems(doc)
    if problems:
        more = f"\n  ... and {len(problems) - MAX_ERRORS} more" if len(problems) > MAX_ERRORS else ""
        listed = "\n  ".join(problems[:MAX_ERRORS])
        raise SchemaError(f"{problems[0]}\n  {len(problems)} problem(s):\n  {listed}{more}")


MANIFEST_SCHEMA = "submission-v1"


def manifest_problems(manifest: Any) -> list[str]:
    """Problems of a submission manifest (``adapters/<name>/submission.yaml`` parsed by YAML).

    YAML turns ``2024-01-31`` into a date object; dates are compared as ISO strings."""
    import datetime

    if isinstance(manifest, Mapping):
        manifest = {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in manifest.items()}
    else:
        return [f"$: a submission manifest must be a mapping, not {type(manifest).__name__}"]
    return schema_problems(manifest, MANIFEST_SCHEMA)
