"""COCO panoptic format: id <-> RGB encoding and the in-memory panoptic map.

A panoptic PNG stores segment ids as ``id = R + 256 * G + 256**2 * B``; id 0 is VOID.
The JSON lists, per image, the segments present: id, category_id, iscrowd, area.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PredictionError

VOID = 0
OFFSET = 256 * 256 * 256  # panopticapi's joint-id offset; also 1 + the largest segment id


def rgb2id(rgb: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 RGB -> [H, W] int32 segment ids (R + 256 G + 256^2 B)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an [H, W, 3] RGB array, got shape {rgb.shape}")
    rgb = rgb.astype(np.int32, copy=False)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


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


def count_ids(ids: np.ndarray, segment_ids: np.ndarray) -> np.ndarray:
    """Pixel count of each of `segment_ids` in the map `ids` -> [S] int64."""
    segment_ids = np.asarray(segment_ids, dtype=np.int64)
    if segment_ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(segment_ids)
    sorted_ids = segment_ids[order]
    flat = ids.reshape(-1)
    pos = np.searchsorted(sorted_ids, flat)
    pos_c = np.minimum(pos, len(sorted_ids) - 1)
    hit = sorted_ids[pos_c] == flat
    counts_sorted = np.bincount(pos_c[hit], minlength=len(sorted_ids))
    out = np.empty_like(counts_sorted)
    out[order] = counts_sorted
    return out.astype(np.int64)


def compact_labels(ids: np.ndarray, segment_ids: np.ndarray, *, what: str) -> np.ndarray:
    """Map each pixel's segment id to 1 + its index in `segment_ids` (0 for VOID).

    Raises PredictionError if the map holds an id that is not VOID and not listed.
    Returns [H*W] int64.
    """
    segment_ids = np.asarray(segment_ids, dtype=np.int64)
    flat = ids.reshape(-1).astype(np.int64, copy=False)
    if segment_ids.size == 0:
        bad = flat[flat != VOID]
        if bad.size:
            raise PredictionError(f"{what}: segment id {int(bad[0])} is in the PNG but not in the JSON")
        return np.zeros(flat.shape, dtype=np.int64)
    order = np.argsort(segment_ids)
    sorted_ids = segment_ids[order]
    pos = np.searchsorted(sorted_ids, flat)
    pos_c = np.minimum(pos, len(sorted_ids) - 1)
    hit = sorted_ids[pos_c] == flat
    unlisted = ~hit & (flat != VOID)
    if unlisted.any():
        bad_id = int(flat[np.argmax(unlisted)])
        raise PredictionError(f"{what}: segment id {bad_id} is in the PNG but not in the JSON")
    lut = np.empty(len(sorted_ids) + 1, dtype=np.int64)
    lut[:-1] = order + 1
    lut[-1] = 0
    return np.where(hit, lut[pos_c], 0)
