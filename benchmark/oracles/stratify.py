"""Per-class TP / FN_seg / FN_cls stratification (paper Table 5).

On a prediction (by default the baseline), every non-crowd GT segment that is not a TP is
FN_cls if some predicted segment of ANOTHER class overlaps it with class-agnostic IoU > 0.5
(a correct mask carried the wrong class), else FN_seg (no predicted mask overlaps it enough).
Counts are per GT class, mergeable integer arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import PanopticMap
from ..metrics.matching import ImageMatch


@dataclass
class FNBreakdown:
    """[K] int64 per-class counts: tp, fn_seg, fn_cls."""

    tp: np.ndarray
    fn_seg: np.ndarray
    fn_cls: np.ndarray

    @classmethod
    def zeros(cls, num_classes: int) -> FNBreakdown:
        z = np.zeros(num_classes, dtype=np.int64)
        return cls(z.copy(), z.copy(), z.copy())

    def __add__(self, other: FNBreakdown) -> FNBreakdown:
        return FNBreakdown(self.tp + other.tp, self.fn_seg + other.fn_seg, self.fn_cls + other.fn_cls)

    def to_json(self) -> dict[str, list[int]]:
        return {"tp": self.tp.tolist(), "fn_seg": self.fn_seg.tolist(), "fn_cls": self.fn_cls.tolist()}

    @classmethod
    def from_json(cls, d: Mapping[str, Sequence[int]]) -> FNBreakdown:
        return cls(*(np.asarray(d[k], dtype=np.int64) for k in ("tp", "fn_seg", "fn_cls")))

    def rows(self, categories: CategorySet) -> list[dict[str, Any]]:
        return [
            {"category_id": c.id, "name": c.name.strip(), "tp": int(self.tp[k]), "fn_seg": int(self.fn_seg[k]), "fn_cls": int(self.fn_cls[k])}
            for k, c in enumerate(categories)
        ]


def fn_breakdown(match: ImageMatch, gt: PanopticMap, pred: PanopticMap, categories: CategorySet) -> FNBreakdown:
    """Stratify the FNs of one matched image."""
    out = FNBreakdown.zeros(len(categories))
    gt_cat = np.array([categories.index_of(s.category_id) for s in gt.segments], dtype=np.int64)
    pred_cat = np.array([s.category_id for s in pred.segments], dtype=np.int64)
    np.add.at(out.tp, gt_cat[match.tp_gt], 1)
    if len(match.fn_gt) == 0:
        return out
    iou = match.overlaps.iou()
    for g in match.fn_gt:
        other = pred_cat != gt.segments[g].category_id
        if len(pred_cat) and (iou[g, other] > 0.5).any():
            out.fn_cls[gt_cat[g]] += 1
        else:
            out.fn_seg[gt_cat[g]] += 1
    return out
