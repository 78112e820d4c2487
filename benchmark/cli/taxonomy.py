"""`ovbench taxonomy`: Query, export and check the COCO <-> ADE20K taxonomy graph."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import OvbenchError

PROTOCOL_CHOICES = ("fcclip_string", "graph_same", "graph_covered", "graph_any")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "taxonomy",
        help="Query, export and check the taxonomy graph (COCO <-> every suite target).",
        description="Query, export and check the taxonomy graph: COCO-133 <-> ADE20K-150/-847, Cityscapes, Mapillary Vistas, "
        "Pascal Context-59/-459, Pascal VOC-20/-21 (taxonomies/*.yaml). See docs/taxonomy.md.",
    )
    p.set_defaults(func=run, taxonomy_command=None)
    tsub = p.add_subparsers(dest="taxonomy_command", metavar="ACTION")

    def common(q: argparse.ArgumentParser, pair: bool = True) -> None:
        q.add_argument("--files", nargs="+", metavar="FILE", help="load these YAML files / folders instead of the shipped taxonomies")
        if pair:
            q.add_argument("--target", default="ade20k_150", help="evaluation taxonomy: a class list or a dataset name (default: ade20k_150)")
            q.add_argument("--source", default="coco_panoptic_133", help="training taxonomy (default: coco_panoptic_133)")

    s = tsub.add_parser("show", help="relations, policies and seen/unseen status of a class", description="Show a class: relations, policies, seen/unseen under each protocol.")
    s.add_argument("cls", metavar="CLASS", help="class name (pillow, 'signboard'), key (ade:57) or prompt synonym")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--target", default=None, help="only classes of this class list or dataset (e.g. pascal_ctx_59 or pascal_ctx_59_sem_seg_val)")
    common(s, pair=False)
    s.set_defaults(func=cmd_show)

    e = tsub.add_parser("export", help="export the graph as JSON or GraphML", description="Export the whole graph (round-trips through `--files F`).")
    e.add_argument("--format", choices=("json", "graphml"), default="json")
    e.add_argument("--out", metavar="F", help="output file (default: stdout)")
    common(e, pair=False)
    e.set_defaults(func=cmd_export)

    c = tsub.add_parser("check", help="validate taxonomy YAML files", description="Validate taxonomy files (default: the shipped ones); errors point at file:line.")
    c.add_argument("files_pos", nargs="*", metavar="FILE", help="class list or mapping YAML files (missing class lists come from the shipped folder)")
    c.set_defaults(func=cmd_check)

    n = tsub.add_parser("seen", help="print or export the seen/unseen split", description="Seen/unseen target classes under each protocol.")
    n.add_argument("--protocol", choices=(*PROTOCOL_CHOICES, "all"), default="all")
    n.add_argument("--format", choices=("csv", "json"), default="csv")
    n.add_argument("--out", metavar="F", help="output file (default: stdout)")
    common(n)
    n.set_defaults(func=cmd_seen)


def run(args: argparse.Namespace) -> int:
    print("usage: ovbench taxonomy {show,export,check,seen} ...  (ovbench taxonomy -h for help)", file=sys.stderr)
    return 2


def _graph(files: list[str] | None):  # type: ignore[no-untyped-def]
    from ..taxonomy import load_graph

    return load_graph(files) if files else load_graph()


def _emit(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def _edge_dict(e: Any, g: Any) -> dict[str, Any]:
    other = g.node(e.dst)
    d = {
        "rel": e.rel,
        "other": e.dst,
        "other_name": other.name,
        "other_dataset": other.dataset,
        "scope": e.scope,
        "confidence": e.confidence,
        "weight": e.weight,
        "policies": list(e.policies),
        "note": e.note,
        "inferred": e.inferred,
        "evidence": [x.to_dict() for x in e.evidence],
    }
    return d


def cmd_show(args: argparse.Namespace) -> int:
    g = _graph(args.files)
    target = _class_list_name(args.target) if getattr(args, "target", None) else None
    if target is not None:
        g.dataset(target)  # unknown names: a TaxonomyError listing the loaded ones
    nodes = g.resolve(args.cls, target)
    if not nodes:
        where = f" in {target}" if target else ""
        raise OvbenchError(f"no class matches {args.cls!r}{where} (try a key such as ade:57, or `ovbench taxonomy seen`)")
    report = []
    for n in nodes:
        item: dict[str, Any] = {
            "key": n.key,
            "dataset": n.dataset,
            "id": n.id,
            "name": n.name,
            "isthing": n.isthing,
            "synonyms": list(n.synonyms),
            "definition": n.definition,
            "relations": [_edge_dict(e, g) for e in g.relations(n.key)],
            "policies": [{"id": p.id, "kind": p.kind, "summary": p.summary, "annotates": dict(p.annotates)} for p in g.policies(None, None, node=n.key)],
            "as_target": [],
        }
        for src, tgt in g.mappings():
            if tgt != n.dataset:
                continue
            seen = {p: n.id in g.seen_ids(tgt, src, p) for p in PROTOCOL_CHOICES}
            unl = [u for u in g.unlabeled(tgt, src) if u.node == n.key]
            item["as_target"].append(
                {
                    "source": src,
                    "source_relation": g.source_relation(n.id, tgt, src),
                    "conflict": n.id in g.conflict_ids(tgt, src),
                    "seen": seen,
                    "unlabeled_note": unl[0].note if unl else "",
                }
            )
        report.append(item)
    if args.format == "json":
        sys.stdout.write(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
        return 0
    out = io.StringIO()
    for item in report:
        kind = "thing" if item["isthing"] else "stuff"
        out.write(f"{item['key']}  {item['name'].strip()!r}  ({item['dataset']}, {kind})\n")
        if item["synonyms"]:
            out.write(f"  prompt synonyms: {', '.join(item['synonyms'])}\n")
        if item["definition"]:
            out.write(f"  definition: {item['definition']}\n")
        for t in item["as_target"]:
            flags = "  ".join(f"{p}={'seen' if v else 'unseen'}" for p, v in t["seen"].items())
            out.write(f"  vs {t['source']}: {t['source_relation']}; conflict class: {'yes' if t['conflict'] else 'no'}\n    {flags}\n")
            if t["unlabeled_note"]:
                out.write(f"    note: {t['unlabeled_note']}\n")
        out.write(f"  relations ({len(item['relations'])}):\n")
        for r in item["relations"]:
            owner = r["other"] if r["inferred"] else item["key"]  # a weight is a share of the stored edge's src class
            w = f", {r['weight']:.3g} of {owner}'s segments" if r["weight"] is not None else ""
            srcs = ", ".join(sorted({x["source"] for x in r["evidence"]}))
            out.write(f"    {r['rel']:<9} {r['other']:<9} {r['other_name'].strip()!r} [{r['scope']}, {r['confidence']}{w}; {srcs}]\n")
            if r["note"]:
                out.write(f"              {r['note']}\n")
        out.write(f"  policies ({len(item['policies'])}):\n")
        for p in item["policies"]:
            out.write(f"    {p['id']} ({p['kind']}): {p['summary']}\n")
            for ds, text in p["annotates"].items():
                out.write(f"      {ds}: {text}\n")
        out.write("\n")
    sys.stdout.write(out.getvalue())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..taxonomy import export_graphml, export_json

    g = _graph(args.files)
    text = export_json(g) if args.format == "json" else export_graphml(g)
    _emit(text, args.out)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from collections import Counter

    g = _graph(args.files_pos or None)
    rels = Counter(e.rel for e in g.edges())
    print(f"OK  sha256 {g.sha256()}")
    for ds in g.datasets():
        nodes = g.nodes(ds)
        print(f"  {ds}: {len(nodes)} classes ({sum(n.isthing for n in nodes)} things)")
    for src, tgt in g.mappings():
        m = g.mapping(tgt, src)
        print(
            f"  {src} -> {tgt}: {len(m.edges)} edges, {len(m.unlabeled)} unlabeled_in_source, "
            f"{len(m.policies)} policies ({len(g.conflict_ids(tgt, src))} conflict classes), {len(m.harmonisations)} harmonisations"
            + (f"; coverage partial: {len(g.unmapped_ids(tgt, src))} unmapped" if m.coverage == "partial" else "")
        )
    print("  edges by relation: " + ", ".join(f"{k} {v}" for k, v in sorted(rels.items())))
    return 0


def _class_list_name(name: str) -> str:
    """A catalog dataset name (``pascal_voc_20_sem_seg_val``) -> its class list; other names as given."""
    from ..data.catalog import DATASETS

    return DATASETS.get(name).class_list if name in DATASETS.names() else name


def cmd_seen(args: argparse.Namespace) -> int:
    args.target, args.source = _class_list_name(args.target), _class_list_name(args.source)
    g = _graph(args.files)
    protocols = list(PROTOCOL_CHOICES) if args.protocol == "all" else [args.protocol]
    seen = {p: g.seen_ids(args.target, args.source, p) for p in protocols}
    conflict = g.conflict_ids(args.target, args.source)
    rows = []
    for n in g.nodes(args.target):
        row: dict[str, Any] = {
            "id": n.id,
            "name": n.name,
            "isthing": int(n.isthing),
            "source_relation": g.source_relation(n.id, args.target, args.source),
            "conflict": int(n.id in conflict),
        }
        for p in protocols:
            row[p] = int(n.id in seen[p])
        rows.append(row)
    if args.format == "json":
        doc = {
            "target": args.target,
            "source": args.source,
            "taxonomy_sha256": g.sha256(),
            "coverage": g.mapping(args.target, args.source).coverage,
            "n_unmapped": len(g.unmapped_ids(args.target, args.source)),
            "protocols": {
                p: {"n_seen": len(seen[p]), "n_unseen": len(rows) - len(seen[p]), "seen": sorted(seen[p]), "unseen": sorted({r["id"] for r in rows} - seen[p])}
                for p in protocols
            },
            "classes": rows,
        }
        text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        text = buf.getvalue()
    _emit(text, args.out)
    summary = ", ".join(f"{p}: {len(seen[p])} seen / {len(rows) - len(seen[p])} unseen" for p in protocols)
    unmapped = g.unmapped_ids(args.target, args.source)
    if unmapped:
        summary += f" ({len(unmapped)} classes unmapped: coverage partial, see docs/taxonomy.md)"
    print(f"{args.target} vs {args.source}: {summary}", file=sys.stderr)
    return 0
