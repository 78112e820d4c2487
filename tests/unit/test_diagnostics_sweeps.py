"""Sweeps: an optimum known by construction, equality with re-running inference at every grid
point (thresholds up and down from the model's, overlap thresholds, ensemble weights), and the
summary's tuned-on-the-evaluation-set best setting."""

import dataclasses

import numpy as np
import pytest

from ovbench.adapters import get_adapter
from ovbench.adapters.ensembles import fcclip_class_probs
from ovbench.data.catalog import get_dataset
from ovbench.data.categories import Category, CategorySet
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.data.synthetic import generate_dataset
from ovbench.diagnostics.sweeps import Sweeps, ensemble_key, table_stats, threshold_key, unpack
from ovbench.inference.mask2former import InferenceConfig, fuse_segments
from ovbench.metrics.matching import match_image
from ovbench.oracles.context import ImageContext, SuiteSettings
from ovbench.oracles.matching import MatchingConfig
from ovbench.raw.record import MaskGeometry, RawOutput, validate_raw_output

# every test runs on the compiled kernels (numba, the fast extra) and on the numpy fallback
pytestmark = pytest.mark.usefixtures("kernel_path")

CATS = CategorySet((Category(1, "A", True), Category(2, "B", False), Category(3, "C", True)))


def settings(t, o=0.8):
    return SuiteSettings(InferenceConfig(t, o, 1e-8), MatchingConfig(num_points=0))


def run_sweeps(raw, gt, cats, t0, o0=0.8, **params):
    ctx = ImageContext(raw, gt, cats, settings(t0, o0))
    matches = {"baseline": match_image(gt, ctx.baseline.pred, cats)}
    sw = Sweeps(**params)
    return sw, sw.evaluate(ctx, {}, matches)


def direct(raw, gt, cats, t, o):
    """Stats of the baseline inference re-run from scratch with these thresholds."""
    ctx = ImageContext(raw, gt, cats, settings(t, o))
    return match_image(gt, ctx.baseline.pred, cats).stats


def direct_overlaps(raw, gt, cats, t, overlaps):
    """{o: stats} of inference re-run with object threshold t: one reference argmax, then the
    reference fusion for each overlap threshold."""
    ctx = ImageContext(raw, gt, cats, settings(t))
    q = ctx.baseline_queries
    if not len(q):
        return {o: direct(raw, gt, cats, t, o) for o in overlaps}
    owner, owner_prob = ctx.baseline_argmax
    _, _, pos = ctx.columns(q)
    labels = ctx.scores_with_void[1][q]
    return {o: match_image(gt, fuse_segments(owner, owner_prob, pos, labels, q, raw.category_ids, ctx.column_isthing, ctx.shape, o).pred,
                           cats).stats for o in overlaps}


def fp_case():
    """GT: A rows 0-3, B rows 4-7. q0: A minus a 2x2 corner (score .9), q1: B (score .7),
    q2: a C blob on that corner (score .35) -> an FP that any object threshold in [.35, .7) removes."""
    ids = np.zeros((8, 8), np.int32)
    ids[:4], ids[4:] = 1, 2
    gt = PanopticMap.from_segments(ids, [SegmentInfo(1, 1), SegmentInfo(2, 2)])
    m0 = np.zeros((8, 8), bool)
    m0[:4] = True
    m0[:2, :2] = False
    m1 = np.zeros((8, 8), bool)
    m1[4:] = True
    m2 = np.zeros((8, 8), bool)
    m2[:2, :2] = True
    L = np.stack([np.where(m, 10.0, -10.0) for m in (m0, m1, m2)]).astype(np.float32)
    P = np.array([[0.9, 0.04, 0.03, 0.03], [0.1, 0.7, 0.1, 0.1], [0.3, 0.05, 0.35, 0.3]], np.float32)
    return validate_raw_output(RawOutput("img", L, P, np.array([1, 2, 3]), MaskGeometry.identity(8, 8))), gt


def test_object_threshold_optimum_known_by_construction():
    raw, gt = fp_case()
    sw, d = run_sweeps(raw, gt, CATS, 0.0, object_mask_threshold=[0.0, 0.2, 0.4, 0.6, 0.8], overlap_threshold=[0.8], ensemble=False)
    st = unpack(d["settings"])
    pq = {k: table_stats(v, 3).compute().pq for k, v in st.items()}
    assert pq[threshold_key(0.0, 0.8)] == pytest.approx((0.875 + 1 + 0) / 3)  # A: IoU 28/32, B: 1, C: FP
    assert pq[threshold_key(0.4, 0.8)] == pytest.approx((0.875 + 1) / 2)  # the FP is gone
    assert pq[threshold_key(0.8, 0.8)] == pytest.approx(0.875 / 2)  # B (score .7) is gone too
    s = sw.summarize(sw.merge(sw.empty(), d), CATS, None)
    best = s["thresholds"]["best"]
    assert (best["object_mask_threshold"], best["overlap_threshold"]) == (0.4, 0.8)  # first of the tied 0.4 / 0.6
    assert best["tuned_on_evaluation_set"] is True and s["tuned_on_evaluation_set"] is True
    assert best["delta_pq"] == pytest.approx(0.9375 - 0.625)
    assert s["thresholds"]["default"]["object_mask_threshold"] == 0.0 and s["baseline_mismatch"] == 0
    rows = sw.rows(sw.merge(sw.empty(), d), CATS, None)
    assert sum(r["is_best_tuned_on_eval"] for r in rows) == 1 and sum(r["is_default"] for r in rows) == 1
    assert {r["sweep"] for r in rows} == {"thresholds"}


@pytest.fixture(scope="module")
def small_images(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweeps")
    generate_dataset(root, 3, seed=5, height=96, width=128, workers=1)
    ds = get_dataset("ade20k_panoptic_val", root=root)
    ad = get_adapter("simulated", seed=2, num_queries=60)
    ad.setup(ds.categories)
    return ds.categories, [(ad.predict(s), s.gt) for s in (ds.sample(i) for i in ds.image_ids())]


@pytest.mark.parametrize("t0, o0", [(0.0, 0.8), (0.45, 0.7)])  # 0.45: thresholds below the model's (extend) too
def test_every_grid_point_equals_rerunning_inference(small_images, t0, o0):
    cats, images = small_images
    T, Ov = [0.0, 0.15, 0.3, 0.6, 0.9], [0.5, 0.8, 0.95]
    for raw, gt in images:
        _, d = run_sweeps(raw, gt, cats, t0, o0, object_mask_threshold=T, overlap_threshold=Ov, ensemble=False)
        st = unpack(d["settings"])
        assert "baseline_mismatch" not in d["counts"]
        assert set(st) == {threshold_key(t, o) for t in T + [t0] for o in Ov + [o0]}
        for t in T + [t0]:
            for o, ref in direct_overlaps(raw, gt, cats, t, Ov + [o0]).items():
                assert table_stats(st[threshold_key(t, o)], len(cats)) == ref, (t, o)


def ensemble_case(seen_cols):
    """The hand image with FC-CLIP-style logits; class_probs made with alpha .4 / beta .8."""
    raw, gt = fp_case()
    rng = np.random.default_rng(0)
    in_v = rng.normal(0, 2, size=(3, 4)).astype(np.float32)
    in_v[:, 3] -= 1.0
    out_v = rng.normal(0, 2, size=(3, 3)).astype(np.float32)
    probs = fcclip_class_probs(in_v, out_v, seen_cols, 0.4, 0.8)
    return dataclasses.replace(raw, class_probs=probs, in_vocab_logits=in_v, out_vocab_logits=out_v), gt


def test_ensemble_sweep_equals_inference_on_recomputed_posteriors(monkeypatch):
    seen = np.array([True, False, True])
    monkeypatch.setattr(Sweeps, "_seen_columns", lambda self, ctx: seen)
    raw, gt = ensemble_case(seen)
    ens = {"alpha": [0.0, 0.4, 1.0], "beta": [0.0, 0.8, 1.0], "grid": "product"}
    sw, d = run_sweeps(raw, gt, CATS, 0.0, object_mask_threshold=[0.0], overlap_threshold=[0.8], ensemble=ens)
    st = unpack(d["settings"])
    assert d["counts"]["ensemble_images"] == [1]
    assert d["counts"][f"reproduces:{ensemble_key(0.4, 0.8)}"] == [1]
    assert st["ens:model"] == st[threshold_key(0.0, 0.8)]
    for a in ens["alpha"]:
        for b in ens["beta"]:
            p = fcclip_class_probs(raw.in_vocab_logits, raw.out_vocab_logits, seen, a, b)
            ref = direct(dataclasses.replace(raw, class_probs=p), gt, CATS, 0.0, 0.8)
            assert table_stats(st[f"ens:{ensemble_key(a, b)}"], 3) == ref, (a, b)
    s = sw.summarize(d, CATS, None)["ensemble"]
    assert s["images"] == 1 and len(s["table"]) == 9 and s["best"]["tuned_on_evaluation_set"] is True
    assert [r["reproduces_model_probs"] for r in s["table"] if r["is_model_default"]] == [1]


def test_ensemble_subsampling_and_missing_logits_are_counted(monkeypatch):
    monkeypatch.setattr(Sweeps, "_seen_columns", lambda self, ctx: np.ones(3, bool))
    raw, gt = fp_case()  # no pre-ensemble logits
    _, d = run_sweeps(raw, gt, CATS, 0.0, object_mask_threshold=[0.0], overlap_threshold=[0.8])
    assert d["counts"]["ensemble_no_logits"] == [1] and not any(k.startswith("ens:") for k in unpack(d["settings"]))
    sw = Sweeps(ensemble={"every": 3})
    picked = [i for i in (f"img{i}" for i in range(300)) if sw.uses_ensemble(i)]
    assert 70 < len(picked) < 130 and picked == [i for i in (f"img{i}" for i in range(300)) if sw.uses_ensemble(i)]
    assert not Sweeps(ensemble=False).uses_ensemble("img0")


def test_bad_parameters_are_config_errors():
    from ovbench.errors import ConfigError

    with pytest.raises(ConfigError):
        Sweeps(ensemble={"alpah": [0.1]})
    with pytest.raises(ConfigError):
        Sweeps(object_mask_threshold=[])


def test_argmax_take_equals_the_reference_argmax():
    from ovbench.diagnostics.fusion import argmax_take
    from ovbench.inference.mask2former import argmax_owner

    rng = np.random.default_rng(3)
    probs = rng.random((70_000, 9)).astype(np.float32)
    probs[:, 4] = probs[:, 2]  # exact ties: the first column must win
    cols = np.array([2, 4, 7, 0])
    scores = np.array([0.5, 0.5, 0.25, 0.75], np.float32)
    a, b = argmax_owner(probs, scores, cols), argmax_take(probs, scores, cols)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_argmax_union_equals_the_reference_argmax_of_the_kept_set():
    from ovbench.diagnostics.fusion import argmax_union
    from ovbench.inference.mask2former import argmax_owner

    rng = np.random.default_rng(4)
    probs = rng.random((50_000, 6)).astype(np.float32)
    probs[:100] = 0.0  # every probability 0: the first KEPT candidate must win, not an excluded one
    union = np.array([1, 3, 4, 6, 8, 9])
    scores = rng.random(10).astype(np.float32)
    kept = np.zeros(10, bool)
    kept[[3, 6, 9]] = True
    own, prob = argmax_union(probs, union, scores, kept)
    w, p = argmax_owner(probs, scores[[3, 6, 9]], np.array([1, 3, 5]))
    assert np.array_equal(own, np.array([3, 6, 9])[w]) and np.array_equal(prob, p)


def test_lowering_the_threshold_breaks_exact_ties_by_query_order():
    """OwnerMap.extend: an added candidate with exactly the owner's value wins iff its index is lower."""
    from ovbench.diagnostics.fusion import OwnerMap, argmax_take

    P = 6
    probs = np.array([[0.5, 0.5, 0.5], [0.9, 0.3, 0.9], [0.2, 0.8, 0.2], [0.0, 0.0, 0.0], [0.6, 0.6, 0.1], [0.25, 1.0, 0.25]], np.float32)
    scores = np.array([0.8, 0.4, 0.8], np.float32)  # 0.8 * 0.5 == 0.4 * 1.0: exact ties
    col = np.arange(3)
    gt = np.zeros(P, dtype=np.int64)
    for start, added in (([2], [0, 2]), ([0], [0, 2]), ([1], [0, 1, 2]), ([2], [1, 2])):
        m = OwnerMap.build(probs, col, scores, gt, 1, np.array(start))
        m.extend(np.array(added))
        w, p = argmax_take(probs, scores[added], np.array(added))
        assert m.own.tolist() == np.array(added)[w].tolist() and np.array_equal(m.prob, p), (start, added)
        ref = OwnerMap.build(probs, col, scores, gt, 1, np.array(added))
        assert np.array_equal(m.area, ref.area) and np.array_equal(m.J, ref.J)


def test_raising_the_threshold_drops_scores_equal_to_it():
    """Mask2Former keeps score > threshold: a candidate whose score equals the new threshold goes."""
    from ovbench.diagnostics.fusion import OwnerMap

    probs = np.array([[0.9, 0.1], [0.8, 0.7], [0.1, 0.9]], np.float32)
    scores = np.array([0.5, 0.75], np.float32)
    gt = np.zeros(3, dtype=np.int64)
    m = OwnerMap.build(probs, np.arange(2), scores, gt, 1, np.array([0, 1]))
    assert m.own.tolist() == [0, 1, 1]
    m.raise_threshold(0.5)
    assert m.kept.tolist() == [1] and m.own.tolist() == [1, 1, 1] and m.area.tolist() == [0, 3]
