"""The leaderboard submission check (``ovbench submit check``). Reads files only: nothing under
``adapters/<name>/`` is ever imported or executed.

A submission is

* ``adapters/<name>/submission.yaml`` - the model's manifest (``schema/submission-v1.json``);
* ``leaderboard/results/<name>/*.json`` - its results file(s) (the current ``schema/v<N>.json``, older versions migrated), where
  ``<name>`` is the adapter name (``model.adapter``).

Rules (every problem found is reported, not only the first):

1. results file: size limit, valid JSON (no NaN), schema, internal consistency (the aggregate
   PQ/SQ/RQ/n of every oracle and split recomputed from its per-class rows; FN breakdown vs
   per-class counts; per-class rows cover every class);
2. standard: dataset name + annotation sha256 (+ image/class counts), suite name + version +
   sha256 (read from ovbench's suite file at check time), taxonomy sha256 where listed, and no
   simulated model on a real dataset - all from ``leaderboard/standards.yaml``;
3. layout: the file lies at ``leaderboard/results/<name>/<file>.json`` with ``<name>`` equal to
   ``model.adapter``; ``adapters/<name>/submission.yaml`` exists and is valid; manifest and
   results agree on name, paper, code, release date, training data, backbone, checkpoint hash;
   overlay files exist inside the results folder; folder size limits;
4. no two results files for the same (model, dataset, suite name, suite version).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import OvbenchError, SchemaError, SubmissionError
from ..results.io import is_results_file, read_json_strict
from ..results.migrate import migrate
from ..results.validate import manifest_problems, schema_problems

RESULTS_DIR = Path("leaderboard") / "results"
ADAPTERS_DIR = Path("adapters")
MANIFEST = "submission.yaml"
NAME_RE = r"^[a-z0-9][a-z0-9_-]{0,63}$"
TOLERANCE = 1e-6
DEFAULT_LIMITS = {"max_results_bytes": 10 << 20, "max_results_folder_bytes": 20 << 20, "max_adapter_folder_bytes": 1 << 20}
#: manifest field -> results model field compared when both are set
MANIFEST_VS_MODEL = {"name": "name", "paper": "paper", "code": "code", "release_date": "release_date",
                     "training_data": "training_data", "backbone": "backbone", "checkpoint_sha256": "checkpoint_sha256"}


# ---- the published standard ---------------------------------------------------------------------
@dataclass(frozen=True)
class Standards:
    """Accepted datasets, suites and taxonomies (``leaderboard/standards.yaml``)."""

    datasets: Mapping[str, Mapping[str, Any]]
    suites: Mapping[str, Mapping[str, Any]]
    taxonomies: Mapping[str, Mapping[str, Any]]
    limits: Mapping[str, int]
    source: str
    base_dir: Path | None = None


def default_standards_path() -> Path:
    return Path(str(resources.files("ovbench.leaderboard").joinpath("standards.yaml")))


def load_standards(path: str | Path | None = None) -> Standards:
    """Read the standards file (default: the one shipped in ``ovbench.leaderboard``)."""
    p = Path(path) if path is not None else default_standards_path()
    if not p.is_file():
        raise SubmissionError(f"standards file {p} does not exist (the leaderboard's accepted datasets and suites)")
    from ..yamlsafe import load_yaml_file

    data = load_yaml_file(p, SubmissionError)
    if not isinstance(data, Mapping) or data.get("schema") != "ovbench-standards/1":
        raise SubmissionError(f"{p}: expected a mapping with 'schema: ovbench-standards/1'")
    limits = {**DEFAULT_LIMITS, **(data.get("limits") or {})}
    return Standards(dict(data.get("datasets") or {}), dict(data.get("suites") or {}),
                     dict(data.get("taxonomies") or {}), limits, str(p), p.parent)


def published_suite(name: str, standards: Standards) -> tuple[str, str]:
    """(version, sha256) of the published suite `name`.

    The standards entry is ``{source: package}`` (ovbench's own ``suites/<name>.yaml``, hashed by
    :func:`ovbench.suites.suite.load_suite` exactly as the runner hashes it), ``{file: PATH}``
    (relative to the standards file) or literal ``{version, sha256}``.
    """
    entry = standards.suites.get(name)
    if entry is None:
        raise SubmissionError(f"suite {name!r} is not a published standard (accepted: {', '.join(sorted(standards.suites)) or 'none'})")
    if "sha256" in entry:
        return str(entry["version"]), str(entry["sha256"])
    from ..suites.suite import load_suite

    if entry.get("source") == "package":
        suite = load_suite(name)
    elif "file" in entry:
        path = Path(entry["file"])
        suite = load_suite(path if path.is_absolute() or standards.base_dir is None else standards.base_dir / path)
    else:
        raise SubmissionError(f"{standards.source}: suites.{name} needs 'source: package', 'file: PATH' or 'version' + 'sha256'")
    return suite.version, suite.sha256


# ---- report ---------------------------------------------------------------------------------------
@dataclass
class CheckReport:
    """What was checked and every problem found (``"<file>: <problem>"``)."""

    checked: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str | Path, problems: Iterable[str]) -> None:
        self.problems.extend(f"{where}: {p}" for p in problems)

    def format(self) -> str:
        lines = [f"checked {len(self.checked)} results file(s)"]
        lines += [f"note: {n}" for n in self.notes]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines += [f"  - {p}" for p in self.problems]
        else:
            lines.append("OK: every rule passed")
        return "\n".join(lines)

    def raise_if_failed(self) -> None:
        if self.problems:
            raise SubmissionError(self.format())


# ---- rules on one results document ------------------------------------------------------------------
def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def consistency_problems(doc: Mapping[str, Any]) -> list[str]:
    """Aggregates recomputed from the per-class rows (view 'standard') must match the file."""
    if doc["dataset"].get("task") == "semantic":  # mIoU only: checked against per_class_semantic
        from ..results.semantic import semantic_consistency_problems

        return semantic_consistency_problems(doc)
    problems: list[str] = []
    rows_by_oracle: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in doc["per_class"]:
        if r.get("view", "standard") == "standard":
            rows_by_oracle[r["oracle"]].append(r)
    k = doc["dataset"]["num_classes"]
    select = {
        "all": lambda r: True, "things": lambda r: r["isthing"], "stuff": lambda r: not r["isthing"],
        "seen": lambda r: r.get("seen") is True, "unseen": lambda r: r.get("seen") is False,
    }
    for key, oracle in doc["oracles"].items():
        rows = rows_by_oracle.get(key, [])
        if len(rows) != k:
            problems.append(f"$.per_class: oracle {key!r} has {len(rows)} per-class rows (view 'standard'), expected {k} (dataset.num_classes)")
            continue
        for split, st in oracle["splits"].items():
            sel = [r for r in rows if select[split](r) and r["tp"] + r["fp"] + r["fn"] > 0]
            n = len(sel)
            got = (sum(r["pq"] for r in sel) / n, sum(r["sq"] for r in sel) / n, sum(r["rq"] for r in sel) / n) if n else (None,) * 3
            for metric, value in zip(("pq", "sq", "rq"), got):
                if not _close(value, st[metric]):
                    problems.append(f"$.oracles.{key}.splits.{split}.{metric}: {st[metric]} does not match {value} recomputed from per_class")
            if n != st["n"]:
                problems.append(f"$.oracles.{key}.splits.{split}.n: {st['n']} but {n} classes with segments in per_class")
    for i, r in enumerate(doc.get("fn_breakdown", [])):
        key = r.get("oracle", "baseline")
        pc = {x["category_id"]: x for x in rows_by_oracle.get(key, [])}
        x = pc.get(r["category_id"])
        if x is None:
            problems.append(f"$.fn_breakdown[{i}]: no per-class row of oracle {key!r} for category {r['category_id']}")
        elif r["tp"] != x["tp"] or r["fn_seg"] + r["fn_cls"] != x["fn"]:
            problems.append(f"$.fn_breakdown[{i}]: tp={r['tp']}, fn_seg+fn_cls={r['fn_seg'] + r['fn_cls']} but per_class of"
                            f" {key!r} has tp={x['tp']}, fn={x['fn']} for category {r['category_id']}")
    return problems


def standard_problems(doc: Mapping[str, Any], standards: Standards) -> list[str]:
    """Dataset, suite and taxonomy must be the published ones."""
    problems = []
    ds, su, tx, model = doc["dataset"], doc["suite"], doc["taxonomy"], doc["model"]
    std = standards.datasets.get(ds["name"])
    if std is None:
        problems.append(f"$.dataset.name: {ds['name']!r} is not a leaderboard dataset (accepted: {', '.join(sorted(standards.datasets)) or 'none'})")
    else:
        # the official annotation file, or one of the listed variants (e.g. the demo's synthetic set)
        variants = [std, *(std.get("variants") or [])]
        match = next((v for v in variants if v.get("annotation_sha256") and v["annotation_sha256"] == ds["annotation_sha256"]), None)
        want = std.get("annotation_sha256")
        if match is None:
            if want is None:
                problems.append(f"$.dataset.annotation_sha256: the standard hash of {ds['name']!r} is not published yet in {standards.source}")
            else:
                problems.append(f"$.dataset.annotation_sha256: {ds['annotation_sha256']} differs from the official {ds['name']!r} annotations"
                                f" ({want}): the results were computed on another version of the dataset")
            match = std
        for key in ("num_images", "num_classes"):
            if key in match and match[key] != ds[key]:
                problems.append(f"$.dataset.{key}: {ds[key]} but the standard {ds['name']!r} has {match[key]}")
        if model["kind"] == "simulated" and not match.get("allow_simulated", False):
            problems.append(f"$.model.kind: simulated models are not ranked on {ds['name']!r}"
                            f"{' (' + str(match['label']) + ')' if match.get('label') else ''}")
    try:
        version, sha = published_suite(su["name"], standards)
    except (SubmissionError, OvbenchError) as exc:
        problems.append(f"$.suite.name: {exc}")
    else:
        if su["version"] != version:
            problems.append(f"$.suite.version: {su['version']!r} but the published suite {su['name']!r} is version {version!r}")
        if su["sha256"] != sha:
            problems.append(f"$.suite.sha256: {su['sha256']} differs from the published suite {su['name']!r} v{version} ({sha}):"
                            " the suite settings were changed")
    tstd = standards.taxonomies.get(tx["name"])
    if tstd is not None and tstd.get("sha256") != tx["sha256"]:
        problems.append(f"$.taxonomy.sha256: {tx['sha256']} differs from the published taxonomy {tx['name']!r} ({tstd.get('sha256')})")
    return problems


def results_doc_problems(path: Path, standards: Standards) -> tuple[dict[str, Any] | None, list[str]]:
    """Load one results file and apply rules 1-2. Returns (document or None, problems)."""
    if path.is_symlink() or any(p.is_symlink() for p in path.parents if RESULTS_DIR.name in p.parts):
        return None, ["is (or lies under) a symbolic link: submissions must be regular files inside the repository"]
    size = path.stat().st_size
    limit = standards.limits["max_results_bytes"]
    if size > limit:
        return None, [f"file is {size} bytes, over the limit of {limit}"]
    try:
        raw = read_json_strict(path)
        if not isinstance(raw, Mapping) or raw.get("kind") != "ovbench-results":
            return None, ["not an ovbench results file (no \"kind\": \"ovbench-results\"): only results files and the"
                          f" overlay images they reference belong in {RESULTS_DIR}/<name>/"]
        doc = migrate(raw, source=str(path))
    except SchemaError as exc:
        return None, [str(exc).removeprefix(f"{path}: ")]
    problems = schema_problems(doc)
    if problems:
        return None, problems
    return doc, consistency_problems(doc) + standard_problems(doc, standards)


# ---- layout -------------------------------------------------------------------------------------------
def folder_bytes(folder: Path) -> int:
    """Total size of the regular files under `folder` (``__pycache__`` ignored; links not followed)."""
    total = 0
    for p in folder.rglob("*"):
        if "__pycache__" in p.parts or p.is_symlink() or not p.is_file():
            continue
        total += p.stat().st_size
    return total


def read_manifest(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """Parse and validate a ``submission.yaml`` (safe loader: no object construction; size cap, no
    aliases: :mod:`ovbench.yamlsafe`)."""
    from ..yamlsafe import MAX_MANIFEST_BYTES, load_yaml_file

    if path.is_symlink():
        return None, ["is a symbolic link: submissions must be regular files"]
    try:
        data = load_yaml_file(path, SubmissionError, max_bytes=MAX_MANIFEST_BYTES)
    except SubmissionError as exc:
        return None, [f"cannot read the manifest: {str(exc).removeprefix(f'{path}: ')}"]
    problems = manifest_problems(data)
    if problems:
        return None, problems
    import datetime

    return {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in data.items()}, []


def find_root(path: Path) -> Path | None:
    """The repository root above `path`: the nearest folder holding ``leaderboard/results``."""
    for d in [path if path.is_dir() else path.parent, *path.resolve().parents]:
        if (d / RESULTS_DIR).is_dir():
            return d.resolve()
    return None


def layout_problems(path: Path, doc: Mapping[str, Any], root: Path, standards: Standards) -> list[str]:
    """Rule 3 for one results file at `path` under repository `root`."""
    import re

    problems: list[str] = []
    try:
        rel = path.resolve().relative_to((root / RESULTS_DIR).resolve())
    except ValueError:
        return [f"a results file must lie at {RESULTS_DIR}/<name>/<file>.json under {root}"]
    if len(rel.parts) != 2:
        return [f"a results file must lie directly in {RESULTS_DIR}/<name>/ (found {RESULTS_DIR / rel})"]
    name = rel.parts[0]
    adapter = doc["model"]["adapter"]
    if not re.match(NAME_RE, name):
        problems.append(f"folder name {name!r} must match {NAME_RE}")
    if name != adapter:
        problems.append(f"path does not match the model: folder {RESULTS_DIR / name} but model.adapter is {adapter!r}"
                        f" (move the file to {RESULTS_DIR / adapter}/)")
    folder = root / RESULTS_DIR / name
    size, limit = folder_bytes(folder), standards.limits["max_results_folder_bytes"]
    if size > limit:
        problems.append(f"{RESULTS_DIR / name}/ holds {size} bytes, over the limit of {limit}")
    for i, ov in enumerate(doc.get("overlays", [])):
        for role, relpath in ov["files"].items():
            f = (path.parent / relpath).resolve()
            if not f.is_relative_to(path.parent.resolve()):
                problems.append(f"$.overlays[{i}].files.{role}: {relpath} is outside the results folder")
            elif not f.is_file():
                problems.append(f"$.overlays[{i}].files.{role}: {relpath} does not exist next to the results file")
    adir = root / ADAPTERS_DIR / name
    manifest_path = adir / MANIFEST
    if not manifest_path.is_file():
        problems.append(f"missing manifest {ADAPTERS_DIR / name / MANIFEST} (every submission needs adapters/<name>/submission.yaml)")
        return problems
    manifest, mproblems = read_manifest(manifest_path)
    problems += [f"{ADAPTERS_DIR / name / MANIFEST}: {p}" for p in mproblems]
    if manifest is not None:
        model = doc["model"]
        for mkey, rkey in MANIFEST_VS_MODEL.items():
            mv, rv = manifest.get(mkey), model.get(rkey)
            if mv is not None and mv != rv:
                problems.append(f"$.model.{rkey}: {rv!r} but {ADAPTERS_DIR / name / MANIFEST} says {mkey}: {mv!r}")
    size, limit = folder_bytes(adir), standards.limits["max_adapter_folder_bytes"]
    if size > limit:
        problems.append(f"{ADAPTERS_DIR / name}/ holds {size} bytes, over the limit of {limit} (no weights in the repository)")
    return problems


def duplicate_problems(docs: Mapping[Path, Mapping[str, Any]]) -> list[str]:
    """Rule 4: one results file per (model, dataset, suite, suite version)."""
    seen: dict[tuple[str, ...], list[Path]] = defaultdict(list)
    for path, doc in docs.items():
        key = (doc["model"]["name"], doc["dataset"]["name"], doc["suite"]["name"], doc["suite"]["version"])
        seen[key].append(path)
    return [f"duplicate results for model {k[0]!r} on {k[1]} with suite {k[2]} v{k[3]}: {', '.join(map(str, sorted(v)))}"
            for k, v in seen.items() if len(v) > 1]


# ---- entry point ---------------------------------------------------------------------------------------
def _targets(path: Path, root: Path | None) -> list[Path]:
    """Results files named by `path`: a file; ``adapters/<name>`` (-> its results folder); a results
    folder; ``leaderboard/results``; or a repository root (-> all of ``leaderboard/results``)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise SubmissionError(f"{path}: no such file or folder")
    if (path / MANIFEST).is_file() and root is not None and path.resolve().parent == (root / ADAPTERS_DIR).resolve():
        path = root / RESULTS_DIR / path.name
        if not path.is_dir():
            raise SubmissionError(f"{path}: the submission has a manifest but no results folder {RESULTS_DIR / path.name}/")
    if (path / RESULTS_DIR).is_dir():
        path = path / RESULTS_DIR
    return sorted(p for p in path.rglob("*.json") if not any(part.startswith(".") for part in p.relative_to(path).parts))


def check_submission(path: str | Path, *, root: str | Path | None = None,
                     standards: Standards | str | Path | None = None) -> CheckReport:
    """Apply every rule to the results file(s) named by `path`; return a report of all problems.

    `root` is the repository root (default: found above `path`); `standards` a :class:`Standards`
    or the path of a standards file (default: ``leaderboard/standards.yaml`` of this ovbench).
    Duplicates are looked for among all results files under ``<root>/leaderboard/results``.
    """
    path = Path(path)
    std = standards if isinstance(standards, Standards) else load_standards(standards)
    root_path = Path(root).resolve() if root is not None else find_root(path)
    report = CheckReport()
    targets = _targets(path, root_path)
    if not targets:
        report.notes.append(f"no results files under {path}")
        return report
    docs: dict[Path, dict[str, Any]] = {}
    for t in targets:
        report.checked.append(t)
        doc, problems = results_doc_problems(t, std)
        report.add(t, problems)
        if doc is None:
            continue
        docs[t.resolve()] = doc
        if root_path is None:
            report.add(t, [f"not inside an ovbench repository (no {RESULTS_DIR}/ above it): cannot check the submission layout"])
        else:
            report.add(t, layout_problems(t, doc, root_path, std))
    if root_path is not None and (root_path / RESULTS_DIR).is_dir():
        for other in sorted((root_path / RESULTS_DIR).rglob("*.json")):
            r = other.resolve()
            if r in docs or not is_results_file(other):
                continue
            try:
                d = migrate(read_json_strict(other), source=str(other))
                if not schema_problems(d):
                    docs[r] = d
            except SchemaError:
                pass  # reported when that file itself is checked
    report.problems.extend(duplicate_problems(docs))
    return report


def check_paths(paths: Sequence[str | Path], **kwargs: Any) -> CheckReport:
    """:func:`check_submission` over several paths, merged into one report."""
    merged = CheckReport()
    for p in paths:
        r = check_submission(p, **kwargs)
        merged.checked += r.checked
        merged.notes += r.notes
        merged.problems += [x for x in r.problems if x not in merged.problems]
    return merged
