"""Named datasets and where they live on disk: the standard open-vocabulary evaluation suite.

Panoptic (COCO-panoptic JSON + PNG folder): ``coco_panoptic_val``, ``ade20k_panoptic_val``,
``cityscapes_panoptic_val``, ``mapillary_vistas_panoptic_val``. Semantic (one label image per RGB
image): ``ade20k_sem_seg_val`` (ADE20K-150, PNG), ``ade20k_full_sem_seg_val`` (847 classes, uint16 TIFF), ``pascal_ctx_459_sem_seg_val``
(uint16 TIFF), ``pascal_ctx_59_sem_seg_val``, ``pascal_voc_20_sem_seg_val`` and
``pascal_voc_21_sem_seg_val`` (8-bit PNG, 255 = ignore).

Each name maps to a :class:`DatasetLayout`: its task, its shipped class list and the paths,
relative to a datasets root, of the annotation JSON (panoptic only), the PNG / label folder and the
RGB image folder, with the variants used by detectron2 / Mask2Former / FC-CLIP and by MAFT+. The root is, in order of precedence: an explicit
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
from .semantic_dataset import SemanticDataset

ENV_VARS = ("OVBENCH_DATASETS", "DETECTRON2_DATASETS")
DEFAULT_ROOT = "datasets"
DOCS_HINT = "see docs/datasets.md for how to download and prepare it"


@dataclass(frozen=True)
class LayoutVariant:
    """Paths relative to a datasets root: annotation JSON (``""`` for semantic datasets), the
    panoptic PNG folder or semantic label folder, and the RGB image folder."""

    json: str
    png_dir: str
    image_dir: str
    source: str = ""

    @property
    def label_dir(self) -> str:
        """The semantic label folder (the same field as ``png_dir``)."""
        return self.png_dir


#: ``background`` values: the dataset has no background notion / counts it as class 0 (VOC-21) /
#: maps it to the ignore label (VOC-20, Pascal Context)
BACKGROUND_KINDS = ("none", "class", "ignore")


@dataclass(frozen=True)
class DatasetLayout:
    """A named dataset: its task, layout variants (the first is canonical, the one
    ``ovbench generate`` writes) and the shipped class list its categories match.

    task: ``panoptic`` (COCO-panoptic JSON + PNGs) or ``semantic`` (one label image per image).
    label_ext / ignore_label: semantic label files (``.png`` 8-bit with 255 = ignore, or ``.tif``
    uint16 with 65535 = ignore); a label value v < num_classes is the class at dense index v.
    background: ``class`` when background is counted as a class (VOC-21's class 0), ``ignore``
    when the preparation maps it to the ignore label (VOC-20, Pascal Context), ``none`` otherwise.
    image_ext: RGB image extension; image_layout: ``flat`` or ``city`` (Cityscapes' per-city
    sub-folders, ``leftImg8bit/val/<city>/<name>``).
    """

    name: str
    variants: tuple[LayoutVariant, ...]
    class_list: str
    description: str = ""
    task: str = "panoptic"
    label_ext: str = ""
    ignore_label: int | None = None
    background: str = "none"
    image_ext: str = ".jpg"
    image_layout: str = "flat"

    @property
    def canonical(self) -> LayoutVariant:
        return self.variants[0]

    @property
    def label_dir(self) -> str:
        """Canonical label folder (semantic) or panoptic PNG folder (panoptic)."""
        return self.canonical.png_dir

    @property
    def counts_background(self) -> bool:
        return self.background == "class"

    @property
    def num_classes(self) -> int:
        from ..taxonomy.classes import load_class_list

        return len(load_class_list(self.class_list))


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

CITYSCAPES_PANOPTIC_VAL = DatasetLayout(
    name="cityscapes_panoptic_val",
    variants=(
        LayoutVariant(
            "cityscapes/gtFine/cityscapes_panoptic_val.json",
            "cityscapes/gtFine/cityscapes_panoptic_val",
            "cityscapes/leftImg8bit/val",
            "detectron2 / FC-CLIP (cityscapesscripts createPanopticImgs.py; register_cityscapes_panoptic.py)",
        ),
    ),
    class_list="cityscapes_19",
    description="Cityscapes panoptic val (500 images, 8 things + 11 stuff; category ids = Cityscapes label ids)",
    image_ext=".png",
    image_layout="city",
)

MAPILLARY_VISTAS_PANOPTIC_VAL = DatasetLayout(
    name="mapillary_vistas_panoptic_val",
    variants=(
        LayoutVariant(
            "mapillary_vistas/validation/panoptic/panoptic_2018.json",
            "mapillary_vistas/validation/panoptic",
            "mapillary_vistas/validation/images",
            "Mask2Former / FC-CLIP (register_mapillary_vistas_panoptic.py, Vistas v1.2)",
        ),
    ),
    class_list="mapillary_vistas_65",
    description="Mapillary Vistas v1.2 panoptic validation (2000 images, 37 things + 28 stuff)",
)


def _sem(name: str, variants: tuple[LayoutVariant, ...], class_list: str, description: str, ext: str, background: str) -> DatasetLayout:
    return DatasetLayout(name=name, variants=variants, class_list=class_list, description=description, task="semantic",
                         label_ext=ext, ignore_label=65535 if ext == ".tif" else 255, background=background)


ADE20K_SEM_SEG_VAL = _sem(
    "ade20k_sem_seg_val",
    (LayoutVariant("", "ADEChallengeData2016/annotations_detectron2/validation", "ADEChallengeData2016/images/validation",
                   "detectron2 builtin ade20k_sem_seg_val (Mask2Former prepare_ade20k_sem_seg.py)"),),
    "ade20k_150", "ADE20K-150 semantic validation (2000 images; PNG labels, 'other' -> 255 = ignore)", ".png", "ignore",
)
ADE20K_FULL_SEM_SEG_VAL = _sem(
    "ade20k_full_sem_seg_val",
    (
        LayoutVariant("", "ADE20K_2021_17_01/annotations_detectron2/validation", "ADE20K_2021_17_01/images_detectron2/validation",
                      "Mask2Former / FC-CLIP register_ade20k_full.py"),
        LayoutVariant("", "ade/ADE20K_2021_17_01/annotations_detectron2/validation", "ade/ADE20K_2021_17_01/images_detectron2/validation",
                      "FC-CLIP / ODISE prepare_ade20k_full_sem_seg.py output folder"),
    ),
    "ade20k_847", "ADE20K-Full 847 classes, semantic (2000 images; uint16 TIFF labels, 65535 = ignore)", ".tif", "ignore",
)
PASCAL_CTX_459_SEM_SEG_VAL = _sem(
    "pascal_ctx_459_sem_seg_val",
    (LayoutVariant("", "pascal_ctx_d2/annotations_ctx459/validation", "pascal_ctx_d2/images/validation",
                   "FC-CLIP prepare_pascal_ctx_full_sem_seg.py / register_pascal_ctx_459_sem_seg.py"),),
    "pascal_ctx_459", "Pascal Context 459 classes, semantic (5105 images; uint16 TIFF labels, 65535 = ignore)", ".tif", "ignore",
)
PASCAL_CTX_59_SEM_SEG_VAL = _sem(
    "pascal_ctx_59_sem_seg_val",
    (LayoutVariant("", "pascal_ctx_d2/annotations_ctx59/validation", "pascal_ctx_d2/images/validation",
                   "FC-CLIP prepare_pascal_ctx_sem_seg.py / register_pascal_ctx_59_sem_seg.py"),),
    "pascal_ctx_59", "Pascal Context 59 classes, semantic (5105 images; PNG labels, 255 = ignore incl. background)", ".png", "ignore",
)
PASCAL_VOC_20_SEM_SEG_VAL = _sem(
    "pascal_voc_20_sem_seg_val",
    (LayoutVariant("", "pascal_voc_d2/annotations_pascal20/validation", "pascal_voc_d2/images/validation",
                   "FC-CLIP prepare_pascal_voc_sem_seg.py / register_pascal_voc_20_semantic.py"),),
    "pascal_voc_20", "Pascal VOC 2012 val, 20 classes, semantic (1449 images; background -> 255 = ignore)", ".png", "ignore",
)
PASCAL_VOC_21_SEM_SEG_VAL = _sem(
    "pascal_voc_21_sem_seg_val",
    (LayoutVariant("", "pascal_voc_d2/annotations_pascal21/validation", "pascal_voc_d2/images/validation",
                   "FC-CLIP prepare_pascal_voc_sem_seg.py / register_pascal_voc_21_semantic.py"),),
    "pascal_voc_21", "Pascal VOC 2012 val, 21 classes incl. background (class 0), semantic (1449 images; 255 = ignore)", ".png", "class",
)

DATASETS: Registry[DatasetLayout] = Registry("dataset")
for _layout in (
    COCO_PANOPTIC_VAL, ADE20K_PANOPTIC_VAL, CITYSCAPES_PANOPTIC_VAL, MAPILLARY_VISTAS_PANOPTIC_VAL,
    ADE20K_SEM_SEG_VAL, ADE20K_FULL_SEM_SEG_VAL, PASCAL_CTX_459_SEM_SEG_VAL, PASCAL_CTX_59_SEM_SEG_VAL,
    PASCAL_VOC_20_SEM_SEG_VAL, PASCAL_VOC_21_SEM_SEG_VAL,
):
    DATASETS.add(_layout.name, _layout)

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
    """Absolute paths of a dataset found on disk. ``json_path`` is None for semantic datasets;
    ``png_dir`` is then the label folder."""

    name: str
    root: Path
    json_path: Path | None
    png_dir: Path
    image_dir: Path
    variant: LayoutVariant
    layout: DatasetLayout | None = None

    @property
    def label_dir(self) -> Path:
        return self.png_dir


def resolve_dataset(name: str, root: str | os.PathLike[str] | None = None) -> ResolvedDataset:
    """Find dataset `name` on disk; DatasetError listing every path tried if it is not there."""
    layout = DATASETS.get(name)
    tried: list[str] = []
    for base, origin in dataset_roots(root):
        for v in layout.variants:
            p = base / v.png_dir
            if layout.task == "semantic":
                if p.is_dir():
                    return ResolvedDataset(name, base, None, p, base / v.image_dir, v, layout)
                tried.append(f"  {p}/ (root from {origin}; missing: {p})")
                continue
            j = base / v.json
            if j.is_file() and p.is_dir():
                return ResolvedDataset(name, base, j, p, base / v.image_dir, v, layout)
            missing = j if not j.is_file() else p
            tried.append(f"  {j} + {p}/ (root from {origin}; missing: {missing})")
    raise DatasetError(
        f"dataset {name!r} not found; tried:\n" + "\n".join(tried)
        + f"\nSet --dataset-root, $OVBENCH_DATASETS or $DETECTRON2_DATASETS to the folder that holds it; {DOCS_HINT}."
    )


def get_dataset(name: str, root: str | os.PathLike[str] | None = None) -> PanopticDataset | SemanticDataset:
    """Open the named dataset (see module docstring for the root search order): a
    :class:`PanopticDataset` or a :class:`SemanticDataset` (``.task`` tells which)."""
    r = resolve_dataset(name, root)
    return open_resolved(r)


def open_resolved(r: ResolvedDataset) -> PanopticDataset | SemanticDataset:
    """The dataset object for resolved paths."""
    layout = r.layout or DATASETS.get(r.name)
    if layout.task == "semantic":
        from ..taxonomy.classes import load_class_list

        assert layout.ignore_label is not None
        return SemanticDataset(r.name, r.png_dir, r.image_dir, load_class_list(layout.class_list),
                               label_ext=layout.label_ext, ignore_label=layout.ignore_label, image_ext=layout.image_ext)
    assert r.json_path is not None
    return PanopticDataset(r.name, r.json_path, r.png_dir, r.image_dir, image_layout=layout.image_layout)


def dataset_paths(name_or_layout: str, root: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """Canonical (json, png_dir, image_dir) of a dataset or layout name under `root` (for writers);
    for a semantic dataset ``json`` is the root itself and ``png_dir`` the label folder."""
    layout = LAYOUTS.get(name_or_layout) or DATASETS.get(name_or_layout)
    v = layout.canonical
    base = Path(root)
    return base / v.json, base / v.png_dir, base / v.image_dir


def get_layout(name_or_layout: str) -> DatasetLayout:
    """The :class:`DatasetLayout` of a dataset name or a short ``--layout`` name."""
    return LAYOUTS.get(name_or_layout) or DATASETS.get(name_or_layout)


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
        if DATASETS.get(layout).task != "panoptic":
            continue
        for v in DATASETS.get(layout).variants:
            if s.endswith("/" + v.json) or s == v.json:
                base = s[: len(s) - len(v.json)]
                return Path(base + v.png_dir) if base else Path(v.png_dir)
    return plain
