"""Shared test configuration: no network, no hub downloads, deterministic threads; the fake
detectron2 model repositories."""

import importlib.util
import os
import shutil
import sys
import types
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")


# ---------------------------------------------------------------- fake detectron2 + FC-CLIP / MAFT+ repositories
FAKE_D2 = Path(__file__).resolve().parent / "fixtures" / "fake_detectron2"


def _make_fake_repo(dst: Path, kind: str) -> types.SimpleNamespace:
    """Copy the fake FC-CLIP repository to `dst` (kind "fcclip"), or turn it into a MAFT+-shaped
    one (kind "maftplus": package ``maft``, meta-architecture module ``maft.maft_plus``, config
    ``configs/panoptic/eval.yaml``), and write its ADE20K-150 class list."""
    from ovbench.taxonomy.classes import load_class_list

    shutil.copytree(FAKE_D2 / "fc-clip", dst)
    pkg = "fcclip"
    config = dst / "configs" / "coco" / "panoptic-segmentation" / "fcclip" / "fcclip_convnext_large_eval_ade20k.yaml"
    if kind == "maftplus":
        pkg = "maft"
        (dst / "fcclip").rename(dst / "maft")
        (dst / "maft" / "fcclip.py").rename(dst / "maft" / "maft_plus.py")
        for f in (dst / "maft").rglob("*.py"):
            f.write_text(f.read_text().replace("./fcclip/", "./maft/").replace("from . import fcclip", "from . import maft_plus"))
        eval_cfg = dst / "configs" / "panoptic" / "eval.yaml"
        eval_cfg.parent.mkdir(parents=True)
        config.rename(eval_cfg)
        config = eval_cfg
    ade = load_class_list("ade20k_150")
    (dst / pkg / "data" / "datasets" / "ade20k_150_with_prompt_eng.txt").write_text("".join(f"{c.id}:{c.name}\n" for c in ade))
    return types.SimpleNamespace(repo=dst, package=pkg, config=config)


@pytest.fixture
def fake_detectron2(tmp_path, monkeypatch):
    """``make(kind)`` -> a fake model repository (see tests/fixtures/fake_detectron2/README.md), with
    the fake detectron2 on sys.path, a weights file, and the working directory OUTSIDE the
    repository. sys.path and the fake modules are restored afterwards."""
    if importlib.util.find_spec("detectron2") is not None:
        pytest.skip("a real detectron2 is installed: the fake would shadow it")
    pytest.importorskip("torch")
    modules_before = set(sys.modules)
    monkeypatch.setattr(sys, "path", [str(FAKE_D2), *sys.path])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (tmp_path / "w.pth").write_bytes(b"random init")

    def make(kind: str = "fcclip") -> types.SimpleNamespace:
        ns = _make_fake_repo(tmp_path / ("fc-clip" if kind == "fcclip" else "MAFT-Plus"), kind)
        ns.weights, ns.cwd = tmp_path / "w.pth", elsewhere
        return ns

    yield make
    for name in set(sys.modules) - modules_before:
        if name.split(".")[0] in ("detectron2", "fcclip", "maft"):
            del sys.modules[name]
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
