"""Validation of a COCO-panoptic JSON: every problem is an error that names the file and image."""

from __future__ import annotations

from typing import Any

from ..errors import DatasetError
from .categories import CategorySet
from .panoptic_format import SegmentInfo


def build_records(data: dict[str, Any], categories: CategorySet, source: str) -> list:  # list[ImageRecord]
    from .dataset import ImageRecord

    images = {}
    for img in data["images"]:
        try:
            images[str(img["id"])] = img
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{source}: image entry without an id: {img!r}") from exc
    records = []
    seen: set[str] = set()
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
        segs = []
        for s in seg_list:
            try:
                seg = SegmentInfo.from_json(s)
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"{source}: image {image_id!r}: malformed segment {s!r}") from exc
            if seg.category_id not in categories:
                raise DatasetError(f"{source}: image {image_id!r}: segment {seg.id} has unknown category id {seg.category_id}")
            if seg.id == 0:
                raise DatasetError(f"{source}: image {image_id!r}: segment id 0 is reserved for VOID")
            segs.append(seg)
        ids = [s.id for s in segs]
        if len(set(ids)) != len(ids):
            raise DatasetError(f"{source}: image {image_id!r}: duplicate segment ids")
        records.append(
            ImageRecord(image_id, str(img.get("file_name", png_name.replace(".png", ".jpg"))), png_name,
                        int(img["height"]), int(img["width"]), tuple(segs))
        )
    return records
