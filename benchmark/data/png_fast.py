"""A fast path for plain 8-bit RGB PNGs (the ``fast`` extra): inflate with libdeflate, then undo
the PNG row filters in a compiled kernel (:mod:`ovbench.data.png_kernels`).

Panoptic maps are piecewise constant, so their PNGs inflate quickly and most of pyspng's time
goes to zlib; libdeflate inflates them several times faster. :mod:`ovbench.metrics.histogram_png`
goes further and never materialises the decoded image.

Everything here returns None outside the plain case (no numba or ``deflate`` package,
``OVBENCH_NO_NUMBA=1``, interlaced or malformed PNG); callers then use pyspng or Pillow, which
decode the file or raise the error that names it. Tested against both on every filter type.
"""

from __future__ import annotations

import struct

import numpy as np

try:  # optional fast inflate (libdeflate)
    import deflate as _deflate
except ImportError:  # pragma: no cover - depends on the environment
    _deflate = None  # type: ignore[assignment]

from . import png_kernels

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HAVE_FAST_PNG = png_kernels.HAVE_NUMBA and _deflate is not None


def rgb8_scanlines(data: bytes) -> tuple[np.ndarray, int, int] | None:
    """The inflated, still filtered scanlines of a plain 8-bit RGB PNG, for kernels that unfilter
    them on the fly: ([H * (1 + 3 W)] uint8, H, W); each row is one PNG filter-type byte then
    3 W filtered bytes.

    None when this fast path does not apply (the ``deflate`` package is missing, the PNG is
    interlaced, has a critical chunk other than IHDR/IDAT/IEND, fails a CRC or the zlib checksum,
    or inflates to the wrong size): callers then use the full decoder, which decodes the file or
    raises the error that names it. Checks the CRCs of IHDR and IDAT and the zlib Adler-32.
    """
    if _deflate is None or len(data) < 33 or data[:8] != PNG_SIGNATURE:
        return None
    view = memoryview(data)
    pos, end = 8, len(data)
    idat: list[memoryview] = []
    header: tuple[int, ...] | None = None
    while pos + 12 <= end:
        (length,) = struct.unpack_from(">I", data, pos)
        kind = bytes(view[pos + 4 : pos + 8])
        stop = pos + 12 + length
        if stop > end:
            return None
        if kind in (b"IHDR", b"IDAT"):
            crc = struct.unpack_from(">I", data, stop - 4)[0]
            if _deflate.crc32(view[pos + 4 : stop - 4]) != crc:
                return None
            if kind == b"IHDR":
                if length != 13:
                    return None
                header = struct.unpack_from(">IIBBBBB", data, pos + 8)
            else:
                idat.append(view[pos + 8 : stop - 4])
        elif kind == b"IEND":
            break
        elif not kind[0] & 0x20 and kind != b"PLTE":  # unknown critical chunk
            return None
        pos = stop
    if header is None or not idat:
        return None
    width, height, bit_depth, color_type, compression, filter_method, interlace = header
    if (bit_depth, color_type, compression, filter_method, interlace) != (8, 2, 0, 0, 0) or width == 0 or height == 0:
        return None
    size = height * (1 + 3 * width)
    try:
        raw = _deflate.zlib_decompress(b"".join(idat), size + 1)  # +1: detect surplus data
    except _deflate.DeflateError:
        return None
    if len(raw) != size:
        return None
    return np.frombuffer(raw, dtype=np.uint8), int(height), int(width)



def decode_rgb8(data: bytes) -> np.ndarray | None:
    """Decode a plain 8-bit RGB PNG to [H, W, 3] uint8, or None if the fast path does not apply."""
    if not HAVE_FAST_PNG:
        return None
    scan = rgb8_scanlines(data)
    if scan is None:
        return None
    raw, height, width = scan
    out = np.empty((height, 3 * width), dtype=np.uint8)
    if not png_kernels.unfilter_image(raw, height, width, out):
        return None
    return out.reshape(height, width, 3)
