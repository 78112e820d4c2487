"""Mask2Former panoptic and semantic inference (facebookresearch/Mask2Former
``maskformer_model.py``, identical in FC-CLIP and MAFT+), written over pixel-major arrays.

Panoptic inference, for the candidates that survive the class filter, in their order:
1. ``prob_masks = score * sigmoid(mask)``; each pixel goes to the argmax candidate (first wins ties);
2. candidate k keeps ``(argmax == k) & (sigmoid(mask_k) >= 0.5)`` unless
   ``#(argmax == k) / #(sigmoid(mask_k) >= 0.5) < overlap_threshold`` (the numerator counts argmax
   pixels WITHOUT the 0.5 test, as the reference does) or any of the three counts is zero;
3. stuff candidates of a class that already has a segment are painted into that segment; things
   always open a new segment; ids count from 1; unpainted pixels stay 0 (VOID).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.panoptic_format import PanopticMap, SegmentInfo

PIXEL_CHUNK = 1 << 15  # pixels per argmax chunk (keeps the working set in cache)


@dataclass(frozen=True)
class InferenceConfig:
    """Thresholds of panoptic inference (FC-CLIP on ADE20K: 0.0 / 0.8, MAFT+: 0.2 / 0.7,
    Mask2Former: 0.8 / 0.8). ``prob_eps``: see :func:`ovbench.inference.scores.class_scores`."""

    object_mask_threshold: float = 0.8
    overlap_threshold: float = 0.8
    prob_eps: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {"object_mask_threshold": self.object_mask_threshold, "overlap_threshold": self.overlap_threshold, "prob_eps": self.prob_eps}


@dataclass(frozen=True)
class PanopticResult:
    """A panoptic prediction with provenance.

    pred:            the panoptic map (dataset category ids).
    segment_queries: for each segment, the candidate indices (into the raw output's N) painted into it.
    """

    pred: PanopticMap
    segment_queries: tuple[tuple[int, ...], ...]


def argmax_owner(probs: np.ndarray, scores: np.ndarray, columns: np.ndarray | None = None, *,
                 compiled: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the candidate with the largest ``score * prob`` (float32 product; the first
    candidate wins ties).

    probs: [P, Q'] float32 mask probabilities (pixel-major); scores: [Q] float32;
    columns: [Q] indices of the candidates' columns in `probs` (default: all, in order).
    compiled: use the numba kernel (default: when numba is installed); the numpy path gives
    identical results.
    Returns owner [P] int64 (index into `scores`) and the owner's own probability [P] float32.
    """
    from . import kernels

    P = probs.shape[0]
    Q = probs.shape[1] if columns is None else len(columns)
    owner = np.empty(P, dtype=np.int64)
    owner_prob = np.empty(P, dtype=np.float32)
    if (kernels.HAVE_NUMBA if compiled is None else compiled) and Q > 0:
        cols = np.arange(Q, dtype=np.int64) if columns is None else np.ascontiguousarray(columns, dtype=np.int64)
        kernels.argmax_rows(np.ascontiguousarray(probs, dtype=np.float32), np.arange(P, dtype=np.int64), cols,
                            np.ascontiguousarray(scores, dtype=np.float32), owner, owner_prob)
        return owner, owner_prob
    s = scores.astype(np.float32)[None, :]
    for a in range(0, P, PIXEL_CHUNK):
        chunk = probs[a : a + PIXEL_CHUNK]
        if columns is not None:
            chunk = np.take(chunk, columns, axis=1)
        w = np.argmax(chunk * s, axis=1)
        owner[a : a + PIXEL_CHUNK] = w
        owner_prob[a : a + PIXEL_CHUNK] = chunk.reshape(-1)[np.arange(len(w)) * Q + w]
    return owner, owner_prob


def fuse_segments(
    owner: np.ndarray,
    owner_prob: np.ndarray,
    positive_area: np.ndarray,
    labels: np.ndarray,
    queries: np.ndarray,
    category_ids: np.ndarray,
    isthing: np.ndarray,
    shape: tuple[int, int],
    overlap_threshold: float,
) -> PanopticResult:
    """Steps 2-3 of panoptic inference, given each pixel's argmax candidate and its probability."""
    from . import kernels

    H, W = shape
    Q = len(labels)
    fast = kernels.HAVE_NUMBA and owner.dtype == np.int64 and owner_prob.dtype == np.float32
    if fast:
        area = np.zeros(Q, dtype=np.int64)
        seg_area = np.zeros(Q, dtype=np.int64)
        kernels.owner_areas(owner, owner_prob, area, seg_area)
    else:
        inside = owner_prob >= 0.5
        area = np.bincount(owner, minlength=Q)
        seg_area = np.bincount(owner[inside], minlength=Q)
    lut = np.zeros(Q, dtype=np.int32)
    segments: list[SegmentInfo] = []
    seg_queries: list[list[int]] = []
    stuff_memory: dict[int, int] = {}
    next_id = 0
    for k in range(Q):
        if area[k] == 0 or positive_area[k] == 0 or seg_area[k] == 0:
            continue
        if area[k] / positive_area[k] < overlap_threshold:
            continue
        c = int(labels[k])
        if not isthing[c]:
            if c in stuff_memory:
                sid = stuff_memory[c]
                lut[k] = sid
                seg_queries[sid - 1].append(int(queries[k]))
                continue
            stuff_memory[c] = next_id + 1
        next_id += 1
        lut[k] = next_id
        segments.append(SegmentInfo(next_id, int(category_ids[c]), False, 0))
        seg_queries.append([int(queries[k])])
    if fast:
        flat = np.empty(H * W, dtype=np.int32)
        counts = np.zeros(next_id + 1, dtype=np.int64)
        kernels.paint_ids(owner, owner_prob, lut, flat, counts)
        ids = flat.reshape(H, W)
    else:
        ids = np.where(inside, lut[owner], 0).astype(np.int32).reshape(H, W)
        counts = np.bincount(ids.reshape(-1), minlength=next_id + 1)
    segments = [SegmentInfo(sg.id, sg.category_id, False, int(counts[sg.id])) for sg in segments]
    return PanopticResult(PanopticMap(ids, tuple(segments)), tuple(tuple(q) for q in seg_queries))


def panoptic_inference(
    probs: np.ndarray,
    positive_area: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    queries: np.ndarray,
    category_ids: np.ndarray,
    isthing: np.ndarray,
    shape: tuple[int, int],
    overlap_threshold: float,
    columns: np.ndarray | None = None,
) -> PanopticResult:
    """Mask2Former's panoptic fusion of the candidates that passed the class filter.

    probs:         [H*W, Q'] float32 sigmoid mask probabilities at the output resolution, pixel-major;
                   ``columns`` [Q] picks the candidates' columns (default: all Q' = Q, in order).
    positive_area: [Q] int64 pixels with prob >= 0.5 of each candidate (its "original area").
    scores:        [Q] float32 class scores; labels: [Q] int64 class columns (< C).
    queries:       [Q] int64 candidate indices in the raw output (provenance only).
    category_ids:  [C] int64 dataset id of each class column; isthing: [C] bool.
    """
    H, W = shape
    if len(scores) == 0:
        return PanopticResult(PanopticMap(np.zeros((H, W), dtype=np.int32), ()), ())
    owner, owner_prob = argmax_owner(probs, scores, columns)
    return fuse_segments(owner, owner_prob, positive_area, labels, queries, category_ids, isthing, shape, overlap_threshold)


def semantic_weights(class_probs: np.ndarray, prob_eps: float = 0.0) -> np.ndarray:
    """[N, C] float32 class weights of Mask2Former's semantic inference: the softmax of the class
    input with the no-object column dropped AFTER the softmax (FC-CLIP / MAFT+ feed
    ``log(p + eps)``, so the softmax is ``(p + eps) / sum(p + eps)``)."""
    p = np.asarray(class_probs, dtype=np.float64) + prob_eps
    p /= p.sum(axis=1, keepdims=True)
    return p[:, :-1].astype(np.float32)


def semantic_inference(probs: np.ndarray, weights: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Mask2Former semantic inference, ``einsum("qc,qhw->chw", weights, sigmoid(masks))`` in
    pixel-major form: probs [H*W, N] float32 sigmoid masks, weights [N, C] (see
    :func:`semantic_weights`). Returns (or adds into `out`) [H*W, C] float32 class scores."""
    scores = probs @ weights
    if out is None:
        return scores
    out += scores
    return out
