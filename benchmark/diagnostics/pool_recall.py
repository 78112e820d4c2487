"""``pool_recall``: is a valid mask in the candidate pool, and does it survive inference?

For every non-crowd GT segment g of an image (IoUs as in :mod:`ovbench.diagnostics.pool`):

* ``pool_iou(g)``   = max over ALL N candidates of IoU(candidate, g);
* ``output_iou(g)`` = max over the final segments of the evaluated oracle (default: the
  baseline) of IoU(segment, g), class-agnostic (``ImageMatch.overlaps.iou()``);

and the exact per-class counts (``n`` = number of non-crowd GT segments):

=====================  ==================================================================
``pool_valid``         ``pool_iou > 0.5``                      (pool recall@0.5 = pool_valid / n)
``out_valid``          ``output_iou > 0.5``, any class          (class-agnostic output recall)
``tp``                 g is a true positive of the output       (output recall = tp / n = TP / (TP + FN))
``discarded``          ``pool_valid`` and not ``out_valid``: a valid mask existed but no final
                       segment covers g (the paper's Finding 3, measured directly)
``valid_not_tp``       ``pool_valid`` and not ``tp`` (also counts valid masks that reached the output
                       with the wrong class)
``discarded_void``     discarded, and every valid candidate's argmax is no-object
``discarded_threshold`` discarded, no valid candidate passed the class filter, but one has a class
                       argmax (its score is <= object_mask_threshold)
``discarded_fusion``   discarded although a valid candidate passed the class filter (it lost its
                       pixels in the argmax, failed the overlap threshold, or its segment's IoU <= 0.5)
``pool_iou_u``,        sums of pool_iou / output_iou in units of 1e-6 (each rounded once)
``out_iou_u``
=====================  ==================================================================

The three ``discarded_*`` reasons partition ``discarded``; they refer to the model's own class
filter (labels and scores of ``ctx.scores_with_void``, the suite's object threshold). A 10 x 10
histogram of (pool_iou, output_iou) with bins (0, 0.1], ..., (0.9, 1] (0 in the first) is kept too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import register_diagnostic
from .base import Diagnostic
from .counts import (
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

FIELDS = ("n", "pool_valid", "out_valid", "tp", "discarded", "valid_not_tp", "discarded_void", "discarded_threshold",
          "discarded_fusion", "pool_iou_u", "out_iou_u")
IOU_BINS = 10
IOU_EDGES = np.linspace(0.0, 1.0, IOU_BINS + 1)


def iou_bin(iou: np.ndarray) -> np.ndarray:
    """[...] IoU in [0, 1] -> bin index in 0..9 of the bins (0, 0.1], ..., (0.9, 1] (0 -> bin 0), so
    that ``bin >= 5`` exactly when ``iou > 0.5``."""
    return np.clip(np.searchsorted(IOU_EDGES, np.asarray(iou, dtype=np.float64), side="left") - 1, 0, IOU_BINS - 1)


@register_diagnostic("pool_recall")
class PoolRecall(Diagnostic):
    """Candidate-pool recall vs output recall and the discarded-valid-mask rate (see the module doc).

    oracle: key of the suite oracle whose output is compared with the pool (default ``baseline``).
    """

    name = "pool_recall"

    def __init__(self, oracle: str = "baseline") -> None:
        self.oracle = str(oracle)

    # ---- per image ---------------------------------------------------------------------------
    def evaluate(self, ctx: Any, predictions: Mapping[str, Any], matches: Mapping[str, Any]) -> dict[str, Any]:
        if self.oracle not in matches:
            raise ConfigError(f"diagnostic pool_recall: oracle {self.oracle!r} is not in the suite (have {sorted(matches)})")
        K = len(ctx.categories)
        gt = ctx.gt
        G = len(gt.segments)
        crowd = np.array([s.iscrowd for s in gt.segments], dtype=bool)
        if G == 0 or crowd.all():
            return {"classes": {"idx": []}, "iou_hist": {}}
        po = pool_overlaps(ctx)
        pool_iou, _ = po.gt_best()
        m = matches[self.oracle]
        out = m.overlaps.iou()
        out_iou = out.max(axis=1) if out.shape[1] else np.zeros(G)
        tp = np.zeros(G, dtype=bool)
        tp[m.tp_gt] = True
        pool_valid = pool_iou > 0.5
        out_valid = out_iou > 0.5
        discarded = pool_valid & ~out_valid

        scores, labels = ctx.scores_with_void
        C = ctx.raw.num_classes
        kept = np.zeros(ctx.raw.num_queries, dtype=bool)
        kept[ctx.baseline_queries] = True
        valid = po.iou > 0.5  # [N, G]
        any_kept = (valid & kept[:, None]).any(axis=0)
        any_class = (valid & (labels != C)[:, None]).any(axis=0)
        reason_fusion = discarded & any_kept
        reason_threshold = discarded & ~any_kept & any_class
        reason_void = discarded & ~any_kept & ~any_class

        cls = gt_classes(ctx)
        use = ~crowd
        per_gt = {
            "n": use, "pool_valid": pool_valid, "out_valid": out_valid, "tp": tp, "discarded": discarded,
            "valid_not_tp": pool_valid & ~tp, "discarded_void": reason_void, "discarded_threshold": reason_threshold,
            "discarded_fusion": reason_fusion,
        }
        fields = {f: np.bincount(cls[use & v], minlength=K) for f, v in per_gt.items()}
        for f, x in (("pool_iou_u", pool_iou), ("out_iou_u", out_iou)):
            acc = np.zeros(K, dtype=np.int64)
            np.add.at(acc, cls[use], quantize(x[use]))
            fields[f] = acc
        hist = np.zeros((IOU_BINS, IOU_BINS), dtype=np.int64)
        np.add.at(hist, (iou_bin(pool_iou[use]), iou_bin(out_iou[use])), 1)
        return {"classes": class_table(fields), "iou_hist": keyed_from_counts(hist)}

    # ---- merge -------------------------------------------------------------------------------
    def empty(self) -> dict[str, Any]:
        return {"classes": {"idx": []}, "iou_hist": {}}

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {"classes": merge_class_tables(a["classes"], b["classes"]), "iou_hist": merge_keyed(a["iou_hist"], b["iou_hist"])}

    # ---- results -----------------------------------------------------------------------------
    def _dense(self, total: dict[str, Any], K: int) -> dict[str, np.ndarray]:
        return dense_class_table(total["classes"], K, FIELDS)

    def summarize(self, total: dict[str, Any], categories: Any, views: Any) -> dict[str, Any]:
        d = self._dense(total, len(categories))
        groups = {name: rates({f: int(v[mask].sum()) for f, v in d.items()}) for name, mask in class_groups(categories, views).items()}
        hist = dense_keyed(total["iou_hist"], IOU_BINS, IOU_BINS)
        return {
            "title": "Candidate-pool recall vs output recall; discarded valid masks",
            "oracle": self.oracle,
            "definition": "IoU = |c∩g| / (|c| + area_g - |c∩g| - |c∩VOID|); candidates binarised at sigmoid >= 0.5 at output "
                          "resolution; valid = IoU > 0.5; discarded = a valid candidate exists but no output segment has IoU > 0.5",
            "groups": groups,
            "iou_histogram": {"edges": [round(float(e), 10) for e in IOU_EDGES], "rows": "pool_iou bin", "cols": "output_iou bin",
                              "counts": hist.tolist()},
            "per_class": self.rows(total, categories, views),
        }

    def rows(self, total: dict[str, Any], categories: Any, views: Any) -> list[dict[str, Any]]:
        return per_class_rows(self._dense(total, len(categories)), "n", FIELDS, rates, categories, views)


def rates(c: Mapping[str, int]) -> dict[str, Any]:
    """Counts of a class or group -> counts plus rates (None where a denominator is 0)."""
    n = c["n"]
    return {
        "n": n, "pool_valid": c["pool_valid"], "out_valid": c["out_valid"], "tp": c["tp"], "discarded": c["discarded"],
        "valid_not_tp": c["valid_not_tp"], "discarded_void": c["discarded_void"], "discarded_threshold": c["discarded_threshold"],
        "discarded_fusion": c["discarded_fusion"],
        "pool_recall": ratio(c["pool_valid"], n),
        "output_recall": ratio(c["tp"], n),
        "output_recall_agnostic": ratio(c["out_valid"], n),
        "discarded_rate": ratio(c["discarded"], n),
        "discarded_share_of_valid": ratio(c["discarded"], c["pool_valid"]),
        "valid_not_tp_rate": ratio(c["valid_not_tp"], n),
        "discarded_void_share": ratio(c["discarded_void"], c["discarded"]),
        "mean_pool_iou": ratio(c["pool_iou_u"], n * 1_000_000),
        "mean_output_iou": ratio(c["out_iou_u"], n * 1_000_000),
    }
