"""Hand-computed panoptic matching cases (panopticapi semantics), each number derived by hand in
the comments, never by the code under test."""

import math

import numpy as np
import pytest

from ovbench.data.categories import Category, CategorySet
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.errors import DatasetError, PredictionError
from ovbench.metrics.accumulator import PQStats
from ovbench.metrics.matching import compute_overlaps, match_image

CATS = CategorySet((Category(1, "person", True), Category(2, "car", True), Category(10, "wall", False),
                    Category(11, "floor", False)))
T_PERSON, T_CAR, S_WALL, S_FLOOR = 0, 1, 2, 3


def pm(rows, segs, recount=True):
    """segs: (id, category_id[, iscrowd[, area]])."""
    ids = np.asarray(rows, dtype=np.int32)
    infos = [SegmentInfo(*s) for s in segs]
    if recount:
        return PanopticMap.from_segments(ids, infos)
    return PanopticMap(ids, tuple(infos))


def test_iou_just_above_half_matches_and_sums_exact_iou():
    # gt 4 px; pred 3 of them + 1 on another segment: inter 3, union 4 + 4 - 3 = 5 -> IoU 0.6
    gt = pm([[1, 1, 1, 1, 3]], [(1, 1), (3, 10)])
    pred = pm([[7, 7, 7, 0, 7]], [(7, 1)])
    m = match_image(gt, pred, CATS)
    assert m.stats.tp.tolist() == [1, 0, 0, 0]
    assert m.tp_iou.tolist() == [0.6]
    assert m.stats.iou_sum[T_PERSON] == 0.6
    # 2 of 4 px, nothing else: IoU 2/4 = 0.5 exactly -> not a match (IoU > 0.5 is required)
    half = match_image(gt, pm([[7, 7, 0, 0, 0]], [(7, 1)]), CATS)
    assert half.stats.tp.sum() == 0 and half.stats.fn[T_PERSON] == 1 and half.stats.fp[T_PERSON] == 1


def test_void_pixel_of_prediction_is_removed_from_union():
    gt = pm([[1, 1, 1, 1, 0]], [(1, 1)])
    pred = pm([[7, 7, 7, 0, 7]], [(7, 1)])
    ov = compute_overlaps(gt, pred)
    # pred area 4, of which 1 on GT VOID; inter 3; union = 4 + 4 - 3 - 1 = 4
    assert ov.pred_void.tolist() == [1]
    assert ov.iou().tolist() == [[0.75]]


def test_empty_prediction_counts_every_non_crowd_gt_as_fn():
    gt = pm([[1, 1, 2, 2, 3, 3]], [(1, 1), (2, 1, True), (3, 10)])
    pred = PanopticMap(np.zeros((1, 6), dtype=np.int32), ())
    m = match_image(gt, pred, CATS)
    assert m.stats.fn.tolist() == [1, 0, 1, 0]  # the crowd segment is not a FN
    assert m.stats.tp.sum() == 0 and m.stats.fp.sum() == 0
    r = m.stats.compute()
    assert (r.pq, r.sq, r.rq, r.n) == (0.0, 0.0, 0.0, 2)


def test_class_absent_from_gt_gets_fp_and_enters_the_average():
    gt = pm([[3, 3, 3, 3]], [(3, 10)])
    pred = pm([[3, 3, 3, 9]], [(3, 10), (9, 2)])  # a car that is not there
    m = match_image(gt, pred, CATS)
    assert m.stats.tp.tolist() == [0, 0, 1, 0] and m.stats.fp.tolist() == [0, 1, 0, 0]
    # wall: IoU 3/4, pq = 0.75; car: tp 0, fp 1 -> pq 0, n = 2 -> PQ = 0.375
    r = m.stats.compute()
    assert r.n == 2 and r.pq == 0.375 and r.rq == 0.5
    things = m.stats.compute(CATS.isthing)
    assert (things.pq, things.n) == (0.0, 1)


def test_wrong_class_gives_fn_and_fp():
    gt = pm([[1, 1, 1, 1]], [(1, 1)])
    pred = pm([[5, 5, 5, 5]], [(5, 2)])
    m = match_image(gt, pred, CATS)
    assert m.stats.fn.tolist() == [1, 0, 0, 0] and m.stats.fp.tolist() == [0, 1, 0, 0]


def test_things_stuff_split_and_empty_subset_is_nan():
    gt = pm([[1, 1, 3, 3]], [(1, 1), (3, 10)])
    m = match_image(gt, gt, CATS)
    assert m.stats.compute(CATS.isthing).n == 1
    assert m.stats.compute(~CATS.isthing).n == 1
    floor_only = CATS.mask([11])
    r = m.stats.compute(floor_only)  # floor has no segments: n = 0
    assert r.n == 0 and math.isnan(r.pq) and math.isnan(r.sq) and math.isnan(r.rq)


def test_crowd_of_same_category_absorbs_unmatched_prediction():
    # crowd person region 4 px; pred person covers 2 crowd px + 1 stuff px + 0 void: 2/3 > 0.5 -> ignored
    gt = pm([[1, 1, 1, 1, 3, 3]], [(1, 1, True), (3, 10)])
    pred = pm([[0, 0, 6, 6, 6, 4]], [(6, 1), (4, 10)])
    m = match_image(gt, pred, CATS)
    # the wall pred (1 px) vs wall gt (2 px): IoU 1/2 -> not a TP: wall FN + wall FP (no VOID/crowd under it)
    assert m.stats.fp.tolist() == [0, 0, 1, 0]
    assert m.stats.fn.tolist() == [0, 0, 1, 0] and m.stats.tp.sum() == 0


def test_crowd_of_other_category_does_not_absorb():
    gt = pm([[1, 1, 1, 1]], [(1, 1, True)])
    pred = pm([[6, 6, 6, 6]], [(6, 2)])  # a car on a crowd of persons
    m = match_image(gt, pred, CATS)
    assert m.stats.fp.tolist() == [0, 1, 0, 0]


def test_only_the_last_crowd_segment_of_a_category_counts():
    # two person crowds; panopticapi keeps the last one listed per category
    gt = pm([[1, 1, 2, 2]], [(1, 1, True), (2, 1, True)])
    on_first = pm([[6, 6, 0, 0]], [(6, 1)])  # lies on crowd 1, which is not the remembered one
    on_last = pm([[0, 0, 6, 6]], [(6, 1)])
    assert match_image(gt, on_first, CATS).stats.fp.tolist() == [1, 0, 0, 0]
    assert match_image(gt, on_last, CATS).stats.fp.tolist() == [0, 0, 0, 0]


def test_void_and_crowd_add_up_for_the_fp_test():
    # pred 4 px: 1 on VOID, 1 on crowd person, 2 on wall -> ignored fraction 2/4 = 0.5, not > 0.5 -> FP
    gt = pm([[0, 1, 3, 3]], [(1, 1, True), (3, 10)])
    pred = pm([[6, 6, 6, 6]], [(6, 1)])
    m = match_image(gt, pred, CATS)
    assert m.stats.fp.tolist() == [1, 0, 0, 0]
    # 3 px: 1 VOID + 1 crowd + 1 wall -> 2/3 > 0.5 -> ignored
    pred2 = pm([[6, 6, 6, 0]], [(6, 1)])
    assert match_image(gt, pred2, CATS).stats.fp.tolist() == [0, 0, 0, 0]


def test_gt_json_area_larger_than_png_enters_union_and_zero_pixel_gt_is_fn():
    # ADE20K: wall JSON area 8 (4 px painted over by a person), floor listed with no pixels at all
    gt = pm([[10, 10, 10, 10, 1, 1, 1, 1]], [(10, 10, False, 8), (11, 11, False, 5), (1, 1, False, 4)], recount=False)
    pred = pm([[5, 5, 5, 5, 6, 6, 6, 6]], [(5, 10), (6, 1)])
    m = match_image(gt, pred, CATS)
    # wall: union 4 + 8 - 4 = 8 -> IoU 0.5 -> no TP (it would be 1.0 with the PNG area)
    assert m.stats.tp.tolist() == [1, 0, 0, 0]
    assert m.stats.fn.tolist() == [0, 0, 1, 1] and m.stats.fp.tolist() == [0, 0, 1, 0]


def test_gt_area_below_pixel_count_is_an_error():
    gt = pm([[1, 1, 1, 1]], [(1, 1, False, 3)], recount=False)
    with pytest.raises(DatasetError, match="area 3 .* 4 pixels"):
        match_image(gt, gt, CATS)


def test_listed_prediction_without_pixels_is_an_error():
    gt = pm([[1, 1]], [(1, 1)])
    pred = PanopticMap(np.array([[5, 5]], dtype=np.int32), (SegmentInfo(5, 1, False, 2), SegmentInfo(6, 1, False, 0)))
    with pytest.raises(PredictionError, match=r"\[6\] are in the JSON but not in the PNG"):
        match_image(gt, pred, CATS)


def test_gt_errors_are_dataset_errors():
    with pytest.raises(DatasetError, match="unknown category id 99"):
        match_image(pm([[1]], [(1, 99)]), pm([[1]], [(1, 1)]), CATS)
    bad = PanopticMap(np.array([[1, 2]], dtype=np.int32), (SegmentInfo(1, 1, False, 1),))
    with pytest.raises(DatasetError, match="not in the JSON"):
        match_image(bad, pm([[1, 1]], [(1, 1)]), CATS)
    dup = PanopticMap(np.array([[1, 1]], dtype=np.int32), (SegmentInfo(1, 1, False, 2), SegmentInfo(1, 2, False, 2)))
    with pytest.raises(DatasetError, match="duplicate"):
        match_image(dup, dup, CATS)


def test_size_mismatch_is_a_prediction_error():
    with pytest.raises(PredictionError, match="size"):
        match_image(pm([[1, 1]], [(1, 1)]), pm([[1, 1, 1]], [(1, 1)]), CATS)


def test_pq_of_a_hand_computed_image():
    gt = pm([[1, 1, 1, 1, 3, 3, 3, 3, 0, 0]], [(1, 1), (3, 10)])
    pred = pm([[7, 7, 7, 0, 8, 8, 8, 8, 8, 9]], [(7, 1), (8, 10), (9, 2)])
    m = match_image(gt, pred, CATS)
    # person: inter 3, pred area 3, gt area 4 -> union 4, IoU 3/4 (TP)
    # wall: inter 4, pred area 5 of which 1 on VOID, gt 4 -> union 5 + 4 - 4 - 1 = 4 -> IoU 1 (TP)
    # car pred: 1 px, all on VOID -> ignored
    assert sorted(m.tp_iou.tolist()) == [0.75, 1.0]
    assert m.stats.fp.sum() == 0 and m.stats.fn.sum() == 0
    r = m.stats.compute()
    assert (r.pq, r.sq, r.rq, r.n) == (0.875, 0.875, 1.0, 2)


def test_accumulator_serialisation_round_trip_and_merge_errors():
    s = PQStats.zeros(4)
    s.tp[1] = 3
    s.iou_q[1] = 5 * (1 << 52)
    assert PQStats.from_json(s.to_json()) == s
    with pytest.raises(ValueError, match="cannot merge"):
        s + PQStats.zeros(3)
    with pytest.raises(ValueError, match="subset mask"):
        s.compute(np.ones(3, dtype=bool))
