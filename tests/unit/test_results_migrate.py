"""Schema migrations: every historic file loads at the current version; the chain mechanism works;
the 1 -> 2 step keeps conforming diagnostics sections and renames the others."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ovbench.errors import SchemaError
from ovbench.results import migrate as migrate_mod
from ovbench.results import validate_results
from ovbench.results.io import load_results, read_json_strict
from ovbench.results.validate import CURRENT_SCHEMA_VERSION

HISTORIC = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "historic").glob("v*_*.json"))


def test_there_is_a_historic_file_per_published_version():
    versions = {int(p.name.split("_")[0][1:]) for p in HISTORIC}
    assert versions == set(range(1, CURRENT_SCHEMA_VERSION + 1))


@pytest.mark.parametrize("path", HISTORIC, ids=lambda p: p.name)
def test_historic_files_migrate_and_validate(path):
    doc = load_results(path, validate=True)
    assert doc["schema_version"] == CURRENT_SCHEMA_VERSION


def test_chain_of_steps_runs_in_order(monkeypatch):
    monkeypatch.setattr(migrate_mod, "MIGRATIONS", {})
    migrate_mod.step(1)(lambda d: {**d, "schema_version": 2, "renamed": d["old"]})
    migrate_mod.step(2)(lambda d: {**d, "schema_version": 3, "added": True})
    src = {"schema_version": 1, "old": "x"}
    out = migrate_mod.migrate(src, target=3)
    assert out == {"schema_version": 3, "old": "x", "renamed": "x", "added": True}
    assert src == {"schema_version": 1, "old": "x"}  # input untouched


def test_duplicate_step_gap_newer_and_missing_version(monkeypatch):
    monkeypatch.setattr(migrate_mod, "MIGRATIONS", {})
    migrate_mod.step(1)(lambda d: {**d, "schema_version": 2})
    with pytest.raises(ValueError, match="two migrations"):
        migrate_mod.step(1)(lambda d: d)
    with pytest.raises(SchemaError, match="no migration from schema version 2"):
        migrate_mod.migrate({"schema_version": 1}, target=3)
    with pytest.raises(SchemaError, match="newer than this ovbench"):
        migrate_mod.migrate({"schema_version": 9}, target=1)
    with pytest.raises(SchemaError, match="schema_version"):
        migrate_mod.migrate({"kind": "ovbench-results"})


def test_load_results_refuses_future_file(tmp_path):
    doc = json.loads(HISTORIC[0].read_text())
    doc["schema_version"] = CURRENT_SCHEMA_VERSION + 1
    p = tmp_path / "results.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(SchemaError, match=f"{p}.*upgrade ovbench"):
        load_results(tmp_path)


def test_v1_to_v2_keeps_the_diagnostics_ovbench_wrote():
    path = next(p for p in HISTORIC if p.name.startswith("v1_simulated"))
    raw = read_json_strict(path)
    assert raw["schema_version"] == 1 and set(raw["diagnostics"]) == {"pool_recall", "calibration", "sweeps"}
    doc = load_results(path)  # validated by test_historic_files_migrate_and_validate
    assert doc["diagnostics"] == raw["diagnostics"]  # nothing renamed, nothing changed
    assert {k: v for k, v in doc.items() if k not in ("schema_version",)} == {k: v for k, v in raw.items() if k != "schema_version"}


def test_v1_to_v2_renames_sections_the_fragment_rejects():
    raw = read_json_strict(next(p for p in HISTORIC if p.name.startswith("v1_simulated")))
    raw["per_class"] = raw["per_class"][:5]  # smaller document, faster validation; the step does not look at it
    raw["diagnostics"] = {
        "pool_recall": {"discarded_valid_mask_rate": 0.31},         # an early free-form section: renamed
        "calibration": raw["diagnostics"]["calibration"],           # follows the fragment: kept
        "sweeps": [1, 2],                                           # renamed, next to an existing legacy key
        "legacy_v1_sweeps": "taken",
        "notes": "free-form text",                                  # other keys: untouched
    }
    before = copy.deepcopy(raw)
    doc = migrate_mod.migrate(raw)
    assert raw == before  # pure
    assert list(doc["diagnostics"]) == ["legacy_v1_pool_recall", "calibration", "legacy_v1_sweeps_2", "legacy_v1_sweeps", "notes"]
    assert doc["diagnostics"]["legacy_v1_pool_recall"] == {"discarded_valid_mask_rate": 0.31}
    assert doc["diagnostics"]["calibration"] == before["diagnostics"]["calibration"]
    assert doc["schema_version"] == 2
    validate_results(doc)


def test_v1_file_without_diagnostics_gains_nothing():
    raw = read_json_strict(next(p for p in HISTORIC if p.name.startswith("v1_fixture")))
    assert "diagnostics" not in raw
    doc = migrate_mod.migrate(raw)
    assert "diagnostics" not in doc and doc == {**raw, "schema_version": 2}
