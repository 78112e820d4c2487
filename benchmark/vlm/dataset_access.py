"""Open the dataset the VLM oracle runs on, and the class-list facts it needs (no torch).

``open_dataset(name, root)``: a path to a COCO-panoptic JSON (PNG folder = the JSON's path without
``.json``; images under ``root`` or a sibling ``images/`` folder), else the dataset catalog
(``ovbench.data.catalog.get_dataset``), else the detectron2 layouts of ADE20K / COCO panoptic val
under ``root`` (fallback while the catalog is not available).

``categories_with_synonyms`` attaches FC-CLIP synonyms from the matching shipped class list;
``seen_ids`` gives the seen classes (taxonomy graph if available, else FC-CLIP's synonym rule).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..data.categories import Category, CategorySet
from ..data.dataset import PanopticDataset
from ..errors import ConfigError, DatasetError

_LAYOUTS: dict[str, tuple[str, str, str]] = {
    # name: (json, png dir, image dir), relative to the dataset root (detectron2 layout)
    "ade20k_panoptic_val": ("ADEChallengeData2016/ade20k_panoptic_val.json", "ADEChallengeData2016/ade20k_panoptic_val",
                            "ADEChallengeData2016/images/validation"),
    "coco_panoptic_val": ("coco/annotations/panoptic_val2017.json", "coco/panoptic_val2017", "coco/val2017"),
}


def open_dataset(name: str, root: str | Path | None = None) -> PanopticDataset:
    """A :class:`PanopticDataset` for a catalog name or a JSON path (see the module docstring)."""
    p = Path(name)
    if name.endswith(".json") or p.is_file():
        if not p.is_file():
            raise DatasetError(f"annotation file {p} does not exist")
        png_dir = p.with_suffix("")
        image_dir = Path(root) if root else (p.parent / "images")
        return PanopticDataset(p.stem, p, png_dir, image_dir)
    try:
        from ..data.catalog import get_dataset  # the dataset catalog (ovbench.data.catalog)
    except ImportError:
        return _fallback_layout(name, root)
    return get_dataset(name, root)


def _fallback_layout(name: str, root: str | Path | None) -> PanopticDataset:
    if name not in _LAYOUTS:
        raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(_LAYOUTS)} or a path to a COCO-panoptic JSON")
    base = Path(root) if root else Path("datasets")
    js, png, img = _LAYOUTS[name]
    return PanopticDataset(name, base / js, base / png, base / img)


def categories_with_synonyms(categories: CategorySet) -> tuple[CategorySet, str | None]:
    """The dataset's categories with FC-CLIP synonyms from the matching shipped class list."""
    from .prompts import match_class_list

    list_name, ref = match_class_list(categories)
    if ref is None:
        return categories, None
    cats = tuple(Category(c.id, c.name, c.isthing, ref.categories[ref.index_of(c.id)].synonyms) for c in categories)
    return CategorySet(cats), list_name


SEEN_PROTOCOLS = ("fcclip_string", "graph_same", "graph_covered", "graph_any")


def seen_ids(categories: CategorySet, list_name: str | None, protocol: str = "fcclip_string") -> tuple[frozenset[int], str, str | None]:
    """(seen dataset ids, protocol name, sha256 of the taxonomy files used).

    Asks the taxonomy graph (``ovbench.taxonomy.load_graph().seen_ids``) for the dataset's class
    list against COCO-133. ``fcclip_string`` (FC-CLIP's rule: a synonym equals a COCO-133 synonym;
    64 seen ADE20K-150 classes, the paper's split) falls back to :func:`fcclip_seen_ids` when the
    graph is unavailable or does not cover the class list; the graph protocols need the graph.
    """
    if protocol not in SEEN_PROTOCOLS:
        raise ConfigError(f"unknown seen/unseen protocol {protocol!r}; choose one of {', '.join(SEEN_PROTOCOLS)}")
    ids = frozenset(int(i) for i in categories.ids)
    error: Exception | None = None
    if list_name is not None:
        try:
            from ..taxonomy import load_graph

            got = load_graph().seen_ids(target=list_name, source="coco_panoptic_133", protocol=protocol)
            return frozenset(int(i) for i in got) & ids, protocol, _taxonomy_sha(list_name)
        except Exception as exc:  # the graph is optional for FC-CLIP's rule
            error = exc
    if protocol != "fcclip_string":
        raise ConfigError(f"seen/unseen protocol {protocol!r} needs the taxonomy graph for the dataset's class list "
                          f"({list_name or 'no shipped class list matches the dataset'}): {error}")
    from ..taxonomy.classes import load_class_list
    from ..taxonomy.seen import fcclip_seen_ids

    coco = load_class_list("coco_panoptic_133")
    cats, _ = categories_with_synonyms(categories)
    return fcclip_seen_ids(cats, coco), "fcclip_string", _taxonomy_sha(list_name)


def _taxonomy_sha(list_name: str | None) -> str | None:
    from ..taxonomy.classes import taxonomy_dir

    h = hashlib.sha256()
    for n in ("coco_panoptic_133", list_name):
        if not n:
            continue
        path = Path(taxonomy_dir()) / f"{n}.yaml"
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def dataset_summary(dataset: PanopticDataset, num_images: int) -> dict[str, Any]:
    from .report import dataset_key

    return {
        "name": dataset_key(dataset.name),
        "annotation_sha256": getattr(dataset, "annotation_sha256", None),
        "num_images": num_images,
        "num_classes": len(dataset.categories),
    }
