"""Class lists shipped as YAML under ``taxonomies/`` (package ``ovbench.taxonomies``)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from ..data.categories import Category, CategorySet
from ..errors import TaxonomyError


def taxonomy_dir() -> Path:
    """Folder holding the shipped taxonomy YAML files."""
    return Path(str(resources.files("ovbench.taxonomies")))


@cache
def load_class_list(name: str) -> CategorySet:
    """Load a shipped class list by name (``ade20k_150``, ``coco_panoptic_133``, ...), with synonyms."""
    path = taxonomy_dir() / f"{name}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in taxonomy_dir().glob("*.yaml"))
        raise TaxonomyError(f"no class list {name!r} in {taxonomy_dir()}; available: {', '.join(available)}")
    return load_class_list_file(path)


def load_class_list_file(path: str | Path) -> CategorySet:
    path = Path(path)
    from ..yamlsafe import load_yaml_file

    data = load_yaml_file(path, TaxonomyError)
    if not isinstance(data, dict) or "classes" not in data:
        raise TaxonomyError(f"{path}: expected a mapping with a 'classes' list")
    cats = []
    for i, c in enumerate(data["classes"]):
        try:
            cats.append(Category(int(c["id"]), str(c["name"]), bool(c["isthing"]), tuple(str(s) for s in c.get("synonyms", ()))))
        except (KeyError, TypeError, ValueError) as exc:
            raise TaxonomyError(f"{path}: class #{i} is malformed ({exc!r})") from exc
    first: dict[str, int] = {}
    for c in cats:
        key = c.name.strip().lower()
        if key in first:
            raise TaxonomyError(f"{path}: duplicate class name {c.name!r} (classes {first[key]} and {c.id})")
        first[key] = c.id
    cs = CategorySet(tuple(cats))
    if "num_classes" in data and len(cs) != int(data["num_classes"]):
        raise TaxonomyError(f"{path}: num_classes says {data['num_classes']} but {len(cs)} classes are listed")
    if "num_things" in data and int(cs.isthing.sum()) != int(data["num_things"]):
        raise TaxonomyError(f"{path}: num_things says {data['num_things']} but {int(cs.isthing.sum())} things are listed")
    return cs
