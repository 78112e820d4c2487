"""The streaming, parallel evaluator against the per-image matcher, across workers and shards."""

import json
import math

import numpy as np
import pytest

from ovbench.data.dataset import PanopticDataset
from ovbench.data.panoptic_format import SegmentInfo
from ovbench.data.png_io import read_panoptic_png
from ovbench.data.synthetic import generate_dataset, generate_predictions
from ovbench.errors import PredictionError
from ovbench.metrics.accumulator import PQStats
from ovbench.metrics.matching import match_image
from ovbench.metrics.pq_eval import SPLITS, evaluate, merge_evaluations, pq_compute
from ovbench.metrics.semantic import SemanticStats

# every test runs on the compiled kernels (numba, the fast extra) and on the numpy fallback
pytestmark = pytest.mark.usefixtures("kernel_path")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pq")
    gt = generate_dataset(root, 10, seed=11, layout="coco", height=60, width=80, min_segments=5, max_segments=15,
                          crowd_fraction=0.2, void_fraction=0.05, write_images=False, workers=1)
    pred = generate_predictions(gt, root / "pred.json", seed=5, workers=1)
    return root, gt, pred


def test_equals_sum_of_per_image_matches(data):
    root, gt, pred = data
    ev = evaluate(gt, pred, workers=1)
    ds = PanopticDataset("t", gt, root / "coco/panoptic_val2017")
    preds = {str(a["image_id"]): a for a in json.loads(pred.read_text())["annotations"]}
    total = PQStats.zeros(len(ds.categories))
    sem = SemanticStats.zeros(len(ds.categories))
    for s in ds:
        a = preds[s.image_id]
        pm = read_panoptic_png(root / "pred" / a["file_name"], [SegmentInfo.from_json(x) for x in a["segments_info"]],
                               None, what="p", error=PredictionError)
        m = match_image(s.gt, pm, ds.categories)
        total += m.stats
        g = np.array([ds.categories.index_of(x.category_id) for x in s.gt.segments])
        p = np.array([ds.categories.index_of(x.category_id) for x in pm.segments])
        sem.update(m.overlaps.joint, g, p)
    assert ev.stats == total and ev.semantic == sem and ev.num_images == 10
    assert total.tp.sum() > 0 and total.fp.sum() > 0 and total.fn.sum() > 0


def test_bit_identical_across_workers_and_chunks(data):
    _, gt, pred = data
    ref = evaluate(gt, pred, workers=1)
    for workers, chunk in ((2, 1), (2, 3), (3, 4), (1, 2)):
        ev = evaluate(gt, pred, workers=workers, chunk_size=chunk)
        assert ev.stats == ref.stats and ev.semantic == ref.semantic
        assert ev.results() == ref.results()


def test_per_image_rows_sum_to_the_total(data):
    _, gt, pred = data
    ev = evaluate(gt, pred, workers=2, chunk_size=3, per_image=True)
    assert len(ev.per_image) == 10 and len({i for i, _ in ev.per_image}) == 10
    assert PQStats.sum([s for _, s in ev.per_image], len(ev.categories)) == ev.stats


def test_shards_merge_to_the_whole(data, tmp_path):
    root, gt, pred = data
    full = evaluate(gt, pred, workers=1)
    d = json.loads(gt.read_text())
    parts = []
    for k, sl in enumerate((slice(0, 4), slice(4, None))):
        part = dict(d, annotations=d["annotations"][sl])
        p = tmp_path / f"gt{k}.json"
        p.write_text(json.dumps(part))
        parts.append(evaluate(p, pred, gt_folder=root / "coco/panoptic_val2017", workers=1))
    for order in (parts, parts[::-1]):
        merged = merge_evaluations(order)
        assert merged.stats == full.stats and merged.semantic == full.semantic and merged.num_images == 10
        assert merged.extra_predictions == 4 + 6  # each shard ignores the other shard's predictions


def test_panopticapi_return_shape(data):
    _, gt, pred = data
    r = pq_compute(gt, pred, workers=1)
    assert set(r) == {"All", "Things", "Stuff", "per_class"}
    for name, _ in SPLITS:
        assert set(r[name]) == {"pq", "sq", "rq", "n"}
        assert 0 <= r[name]["pq"] <= 1
    cats = json.loads(gt.read_text())["categories"]
    assert list(r["per_class"]) == [c["id"] for c in cats]
    assert r["All"]["n"] == r["Things"]["n"] + r["Stuff"]["n"]
    absent = [c for c, v in r["per_class"].items() if v == {"pq": 0.0, "sq": 0.0, "rq": 0.0}]
    assert absent  # panopticapi reports 0.0 (not NaN, not -1) for classes without segments


def test_table_and_json_report(data):
    _, gt, pred = data
    ev = evaluate(gt, pred, workers=1)
    lines = ev.table().splitlines()
    assert lines[0] == "          |    PQ     SQ     RQ     N"
    assert lines[1] == "-" * 38
    r = ev.split()
    assert lines[2] == f"All       | {100 * r.pq:5.1f}  {100 * r.sq:5.1f}  {100 * r.rq:5.1f} {r.n:5d}"
    rep = json.loads(json.dumps(ev.to_json(), allow_nan=False))
    row = rep["per_class"][0]
    assert set(row) >= {"category_id", "name", "isthing", "tp", "fp", "fn", "iou_sum", "pq", "sq", "rq", "iou"}
    assert rep["semantic"]["miou"] == pytest.approx(ev.miou().miou)


def test_empty_ground_truth_gives_nan_not_an_exception(tmp_path, data):
    root, gt, pred = data
    d = json.loads(gt.read_text())
    d["annotations"] = []
    p = tmp_path / "empty.json"
    p.write_text(json.dumps(d))
    ev = evaluate(p, pred, gt_folder=root / "coco/panoptic_val2017", workers=2)
    assert ev.num_images == 0 and math.isnan(ev.split().pq) and ev.split().n == 0
