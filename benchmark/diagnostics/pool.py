"""Class-agnostic overlaps of ALL N candidate masks with the ground-truth segments of one image.

Definition (shared by the ``pool_recall`` and ``calibration`` diagnostics):

* a candidate's mask is its logit map taken to the output (original image) resolution with the
  same resize chain and sigmoid as panoptic inference (:mod:`ovbench.inference.resize`),
  binarised at ``sigmoid >= 0.5``;
* ``IoU(c, g) = |c ∩ g| / (|c| + area_g - |c ∩ g| - |c ∩ VOID|)`` with ``area_g`` the GT segment's
  area from its segment list: panopticapi's union, the one ``ImageMatch.overlaps.iou()`` uses for
  final segments, so pool and output IoUs are comparable; crowd GT segments are not targets.

Cost: the bilinear resize chain is a convex combination (non-negative weights summing to 1) of
the mask cells under a pixel, so a pixel can only be positive if one of those cells is above
``POSITIVE_CUT`` (-1e-5, far below the float32 logit where the sigmoid reaches 0.5, about
-3e-8). Each candidate is therefore resized only over the pixel rectangle reached by those cells
(candidates without one are empty and cost nothing), with the same per-mask operations as the
oracles' masks (:func:`ovbench.inference.resize.resize_crop`), so the binarised pixels are
exactly those of panoptic inference (``sigmoid >= 0.5``), on every CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..inference.resize import POSITIVE_CUT, AxisTaps, positive, resize_crop, resize_taps
from ..raw.record import MaskGeometry
from . import kernels


def axes(mask_hw: tuple[int, int], geometry: MaskGeometry) -> tuple[AxisTaps, AxisTaps]:
    """Row and column resize taps of a mask frame and geometry (cached)."""
    return resize_taps(tuple(mask_hw), geometry)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PoolOverlaps:
    """Overlaps of the N candidates of one image with its G ground-truth segments.

    area:     [N] int64 positive pixels of each candidate at output resolution.
    void:     [N] int64 of those on GT VOID.
    inter:    [N, G] int64 intersections with each GT segment (crowd segments included).
    iou:      [N, G] float64 panopticapi IoU; 0 for crowd segments and where inter == 0.
    best_gt:  [N] int64 index of the GT segment of largest IoU (first on ties), -1 if all are 0.
    best_iou: [N] float64 that IoU (0 if none).
    """

    area: np.ndarray
    void: np.ndarray
    inter: np.ndarray
    iou: np.ndarray
    best_gt: np.ndarray
    best_iou: np.ndarray

    def gt_best(self) -> tuple[np.ndarray, np.ndarray]:
        """Per GT segment: the largest IoU over all candidates [G] float64 and the first candidate
        reaching it [G] int64 (-1 where no candidate overlaps)."""
        N, G = self.iou.shape
        if N == 0 or G == 0:
            return np.zeros(G), np.full(G, -1, dtype=np.int64)
        q = np.argmax(self.iou, axis=0)
        best = self.iou[q, np.arange(G)]
        return best, np.where(best > 0, q, -1)


def iou_from_counts(inter: np.ndarray, area: np.ndarray, void: np.ndarray, gt_area: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """[N, G] panopticapi IoU from [N, G] intersections, [N] areas, [N] VOID overlaps, [G] GT areas
    and [G] crowd flags (crowd columns are 0)."""
    union = area[:, None] + gt_area[None, :] - inter - void[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(inter > 0, inter / np.maximum(union, 1), 0.0)
    iou[:, np.asarray(crowd, dtype=bool)] = 0.0
    return iou


def compute_pool_overlaps(mask_logits: np.ndarray, geometry: MaskGeometry, gt_labels: np.ndarray, gt_area: np.ndarray,
                          crowd: np.ndarray) -> PoolOverlaps:
    """Overlaps of every candidate with every GT segment (see the module docstring).

    mask_logits: [N, hm, wm] float32; gt_labels: [H*W] int64, 1 + GT segment index (0 = VOID);
    gt_area: [G] int64 segment-list areas; crowd: [G] bool.
    """
    N, hm, wm = mask_logits.shape
    H, W = geometry.orig_size
    G = len(gt_area)
    labels2d = np.asarray(gt_labels).reshape(H, W)
    counts = np.zeros((N, G + 1), dtype=np.int64)
    rows, cols = axes((hm, wm), geometry)
    # candidates with a cell above the cut: one contiguous max per candidate (about 3x faster than
    # a max over the rows of every candidate; raw outputs are checked finite, so no NaN)
    flat = np.ascontiguousarray(mask_logits).reshape(N, -1)
    has_positive = flat.max(axis=1) > POSITIVE_CUT if N and flat.shape[1] else np.zeros(N, dtype=bool)
    fast = kernels.HAVE_NUMBA and mask_logits.dtype == np.float32
    extent = np.empty(4, dtype=np.int64)
    for k in np.flatnonzero(has_positive).tolist():
        if fast:  # bounding box of the cells above the cut
            kernels.positive_extent(mask_logits[k], POSITIVE_CUT, extent)
            i0, i1, j0, j1 = extent.tolist()
        else:
            c = np.flatnonzero(mask_logits[k].max(axis=0) > POSITIVE_CUT)
            j0, j1 = int(c[0]), int(c[-1])
            r = np.flatnonzero((mask_logits[k, :, j0 : j1 + 1] > POSITIVE_CUT).any(axis=1))
            i0, i1 = int(r[0]), int(r[-1])
        y0, y1 = rows.out_range(i0, i1)
        x0, x1 = cols.out_range(j0, j1)
        if y0 >= y1 or x0 >= x1:
            continue
        pos = positive(resize_crop(mask_logits[k], rows, cols, y0, y1, x0, x1))
        if fast and labels2d.dtype == np.int64:
            kernels.count_true(pos, labels2d[y0:y1, x0:x1], counts[k])
        else:
            counts[k] = np.bincount(labels2d[y0:y1, x0:x1][pos], minlength=G + 1)
    area = counts.sum(axis=1)
    void = counts[:, 0].copy()
    inter = counts[:, 1:]
    iou = iou_from_counts(inter, area, void, np.asarray(gt_area, dtype=np.int64), crowd)
    if G:
        best_gt = np.argmax(iou, axis=1)
        best_iou = iou[np.arange(N), best_gt]
        best_gt = np.where(best_iou > 0, best_gt, -1)
    else:
        best_gt, best_iou = np.full(N, -1, dtype=np.int64), np.zeros(N)
    return PoolOverlaps(area, void, inter, iou, best_gt.astype(np.int64), best_iou)


def pool_overlaps(ctx: Any) -> PoolOverlaps:
    """:class:`PoolOverlaps` of an :class:`~ovbench.oracles.context.ImageContext`, computed once
    per image and shared by every diagnostic."""
    cache = ctx.__dict__.setdefault("_diagnostics_cache", {})
    if "pool" not in cache:
        gt = ctx.gt
        cache["pool"] = compute_pool_overlaps(
            ctx.raw.mask_logits, ctx.raw.geometry, ctx.gt_labels,
            np.array([s.area for s in gt.segments], dtype=np.int64), np.array([s.iscrowd for s in gt.segments], dtype=bool),
        )
    return cache["pool"]


def gt_classes(ctx: Any) -> np.ndarray:
    """[G] int64 dense class index of each GT segment of the image."""
    return np.array([ctx.categories.index_of(s.category_id) for s in ctx.gt.segments], dtype=np.int64)
