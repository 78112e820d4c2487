"""Per-image panoptic matching with the semantics of panopticapi's ``pq_compute_single_core``.

Pure functions: a ground-truth and a predicted :class:`PanopticMap` in, per-class counts and the
segment-level match out. One joint histogram (a single ``bincount``) over the pair of id maps
gives every intersection, so the cost is O(H*W) per image.

Semantics (panopticapi, ``cocodataset/panopticapi:panopticapi/evaluation.py``):
* GT areas are taken from the GT segments (the JSON), prediction areas are counted from the map;
* a (gt, pred) pair is a TP iff gt is not crowd, categories are equal and IoU > 0.5, with
  ``union = pred_area + gt_area - inter - |pred ∩ VOID|``;
* unmatched non-crowd GT segments are FN;
* an unmatched prediction is FP unless ``(|pred ∩ VOID| + |pred ∩ crowd of its category|) / pred_area > 0.5``,
  where "crowd of its category" is the *last* crowd GT segment of that category in the list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import PanopticMap, compact_labels
from ..errors import PredictionError
from .accumulator import PQStats, iou_to_fixed


@dataclass(frozen=True)
class Overlaps:
    """Class-agnostic overlaps between GT and predicted segments of one image.

    gt_area:   [G] int64 GT areas (from the GT segments, as panopticapi).
    pred_area: [P] int64 predicted areas (counted from the map).
    pred_void: [P] int64 pixels of each prediction on GT VOID.
    inter:     [G, P] int64 intersections (dense; G and P are tens).
    """

    gt_area: np.ndarray
    pred_area: np.ndarray
    pred_void: np.ndarray
    inter: np.ndarray

    def iou(self) -> np.ndarray:
        """[G, P] float64 IoU with panopticapi's union (VOID pixels of the prediction removed)."""
        union = self.pred_area[None, :] + self.gt_area[:, None] - self.inter - self.pred_void[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(self.inter > 0, self.inter / np.maximum(union, 1), 0.0)
        return iou


def compute_overlaps(gt: PanopticMap, pred: PanopticMap, *, what: str = "image") -> Overlaps:
    """Joint histogram of the two id maps -> :class:`Overlaps`."""
    if gt.ids.shape != pred.ids.shape:
        raise PredictionError(f"{what}: prediction size {pred.ids.shape} != ground-truth size {gt.ids.shape}")
    for m, who in ((gt, "ground truth"), (pred, "prediction")):
        sid = m.segment_ids()
        if len(np.unique(sid)) != len(sid):
            raise PredictionError(f"{what} ({who}): duplicate segment ids in the segment list")
        if (sid == 0).any():
            raise PredictionError(f"{what} ({who}): segment id 0 is reserved for VOID")
    g = compact_labels(gt.ids, gt.segment_ids(), what=f"{what} (ground truth)")
    p = compact_labels(pred.ids, pred.segment_ids(), what=f"{what} (prediction)")
    G, P = len(gt.segments), len(pred.segments)
    joint = np.bincount(g * (P + 1) + p, minlength=(G + 1) * (P + 1)).reshape(G + 1, P + 1)
    pred_area = joint.sum(axis=0)[1:]
    if (pred_area == 0).any():
        bad = pred.segments[int(np.argmax(pred_area == 0))].id
        raise PredictionError(f"{what} (prediction): segment {bad} is listed but has no pixels in the map")
    return Overlaps(
        gt_area=np.array([s.area for s in gt.segments], dtype=np.int64),
        pred_area=pred_area.astype(np.int64),
        pred_void=joint[0, 1:].astype(np.int64),
        inter=joint[1:, 1:].astype(np.int64),
    )


@dataclass(frozen=True)
class ImageMatch:
    """The outcome of matching one image.

    stats:        per-class counts [K] of this image (mergeable).
    overlaps:     class-agnostic overlaps (reused by oracles and diagnostics).
    tp_gt, tp_pred: [T] indices into gt.segments / pred.segments of the TP pairs.
    tp_iou:       [T] float64 IoU of the TP pairs.
    fn_gt:        [F] indices of unmatched non-crowd GT segments.
    fp_pred:      [Q] indices of predictions counted as FP.
    """

    stats: PQStats
    overlaps: Overlaps
    tp_gt: np.ndarray
    tp_pred: np.ndarray
    tp_iou: np.ndarray
    fn_gt: np.ndarray
    fp_pred: np.ndarray


def match_image(gt: PanopticMap, pred: PanopticMap, categories: CategorySet, *, what: str = "image") -> ImageMatch:
    """Match prediction against ground truth for one image (panopticapi semantics)."""
    ov = compute_overlaps(gt, pred, what=what)
    K = len(categories)
    gt_cat = _dense(gt.category_ids(), categories, f"{what} (ground truth)")
    pred_cat = _dense(pred.category_ids(), categories, f"{what} (prediction)")
    crowd = np.array([s.iscrowd for s in gt.segments], dtype=bool)

    iou = ov.iou()
    cand = (ov.inter > 0) & (~crowd)[:, None] & (gt_cat[:, None] == pred_cat[None, :]) & (iou > 0.5)
    tp_gt, tp_pred = np.nonzero(cand)  # IoU > 0.5 makes each row and column hold at most one TP
    tp_iou = iou[tp_gt, tp_pred]

    gt_matched = np.zeros(len(gt.segments), dtype=bool)
    gt_matched[tp_gt] = True
    pred_matched = np.zeros(len(pred.segments), dtype=bool)
    pred_matched[tp_pred] = True

    fn_gt = np.nonzero(~gt_matched & ~crowd)[0]

    # crowd region per category: the last crowd segment listed wins (panopticapi's dict overwrite)
    crowd_of_cat: dict[int, int] = {}
    for gi in np.nonzero(crowd)[0]:
        crowd_of_cat[int(gt_cat[gi])] = int(gi)
    ignored = ov.pred_void.astype(np.int64).copy()
    for pi in range(len(pred.segments)):
        gi = crowd_of_cat.get(int(pred_cat[pi]))
        if gi is not None:
            ignored[pi] += ov.inter[gi, pi]
    unmatched = ~pred_matched
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(ov.pred_area > 0, ignored / np.maximum(ov.pred_area, 1), 1.0)
    fp_pred = np.nonzero(unmatched & ~(frac > 0.5))[0]

    stats = PQStats.zeros(K)
    np.add.at(stats.tp, gt_cat[tp_gt], 1)
    np.add.at(stats.fn, gt_cat[fn_gt], 1)
    np.add.at(stats.fp, pred_cat[fp_pred], 1)
    q = iou_to_fixed(tp_iou)
    for c, v in zip(gt_cat[tp_gt].tolist(), q.tolist()):
        stats.iou_q[c] += v
    return ImageMatch(stats, ov, tp_gt, tp_pred, tp_iou, fn_gt, fp_pred)


def _dense(category_ids: np.ndarray, categories: CategorySet, what: str) -> np.ndarray:
    out = np.empty(len(category_ids), dtype=np.int64)
    for i, c in enumerate(category_ids.tolist()):
        if c not in categories:
            raise PredictionError(f"{what}: segment has unknown category id {c}")
        out[i] = categories.index_of(c)
    return out
