"""Writing and reading results folders (atomic writes; pandas-friendly tables)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"
PER_CLASS_FILE = "per_class.csv"
PER_IMAGE_FILE = "per_image.csv.gz"


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write JSON via a uniquely named temporary file + rename, so a killed process never leaves
    half a file; out of space is an :class:`~ovbench.errors.OutputError` naming the path."""
    from ..atomic import write_text_atomic

    return write_text_atomic(path, json.dumps(obj, indent=1, allow_nan=False, sort_keys=False) + "\n")


def write_table_atomic(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows as CSV (gzip if the name ends in .gz) atomically (unique temporary name)."""
    import gzip

    import pandas as pd

    from ..atomic import write_bytes_atomic

    path = Path(path)
    data = pd.DataFrame(list(rows)).to_csv(index=False).encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    return write_bytes_atomic(path, data)


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


STAGING_PREFIX = ".staging-"
#: deepest JSON nesting accepted in results files (Python's parser and the schema walk recurse)
MAX_JSON_DEPTH = 64


def new_staging_dir(out_dir: str | Path) -> Path:
    """A fresh, empty staging folder inside `out_dir` (hidden; see :func:`publish_staged`)."""
    import secrets

    from ..atomic import out_of_space

    out_dir = Path(out_dir)
    path = out_dir / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        import errno

        from ..errors import OutputError

        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise out_of_space(path, None, exc) from None
        raise OutputError(f"cannot create the staging folder {path} ({exc.strerror})") from None
    return path


def publish_staged(staging: Path, out_dir: Path) -> Path:
    """Move every file of `staging` into `out_dir`, ``results.json`` last, and remove `staging`.

    The old ``results.json`` (if any) is removed first, so at every moment either the folder
    holds no ``results.json`` or the one that belongs with the tables beside it: its presence
    means "complete". Renames within one file system need no space.
    """
    out_dir = Path(out_dir)
    (out_dir / RESULTS_FILE).unlink(missing_ok=True)
    names = sorted(p.name for p in staging.iterdir())
    for name in [n for n in names if n != RESULTS_FILE] + [n for n in names if n == RESULTS_FILE]:
        os.replace(staging / name, out_dir / name)
    staging.rmdir()
    return out_dir / RESULTS_FILE


def discard_staging(out_dir: str | Path) -> None:
    """Remove staging folders left by failed or killed merges (call while holding the run lock)."""
    import shutil

    out_dir = Path(out_dir)
    if out_dir.is_dir():
        for p in out_dir.glob(STAGING_PREFIX + "*"):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)


def read_json_strict(path: str | Path) -> Any:
    """Read JSON, refusing the non-standard ``NaN``/``Infinity`` tokens Python would accept.

    Raises :class:`~ovbench.errors.SchemaError` naming the file for a missing file or bad JSON.
    """
    from ..errors import SchemaError

    def _reject(token: str) -> Any:
        raise ValueError(f"non-finite number {token} (JSON has no NaN/Infinity; write null)")

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f, parse_constant=_reject)
    except FileNotFoundError:
        raise SchemaError(f"{path}: no such file") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise SchemaError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise SchemaError(f"{path}: JSON nested too deeply (over {MAX_JSON_DEPTH} levels; a results file has about 6)") from None
    depth = json_depth(doc)
    if depth > MAX_JSON_DEPTH:
        raise SchemaError(f"{path}: JSON nested {depth} levels deep, over the limit of {MAX_JSON_DEPTH} (a results file has about 6)")
    return doc


def json_depth(obj: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0, ``[]`` is 1), without recursion."""
    depth, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            depth = max(depth, d)
            stack.extend((v, d + 1) for v in o.values())
        elif isinstance(o, list):
            depth = max(depth, d)
            stack.extend((v, d + 1) for v in o)
    return depth


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
