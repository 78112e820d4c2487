"""The fast PNG path (libdeflate + compiled unfiltering) against independent decoders.

PNGs are written here by a small encoder that applies a chosen filter type per row (Pillow picks
filters itself), so every filter type, and every mix of them, is exercised; the decoded pixels
must equal Pillow's (and pyspng's), and the joint histogram computed from the compressed bytes
must equal the one computed from Pillow's pixels.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ovbench.data import png_fast
from ovbench.data.panoptic_format import id2rgb
from ovbench.metrics import histogram_png
from ovbench.metrics.histogram import joint_histogram_rgb

pytestmark = pytest.mark.skipif(not png_fast.HAVE_FAST_PNG, reason="needs the fast extra (numba, deflate)")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def encode_png(rgb: np.ndarray, filters: list[int], *, interlace: int = 0, idat_parts: int = 1,
               color_type: int = 2) -> bytes:
    """[H, W, 3] uint8 -> PNG bytes, row y filtered with filters[y % len(filters)] (PNG spec)."""
    h, w, _ = rgb.shape
    img = rgb.reshape(h, 3 * w).astype(np.int64)
    prev = np.zeros(3 * w, dtype=np.int64)
    lines = []
    for y in range(h):
        f = filters[y % len(filters)]
        row = img[y]
        left = np.concatenate([np.zeros(3, np.int64), row[:-3]])
        upleft = np.concatenate([np.zeros(3, np.int64), prev[:-3]])
        pred = {0: 0, 1: left, 2: prev, 3: (left + prev) // 2, 4: _paeth(left, prev, upleft)}[f]
        lines.append(bytes([f]) + ((row - pred) % 256).astype(np.uint8).tobytes())
        prev = row
    data = zlib.compress(b"".join(lines), 6)
    cut = np.linspace(0, len(data), idat_parts + 1).astype(int)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, interlace)
    return (png_fast.PNG_SIGNATURE + _chunk(b"IHDR", ihdr)
            + b"".join(_chunk(b"IDAT", data[a:b]) for a, b in zip(cut[:-1], cut[1:]))
            + _chunk(b"IEND", b""))


def pillow_pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def segment_map(rng: np.random.Generator, h: int, w: int, k: int, noise: float = 0.0) -> np.ndarray:
    """[H, W] ids: k rectangles of random 24-bit ids over VOID, plus optional salt noise."""
    ids = np.zeros((h, w), dtype=np.int64)
    values = rng.choice(np.arange(1, 1 << 24), size=k, replace=False)
    for v in values:
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        ids[y0 : y0 + rng.integers(1, h + 1), x0 : x0 + rng.integers(1, w + 1)] = v
    if noise:
        mask = rng.random((h, w)) < noise
        ids[mask] = rng.choice(values, size=int(mask.sum()))
    return ids


@pytest.mark.parametrize("filters", [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4], [4, 2, 4, 1, 3, 3]])
@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_decode_matches_pillow_for_every_filter_type(filters, noise):
    rng = np.random.default_rng(len(filters) * 10 + filters[0] + int(noise * 100))
    rgb = id2rgb(segment_map(rng, 37, 53, 6, noise))
    data = encode_png(rgb, filters, idat_parts=3)
    expected = pillow_pixels(data)
    assert (expected == rgb).all()  # the test encoder itself is right
    got = png_fast.decode_rgb8(data)
    assert got is not None and got.dtype == np.uint8 and (got == expected).all()


@pytest.mark.parametrize("f", [0, 1, 2, 3, 4])
def test_random_bytes_hit_every_predictor_branch(f):
    """Uniformly random pixels: every Paeth branch and tie, every Average rounding occurs."""
    rng = np.random.default_rng(100 + f)
    rgb = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)
    data = encode_png(rgb, [f, 4, f])
    got = png_fast.decode_rgb8(data)
    assert got is not None and (got == pillow_pixels(data)).all()
    ids = rgb[..., 0].astype(np.int64) | rgb[..., 1].astype(np.int64) << 8 | rgb[..., 2].astype(np.int64) << 16
    ids[ids == 0] = 1
    other = np.roll(ids, 1, axis=1)
    g_png, p_png = encode_png(id2rgb(ids), [f, 4]), encode_png(id2rgb(other), [4, f])
    listed_g, listed_p = np.unique(ids), np.unique(other)
    fast = histogram_png.joint_histogram_png(g_png, p_png, listed_g, listed_p)
    ref = joint_histogram_rgb(pillow_pixels(g_png), pillow_pixels(p_png), listed_g, listed_p)
    assert fast is not None and (fast.counts == ref.counts).all()


def test_decode_matches_pyspng_on_pillow_written_files():
    pyspng = pytest.importorskip("pyspng")
    rng = np.random.default_rng(3)
    for level in (1, 6, 9):
        buf = io.BytesIO()
        Image.fromarray(id2rgb(segment_map(rng, 64, 80, 12, 0.01))).save(buf, format="PNG", compress_level=level)
        data = buf.getvalue()
        assert (png_fast.decode_rgb8(data) == pyspng.load(data)).all()


@given(st.integers(1, 9), st.integers(1, 9), st.lists(st.integers(0, 4), min_size=1, max_size=5),
       st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_joint_histogram_from_bytes_equals_pixel_histogram(h, w, filters, seed):
    rng = np.random.default_rng(seed)
    gt = segment_map(rng, h, w, 3, 0.2)
    pred = segment_map(rng, h, w, 3, 0.2)
    gt_ids = np.unique(gt[gt > 0])
    pred_ids = rng.permutation(np.unique(pred[pred > 0]))  # any listing order
    g_png = encode_png(id2rgb(gt), filters)
    p_png = encode_png(id2rgb(pred), filters[::-1])
    fast = histogram_png.joint_histogram_png(g_png, p_png, gt_ids, pred_ids)
    ref = joint_histogram_rgb(pillow_pixels(g_png), pillow_pixels(p_png), gt_ids, pred_ids)
    assert fast is not None
    assert (fast.counts == ref.counts).all()
    assert fast.counts.sum() == h * w


def test_joint_histogram_hand_case():
    """2x3 maps, hand-counted: gt [[1,1,2],[1,0,2]], pred [[5,6,6],[5,5,0]]."""
    gt = np.array([[1, 1, 2], [1, 0, 2]])
    pred = np.array([[5, 6, 6], [5, 5, 0]])
    jh = histogram_png.joint_histogram_png(encode_png(id2rgb(gt), [4]), encode_png(id2rgb(pred), [2]),
                                           np.array([2, 1]), np.array([6, 5]))
    # rows: VOID, id 2, id 1; columns: VOID, id 6, id 5
    expected = np.array([[0, 0, 1],
                         [1, 1, 0],
                         [0, 1, 2]])
    assert jh is not None and (jh.counts == expected).all()


def test_declines_whenever_the_general_path_must_decide():
    rng = np.random.default_rng(0)
    gt = segment_map(rng, 8, 8, 3)
    pred = segment_map(rng, 8, 8, 3)
    g_png, p_png = encode_png(id2rgb(gt), [2]), encode_png(id2rgb(pred), [4])
    gt_ids, pred_ids = np.unique(gt[gt > 0]), np.unique(pred[pred > 0])
    assert histogram_png.joint_histogram_png(g_png, p_png, gt_ids, pred_ids) is not None
    # an id in the PNG but not in the list
    assert histogram_png.joint_histogram_png(g_png, p_png, gt_ids[1:], pred_ids) is None
    assert histogram_png.joint_histogram_png(g_png, p_png, gt_ids, pred_ids[:-1]) is None
    # a listed id twice
    assert histogram_png.joint_histogram_png(g_png, p_png, np.r_[gt_ids, gt_ids[:1]], pred_ids) is None
    # sizes differ
    other = encode_png(id2rgb(segment_map(rng, 8, 9, 2)), [0])
    assert histogram_png.joint_histogram_png(g_png, other, gt_ids, pred_ids) is None


def test_scanlines_decline_unusual_or_broken_files():
    rgb = id2rgb(segment_map(np.random.default_rng(1), 6, 7, 3))
    good = encode_png(rgb, [1, 4])
    assert png_fast.rgb8_scanlines(good) is not None
    assert png_fast.rgb8_scanlines(encode_png(rgb, [1], interlace=1)) is None
    assert png_fast.rgb8_scanlines(good[:-20]) is None  # truncated
    broken = bytearray(good)
    broken[45] ^= 0xFF  # inside the IDAT data: its CRC no longer matches
    assert png_fast.rgb8_scanlines(bytes(broken)) is None
    assert png_fast.rgb8_scanlines(b"not a png at all, but long enough to have a header") is None
    # an unknown filter type byte (5) inflates fine but must not decode
    h, w = 2, 3
    bad_filter = zlib.compress(bytes([5]) + bytes(3 * w) + bytes([0]) + bytes(3 * w))
    png = (png_fast.PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + _chunk(b"IDAT", bad_filter) + _chunk(b"IEND", b""))
    assert png_fast.rgb8_scanlines(png) is not None
    assert png_fast.decode_rgb8(png) is None
    # too few bytes after inflating (one row missing)
    short = zlib.compress(bytes([0]) + bytes(3 * w))
    png = (png_fast.PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + _chunk(b"IDAT", short) + _chunk(b"IEND", b""))
    assert png_fast.rgb8_scanlines(png) is None


def test_non_rgb_files_go_to_the_general_decoder():
    grey = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(grey, format="PNG")
    assert png_fast.rgb8_scanlines(grey.getvalue()) is None
    rgba = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 4), np.uint8)).save(rgba, format="PNG")
    assert png_fast.rgb8_scanlines(rgba.getvalue()) is None
