"""The diagnostics sections of a results document as rows and DataFrames.

:func:`diagnostics_csv_rows` rebuilds, from the document alone, the rows that ``ovbench run``
writes to ``diagnostics_<name>.csv`` (same columns, same order), so a results file copied without
its run folder still yields its CSV tables (the leaderboard writes them into its data folder).
:func:`diagnostics_frames` gives the DataFrames of :func:`ovbench.results.load_results_frames`:

* ``pool_recall`` / ``calibration``: one row per class (the sections' ``per_class``);
* ``pool_recall_groups`` / ``calibration_groups``: one row per class group (all, things, stuff,
  seen, unseen, conflict, clean);
* ``calibration_reliability``: one row per bin of the no-object probability;
* ``sweeps``: one row per setting (threshold and ensemble sweeps; PQ/SQ/RQ per split as columns).

Sections absent from the document give empty DataFrames. Definitions: docs/diagnostics.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

#: the diagnostics with a schema (results schema v2) and a CSV table of their own
SHIPPED = ("pool_recall", "calibration", "sweeps")
SWEEP_METRICS = ("pq", "sq", "rq")


def _setting_of(row: Mapping[str, Any], keys: tuple[str, str]) -> tuple[Any, ...]:
    return tuple(row.get(k) for k in keys)


def sweep_rows(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``diagnostics_sweeps.csv`` from a ``sweeps`` section (the runner's column order)."""
    th, ens = section["thresholds"], section["ensemble"]
    out = []
    for sweep, rows, best, images, keys in (
        ("thresholds", th["table"], th.get("best"), section["images"], ("object_mask_threshold", "overlap_threshold")),
        ("ensemble", ens.get("table") or [], ens.get("best"), ens["images"], ("alpha", "beta")),
    ):
        best_setting = None if best is None else _setting_of(best, keys)
        for r in rows:
            row: dict[str, Any] = {
                "sweep": sweep, "object_mask_threshold": r.get("object_mask_threshold"),
                "overlap_threshold": r.get("overlap_threshold"), "alpha": r.get("alpha"), "beta": r.get("beta"),
                "images": images, "is_default": bool(r.get("is_default") or r.get("is_model_default")),
                "is_best_tuned_on_eval": _setting_of(r, keys) == best_setting,
            }
            for split, v in r["splits"].items():
                for m in SWEEP_METRICS:
                    row[f"{m}_{split}" if split != "all" else m] = v[m]
            out.append(row)
    return out


def diagnostics_csv_rows(doc: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """{name: rows of ``diagnostics_<name>.csv``} for the shipped sections present in `doc`."""
    diag = doc.get("diagnostics") or {}
    out: dict[str, list[dict[str, Any]]] = {}
    for name in SHIPPED:
        if name not in diag:
            continue
        out[name] = sweep_rows(diag[name]) if name == "sweeps" else [dict(r) for r in diag[name]["per_class"]]
    return out


def diagnostics_frames(doc: Mapping[str, Any], ids: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The diagnostics DataFrames of one results document, each row prefixed by the `ids` columns."""
    diag = doc.get("diagnostics") or {}
    rows = diagnostics_csv_rows(doc)

    def frame(items: list[dict[str, Any]]) -> pd.DataFrame:
        return pd.DataFrame([{**ids, **r} for r in items])

    def groups(name: str) -> pd.DataFrame:
        sec = diag.get(name) or {}
        return frame([{"group": g, **v} for g, v in (sec.get("groups") or {}).items()])

    return {
        "pool_recall": frame(rows.get("pool_recall", [])),
        "pool_recall_groups": groups("pool_recall"),
        "calibration": frame(rows.get("calibration", [])),
        "calibration_groups": groups("calibration"),
        "calibration_reliability": frame(list((diag.get("calibration") or {}).get("reliability") or [])),
        "sweeps": frame(rows.get("sweeps", [])),
    }
