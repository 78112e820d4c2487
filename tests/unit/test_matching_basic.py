"""Hand-computed panoptic matching cases (panopticapi semantics)."""

import numpy as np
import pytest

from ovbench.data.categories import Category, CategorySet
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.errors import PredictionError
from ovbench.metrics.matching import match_image

CATS = CategorySet((Category(1, "thing", True), Category(2, "stuff", False)))


def gt_map(ids, segs):
    ids = np.asarray(ids, dtype=np.int32)
    return PanopticMap.from_segments(ids, [SegmentInfo(*s) for s in segs])


def test_perfect_match_gives_pq_one():
    ids = [[1, 1, 2, 2], [1, 1, 2, 2]]
    gt = gt_map(ids, [(1, 1), (2, 2)])
    m = match_image(gt, gt, CATS)
    assert m.stats.tp.tolist() == [1, 1] and m.stats.fp.sum() == 0 and m.stats.fn.sum() == 0
    r = m.stats.compute()
    assert (r.pq, r.sq, r.rq, r.n) == (1.0, 1.0, 1.0, 2)


def test_iou_exactly_half_is_not_a_match():
    # gt segment 4 px; pred covers 2 of them + 0 others -> IoU = 2/4 = 0.5 -> no TP
    gt = gt_map([[1, 1, 1, 1]], [(1, 1)])
    pred = gt_map([[7, 7, 0, 0]], [(7, 1)])
    m = match_image(gt, pred, CATS)
    assert m.stats.tp.sum() == 0 and m.stats.fn.tolist() == [1, 0] and m.stats.fp.tolist() == [1, 0]


def test_void_pixels_leave_union_and_can_cancel_fp():
    # gt: 2 px thing, 2 px VOID; pred covers the thing + both void px: union = 4 - 2 void = 2 -> IoU 1
    gt = gt_map([[1, 1, 0, 0]], [(1, 1)])
    pred = gt_map([[5, 5, 5, 5]], [(5, 1)])
    m = match_image(gt, pred, CATS)
    assert m.stats.tp.tolist() == [1, 0] and m.tp_iou.tolist() == [1.0]
    # an unmatched prediction lying mostly on VOID is not a FP
    pred2 = gt_map([[0, 6, 6, 6]], [(6, 2)])
    m2 = match_image(gt, pred2, CATS)
    assert m2.stats.fp.sum() == 0 and m2.stats.fn.tolist() == [1, 0]


def test_crowd_region_absorbs_same_category_fp():
    gt = gt_map([[1, 1, 1, 1, 2, 2]], [(1, 1, True), (2, 2)])
    pred = gt_map([[3, 3, 3, 0, 4, 4]], [(3, 1), (4, 2)])
    m = match_image(gt, pred, CATS)
    # crowd GT is never FN; pred 3 lies 3/3 on the crowd of its category -> ignored
    assert m.stats.fn.sum() == 0 and m.stats.fp.sum() == 0 and m.stats.tp.tolist() == [0, 1]


def test_unknown_category_and_unlisted_id_raise():
    gt = gt_map([[1, 1]], [(1, 1)])
    with pytest.raises(PredictionError, match="unknown category"):
        match_image(gt, gt_map([[1, 1]], [(1, 9)]), CATS)
    bad = PanopticMap(np.array([[1, 3]], dtype=np.int32), (SegmentInfo(1, 1, False, 1),))
    with pytest.raises(PredictionError, match="not in the JSON"):
        match_image(gt, bad, CATS)


def test_sparse_json_round_trip_is_exact():
    from ovbench.metrics.accumulator import PQStats

    s = PQStats.zeros(5)
    s.tp[1], s.fp[3], s.fn[1] = 2, 1, 4
    s.iou_q[1] = (1 << 53) + 12345678901234567  # beyond float precision: must survive exactly
    d = s.to_sparse_json()
    assert d["idx"] == [1, 3]
    assert PQStats.from_sparse_json(d, 5) == s
