"""Cross-checks of ``ovbench pq`` against independent implementations on generated data.

* hotcoco (Rust, panopticapi's protocol): must agree to 1e-9 everywhere, crowd, VOID and ADE20K
  JSON areas included. Known differences (docs/pq-semantics.md): hotcoco needs integer image ids
  (ADE20K's are strings, so the test rewrites them) and reports -1 for classes without segments.
* torchmetrics' PanopticQuality: agrees to 1e-9 where the semantics agree: no crowd, no VOID in the
  prediction, GT areas = pixel counts, at most one stuff segment per class and image. A second test
  pins down the documented difference on predicted VOID.
* panopticapi itself, when importable (not a dependency): exact agreement.
"""

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from ovbench.data.catalog import default_png_dir
from ovbench.data.png_io import read_panoptic_ids
from ovbench.data.synthetic import PredictionNoise, generate_dataset, generate_predictions
from ovbench.metrics.pq_eval import evaluate

# every test runs on the compiled kernels (numba, the fast extra) and on the numpy fallback
pytestmark = pytest.mark.usefixtures("kernel_path")

TOL = 1e-9
SIZE = dict(height=64, width=80, min_segments=6, max_segments=20)


def int_ids_copy(src: Path, dst: Path, mapping: dict) -> Path:
    d = json.loads(src.read_text())
    for im in d.get("images", []):
        im["id"] = mapping.setdefault(str(im["id"]), len(mapping) + 1)
    for a in d["annotations"]:
        a["image_id"] = mapping.setdefault(str(a["image_id"]), len(mapping) + 1)
    dst.write_text(json.dumps(d))
    return dst


def assert_results_close(ours: dict, ref: dict, absent_value: float) -> None:
    for split in ("All", "Things", "Stuff"):
        assert ours[split]["n"] == ref[split]["n"]
        for k in ("pq", "sq", "rq"):
            assert abs(ours[split][k] - ref[split][k]) <= TOL, (split, k, ours[split][k], ref[split][k])
    for cid, v in ours["per_class"].items():
        r = ref["per_class"][cid]
        if r["pq"] == absent_value and v == {"pq": 0.0, "sq": 0.0, "rq": 0.0}:
            continue
        for k in ("pq", "sq", "rq"):
            assert abs(v[k] - r[k]) <= TOL, (cid, k)


@pytest.fixture(scope="module", params=["ade20k", "coco"])
def dataset(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    kw = dict(crowd_fraction=0.15, void_fraction=0.05) if request.param == "coco" else {}
    gt = generate_dataset(root, 12, seed=21, layout=request.param, **SIZE, **kw, write_images=False, workers=2)
    pred = generate_predictions(gt, root / "pred.json", seed=4, workers=2)
    return root, gt, pred


def test_hotcoco_agrees(dataset):
    hp = pytest.importorskip("hotcoco.panoptic")
    root, gt, pred = dataset
    ours = evaluate(gt, pred, workers=2).results()
    mapping: dict = {}
    gt_int = int_ids_copy(gt, root / "gt_int.json", mapping)
    pred_int = int_ids_copy(pred, root / "pred_int.json", mapping)
    with contextlib.redirect_stdout(io.StringIO()):
        ref = hp.pq_compute(str(gt_int), str(pred_int), str(default_png_dir(gt)), str(root / "pred"))
    assert_results_close(ours, ref, absent_value=-1.0)


def test_hotcoco_rejects_string_image_ids(dataset):
    hp = pytest.importorskip("hotcoco.panoptic")
    root, gt, pred = dataset
    if json.loads(gt.read_text())["images"][0]["id"] == 1:
        pytest.skip("COCO layout has integer image ids")
    with pytest.raises(Exception, match="integer"), contextlib.redirect_stdout(io.StringIO()):
        hp.pq_compute(str(gt), str(pred), str(default_png_dir(gt)), str(root / "pred"))


def test_panopticapi_agrees(dataset):
    pe = pytest.importorskip("panopticapi.evaluation")
    root, gt, pred = dataset
    ours = evaluate(gt, pred, workers=1).results()
    with contextlib.redirect_stdout(io.StringIO()):
        ref = pe.pq_compute(str(gt), str(pred), str(default_png_dir(gt)), str(root / "pred"))
    assert_results_close(ours, ref, absent_value=0.0)


# ---- torchmetrics --------------------------------------------------------------------------
def torchmetrics_pq(gt: Path, pred: Path, pred_folder: Path) -> dict:
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.detection")
    g = json.loads(gt.read_text())
    p = {str(a["image_id"]): a for a in json.loads(pred.read_text())["annotations"]}
    cats = g["categories"]
    things = {c["id"] for c in cats if c["isthing"]}
    stuffs = {c["id"] for c in cats if not c["isthing"]}
    void_cat = max(things | stuffs) + 1
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torchmetrics divides int tensors: keep IoUs in float64
    try:
        metric = tm.PanopticQuality(things=things, stuffs=stuffs, allow_unknown_preds_category=True, return_per_class=True,
                                    return_sq_and_rq=True)

        def encode(ids: np.ndarray, segs: list[dict]) -> np.ndarray:
            out = np.zeros(ids.shape + (2,), dtype=np.int64)
            out[..., 0] = void_cat
            for k, s in enumerate(segs):
                m = ids == s["id"]
                out[m, 0] = s["category_id"]
                out[m, 1] = k + 1
            return out

        for a in g["annotations"]:
            q = p[str(a["image_id"])]
            gi = read_panoptic_ids(default_png_dir(gt) / a["file_name"], what="gt")
            pi = read_panoptic_ids(pred_folder / q["file_name"], what="pred")
            metric.update(torch.from_numpy(encode(pi, q["segments_info"]))[None],
                          torch.from_numpy(encode(gi, a["segments_info"]))[None])
        res = metric.compute()  # [C, 3] per class (pq, sq, rq), classes ordered things then stuff, sorted ids
        order = sorted(things) + sorted(stuffs)
        return {cid: res[i].tolist() for i, cid in enumerate(order)}, metric
    finally:
        torch.set_default_dtype(old)


@pytest.fixture(scope="module")
def agreeing(tmp_path_factory):
    """Data on which torchmetrics' semantics equal panopticapi's (see module docstring)."""
    root = tmp_path_factory.mktemp("tm")
    gt = generate_dataset(root, 8, seed=33, layout="ade20k", **SIZE, stuff_area="png", void_fraction=0.05,
                          write_images=False, workers=2)
    pred = generate_predictions(gt, root / "pred.json", seed=6, noise=PredictionNoise(fill_void=True), workers=2)
    return root, gt, pred


def test_torchmetrics_agrees_where_semantics_agree(agreeing):
    root, gt, pred = agreeing
    ev = evaluate(gt, pred, workers=1)
    assert ev.gt_segments_without_pixels == 0
    for a in json.loads(pred.read_text())["annotations"]:  # the premises, checked
        assert (read_panoptic_ids(root / "pred" / a["file_name"], what="p") != 0).all()
    per_class, metric = torchmetrics_pq(gt, pred, root / "pred")
    pc = ev.stats.per_class()
    for i, c in enumerate(ev.categories):
        if not pc["valid"][i]:
            continue
        pq, sq, rq = per_class[c.id]
        assert abs(pc["pq"][i] - pq) <= TOL and abs(pc["sq"][i] - sq) <= TOL and abs(pc["rq"][i] - rq) <= TOL, c
    # the averages: torchmetrics averages over classes with tp + fp + fn > 0, as panopticapi
    valid = pc["valid"]
    assert abs(ev.split().pq - float(np.mean([per_class[c.id][0] for i, c in enumerate(ev.categories) if valid[i]]))) <= TOL


def test_torchmetrics_differs_on_predicted_void(tmp_path):
    """panopticapi keeps GT pixels left VOID by the prediction in the union and counts an unmatched
    GT segment as FN; torchmetrics removes them from the union and ignores GT segments that are
    mostly predicted VOID. One GT person of 4 px, predicted on 2 px, the rest VOID."""
    from ovbench.data.categories import Category, CategorySet
    from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
    from ovbench.data.writer import write_panoptic

    cats = CategorySet((Category(1, "person", True), Category(2, "wall", False)))
    gt = PanopticMap.from_segments(np.array([[1, 1, 1, 1, 2, 2]], np.int32), [SegmentInfo(1, 1), SegmentInfo(2, 2)])
    pred = PanopticMap.from_segments(np.array([[5, 5, 0, 0, 6, 6]], np.int32), [SegmentInfo(5, 1), SegmentInfo(6, 2)])
    gj = write_panoptic(tmp_path / "gt.json", tmp_path / "gt", [(1, gt)], cats)
    pj = write_panoptic(tmp_path / "pred.json", tmp_path / "pred", [(1, pred)], cats)
    ev = evaluate(gj, pj, workers=1)
    # panopticapi: person IoU 2/4 = 0.5 -> FN + FP; wall TP -> PQ = (0 + 1) / 2
    assert ev.split().pq == 0.5 and ev.stats.fn.tolist() == [1, 0]
    per_class, _ = torchmetrics_pq(gj, pj, tmp_path / "pred")
    # torchmetrics: union = 2 + 4 - 2 (target on pred VOID) - 2 = 2 -> IoU 1 -> TP
    assert per_class[1][0] == 1.0
