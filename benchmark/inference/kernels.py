"""Compiled kernels (numba, from the ``fast`` extra) for the per-pixel argmax of panoptic
inference. Optional: without numba, or with ``OVBENCH_NO_NUMBA=1``, the numpy implementation in
:mod:`ovbench.inference.mask2former` runs instead; both give identical results (tested): float32
products, first candidate wins ties.
"""

from __future__ import annotations

import os

import numpy as np

try:  # pragma: no cover - depends on the environment
    if os.environ.get("OVBENCH_NO_NUMBA"):
        raise ImportError("disabled by OVBENCH_NO_NUMBA")
    from numba import njit
except ImportError:  # pragma: no cover
    njit = None  # type: ignore[assignment]

HAVE_NUMBA = njit is not None

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
