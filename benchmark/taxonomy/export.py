"""Export the graph to JSON / GraphML and read it back (``load(export(g)) == g``).

JSON: one "bundle" document holding every class list and mapping in the YAML schema
(``schema: ovbench-taxonomy-bundle/1``); it is read with the same parser as the YAML files.

GraphML: nodes and edges (stored ones plus their inverses, ``inferred`` marks the latter) with
scalar attributes; lists (synonyms, evidence, policies) are JSON strings, and the rest of the
bundle (class-list order, policies, unlabeled marks, harmonisations, evidence sources) is a JSON
string in the graph attribute ``ovbench_bundle``. Tools such as Gephi or yEd read it directly.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import networkx as nx

from ..errors import TaxonomyError
from .model import BUNDLE_SCHEMA, CLASS_SCHEMA, MAPPING_SCHEMA, DatasetSpec, Edge, MappingSpec

if TYPE_CHECKING:  # pragma: no cover
    from .graph import TaxonomyGraph


def _class_list_doc(d: DatasetSpec) -> dict[str, Any]:
    classes = []
    for n in d.nodes:
        c: dict[str, Any] = {"id": n.id, "name": n.name, "isthing": n.isthing, "synonyms": list(n.synonyms)}
        if n.definition:
            c["definition"] = n.definition
        if n.definition_source:
            c["definition_source"] = n.definition_source
        c.update(n.extra)
        classes.append(c)
    doc: dict[str, Any] = {"schema": CLASS_SCHEMA, "name": d.name, "prefix": d.prefix}
    if d.title:
        doc["title"] = d.title
    doc.update(d.meta)
    doc["classes"] = classes
    return doc


def _edge_doc(e: Edge) -> dict[str, Any]:
    doc: dict[str, Any] = {"src": e.src, "rel": e.rel, "dst": e.dst, "scope": e.scope, "confidence": e.confidence}
    if e.weight is not None:
        doc["weight"] = e.weight
    if e.policies:
        doc["policies"] = list(e.policies)
    if e.note:
        doc["note"] = e.note
    if e.multi_same:
        doc["multi_same"] = e.multi_same
    doc["evidence"] = [x.to_dict() for x in e.evidence]
    return doc


def _mapping_doc(m: MappingSpec, *, edges: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": MAPPING_SCHEMA, "source": m.source, "target": m.target, "description": m.description}
    doc["sources"] = {k: dict(v) for k, v in m.sources.items()}
    if m.coverage != "complete":
        doc["coverage"] = {"mode": m.coverage, "note": m.coverage_note}
    if edges:
        doc["edges"] = [_edge_doc(e) for e in m.edges]
    unl = []
    for u in m.unlabeled:
        ud: dict[str, Any] = {"node": u.node, "confidence": u.confidence}
        if u.policies:
            ud["policies"] = list(u.policies)
        if u.note:
            ud["note"] = u.note
        ud["evidence"] = [x.to_dict() for x in u.evidence]
        unl.append(ud)
    doc["unlabeled_in_source"] = unl
    doc["policies"] = [
        {
            "id": p.id,
            "kind": p.kind,
            "summary": p.summary,
            "annotates": dict(p.annotates),
            "nodes": list(p.nodes),
            "evidence": [x.to_dict() for x in p.evidence],
        }
        for p in m.policies
    ]
    harms = []
    for h in m.harmonisations:
        hd: dict[str, Any] = {"name": h.name, "description": h.description}
        if h.groups:
            hd["groups"] = []
            for g in h.groups:
                gd: dict[str, Any] = {"name": g.name, "into": g.into, "members": list(g.members)}
                if g.isthing is not None:
                    gd["isthing"] = g.isthing
                if g.policy:
                    gd["policy"] = g.policy
                hd["groups"].append(gd)
        if h.derive:
            hd["derive"] = dict(h.derive)
        harms.append(hd)
    doc["harmonisations"] = harms
    return doc


def to_bundle(g: TaxonomyGraph) -> dict[str, Any]:
    """The whole graph as one JSON-able document (class lists and mappings in YAML schema)."""
    datasets, mappings = g.specs()
    return {
        "schema": BUNDLE_SCHEMA,
        "class_lists": [_class_list_doc(d) for d in datasets],
        "mappings": [_mapping_doc(m) for m in mappings],
    }


def export_json(g: TaxonomyGraph, out: str | Path | IO[str] | None = None) -> str:
    """Write the JSON bundle to ``out`` (path or text stream) and return the text."""
    text = json.dumps(to_bundle(g), indent=1, ensure_ascii=False) + "\n"
    _write(out, text)
    return text


def graph_from_bundle(bundle: Any, *, file: str = "<bundle>", sha256: str | None = None) -> TaxonomyGraph:
    """Rebuild a graph from :func:`to_bundle` output."""
    from .graph import graph_from_documents

    if not isinstance(bundle, dict) or bundle.get("schema") != BUNDLE_SCHEMA:
        raise TaxonomyError(f"{file}: not an ovbench taxonomy bundle (expected schema {BUNDLE_SCHEMA!r})")
    raw = json.dumps(bundle, sort_keys=True).encode("utf-8")
    docs = [(f"{file}#class_lists[{i}]", d, raw) for i, d in enumerate(bundle.get("class_lists", []))]
    docs += [(f"{file}#mappings[{i}]", d, raw) for i, d in enumerate(bundle.get("mappings", []))]
    return graph_from_documents(docs, shipped_class_lists=False, sha256=sha256 or hashlib.sha256(raw).hexdigest())


# ---- GraphML --------------------------------------------------------------------------------------


def to_networkx(g: TaxonomyGraph) -> nx.MultiDiGraph:
    """A plain (unfrozen) MultiDiGraph with GraphML-safe attributes."""
    datasets, mappings = g.specs()
    out = nx.MultiDiGraph()
    meta = {
        "schema": BUNDLE_SCHEMA,
        "class_lists": [{k: v for k, v in _class_list_doc(d).items() if k != "classes"} | {"order": [n.key for n in d.nodes]} for d in datasets],
        "mappings": [_mapping_doc(m, edges=False) | {"edge_count": len(m.edges)} for m in mappings],
    }
    out.graph["ovbench_bundle"] = json.dumps(meta, ensure_ascii=False)
    for d in datasets:
        for n in d.nodes:
            attrs: dict[str, Any] = {"dataset": n.dataset, "class_id": n.id, "name": n.name, "isthing": n.isthing}
            attrs["synonyms"] = json.dumps(list(n.synonyms), ensure_ascii=False)
            attrs["definition"] = n.definition
            attrs["definition_source"] = n.definition_source
            attrs["extra"] = json.dumps(dict(n.extra), ensure_ascii=False)
            out.add_node(n.key, **attrs)
    for m in mappings:
        for i, e in enumerate(m.edges):
            for x in (e, e.inverse()):
                attrs = {
                    "rel": x.rel,
                    "scope": x.scope,
                    "confidence": x.confidence,
                    "inferred": x.inferred,
                    "mapping": m.key,
                    "order": i,
                    "policies": json.dumps(list(x.policies)),
                    "note": x.note,
                    "multi_same": x.multi_same,
                    "evidence": json.dumps([v.to_dict() for v in x.evidence], ensure_ascii=False),
                }
                if x.weight is not None:
                    attrs["weight"] = float(x.weight)
                out.add_edge(x.src, x.dst, key=x.rel, **attrs)
    return out


def export_graphml(g: TaxonomyGraph, out: str | Path | IO[str] | None = None) -> str:
    """Write GraphML to ``out`` (path or text stream) and return the text."""
    buf = io.BytesIO()
    nx.write_graphml(to_networkx(g), buf, encoding="utf-8", prettyprint=True)
    text = buf.getvalue().decode("utf-8")
    _write(out, text)
    return text


def graph_from_graphml(text: str | bytes, *, file: str = "<graphml>") -> TaxonomyGraph:
    """Rebuild a graph from :func:`export_graphml` output."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    try:
        h = nx.read_graphml(io.BytesIO(raw), force_multigraph=True)
        meta = json.loads(h.graph["ovbench_bundle"])
    except (KeyError, ValueError, nx.NetworkXError) as exc:
        raise TaxonomyError(f"{file}: not an ovbench GraphML export ({exc})") from exc
    class_lists = []
    for cl in meta["class_lists"]:
        order = cl.pop("order")
        classes = []
        for key in order:
            a = h.nodes[key]
            c: dict[str, Any] = {"id": int(a["class_id"]), "name": a["name"], "isthing": bool(a["isthing"]), "synonyms": json.loads(a["synonyms"])}
            if a.get("definition"):
                c["definition"] = a["definition"]
            if a.get("definition_source"):
                c["definition_source"] = a["definition_source"]
            c.update(json.loads(a.get("extra", "{}")))
            classes.append(c)
        cl["classes"] = classes
        class_lists.append(cl)
    by_mapping: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for u, v, a in h.edges(data=True):
        if a.get("inferred"):
            continue
        e: dict[str, Any] = {"src": u, "rel": a["rel"], "dst": v, "scope": a["scope"], "confidence": a["confidence"]}
        if "weight" in a:
            e["weight"] = float(a["weight"])
        pols = json.loads(a.get("policies", "[]"))
        if pols:
            e["policies"] = pols
        if a.get("note"):
            e["note"] = a["note"]
        if a.get("multi_same"):
            e["multi_same"] = a["multi_same"]
        e["evidence"] = json.loads(a["evidence"])
        by_mapping.setdefault(a["mapping"], []).append((int(a["order"]), e))
    mappings = []
    for m in meta["mappings"]:
        count = m.pop("edge_count")
        edges = [e for _, e in sorted(by_mapping.get(f"{m['source']}->{m['target']}", []), key=lambda t: t[0])]
        if len(edges) != count:
            raise TaxonomyError(f"{file}: mapping {m['source']} -> {m['target']} lists {count} edges but the graph holds {len(edges)}")
        mappings.append(m | {"edges": edges})
    bundle = {"schema": BUNDLE_SCHEMA, "class_lists": class_lists, "mappings": mappings}
    return graph_from_bundle(bundle, file=file, sha256=hashlib.sha256(raw).hexdigest())


def read_bundle_file(path: str | Path) -> TaxonomyGraph:
    """Load an exported ``.json`` or ``.graphml`` file."""
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix.lower() == ".graphml":
        return graph_from_graphml(raw, file=str(path))
    try:
        bundle = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TaxonomyError(f"{path}: invalid JSON ({exc})") from exc
    return graph_from_bundle(bundle, file=str(path), sha256=hashlib.sha256(raw).hexdigest())


def _write(out: str | Path | IO[str] | None, text: str) -> None:
    if out is None:
        return
    if isinstance(out, str | Path):
        Path(out).write_text(text, encoding="utf-8")
    else:
        out.write(text)
