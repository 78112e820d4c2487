"""`ovbench run --datasets`: several targets, one folder each, skipped targets never silent,
resume and sharding per target, non-zero exit when nothing ran."""

from __future__ import annotations

import json

import pytest

from ovbench.cli import main
from ovbench.data.synthetic import generate_dataset
from ovbench.errors import ConfigError
from ovbench.results.io import load_results
from ovbench.runner.targets import Target, load_targets_yaml, parse_targets

ARGS = ["--adapter", "simulated", "--adapter-arg", "num_queries=40", "--quiet"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("datasets")
    generate_dataset(r, 3, seed=1, height=96, width=128, workers=1, write_images=False)
    generate_dataset(r, 2, seed=2, layout="coco", height=96, width=128, workers=1, write_images=False)
    return r


def _oracles(path):
    return {k: v["splits"] for k, v in load_results(path)["oracles"].items()}


def test_each_target_gets_its_folder_and_missing_ones_are_skipped_loudly(root, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", *ARGS, "--datasets", "coco_panoptic_val,ade20k_panoptic_val", "--dataset-root", str(root), "--out", str(out)])
    assert rc == 0
    assert load_results(out / "coco_panoptic_val" / "results.json")["taxonomy"]["in_domain"] is True
    assert load_results(out / "ade20k_panoptic_val" / "results.json")["taxonomy"]["num_seen"] == 64
    summary = json.loads((out / "targets.json").read_text())
    assert [(t["dataset"], t["status"]) for t in summary["targets"]] == [("coco_panoptic_val", "ran"), ("ade20k_panoptic_val", "ran")]
    # a root holding only COCO: ADE20K is skipped with every path tried
    coco_only = tmp_path / "coco_only"
    coco_only.mkdir()
    (coco_only / "coco").symlink_to(root / "coco")
    capsys.readouterr()
    rc = main(["run", *ARGS, "--datasets", "all", "--dataset-root", str(coco_only), "--out", str(tmp_path / "run2")])
    text = capsys.readouterr().out
    assert rc == 0
    assert "skipped: dataset 'ade20k_panoptic_val' not found" in text and str(coco_only / "ADEChallengeData2016") in text
    status = {t["dataset"]: t for t in json.loads((tmp_path / "run2" / "targets.json").read_text())["targets"]}
    assert status["coco_panoptic_val"]["status"] == "ran"
    assert status["ade20k_panoptic_val"]["status"] == "skipped" and "tried" in status["ade20k_panoptic_val"]["message"]
    assert not (tmp_path / "run2" / "ade20k_panoptic_val" / "results.json").exists()


def test_nothing_on_disk_exits_non_zero(tmp_path, capsys):
    rc = main(["run", *ARGS, "--datasets", "all", "--dataset-root", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert rc == 1
    assert "nothing ran" in capsys.readouterr().out


def test_resume_and_sharding_work_per_target(root, tmp_path):
    base = ["run", *ARGS, "--datasets", "ade20k_panoptic_val,coco_panoptic_val", "--dataset-root", str(root)]
    assert main([*base, "--out", str(tmp_path / "ref")]) == 0
    ref = {t: _oracles(tmp_path / "ref" / t / "results.json") for t in ("ade20k_panoptic_val", "coco_panoptic_val")}
    # shard 0/2 leaves every target pending; shard 1/2 completes and merges each
    assert main([*base, "--out", str(tmp_path / "sh"), "--shard", "0/2"]) == 0
    pending = json.loads((tmp_path / "sh" / "targets.json").read_text())["targets"]
    assert {t["status"] for t in pending} == {"pending"}
    assert main([*base, "--out", str(tmp_path / "sh"), "--shard", "1/2"]) == 0
    for t, numbers in ref.items():
        assert _oracles(tmp_path / "sh" / t / "results.json") == numbers
    # resume: delete one target's results and one shard, run again -> identical numbers
    (tmp_path / "ref" / "coco_panoptic_val" / "results.json").unlink()
    next((tmp_path / "ref" / "coco_panoptic_val" / "shards").glob("*.json")).unlink()
    assert main([*base, "--out", str(tmp_path / "ref")]) == 0
    assert _oracles(tmp_path / "ref" / "coco_panoptic_val" / "results.json") == ref["coco_panoptic_val"]


def test_target_specs_and_their_errors(tmp_path):
    assert parse_targets("coco_panoptic_val, ade20k_panoptic_val") == [Target("coco_panoptic_val"), Target("ade20k_panoptic_val")]
    assert {t.dataset for t in parse_targets("all")} >= {"coco_panoptic_val", "ade20k_panoptic_val"}
    shipped = parse_targets("openvocab")  # benchmark/suites/targets/openvocab.yaml
    assert shipped[0] == Target("coco_panoptic_val") and len(shipped) == 9
    with pytest.raises(ConfigError, match="unknown dataset 'ade20k'"):
        parse_targets("ade20k")
    with pytest.raises(ConfigError, match="listed twice"):
        parse_targets("coco_panoptic_val,coco_panoptic_val")
    y = tmp_path / "t.yaml"
    y.write_text("schema: ovbench-targets/1\nname: x\ntargets:\n  - coco_panoptic_val\n  - {dataset: ade20k_panoptic_val, suite: standard}\n")
    assert load_targets_yaml(y) == [Target("coco_panoptic_val"), Target("ade20k_panoptic_val", "standard")]
    assert parse_targets(str(y)) == load_targets_yaml(y)
    y.write_text("schema: ovbench-targets/1\ntargets:\n  - {dataset: coco_panoptic_val, suit: standard}\n")
    with pytest.raises(ConfigError, match=r"t.yaml: targets\[0\]"):
        load_targets_yaml(y)
    y.write_text("targets: [coco_panoptic_val]\n")
    with pytest.raises(ConfigError, match="schema: ovbench-targets/1"):
        load_targets_yaml(y)
    with pytest.raises(ConfigError, match="does not exist"):
        parse_targets(str(tmp_path / "nope.yaml"))


@pytest.mark.slow
def test_every_catalog_target_runs_with_the_oracles_that_apply(tmp_path):
    """`ovbench generate --dataset NAME` for each catalog dataset (the issue's nine and any added since), then one `--datasets all` run."""
    from ovbench.data.catalog import DATASETS
    from ovbench.results import validate_results

    names = DATASETS.names()
    assert set(names) >= {"ade20k_panoptic_val", "coco_panoptic_val", "cityscapes_panoptic_val", "mapillary_vistas_panoptic_val",
                          "ade20k_full_sem_seg_val", "pascal_ctx_459_sem_seg_val", "pascal_ctx_59_sem_seg_val",
                          "pascal_voc_20_sem_seg_val", "pascal_voc_21_sem_seg_val"}
    for name in names:
        assert main(["generate", "--dataset", name, "--out", str(tmp_path / "d"), "--images", "2", "--height", "96",
                     "--width", "128", "--no-images", "--workers", "1"]) == 0
    assert main(["run", *ARGS, "--datasets", "all", "--dataset-root", str(tmp_path / "d"), "--out", str(tmp_path / "run")]) == 0
    targets = json.loads((tmp_path / "run" / "targets.json").read_text())["targets"]
    assert [t["dataset"] for t in targets] == names and {t["status"] for t in targets} == {"ran"}
    for t in targets:
        doc = load_results(t["results"])
        validate_results(doc)
        task = "semantic" if t["dataset"].endswith("_sem_seg_val") else "panoptic"
        assert doc["dataset"]["task"] == t["task"] == task
        if task == "semantic":
            assert set(doc["oracles"]) == {"semantic_inference", "baseline", "oracle_cls", "select", "select_no_void",
                                           "select_no_void_seg", "select_no_void_cls"}
            assert all("miou_splits" in o and "splits" not in o for o in doc["oracles"].values())
            assert doc["per_class"] == [] and doc["per_class_semantic"] and doc["fn_breakdown"]
        else:
            assert all(set(o["splits"]) >= {"all", "things", "stuff"} for o in doc["oracles"].values())
            assert len(doc["per_class"]) == 6 * doc["dataset"]["num_classes"]
        assert doc["taxonomy"]["in_domain"] is (t["dataset"] == "coco_panoptic_val")


def test_single_semantic_dataset_gets_the_semantic_suite(tmp_path, capsys):
    from ovbench.suites.suite import suite_dir

    assert main(["generate", "--dataset", "pascal_voc_20_sem_seg_val", "--out", str(tmp_path / "d"), "--images", "2",
                 "--height", "96", "--width", "128", "--no-images", "--workers", "1"]) == 0
    base = ["run", *ARGS, "--dataset", "pascal_voc_20_sem_seg_val", "--dataset-root", str(tmp_path / "d")]
    assert main([*base, "--out", str(tmp_path / "run")]) == 0
    doc = load_results(tmp_path / "run" / "results.json")
    assert doc["suite"]["name"] == "semantic" and doc["dataset"]["task"] == "semantic"
    assert "[semantic target: mIoU only (no PQ, no things)]" in capsys.readouterr().out
    # a panoptic suite named explicitly (as a file) is refused with the way out
    assert main([*base, "--suite", str(suite_dir() / "standard.yaml"), "--out", str(tmp_path / "run2")]) == 1
    assert "use --suite semantic" in capsys.readouterr().err


def test_suite_task_errors_name_the_file_and_field(tmp_path):
    import yaml

    from ovbench.suites.suite import load_suite, suite_dir, suite_for_task

    cfg = yaml.safe_load((suite_dir() / "semantic.yaml").read_text())
    for change, match in (({"task": "instance"}, "task 'instance' is not one of panoptic, semantic"),
                          ({"splits": ["all", "things"]}, "no things/stuff splits"),
                          ({"semantic": False}, "set 'semantic: true'")):
        p = tmp_path / "s.yaml"
        p.write_text(yaml.safe_dump({**cfg, **change}))
        with pytest.raises(ConfigError, match=match) as err:
            load_suite(p)
        assert str(p) in str(err.value)
    assert suite_for_task(load_suite("standard"), "semantic").name == "semantic"
    assert suite_for_task(load_suite("semantic"), "semantic").name == "semantic"
    with pytest.raises(ConfigError, match="unknown dataset task 'video'"):
        suite_for_task(load_suite("standard"), "video")
