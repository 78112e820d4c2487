"""`ovbench generate --dataset NAME` for every catalog dataset: written in the real layout, read back
by the catalog reader, validated, deterministic; plus `ovbench ls datasets`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ovbench.cli import main
from ovbench.data.catalog import DATASETS, get_dataset, resolve_dataset
from ovbench.data.synthetic_suite import generate_named
from ovbench.taxonomy.classes import load_class_list

SMALL = {"height": 32, "width": 48, "min_segments": 3, "max_segments": 8, "workers": 1}

# where the real layouts put one file of each kind (from the prepare scripts / registrations)
LAYOUT_FILES = {
    "cityscapes_panoptic_val": ["cityscapes/gtFine/cityscapes_panoptic_val.json",
                                "cityscapes/gtFine/cityscapes_panoptic_val/frankfurt_000000_000019_gtFine_panoptic.png",
                                "cityscapes/leftImg8bit/val/frankfurt/frankfurt_000000_000019_leftImg8bit.png"],
    "mapillary_vistas_panoptic_val": ["mapillary_vistas/validation/panoptic/panoptic_2018.json"],
    "ade20k_full_sem_seg_val": ["ADE20K_2021_17_01/annotations_detectron2/validation/ADE_val_00000001.tif",
                                "ADE20K_2021_17_01/images_detectron2/validation/ADE_val_00000001.jpg"],
    "ade20k_sem_seg_val": ["ADEChallengeData2016/annotations_detectron2/validation/ADE_val_00000001.png"],
    "pascal_ctx_459_sem_seg_val": ["pascal_ctx_d2/annotations_ctx459/validation/2008_000001.tif",
                                   "pascal_ctx_d2/images/validation/2008_000001.jpg"],
    "pascal_ctx_59_sem_seg_val": ["pascal_ctx_d2/annotations_ctx59/validation/2008_000001.png"],
    "pascal_voc_20_sem_seg_val": ["pascal_voc_d2/annotations_pascal20/validation/2007_000001.png"],
    "pascal_voc_21_sem_seg_val": ["pascal_voc_d2/annotations_pascal21/validation/2007_000001.png",
                                  "pascal_voc_d2/images/validation/2007_000001.jpg"],
    "coco_panoptic_val": ["coco/annotations/panoptic_val2017.json", "coco/panoptic_val2017/000000000001.png"],
    "ade20k_panoptic_val": ["ADEChallengeData2016/ade20k_panoptic_val.json"],
}


def test_catalog_has_every_suite_dataset():
    assert set(DATASETS.names()) == set(LAYOUT_FILES)
    tasks = {n: DATASETS.get(n).task for n in DATASETS.names()}
    assert sorted(n for n, t in tasks.items() if t == "panoptic") == [
        "ade20k_panoptic_val", "cityscapes_panoptic_val", "coco_panoptic_val", "mapillary_vistas_panoptic_val"]
    # ignore labels as in the FC-CLIP registrations: 65535 for the uint16 TIFF sets, 255 for PNG
    assert {n: DATASETS.get(n).ignore_label for n, t in tasks.items() if t == "semantic"} == {
        "ade20k_sem_seg_val": 255, "ade20k_full_sem_seg_val": 65535, "pascal_ctx_459_sem_seg_val": 65535,
        "pascal_ctx_59_sem_seg_val": 255, "pascal_voc_20_sem_seg_val": 255, "pascal_voc_21_sem_seg_val": 255}


@pytest.mark.parametrize("name", sorted(LAYOUT_FILES))
def test_generate_round_trip(tmp_path, name):
    generate_named(name, tmp_path, 3, seed=5, **SMALL)
    for rel in LAYOUT_FILES[name]:
        assert (tmp_path / rel).is_file(), rel
    r = resolve_dataset(name, tmp_path)
    assert r.variant == DATASETS.get(name).canonical  # written in the canonical (prepare-script) layout
    ds = get_dataset(name, tmp_path)
    assert len(ds) == 3 and ds.task == DATASETS.get(name).task
    ds.validate(workers=1)
    cats = load_class_list(DATASETS.get(name).class_list)
    assert ds.categories.ids.tolist() == cats.ids.tolist()
    for image_id in ds.image_ids():
        s = ds.sample(image_id)
        assert s.load_image().shape == (32, 48, 3)  # the image sits where the reader looks for it
        assert s.gt.ids.shape == (32, 48) and len(s.gt.segments) > 0
    if ds.task == "panoptic":
        data = json.loads(r.json_path.read_text())
        assert [(c["id"], c["name"], bool(c["isthing"])) for c in data["categories"]] == [(c.id, c.name, c.isthing) for c in cats]
    else:
        lab = Image.open(r.png_dir / ds.record(ds.image_ids()[0]).png_name)
        assert lab.mode == ("I;16" if DATASETS.get(name).label_ext == ".tif" else "L")


def test_cityscapes_segment_ids_follow_create_panoptic_imgs(tmp_path):
    generate_named("cityscapes_panoptic_val", tmp_path, 4, seed=2, crowd_fraction=0.5,
                   **{**SMALL, "min_segments": 12, "max_segments": 20})
    data = json.loads((tmp_path / "cityscapes/gtFine/cityscapes_panoptic_val.json").read_text())
    things = {c["id"] for c in data["categories"] if c["isthing"]}
    assert things == {24, 25, 26, 27, 28, 31, 32, 33}
    n_crowd = 0
    for ann in data["annotations"]:
        assert ann["file_name"] == ann["image_id"] + "_gtFine_panoptic.png"
        for s in ann["segments_info"]:
            if s["category_id"] in things and not s["iscrowd"]:
                assert s["id"] // 1000 == s["category_id"] and s["id"] % 1000 >= 1
            else:  # stuff and crowd regions: id = label id
                assert s["id"] == s["category_id"]
            n_crowd += s["iscrowd"]
    assert n_crowd > 0
    get_dataset("cityscapes_panoptic_val", tmp_path).validate(workers=1)  # PNG ids match the JSON, areas too
    assert all(img["file_name"] == img["id"] + "_leftImg8bit.png" for img in data["images"])


def test_ade150_semantic_labels_are_the_panoptic_categories(tmp_path):
    generate_named("ade20k_panoptic_val", tmp_path, 2, seed=3, **SMALL)
    pan = get_dataset("ade20k_panoptic_val", tmp_path)
    first = {i: (pan.image_dir / f"{i}.jpg").read_bytes() for i in pan.image_ids()}
    generate_named("ade20k_sem_seg_val", tmp_path, 2, seed=3, **SMALL)
    sem = get_dataset("ade20k_sem_seg_val", tmp_path)
    assert sem.image_ids() == pan.image_ids()
    for i in pan.image_ids():
        assert (sem.image_dir / f"{i}.jpg").read_bytes() == first[i]  # shared image folder, same JPEGs
        p = pan.sample(i).gt
        want = np.full(p.ids.shape, -1)  # VOID -> ignore
        for seg in p.segments:
            want[p.ids == seg.id] = seg.category_id  # ADE-150 ids are the dense indices 0..149
        assert np.array_equal(sem.labels(i), want)


def test_voc20_and_voc21_share_scenes(tmp_path):
    generate_named("pascal_voc_21_sem_seg_val", tmp_path, 2, seed=4, **SMALL)
    generate_named("pascal_voc_20_sem_seg_val", tmp_path, 2, seed=4, **SMALL)
    v21, v20 = get_dataset("pascal_voc_21_sem_seg_val", tmp_path), get_dataset("pascal_voc_20_sem_seg_val", tmp_path)
    for i in v21.image_ids():
        a, b = v21.labels(i), v20.labels(i)
        objects = a > 0
        assert np.array_equal(b[objects], a[objects] - 1)  # VOC-20 index = VOC-21 index - 1
        assert (b[a == 0] == -1).all() and (b[a == -1] == -1).all()  # background and borders ignored
        assert (a == -1).any()  # VOC's ignore band along object borders


def test_generate_is_deterministic(tmp_path):
    for d in ("a", "b"):
        generate_named("pascal_ctx_459_sem_seg_val", tmp_path / d, 2, seed=9, **SMALL)
    a = get_dataset("pascal_ctx_459_sem_seg_val", tmp_path / "a").annotation_sha256
    assert a == get_dataset("pascal_ctx_459_sem_seg_val", tmp_path / "b").annotation_sha256
    generate_named("pascal_ctx_459_sem_seg_val", tmp_path / "c", 2, seed=10, **SMALL)
    assert a != get_dataset("pascal_ctx_459_sem_seg_val", tmp_path / "c").annotation_sha256


def test_cli_generate_and_ls(tmp_path, capsys):
    assert main(["generate", "--dataset", "pascal_voc_21_sem_seg_val", "--out", str(tmp_path), "--images", "1",
                 "--height", "24", "--width", "24", "--workers", "1"]) == 0
    assert (tmp_path / "pascal_voc_d2/annotations_pascal21/validation/2007_000001.png").is_file()
    capsys.readouterr()
    assert main(["ls", "datasets"]) == 0
    rows = {line.split()[0]: line.split()[1:4] for line in capsys.readouterr().out.splitlines()}
    assert rows["ade20k_full_sem_seg_val"] == ["semantic", "847", "classes"]
    assert rows["pascal_ctx_459_sem_seg_val"][:2] == ["semantic", "459"]
    assert rows["mapillary_vistas_panoptic_val"][:2] == ["panoptic", "65"]
    assert rows["pascal_voc_20_sem_seg_val"][:2] == ["semantic", "20"]
    assert rows["pascal_voc_21_sem_seg_val"][:2] == ["semantic", "21"]
    assert len(rows) == 10


def test_cli_rejects_predictions_for_semantic(tmp_path, capsys):
    rc = main(["generate", "--dataset", "pascal_voc_20_sem_seg_val", "--out", str(tmp_path), "--images", "1", "--predictions"])
    assert rc != 0
    assert "semantic dataset" in capsys.readouterr().err
