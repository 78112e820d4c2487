"""Resizing mask logits from the model's output frame to the original image, and the sigmoid.

detectron2's ``sem_seg_postprocess`` (used by Mask2Former, FC-CLIP and MAFT+ before panoptic
inference) resizes the mask logits bilinearly (align_corners=False) to the padded input
(Hp, Wp), crops the valid input region (h, w), then resizes bilinearly to the original (H, W).
Both steps are linear and separable, so the whole chain is one [H, hm] matrix for rows and one
[W, wm] matrix for columns, each row holding a few consecutive nonzero weights ("taps").

**Bit-exact by construction, on every CPU.** Every value is computed per mask, per pixel, by
one fixed sequence of IEEE float32 operations (no BLAS, no reduction whose order depends on the
batch, the block size or the SIMD width):

* column pass ``t[i, x] = ((cw[x,0]*m[i, ci[x,0]] + cw[x,1]*m[i, ci[x,1]]) + ...)``, then
  row pass ``v[y, x] = ((rw[y,0]*t[ri[y,0], x] + rw[y,1]*t[ri[y,1], x]) + ...)``, float32
  products and sums left to right (taps padded to a fixed count with weight 0);
* sigmoid ``p = float32(1 / (1 + exp(-v)))`` in float64 with :func:`exp64` (Cody-Waite range
  reduction and a fixed degree-11 polynomial: only +, -, *, / and a table of powers of two),
  rounded once to float32. It equals the correctly rounded sigmoid except in about 1e-9 of
  cases and never depends on the platform's ``exp``.

So a mask's resized logits and probabilities do not depend on which other masks share the batch,
on its position, or on the machine; the numba kernels (:mod:`ovbench.inference.kernels`) and the
numpy code here run the same operations and give identical bits (tested). The values equal
PyTorch's two-step ``F.interpolate`` up to float32 rounding (about 1e-6; tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..raw.record import MaskGeometry
from .kernels import (  # the sigmoid's constants live with the kernels (numba cache)
    EXP_P,
    LN2_C1,
    LN2_C2,
    LOG2E,
    N_MIN_NORMAL,
    V_MAX,
)


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
class AxisTaps:
    """The resize operator of one axis as taps: output index o reads input indices idx[o, :]
    (ascending, padded by repeating the last one with weight 0) with float32 weights w[o, :].

    first, last: [in] int64, the first / last output index whose taps read input index i with a
    nonzero weight (first = out and last = -1 where none, e.g. cells in the padding); both are
    non-decreasing (bilinear chains are monotone).
    """

    idx: np.ndarray  # [out, T] int64
    w: np.ndarray  # [out, T] float32
    first: np.ndarray  # [in] int64
    last: np.ndarray  # [in] int64

    @classmethod
    def from_matrix(cls, m: np.ndarray) -> AxisTaps:
        out, n_in = m.shape
        w32 = m.astype(np.float32)
        nz = w32 != 0
        counts = nz.sum(axis=1)
        T = max(1, int(counts.max()) if out else 1)
        idx = np.zeros((out, T), dtype=np.int64)
        w = np.zeros((out, T), dtype=np.float32)
        for o in range(out):
            cols = np.flatnonzero(nz[o])
            if not len(cols):  # pragma: no cover - bilinear rows always have a nonzero weight
                continue
            idx[o, : len(cols)], w[o, : len(cols)] = cols, w32[o, cols]
            idx[o, len(cols) :] = cols[-1]
        has = nz.any(axis=0)
        first = np.where(has, np.argmax(nz, axis=0), out).astype(np.int64)
        last = np.where(has, out - 1 - np.argmax(nz[::-1], axis=0), -1).astype(np.int64)
        last = np.maximum.accumulate(last)
        first = np.minimum.accumulate(first[::-1])[::-1].copy()
        return cls(idx, w, first, last)

    @property
    def size(self) -> int:
        return int(self.idx.shape[0])

    def in_range(self, o0: int, o1: int) -> tuple[int, int]:
        """Input indices [a, b) read by output indices o0..o1-1."""
        return int(self.idx[o0:o1, 0].min()), int(self.idx[o0:o1, -1].max()) + 1

    def out_range(self, i0: int, i1: int) -> tuple[int, int]:
        """Output indices [a, b) whose value reads input indices i0..i1 (inclusive) with a nonzero
        weight; a >= b if none."""
        return int(self.first[i0]), int(self.last[i1]) + 1


@lru_cache(maxsize=64)
def resize_taps(mask_hw: tuple[int, int], geometry: MaskGeometry) -> tuple[AxisTaps, AxisTaps]:
    """Row [H] and column [W] taps taking an [hm, wm] mask to the original (H, W) frame (cached)."""
    (hm, wm), (H, W) = mask_hw, geometry.orig_size
    (h, w), (Hp, Wp) = geometry.input_size, geometry.padded_size
    return AxisTaps.from_matrix(chain_matrix(hm, Hp, h, H)), AxisTaps.from_matrix(chain_matrix(wm, Wp, w, W))


# ---- the sigmoid -------------------------------------------------------------------------------
# sigmoid32(v) = (1 if v >= 0 else u) / (1 + u) with u = exp(-|v|) in float32 (cephes' expf:
# Cody-Waite reduction by ln 2 in two parts, degree-7 polynomial, 2**n from its exponent bits
# in two factors so that subnormal results round once per factor), |v| clamped at 104 (beyond it
# u rounds to 0 anyway). About 1 ulp from the float64 sigmoid.
F32 = np.float32


def _pow2_bits(n: np.ndarray) -> np.ndarray:
    """2**n (int32 n in [-126, 127]) as float32, from its exponent bits."""
    return ((n.astype(np.int32) + np.int32(127)) << np.int32(23)).view(np.float32)


def sigmoid32(v: np.ndarray) -> np.ndarray:
    """float32 sigmoid of float32 logits: a fixed sequence of float32 operations, bit-identical
    on every CPU and to the numba kernels (:func:`ovbench.inference.kernels.sigmoid_row`)."""
    v = np.asarray(v, dtype=np.float32)
    w = -np.minimum(np.abs(v), V_MAX)  # -|v| in [-104, 0]
    n = np.floor(w * LOG2E + F32(0.5))
    r = w - n * LN2_C1
    r = r - n * LN2_C2
    r2 = r * r
    p = np.full_like(r, EXP_P[0])
    for c in EXP_P[1:]:
        p = p * r + c
    p = p * r2 + r + F32(1.0)
    ni = n.astype(np.int32)
    na = np.maximum(ni, N_MIN_NORMAL)
    u = (p * _pow2_bits(na)) * _pow2_bits(ni - na)
    num = np.where(v >= 0, F32(1.0), u)
    return (num / (F32(1.0) + u)).astype(np.float32)


POSITIVE_CUT = F32(-1e-5)  # sigmoid32(v) >= 0.5 is False for v <= POSITIVE_CUT and True for v >= 0 (tested)


def positive(v: np.ndarray) -> np.ndarray:
    """``sigmoid32(v) >= 0.5`` of float32 logits, evaluating the sigmoid only on (POSITIVE_CUT, 0)."""
    v = np.asarray(v, dtype=np.float32)
    out = v >= 0
    near = np.flatnonzero((v < 0) & (v > POSITIVE_CUT))
    if len(near):
        out.reshape(-1)[near] = sigmoid32(v.reshape(-1)[near]) >= 0.5
    return out


# ---- resizing ----------------------------------------------------------------------------------
def _column_pass(m: np.ndarray, cols: AxisTaps, r0: int, r1: int, x0: int, x1: int) -> np.ndarray:
    """[r1-r0, x1-x0] float32: mask rows r0..r1-1 resized along the columns, output columns x0..x1-1."""
    idx, w = cols.idx[x0:x1], cols.w[x0:x1]
    rows = m[r0:r1]
    t = rows[:, idx[:, 0]] * w[:, 0]
    for k in range(1, idx.shape[1]):
        t = t + rows[:, idx[:, k]] * w[:, k]
    return t


def resize_crop_numpy(m: np.ndarray, rows: AxisTaps, cols: AxisTaps, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """[hm, wm] float32 logits of one mask -> [y1-y0, x1-x0] float32 logits of the output pixels
    [y0, y1) x [x0, x1): the numpy form of the fixed operation sequence (module docstring)."""
    m = np.asarray(m, dtype=np.float32)
    a, b = rows.in_range(y0, y1)
    t = _column_pass(m, cols, a, b, x0, x1)
    idx, w = rows.idx[y0:y1] - a, rows.w[y0:y1]
    v = t[idx[:, 0]] * w[:, 0, None]
    for k in range(1, idx.shape[1]):
        v = v + t[idx[:, k]] * w[:, k, None]
    return v


def resize_crop(m: np.ndarray, rows: AxisTaps, cols: AxisTaps, y0: int, y1: int, x0: int, x1: int,
                compiled: bool | None = None) -> np.ndarray:
    """:func:`resize_crop_numpy`, with the numba kernel when available (identical values)."""
    from . import kernels

    if (kernels.HAVE_NUMBA if compiled is None else compiled) and y1 > y0 and x1 > x0:
        out = np.empty((y1 - y0, x1 - x0), dtype=np.float32)
        kernels.resize_crop(np.ascontiguousarray(m, dtype=np.float32), rows.idx, rows.w, cols.idx, cols.w, y0, x0, out)
        return out
    return resize_crop_numpy(m, rows, cols, y0, y1, x0, x1)


def resize_masks(mask_logits: np.ndarray, geometry: MaskGeometry) -> np.ndarray:
    """[K, hm, wm] float32 logits -> [K, H, W] float32 logits at the original resolution
    (each mask on its own, see the module docstring)."""
    K, hm, wm = mask_logits.shape
    H, W = geometry.orig_size
    out = np.empty((K, H, W), dtype=np.float32)
    rows, cols = resize_taps((hm, wm), geometry)
    for k in range(K):
        out[k] = resize_crop(mask_logits[k], rows, cols, 0, H, 0, W)
    return out


def resize_masks_pixel_major(mask_logits: np.ndarray, geometry: MaskGeometry) -> np.ndarray:
    """[K, hm, wm] float32 logits -> [H*W, K] float32 logits at the original resolution, pixel-major."""
    K = mask_logits.shape[0]
    return np.ascontiguousarray(resize_masks(mask_logits, geometry).reshape(K, -1).T)


def resize_sigmoid_into(mask_logits: np.ndarray, queries: np.ndarray, geometry: MaskGeometry, probs: np.ndarray, col0: int,
                        compiled: bool | None = None) -> np.ndarray:
    """Resize masks ``queries`` of [N, hm, wm] `mask_logits` to the original (H, W), apply
    :func:`sigmoid32` and write them into columns ``col0 .. col0 + K - 1`` of the pixel-major
    [H*W, Q'] float32 `probs`. Returns [K] int64 pixels with probability >= 0.5.

    The numba kernel works in bands of output rows (all K masks of a band, then one transposed
    write), so its working set stays in cache; values are identical to the numpy path.
    """
    from . import kernels

    queries = np.asarray(queries, dtype=np.int64)
    K = len(queries)
    N, hm, wm = mask_logits.shape
    H, W = geometry.orig_size
    positive_count = np.zeros(K, dtype=np.int64)
    if K == 0:
        return positive_count
    rows, cols = resize_taps((hm, wm), geometry)
    if mask_logits.dtype != np.float32 or not mask_logits.flags.c_contiguous:
        mask_logits, queries = np.ascontiguousarray(mask_logits[queries], dtype=np.float32), np.arange(K, dtype=np.int64)
    if (kernels.HAVE_NUMBA if compiled is None else compiled) and probs.dtype == np.float32:
        band = int(max(1, min(H, (1 << 18) // max(1, K * W))))  # K x band x W float32 buffer of about 1 MB
        kernels.resize_sigmoid_into(mask_logits, queries, rows.idx, rows.w, cols.idx, cols.w, band, probs, int(col0), positive_count)
        return positive_count
    for j, q in enumerate(queries.tolist()):
        p = sigmoid32(resize_crop_numpy(mask_logits[q], rows, cols, 0, H, 0, W)).reshape(-1)
        probs[:, col0 + j] = p
        positive_count[j] = int(np.count_nonzero(p >= 0.5))
    return positive_count


def resize_sigmoid_pixel_major(mask_logits: np.ndarray, geometry: MaskGeometry) -> tuple[np.ndarray, np.ndarray]:
    """[K, hm, wm] float32 logits -> ([H*W, K] float32 sigmoid probabilities at the original
    resolution, pixel-major; [K] int64 pixels with probability >= 0.5)."""
    K = mask_logits.shape[0]
    H, W = geometry.orig_size
    probs = np.empty((H * W, K), dtype=np.float32)
    pos = resize_sigmoid_into(np.asarray(mask_logits, dtype=np.float32), np.arange(K), geometry, probs, 0)
    return probs, pos
