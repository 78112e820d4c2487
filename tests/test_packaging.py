"""Packaging: the wheel carries the YAML data and imports without the repository, and mypy
resolves ``from ovbench... import ...`` in a user's adapter file.

Like detectron2's tests/test_packaging.py, but for our folder -> import-name mapping
(``benchmark/`` -> ``ovbench``, ``adapters/`` -> ``ovbench.adapters``, ...)."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a wheel, installs it, runs mypy

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # build from a copy so that setuptools' build/ and *.egg-info never land in the checkout
    src = build / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                              ".mypy_cache", ".pytest_cache", "node_modules"),
                    symlinks=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = list(out.glob("ovbench-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_the_yaml_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {"taxonomies": "ovbench/taxonomies", "benchmark/suites": "ovbench/suites", "benchmark/suites/targets": "ovbench/suites/targets"}
    for folder, pkg in packages.items():
        for f in (REPO / folder).glob("*.yaml"):
            assert f"{pkg}/{f.name}" in names, f"{f.name} missing from the wheel"
    templates = sorted((REPO / "leaderboard/templates").glob("*.html")) if (REPO / "leaderboard/templates").is_dir() else []
    for f in templates:
        assert f"ovbench/leaderboard/templates/{f.name}" in names
    assert "ovbench/py.typed" in names
    assert not any(n.startswith(("benchmark/", "adapters/", "tests/")) for n in names), "repo folder names leaked"


def test_wheel_imports_without_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    code = (
        "import sys, ovbench\n"
        f"assert ovbench.__file__.startswith({str(target)!r}), ovbench.__file__\n"
        f"assert not any(p.rstrip('/') == {str(REPO)!r} for p in sys.path)\n"
        "from ovbench.taxonomy import load_class_list\n"
        "cs = load_class_list('ade20k_150')\n"
        "assert len(cs) == 150 and int(cs.isthing.sum()) == 100\n"
        "assert len(load_class_list('coco_panoptic_133')) == 133\n"
        "import ovbench.adapters, ovbench.metrics.pq_eval, ovbench.data.catalog\n"
        "from ovbench.adapters import ADAPTERS\n"
        "for target in list(ADAPTERS._entries.values()):\n"  # every built-in adapter module is in the wheel (lazy imports)
        "    __import__(target.split(':')[0]) if isinstance(target, str) else None\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = str(target)
    proc = subprocess.run([sys.executable, "-P", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


USER_ADAPTER = '''\
"""A user's one-file adapter, as docs/writing-an-adapter.md shows it."""
from ovbench.adapters import register_adapter
from ovbench.data.categories import CategorySet
from ovbench.metrics.pq_eval import evaluate
from ovbench.raw import RawOutput
from ovbench.taxonomy import load_class_list


def classes() -> CategorySet:
    return load_class_list("ade20k_150")


__all__ = ["register_adapter", "RawOutput", "evaluate", "classes"]
'''


def test_mypy_resolves_ovbench_imports_in_a_user_adapter(tmp_path):
    pytest.importorskip("mypy")
    # the import-name layout, as a link tree: ovbench/ = benchmark/* + adapters, taxonomies, leaderboard
    pkg = tmp_path / "tree" / "ovbench"
    pkg.mkdir(parents=True)
    for entry in (REPO / "benchmark").iterdir():
        if entry.name not in ("__pycache__",):
            (pkg / entry.name).symlink_to(entry)
    for sub in ("adapters", "taxonomies", "leaderboard"):
        (pkg / sub).symlink_to(REPO / sub)
    user = tmp_path / "work" / "my_adapter.py"
    user.parent.mkdir()
    user.write_text(USER_ADAPTER)
    env = dict(os.environ, MYPYPATH=str(tmp_path / "tree"))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary", "--cache-dir",
         str(tmp_path / "cache"), "--python-version", "3.11", str(user)],
        cwd=user.parent, env=env, capture_output=True, text=True, timeout=240,
    )
    out = proc.stdout + proc.stderr
    assert "import-not-found" not in out and "Cannot find implementation or library stub" not in out, out
    assert "import-untyped" not in out, out
    assert proc.returncode == 0, out
