"""The taxonomy graph: loading, validation and queries.

``load_graph()`` reads the shipped YAML files under ``taxonomies/`` (package
``ovbench.taxonomies``): every ``schema: ovbench-classes/1`` file is a class list, every
``schema: ovbench-taxonomy/1`` file a mapping between two of them. A new taxonomy is one more
class list plus one mapping file; no code changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from ..data.categories import Category, CategorySet
from ..errors import TaxonomyError
from .classes import taxonomy_dir
from .model import (
    BUNDLE_SCHEMA,
    CLASS_SCHEMA,
    CONFIDENCE,
    MAPPING_SCHEMA,
    RELATION_RANK,
    UNLABELED,
    UNMAPPED,
    DatasetSpec,
    Edge,
    HarmonisationSpec,
    MappingSpec,
    Node,
    Policy,
    UnlabeledMark,
)
from .parse import Resolver, parse_class_list, parse_mapping
from .seen import fcclip_seen_ids
from .validate import validate
from .yamlio import read_yaml

if TYPE_CHECKING:  # pragma: no cover
    from .harmonise import Harmonisation

#: seen/unseen protocols (see docs/taxonomy.md)
SEEN_PROTOCOLS: tuple[str, ...] = ("fcclip_string", "graph_same", "graph_covered", "graph_any")
DEFAULT_TARGET = "ade20k_150"
DEFAULT_SOURCE = "coco_panoptic_133"


class TaxonomyGraph:
    """Class lists of several datasets joined by typed, evidenced relations.

    The networkx view (:attr:`nx`) is a frozen ``MultiDiGraph`` keyed by ``prefix:id``; each
    stored relation appears in both directions (the inverse with ``inferred=True``), edge key =
    relation. Query methods take dataset names (``"ade20k_150"``, ``"coco_panoptic_133"``,
    ``"cityscapes_19"``) and dataset ids.
    """

    def __init__(self, datasets: Sequence[DatasetSpec], mappings: Sequence[MappingSpec], *, sha256: str, files: Sequence[str]) -> None:
        validate(datasets, mappings)
        self._datasets = {d.name: d for d in datasets}
        self._mappings = {(m.source, m.target): m for m in mappings}
        self._sha = sha256
        self.files: tuple[str, ...] = tuple(files)
        self._nodes: dict[str, Node] = {n.key: n for d in datasets for n in d.nodes}
        self._by_id: dict[tuple[str, int], Node] = {(n.dataset, n.id): n for n in self._nodes.values()}
        self._edges: tuple[Edge, ...] = tuple(e for m in mappings for e in m.edges)
        g = nx.MultiDiGraph(name="ovbench taxonomy")
        for n in self._nodes.values():
            g.add_node(n.key, dataset=n.dataset, id=n.id, name=n.name, isthing=n.isthing)
        for e in self._edges:
            for x in (e, e.inverse()):
                g.add_edge(x.src, x.dst, key=x.rel, rel=x.rel, scope=x.scope, confidence=x.confidence, inferred=x.inferred, edge=x)
        self._g = nx.freeze(g)
        self._harm_cache: dict[tuple[str, str], dict[str, Harmonisation]] = {}

    # ---- basic accessors ------------------------------------------------------------------------
    @property
    def nx(self) -> nx.MultiDiGraph:
        """The frozen networkx graph (do not mutate; build a new graph from files instead)."""
        return self._g

    def datasets(self) -> tuple[str, ...]:
        """Names of the loaded class lists."""
        return tuple(self._datasets)

    def mappings(self) -> tuple[tuple[str, str], ...]:
        """(source, target) pairs of the loaded mapping files."""
        return tuple(self._mappings)

    def dataset(self, name: str) -> DatasetSpec:
        try:
            return self._datasets[name]
        except KeyError:
            raise TaxonomyError(f"unknown taxonomy {name!r}; loaded: {', '.join(self._datasets)}") from None

    def mapping(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> MappingSpec:
        self.dataset(target)
        self.dataset(source)
        try:
            return self._mappings[(source, target)]
        except KeyError:
            pairs = ", ".join(f"{s} -> {t}" for s, t in self._mappings)
            raise TaxonomyError(f"no mapping {source} -> {target} is loaded (loaded: {pairs})") from None

    def sha256(self) -> str:
        """SHA-256 over the loaded files' contents (file base names and bytes, sorted by name)."""
        return self._sha

    def node(self, key_or_name: str, dataset: str | None = None) -> Node:
        """The unique node for a key or name; raises if absent or ambiguous."""
        found = self.resolve(key_or_name, dataset)
        if not found:
            raise TaxonomyError(f"no class matches {key_or_name!r}" + (f" in {dataset}" if dataset else ""))
        if len(found) > 1:
            raise TaxonomyError(f"{key_or_name!r} is ambiguous: {', '.join(n.label() for n in found)}; use a key such as {found[0].key!r}")
        return found[0]

    def node_by_id(self, dataset: str, class_id: int) -> Node:
        try:
            return self._by_id[(dataset, int(class_id))]
        except KeyError:
            self.dataset(dataset)
            raise TaxonomyError(f"{dataset} has no class id {class_id}") from None

    def nodes(self, dataset: str | None = None) -> list[Node]:
        if dataset is None:
            return list(self._nodes.values())
        return list(self.dataset(dataset).nodes)

    def resolve(self, query: str, dataset: str | None = None) -> list[Node]:
        """Nodes matching a key (``ade:57``, ``ade20k_150:57``), else an exact name, else a
        comma-separated part of a name (``signboard``), else a prompt synonym."""
        q = query.strip()
        pool = self.nodes(dataset)
        if ":" in q:
            ns, _, sid = q.partition(":")
            for d in self._datasets.values():
                if ns in (d.prefix, d.name) and sid.strip().lstrip("-").isdigit():
                    n = self._by_id.get((d.name, int(sid)))
                    return [n] if n is not None and (dataset is None or n.dataset == dataset) else []
        ql = q.lower()
        for test in (
            lambda n: n.name.strip().lower() == ql,
            lambda n: ql in [p.strip().lower() for p in n.name.split(",")],
            lambda n: ql in [s.lower() for s in n.synonyms],
        ):
            hits = [n for n in pool if test(n)]
            if hits:
                return hits
        return []

    def classes(self, dataset: str) -> CategorySet:
        """The class list of a dataset, in file order, with prompt synonyms."""
        return CategorySet(tuple(Category(n.id, n.name, n.isthing, n.synonyms) for n in self.dataset(dataset).nodes))

    # ---- relations --------------------------------------------------------------------------------
    def edges(self, *, inferred: bool = False) -> list[Edge]:
        """All stored edges (with their inverses when ``inferred``)."""
        if not inferred:
            return list(self._edges)
        return [x for e in self._edges for x in (e, e.inverse())]

    def relations(self, name_or_key: str, dataset: str | None = None) -> list[Edge]:
        """Edges out of every node matching ``name_or_key`` (inverses included, so each reads
        "node REL other"), strongest relation first."""
        nodes = self.resolve(name_or_key, dataset)
        if not nodes:
            raise TaxonomyError(f"no class matches {name_or_key!r}")
        out: list[Edge] = []
        for n in nodes:
            es = [d["edge"] for _, _, d in self._g.out_edges(n.key, data=True)]
            es.sort(key=lambda e: (RELATION_RANK.index(e.rel), e.scope != "cross", CONFIDENCE.index(e.confidence), e.dst))
            out.extend(es)
        return out

    def _cross_out(self, key: str, dataset: str) -> list[Edge]:
        return [d["edge"] for _, v, d in self._g.out_edges(key, data=True) if self._nodes[v].dataset == dataset]

    def source_relation(self, target_id: int, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> str:
        """The target class's strongest relation to the source taxonomy (from the target's side):
        ``same`` > ``narrower`` (all of it annotated under a coarser source class) > ``broader`` >
        ``overlaps`` > ``part_of`` > ``has_part``; ``unlabeled_in_source`` when it has none, or
        ``unmapped`` in a ``coverage: partial`` mapping when the class is neither related nor marked."""
        m = self.mapping(target, source)
        n = self.node_by_id(target, target_id)
        rels = {e.rel for e in self._cross_out(n.key, source)}
        for r in RELATION_RANK:
            if r in rels:
                return r
        if m.coverage == "partial" and n.key not in {u.node for u in m.unlabeled}:
            return UNMAPPED
        return UNLABELED

    def unmapped_ids(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> frozenset[int]:
        """Target classes with neither an edge to the source nor an ``unlabeled_in_source`` mark
        (only in ``coverage: partial`` mappings; empty otherwise)."""
        m = self.mapping(target, source)
        if m.coverage != "partial":
            return frozenset()
        marked = {u.node for u in m.unlabeled}
        return frozenset(n.id for n in self.dataset(target).nodes if n.key not in marked and not self._cross_out(n.key, source))

    def unlabeled(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> list[UnlabeledMark]:
        return list(self.mapping(target, source).unlabeled)

    def unlabeled_ids(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> frozenset[int]:
        return frozenset(self._nodes[u.node].id for u in self.mapping(target, source).unlabeled)

    def seen_ids(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE, protocol: str = "fcclip_string") -> frozenset[int]:
        """Dataset ids of the target classes that count as *seen* in training on ``source``.

        * ``fcclip_string``: FC-CLIP's rule, a prompt synonym string-equals a source synonym (64 on ADE-150);
        * ``graph_same``: the class has a ``same`` edge to a source class;
        * ``graph_covered``: ``same`` or ``narrower`` (the concept is annotated in the source, maybe under a coarser name);
        * ``graph_any``: any relation to a source class (not ``unlabeled_in_source``).
        """
        self.mapping(target, source)
        if protocol == "fcclip_string":
            return fcclip_seen_ids(self.classes(target), self.classes(source))
        wanted = {"graph_same": {"same"}, "graph_covered": {"same", "narrower"}, "graph_any": set(RELATION_RANK)}.get(protocol)
        if wanted is None:
            raise TaxonomyError(f"unknown seen protocol {protocol!r}; choose from {', '.join(SEEN_PROTOCOLS)}")
        return frozenset(n.id for n in self.dataset(target).nodes if any(e.rel in wanted for e in self._cross_out(n.key, source)))

    def thing_stuff_mismatch_ids(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> frozenset[int]:
        """Target classes with a ``same`` or ``narrower`` edge to a source class of the other
        thing/stuff kind (a COCO stuff segment where ADE expects instances, or vice versa)."""
        self.mapping(target, source)
        out = set()
        for n in self.dataset(target).nodes:
            for e in self._cross_out(n.key, source):
                if e.rel in ("same", "narrower") and self._nodes[e.dst].isthing != n.isthing:
                    out.add(n.id)
        return frozenset(out)

    # ---- policies -----------------------------------------------------------------------------------
    def policies(self, target: str | None = DEFAULT_TARGET, source: str | None = DEFAULT_SOURCE, *, node: str | None = None) -> list[Policy]:
        """Policies of the (source, target) mapping (all mappings when both are None), optionally
        only those that involve ``node`` (a key or name)."""
        if target is None and source is None:
            pols = [p for m in self._mappings.values() for p in m.policies]
        else:
            pols = list(self.mapping(target or DEFAULT_TARGET, source or DEFAULT_SOURCE).policies)
        if node is not None:
            keys = {n.key for n in self.resolve(node)}
            pols = [p for p in pols if keys & set(p.nodes)]
        return pols

    def policy(self, policy_id: str) -> Policy:
        for m in self._mappings.values():
            for p in m.policies:
                if p.id == policy_id:
                    return p
        raise TaxonomyError(f"unknown policy {policy_id!r}")

    def conflict_ids(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> frozenset[int]:
        """Target classes named by any policy of the mapping (the conflict classes)."""
        return frozenset(i for p in self.mapping(target, source).policies for i in p.target_ids)

    # ---- paths ----------------------------------------------------------------------------------------
    def path(self, a: str, b: str) -> list[Edge]:
        """Shortest chain of relations from class ``a`` to class ``b`` (keys or unambiguous names),
        as edges oriented along the path; [] when a == b."""
        na, nb = self.node(a), self.node(b)
        if na.key == nb.key:
            return []
        try:
            keys = nx.shortest_path(self._g.to_undirected(as_view=True), na.key, nb.key)
        except nx.NetworkXNoPath:
            raise TaxonomyError(f"no path between {na.label()} and {nb.label()}") from None
        out = []
        for u, v in zip(keys, keys[1:]):
            es = [d["edge"] for d in self._g.get_edge_data(u, v).values()]
            es.sort(key=lambda e: (RELATION_RANK.index(e.rel), CONFIDENCE.index(e.confidence)))
            out.append(es[0])
        return out

    # ---- harmonisations --------------------------------------------------------------------------------
    def harmonisation_specs(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> list[HarmonisationSpec]:
        return list(self.mapping(target, source).harmonisations)

    def harmonisations(self, target: str = DEFAULT_TARGET, source: str = DEFAULT_SOURCE) -> dict[str, Harmonisation]:
        """Named harmonised evaluation taxonomies of the mapping (name -> :class:`Harmonisation`)."""
        from .harmonise import build_harmonisation

        key = (target, source)
        if key not in self._harm_cache:
            self._harm_cache[key] = {h.name: build_harmonisation(self, h) for h in self.mapping(target, source).harmonisations}
        return dict(self._harm_cache[key])

    # ---- comparison / export -----------------------------------------------------------------------------
    def specs(self) -> tuple[list[DatasetSpec], list[MappingSpec]]:
        return list(self._datasets.values()), list(self._mappings.values())

    def canonical(self) -> dict[str, Any]:
        """Order-independent content (no file names or lines), used for equality."""
        from .export import to_bundle

        b = to_bundle(self)
        for cl in b["class_lists"]:
            cl["classes"] = sorted(cl["classes"], key=lambda c: c["id"])
        for m in b["mappings"]:
            m["edges"] = sorted(m["edges"], key=lambda e: (e["src"], e["dst"], e["rel"]))
            m["unlabeled_in_source"] = sorted(m["unlabeled_in_source"], key=lambda u: u["node"])
            m["policies"] = sorted(m["policies"], key=lambda p: p["id"])
            m["harmonisations"] = sorted(m["harmonisations"], key=lambda h: h["name"])
        b["class_lists"].sort(key=lambda c: c["name"])
        b["mappings"].sort(key=lambda m: (m["source"], m["target"]))
        return b

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TaxonomyGraph):
            return NotImplemented
        return self.canonical() == other.canonical()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TaxonomyGraph({', '.join(self._datasets)}; {len(self._edges)} edges; sha256 {self._sha[:12]})"


# ---- loading -----------------------------------------------------------------------------------------


def _hash_files(items: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, raw in sorted(items):
        h.update(name.encode("utf-8") + b"\0" + hashlib.sha256(raw).hexdigest().encode("ascii") + b"\n")
    return h.hexdigest()


def _shipped_files() -> list[Path]:
    return sorted(taxonomy_dir().glob("*.yaml"))


def load_graph(paths: Sequence[str | Path] | None = None, *, shipped_class_lists: bool = True) -> TaxonomyGraph:
    """Load and validate a taxonomy graph.

    * ``paths=None``: the shipped files under ``taxonomies/`` (cached; the graph is immutable).
    * ``paths=[...]``: YAML class lists / mapping files, folders of them, or one exported
      ``.json`` / ``.graphml`` bundle. Class lists a mapping needs but that are not given are taken
      from the shipped folder (``shipped_class_lists=False`` turns this off).

    Raises :class:`TaxonomyError` naming the file and line of the first problem.
    """
    if paths is None:
        return _load_shipped()
    return _load(tuple(Path(p) for p in paths), shipped_class_lists)


@lru_cache(maxsize=1)
def _load_shipped() -> TaxonomyGraph:
    return _load(tuple(_shipped_files()), True)


def _load(paths: tuple[Path, ...], shipped_class_lists: bool) -> TaxonomyGraph:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.glob("*.yaml")))
        elif p.exists():
            files.append(p)
        else:
            raise TaxonomyError(f"{p}: no such file or folder")
    bundles = [f for f in files if f.suffix.lower() in (".json", ".graphml")]
    if bundles:
        if len(files) != 1:
            raise TaxonomyError(f"{bundles[0]}: an exported bundle must be loaded on its own")
        from .export import read_bundle_file

        return read_bundle_file(bundles[0])
    docs: list[tuple[Path, Any, bytes]] = []
    for f in files:
        doc, raw = read_yaml(f)
        docs.append((f, doc, raw))
    return graph_from_documents(docs, shipped_class_lists=shipped_class_lists)


def graph_from_documents(
    docs: Sequence[tuple[Path | str, Any, bytes]], *, shipped_class_lists: bool = True, sha256: str | None = None
) -> TaxonomyGraph:
    """Build a graph from parsed documents ``(path, document, raw bytes)``; ``sha256`` overrides
    the content hash (used for exported bundles, hashed as one file)."""
    class_docs, mapping_docs = [], []
    for path, doc, raw in docs:
        schema = doc.get("schema") if isinstance(doc, Mapping) else None
        if schema == CLASS_SCHEMA:
            class_docs.append((path, doc, raw))
        elif schema == MAPPING_SCHEMA:
            mapping_docs.append((path, doc, raw))
        else:
            line = getattr(doc, "key_lines", {}).get("schema", getattr(doc, "line", None))
            loc = f"{path}:{line}" if line else str(path)
            raise TaxonomyError(f"{loc}: unknown schema {schema!r}; expected {CLASS_SCHEMA!r} (class list) or {MAPPING_SCHEMA!r} (mapping)")
    datasets = [parse_class_list(doc, str(path)) for path, doc, _ in class_docs]
    hashed = [(Path(str(p)).name, raw) for p, _, raw in docs]
    have = {d.name for d in datasets}
    if shipped_class_lists:
        needed = {str(doc.get(k)) for _, doc, _ in mapping_docs for k in ("source", "target") if isinstance(doc.get(k), str)}
        for name in sorted(needed - have):
            f = taxonomy_dir() / f"{name}.yaml"
            if f.is_file():
                doc, raw = read_yaml(f)
                if isinstance(doc, Mapping) and doc.get("schema") == CLASS_SCHEMA:
                    datasets.append(parse_class_list(doc, str(f)))
                    hashed.append((f.name, raw))
    _check_unique_names(datasets)
    resolver = Resolver(datasets)
    mappings = [parse_mapping(doc, str(path), resolver) for path, doc, _ in mapping_docs]
    return TaxonomyGraph(datasets, mappings, sha256=sha256 or _hash_files(hashed), files=[str(p) for p, _, _ in docs])


def _check_unique_names(datasets: Sequence[DatasetSpec]) -> None:
    seen: dict[str, str | None] = {}
    prefixes: dict[str, str] = {}
    for d in datasets:
        if d.name in seen:
            raise TaxonomyError(f"{d.file}: class list {d.name!r} is loaded twice (also {seen[d.name]})")
        if d.prefix in prefixes:
            raise TaxonomyError(f"{d.file}: key prefix {d.prefix!r} is already used by {prefixes[d.prefix]}")
        seen[d.name] = d.file
        prefixes[d.prefix] = d.name


def bundle_schema() -> str:
    return BUNDLE_SCHEMA


def dumps_canonical(g: TaxonomyGraph) -> str:
    """Canonical JSON text of a graph (stable across load orders)."""
    return json.dumps(g.canonical(), sort_keys=True, ensure_ascii=False)
