"""Map a closed-vocabulary model's ``id2label`` onto a dataset's categories by name (pure, no torch).

Rule, in order, each model label used at most once:
1. exact name;
2. normalised name (lower case, ``_`` / ``-`` as spaces, whitespace collapsed and stripped);
3. a normalised alternative of the category: a comma-separated part of its name, or one of its
   synonyms (FC-CLIP's, attached from the shipped class list) - only when exactly one unused model
   label matches.
``label_map`` (model label -> dataset category name) overrides the rule for the labels it names.
Every dataset category must get one model label and every model label one category; otherwise a
:class:`ConfigError` lists the names left over on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from ovbench.data.categories import CategorySet
from ovbench.errors import ConfigError


def normalise(name: str) -> str:
    """Lower case, ``_`` and ``-`` as spaces, whitespace collapsed and stripped."""
    return re.sub(r"\s+", " ", re.sub(r"[_-]", " ", name.lower())).strip()


def _alternatives(name: str, synonyms: tuple[str, ...]) -> list[str]:
    out = [normalise(p) for p in name.split(",")] + [normalise(s) for s in synonyms]
    return [a for i, a in enumerate(out) if a and a not in out[:i]]


def _short(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def map_id2label(id2label: Mapping[int, str], categories: CategorySet, model: str,
                 label_map: Mapping[str, str] | None = None) -> np.ndarray:
    """[C] model class index of each dataset category, in the dataset's order."""
    labels = {int(k): str(v) for k, v in id2label.items()}
    if sorted(labels) != list(range(len(labels))):
        raise ConfigError(f"model {model}: id2label keys must be 0..{len(labels) - 1}, got {sorted(labels)[:5]}...")
    cats = list(categories)
    chosen: dict[int, int] = {}  # dataset index -> model index
    used: set[int] = set()

    def take(ci: int, mi: int) -> None:
        chosen[ci] = mi
        used.add(mi)

    by_name = {c.name: i for i, c in enumerate(cats)}
    for label, cat_name in (label_map or {}).items():
        mi = next((k for k, v in labels.items() if v == label), None)
        if mi is None:
            raise ConfigError(f"model {model}: label_map names model label {label!r}, which id2label does not hold")
        if cat_name not in by_name:
            raise ConfigError(f"model {model}: label_map maps {label!r} to {cat_name!r}, which is not a dataset category")
        take(by_name[cat_name], mi)
    for key in (lambda s: s, normalise):
        index: dict[str, list[int]] = {}
        for mi, v in labels.items():
            if mi not in used:
                index.setdefault(key(v), []).append(mi)
        for ci, c in enumerate(cats):
            hits = index.get(key(c.name), [])
            if ci not in chosen and len(hits) == 1 and hits[0] not in used:
                take(ci, hits[0])
    norm = {mi: normalise(v) for mi, v in labels.items()}
    for ci, c in enumerate(cats):
        if ci in chosen:
            continue
        alt_hits = {mi for alt in _alternatives(c.name, c.synonyms) for mi, n in norm.items() if n == alt and mi not in used}
        if len(alt_hits) == 1:
            take(ci, alt_hits.pop())
    missing = [c.name for ci, c in enumerate(cats) if ci not in chosen]
    extra = [labels[mi] for mi in sorted(labels) if mi not in used]
    if missing or extra:
        raise ConfigError(
            f"model {model}: its id2label ({len(labels)} labels) does not map onto the dataset's {len(cats)} categories by name; "
            f"dataset categories without a model label: [{_short(missing)}]; model labels without a category: [{_short(extra)}] "
            "(map them with --adapter-arg label_map=FILE.json, {\"model label\": \"dataset name\"})")
    return np.array([chosen[ci] for ci in range(len(cats))], dtype=np.int64)
