"""Panoptic inference for many settings of one image, from one argmax map updated in place.

Mask2Former's panoptic inference (:mod:`ovbench.inference.mask2former`) has two stages:

1. the per-pixel argmax of ``score * prob`` over the kept candidates (the costly part,
   O(pixels x candidates)); it depends on the kept set and the scores only;
2. fusion: a candidate keeps ``(argmax == k) & (prob_k >= 0.5)`` if
   ``#(argmax == k) / #(prob_k >= 0.5) >= overlap_threshold``; stuff of one class is merged.

:class:`OwnerMap` holds stage 1 plus, per candidate, ``area`` = #(argmax == k) and the joint
histogram ``J[g, k]`` = #(GT label g, argmax == k, prob_k >= 0.5). Stage 2 and panopticapi's
matching then need only these counts: a final segment is a union of candidates' pieces, so its
intersections are sums of columns of ``J`` (:func:`fused_stats`, no pixel pass). Hence:

* an overlap-threshold sweep costs O(candidates x GT segments) per value;
* raising the object threshold removes candidates: only the pixels they owned are re-argmaxed
  (:meth:`OwnerMap.raise_threshold`); lowering it adds candidates: each pixel compares its current
  owner with the best added candidate (:meth:`OwnerMap.extend`), first index winning ties as in
  ``np.argmax`` over the candidates in query order.

Everything is exact: the same float32 products as :func:`~ovbench.inference.mask2former.argmax_owner`
and the same integer counts as :func:`~ovbench.inference.mask2former.fuse_segments` +
:func:`~ovbench.metrics.matching.match_image` (tested equal to running them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..inference.mask2former import PIXEL_CHUNK
from ..metrics.accumulator import PQStats, iou_to_fixed
from ..metrics.matching import Overlaps, SegmentMatch, match_overlaps


def argmax_take(probs: np.ndarray, scores: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~ovbench.inference.mask2former.argmax_owner` over the `columns` of `probs`."""
    from ..inference.mask2former import argmax_owner

    return argmax_owner(probs, scores, columns)


def argmax_union(sub: np.ndarray, union: np.ndarray, scores: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The argmax of one kept set over a column block shared by several kept sets (the ensemble
    sweep compacts the union of its settings' candidates once).

    sub: [P, U] float32 probabilities of the `union` [U] (sorted) candidates; scores: [N] float32;
    kept: [N] bool. Candidates outside the kept set get score -1, so their values are <= 0 and
    never beat a kept candidate's positive value; the few pixels where the winner is not kept
    (every kept probability is exactly 0 there) are recomputed over the kept columns only.
    Returns (owner [P] candidate index, owner probability [P] float32), identical to
    ``argmax_owner`` over the kept candidates in query order.
    """
    P, U = sub.shape
    k = kept[union]
    s = np.where(k, scores[union], np.float32(-1.0)).astype(np.float32)[None, :]
    owner = np.empty(P, dtype=np.int64)
    prob = np.empty(P, dtype=np.float32)
    for a in range(0, P, PIXEL_CHUNK):
        chunk = sub[a : a + PIXEL_CHUNK]
        w = np.argmax(chunk * s, axis=1)
        owner[a : a + PIXEL_CHUNK] = w
        prob[a : a + PIXEL_CHUNK] = chunk.reshape(-1)[np.arange(len(w)) * U + w]
    bad = np.flatnonzero(~k[owner])
    if len(bad):
        kc = np.flatnonzero(k)
        w2, p2 = argmax_take(np.take(sub, bad, axis=0), scores[union[kc]], kc)
        owner[bad], prob[bad] = kc[w2], p2
    return union[owner], prob


@dataclass
class OwnerMap:
    """Stage 1 of panoptic inference for one kept set, with the counts of stage 2.

    probs:     [P, Q'] float32 pixel-major mask probabilities (the context's cache); ``col`` [N]
               maps a candidate to its column (-1: not resized).
    scores:    [N] float32 class scores of all candidates.
    gt:        [P] int64 GT label per pixel (1 + segment index, 0 = VOID); G1 = G + 1.
    kept:      [Q] sorted candidate indices in the kept set.
    own:       [P] int64 owner (candidate index, -1 when nothing is kept); prob: [P] float32 its
               probability; own_score: [P] float32 its score (+inf where own == -1).
    J:         [G1, N] int64; area: [N] int64 (see the module docstring).
    """

    probs: np.ndarray
    col: np.ndarray
    scores: np.ndarray
    gt: np.ndarray
    G1: int
    kept: np.ndarray
    own: np.ndarray
    prob: np.ndarray
    own_score: np.ndarray
    J: np.ndarray
    area: np.ndarray

    @classmethod
    def build(cls, probs: np.ndarray, col: np.ndarray, scores: np.ndarray, gt: np.ndarray, G1: int, kept: np.ndarray,
              own: np.ndarray | None = None, prob: np.ndarray | None = None) -> OwnerMap:
        """From an argmax map (`own` as candidate indices) or, if None, by computing it."""
        N = len(scores)
        P = len(gt)
        kept = np.asarray(kept, dtype=np.int64)
        J = np.zeros((G1, N), dtype=np.int64)
        area = np.zeros(N, dtype=np.int64)
        if not len(kept):
            own, prob = np.full(P, -1, dtype=np.int64), np.zeros(P, dtype=np.float32)
            return cls(probs, col, scores, gt, G1, kept, own, prob, np.full(P, np.inf, dtype=np.float32), J, area)
        if own is None or prob is None:
            w, prob = argmax_take(probs, scores[kept], col[kept])
            own = kept[w]
        from ..inference import kernels

        own = np.asarray(own, dtype=np.int64)
        if kernels.HAVE_NUMBA and prob.dtype == np.float32 and gt.dtype == np.int64:
            kernels.owner_counts(own, prob, gt, J, area)
        else:
            area += np.bincount(own, minlength=N)
            inside = prob >= 0.5
            J += np.bincount(gt[inside] * N + own[inside], minlength=G1 * N).reshape(G1, N)
        return cls(probs, col, scores, gt, G1, kept, own, prob, scores[own], J, area)

    def copy(self) -> OwnerMap:
        return OwnerMap(self.probs, self.col, self.scores, self.gt, self.G1, self.kept.copy(), self.own.copy(), self.prob.copy(),
                        self.own_score.copy(), self.J.copy(), self.area.copy())

    def _reassign(self, idx: np.ndarray, own: np.ndarray, prob: np.ndarray) -> None:
        """Give pixels `idx` the owners `own` (>= 0) with probabilities `prob`, updating the counts
        with one histogram of the old and one of the new (gt, owner) pairs."""
        from ..inference import kernels

        if kernels.HAVE_NUMBA and self.J.flags.c_contiguous:
            kernels.reassign(np.asarray(idx, dtype=np.int64), np.asarray(own, dtype=np.int64), np.asarray(prob, dtype=np.float32),
                             self.own, self.prob, self.own_score, self.scores, self.gt, self.J, self.area)
            return
        N = len(self.scores)
        size = self.G1 * N
        old_own, old_prob = self.own[idx], self.prob[idx]
        g = self.gt[idx]
        old_has = old_own >= 0
        old_in = old_has & (old_prob >= 0.5)
        new_in = prob >= 0.5
        self.J -= np.bincount(g[old_in] * N + old_own[old_in], minlength=size).reshape(self.G1, N)
        self.J += np.bincount(g[new_in] * N + own[new_in], minlength=size).reshape(self.G1, N)
        self.area -= np.bincount(old_own[old_has], minlength=N)
        self.area += np.bincount(own, minlength=N)
        self.own[idx], self.prob[idx], self.own_score[idx] = own, prob, self.scores[own]

    def _values(self, idx: np.ndarray | slice, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best of `queries` (sorted) at pixels `idx`: (value [p] float32, candidate [p], prob [p])."""
        from ..inference import kernels

        if kernels.HAVE_NUMBA and self.probs.dtype == np.float32 and self.scores.dtype == np.float32:
            rows_idx = np.arange(idx.start, idx.stop, dtype=np.int64) if isinstance(idx, slice) else np.asarray(idx, dtype=np.int64)
            w = np.empty(len(rows_idx), dtype=np.int64)
            p = np.empty(len(rows_idx), dtype=np.float32)
            kernels.argmax_rows(self.probs, rows_idx, np.ascontiguousarray(self.col[queries]),
                                np.ascontiguousarray(self.scores[queries]), w, p)
            q = queries[w]
            return self.scores[q] * p, q, p
        rows = self.probs[idx] if isinstance(idx, slice) else np.take(self.probs, idx, axis=0)
        sub = np.take(rows, self.col[queries], axis=1)  # np.take: ~2.5x faster than fancy 2-D indexing
        vals = sub * self.scores[queries][None, :]
        w = np.argmax(vals, axis=1)
        flat = np.arange(len(w)) * len(queries) + w
        return vals.reshape(-1)[flat], queries[w], sub.reshape(-1)[flat]

    def raise_threshold(self, t: float) -> None:
        """Drop the kept candidates with score <= t (an object threshold above the current one);
        only the pixels they owned are re-argmaxed."""
        from ..inference import kernels

        kept = self.kept[self.scores[self.kept] > t]
        self.kept = kept
        if (len(kept) and kernels.HAVE_NUMBA and self.probs.dtype == np.float32 and self.scores.dtype == np.float32
                and self.J.flags.c_contiguous):
            kernels.raise_owners(self.probs, np.ascontiguousarray(self.col[kept]), np.ascontiguousarray(self.scores[kept]),
                                 kept, np.float32(t), self.own, self.prob, self.own_score, self.scores, self.gt, self.J, self.area)
            return
        idx = np.flatnonzero(self.own_score <= t)
        if not len(idx):
            return
        if len(kept) == 0:
            self.own[:], self.prob[:], self.own_score[:] = -1, 0.0, np.inf
            self.J[:], self.area[:] = 0, 0
            return
        own = np.empty(len(idx), dtype=np.int64)
        prob = np.empty(len(idx), dtype=np.float32)
        for a in range(0, len(idx), PIXEL_CHUNK):
            _, own[a : a + PIXEL_CHUNK], prob[a : a + PIXEL_CHUNK] = self._values(idx[a : a + PIXEL_CHUNK], kept)
        self._reassign(idx, own, prob)

    def extend(self, kept: np.ndarray) -> np.ndarray:
        """Grow the kept set to `kept` (a sorted superset); returns the pixels whose owner changed."""
        kept = np.asarray(kept, dtype=np.int64)
        added = np.setdiff1d(kept, self.kept)
        self.kept = kept
        if not len(added):
            return np.zeros(0, dtype=np.int64)
        P = len(self.gt)
        changed = []
        for a in range(0, P, PIXEL_CHUNK):
            sl = slice(a, min(a + PIXEL_CHUNK, P))
            v, q, p = self._values(sl, added)
            own = self.own[sl]
            cur = np.where(own >= 0, self.scores[np.maximum(own, 0)] * self.prob[sl], np.float32(-np.inf))
            upd = (v > cur) | ((v == cur) & (q < own)) | (own < 0)
            j = np.flatnonzero(upd)
            if len(j):
                changed.append((a + j, q[j], p[j]))
        if not changed:
            return np.zeros(0, dtype=np.int64)
        idx = np.concatenate([c[0] for c in changed])
        self._reassign(idx, np.concatenate([c[1] for c in changed]), np.concatenate([c[2] for c in changed]))
        return idx


class OwnerCounts(Protocol):
    """What fusion and matching read of an argmax map: the kept candidates [Q], the joint
    counts J [G1, N] and the argmax areas [N] (an :class:`OwnerMap`, or :class:`SettingCounts`)."""

    @property
    def kept(self) -> np.ndarray: ...

    @property
    def J(self) -> np.ndarray: ...  # noqa: N802 - the name of the module docstring

    @property
    def area(self) -> np.ndarray: ...

    @property
    def G1(self) -> int: ...  # noqa: N802


@dataclass(frozen=True)
class SettingCounts:
    """:class:`OwnerCounts` of a setting whose argmax map itself is not kept."""

    kept: np.ndarray
    J: np.ndarray
    area: np.ndarray
    G1: int


def settings_counts(probs: np.ndarray, col: np.ndarray, gt: np.ndarray, G1: int,
                    settings: list[tuple[np.ndarray, np.ndarray]]) -> list[OwnerCounts]:
    """Fusion counts of several settings (each: scores [N] float32, kept [Q] sorted candidate
    indices) of one image, whose candidates are all resized (``col`` >= 0). With numba, one pass
    for all settings (:func:`~ovbench.inference.kernels.multi_owner_counts`); else one
    :func:`argmax_union` + :meth:`OwnerMap.build` per setting. Same counts either way."""
    from ..inference import kernels

    N = len(col)
    union = np.unique(np.concatenate([q for _, q in settings])) if settings else np.zeros(0, dtype=np.int64)
    if kernels.HAVE_NUMBA and probs.dtype == np.float32 and gt.dtype == np.int64 and len(union):
        S, U = len(settings), len(union)
        scores = np.ascontiguousarray(np.stack([s[union] for s, _ in settings], axis=1), dtype=np.float32)
        klist = np.concatenate([np.searchsorted(union, q) for _, q in settings]).astype(np.int64)
        kstart = np.concatenate([[0], np.cumsum([len(q) for _, q in settings])]).astype(np.int64)
        J = np.zeros((S, G1, N), dtype=np.int64)
        area = np.zeros((S, N), dtype=np.int64)
        block = int(min(512, max(64, 8192 // U)))  # the block's U x block buffer stays in L1
        kernels.multi_owner_counts(probs, np.ascontiguousarray(col[union]), scores, kstart, klist, union, gt, block, J, area)
        return [SettingCounts(np.asarray(q, dtype=np.int64), J[i], area[i], G1) for i, (_, q) in enumerate(settings)]
    out: list[OwnerCounts] = []
    sub = np.take(probs, col[union], axis=1) if len(union) else None  # one column compaction for every setting
    for s, q in settings:
        if len(q):
            assert sub is not None
            kept_flag = np.zeros(N, dtype=bool)
            kept_flag[q] = True
            own, prob = argmax_union(sub, union, s, kept_flag)
            out.append(OwnerMap.build(probs, col, s, gt, G1, q, own, prob))
        else:
            out.append(OwnerMap.build(probs, col, s, gt, G1, q))
    return out


@dataclass(frozen=True)
class ImageTargets:
    """What matching needs about the GT and the vocabulary of one image.

    gt_area [G] int64 (segment-list areas); gt_cat [G] int64 dense classes; gt_crowd [G] bool;
    col_dense [C] int64 dense class index of each class column; isthing [C] bool per column;
    positive [N] int64 pixels with prob >= 0.5 per candidate (-1 where unknown); K classes.
    """

    gt_area: np.ndarray
    gt_cat: np.ndarray
    gt_crowd: np.ndarray
    col_dense: np.ndarray
    isthing: np.ndarray
    positive: np.ndarray
    num_classes: int


def fusion_survivors(m: OwnerCounts, overlap_threshold: float, t: ImageTargets) -> np.ndarray:
    """The kept candidates that survive fusion's tests (nonzero areas, overlap ratio), in order."""
    q = m.kept
    if not len(q):
        return q
    area = m.area[q]
    seg = m.J[:, q].sum(axis=0)
    pos = t.positive[q]
    if (pos < 0).any():
        raise ValueError("fusion_survivors: a kept candidate has no positive-area count (not resized)")
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (area > 0) & (pos > 0) & (seg > 0)
        ok &= ~(area / np.where(pos > 0, pos, 1) < overlap_threshold)
    return q[ok]


def fused_stats(m: OwnerCounts, labels: np.ndarray, overlap_threshold: float, t: ImageTargets,
                survivors: np.ndarray | None = None) -> dict[str, list[int]]:
    """Stage 2 (fusion) and panopticapi matching from the counts of `m`: the per-class counts that
    ``match_image(gt, fuse_segments(...).pred).stats`` would give, as a sparse stats table
    (:func:`stats_table`). `survivors`: :func:`fusion_survivors` if already computed."""
    q = fusion_survivors(m, overlap_threshold, t) if survivors is None else survivors
    seg_of: list[int] = []
    cats: list[int] = []
    stuff_seg: dict[int, int] = {}
    for c in labels[q].tolist():
        if not t.isthing[c]:
            s = stuff_seg.get(c)
            if s is not None:
                seg_of.append(s)
                continue
            stuff_seg[c] = len(cats)
        seg_of.append(len(cats))
        cats.append(c)
    S = len(cats)
    Jseg = np.zeros((m.G1, S), dtype=np.int64)
    if S:
        np.add.at(Jseg.T, np.asarray(seg_of, dtype=np.int64), m.J[:, q].T)
    ov = Overlaps(gt_area=t.gt_area, pred_area=Jseg.sum(axis=0), pred_void=Jseg[0].copy(), inter=Jseg[1:])
    pred_cat = t.col_dense[np.asarray(cats, dtype=np.int64)] if S else np.zeros(0, dtype=np.int64)
    sm = match_overlaps(ov, t.gt_cat, t.gt_crowd, pred_cat, t.num_classes)
    return match_table(sm, t.gt_cat, pred_cat)


def match_table(sm: SegmentMatch, gt_cat: np.ndarray, pred_cat: np.ndarray) -> dict[str, list[int]]:
    """Sparse stats table of one matched image (what :func:`stats_table` gives for
    ``stats_from_match``), without building [K] arrays."""
    tp_c, fn_c, fp_c = gt_cat[sm.tp_gt], gt_cat[sm.fn_gt], pred_cat[sm.fp_pred]
    rows: dict[int, list[int]] = {}
    for j, cs in enumerate((tp_c, fp_c, fn_c)):
        for c in cs.tolist():
            r = rows.setdefault(c, [0, 0, 0, 0])
            r[j] += 1
    for c, q in zip(tp_c.tolist(), iou_to_fixed(sm.tp_iou).tolist()):
        rows[c][3] += q
    keys = sorted(rows)
    return {"idx": keys, "tp": [rows[k][0] for k in keys], "fp": [rows[k][1] for k in keys], "fn": [rows[k][2] for k in keys],
            "iou_q": [rows[k][3] for k in keys]}


def stats_table(s: PQStats) -> dict[str, list[int]]:
    """Sparse JSON form of per-class PQStats: classes with a nonzero count, Python ints (iou_q exact)."""
    idx = np.nonzero((s.tp > 0) | (s.fp > 0) | (s.fn > 0))[0]
    return {"idx": idx.tolist(), "tp": s.tp[idx].tolist(), "fp": s.fp[idx].tolist(), "fn": s.fn[idx].tolist(),
            "iou_q": [int(s.iou_q[i]) for i in idx]}


def image_targets(ctx: Any, positive: np.ndarray) -> ImageTargets:
    """:class:`ImageTargets` of an :class:`~ovbench.oracles.context.ImageContext`."""
    cats = ctx.categories
    gt = ctx.gt
    return ImageTargets(
        gt_area=np.array([s.area for s in gt.segments], dtype=np.int64),
        gt_cat=np.array([cats.index_of(s.category_id) for s in gt.segments], dtype=np.int64),
        gt_crowd=np.array([s.iscrowd for s in gt.segments], dtype=bool),
        col_dense=np.array([cats.index_of(int(c)) for c in ctx.raw.category_ids], dtype=np.int64),
        isthing=np.asarray(ctx.column_isthing, dtype=bool),
        positive=positive,
        num_classes=len(cats),
    )
