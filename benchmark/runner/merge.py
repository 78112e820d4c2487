"""Merge per-image shards into the results file (exact, order-independent sums)."""

from __future__ import annotations

import datetime as _dt
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..data.categories import CategorySet
from ..errors import ConfigError
from ..metrics.accumulator import PQStats
from ..oracles.stratify import FNBreakdown
from ..results.assemble import bootstrap_meta, per_class_rows, split_masks, summarize, summarize_with_ci
from ..results.io import new_staging_dir, publish_staged, write_json_atomic, write_results, write_table_atomic
from ..suites.suite import Suite
from .evaluate import SEMANTIC_INFERENCE, ImageResult
from .manifest import RunSpec, environment
from .shards import ShardStore
from .views import ClassViews


def merge_results(
    out_dir: Path,
    store: ShardStore,
    image_ids: Sequence[str],
    spec: RunSpec,
    suite: Suite,
    categories: CategorySet,
    views: ClassViews,
    model: dict[str, Any],
    inference: dict[str, Any],
    dataset: dict[str, Any],
    diagnostics: dict[str, Any] | None = None,
) -> Path:
    """Read every image's shard, sum the statistics and write ``results.json`` and its tables."""
    K = len(categories)
    hsizes = {name: len(h.categories) for name, h in views.harmonisations.items()}
    keys = [o.key for o in suite.oracles]
    totals = {k: PQStats.zeros(K) for k in keys}
    per_image: dict[str, list[PQStats]] = {k: [] for k in keys}
    fn_total: dict[str, FNBreakdown] = {k: FNBreakdown.zeros(K) for k in suite.fn_breakdown}
    sem_total: dict[str, Any] = {}
    harm_total: dict[str, dict[str, PQStats]] = {}
    per_image_rows: list[dict[str, Any]] = []
    overlays: list[dict[str, Any]] = []
    seconds: dict[str, float] = {}
    diagnostics = diagnostics or {}
    diag_total = {name: d.empty() for name, d in diagnostics.items()}
    for rec in store.read_many(image_ids):
        r = ImageResult.from_json(rec, K, hsizes)
        for k in keys:
            s = r.pq[k]
            totals[k] += s
            per_image[k].append(s)
            for c in np.nonzero((s.tp > 0) | (s.fp > 0) | (s.fn > 0))[0]:
                per_image_rows.append({
                    "oracle": k, "image_id": r.image_id, "category_id": int(categories.categories[c].id),
                    "tp": int(s.tp[c]), "fp": int(s.fp[c]), "fn": int(s.fn[c]), "iou_sum": int(s.iou_q[c]) / (1 << 53),
                })
        for k, v in r.fn.items():
            fn_total[k] = fn_total[k] + v
        for k, v in r.semantic.items():
            sem_total[k] = v if k not in sem_total else sem_total[k] + v
        for key, d in r.harmonised.items():
            slot = harm_total.setdefault(key, {})
            for h, s in d.items():
                slot[h] = s if h not in slot else slot[h] + s
        if rec.get("overlays"):
            overlays.append({"image_id": r.image_id, "files": rec["overlays"]})
        for name, d in diagnostics.items():
            if name not in r.diagnostics:
                raise ConfigError(f"shard of image {r.image_id!r} has no diagnostic {name!r}; re-run that image")
            diag_total[name] = d.merge(diag_total[name], r.diagnostics[name])
        for name, sec in r.seconds.items():
            seconds[name] = seconds.get(name, 0.0) + sec

    seen = views.seen_mask(categories)
    conflict = views.conflict_mask(categories)
    sem_rows: list[dict[str, Any]] = []
    if dataset.get("task") == "semantic":  # mIoU only: no PQ splits, no PQ per-class rows
        from .semantic import semantic_oracles

        oracles, sem_rows = semantic_oracles(suite, sem_total, categories, seen, conflict, views.harmonisations)
        rows: list[dict[str, Any]] = []
    else:
        oracles, rows = _panoptic_oracles(suite, totals, per_image, sem_total, categories, views, image_ids, seen, conflict)

    doc: dict[str, Any] = {
        "schema_version": 2,
        "kind": "ovbench-results",
        "ovbench_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "model": model,
        "dataset": dataset,
        "taxonomy": views.taxonomy_json(),
        "suite": suite.to_json(),
        "inference": inference,
        "environment": environment(),
        "run_spec_sha256": spec.sha256(),
        "oracles": oracles,
        "fn_breakdown": _fn_rows(fn_total, categories, suite),
    }
    if sem_rows:
        doc["per_class_semantic"] = sem_rows
        write_table_atomic(out_dir / "per_class_semantic.csv", sem_rows)
    if suite.bootstrap_samples > 0:
        doc["bootstrap"] = bootstrap_meta(suite.bootstrap_samples, suite.bootstrap_seed)
    if (harm_total or conflict is not None) and not views.in_domain and not sem_rows:  # in-domain: no conflicts; semantic: no PQ
        from .conflicts import conflict_section

        doc["conflict_pq"] = conflict_section(totals, harm_total, categories, views, suite)
    if diagnostics:
        doc["diagnostics"] = {name: d.summarize(diag_total[name], categories, views) for name, d in diagnostics.items()}
    if overlays:
        doc["overlays"] = sorted(overlays, key=lambda o: str(o["image_id"]))
    # every output goes to a staging folder first, then moves in with results.json last (= complete)
    staging = new_staging_dir(out_dir)
    try:
        for name, d in diagnostics.items():
            table = d.rows(diag_total[name], categories, views)
            if table:
                write_table_atomic(staging / f"diagnostics_{name}.csv", table)
        write_json_atomic(staging / "timing.json", {"images": len(image_ids), "seconds": seconds})
        write_results(staging, doc, rows, per_image_rows)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return publish_staged(staging, out_dir)


def _panoptic_oracles(suite: Suite, totals: dict[str, PQStats], per_image: dict[str, list[PQStats]], sem_total: dict[str, Any],
                      categories: CategorySet, views: ClassViews, image_ids: Sequence[str], seen: np.ndarray | None,
                      conflict: np.ndarray | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``oracles`` section (PQ splits, + mIoU) and the PQ per-class rows of a panoptic target."""
    splits = split_masks(categories, views.seen_ids)
    splits = {name: m for name, m in splits.items() if name in suite.splits}
    oracles: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for o in suite.oracles:
        if suite.bootstrap_samples > 0 and image_ids:
            summary = summarize_with_ci(totals[o.key], per_image[o.key], splits, n_boot=suite.bootstrap_samples, seed=suite.bootstrap_seed)
        else:
            summary = summarize(totals[o.key], splits)
        entry: dict[str, Any] = {"title": o.title, "paper_table": o.paper_table, "splits": summary}
        if o.key in sem_total:
            entry["miou"] = sem_total[o.key].compute().as_dict()["miou"]
        if o.oracle == "baseline" and SEMANTIC_INFERENCE in sem_total:
            entry["miou_semantic_inference"] = sem_total[SEMANTIC_INFERENCE].compute().as_dict()["miou"]
        oracles[o.key] = entry
        rows += per_class_rows(o.key, totals[o.key], categories, seen=seen, conflict=conflict)
    return oracles, rows


def _fn_rows(fn_total: dict[str, FNBreakdown], categories: CategorySet, suite: Suite) -> list[dict[str, Any]]:
    rows = []
    for key in suite.fn_breakdown:
        for r in fn_total[key].rows(categories):
            rows.append({"oracle": key, **r})
    return rows
