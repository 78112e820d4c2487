"""Semantic label readers on hand-built label files: 8-bit PNG (255 ignore), uint16 TIFF (65535
ignore), VOC-20 vs VOC-21 background, and every validation error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ovbench.data.catalog import DATASETS, get_dataset
from ovbench.data.categories import Category, CategorySet
from ovbench.data.semantic_dataset import SemanticDataset
from ovbench.data.semantic_labels import read_label
from ovbench.errors import DatasetError

VOC = "pascal_voc_d2"


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _jpg(path: Path, h: int, w: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(path)


def _segs(sample) -> set[tuple[int, int, int]]:
    return {(s.id, s.category_id, s.area) for s in sample.gt.segments}


# A raw VOC SegmentationClass map: 0 background, 1 aeroplane, 15 person, 255 object border.
RAW_VOC = np.array([[0, 0, 1], [255, 15, 15]], dtype=np.uint8)
# What prepare_pascal_voc_sem_seg.py writes for VOC-20 (background -> 255, classes shifted down by
# one), written out by hand: aeroplane 1 -> 0, person 15 -> 14.
VOC20 = np.array([[255, 255, 0], [255, 14, 14]], dtype=np.uint8)


@pytest.fixture()
def voc_root(tmp_path: Path) -> Path:
    _png(tmp_path / VOC / "annotations_pascal21/validation/2007_000001.png", RAW_VOC)
    _png(tmp_path / VOC / "annotations_pascal20/validation/2007_000001.png", VOC20)
    _jpg(tmp_path / VOC / "images/validation/2007_000001.jpg", 2, 3)
    return tmp_path


def test_voc21_counts_background_as_class_0(voc_root):
    ds = get_dataset("pascal_voc_21_sem_seg_val", voc_root)
    assert ds.task == "semantic" and len(ds) == 1 and ds.image_ids() == ["2007_000001"]
    s = ds.sample("2007_000001")
    # segment id = dense index + 1; category id = VOC id; areas counted by hand from RAW_VOC
    assert _segs(s) == {(1, 0, 2), (2, 1, 1), (16, 15, 2)}
    assert s.gt.ids.tolist() == [[1, 1, 2], [0, 16, 16]]  # the border pixel is VOID
    assert not ds.categories.isthing.any()  # regions: every class is stuff
    assert DATASETS.get("pascal_voc_21_sem_seg_val").counts_background


def test_voc20_ignores_background(voc_root):
    ds = get_dataset("pascal_voc_20_sem_seg_val", voc_root)
    s = ds.sample("2007_000001")
    assert _segs(s) == {(1, 1, 1), (15, 15, 2)}  # aeroplane and person keep their VOC ids
    assert s.gt.ids.tolist() == [[0, 0, 1], [0, 15, 15]]
    assert 0 not in ds.categories and not DATASETS.get("pascal_voc_20_sem_seg_val").counts_background
    rep = ds.validate()
    assert (rep.num_images, rep.images_checked, rep.ignored_pixels, rep.labelled_pixels) == (1, 1, 3, 3)


def test_voc_label_value_outside_the_classes(voc_root):
    bad = RAW_VOC.copy()
    bad[0, 0] = 21  # VOC-21 has values 0..20
    _png(voc_root / VOC / "annotations_pascal21/validation/2007_000001.png", bad)
    with pytest.raises(DatasetError, match=r"2007_000001\.png holds label value\(s\) 21 outside the 21 classes .* ignore label 255"):
        get_dataset("pascal_voc_21_sem_seg_val", voc_root).sample("2007_000001")
    # the raw VOC map is not a valid VOC-20 label: person 15 is fine, but 0 means aeroplane and 20 is out
    raw20 = RAW_VOC.copy()
    raw20[0, 0] = 20
    _png(voc_root / VOC / "annotations_pascal20/validation/2007_000001.png", raw20)
    with pytest.raises(DatasetError, match="value\\(s\\) 20 outside the 20 classes"):
        get_dataset("pascal_voc_20_sem_seg_val", voc_root).validate()


@pytest.mark.parametrize(
    ("arr", "mode_word"),
    [
        (np.zeros((2, 3), np.uint16), "16-bit"),  # 16-bit PNG where 8-bit is expected
        (np.zeros((2, 3, 3), np.uint8), "RGB"),
    ],
)
def test_png_label_must_be_8bit_single_channel(voc_root, arr, mode_word):
    _png(voc_root / VOC / "annotations_pascal21/validation/2007_000001.png", arr)
    with pytest.raises(DatasetError, match=f"must be an 8-bit single-channel PNG.*{mode_word}"):
        get_dataset("pascal_voc_21_sem_seg_val", voc_root).sample("2007_000001")


def test_palette_png_reads_indices(tmp_path):
    im = Image.fromarray(RAW_VOC, mode="L").convert("P")  # VOC's own SegmentationClass files are palette PNGs
    im.putpalette([0, 0, 0, 128, 0, 0] * 128)
    p = tmp_path / "x.png"
    im.save(p)
    assert read_label(p, num_classes=21, ignore_label=255).tolist() == [[0, 0, 1], [-1, 15, 15]]


def test_size_mismatch_and_missing_image(voc_root):
    _jpg(voc_root / VOC / "images/validation/2007_000001.jpg", 4, 4)
    with pytest.raises(DatasetError, match=r"2007_000001\.jpg is 4x4 but its label .*2007_000001\.png is 3x2"):
        get_dataset("pascal_voc_21_sem_seg_val", voc_root).validate()
    with pytest.raises(DatasetError, match="is 4x4 but the JSON says 3x2"):
        get_dataset("pascal_voc_21_sem_seg_val", voc_root).sample("2007_000001").load_image()
    (voc_root / VOC / "images/validation/2007_000001.jpg").unlink()
    with pytest.raises(DatasetError, match=r"RGB image .*2007_000001\.jpg does not exist"):
        get_dataset("pascal_voc_21_sem_seg_val", voc_root).validate()
    (voc_root / VOC / "images/validation").rmdir()  # no image folder at all: labels only
    assert get_dataset("pascal_voc_21_sem_seg_val", voc_root).validate().images_checked == 0


def test_missing_label_folder_lists_the_path(tmp_path):
    with pytest.raises(DatasetError, match=r"(?s)dataset .pascal_ctx_59_sem_seg_val. not found.*pascal_ctx_d2/annotations_ctx59/validation"):
        get_dataset("pascal_ctx_59_sem_seg_val", tmp_path)


# ---- uint16 TIFF (ADE20K-847, Pascal Context-459) -----------------------------------------------
def _tif(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_uint16_tiff_with_65535_ignore(tmp_path):
    lab = np.array([[0, 846, 65535], [300, 300, 65535]], dtype=np.uint16)  # 846: the last A-847 class
    _tif(tmp_path / "ADE20K_2021_17_01/annotations_detectron2/validation/ADE_val_00000001.tif", lab)
    ds = get_dataset("ade20k_full_sem_seg_val", tmp_path)
    s = ds.sample("ADE_val_00000001")
    assert _segs(s) == {(1, 0, 1), (847, 846, 1), (301, 300, 2)}
    assert s.gt.ids.tolist() == [[1, 847, 0], [301, 301, 0]]
    assert ds.categories.names[846] == ds.class_categories.names[846]  # label value 846 = class list index 846


def test_big_endian_tiff_reads_the_same(tmp_path):
    lab = np.array([[0, 458, 65535]], dtype=np.uint16)  # 458: the last Context-459 class
    _tif(tmp_path / "pascal_ctx_d2/annotations_ctx459/validation/2008_000001.tif", lab.astype(">u2"))
    s = get_dataset("pascal_ctx_459_sem_seg_val", tmp_path).sample("2008_000001")
    assert s.gt.ids.tolist() == [[1, 459, 0]]


def test_lzw_tiff_reads_the_same(tmp_path):
    lab = np.array([[7, 65535], [846, 0]], dtype=np.uint16)
    p = tmp_path / "ADE_val_00000001.tif"
    Image.fromarray(lab).save(p, compression="tiff_lzw")
    assert read_label(p, num_classes=847, ignore_label=65535).tolist() == [[7, -1], [846, 0]]


def test_tiff_errors(tmp_path):
    d = tmp_path / "pascal_ctx_d2/annotations_ctx459/validation"
    _tif(d / "2008_000001.tif", np.array([[459, 0]], dtype=np.uint16))
    with pytest.raises(DatasetError, match=r"2008_000001\.tif holds label value\(s\) 459 outside the 459 classes \(0\.\.458\) and not the ignore label 65535"):
        get_dataset("pascal_ctx_459_sem_seg_val", tmp_path).sample("2008_000001")
    _tif(d / "2008_000001.tif", np.array([[3, 0]], dtype=np.uint8))  # an 8-bit TIFF
    with pytest.raises(DatasetError, match=r"must be a 16-bit \(uint16\) single-channel TIFF, but its mode is 'L' \(8-bit grayscale\)"):
        get_dataset("pascal_ctx_459_sem_seg_val", tmp_path).sample("2008_000001")
    Image.fromarray(np.zeros((1, 2), np.uint16)).save(d / "2008_000001.tif", format="PNG")  # a PNG named .tif
    with pytest.raises(DatasetError, match=r"has extension \.tif but is a PNG file"):
        get_dataset("pascal_ctx_459_sem_seg_val", tmp_path).sample("2008_000001")


def test_ignore_label_must_not_be_a_class(tmp_path):
    cats = CategorySet(tuple(Category(i, f"c{i}", False) for i in range(300)))
    (tmp_path / "l").mkdir()
    with pytest.raises(DatasetError, match="ignore label 255 collides"):
        SemanticDataset("x", tmp_path / "l", None, cats, label_ext=".png", ignore_label=255)


def test_records_and_hash(voc_root):
    ds = get_dataset("pascal_voc_21_sem_seg_val", voc_root)
    rec = ds.record("2007_000001")
    assert (rec.height, rec.width, rec.file_name, rec.png_name) == (2, 3, "2007_000001.jpg", "2007_000001.png")
    h1 = ds.annotation_sha256
    _png(voc_root / VOC / "annotations_pascal21/validation/2007_000001.png", RAW_VOC[::-1].copy())
    assert get_dataset("pascal_voc_21_sem_seg_val", voc_root).annotation_sha256 != h1
    with pytest.raises(DatasetError, match="no image with id 'nope'"):
        ds.record("nope")


def test_wrong_label_extension_is_named(tmp_path):
    _png(tmp_path / "pascal_ctx_d2/annotations_ctx459/validation/2008_000001.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(DatasetError, match=r"holds no \.tif label files \(found \.png\)"):
        get_dataset("pascal_ctx_459_sem_seg_val", tmp_path).image_ids()


def test_unknown_image_layout_is_rejected(tmp_path):  # Cityscapes city folders are covered by test_generate_suite
    from ovbench.data.dataset import PanopticDataset

    with pytest.raises(DatasetError, match="unknown image_layout 'nested'"):
        PanopticDataset("x", tmp_path / "a.json", tmp_path, image_layout="nested")
