"""Shared test configuration: no network, no hub downloads, deterministic threads."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")


# ---- compiled kernels vs the numpy fallback ---------------------------------------------------
# Every kernel module reads its flag at call time, so a test can run both paths in one process:
# the `kernel_path` fixture runs it once on the compiled kernels (numba and libdeflate, the `fast`
# extra) and once on the numpy / pyspng / Pillow fallback that installs without that extra.
# Forked worker processes inherit the patched flags.


def _disable_kernels(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Force the numpy paths in this process (and in workers forked from it), as OVBENCH_NO_NUMBA=1."""
    from ovbench.data import png_fast, png_kernels
    from ovbench.diagnostics import kernels as diag_kernels
    from ovbench.inference import kernels as inf_kernels
    from ovbench.metrics import histogram_png

    for mod in (inf_kernels, diag_kernels, png_kernels):
        monkeypatch.setattr(mod, "HAVE_NUMBA", False)
    monkeypatch.setattr(png_fast, "HAVE_FAST_PNG", False)
    monkeypatch.setattr(histogram_png, "HAVE_FAST_PNG", False)


@pytest.fixture(params=["compiled", "numpy"])
def kernel_path(request, monkeypatch):  # type: ignore[no-untyped-def]
    """'compiled' (skipped without numba) or 'numpy' (kernels disabled for this test)."""
    from ovbench.inference import kernels

    if request.param == "compiled":
        if not kernels.HAVE_NUMBA:
            pytest.skip("numba not installed (the fast extra): only the numpy path is tested")
    else:
        _disable_kernels(monkeypatch)
    return request.param


@pytest.fixture
def disable_kernels(monkeypatch):  # type: ignore[no-untyped-def]
    """A function that forces the numpy paths for the rest of the test (undone after it)."""
    return lambda: _disable_kernels(monkeypatch)
