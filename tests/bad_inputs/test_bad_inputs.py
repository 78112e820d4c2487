"""The bad-input corpus: every malformed dataset or prediction raises its named error, and the
message names the file and the problem. The corpus is generated: a valid two-image ground truth
and prediction, then one mutation per case.

Each case runs through ``ovbench pq``'s evaluator, and ground-truth cases also through the
dataset reader (``PanopticDataset.sample`` and ``validate``), with both PNG decoders."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ovbench.data.png_io as png_io
from ovbench.cli import main
from ovbench.data.categories import Category, CategorySet
from ovbench.data.dataset import PanopticDataset
from ovbench.data.panoptic_format import PanopticMap, SegmentInfo, id2rgb
from ovbench.data.writer import write_panoptic
from ovbench.errors import DatasetError, PredictionError
from ovbench.metrics.pq_eval import evaluate

CATS = CategorySet((Category(1, "person", True), Category(2, "wall", False)))
GT_IDS = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [0, 0, 2, 2]], dtype=np.int32)
PRED_IDS = np.array([[5, 5, 6, 6], [5, 5, 6, 6], [5, 0, 6, 6]], dtype=np.int32)


def build(root: Path) -> dict[str, Path]:
    gt = PanopticMap.from_segments(GT_IDS, [SegmentInfo(1, 1), SegmentInfo(2, 2)])
    pred = PanopticMap.from_segments(PRED_IDS, [SegmentInfo(5, 1), SegmentInfo(6, 2)])
    write_panoptic(root / "gt.json", root / "gt", [("img1", gt), ("img2", gt)], CATS)
    write_panoptic(root / "pred.json", root / "pred", [("img1", pred), ("img2", pred)], CATS)
    return {"gt_json": root / "gt.json", "gt_png": root / "gt/img2.png", "pred_json": root / "pred.json",
            "pred_png": root / "pred/img2.png"}


def edit_json(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def write_png(path: Path, arr: np.ndarray, mode: str | None = None) -> None:
    im = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    im.save(path)


def seg2(data):  # segments_info of image 2
    return data["annotations"][1]["segments_info"]


# (case id, which JSON/PNG the message must name, mutation, expected error, message fragment)
GT_CASES = [
    ("gt_png_missing", "gt_png", lambda f: f["gt_png"].unlink(), "does not exist"),
    ("gt_png_size", "gt_png", lambda f: write_png(f["gt_png"], id2rgb(np.ones((3, 5), np.int32))), "but the JSON says 4x3"),
    ("gt_png_unlisted_id", "gt_png", lambda f: write_png(f["gt_png"], id2rgb(np.where(GT_IDS == 0, 9, GT_IDS))),
     "segment id(s) [9] are in the PNG but not in the JSON"),
    ("gt_unknown_category", "gt_json", lambda f: edit_json(f["gt_json"], lambda d: seg2(d)[0].update(category_id=77)),
     "unknown category id 77"),
    ("gt_duplicate_ids", "gt_json", lambda f: edit_json(f["gt_json"], lambda d: seg2(d)[1].update(id=1)),
     "duplicate segment id(s) [1]"),
    ("gt_id_zero", "gt_json", lambda f: edit_json(f["gt_json"], lambda d: seg2(d)[0].update(id=0)), "reserved for VOID"),
    ("gt_missing_area", "gt_json", lambda f: edit_json(f["gt_json"], lambda d: seg2(d)[0].pop("area")), "has no 'area'"),
    ("gt_area_below_pixels", "gt_png", lambda f: edit_json(f["gt_json"], lambda d: seg2(d)[1].update(area=5)),
     "has area 5 in the JSON but 6 pixels in the PNG"),
    ("gt_png_rgba", "gt_png", lambda f: write_png(f["gt_png"], id2rgb(GT_IDS), "RGBA"), "8-bit RGB PNG"),
    ("gt_png_palette", "gt_png", lambda f: write_png(f["gt_png"], id2rgb(GT_IDS), "P"), "palette PNG"),
    ("gt_png_gray", "gt_png", lambda f: write_png(f["gt_png"], GT_IDS.astype(np.uint8)), "8-bit grayscale PNG"),
    ("gt_png_16bit", "gt_png", lambda f: write_png(f["gt_png"], GT_IDS.astype(np.uint16)), "16-bit grayscale PNG"),
    ("gt_png_garbage", "gt_png", lambda f: f["gt_png"].write_bytes(b"not a png at all, just text" * 3), "is not a PNG file"),
    ("gt_json_garbage", "gt_json", lambda f: f["gt_json"].write_text("{oops"), "not valid JSON"),
    ("gt_no_image_entry", "gt_json", lambda f: edit_json(f["gt_json"], lambda d: d["images"].pop(1)),
     "has no entry in 'images'"),
    ("gt_category_id_float", "gt_json", lambda f: edit_json(f["gt_json"], lambda d: seg2(d)[0].update(category_id=1.5)),
     "category_id must be an integer, got 1.5"),
    ("gt_file_name_leaves_folder", "gt_json", lambda f: edit_json(f["gt_json"], lambda d: d["annotations"][1].update(
        file_name="../pred/img2.png")), "must be a path inside the folder"),
]

PRED_CASES = [
    ("pred_png_missing", "pred_png", lambda f: f["pred_png"].unlink(), "does not exist"),
    ("pred_png_size", "pred_png", lambda f: write_png(f["pred_png"], id2rgb(np.full((2, 4), 5, np.int32))),
     "is 4x2 but the ground truth is 4x3"),
    ("pred_png_unlisted_id", "pred_png", lambda f: write_png(f["pred_png"], id2rgb(np.where(PRED_IDS == 0, 8, PRED_IDS))),
     "segment id(s) [8] are in the PNG but not in the JSON"),
    ("pred_json_id_not_in_png", "pred_png", lambda f: edit_json(f["pred_json"], lambda d: seg2(d).append(
        {"id": 42, "category_id": 1, "iscrowd": 0, "area": 1})), "segment id(s) [42] are in the JSON but not in the PNG"),
    ("pred_unknown_category", "pred_json", lambda f: edit_json(f["pred_json"], lambda d: seg2(d)[0].update(category_id=3)),
     "unknown category id 3"),
    ("pred_duplicate_ids", "pred_json", lambda f: edit_json(f["pred_json"], lambda d: seg2(d)[1].update(id=5)),
     "duplicate segment id(s) [5]"),
    ("pred_png_rgba", "pred_png", lambda f: write_png(f["pred_png"], id2rgb(PRED_IDS), "RGBA"), "8-bit RGB PNG"),
    ("pred_missing_image", "pred_json", lambda f: edit_json(f["pred_json"], lambda d: d["annotations"].pop(1)),
     "no prediction for the image with id 'img2'"),
    ("pred_two_annotations", "pred_json", lambda f: edit_json(f["pred_json"], lambda d: d["annotations"].append(
        d["annotations"][0])), "image 'img1' has two annotations"),
    ("pred_no_annotations", "pred_json", lambda f: edit_json(f["pred_json"], lambda d: d.pop("annotations")),
     "has no 'annotations' list"),
    ("pred_malformed_segment", "pred_json", lambda f: edit_json(f["pred_json"], lambda d: seg2(d)[0].pop("category_id")),
     "malformed segment"),
    ("pred_category_id_float", "pred_json", lambda f: edit_json(f["pred_json"], lambda d: seg2(d)[0].update(category_id=1.5)),
     "category_id must be an integer, got 1.5"),
    ("pred_file_name_absolute", "pred_json", lambda f: edit_json(f["pred_json"], lambda d: d["annotations"][1].update(
        file_name=str(f["gt_png"]))), "must be a path inside the folder"),
]


@pytest.fixture(params=["fast", "pyspng", "pillow"])
def decoder(request, monkeypatch, disable_kernels):
    """fast: libdeflate + compiled kernels (the fast extra); pyspng / pillow: the kernels disabled
    (numpy fallback), decoding with that library."""
    from ovbench.data import png_fast

    if request.param == "fast":
        if not png_fast.HAVE_FAST_PNG:
            pytest.skip("the fast extra (numba, deflate) is not installed")
        return request.param
    disable_kernels()
    if request.param == "pillow":
        monkeypatch.setattr(png_io, "_pyspng", None)
    elif png_io._pyspng is None:
        pytest.skip("pyspng not installed")
    return request.param


@pytest.mark.parametrize("case", GT_CASES + PRED_CASES, ids=[c[0] for c in GT_CASES + PRED_CASES])
def test_evaluator_names_the_file_and_the_problem(tmp_path, decoder, case):
    name, who, mutate, fragment = case
    files = build(tmp_path)
    mutate(files)
    error = DatasetError if name.startswith("gt") else PredictionError
    with pytest.raises(error) as e:
        evaluate(files["gt_json"], files["pred_json"], workers=1)
    msg = str(e.value)
    assert fragment in msg
    assert str(files[who]) in msg


@pytest.mark.parametrize("case", [c for c in GT_CASES if c[0] != "gt_json_garbage"], ids=[c[0] for c in GT_CASES if c[0] != "gt_json_garbage"])
def test_dataset_reader_names_the_file_and_the_problem(tmp_path, decoder, case):
    name, who, mutate, fragment = case
    files = build(tmp_path)
    mutate(files)
    with pytest.raises(DatasetError) as e:
        ds = PanopticDataset("t", files["gt_json"], tmp_path / "gt")
        for image_id in ds.image_ids():
            ds.sample(image_id)
    assert fragment in str(e.value) and str(files[who]) in str(e.value)
    with pytest.raises(DatasetError):
        PanopticDataset("t", files["gt_json"], tmp_path / "gt").validate(workers=1)


def test_valid_corpus_evaluates(tmp_path, decoder):
    files = build(tmp_path)
    ev = evaluate(files["gt_json"], files["pred_json"], workers=1)
    # person: gt 4 px, pred 5 px of which 1 on VOID -> union 5 + 4 - 4 - 1 = 4 -> IoU 1; wall: IoU 1
    assert ev.split().pq == 1.0 and ev.split().n == 2


def test_gt_segment_without_pixels_is_tolerated_and_counted(tmp_path):
    files = build(tmp_path)
    edit_json(files["gt_json"], lambda d: seg2(d).append({"id": 3, "category_id": 2, "iscrowd": 0, "area": 4}))
    ev = evaluate(files["gt_json"], files["pred_json"], workers=1)
    assert ev.gt_segments_without_pixels == 1 and ev.stats.fn.tolist() == [0, 1]
    rep = PanopticDataset("t", files["gt_json"], tmp_path / "gt").validate(workers=1)
    assert rep.gt_segments_without_pixels == 1


def test_cli_reports_errors_with_exit_code_1(tmp_path, capsys):
    files = build(tmp_path)
    files["pred_png"].unlink()
    rc = main(["pq", "--gt-json", str(files["gt_json"]), "--pred-json", str(files["pred_json"]), "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 1 and "does not exist" in err and str(files["pred_png"]) in err


def test_errors_cross_worker_processes(tmp_path):
    files = build(tmp_path)
    files["pred_png"].unlink()
    with pytest.raises(PredictionError, match="does not exist"):
        evaluate(files["gt_json"], files["pred_json"], workers=2, chunk_size=1)


def test_missing_folders(tmp_path):
    files = build(tmp_path)
    with pytest.raises(PredictionError, match="prediction PNG folder .* does not exist"):
        evaluate(files["gt_json"], files["pred_json"], pred_folder=tmp_path / "nope", workers=1)
    with pytest.raises(DatasetError, match="ground-truth PNG folder .* does not exist"):
        evaluate(files["gt_json"], files["pred_json"], gt_folder=tmp_path / "nope", workers=1)
    with pytest.raises(DatasetError, match="ground-truth JSON .* does not exist"):
        evaluate(tmp_path / "nope.json", files["pred_json"], workers=1)
