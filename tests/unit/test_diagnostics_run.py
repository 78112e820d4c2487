"""`ovbench run` end to end with the standard suite's diagnostics: the results section and the
CSV tables exist, follow the schema fragment, and agree with the oracle numbers."""

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from ovbench.cli import main
from ovbench.data.synthetic import generate_dataset
from ovbench.results import validate_results
from ovbench.results.io import load_results

SCHEMA = Path(__file__).resolve().parents[2] / "benchmark" / "diagnostics" / "schema.json"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate_dataset(root, 3, seed=11, height=96, width=128, workers=1)
    out = tmp_path_factory.mktemp("run")
    rc = main(["run", "--adapter", "simulated", "--dataset", "ade20k_panoptic_val", "--dataset-root", str(root), "--out", str(out), "--quiet"])
    assert rc == 0
    return out


def test_results_hold_the_diagnostics_in_the_schema(run_dir):
    doc = load_results(run_dir / "results.json")
    validate_results(doc)
    diag = doc["diagnostics"]
    assert set(diag) == {"pool_recall", "calibration", "sweeps"}
    jsonschema.validate(diag, json.loads(SCHEMA.read_text()))
    for name in diag:
        assert (run_dir / f"diagnostics_{name}.csv").exists()


def test_pool_recall_agrees_with_the_baseline_counts(run_dir):
    doc = load_results(run_dir / "results.json")
    base = [r for r in doc["per_class"] if r["oracle"] == "baseline"]
    tp, fn = sum(r["tp"] for r in base), sum(r["fn"] for r in base)
    g = doc["diagnostics"]["pool_recall"]["groups"]
    assert g["all"]["tp"] == tp and g["all"]["n"] == tp + fn
    assert g["all"]["output_recall"] == pytest.approx(tp / (tp + fn))
    assert g["all"]["pool_recall"] >= g["all"]["output_recall_agnostic"] - 0.05  # stuff merges may beat single masks, rarely
    assert g["all"]["discarded"] == g["all"]["discarded_void"] + g["all"]["discarded_threshold"] + g["all"]["discarded_fusion"]
    assert {"seen", "unseen", "conflict", "clean"} <= set(g)
    assert g["seen"]["n"] + g["unseen"]["n"] == g["all"]["n"] == g["conflict"]["n"] + g["clean"]["n"]
    # per class: n = TP + FN of the baseline, from the CSV
    csv = pd.read_csv(run_dir / "diagnostics_pool_recall.csv")
    by_id = {r["category_id"]: r for r in base}
    for _, row in csv.iterrows():
        r = by_id[row["category_id"]]
        assert row["n"] == r["tp"] + r["fn"] and row["tp"] == r["tp"]
    assert csv["n"].sum() == tp + fn


def test_sweeps_default_is_the_baseline_and_calibration_counts_every_candidate(run_dir):
    doc = load_results(run_dir / "results.json")
    sw = doc["diagnostics"]["sweeps"]
    assert sw["baseline_mismatch"] == 0 and sw["images"] == 3
    assert sw["thresholds"]["default"]["pq"] == doc["oracles"]["baseline"]["splits"]["all"]["pq"]
    assert sw["thresholds"]["best"]["pq"] >= sw["thresholds"]["default"]["pq"]
    # the simulator has no pre-ensemble logits: every image the ensemble sweep picks is counted as such
    from ovbench.diagnostics.sweeps import Sweeps

    picked = sum(Sweeps(ensemble={"every": sw["ensemble"]["every"]}).uses_ensemble(i) for i in pd.read_csv(run_dir / "per_image.csv.gz")["image_id"].unique())
    assert sw["ensemble"]["images"] == 0 and sw["ensemble"]["images_without_logits"] == picked
    rows = pd.read_csv(run_dir / "diagnostics_sweeps.csv")
    assert len(rows) == _grid_size(doc) and rows["is_best_tuned_on_eval"].sum() == 1 and rows["is_default"].sum() == 1
    cal = doc["diagnostics"]["calibration"]
    assert cal["overall"]["candidates"] == 3 * doc["inference"]["num_queries"]
    assert sum(cal["histogram"]["matched"]) + sum(cal["histogram"]["unmatched"]) == cal["overall"]["candidates"]
    assert cal["groups"]["all"]["best"] == doc["diagnostics"]["pool_recall"]["groups"]["all"]["pool_valid"]


def _grid_size(doc) -> int:
    """Settings of the threshold sweep: the suite's grids plus the model's own values."""
    params = dict(dict(doc["suite"]["config"]["diagnostics"][2])["params"])
    t = set(params["object_mask_threshold"]) | {doc["inference"]["object_mask_threshold"]}
    o = set(params["overlap_threshold"]) | {doc["inference"]["overlap_threshold"]}
    return len(t) * len(o)
