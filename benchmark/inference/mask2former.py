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


BOUND_RUN = 64  # pixels per run of the bounds that let argmax_owner skip decided runs


@dataclass(frozen=True)
class RunBounds:
    """Per-column minimum and maximum of a pixel-major probability array over consecutive runs
    of ``run`` pixels: lo, hi [R, U] float32 with R = P // run (a trailing partial run is not
    covered). Computed once per image, shared by every argmax over subsets of the columns."""

    run: int
    lo: np.ndarray
    hi: np.ndarray


def run_bounds(probs: np.ndarray, run: int = BOUND_RUN) -> RunBounds:
    """Bounds of [P, U] float32 `probs` over runs of `run` consecutive pixels."""
    R = probs.shape[0] // run
    v = probs[: R * run].reshape(R, run, probs.shape[1])
    return RunBounds(run, v.min(axis=1), v.max(axis=1))


def _argmax_dense(probs: np.ndarray, s: np.ndarray, columns: np.ndarray | None, a: int, b: int,
                  owner: np.ndarray, owner_prob: np.ndarray) -> None:
    """Exact argmax of ``probs[a:b, columns] * s`` into owner / owner_prob, in cache-sized chunks."""
    Q = probs.shape[1] if columns is None else len(columns)
    for c0 in range(a, b, PIXEL_CHUNK):
        c1 = min(c0 + PIXEL_CHUNK, b)
        chunk = probs[c0:c1]
        if columns is not None:
            chunk = np.take(chunk, columns, axis=1)
        w = np.argmax(chunk * s, axis=1)
        owner[c0:c1] = w
        owner_prob[c0:c1] = chunk.reshape(-1)[np.arange(len(w)) * Q + w]


def argmax_owner(probs: np.ndarray, scores: np.ndarray, columns: np.ndarray | None = None,
                 bounds: RunBounds | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the candidate with the largest ``score * prob`` (first wins ties).

    probs: [P, Q'] float32 mask probabilities (pixel-major); scores: [Q] float32;
    columns: [Q] indices of the candidates' columns in `probs` (default: all, in order);
    bounds: :func:`run_bounds` of `probs`, to skip runs of pixels whose winner is certain.
    Returns owner [P] int64 (index into `scores`) and the owner's own probability [P] float32.

    With bounds, a run is decided when one candidate's ``score * min`` exceeds every other
    candidate's ``score * max`` over the run: rounding of a float32 product is monotone, so that
    candidate is the strict argmax at every pixel of the run, and the result is identical to the
    dense computation (tested); other runs are computed densely.
    """
    P = probs.shape[0]
    owner = np.empty(P, dtype=np.int64)
    owner_prob = np.empty(P, dtype=np.float32)
    s = scores.astype(np.float32)[None, :]
    cols = np.arange(probs.shape[1]) if columns is None else np.asarray(columns, dtype=np.int64)
    if bounds is None or len(cols) < 2 or len(bounds.lo) == 0:
        _argmax_dense(probs, s, columns, 0, P, owner, owner_prob)
        return owner, owner_prob
    run = bounds.run
    R = len(bounds.lo)
    lo = bounds.lo[:, cols] * s
    hi = bounds.hi[:, cols] * s
    r = np.arange(R)
    w = lo.argmax(axis=1)
    best = lo[r, w]
    hi[r, w] = -1.0  # products are >= 0
    decided = best > hi.max(axis=1)
    # decided runs: one winner for the whole run
    dr = np.nonzero(decided)[0]
    if len(dr):
        pix = (dr[:, None] * run + np.arange(run)[None, :]).reshape(-1)
        wr = np.repeat(w[dr], run)
        owner[pix] = wr
        owner_prob[pix] = probs.reshape(-1)[pix * probs.shape[1] + cols[wr]]
    # contested runs (and the trailing partial run): dense, over contiguous ranges
    edges = np.diff(np.concatenate([[1], decided.astype(np.int8), [1]]))
    starts, stops = np.nonzero(edges == -1)[0], np.nonzero(edges == 1)[0]
    for a, b in zip(starts, stops):
        _argmax_dense(probs, s, columns, int(a) * run, int(b) * run, owner, owner_prob)
    if R * run < P:
        _argmax_dense(probs, s, columns, R * run, P, owner, owner_prob)
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
    H, W = shape
    Q = len(labels)
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
    bounds: RunBounds | None = None,
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
    owner, owner_prob = argmax_owner(probs, scores, columns, bounds)
    return fuse_segments(owner, owner_prob, positive_area, labels, queries, category_ids, isthing, shape, overlap_threshold)


def semantic_inference(probs: np.ndarray, class_probs: np.ndarray) -> np.ndarray:
    """Mask2Former semantic inference: softmax(cls)[:, :C] (void dropped after the softmax)
    times sigmoid masks, summed over candidates.

    probs: [H*W, N] float32 pixel-major mask probabilities; class_probs: [N, C+1].
    Returns [H*W, C] float32 class scores.
    """
    return probs @ class_probs[:, :-1].astype(np.float32)
