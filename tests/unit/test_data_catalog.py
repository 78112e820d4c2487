"""Named datasets: root precedence, layout variants, the missing-dataset error."""

import shutil

import pytest

from ovbench.data.catalog import DATASETS, dataset_roots, default_png_dir, get_dataset, resolve_dataset
from ovbench.data.synthetic import generate_dataset
from ovbench.errors import DatasetError, RegistryError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("OVBENCH_DATASETS", raising=False)
    monkeypatch.delenv("DETECTRON2_DATASETS", raising=False)
    monkeypatch.chdir(tmp_path)


def make(root, layout="ade20k"):
    return generate_dataset(root, 2, seed=0, layout=layout, height=24, width=32, min_segments=2, max_segments=4,
                            write_images=False, workers=1)


def test_registry_lists_both_datasets():
    assert {"ade20k_panoptic_val", "coco_panoptic_val"} <= set(DATASETS.names())
    with pytest.raises(RegistryError, match="Did you mean 'ade20k_panoptic_val'"):
        get_dataset("ade20k_panoptic_vall")


def test_root_precedence(monkeypatch, tmp_path):
    assert [o for _, o in dataset_roots()] == ["./datasets"]
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "d2"))
    monkeypatch.setenv("OVBENCH_DATASETS", str(tmp_path / "ov"))
    assert [str(p) for p, _ in dataset_roots()] == [str(tmp_path / "ov"), str(tmp_path / "d2"), "datasets"]
    assert dataset_roots(tmp_path / "x") == [(tmp_path / "x", "--dataset-root")]


def test_first_root_holding_the_dataset_wins(monkeypatch, tmp_path):
    make(tmp_path / "d2")
    make(tmp_path / "local" / "datasets")
    monkeypatch.setenv("OVBENCH_DATASETS", str(tmp_path / "empty"))
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "d2"))
    r = resolve_dataset("ade20k_panoptic_val")
    assert r.root == tmp_path / "d2"
    ds = get_dataset("ade20k_panoptic_val")
    assert len(ds) == 2 and ds.name == "ade20k_panoptic_val"
    # ./datasets is the last resort
    monkeypatch.delenv("DETECTRON2_DATASETS")
    monkeypatch.chdir(tmp_path / "local")
    assert resolve_dataset("ade20k_panoptic_val").root.as_posix() == "datasets"


def test_explicit_root_is_the_only_one_searched(monkeypatch, tmp_path):
    make(tmp_path / "d2")
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "d2"))
    with pytest.raises(DatasetError) as e:
        get_dataset("ade20k_panoptic_val", tmp_path / "elsewhere")
    assert str(tmp_path / "d2") not in str(e.value)


def test_maftplus_layout_is_accepted(tmp_path):
    make(tmp_path / "src")
    src = tmp_path / "src/ADEChallengeData2016"
    dst = tmp_path / "maft/ade20k/ADEChallengeData2016/panoptic"
    dst.mkdir(parents=True)
    shutil.move(src / "ade20k_panoptic_val.json", dst / "ade20k_panoptic_val.json")
    shutil.move(src / "ade20k_panoptic_val", dst / "ade20k_panoptic_val")
    r = resolve_dataset("ade20k_panoptic_val", tmp_path / "maft")
    assert r.variant.source.startswith("MAFT+") and r.png_dir == dst / "ade20k_panoptic_val"
    assert r.image_dir == tmp_path / "maft/ade20k/ADEChallengeData2016/images/validation"


def test_missing_dataset_lists_every_path_tried(monkeypatch, tmp_path):
    monkeypatch.setenv("OVBENCH_DATASETS", str(tmp_path / "a"))
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "b"))
    with pytest.raises(DatasetError) as e:
        get_dataset("coco_panoptic_val")
    msg = str(e.value)
    for root in (tmp_path / "a", tmp_path / "b"):
        assert str(root / "coco/annotations/panoptic_val2017.json") in msg
    assert "datasets/coco/annotations/panoptic_val2017.json" in msg
    assert "$OVBENCH_DATASETS" in msg and "docs/datasets.md" in msg
    with pytest.raises(DatasetError) as e:
        get_dataset("ade20k_panoptic_val")
    assert msg.count("\n") >= 3 and "ADEChallengeData2016/panoptic/ade20k_panoptic_val.json" in str(e.value)


def test_coco_dataset_and_default_png_dir(tmp_path):
    j = make(tmp_path, "coco")
    ds = get_dataset("coco_panoptic_val", tmp_path)
    assert len(ds) == 2 and ds.png_dir == tmp_path / "coco/panoptic_val2017"
    assert default_png_dir(j) == tmp_path / "coco/panoptic_val2017"
    j2 = make(tmp_path / "ade")
    assert default_png_dir(j2) == j2.with_suffix("")
    s = ds.sample(ds.image_ids()[0])
    assert s.gt.ids.shape == (24, 32)
