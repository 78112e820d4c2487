"""The compiled sweep kernels give exactly the numpy path's counts, on inputs built to hit
their edge cases: exact zeros and repeated probabilities (argmax ties), scores equal to a
threshold (float32 comparison), settings that keep nothing, and pixel counts that are not a
multiple of the kernel's block."""

from __future__ import annotations

import numpy as np
import pytest

from ovbench.diagnostics import fusion
from ovbench.inference import kernels

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="needs numba (the fast extra)")


def _case(seed: int, P: int = 3001, N: int = 23, G1: int = 7):
    rng = np.random.default_rng(seed)
    probs = rng.choice(np.array([0.0, 0.25, 0.5, 0.5, 0.75, 1.0], dtype=np.float32), size=(P, N))
    probs[rng.random((P, N)) < 0.3] = np.float32(0.3)  # more ties
    probs = np.ascontiguousarray(probs, dtype=np.float32)
    col = np.arange(N, dtype=np.int64)
    gt = rng.integers(0, G1, size=P).astype(np.int64)
    scores = rng.choice(np.array([0.2, 0.4, 0.5, 0.8, 1.0], dtype=np.float32), size=N).astype(np.float32)
    return probs, col, gt, G1, scores, rng


def _without_numba(monkeypatch, fn):
    with monkeypatch.context() as m:
        m.setattr(kernels, "HAVE_NUMBA", False)
        return fn()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multi_setting_counts_equal_one_argmax_per_setting(monkeypatch, seed):
    probs, col, gt, G1, _, rng = _case(seed)
    N = len(col)
    settings = []
    for _ in range(6):
        s = rng.choice(np.array([0.1, 0.3, 0.3, 0.6, 0.9], dtype=np.float32), size=N).astype(np.float32)
        kept = np.sort(rng.choice(N, size=int(rng.integers(1, N)), replace=False)).astype(np.int64)
        settings.append((s, kept))
    settings.append((settings[0][0], np.zeros(0, dtype=np.int64)))  # keeps nothing
    fast = fusion.settings_counts(probs, col, gt, G1, settings)
    slow = _without_numba(monkeypatch, lambda: fusion.settings_counts(probs, col, gt, G1, settings))
    for a, b in zip(fast, slow):
        assert (a.J == b.J).all() and (a.area == b.area).all() and (a.kept == b.kept).all()
    assert fast[-1].J.sum() == 0 and fast[0].area.sum() == len(gt)


@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_threshold_raise_and_build_equal_numpy(monkeypatch, seed):
    probs, col, gt, G1, scores, _ = _case(seed)
    kept = np.arange(len(col), dtype=np.int64)

    def run():
        m = fusion.OwnerMap.build(probs, col, scores, gt, G1, kept)
        out = [(m.J.copy(), m.area.copy(), m.own.copy(), m.prob.copy())]
        for t in (0.2, 0.4, 0.5, 0.8):  # 0.2, 0.4, 0.5, 0.8 are also scores: "score > t" in float32
            m.raise_threshold(t)
            out.append((m.J.copy(), m.area.copy(), m.own.copy(), m.prob.copy()))
        return out

    fast = run()
    slow = _without_numba(monkeypatch, run)
    for a, b in zip(fast, slow):
        for x, y in zip(a, b):
            assert (x == y).all()
