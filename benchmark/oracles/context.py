"""Per-image evaluation context: the raw output, the ground truth, and the work the oracles
share (resized candidate masks, the baseline prediction, the Hungarian assignment), each
computed at most once per image. Oracles are pure functions of this context."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import PanopticMap, compact_labels
from ..errors import BadRawOutput
from ..inference.mask2former import (
    InferenceConfig,
    PanopticResult,
    argmax_owner,
    fuse_segments,
    panoptic_inference,
)
from ..inference.resize import resize_sigmoid_into, resize_sigmoid_pixel_major
from ..inference.scores import class_scores
from ..raw.record import RawOutput
from .matching import Assignment, MatchingConfig, hungarian_assignment


@dataclass(frozen=True)
class SuiteSettings:
    """Settings shared by the oracles of a suite for one model."""

    inference: InferenceConfig = InferenceConfig()
    matching: MatchingConfig = MatchingConfig()


class ImageContext:
    """Everything the oracles of one image read; expensive pieces are cached."""

    def __init__(self, raw: RawOutput, gt: PanopticMap, categories: CategorySet, settings: SuiteSettings) -> None:
        if tuple(raw.geometry.orig_size) != gt.shape:
            raise BadRawOutput(
                f"image {raw.image_id!r}: raw output geometry.orig_size {raw.geometry.orig_size} != ground-truth size {gt.shape}"
            )
        self.raw = raw
        self.gt = gt
        self.categories = categories
        self.settings = settings
        self.shape = gt.shape
        try:
            col_index = [categories.index_of(int(c)) for c in raw.category_ids]
        except Exception as exc:
            raise BadRawOutput(f"image {raw.image_id!r}: vocabulary holds a category id not in the dataset: {exc}") from exc
        self.column_isthing = categories.isthing[np.array(col_index, dtype=np.int64)]
        self._column_of_category = {int(c): i for i, c in enumerate(raw.category_ids)}
        self._prob_columns: dict[int, int] = {}
        self._probs = np.zeros((gt.shape[0] * gt.shape[1], 0), dtype=np.float32)
        self._positive = np.zeros(0, dtype=np.int64)

    # ---- candidate masks at the output resolution -----------------------------------------
    def ensure_probs(self, queries: np.ndarray) -> None:
        """Resize (once) the masks of `queries` to the original resolution and apply the sigmoid
        (:func:`ovbench.inference.resize.resize_sigmoid_into`: each mask on its own, so a mask's
        probabilities do not depend on which masks are resized with it). New masks go into a
        new array with the cached columns copied, so the cache is one [H*W, Q'] array."""
        missing = sorted({int(q) for q in queries} - set(self._prob_columns))
        if not missing:
            return
        base = self._probs.shape[1]
        probs = np.empty((self._probs.shape[0], base + len(missing)), dtype=np.float32)
        if base:
            probs[:, :base] = self._probs
        self._probs = probs  # the old array is released before the new masks are computed
        positive = resize_sigmoid_into(self.raw.mask_logits, np.asarray(missing, dtype=np.int64), self.raw.geometry, probs, base)
        self._positive = np.concatenate([self._positive, positive])
        for i, q in enumerate(missing):
            self._prob_columns[q] = base + i

    def columns(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(all cached [H*W, Q'] float32 sigmoid masks, [Q] their columns for `queries`,
        [Q] int64 pixels with prob >= 0.5) -- no copy of the masks."""
        self.ensure_probs(queries)
        cols = np.array([self._prob_columns[int(q)] for q in queries], dtype=np.int64)
        return self._probs, cols, self._positive[cols]

    # ---- shared pieces ---------------------------------------------------------------------
    @cached_property
    def scores_with_void(self) -> tuple[np.ndarray, np.ndarray]:
        return class_scores(self.raw.class_probs, prob_eps=self.settings.inference.prob_eps)

    @cached_property
    def baseline_queries(self) -> np.ndarray:
        """Candidates kept by the model's own class filter (label != no-object, score > threshold)."""
        scores, labels = self.scores_with_void
        keep = (labels != self.raw.num_classes) & (scores > self.settings.inference.object_mask_threshold)
        return np.nonzero(keep)[0]

    @cached_property
    def assignment(self) -> Assignment:
        """Hungarian assignment of GT segments to candidates (see :mod:`ovbench.oracles.matching`)."""
        return hungarian_assignment(self.raw, self.gt, self.gt_labels, self.settings.matching)

    @cached_property
    def gt_labels(self) -> np.ndarray:
        """[H*W] int64: 1 + index of the GT segment at each pixel (0 = VOID)."""
        return compact_labels(self.gt.ids, self.gt.segment_ids(), what=f"image {self.raw.image_id!r} (ground truth)")

    def prefetch(self) -> None:
        """Resize every mask the standard oracles need in one batch."""
        self.ensure_probs(np.union1d(self.baseline_queries, self.assignment.queries))

    @cached_property
    def baseline_argmax(self) -> tuple[np.ndarray, np.ndarray]:
        """The baseline's per-pixel argmax: owner [H*W] int64 (index into ``baseline_queries``) and
        the owner's mask probability [H*W] float32; empty arrays when no candidate is kept. Cached
        so that diagnostics (threshold sweeps) update it instead of recomputing it."""
        q = self.baseline_queries
        if len(q) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, _ = self.scores_with_void
        probs, cols, _ = self.columns(q)
        return argmax_owner(probs, scores[q], cols)

    @cached_property
    def baseline(self) -> PanopticResult:
        scores, labels = self.scores_with_void
        q = self.baseline_queries  # sorted, as `infer` would sort them
        if len(q) == 0:
            return self.infer(q, scores[q], labels[q])
        owner, owner_prob = self.baseline_argmax
        _, _, positive = self.columns(q)
        return fuse_segments(owner, owner_prob, positive, labels[q], q, self.raw.category_ids, self.column_isthing, self.shape,
                             self.settings.inference.overlap_threshold)

    def semantic_labels(self, chunk: int = 32) -> np.ndarray:
        """[H*W] int64 class column of Mask2Former's semantic inference over ALL N candidates
        (argmax of the summed class scores). Resizes every candidate (in chunks of `chunk`), so
        it costs several times the panoptic oracles; suites enable it with ``semantic_inference``."""
        from ..inference.mask2former import semantic_inference, semantic_weights

        w = semantic_weights(self.raw.class_probs, self.settings.inference.prob_eps)
        H, W = self.shape
        scores = np.zeros((H * W, w.shape[1]), dtype=np.float32)
        for a in range(0, self.raw.num_queries, chunk):
            probs, _ = resize_sigmoid_pixel_major(self.raw.mask_logits[a : a + chunk], self.raw.geometry)
            semantic_inference(probs, w[a : a + chunk], out=scores)
        return np.argmax(scores, axis=1)

    # ---- inference helpers -----------------------------------------------------------------
    def infer(self, queries: np.ndarray, scores: np.ndarray, labels: np.ndarray, gt_index: np.ndarray | None = None) -> PanopticResult:
        """Panoptic inference over `queries` (already class-filtered), in query order.

        With `gt_index`, each candidate's mask is replaced by the mask of that GT segment
        (probability exactly 1 inside, 0 outside: the oracle-segmentation case).
        """
        order = np.argsort(queries, kind="stable")
        queries, scores, labels = queries[order], scores[order], labels[order]
        cfg = self.settings.inference
        if gt_index is not None:
            return self._infer_gt_masks(queries, scores, labels, np.asarray(gt_index)[order])
        probs, cols, pos = self.columns(queries)
        return panoptic_inference(probs, pos, scores, labels, queries, self.raw.category_ids, self.column_isthing, self.shape,
                                  cfg.overlap_threshold, columns=cols)

    def _infer_gt_masks(self, queries: np.ndarray, scores: np.ndarray, labels: np.ndarray, gt_index: np.ndarray) -> PanopticResult:
        """Panoptic inference when the masks are exact, disjoint GT masks: a pixel of GT segment g
        belongs to the candidate holding g (score > 0); every other pixel has probability 0 for all
        candidates, so the argmax gives it to the first candidate with probability 0 (< 0.5)."""
        Q = len(queries)
        if Q == 0:
            H, W = self.shape
            return PanopticResult(PanopticMap(np.zeros((H, W), dtype=np.int32), ()), ())
        cand_of_label = np.full(len(self.gt.segments) + 1, -1, dtype=np.int64)
        positive = np.zeros(Q, dtype=np.int64)
        counts = np.bincount(self.gt_labels, minlength=len(self.gt.segments) + 1)
        for k, g in enumerate(gt_index.tolist()):
            if scores[k] > 0:
                cand_of_label[g + 1] = k
            positive[k] = counts[g + 1]
        cand = cand_of_label[self.gt_labels]
        owner = np.where(cand >= 0, cand, 0)
        owner_prob = (cand >= 0).astype(np.float32)
        return fuse_segments(owner, owner_prob, positive, labels, queries, self.raw.category_ids, self.column_isthing, self.shape,
                             self.settings.inference.overlap_threshold)

    def column_of(self, category_id: int) -> int:
        """Class column of a dataset category id in the model's vocabulary."""
        try:
            return self._column_of_category[int(category_id)]
        except KeyError:
            raise BadRawOutput(f"image {self.raw.image_id!r}: GT category {category_id} is not in the model's vocabulary") from None
