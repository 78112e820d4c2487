"""Validation of a COCO-panoptic JSON: every problem is an error that names the file and image."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import DatasetError
from .categories import CategorySet
from .panoptic_format import SegmentInfo


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
                seg = SegmentInfo(int(s["id"]), int(s["category_id"]), bool(s.get("iscrowd", 0)), int(s.get("area", 0)))
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
        yield ImageRecord(image_id, str(img.get("file_name", png_name.replace(".png", ".jpg"))), png_name,
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
