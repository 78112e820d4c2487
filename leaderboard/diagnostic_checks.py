"""What the results schema cannot say about the diagnostics sections, checked before anything is drawn.

The schema (v2) fixes types and ranges; the page also needs consistent shapes and cross-references:
a square IoU histogram holding every segment, one histogram count and one reliability row per bin,
a threshold table that covers its grid exactly once, default and best settings that are rows of
their tables, an ensemble table with the model's PQ beside it. A violation raises
:class:`~ovbench.leaderboard.errors.BuildError` ``"<file>: $.diagnostics.<name>...: <problem>"``:
a malformed section stops the build; it never becomes an empty table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..results.validate import json_path
from .errors import BuildError

Setting = tuple[float, float]
THRESHOLD_KEYS = ("object_mask_threshold", "overlap_threshold")
ENSEMBLE_KEYS = ("alpha", "beta")


class Section:
    """Error reporting for one diagnostics section of one results file."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name

    def fail(self, where: Sequence[Any], problem: str) -> BuildError:
        return BuildError(f"{self.path}: {json_path(('diagnostics', self.name, *where))}: {problem}"
                          " (the results file is malformed: rerun `ovbench run` or fix the file)")


@dataclass(frozen=True)
class Grid:
    """A sweep table indexed by its setting, with the default (model's) and best settings."""

    table: Mapping[Setting, Mapping[str, Any]]
    default: Setting | None
    best: Setting | None


def check_pool_recall(sec: Mapping[str, Any], s: Section) -> None:
    hist = sec["iou_histogram"]
    n, counts = len(hist["edges"]) - 1, hist["counts"]
    if len(counts) != n or any(len(row) != n for row in counts):
        raise s.fail(("iou_histogram", "counts"), f"expected a {n} x {n} table for {n + 1} bin edges")
    total, segments = sum(map(sum, counts)), sec["groups"]["all"]["n"]
    if total != segments:
        raise s.fail(("iou_histogram", "counts"), f"holds {total} segments, groups.all.n says {segments}")


def check_calibration(sec: Mapping[str, Any], s: Section) -> None:
    bins, h = sec["bins"], sec["histogram"]
    if len(h["edges"]) != bins + 1:
        raise s.fail(("histogram", "edges"), f"expected {bins + 1} edges for {bins} bins, got {len(h['edges'])}")
    for key in ("matched", "unmatched", "best"):
        if len(h[key]) != bins:
            raise s.fail(("histogram", key), f"expected {bins} counts (one per bin), got {len(h[key])}")
    if len(sec["reliability"]) != bins:
        raise s.fail(("reliability",), f"expected {bins} rows (one per bin), got {len(sec['reliability'])}")


def _index(rows: Sequence[Mapping[str, Any]], keys: tuple[str, str], where: tuple[Any, ...], s: Section
           ) -> dict[Setting, Mapping[str, Any]]:
    out: dict[Setting, Mapping[str, Any]] = {}
    for i, r in enumerate(rows):
        k = (float(r[keys[0]]), float(r[keys[1]]))
        if k in out:
            raise s.fail((*where, i), f"setting {keys[0]}={k[0]:g}, {keys[1]}={k[1]:g} appears twice")
        if r["pq"] != r["splits"]["all"]["pq"]:
            raise s.fail((*where, i, "pq"), f"{r['pq']} differs from splits.all.pq {r['splits']['all']['pq']}")
        out[k] = r
    return out


def _lookup(table: Mapping[Setting, Mapping[str, Any]], setting: Mapping[str, Any] | None, keys: tuple[str, str],
            where: tuple[Any, ...], s: Section) -> Setting | None:
    """The setting of a default/best entry, which must be a row of its table with the same PQ."""
    if setting is None:
        return None
    k = (float(setting[keys[0]]), float(setting[keys[1]]))
    if k not in table:
        raise s.fail(where, f"setting {keys[0]}={k[0]:g}, {keys[1]}={k[1]:g} is not a row of the table")
    if setting["pq"] != table[k]["pq"]:
        raise s.fail((*where, "pq"), f"{setting['pq']} differs from the table's PQ {table[k]['pq']} for this setting")
    return k


def threshold_grid(sec: Mapping[str, Any], s: Section) -> Grid:
    """The object x overlap threshold table: exactly the grid, each setting once, default flagged once."""
    th = sec["thresholds"]
    if not th["table"]:
        raise s.fail(("thresholds", "table"), "no rows (a sweeps section holds at least the model's own setting)")
    table = _index(th["table"], THRESHOLD_KEYS, ("thresholds", "table"), s)
    grid = {(float(t), float(o)) for t in th["object_mask_threshold"] for o in th["overlap_threshold"]}
    if set(table) != grid:
        lacking, extra = sorted(grid - set(table)), sorted(set(table) - grid)
        raise s.fail(("thresholds", "table"), "rows do not cover the grid object_mask_threshold x overlap_threshold"
                     f" (missing {lacking[:3]}{'...' if len(lacking) > 3 else ''}, outside it {extra[:3]})")
    default = _lookup(table, th["default"], THRESHOLD_KEYS, ("thresholds", "default"), s)
    best = _lookup(table, th["best"], THRESHOLD_KEYS, ("thresholds", "best"), s)
    flagged = [k for k, r in table.items() if r["is_default"]]
    if flagged != ([default] if default is not None else []):
        raise s.fail(("thresholds", "table"), f"rows flagged is_default {flagged} disagree with thresholds.default {default}")
    return Grid(table, default, best)


def ensemble_grid(sec: Mapping[str, Any], s: Section) -> Grid | None:
    """The (alpha, beta) table, or None when the results file has no ensemble sweep."""
    ens = sec["ensemble"]
    if not ens.get("table"):
        return None
    if ens.get("model") is None:
        raise s.fail(("ensemble", "model"), "missing although the ensemble table has rows (the model's PQ on the same images)")
    table = _index(ens["table"], ENSEMBLE_KEYS, ("ensemble", "table"), s)
    best = _lookup(table, ens.get("best"), ENSEMBLE_KEYS, ("ensemble", "best"), s)
    model = (float(ens["model_alpha"]), float(ens["model_beta"]))
    return Grid(table, model if model in table else None, best)


def check_sweeps(sec: Mapping[str, Any], s: Section) -> None:
    threshold_grid(sec, s)
    ensemble_grid(sec, s)


CHECKS = {"pool_recall": check_pool_recall, "calibration": check_calibration, "sweeps": check_sweeps}


def check_diagnostics(path: Path, doc: Mapping[str, Any]) -> None:
    """Raise :class:`BuildError` (file + JSON path) if a shipped diagnostics section of `doc` is malformed."""
    diag = doc.get("diagnostics") or {}
    for name, check in CHECKS.items():
        if name in diag:
            check(diag[name], Section(path, name))
