"""The ``oracles`` section of a semantic-only target: every oracle scored by mIoU (docs/semantics.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..errors import ConfigError
from ..results.semantic import harmonised_mious, miou_splits, semantic_class_rows, semantic_split_masks
from ..suites.suite import Suite
from .evaluate import SEMANTIC_INFERENCE

#: results key and title of Mask2Former's semantic inference (the baseline mIoU papers report)
SEMANTIC_INFERENCE_TITLE = "Baseline (Mask2Former semantic inference)"


def semantic_oracles(suite: Suite, sem_total: dict[str, Any], categories: CategorySet, seen: np.ndarray | None,
                     conflict: np.ndarray | None, harmonisations: Mapping[str, Any] | None = None
                     ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """({key: {title, paper_table, miou, miou_splits[, miou_harmonised]}}, per-class IoU rows) from
    the merged confusion counts. ``semantic_inference`` (when the suite runs it) comes first: it is
    the published protocol's baseline; ``baseline`` is the panoptic-inference output the oracles
    change. `harmonisations` (name -> Harmonisation of the taxonomy graph) add the mIoU under each
    harmonised label map, the semantic counterpart of harmonised PQ."""
    if not suite.semantic:
        raise ConfigError(f"suite {suite.name!r} computes no mIoU ('semantic: false'); a semantic target needs it")
    masks = semantic_split_masks(categories, seen, conflict, suite.splits)
    entries: list[tuple[str, str, str]] = []
    if SEMANTIC_INFERENCE in sem_total:
        entries.append((SEMANTIC_INFERENCE, SEMANTIC_INFERENCE_TITLE, "2"))
    entries += [(o.key, o.title, o.paper_table) for o in suite.oracles]
    oracles: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for key, title, table in entries:
        stats = sem_total[key]
        sp = miou_splits(stats, masks)
        oracles[key] = {"title": title, "paper_table": table, "miou": sp["all"]["miou"], "miou_splits": sp}
        if harmonisations:
            oracles[key]["miou_harmonised"] = harmonised_mious(stats, categories, harmonisations)
        rows += semantic_class_rows(key, stats, categories, seen=seen, conflict=conflict)
    if SEMANTIC_INFERENCE in sem_total and "baseline" in oracles:
        oracles["baseline"]["miou_semantic_inference"] = oracles[SEMANTIC_INFERENCE]["miou"]
    return oracles, rows
