"""Category tables: the ordered classes of a dataset (ids, names, thing flags).

Panoptic maps carry *dataset* category ids (as in the COCO panoptic JSON); metric arrays are
indexed by the *dense* index 0..K-1 of a :class:`CategorySet`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DatasetError


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    isthing: bool
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategorySet:
    """Ordered categories. ``index_of(id)`` maps a dataset id to its dense index."""

    categories: tuple[Category, ...]
    _index: Mapping[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[int, int] = {}
        for i, c in enumerate(self.categories):
            if c.id in index:
                raise DatasetError(f"duplicate category id {c.id} ({c.name!r})")
            index[c.id] = i
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_coco(cls, categories: Iterable[Mapping[str, Any]], source: str = "categories") -> CategorySet:
        """Build from a COCO-panoptic ``categories`` list (dicts with id, name, isthing)."""
        cats = []
        for i, c in enumerate(categories):
            try:
                cats.append(Category(int(c["id"]), str(c["name"]), bool(c.get("isthing", 0))))
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"{source}: category #{i} is malformed ({exc!r}): {c!r}") from exc
        return cls(tuple(cats))

    def __len__(self) -> int:
        return len(self.categories)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.categories)

    def __contains__(self, category_id: object) -> bool:
        return category_id in self._index

    def index_of(self, category_id: int) -> int:
        try:
            return self._index[int(category_id)]
        except KeyError:
            raise DatasetError(f"unknown category id {category_id}") from None

    @property
    def ids(self) -> np.ndarray:
        """[K] int64 dataset ids in dense order."""
        return np.array([c.id for c in self.categories], dtype=np.int64)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.categories]

    @property
    def isthing(self) -> np.ndarray:
        """[K] bool thing flags in dense order."""
        return np.array([c.isthing for c in self.categories], dtype=bool)

    def by_name(self, name: str) -> Category:
        for c in self.categories:
            if c.name == name or c.name.strip() == name:
                return c
        raise KeyError(name)

    def mask(self, ids: Iterable[int]) -> np.ndarray:
        """[K] bool mask selecting the given dataset ids."""
        m = np.zeros(len(self), dtype=bool)
        for i in ids:
            m[self.index_of(i)] = True
        return m

    def to_coco(self) -> list[dict[str, Any]]:
        return [{"id": c.id, "name": c.name, "isthing": int(c.isthing)} for c in self.categories]

    def subset(self, ids: Sequence[int]) -> CategorySet:
        return CategorySet(tuple(self.categories[self.index_of(i)] for i in ids))
