"""Without numba (the `fast` extra), the numpy paths must give the same results: rerun the
oracle and sweep tests in a subprocess with the kernels disabled."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_oracle_and_sweep_tests_pass_with_the_kernels_disabled():
    env = dict(os.environ, OVBENCH_NO_NUMBA="1")
    code = "from ovbench.inference import kernels; assert not kernels.HAVE_NUMBA"
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
    tests = ["tests/unit/test_oracles.py", "tests/unit/test_inference.py", "tests/unit/test_diagnostics_sweeps.py"]
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
