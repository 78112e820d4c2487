"""One image through the VLM oracle: resize -> dense features -> mask pooling -> classes -> PQ counts.

:class:`VLMOracle` holds the model, the dense encoder and the text classifier. The CPU side of an
image (decode, resize, segments, pooling weights) is :mod:`ovbench.vlm.prepare` (worker
processes); :meth:`VLMOracle.launch` queues the device side and :meth:`VLMOracle.finish` turns
its scores into an :class:`ImageOutcome` (per-class PQ counts plus diagnostics);
:meth:`VLMOracle.evaluate` does all three for one image. The dataset loop with per-image shards
and the overlap of images lives in :mod:`ovbench.vlm.run`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import PanopticMap
from ..metrics.accumulator import PQStats
from ..metrics.matching import match_image, match_overlaps, stats_from_match
from .oracle import OracleSegments, oracle_prediction, predict_classes
from .pooling import Geometry, mask_pool, mask_weights
from .prepare import PreparedImage, Preparer
from .protocols import get_protocol
from .text import TextClassifier, class_scores


@dataclass(frozen=True)
class OracleConfig:
    """Every choice that changes the oracle's numbers (recorded in the results file)."""

    resolution: str = "long512"
    pad: str = "multiple"
    pooling: str = "area"
    convnext_order: str = "project_pool"
    prompts: str = "synonyms"
    merge_stuff: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImageOutcome:
    """Result of one image. ``pred_classes``: [S] dense class index per oracle segment."""

    image_id: str
    stats: PQStats
    segments: OracleSegments
    pred_classes: np.ndarray
    gt_classes: np.ndarray
    num_empty_masks: int
    geometry: Geometry
    prediction: PanopticMap | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_correct(self) -> int:
        return int((self.pred_classes == self.gt_classes).sum())


@dataclass
class Launched:
    """An image whose forward pass has been queued on the device: ``scores`` ([S, C] float32) is a
    host tensor that is valid once ``ready`` (a CUDA event, or None on the CPU) has completed."""

    item: PreparedImage
    scores: Any
    ready: Any = None


class VLMOracle:
    """The zero-shot VLM segmentation oracle for one model, class set and configuration.

    Per image: :attr:`preparer` (CPU side, may run in worker processes) -> :meth:`launch` (device
    side, asynchronous on CUDA) -> :meth:`finish` (argmax, predicted map, PQ counts).
    :meth:`evaluate` chains the three. ``timer``: when a list, :meth:`launch` appends the device
    time of each image's forward + pooling + scores (CUDA event pairs, or seconds on the CPU).
    """

    def __init__(self, model: Any, encoder: Any, text: TextClassifier, categories: CategorySet, config: OracleConfig,
                 *, mean: tuple[float, ...], std: tuple[float, ...], device: Any = "cpu") -> None:
        import torch

        if text.num_classes != len(categories):
            raise ValueError(f"text classifier has {text.num_classes} classes, the dataset {len(categories)}")
        self.model = model
        self.encoder = encoder
        self.text = text
        self.categories = categories
        self.config = config
        self.protocol = get_protocol(config.resolution)
        self.device = torch.device(device)
        self.preparer = Preparer(config.resolution, config.pad, int(encoder.stride), config.pooling, categories,
                                 config.merge_stuff)
        self._mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32, device=self.device).view(3, 1, 1)
        self._cat_index = {c.id: k for k, c in enumerate(categories)}
        self._cuda = self.device.type == "cuda"
        self.timer: list[Any] | None = None

    # ---- input ---------------------------------------------------------------------------
    def geometry(self, height: int, width: int) -> Geometry:
        return self.preparer.geometry(height, width)

    def to_input(self, resized: Any, geom: Geometry) -> Any:
        """[h, w, 3] uint8 torch tensor (any device) -> [1, 3, Hp, Wp] float32 on the device,
        normalised with the model's mean/std and zero-padded at the bottom/right."""
        import torch

        h, w = geom.resized
        x = resized.to(self.device, non_blocking=True).permute(2, 0, 1).float() / 255.0
        x = (x - self._mean) / self._std
        out = torch.zeros((1, 3) + geom.padded, dtype=torch.float32, device=self.device)
        out[0, :, :h, :w] = x
        return out

    def preprocess(self, image: np.ndarray) -> tuple[Any, Geometry]:
        """[H, W, 3] uint8 RGB -> ([1, 3, Hp, Wp] float32 normalised, zero-padded), geometry.

        Resize with PIL bilinear on uint8, as detectron2's ResizeTransform."""
        import torch

        resized, geom = self.preparer.resize(image)
        return self.to_input(torch.from_numpy(np.array(resized, copy=True)), geom), geom

    # ---- per image ------------------------------------------------------------------------
    def pooled_embeddings(self, x: Any, weights: Any, geom: Geometry) -> Any:
        """[S, D] pooled joint-space embeddings on the device from the input [1, 3, Hp, Wp] and
        the [S, cells] pooling weights (any device)."""
        import torch

        with torch.inference_mode():
            dense = self.encoder(x)
            feats = dense.features[0]
            if tuple(feats.shape[-2:]) != geom.grid:
                raise RuntimeError(f"feature grid {tuple(feats.shape[-2:])} != expected {geom.grid} (stride {geom.stride})")
            pooled = mask_pool(feats, weights.to(feats.device, non_blocking=True))
            if dense.head is not None:
                pooled = dense.head(pooled)
        return pooled

    def segment_embeddings(self, image: np.ndarray, segs: OracleSegments) -> tuple[Any, Geometry, int]:
        """[S, D] pooled joint-space embeddings of the oracle segments, the geometry, and the
        number of segments whose pooling mask was empty."""
        import torch

        x, geom = self.preprocess(image)
        w = mask_weights(segs.seg_index, segs.num_segments, geom, self.config.pooling)
        pooled = self.pooled_embeddings(x, torch.from_numpy(w), geom)
        empty = int((w.sum(axis=1) == 0).sum())
        return pooled, geom, empty

    def launch(self, item: PreparedImage) -> Launched:
        """Queue the forward pass, pooling and class scores of a prepared image on the device and
        start copying the scores to the host (without waiting for them on CUDA)."""
        import time

        import torch

        S = item.segments.num_segments
        if S == 0:
            return Launched(item, torch.zeros((0, len(self.categories)), dtype=torch.float32))
        if self._cuda:
            start = torch.cuda.Event(enable_timing=True) if self.timer is not None else None
            if start is not None:
                start.record()
        else:
            t0 = time.perf_counter()
        with torch.inference_mode():
            x = self.to_input(item.image, item.geometry)
            pooled = self.pooled_embeddings(x, item.weights, item.geometry)
            scores = class_scores(pooled, self.text)
            if not self._cuda:
                if self.timer is not None:
                    self.timer.append(time.perf_counter() - t0)
                return Launched(item, scores)
            host = torch.empty(scores.shape, dtype=scores.dtype, pin_memory=True)
            host.copy_(scores, non_blocking=True)
            ready = torch.cuda.Event(enable_timing=start is not None)
            ready.record()
        if start is not None:
            self.timer.append((start, ready))  # type: ignore[union-attr]
        return Launched(item, host, ready)

    def finish(self, launched: Launched, *, keep_prediction: bool = False) -> ImageOutcome:
        """Wait for the scores of a launched image, classify its segments and match the prediction."""
        if launched.ready is not None:
            launched.ready.synchronize()
        item = launched.item
        segs, gt = item.segments, item.gt
        pred = predict_classes(launched.scores.numpy()) if segs.num_segments else np.zeros(0, dtype=np.int64)
        gt_cls = np.array([self._cat_index[gt.segments[int(g)].category_id] for g in segs.gt_index], dtype=np.int64)
        prediction = None
        if item.tables is not None and not self.config.merge_stuff:
            # the predicted segments are the GT masks: only the classes are new (see Preparer)
            t = item.tables
            stats = stats_from_match(match_overlaps(t.overlaps, t.gt_cat, t.gt_crowd, pred, len(self.categories)),
                                     t.gt_cat, pred, len(self.categories))
        else:
            prediction = oracle_prediction(gt, segs, pred, self.categories, merge_stuff=self.config.merge_stuff)
            stats = match_image(gt, prediction, self.categories, what=f"image {item.image_id}").stats
        if keep_prediction and prediction is None:
            prediction = oracle_prediction(gt, segs, pred, self.categories, merge_stuff=self.config.merge_stuff)
        return ImageOutcome(item.image_id, stats, segs, pred, gt_cls, item.num_empty_masks, item.geometry,
                            prediction if keep_prediction else None)

    def evaluate(self, image_id: str, image: np.ndarray, gt: PanopticMap, *, keep_prediction: bool = False) -> ImageOutcome:
        """Classify every oracle segment of ``gt`` and match the prediction against ``gt``."""
        return self.finish(self.launch(self.preparer(image_id, image, gt)), keep_prediction=keep_prediction)


def device_seconds(timer: list[Any]) -> float:
    """Total device seconds recorded by :attr:`VLMOracle.timer` (synchronises on CUDA events)."""
    total = 0.0
    for t in timer:
        if isinstance(t, tuple):
            t[1].synchronize()
            total += t[0].elapsed_time(t[1]) / 1000.0
        else:
            total += float(t)
    return total
