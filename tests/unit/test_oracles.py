"""Oracles on a hand-made image whose every PQ is known by hand, and Hungarian vs brute force."""

import itertools

import numpy as np
import pytest

from ovbench.data.categories import Category, CategorySet
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.inference.mask2former import InferenceConfig
from ovbench.metrics.matching import match_image
from ovbench.oracles import ORACLES
from ovbench.oracles.context import ImageContext, SuiteSettings
from ovbench.oracles.matching import MatchingConfig, hungarian_assignment, matching_costs, matching_targets
from ovbench.oracles.stratify import fn_breakdown
from ovbench.raw.record import MaskGeometry, RawOutput, validate_raw_output

# every test runs on the compiled kernels (numba, the fast extra) and on the numpy fallback
pytestmark = pytest.mark.usefixtures("kernel_path")

CATS = CategorySet((Category(1, "A", True), Category(2, "B", False), Category(3, "C", True)))


def hand_case():
    """GT: A (thing) on rows 0-3, B (stuff) on rows 4-7 of an 8x8 image.

    q0: rows 0-3 + one pixel of row 4, classified C (wrong)       -> baseline FP(C) + FN(A)
    q1: rows 4-7, classified B                                     -> TP(B)
    q2: exactly rows 0-3, right class A but no-object argmax       -> discarded by the model
    q3: a weaker C distractor inside rows 0-1                      -> loses every pixel to q0
    """
    ids = np.zeros((8, 8), np.int32)
    ids[:4], ids[4:] = 1, 2
    gt = PanopticMap.from_segments(ids, [SegmentInfo(1, 1), SegmentInfo(2, 2)])
    L = np.full((4, 8, 8), -10.0, np.float32)
    L[0, :4] = 10
    L[0, 4, 0] = 10
    L[1, 4:] = 10
    L[2, :4] = 10
    L[3, :2, :4] = 10
    P = np.array([[0.1, 0.1, 0.6, 0.2], [0.05, 0.8, 0.05, 0.1], [0.3, 0.05, 0.05, 0.6], [0.05, 0.05, 0.5, 0.4]], np.float32)
    raw = validate_raw_output(RawOutput("img", L, P, np.array([1, 2, 3]), MaskGeometry.identity(8, 8)))
    return raw, gt


def ctx_for(raw, gt, thr=0.0):
    return ImageContext(raw, gt, CATS, SuiteSettings(InferenceConfig(thr, 0.8, 1e-8), MatchingConfig(num_points=0)))


@pytest.mark.parametrize(
    "oracle, params, expected_pq",
    [
        ("baseline", {}, 1 / 3),  # A: FN, B: TP (IoU 1), C: FP -> (0 + 1 + 0) / 3
        ("oracle_classification", {}, 1.0),  # q0's segment (IoU 1 with A) takes class A
        ("mask_selection", {}, 0.5),  # A -> q2 (void argmax, dropped), B -> q1: (0 + 1) / 2
        ("mask_selection", {"drop_void": True}, 1.0),  # q2 now classified A
        ("mask_selection", {"drop_void": True, "gt_masks": True}, 1.0),
        ("mask_selection", {"drop_void": True, "gt_classes": True}, 1.0),
    ],
)
def test_each_oracle_on_the_hand_case(oracle, params, expected_pq):
    raw, gt = hand_case()
    out = ORACLES.get(oracle)(ctx_for(raw, gt), **params)
    r = match_image(gt, out.pred, CATS).stats.compute()
    assert r.pq == pytest.approx(expected_pq)


def test_selection_assignment_and_fn_breakdown_on_the_hand_case():
    raw, gt = hand_case()
    ctx = ctx_for(raw, gt)
    a = ctx.assignment
    assert dict(zip(a.gt_index.tolist(), a.queries.tolist())) == {0: 2, 1: 1}
    base = ctx.baseline
    m = match_image(gt, base.pred, CATS)
    fb = fn_breakdown(m, gt, base.pred, CATS)
    assert fb.fn_cls.tolist() == [1, 0, 0] and fb.fn_seg.tolist() == [0, 0, 0] and fb.tp.tolist() == [0, 1, 0]


def test_object_threshold_and_gt_classes_keep_every_matched_candidate():
    raw, gt = hand_case()
    ctx = ctx_for(raw, gt, thr=0.7)  # q1's score .8 passes, q0 (.6) does not
    base = match_image(gt, ORACLES.get("baseline")(ctx).pred, CATS).stats
    assert base.tp.tolist() == [0, 1, 0] and base.fp.sum() == 0
    sel = ORACLES.get("mask_selection")(ctx, drop_void=True)  # the threshold is bypassed without void
    assert len(sel.pred.segments) == 2
    sel_thr = ORACLES.get("mask_selection")(ctx, drop_void=True, threshold_without_void=True)
    assert len(sel_thr.pred.segments) == 2  # q2: .3/.4 = .75 > .7 survives, q1 too


def test_fn_seg_when_no_mask_overlaps_enough():
    ids = np.zeros((4, 4), np.int32)
    ids[:, :2], ids[:, 2:] = 1, 2
    gt = PanopticMap.from_segments(ids, [SegmentInfo(1, 1), SegmentInfo(2, 3)])
    pids = np.zeros((4, 4), np.int32)
    pids[:, :1] = 5  # covers half of segment 1 with the right class: IoU .5 -> not a TP
    pred = PanopticMap.from_segments(pids, [SegmentInfo(5, 1)])
    m = match_image(gt, pred, CATS)
    fb = fn_breakdown(m, gt, pred, CATS)
    assert fb.fn_seg.tolist() == [1, 0, 1] and fb.fn_cls.sum() == 0


def test_hungarian_matches_brute_force_on_small_random_inputs():
    rng = np.random.default_rng(1)
    for trial in range(20):
        N, M = int(rng.integers(3, 6)), int(rng.integers(1, 4))
        ids = rng.integers(0, M + 1, size=(6, 7)).astype(np.int32)
        present = sorted(set(ids.ravel().tolist()) - {0})
        if not present:
            continue
        gt = PanopticMap.from_segments(ids, [SegmentInfo(i, 1) for i in present])
        L = rng.normal(0, 3, size=(N, 6, 7)).astype(np.float32)
        P = rng.dirichlet(np.ones(4), size=N).astype(np.float32)
        raw = RawOutput("r", L, P, np.array([1, 2, 3]), MaskGeometry.identity(6, 7))
        ctx = ctx_for(raw, gt)
        cfg = MatchingConfig(num_points=0)
        targets = matching_targets(gt, ctx.gt_labels)
        cost = matching_costs(raw, gt, ctx.gt_labels, cfg, targets)
        best = min(sum(cost[q, t] for t, q in enumerate(perm)) for perm in itertools.permutations(range(N), len(targets)))
        a = hungarian_assignment(raw, gt, ctx.gt_labels, cfg)
        assert a.cost.sum() == pytest.approx(best, abs=1e-9), trial


def test_matching_cost_is_bce_plus_dice_computed_directly():
    rng = np.random.default_rng(3)
    ids = np.zeros((5, 6), np.int32)
    ids[1:4, 1:5] = 7
    gt = PanopticMap.from_segments(ids, [SegmentInfo(7, 1)])
    L = rng.normal(0, 2, size=(2, 5, 6)).astype(np.float32)
    P = rng.dirichlet(np.ones(4), size=2).astype(np.float32)
    raw = RawOutput("r", L, P, np.array([1, 2, 3]), MaskGeometry.identity(5, 6))
    ctx = ctx_for(raw, gt)
    cost = matching_costs(raw, gt, ctx.gt_labels, MatchingConfig(num_points=0), np.array([0]))
    t = (ids == 7).astype(np.float64).ravel()
    for n in range(2):
        x = L[n].astype(np.float64).ravel()
        bce = np.mean(np.logaddexp(0, x) - x * t)
        s = 1 / (1 + np.exp(-x))
        dice = 1 - (2 * (s * t).sum() + 1) / (s.sum() + t.sum() + 1)
        assert cost[n, 0] == pytest.approx(5 * bce + 5 * dice, rel=1e-5)


def test_crowd_and_empty_segments_are_not_matching_targets():
    ids = np.zeros((4, 4), np.int32)
    ids[:2], ids[2:] = 1, 2
    gt = PanopticMap(ids, (SegmentInfo(1, 1, True, 8), SegmentInfo(2, 2, False, 8), SegmentInfo(3, 2, False, 5)))
    L = np.zeros((3, 4, 4), np.float32)
    raw = RawOutput("r", L, np.full((3, 4), 0.25, np.float32), np.array([1, 2, 3]), MaskGeometry.identity(4, 4))
    ctx = ctx_for(raw, gt)
    assert matching_targets(gt, ctx.gt_labels).tolist() == [1]
    assert ctx.assignment.gt_index.tolist() == [1]


def test_gt_mask_fast_path_equals_general_inference_with_exact_masks():
    from ovbench.inference.mask2former import panoptic_inference

    rng = np.random.default_rng(7)
    for trial in range(10):
        ids = rng.integers(0, 5, size=(9, 11)).astype(np.int32)
        present = sorted(set(ids.ravel().tolist()) - {0})
        cats = [int(rng.integers(1, 4)) for _ in present]
        gt = PanopticMap.from_segments(ids, [SegmentInfo(i, c) for i, c in zip(present, cats)])
        raw = RawOutput("r", rng.normal(size=(6, 9, 11)).astype(np.float32), rng.dirichlet(np.ones(4), size=6).astype(np.float32),
                        np.array([1, 2, 3]), MaskGeometry.identity(9, 11))
        ctx = ctx_for(raw, gt)
        q = np.arange(len(present))
        scores = rng.uniform(0.1, 1, size=len(q)).astype(np.float32)
        labels = rng.integers(0, 3, size=len(q))
        fast = ctx.infer(q, scores, labels, gt_index=np.arange(len(present)))
        probs = (ctx.gt_labels[:, None] == (np.arange(len(present))[None, :] + 1)).astype(np.float32)
        slow = panoptic_inference(probs, probs.sum(0).astype(np.int64), scores, labels, q, raw.category_ids, ctx.column_isthing,
                                  gt.shape, 0.8)
        assert np.array_equal(fast.pred.ids, slow.pred.ids), trial
        assert fast.pred.segments == slow.pred.segments and fast.segment_queries == slow.segment_queries


def test_semantic_inference_equals_the_direct_einsum():
    rng = np.random.default_rng(4)
    L = rng.normal(0, 3, size=(70, 6, 9)).astype(np.float32)  # more candidates than one chunk
    P = rng.dirichlet(np.ones(4), size=70).astype(np.float32)
    raw = RawOutput("r", L, P, np.array([1, 2, 3]), MaskGeometry.identity(6, 9))
    gt = PanopticMap(np.zeros((6, 9), np.int32), ())
    ctx = ctx_for(raw, gt)  # prob_eps 1e-8, as FC-CLIP
    w = (P.astype(np.float64) + 1e-8)
    w = (w / w.sum(1, keepdims=True))[:, :3]
    sem = np.einsum("qc,qhw->chw", w, 1 / (1 + np.exp(-L.astype(np.float64))))
    sem = sem.reshape(3, -1)
    top2 = np.sort(sem, axis=0)[-2:]
    clear = top2[1] - top2[0] > 1e-4  # float32 resize + sigmoid + sums vs this float64 reference: a
    assert clear.mean() > 0.9  # near-tie (margin <= 1e-4, i.e. >> float32 rounding of ~70 terms) may flip
    assert np.array_equal(ctx.semantic_labels(chunk=32)[clear], sem.argmax(axis=0)[clear])


def _duplicate_case(seed=11):
    """A detectron2-geometry raw output whose masks 2, 7 and 9 are identical (same logits, same
    class posteriors): they tie at every pixel, so the first of them must win everywhere."""
    from ovbench.inference.geometry import detectron2_geometry

    rng = np.random.default_rng(seed)
    geo = detectron2_geometry(37, 53, short=96, max_size=160, divisibility=32)
    hm, wm = geo.padded_size[0] // 4, geo.padded_size[1] // 4
    N = 12
    L = rng.normal(-1, 4, size=(N, hm, wm)).astype(np.float32)
    P = rng.dirichlet(np.ones(4) * 0.5, size=N).astype(np.float32)
    L[7] = L[9] = L[2]
    P[7] = P[9] = P[2]
    ids = rng.integers(1, 4, size=(37, 53)).astype(np.int32)
    gt = PanopticMap.from_segments(ids, [SegmentInfo(1, 1), SegmentInfo(2, 2), SegmentInfo(3, 3)])
    return validate_raw_output(RawOutput("dup", L, P, np.array([1, 2, 3]), geo)), gt, geo


def _mask2former_reference(raw, geo, thr, overlap):
    """Mask2Former's panoptic_inference transcribed literally on [Q, H, W] arrays (each kept mask
    resized with resize_masks and sigmoid32, all kept masks in one batch)."""
    from ovbench.inference.resize import resize_masks, sigmoid32
    from ovbench.inference.scores import class_scores

    scores, labels = class_scores(raw.class_probs, prob_eps=1e-8)
    keep = (labels != raw.num_classes) & (scores > thr)
    cur_scores, cur_classes = scores[keep], labels[keep]
    cur_masks = sigmoid32(resize_masks(raw.mask_logits[keep], geo))
    cur_prob_masks = cur_scores[:, None, None] * cur_masks
    H, W = geo.orig_size
    panoptic_seg = np.zeros((H, W), np.int32)
    segments, current_segment_id, stuff_memory = [], 0, {}
    if len(cur_scores) == 0:
        return panoptic_seg, segments
    cur_mask_ids = cur_prob_masks.argmax(0)
    for k in range(len(cur_classes)):
        pred_class = int(cur_classes[k])
        isthing = CATS.isthing[pred_class]
        mask_area = (cur_mask_ids == k).sum()
        original_area = (cur_masks[k] >= 0.5).sum()
        mask = (cur_mask_ids == k) & (cur_masks[k] >= 0.5)
        if mask_area > 0 and original_area > 0 and mask.sum() > 0:
            if mask_area / original_area < overlap:
                continue
            if not isthing:
                if pred_class in stuff_memory:
                    panoptic_seg[mask] = stuff_memory[pred_class]
                    continue
                stuff_memory[pred_class] = current_segment_id + 1
            current_segment_id += 1
            panoptic_seg[mask] = current_segment_id
            segments.append(int(raw.category_ids[pred_class]))
    return panoptic_seg, segments


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_baseline_equals_literal_mask2former_with_tied_duplicate_masks(seed):
    raw, gt, geo = _duplicate_case(seed)
    ctx = ctx_for(raw, gt, thr=0.0)
    assert {2, 7, 9} <= set(ctx.baseline_queries.tolist())  # the duplicates enter the argmax
    ctx.ensure_probs(np.array([9]))  # a different cache layout than the reference's batch
    base = ctx.baseline
    ref_ids, ref_cats = _mask2former_reference(raw, geo, 0.0, 0.8)
    assert np.array_equal(base.pred.ids, ref_ids)
    assert [s.category_id for s in base.pred.segments] == ref_cats
    assert all(7 not in q and 9 not in q for q in base.segment_queries)  # the first duplicate wins every tie


def test_resized_masks_and_matching_costs_do_not_depend_on_the_batch():
    raw, gt, geo = _duplicate_case()
    a = ctx_for(raw, gt)
    b = ctx_for(raw, gt)
    a.ensure_probs(np.array([9]))
    a.ensure_probs(np.arange(12))
    b.ensure_probs(np.array([7, 2, 5]))
    pa, ca, posa = a.columns(np.array([2, 7, 9]))
    pb, cb, posb = b.columns(np.array([2, 7]))
    columns = [pa[:, c] for c in ca] + [pb[:, c] for c in cb]  # the same mask from two caches, 5 columns
    assert all(np.array_equal(columns[0], c) for c in columns[1:])
    assert posa.tolist() == [posb[0]] * 3 == [posb[1]] * 3
    targets = matching_targets(gt, a.gt_labels)
    cfg = MatchingConfig(num_points=200)
    cost = matching_costs(raw, gt, a.gt_labels, cfg, targets)
    assert np.array_equal(cost[2], cost[7]) and np.array_equal(cost[2], cost[9])
    sub = RawOutput("dup", raw.mask_logits[[9, 0, 1]], raw.class_probs[[9, 0, 1]], raw.category_ids, geo)
    assert np.array_equal(matching_costs(sub, gt, a.gt_labels, cfg, targets)[0], cost[2])
