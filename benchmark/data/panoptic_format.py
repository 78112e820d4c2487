"""COCO panoptic format: id <-> RGB encoding and the in-memory panoptic map.

A panoptic PNG stores segment ids as ``id = R + 256 * G + 256**2 * B``; id 0 is VOID.
The JSON lists, per image, the segments present: id, category_id, iscrowd, area.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PredictionError

VOID = 0
_LITTLE_ENDIAN = sys.byteorder == "little"
OFFSET = 256 * 256 * 256  # panopticapi's joint-id offset; also 1 + the largest segment id


def rgb2id(rgb: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 RGB -> [H, W] int32 segment ids (R + 256 G + 256^2 B)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an [H, W, 3] RGB array, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        rgb = rgb.astype(np.int32, copy=False)
        return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
    return rgb_to_ids(rgb).view(np.int32)


def rgb_to_ids(rgb: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 RGB -> [H, W] uint32 segment ids, in one pass over the bytes.

    Reads each pixel's 3 bytes plus the next pixel's first byte as one little-endian uint32
    (a strided, unaligned view of the buffer) and masks the top byte off.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an [H, W, 3] uint8 array, got shape {rgb.shape} dtype {rgb.dtype}")
    h, w = rgb.shape[:2]
    n = h * w
    out = np.empty(n, dtype=np.uint32)
    if n == 0:
        return out.reshape(h, w)
    flat = np.ascontiguousarray(rgb).reshape(-1)
    if _LITTLE_ENDIAN and n > 1:
        four = np.ndarray(shape=(n - 1,), dtype=np.uint32, buffer=flat, offset=0, strides=(3,))
        np.bitwise_and(four, 0xFFFFFF, out=out[:-1])
        last = flat[-3:].astype(np.uint32)
        out[-1] = last[0] | (last[1] << 8) | (last[2] << 16)
    else:  # pragma: no cover - big-endian machines / single pixel
        v = flat.reshape(n, 3).astype(np.uint32)
        out[:] = v[:, 0] | (v[:, 1] << 8) | (v[:, 2] << 16)
    return out.reshape(h, w)


def id2rgb(ids: np.ndarray) -> np.ndarray:
    """[H, W] integer segment ids (0 <= id < 256^3) -> [H, W, 3] uint8 RGB."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= OFFSET):
        raise ValueError("segment ids must lie in [0, 256^3)")
    ids = ids.astype(np.uint32, copy=False)
    out = np.empty(ids.shape + (3,), dtype=np.uint8)
    out[..., 0] = ids & 255
    out[..., 1] = (ids >> 8) & 255
    out[..., 2] = (ids >> 16) & 255
    return out


@dataclass(frozen=True)
class SegmentInfo:
    """One segment of a panoptic annotation. ``area`` is in pixels (for GT: the JSON's value,
    which panopticapi uses as is; for predictions: recounted from the map)."""

    id: int
    category_id: int
    iscrowd: bool = False
    area: int = 0

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SegmentInfo:
        return cls(int(d["id"]), int(d["category_id"]), bool(d.get("iscrowd", 0)), int(d.get("area", 0)))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "category_id": self.category_id, "iscrowd": int(self.iscrowd), "area": self.area}


@dataclass(frozen=True)
class PanopticMap:
    """A panoptic segmentation of one image.

    ids:      [H, W] int32 segment ids, 0 = VOID.
    segments: the segments, each id unique and non-zero.
    """

    ids: np.ndarray
    segments: tuple[SegmentInfo, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.ids.shape[0]), int(self.ids.shape[1]))

    def segment_ids(self) -> np.ndarray:
        return np.array([s.id for s in self.segments], dtype=np.int64)

    def category_ids(self) -> np.ndarray:
        return np.array([s.category_id for s in self.segments], dtype=np.int64)

    @staticmethod
    def from_segments(ids: np.ndarray, segments: Iterable[SegmentInfo], *, recount_area: bool = True) -> PanopticMap:
        """Build a map; with ``recount_area`` the areas are counted from ``ids``."""
        segs = tuple(segments)
        if recount_area and segs:
            sid = np.array([s.id for s in segs], dtype=np.int64)
            areas = count_ids(ids, sid)
            segs = tuple(SegmentInfo(s.id, s.category_id, s.iscrowd, int(a)) for s, a in zip(segs, areas))
        return PanopticMap(np.ascontiguousarray(ids, dtype=np.int32), segs)

    @staticmethod
    def from_labels(labels: np.ndarray, category_of: Sequence[int], isthing: Sequence[bool] | None = None) -> PanopticMap:
        """Map whose segment k+1 covers ``labels == k`` with category ``category_of[k]`` (labels < 0 = VOID)."""
        ids = np.where(labels >= 0, labels + 1, 0).astype(np.int32)
        segs = [SegmentInfo(k + 1, int(c)) for k, c in enumerate(category_of)]
        pm = PanopticMap.from_segments(ids, segs)
        return PanopticMap(pm.ids, tuple(s for s in pm.segments if s.area > 0))


def runs(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run-length view of a 1-D array: (starts [R] intp, lengths [R] int64).

    Panoptic maps are piecewise constant, so R (the number of runs along the flattened rows)
    is a few percent of the pixels; per-run work replaces per-pixel work.
    """
    n = flat.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(flat[1:] != flat[:-1])
    starts = np.empty(change.size + 1, dtype=np.intp)
    starts[0] = 0
    np.add(change, 1, out=starts[1:])
    lengths = np.empty(starts.size, dtype=np.int64)
    np.subtract(starts[1:], starts[:-1], out=lengths[:-1])
    lengths[-1] = n - starts[-1]
    return starts, lengths


def index_of_ids(values: np.ndarray, segment_ids: np.ndarray) -> np.ndarray:
    """Map each of `values` to 1 + its index in `segment_ids`, 0 for VOID, -1 if unlisted -> int64."""
    values = np.asarray(values, dtype=np.int64)
    segment_ids = np.asarray(segment_ids, dtype=np.int64)
    out = np.full(values.shape, -1, dtype=np.int64)
    if segment_ids.size:
        order = np.argsort(segment_ids, kind="stable")
        sorted_ids = segment_ids[order]
        pos = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
        hit = sorted_ids[pos] == values
        out[hit] = order[pos[hit]] + 1
    out[values == VOID] = 0
    return out


def count_ids(ids: np.ndarray, segment_ids: np.ndarray) -> np.ndarray:
    """Pixel count of each of `segment_ids` in the map `ids` -> [S] int64."""
    segment_ids = np.asarray(segment_ids, dtype=np.int64)
    if segment_ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    flat = np.ascontiguousarray(ids).reshape(-1)
    starts, lengths = runs(flat)
    idx = index_of_ids(flat[starts], segment_ids)
    keep = idx > 0
    return np.bincount(idx[keep] - 1, weights=lengths[keep], minlength=len(segment_ids)).astype(np.int64)


def compact_labels(ids: np.ndarray, segment_ids: np.ndarray, *, what: str) -> np.ndarray:
    """Map each pixel's segment id to 1 + its index in `segment_ids` (0 for VOID).

    Raises PredictionError if the map holds an id that is not VOID and not listed.
    Returns [H*W] int64.
    """
    flat = np.ascontiguousarray(ids).reshape(-1)
    starts, lengths = runs(flat)
    idx = index_of_ids(flat[starts], segment_ids)
    if (idx < 0).any():
        bad_id = int(flat[starts][np.argmax(idx < 0)])
        raise PredictionError(f"{what}: segment id {bad_id} is in the PNG but not in the JSON")
    return np.repeat(idx, lengths)
