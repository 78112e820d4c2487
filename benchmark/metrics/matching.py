"""Per-image panoptic matching with the semantics of panopticapi's ``pq_compute_single_core``.

Pure functions: a ground-truth and a predicted :class:`PanopticMap` in, per-class counts and the
segment-level match out. One joint histogram over the pair of id maps
(:func:`ovbench.metrics.histogram.joint_histogram`) gives every intersection, so the cost is one
pass over the pixels per image.

Semantics (panopticapi, ``cocodataset/panopticapi:panopticapi/evaluation.py``; see
docs/pq-semantics.md):
* GT areas are taken from the GT segments (the JSON), prediction areas are counted from the map;
* a (gt, pred) pair is a TP iff gt is not crowd, categories are equal and IoU > 0.5, with
  ``union = pred_area + gt_area - inter - |pred ∩ VOID|``;
* unmatched non-crowd GT segments are FN (also those with no pixels in the map);
* an unmatched prediction is FP unless ``(|pred ∩ VOID| + |pred ∩ crowd of its category|) / pred_area > 0.5``,
  where "crowd of its category" is the *last* crowd GT segment of that category in the list.

Stricter than panopticapi (errors instead of silent numbers): unknown GT categories, ids in a map
but not in its list, duplicate ids, a GT area smaller than the GT segment's pixel count (it
could give IoU > 1), listed predictions without pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import PanopticMap
from ..errors import DatasetError, PredictionError
from .accumulator import PQStats, iou_to_fixed
from .histogram import joint_histogram


@dataclass(frozen=True)
class Overlaps:
    """Class-agnostic overlaps between GT and predicted segments of one image.

    gt_area:   [G] int64 GT areas (from the GT segments, as panopticapi).
    pred_area: [P] int64 predicted areas (counted from the map).
    pred_void: [P] int64 pixels of each prediction on GT VOID.
    inter:     [G, P] int64 intersections (dense; G and P are tens).
    joint:     [G+1, P+1] int64 joint pixel histogram (row/column 0 = VOID), or None.
    """

    gt_area: np.ndarray
    pred_area: np.ndarray
    pred_void: np.ndarray
    inter: np.ndarray
    joint: np.ndarray | None = field(default=None, repr=False)

    def iou(self) -> np.ndarray:
        """[G, P] float64 IoU with panopticapi's union (VOID pixels of the prediction removed)."""
        union = self.pred_area[None, :] + self.gt_area[:, None] - self.inter - self.pred_void[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(self.inter > 0, self.inter / np.maximum(union, 1), 0.0)
        return iou

    @property
    def gt_pixels(self) -> np.ndarray:
        """[G] int64 GT pixel counts in the map (may be below ``gt_area`` on ADE20K)."""
        if self.joint is not None:
            return self.joint[1:, :].sum(axis=1)
        return self.inter.sum(axis=1)  # pragma: no cover - joint is always set by compute_overlaps


def overlaps_from_joint(joint: np.ndarray, gt_area: np.ndarray) -> Overlaps:
    """Build :class:`Overlaps` from a [G+1, P+1] joint histogram and the [G] GT (JSON) areas."""
    return Overlaps(
        gt_area=np.asarray(gt_area, dtype=np.int64),
        pred_area=joint.sum(axis=0)[1:],
        pred_void=joint[0, 1:].copy(),
        inter=joint[1:, 1:],
        joint=joint,
    )


def compute_overlaps(gt: PanopticMap, pred: PanopticMap, *, what: str = "image") -> Overlaps:
    """Joint histogram of the two id maps -> :class:`Overlaps` (validating both maps)."""
    if gt.ids.shape != pred.ids.shape:
        raise PredictionError(f"{what}: prediction size {pred.ids.shape} != ground-truth size {gt.ids.shape}")
    for m, who, err in ((gt, "ground truth", DatasetError), (pred, "prediction", PredictionError)):
        sid = m.segment_ids()
        if len(np.unique(sid)) != len(sid):
            raise err(f"{what} ({who}): duplicate segment ids in the segment list")
        if (sid == 0).any():
            raise err(f"{what} ({who}): segment id 0 is reserved for VOID")
    jh = joint_histogram(gt.ids, pred.ids, gt.segment_ids(), pred.segment_ids())
    if jh.gt_unlisted:
        raise DatasetError(f"{what} (ground truth): segment id(s) {list(jh.gt_unlisted[:5])} are in the PNG but not in the JSON")
    if jh.pred_unlisted:
        raise PredictionError(f"{what} (prediction): segment id(s) {list(jh.pred_unlisted[:5])} are in the PNG but not in the JSON")
    gt_area = np.array([s.area for s in gt.segments], dtype=np.int64)
    ov = overlaps_from_joint(jh.counts, gt_area)
    check_areas(ov, gt, pred, what=what)
    return ov


def check_areas(ov: Overlaps, gt: PanopticMap, pred: PanopticMap, *, what: str) -> None:
    """Raise if a listed prediction has no pixels or a GT area is below its pixel count."""
    if (ov.pred_area == 0).any():
        bad = [pred.segments[i].id for i in np.nonzero(ov.pred_area == 0)[0][:5]]
        raise PredictionError(f"{what} (prediction): segment id(s) {bad} are in the JSON but not in the PNG")
    short = ov.gt_area < ov.gt_pixels
    if short.any():
        i = int(np.argmax(short))
        raise DatasetError(
            f"{what} (ground truth): segment {gt.segments[i].id} has area {int(ov.gt_area[i])} in its segment "
            f"list but {int(ov.gt_pixels[i])} pixels in the map"
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


@dataclass(frozen=True)
class SegmentMatch:
    """Index arrays of :func:`match_overlaps` (see :class:`ImageMatch` for their meaning)."""

    tp_gt: np.ndarray
    tp_pred: np.ndarray
    tp_iou: np.ndarray
    fn_gt: np.ndarray
    fp_pred: np.ndarray


def match_overlaps(ov: Overlaps, gt_cat: np.ndarray, gt_crowd: np.ndarray, pred_cat: np.ndarray, num_classes: int) -> SegmentMatch:
    """panopticapi's matching on precomputed overlaps.

    gt_cat: [G] int64 dense class indices; gt_crowd: [G] bool; pred_cat: [P] int64 dense indices.
    """
    iou = ov.iou()
    cand = (ov.inter > 0) & (~gt_crowd)[:, None] & (gt_cat[:, None] == pred_cat[None, :]) & (iou > 0.5)
    # IoU > 0.5 makes each row and column hold at most one TP (see docs/pq-semantics.md)
    tp_gt, tp_pred = np.nonzero(cand)
    tp_iou = iou[tp_gt, tp_pred]

    gt_matched = np.zeros(len(gt_cat), dtype=bool)
    gt_matched[tp_gt] = True
    pred_matched = np.zeros(len(pred_cat), dtype=bool)
    pred_matched[tp_pred] = True
    fn_gt = np.nonzero(~gt_matched & ~gt_crowd)[0]

    ignored = ov.pred_void.astype(np.int64, copy=True)
    crowd_idx = np.nonzero(gt_crowd)[0]
    if crowd_idx.size and len(pred_cat):
        # crowd region per category: the last crowd segment listed wins (panopticapi's dict overwrite)
        crowd_of_cat = np.full(num_classes, -1, dtype=np.int64)
        for gi in crowd_idx.tolist():  # in list order, so the last one of a category wins
            crowd_of_cat[gt_cat[gi]] = gi
        g_of_p = crowd_of_cat[pred_cat]
        has = g_of_p >= 0
        ignored[has] += ov.inter[g_of_p[has], np.nonzero(has)[0]]
    # pred_area > 0 for every listed prediction (checked), so the division is safe
    frac = ignored / np.maximum(ov.pred_area, 1)
    fp_pred = np.nonzero(~pred_matched & ~(frac > 0.5))[0]
    return SegmentMatch(tp_gt, tp_pred, tp_iou, fn_gt, fp_pred)


def match_image(gt: PanopticMap, pred: PanopticMap, categories: CategorySet, *, what: str = "image") -> ImageMatch:
    """Match prediction against ground truth for one image (panopticapi semantics)."""
    ov = compute_overlaps(gt, pred, what=what)
    K = len(categories)
    gt_cat = _dense(gt.category_ids(), categories, f"{what} (ground truth)", DatasetError)
    pred_cat = _dense(pred.category_ids(), categories, f"{what} (prediction)", PredictionError)
    crowd = np.array([s.iscrowd for s in gt.segments], dtype=bool)
    sm = match_overlaps(ov, gt_cat, crowd, pred_cat, K)
    stats = stats_from_match(sm, gt_cat, pred_cat, K)
    return ImageMatch(stats, ov, sm.tp_gt, sm.tp_pred, sm.tp_iou, sm.fn_gt, sm.fp_pred)


def stats_from_match(sm: SegmentMatch, gt_cat: np.ndarray, pred_cat: np.ndarray, num_classes: int) -> PQStats:
    """Per-class :class:`PQStats` of one matched image."""
    stats = PQStats.zeros(num_classes)
    add_match(stats, sm, gt_cat, pred_cat)
    return stats


def add_match(stats: PQStats, sm: SegmentMatch, gt_cat: np.ndarray, pred_cat: np.ndarray) -> None:
    """Add one matched image's counts into `stats` in place (exact)."""
    np.add.at(stats.tp, gt_cat[sm.tp_gt], 1)
    np.add.at(stats.fn, gt_cat[sm.fn_gt], 1)
    np.add.at(stats.fp, pred_cat[sm.fp_pred], 1)
    q = iou_to_fixed(sm.tp_iou)
    iou_q = stats.iou_q
    for c, v in zip(gt_cat[sm.tp_gt].tolist(), q.tolist()):
        iou_q[c] += v


def _dense(category_ids: np.ndarray, categories: CategorySet, what: str, error: type[Exception] = PredictionError) -> np.ndarray:
    out = np.empty(len(category_ids), dtype=np.int64)
    for i, c in enumerate(category_ids.tolist()):
        if c not in categories:
            raise error(f"{what}: segment has unknown category id {c}")
        out[i] = categories.index_of(c)
    return out
