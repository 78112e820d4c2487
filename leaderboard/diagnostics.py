"""The "Diagnostics" section of a model page, from ``results.json["diagnostics"]`` (schema v2).

One sub-section per shipped diagnostic (docs/diagnostics.md), each with its plots (SVG, written
next to the page), its tables and a link to its CSV (``data/<slug>/diagnostics_<name>.csv``, rebuilt
from the results file with :func:`ovbench.results.diagnostic_frames.diagnostics_csv_rows`, the
rows ``ovbench run`` writes):

* ``pool_recall``: per class group, pool recall@0.5, output recall@0.5, the discarded-valid-mask
  rate and the share discarded as no-object; the classes with the most discarded segments; the
  pool IoU x output IoU heatmap;
* ``calibration``: histograms of p(no-object) of matched / unmatched / best candidates, the
  reliability diagram with ECE and Brier, the void-argmax share of the best candidate per class;
* ``sweeps``: a "tuned on the evaluation set" banner, the object x overlap threshold heatmap, PQ
  vs object threshold, and the ensemble sweep (PQ vs alpha / beta beside the model's PQ on the
  same images) when the results file has one.

A missing section renders nothing. A malformed one (the schema is checked first, then
:mod:`.diagnostic_checks`: shapes and cross-references the schema cannot express) raises
:class:`~ovbench.leaderboard.errors.BuildError` naming the file and the JSON path: never an empty
table. Other diagnostics keys (third-party, the VLM oracle's counters) are listed as key/value rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..results.diagnostic_frames import SHIPPED, diagnostics_csv_rows
from . import diagnostic_plots as dp
from .config import Columns, metric_cell
from .diagnostic_checks import (
    ENSEMBLE_KEYS,
    THRESHOLD_KEYS,
    Grid,
    Section,
    Setting,
    check_calibration,
    check_diagnostics,
    check_pool_recall,
    ensemble_grid,
    threshold_grid,
)

GROUP_ORDER = ("all", "things", "stuff", "seen", "unseen", "conflict", "clean")
SWEEP_SPLITS = ("all", "things", "stuff", "seen", "unseen")
LINE_SPLITS = ("all", "seen", "unseen")
TOP_CLASSES = 25
OTHER_ROWS = 60

# table columns: (columns.yaml metric, field of the section's rows)
POOL_GROUP = (("segments", "n"), ("pool_recall", "pool_recall"), ("output_recall", "output_recall"),
              ("output_recall_agnostic", "output_recall_agnostic"), ("discarded", "discarded"),
              ("discarded_rate", "discarded_rate"), ("discarded_share_of_valid", "discarded_share_of_valid"),
              ("discarded_void_share", "discarded_void_share"), ("mean_pool_iou", "mean_pool_iou"),
              ("mean_output_iou", "mean_output_iou"))
POOL_CLASS = (("segments", "n"), ("pool_recall", "pool_recall"), ("output_recall", "output_recall"),
              ("discarded", "discarded"), ("discarded_rate", "discarded_rate"),
              ("discarded_void_share", "discarded_void_share"), ("discarded_void", "discarded_void"),
              ("discarded_threshold", "discarded_threshold"), ("discarded_fusion", "discarded_fusion"))
CAL_OVERALL = tuple((k, k) for k in ("candidates", "matched", "unmatched", "best", "mean_p_void_matched",
                                     "mean_p_void_unmatched", "ece", "brier"))
CAL_GROUP = tuple((k, k) for k in ("matched", "matched_void_share", "matched_dropped_share", "best", "best_void_share",
                                   "mean_p_void_matched"))
CAL_CLASS = tuple((k, k) for k in ("best", "best_void", "best_void_share", "best_dropped", "matched", "matched_void_share",
                                   "mean_p_void_matched"))
CAL_RELIABILITY = (("candidates", "n"), ("matched", "matched"), ("unmatched", "unmatched"), ("mean_p_void", "mean_p_void"),
                   ("unmatched_freq", "unmatched_freq"))
SETTINGS = ("object_mask_threshold", "overlap_threshold", "alpha", "beta")
USED_METRICS = {
    "pool_recall": {m for m, _ in POOL_GROUP + POOL_CLASS},
    "calibration": {m for m, _ in CAL_OVERALL + CAL_GROUP + CAL_CLASS + CAL_RELIABILITY},
    "sweeps": {"pq", "delta_pq", "images", *SETTINGS},
}
YES = {True: "yes", False: "no", None: "—"}


# ---- checks and data files -------------------------------------------------------------------------------
def check_diagnostic_columns(doc: Mapping[str, Any], columns: Columns, source: str) -> None:
    """Raise :class:`ConfigError` naming `source` if a metric shown by a diagnostics section is unknown to `columns`."""
    diag = doc.get("diagnostics") or {}
    missing = sorted({m for name in SHIPPED if name in diag for m in USED_METRICS[name] if m not in columns.metrics})
    missing_groups = sorted({g for name in ("pool_recall", "calibration") if name in diag
                             for g in diag[name]["groups"] if g not in columns.splits})
    problems = [f"metric {m!r} (diagnostics): add it under 'metrics'" for m in missing]
    problems += [f"class group {g!r} (diagnostics): add it under 'splits'" for g in missing_groups]
    if problems:
        listed = "\n  ".join(problems)
        raise ConfigError(f"{source}: unknown to {columns.source}:\n  {listed}")


def diagnostics_data_files(doc: Mapping[str, Any]) -> list[str]:
    """Names of the diagnostics CSV files of a results document in the site's data folder."""
    return [f"diagnostics_{name}.csv" for name in diagnostics_csv_rows(doc)]


def diagnostics_csv_texts(doc: Mapping[str, Any]) -> dict[str, str]:
    """{file name: CSV text} of the diagnostics tables (the rows ``ovbench run`` writes)."""
    import pandas as pd

    return {f"diagnostics_{name}.csv": pd.DataFrame(rows).to_csv(index=False)
            for name, rows in diagnostics_csv_rows(doc).items()}


# ---- shared helpers ---------------------------------------------------------------------------------------
def _headers(columns: Columns, spec: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"label": str(columns.metric(m)["display"]), "title": str(columns.metric(m)["description"])} for m, _ in spec]


def _cells(columns: Columns, spec: Sequence[tuple[str, str]], row: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [metric_cell(columns, m, row.get(f)) for m, f in spec]


def _group_rows(columns: Columns, groups: Mapping[str, Any], spec: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"name": columns.split(g)["display"], "title": columns.split(g)["description"], "cells": _cells(columns, spec, groups[g])}
            for g in GROUP_ORDER if g in groups]


def _class_rows(columns: Columns, rows: Sequence[Mapping[str, Any]], spec: Sequence[tuple[str, str]], sort_field: str,
                then: str) -> list[dict[str, Any]]:
    top = sorted(rows, key=lambda r: (-(r.get(sort_field) or 0), -(r.get(then) or 0), str(r["name"])))[:TOP_CLASSES]
    return [{"name": r["name"], "category_id": r["category_id"], "isthing": YES[r["isthing"]], "seen": YES[r.get("seen")],
             "conflict": YES[r.get("conflict")], "cells": _cells(columns, spec, r)} for r in top]


def _write(asset_dir: Path, name: str, svg: str) -> str:
    (asset_dir / name).write_text(svg, encoding="utf-8")
    return f"{asset_dir.name}/{name}"


def _points(x: float | None) -> float | None:
    return None if x is None else 100.0 * float(x)


# ---- pool_recall ------------------------------------------------------------------------------------------
def pool_recall_context(sec: Mapping[str, Any], columns: Columns, asset_dir: Path, s: Section) -> dict[str, Any]:
    check_pool_recall(sec, s)
    hist, oracle = sec["iou_histogram"], sec["oracle"]
    return {
        "title": sec["title"], "definition": sec["definition"],
        "oracle": columns.oracles.get(oracle, {}).get("display", oracle),
        "group_headers": _headers(columns, POOL_GROUP), "groups": _group_rows(columns, sec["groups"], POOL_GROUP),
        "class_headers": _headers(columns, POOL_CLASS),
        "classes": _class_rows(columns, sec["per_class"], POOL_CLASS, "discarded", "n"), "n_classes": len(sec["per_class"]),
        "heatmap": _write(asset_dir, "diag_pool_iou.svg", dp.iou_heatmap_svg(hist["edges"], hist["counts"])),
    }


# ---- calibration ------------------------------------------------------------------------------------------
def calibration_context(sec: Mapping[str, Any], columns: Columns, asset_dir: Path, s: Section) -> dict[str, Any]:
    check_calibration(sec, s)
    h, ov = sec["histogram"], sec["overall"]
    reliability = [{"range": f"{r['lo']:.2f}–{r['hi']:.2f}", "cells": _cells(columns, CAL_RELIABILITY, r)}
                   for r in sec["reliability"]]
    return {
        "title": sec["title"], "definition": sec["definition"], "bins": sec["bins"],
        "overall_headers": _headers(columns, CAL_OVERALL), "overall": _cells(columns, CAL_OVERALL, ov),
        "histogram": _write(asset_dir, "diag_p_void_hist.svg", dp.p_void_histogram_svg(
            h["edges"], {"unmatched": h["unmatched"], "matched": h["matched"], "best": h["best"]})),
        "reliability_plot": _write(asset_dir, "diag_reliability.svg", dp.reliability_svg(sec["reliability"], ov["ece"], ov["brier"])),
        "reliability_headers": _headers(columns, CAL_RELIABILITY), "reliability": reliability,
        "group_headers": _headers(columns, CAL_GROUP), "groups": _group_rows(columns, sec["groups"], CAL_GROUP),
        "class_headers": _headers(columns, CAL_CLASS),
        "classes": _class_rows(columns, sec["per_class"], CAL_CLASS, "best_void", "best"), "n_classes": len(sec["per_class"]),
    }


# ---- sweeps -----------------------------------------------------------------------------------------------
def _setting_text(columns: Columns, row: Mapping[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{columns.metric(k)['display']} {row[k]:g}" for k in keys)


def _sweep_row(columns: Columns, r: Mapping[str, Any], keys: Sequence[str], splits: Sequence[str], default: bool, best: bool
               ) -> dict[str, Any]:
    return {"settings": [metric_cell(columns, k, r[k]) for k in keys],
            "cells": [metric_cell(columns, "pq", (r["splits"].get(sp) or {}).get("pq")) for sp in splits],
            "default": default, "best": best}


def _splits(table: Mapping[Setting, Mapping[str, Any]]) -> list[str]:
    return [sp for sp in SWEEP_SPLITS if any(sp in r["splits"] for r in table.values())]


def _thresholds(sec: Mapping[str, Any], doc: Mapping[str, Any], columns: Columns, asset_dir: Path, s: Section
                ) -> dict[str, Any]:
    th, keys = sec["thresholds"], THRESHOLD_KEYS
    g = threshold_grid(sec, s)
    table, default, best = g.table, g.default, g.best
    ts, overlaps = [float(t) for t in th["object_mask_threshold"]], [float(o) for o in th["overlap_threshold"]]
    pq = [[_points(table[(t, o)]["pq"]) for o in overlaps] for t in ts]
    heatmap = _write(asset_dir, "diag_thresholds.svg", dp.threshold_heatmap_svg(ts, overlaps, pq, default, best))
    o0 = default[1] if default else (float(doc["inference"]["overlap_threshold"])
                                     if doc.get("inference", {}).get("overlap_threshold") in overlaps else None)
    line = None
    if o0 is not None and len(ts) > 1:
        present = [sp for sp in LINE_SPLITS if all(sp in table[(t, o0)]["splits"] for t in ts)]
        series = {sp: [_points(table[(t, o0)]["splits"][sp]["pq"]) for t in ts] for sp in present}
        on_line = (best[0], _points(table[best]["pq"])) if best and best[1] == o0 else None
        line = _write(asset_dir, "diag_threshold_line.svg",
                      dp.threshold_line_svg(ts, series, default[0] if default else None, on_line, o0))
    splits = _splits(table)
    summary = []
    if th["default"] is not None:
        summary.append({"label": "Model's own setting", "setting": _setting_text(columns, th["default"], keys),
                        "pq": metric_cell(columns, "pq", th["default"]["pq"]), "delta": None, "tuned": False})
    if th["best"] is not None:
        summary.append({"label": "Best setting", "setting": _setting_text(columns, th["best"], keys),
                        "pq": metric_cell(columns, "pq", th["best"]["pq"]),
                        "delta": metric_cell(columns, "delta_pq", th["best"]["delta_pq"]), "tuned": True})
    rows = [_sweep_row(columns, table[(t, o)], keys, splits, (t, o) == default, (t, o) == best) for t in ts for o in overlaps]
    return {"heatmap": heatmap, "line": line, "o0": o0, "best_off_line": bool(best and o0 is not None and best[1] != o0),
            "summary": summary, "splits": splits, "setting_headers": _headers(columns, [(k, k) for k in keys]),
            "rows": rows, "n_settings": len(rows)}


def _ensemble_panels(g: Grid, a0: float, b0: float) -> list[dict[str, Any]]:
    """Slices of the ensemble grid through the model's weights: PQ vs alpha at beta0, PQ vs beta at alpha0."""
    panels = []
    for axis, fixed_at, label, other in ((0, b0, "α (seen classes)", "β"), (1, a0, "β (unseen classes)", "α")):
        pts = sorted((k for k in g.table if k[1 - axis] == fixed_at), key=lambda k: k[axis])
        if len(pts) < 2:
            continue
        star = (g.best[axis], _points(g.table[g.best]["pq"])) if g.best in pts else None
        panels.append({"x": [k[axis] for k in pts], "pq": [_points(g.table[k]["pq"]) for k in pts],
                       "model_x": (a0, b0)[axis], "best": star, "xlabel": label,
                       "title": f"PQ vs {label[0]} ({other} = {fixed_at:g})"})
    return panels


def _ensemble(sec: Mapping[str, Any], columns: Columns, asset_dir: Path, s: Section) -> dict[str, Any]:
    ens = sec["ensemble"]
    out: dict[str, Any] = {"enabled": ens["enabled"], "images": ens["images"], "without_logits": ens["images_without_logits"],
                           "without_seen": ens["images_without_seen_classes"], "every": ens["every"],
                           "model_alpha": ens["model_alpha"], "model_beta": ens["model_beta"], "plot": None, "rows": []}
    g = ensemble_grid(sec, s)
    if g is None:
        return out
    a0, b0 = float(ens["model_alpha"]), float(ens["model_beta"])
    model_pq = ens["model"]["pq"]
    panels = _ensemble_panels(g, a0, b0)
    if panels:
        out["plot"] = _write(asset_dir, "diag_ensemble.svg", dp.ensemble_svg(panels, _points(model_pq), ens["images"]))
    splits = _splits(g.table)
    out.update({
        "model": metric_cell(columns, "pq", model_pq), "splits": splits,
        "best": None if ens.get("best") is None else {
            "setting": _setting_text(columns, ens["best"], ENSEMBLE_KEYS), "pq": metric_cell(columns, "pq", ens["best"]["pq"]),
            "delta": metric_cell(columns, "delta_pq", ens["best"]["delta_pq"])},
        "setting_headers": _headers(columns, [(k, k) for k in ENSEMBLE_KEYS]),
        "rows": [{**_sweep_row(columns, r, ENSEMBLE_KEYS, splits, k == (a0, b0), k == g.best),
                  "reproduces": r["reproduces_model_probs"]} for k, r in sorted(g.table.items())],
    })
    return out


def sweeps_context(sec: Mapping[str, Any], doc: Mapping[str, Any], columns: Columns, asset_dir: Path, s: Section
                   ) -> dict[str, Any]:
    return {"title": sec["title"], "warning": sec["warning"], "images": sec["images"],
            "baseline_mismatch": sec["baseline_mismatch"],
            "thresholds": _thresholds(sec, doc, columns, asset_dir, s), "ensemble": _ensemble(sec, columns, asset_dir, s)}


# ---- other keys -------------------------------------------------------------------------------------------
def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Free-form JSON -> (key path, text) rows."""
    if isinstance(obj, Mapping):
        rows = []
        for k, v in obj.items():
            rows += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return rows
    if isinstance(obj, list) and any(isinstance(v, (Mapping, list)) for v in obj):
        rows = []
        for i, v in enumerate(obj):
            rows += _flatten(v, f"{prefix}[{i}]")
        return rows
    return [(prefix, obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False))]


# ---- the section ------------------------------------------------------------------------------------------
def diagnostics_context(path: Path, doc: Mapping[str, Any], columns: Columns, asset_dir: Path, slug: str
                        ) -> dict[str, Any] | None:
    """Everything the model page's diagnostics section shows (None: the file has no diagnostics);
    writes the plots into `asset_dir` (``models/<slug>/``)."""
    diag = doc.get("diagnostics") or {}
    if not diag:
        return None
    ctx: dict[str, Any] = {name: None for name in SHIPPED}
    builders = {"pool_recall": lambda sec, s: pool_recall_context(sec, columns, asset_dir, s),
                "calibration": lambda sec, s: calibration_context(sec, columns, asset_dir, s),
                "sweeps": lambda sec, s: sweeps_context(sec, doc, columns, asset_dir, s)}
    for name in SHIPPED:
        if name in diag:
            ctx[name] = {**builders[name](diag[name], Section(path, name)), "csv": f"../data/{slug}/diagnostics_{name}.csv"}
    other = [(k, v) for key, value in diag.items() if key not in SHIPPED for k, v in _flatten(value, key)]
    ctx["other"] = other[:OTHER_ROWS]
    ctx["other_total"] = len(other)
    ctx["results_json"] = f"../data/{slug}/results.json"
    ctx["top"] = TOP_CLASSES
    return ctx


__all__ = ["check_diagnostic_columns", "check_diagnostics", "diagnostics_context", "diagnostics_csv_texts",
           "diagnostics_data_files"]
