"""mIoU from panoptic maps: hand-computed values, detectron2's SemSegEvaluator formulas, merging."""

import math

import numpy as np
import pytest

from ovbench.data.categories import Category, CategorySet
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.metrics.matching import match_image
from ovbench.metrics.semantic import SemanticStats

CATS = CategorySet((Category(1, "a", True), Category(2, "b", False), Category(3, "c", False)))


def labels_of(m: PanopticMap) -> np.ndarray:
    lut = {s.id: CATS.index_of(s.category_id) for s in m.segments}
    return np.vectorize(lambda v: lut.get(v, -1))(m.ids)


def test_hand_computed_miou():
    # gt labels   a a b b c c ; pred labels a b b b c c
    gt = np.array([[0, 0, 1, 1, 2, 2]])
    pred = np.array([[0, 1, 1, 1, 2, 2]])
    s = SemanticStats.zeros(3)
    s.update_labels(gt, pred)
    r = s.compute()
    # a: tp 1, gt 2, pred 1 -> 1/2 ; b: tp 2, gt 2, pred 3 -> 2/3 ; c: 1
    assert r.iou.tolist() == [0.5, 2 / 3, 1.0]
    assert r.miou == pytest.approx((0.5 + 2 / 3 + 1) / 3, abs=1e-15)
    assert r.pacc == 5 / 6 and r.macc == pytest.approx((0.5 + 1 + 1) / 3, abs=1e-15)
    assert r.fwiou == pytest.approx((2 * 0.5 + 2 * 2 / 3 + 2 * 1) / 6, abs=1e-15)


def test_gt_void_is_ignored_and_pred_void_is_a_miss():
    gt = np.array([[-1, -1, 0, 0]])
    pred = np.array([[0, 0, 0, -1]])
    s = SemanticStats.zeros(3)
    s.update_labels(gt, pred)
    r = s.compute()
    # class a: the two predictions on GT VOID are ignored; the GT pixel left VOID by the prediction
    # stays in a's ground truth: tp 1, gt 2, pred 1 -> IoU 1/2 (detectron2 would say 1/1)
    assert r.iou[0] == 0.5 and r.n == 1
    assert math.isnan(r.iou[1]) and math.isnan(r.iou[2])


def test_classes_without_gt_pixels_are_not_averaged():
    s = SemanticStats.zeros(3)
    s.update_labels(np.array([[0, 0]]), np.array([[0, 2]]))  # c predicted, absent from GT
    r = s.compute()
    assert r.n == 1 and r.miou == 0.5 and math.isnan(r.iou[2])
    assert math.isnan(s.compute(np.array([False, True, True])).miou)


def detectron2_miou(gt: np.ndarray, pred: np.ndarray, K: int) -> float:
    """detectron2's SemSegEvaluator.evaluate, re-derived: conf[pred, gt] with ignore = K."""
    g = np.where(gt < 0, K, gt).reshape(-1)
    p = pred.reshape(-1)
    conf = np.bincount((K + 1) * p + g, minlength=(K + 1) ** 2).reshape(K + 1, K + 1).astype(float)
    tp = conf.diagonal()[:-1]
    pos_gt = conf[:-1, :-1].sum(axis=0)
    pos_pred = conf[:-1, :-1].sum(axis=1)
    valid = pos_gt > 0
    union = pos_gt + pos_pred - tp
    iou_valid = valid & (union > 0)
    return float(np.sum(tp[iou_valid] / union[iou_valid]) / iou_valid.sum())


def test_equals_detectron2_when_the_prediction_has_no_void():
    rng = np.random.default_rng(1)
    for _ in range(20):
        gt = rng.integers(-1, 3, size=(7, 9))
        pred = rng.integers(0, 3, size=(7, 9))
        s = SemanticStats.zeros(3)
        s.update_labels(gt, pred)
        if (gt >= 0).any():
            assert abs(s.compute().miou - detectron2_miou(gt, pred, 3)) < 1e-12


def test_joint_histogram_path_equals_pixel_path_and_merges():
    gt = PanopticMap.from_segments(np.array([[1, 1, 2, 0], [3, 3, 2, 0]], np.int32),
                                   [SegmentInfo(1, 1), SegmentInfo(2, 2, True), SegmentInfo(3, 3)])
    pred = PanopticMap.from_segments(np.array([[5, 6, 6, 6], [0, 7, 7, 7]], np.int32),
                                     [SegmentInfo(5, 1), SegmentInfo(6, 2), SegmentInfo(7, 3)])
    ov = match_image(gt, pred, CATS).overlaps
    a = SemanticStats.zeros(3)
    a.update(ov.joint, np.array([0, 1, 2]), np.array([0, 1, 2]))
    b = SemanticStats.zeros(3)
    b.update_labels(labels_of(gt), labels_of(pred))
    assert a == b
    c = a + b
    assert np.array_equal(c.conf, 2 * a.conf)
    assert SemanticStats.from_json(c.to_json()) == c
    with pytest.raises(ValueError):
        a + SemanticStats.zeros(4)
