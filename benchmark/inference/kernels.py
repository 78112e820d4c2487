"""Compiled kernels (numba, from the ``fast`` extra) for the per-pixel argmax of panoptic
inference. Optional: without numba, or with ``OVBENCH_NO_NUMBA=1``, the numpy implementation in
:mod:`ovbench.inference.mask2former` runs instead; both give identical results (tested): float32
products, first candidate wins ties.
"""

from __future__ import annotations

import numpy as np

from ..numba_support import HAVE_NUMBA, njit

if HAVE_NUMBA:

    @njit(cache=True, nogil=True)
    def argmax_rows(probs, rows, cols, scores, owner, owner_prob):  # type: ignore[no-untyped-def]
        """For each pixel ``rows[i]``: the index j of the largest float32 ``scores[j] *
        probs[rows[i], cols[j]]`` (first wins ties) into owner[i], and that candidate's
        probability into owner_prob[i]."""
        Q = cols.shape[0]
        for i in range(rows.shape[0]):
            r = rows[i]
            best = np.float32(-1.0)
            w = 0
            for j in range(Q):
                v = scores[j] * probs[r, cols[j]]
                if v > best:
                    best = v
                    w = j
            owner[i] = w
            owner_prob[i] = probs[r, cols[w]]

    @njit(cache=True, nogil=True)
    def reassign(idx, new_own, new_prob, own, prob, own_score, scores, gt, J, area):  # type: ignore[no-untyped-def]
        """Give pixels ``idx`` (distinct) the owners ``new_own`` with probabilities ``new_prob``,
        updating in place the owner map (own, prob, own_score = scores[own]), the joint counts
        J[gt label, owner] of pixels with probability >= 0.5 and the per-owner argmax areas.
        A previous owner of -1 means "none"."""
        half = np.float32(0.5)
        for i in range(idx.shape[0]):
            x = idx[i]
            o = own[x]
            if o >= 0:
                area[o] -= 1
                if prob[x] >= half:
                    J[gt[x], o] -= 1
            n = new_own[i]
            area[n] += 1
            if new_prob[i] >= half:
                J[gt[x], n] += 1
            own[x] = n
            prob[x] = new_prob[i]
            own_score[x] = scores[n]

    @njit(cache=True, nogil=True)
    def owner_counts(own, prob, gt, J, area):  # type: ignore[no-untyped-def]
        """Add the per-owner argmax areas (area[own[x]] += 1) and the joint counts
        J[gt[x], own[x]] of pixels with prob[x] >= 0.5, over all pixels x (owners >= 0)."""
        half = np.float32(0.5)
        for x in range(own.shape[0]):
            n = own[x]
            area[n] += 1
            if prob[x] >= half:
                J[gt[x], n] += 1

    @njit(cache=True, nogil=True)
    def raise_owners(probs, cols, kscores, kept, t, own, prob, own_score, scores, gt, J, area):  # type: ignore[no-untyped-def]
        """Re-argmax every pixel whose owner's score is <= t (float32) over the kept candidates
        (``kept`` [Q] indices, their columns ``cols`` of ``probs`` and scores ``kscores``) with
        :func:`argmax_rows`, then :func:`reassign` them: one call from Python. Returns the
        number of pixels changed."""
        idx = np.flatnonzero(own_score <= t)
        w = np.empty(idx.shape[0], np.int64)
        p = np.empty(idx.shape[0], np.float32)
        argmax_rows(probs, idx, cols, kscores, w, p)
        reassign(idx, kept[w], p, own, prob, own_score, scores, gt, J, area)
        return idx.shape[0]

    @njit(cache=True, nogil=True, boundscheck=False)
    def multi_owner_counts(probs, cols, scores, kstart, klist, cand, gt, block, J, area):  # type: ignore[no-untyped-def]
        """The per-pixel argmax of S settings at once, reduced to their fusion counts.

        probs [P, Q'] float32 (pixel-major); cols [U] the columns of U candidates ``cand`` [U]
        (sorted candidate indices); scores [U, S] float32, each setting's score of each
        candidate; setting s keeps the candidates klist[kstart[s]:kstart[s+1]] (positions in
        0..U-1, ascending). For each setting and pixel: the kept candidate of largest float32
        ``score * prob`` (first wins ties, as :func:`argmax_rows`) owns the pixel; adds
        area[s, owner] += 1 and J[s, gt, owner] += 1 where its prob >= 0.5 (J [S, G1, N],
        area [S, N] int64). Settings keeping nothing are skipped.

        Pixels go in blocks of ``block`` whose U probabilities are first copied to a small
        candidate-major buffer (in L1), so that the inner loop over the pixels of a block
        vectorises; each setting then costs a pass over that buffer.
        """
        P = probs.shape[0]
        U, S = scores.shape
        buf = np.empty((U, block), np.float32)
        best = np.empty(block, np.float32)
        arg = np.empty(block, np.int32)
        half = np.float32(0.5)
        for x0 in range(0, P, block):
            nb = min(block, P - x0)
            for i in range(nb):
                for u in range(U):
                    buf[u, i] = probs[x0 + i, cols[u]]
            for s in range(S):
                if kstart[s] == kstart[s + 1]:
                    continue
                for i in range(nb):
                    best[i] = np.float32(-1.0)
                for t in range(kstart[s], kstart[s + 1]):
                    u = klist[t]
                    sc = scores[u, s]
                    row = buf[u]
                    uu = np.int32(u)
                    for i in range(nb):
                        v = sc * row[i]
                        c = v > best[i]
                        best[i] = v if c else best[i]
                        arg[i] = uu if c else arg[i]
                for i in range(nb):
                    a = arg[i]
                    n = cand[a]
                    area[s, n] += 1
                    if buf[a, i] >= half:
                        J[s, gt[x0 + i], n] += 1
