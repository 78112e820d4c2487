"""The synthetic dataset and prediction generators: layouts, determinism, consistency, scenes."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from ovbench.cli import main
from ovbench.data.catalog import get_dataset
from ovbench.data.panoptic_format import count_ids
from ovbench.data.png_io import read_panoptic_ids
from ovbench.data.synthetic import SCENE_CLASSES, generate_dataset, generate_predictions
from ovbench.errors import ConfigError
from ovbench.metrics.pq_eval import evaluate
from ovbench.taxonomy.classes import load_class_list

SMALL = dict(height=48, width=64, min_segments=4, max_segments=12)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_ade20k_layout_and_categories(tmp_path):
    j = generate_dataset(tmp_path, 3, seed=1, **SMALL, workers=1)
    assert j == tmp_path / "ADEChallengeData2016/ade20k_panoptic_val.json"
    data = json.loads(j.read_text())
    assert [im["id"] for im in data["images"]] == ["ADE_val_00000001", "ADE_val_00000002", "ADE_val_00000003"]
    for im, ann in zip(data["images"], data["annotations"]):
        assert (tmp_path / "ADEChallengeData2016/images/validation" / im["file_name"]).is_file()
        assert (tmp_path / "ADEChallengeData2016/ade20k_panoptic_val" / ann["file_name"]).is_file()
        assert ann["file_name"] == im["file_name"].replace(".jpg", ".png")
    cats = load_class_list("ade20k_150")
    assert [c["id"] for c in data["categories"]] == list(range(150))
    assert [c["name"] for c in data["categories"]] == cats.names
    assert sum(c["isthing"] for c in data["categories"]) == 100


def test_coco_layout_has_int_ids_crowd_and_void(tmp_path):
    j = generate_dataset(tmp_path, 6, seed=2, layout="coco", **SMALL, crowd_fraction=0.5, void_fraction=0.1, workers=1)
    assert j == tmp_path / "coco/annotations/panoptic_val2017.json"
    data = json.loads(j.read_text())
    assert data["images"][0]["id"] == 1 and data["images"][0]["file_name"] == "000000000001.jpg"
    assert (tmp_path / "coco/val2017/000000000001.jpg").is_file()
    segs = [s for a in data["annotations"] for s in a["segments_info"]]
    assert any(s["iscrowd"] for s in segs)
    thing_ids = {c["id"] for c in data["categories"] if c["isthing"]}
    assert all(s["category_id"] in thing_ids for s in segs if s["iscrowd"])
    voids = [(read_panoptic_ids(tmp_path / "coco/panoptic_val2017" / a["file_name"], what="t") == 0).sum()
             for a in data["annotations"]]
    assert sum(voids) > 0
    assert len(data["categories"]) == 133


def test_deterministic_in_seed_and_independent_of_workers(tmp_path):
    a = generate_dataset(tmp_path / "a", 5, seed=7, **SMALL, workers=1)
    b = generate_dataset(tmp_path / "b", 5, seed=7, **SMALL, workers=2)
    c = generate_dataset(tmp_path / "c", 5, seed=8, **SMALL, workers=1)
    assert digest(a.parent) == digest(b.parent)
    assert digest(a.parent) != digest(c.parent)
    pa = generate_predictions(a, tmp_path / "pa.json", seed=3, workers=1)
    pb = generate_predictions(b, tmp_path / "pb.json", seed=3, workers=2)
    assert pa.read_bytes() == pb.read_bytes()
    assert digest(tmp_path / "pa") == digest(tmp_path / "pb")


@pytest.mark.parametrize("stuff_area", ["png", "before_things"])
def test_areas_match_pngs(tmp_path, stuff_area):
    j = generate_dataset(tmp_path, 6, seed=4, **SMALL, stuff_area=stuff_area, workers=1)
    ds = get_dataset("ade20k_panoptic_val", tmp_path)
    isthing = ds.categories.isthing
    n_above = 0
    for rec in ds.records:
        ids = read_panoptic_ids(ds.png_dir / rec.png_name, what="t")
        counts = count_ids(ids, np.array([s.id for s in rec.segments]))
        for s, c in zip(rec.segments, counts):
            if stuff_area == "png" or isthing[ds.categories.index_of(s.category_id)]:
                assert s.area == c
            else:
                assert s.area >= c
                n_above += s.area > c
    if stuff_area == "before_things":
        assert n_above > 0  # things really cover stuff
    report = ds.validate(workers=1)
    assert report.num_images == 6 and (report.segments_with_area_above_pixels > 0) == (stuff_area != "png")
    assert j.is_file()


def test_scene_mode_uses_conflict_classes_with_the_right_names(tmp_path):
    cats = load_class_list("ade20k_150")
    for name, cid in SCENE_CLASSES.items():
        c = cats.categories[cats.index_of(cid)]
        assert name.replace(" ", "") in c.name.replace(" ", "") or name in c.synonyms, (name, c)
    j = generate_dataset(tmp_path, 9, seed=0, height=96, width=128, scenes=True, workers=1)
    data = json.loads(j.read_text())
    scenes = {im["scene"] for im in data["images"]}
    assert scenes <= {"bedroom", "living_room", "street"} and len(scenes) >= 2
    used = {s["category_id"] for a in data["annotations"] for s in a["segments_info"]}
    for must in ("wall", "floor", "painting", "sky", "road", "car"):
        assert SCENE_CLASSES[must] in used
    assert SCENE_CLASSES["pillow"] in used or SCENE_CLASSES["cushion"] in used


def test_images_have_class_dependent_colours(tmp_path):
    from PIL import Image

    j = generate_dataset(tmp_path, 2, seed=5, height=96, width=128, void_fraction=0.0, stuff_area="png", workers=1)
    ds = get_dataset("ade20k_panoptic_val", tmp_path)
    rec = ds.records[0]
    img = np.asarray(Image.open(ds.image_dir / rec.file_name).convert("RGB")).astype(float)
    ids = read_panoptic_ids(ds.png_dir / rec.png_name, what="t")
    means = {s.category_id: img[ids == s.id].mean(axis=0) for s in rec.segments if s.area > 50}
    vals = list(means.values())
    dists = [np.abs(a - b).sum() for i, a in enumerate(vals) for b in vals[i + 1:]]
    assert min(dists) > 5  # different classes look different on average
    assert j.is_file()


def test_predictions_are_valid_and_imperfect(tmp_path):
    j = generate_dataset(tmp_path, 6, seed=1, **SMALL, workers=1)
    p = generate_predictions(j, tmp_path / "pred.json", seed=2, workers=1)
    ev = evaluate(j, p, workers=1)
    r = ev.split()
    assert 0.2 < r.pq < 0.95
    assert ev.stats.fp.sum() > 0 and ev.stats.fn.sum() > 0 and ev.stats.tp.sum() > 0


def test_bad_configuration_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="scene mode"):
        generate_dataset(tmp_path, 1, layout="coco", scenes=True)
    with pytest.raises(ConfigError, match="min_segments"):
        generate_dataset(tmp_path, 1, min_segments=5, max_segments=2)
    with pytest.raises(ConfigError, match="unknown layout"):
        generate_dataset(tmp_path, 1, layout="cityscapes")


def test_cli_generate_then_pq(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path), "--images", "3", "--height", "40", "--width", "50",
                 "--predictions", "--workers", "1", "--no-images"]) == 0
    assert not (tmp_path / "ADEChallengeData2016/images/validation").exists()
    out = tmp_path / "res.json"
    gt = tmp_path / "ADEChallengeData2016/ade20k_panoptic_val.json"
    assert main(["pq", "--gt-json", str(gt), "--pred-json", str(tmp_path / "predictions.json"), "--json", str(out),
                 "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "All       |" in text and "Things    |" in text and "Stuff     |" in text and "mIoU" in text
    rep = json.loads(out.read_text())
    assert rep["num_images"] == 3 and len(rep["per_class"]) == 150
    assert set(rep["splits"]) == {"All", "Things", "Stuff"}
