"""Resizing mask logits from the model's output frame to the original image.

detectron2's ``sem_seg_postprocess`` (used by Mask2Former, FC-CLIP and MAFT+ before panoptic
inference) resizes the mask logits bilinearly (align_corners=False) to the padded input
(Hp, Wp), crops the valid input region (h, w), then resizes bilinearly to the original (H, W).
Both steps are linear and separable, so the whole chain is one [H, hm] matrix for rows and one
[W, wm] matrix for columns. Each output pixel depends on at most a few mask cells, so the maps
are stored as (index, weight) taps and applied with gathers: O(K * H * W * taps).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..raw.record import MaskGeometry


def bilinear_matrix(in_size: int, out_size: int) -> np.ndarray:
    """[out_size, in_size] float64 matrix of 1-D bilinear resizing with align_corners=False
    (PyTorch ``F.interpolate(mode="bilinear")`` without antialiasing: source coordinate
    ``(dst + 0.5) * in / out - 0.5``, clamped at 0)."""
    scale = in_size / out_size
    dst = np.arange(out_size, dtype=np.float64)
    src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    w1 = src - i0
    w1 = np.where(i0 == in_size - 1, 0.0, w1)
    m = np.zeros((out_size, in_size), dtype=np.float64)
    np.add.at(m, (np.arange(out_size), i0), 1.0 - w1)
    np.add.at(m, (np.arange(out_size), i1), w1)
    return m


def chain_matrix(mask_size: int, padded_size: int, input_size: int, orig_size: int) -> np.ndarray:
    """[orig, mask] float64 composite of mask -> padded, crop to input, input -> orig."""
    up = bilinear_matrix(mask_size, padded_size)[:input_size]
    down = bilinear_matrix(input_size, orig_size)
    return down @ up


@dataclass(frozen=True)
class BandedMatrix:
    """A banded [out, in] matrix cut into row blocks: block b maps input[lo_b:hi_b] to output[r0_b:r1_b]."""

    blocks: tuple[tuple[int, int, int, int, np.ndarray], ...]  # (r0, r1, lo, hi, dense [r1-r0, hi-lo] float32)
    shape: tuple[int, int]

    @classmethod
    def from_dense(cls, m: np.ndarray, block: int = 64) -> BandedMatrix:
        out, _ = m.shape
        blocks = []
        for r0 in range(0, out, block):
            r1 = min(r0 + block, out)
            nz = np.nonzero((m[r0:r1] != 0).any(axis=0))[0]
            lo, hi = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 1)
            blocks.append((r0, r1, lo, hi, np.ascontiguousarray(m[r0:r1, lo:hi], dtype=np.float32)))
        return cls(tuple(blocks), (int(m.shape[0]), int(m.shape[1])))


@lru_cache(maxsize=64)
def resize_operators(mask_hw: tuple[int, int], geometry: MaskGeometry, row_block: int = 64) -> tuple[BandedMatrix, BandedMatrix]:
    """Row [H, hm] and column [W, wm] operators taking a mask to the original (H, W) frame."""
    (hm, wm), (H, W) = mask_hw, geometry.orig_size
    (h, w), (Hp, Wp) = geometry.input_size, geometry.padded_size
    return BandedMatrix.from_dense(chain_matrix(hm, Hp, h, H), block=row_block), BandedMatrix.from_dense(chain_matrix(wm, Wp, w, W))


def resize_masks(mask_logits: np.ndarray, geometry: MaskGeometry) -> np.ndarray:
    """[K, hm, wm] float32 logits -> [K, H, W] float32 logits at the original resolution.

    Blocked banded matrix products (BLAS) on the separable resize operators: columns first on
    the small frame, then rows.
    """
    K, hm, wm = mask_logits.shape
    H, W = geometry.orig_size
    if (hm, wm) == (H, W) and geometry.input_size == geometry.padded_size == geometry.orig_size:
        return np.ascontiguousarray(mask_logits, dtype=np.float32)
    rows, cols = resize_operators((hm, wm), geometry)
    m = np.asarray(mask_logits, dtype=np.float32)
    tmp = np.empty((K, hm, W), dtype=np.float32)
    for c0, c1, lo, hi, blk in cols.blocks:
        np.matmul(m[:, :, lo:hi], blk.T, out=tmp[:, :, c0:c1])
    out = np.empty((K, H, W), dtype=np.float32)
    for r0, r1, lo, hi, blk in rows.blocks:
        np.matmul(blk, tmp[:, lo:hi, :], out=out[:, r0:r1, :])
    return out


def resize_masks_pixel_major(mask_logits: np.ndarray, geometry: MaskGeometry) -> np.ndarray:
    """[K, hm, wm] float32 logits -> [H*W, K] float32 logits at the original resolution, pixel-major
    (the layout panoptic inference reads: one row of K candidates per pixel).

    Each pass is one BLAS product per block of the banded resize operator.
    """
    out, _ = _resize_pixel_major(mask_logits, geometry, sigmoid=False)
    return out


def resize_sigmoid_pixel_major(mask_logits: np.ndarray, geometry: MaskGeometry) -> tuple[np.ndarray, np.ndarray]:
    """[K, hm, wm] float32 logits -> ([H*W, K] float32 sigmoid probabilities at the original
    resolution, pixel-major; [K] int64 pixels with probability >= 0.5).

    The sigmoid and the count run on each small block of rows right after its product, while it
    is in cache (about twice as fast as separate passes; the values are identical).
    """
    return _resize_pixel_major(mask_logits, geometry, sigmoid=True)


def _sigmoid_inplace(x: np.ndarray) -> None:
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    np.reciprocal(x, out=x)


def _resize_pixel_major(mask_logits: np.ndarray, geometry: MaskGeometry, *, sigmoid: bool) -> tuple[np.ndarray, np.ndarray]:
    K, hm, wm = mask_logits.shape
    H, W = geometry.orig_size
    m = np.asarray(mask_logits, dtype=np.float32)
    positive = np.zeros(K, dtype=np.int64)
    if (hm, wm) == (H, W) and geometry.input_size == geometry.padded_size == geometry.orig_size:
        out = np.ascontiguousarray(m.reshape(K, H * W).T)
        if sigmoid:
            _sigmoid_inplace(out)
            positive = (out >= 0.5).sum(axis=0)
        return out, positive
    rows, cols = resize_operators((hm, wm), geometry, 16 if sigmoid else 64)
    mt = np.ascontiguousarray(m.transpose(2, 1, 0)).reshape(wm, hm * K)  # [wm, hm*K]
    tmp = np.empty((W, hm * K), dtype=np.float32)
    for c0, c1, lo, hi, blk in cols.blocks:
        np.matmul(blk, mt[lo:hi], out=tmp[c0:c1])
    tmp = np.ascontiguousarray(tmp.reshape(W, hm, K).transpose(1, 0, 2)).reshape(hm, W * K)  # [hm, W*K]
    out = np.empty((H, W * K), dtype=np.float32)
    for r0, r1, lo, hi, blk in rows.blocks:
        block = out[r0:r1]
        np.matmul(blk, tmp[lo:hi], out=block)
        if sigmoid:
            _sigmoid_inplace(block)
            positive += (block.reshape(-1, K) >= 0.5).sum(axis=0)
    return out.reshape(H * W, K), positive
