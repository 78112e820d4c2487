"""Terminal tables of a results file: the oracle table (rows like the paper's Tables 2-4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..results.io import load_results


def _fmt(x: Any) -> str:
    return "   -" if x is None else f"{100 * x:5.1f}"


def is_semantic(doc: dict[str, Any]) -> bool:
    """Is this the results file of a semantic-only target (mIoU, no PQ)?"""
    return doc.get("dataset", {}).get("task") == "semantic"


def oracle_table(doc: dict[str, Any]) -> str:
    """Rows: oracles. Panoptic targets: PQ all / things / stuff / seen / unseen (x100), SQ, RQ,
    mIoU. Semantic targets: mIoU all / seen / unseen (/ clean / conflict) (x100)."""
    if is_semantic(doc):
        return semantic_table(doc)
    cols = [c for c in ("all", "things", "stuff", "seen", "unseen") if any(c in o["splits"] for o in doc["oracles"].values())]
    head = f"{'oracle':<40} {'table':>5} " + " ".join(f"{'PQ_' + c:>9}" for c in cols) + f" {'SQ':>6} {'RQ':>6} {'mIoU':>6}"
    lines = [head, "-" * len(head)]
    for o in doc["oracles"].values():
        sp = o["splits"]
        vals = " ".join(f"{_fmt(sp.get(c, {}).get('pq')):>9}" for c in cols)
        lines.append(f"{o['title'][:40]:<40} {o.get('paper_table') or '':>5} {vals} {_fmt(sp['all'].get('sq')):>6} "
                     f"{_fmt(sp['all'].get('rq')):>6} {_fmt(o.get('miou')):>6}")
    return "\n".join(lines)


def semantic_table(doc: dict[str, Any]) -> str:
    """The oracle table of a semantic target: mIoU per split (x100)."""
    cols = [c for c in ("all", "seen", "unseen", "clean", "conflict") if any(c in o["miou_splits"] for o in doc["oracles"].values())]
    head = f"{'oracle':<42} {'table':>5} " + " ".join(f"{'mIoU_' + c:>13}" for c in cols)
    lines = [head, "-" * len(head)]
    for o in doc["oracles"].values():
        sp = o["miou_splits"]
        vals = " ".join(f"{_fmt(sp.get(c, {}).get('miou')):>13}" for c in cols)
        lines.append(f"{o['title'][:42]:<42} {o.get('paper_table') or '':>5} {vals}")
    return "\n".join(lines)


def header(doc: dict[str, Any]) -> str:
    """One line naming model, dataset, suite, and what kind of evaluation it is."""
    line = (f"{doc['model']['name']} on {doc['dataset']['name']} ({doc['dataset']['num_images']} images), "
            f"suite {doc['suite']['name']} v{doc['suite']['version']}")
    kind = []
    if is_semantic(doc):
        kind.append("semantic target: mIoU only (no PQ, no things)")
    if doc.get("taxonomy", {}).get("in_domain"):
        kind.append("in-domain: the training taxonomy, every class seen, no conflicts, no harmonisation")
    return line + "".join(f"\n  [{k}]" for k in kind)


def print_oracle_table(path: str | Path) -> None:
    doc = load_results(path)
    print(header(doc))
    print(oracle_table(doc))
