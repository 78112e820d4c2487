"""Graph-level validation of loaded class lists and mapping files.

Checks (each error names the file and line of the offending entry):

* dataset names and key prefixes are unique; policy ids are unique;
* one relation per node pair: no duplicate edge, no contradictory edges (e.g. ``same`` and
  ``broader`` between one pair, or ``a broader b`` next to ``b broader a``), no self-loops;
* at most one cross-dataset ``same`` per node and other dataset, unless every such edge says
  why (``multi_same``);
* a node that is the ``same`` as class S of another dataset is not also ``broader`` or ``narrower``
  than another class S' of that dataset (S and S' are disjoint annotations), unless S and S' are
  related by an intra-dataset edge;
* ``broader`` is acyclic (with ``same`` nodes contracted), ``part_of`` is acyclic;
* every edge, unlabeled mark and policy has evidence (checked when parsing);
* the policies an edge lists exist and contain at least one of its nodes; policy nodes exist;
  ``thing_stuff`` policies hold at least one thing and one stuff class;
* weights out of one node (its ``src`` edges) sum to at most 1;
* coverage: every target class has a cross edge to the source taxonomy or is marked
  ``unlabeled_in_source``, never both (a ``coverage: partial`` mapping may leave classes unmapped);
* harmonisations: group members are disjoint within a harmonisation, group policies exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import networkx as nx

from ..errors import TaxonomyError
from .model import DatasetSpec, Edge, MappingSpec, Node

_WEIGHT_TOL = 1e-6


def _loc(file: str | None, line: int | None) -> str:
    if file is None:
        return "<input>"
    return f"{file}:{line}" if line is not None else file


def validate(datasets: Sequence[DatasetSpec], mappings: Sequence[MappingSpec]) -> None:
    """Raise :class:`TaxonomyError` on the first problem found."""
    names: dict[str, DatasetSpec] = {}
    prefixes: dict[str, DatasetSpec] = {}
    for d in datasets:
        if d.name in names:
            raise TaxonomyError(f"{d.file}: class list {d.name!r} is loaded twice (also {names[d.name].file})")
        if d.prefix in prefixes:
            raise TaxonomyError(f"{d.file}: key prefix {d.prefix!r} is already used by {prefixes[d.prefix].name} ({prefixes[d.prefix].file})")
        names[d.name] = d
        prefixes[d.prefix] = d
    nodes: dict[str, Node] = {n.key: n for d in datasets for n in d.nodes}

    seen_pairs: set[tuple[str, str]] = set()
    for m in mappings:
        if (m.source, m.target) in seen_pairs:
            raise TaxonomyError(f"{m.file}: a second mapping {m.source} -> {m.target} is loaded")
        seen_pairs.add((m.source, m.target))

    policy_ids: dict[str, str] = {}
    for m in mappings:
        for p in m.policies:
            if p.id in policy_ids:
                raise TaxonomyError(f"{_loc(p.file, p.line)}: duplicate policy id {p.id!r} (first at {policy_ids[p.id]})")
            policy_ids[p.id] = _loc(p.file, p.line)
            if p.kind == "thing_stuff":
                flags = {nodes[k].isthing for k in p.nodes}
                if flags != {True, False}:
                    raise TaxonomyError(f"{_loc(p.file, p.line)}: thing_stuff policy {p.id!r} must list at least one thing and one stuff class")

    edges = [e for m in mappings for e in m.edges]
    _check_pairs(edges)
    _check_same(edges, nodes)
    _check_acyclic(edges)
    _check_weights(edges)
    for m in mappings:
        pol = {p.id: p for p in m.policies}
        for e in m.edges:
            for pid in e.policies:
                if pid not in pol:
                    raise TaxonomyError(f"{e.where()}: edge {e.src} {e.rel} {e.dst} lists unknown policy {pid!r}")
                if e.src not in pol[pid].nodes and e.dst not in pol[pid].nodes:
                    raise TaxonomyError(f"{e.where()}: edge {e.src} {e.rel} {e.dst} lists policy {pid!r}, which contains neither node")
        for u in m.unlabeled:
            for pid in u.policies:
                if pid not in pol:
                    raise TaxonomyError(f"{_loc(u.file, u.line)}: {u.node} lists unknown policy {pid!r}")
        _check_coverage(m, names, nodes)
        _check_harmonisations(m, pol)


def _check_pairs(edges: Sequence[Edge]) -> None:
    by_pair: dict[frozenset[str], Edge] = {}
    for e in edges:
        if e.src == e.dst:
            raise TaxonomyError(f"{e.where()}: edge relates {e.src} to itself")
        k = frozenset((e.src, e.dst))
        if k in by_pair:
            f = by_pair[k]
            same_statement = (f.src, f.rel, f.dst) == (e.src, e.rel, e.dst) or (f.src, f.rel, f.dst) == (e.dst, e.inverse().rel, e.src)
            kind = "duplicate edge" if same_statement else "contradictory edges"
            raise TaxonomyError(
                f"{e.where()}: {kind}: {e.src} {e.rel} {e.dst} and {f.src} {f.rel} {f.dst} ({f.where()}); keep one relation per pair"
            )
        by_pair[k] = e


def _oriented(edges: Sequence[Edge]) -> list[Edge]:
    return [x for e in edges for x in (e, e.inverse())]


def _check_same(edges: Sequence[Edge], nodes: dict[str, Node]) -> None:
    intra_related = {frozenset((e.src, e.dst)) for e in edges if e.scope == "intra"}
    out: dict[str, list[Edge]] = defaultdict(list)
    for e in _oriented([e for e in edges if e.scope == "cross"]):
        out[e.src].append(e)
    for key, es in out.items():
        by_ds: dict[str, list[Edge]] = defaultdict(list)
        for e in es:
            by_ds[nodes[e.dst].dataset].append(e)
        for ds, group in by_ds.items():
            same = [e for e in group if e.rel == "same"]
            if len(same) > 1 and not all(e.multi_same for e in same):
                bad = next(e for e in same if not e.multi_same)
                others = ", ".join(e.dst for e in same)
                raise TaxonomyError(
                    f"{bad.where()}: {key} has {len(same)} `same` edges into {ds} ({others}); "
                    "at most one, unless each such edge gives a reason in `multi_same`"
                )
            for s in same:
                for e in group:
                    if e.rel in ("broader", "narrower") and e.dst != s.dst and frozenset((s.dst, e.dst)) not in intra_related:
                        raise TaxonomyError(
                            f"{e.where()}: contradictory edges: {key} is the `same` as {s.dst} ({s.where()}) "
                            f"but `{e.rel}` than {e.dst}, another {ds} class; {s.dst} and {e.dst} are disjoint "
                            "unless an intra-dataset edge relates them"
                        )


def _check_acyclic(edges: Sequence[Edge]) -> None:
    # contract `same` components, then look for a cycle in "a broader b"
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in edges:
        if e.rel == "same":
            parent[find(e.src)] = find(e.dst)
    for rel, inv, what in (("broader", "narrower", "broader"), ("part_of", "has_part", "part_of")):
        g = nx.DiGraph()
        for e in edges:
            if e.rel == rel:
                a, b = e.src, e.dst
            elif e.rel == inv:
                a, b = e.dst, e.src
            else:
                continue
            if what == "broader":
                a, b = find(a), find(b)
                if a == b:
                    raise TaxonomyError(f"{e.where()}: cycle in `broader`: {e.src} {e.rel} {e.dst}, but they are linked by `same` edges")
            g.add_edge(a, b, edge=e)
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            continue
        cyc_edges: list[Edge] = [g.edges[u, v]["edge"] for u, v in cycle]
        last = max(cyc_edges, key=lambda x: (x.file or "", x.line or 0))
        path = " -> ".join([cycle[0][0], *[v for _, v in cycle]])
        raise TaxonomyError(f"{last.where()}: cycle in `{what}`: {path}")


def _check_weights(edges: Sequence[Edge]) -> None:
    total: dict[str, float] = defaultdict(float)
    first: dict[str, Edge] = {}
    for e in edges:
        if e.weight is None:
            continue
        total[e.src] += e.weight
        first.setdefault(e.src, e)
        if total[e.src] > 1.0 + _WEIGHT_TOL:
            raise TaxonomyError(f"{e.where()}: weights of the edges out of {e.src} sum to {total[e.src]:.4f} > 1")


def _check_coverage(m: MappingSpec, names: dict[str, DatasetSpec], nodes: dict[str, Node]) -> None:
    covered: dict[str, Edge] = {}
    for e in _oriented([e for e in m.edges if e.scope == "cross"]):
        if nodes[e.src].dataset == m.target:
            covered.setdefault(e.src, e)
    marked: dict[str, int | None] = {}
    for u in m.unlabeled:
        if u.node in marked:
            raise TaxonomyError(f"{_loc(u.file, u.line)}: {u.node} is marked unlabeled_in_source twice")
        marked[u.node] = u.line
        if u.node in covered:
            e = covered[u.node]
            raise TaxonomyError(
                f"{_loc(u.file, u.line)}: {u.node} is marked unlabeled_in_source but has a `{e.rel}` edge to "
                f"{e.dst} ({e.where()}); remove one of them"
            )
    missing = [n for n in names[m.target].nodes if n.key not in covered and n.key not in marked]
    if missing and m.coverage != "partial":
        listed = ", ".join(n.label() for n in missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise TaxonomyError(
            f"{m.file}: {len(missing)} {m.target} class(es) have no edge to {m.source} and are not marked "
            f"unlabeled_in_source: {listed}"
        )


def _check_harmonisations(m: MappingSpec, pol: Mapping[str, object]) -> None:
    seen_names: set[str] = set()
    for h in m.harmonisations:
        if h.name in seen_names:
            raise TaxonomyError(f"{_loc(h.file, h.line)}: duplicate harmonisation name {h.name!r}")
        seen_names.add(h.name)
        used: dict[str, str] = {}
        gnames: set[str] = set()
        for g in h.groups:
            if g.name in gnames:
                raise TaxonomyError(f"{_loc(h.file, g.line)}: harmonisation {h.name!r}: duplicate group name {g.name!r}")
            gnames.add(g.name)
            if len(g.members) < 2:
                raise TaxonomyError(f"{_loc(h.file, g.line)}: harmonisation {h.name!r}: group {g.name!r} needs at least two members")
            if g.policy and g.policy not in pol:
                raise TaxonomyError(f"{_loc(h.file, g.line)}: harmonisation {h.name!r}: group {g.name!r} cites unknown policy {g.policy!r}")
            for k in g.members:
                if k in used:
                    raise TaxonomyError(
                        f"{_loc(h.file, g.line)}: harmonisation {h.name!r}: {k} is in groups {used[k]!r} and {g.name!r}"
                    )
                used[k] = g.name
