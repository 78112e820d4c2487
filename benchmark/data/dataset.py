"""A COCO-panoptic-format dataset on disk (JSON + folder of PNGs + folder of images).

Both ADE20K panoptic and COCO panoptic use this format in the detectron2 layout; see
:mod:`ovbench.data.catalog` for the named datasets and their paths.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from .categories import CategorySet
from .panoptic_format import PanopticMap, SegmentInfo
from .png_io import read_panoptic_png


@dataclass(frozen=True)
class ImageRecord:
    """The JSON side of one image: ids, file names, size and segments."""

    image_id: str
    file_name: str  # the RGB image, relative to the image folder
    png_name: str  # the panoptic PNG, relative to the panoptic folder
    height: int
    width: int
    segments: tuple[SegmentInfo, ...]


@dataclass(frozen=True)
class Sample:
    """One evaluation image. ``gt`` is the validated ground truth; ``image_path`` may not exist
    (synthetic data without RGB images, or evaluation of predictions only)."""

    image_id: str
    image_path: Path
    gt: PanopticMap
    height: int
    width: int

    def load_image(self) -> np.ndarray:
        """[H, W, 3] uint8 RGB, a writable C-contiguous array the caller owns (``torch.from_numpy``
        takes it without a warning)."""
        from PIL import Image

        if not self.image_path.exists():
            raise DatasetError(f"image {self.image_id!r}: RGB image {self.image_path} does not exist")
        with Image.open(self.image_path) as im:
            arr = np.array(im.convert("RGB"))
        if arr.shape[:2] != (self.height, self.width):
            raise DatasetError(
                f"image {self.image_id!r}: {self.image_path} is {arr.shape[1]}x{arr.shape[0]} but the JSON says {self.width}x{self.height}"
            )
        return arr


class PanopticDataset:
    """Reader for a COCO-panoptic JSON with its PNG folder and image folder.

    ``name`` is the catalog name (e.g. ``ade20k_panoptic_val``); ``categories`` come from the JSON.
    ``image_layout``: ``flat`` (images directly in ``image_dir``) or ``city`` (Cityscapes:
    ``image_dir/<city>/<file_name>``, the city being the file name's first ``_`` field).
    """

    task = "panoptic"

    def __init__(self, name: str, json_path: str | Path, png_dir: str | Path, image_dir: str | Path | None = None,
                 *, image_layout: str = "flat") -> None:
        self.name = name
        if image_layout not in ("flat", "city"):
            raise DatasetError(f"dataset {name!r}: unknown image_layout {image_layout!r} (flat or city)")
        self.image_layout = image_layout
        self.json_path = Path(json_path)
        self.png_dir = Path(png_dir)
        self.image_dir = Path(image_dir) if image_dir is not None else self.png_dir
        if not self.json_path.is_file():
            raise DatasetError(f"dataset {name!r}: annotation file {self.json_path} does not exist")
        if not self.png_dir.is_dir():
            from .validate import folder_problem

            raise DatasetError(f"dataset {name!r}: panoptic PNG folder {self.png_dir} {folder_problem(self.png_dir)}")
        try:
            with open(self.json_path, "rb") as f:
                raw = f.read()
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{self.json_path}: not valid JSON ({exc})") from exc
        self.annotation_sha256 = hashlib.sha256(raw).hexdigest()
        self._data: dict[str, Any] = data
        for key in ("images", "annotations", "categories"):
            if key not in data:
                raise DatasetError(f"{self.json_path}: missing top-level key {key!r}")
        self.categories = CategorySet.from_coco(data["categories"], source=str(self.json_path))

    @cached_property
    def records(self) -> list[ImageRecord]:
        """Image records in the order of the JSON's ``annotations`` list."""
        from .validate import build_records

        return build_records(self._data, self.categories, str(self.json_path))

    @cached_property
    def _by_id(self) -> dict[str, int]:
        return {r.image_id: i for i, r in enumerate(self.records)}

    def __len__(self) -> int:
        return len(self.records)

    def image_ids(self) -> list[str]:
        return [r.image_id for r in self.records]

    def record(self, image_id: str) -> ImageRecord:
        try:
            return self.records[self._by_id[image_id]]
        except KeyError:
            raise DatasetError(f"dataset {self.name!r}: no image with id {image_id!r}") from None

    def sample(self, image_id: str) -> Sample:
        """Load and validate the ground truth of one image."""
        rec = self.record(image_id)
        gt = read_panoptic_png(self.png_dir / rec.png_name, rec.segments, (rec.height, rec.width), what="ground truth")
        return Sample(rec.image_id, self.image_path(rec), gt, rec.height, rec.width)

    def image_path(self, rec: ImageRecord) -> Path:
        """Where the RGB image of a record lives (see ``image_layout``)."""
        if self.image_layout == "city":
            return self.image_dir / rec.file_name.split("_", 1)[0] / rec.file_name
        return self.image_dir / rec.file_name

    def __iter__(self) -> Iterator[Sample]:
        for r in self.records:
            yield self.sample(r.image_id)

    def validate(self, *, workers: int | None = None) -> Any:
        """Check the JSON and every PNG against it (see :func:`ovbench.data.validate.validate_dataset`);
        returns a :class:`~ovbench.data.validate.ValidationReport`."""
        from .validate import validate_dataset

        return validate_dataset(self, workers=workers)
