"""Validation of a COCO-panoptic JSON: every problem is an error that names the file and image."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from ..errors import DatasetError
from .categories import CategorySet
from .panoptic_format import SegmentInfo


def strict_int(value: Any, what: str, error: type[Exception] = DatasetError) -> int:
    """`value` if it is a JSON integer; a float (156.5, even 156.0), string or bool is an error naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise error(f"{what} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def safe_relative_name(name: Any, what: str, error: type[Exception] = DatasetError) -> str:
    """A file name relative to its folder: absolute paths and ``..`` components are errors naming `what`."""
    if not isinstance(name, str) or not name:
        raise error(f"{what} must be a non-empty string, got {name!r}")
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive or ".." in p.parts:
        raise error(f"{what} {name!r} must be a path inside the folder (no absolute path, no '..')")
    return name


def folder_problem(path: Path) -> str:
    """Why `path` is not a usable folder: "does not exist", "is a symbolic link loop", "is not a folder", ..."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop (it resolves to itself)"
        if exc.errno == errno.ENOENT:
            if os.path.islink(path):
                return f"is a symbolic link to {os.readlink(path)!r}, which does not exist"
            return "does not exist"
        return f"cannot be read ({exc.strerror})"
    return "is not a folder" if not stat.S_ISDIR(st.st_mode) else "is a folder"


def build_records(data: dict[str, Any], categories: CategorySet, source: str, *, require_area: bool = True) -> list:  # list[ImageRecord]
    """Parse and check the ``images`` / ``annotations`` of a COCO-panoptic JSON -> ImageRecords
    in annotation order. Errors name `source` and the image: missing keys, an annotation without
    an image entry, two annotations for one image, malformed segments, unknown category ids,
    segment id 0, duplicate segment ids, missing or negative areas, bad image sizes."""
    return list(iter_records(data, categories, source, require_area=require_area))


def iter_records(data: dict[str, Any], categories: CategorySet, source: str, *, require_area: bool = True) -> Iterator[Any]:
    """:func:`build_records` as a generator: each annotation is checked when it is reached."""
    from .dataset import ImageRecord

    images = {}
    for img in data["images"]:
        try:
            images[str(img["id"])] = img
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{source}: image entry without an id: {img!r}") from exc
    seen: set[str] = set()
    known = set(categories.ids.tolist())
    for ann in data["annotations"]:
        try:
            image_id = str(ann["image_id"])
            png_name = str(ann["file_name"])
            seg_list = ann["segments_info"]
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{source}: annotation is missing {exc}: {str(ann)[:200]}") from exc
        safe_relative_name(png_name, f"{source}: image {image_id!r}: file_name")
        if image_id in seen:
            raise DatasetError(f"{source}: image {image_id!r} has two annotations")
        seen.add(image_id)
        img = images.get(image_id)
        if img is None:
            raise DatasetError(f"{source}: annotation for image {image_id!r} has no entry in 'images'")
        if not isinstance(seg_list, list):
            raise DatasetError(f"{source}: image {image_id!r}: segments_info must be a list, got {type(seg_list).__name__}")
        segs: list[SegmentInfo] = []
        ids = set()
        for s in seg_list:
            try:
                sid = strict_int(s["id"], f"{source}: image {image_id!r}: segment #{len(segs)}: id")
                seg = SegmentInfo(sid, strict_int(s["category_id"], f"{source}: image {image_id!r}: segment {sid}: category_id"),
                                  bool(s.get("iscrowd", 0)), int(s.get("area", 0)))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise DatasetError(f"{source}: image {image_id!r}: malformed segment {s!r}") from exc
            if require_area and "area" not in s:
                raise DatasetError(
                    f"{source}: image {image_id!r}: segment {seg.id} has no 'area' (panopticapi takes ground-truth areas from the JSON)"
                )
            if seg.area < 0:
                raise DatasetError(f"{source}: image {image_id!r}: segment {seg.id} has negative area {seg.area}")
            if seg.category_id not in known:
                raise DatasetError(f"{source}: image {image_id!r}: segment {seg.id} has unknown category id {seg.category_id}")
            if seg.id == 0:
                raise DatasetError(f"{source}: image {image_id!r}: segment id 0 is reserved for VOID")
            if seg.id in ids:
                dup = sorted({x.id for x in segs if x.id == seg.id})
                raise DatasetError(f"{source}: image {image_id!r}: duplicate segment id(s) {dup[:5]}")
            ids.add(seg.id)
            segs.append(seg)
        try:
            height, width = int(img["height"]), int(img["width"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{source}: image {image_id!r}: entry in 'images' has no valid height/width ({exc!r})") from exc
        if height <= 0 or width <= 0:
            raise DatasetError(f"{source}: image {image_id!r}: size {width}x{height} is not positive")
        image_name = safe_relative_name(img.get("file_name", png_name.replace(".png", ".jpg")),
                                        f"{source}: image {image_id!r}: images[].file_name")
        yield ImageRecord(image_id, image_name, png_name,
                          height, width, tuple(segs))


# ---- full check of a dataset on disk (JSON against every PNG) ------------------------------------
@dataclass(frozen=True)
class ValidationReport:
    """Outcome of :func:`validate_dataset` (raised errors aside).

    gt_segments_without_pixels: JSON segments with no PNG pixels (legal for ADE20K, whose stuff
    areas are counted before things are painted over them; panopticapi counts them as FN).
    segments_with_area_above_pixels: JSON area > PNG pixel count (same cause).
    """

    num_images: int
    num_segments: int
    gt_segments_without_pixels: int
    segments_with_area_above_pixels: int


def _check_chunk(args: tuple[str, list[tuple[str, str, int, int, tuple[SegmentInfo, ...]]]]) -> tuple[int, int, int, int]:
    from pathlib import Path

    from .panoptic_format import count_ids
    from .png_io import read_panoptic_png

    png_dir, items = args
    n_seg = empty = above = 0
    for image_id, png_name, h, w, segs in items:
        pm = read_panoptic_png(Path(png_dir) / png_name, segs, (h, w), what=f"image {image_id!r} (ground truth)")
        counts = count_ids(pm.ids, pm.segment_ids())
        n_seg += len(segs)
        empty += int((counts == 0).sum())
        above += int(sum(1 for s, c in zip(segs, counts) if s.area > c))
    return len(items), n_seg, empty, above


def validate_dataset(dataset: Any, *, workers: int | None = None, chunk_size: int = 32) -> ValidationReport:
    """Check every image of a :class:`~ovbench.data.dataset.PanopticDataset`: the JSON (unknown
    categories, duplicate ids, ...) and each PNG against it (missing file, not 8-bit RGB, size,
    ids in the PNG but not in the JSON, JSON area below the pixel count). Raises DatasetError
    naming the file on the first problem; returns counts of the tolerated ADE20K quirks."""
    from ..pools import worker_pool
    from ..workers import default_workers

    recs = dataset.records
    items = [(r.image_id, r.png_name, r.height, r.width, r.segments) for r in recs]
    tasks = [(str(dataset.png_dir), items[i : i + chunk_size]) for i in range(0, len(items), chunk_size)]
    workers = default_workers() if workers is None else workers
    totals = [0, 0, 0, 0]
    if workers <= 1 or len(tasks) <= 1:
        results = map(_check_chunk, tasks)
        for r in results:
            totals = [a + b for a, b in zip(totals, r)]
    else:
        with worker_pool(min(workers, len(tasks))) as pool:
            for r in pool.imap_unordered(_check_chunk, tasks):
                totals = [a + b for a, b in zip(totals, r)]
    return ValidationReport(*totals)
