"""Semantic-only targets end to end: regions (one stuff segment per class), every oracle scored by
mIoU, FN_seg / FN_cls on regions, results schema and frames; and in-domain COCO runs.

The semantic dataset is built here from the synthetic ADE20K panoptic set, as the semantic reader
represents a label map (docs/semantics.md): one segment per class present, id = dense index + 1,
every class stuff, VOID = ignore. Expectations are counted independently from the label maps."""

from __future__ import annotations

import numpy as np
import pytest
from semantic_helpers import semantic_from_panoptic

from ovbench.data.catalog import get_dataset
from ovbench.data.categories import Category, CategorySet
from ovbench.data.synthetic import generate_dataset
from ovbench.errors import ConfigError
from ovbench.results import validate_results
from ovbench.results.frames import frames_from_doc
from ovbench.results.io import load_results
from ovbench.runner.report import oracle_table
from ovbench.runner.run import RunOptions, run_suite
from ovbench.suites.suite import load_suite


@pytest.fixture(scope="module")
def semantic(tmp_path_factory):
    root = tmp_path_factory.mktemp("pan")
    generate_dataset(root, 5, seed=7, height=128, width=160, workers=1, write_images=False)
    return semantic_from_panoptic(get_dataset("ade20k_panoptic_val", root=root), tmp_path_factory.mktemp("sem"))


@pytest.fixture(scope="module")
def semantic_run(semantic, tmp_path_factory):
    ds, labels = semantic
    out = tmp_path_factory.mktemp("run")
    path = run_suite("simulated", {"seed": 2, "num_queries": 60}, ds, load_suite("semantic"), RunOptions(out, progress=False))
    return load_results(path), labels, out


def test_regions_are_one_stuff_segment_per_class(semantic):
    ds, labels = semantic
    for s in ds:
        present = sorted(int(ds.categories.ids[k]) for k in np.unique(labels[s.image_id]) if k >= 0)
        assert sorted(x.category_id for x in s.gt.segments) == present
        assert not ds.categories.isthing.any()
        assert all(x.id == ds.categories.index_of(x.category_id) + 1 for x in s.gt.segments)


def test_semantic_results_have_miou_only_and_valid_schema(semantic_run):
    doc, _, out = semantic_run
    validate_results(doc)
    assert doc["dataset"]["task"] == "semantic" and doc["per_class"] == []
    assert "conflict_pq" not in doc and "bootstrap" not in doc
    assert list(doc["oracles"])[0] == "semantic_inference"
    for key, o in doc["oracles"].items():
        assert "splits" not in o, key
        assert set(o["miou_splits"]) >= {"all", "seen", "unseen"}
        assert o["miou"] == o["miou_splits"]["all"]["miou"]
    assert doc["oracles"]["baseline"]["miou_semantic_inference"] == doc["oracles"]["semantic_inference"]["miou"]
    assert (out / "per_class_semantic.csv").is_file()
    table = oracle_table(doc)
    assert "mIoU_all" in table and "PQ" not in table


def test_semantic_per_class_rows_match_independent_pixel_counts(semantic_run):
    doc, labels, _ = semantic_run
    cats_ids = [r["category_id"] for r in doc["per_class_semantic"] if r["oracle"] == "baseline"]
    gt_count = np.zeros(len(cats_ids), dtype=np.int64)
    for lab in labels.values():
        gt_count += np.bincount(lab[lab >= 0], minlength=len(cats_ids))
    for key, o in doc["oracles"].items():
        rows = [r for r in doc["per_class_semantic"] if r["oracle"] == key]
        assert [r["category_id"] for r in rows] == cats_ids
        # every oracle sees the same GT pixels: the label maps' counts
        assert [r["gt_pixels"] for r in rows] == gt_count.tolist(), key
        for r in rows:
            if r["gt_pixels"]:
                assert r["iou"] == pytest.approx(r["tp_pixels"] / (r["gt_pixels"] + r["pred_pixels"] - r["tp_pixels"]), abs=1e-12)
            else:
                assert r["iou"] is None
        # mIoU = mean of the per-class IoUs over classes with GT pixels (fsum vs sum: 1e-12)
        for split, pick in (("all", lambda r: True), ("seen", lambda r: r["seen"]), ("unseen", lambda r: not r["seen"])):
            vals = [r["iou"] for r in rows if r["iou"] is not None and pick(r)]
            assert o["miou_splits"][split]["n"] == len(vals)
            assert o["miou_splits"][split]["miou"] == pytest.approx(sum(vals) / len(vals), abs=1e-12)
    # oracle segmentation with oracle selection reproduces each matched region exactly: its IoU >= the baseline's mean
    assert doc["oracles"]["select_no_void_seg"]["miou"] > doc["oracles"]["baseline"]["miou"]


def test_fn_breakdown_is_defined_on_regions(semantic_run):
    """tp + fn_seg + fn_cls = number of GT regions of a class = images in which the class occurs."""
    doc, labels, _ = semantic_run
    ids = [r["category_id"] for r in doc["per_class_semantic"] if r["oracle"] == "baseline"]
    regions = np.zeros(len(ids), dtype=np.int64)
    for lab in labels.values():
        regions[np.unique(lab[lab >= 0])] += 1
    rows = {r["category_id"]: r for r in doc["fn_breakdown"]}
    for k, cid in enumerate(ids):
        r = rows[cid]
        assert r["tp"] + r["fn_seg"] + r["fn_cls"] == regions[k], r
    assert sum(r["fn_seg"] + r["fn_cls"] for r in rows.values()) > 0


def test_semantic_frames_carry_miou_per_split(semantic_run):
    doc, _, _ = semantic_run
    fr = frames_from_doc(doc)
    s = fr["summary"]
    assert set(s["task"]) == {"semantic"} and s["pq"].isna().all()
    row = s[(s.oracle == "oracle_cls") & (s.split == "unseen")].iloc[0]
    assert row["miou"] == pytest.approx(doc["oracles"]["oracle_cls"]["miou_splits"]["unseen"]["miou"])
    assert len(fr["per_class_semantic"]) == len(doc["per_class_semantic"])


def test_a_panoptic_suite_on_a_semantic_target_is_refused(semantic, tmp_path):
    ds, _ = semantic
    with pytest.raises(ConfigError, match="use --suite semantic"):
        run_suite("simulated", {}, ds, load_suite("standard"), RunOptions(tmp_path, progress=False))


def test_semantic_schema_refuses_pq_splits_on_a_semantic_target(semantic_run):
    doc, _, _ = semantic_run
    from ovbench.results.validate import schema_problems

    bad = dict(doc, oracles={**doc["oracles"], "baseline": {**doc["oracles"]["baseline"], "splits": {"all": {"pq": 0.5, "sq": 0.5, "rq": 1.0, "n": 1}}}})
    assert any("oracles" in p for p in schema_problems(bad))


def test_in_domain_coco_run_sees_every_class_and_reports_no_conflicts(tmp_path):
    generate_dataset(tmp_path / "coco", 3, seed=1, layout="coco", height=128, width=160, workers=1, write_images=False)
    ds = get_dataset("coco_panoptic_val", root=tmp_path / "coco")
    path = run_suite("simulated", {"seed": 0, "num_queries": 60}, ds, load_suite("standard"), RunOptions(tmp_path / "run", progress=False))
    doc = load_results(path)
    validate_results(doc)
    assert doc["taxonomy"]["in_domain"] is True and doc["taxonomy"]["num_seen"] == 133
    assert doc["taxonomy"]["name"] == "coco_panoptic_133__coco_panoptic_133"
    assert "conflict_pq" not in doc
    sp = doc["oracles"]["baseline"]["splits"]
    assert sp["seen"] == {k: v for k, v in sp["all"].items()} and sp["unseen"]["n"] == 0 and sp["unseen"]["pq"] is None
    assert all(r["seen"] and not r["conflict"] for r in doc["per_class"])
    meta = frames_from_doc(doc)["meta"].iloc[0]
    assert bool(meta["in_domain"]) and meta["task"] == "panoptic"


def test_semantic_consistency_check_catches_a_tampered_summary(semantic_run):
    from ovbench.submit.check import consistency_problems

    doc, _, _ = semantic_run
    assert consistency_problems(doc) == []
    o = doc["oracles"]["oracle_cls"]
    bad = dict(doc, oracles={**doc["oracles"], "oracle_cls": {**o, "miou_splits": {**o["miou_splits"], "seen": {"miou": 0.99, "n": o["miou_splits"]["seen"]["n"]}}}})
    problems = consistency_problems(bad)
    assert len(problems) == 1 and "$.oracles.oracle_cls.miou_splits.seen.miou" in problems[0]


def test_vlm_region_confusion_by_hand():
    """Two images; regions of classes a=1, b=2, c=3 (areas in pixels); the oracle labels b's region
    as c in image 1 and skips c's region of image 2 (left unpredicted)."""
    from ovbench.data.panoptic_format import SegmentInfo
    from ovbench.vlm.semantic import region_confusion

    cats = CategorySet((Category(1, "a", False), Category(2, "b", False), Category(3, "c", False)))
    gt = {"i1": [SegmentInfo(1, 1, False, 10), SegmentInfo(2, 2, False, 6)],
          "i2": [SegmentInfo(1, 1, False, 4), SegmentInfo(3, 3, False, 5)]}
    recs = [{"image_id": "i1", "gt_segment_index": [0, 1], "pred_category_id": [1, 3]},
            {"image_id": "i2", "gt_segment_index": [0], "pred_category_id": [1]}]
    s = region_confusion(recs, gt, cats)
    r = s.compute()
    # a: tp 14, gt 14, pred 14 -> 1; b: tp 0, gt 6 -> 0; c: tp 0, gt 5 (unpredicted), pred 6 -> 0
    assert r.iou.tolist() == [1.0, 0.0, 0.0]
    assert s.conf[3, 2] == 5 and s.conf[2, 1] == 6 and s.conf[0, 0] == 14
    assert r.miou == pytest.approx(1 / 3)


@pytest.mark.parametrize("name", ["pascal_voc_21_sem_seg_val", "pascal_ctx_459_sem_seg_val"])
def test_real_semantic_reader_runs_the_semantic_suite(name, tmp_path):
    """Generated data in the real layout (PNG 255-ignore with a counted background / uint16 TIFF
    65535-ignore), read by SemanticDataset: the GT pixels per class in the results equal the label
    files' own counts, read here with Pillow."""
    from PIL import Image

    from ovbench.data.synthetic_suite import generate_named

    generate_named(name, tmp_path / "d", 2, seed=3, height=96, width=128, workers=1, write_images=False)
    ds = get_dataset(name, root=tmp_path / "d")
    assert ds.task == "semantic"
    doc = load_results(run_suite("simulated", {"num_queries": 40}, ds, load_suite("semantic"), RunOptions(tmp_path / "run", progress=False)))
    validate_results(doc)
    K = len(ds.categories)
    counts = np.zeros(K, dtype=np.int64)
    for p in ds.label_files:
        lab = np.asarray(Image.open(p)).astype(np.int64)
        assert set(np.unique(lab)) <= set(range(K)) | {ds.ignore_label}
        counts += np.bincount(lab[lab != ds.ignore_label], minlength=K)
    rows = [r for r in doc["per_class_semantic"] if r["oracle"] == "semantic_inference"]
    assert [r["gt_pixels"] for r in rows] == counts.tolist()
    assert doc["dataset"]["task"] == "semantic" and doc["dataset"]["num_classes"] == K
    assert doc["taxonomy"]["num_seen"] is not None


def test_harmonised_confusion_by_hand():
    """Classes a (1) and b (2) merged into ab (10); c (3) kept. conf[pred, gt]: a->b confusions
    become TPs of ab; the ignore column and the no-prediction row stay apart."""
    from types import SimpleNamespace

    from ovbench.metrics.semantic import SemanticStats
    from ovbench.results.semantic import harmonise_confusion, harmonised_mious

    cats = CategorySet((Category(1, "a", False), Category(2, "b", False), Category(3, "c", False)))
    s = SemanticStats.zeros(3)
    s.conf[0, 0] = 5   # a as a
    s.conf[0, 1] = 7   # b predicted a
    s.conf[2, 2] = 4   # c as c
    s.conf[1, 2] = 4   # c predicted b
    s.conf[3, 0] = 1   # a left unpredicted
    s.conf[2, 3] = 9   # c predicted on ignore pixels
    h = SimpleNamespace(categories=CategorySet((Category(10, "ab", False), Category(3, "c", False))), label_map={1: 10, 2: 10, 3: 3})
    m = harmonise_confusion(s, cats, h).conf
    assert m.tolist() == [[12, 4, 0], [0, 4, 9], [1, 0, 0]]
    # ab: tp 12, gt 13, pred 16 -> 12/17; c: tp 4, gt 8, pred 4 -> 0.5
    assert harmonised_mious(s, cats, {"h": h}) == {"h": pytest.approx((12 / 17 + 0.5) / 2)}
    # before merging: a 5/(6+12-5), b 0/(7+4-0), c 4/8
    assert s.compute().miou == pytest.approx((5 / 13 + 0 + 0.5) / 3)


def test_semantic_run_reports_harmonised_miou(tmp_path):
    from ovbench.data.synthetic_suite import generate_named
    from ovbench.taxonomy import load_graph

    generate_named("ade20k_full_sem_seg_val", tmp_path / "d", 2, seed=1, height=96, width=128, workers=1, write_images=False)
    ds = get_dataset("ade20k_full_sem_seg_val", root=tmp_path / "d")
    doc = load_results(run_suite("simulated", {"num_queries": 40}, ds, load_suite("semantic"), RunOptions(tmp_path / "run", progress=False)))
    validate_results(doc)
    names = sorted(load_graph().harmonisations(target="ade20k_847", source="coco_panoptic_133"))
    assert names
    for o in doc["oracles"].values():
        assert sorted(o["miou_harmonised"]) == names
        assert all(v is None or 0.0 <= v <= 1.0 for v in o["miou_harmonised"].values())
