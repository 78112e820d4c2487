"""The results-file pieces of a semantic-only target (pure functions over SemanticStats).

A semantic target (ADE20K-847, Pascal Context, Pascal VOC) is scored by mIoU only: each oracle
gets ``miou_splits`` ({split: {miou, n}}) instead of PQ ``splits``, and the per-class table is
``per_class_semantic`` (IoU, accuracy and pixel counts per class) instead of PQ rows. Values are
fractions in [0, 1]; None where a class / split has no GT pixels. See docs/semantics.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..metrics.semantic import SemanticStats

MIOU_SPLITS = ("all", "seen", "unseen", "clean", "conflict")


def semantic_split_masks(categories: CategorySet, seen: np.ndarray | None, conflict: np.ndarray | None,
                         splits: tuple[str, ...] = ("all", "seen", "unseen")) -> dict[str, np.ndarray]:
    """[K] bool masks of the mIoU splits: ``all``, ``seen`` / ``unseen`` (when a split is known and
    asked for), ``clean`` / ``conflict`` (when the taxonomy marks at least one conflict class)."""
    K = len(categories)
    out = {"all": np.ones(K, dtype=bool)}
    if seen is not None:
        if "seen" in splits:
            out["seen"] = np.asarray(seen, dtype=bool)
        if "unseen" in splits:
            out["unseen"] = ~np.asarray(seen, dtype=bool)
    if conflict is not None and np.asarray(conflict).any():
        out["clean"] = ~np.asarray(conflict, dtype=bool)
        out["conflict"] = np.asarray(conflict, dtype=bool)
    return out


def miou_splits(stats: SemanticStats, masks: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """{split: {"miou": fraction or None, "n": classes with GT pixels in the split}}."""
    out: dict[str, dict[str, Any]] = {}
    for name, mask in masks.items():
        r = stats.compute(mask)
        out[name] = {"miou": r.as_dict()["miou"] if r.n else None, "n": int(r.n)}
    return out


def semantic_class_rows(oracle: str, stats: SemanticStats, categories: CategorySet, *,
                        seen: np.ndarray | None = None, conflict: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One row per class: IoU = tp / (gt + pred - tp), acc = tp / gt (pixels; GT ignore excluded;
    a GT pixel left unpredicted counts in gt, see ovbench.metrics.semantic)."""
    K = len(categories)
    conf = stats.conf
    tp = conf.diagonal()[:K]
    gt = conf[:, :K].sum(axis=0)
    pred = conf[:K, :K].sum(axis=1)
    r = stats.compute()
    rows = []
    for k, c in enumerate(categories):
        row: dict[str, Any] = {
            "oracle": oracle, "category_id": int(c.id), "name": c.name.strip(),
            "iou": None if np.isnan(r.iou[k]) else float(r.iou[k]),
            "acc": None if np.isnan(r.acc[k]) else float(r.acc[k]),
            "tp_pixels": int(tp[k]), "gt_pixels": int(gt[k]), "pred_pixels": int(pred[k]),
        }
        if seen is not None:
            row["seen"] = bool(seen[k])
        if conflict is not None:
            row["conflict"] = bool(conflict[k])
        rows.append(row)
    return rows


def miou_from_rows(rows: list[Mapping[str, Any]], oracle: str, ids: set[int] | None = None) -> tuple[float | None, int]:
    """(mean IoU, n) of the per-class rows of `oracle` (optionally only classes in `ids`): the
    consistency check of a stored ``miou_splits`` entry."""
    vals = [float(r["iou"]) for r in rows if r["oracle"] == oracle and r["iou"] is not None and (ids is None or int(r["category_id"]) in ids)]
    return (sum(vals) / len(vals) if vals else None), len(vals)


def semantic_consistency_problems(doc: Mapping[str, Any], tol: float = 1e-9) -> list[str]:
    """What a semantic target's stored mIoU summaries disagree on with its own per-class rows
    (``submit check`` / leaderboard): row count per oracle, IoU = tp / (gt + pred - tp), and each
    ``miou_splits`` entry = mean IoU over its classes with GT pixels. Empty when consistent."""
    import math

    problems: list[str] = []
    rows_all = list(doc.get("per_class_semantic", []))
    k = doc["dataset"]["num_classes"]
    select = {"all": lambda r: True, "seen": lambda r: r.get("seen") is True, "unseen": lambda r: r.get("seen") is False,
              "clean": lambda r: r.get("conflict") is False, "conflict": lambda r: r.get("conflict") is True}
    for key, oracle in doc["oracles"].items():
        rows = [r for r in rows_all if r["oracle"] == key]
        if len(rows) != k:
            problems.append(f"$.per_class_semantic: oracle {key!r} has {len(rows)} rows, expected {k} (dataset.num_classes)")
            continue
        for r in rows:
            union = r["gt_pixels"] + r["pred_pixels"] - r["tp_pixels"]
            want = r["tp_pixels"] / union if r["gt_pixels"] > 0 and union > 0 else None
            if (want is None) != (r["iou"] is None) or (want is not None and not math.isclose(want, r["iou"], abs_tol=tol)):
                problems.append(f"$.per_class_semantic: oracle {key!r} category {r['category_id']}: iou {r['iou']} but pixel counts give {want}")
        for split, st in (oracle.get("miou_splits") or {}).items():
            vals = [r["iou"] for r in rows if r["iou"] is not None and select[split](r)]
            got = math.fsum(vals) / len(vals) if vals else None
            same = (got is None and st["miou"] is None) or (got is not None and st["miou"] is not None and math.isclose(got, st["miou"], abs_tol=tol))
            if not same:
                problems.append(f"$.oracles.{key}.miou_splits.{split}.miou: {st['miou']} does not match {got} recomputed from per_class_semantic")
            if len(vals) != st["n"]:
                problems.append(f"$.oracles.{key}.miou_splits.{split}.n: {st['n']} but {len(vals)} classes with GT pixels in per_class_semantic")
    return problems


def harmonise_confusion(stats: SemanticStats, categories: CategorySet, harmonisation: Any) -> SemanticStats:
    """The confusion counts under a harmonised label map (``ovbench.taxonomy.Harmonisation``):
    rows and columns of classes merged into one harmonised class are summed (GT and prediction
    alike), so mIoU no longer penalises confusions inside a merged group. Exact integer counts;
    the VOID row / ignore column stay where they are. Shape [J+1, J+1], J = harmonised classes."""
    hcats = harmonisation.categories
    J = len(hcats)
    to = np.empty(len(categories) + 1, dtype=np.int64)
    for k, c in enumerate(categories):
        to[k] = hcats.index_of(int(harmonisation.label_map[int(c.id)]))
    to[len(categories)] = J
    out = SemanticStats.zeros(J)
    rows, cols = np.nonzero(stats.conf)
    np.add.at(out.conf, (to[rows], to[cols]), stats.conf[rows, cols])
    return out


def harmonised_mious(stats: SemanticStats, categories: CategorySet, harmonisations: Mapping[str, Any]) -> dict[str, float | None]:
    """{harmonisation name: mIoU over its classes with GT pixels} (None when no class has any)."""
    out: dict[str, float | None] = {}
    for name, h in sorted(harmonisations.items()):
        r = harmonise_confusion(stats, categories, h).compute()
        out[name] = r.as_dict()["miou"] if r.n else None
    return out
