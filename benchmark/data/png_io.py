"""Reading and writing panoptic PNGs (RGB-encoded segment ids), with validation against the
segment list. Uses pyspng when installed (the ``fast`` extra), else Pillow."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DatasetError, PredictionError
from .panoptic_format import PanopticMap, SegmentInfo, count_ids, id2rgb, rgb2id

try:  # optional fast decoder
    import pyspng as _pyspng
except ImportError:  # pragma: no cover - depends on the environment
    _pyspng = None


def decode_png(path: Path) -> np.ndarray:
    """Decode a PNG to a uint8 array ([H, W] or [H, W, C])."""
    if _pyspng is not None:
        with open(path, "rb") as f:
            return _pyspng.load(f.read())
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im)


def read_panoptic_png(
    path: Path, segments: Sequence[SegmentInfo], size: tuple[int, int] | None, *, what: str, error: type[Exception] = DatasetError
) -> PanopticMap:
    """Read a panoptic PNG and check it against its segment list.

    Errors (naming the file): missing file, not an RGB PNG, size differs from the JSON, an id in
    the PNG missing from the JSON, an id in the JSON absent from the PNG, duplicate ids.
    Segment areas are kept as given (GT: panopticapi uses the JSON areas).
    """
    if not path.is_file():
        raise error(f"{what}: PNG {path} does not exist")
    try:
        arr = decode_png(path)
    except Exception as exc:  # decoder errors vary by backend
        raise error(f"{what}: cannot decode {path} as PNG ({exc})") from exc
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise error(f"{what}: {path} must be an 8-bit RGB PNG (got shape {arr.shape}, dtype {arr.dtype})")
    if size is not None and arr.shape[:2] != tuple(size):
        raise error(f"{what}: {path} is {arr.shape[1]}x{arr.shape[0]} but the JSON says {size[1]}x{size[0]}")
    ids = rgb2id(arr)
    seg_ids = np.array([s.id for s in segments], dtype=np.int64)
    if len(np.unique(seg_ids)) != len(seg_ids):
        raise error(f"{what}: {path}: duplicate segment ids in the JSON segments_info")
    present = np.unique(ids)
    listed = set(seg_ids.tolist())
    extra = [int(i) for i in present if i != 0 and int(i) not in listed]
    if extra:
        raise error(f"{what}: {path}: segment id(s) {extra[:5]} are in the PNG but not in the JSON")
    counts = count_ids(ids, seg_ids)
    missing = [int(s) for s, c in zip(seg_ids, counts) if c == 0]
    if missing and error is PredictionError:
        raise error(f"{what}: {path}: segment id(s) {missing[:5]} are in the JSON but not in the PNG")
    return PanopticMap(ids, tuple(segments))


def write_panoptic_png(path: Path, ids: np.ndarray) -> None:
    """Write [H, W] segment ids as an RGB PNG."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(id2rgb(ids)).save(path)
