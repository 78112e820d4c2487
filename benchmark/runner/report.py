"""Terminal tables of a results file: the oracle table (rows like the paper's Tables 2-4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..results.io import load_results


def _fmt(x: Any) -> str:
    return "   -" if x is None else f"{100 * x:5.1f}"


def oracle_table(doc: dict[str, Any]) -> str:
    """Rows: oracles; columns: PQ all / things / stuff / seen / unseen (x100), SQ, RQ, mIoU."""
    cols = [c for c in ("all", "things", "stuff", "seen", "unseen") if any(c in o["splits"] for o in doc["oracles"].values())]
    head = f"{'oracle':<40} {'table':>5} " + " ".join(f"{'PQ_' + c:>9}" for c in cols) + f" {'SQ':>6} {'RQ':>6} {'mIoU':>6}"
    lines = [head, "-" * len(head)]
    for o in doc["oracles"].values():
        sp = o["splits"]
        vals = " ".join(f"{_fmt(sp.get(c, {}).get('pq')):>9}" for c in cols)
        lines.append(f"{o['title'][:40]:<40} {o.get('paper_table') or '':>5} {vals} {_fmt(sp['all'].get('sq')):>6} "
                     f"{_fmt(sp['all'].get('rq')):>6} {_fmt(o.get('miou')):>6}")
    return "\n".join(lines)


def print_oracle_table(path: str | Path) -> None:
    doc = load_results(path)
    print(f"{doc['model']['name']} on {doc['dataset']['name']} ({doc['dataset']['num_images']} images), suite {doc['suite']['name']} v{doc['suite']['version']}")
    print(oracle_table(doc))
