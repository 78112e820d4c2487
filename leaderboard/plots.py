"""Static SVG plots of the leaderboard (matplotlib's object API: no pyplot state, no GUI backend).

* :func:`waterfall_svg` - a model's oracle waterfall: baseline -> oracle classification,
  baseline -> selection -> no-object dropped -> + oracle segmentation / + oracle classification
  (each bar floats from its parent's PQ to its own; parents come from ``columns.yaml``), one panel
  per split, with the paper's reported values as crosses when the model is one of the paper's;
* :func:`timeline_svg` - PQ over publication date (the paper's Fig. 1, panoptic panel).

Output is deterministic (fixed hash salt, no date metadata) and text stays text (``svg.fonttype
none``). Strings from results files are drawn with ``parse_math=False`` and XML-escaped by
matplotlib; the pages embed the SVGs with ``<img>``, where scripts never run.
"""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MissingDependency
from .config import Columns

COLORS = {"base": "#7f8c8d", "up": "#2a9d8f", "down": "#e76f51", "paper": "#222222"}
KIND_COLORS = {"mask_transformer": "#1f77b4", "vlm": "#9467bd", "simulated": "#ff7f0e"}
RC = {"svg.hashsalt": "ovbench", "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
      "axes.spines.right": False}


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - matplotlib is installed in dev and demo setups
        raise MissingDependency("matplotlib is required to draw the leaderboard plots: pip install 'ovbench[plot]'") from exc
    return matplotlib


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "ovbench"})
    return buf.getvalue()


def waterfall_steps(doc: Mapping[str, Any], columns: Columns, split: str) -> list[dict[str, Any]]:
    """Bars of the waterfall of `split`: oracle key, label, value and parent value (PQ points)."""
    steps = []
    for key, meta in columns.oracles.items():
        if meta.get("group") == "vlm" or key not in doc["oracles"]:
            continue
        st = doc["oracles"][key]["splits"].get(split)
        if st is None or st["pq"] is None:
            continue
        parent = meta.get("parent")
        pst = doc["oracles"].get(parent, {}).get("splits", {}).get(split) if parent else None
        pval = pst["pq"] * 100 if pst and pst["pq"] is not None else None
        steps.append({"key": key, "label": str(meta.get("short", key)), "value": st["pq"] * 100, "parent": pval,
                      "parent_key": parent if pval is not None else None})
    return steps


def _waterfall_svg(doc: Mapping[str, Any], columns: Columns, reference: Mapping[str, Any] | None = None,
                  splits: Sequence[str] = ("all", "seen", "unseen"), metric: str = "PQ") -> str:
    """Implementation of :func:`waterfall_svg`."""
    panels = [(s, waterfall_steps(doc, columns, s)) for s in splits]
    panels = [(s, st) for s, st in panels if st]
    if not panels:
        raise ValueError(f"no oracle with a defined {metric} to draw")
    fig = _figure(3.6 * len(panels) + 0.4, 3.4)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    top = max(max(x["value"] for x in st) for _, st in panels)
    ref_oracles = (reference or {}).get("oracles", {})
    for ax, (split, steps) in zip(axes, panels):
        xs = range(len(steps))
        for i, s in enumerate(steps):
            if s["parent"] is None:
                bottom, height, color = 0.0, s["value"], COLORS["base"]
            else:
                bottom, height = min(s["parent"], s["value"]), abs(s["value"] - s["parent"])
                color = COLORS["up"] if s["value"] >= s["parent"] else COLORS["down"]
                px = next(j for j, t in enumerate(steps) if t["key"] == s["parent_key"])
                ax.plot([px, i], [s["parent"], s["parent"]], color="#bbbbbb", lw=0.8, ls=":", zorder=1)
            ax.bar(i, max(height, 0.15), bottom=bottom, color=color, width=0.62, zorder=2)
            label = f"{s['value']:.1f}" if s["parent"] is None else f"{s['value']:.1f}\n({s['value'] - s['parent']:+.1f})"
            ax.text(i, max(s["value"], s["parent"] or 0) + 1.0, label, ha="center", va="bottom", fontsize=7.5, parse_math=False)
            ref = ref_oracles.get(s["key"], {}).get(split)
            if ref is not None:
                ax.plot(i, ref, marker="x", color=COLORS["paper"], ms=7, mew=1.6, zorder=3,
                        label="reported in the paper" if i == 0 or not ax.get_legend_handles_labels()[0] else None)
        ax.set_xticks(list(xs), [s["label"] for s in steps], rotation=35, ha="right")
        ax.set_title(f"{metric} {columns.split(split)['display']}", fontsize=10)
        ax.set_ylim(0, max(top * 1.25, 10))
        ax.grid(axis="y", color="#eeeeee", zorder=0)
        if ax is axes[0] and ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=7, frameon=False)
    axes[0].set_ylabel(f"{metric} (%)")
    return _svg(fig)


@dataclass(frozen=True)
class TimelinePoint:
    """One point of the PQ-over-time plot (PQ in points)."""

    label: str
    date: _dt.date
    pq: float
    source: str  # "ovbench" (re-run here) or "paper" (reported, not re-run)
    kind: str = "mask_transformer"
    ci: tuple[float, float] | None = None


def _timeline_svg(points: Sequence[TimelinePoint], title: str) -> str:
    """Implementation of :func:`timeline_svg`."""
    if not points:
        raise ValueError("no points to draw")
    fig = _figure(6.4, 3.4)
    ax = fig.subplots()
    labelled: set[str] = set()
    for p in sorted(points, key=lambda p: (p.date, p.label)):
        if p.source == "paper":
            legend = "reported in the paper (not re-run)"
            ax.plot(p.date, p.pq, marker="x", color=COLORS["paper"], ms=8, mew=1.8, ls="none",
                    label=None if legend in labelled else legend, zorder=3)
        else:
            legend = f"ovbench results ({p.kind})"
            color = KIND_COLORS.get(p.kind, "#1f77b4")
            if p.ci is not None:
                ax.plot([p.date, p.date], list(p.ci), color=color, lw=1.2, zorder=2)
            ax.plot(p.date, p.pq, marker="o", color=color, ms=6, ls="none", label=None if legend in labelled else legend, zorder=3)
        labelled.add(legend)
        ax.annotate(p.label, (p.date, p.pq), xytext=(5, 4), textcoords="offset points", fontsize=7.5, parse_math=False)
    dates = [p.date for p in points]
    pad = _dt.timedelta(days=max(60, (max(dates) - min(dates)).days // 8))
    ax.set_xlim(min(dates) - pad, max(dates) + pad * 2)
    ax.set_ylim(0, max([p.pq for p in points] + [p.ci[1] for p in points if p.ci]) * 1.3 + 1)
    ax.set_ylabel("PQ (%)")
    ax.set_xlabel("publication date")
    ax.set_title(title, fontsize=10, loc="left", parse_math=False)
    ax.grid(color="#eeeeee", zorder=0)
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    fig.autofmt_xdate()
    return _svg(fig)


def waterfall_svg(doc: Mapping[str, Any], columns: Columns, reference: Mapping[str, Any] | None = None,
                  splits: Sequence[str] = ("all", "seen", "unseen"), metric: str = "PQ") -> str:
    """The oracle waterfall of one results document as SVG text (one panel per available split);
    `reference` is the paper's entry for this model (its ``oracles`` are drawn as crosses).
    `metric` labels the axis (a semantic target's waterfall is drawn from a view whose "pq" is mIoU)."""
    with _matplotlib().rc_context(RC):
        return _waterfall_svg(doc, columns, reference, splits, metric)


def timeline_svg(points: Sequence[TimelinePoint], title: str) -> str:
    """PQ over publication date, results as dots (with 95% CIs), paper-reported numbers as crosses."""
    with _matplotlib().rc_context(RC):
        return _timeline_svg(points, title)
