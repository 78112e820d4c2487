"""Rule-derived relations for long class lists (ADE20K-847, Pascal Context-459).

Curating every class of an 847- or 459-class list by hand is not feasible; their mapping files
hold hand-written entries for the annotation-policy conflicts plus relations derived by two
documented rules, applied in this order (a hand-written entry always wins):

1. ``inherit`` -- a class whose *name key* equals the name key of exactly one class of a curated
   sibling list (ADE20K-150 for ADE20K-847, Pascal Context-59 for Pascal Context-459), and no
   other class of its own list has that key, takes over that class's curated cross relations to
   the source (relation and evidence; confidence capped at ``medium``) and its
   ``unlabeled_in_source`` mark. Rationale: both lists label the same images with the same object
   names (SceneParsing-150 is the top of ADE20K's name list; Context-59 the top of Context's).
2. ``same_name`` -- a class whose name key equals the name key of exactly one source class (and
   no other class of its list has that key) is ``same`` as it, confidence ``low``. Source names
   with COCO's ``-merged`` / ``-other`` suffixes never match: merged classes differ in extent
   and are curated by hand or not at all.

Rule-derived edges are added in that order and only while they stay consistent with everything
before them (:func:`consistent`): one relation per class pair, at most one ``same`` per class and
other dataset, and no class that is ``same`` as one class and ``broader``/``narrower`` than
another of the same dataset. An edge that would break this is dropped (curated and inherited
entries win over ``same_name``).

The *name key* of a class is the lower-cased first comma-separated part of its name, stripped
(``"person, individual, someone"`` -> ``"person"``), or, when that differs, also its first FC-CLIP
prompt synonym; both must be unique within the list. A rule-derived edge carries ``note`` starting
with ``rule:`` so tools and tests can tell curated from derived entries (see docs/taxonomy.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .model import CONFIDENCE, INVERSE, DatasetSpec, Edge, MappingSpec, Node

RULE_INHERIT = "rule: inherit"
RULE_SAME_NAME = "rule: same_name"


def name_keys(n: Node) -> tuple[str, ...]:
    """The name keys of a class (see module docstring): primary name, then first synonym."""
    keys = [n.name.split(",")[0].strip().lower()]
    if n.synonyms:
        s = n.synonyms[0].strip().lower()
        if s and s not in keys:
            keys.append(s)
    return tuple(k for k in keys if k)


def _unique_index(nodes: Iterable[Node]) -> dict[str, Node]:
    """key -> node for the keys that exactly one node of the list has."""
    nodes = list(nodes)
    counts = Counter(k for n in nodes for k in set(name_keys(n)))
    out: dict[str, Node] = {}
    for n in nodes:
        for k in name_keys(n):
            if counts[k] == 1:
                out[k] = n
    return out


def _match(n: Node, index: dict[str, Node], own: dict[str, Node]) -> Node | None:
    """The one node of `index` sharing a unique key with `n` (unique in n's own list too)."""
    hits = {index[k].key: index[k] for k in name_keys(n) if k in index and own.get(k) is n}
    return next(iter(hits.values())) if len(hits) == 1 else None


def _is_merged(name: str) -> bool:
    low = name.strip().lower()
    return low.endswith("-merged") or low.endswith("-other") or "-other-" in low


def _cap(conf: str, cap: str = "medium") -> str:
    return conf if CONFIDENCE.index(conf) >= CONFIDENCE.index(cap) else cap


def inherit(target: DatasetSpec, sibling: DatasetSpec, sibling_mapping: MappingSpec, *, exclude: Iterable[str] = ()) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rule 1: (edges, unlabeled marks) for `target` classes copied from the curated `sibling`
    mapping (YAML-ready dicts, ``src`` = source class, ``dst`` = target class). Target classes in
    ``exclude`` (keys) are skipped (they are curated by hand)."""
    skip = set(exclude)
    own = _unique_index(target.nodes)
    sib = _unique_index(sibling.nodes)
    cross: dict[str, list[Edge]] = {}
    for e in sibling_mapping.edges:
        if e.scope != "cross":
            continue
        for x in (e, e.inverse()):
            if x.dst.split(":")[0] == sibling.prefix and x.src.split(":")[0] != sibling.prefix:
                cross.setdefault(x.dst, []).append(x)
    marks = {u.node: u for u in sibling_mapping.unlabeled}
    edges, unl = [], []
    for n in target.nodes:
        if n.key in skip:
            continue
        m = _match(n, sib, own)
        if m is None:
            continue
        why = f"{RULE_INHERIT} from {m.key} ({m.name.strip()!r}, {sibling_mapping.source} -> {sibling.name}); same name in both lists"
        for x in sorted(cross.get(m.key, []), key=lambda e: (e.src, e.rel)):
            edges.append({
                "src": x.src, "rel": x.rel, "dst": n.key, "confidence": _cap(x.confidence),
                "note": why, "evidence": [ev.to_dict() for ev in x.evidence][:3],
            })
        if m.key in marks and not cross.get(m.key):
            u = marks[m.key]
            unl.append({"node": n.key, "confidence": _cap(u.confidence), "note": why,
                        "evidence": [ev.to_dict() for ev in u.evidence][:3]})
    return edges, unl


def same_name(target: DatasetSpec, source: DatasetSpec, *, exclude: Iterable[str] = (), evidence_source: str = "fcclip") -> list[dict[str, Any]]:
    """Rule 2: ``same`` edges (YAML-ready dicts) between classes with one unique shared name key.
    Target classes in ``exclude`` (keys) are skipped. Source classes with COCO merge suffixes are
    never matched."""
    skip = set(exclude)
    own = _unique_index(target.nodes)
    src = _unique_index(n for n in source.nodes if not _is_merged(n.name))
    used: Counter[str] = Counter()
    pairs: list[tuple[Node, Node]] = []
    for n in target.nodes:
        if n.key in skip:
            continue
        m = _match(n, src, own)
        if m is not None:
            pairs.append((m, n))
            used[m.key] += 1
    out = []
    for m, n in pairs:
        if used[m.key] != 1:  # two target classes on one source class: leave to curation
            continue
        key = next(k for k in name_keys(n) if k in name_keys(m))
        out.append({
            "src": m.key, "rel": "same", "dst": n.key, "confidence": "low",
            "note": f"{RULE_SAME_NAME}: both are named {key!r}",
            "evidence": [{"source": evidence_source, "ref": "bytedance/fc-clip:fcclip/data/datasets/openseg_classes.py",
                          "detail": f"{source.name} {m.name.strip()!r} and {target.name} {n.name.strip()!r} share the name key {key!r}"}],
        })
    return out


def consistent(candidates: Sequence[dict[str, Any]], existing: Iterable[tuple[str, str, str]], dataset_of: Any) -> list[dict[str, Any]]:
    """The candidates (in order) that keep the graph consistent with ``existing`` (src, rel, dst)
    statements and the candidates kept before them (see module docstring). ``dataset_of(key)``
    names a node's dataset."""
    pairs: set[frozenset[str]] = set()
    out_rels: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (node, other dataset) -> [(rel, other)]

    def add(src: str, rel: str, dst: str) -> None:
        pairs.add(frozenset((src, dst)))
        out_rels.setdefault((src, dataset_of(dst)), []).append((rel, dst))
        out_rels.setdefault((dst, dataset_of(src)), []).append((INVERSE[rel], src))

    def ok(src: str, rel: str, dst: str) -> bool:
        if frozenset((src, dst)) in pairs:
            return False
        for n, r, other in ((src, rel, dst), (dst, INVERSE[rel], src)):
            have = out_rels.get((n, dataset_of(other)), [])
            if r == "same" and any(x == "same" or x in ("broader", "narrower") for x, o in have if o != other):
                return False
            if r in ("broader", "narrower") and any(x == "same" for x, o in have if o != other):
                return False
        return True

    for s, r, d in existing:
        add(s, r, d)
    kept = []
    for c in candidates:
        if ok(c["src"], c["rel"], c["dst"]):
            add(c["src"], c["rel"], c["dst"])
            kept.append(c)
    return kept


def derived_edges(g: Any, target: str, sibling: str | None, source: str = "coco_panoptic_133", *, evidence_source: str = "fcclip") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both rules for `target` against the curated entries of its mapping in graph `g`: the
    (edges, marks) the rules produce for classes without a hand-written entry. Used to write the
    rule block of the mapping files and by the test that keeps it in sync."""
    m = g.mapping(target, source)
    curated = {e.dst if e.dst.split(":")[0] == g.dataset(target).prefix else e.src
               for e in m.edges if not e.note.startswith("rule:")}
    curated |= {u.node for u in m.unlabeled if not u.note.startswith("rule:")}
    tds = g.dataset(target)
    edges: list[dict[str, Any]] = []
    unl: list[dict[str, Any]] = []
    if sibling is not None:
        edges, unl = inherit(tds, g.dataset(sibling), g.mapping(sibling, source), exclude=curated)
    existing = [(e.src, e.rel, e.dst) for e in m.edges if e.scope == "cross" and not e.note.startswith("rule:")]

    def dataset_of(key: str) -> str:
        return g.node(key).dataset

    edges = consistent(edges, existing, dataset_of)
    done = curated | {e["dst"] for e in edges} | {u["node"] for u in unl}
    extra = same_name(tds, g.dataset(source), exclude=done, evidence_source=evidence_source)
    edges = edges + consistent(extra, existing + [(e["src"], e["rel"], e["dst"]) for e in edges], dataset_of)
    return edges, unl


def rule_statements(edges: Sequence[Any]) -> set[tuple[str, str, str]]:
    """(src, rel, dst) of the rule-derived edges among `edges` (dicts or :class:`Edge`)."""
    out = set()
    for e in edges:
        d = e if isinstance(e, dict) else {"src": e.src, "rel": e.rel, "dst": e.dst, "note": e.note}
        if str(d.get("note", "")).startswith("rule:"):
            out.add((d["src"], d["rel"], d["dst"]))
    return out
