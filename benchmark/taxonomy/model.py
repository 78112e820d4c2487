"""Plain data records of the taxonomy graph (no networkx, no I/O).

Node keys are ``prefix:id`` (``coco:130``, ``ade:82``, ``cityscapes:24``): names collide across and
inside datasets, ids do not. Relations are directional and read "src REL dst"; only one direction
is stored in the YAML, the loader adds the inverse (``inferred=True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: relation vocabulary and inverses (src REL dst  <=>  dst INVERSE[REL] src)
INVERSE: dict[str, str] = {
    "same": "same",
    "broader": "narrower",
    "narrower": "broader",
    "part_of": "has_part",
    "has_part": "part_of",
    "overlaps": "overlaps",
}
RELATIONS: tuple[str, ...] = tuple(INVERSE)
#: the target class's strongest relation to a source taxonomy, strongest first: how much of the
#: target concept the source annotates (same > all of it under a coarser name > part of it > ...)
RELATION_RANK: tuple[str, ...] = ("same", "narrower", "broader", "overlaps", "part_of", "has_part")
UNLABELED = "unlabeled_in_source"
#: a target class of a ``coverage: partial`` mapping with neither an edge nor a mark (not curated)
UNMAPPED = "unmapped"
COVERAGE_MODES: tuple[str, ...] = ("complete", "partial")
CONFIDENCE: tuple[str, ...] = ("high", "medium", "low")
SCOPES: tuple[str, ...] = ("cross", "intra")
POLICY_KINDS: tuple[str, ...] = (
    "granularity_split",  # one source class covers several target classes
    "merge",  # a target class covers several source classes
    "definition_scope",  # same name or concept, different extent
    "thing_stuff",  # same concept, thing in one dataset and stuff in the other
    "part_whole",  # one dataset annotates as part of another object
    "unlabeled_in_source",  # the concept is void / absorbed in the source
    "naming",  # names mislead (homonyms, several classes sharing a word)
    "prompt_artifact",  # FC-CLIP prompt synonyms make a class "seen" for the wrong reason
    "intra_ambiguity",  # overlapping classes inside one dataset
)
CLASS_SCHEMA = "ovbench-classes/1"
MAPPING_SCHEMA = "ovbench-taxonomy/1"
BUNDLE_SCHEMA = "ovbench-taxonomy-bundle/1"


@dataclass(frozen=True)
class Evidence:
    """Where a claim comes from: a source id (see the mapping's ``sources``), a reference
    (file, URL, paper section) and what it says."""

    source: str
    ref: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "ref": self.ref, "detail": self.detail}


@dataclass(frozen=True)
class Node:
    """One class of one dataset."""

    key: str
    dataset: str
    id: int
    name: str
    isthing: bool
    synonyms: tuple[str, ...] = ()
    definition: str = ""
    definition_source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = field(default=None, compare=False)

    def label(self) -> str:
        """``ade:57 pillow`` (display form)."""
        return f"{self.key} {self.name.strip()}"


@dataclass(frozen=True)
class Edge:
    """A typed relation ``src rel dst`` with its evidence."""

    src: str
    rel: str
    dst: str
    scope: str
    confidence: str
    evidence: tuple[Evidence, ...]
    weight: float | None = None
    policies: tuple[str, ...] = ()
    note: str = ""
    multi_same: str = ""
    mapping: str = ""  # "source->target" of the file that holds it
    inferred: bool = False
    file: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    def inverse(self) -> Edge:
        """The same statement read from the other end (``inferred=True``)."""
        return replace(self, src=self.dst, dst=self.src, rel=INVERSE[self.rel], inferred=not self.inferred)

    def where(self) -> str:
        if self.file is None:
            return "<input>"
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def sort_key(self) -> tuple[str, str, str]:
        return (self.src, self.dst, self.rel)


@dataclass(frozen=True)
class UnlabeledMark:
    """A target class with no counterpart in the source taxonomy."""

    node: str
    source: str  # dataset name of the source taxonomy
    confidence: str
    evidence: tuple[Evidence, ...]
    note: str = ""
    policies: tuple[str, ...] = ()
    file: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Policy:
    """An annotation-policy note: what each dataset annotates and where they conflict.

    ``target_ids`` are the dataset ids of the policy's nodes that belong to the target taxonomy;
    ``harmonisations`` the harmonisations whose groups cite the policy (smallest first), and
    ``harmonisation`` the first of them (None if none).
    """

    id: str
    kind: str
    summary: str
    nodes: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    target_ids: tuple[int, ...]
    source: str
    target: str
    annotates: Mapping[str, str] = field(default_factory=dict)
    harmonisations: tuple[str, ...] = field(default=(), compare=False)
    file: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def harmonisation(self) -> str | None:
        return self.harmonisations[0] if self.harmonisations else None


@dataclass(frozen=True)
class GroupSpec:
    """One merged class of a harmonisation: ``members`` (node keys) become class ``into``."""

    name: str
    into: str
    members: tuple[str, ...]
    isthing: bool | None = None
    policy: str = ""
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class HarmonisationSpec:
    """A named harmonised evaluation taxonomy: explicit groups or a derivation rule."""

    name: str
    description: str
    source: str
    target: str
    groups: tuple[GroupSpec, ...] = ()
    derive: Mapping[str, Any] = field(default_factory=dict)
    file: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DatasetSpec:
    """A class list: ``name`` (e.g. ``ade20k_150``), key ``prefix`` and its nodes in file order."""

    name: str
    prefix: str
    title: str
    nodes: tuple[Node, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    file: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class MappingSpec:
    """A mapping file: relations between a ``source`` (training) and a ``target`` (evaluation)
    taxonomy, plus intra-dataset edges, policies and harmonisations."""

    source: str
    target: str
    description: str
    sources: Mapping[str, Mapping[str, Any]]
    edges: tuple[Edge, ...]
    unlabeled: tuple[UnlabeledMark, ...]
    policies: tuple[Policy, ...]
    harmonisations: tuple[HarmonisationSpec, ...]
    file: str | None = field(default=None, compare=False)
    #: ``complete``: every target class has an edge or an unlabeled_in_source mark (validated);
    #: ``partial``: classes may be left unmapped (long class lists: ADE20K-847, Pascal Context-459)
    coverage: str = "complete"
    coverage_note: str = ""

    @property
    def key(self) -> str:
        return f"{self.source}->{self.target}"
