"""Static SVG plots of the diagnostics sections of a model page (same conventions as :mod:`.plots`:
matplotlib's object API, deterministic SVG, text kept as text, no string from a results file drawn).

* :func:`iou_heatmap_svg` - ``pool_recall``: GT segments by best pool IoU x best output IoU;
* :func:`p_void_histogram_svg` - ``calibration``: p(no-object) of matched / unmatched / best candidates;
* :func:`reliability_svg` - ``calibration``: reliability diagram with ECE and Brier;
* :func:`threshold_heatmap_svg` - ``sweeps``: PQ over object x overlap thresholds (default boxed, best starred);
* :func:`threshold_line_svg` - ``sweeps``: PQ vs object threshold at the model's overlap threshold;
* :func:`ensemble_svg` - ``sweeps``: PQ vs alpha and vs beta beside the model's PQ on the same images.

PQ values are passed in points (x100); ``None`` marks an undefined value (drawn as a gap).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .plots import RC, _figure, _matplotlib, _svg

SET_COLORS = {"matched": "#2a9d8f", "unmatched": "#7f8c8d", "best": "#e76f51"}
SPLIT_STYLES = {"all": ("#1d2327", "-", 2.0), "seen": ("#1f77b4", "--", 1.3), "unseen": ("#d62728", "--", 1.3),
                "things": ("#9467bd", ":", 1.2), "stuff": ("#8c564b", ":", 1.2)}
STAR = {"marker": "*", "color": "#f4a100", "markeredgecolor": "#1d2327", "markeredgewidth": 0.6, "zorder": 5}


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _annotate_cells(ax: Any, values: Sequence[Sequence[float]], fmt: str, threshold: float, *, above: str = "white",
                    below: str = "#1d2327", fontsize: float = 7) -> None:
    """Write each finite value in its cell, in color `above` where it exceeds `threshold`."""
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if not math.isnan(v):
                ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=fontsize,
                        color=above if v > threshold else below)


def _iou_heatmap(edges: Sequence[float], counts: Sequence[Sequence[int]]) -> str:
    import numpy as np

    c = np.asarray(counts, dtype=float)
    fig = _figure(4.6, 4.1)
    ax = fig.subplots()
    shown = np.where(c > 0, np.log10(np.maximum(c, 1)) + 1, 0.0)  # log colour scale, empty cells white
    ax.imshow(shown, origin="lower", cmap="Blues", aspect="equal", vmin=0)
    n = len(edges) - 1
    light = 0.6 * float(shown.max())
    for i in range(n):
        for j in range(n):
            if c[i, j] > 0:
                ax.text(j, i, f"{int(c[i, j])}", ha="center", va="center", fontsize=6.5,
                        color="white" if shown[i, j] > light else "#1d2327")
    half = next((k for k, e in enumerate(edges) if e >= 0.5), n // 2)
    ax.add_patch(_matplotlib().patches.Rectangle((-0.5, half - 0.5), half, n - half, fill=False, ec="#e76f51", lw=1.8,
                                                 ls="--", zorder=3))
    ax.axhline(half - 0.5, color="#555555", lw=0.6)
    ax.axvline(half - 0.5, color="#555555", lw=0.6)
    ticks = [k - 0.5 for k in range(n + 1)]
    labels = [f"{e:g}" for e in edges]
    ax.set_xticks(ticks, labels, fontsize=7)
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.set_xlabel("best IoU of an output segment (any class)")
    ax.set_ylabel("best IoU of any candidate (pool)")
    ax.set_title("GT segments by best pool IoU and output IoU\n(dashed box: valid mask discarded)", fontsize=9, loc="left")
    return _svg(fig)


def _p_void_histogram(edges: Sequence[float], sets: Mapping[str, Sequence[int]]) -> str:
    fig = _figure(5.2, 3.2)
    ax = fig.subplots()
    for name, counts in sets.items():
        total = sum(counts)
        if total == 0:
            continue
        shares = [100.0 * c / total for c in counts]
        ax.stairs(shares, list(edges), color=SET_COLORS[name], lw=1.8 if name != "unmatched" else 1.4,
                  fill=name == "unmatched", alpha=0.35 if name == "unmatched" else 1.0,
                  label=f"{name} ({total:,} candidates)")
    ax.set_xlim(0, 1)
    ax.set_xlabel("no-object probability p(no-object)")
    ax.set_ylabel("share of the set's candidates (%)")
    ax.set_title("p(no-object) of matched, unmatched and best candidates", fontsize=9.5, loc="left")
    ax.grid(color="#eeeeee", zorder=0)
    ax.legend(loc="upper center", fontsize=7.5, frameon=False)
    return _svg(fig)


def _reliability(rows: Sequence[Mapping[str, Any]], ece: float | None, brier: float | None) -> str:
    fig = _figure(4.2, 3.6)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="#bbbbbb", lw=1, ls="--", label="perfect calibration")
    used = [r for r in rows if r["n"] > 0 and r["mean_p_void"] is not None and r["unmatched_freq"] is not None]
    if used:
        n_max = max(r["n"] for r in used)
        ax.plot([r["mean_p_void"] for r in used], [r["unmatched_freq"] for r in used], color="#1f6feb", lw=1.2, zorder=3)
        ax.scatter([r["mean_p_void"] for r in used], [r["unmatched_freq"] for r in used],
                   s=[12 + 60 * math.sqrt(r["n"] / n_max) for r in used], color="#1f6feb", zorder=4,
                   label="bins (area ~ candidates)")
    text = f"ECE {'—' if ece is None else f'{ece:.3f}'}\nBrier {'—' if brier is None else f'{brier:.3f}'}"
    ax.text(0.04, 0.96, text, transform=ax.transAxes, va="top", fontsize=8.5,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#dde3e7"})
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("mean p(no-object) in the bin (forecast)")
    ax.set_ylabel("observed share of unmatched candidates")
    ax.set_title("Reliability of p(no-object)", fontsize=9.5, loc="left")
    ax.grid(color="#eeeeee", zorder=0)
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return _svg(fig)


def _threshold_heatmap(t_grid: Sequence[float], o_grid: Sequence[float], pq: Sequence[Sequence[float | None]],
                       default: tuple[float, float] | None, best: tuple[float, float] | None) -> str:
    import numpy as np

    z = np.array([[_nan(v) for v in row] for row in pq], dtype=float)
    fig = _figure(1.6 + 0.62 * len(o_grid), 1.1 + 0.36 * len(t_grid))
    ax = fig.subplots()
    im = ax.imshow(z, origin="lower", cmap="viridis", aspect="auto")
    finite = z[np.isfinite(z)]
    bright = float(finite.min() + 0.6 * (finite.max() - finite.min())) if finite.size else 0.0
    _annotate_cells(ax, z.tolist(), ".1f", bright, above="#1d2327", below="white")  # viridis is bright at the top
    rect = _matplotlib().patches.Rectangle
    if default is not None:  # a thick box, white inside red, visible on any colour
        i, j = t_grid.index(default[0]), o_grid.index(default[1])
        ax.add_patch(rect((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, ec="#ffffff", lw=3.6, zorder=4))
        ax.add_patch(rect((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, ec="#c0392b", lw=1.8, zorder=4))
    if best is not None:  # a star in the cell's upper right corner
        i, j = t_grid.index(best[0]), o_grid.index(best[1])
        ax.plot(j + 0.3, i + 0.27, ms=13, **STAR)
    ax.set_xticks(range(len(o_grid)), [f"{o:g}" for o in o_grid])
    ax.set_yticks(range(len(t_grid)), [f"{t:g}" for t in t_grid])
    ax.set_xlabel("overlap threshold")
    ax.set_ylabel("object threshold")
    ax.set_title("PQ (%) per setting (box: model default, star: best)", fontsize=9.5, loc="left")
    fig.colorbar(im, ax=ax, shrink=0.85, label="PQ (%)")
    return _svg(fig)


def _threshold_line(ts: Sequence[float], series: Mapping[str, Sequence[float | None]], default_t: float | None,
                    best: tuple[float, float | None] | None, o0: float) -> str:
    fig = _figure(4.8, 3.3)
    ax = fig.subplots()
    for split, ys in series.items():
        color, ls, lw = SPLIT_STYLES.get(split, ("#555555", "-", 1.0))
        ax.plot(ts, [_nan(y) for y in ys], color=color, ls=ls, lw=lw, marker="o", ms=3, label=f"PQ {split}")
    if default_t is not None:
        ax.axvline(default_t, color="#e76f51", lw=1, ls=":", label="model default")
    if best is not None and best[1] is not None:
        ax.plot(best[0], best[1], ms=12, label="best (tuned on the evaluation set)", ls="none", **STAR)
    ax.set_xlabel("object threshold")
    ax.set_ylabel("PQ (%)")
    ax.set_title(f"PQ vs object threshold (overlap threshold {o0:g})", fontsize=9.5, loc="left")
    ax.grid(color="#eeeeee", zorder=0)
    ax.legend(fontsize=7, frameon=False, loc="best")
    return _svg(fig)


def _ensemble(panels: Sequence[Mapping[str, Any]], model_pq: float | None, images: int) -> str:
    fig = _figure(3.4 * len(panels) + 0.4, 3.7)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, p in zip(axes, panels):
        ax.plot(p["x"], [_nan(y) for y in p["pq"]], color="#1f6feb", marker="o", ms=3.5, lw=1.6, label="PQ of the setting")
        if model_pq is not None:
            ax.axhline(model_pq, color="#1d2327", lw=1.1, ls="--", label=f"model's PQ, same {images} images")
        ax.axvline(p["model_x"], color="#e76f51", lw=1, ls=":", label="model's weight")
        if p.get("best") is not None:
            ax.plot(p["best"][0], p["best"][1], ms=12, ls="none", label="best (tuned on the evaluation set)", **STAR)
        ax.set_xlabel(p["xlabel"])
        ax.set_title(p["title"], fontsize=9.5, loc="left")
        ax.grid(color="#eeeeee", zorder=0)
    axes[0].set_ylabel("PQ (%)")
    handles, labels = [], []
    for ax in axes:  # one legend for both panels, below them (the best star may be in either)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=7.5, frameon=False)
    return _svg(fig)


def iou_heatmap_svg(edges: Sequence[float], counts: Sequence[Sequence[int]]) -> str:
    """Counts of GT segments per (pool IoU bin, output IoU bin); the discarded quadrant outlined."""
    with _matplotlib().rc_context(RC):
        return _iou_heatmap(edges, counts)


def p_void_histogram_svg(edges: Sequence[float], sets: Mapping[str, Sequence[int]]) -> str:
    """Overlaid histograms (share of each set per bin) of p(no-object) for matched / unmatched / best."""
    with _matplotlib().rc_context(RC):
        return _p_void_histogram(edges, sets)


def reliability_svg(rows: Sequence[Mapping[str, Any]], ece: float | None, brier: float | None) -> str:
    """Mean p(no-object) vs observed unmatched share per bin, with ECE and Brier in a box."""
    with _matplotlib().rc_context(RC):
        return _reliability(rows, ece, brier)


def threshold_heatmap_svg(t_grid: Sequence[float], o_grid: Sequence[float], pq: Sequence[Sequence[float | None]],
                          default: tuple[float, float] | None, best: tuple[float, float] | None) -> str:
    """PQ (points) of every (object threshold, overlap threshold); `pq[i][j]` at (t_grid[i], o_grid[j])."""
    with _matplotlib().rc_context(RC):
        return _threshold_heatmap(list(t_grid), list(o_grid), pq, default, best)


def threshold_line_svg(ts: Sequence[float], series: Mapping[str, Sequence[float | None]], default_t: float | None,
                       best: tuple[float, float | None] | None, o0: float) -> str:
    """PQ (points) per split against the object threshold at overlap threshold `o0`."""
    with _matplotlib().rc_context(RC):
        return _threshold_line(ts, series, default_t, best, o0)


def ensemble_svg(panels: Sequence[Mapping[str, Any]], model_pq: float | None, images: int) -> str:
    """One panel per slice of the ensemble grid (``x``, ``pq``, ``model_x``, ``best``, ``xlabel``, ``title``)."""
    with _matplotlib().rc_context(RC):
        return _ensemble(panels, model_pq, images)
