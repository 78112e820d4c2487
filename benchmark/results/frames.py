"""Results files as pandas DataFrames, one call each.

* :func:`load_results_frames` - one file -> ``{"summary", "per_class", "per_class_semantic", "fn_breakdown",
  "conflict_views", "conflict_harmonised", "per_conflict", "meta"}`` plus the diagnostics tables
  (``pool_recall``, ``pool_recall_groups``, ``calibration``, ``calibration_groups``,
  ``calibration_reliability``, ``sweeps``; empty when the file has no such section);
* :func:`load_results_table` - many files (paths or a folder) -> one row per model x oracle x split;
* :func:`load_per_class_table` - many files -> one row per model x oracle x view x class.

Values stay fractions in [0, 1] (multiply by 100 for the paper's PQ points); undefined values are NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import SchemaError
from .diagnostic_frames import diagnostics_frames
from .io import RESULTS_FILE, find_results_files, is_results_file, load_results  # noqa: F401 (re-exported)

SUMMARY_COLUMNS = ["model", "adapter", "suite", "suite_version", "dataset", "oracle", "title", "paper_table", "split",
                   "pq", "sq", "rq", "n", "pq_lo", "pq_hi", "miou", "task"]


def _id_columns(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "model": doc["model"]["name"],
        "adapter": doc["model"]["adapter"],
        "suite": doc["suite"]["name"],
        "suite_version": doc["suite"]["version"],
        "dataset": doc["dataset"]["name"],
    }


def summary_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per oracle x split of a (validated) results document. Semantic targets (``task``
    "semantic") have no PQ: their rows carry the split's mIoU and NaN PQ / SQ / RQ."""
    ids = _id_columns(doc)
    task = doc["dataset"].get("task", "panoptic")
    rows = []
    for key, oracle in doc["oracles"].items():
        for split, st in (oracle.get("miou_splits") or {}).items() if "splits" not in oracle else ():
            rows.append({**ids, "oracle": key, "title": oracle["title"], "paper_table": oracle.get("paper_table"),
                         "split": split, "pq": None, "sq": None, "rq": None, "n": st["n"],
                         "pq_lo": None, "pq_hi": None, "miou": st["miou"], "task": task})
        for split, st in oracle.get("splits", {}).items():
            ci = st.get("pq_ci95") or (None, None)
            rows.append({**ids, "oracle": key, "title": oracle["title"], "paper_table": oracle.get("paper_table"),
                         "split": split, "pq": st["pq"], "sq": st["sq"], "rq": st["rq"], "n": st["n"],
                         "pq_lo": ci[0], "pq_hi": ci[1], "miou": oracle.get("miou"), "task": task})
    return rows


def _frame(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns) if columns else pd.DataFrame(rows)
    for col in ("pq", "sq", "rq", "pq_lo", "pq_hi", "miou", "pq_harmonised", "iou_sum", "iou", "acc"):
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df


def frames_from_doc(doc: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The DataFrames of one results document (see :func:`load_results_frames`)."""
    ids = _id_columns(doc)
    per_class = _frame([{**ids, **r} for r in doc.get("per_class", [])])
    per_class_semantic = _frame([{**ids, **r} for r in doc.get("per_class_semantic", [])])
    fn = _frame([{**ids, **r} for r in doc.get("fn_breakdown", [])])
    views, harm, per_conflict = [], [], []
    for oracle, cp in (doc.get("conflict_pq") or {}).items():
        for v, st in cp.get("views", {}).items():
            ci = st.get("pq_ci95") or (None, None)
            views.append({**ids, "oracle": oracle, "view": v, **{k: st.get(k) for k in ("pq", "sq", "rq", "n")},
                          "pq_lo": ci[0], "pq_hi": ci[1]})
        for h, splits in cp.get("harmonised", {}).items():
            harm += [{**ids, "oracle": oracle, "harmonisation": h, "split": sp, **{k: st.get(k) for k in ("pq", "sq", "rq", "n")}}
                     for sp, st in splits.items()]
        per_conflict += [{**ids, "oracle": oracle, **r} for r in cp.get("per_conflict", [])]
    meta = pd.DataFrame([{
        **ids,
        **{f"model_{k}": v for k, v in doc["model"].items() if k not in ("name", "adapter")},
        "dataset_annotation_sha256": doc["dataset"]["annotation_sha256"],
        "num_images": doc["dataset"]["num_images"],
        "num_classes": doc["dataset"]["num_classes"],
        "task": doc["dataset"].get("task", "panoptic"),
        "in_domain": bool(doc["taxonomy"].get("in_domain", False)),
        "taxonomy": doc["taxonomy"]["name"],
        "taxonomy_sha256": doc["taxonomy"]["sha256"],
        "seen_protocol": doc["taxonomy"]["seen_protocol"],
        "suite_sha256": doc["suite"]["sha256"],
        "ovbench_version": doc["ovbench_version"],
        "created": doc["created"],
    }])
    return {
        "summary": _frame(summary_rows(doc), SUMMARY_COLUMNS),
        "per_class": per_class,
        "per_class_semantic": per_class_semantic,
        "fn_breakdown": fn,
        "conflict_views": _frame(views),
        "conflict_harmonised": _frame(harm),
        "per_conflict": _frame(per_conflict),
        "meta": meta,
        **diagnostics_frames(doc, ids),
    }


def load_results_frames(path: str | Path) -> dict[str, pd.DataFrame]:
    """Load, migrate and validate one results file (or a folder with ``results.json``) as DataFrames.

    Keys: ``summary`` (model x oracle x split: pq, sq, rq, n, pq_lo, pq_hi, miou), ``per_class``,
    ``fn_breakdown``, ``conflict_views``, ``conflict_harmonised``, ``per_conflict``, ``meta`` (one row),
    and the diagnostics tables of :func:`ovbench.results.diagnostic_frames.diagnostics_frames`.
    """
    return frames_from_doc(load_results(path, validate=True))


def results_files(paths_or_dir: str | Path | Iterable[str | Path]) -> list[Path]:
    """Results files named by `paths_or_dir`: files as given; a folder -> its ``results.json`` if it has
    one, else every ``*.json`` below it whose ``kind`` is ``ovbench-results`` (sorted)."""
    items = [paths_or_dir] if isinstance(paths_or_dir, (str, Path)) else list(paths_or_dir)
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            if (p / RESULTS_FILE).is_file():
                out.append(p / RESULTS_FILE)
            else:
                out.extend(find_results_files(p))
        else:
            raise SchemaError(f"{p}: no such file or folder")
    if not out:
        raise SchemaError(f"no results files in {', '.join(map(str, items)) or '(nothing given)'}:"
                          " expected *.json files with \"kind\": \"ovbench-results\" (written by `ovbench run --out DIR`)")
    return out


def load_results_table(paths_or_dir: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One row per model x oracle x split over many results files (see :data:`SUMMARY_COLUMNS`)."""
    frames = [load_results_frames(p)["summary"] for p in results_files(paths_or_dir)]
    return pd.concat(frames, ignore_index=True)


def load_per_class_table(paths_or_dir: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One row per model x oracle x view x class over many results files."""
    frames = [load_results_frames(p)["per_class"] for p in results_files(paths_or_dir)]
    return pd.concat(frames, ignore_index=True)
