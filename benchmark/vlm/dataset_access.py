"""Open the dataset the VLM oracle runs on, and the class-list facts it needs (no torch).

``open_dataset(name, root)``: a path to a COCO-panoptic JSON (PNG folder = the JSON's path without
``.json``; images under ``root`` or a sibling ``images/`` folder), else the dataset catalog
(``ovbench.data.catalog.get_dataset``).

``categories_with_synonyms`` attaches FC-CLIP synonyms from the matching shipped class list;
``seen_ids`` gives the seen classes from the taxonomy graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data.categories import Category, CategorySet
from ..data.dataset import PanopticDataset
from ..errors import ConfigError, DatasetError

SOURCE = "coco_panoptic_133"  # the training taxonomy of the models the paper studies


def open_dataset(name: str, root: str | Path | None = None) -> PanopticDataset:
    """A :class:`PanopticDataset` for a catalog name or a JSON path (see the module docstring)."""
    p = Path(name)
    if name.endswith(".json") or p.is_file():
        if not p.is_file():
            raise DatasetError(f"annotation file {p} does not exist")
        png_dir = p.with_suffix("")
        image_dir = Path(root) if root else (p.parent / "images")
        return PanopticDataset(p.stem, p, png_dir, image_dir)
    from ..data.catalog import get_dataset

    return get_dataset(name, root)


def categories_with_synonyms(categories: CategorySet) -> tuple[CategorySet, str | None]:
    """The dataset's categories with FC-CLIP synonyms from the matching shipped class list."""
    from .prompts import match_class_list

    list_name, ref = match_class_list(categories)
    if ref is None:
        return categories, None
    cats = tuple(Category(c.id, c.name, c.isthing, ref.categories[ref.index_of(c.id)].synonyms) for c in categories)
    return CategorySet(cats), list_name


SEEN_PROTOCOLS = ("fcclip_string", "graph_same", "graph_covered", "graph_any")


def seen_ids(categories: CategorySet, list_name: str | None, protocol: str = "fcclip_string") -> tuple[frozenset[int] | None, str, str]:
    """(seen dataset ids, protocol name, sha256 of the taxonomy graph), from the taxonomy graph
    (``ovbench.taxonomy.load_graph().seen_ids``) for the dataset's class list against COCO-133.
    ``fcclip_string`` is FC-CLIP's rule (64 seen ADE20K-150 classes, the paper's split). A dataset
    whose classes match no shipped class list has no seen/unseen split (None)."""
    from ..taxonomy import load_graph

    if protocol not in SEEN_PROTOCOLS:
        raise ConfigError(f"unknown seen/unseen protocol {protocol!r}; choose one of {', '.join(SEEN_PROTOCOLS)}")
    g = load_graph()
    if list_name is None:
        return None, protocol, g.sha256()
    ids = frozenset(int(i) for i in categories.ids)
    if list_name == SOURCE:
        return ids, protocol, g.sha256()
    got = g.seen_ids(target=list_name, source=SOURCE, protocol=protocol)
    return frozenset(int(i) for i in got) & ids, protocol, g.sha256()


def taxonomy_section(list_name: str | None, seen: frozenset[int] | None, protocol: str, sha256: str) -> dict[str, Any]:
    """The results file's ``taxonomy`` section (named as the runner names it)."""
    return {"name": f"{SOURCE}__{list_name}" if list_name else "none", "sha256": sha256, "seen_protocol": protocol,
            "num_seen": None if seen is None else len(seen)}


def dataset_summary(dataset: PanopticDataset, num_images: int) -> dict[str, Any]:
    from .report import dataset_key

    return {
        "name": dataset_key(dataset.name),
        "annotation_sha256": getattr(dataset, "annotation_sha256", None),
        "num_images": num_images,
        "num_classes": len(dataset.categories),
    }
