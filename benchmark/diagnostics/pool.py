"""Class-agnostic overlaps of ALL N candidate masks with the ground-truth segments of one image.

Definition (shared by the ``pool_recall`` and ``calibration`` diagnostics):

* a candidate's mask is its logit map taken to the output (original image) resolution with the
  same resize chain as panoptic inference (:mod:`ovbench.inference.resize`), binarised at
  ``logit >= 0`` (``sigmoid >= 0.5``);
* ``IoU(c, g) = |c ∩ g| / (|c| + area_g - |c ∩ g| - |c ∩ VOID|)`` with ``area_g`` the GT segment's
  area from its segment list: panopticapi's union, the one ``ImageMatch.overlaps.iou()`` uses for
  final segments, so pool and output IoUs are comparable; crowd GT segments are not targets.

Cost: the bilinear resize chain is a convex combination (non-negative weights summing to 1) of
the mask cells under a pixel, so a pixel can only be positive if one of those cells is. Each
candidate is therefore resized only over the pixel rectangle reached by its positive cells
(candidates without a positive cell are empty and cost nothing), with banded dense products in
blocks of ``BLOCK`` output rows / columns. Values equal the full resize up to float32 rounding:
a pixel with ``|logit| < ~1e-6`` may binarise differently from the cached masks of the oracles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..inference.resize import chain_matrix
from ..raw.record import MaskGeometry
from . import kernels

BLOCK = 32  # output rows / columns per dense block of the banded resize


@dataclass(frozen=True)
class Axis:
    """The resize operator of one image axis, [out, in] float32, with its band structure.

    lo, hi: [out] first / one-past-last input index with a nonzero weight in each output row;
    first, last: [in] first / last output index that each input index reaches.
    """

    m: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @classmethod
    def build(cls, mask_size: int, padded: int, inp: int, orig: int) -> Axis:
        m = chain_matrix(mask_size, padded, inp, orig)
        nz = m != 0
        lo = np.argmax(nz, axis=1)
        hi = nz.shape[1] - np.argmax(nz[:, ::-1], axis=1)
        has = nz.any(axis=0)
        first = np.where(has, np.argmax(nz, axis=0), orig)
        last = np.where(has, nz.shape[0] - 1 - np.argmax(nz[::-1], axis=0), -1)
        last = np.maximum.accumulate(last)  # cells in the padding (a suffix) reach nothing: first = orig
        # bilinear chains are banded and monotone: ranges of consecutive indices are read at their ends
        if not ((np.diff(lo) >= 0).all() and (np.diff(hi) >= 0).all() and (np.diff(first) >= 0).all()):
            raise ValueError("resize operator is not monotone-banded")  # pragma: no cover - bilinear always is
        return cls(np.ascontiguousarray(m, dtype=np.float32), lo, hi, first, last)

    def out_range(self, i0: int, i1: int) -> tuple[int, int]:
        """Output indices [a, b) reached by input indices i0..i1 (inclusive); a >= b if none."""
        return int(self.first[i0]), int(self.last[i1]) + 1

    def in_range(self, r0: int, r1: int) -> tuple[int, int]:
        """Input indices [a, b) read by output indices r0..r1-1."""
        return int(self.lo[r0]), int(self.hi[r1 - 1])


@lru_cache(maxsize=64)
def axes(mask_hw: tuple[int, int], geometry: MaskGeometry) -> tuple[Axis, Axis]:
    """Row and column resize operators of a mask frame and geometry (cached)."""
    (hm, wm), (H, W) = mask_hw, geometry.orig_size
    (h, w), (Hp, Wp) = geometry.input_size, geometry.padded_size
    return Axis.build(hm, Hp, h, H), Axis.build(wm, Wp, w, W)


def resize_crop(logits: np.ndarray, rows: Axis, cols: Axis, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """[hm, wm] float32 logits of one candidate -> [y1-y0, x1-x0] float32 logits of the output
    pixels [y0, y1) x [x0, x1), exactly as the full resize chain (up to float32 rounding)."""
    a, b = rows.in_range(y0, y1)
    tmp = np.empty((b - a, x1 - x0), dtype=np.float32)
    for c0 in range(x0, x1, BLOCK):
        c1 = min(c0 + BLOCK, x1)
        lo, hi = cols.in_range(c0, c1)
        np.matmul(logits[a:b, lo:hi], cols.m[c0:c1, lo:hi].T, out=tmp[:, c0 - x0 : c1 - x0])
    out = np.empty((y1 - y0, x1 - x0), dtype=np.float32)
    for r0 in range(y0, y1, BLOCK):
        r1 = min(r0 + BLOCK, y1)
        lo, hi = rows.in_range(r0, r1)
        np.matmul(rows.m[r0:r1, lo:hi], tmp[lo - a : hi - a], out=out[r0 - y0 : r1 - y0])
    return out


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
    identity = (hm, wm) == (H, W) and geometry.input_size == geometry.padded_size == geometry.orig_size
    counts = np.zeros((N, G + 1), dtype=np.int64)
    rows = cols = None
    if not identity:
        rows, cols = axes((hm, wm), geometry)
    # candidates with a positive cell: one contiguous max per candidate (about 3x faster than a
    # max over the rows of every candidate; raw outputs are checked finite, so no NaN)
    flat = np.ascontiguousarray(mask_logits).reshape(N, -1)
    has_positive = flat.max(axis=1) >= 0 if N and flat.shape[1] else np.zeros(N, dtype=bool)
    fast = kernels.HAVE_NUMBA and mask_logits.dtype == np.float32
    extent = np.empty(4, dtype=np.int64)
    for k in np.flatnonzero(has_positive).tolist():
        if fast:  # bounding box of the positive cells
            kernels.positive_extent(mask_logits[k], extent)
            i0, i1, j0, j1 = extent.tolist()
        else:
            c = np.flatnonzero(mask_logits[k].max(axis=0) >= 0)
            j0, j1 = int(c[0]), int(c[-1])
            r = np.flatnonzero((mask_logits[k, :, j0 : j1 + 1] >= 0).any(axis=1))
            i0, i1 = int(r[0]), int(r[-1])
        if identity:
            y0, y1, x0, x1 = i0, i1 + 1, j0, j1 + 1
            crop = mask_logits[k, y0:y1, x0:x1]
        else:
            assert rows is not None and cols is not None
            y0, y1 = rows.out_range(i0, i1)
            x0, x1 = cols.out_range(j0, j1)
            if y0 >= y1 or x0 >= x1:
                continue
            crop = resize_crop(mask_logits[k], rows, cols, y0, y1, x0, x1)
        if fast and crop.dtype == np.float32 and labels2d.dtype == np.int64:
            kernels.count_nonnegative(crop, labels2d[y0:y1, x0:x1], counts[k])
        else:
            counts[k] = np.bincount(labels2d[y0:y1, x0:x1][crop >= 0], minlength=G + 1)
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
