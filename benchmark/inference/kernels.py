"""Compiled kernels (numba, from the ``fast`` extra) for the per-pixel argmax of panoptic
inference. Optional: without numba, or with ``OVBENCH_NO_NUMBA=1``, the numpy implementation in
:mod:`ovbench.inference.mask2former` runs instead; both give identical results (tested): float32
products, first candidate wins ties.
"""

from __future__ import annotations

import numpy as np

from ..numba_support import HAVE_NUMBA, njit

# constants of the float32 sigmoid (ovbench.inference.resize.sigmoid32; cephes' expf), here so
# that numba's on-disk cache is invalidated when they change
LOG2E = np.float32(1.44269504088896341)
LN2_C1 = np.float32(0.693359375)  # 355/512: n * LN2_C1 is exact
LN2_C2 = np.float32(-2.12194440e-4)
EXP_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
                                      5.0000001201e-1))
V_MAX = np.float32(104.0)
N_MIN_NORMAL = -126

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


# ---- resize + sigmoid (the fixed operation sequence of ovbench.inference.resize) -----------------
if HAVE_NUMBA:
    _P0, _P1, _P2, _P3, _P4, _P5 = EXP_P
    _ONE = np.float32(1.0)
    _HALF = np.float32(0.5)

    @njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")  # numpy's model: the division vectorises
    def sigmoid_row(o, sc, nb):  # type: ignore[no-untyped-def]
        """o[:] = sigmoid32(o) in place ([W] float32; scratch sc [W] float32, nb [2, W] int32):
        the operations of :func:`ovbench.inference.resize.sigmoid32`, in two loops that
        vectorise. Returns the number of results >= 0.5."""
        W = o.shape[0]
        for x in range(W):
            a = abs(o[x])
            w = -(V_MAX if a > V_MAX else a)
            n = np.floor(w * LOG2E + _HALF)
            r = w - n * LN2_C1
            r = r - n * LN2_C2
            r2 = r * r
            p = _P0
            p = p * r + _P1
            p = p * r + _P2
            p = p * r + _P3
            p = p * r + _P4
            p = p * r + _P5
            p = p * r2 + r + _ONE
            ni = np.int32(n)
            na = ni if ni > N_MIN_NORMAL else np.int32(N_MIN_NORMAL)
            nb[0, x] = (na + np.int32(127)) << np.int32(23)
            nb[1, x] = (ni - na + np.int32(127)) << np.int32(23)
            sc[x] = p
        fa = nb[0].view(np.float32)
        fb = nb[1].view(np.float32)
        for x in range(W):
            u = (sc[x] * fa[x]) * fb[x]
            d = _ONE + u
            a1 = _ONE / d
            a2 = u / d
            o[x] = a1 if o[x] >= 0 else a2
        cnt = 0
        for x in range(W):
            if o[x] >= _HALF:
                cnt += 1
        return cnt

    @njit(cache=True, nogil=True, boundscheck=False)
    def sigmoid_array(v, out):  # type: ignore[no-untyped-def]
        """out[:] = sigmoid32(v) for [n] float32 v (tests compare it with the numpy form)."""
        out[:] = v
        sc = np.empty(v.shape[0], np.float32)
        nb = np.empty((2, v.shape[0]), np.int32)
        return sigmoid_row(out, sc, nb)

    @njit(cache=True, nogil=True, boundscheck=False)
    def _column_rows(m, cidx, cw, r0, r1, x0, x1, t):  # type: ignore[no-untyped-def]
        """t[i - r0, x - x0] = column pass of mask rows r0..r1-1 at output columns x0..x1-1."""
        T = cidx.shape[1]
        for i in range(r0, r1):
            row = m[i]
            for x in range(x0, x1):
                acc = cw[x, 0] * row[cidx[x, 0]]
                for k in range(1, T):
                    acc = acc + cw[x, k] * row[cidx[x, k]]
                t[i - r0, x - x0] = acc

    @njit(cache=True, nogil=True, boundscheck=False)
    def resize_crop(m, ridx, rw, cidx, cw, y0, x0, out):  # type: ignore[no-untyped-def]
        """out [h, w] float32 = resized logits of the [hm, wm] mask m at output pixels
        [y0, y0+h) x [x0, x0+w) (see ovbench.inference.resize.resize_crop_numpy)."""
        h, w = out.shape
        T = ridx.shape[1]
        a = ridx[y0, 0]
        b = a
        for y in range(y0, y0 + h):
            a = min(a, ridx[y, 0])
            b = max(b, ridx[y, T - 1] + 1)
        t = np.empty((b - a, w), np.float32)
        _column_rows(m, cidx, cw, a, b, x0, x0 + w, t)
        for y in range(y0, y0 + h):
            o = out[y - y0]
            r = t[ridx[y, 0] - a]
            wy = rw[y, 0]
            for x in range(w):
                o[x] = wy * r[x]
            for k in range(1, T):
                r = t[ridx[y, k] - a]
                wy = rw[y, k]
                for x in range(w):
                    o[x] = o[x] + wy * r[x]

    @njit(cache=True, nogil=True, boundscheck=False)
    def resize_sigmoid_into(logits, queries, ridx, rw, cidx, cw, band, probs, col0, positive):  # type: ignore[no-untyped-def]
        """probs[:, col0 + j] = sigmoid32(resize(logits[queries[j]])) pixel-major, positive[j] =
        its pixels >= 0.5. Bands of `band` output rows: each mask's band is computed into a
        candidate-major buffer, then the band is written transposed."""
        H, T = ridx.shape
        W = cidx.shape[0]
        K = queries.shape[0]
        buf = np.empty((K, band * W), np.float32)
        sc = np.empty(W, np.float32)
        nb = np.empty((2, W), np.int32)
        for y0 in range(0, H, band):
            y1 = min(H, y0 + band)
            a = ridx[y0, 0]
            b = a
            for y in range(y0, y1):
                a = min(a, ridx[y, 0])
                b = max(b, ridx[y, T - 1] + 1)
            t = np.empty((b - a, W), np.float32)
            for j in range(K):
                m = logits[queries[j]]
                _column_rows(m, cidx, cw, a, b, 0, W, t)
                cnt = 0
                for y in range(y0, y1):
                    o = buf[j, (y - y0) * W : (y - y0 + 1) * W]
                    r = t[ridx[y, 0] - a]
                    wy = rw[y, 0]
                    for x in range(W):
                        o[x] = wy * r[x]
                    for k in range(1, T):
                        r = t[ridx[y, k] - a]
                        wy = rw[y, k]
                        for x in range(W):
                            o[x] = o[x] + wy * r[x]
                    cnt += sigmoid_row(o, sc, nb)
                positive[j] += cnt
            n = (y1 - y0) * W
            base = y0 * W
            for i in range(n):
                row = probs[base + i]
                for j in range(K):
                    row[col0 + j] = buf[j, i]


# ---- fusion counts (steps 2-3 of panoptic inference) --------------------------------------------
if HAVE_NUMBA:

    @njit(cache=True, nogil=True, boundscheck=False)
    def owner_areas(owner, owner_prob, area, seg_area):  # type: ignore[no-untyped-def]
        """area[k] += #(owner == k); seg_area[k] += #(owner == k and owner_prob >= 0.5)."""
        half = np.float32(0.5)
        for i in range(owner.shape[0]):
            k = owner[i]
            area[k] += 1
            if owner_prob[i] >= half:
                seg_area[k] += 1

    @njit(cache=True, nogil=True, boundscheck=False)
    def paint_ids(owner, owner_prob, lut, ids, counts):  # type: ignore[no-untyped-def]
        """ids[i] = lut[owner[i]] where owner_prob[i] >= 0.5, else 0; counts[id] += 1."""
        half = np.float32(0.5)
        for i in range(owner.shape[0]):
            v = lut[owner[i]] if owner_prob[i] >= half else 0
            ids[i] = v
            counts[v] += 1
