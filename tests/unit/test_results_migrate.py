"""Schema migrations: every historic file loads at the current version; the chain mechanism works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ovbench.errors import SchemaError
from ovbench.results import migrate as migrate_mod
from ovbench.results.io import load_results
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
