"""The raw output contract: one record per image, from ONE forward pass of a mask-based
open-vocabulary segmenter. Every oracle is computed from this record plus the ground truth.

Shapes and units
----------------
mask_logits      [N, hm, wm] float32  pre-sigmoid mask logits of all N candidates (queries),
                                      at the model's output resolution, covering the padded
                                      input frame described by ``geometry``.
class_probs      [N, C+1]   float32  class posteriors after the model's own ensembling
                                      (e.g. FC-CLIP's geometric ensemble), rows sum to 1,
                                      the no-object ("void") column LAST.
category_ids     [C]        int64    dataset category id of each of the C class columns.
mask_embeddings  [N, D]     float32  optional, the decoder's mask embeddings.
dense_features   [D, hf, wf] float32 optional, dense CLIP features in the joint space.
in_vocab_logits  [N, C+1]   float32  optional, pre-ensemble in-vocabulary logits (void last).
out_vocab_logits [N, C]     float32  optional, pre-ensemble out-of-vocabulary (CLIP) logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BadRawOutput


@dataclass(frozen=True)
class MaskGeometry:
    """How mask logits map back to the original image (detectron2's ``sem_seg_postprocess``).

    orig_size   (H, W)   original image size = evaluation resolution, pixels.
    input_size  (h, w)   network input after resizing, before padding, pixels.
    padded_size (Hp, Wp) padded network input; the mask logits cover this whole frame.

    Masks go bilinear (align_corners=False) to (Hp, Wp), are cropped to (h, w), then bilinear
    to (H, W). A model whose masks cover exactly the image uses input = padded = any size.
    """

    orig_size: tuple[int, int]
    input_size: tuple[int, int]
    padded_size: tuple[int, int]

    @classmethod
    def identity(cls, height: int, width: int) -> MaskGeometry:
        return cls((height, width), (height, width), (height, width))

    def to_json(self) -> dict[str, list[int]]:
        return {"orig_size": list(self.orig_size), "input_size": list(self.input_size), "padded_size": list(self.padded_size)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MaskGeometry:
        return cls(tuple(d["orig_size"]), tuple(d["input_size"]), tuple(d["padded_size"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class RawOutput:
    """Raw outputs of one image (see the module docstring for shapes)."""

    image_id: str
    mask_logits: np.ndarray
    class_probs: np.ndarray
    category_ids: np.ndarray
    geometry: MaskGeometry
    mask_embeddings: np.ndarray | None = None
    dense_features: np.ndarray | None = None
    in_vocab_logits: np.ndarray | None = None
    out_vocab_logits: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def num_queries(self) -> int:
        return int(self.mask_logits.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.class_probs.shape[1]) - 1

    @property
    def void_prob(self) -> np.ndarray:
        """[N] float32 probability of no-object."""
        return self.class_probs[:, -1]


OPTIONAL_ARRAYS = ("mask_embeddings", "dense_features", "in_vocab_logits", "out_vocab_logits")


def validate_raw_output(raw: RawOutput, *, adapter: str = "?", num_classes: int | None = None, prob_atol: float = 1e-3) -> RawOutput:
    """Check a record against the contract; raise :class:`BadRawOutput` naming adapter and image.

    Returns the record with arrays cast to their contract dtypes (float32 / int64).
    """
    where = f"adapter {adapter!r}, image {raw.image_id!r}"

    def fail(msg: str) -> BadRawOutput:
        return BadRawOutput(f"{where}: {msg}")

    if not isinstance(raw.image_id, str) or not raw.image_id:
        raise fail("image_id must be a non-empty string")
    ml, cp, cats = raw.mask_logits, raw.class_probs, raw.category_ids
    for name, arr in (("mask_logits", ml), ("class_probs", cp), ("category_ids", cats)):
        if not isinstance(arr, np.ndarray):
            raise fail(f"{name} must be a numpy array, got {type(arr).__name__} (convert tensors with .cpu().numpy())")
    if ml.ndim != 3:
        raise fail(f"mask_logits must be [N, h, w], got shape {ml.shape}")
    if cp.ndim != 2:
        raise fail(f"class_probs must be [N, C+1], got shape {cp.shape}")
    if ml.shape[0] != cp.shape[0]:
        raise fail(f"mask_logits has {ml.shape[0]} queries but class_probs has {cp.shape[0]}")
    if ml.shape[0] == 0:
        raise fail("no candidate masks (N = 0)")
    if not np.issubdtype(ml.dtype, np.floating) or not np.issubdtype(cp.dtype, np.floating):
        raise fail(f"mask_logits and class_probs must be floating point, got {ml.dtype} and {cp.dtype}")
    if cats.ndim != 1 or not np.issubdtype(cats.dtype, np.integer):
        raise fail(f"category_ids must be a 1-D integer array, got {cats.dtype} {cats.shape}")
    C = cp.shape[1] - 1
    if len(cats) != C:
        raise fail(f"class_probs has {C} class columns (+ no-object) but the vocabulary has {len(cats)} classes")
    if num_classes is not None and C != num_classes:
        raise fail(f"class_probs has {C} class columns but the dataset vocabulary has {num_classes} classes")
    if len(np.unique(cats)) != len(cats):
        raise fail("category_ids holds duplicates")
    if not np.isfinite(ml).all():
        raise fail("mask_logits holds NaN or inf")
    if not np.isfinite(cp).all():
        raise fail("class_probs holds NaN or inf (FC-CLIP's ensemble can produce NaN when a probability underflows)")
    if (cp < 0).any() or (cp > 1 + prob_atol).any():
        raise fail("class_probs must be probabilities in [0, 1] (did you pass logits?)")
    row_sums = cp.sum(axis=1, dtype=np.float64)
    if np.abs(row_sums - 1).max() > prob_atol:
        i = int(np.argmax(np.abs(row_sums - 1)))
        raise fail(f"class_probs rows must sum to 1 (no-object column last); row {i} sums to {row_sums[i]:.6f}")
    g = raw.geometry
    for name, size in (("orig_size", g.orig_size), ("input_size", g.input_size), ("padded_size", g.padded_size)):
        if len(size) != 2 or min(size) <= 0:
            raise fail(f"geometry.{name} must be two positive ints, got {size}")
    if g.input_size[0] > g.padded_size[0] or g.input_size[1] > g.padded_size[1]:
        raise fail(f"geometry.input_size {g.input_size} exceeds padded_size {g.padded_size}")
    checked: dict[str, Any] = {}
    for name in OPTIONAL_ARRAYS:
        arr = getattr(raw, name)
        if arr is None:
            continue
        if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.floating):
            raise fail(f"{name} must be a floating-point numpy array")
        if not np.isfinite(arr).all():
            raise fail(f"{name} holds NaN or inf")
        checked[name] = arr.astype(np.float32, copy=False)
    N = ml.shape[0]
    if "mask_embeddings" in checked and (checked["mask_embeddings"].ndim != 2 or checked["mask_embeddings"].shape[0] != N):
        raise fail(f"mask_embeddings must be [N={N}, D], got {checked['mask_embeddings'].shape}")
    if "dense_features" in checked and checked["dense_features"].ndim != 3:
        raise fail(f"dense_features must be [D, h, w], got {checked['dense_features'].shape}")
    if "in_vocab_logits" in checked and checked["in_vocab_logits"].shape != (N, C + 1):
        raise fail(f"in_vocab_logits must be [N, C+1] = {(N, C + 1)}, got {checked['in_vocab_logits'].shape}")
    if "out_vocab_logits" in checked and checked["out_vocab_logits"].shape != (N, C):
        raise fail(f"out_vocab_logits must be [N, C] = {(N, C)}, got {checked['out_vocab_logits'].shape}")
    return RawOutput(
        image_id=raw.image_id,
        mask_logits=ml.astype(np.float32, copy=False),
        class_probs=cp.astype(np.float32, copy=False),
        category_ids=cats.astype(np.int64, copy=False),
        geometry=g,
        extras=dict(raw.extras),
        **checked,
    )
