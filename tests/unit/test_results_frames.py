"""Results files as pandas DataFrames, one call each."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovbench.errors import SchemaError
from ovbench.results import load_per_class_table, load_results_frames, load_results_table

GOOD = Path(__file__).resolve().parents[1] / "fixtures" / "results" / "good"


def test_frames_of_one_file():
    fr = load_results_frames(GOOD / "fixture-model-a")
    s = fr["summary"]
    assert len(s) == 6 * 5  # oracles x splits
    row = s[(s.oracle == "baseline") & (s.split == "all")].iloc[0]
    assert 0 < row.pq < 1 and row.pq_lo <= row.pq <= row.pq_hi and row.model == "fixture-model-a"
    assert set(fr["per_class"].oracle) == set(s.oracle)
    assert len(fr["per_class"]) == 6 * 8
    assert list(fr["fn_breakdown"].columns[:3]) == ["model", "adapter", "suite"]
    assert set(fr["conflict_views"].view) == {"clean", "conflict"}
    assert len(fr["meta"]) == 1 and fr["meta"].num_images.iloc[0] == 40


def test_table_over_a_folder_one_row_per_model_oracle_split():
    t = load_results_table(GOOD)
    assert set(t.model) == {"fixture-model-a", "fixture-model-b", "<script>alert(1)</script>"}
    assert not t.duplicated(["model", "oracle", "split"]).any()
    assert len(t) == (6 + 2 + 2) * 5
    assert t.pq.dtype == "float64"
    pc = load_per_class_table([GOOD / "fixture-model-a", GOOD / "fixture-model-b" / "results.json"])
    assert set(pc.model) == {"fixture-model-a", "fixture-model-b"}


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(SchemaError, match="no results files"):
        load_results_table(tmp_path)
    with pytest.raises(SchemaError, match="no such file"):
        load_results_table(tmp_path / "missing")


def test_diagnostics_frames():
    fr = load_results_frames(GOOD / "fixture-model-a")
    assert len(fr["pool_recall"]) == 8 and {"model", "category_id", "discarded_rate"} <= set(fr["pool_recall"].columns)
    assert list(fr["pool_recall_groups"].group) == ["all", "things", "stuff", "seen", "unseen", "conflict", "clean"]
    assert len(fr["calibration_reliability"]) == 20 and fr["calibration_groups"].group.iloc[0] == "all"
    sw = fr["sweeps"]
    assert set(sw.sweep) == {"thresholds", "ensemble"} and (sw.sweep == "thresholds").sum() == 50
    assert sw.groupby("sweep").is_best_tuned_on_eval.sum().to_dict() == {"ensemble": 1, "thresholds": 1}
    b = load_results_frames(GOOD / "fixture-model-b")  # no diagnostics: empty frames, same keys
    assert b["pool_recall"].empty and b["sweeps"].empty and set(b) == set(fr)
