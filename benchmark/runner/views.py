"""Taxonomy-derived views of a dataset's classes: seen/unseen, conflict classes, harmonisations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data.categories import CategorySet


@dataclass(frozen=True)
class ClassViews:
    """Class splits and harmonisations for one dataset vocabulary (dense masks are [K] bool)."""

    target: str | None  # class-list name of the dataset in the taxonomy graph (None: unknown)
    source: str
    seen_protocol: str
    seen_ids: frozenset[int] | None
    conflict_ids: frozenset[int] | None
    harmonisations: dict[str, Any] = field(default_factory=dict)
    taxonomy_sha256: str = ""
    graph: Any = None
    has_mapping: bool = True  # False: the class list is known but no source -> target mapping is loaded

    @property
    def in_domain(self) -> bool:
        """The dataset's vocabulary is the training taxonomy itself (e.g. COCO val for a COCO-trained
        model): every class is seen, there are no conflicts and nothing is harmonised."""
        return self.target is not None and self.target == self.source

    def seen_mask(self, categories: CategorySet) -> np.ndarray | None:
        return None if self.seen_ids is None else np.isin(categories.ids, list(self.seen_ids))

    def conflict_mask(self, categories: CategorySet) -> np.ndarray | None:
        return None if self.conflict_ids is None else np.isin(categories.ids, list(self.conflict_ids))

    def taxonomy_json(self) -> dict[str, Any]:
        return {
            "name": f"{self.source}__{self.target}" if self.target else "none",
            "sha256": self.taxonomy_sha256,
            "seen_protocol": self.seen_protocol,
            "num_seen": None if self.seen_ids is None else len(self.seen_ids),
            "in_domain": self.in_domain,
        }


def _same_classes(a: CategorySet, b: CategorySet) -> bool:
    return len(a) == len(b) and all(x.id == y.id and x.name.strip() == y.name.strip() for x, y in zip(a, b))


def resolve_views(categories: CategorySet, source: str, seen_protocol: str, *, harmonise: bool = True) -> ClassViews:
    """Find the dataset's class list in the taxonomy graph and derive its views.

    A dataset whose classes are not a known class list gets no seen/unseen split, no conflict
    classes and no harmonisations (the results file then says so: ``taxonomy.name == "none"``).
    """
    from ..taxonomy import load_graph

    g = load_graph()
    target = None
    names = g.datasets() if hasattr(g, "datasets") else ["ade20k_150", "coco_panoptic_133", "cityscapes_19"]
    for name in names:
        if _same_classes(g.classes(name), categories):
            target = name
            break
    if target is None:
        return ClassViews(None, source, seen_protocol, None, None, {}, g.sha256(), g)
    if target == source:  # in-domain: identity mapping, no YAML needed (every class seen, no conflicts)
        seen: frozenset[int] = frozenset(int(i) for i in categories.ids)
        return ClassViews(target, source, seen_protocol, seen, frozenset(), {}, g.sha256(), g)
    if (source, target) not in set(g.mappings()):
        # a known class list without a mapping YAML: FC-CLIP's string rule still splits seen/unseen
        # (it needs only the two class lists); conflicts and harmonisations are unknown, not empty
        from ..taxonomy.seen import fcclip_seen_ids

        fallback = fcclip_seen_ids(g.classes(target), g.classes(source)) if seen_protocol == "fcclip_string" else None
        return ClassViews(target, source, seen_protocol, None if fallback is None else frozenset(fallback), None, {},
                          g.sha256(), g, has_mapping=False)
    seen = g.seen_ids(target=target, source=source, protocol=seen_protocol)
    conflicts = g.conflict_ids(target=target, source=source)
    harms = g.harmonisations(target=target, source=source) if harmonise else {}
    return ClassViews(target, source, seen_protocol, frozenset(seen), frozenset(conflicts), dict(harms), g.sha256(), g)
