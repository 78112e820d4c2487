"""Semantic-segmentation metrics (mIoU, fwIoU, mACC, pACC) from panoptic maps.

The semantic view of a panoptic map labels each pixel with its segment's category (crowd
segments included); GT VOID pixels are ignored. :class:`SemanticStats` keeps detectron2's
``SemSegEvaluator`` confusion matrix as exact int64 counts, so it merges like
:class:`~ovbench.metrics.accumulator.PQStats` (sharded and resumed runs are bit-identical).

Layout: ``conf[pred, gt]`` of shape [K+1, K+1] (detectron2's orientation); column K = GT ignore
(VOID), row K = no prediction (a VOID pixel of the predicted panoptic map).

Semantics = detectron2 ``SemSegEvaluator.evaluate`` with one extension for row K, which an
argmax semantic prediction never fills: a GT pixel of class c that the panoptic prediction
leaves VOID counts in c's ground truth (so in its union and accuracy denominator) and is never
a TP. detectron2 would drop it from ``pos_gt`` and make VOID predictions free. Classes with no
GT pixels are excluded from the means (detectron2's ``acc_valid``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SemanticResult:
    """Fractions in [0, 1] (NaN where undefined). iou, acc: [K] float64 per class (NaN = no GT pixels)."""

    miou: float
    fwiou: float
    macc: float
    pacc: float
    n: int
    iou: np.ndarray
    acc: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        def f(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        return {"miou": f(self.miou), "fwiou": f(self.fwiou), "macc": f(self.macc), "pacc": f(self.pacc), "n": self.n}


@dataclass
class SemanticStats:
    """conf: [K+1, K+1] int64 confusion matrix, rows = predicted class, columns = GT class."""

    conf: np.ndarray

    @classmethod
    def zeros(cls, num_classes: int) -> SemanticStats:
        return cls(np.zeros((num_classes + 1, num_classes + 1), dtype=np.int64))

    @property
    def num_classes(self) -> int:
        return int(self.conf.shape[0]) - 1

    def update(self, joint: np.ndarray, gt_cat: np.ndarray, pred_cat: np.ndarray) -> None:
        """Add one image from its [G+1, P+1] joint histogram (row/column 0 = VOID) and the dense
        class indices of its GT segments [G] and predicted segments [P]."""
        K = self.num_classes
        g = np.empty(len(gt_cat) + 1, dtype=np.int64)
        g[0] = K
        g[1:] = gt_cat
        p = np.empty(len(pred_cat) + 1, dtype=np.int64)
        p[0] = K
        p[1:] = pred_cat
        flat = p[None, :] * (K + 1) + g[:, None]  # [G+1, P+1] index into conf.ravel()
        self.conf += np.bincount(flat.ravel(), weights=joint.ravel(), minlength=(K + 1) ** 2).astype(np.int64).reshape(K + 1, K + 1)

    def update_labels(self, gt_labels: np.ndarray, pred_labels: np.ndarray) -> None:
        """Add one image from per-pixel dense labels (any shape; -1 = VOID / ignore)."""
        K = self.num_classes
        g = np.where(gt_labels < 0, K, gt_labels).reshape(-1).astype(np.int64)
        p = np.where(pred_labels < 0, K, pred_labels).reshape(-1).astype(np.int64)
        if g.shape != p.shape:
            raise ValueError(f"label maps differ in size: {gt_labels.shape} vs {pred_labels.shape}")
        self.conf += np.bincount(p * (K + 1) + g, minlength=(K + 1) ** 2).reshape(K + 1, K + 1)

    def __add__(self, other: SemanticStats) -> SemanticStats:
        if other.conf.shape != self.conf.shape:
            raise ValueError(f"cannot merge semantic stats over {self.num_classes} and {other.num_classes} classes")
        return SemanticStats(self.conf + other.conf)

    def __iadd__(self, other: SemanticStats) -> SemanticStats:
        if other.conf.shape != self.conf.shape:
            raise ValueError(f"cannot merge semantic stats over {self.num_classes} and {other.num_classes} classes")
        self.conf += other.conf
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemanticStats):
            return NotImplemented
        return np.array_equal(self.conf, other.conf)

    def compute(self, subset: np.ndarray | None = None) -> SemanticResult:
        """mIoU, fwIoU, mACC, pACC; means over the classes of `subset` ([K] bool) with GT pixels."""
        K = self.num_classes
        conf = self.conf.astype(np.float64)
        tp = conf.diagonal()[:K].copy()
        pos_gt = conf[:, :K].sum(axis=0)  # includes row K (predicted VOID): see module docstring
        pos_pred = conf[:K, :K].sum(axis=1)
        acc = np.full(K, np.nan)
        iou = np.full(K, np.nan)
        acc_valid = pos_gt > 0
        acc[acc_valid] = tp[acc_valid] / pos_gt[acc_valid]
        union = pos_gt + pos_pred - tp
        iou_valid = acc_valid & (union > 0)
        iou[iou_valid] = tp[iou_valid] / union[iou_valid]
        if subset is not None:
            sub = np.asarray(subset, dtype=bool)
            if sub.shape != (K,):
                raise ValueError(f"subset mask must have shape ({K},), got {sub.shape}")
        else:
            sub = np.ones(K, dtype=bool)
        av, iv = acc_valid & sub, iou_valid & sub
        n = int(iv.sum())
        total_gt = math.fsum(pos_gt[sub].tolist())
        miou = math.fsum(iou[iv].tolist()) / n if n else math.nan
        macc = math.fsum(acc[av].tolist()) / int(av.sum()) if av.any() else math.nan
        fwiou = math.fsum((iou[iv] * pos_gt[iv]).tolist()) / total_gt if total_gt > 0 else math.nan
        pacc = math.fsum(tp[sub].tolist()) / total_gt if total_gt > 0 else math.nan
        return SemanticResult(miou, fwiou, macc, pacc, n, iou, acc)

    def to_json(self) -> dict[str, Any]:
        """Sparse form: the nonzero entries of ``conf``."""
        r, c = np.nonzero(self.conf)
        return {"num_classes": self.num_classes, "rows": r.tolist(), "cols": c.tolist(), "counts": self.conf[r, c].tolist()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SemanticStats:
        out = cls.zeros(int(d["num_classes"]))
        out.conf[np.asarray(d["rows"], dtype=np.int64), np.asarray(d["cols"], dtype=np.int64)] = np.asarray(d["counts"], dtype=np.int64)
        return out

    @classmethod
    def sum(cls, items: Sequence[SemanticStats], num_classes: int) -> SemanticStats:
        out = cls.zeros(num_classes)
        for s in items:
            out += s
        return out
