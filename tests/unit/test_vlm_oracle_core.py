"""VLM oracle: mask pooling against a direct computation, and the oracle's predicted map / PQ."""

import numpy as np
import pytest

from ovbench.data.categories import Category, CategorySet
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.metrics.matching import match_image
from ovbench.vlm.oracle import oracle_prediction, oracle_segments, predict_classes
from ovbench.vlm.pooling import Geometry, area_weights, cell_of_pixels

CATS = CategorySet((Category(1, "wall", False), Category(2, "bed", True), Category(3, "pillow", True), Category(4, "floor", False)))


def _gt():
    ids = np.zeros((6, 8), dtype=np.int32)
    ids[:3] = 11  # wall
    ids[3:] = 14  # floor
    ids[3:6, 1:5] = 12  # bed
    ids[4, 2] = 13  # pillow (1 px)
    ids[0, 7] = 0  # void pixel
    ids[5, 7] = 15  # crowd bed
    segs = [SegmentInfo(11, 1), SegmentInfo(12, 2), SegmentInfo(13, 3), SegmentInfo(14, 4), SegmentInfo(15, 2, iscrowd=True),
            SegmentInfo(16, 3, area=9)]  # 16: listed, no pixels (ADE stuff painted over)
    pm = PanopticMap.from_segments(ids, segs)
    return PanopticMap(pm.ids, tuple(s if s.id != 16 else SegmentInfo(16, 3, False, 9) for s in pm.segments))


def test_area_pooling_equals_mean_of_nearest_upsampled_features():
    rng = np.random.default_rng(0)
    H, W = 37, 53
    geom = Geometry((H, W), (46, 66), (48, 80), 16)  # resized 46x66, padded 48x80, grid 3x5
    seg = rng.integers(-1, 4, size=(H, W))
    seg[:3, :3] = 3
    feats = rng.normal(size=(7,) + geom.grid).astype(np.float32)
    w = area_weights(seg, 4, geom)
    pooled = (w @ feats.reshape(7, -1).T) / w.sum(1, keepdims=True)
    # direct: every original pixel takes the feature of the cell holding its centre
    direct = np.zeros((4, 7))
    for s in range(4):
        ys, xs = np.nonzero(seg == s)
        vals = []
        for y, x in zip(ys, xs):
            cy = int(((y + 0.5) * 46 / H) // 16)
            cx = int(((x + 0.5) * 66 / W) // 16)
            vals.append(feats[:, cy, cx])
        direct[s] = np.mean(vals, axis=0)
    np.testing.assert_allclose(pooled, direct, rtol=1e-5, atol=1e-5)
    assert w.sum() == (seg >= 0).sum()
    assert cell_of_pixels(geom).max() < geom.num_cells


def test_area_pooling_never_loses_a_one_pixel_segment():
    geom = Geometry((100, 100), (512, 512), (512, 512), 32)
    seg = np.full((100, 100), -1)
    seg[50, 50] = 0
    w = area_weights(seg, 1, geom)
    assert w.sum() == 1 and (w > 0).sum() == 1


@pytest.mark.clip
def test_bilinear_pooling_is_fcclip_style_and_can_be_empty():
    pytest.importorskip("torch")
    import torch

    from ovbench.vlm.pooling import bilinear_weights, mask_pool

    geom = Geometry((64, 64), (64, 64), (64, 64), 16)
    seg = np.full((64, 64), -1)
    seg[:32, :32] = 0  # covers the centres of cells (0,0),(0,1),(1,0),(1,1)
    seg[40, 40] = 1  # one pixel: no cell centre -> empty
    w = bilinear_weights(seg, 2, geom)
    assert w[0].reshape(4, 4)[:2, :2].all() and w[0].sum() == 4
    assert w[1].sum() == 0
    pooled = mask_pool(torch.ones(3, 4, 4), w)
    assert torch.allclose(pooled[0], torch.ones(3)) and torch.all(pooled[1] == 0)


def test_oracle_prediction_perfect_classes_give_pq_one_and_skip_crowd():
    gt = _gt()
    segs = oracle_segments(gt)
    assert segs.num_crowd == 1 and segs.num_empty == 1
    assert [gt.segments[g].id for g in segs.gt_index] == [11, 12, 13, 14]
    true_cls = np.array([CATS.index_of(gt.segments[g].category_id) for g in segs.gt_index])
    pred = oracle_prediction(gt, segs, true_cls, CATS)
    assert (pred.ids[gt.ids == 15] == 0).all()  # crowd stays VOID
    assert (pred.ids[gt.ids == 13] == 13).all()
    m = match_image(gt, pred, CATS)
    assert m.stats.tp.tolist() == [1, 1, 1, 1]
    assert m.stats.fn.tolist() == [0, 0, 1, 0]  # segment 16 (no pixels) is an unavoidable FN
    assert m.stats.fp.sum() == 0


def test_oracle_prediction_wrong_class_and_stuff_merge():
    gt = _gt()
    segs = oracle_segments(gt)
    wall, bed, pillow, floor = (CATS.index_of(i) for i in (1, 2, 3, 4))
    cls = np.array([floor, bed, bed, floor])  # wall -> floor, pillow -> bed
    pred = oracle_prediction(gt, segs, cls, CATS)
    assert len(pred.segments) == 4
    merged = oracle_prediction(gt, segs, cls, CATS, merge_stuff=True)
    assert len(merged.segments) == 3  # the two "floor" stuff predictions became one segment
    assert set(np.unique(merged.ids[(gt.ids == 11) | (gt.ids == 14)]).tolist()) == {11}
    m = match_image(gt, merged, CATS)
    assert m.stats.tp[floor] == 0 and m.stats.fp[floor] == 1
    assert predict_classes(np.array([[0.1, 0.3, 0.3], [2.0, 1.0, 0.0]])).tolist() == [1, 0]
