"""Compiled kernels (numba, from the ``fast`` extra) for the candidate-pool overlaps of
:mod:`ovbench.diagnostics.pool`. Optional: without numba, or with ``OVBENCH_NO_NUMBA=1``, the
numpy code in that module runs instead; both give identical counts (tested).
"""

from __future__ import annotations

from ..numba_support import HAVE_NUMBA, njit

if HAVE_NUMBA:

    @njit(cache=True, nogil=True, boundscheck=False)
    def positive_extent(logits, cut, out):  # type: ignore[no-untyped-def]
        """Bounding box of the cells > cut of one [h, w] float32 logit map: out[:] = (first row,
        last row, first column, last column); (h, -1, w, -1) if none. A row is first tested as
        a whole (an OR of comparisons); only rows holding a positive cell are searched from both
        ends."""
        h, w = logits.shape
        r0, r1, c0, c1 = h, -1, w, -1
        for i in range(h):
            row = logits[i]
            hit = 0
            for j in range(w):
                hit |= row[j] > cut
            if hit:
                if r0 == h:
                    r0 = i
                r1 = i
                j = 0
                while row[j] <= cut:
                    j += 1
                c0 = min(c0, j)
                j = w - 1
                while row[j] <= cut:
                    j -= 1
                c1 = max(c1, j)
        out[0] = r0
        out[1] = r1
        out[2] = c0
        out[3] = c1

    @njit(cache=True, nogil=True, boundscheck=False)
    def count_true(values, labels, counts):  # type: ignore[no-untyped-def]
        """counts[labels[i, j]] += 1 wherever values[i, j] ([h, w] bool values, [h, w]
        int64 labels, possibly strided crops; counts [L] int64). Labels are piecewise constant
        along rows, so counts are accumulated per run of one label and flushed at its end."""
        h, w = values.shape
        for i in range(h):
            cur = labels[i, 0]
            acc = 0
            for j in range(w):
                lab = labels[i, j]
                if lab != cur:
                    counts[cur] += acc
                    cur = lab
                    acc = 0
                acc += values[i, j]
            counts[cur] += acc
