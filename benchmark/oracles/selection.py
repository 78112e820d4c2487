"""Oracle mask selection (paper Table 3) and its combinations with oracle segmentation and
oracle classification (Table 4).

The candidates matched to GT segments by the Hungarian assignment (BCE + Dice cost, see
:mod:`ovbench.oracles.matching`) are the only ones that enter standard panoptic inference.

* ``drop_void=False`` (Table 3, row 2): inference as usual, so a matched candidate whose argmax
  is no-object, or whose score is below the object threshold, is discarded.
* ``drop_void=True`` (Table 3, row 3): the no-object column is removed before the softmax, and the
  object threshold is not applied (``threshold_without_void=False``), so every matched candidate
  reaches pixel fusion, as the paper states; the overlap threshold still applies.
* ``gt_masks=True`` (Table 4, row 2): matched candidates' masks are replaced by their GT
  segments' masks (probability exactly 1 inside, 0 outside); classes come from the model.
* ``gt_classes=True`` (Table 4, row 3): matched candidates get one-hot GT class posteriors
  (score 1, no-object 0); masks come from the model.
"""

from __future__ import annotations

import numpy as np

from ..inference.mask2former import PanopticResult
from ..inference.scores import class_scores
from .context import ImageContext


def mask_selection(
    ctx: ImageContext,
    drop_void: bool = False,
    gt_masks: bool = False,
    gt_classes: bool = False,
    threshold_without_void: bool = False,
) -> PanopticResult:
    a = ctx.assignment
    queries = a.queries
    C = ctx.raw.num_classes
    thr = ctx.settings.inference.object_mask_threshold
    if gt_classes:
        labels = np.array([ctx.column_of(ctx.gt.segments[g].category_id) for g in a.gt_index], dtype=np.int64)
        scores = np.ones(len(queries), dtype=np.float32)
        keep = np.ones(len(queries), dtype=bool)
    else:
        scores, labels = class_scores(ctx.raw.class_probs[queries], prob_eps=ctx.settings.inference.prob_eps, drop_void=drop_void)
        if drop_void:
            keep = scores > thr if threshold_without_void else np.ones(len(queries), dtype=bool)
        else:
            keep = (labels != C) & (scores > thr)
    return ctx.infer(queries[keep], scores[keep], labels[keep], gt_index=a.gt_index[keep] if gt_masks else None)
