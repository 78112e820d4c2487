"""Writing and reading results folders (atomic writes; pandas-friendly tables)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"
PER_CLASS_FILE = "per_class.csv"
PER_IMAGE_FILE = "per_image.csv.gz"


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write JSON via a temporary file + rename, so a killed process never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1, allow_nan=False, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_table_atomic(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows as CSV (gzip if the name ends in .gz) atomically."""
    import pandas as pd

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pd.DataFrame(list(rows)).to_csv(tmp, index=False, compression="gzip" if path.suffix == ".gz" else None)
    os.replace(tmp, path)
    return path


def write_results(
    out_dir: str | Path,
    results: dict[str, Any],
    per_class: Sequence[dict[str, Any]],
    per_image: Sequence[dict[str, Any]] | None = None,
) -> Path:
    """Write ``results.json`` (with ``per_class`` embedded) and the CSV tables; return the JSON path."""
    out_dir = Path(out_dir)
    doc = dict(results)
    doc["per_class"] = list(per_class)
    write_table_atomic(out_dir / PER_CLASS_FILE, per_class)
    if per_image is not None:
        write_table_atomic(out_dir / PER_IMAGE_FILE, per_image)
    return write_json_atomic(out_dir / RESULTS_FILE, doc)


def read_json_strict(path: str | Path) -> Any:
    """Read JSON, refusing the non-standard ``NaN``/``Infinity`` tokens Python would accept.

    Raises :class:`~ovbench.errors.SchemaError` naming the file for a missing file or bad JSON.
    """
    from ..errors import SchemaError

    def _reject(token: str) -> Any:
        raise ValueError(f"non-finite number {token} (JSON has no NaN/Infinity; write null)")

    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f, parse_constant=_reject)
    except FileNotFoundError:
        raise SchemaError(f"{path}: no such file") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise SchemaError(f"{path}: not valid JSON ({exc})") from None


def load_results(path: str | Path, *, upgrade: bool = True, validate: bool = False) -> dict[str, Any]:
    """Load a results file (a ``results.json`` or a folder holding one).

    With `upgrade` (default) a file written under an older schema version is migrated to the
    current one (:func:`ovbench.results.migrate.migrate`); with `validate` it is then checked
    against the schema (:func:`ovbench.results.validate.validate_results`). Errors name the file.
    """
    from ..errors import SchemaError

    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    doc = read_json_strict(path)
    if upgrade:
        from .migrate import migrate

        doc = migrate(doc, source=str(path))
    if validate:
        from .validate import validate_results

        try:
            validate_results(doc)
        except SchemaError as exc:
            raise SchemaError(f"{path}: {exc}") from None
    return doc


def is_results_file(path: Path, peek: int = 16384) -> bool:
    """Cheap test: does the start of `path` declare ``"kind": "ovbench-results"``?"""
    try:
        with open(path, "rb") as f:
            head = f.read(peek)
    except OSError:
        return False
    return b'"ovbench-results"' in head


def find_results_files(root: Path, *, exclude: Iterable[Path] = ()) -> list[Path]:
    """Every ``*.json`` results file under `root` (sorted), skipping ``shards/``, hidden folders and `exclude`."""
    excluded = [Path(e).resolve() for e in exclude]
    found = []
    for p in sorted(root.rglob("*.json")):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") or part == "shards" for part in rel[:-1]):
            continue
        rp = p.resolve()
        if any(rp.is_relative_to(e) for e in excluded):
            continue
        if is_results_file(p):
            found.append(p)
    return found
