"""``calibration``: is the no-object probability calibrated on the candidates that hold a valid mask?

Every candidate of every image is *matched* if its class-agnostic IoU with some non-crowd GT
segment is > 0.5 (IoUs as in :mod:`ovbench.diagnostics.pool`; the GT segment is then unique),
else *unmatched*. ``p_void`` is the candidate's no-object probability (the last column of the raw
``class_probs``, after the model's own ensembling). Exact integer counts per image:

* ``bins`` (keyed by bin b = 0..B-1 of ``p_void`` over [0, 1], B equal bins, [lo, hi) with the last
  bin closed): ``[unmatched, matched, best, p_u, p2_u, p_unmatched_u]`` -- candidate counts, the
  matched candidates that are the best (largest IoU, first on ties) of their GT segment, and the
  sums of p_void, p_void^2 and of p_void over unmatched candidates in units of 1e-6;
* ``classes`` (per class of the matched GT segment): ``matched``, ``matched_void`` (argmax of the
  class posterior is no-object), ``matched_dropped`` (not kept by the model's class filter:
  no-object argmax or score <= object_mask_threshold), the same three for the ``best`` candidate
  of each GT segment, and ``p_u`` (sum of p_void over matched candidates, 1e-6 units).

Reliability reads p_void as a forecast of "this candidate holds no valid mask": per bin, the mean
p_void against the observed unmatched frequency, with the expected calibration error
``ECE = sum_b n_b / n * |mean_p_b - freq_b|`` and the Brier score. Caveat: Mask2Former trains every
candidate except ONE Hungarian-matched candidate per GT segment as no-object, so duplicates with
IoU > 0.5 are "matched" here but no-object in training; the ``best`` counts isolate one candidate
per segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import register_diagnostic
from .base import Diagnostic
from .counts import (
    QUANT,
    class_groups,
    class_table,
    dense_class_table,
    dense_keyed,
    keyed_from_counts,
    merge_class_tables,
    merge_keyed,
    per_class_rows,
    quantize,
    ratio,
)
from .pool import gt_classes, pool_overlaps

CLASS_FIELDS = ("matched", "matched_void", "matched_dropped", "best", "best_void", "best_dropped", "p_u")
BIN_FIELDS = ("unmatched", "matched", "best", "p_u", "p2_u", "p_unmatched_u")


@register_diagnostic("calibration")
class Calibration(Diagnostic):
    """No-object calibration of matched vs unmatched candidates (see the module docstring).

    bins: number of equal-width bins of p_void over [0, 1] (default 20).
    """

    name = "calibration"

    def __init__(self, bins: int = 20) -> None:
        self.bins = int(bins)
        if self.bins < 1:
            raise ConfigError("calibration: bins must be >= 1")

    def bin_of(self, p: np.ndarray) -> np.ndarray:
        """[N] probabilities -> [N] bin indices ([lo, hi) bins, the last one closed at 1)."""
        return np.clip(np.floor(np.asarray(p, dtype=np.float64) * self.bins).astype(np.int64), 0, self.bins - 1)

    def evaluate(self, ctx: Any, predictions: Mapping[str, Any], matches: Mapping[str, Any]) -> dict[str, Any]:
        raw = ctx.raw
        K = len(ctx.categories)
        N, C = raw.num_queries, raw.num_classes
        po = pool_overlaps(ctx)
        p = np.clip(raw.class_probs[:, -1].astype(np.float64), 0.0, 1.0)
        _, labels = ctx.scores_with_void
        void_argmax = labels == C
        kept = np.zeros(N, dtype=bool)
        kept[ctx.baseline_queries] = True
        matched = po.best_iou > 0.5
        best = np.zeros(N, dtype=bool)
        gbest, gq = po.gt_best()
        best[gq[(gbest > 0.5) & (gq >= 0)]] = True

        b = self.bin_of(p)
        pu, p2u = quantize(p), quantize(p * p)
        cols = [~matched, matched, best, None, None, None]
        table = np.zeros((self.bins, len(BIN_FIELDS)), dtype=np.int64)
        for j, mask in enumerate(cols[:3]):
            np.add.at(table[:, j], b[mask], 1)
        np.add.at(table[:, 3], b, pu)
        np.add.at(table[:, 4], b, p2u)
        np.add.at(table[:, 5], b[~matched], pu[~matched])

        fields = {f: np.zeros(K, dtype=np.int64) for f in CLASS_FIELDS}
        if matched.any():
            cls = gt_classes(ctx)[po.best_gt[matched]]
            for f, mask in (("matched", None), ("matched_void", void_argmax), ("matched_dropped", ~kept)):
                sel = np.ones(matched.sum(), dtype=bool) if mask is None else mask[matched]
                np.add.at(fields[f], cls[sel], 1)
            np.add.at(fields["p_u"], cls, pu[matched])
            bcls = gt_classes(ctx)[po.best_gt[best]]
            for f, mask in (("best", None), ("best_void", void_argmax), ("best_dropped", ~kept)):
                sel = np.ones(best.sum(), dtype=bool) if mask is None else mask[best]
                np.add.at(fields[f], bcls[sel], 1)
        return {"bins": keyed_from_counts(table), "classes": class_table(fields), "candidates": [int(N), int(void_argmax.sum())]}

    def empty(self) -> dict[str, Any]:
        return {"bins": {}, "classes": {"idx": []}, "candidates": [0, 0]}

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {"bins": merge_keyed(a["bins"], b["bins"]), "classes": merge_class_tables(a["classes"], b["classes"]),
                "candidates": [int(x) + int(y) for x, y in zip(a["candidates"], b["candidates"])]}

    # ---- results -----------------------------------------------------------------------------
    def reliability(self, total: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Per-bin reliability rows and the overall calibration numbers."""
        t = dense_keyed(total["bins"], self.bins, len(BIN_FIELDS))
        rows = []
        n_all = int(t[:, 0].sum() + t[:, 1].sum())
        ece_num = 0.0
        for k in range(self.bins):
            unm, mat, best, pu = (int(x) for x in t[k, :4])
            n = unm + mat
            mean_p = ratio(pu, n * QUANT)
            freq = ratio(unm, n)
            if n:
                assert mean_p is not None and freq is not None
                ece_num += n * abs(mean_p - freq)
            rows.append({"bin": k, "lo": k / self.bins, "hi": (k + 1) / self.bins, "n": n, "matched": mat, "unmatched": unm,
                         "best": best, "mean_p_void": mean_p, "unmatched_freq": freq})
        sum_p, sum_p2, sum_p_unm = (int(x) for x in t[:, 3:6].sum(axis=0))
        n_unm = int(t[:, 0].sum())
        # Brier = mean (p - y)^2 with y = 1 for unmatched: (sum p^2 - 2 sum_{y=1} p + n_unmatched) / n
        brier = ratio(sum_p2 - 2 * sum_p_unm + n_unm * QUANT, n_all * QUANT)
        overall = {
            "candidates": n_all, "matched": int(t[:, 1].sum()), "unmatched": n_unm, "best": int(t[:, 2].sum()),
            "void_argmax": int(total["candidates"][1]),
            "mean_p_void": ratio(sum_p, n_all * QUANT),
            "mean_p_void_matched": ratio(sum_p - sum_p_unm, int(t[:, 1].sum()) * QUANT),
            "mean_p_void_unmatched": ratio(sum_p_unm, n_unm * QUANT),
            "ece": None if n_all == 0 else ece_num / n_all,
            "brier": brier,
        }
        return rows, overall

    def summarize(self, total: dict[str, Any], categories: Any, views: Any) -> dict[str, Any]:
        rows, overall = self.reliability(total)
        d = dense_class_table(total["classes"], len(categories), CLASS_FIELDS)
        groups = {name: class_rates({f: int(v[mask].sum()) for f, v in d.items()}) for name, mask in class_groups(categories, views).items()}
        return {
            "title": "No-object calibration of matched (IoU > 0.5) vs unmatched candidates",
            "definition": "matched = class-agnostic IoU > 0.5 with a non-crowd GT segment; p_void = raw no-object probability; "
                          "reliability: mean p_void vs observed unmatched frequency per bin",
            "bins": self.bins,
            "overall": overall,
            "histogram": {"edges": [k / self.bins for k in range(self.bins + 1)],
                          "matched": [r["matched"] for r in rows], "unmatched": [r["unmatched"] for r in rows],
                          "best": [r["best"] for r in rows]},
            "reliability": rows,
            "groups": groups,
            "per_class": self.rows(total, categories, views),
        }

    def rows(self, total: dict[str, Any], categories: Any, views: Any) -> list[dict[str, Any]]:
        d = dense_class_table(total["classes"], len(categories), CLASS_FIELDS)
        return per_class_rows(d, "matched", CLASS_FIELDS, class_rates, categories, views)


def class_rates(c: Mapping[str, int]) -> dict[str, Any]:
    return {
        "matched": c["matched"], "matched_void": c["matched_void"], "matched_dropped": c["matched_dropped"],
        "best": c["best"], "best_void": c["best_void"], "best_dropped": c["best_dropped"],
        "matched_void_share": ratio(c["matched_void"], c["matched"]),
        "matched_dropped_share": ratio(c["matched_dropped"], c["matched"]),
        "best_void_share": ratio(c["best_void"], c["best"]),
        "mean_p_void_matched": ratio(c["p_u"], c["matched"] * QUANT),
    }
