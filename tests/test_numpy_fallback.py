"""Without numba (the `fast` extra), the numpy / pyspng / Pillow paths must give the same results:
rerun the oracle, sweep and PQ tests in a subprocess with the kernels disabled."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_oracle_and_sweep_tests_pass_with_the_kernels_disabled():
    env = dict(os.environ, OVBENCH_NO_NUMBA="1")
    code = ("from ovbench.inference import kernels; from ovbench.data import png_fast; "
            "assert not kernels.HAVE_NUMBA and not png_fast.HAVE_FAST_PNG")
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
    tests = ["tests/unit/test_oracles.py", "tests/unit/test_inference.py", "tests/unit/test_diagnostics_sweeps.py",
             "tests/unit/test_diagnostics.py", "tests/unit/test_pq_eval.py", "tests/bad_inputs/test_bad_inputs.py", "tests/reference/test_pq_references.py"]
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
