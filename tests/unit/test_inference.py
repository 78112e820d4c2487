"""Mask2Former inference: resize chain, class scores and panoptic fusion on hand-made cases."""

import numpy as np
import pytest

from ovbench.inference import kernels
from ovbench.inference.mask2former import panoptic_inference
from ovbench.inference.resize import bilinear_matrix, resize_masks, resize_masks_pixel_major, sigmoid32
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


COMPILED = [False, pytest.param(True, marks=pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed"))]
GEO = MaskGeometry((50, 67), (76, 102), (80, 112))


@pytest.mark.parametrize("compiled", COMPILED)
def test_fused_resize_sigmoid_equals_separate_passes(compiled):
    """Bit-identical by construction: the fused kernel runs the same float32 operations per pixel
    as resizing first and applying sigmoid32 after (no BLAS, no reduction whose order can vary)."""
    from ovbench.inference.resize import resize_sigmoid_into

    rng = np.random.default_rng(2)
    m = rng.normal(0, 4, size=(5, 20, 28)).astype(np.float32)
    ref = sigmoid32(resize_masks_pixel_major(m, GEO))
    probs = np.full((50 * 67, 7), np.nan, np.float32)
    pos = resize_sigmoid_into(m, np.arange(5), GEO, probs, 1, compiled=compiled)
    np.testing.assert_array_equal(probs[:, 1:6], ref)
    assert np.isnan(probs[:, 0]).all() and np.isnan(probs[:, 6]).all()  # other columns untouched
    np.testing.assert_array_equal(pos, (ref >= 0.5).sum(axis=0))
    assert 0 < pos.sum() < ref.size


@pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")
def test_compiled_resize_and_sigmoid_equal_numpy_bit_for_bit():
    """The numba kernels and the numpy code run the same IEEE operations (a fused multiply-add or
    a reordered sum would show up as differences in the last bit)."""
    from ovbench.inference.resize import resize_crop, resize_sigmoid_into, resize_taps

    rng = np.random.default_rng(5)
    v = np.concatenate([rng.normal(0, 6, 200_000), rng.uniform(-130, 130, 20_000), rng.normal(0, 1e-6, 20_000),
                        [0.0, -0.0, 1e-30, -1e-30, 87.3, -87.3, 88.8, -88.8, 103.9, -103.9, 104, -104, 105, -105]]).astype(np.float32)
    out = np.empty_like(v)
    kernels.sigmoid_array(v, out)
    np.testing.assert_array_equal(out, sigmoid32(v))
    m = rng.normal(-2, 5, size=(6, 20, 28)).astype(np.float32)
    rows, cols = resize_taps((20, 28), GEO)
    for y0, y1, x0, x1 in ((0, 50, 0, 67), (3, 17, 5, 40), (49, 50, 66, 67)):
        for k in range(len(m)):
            a = resize_crop(m[k], rows, cols, y0, y1, x0, x1, compiled=True)
            b = resize_crop(m[k], rows, cols, y0, y1, x0, x1, compiled=False)
            np.testing.assert_array_equal(a, b)
    pa, pb = np.empty((50 * 67, 6), np.float32), np.empty((50 * 67, 6), np.float32)
    ca = resize_sigmoid_into(m, np.arange(6), GEO, pa, 0, compiled=True)
    cb = resize_sigmoid_into(m, np.arange(6), GEO, pb, 0, compiled=False)
    np.testing.assert_array_equal(pa, pb)
    np.testing.assert_array_equal(ca, cb)


def test_sigmoid32_is_within_two_ulp_of_the_exact_sigmoid():
    """Tolerance: cephes' expf is within about 1 ulp and the quotient adds half an ulp, so the
    result is within 2 float32 ulp of the float64 sigmoid rounded to float32 (and exact at 0)."""
    rng = np.random.default_rng(6)
    v = np.concatenate([rng.normal(0, 8, 300_000), rng.uniform(-100, 100, 100_000)]).astype(np.float32)
    got = sigmoid32(v)
    ref = (1.0 / (1.0 + np.exp(-v.astype(np.float64)))).astype(np.float32)
    normal = ref > np.finfo(np.float32).tiny
    ulp = np.abs(got.view(np.int32).astype(np.int64) - ref.view(np.int32).astype(np.int64))
    assert ulp[normal].max() <= 2
    assert np.abs(got - ref)[~normal].max() <= 2 * np.finfo(np.float32).smallest_subnormal
    assert sigmoid32(np.float32([0.0, -0.0]))[0] == 0.5 == sigmoid32(np.float32([-0.0]))[0]
    assert sigmoid32(np.float32([200.0]))[0] == 1.0 and sigmoid32(np.float32([-200.0]))[0] == 0.0
    assert (np.diff(sigmoid32(np.sort(v))) >= 0).all()  # monotone on this sample


def test_positive_shortcut_equals_sigmoid_at_least_one_half():
    """`positive` evaluates the sigmoid only between POSITIVE_CUT and 0; outside, the answer is
    known (checked here on a dense grid around the cut and around 0)."""
    from ovbench.inference.resize import POSITIVE_CUT, positive

    rng = np.random.default_rng(7)
    v = np.concatenate([np.linspace(-3e-5, 1e-6, 1_000_001, dtype=np.float32), -np.abs(rng.normal(0, 1e-7, 200_000)),
                        np.nextafter(np.float32(POSITIVE_CUT), np.float32([-1, 1])), [0.0, -0.0], rng.normal(0, 3, 10_000)]).astype(np.float32)
    np.testing.assert_array_equal(positive(v), sigmoid32(v) >= 0.5)
    assert not positive(np.float32([-1e-6])).any() and positive(np.float32([-1e-9])).all()  # sigmoid rounds to 0.5 near 0


@pytest.mark.parametrize("compiled", COMPILED)
def test_identical_masks_give_identical_bits_at_any_position_and_batch_size(compiled):
    """A mask's resized probabilities depend on its own logits only: the same mask placed at
    different positions of batches of different sizes (1, 3, 40, 257 masks) gives the same bits."""
    from ovbench.inference.resize import resize_sigmoid_into

    rng = np.random.default_rng(8)
    target = rng.normal(-1, 4, size=(20, 28)).astype(np.float32)
    results = []
    for n, at in ((1, [0]), (3, [2]), (40, [0, 17, 39]), (257, [5, 128, 256])):
        m = rng.normal(-1, 4, size=(n, 20, 28)).astype(np.float32)
        m[at] = target
        probs = np.empty((50 * 67, n), np.float32)
        pos = resize_sigmoid_into(m, np.arange(n), GEO, probs, 0, compiled=compiled)
        for k in at:
            results.append((probs[:, k].copy(), int(pos[k])))
        assert np.array_equal(resize_masks(m, GEO)[at[-1]], resize_masks(target[None], GEO)[0])
    for p, c in results[1:]:
        assert np.array_equal(p, results[0][0]) and c == results[0][1]


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


@pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")
def test_compiled_fusion_counts_equal_numpy(monkeypatch):
    from ovbench.inference.mask2former import fuse_segments

    rng = np.random.default_rng(9)
    for trial in range(10):
        Q, H, W = int(rng.integers(1, 8)), 13, 17
        owner = rng.integers(0, Q, size=H * W).astype(np.int64)
        prob = rng.random(H * W).astype(np.float32)
        prob[rng.random(H * W) < 0.1] = 0.5  # exactly at the threshold
        positive = rng.integers(0, H * W // Q + 5, size=Q)
        labels = rng.integers(0, 3, size=Q)
        args = (owner, prob, positive, labels, np.arange(Q) * 2, np.array([10, 20, 30]), np.array([True, False, True]), (H, W), 0.6)
        fast = fuse_segments(*args)
        monkeypatch.setattr(kernels, "HAVE_NUMBA", False)
        ref = fuse_segments(*args)
        monkeypatch.undo()
        assert np.array_equal(fast.pred.ids, ref.pred.ids) and fast.pred.segments == ref.pred.segments, trial
        assert fast.segment_queries == ref.segment_queries
