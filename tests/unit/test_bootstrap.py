"""Seeded per-image bootstrap CIs for PQ."""

from __future__ import annotations

import numpy as np
import pytest

from ovbench.data.categories import Category, CategorySet
from ovbench.metrics.accumulator import IOU_SCALE, PQStats
from ovbench.metrics.bootstrap import PerImageCounts, bootstrap_ci, bootstrap_cis, bootstrap_pq, pq_from_sums
from ovbench.results.assemble import split_masks, summarize_with_ci


def fake(n_images: int, K: int = 6, seed: int = 0) -> list[PQStats]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_images):
        s = PQStats.zeros(K)
        for k in range(K):
            g = int(rng.poisson(1.0))
            tp = int(rng.binomial(g, 0.3 + 0.1 * k))
            s.tp[k], s.fn[k], s.fp[k] = tp, g - tp, int(rng.poisson(0.4))
            s.iou_q[k] = sum(int(u * IOU_SCALE) for u in rng.uniform(0.55, 0.95, size=tp))
        out.append(s)
    return out


def test_fixed_seed_is_reproducible_and_seed_matters():
    imgs = fake(50)
    a = bootstrap_ci(imgs, n_boot=300, seed=3)
    assert a == bootstrap_ci(imgs, n_boot=300, seed=3)
    assert a != bootstrap_ci(imgs, n_boot=300, seed=4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interval_contains_point_estimate(seed):
    imgs = fake(80, seed=seed)
    total = PQStats.sum(imgs, 6)
    for subset in (None, np.array([1, 1, 1, 0, 0, 0], bool), np.array([0, 0, 0, 1, 1, 1], bool)):
        lo, hi = bootstrap_ci(imgs, subset, n_boot=500, seed=seed)
        pq = total.compute(subset).pq
        assert 0 <= lo <= pq <= hi <= 1


def test_width_shrinks_with_more_images():
    widths = []
    for n in (20, 80, 320):
        lo, hi = bootstrap_ci(fake(n, seed=5), n_boot=400, seed=0)
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < 0.6 * widths[0]


def test_vectorised_sums_match_a_naive_loop():
    imgs = fake(15)
    counts = PerImageCounts.from_stats(imgs)
    rng = np.random.default_rng(11)
    samples = bootstrap_pq(counts, {"all": None}, n_boot=20, seed=11)["all"]
    for b in range(20):
        idx = rng.integers(0, 15, size=15)
        st = PQStats.sum([imgs[i] for i in idx], 6)
        assert samples[b] == pytest.approx(st.compute().pq, abs=1e-12)


def test_chunking_gives_identical_samples(monkeypatch):
    import ovbench.metrics.bootstrap as bs

    imgs = fake(30)
    whole = bootstrap_pq(imgs, {"all": None}, n_boot=50, seed=1)["all"]
    monkeypatch.setattr(bs, "CHUNK_ELEMENTS", 30 * 7)  # 7 samples per chunk
    chunked = bootstrap_pq(imgs, {"all": None}, n_boot=50, seed=1)["all"]
    # one generator stream drawn chunk by chunk: the same draws in the same order (integers: exact)
    rng_whole, rng_chunked = np.random.default_rng(1), np.random.default_rng(1)
    draws = bs.multiplicities(30, 50, rng_whole)
    parts = [bs.multiplicities(30, b, rng_chunked) for b in (7,) * 7 + (1,)]
    np.testing.assert_array_equal(draws, np.concatenate(parts))
    # the sums are one float64 matrix product per chunk (BLAS): its summation order depends on the
    # block shape and the CPU's SIMD width, so the PQs agree to rounding, not bit for bit (another
    # CPU gave 2 of 50 samples 5.55e-17 apart); 1e-12 is far below any CI's resolution
    np.testing.assert_allclose(whole, chunked, rtol=0, atol=1e-12)
    assert not np.allclose(whole[1:], whole[:-1])  # the samples differ from each other


def test_empty_subset_gives_none_and_sums_helper():
    imgs = fake(10, K=3)
    for s in imgs:
        s.tp[2] = s.fp[2] = s.fn[2] = 0
        s.iou_q[2] = 0
    assert bootstrap_ci(imgs, np.array([0, 0, 1], bool), n_boot=50) is None
    assert np.isnan(pq_from_sums(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3)))


def test_from_rows_matches_from_stats():
    imgs = fake(8, K=3)
    rows = [{"image_id": f"im{i}", "category_id": 10 + k, "tp": int(s.tp[k]), "fp": int(s.fp[k]), "fn": int(s.fn[k]),
             "iou_sum": float(s.iou_sum[k])} for i, s in enumerate(imgs) for k in range(3) if s.tp[k] + s.fp[k] + s.fn[k]]
    a = PerImageCounts.from_rows(rows, [f"im{i}" for i in range(8)], [10, 11, 12])
    b = PerImageCounts.from_stats(imgs)
    for f in ("tp", "fp", "fn", "iou_sum"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def test_summarize_with_ci_adds_intervals_per_split():
    cats = CategorySet(tuple(Category(i, f"c{i}", i % 2 == 0) for i in range(6)))
    imgs = fake(40)
    out = summarize_with_ci(PQStats.sum(imgs, 6), imgs, split_masks(cats, [0, 1, 2]), n_boot=100, seed=0)
    assert set(out) == {"all", "things", "stuff", "seen", "unseen"}
    for st in out.values():
        lo, hi = st["pq_ci95"]
        assert lo <= st["pq"] <= hi
    cis = bootstrap_cis(imgs, split_masks(cats, [0, 1, 2]), n_boot=100, seed=0)
    assert cis["all"] == tuple(out["all"]["pq_ci95"])


def test_bad_inputs():
    with pytest.raises(ValueError, match="shape"):
        bootstrap_ci(fake(5), np.ones(4, bool))
    with pytest.raises(ValueError, match="no per-image"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci(fake(5), n_boot=0)
