"""A semantic-segmentation dataset on disk: a folder of label images + a folder of RGB images.

The detectron2 ``load_sem_seg`` layout that Mask2Former / FC-CLIP use for ADE20K-847, Pascal
Context-59/459 and Pascal VOC-20/21: ``<label_dir>/<stem><label_ext>`` next to
``<image_dir>/<stem><image_ext>``; the image id is the stem. Label value v < K is the class at
dense index v of the class list; ``ignore_label`` (255 for PNG, 65535 for uint16 TIFF) is ignored.

The same public interface as :class:`~ovbench.data.dataset.PanopticDataset`, with
``task = "semantic"``. Ground truth comes as *regions*: a :class:`PanopticMap` with one segment
per class present (segment id = dense index + 1, category id = the class list's id, iscrowd 0,
area recounted), ignored pixels VOID (0). Every class is stuff in :attr:`categories`, so the
panoptic machinery (matching, mIoU, oracles on GT regions) runs unchanged; see docs/datasets.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .categories import Category, CategorySet
from .dataset import ImageRecord, Sample
from .semantic_labels import label_size, labels_to_regions, read_label


@dataclass(frozen=True)
class SemanticValidationReport:
    """Outcome of :meth:`SemanticDataset.validate`: images checked, label pixels per outcome."""

    num_images: int
    images_checked: int
    ignored_pixels: int
    labelled_pixels: int
    classes_present: int


class SemanticDataset:
    """Reader for a folder of semantic label images (see module docstring).

    categories: the class list in label-value order (dense index v = label value v), all marked
    stuff; ``class_categories`` keeps the class list's own thing flags.
    """

    task = "semantic"

    def __init__(
        self,
        name: str,
        label_dir: str | Path,
        image_dir: str | Path | None,
        categories: CategorySet,
        *,
        label_ext: str,
        ignore_label: int,
        image_ext: str = ".jpg",
    ) -> None:
        self.name = name
        self.label_dir = Path(label_dir)
        self.png_dir = self.label_dir  # the PanopticDataset attribute name, for shared tools
        self.image_dir = Path(image_dir) if image_dir is not None else self.label_dir
        self.label_ext = label_ext
        self.image_ext = image_ext
        self.ignore_label = int(ignore_label)
        if not self.label_dir.is_dir():
            raise DatasetError(f"dataset {name!r}: label folder {self.label_dir} does not exist")
        if self.ignore_label < len(categories):
            raise DatasetError(f"dataset {name!r}: ignore label {ignore_label} collides with a class index (< {len(categories)})")
        self.class_categories = categories
        self.categories = CategorySet(tuple(Category(c.id, c.name, False, c.synonyms) for c in categories))
        self._ids = self.categories.ids

    @cached_property
    def label_files(self) -> list[Path]:
        """Label files, sorted by name (detectron2's ``load_sem_seg`` order)."""
        files = sorted(p for p in self.label_dir.iterdir() if p.suffix.lower() == self.label_ext and p.is_file())
        others = sorted({p.suffix for p in self.label_dir.iterdir() if p.is_file() and p.suffix.lower() != self.label_ext})
        if not files and others:
            raise DatasetError(
                f"dataset {self.name!r}: {self.label_dir} holds no {self.label_ext} label files (found {', '.join(others)})"
            )
        return files

    @cached_property
    def records(self) -> list[ImageRecord]:
        """One record per label file (size from the label header; no segments before reading)."""
        out = []
        for p in self.label_files:
            h, w = label_size(p, what=f"dataset {self.name!r}")
            out.append(ImageRecord(p.stem, p.stem + self.image_ext, p.name, h, w, ()))
        return out

    @cached_property
    def _by_id(self) -> dict[str, int]:
        return {r.image_id: i for i, r in enumerate(self.records)}

    @cached_property
    def annotation_sha256(self) -> str:
        """SHA-256 over the label files (name and content hash of each, in name order)."""
        h = hashlib.sha256()
        for p in self.label_files:
            h.update(p.name.encode("utf-8") + b"\0" + hashlib.sha256(p.read_bytes()).hexdigest().encode("ascii") + b"\n")
        return h.hexdigest()

    def __len__(self) -> int:
        return len(self.records)

    def image_ids(self) -> list[str]:
        return [r.image_id for r in self.records]

    def record(self, image_id: str) -> ImageRecord:
        try:
            return self.records[self._by_id[image_id]]
        except KeyError:
            raise DatasetError(f"dataset {self.name!r}: no image with id {image_id!r}") from None

    def image_path(self, rec: ImageRecord) -> Path:
        return self.image_dir / rec.file_name

    def labels(self, image_id: str) -> Any:
        """[H, W] int32 dense class indices of one image, -1 where ignored (validated)."""
        rec = self.record(image_id)
        return read_label(self.label_dir / rec.png_name, num_classes=len(self.categories), ignore_label=self.ignore_label,
                          shape=(rec.height, rec.width), what=f"image {image_id!r} (ground truth)")

    def sample(self, image_id: str) -> Sample:
        """Load and validate the ground truth of one image as regions (see module docstring)."""
        rec = self.record(image_id)
        gt = labels_to_regions(self.labels(image_id), self._ids)
        return Sample(rec.image_id, self.image_path(rec), gt, rec.height, rec.width)

    def __iter__(self) -> Iterator[Sample]:
        for r in self.records:
            yield self.sample(r.image_id)

    def validate(self, *, workers: int | None = None) -> SemanticValidationReport:
        """Read every label (mode / bit depth, values) and check each existing RGB image's size
        against its label. A missing image is an error when the image folder exists; when it does
        not (synthetic data without images) images are not checked. Raises DatasetError naming the
        file on the first problem. ``workers`` is accepted for interface parity (labels are read
        in this process)."""
        import numpy as np

        check_images = self.image_dir.is_dir() and self.image_dir != self.label_dir
        ignored = labelled = checked = 0
        present = np.zeros(len(self.categories), dtype=bool)
        for rec in self.records:
            lab = self.labels(rec.image_id)
            ignored += int((lab < 0).sum())
            labelled += int((lab >= 0).sum())
            present[np.unique(lab[lab >= 0])] = True
            if check_images:
                img = self.image_path(rec)
                if not img.is_file():
                    raise DatasetError(f"dataset {self.name!r}: image {rec.image_id!r}: RGB image {img} does not exist "
                                       f"(label {self.label_dir / rec.png_name})")
                h, w = label_size(img, what=f"image {rec.image_id!r}")
                if (h, w) != (rec.height, rec.width):
                    raise DatasetError(f"dataset {self.name!r}: image {rec.image_id!r}: {img} is {w}x{h} but its label "
                                       f"{self.label_dir / rec.png_name} is {rec.width}x{rec.height}")
                checked += 1
        return SemanticValidationReport(len(self.records), checked, ignored, labelled, int(present.sum()))
