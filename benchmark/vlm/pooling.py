"""Mask pooling of ground-truth segments over dense features (paper eq. 3).

``e_i = sum_rc F[r, c] M_i[r, c] / sum_rc M_i[r, c]`` with two choices of the mask ``M_i`` on the
feature grid ([h, w] cells of ``stride`` input pixels, covering the padded input):

* ``area`` (default): ``M_i[r, c]`` = the fraction of cell (r, c) covered by segment i. Computed
  exactly at the *original* image resolution: every original pixel is assigned to the cell that
  contains its centre after resizing (``(y + 0.5) * h_in / H`` input pixels), and the weight is the
  segment's pixel count per cell (the constant pixel area cancels in eq. 3). Equivalently: the mean,
  over the segment's original pixels, of the nearest-upsampled feature map. A non-empty segment
  always gets a non-empty mask.
* ``bilinear`` (FC-CLIP's ``MaskPooling``, ``fcclip/modeling/transformer_decoder/
  fcclip_transformer_decoder.py``): the binary mask at the padded input resolution (nearest resize
  of the GT map) is bilinearly resized to the grid (``align_corners=False``), binarised by
  ``> 0.5`` (FC-CLIP's ``logit > 0`` for a mask given as probabilities), and pooled with
  ``sum(F M) / (sum(M) + 1e-8)``; an empty mask gives a zero vector (small segments vanish).

Weights are numpy ([S, h*w] float32); pooling is one matrix product in torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

POOLING_MODES = ("area", "bilinear")


@dataclass(frozen=True)
class Geometry:
    """Image geometry of one forward pass (pixels).

    orig:    (H, W) original image (= ground truth) size;
    resized: (h_in, w_in) network input before padding;
    padded:  (Hp, Wp) padded input, multiples of ``stride``;
    stride:  input pixels per feature cell; grid = (Hp // stride, Wp // stride).
    """

    orig: tuple[int, int]
    resized: tuple[int, int]
    padded: tuple[int, int]
    stride: int

    @property
    def grid(self) -> tuple[int, int]:
        return self.padded[0] // self.stride, self.padded[1] // self.stride

    @property
    def num_cells(self) -> int:
        g = self.grid
        return g[0] * g[1]


def cell_of_pixels(geom: Geometry) -> np.ndarray:
    """[H, W] int64: the feature cell (row-major index) holding each original pixel's centre."""
    H, W = geom.orig
    h_in, w_in = geom.resized
    gh, gw = geom.grid
    cy = np.floor((np.arange(H) + 0.5) * (h_in / H) / geom.stride).astype(np.int64)
    cx = np.floor((np.arange(W) + 0.5) * (w_in / W) / geom.stride).astype(np.int64)
    cy = np.clip(cy, 0, gh - 1)
    cx = np.clip(cx, 0, gw - 1)
    return cy[:, None] * gw + cx[None, :]


def area_weights(seg_index: np.ndarray, num_segments: int, geom: Geometry) -> np.ndarray:
    """[S, h*w] float32 pixel counts of each segment per feature cell.

    seg_index: [H, W] int, the segment (0..S-1) of each original pixel, -1 for none.
    """
    if seg_index.shape != tuple(geom.orig):
        raise ConfigError(f"segment map {seg_index.shape} does not match the image size {geom.orig}")
    n = geom.num_cells
    if num_segments == 0:
        return np.zeros((0, n), dtype=np.float32)
    cells = cell_of_pixels(geom).reshape(-1)
    seg = seg_index.reshape(-1).astype(np.int64)
    valid = seg >= 0
    counts = np.bincount(seg[valid] * n + cells[valid], minlength=num_segments * n)
    return counts.reshape(num_segments, n).astype(np.float32)


def nearest_resize_index(seg_index: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an [H, W] index map to ``size`` (pixel-centre sampling)."""
    H, W = seg_index.shape
    h, w = size
    rows = np.minimum(np.floor((np.arange(h) + 0.5) * (H / h)).astype(np.int64), H - 1)
    cols = np.minimum(np.floor((np.arange(w) + 0.5) * (W / w)).astype(np.int64), W - 1)
    return seg_index[rows][:, cols]


def bilinear_weights(seg_index: np.ndarray, num_segments: int, geom: Geometry, chunk: int = 16) -> np.ndarray:
    """[S, h*w] float32 binary masks on the grid, FC-CLIP style (see the module docstring)."""
    import torch
    import torch.nn.functional as F

    if seg_index.shape != tuple(geom.orig):
        raise ConfigError(f"segment map {seg_index.shape} does not match the image size {geom.orig}")
    gh, gw = geom.grid
    out = np.zeros((num_segments, gh * gw), dtype=np.float32)
    if num_segments == 0:
        return out
    inp = nearest_resize_index(seg_index, geom.resized)
    padded = np.full(geom.padded, -1, dtype=np.int64)
    padded[: inp.shape[0], : inp.shape[1]] = inp
    t = torch.from_numpy(padded)
    for s0 in range(0, num_segments, chunk):
        ids = torch.arange(s0, min(s0 + chunk, num_segments))
        m = (t[None] == ids[:, None, None]).float()[:, None]  # [s, 1, Hp, Wp]
        r = F.interpolate(m, size=(gh, gw), mode="bilinear", align_corners=False)[:, 0]
        out[s0 : s0 + len(ids)] = (r > 0.5).float().reshape(len(ids), -1).numpy()
    return out


def mask_weights(seg_index: np.ndarray, num_segments: int, geom: Geometry, mode: str = "area") -> np.ndarray:
    """[S, h*w] pooling weights of each segment (``mode``: area | bilinear)."""
    if mode == "area":
        return area_weights(seg_index, num_segments, geom)
    if mode == "bilinear":
        return bilinear_weights(seg_index, num_segments, geom)
    raise ConfigError(f"unknown pooling mode {mode!r}; choose one of {', '.join(POOLING_MODES)}")


def mask_pool(features, weights, eps: float = 1e-8):  # type: ignore[no-untyped-def]
    """Eq. 3: [C, h, w] torch features, [S, h*w] weights (numpy or torch) -> [S, C] torch float32
    (zeros for empty masks)."""
    import torch

    c = features.shape[0]
    f = features.reshape(c, -1).float()
    if isinstance(weights, torch.Tensor):
        w = weights.to(device=f.device, dtype=torch.float32)
    else:
        w = torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float32)).to(f.device)
    if w.shape[1] != f.shape[1]:
        raise ConfigError(f"pooling weights cover {w.shape[1]} cells but the features have {f.shape[1]}")
    return (w @ f.T) / (w.sum(dim=1, keepdim=True) + eps)
