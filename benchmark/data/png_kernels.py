"""Compiled kernels (numba, from the ``fast`` extra) that undo PNG row filters (3 bytes per
pixel, filter types 0-4 of the PNG spec): to pixels (:func:`unfilter_image`, used by
:func:`ovbench.data.png_fast.decode_rgb8`) or straight to runs of equal segment ids counted into a
joint histogram (:func:`joint_counts_from_scanlines`, used by
:func:`ovbench.metrics.histogram_png.joint_histogram_png`).

All kernels sit in this one file on purpose: numba's on-disk cache of a compiled function is
invalidated only when its own source file changes, not when an inlined helper in another file
does. ``HAVE_NUMBA`` is False without numba or with ``OVBENCH_NO_NUMBA=1``.
"""

from __future__ import annotations

import numpy as np

from ..numba_support import HAVE_NUMBA, njit

# status codes of joint_counts_from_scanlines
OK, BAD_FILTER, UNLISTED = 0, 1, 2

if HAVE_NUMBA:

    @njit(inline="always")
    def _paeth(a, b, c):  # type: ignore[no-untyped-def]
        """The PNG Paeth predictor of left a, above b, upper-left c (ties: a, then b)."""
        p = b - c
        q = a - c
        pa = abs(p)
        pb = abs(q)
        pc = abs(p + q)
        pr = b if pb <= pc else c
        return a if (pa <= pb) & (pa <= pc) else pr

    @njit(inline="always", boundscheck=False)
    def unfilter_row(f, r, prev, cur):  # type: ignore[no-untyped-def]
        """Undo PNG filter type ``f`` (0-4, 3 bytes per pixel) of one row: ``r`` the filtered
        bytes, ``prev`` the previous unfiltered row (zeros for the first), ``cur`` the output,
        all [3 W] uint8. Returns False for an unknown filter type. Paeth takes a shortcut where
        the row above is constant (b == c: the predictor is the left pixel), which holds for
        most pixels of a panoptic map."""
        n = r.shape[0]
        if f == 0:
            for i in range(n):
                cur[i] = r[i]
        elif f == 1:
            for i in range(3):
                cur[i] = r[i]
            for i in range(n - 3):  # (non-negative index arithmetic: no wraparound checks)
                cur[i + 3] = r[i + 3] + cur[i]
        elif f == 2:
            for i in range(n):
                cur[i] = r[i] + prev[i]
        elif f == 3:
            for i in range(3):
                cur[i] = r[i] + (prev[i] >> 1)
            for i in range(n - 3):
                cur[i + 3] = r[i + 3] + ((np.int32(cur[i]) + np.int32(prev[i + 3])) >> 1)
        elif f == 4:
            a0 = np.int32(0)
            a1 = np.int32(0)
            a2 = np.int32(0)
            c0 = np.int32(0)
            c1 = np.int32(0)
            c2 = np.int32(0)
            for x in range(n // 3):
                j = 3 * x
                b0 = np.int32(prev[j])
                b1 = np.int32(prev[j + 1])
                b2 = np.int32(prev[j + 2])
                if ((b0 ^ c0) | (b1 ^ c1) | (b2 ^ c2)) == 0:
                    a0 = (np.int32(r[j]) + a0) & 255
                    a1 = (np.int32(r[j + 1]) + a1) & 255
                    a2 = (np.int32(r[j + 2]) + a2) & 255
                else:
                    a0 = (np.int32(r[j]) + _paeth(a0, b0, c0)) & 255
                    a1 = (np.int32(r[j + 1]) + _paeth(a1, b1, c1)) & 255
                    a2 = (np.int32(r[j + 2]) + _paeth(a2, b2, c2)) & 255
                cur[j] = a0
                cur[j + 1] = a1
                cur[j + 2] = a2
                c0 = b0
                c1 = b1
                c2 = b2
        else:
            return False
        return True

    @njit(cache=True, nogil=True, boundscheck=False)
    def unfilter_image(raw, height, width, out):  # type: ignore[no-untyped-def]
        """Unfilter [H * (1 + 3 W)] uint8 scanlines into out [H, 3 W] uint8; False on an
        unknown filter type."""
        n = 3 * width
        stride = n + 1
        zero = np.zeros(n, np.uint8)
        for y in range(height):
            off = y * stride
            prev = out[y - 1] if y > 0 else zero
            if not unfilter_row(raw[off], raw[off + 1 : off + stride], prev, out[y]):
                return False
        return True



    @njit(inline="always")
    def _filtered_pixel(f, r0, r1, r2, a, b, c):  # type: ignore[no-untyped-def]
        """Id (R + 256 G + 256^2 B) of a pixel of a row with filter type f (0-4), filtered bytes
        r0..r2, given the ids of its left (a), upper (b) and upper-left (c) neighbours.
        (Scalars only: numba reference-counts array arguments, which would dominate here.)"""
        v = np.int64(0)
        for k in range(3):
            sh = 8 * k
            ak = (a >> sh) & 255
            bk = (b >> sh) & 255
            if f == 0:
                pred = np.int64(0)
            elif f == 1:
                pred = ak
            elif f == 2:
                pred = bk
            elif f == 3:
                pred = (ak + bk) >> 1
            else:
                pred = _paeth(ak, bk, (c >> sh) & 255)
            rk = r0 if k == 0 else (r1 if k == 1 else r2)
            v |= ((np.int64(rk) + pred) & 255) << sh
        return v

    @njit(cache=True, nogil=True, boundscheck=False)
    def joint_counts_from_scanlines(graw, praw, height, width, gkeys, gvals, pkeys, pvals, counts):  # type: ignore[no-untyped-def]
        """Add into counts [G+1, P+1] int64 the joint pixel counts of two filtered scanline
        buffers ([H * (1 + 3 W)] uint8 each). gkeys/pkeys: sorted segment ids, gvals/pvals: their
        1-based indices. Returns a status code; counts are meaningless unless it is _OK.

        Each row of each map is decoded straight into runs of equal ids, from the previous
        row's runs, computing only "event" pixels: pixel 0, pixels with a nonzero filtered byte
        (found 8 bytes at a time), and, by filter type, the pixel after one of those (None, Up)
        and the pixels where the row above changes (Up, Paeth). Between events a row provably
        repeats its left pixel: None -> 0, Sub -> left, Up -> above = upper-left = left, Paeth
        with above == upper-left -> left. Average (rare in practice) computes every pixel. The
        two maps' runs are then merged into joint runs; segment indices are looked up once per
        run through a small direct-mapped cache.

        Everything is written out in this one function: numba reference-counts the arrays
        passed to helper functions, which costs more than the work here."""
        n = 3 * width
        stride = n + 1
        n_words = (n + 7) // 8
        rwords = np.zeros(n_words, np.uint64)
        rbuf = rwords.view(np.uint8)  # aligned copy of a row's filtered bytes, zero past n
        marks = np.empty(width, np.int64)  # pixels with a nonzero filtered byte
        # runs[map, row, i]: start pixel and id of run i; row 0/1 alternate as previous/current
        run_start = np.zeros((2, 2, width), np.int64)
        run_id = np.zeros((2, 2, width), np.int64)
        run_index = np.empty((2, width), np.int64)
        n_runs = np.ones((2, 2), np.int64)  # the row above the first row: one run of zeros
        cache_key = np.full((2, 1024), -1, np.int64)
        cache_val = np.zeros((2, 1024), np.int64)
        cur = 1
        for y in range(height):
            off = y * stride
            prv = 1 - cur
            for m in range(2):
                raw = graw if m == 0 else praw
                f = raw[off]
                if f > 4:
                    return BAD_FILTER
                r0 = off + 1  # first filtered byte of the row
                ne = 0
                if f != 3:
                    for i in range(n):
                        rbuf[i] = raw[r0 + i]
                    last = -1
                    for w in range(n_words):
                        if rwords[w] != 0:
                            for i in range(8 * w, 8 * w + 8):
                                if rbuf[i] != 0:
                                    x = i // 3
                                    if x != last:
                                        marks[ne] = x
                                        ne += 1
                                        last = x
                use_next = f == 0 or f == 2
                use_above = f == 2 or f == 4
                pn = n_runs[m, prv]
                cn = 0
                a = np.int64(-1)  # id of the pixel left of x (-1: none yet)
                ir = 0
                pend = -1
                ib = 1  # next run start of the row above
                k = 0  # run of the row above holding pixel x
                x = -1
                while True:
                    if x < 0:
                        x = 0
                    elif f == 3:
                        x += 1
                    else:
                        x = width
                        if ir < ne:
                            x = marks[ir]
                        if use_above and ib < pn and run_start[m, prv, ib] < x:
                            x = run_start[m, prv, ib]
                        if 0 <= pend < x:
                            x = pend
                    if x >= width:
                        break
                    hit = ir < ne and marks[ir] == x
                    if hit:
                        ir += 1
                    if use_next:
                        pend = x + 1 if hit else (-1 if pend == x else pend)
                    while ib < pn and run_start[m, prv, ib] <= x:
                        ib += 1
                    while k + 1 < pn and run_start[m, prv, k + 1] <= x:
                        k += 1
                    b = run_id[m, prv, k]
                    c = run_id[m, prv, k - 1] if x > 0 and run_start[m, prv, k] == x else b
                    j = r0 + 3 * x
                    v = _filtered_pixel(f, raw[j], raw[j + 1], raw[j + 2], max(a, 0), b, c if x > 0 else 0)
                    if v != a:
                        run_start[m, cur, cn] = x
                        run_id[m, cur, cn] = v
                        # segment index, through the cache
                        h = (v ^ (v >> 10) ^ (v >> 20)) & 1023
                        if cache_key[m, h] == v:
                            idx = cache_val[m, h]
                        else:
                            keys = gkeys if m == 0 else pkeys
                            vals = gvals if m == 0 else pvals
                            idx = 0
                            if v != 0:
                                q = np.searchsorted(keys, v)
                                idx = vals[q] if q < keys.shape[0] and keys[q] == v else -1
                            cache_key[m, h] = v
                            cache_val[m, h] = idx
                        if idx < 0:
                            return UNLISTED
                        run_index[m, cn] = idx
                        cn += 1
                        a = v
                n_runs[m, cur] = cn
            # merge the two maps' runs of this row into joint runs
            gn = n_runs[0, cur]
            pn = n_runs[1, cur]
            i = 0
            j = 0
            s = 0
            while True:
                ge = run_start[0, cur, i + 1] if i + 1 < gn else width
                pe = run_start[1, cur, j + 1] if j + 1 < pn else width
                e = min(ge, pe)
                counts[run_index[0, i], run_index[1, j]] += e - s
                if e >= width:
                    break
                s = e
                if ge == e:
                    i += 1
                if pe == e:
                    j += 1
            cur = prv
        return OK
