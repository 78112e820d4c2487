"""One image through the VLM oracle: resize -> dense features -> mask pooling -> classes -> PQ counts.

:class:`VLMOracle` holds the model, the dense encoder and the text classifier;
:meth:`VLMOracle.evaluate` turns a :class:`~ovbench.data.dataset.Sample` into an
:class:`ImageOutcome` (per-class PQ counts plus diagnostics). The dataset loop with per-image
shards lives in :mod:`ovbench.vlm.run`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import PanopticMap
from ..metrics.accumulator import PQStats
from ..metrics.matching import match_image
from .oracle import OracleSegments, oracle_prediction, oracle_segments, predict_classes
from .pooling import Geometry, mask_pool, mask_weights
from .protocols import get_protocol, padded_shape
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


class VLMOracle:
    """The zero-shot VLM segmentation oracle for one model, class set and configuration."""

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
        self._mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32, device=self.device).view(3, 1, 1)
        self._cat_index = {c.id: k for k, c in enumerate(categories)}

    # ---- input ---------------------------------------------------------------------------
    def geometry(self, height: int, width: int) -> Geometry:
        resized = self.protocol.resized_shape(height, width)
        padded = padded_shape(resized, self.encoder.stride, self.protocol, self.config.pad)
        return Geometry((height, width), resized, padded, self.encoder.stride)

    def preprocess(self, image: np.ndarray) -> tuple[Any, Geometry]:
        """[H, W, 3] uint8 RGB -> ([1, 3, Hp, Wp] float32 normalised, zero-padded), geometry.

        Resize with PIL bilinear on uint8, as detectron2's ResizeTransform."""
        import torch
        from PIL import Image

        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an [H, W, 3] uint8 image, got {image.shape} {image.dtype}")
        geom = self.geometry(int(image.shape[0]), int(image.shape[1]))
        h, w = geom.resized
        if (h, w) != geom.orig:
            image = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.BILINEAR))
        x = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).to(self.device).permute(2, 0, 1).float() / 255.0
        x = (x - self._mean) / self._std
        out = torch.zeros((1, 3) + geom.padded, dtype=torch.float32, device=self.device)
        out[0, :, :h, :w] = x
        return out, geom

    # ---- per image ------------------------------------------------------------------------
    def segment_embeddings(self, image: np.ndarray, segs: OracleSegments) -> tuple[Any, Geometry, int]:
        """[S, D] pooled joint-space embeddings of the oracle segments, the geometry, and the
        number of segments whose pooling mask was empty."""
        import torch

        x, geom = self.preprocess(image)
        with torch.inference_mode():
            dense = self.encoder(x)
            feats = dense.features[0]
            if tuple(feats.shape[-2:]) != geom.grid:
                raise RuntimeError(f"feature grid {tuple(feats.shape[-2:])} != expected {geom.grid} (stride {geom.stride})")
            w = mask_weights(segs.seg_index, segs.num_segments, geom, self.config.pooling)
            pooled = mask_pool(feats, w)
            if dense.head is not None:
                pooled = dense.head(pooled)
        empty = int((w.sum(axis=1) == 0).sum())
        return pooled, geom, empty

    def evaluate(self, image_id: str, image: np.ndarray, gt: PanopticMap, *, keep_prediction: bool = False) -> ImageOutcome:
        """Classify every oracle segment of ``gt`` and match the prediction against ``gt``."""
        import torch

        segs = oracle_segments(gt)
        if segs.num_segments:
            pooled, geom, empty = self.segment_embeddings(image, segs)
            with torch.inference_mode():
                scores = class_scores(pooled, self.text).cpu().numpy()
            pred = predict_classes(scores)
        else:
            geom = self.geometry(int(image.shape[0]), int(image.shape[1]))
            empty, pred = 0, np.zeros(0, dtype=np.int64)
        gt_cls = np.array([self._cat_index[gt.segments[int(g)].category_id] for g in segs.gt_index], dtype=np.int64)
        prediction = oracle_prediction(gt, segs, pred, self.categories, merge_stuff=self.config.merge_stuff)
        m = match_image(gt, prediction, self.categories, what=f"image {image_id}")
        return ImageOutcome(image_id, m.stats, segs, pred, gt_cls, empty, geom, prediction if keep_prediction else None)
