"""Named datasets (``ade20k_panoptic_val``, ``coco_panoptic_val``) and where they live on disk.

Each name maps to a :class:`DatasetLayout`: the paths, relative to a datasets root, of the
COCO-panoptic JSON, the panoptic PNG folder and the RGB image folder, with the variants used by
detectron2 / Mask2Former / FC-CLIP and by MAFT+. The root is, in order of precedence: an explicit
``root`` (``--dataset-root``), ``$OVBENCH_DATASETS``, ``$DETECTRON2_DATASETS``, ``./datasets``.
With an explicit root only that root is searched; otherwise every root in that order, and the
first one holding the dataset wins. A missing dataset raises :class:`DatasetError` listing every
path tried. See docs/datasets.md for how to prepare the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError
from ..registry import Registry
from .dataset import PanopticDataset

ENV_VARS = ("OVBENCH_DATASETS", "DETECTRON2_DATASETS")
DEFAULT_ROOT = "datasets"
DOCS_HINT = "see docs/datasets.md for how to download and prepare it"


@dataclass(frozen=True)
class LayoutVariant:
    """Paths relative to a datasets root: annotation JSON, panoptic PNG folder, image folder."""

    json: str
    png_dir: str
    image_dir: str
    source: str = ""


@dataclass(frozen=True)
class DatasetLayout:
    """A named COCO-panoptic dataset: its layout variants (the first is canonical, the one
    ``ovbench generate`` writes) and the shipped class list its categories match."""

    name: str
    variants: tuple[LayoutVariant, ...]
    class_list: str
    description: str = ""

    @property
    def canonical(self) -> LayoutVariant:
        return self.variants[0]


ADE20K_PANOPTIC_VAL = DatasetLayout(
    name="ade20k_panoptic_val",
    variants=(
        LayoutVariant(
            "ADEChallengeData2016/ade20k_panoptic_val.json",
            "ADEChallengeData2016/ade20k_panoptic_val",
            "ADEChallengeData2016/images/validation",
            "detectron2 / Mask2Former / FC-CLIP (prepare_ade20k_pan_seg.py)",
        ),
        LayoutVariant(
            "ADEChallengeData2016/panoptic/ade20k_panoptic_val.json",
            "ADEChallengeData2016/panoptic/ade20k_panoptic_val",
            "ADEChallengeData2016/images/validation",
            "MAFT+",
        ),
        LayoutVariant(
            "ade20k/ADEChallengeData2016/panoptic/ade20k_panoptic_val.json",
            "ade20k/ADEChallengeData2016/panoptic/ade20k_panoptic_val",
            "ade20k/ADEChallengeData2016/images/validation",
            "MAFT+ ($DETECTRON2_DATASETS/ade20k)",
        ),
        LayoutVariant(
            "ade20k/ADEChallengeData2016/ade20k_panoptic_val.json",
            "ade20k/ADEChallengeData2016/ade20k_panoptic_val",
            "ade20k/ADEChallengeData2016/images/validation",
            "detectron2 layout under ade20k/",
        ),
    ),
    class_list="ade20k_150",
    description="ADE20K-150 panoptic validation (2000 images, 100 things + 50 stuff)",
)

COCO_PANOPTIC_VAL = DatasetLayout(
    name="coco_panoptic_val",
    variants=(
        LayoutVariant(
            "coco/annotations/panoptic_val2017.json", "coco/panoptic_val2017", "coco/val2017", "detectron2",
        ),
    ),
    class_list="coco_panoptic_133",
    description="COCO panoptic val2017 (5000 images, 80 things + 53 stuff)",
)

DATASETS: Registry[DatasetLayout] = Registry("dataset")
DATASETS.add(ADE20K_PANOPTIC_VAL.name, ADE20K_PANOPTIC_VAL)
DATASETS.add(COCO_PANOPTIC_VAL.name, COCO_PANOPTIC_VAL)

#: short layout names used by ``ovbench generate --layout``
LAYOUTS: dict[str, DatasetLayout] = {"ade20k": ADE20K_PANOPTIC_VAL, "coco": COCO_PANOPTIC_VAL}


def dataset_roots(root: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """Candidate roots in order of precedence, each with where it came from."""
    if root is not None:
        return [(Path(root), "--dataset-root")]
    out: list[tuple[Path, str]] = []
    for var in ENV_VARS:
        value = os.environ.get(var)
        if value:
            out.append((Path(value), f"${var}"))
    out.append((Path(DEFAULT_ROOT), "./datasets"))
    return out


@dataclass(frozen=True)
class ResolvedDataset:
    name: str
    root: Path
    json_path: Path
    png_dir: Path
    image_dir: Path
    variant: LayoutVariant


def resolve_dataset(name: str, root: str | os.PathLike[str] | None = None) -> ResolvedDataset:
    """Find dataset `name` on disk; DatasetError listing every path tried if it is not there."""
    layout = DATASETS.get(name)
    tried: list[str] = []
    for base, origin in dataset_roots(root):
        for v in layout.variants:
            j, p = base / v.json, base / v.png_dir
            if j.is_file() and p.is_dir():
                return ResolvedDataset(name, base, j, p, base / v.image_dir, v)
            missing = j if not j.is_file() else p
            tried.append(f"  {j} + {p}/ (root from {origin}; missing: {missing})")
    raise DatasetError(
        f"dataset {name!r} not found; tried:\n" + "\n".join(tried)
        + f"\nSet --dataset-root, $OVBENCH_DATASETS or $DETECTRON2_DATASETS to the folder that holds it; {DOCS_HINT}."
    )


def get_dataset(name: str, root: str | os.PathLike[str] | None = None) -> PanopticDataset:
    """Open the named dataset (see module docstring for the root search order)."""
    r = resolve_dataset(name, root)
    return PanopticDataset(name, r.json_path, r.png_dir, r.image_dir)


def dataset_paths(name_or_layout: str, root: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """Canonical (json, png_dir, image_dir) of a dataset or layout name under `root` (for writers)."""
    layout = LAYOUTS.get(name_or_layout) or DATASETS.get(name_or_layout)
    v = layout.canonical
    base = Path(root)
    return base / v.json, base / v.png_dir, base / v.image_dir


def default_png_dir(json_path: str | os.PathLike[str]) -> Path:
    """The PNG folder that goes with a COCO-panoptic JSON: the JSON path without ``.json``
    (panopticapi's default) if that folder exists, else the folder of the known layout whose JSON
    path the given path ends with (``coco/annotations/panoptic_val2017.json`` ->
    ``coco/panoptic_val2017``), else the panopticapi default."""
    j = Path(json_path)
    plain = j.with_suffix("") if j.suffix == ".json" else Path(str(j) + "_png")
    if plain.is_dir():
        return plain
    s = j.as_posix()
    for layout in DATASETS.names():
        for v in DATASETS.get(layout).variants:
            if s.endswith("/" + v.json) or s == v.json:
                base = s[: len(s) - len(v.json)]
                return Path(base + v.png_dir) if base else Path(v.png_dir)
    return plain
