"""Joint histogram of two panoptic PNGs straight from their compressed bytes (the fast path of
``ovbench pq``).

Inflating with libdeflate (:func:`ovbench.data.png_fast.rgb8_scanlines`) and undoing the PNG row
filters in a compiled kernel (:func:`ovbench.data.png_kernels.joint_counts_from_scanlines`) that
decodes each row straight into runs and counts the joint runs costs about a quarter of decoding
both PNGs with pyspng and histogramming the pixel arrays (0.9 vs 3.7 ms per 512x683 pair on the
2-core development machine). The result is
the same :class:`~ovbench.metrics.histogram.JointHistogram` as
:func:`~ovbench.metrics.histogram.joint_histogram_rgb` on the decoded pixels (tested on every
filter type against pyspng and Pillow).

Optional: it needs numba and the ``deflate`` package (both in the ``fast`` extra) and returns
None without them, with ``OVBENCH_NO_NUMBA=1``, or whenever the input leaves the plain case
(interlaced or malformed PNG, a segment id missing from the lists, duplicate listed ids): the
caller then decodes the PNGs and raises or computes as usual.
"""

from __future__ import annotations

import numpy as np

from ..data import png_kernels
from ..data.png_fast import HAVE_FAST_PNG, rgb8_scanlines
from .histogram import JointHistogram


def _sorted_index(segment_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(sorted ids, their 1-based positions in `segment_ids`) -> [S] int64 each; None if an id
    repeats or is 0 (left to the general path)."""
    seg = np.asarray(segment_ids, dtype=np.int64).reshape(-1)
    order = np.argsort(seg, kind="stable")
    keys = seg[order]
    if keys.size and (keys[0] <= 0 or (keys[1:] == keys[:-1]).any()):
        return None
    return keys, order.astype(np.int64) + 1


def joint_histogram_png(
    gt_png: bytes, pred_png: bytes, gt_segment_ids: np.ndarray, pred_segment_ids: np.ndarray
) -> JointHistogram | None:
    """Joint pixel histogram of two panoptic PNG files given as bytes ([G+1, P+1] int64 counts,
    row/column 0 = VOID), or None when the fast path does not apply (see the module docstring):
    then decode and use :func:`~ovbench.metrics.histogram.joint_histogram_rgb`."""
    if not HAVE_FAST_PNG:
        return None
    g = rgb8_scanlines(gt_png)
    p = rgb8_scanlines(pred_png)
    if g is None or p is None or g[1:] != p[1:]:
        return None
    gi = _sorted_index(gt_segment_ids)
    pi = _sorted_index(pred_segment_ids)
    if gi is None or pi is None:
        return None
    counts = np.zeros((gi[0].size + 1, pi[0].size + 1), dtype=np.int64)
    status = png_kernels.joint_counts_from_scanlines(g[0], p[0], g[1], g[2], gi[0], gi[1], pi[0], pi[1], counts)
    if status != png_kernels.OK:
        return None
    return JointHistogram(counts, (), ())


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernel in this process, on a 1-pixel PNG, so
    that worker processes forked afterwards inherit it instead of each loading it."""
    if HAVE_FAST_PNG:
        png = _one_black_pixel_png()
        jh = joint_histogram_png(png, png, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        assert jh is not None and jh.counts.tolist() == [[1]], "PNG kernel warm-up failed"


def _one_black_pixel_png() -> bytes:
    """A 1x1 8-bit RGB PNG of id 0, built with zlib (no Pillow import at start-up)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8 bit, RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00")) + chunk(b"IEND", b"")
