"""Mask2Former inference: resize chain, class scores and panoptic fusion on hand-made cases."""

import numpy as np
import pytest

from ovbench.inference.mask2former import panoptic_inference
from ovbench.inference.resize import bilinear_matrix, resize_masks, resize_masks_pixel_major
from ovbench.inference.scores import class_scores
from ovbench.raw.record import MaskGeometry


def test_bilinear_matrix_matches_hand_computed_upsampling():
    # 2 -> 4, align_corners=False: src = (dst + .5) / 2 - .5 = [-.25->0, .25, .75, 1.25->clamped to index 1]
    m = bilinear_matrix(2, 4)
    x = np.array([0.0, 4.0])
    np.testing.assert_allclose(m @ x, [0.0, 1.0, 3.0, 4.0])
    assert np.allclose(m.sum(axis=1), 1.0)


def test_resize_chain_equals_two_step_reference():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    m = rng.normal(size=(3, 20, 28)).astype(np.float32)
    g = MaskGeometry((50, 67), (76, 102), (80, 112))
    ref = torch.from_numpy(m.astype(np.float64))[None]
    ref = F.interpolate(ref, size=(80, 112), mode="bilinear", align_corners=False)[:, :, :76, :102]
    ref = F.interpolate(ref, size=(50, 67), mode="bilinear", align_corners=False)[0].numpy()
    np.testing.assert_allclose(resize_masks(m, g), ref, atol=2e-5)
    pm = resize_masks_pixel_major(m, g)
    np.testing.assert_allclose(pm.T.reshape(3, 50, 67), ref, atol=2e-5)


def test_class_scores_reproduce_softmax_of_log_probs_and_drop_void():
    p = np.array([[0.2, 0.1, 0.7], [0.5, 0.3, 0.2]], dtype=np.float32)
    s, lab = class_scores(p, prob_eps=1e-8)
    ref = np.exp(np.log(p.astype(np.float64) + 1e-8))
    ref = ref / ref.sum(1, keepdims=True)
    assert lab.tolist() == [2, 0]
    np.testing.assert_allclose(s, ref.max(1), rtol=1e-6)
    s2, lab2 = class_scores(p, drop_void=True)
    assert lab2.tolist() == [0, 0]
    np.testing.assert_allclose(s2, [0.2 / 0.3, 0.5 / 0.8], rtol=1e-6)


def _run(probs_hw, scores, labels, isthing, overlap=0.8):
    Q = probs_hw.shape[0]
    probs = probs_hw.reshape(Q, int(np.prod(probs_hw.shape[1:]))).T.astype(np.float32).copy()
    return panoptic_inference(probs, (probs >= 0.5).sum(0), np.asarray(scores, np.float32), np.asarray(labels),
                              np.arange(Q), np.array([10, 20, 30]), np.asarray(isthing), probs_hw.shape[1:], overlap)


def test_panoptic_inference_overlap_rule_counts_argmax_pixels_without_threshold():
    # query 0 owns pixels 0-3 with prob .9; on pixels 4-7 it has prob .4 but still wins the argmax
    # (query 1 is weaker there): its argmax area (8) / positive area (4) = 2 >= .8 -> kept; its
    # segment is only the 4 pixels with prob >= .5.
    p = np.array([[[.9, .9, .9, .9, .4, .4, .4, .4]], [[.1, .1, .1, .1, .3, .3, .3, .3]]])
    r = _run(p, [1.0, 1.0], [0, 1], [True, True, True])
    assert r.pred.ids.tolist() == [[1, 1, 1, 1, 0, 0, 0, 0]]
    assert [(s.id, s.category_id, s.area) for s in r.pred.segments] == [(1, 10, 4)]


def test_panoptic_inference_drops_mostly_occluded_masks_and_merges_stuff():
    p = np.array([
        [[.9, .9, .9, .9, .0, .0, .0, .0]],  # thing, class 0
        [[.0, .0, .0, .0, .9, .9, .0, .0]],  # stuff class 1
        [[.0, .0, .0, .0, .0, .0, .9, .9]],  # stuff class 1 again -> merged into the same segment
        [[.8, .8, .8, .8, .0, .0, .0, .0]],  # hidden behind query 0 -> area 0 -> dropped
    ])
    r = _run(p, [1.0, 1.0, 1.0, 1.0], [0, 1, 1, 0], [True, False, False])
    assert r.pred.ids.tolist() == [[1, 1, 1, 1, 2, 2, 2, 2]]
    assert [(s.id, s.category_id, s.area) for s in r.pred.segments] == [(1, 10, 4), (2, 20, 4)]
    assert r.segment_queries == ((0,), (1, 2))
    # a mask whose visible share falls below the overlap threshold is dropped
    p2 = np.array([[[.9, .9, .9, .9, .0, .0, .0, .0]], [[.0, .0, .9, .9, .9, .0, .0, .0]]])
    r2 = _run(p2, [1.0, 0.5], [0, 0], [True, True, True])  # query 1 keeps 1 of 3 px: 1/3 < .8
    assert r2.pred.ids.tolist() == [[1, 1, 1, 1, 0, 0, 0, 0]]


def test_panoptic_inference_ties_go_to_the_first_query_and_empty_input_is_void():
    p = np.array([[[.7, .7]], [[.7, .7]]])
    r = _run(p, [1.0, 1.0], [0, 0], [True, True, True])
    assert r.pred.ids.tolist() == [[1, 1]] and r.segment_queries == ((0,),)
    empty = _run(np.zeros((0, 1, 2)), [], [], [True, True, True])
    assert empty.pred.ids.tolist() == [[0, 0]] and empty.pred.segments == ()


def test_fused_resize_sigmoid_equals_separate_passes():
    from ovbench.inference.resize import resize_sigmoid_pixel_major

    rng = np.random.default_rng(2)
    m = rng.normal(0, 4, size=(5, 20, 28)).astype(np.float32)
    g = MaskGeometry((50, 67), (76, 102), (80, 112))
    x = resize_masks_pixel_major(m, g)
    ref = (1 / (1 + np.exp(-x.astype(np.float32)))).astype(np.float32)
    probs, pos = resize_sigmoid_pixel_major(m, g)
    np.testing.assert_array_equal(probs, ref)
    np.testing.assert_array_equal(pos, (ref >= 0.5).sum(axis=0))
    assert 0 < pos.sum() < probs.size


def test_compiled_argmax_equals_numpy_argmax():
    from ovbench.inference import kernels
    from ovbench.inference.mask2former import argmax_owner

    if not kernels.HAVE_NUMBA:
        pytest.skip("numba is not installed (the `fast` extra)")
    rng = np.random.default_rng(3)
    for trial in range(15):
        P, U = 4000, 10
        probs = rng.random((P, U)).astype(np.float32)
        probs[rng.random((P, U)) < 0.3] = 0.0  # all-zero pixels: ties at 0
        probs[:, 3] = probs[:, 6]  # identical columns: exact ties
        probs[:, 8] = 1.0  # saturated masks: ties at 1
        cols = None if trial == 0 else np.sort(rng.choice(U, size=int(rng.integers(1, U + 1)), replace=False))
        n = U if cols is None else len(cols)
        scores = (np.ones(n) if trial % 3 == 0 else rng.uniform(0.05, 1, n)).astype(np.float32)
        fast = argmax_owner(probs, scores, cols, compiled=True)
        ref = argmax_owner(probs, scores, cols, compiled=False)
        assert np.array_equal(fast[0], ref[0]) and np.array_equal(fast[1], ref[1]), trial
