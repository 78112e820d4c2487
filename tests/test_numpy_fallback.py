"""Without numba (the `fast` extra), the numpy / pyspng / Pillow paths must give the same results.

The kernel tests themselves run on both paths in this process: the `kernel_path` fixture of
tests/conftest.py parametrises test_oracles, test_diagnostics, test_diagnostics_sweeps,
test_pq_eval and test_pq_references (and test_bad_inputs' `decoder` fixture has a numpy-only
case). This file checks that the switch is real: OVBENCH_NO_NUMBA=1 disables the kernels at
import, and with the kernels disabled in-process no compiled function is ever called.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest


def test_the_environment_variable_disables_the_kernels_at_import():
    env = dict(os.environ, OVBENCH_NO_NUMBA="1")
    code = ("from ovbench.inference import kernels; from ovbench.diagnostics import kernels as d; "
            "from ovbench.data import png_fast; from ovbench.metrics import histogram_png as h; "
            "assert not kernels.HAVE_NUMBA and not d.HAVE_NUMBA and not png_fast.HAVE_FAST_PNG and not h.HAVE_FAST_PNG")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def _compiled_functions():  # type: ignore[no-untyped-def]
    from ovbench.data import png_kernels
    from ovbench.diagnostics import kernels as diag_kernels
    from ovbench.inference import kernels as inf_kernels

    for mod in (inf_kernels, diag_kernels, png_kernels):
        for name, obj in vars(mod).items():
            if type(obj).__name__.endswith("Dispatcher"):  # numba's CPUDispatcher
                yield mod, name


def test_with_the_kernels_disabled_no_compiled_function_runs(tmp_path, monkeypatch, disable_kernels):
    from ovbench.inference import kernels

    if not kernels.HAVE_NUMBA:
        pytest.skip("numba not installed or disabled: there are no compiled kernels to keep out")
    from ovbench.data.synthetic import generate_dataset, generate_predictions
    from ovbench.diagnostics import fusion
    from ovbench.inference.mask2former import argmax_owner
    from ovbench.metrics.pq_eval import evaluate

    found = list(_compiled_functions())
    assert len(found) >= 5, found  # the kernel modules hold numba functions to guard

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a compiled kernel ran with the kernels disabled")

    gt_json = generate_dataset(tmp_path / "d", 3, 0, height=40, width=56, write_images=False, workers=1)
    pred_json = generate_predictions(gt_json, tmp_path / "pred.json", seed=1, workers=1)
    ref = evaluate(gt_json, pred_json, workers=1)  # compiled paths
    disable_kernels()
    for mod, name in found:
        monkeypatch.setattr(mod, name, refuse)
    for workers in (1, 2):
        ev = evaluate(gt_json, pred_json, workers=workers, chunk_size=1)
        assert ev.stats == ref.stats and ev.semantic == ref.semantic
    rng = np.random.default_rng(0)
    probs = rng.random((500, 6)).astype(np.float32)
    scores = rng.random(6).astype(np.float32)
    argmax_owner(probs, scores)
    gt = rng.integers(0, 3, size=500).astype(np.int64)
    fusion.settings_counts(probs, np.arange(6, dtype=np.int64), gt, 3, [(scores, np.arange(6, dtype=np.int64))])
