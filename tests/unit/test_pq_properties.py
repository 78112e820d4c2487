"""Property tests of the PQ machinery (hypothesis): a naive per-pixel reference, invariances,
exact sharded accumulation, ranges, and the run-length joint histograms against np.unique."""

from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ovbench.data.categories import Category, CategorySet
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo, id2rgb
from ovbench.metrics.accumulator import PQStats
from ovbench.metrics.histogram import joint_histogram, joint_histogram_rgb
from ovbench.metrics.matching import match_image

CATS = CategorySet((Category(1, "a", True), Category(2, "b", True), Category(3, "c", True),
                    Category(7, "s", False), Category(8, "t", False)))
CAT_IDS = [1, 2, 3, 7, 8]
# ids exercising all three bytes of the RGB encoding
ID_POOL = [1, 2, 255, 256, 257, 65535, 65536, 65793, 16777215, 1234567]


@st.composite
def panoptic_pair(draw, crowd=True, zero_pixel_gt=True, pred_void=True):
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    n_gt = draw(st.integers(0, 6))
    gt_ids = draw(st.lists(st.sampled_from(ID_POOL), min_size=n_gt, max_size=n_gt, unique=True))
    gt_pix = draw(st.lists(st.sampled_from([0] + gt_ids), min_size=h * w, max_size=h * w))
    gt_map = np.array(gt_pix, dtype=np.int32).reshape(h, w)
    present = set(np.unique(gt_map).tolist()) - {0}
    segs = []
    for sid in gt_ids:
        count = int((gt_map == sid).sum())
        if count == 0 and not zero_pixel_gt:
            continue
        extra = draw(st.integers(0, 3)) if zero_pixel_gt else 0  # ADE20K: JSON area >= PNG count
        segs.append(SegmentInfo(sid, draw(st.sampled_from(CAT_IDS)), crowd and draw(st.booleans()), count + extra))
    assert present <= {s.id for s in segs}
    gt = PanopticMap(gt_map, tuple(segs))
    n_pred = draw(st.integers(0, 6))
    pred_ids = draw(st.lists(st.sampled_from(ID_POOL), min_size=n_pred, max_size=n_pred, unique=True))
    choices = pred_ids + ([0] if pred_void or not pred_ids else [])
    pred_pix = draw(st.lists(st.sampled_from(choices), min_size=h * w, max_size=h * w))
    pred_map = np.array(pred_pix, dtype=np.int32).reshape(h, w)
    used = [i for i in pred_ids if (pred_map == i).any()]
    pred = PanopticMap.from_segments(pred_map, [SegmentInfo(i, draw(st.sampled_from(CAT_IDS))) for i in used])
    return gt, pred


def naive_stats(gt: PanopticMap, pred: PanopticMap) -> tuple[dict, dict, dict, dict]:
    """Per-pixel reference written from the textual rules (docs/pq-semantics.md), with dicts."""
    inter = defaultdict(int)
    for g, p in zip(gt.ids.reshape(-1).tolist(), pred.ids.reshape(-1).tolist()):
        inter[(g, p)] += 1
    gseg = {s.id: s for s in gt.segments}
    pseg = {s.id: s for s in pred.segments}
    parea = {pid: sum(v for (g, p), v in inter.items() if p == pid) for pid in pseg}
    tp, fp, fn, iou = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(float)
    gm, pmatched = set(), set()
    for (g, p), v in inter.items():
        if g not in gseg or p not in pseg or gseg[g].iscrowd or gseg[g].category_id != pseg[p].category_id:
            continue
        union = parea[p] + gseg[g].area - v - inter.get((0, p), 0)
        if v / union > 0.5:
            c = gseg[g].category_id
            tp[c] += 1
            iou[c] += v / union
            gm.add(g)
            pmatched.add(p)
    crowd_of = {}
    for s in gt.segments:
        if s.iscrowd:
            crowd_of[s.category_id] = s.id
        elif s.id not in gm:
            fn[s.category_id] += 1
    for s in pred.segments:
        if s.id in pmatched:
            continue
        ign = inter.get((0, s.id), 0)
        if s.category_id in crowd_of:
            ign += inter.get((crowd_of[s.category_id], s.id), 0)
        if not ign / parea[s.id] > 0.5:
            fp[s.category_id] += 1
    return tp, fp, fn, iou


@settings(max_examples=300, deadline=None)
@given(panoptic_pair())
def test_matches_naive_reference(pair):
    gt, pred = pair
    m = match_image(gt, pred, CATS)
    tp, fp, fn, iou = naive_stats(gt, pred)
    for k, c in enumerate(CAT_IDS):
        assert m.stats.tp[k] == tp[c] and m.stats.fp[k] == fp[c] and m.stats.fn[k] == fn[c]
        assert abs(m.stats.iou_sum[k] - iou[c]) <= 1e-12


@settings(max_examples=200, deadline=None)
@given(panoptic_pair(crowd=False, zero_pixel_gt=False))
def test_ground_truth_against_itself_is_perfect(pair):
    gt, _ = pair
    pred = PanopticMap.from_segments(gt.ids, gt.segments)
    r = match_image(gt, pred, CATS).stats.compute()
    if gt.segments:
        assert (r.pq, r.sq, r.rq) == (1.0, 1.0, 1.0)
        assert r.n == len({s.category_id for s in gt.segments})
    else:
        assert r.n == 0


@settings(max_examples=200, deadline=None)
@given(panoptic_pair(), st.randoms(use_true_random=False))
def test_invariant_under_relabelling_segment_ids(pair, rnd):
    gt, pred = pair

    def relabel(m: PanopticMap) -> PanopticMap:
        new = rnd.sample(range(1, 2**24), len(m.segments))
        lut = {s.id: n for s, n in zip(m.segments, new)}
        ids = np.vectorize(lambda v: lut.get(v, 0), otypes=[np.int32])(m.ids) if m.ids.size else m.ids
        return PanopticMap(ids, tuple(SegmentInfo(lut[s.id], s.category_id, s.iscrowd, s.area) for s in m.segments))

    a = match_image(gt, pred, CATS).stats
    b = match_image(relabel(gt), relabel(pred), CATS).stats
    assert a == b


@settings(max_examples=100, deadline=None)
@given(st.lists(panoptic_pair(), min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_sharded_accumulation_is_bit_identical_in_any_order(pairs, rnd):
    per_image = [match_image(g, p, CATS).stats for g, p in pairs]
    one_pass = PQStats.zeros(len(CATS))
    for s in per_image:
        one_pass += s
    shuffled = per_image[:]
    rnd.shuffle(shuffled)
    cut = rnd.randint(0, len(shuffled))
    merged = PQStats.sum(shuffled[cut:], len(CATS)) + PQStats.sum(shuffled[:cut], len(CATS))
    assert merged == one_pass
    assert np.array_equal(merged.iou_sum, one_pass.iou_sum)
    for subset in (None, CATS.isthing, ~CATS.isthing):
        a, b = merged.compute(subset), one_pass.compute(subset)
        assert (a.pq, a.sq, a.rq, a.n) == (b.pq, b.sq, b.rq, b.n) or a.n == b.n == 0
    assert PQStats.from_json(merged.to_json()) == merged


@settings(max_examples=200, deadline=None)
@given(panoptic_pair())
def test_pq_sq_rq_ranges(pair):
    gt, pred = pair
    s = match_image(gt, pred, CATS).stats
    pc = s.per_class()
    assert ((pc["pq"] >= 0) & (pc["pq"] <= 1)).all()
    assert ((pc["rq"] >= 0) & (pc["rq"] <= 1)).all()
    has_tp = s.tp > 0
    assert ((pc["sq"][has_tp] > 0.5) & (pc["sq"][has_tp] <= 1)).all()
    assert (pc["pq"] <= pc["sq"] + 1e-15).all() and (pc["pq"] <= pc["rq"] + 1e-15).all()


def naive_joint(g, p, gids, pids):
    gl = {v: i + 1 for i, v in enumerate(gids)}
    pl = {v: i + 1 for i, v in enumerate(pids)}
    out = np.zeros((len(gids) + 1, len(pids) + 1), dtype=np.int64)
    for a, b in zip(g.reshape(-1).tolist(), p.reshape(-1).tolist()):
        out[0 if a == 0 else gl[a], 0 if b == 0 else pl[b]] += 1
    return out


@settings(max_examples=200, deadline=None)
@given(panoptic_pair())
def test_joint_histograms_equal_naive_count(pair):
    gt, pred = pair
    gids, pids = gt.segment_ids(), pred.segment_ids()
    ref = naive_joint(gt.ids, pred.ids, gids.tolist(), pids.tolist())
    assert np.array_equal(joint_histogram(gt.ids, pred.ids, gids, pids).counts, ref)
    assert np.array_equal(joint_histogram_rgb(id2rgb(gt.ids), id2rgb(pred.ids), gids, pids).counts, ref)


def test_joint_histogram_on_noise_and_unlisted_ids():
    rng = np.random.default_rng(0)
    g = rng.choice(np.array(ID_POOL), size=(37, 53)).astype(np.int32)
    p = rng.choice(np.array([0] + ID_POOL[:4]), size=(37, 53)).astype(np.int32)
    gids, pids = np.array(ID_POOL[:-1]), np.array(ID_POOL[:4])
    for jh in (joint_histogram(g, p, gids, pids), joint_histogram_rgb(id2rgb(g), id2rgb(p), gids, pids)):
        assert jh.gt_unlisted == (ID_POOL[-1],) and jh.pred_unlisted == ()
        keep = g != ID_POOL[-1]
        assert jh.counts.sum() == keep.sum()
