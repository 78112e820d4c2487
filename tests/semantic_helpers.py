"""Test helper: a semantic-only dataset built from a panoptic one, as the semantic reader
represents label maps (docs/semantics.md): one stuff segment per class present, id = dense index
+ 1, every class stuff, VOID = ignore."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ovbench.data.categories import Category, CategorySet
from ovbench.data.dataset import PanopticDataset
from ovbench.data.panoptic_format import PanopticMap
from ovbench.data.writer import write_panoptic


def semantic_from_panoptic(ds: PanopticDataset, out: Path, name: str = "semantic_test") -> tuple[PanopticDataset, dict[str, np.ndarray]]:
    """Write `ds` as regions; return the dataset (task "semantic") and each image's dense label map."""
    cats = CategorySet(tuple(Category(c.id, c.name, False) for c in ds.categories))
    items, labels = [], {}
    for s in ds:
        lab = np.full(s.gt.shape, -1, dtype=np.int64)
        for seg in s.gt.segments:
            lab[s.gt.ids == seg.id] = cats.index_of(seg.category_id)
        labels[s.image_id] = lab
        items.append((s.image_id, PanopticMap.from_labels(lab, [int(c) for c in cats.ids])))
    write_panoptic(out / "sem.json", out / "sem", items, cats)
    sem = PanopticDataset(name, out / "sem.json", out / "sem", out / "images")
    sem.task = "semantic"  # type: ignore[attr-defined]
    return sem, labels
