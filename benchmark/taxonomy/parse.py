"""Turn parsed YAML/JSON documents into the records of :mod:`.model`, checking field types.

Structural checks live here (fields, types, vocabularies, node references); graph-level checks
(contradictions, cycles, coverage) live in :mod:`.validate`. Every error names the file and the
line of the offending entry (or its index when the input carries no line numbers, e.g. JSON).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import TaxonomyError
from .model import (
    CLASS_SCHEMA,
    CONFIDENCE,
    COVERAGE_MODES,
    INVERSE,
    MAPPING_SCHEMA,
    POLICY_KINDS,
    SCOPES,
    DatasetSpec,
    Edge,
    Evidence,
    GroupSpec,
    HarmonisationSpec,
    MappingSpec,
    Node,
    Policy,
    UnlabeledMark,
)
from .yamlio import Located, where

CLASS_FIELDS = {"id", "name", "isthing", "synonyms", "definition", "definition_source"}
EDGE_FIELDS = {"src", "rel", "dst", "scope", "confidence", "evidence", "weight", "policies", "note", "multi_same"}
EVIDENCE_FIELDS = {"source", "ref", "detail"}
UNLABELED_FIELDS = {"node", "confidence", "evidence", "note", "policies"}
POLICY_FIELDS = {"id", "kind", "summary", "nodes", "evidence", "annotates"}
HARM_FIELDS = {"name", "description", "groups", "derive"}
GROUP_FIELDS = {"name", "into", "members", "isthing", "policy"}
MAPPING_FIELDS = {"schema", "source", "target", "description", "sources", "edges", "unlabeled_in_source", "policies", "harmonisations", "coverage"}
COVERAGE_FIELDS = {"mode", "note"}
DERIVE_RULES = {"merge_narrower_than_source"}


def _err(obj: Any, msg: str, key: str | None = None, *, file: str | None = None, index: int | None = None) -> TaxonomyError:
    return TaxonomyError(f"{where(obj, key, file=file, index=index)}: {msg}")


def _check_fields(d: Mapping[str, Any], allowed: set[str], what: str, *, file: str | None, index: int | None = None) -> None:
    for k in d:
        if k not in allowed:
            hint = difflib.get_close_matches(str(k), sorted(allowed), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(sorted(allowed))})"
            raise _err(d, f"{what}: unknown field {k!r}{extra}", str(k), file=file, index=index)


def _require(d: Mapping[str, Any], key: str, what: str, *, file: str | None, index: int | None = None) -> Any:
    if key not in d or d[key] is None or d[key] == "":
        raise _err(d, f"{what}: missing required field {key!r}", file=file, index=index)
    return d[key]


def _mapping(obj: Any, what: str, *, file: str | None, index: int | None = None) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise _err(obj, f"{what} must be a mapping, got {type(obj).__name__}", file=file, index=index)
    return obj


def _list(obj: Any, what: str, parent: Any, key: str, *, file: str | None) -> list[Any]:
    if obj is None:
        return []
    if not isinstance(obj, list):
        raise _err(parent, f"{what} must be a list, got {type(obj).__name__}", key, file=file)
    return obj


def _str(d: Mapping[str, Any], key: str, what: str, *, file: str | None, index: int | None = None, default: str = "") -> str:
    v = d.get(key, default)
    if v is None:
        return default
    if not isinstance(v, str):
        raise _err(d, f"{what}: field {key!r} must be a string, got {v!r}", key, file=file, index=index)
    return v


def _line(d: Any) -> int | None:
    return d.line if isinstance(d, Located) else None


# ---- class lists --------------------------------------------------------------------------------


def parse_class_list(doc: Any, file: str | None) -> DatasetSpec:
    """A class-list document (``schema: ovbench-classes/1``) -> :class:`DatasetSpec`."""
    doc = _mapping(doc, "class list", file=file)
    if doc.get("schema") != CLASS_SCHEMA:
        raise _err(doc, f"expected schema {CLASS_SCHEMA!r}, got {doc.get('schema')!r}", "schema", file=file)
    name = _require(doc, "name", "class list", file=file)
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise _err(doc, f"class list name must be an identifier, got {name!r}", "name", file=file)
    prefix = doc.get("prefix", name)
    if not isinstance(prefix, str) or not prefix or ":" in prefix:
        raise _err(doc, f"prefix must be a non-empty string without ':', got {prefix!r}", "prefix", file=file)
    classes = _list(_require(doc, "classes", "class list", file=file), "classes", doc, "classes", file=file)
    nodes: list[Node] = []
    seen: dict[int, Any] = {}
    names: dict[str, Any] = {}
    for i, c in enumerate(classes):
        c = _mapping(c, f"class #{i}", file=file, index=i)
        extra = {k: v for k, v in c.items() if k not in CLASS_FIELDS}
        cid = _require(c, "id", f"class #{i}", file=file, index=i)
        if isinstance(cid, bool) or not isinstance(cid, int):
            raise _err(c, f"class #{i}: id must be an integer, got {cid!r}", "id", file=file, index=i)
        if cid in seen:
            raise _err(c, f"duplicate class id {cid} (first at {where(seen[cid], file=file)})", "id", file=file, index=i)
        seen[cid] = c
        cname = _require(c, "name", f"class {cid}", file=file, index=i)
        if not isinstance(cname, str) or not cname.strip():
            raise _err(c, f"class {cid}: name must be a non-empty string", "name", file=file, index=i)
        norm = cname.strip().lower()
        if norm in names:
            raise _err(c, f"class {cid}: duplicate class name {cname!r} (first at {where(names[norm], file=file)})", "name",
                       file=file, index=i)
        names[norm] = c
        isthing = c.get("isthing")
        if not isinstance(isthing, bool):
            raise _err(c, f"class {cid} ({cname!r}): isthing must be true or false, got {isthing!r}", "isthing", file=file, index=i)
        syn = c.get("synonyms", []) or []
        if not isinstance(syn, list) or not all(isinstance(s, str) for s in syn):
            raise _err(c, f"class {cid} ({cname!r}): synonyms must be a list of strings", "synonyms", file=file, index=i)
        nodes.append(
            Node(
                key=f"{prefix}:{cid}",
                dataset=name,
                id=cid,
                name=cname,
                isthing=isthing,
                synonyms=tuple(syn),
                definition=_str(c, "definition", f"class {cid}", file=file, index=i),
                definition_source=_str(c, "definition_source", f"class {cid}", file=file, index=i),
                extra=extra,
                line=_line(c),
            )
        )
    meta = {k: v for k, v in doc.items() if k not in {"schema", "name", "prefix", "title", "classes"}}
    if "num_classes" in meta and meta["num_classes"] != len(nodes):
        raise _err(doc, f"num_classes says {meta['num_classes']} but {len(nodes)} classes are listed", "num_classes", file=file)
    n_things = sum(n.isthing for n in nodes)
    if "num_things" in meta and meta["num_things"] != n_things:
        raise _err(doc, f"num_things says {meta['num_things']} but {n_things} things are listed", "num_things", file=file)
    return DatasetSpec(name=name, prefix=prefix, title=_str(doc, "title", "class list", file=file), nodes=tuple(nodes), meta=meta, file=file)


# ---- mapping files ------------------------------------------------------------------------------


class Resolver:
    """Resolves node references (``prefix:id`` or ``dataset_name:id``) against loaded class lists."""

    def __init__(self, datasets: Iterable[DatasetSpec]) -> None:
        self.by_name = {d.name: d for d in datasets}
        self.by_prefix = {d.prefix: d for d in self.by_name.values()}
        self.nodes = {n.key: n for d in self.by_name.values() for n in d.nodes}

    def node(self, ref: Any, obj: Any, key: str, what: str, *, file: str | None, index: int | None = None) -> Node:
        if isinstance(ref, str) and ":" in ref:
            ns, _, sid = ref.partition(":")
            ds = self.by_prefix.get(ns) or self.by_name.get(ns)
            if ds is None:
                known = ", ".join(sorted(self.by_prefix))
                raise _err(obj, f"{what}: unknown dataset prefix {ns!r} in {ref!r} (known: {known})", key, file=file, index=index)
            try:
                cid = int(sid)
            except ValueError:
                raise _err(obj, f"{what}: node reference {ref!r} must be prefix:integer-id", key, file=file, index=index) from None
            n = self.nodes.get(f"{ds.prefix}:{cid}")
            if n is None:
                raise _err(obj, f"{what}: node {ref!r} does not exist: {ds.name} has no class id {cid}", key, file=file, index=index)
            return n
        raise _err(obj, f"{what}: node reference must look like 'prefix:id' (e.g. 'ade:57'), got {ref!r}", key, file=file, index=index)


def _evidence(obj: Any, parent: Any, what: str, sources: Mapping[str, Any], *, file: str | None, index: int | None) -> tuple[Evidence, ...]:
    items = obj if isinstance(obj, list) else None
    if not items:
        raise _err(parent, f"{what}: needs at least one evidence entry (source, ref, detail)", "evidence", file=file, index=index)
    out = []
    for j, e in enumerate(items):
        e = _mapping(e, f"{what}: evidence #{j}", file=file, index=index)
        _check_fields(e, EVIDENCE_FIELDS, f"{what}: evidence #{j}", file=file, index=index)
        vals = {}
        for k in ("source", "ref", "detail"):
            v = e.get(k)
            if not isinstance(v, str) or not v.strip():
                raise _err(e, f"{what}: evidence #{j} needs a non-empty {k!r}", file=file, index=index)
            vals[k] = v
        if sources and vals["source"] not in sources:
            hint = difflib.get_close_matches(vals["source"], sorted(sources), n=1)
            raise _err(
                e,
                f"{what}: evidence source {vals['source']!r} is not declared under 'sources'"
                + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                "source",
                file=file,
                index=index,
            )
        out.append(Evidence(vals["source"], vals["ref"], vals["detail"]))
    return tuple(out)


def _str_list(obj: Any, parent: Any, key: str, what: str, *, file: str | None, index: int | None) -> tuple[str, ...]:
    if obj is None:
        return ()
    if not isinstance(obj, list) or not all(isinstance(x, str) for x in obj):
        raise _err(parent, f"{what}: {key!r} must be a list of strings", key, file=file, index=index)
    return tuple(obj)


def _confidence(d: Mapping[str, Any], what: str, *, file: str | None, index: int | None) -> str:
    c = d.get("confidence")
    if c not in CONFIDENCE:
        raise _err(d, f"{what}: confidence must be one of {', '.join(CONFIDENCE)}, got {c!r}", "confidence", file=file, index=index)
    return str(c)


def parse_mapping(doc: Any, file: str | None, resolver: Resolver) -> MappingSpec:
    """A mapping document (``schema: ovbench-taxonomy/1``) -> :class:`MappingSpec` (node refs checked)."""
    doc = _mapping(doc, "mapping file", file=file)
    if doc.get("schema") != MAPPING_SCHEMA:
        raise _err(doc, f"expected schema {MAPPING_SCHEMA!r}, got {doc.get('schema')!r}", "schema", file=file)
    _check_fields(doc, MAPPING_FIELDS, "mapping file", file=file)
    src_ds, tgt_ds = (_require(doc, k, "mapping file", file=file) for k in ("source", "target"))
    for k, v in (("source", src_ds), ("target", tgt_ds)):
        if v not in resolver.by_name:
            raise _err(doc, f"{k} taxonomy {v!r} is not loaded (known: {', '.join(sorted(resolver.by_name))})", k, file=file)
    if src_ds == tgt_ds:
        raise _err(doc, "source and target must be different taxonomies", "target", file=file)
    mkey = f"{src_ds}->{tgt_ds}"
    sources = doc.get("sources") or {}
    if not isinstance(sources, Mapping):
        raise _err(doc, "'sources' must be a mapping of source id -> {title, url, license}", "sources", file=file)
    pair = {src_ds, tgt_ds}

    edges: list[Edge] = []
    for i, e in enumerate(_list(doc.get("edges"), "edges", doc, "edges", file=file)):
        e = _mapping(e, f"edge #{i}", file=file, index=i)
        what = f"edge #{i}"
        _check_fields(e, EDGE_FIELDS, what, file=file, index=i)
        s = resolver.node(_require(e, "src", what, file=file, index=i), e, "src", what, file=file, index=i)
        t = resolver.node(_require(e, "dst", what, file=file, index=i), e, "dst", what, file=file, index=i)
        what = f"edge {s.key} -> {t.key}"
        rel = _require(e, "rel", what, file=file, index=i)
        if rel not in INVERSE:
            hint = difflib.get_close_matches(str(rel), list(INVERSE), n=1)
            raise _err(
                e,
                f"{what}: unknown relation {rel!r} (vocabulary: {', '.join(INVERSE)})" + (f"; did you mean {hint[0]!r}?" if hint else ""),
                "rel",
                file=file,
                index=i,
            )
        if s.dataset not in pair or t.dataset not in pair:
            raise _err(e, f"{what}: this file maps {src_ds} and {tgt_ds}; edges must stay within those taxonomies", file=file, index=i)
        scope_default = "intra" if s.dataset == t.dataset else "cross"
        scope = e.get("scope", scope_default)
        if scope not in SCOPES:
            raise _err(e, f"{what}: scope must be 'cross' or 'intra', got {scope!r}", "scope", file=file, index=i)
        if scope != scope_default:
            raise _err(e, f"{what}: scope {scope!r} but the nodes are in {'one dataset' if scope_default == 'intra' else 'two datasets'}", "scope", file=file, index=i)
        weight = e.get("weight")
        if weight is not None:
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0.0 <= float(weight) <= 1.0:
                raise _err(e, f"{what}: weight must be a number in [0, 1], got {weight!r}", "weight", file=file, index=i)
            weight = float(weight)
        edges.append(
            Edge(
                src=s.key,
                rel=rel,
                dst=t.key,
                scope=scope,
                confidence=_confidence(e, what, file=file, index=i),
                evidence=_evidence(e.get("evidence"), e, what, sources, file=file, index=i),
                weight=weight,
                policies=_str_list(e.get("policies"), e, "policies", what, file=file, index=i),
                note=_str(e, "note", what, file=file, index=i),
                multi_same=_str(e, "multi_same", what, file=file, index=i),
                mapping=mkey,
                file=file,
                line=_line(e),
            )
        )

    unlabeled: list[UnlabeledMark] = []
    for i, u in enumerate(_list(doc.get("unlabeled_in_source"), "unlabeled_in_source", doc, "unlabeled_in_source", file=file)):
        u = _mapping(u, f"unlabeled_in_source #{i}", file=file, index=i)
        what = f"unlabeled_in_source #{i}"
        _check_fields(u, UNLABELED_FIELDS, what, file=file, index=i)
        n = resolver.node(_require(u, "node", what, file=file, index=i), u, "node", what, file=file, index=i)
        what = f"unlabeled_in_source {n.key}"
        if n.dataset != tgt_ds:
            raise _err(u, f"{what}: only target ({tgt_ds}) classes can be unlabeled in the source", "node", file=file, index=i)
        unlabeled.append(
            UnlabeledMark(
                node=n.key,
                source=src_ds,
                confidence=_confidence(u, what, file=file, index=i),
                evidence=_evidence(u.get("evidence"), u, what, sources, file=file, index=i),
                note=_str(u, "note", what, file=file, index=i),
                policies=_str_list(u.get("policies"), u, "policies", what, file=file, index=i),
                file=file,
                line=_line(u),
            )
        )

    policies: list[Policy] = []
    for i, p in enumerate(_list(doc.get("policies"), "policies", doc, "policies", file=file)):
        p = _mapping(p, f"policy #{i}", file=file, index=i)
        _check_fields(p, POLICY_FIELDS, f"policy #{i}", file=file, index=i)
        pid = _require(p, "id", f"policy #{i}", file=file, index=i)
        if not isinstance(pid, str):
            raise _err(p, f"policy #{i}: id must be a string", "id", file=file, index=i)
        what = f"policy {pid!r}"
        kind = _require(p, "kind", what, file=file, index=i)
        if kind not in POLICY_KINDS:
            raise _err(p, f"{what}: kind must be one of {', '.join(POLICY_KINDS)}, got {kind!r}", "kind", file=file, index=i)
        summary = _require(p, "summary", what, file=file, index=i)
        if not isinstance(summary, str):
            raise _err(p, f"{what}: summary must be a string", "summary", file=file, index=i)
        refs = _str_list(_require(p, "nodes", what, file=file, index=i), p, "nodes", what, file=file, index=i)
        nodes = [resolver.node(r, p, "nodes", what, file=file, index=i) for r in refs]
        for n in nodes:
            if n.dataset not in pair:
                raise _err(p, f"{what}: node {n.key} is not in {src_ds} or {tgt_ds}", "nodes", file=file, index=i)
        annotates = p.get("annotates") or {}
        if not isinstance(annotates, Mapping) or not all(isinstance(v, str) for v in annotates.values()):
            raise _err(p, f"{what}: 'annotates' must map dataset names to strings", "annotates", file=file, index=i)
        for k in annotates:
            if k not in pair:
                raise _err(p, f"{what}: 'annotates' key {k!r} is not {src_ds} or {tgt_ds}", "annotates", file=file, index=i)
        policies.append(
            Policy(
                id=pid,
                kind=kind,
                summary=" ".join(summary.split()),
                nodes=tuple(n.key for n in nodes),
                evidence=_evidence(p.get("evidence"), p, what, sources, file=file, index=i),
                target_ids=tuple(n.id for n in nodes if n.dataset == tgt_ds),
                source=src_ds,
                target=tgt_ds,
                annotates=dict(annotates),
                file=file,
                line=_line(p),
            )
        )

    harms: list[HarmonisationSpec] = []
    for i, h in enumerate(_list(doc.get("harmonisations"), "harmonisations", doc, "harmonisations", file=file)):
        h = _mapping(h, f"harmonisation #{i}", file=file, index=i)
        _check_fields(h, HARM_FIELDS, f"harmonisation #{i}", file=file, index=i)
        hname = _require(h, "name", f"harmonisation #{i}", file=file, index=i)
        what = f"harmonisation {hname!r}"
        desc = _require(h, "description", what, file=file, index=i)
        derive = h.get("derive") or {}
        if not isinstance(derive, Mapping):
            raise _err(h, f"{what}: derive must be a mapping", "derive", file=file, index=i)
        if derive:
            if derive.get("rule") not in DERIVE_RULES:
                raise _err(h, f"{what}: unknown derive rule {derive.get('rule')!r} (known: {', '.join(sorted(DERIVE_RULES))})", "derive", file=file, index=i)
            if derive.get("min_confidence", "low") not in CONFIDENCE:
                raise _err(h, f"{what}: min_confidence must be one of {', '.join(CONFIDENCE)}", "derive", file=file, index=i)
        groups = []
        for j, g in enumerate(_list(h.get("groups"), "groups", h, "groups", file=file)):
            g = _mapping(g, f"{what}: group #{j}", file=file, index=i)
            _check_fields(g, GROUP_FIELDS, f"{what}: group #{j}", file=file, index=i)
            gname = _require(g, "name", f"{what}: group #{j}", file=file, index=i)
            gwhat = f"{what}: group {gname!r}"
            members = [
                resolver.node(r, g, "members", gwhat, file=file, index=i)
                for r in _str_list(_require(g, "members", gwhat, file=file, index=i), g, "members", gwhat, file=file, index=i)
            ]
            into = resolver.node(_require(g, "into", gwhat, file=file, index=i), g, "into", gwhat, file=file, index=i)
            for n in [*members, into]:
                if n.dataset != tgt_ds:
                    raise _err(g, f"{gwhat}: {n.key} is not a target ({tgt_ds}) class", "members", file=file, index=i)
            if into.key not in {m.key for m in members}:
                raise _err(g, f"{gwhat}: 'into' ({into.key}) must be one of the members", "into", file=file, index=i)
            isthing = g.get("isthing")
            if isthing is not None and not isinstance(isthing, bool):
                raise _err(g, f"{gwhat}: isthing must be true, false or omitted", "isthing", file=file, index=i)
            groups.append(
                GroupSpec(
                    name=str(gname),
                    into=into.key,
                    members=tuple(m.key for m in members),
                    isthing=isthing,
                    policy=_str(g, "policy", gwhat, file=file, index=i),
                    line=_line(g),
                )
            )
        if not groups and not derive:
            raise _err(h, f"{what}: needs 'groups' or 'derive'", file=file, index=i)
        harms.append(
            HarmonisationSpec(
                name=str(hname),
                description=" ".join(str(desc).split()),
                source=src_ds,
                target=tgt_ds,
                groups=tuple(groups),
                derive=dict(derive),
                file=file,
                line=_line(h),
            )
        )

    cited: dict[str, list[str]] = {}
    for hs in sorted(harms, key=lambda x: len(x.groups)):
        for gr in hs.groups:
            if gr.policy and hs.name not in cited.setdefault(gr.policy, []):
                cited[gr.policy].append(hs.name)
    policies = [replace(p, harmonisations=tuple(cited.get(p.id, ()))) for p in policies]

    coverage, coverage_note = "complete", ""
    cov = doc.get("coverage")
    if cov is not None:
        cov = _mapping(cov, "coverage", file=file)
        _check_fields(cov, COVERAGE_FIELDS, "coverage", file=file)
        coverage = cov.get("mode", "complete")
        if coverage not in COVERAGE_MODES:
            raise _err(cov, f"coverage: mode must be one of {', '.join(COVERAGE_MODES)}, got {coverage!r}", "mode", file=file)
        coverage_note = " ".join(str(cov.get("note", "")).split())
        if coverage == "partial" and not coverage_note:
            raise _err(cov, "coverage: a partial mapping needs a 'note' saying what is curated and what is not", file=file)

    return MappingSpec(
        source=src_ds,
        target=tgt_ds,
        description=" ".join(str(doc.get("description", "")).split()),
        sources={str(k): dict(v) if isinstance(v, Mapping) else {"title": str(v)} for k, v in sources.items()},
        edges=tuple(edges),
        unlabeled=tuple(unlabeled),
        policies=tuple(policies),
        harmonisations=tuple(harms),
        file=file,
        coverage=str(coverage),
        coverage_note=coverage_note,
    )


def doc_schema(doc: Any) -> str | None:
    """The ``schema`` field of a document, if any."""
    return doc.get("schema") if isinstance(doc, Mapping) else None


def located_line(doc: Any, key: str) -> int | None:
    """Line of ``key`` in a :class:`Located` document (for file-level errors)."""
    if isinstance(doc, Located):
        return doc.key_lines.get(key, doc.line)
    return None


def sequence_of(obj: Any) -> Sequence[Any]:
    return obj if isinstance(obj, list) else []
