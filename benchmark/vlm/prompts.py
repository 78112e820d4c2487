"""Class prompts for the VLM oracle: templates x phrases per class (no torch).

Three prompt sets (``--prompts``):

* ``names``: the dataset's class names, split FC-CLIP style on "," (``"road, route"`` ->
  ``road``, ``route``);
* ``synonyms`` (default): FC-CLIP's prompt-engineered synonym lists shipped with the class list
  (``taxonomies/ade20k_150.yaml``; bytedance/fc-clip ``*_with_prompt_eng.txt``);
* ``policy``: ``synonyms``, with the phrases of classes whose labelling policy conflicts with
  COCO replaced by policy-aware phrases (:mod:`ovbench.vlm.policy_prompts`, or a ``definition``
  field of the class YAML when the table has no entry).

Every phrase is formatted with each of FC-CLIP's 14 VILD templates (verbatim, including the four
without a final period; ``fcclip/fcclip.py``). :mod:`ovbench.vlm.text` embeds them, averages over
templates and takes the max over a class's phrases.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.categories import Category, CategorySet
from ..errors import ConfigError

VILD_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "This is a photo of a {}",
    "There is a {} in the scene",
    "There is the {} in the scene",
    "a photo of a {} in the scene",
    "a photo of a small {}.",
    "a photo of a medium {}.",
    "a photo of a large {}.",
    "This is a photo of a small {}.",
    "This is a photo of a medium {}.",
    "This is a photo of a large {}.",
    "There is a small {} in the scene.",
    "There is a medium {} in the scene.",
    "There is a large {} in the scene.",
)

PROMPT_MODES = ("names", "synonyms", "policy")

#: ``--templates`` choices besides an integer N (the first N VILD templates).
TEMPLATE_SETS: dict[str, tuple[str, ...]] = {
    "vild14": VILD_TEMPLATES,  # FC-CLIP's 14 (paper, default)
    "fcclip14": VILD_TEMPLATES,  # alias
    "single": ("a photo of a {}.",),  # CLIP's basic prompt (= the first VILD template)
}


def resolve_templates(spec: str | int) -> tuple[str, tuple[str, ...]]:
    """(canonical name, templates) of a ``--templates`` value: ``vild14`` (alias ``fcclip14``),
    ``single``, or an integer N in 1..14 = the first N VILD templates (``vild14`` when N = 14)."""
    text = str(spec).strip().lower()
    if text in TEMPLATE_SETS:
        name = "vild14" if text == "fcclip14" else text
        return name, TEMPLATE_SETS[name]
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= len(VILD_TEMPLATES):
        raise ConfigError(f"--templates {spec!r}: choose vild14 (FC-CLIP's 14, default), single, or a number "
                          f"1..{len(VILD_TEMPLATES)} (the first N VILD templates)")
    return ("vild14" if n == len(VILD_TEMPLATES) else f"vild{n}"), VILD_TEMPLATES[:n]

# class lists shipped under taxonomies/ that can supply synonyms for a dataset's categories
_CLASS_LISTS = ("ade20k_150", "coco_panoptic_133")


@dataclass(frozen=True)
class ClassPrompts:
    """The phrases of one class. ``source``: names | synonyms | policy-table | definition."""

    category_id: int
    name: str
    phrases: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class PromptSet:
    """Phrases of every class (dataset order) and the templates they are formatted with."""

    mode: str
    templates: tuple[str, ...]
    classes: tuple[ClassPrompts, ...]

    def phrases(self) -> list[str]:
        """All phrases, class by class: [S]."""
        return [p for c in self.classes for p in c.phrases]

    def phrase_to_class(self) -> np.ndarray:
        """[S] int64 dense class index of each phrase."""
        return np.array([k for k, c in enumerate(self.classes) for _ in c.phrases], dtype=np.int64)

    def prompts(self) -> list[str]:
        """[S * T] prompt strings, phrase-major (phrase s, template t at ``s * T + t``)."""
        return [t.format(p) for p in self.phrases() for t in self.templates]

    def fingerprint(self) -> str:
        """sha256 of the templates and every class's phrases (the text-cache key's prompt part)."""
        doc = {"templates": list(self.templates), "classes": [[c.category_id, list(c.phrases)] for c in self.classes]}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def sources(self) -> dict[str, int]:
        """How many classes took their phrases from each source."""
        out: dict[str, int] = {}
        for c in self.classes:
            out[c.source] = out.get(c.source, 0) + 1
        return out


def split_name(name: str) -> tuple[str, ...]:
    """FC-CLIP's split of a class string into synonyms: ", " -> ",", split on ",", strip."""
    parts = [p.strip() for p in name.replace(", ", ",").split(",")]
    return tuple(p for p in parts if p)


def match_class_list(categories: CategorySet) -> tuple[str | None, CategorySet | None]:
    """The shipped class list whose ids and (stripped) names cover every dataset category, if any."""
    from ..taxonomy.classes import load_class_list

    for list_name in _CLASS_LISTS:
        try:
            ref = load_class_list(list_name)
        except Exception:  # a missing or broken list is simply not a match
            continue
        if all(c.id in ref and ref.categories[ref.index_of(c.id)].name.strip() == c.name.strip() for c in categories):
            return list_name, ref
    return None, None


def load_definitions(list_name: str | None) -> dict[int, str]:
    """``definition`` fields of a shipped class list YAML (empty if the YAML has none)."""
    if list_name is None:
        return {}
    import yaml

    from ..taxonomy.classes import taxonomy_dir

    path = Path(taxonomy_dir()) / f"{list_name}.yaml"
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError:
        return {}
    out: dict[int, str] = {}
    for c in (data or {}).get("classes", []) or []:
        d = c.get("definition") if isinstance(c, dict) else None
        if d:
            out[int(c["id"])] = str(d).strip()
    return out


def build_prompt_set(
    categories: CategorySet,
    mode: str = "synonyms",
    *,
    templates: tuple[str, ...] = VILD_TEMPLATES,
    class_list: str | None | bool = True,
    definitions: Mapping[int, str] | None = None,
    policy_table: Mapping[int, Any] | None = None,
) -> PromptSet:
    """Phrases for each of ``categories`` (dataset order).

    ``class_list``: True = find the shipped class list matching the dataset (synonyms, policy);
    a name = use that list; False/None = no class list (synonyms fall back to split names).
    ``definitions`` / ``policy_table`` override the YAML definitions / the built-in ADE20K table.
    """
    if mode not in PROMPT_MODES:
        raise ConfigError(f"unknown prompt set {mode!r}; choose one of {', '.join(PROMPT_MODES)}")
    if not templates or any(t.count("{}") != 1 for t in templates):
        raise ConfigError("every prompt template must contain exactly one '{}'")
    list_name: str | None
    ref: CategorySet | None
    if class_list is True:
        list_name, ref = match_class_list(categories)
    elif isinstance(class_list, str):
        from ..taxonomy.classes import load_class_list

        list_name, ref = class_list, load_class_list(class_list)
    else:
        list_name, ref = None, None
    if mode == "policy":
        if definitions is None:
            definitions = load_definitions(list_name)
        if policy_table is None:
            from .policy_prompts import ADE20K_150_POLICY

            policy_table = ADE20K_150_POLICY if list_name == "ade20k_150" else {}
    out = []
    for c in categories:
        names = split_name(c.name) or (c.name.strip(),)
        if mode == "names":
            out.append(ClassPrompts(c.id, c.name.strip(), names, "names"))
            continue
        syn = _synonyms(c, ref)
        entry = ClassPrompts(c.id, c.name.strip(), syn or names, "synonyms" if syn else "names")
        if mode == "policy":
            pol = (policy_table or {}).get(c.id)
            if pol is not None:
                entry = ClassPrompts(c.id, c.name.strip(), tuple(pol.phrases), "policy-table")
            elif definitions and c.id in definitions:
                primary = (syn or names)[0]
                entry = ClassPrompts(c.id, c.name.strip(), (f"{primary}: {_as_clause(definitions[c.id])}",), "definition")
        out.append(entry)
    for e in out:
        if not e.phrases or any(not p.strip() for p in e.phrases):
            raise ConfigError(f"class {e.category_id} ({e.name!r}) has an empty prompt phrase")
    return PromptSet(mode, tuple(templates), tuple(out))


def _as_clause(definition: str) -> str:
    """A definition sentence as a clause inside a template: no final period, lower-case start."""
    d = definition.strip().rstrip(".").strip()
    return d[:1].lower() + d[1:] if d[:2] != d[:2].upper() else d


def _synonyms(c: Category, ref: CategorySet | None) -> tuple[str, ...]:
    if c.synonyms:
        return tuple(c.synonyms)
    if ref is not None and c.id in ref:
        return tuple(ref.categories[ref.index_of(c.id)].synonyms)
    return ()
