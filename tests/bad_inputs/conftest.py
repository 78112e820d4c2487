"""Shared pieces of the bad-input tests: a tiny dataset, a light suite, and the "nothing left
behind" check every failure case ends with."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovbench.atomic import is_temp_name
from ovbench.results.io import RESULTS_FILE, STAGING_PREFIX
from ovbench.runner.lock import LOCK_FILE

#: baseline + one oracle, one diagnostic, overlays of one image: every kind of output file, fast
TINY_SUITE = """\
schema: ovbench-suite/1
name: tiny
version: "1"
source_taxonomy: coco_panoptic_133
seen_protocol: fcclip_string
splits: [all, things, stuff, seen, unseen]
matching: {mask_weight: 5.0, dice_weight: 5.0, class_weight: 0.0, num_points: 256}
oracles:
  - {key: baseline, oracle: baseline}
  - {key: oracle_cls, oracle: oracle_classification}
fn_breakdown: [baseline]
semantic: true
overlays: {images: 1, oracles: [baseline]}
diagnostics:
  - {name: pool_recall, params: {oracle: baseline}}
"""


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """Three synthetic ADE20K-layout images of 96 x 128 pixels (smaller ones trip the pool diagnostic)."""
    from ovbench.data.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("tiny")
    generate_dataset(root, 3, seed=5, height=96, width=128, workers=1, min_segments=3, max_segments=6)
    return root


@pytest.fixture(scope="session")
def tiny_suite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("suite") / "tiny.yaml"
    path.write_text(TINY_SUITE)
    return path


def leftovers(folder: Path) -> list[Path]:
    """Temporary files, staging folders and lock files under `folder`."""
    if not folder.exists():
        return []
    return [p for p in folder.rglob("*") if is_temp_name(p.name) or p.name.startswith(STAGING_PREFIX) or p.name == LOCK_FILE]


def assert_nothing_written(out: Path) -> None:
    """A failed run left no output: no folder at all, or one without results, shards or leftovers."""
    assert leftovers(out) == []
    assert not (out / RESULTS_FILE).exists()
    if out.exists():
        assert [p for p in out.rglob("*") if p.is_file()] == [], sorted(out.rglob("*"))
