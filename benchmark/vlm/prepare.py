"""The CPU side of one image for the VLM oracle, run in DataLoader worker processes.

Everything that does not need the model happens here, away from the process that drives the
accelerator: GT PNG decode (:meth:`PanopticDataset.sample`), RGB decode, the protocol's resize
(PIL bilinear on uint8, as detectron2's ``ResizeTransform``), the oracle segments, their
pooling weights and the overlaps that matching needs. :class:`PreparedImage` carries the result to the main process; its tensors are
page-locked there (``pin_memory``) so that the copy to the GPU can overlap computation.

:func:`make_loader` wraps a dataset in a ``torch.utils.data.DataLoader`` with ``workers``
processes (0 = in the calling process). A bad input in a worker (an :class:`~ovbench.errors.
OvbenchError`) comes back as a :class:`PrepareFailure` and is raised again, unchanged, by the
caller, so the user sees the same one-line error as without workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import PanopticMap
from ..errors import OvbenchError
from ..metrics.matching import Overlaps
from .oracle import OracleSegments, oracle_prediction, oracle_segments
from .pooling import Geometry, mask_weights
from .protocols import get_protocol, padded_shape


@dataclass(frozen=True)
class Preparer:
    """Picklable recipe of the CPU side: protocol, padding, network stride, pooling mode.

    With ``categories`` (and ``merge_stuff`` off) it also computes the class-agnostic overlaps
    between the GT and the oracle's predicted segments (:func:`ovbench.metrics.matching.
    compute_overlaps`): without merging, the predicted segments are the GT masks whatever their
    classes, so matching an image once its classes are known is only
    :func:`~ovbench.metrics.matching.match_overlaps` on these small tables."""

    resolution: str
    pad: str
    stride: int
    pooling: str
    categories: CategorySet | None = None
    merge_stuff: bool = False

    def geometry(self, height: int, width: int) -> Geometry:
        protocol = get_protocol(self.resolution)
        resized = protocol.resized_shape(height, width)
        return Geometry((height, width), resized, padded_shape(resized, self.stride, protocol, self.pad), self.stride)

    def resize(self, image: np.ndarray) -> tuple[np.ndarray, Geometry]:
        """[H, W, 3] uint8 RGB -> ([h, w, 3] uint8 resized to the protocol, geometry)."""
        from PIL import Image

        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an [H, W, 3] uint8 image, got {image.shape} {image.dtype}")
        geom = self.geometry(int(image.shape[0]), int(image.shape[1]))
        h, w = geom.resized
        if (h, w) != geom.orig:
            image = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.BILINEAR))
        return np.ascontiguousarray(image), geom

    def __call__(self, image_id: str, image: np.ndarray, gt: PanopticMap) -> PreparedImage:
        import torch

        resized, geom = self.resize(image)
        segs = oracle_segments(gt)
        w = mask_weights(segs.seg_index, segs.num_segments, geom, self.pooling)
        empty = int((w.sum(axis=1) == 0).sum()) if segs.num_segments else 0
        tables = self.match_tables(image_id, gt, segs) if self.categories is not None and not self.merge_stuff else None
        return PreparedImage(image_id, torch.from_numpy(np.array(resized, copy=True)), geom, segs,
                             torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)), gt, empty, tables)

    def match_tables(self, image_id: str, gt: PanopticMap, segs: OracleSegments) -> MatchTables:
        """Overlaps of the GT with the (class-agnostic) oracle prediction, GT classes and crowd flags."""
        from ..metrics.matching import compute_overlaps

        assert self.categories is not None
        gt_cat = np.array([self.categories.index_of(c) for c in gt.category_ids().tolist()], dtype=np.int64)
        # any classes give the same segments without merging; the GT's own are at hand
        pred = oracle_prediction(gt, segs, gt_cat[segs.gt_index], self.categories)
        ov = compute_overlaps(gt, pred, what=f"image {image_id}")
        crowd = np.array([s.iscrowd for s in gt.segments], dtype=bool)
        return MatchTables(ov, gt_cat, crowd)


@dataclass
class MatchTables:
    """What matching needs besides the predicted classes: overlaps [G, S] (prediction column i =
    oracle segment i), GT dense classes [G] and crowd flags [G]."""

    overlaps: Overlaps
    gt_cat: np.ndarray
    gt_crowd: np.ndarray


@dataclass
class PreparedImage:
    """One image ready for the forward pass.

    image:   [h, w, 3] uint8 torch tensor, resized (not padded, not normalised);
    weights: [S, cells] float32 torch tensor, pooling weights of the oracle segments;
    gt:      the ground truth (for matching); num_empty_masks: segments with all-zero weights.
    """

    image_id: str
    image: Any
    geometry: Geometry
    segments: OracleSegments
    weights: Any
    gt: PanopticMap
    num_empty_masks: int
    tables: MatchTables | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled from a worker: the [H, W] maps travel as torch tensors (shared memory, no copy
        through the pipe), the rest as is."""
        import torch

        state = dict(self.__dict__)
        s = self.segments
        state["gt"] = (torch.from_numpy(self.gt.ids), self.gt.segments)
        state["segments"] = (s.gt_index, torch.from_numpy(s.seg_index), s.num_crowd, s.num_empty)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        ids, infos = state["gt"]
        gt_index, seg_index, num_crowd, num_empty = state["segments"]
        state["gt"] = PanopticMap(ids.numpy(), infos)
        state["segments"] = OracleSegments(gt_index, seg_index.numpy(), num_crowd, num_empty)
        self.__dict__.update(state)

    def pin_memory(self) -> PreparedImage:
        """Page-locked copies of the tensors (called by the DataLoader's pin-memory thread)."""
        self.image = self.image.pin_memory()
        self.weights = self.weights.pin_memory()
        return self


@dataclass
class PrepareFailure:
    """A named ovbench error raised while preparing an image in a worker."""

    image_id: str
    error: OvbenchError

    def pin_memory(self) -> PrepareFailure:
        return self


class PreparedImages:
    """Map-style dataset: ``items[i]`` = the :class:`PreparedImage` of ``image_ids[i]``."""

    def __init__(self, dataset: Any, image_ids: Sequence[str], preparer: Preparer) -> None:
        self.dataset = dataset
        self.image_ids = list(image_ids)
        self.preparer = preparer

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, i: int) -> PreparedImage | PrepareFailure:
        image_id = self.image_ids[i]
        try:
            sample = self.dataset.sample(image_id)
            return self.preparer(sample.image_id, sample.load_image(), sample.gt)
        except OvbenchError as exc:
            return PrepareFailure(image_id, exc)


def _as_is(item: Any) -> Any:
    return item


def make_loader(dataset: Any, image_ids: Sequence[str], preparer: Preparer, *, workers: int = 0,
                pin_memory: bool = False, prefetch: int = 2) -> Any:
    """A DataLoader yielding :class:`PreparedImage` (or :class:`PrepareFailure`) in ``image_ids``
    order, prepared by ``workers`` processes (each keeping ``prefetch`` images ahead)."""
    from torch.utils.data import DataLoader

    workers = max(0, int(workers))
    kwargs: dict[str, Any] = {}
    if workers > 0:
        kwargs.update(prefetch_factor=max(1, int(prefetch)), persistent_workers=False)
    return DataLoader(PreparedImages(dataset, image_ids, preparer), batch_size=None, shuffle=False,
                      num_workers=workers, collate_fn=_as_is, pin_memory=pin_memory, **kwargs)
