"""The runner end to end on a tiny synthetic dataset with the simulated adapter: the paper's
qualitative findings, resume, sharding, dumps, and clear errors."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from ovbench.cli import main
from ovbench.data.catalog import get_dataset
from ovbench.data.synthetic import generate_dataset
from ovbench.errors import BadRawOutput, ConfigError
from ovbench.results import validate_results
from ovbench.results.io import load_results
from ovbench.runner.run import RunOptions, merge_only, run_suite
from ovbench.suites.suite import load_suite


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate_dataset(root, 6, seed=3, height=192, width=256, workers=1)
    return root


def _run(root, out, **kw):
    ds = get_dataset("ade20k_panoptic_val", root=root)
    opts = RunOptions(out_dir=out, progress=False, **kw)
    return run_suite("simulated", {"seed": 1}, ds, load_suite(), opts)


def _numbers(path):
    doc = load_results(path)
    return {k: v["splits"] for k, v in doc["oracles"].items()}, doc["per_class"], doc["fn_breakdown"], doc.get("conflict_pq")


@pytest.mark.slow
def test_run_writes_a_valid_results_file_with_the_papers_findings(dataset_root, tmp_path):
    path = _run(dataset_root, tmp_path / "a", workers=2)
    doc = load_results(path)
    validate_results(doc)
    pq = {k: v["splits"]["all"]["pq"] for k, v in doc["oracles"].items()}
    assert pq["oracle_cls"] > pq["baseline"]  # Finding 2: recognition is a bottleneck
    assert pq["select_no_void"] > pq["select"]  # Finding 3: valid masks discarded as no-object
    assert pq["select_no_void_cls"] > pq["select_no_void"]  # Finding 4
    assert set(doc["oracles"]["baseline"]["splits"]) == {"all", "things", "stuff", "seen", "unseen"}
    assert doc["taxonomy"]["num_seen"] == 64
    assert doc["model"]["kind"] == "simulated"
    # the per-class rows add up to the split summaries, and the FN breakdown to the FNs
    base = [r for r in doc["per_class"] if r["oracle"] == "baseline"]
    fn = {r["category_id"]: r for r in doc["fn_breakdown"]}
    for r in base:
        assert fn[r["category_id"]]["fn_seg"] + fn[r["category_id"]]["fn_cls"] == r["fn"]
        assert fn[r["category_id"]]["tp"] == r["tp"]
    valid = [r["pq"] for r in base if r["pq"] is not None]
    assert doc["oracles"]["baseline"]["splits"]["all"]["pq"] == pytest.approx(sum(valid) / len(valid))
    assert (tmp_path / "a" / "per_class.csv").exists() and (tmp_path / "a" / "per_image.csv.gz").exists()
    assert doc["overlays"] and all((tmp_path / "a" / f).exists() for f in doc["overlays"][0]["files"].values())


@pytest.mark.slow
def test_resume_after_a_kill_and_sharding_give_identical_numbers(dataset_root, tmp_path):
    ref = _numbers(_run(dataset_root, tmp_path / "ref", workers=1))
    # a "killed" run: some shards missing, a temporary file of an interrupted writer left behind
    shutil.copytree(tmp_path / "ref", tmp_path / "killed")
    shards = sorted((tmp_path / "killed" / "shards").glob("*.json"))
    for p in shards[::2]:
        p.unlink()
    (tmp_path / "killed" / "shards" / ".ADE_val_00000001.json.123.tmp").write_text("{half")
    (tmp_path / "killed" / "results.json").unlink()
    assert _numbers(_run(dataset_root, tmp_path / "killed", workers=2)) == ref
    # two shards, then a merge
    assert _run(dataset_root, tmp_path / "sh", shard=(0, 2)) is None
    assert _run(dataset_root, tmp_path / "sh", shard=(1, 2)) is not None  # the last shard merges
    assert _numbers(tmp_path / "sh" / "results.json") == ref
    ds = get_dataset("ade20k_panoptic_val", root=dataset_root)
    assert _numbers(merge_only("simulated", {"seed": 1}, ds, load_suite(), RunOptions(tmp_path / "sh", progress=False))) == ref


@pytest.mark.slow
def test_shards_of_another_spec_are_refused(dataset_root, tmp_path):
    _run(dataset_root, tmp_path / "x", limit=2)
    ds = get_dataset("ade20k_panoptic_val", root=dataset_root)
    with pytest.raises(ConfigError, match="different run spec"):
        run_suite("simulated", {"seed": 2}, ds, load_suite(), RunOptions(tmp_path / "x", progress=False, limit=2))


@pytest.mark.slow
def test_dump_and_replay_give_the_numbers_of_the_direct_run(dataset_root, tmp_path, capsys):
    direct = _numbers(_run(dataset_root, tmp_path / "direct", limit=3))
    args = ["--adapter", "simulated", "--adapter-arg", "seed=1", "--dataset-root", str(dataset_root), "--limit", "3", "--quiet"]
    assert main(["dump", *args, "--out", str(tmp_path / "dump"), "--dtype", "float32"]) == 0
    assert len(list((tmp_path / "dump").glob("*.npz"))) == 3
    rc = main(["run", "--adapter", "dump", "--adapter-arg", f"path={tmp_path / 'dump'}", "--dataset-root", str(dataset_root),
               "--limit", "3", "--quiet", "--out", str(tmp_path / "replay")])
    assert rc == 0
    replay = _numbers(tmp_path / "replay" / "results.json")
    assert replay[0] == direct[0] and replay[1] == [dict(r) for r in direct[1]]
    assert "Baseline" in capsys.readouterr().out


def test_a_bad_raw_output_names_the_adapter_and_the_image(dataset_root, tmp_path):
    from ovbench.adapters import ADAPTERS
    from ovbench.adapters.simulated.adapter import SimulatedAdapter

    class Broken(SimulatedAdapter):
        def predict(self, sample):
            raw = super().predict(sample)
            probs = raw.class_probs.copy()
            probs[3, 0] = np.nan
            return type(raw)(raw.image_id, raw.mask_logits, probs, raw.category_ids, raw.geometry)

    ADAPTERS.add("broken_test_adapter", Broken)
    try:
        ds = get_dataset("ade20k_panoptic_val", root=dataset_root)
        with pytest.raises(BadRawOutput, match=r"adapter 'broken_test_adapter', image 'ADE_val_00000001'.*NaN"):
            run_suite("broken_test_adapter", {}, ds, load_suite(), RunOptions(tmp_path / "b", progress=False, limit=1))
    finally:
        ADAPTERS._entries.pop("broken_test_adapter")


def test_cli_errors_are_one_clear_line(dataset_root, tmp_path, capsys):
    rc = main(["run", "--adapter", "simulatd", "--dataset-root", str(dataset_root), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "unknown adapter 'simulatd'" in err and "Did you mean 'simulated'" in err
    rc = main(["run", "--adapter", "simulated", "--dataset-root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert rc == 1 and "ade20k_panoptic_val" in capsys.readouterr().err
    rc = main(["run", "--adapter", "simulated", "--shard", "3/2", "--dataset-root", str(dataset_root), "--out", str(tmp_path / "o")])
    assert rc == 1 and "--shard" in capsys.readouterr().err


@pytest.mark.slow
def test_semantic_inference_miou_when_the_suite_enables_it(dataset_root, tmp_path):
    from ovbench.leaderboard.build import build_site
    from ovbench.suites.suite import parse_suite

    cfg = dict(load_suite().config, semantic_inference=True, diagnostics=[], overlays={"images": 0, "oracles": []})
    suite = parse_suite(cfg)
    ds = get_dataset("ade20k_panoptic_val", root=dataset_root)
    path = run_suite("simulated", {"seed": 1}, ds, suite, RunOptions(tmp_path / "s", progress=False, limit=2))
    doc = load_results(path)
    validate_results(doc)
    m = doc["oracles"]["baseline"]["miou_semantic_inference"]
    assert 0 < m < 1 and m != doc["oracles"]["baseline"]["miou"]
    assert "miou_semantic_inference" not in doc["oracles"]["select"]
    build_site([path], tmp_path / "site")
    page = next((tmp_path / "site" / "models").glob("*.html")).read_text()
    assert "semantic inference" in page and f"{100 * m:.1f}" in page


@pytest.mark.slow
def test_torchrun_ranks_split_the_images_and_rank_zero_merges(dataset_root, tmp_path, monkeypatch):
    ref = _numbers(_run(dataset_root, tmp_path / "ref"))
    monkeypatch.delenv("MASTER_ADDR", raising=False)  # no process group: the barrier is skipped
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert _run(dataset_root, tmp_path / "tr") is None  # rank 1 never merges
    assert len(list((tmp_path / "tr" / "shards").glob("*.json"))) == 3  # every other of the 6 images
    monkeypatch.setenv("RANK", "0")
    assert _numbers(_run(dataset_root, tmp_path / "tr")) == ref


@pytest.mark.slow
def test_a_main_process_adapter_with_worker_evaluation_gives_the_same_numbers(dataset_root, tmp_path):
    """Adapters that are not parallel-safe (a GPU model) predict in the main process; workers evaluate."""
    from ovbench.adapters import ADAPTERS
    from ovbench.adapters.simulated.adapter import SimulatedAdapter

    class MainProcessOnly(SimulatedAdapter):
        parallel_safe = False

    ref = _numbers(_run(dataset_root, tmp_path / "ref"))
    ADAPTERS.add("main_process_test_adapter", MainProcessOnly)
    try:
        ds = get_dataset("ade20k_panoptic_val", root=dataset_root)
        path = run_suite("main_process_test_adapter", {"seed": 1}, ds, load_suite(), RunOptions(tmp_path / "m", workers=2, progress=False))
        got = _numbers(path)
        assert got[0] == ref[0] and got[2] == ref[2]
    finally:
        ADAPTERS._entries.pop("main_process_test_adapter")
