"""Turn accumulated statistics into the pieces of a results file (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..metrics.accumulator import PQStats
from ..metrics.bootstrap import DEFAULT_N_BOOT, DEFAULT_SEED, PerImageCounts, bootstrap_cis

SPLITS = ("all", "things", "stuff", "seen", "unseen")


def split_masks(categories: CategorySet, seen_ids: Iterable[int] | None = None) -> dict[str, np.ndarray]:
    """[K] bool masks of the standard class splits. Without `seen_ids`, no seen/unseen splits."""
    K = len(categories)
    masks = {"all": np.ones(K, dtype=bool), "things": categories.isthing.copy(), "stuff": ~categories.isthing}
    if seen_ids is not None:
        seen = np.isin(categories.ids, np.fromiter(seen_ids, dtype=np.int64))
        masks["seen"] = seen
        masks["unseen"] = ~seen
    return masks


def summarize(stats: PQStats, splits: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """{split: {pq, sq, rq, n}} with panopticapi's averaging over classes present."""
    return {name: stats.compute(mask).as_dict() for name, mask in splits.items()}


def per_class_rows(
    oracle: str,
    stats: PQStats,
    categories: CategorySet,
    *,
    seen: np.ndarray | None = None,
    conflict: np.ndarray | None = None,
    view: str = "standard",
) -> list[dict[str, Any]]:
    """One row per class: counts and per-class PQ/SQ/RQ (fractions)."""
    pc = stats.per_class()
    iou = stats.iou_sum
    rows = []
    for k, c in enumerate(categories):
        row: dict[str, Any] = {
            "oracle": oracle,
            "view": view,
            "category_id": c.id,
            "name": c.name.strip(),
            "isthing": bool(c.isthing),
            "tp": int(stats.tp[k]),
            "fp": int(stats.fp[k]),
            "fn": int(stats.fn[k]),
            "iou_sum": float(iou[k]),
            "pq": float(pc["pq"][k]) if pc["valid"][k] else None,
            "sq": float(pc["sq"][k]) if pc["valid"][k] else None,
            "rq": float(pc["rq"][k]) if pc["valid"][k] else None,
        }
        if seen is not None:
            row["seen"] = bool(seen[k])
        if conflict is not None:
            row["conflict"] = bool(conflict[k])
        rows.append(row)
    return rows


def summarize_with_ci(
    stats: PQStats,
    per_image: PerImageCounts | Sequence[PQStats],
    splits: Mapping[str, np.ndarray],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
) -> dict[str, dict[str, Any]]:
    """:func:`summarize` plus ``pq_ci95`` ([lo, hi] or None) from a seeded per-image bootstrap.

    `stats` is the exact merged accumulator (point estimates); `per_image` its per-image parts
    (one :class:`PQStats` per image, or a :class:`PerImageCounts`). All splits share the resamples.
    """
    out = summarize(stats, splits)
    cis = bootstrap_cis(per_image, splits, n_boot=n_boot, seed=seed)
    for name, ci in cis.items():
        out[name]["pq_ci95"] = None if ci is None or out[name]["n"] == 0 else [ci[0], ci[1]]
    return out


def bootstrap_meta(n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The results file's ``bootstrap`` section describing how ``pq_ci95`` was computed."""
    return {"n_boot": int(n_boot), "seed": int(seed), "unit": "image", "method": "percentile", "confidence": 0.95}
