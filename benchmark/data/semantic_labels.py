"""Semantic label images: reading with validation, writing, and conversion to region maps.

Two on-disk formats, as detectron2 / Mask2Former / FC-CLIP prepare them:

* ``.png``: 8-bit single-channel (grayscale or palette) PNG, value v < K = class at dense index v,
  255 = ignore (Pascal VOC-20/21, Pascal Context-59).
* ``.tif``: 16-bit single-channel TIFF (``uint16``), 65535 = ignore (ADE20K-847,
  Pascal Context-459). Pillow reads these (mode ``I;16`` / ``I;16B``); no tifffile needed.

Every problem raises :class:`DatasetError` naming the file: missing, unreadable, wrong mode or
bit depth, wrong size, or values that are neither a class nor the ignore label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .panoptic_format import PanopticMap, SegmentInfo

#: accepted Pillow modes per label extension, and what they are called in errors
_MODES = {".png": {"L": "8-bit grayscale", "P": "8-bit palette"}, ".tif": {"I;16": "16-bit", "I;16B": "16-bit", "I;16L": "16-bit"}}
_WANT = {".png": "an 8-bit single-channel PNG", ".tif": "a 16-bit (uint16) single-channel TIFF"}
_DEFAULT_IGNORE = {".png": 255, ".tif": 65535}


def label_size(path: Path, *, what: str = "label") -> tuple[int, int]:
    """(height, width) of a label image from its header (the pixels are not decoded)."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise DatasetError(f"{what}: label file {path} does not exist")
    try:
        with Image.open(path) as im:
            w, h = im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"{what}: {path} is not a readable image ({exc})") from None
    return int(h), int(w)


def read_label(
    path: Path,
    *,
    num_classes: int,
    ignore_label: int,
    shape: tuple[int, int] | None = None,
    what: str = "label",
) -> np.ndarray:
    """Read and check one label image -> [H, W] int32 dense class index, -1 where ignored.

    The format follows the extension (``.png`` 8-bit, ``.tif`` 16-bit). ``shape`` (H, W), when
    given, must match. Values >= num_classes other than ``ignore_label`` are an error."""
    from PIL import Image, UnidentifiedImageError

    ext = path.suffix.lower()
    ext = ".tif" if ext == ".tiff" else ext
    if ext not in _MODES:
        raise DatasetError(f"{what}: {path}: unsupported label extension {path.suffix!r} (use .png or .tif)")
    if not path.is_file():
        raise DatasetError(f"{what}: label file {path} does not exist")
    try:
        with Image.open(path) as im:
            fmt = (im.format or "").upper()
            mode = im.mode
            if mode in _MODES[ext]:
                arr = np.asarray(im)
            else:
                arr = None
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"{what}: {path} is not a readable image ({exc})") from None
    expected_fmt = "PNG" if ext == ".png" else "TIFF"
    if fmt != expected_fmt:
        raise DatasetError(f"{what}: {path} has extension {ext} but is a {fmt or 'unknown'} file")
    if arr is None:
        raise DatasetError(f"{what}: {path} must be {_WANT[ext]}, but its mode is {mode!r} ({_describe(mode)})")
    if arr.ndim != 2:
        raise DatasetError(f"{what}: {path} must be single-channel, got an array of shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise DatasetError(
            f"{what}: {path} is {arr.shape[1]}x{arr.shape[0]} but {shape[1]}x{shape[0]} was expected (size mismatch with the image)"
        )
    vals = arr.astype(np.int32, copy=False)
    bad = (vals >= num_classes) & (vals != ignore_label)
    if bad.any():
        wrong = np.unique(vals[bad])
        listed = ", ".join(str(int(v)) for v in wrong[:8]) + (" ..." if len(wrong) > 8 else "")
        raise DatasetError(
            f"{what}: {path} holds label value(s) {listed} outside the {num_classes} classes (0..{num_classes - 1}) "
            f"and not the ignore label {ignore_label}"
        )
    out = vals.copy() if vals is arr else vals
    out[vals == ignore_label] = -1
    return out


def _describe(mode: str) -> str:
    return {
        "1": "1-bit", "L": "8-bit grayscale", "P": "8-bit palette", "RGB": "8-bit RGB", "RGBA": "8-bit RGBA",
        "LA": "8-bit grayscale+alpha", "I": "32-bit integer", "F": "32-bit float",
        "I;16": "16-bit", "I;16B": "16-bit", "I;16L": "16-bit",
    }.get(mode, "unsupported")


def labels_to_regions(labels: np.ndarray, category_ids: np.ndarray) -> PanopticMap:
    """[H, W] dense class indices (-1 = ignore) -> a :class:`PanopticMap` with one segment per class
    present: segment id = dense index + 1, category_id = ``category_ids[index]``, iscrowd 0, area =
    pixel count; ignored pixels get id 0 (VOID)."""
    ids = labels.astype(np.int32) + 1  # -1 -> 0 (VOID)
    counts = np.bincount(ids.reshape(-1), minlength=len(category_ids) + 1)
    segs = tuple(
        SegmentInfo(int(i), int(category_ids[i - 1]), False, int(counts[i])) for i in np.nonzero(counts[1:])[0] + 1
    )
    return PanopticMap(ids, segs)


def write_label(path: Path, labels: np.ndarray, *, ext: str | None = None) -> None:
    """Write [H, W] label values (already encoded: classes 0..K-1 and the ignore value) as an 8-bit
    PNG (``.png``) or a uint16 TIFF (``.tif``), as the prepare scripts do."""
    from PIL import Image

    ext = (ext or path.suffix).lower()
    if ext == ".png":
        if labels.size and (labels.min() < 0 or labels.max() > 255):
            raise ValueError("8-bit PNG labels must lie in [0, 255]")
        Image.fromarray(labels.astype(np.uint8), mode=None).save(path, compress_level=6)
    elif ext in (".tif", ".tiff"):
        if labels.size and (labels.min() < 0 or labels.max() > 65535):
            raise ValueError("uint16 TIFF labels must lie in [0, 65535]")
        Image.fromarray(labels.astype(np.uint16)).save(path)
    else:
        raise ValueError(f"unsupported label extension {ext!r}")


def default_ignore(ext: str) -> int:
    """The ignore value of a label format: 255 for 8-bit PNG, 65535 for uint16 TIFF."""
    return _DEFAULT_IGNORE[".tif" if ext.lower() in (".tif", ".tiff") else ext.lower()]
