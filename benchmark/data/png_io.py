"""Reading and writing panoptic PNGs (RGB-encoded segment ids), with validation against the
segment list. Uses pyspng when installed (the ``fast`` extra), else Pillow.

Every panoptic PNG must be an 8-bit RGB PNG (colour type 2). This is checked on the PNG header
itself, not on the decoded array, so that both decoders accept and reject exactly the same files
(Pillow silently reduces 16-bit RGB to 8 bits, libspng expands palettes).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DatasetError, PredictionError
from .panoptic_format import PanopticMap, SegmentInfo, count_ids, id2rgb, rgb_to_ids
from .png_fast import PNG_SIGNATURE, decode_rgb8

try:  # optional fast decoder
    import pyspng as _pyspng
except ImportError:  # pragma: no cover - depends on the environment
    _pyspng = None

_COLOR_TYPES = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}


def png_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit_depth, color_type) from a PNG's IHDR chunk; ValueError if not a PNG."""
    if len(data) < 33 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file (bad signature or no IHDR chunk)")
    width, height, bit_depth, color_type = struct.unpack(">IIBB", data[16:26])
    return int(width), int(height), int(bit_depth), int(color_type)


def check_rgb8(data: bytes, path: Path | str, *, what: str, error: type[Exception] = DatasetError) -> tuple[int, int]:
    """Raise `error` naming `path` unless `data` is an 8-bit RGB PNG; return (height, width)."""
    try:
        width, height, bit_depth, color_type = png_header(data)
    except ValueError as exc:
        raise error(f"{what}: {path} is not a PNG file ({exc})") from None
    if color_type != 2 or bit_depth != 8:
        kind = _COLOR_TYPES.get(color_type, f"colour type {color_type}")
        raise error(
            f"{what}: {path} must be an 8-bit RGB PNG (panoptic ids are R + 256 G + 256^2 B), "
            f"but it is a {bit_depth}-bit {kind} PNG"
        )
    return height, width


def decode_png(path: Path) -> np.ndarray:
    """Decode a PNG to a uint8/uint16 array ([H, W] or [H, W, C]); no format checks."""
    with open(path, "rb") as f:
        data = f.read()
    return _decode(data)


def _decode(data: bytes) -> np.ndarray:
    fast = decode_rgb8(data)  # plain 8-bit RGB PNGs, with the ``fast`` extra
    if fast is not None:
        return fast
    if _pyspng is not None:
        return _pyspng.load(data)
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


def decode_panoptic_bytes(data: bytes, path: Path | str, *, what: str, error: type[Exception] = DatasetError) -> np.ndarray:
    """Decode the bytes of a panoptic PNG to [H, W] uint32 segment ids (header checked first)."""
    return rgb_to_ids(decode_panoptic_rgb(data, path, what=what, error=error))


def decode_panoptic_rgb(data: bytes, path: Path | str, *, what: str, error: type[Exception] = DatasetError) -> np.ndarray:
    """Decode the bytes of a panoptic PNG to its [H, W, 3] uint8 pixels, after checking from the
    header that it is an 8-bit RGB PNG. Errors name `path`."""
    height, width = check_rgb8(data, path, what=what, error=error)
    try:
        arr = _decode(data)
    except Exception as exc:  # decoder errors vary by backend
        raise error(f"{what}: cannot decode {path} as PNG ({exc})") from exc
    if arr.shape != (height, width, 3) or arr.dtype != np.uint8:  # pragma: no cover - decoder disagreement
        raise error(f"{what}: {path} decoded to shape {arr.shape} dtype {arr.dtype}, expected ({height}, {width}, 3) uint8")
    return arr


def read_png_bytes(path: Path | str, *, what: str, error: type[Exception] = DatasetError) -> bytes:
    """The bytes of a PNG file; `error` naming the file if it is missing or unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise error(f"{what}: PNG {path} does not exist") from None
    except OSError as exc:
        raise error(f"{what}: cannot read PNG {path} ({exc})") from exc


def read_panoptic_ids(path: Path, *, what: str, error: type[Exception] = DatasetError) -> np.ndarray:
    """Read a panoptic PNG -> [H, W] uint32 segment ids. Errors name the file."""
    return decode_panoptic_bytes(read_png_bytes(path, what=what, error=error), path, what=what, error=error)


def read_panoptic_png(
    path: Path, segments: Sequence[SegmentInfo], size: tuple[int, int] | None, *, what: str, error: type[Exception] = DatasetError
) -> PanopticMap:
    """Read a panoptic PNG and check it against its segment list.

    Errors (naming the file): missing file, not an 8-bit RGB PNG, size differs from the JSON, an
    id in the PNG missing from the JSON, duplicate ids, and for predictions
    (``error=PredictionError``) an id in the JSON absent from the PNG. Ground truth may list
    segments with no pixels (ADE20K's stuff painted over by things, see docs/datasets.md), but
    a JSON area smaller than the segment's pixel count is an error.

    Segment areas are kept as given for ground truth (panopticapi uses the JSON areas) and
    recounted from the PNG for predictions. ``ids`` of the result: [H, W] int32.
    """
    path = Path(path)
    ids = read_panoptic_ids(path, what=what, error=error)
    if size is not None and ids.shape != tuple(size):
        raise error(f"{what}: {path} is {ids.shape[1]}x{ids.shape[0]} but the JSON says {size[1]}x{size[0]}")
    seg_ids = np.array([s.id for s in segments], dtype=np.int64)
    if len(np.unique(seg_ids)) != len(seg_ids):
        dup = sorted({int(i) for i in seg_ids if (seg_ids == i).sum() > 1})
        raise error(f"{what}: {path}: duplicate segment id(s) {dup[:5]} in the JSON segments_info")
    if (seg_ids == 0).any():
        raise error(f"{what}: {path}: segment id 0 is reserved for VOID")
    present = _present_ids(ids)
    listed = set(seg_ids.tolist())
    extra = [i for i in present if i != 0 and i not in listed]
    if extra:
        raise error(f"{what}: {path}: segment id(s) {extra[:5]} are in the PNG but not in the JSON")
    counts = count_ids(ids, seg_ids)
    if error is PredictionError:
        missing = [int(s) for s, c in zip(seg_ids, counts) if c == 0]
        if missing:
            raise error(f"{what}: {path}: segment id(s) {missing[:5]} are in the JSON but not in the PNG")
        segs = tuple(SegmentInfo(s.id, s.category_id, s.iscrowd, int(c)) for s, c in zip(segments, counts))
    else:
        small = [(s.id, s.area, int(c)) for s, c in zip(segments, counts) if s.area < c]
        if small:
            sid, area, c = small[0]
            raise error(f"{what}: {path}: segment {sid} has area {area} in the JSON but {c} pixels in the PNG")
        segs = tuple(segments)
    return PanopticMap(ids.view(np.int32), segs)


def _present_ids(ids: np.ndarray) -> list[int]:
    from .panoptic_format import runs

    flat = ids.reshape(-1)
    starts, _ = runs(flat)
    return [int(v) for v in np.unique(flat[starts])]


def encode_panoptic_png(ids: np.ndarray, compress_level: int = 1) -> bytes:
    """[H, W] segment ids -> bytes of an 8-bit RGB PNG."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(id2rgb(ids)).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def write_panoptic_png(path: Path, ids: np.ndarray, compress_level: int = 1) -> None:
    """Write [H, W] segment ids as an 8-bit RGB PNG."""
    from ..atomic import write_bytes_atomic

    write_bytes_atomic(Path(path), encode_panoptic_png(ids, compress_level))
