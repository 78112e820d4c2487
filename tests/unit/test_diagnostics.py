"""Diagnostics on hand-made images whose counts are known by hand: candidate-pool recall,
discarded valid masks (and why), no-object calibration; the pool IoU definition; exact merges."""

import json

import numpy as np
import pytest

from ovbench.data.categories import Category, CategorySet
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.diagnostics import DIAGNOSTICS
from ovbench.diagnostics.counts import merge_class_tables, merge_keyed
from ovbench.diagnostics.pool import compute_pool_overlaps, pool_overlaps
from ovbench.diagnostics.pool_recall import iou_bin
from ovbench.inference.geometry import detectron2_geometry
from ovbench.inference.mask2former import InferenceConfig
from ovbench.inference.resize import resize_masks
from ovbench.metrics.matching import match_image
from ovbench.oracles.context import ImageContext, SuiteSettings
from ovbench.oracles.matching import MatchingConfig
from ovbench.raw.record import MaskGeometry, RawOutput, validate_raw_output

# every test runs on the compiled kernels (numba, the fast extra) and on the numpy fallback
pytestmark = pytest.mark.usefixtures("kernel_path")

CATS = CategorySet((Category(1, "A", True), Category(2, "B", False), Category(3, "C", True)))


def gt_two_halves() -> PanopticMap:
    """A (thing) on rows 0-3, B (stuff) on rows 4-7 of an 8x8 image."""
    ids = np.zeros((8, 8), np.int32)
    ids[:4], ids[4:] = 1, 2
    return PanopticMap.from_segments(ids, [SegmentInfo(1, 1), SegmentInfo(2, 2)])


def make_raw(masks: list[np.ndarray], probs: list[list[float]]) -> RawOutput:
    """Candidates with logits +10 inside their [8, 8] bool mask and -10 outside."""
    L = np.stack([np.where(m, 10.0, -10.0) for m in masks]).astype(np.float32)
    return validate_raw_output(RawOutput("img", L, np.array(probs, np.float32), np.array([1, 2, 3]), MaskGeometry.identity(8, 8)))


def rows(r0: int, r1: int, c0: int = 0, c1: int = 8) -> np.ndarray:
    m = np.zeros((8, 8), bool)
    m[r0:r1, c0:c1] = True
    return m


def evaluate(raw, gt, names=("pool_recall", "calibration"), thr=0.0, overlap=0.8, **params):
    ctx = ImageContext(raw, gt, CATS, SuiteSettings(InferenceConfig(thr, overlap, 1e-8), MatchingConfig(num_points=0)))
    base = ctx.baseline
    matches = {"baseline": match_image(gt, base.pred, CATS)}
    out = {n: DIAGNOSTICS.get(n)(**params.get(n, {})).evaluate(ctx, {"baseline": base}, matches) for n in names}
    return ctx, matches, out


def class_counts(d, field):
    t = d["classes"]
    return {k: v for k, v in zip(t["idx"], t[field]) if v} if field in t else {}


def void_case():
    """q0: exactly A, but no-object argmax (p_void .6)     -> valid mask discarded as no-object
    q1: exactly B, class B                                  -> TP
    q2: a C blob on A's rows 0-1, cols 0-1, p_void .3      -> FP (IoU with A = 4/32)
    q3: empty mask, p_void .95                              -> nothing"""
    masks = [rows(0, 4), rows(4, 8), rows(0, 2, 0, 2), np.zeros((8, 8), bool)]
    probs = [[0.3, 0.05, 0.05, 0.6], [0.05, 0.8, 0.05, 0.1], [0.1, 0.1, 0.5, 0.3], [0.02, 0.02, 0.01, 0.95]]
    return make_raw(masks, probs), gt_two_halves()


def test_pool_recall_counts_a_valid_mask_discarded_as_no_object():
    raw, gt = void_case()
    _, m, out = evaluate(raw, gt)
    d = out["pool_recall"]
    assert m["baseline"].stats.tp.tolist() == [0, 1, 0]  # A missed, B found
    # per class (dense index 0 = A, 1 = B) by hand
    assert class_counts(d, "n") == {0: 1, 1: 1}
    assert class_counts(d, "pool_valid") == {0: 1, 1: 1}
    assert class_counts(d, "out_valid") == {1: 1}
    assert class_counts(d, "tp") == {1: 1}
    assert class_counts(d, "discarded") == {0: 1}
    assert class_counts(d, "discarded_void") == {0: 1}
    assert class_counts(d, "discarded_threshold") == {} and class_counts(d, "discarded_fusion") == {}
    assert class_counts(d, "valid_not_tp") == {0: 1}
    # best IoUs in 1e-6 units: pool A = 1, B = 1; output A = q2's 4/32, B = 1
    assert class_counts(d, "pool_iou_u") == {0: 1_000_000, 1: 1_000_000}
    assert class_counts(d, "out_iou_u") == {0: 125_000, 1: 1_000_000}
    assert d["iou_hist"] == {"9": [0, 1, 0, 0, 0, 0, 0, 0, 0, 1]}  # pool bin (0.9, 1]; output bins (0.1, 0.2] and (0.9, 1]

    diag = DIAGNOSTICS.get("pool_recall")()
    s = diag.summarize(diag.merge(diag.empty(), d), CATS, None)
    a = s["groups"]["all"]
    assert (a["pool_recall"], a["output_recall"], a["discarded_rate"], a["discarded_share_of_valid"]) == (1.0, 0.5, 0.5, 0.5)
    assert a["discarded_void_share"] == 1.0 and a["mean_output_iou"] == pytest.approx((0.125 + 1) / 2)
    assert set(s["groups"]) == {"all", "things", "stuff"}  # no taxonomy views: no seen / conflict groups
    assert s["groups"]["things"]["discarded"] == 1 and s["groups"]["stuff"]["discarded"] == 0
    assert [r["name"] for r in s["per_class"]] == ["A", "B"]


def test_discarded_reasons_threshold_and_fusion():
    # threshold: q0 classifies A (score .55) but the object threshold is .6; q1 (B, .8) passes
    masks = [rows(0, 4), rows(4, 8)]
    raw = make_raw(masks, [[0.55, 0.05, 0.05, 0.35], [0.05, 0.8, 0.05, 0.1]])
    _, _, out = evaluate(raw, gt_two_halves(), thr=0.6)
    assert class_counts(out["pool_recall"], "discarded_threshold") == {0: 1}
    assert class_counts(out["pool_recall"], "discarded") == {0: 1}
    # fusion: q0 (A, .6) is kept, but a C candidate of higher score takes rows 0-1, so q0 owns
    # rows 2-3 only: 16 / 32 < overlap .8 -> dropped; C's segment has IoU 16/32 = .5 (not > .5)
    masks = [rows(0, 4), rows(4, 8), rows(0, 2)]
    raw = make_raw(masks, [[0.6, 0.1, 0.1, 0.2], [0.05, 0.8, 0.05, 0.1], [0.02, 0.02, 0.9, 0.06]])
    _, m, out = evaluate(raw, gt_two_halves())
    assert class_counts(out["pool_recall"], "discarded_fusion") == {0: 1}
    assert class_counts(out["pool_recall"], "out_valid") == {1: 1}


def test_a_valid_mask_output_with_the_wrong_class_is_not_discarded():
    # q0 is exactly A but classified C: its segment covers A (IoU 1), so A is not discarded, only not a TP
    raw = make_raw([rows(0, 4), rows(4, 8)], [[0.1, 0.05, 0.8, 0.05], [0.05, 0.8, 0.05, 0.1]])
    _, m, out = evaluate(raw, gt_two_halves())
    d = out["pool_recall"]
    assert class_counts(d, "out_valid") == {0: 1, 1: 1} and class_counts(d, "tp") == {1: 1}
    assert class_counts(d, "discarded") == {} and class_counts(d, "valid_not_tp") == {0: 1}


def test_calibration_counts_by_hand():
    raw, gt = void_case()
    _, _, out = evaluate(raw, gt, calibration={"bins": 10})
    d = out["calibration"]
    # p_void .6 (q0, matched A, best, void argmax), .1 (q1, matched B, best), .3 (q2, unmatched), .95 (q3, unmatched)
    bins = {int(k): v for k, v in d["bins"].items()}
    assert bins[6][:3] == [0, 1, 1] and bins[1][:3] == [0, 1, 1] and bins[3][:3] == [1, 0, 0] and bins[9][:3] == [1, 0, 0]
    assert class_counts(d, "matched") == {0: 1, 1: 1}
    assert class_counts(d, "matched_void") == {0: 1} and class_counts(d, "matched_dropped") == {0: 1}
    assert class_counts(d, "best_void") == {0: 1}
    assert d["candidates"] == [4, 2]  # q0 and q3 have a no-object argmax
    diag = DIAGNOSTICS.get("calibration")(bins=10)
    s = diag.summarize(d, CATS, None)
    o = s["overall"]
    assert (o["candidates"], o["matched"], o["unmatched"]) == (4, 2, 2)
    assert o["ece"] == pytest.approx((0.1 + 0.7 + 0.6 + 0.05) / 4, abs=1e-6)
    assert o["brier"] == pytest.approx((0.36 + 0.01 + 0.49 + 0.0025) / 4, abs=1e-6)
    assert o["mean_p_void_matched"] == pytest.approx(0.35, abs=1e-6)
    by_name = {r["name"]: r for r in s["per_class"]}
    assert by_name["A"]["matched_void_share"] == 1.0 and by_name["B"]["matched_void_share"] == 0.0
    rel = {r["bin"]: r for r in s["reliability"]}
    assert rel[3]["unmatched_freq"] == 1.0 and rel[1]["unmatched_freq"] == 0.0 and rel[0]["n"] == 0 and rel[0]["mean_p_void"] is None
    assert s["histogram"]["matched"] == [0, 1, 0, 0, 0, 0, 1, 0, 0, 0]


def test_calibration_separates_no_object_argmax_from_the_object_threshold():
    # q0 classifies A with score .55 below the object threshold .6: dropped, but not a no-object argmax
    raw = make_raw([rows(0, 4), rows(4, 8)], [[0.55, 0.05, 0.05, 0.35], [0.05, 0.8, 0.05, 0.1]])
    _, _, out = evaluate(raw, gt_two_halves(), thr=0.6)
    d = out["calibration"]
    assert class_counts(d, "matched_dropped") == {0: 1} and class_counts(d, "matched_void") == {}
    assert class_counts(d, "best_dropped") == {0: 1} and class_counts(d, "best_void") == {}


def test_pool_iou_uses_panopticapis_union_and_skips_crowd():
    ids = np.zeros((8, 8), np.int32)
    ids[:4], ids[4:6] = 1, 2  # rows 6-7 VOID
    gt = PanopticMap.from_segments(ids, [SegmentInfo(1, 1), SegmentInfo(2, 2, iscrowd=True)])
    # candidate: rows 2-7 = 16 px of A + 16 px of the crowd + 16 px of VOID
    L = np.where(rows(2, 8), 5.0, -5.0)[None].astype(np.float32)
    po = compute_pool_overlaps(L, MaskGeometry.identity(8, 8), _labels(gt), np.array([32, 16]), np.array([False, True]))
    assert po.area.tolist() == [48] and po.void.tolist() == [16] and po.inter.tolist() == [[16, 16]]
    # union = 48 + 32 - 16 - 16 (VOID) = 48 -> 1/3; the crowd column is not a target
    assert po.iou[0].tolist() == [pytest.approx(1 / 3), 0.0]


def _labels(gt):
    from ovbench.data.panoptic_format import compact_labels

    return compact_labels(gt.ids, gt.segment_ids(), what="t")


@pytest.mark.parametrize("orig, seed", [((37, 53), 0), ((120, 90), 1), ((64, 64), 2)])
def test_pool_masks_equal_the_full_resize_binarised(orig, seed):
    """The cropped resize gives exactly the positive pixels (sigmoid >= 0.5) of resizing the whole
    mask, as the oracles do: same per-mask operations, so no tolerance near 0."""
    from ovbench.inference.resize import positive

    rng = np.random.default_rng(seed)
    geo = detectron2_geometry(*orig, short=96, max_size=160, divisibility=32)
    hm, wm = geo.padded_size[0] // 4, geo.padded_size[1] // 4
    L = rng.normal(-3, 2, size=(12, hm, wm)).astype(np.float32)
    L[0] = -1.0  # empty
    L[1, 3:6, 2:9] = 4.0  # a blob
    L[2] = -1e-6  # just below 0 everywhere: sigmoid < 0.5
    L[3] = -1e-9  # sigmoid rounds to 0.5: positive everywhere
    L[4, 2:4, 3:5] = 0.0  # exactly 0 on a few cells: their pixels are positive
    labels = rng.integers(0, 4, size=orig[0] * orig[1])
    po = compute_pool_overlaps(L, geo, labels, np.array([10**6] * 3), np.zeros(3, bool))
    full = resize_masks(L, geo)
    for k in range(len(L)):
        pos = positive(full[k]).reshape(-1)
        ref = np.bincount(labels[pos], minlength=4)
        assert po.inter[k].tolist() == ref[1:].tolist() and po.void[k] == ref[0] and po.area[k] == pos.sum(), k
    assert po.area[0] == 0 and po.area[1] > 0 and po.area[2] == 0 and po.area[3] == orig[0] * orig[1]


def test_pool_is_computed_once_per_image_and_shared():
    raw, gt = void_case()
    ctx, _, _ = evaluate(raw, gt)
    assert pool_overlaps(ctx) is pool_overlaps(ctx)


def test_iou_bins_split_exactly_at_one_half():
    assert iou_bin(np.array([0.0, 0.05, 0.1, 0.5, np.nextafter(0.5, 1), 1.0])).tolist() == [0, 0, 0, 4, 5, 9]


def _random_images(n=4):
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        gt = gt_two_halves()
        masks = [rng.random((8, 8)) < 0.5 for _ in range(5)] + [rows(0, 4), rows(4, 8)]
        p = rng.dirichlet(np.ones(4), size=len(masks))
        raw = make_raw(masks, p.tolist())
        out.append((raw, gt))
    return out


@pytest.mark.parametrize("name", ["pool_recall", "calibration", "sweeps"])
def test_merge_is_exact_associative_and_survives_json(name):
    per = []
    for raw, gt in _random_images():
        _, _, out = evaluate(raw, gt, names=(name,), sweeps={"ensemble": False, "object_mask_threshold": [0.0, 0.3, 0.5]})
        per.append(json.loads(json.dumps(out[name])))  # shards are JSON
    d = DIAGNOSTICS.get(name)()
    a, b, c, e = per
    left = d.merge(d.merge(d.merge(a, b), c), e)
    right = d.merge(a, d.merge(b, d.merge(c, e)))
    shuffled = d.merge(d.merge(e, c), d.merge(b, a))
    assert left == right == shuffled
    assert d.merge(d.empty(), left) == left == d.merge(left, d.empty())
    assert json.loads(json.dumps(left)) == left


def test_count_tables_merge_exactly():
    a = {"idx": [0, 3], "x": [1, 2]}
    b = {"idx": [3, 5], "x": [4, 1], "y": [0, 7]}
    assert merge_class_tables(a, b) == {"idx": [0, 3, 5], "x": [1, 6, 1], "y": [0, 0, 7]}
    assert merge_keyed({"1": [1, 2]}, {"1": [3, 4], "0": [1, 1]}) == {"0": [1, 1], "1": [4, 6]}
    big = 2**80  # exact beyond int64
    assert merge_class_tables({"idx": [1], "x": [big]}, {"idx": [1], "x": [1]})["x"] == [big + 1]
