"""Oracle classification (paper Table 2).

After the model's own panoptic inference, every final segment whose class-agnostic IoU with a
non-crowd GT segment exceeds 0.5 takes that segment's class; other segments are unchanged. IoU
is panopticapi's (the prediction's VOID pixels leave the union), so IoU > 0.5 picks at most one
GT segment per prediction and vice versa. Masks and pixel ownership are not changed.

Two stuff segments that end up with one class stay separate segments by default (the literal
"fix the class" reading); ``merge_stuff=True`` merges them as panoptic inference would.
"""

from __future__ import annotations

import numpy as np

from ..data.panoptic_format import PanopticMap, SegmentInfo
from ..inference.mask2former import PanopticResult
from ..metrics.matching import compute_overlaps
from .context import ImageContext


def oracle_classification(ctx: ImageContext, merge_stuff: bool = False) -> PanopticResult:
    base = ctx.baseline
    pred = base.pred
    if not pred.segments:
        return base
    ov = compute_overlaps(ctx.gt, pred, what=f"image {ctx.raw.image_id!r}")
    iou = ov.iou()
    crowd = np.array([s.iscrowd for s in ctx.gt.segments], dtype=bool)
    if len(crowd):
        iou[crowd, :] = 0.0
    segments = list(pred.segments)
    if len(ctx.gt.segments):
        best = iou.argmax(axis=0)
        best_iou = iou[best, np.arange(len(segments))]
        for p, (g, v) in enumerate(zip(best, best_iou)):
            if v > 0.5:
                s = segments[p]
                segments[p] = SegmentInfo(s.id, ctx.gt.segments[g].category_id, False, s.area)
    if not merge_stuff:
        return PanopticResult(PanopticMap(pred.ids, tuple(segments)), base.segment_queries)
    return _merge_stuff(pred.ids, segments, base.segment_queries, ctx)


def _merge_stuff(ids: np.ndarray, segments: list[SegmentInfo], queries, ctx: ImageContext) -> PanopticResult:  # type: ignore[no-untyped-def]
    isthing = {c.id: c.isthing for c in ctx.categories}
    first: dict[int, int] = {}
    remap = {}
    out_segments: list[SegmentInfo] = []
    out_queries: list[list[int]] = []
    for s, q in zip(segments, queries):
        if not isthing[s.category_id] and s.category_id in first:
            keep = first[s.category_id]
            remap[s.id] = out_segments[keep].id
            out_queries[keep].extend(q)
            continue
        if not isthing[s.category_id]:
            first[s.category_id] = len(out_segments)
        out_segments.append(s)
        out_queries.append(list(q))
    new_ids = ids.copy()
    for old, new in remap.items():
        new_ids[ids == old] = new
    pred = PanopticMap.from_segments(new_ids, out_segments)
    return PanopticResult(pred, tuple(tuple(q) for q in out_queries))
