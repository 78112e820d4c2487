"""`ovbench submit check`: every rule, on a throw-away repository layout under tmp_path."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from ovbench.cli import main
from ovbench.errors import SubmissionError
from ovbench.submit.check import check_submission, load_standards, published_suite

GOOD = Path(__file__).resolve().parents[1] / "fixtures" / "results" / "good"
DOC_A = json.loads((GOOD / "fixture-model-a" / "results.json").read_text())
DOC_B = json.loads((GOOD / "fixture-model-b" / "results.json").read_text())

MANIFEST = {
    "name": "fixture-model-a",
    "paper": "https://example.org/papers/fixture-model-a",
    "code": None,
    "release_date": "2024-03-01",
    "license": "Apache-2.0",
    "training_data": "coco_panoptic_train2017",
    "backbone": "fixture_backbone",
    "clip_model": "fixture-clip",
    "checkpoint_sha256": DOC_A["model"]["checkpoint_sha256"],
    "contacts": ["@fixture-maintainer"],
}

HOSTILE_CODE = """\
import pathlib
pathlib.Path(__file__).with_name("IMPORTED").write_text("submitted code ran")
raise SystemExit("submitted code must never run")
"""


def make_submission(root: Path, doc: dict, *, name: str | None = None, manifest: dict | None = None,
                    file: str = "fixture_suite-v1.json", copy_overlays: bool = True) -> Path:
    name = name or doc["model"]["adapter"]
    adir = root / "adapters" / doc["model"]["adapter"]
    adir.mkdir(parents=True, exist_ok=True)
    m = dict(MANIFEST, name=doc["model"]["name"], checkpoint_sha256=doc["model"]["checkpoint_sha256"],
             paper=doc["model"]["paper"], release_date=doc["model"]["release_date"]) if manifest is None else manifest
    (adir / "submission.yaml").write_text(yaml.safe_dump(m, sort_keys=False))
    for code in ("__init__.py", "adapter.py"):
        (adir / code).write_text(HOSTILE_CODE)
    rdir = root / "leaderboard" / "results" / name
    rdir.mkdir(parents=True, exist_ok=True)
    if copy_overlays and doc.get("overlays"):
        shutil.copytree(GOOD / "fixture-model-a" / "overlays", rdir / "overlays", dirs_exist_ok=True)
    path = rdir / file
    path.write_text(json.dumps(doc, indent=1))
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    std = {
        "schema": "ovbench-standards/1",
        "datasets": {"fixture_dataset": {"annotation_sha256": DOC_A["dataset"]["annotation_sha256"], "num_images": 40,
                                         "num_classes": 8}},
        "suites": {"fixture_suite": {"version": "1", "sha256": DOC_A["suite"]["sha256"]}},
        "taxonomies": {"fixture_taxonomy": {"sha256": DOC_A["taxonomy"]["sha256"]}},
    }
    (tmp_path / "standards.yaml").write_text(yaml.safe_dump(std))
    make_submission(tmp_path, DOC_A)
    return tmp_path


def check(repo: Path, path: Path | None = None, **kw):
    return check_submission(path or repo, root=repo, standards=repo / "standards.yaml", **kw)


def test_good_submission_passes_from_every_entry_point(repo):
    results = repo / "leaderboard" / "results" / "fixture-model-a" / "fixture_suite-v1.json"
    for target in (repo, results, repo / "adapters" / "fixture-model-a", results.parent, repo / "leaderboard" / "results"):
        report = check(repo, target)
        assert report.ok, report.format()
        assert report.checked == [results]


def test_submitted_code_is_never_imported(repo):
    report = check(repo)
    assert report.ok
    adir = repo / "adapters" / "fixture-model-a"
    assert not (adir / "IMPORTED").exists()
    assert not any(getattr(m, "__file__", None) and str(adir) in str(m.__file__) for m in list(sys.modules.values()))


def test_wrong_suite_hash(repo):
    doc = json.loads(json.dumps(DOC_A))
    doc["suite"]["sha256"] = "0" * 64
    make_submission(repo, doc)
    report = check(repo)
    assert not report.ok
    assert any("$.suite.sha256" in p and "settings were changed" in p for p in report.problems), report.format()


def test_wrong_suite_version_and_unknown_suite(repo):
    doc = json.loads(json.dumps(DOC_A))
    doc["suite"]["version"] = "2"
    make_submission(repo, doc)
    assert any("$.suite.version" in p for p in check(repo).problems)
    doc["suite"]["name"] = "my_suite"
    make_submission(repo, doc)
    assert any("not a published standard" in p for p in check(repo).problems)


def test_wrong_dataset_hash_and_counts(repo):
    doc = json.loads(json.dumps(DOC_A))
    doc["dataset"]["annotation_sha256"] = "f" * 64
    make_submission(repo, doc)
    report = check(repo)
    assert any("$.dataset.annotation_sha256" in p and "another version of the dataset" in p for p in report.problems)


def test_unpublished_standard_hash_is_refused(repo):
    std = yaml.safe_load((repo / "standards.yaml").read_text())
    std["datasets"]["fixture_dataset"]["annotation_sha256"] = None
    (repo / "standards.yaml").write_text(yaml.safe_dump(std))
    assert any("not published yet" in p for p in check(repo).problems)


def test_path_does_not_match_model(repo):
    shutil.rmtree(repo / "leaderboard" / "results" / "fixture-model-a")
    make_submission(repo, DOC_A, name="someone-else")
    report = check(repo)
    assert any("path does not match the model" in p and "someone-else" in p for p in report.problems), report.format()


def test_file_outside_the_results_layout(repo, tmp_path):
    stray = repo / "leaderboard" / "results" / "stray.json"
    stray.write_text(json.dumps(DOC_A))
    assert any("must lie directly in" in p for p in check(repo, stray).problems)


def test_duplicate_model_and_suite(repo):
    make_submission(repo, DOC_A, file="again.json")
    report = check(repo, repo / "leaderboard" / "results" / "fixture-model-a" / "again.json")
    assert any(p.startswith("duplicate results for model 'fixture-model-a'") for p in report.problems), report.format()


def test_missing_and_mismatched_manifest(repo):
    mpath = repo / "adapters" / "fixture-model-a" / "submission.yaml"
    m = yaml.safe_load(mpath.read_text())
    m["release_date"] = "2020-01-01"
    m.pop("contacts")
    mpath.write_text(yaml.safe_dump(m))
    problems = check(repo).problems
    assert any("'contacts' is a required property" in p for p in problems)
    m["contacts"] = ["x"]
    mpath.write_text(yaml.safe_dump(m))
    assert any("$.model.release_date" in p and "2020-01-01" in p for p in check(repo).problems)
    mpath.unlink()
    assert any("missing manifest" in p for p in check(repo).problems)


def test_unquoted_yaml_date_is_accepted(repo):
    mpath = repo / "adapters" / "fixture-model-a" / "submission.yaml"
    mpath.write_text(mpath.read_text().replace("release_date: '2024-03-01'", "release_date: 2024-03-01"))
    assert "release_date: 2024-03-01" in mpath.read_text()
    assert check(repo).ok


def test_tampered_aggregate_is_caught(repo):
    doc = json.loads(json.dumps(DOC_A))
    doc["oracles"]["select"]["splits"]["unseen"]["pq"] += 0.05
    make_submission(repo, doc)
    assert any("$.oracles.select.splits.unseen.pq" in p and "recomputed from per_class" in p for p in check(repo).problems)


def test_schema_errors_and_all_problems_listed(repo):
    doc = json.loads(json.dumps(DOC_A))
    doc["model"]["kind"] = "cnn"
    doc["oracles"]["baseline"]["splits"]["all"]["pq"] = 2.0
    make_submission(repo, doc)
    report = check(repo)
    assert len(report.problems) == 2 and not report.ok
    with pytest.raises(SubmissionError, match="2 problem"):
        report.raise_if_failed()


def test_size_limits_and_missing_overlay(repo):
    std = yaml.safe_load((repo / "standards.yaml").read_text())
    std["limits"] = {"max_adapter_folder_bytes": 10}
    (repo / "standards.yaml").write_text(yaml.safe_dump(std))
    (repo / "leaderboard" / "results" / "fixture-model-a" / "overlays" / "ADE_val_00000001_gt.png").unlink()
    problems = check(repo).problems
    assert any("over the limit of 10" in p for p in problems)
    assert any("$.overlays[0].files.gt" in p and "does not exist" in p for p in problems)
    std["limits"] = {"max_results_bytes": 100}
    (repo / "standards.yaml").write_text(yaml.safe_dump(std))
    assert any("over the limit of 100" in p for p in check(repo).problems)


def test_simulated_model_refused_unless_allowed(repo):
    doc = json.loads(json.dumps(DOC_A))
    doc["model"]["kind"] = "simulated"
    make_submission(repo, doc)
    assert any("simulated models are not ranked" in p for p in check(repo).problems)


def test_cli_exit_status_and_message(repo, capsys):
    assert main(["submit", "check", str(repo), "--root", str(repo), "--standards", str(repo / "standards.yaml")]) == 0
    assert "OK" in capsys.readouterr().out
    doc = json.loads(json.dumps(DOC_A))
    doc["suite"]["sha256"] = "1" * 64
    make_submission(repo, doc)
    assert main(["submit", "check", str(repo), "--root", str(repo), "--standards", str(repo / "standards.yaml")]) == 1
    assert "$.suite.sha256" in capsys.readouterr().err


def test_shipped_standards_and_package_suite():
    std = load_standards()
    assert "ade20k_panoptic_val" in std.datasets and std.suites["standard"] == {"source": "package"}
    from ovbench.suites.suite import load_suite

    suite = load_suite("standard")
    assert published_suite("standard", std) == (suite.version, suite.sha256)


def test_other_json_in_a_results_folder_is_named(repo):
    stray = repo / "leaderboard" / "results" / "fixture-model-a" / "timing.json"
    stray.write_text('{"images": 3, "seconds": {}}')
    problems = check(repo).problems
    assert any(str(stray) in p and "not an ovbench results file" in p for p in problems), problems


def test_dataset_variant_admits_simulated_results(repo):
    doc = json.loads(json.dumps(DOC_A))
    doc["model"]["kind"] = "simulated"
    doc["dataset"]["annotation_sha256"] = "a" * 64
    make_submission(repo, doc)
    std = yaml.safe_load((repo / "standards.yaml").read_text())
    std["datasets"]["fixture_dataset"]["variants"] = [
        {"label": "demo set", "annotation_sha256": "a" * 64, "num_images": 40, "allow_simulated": True}]
    (repo / "standards.yaml").write_text(yaml.safe_dump(std))
    assert check(repo).ok, check(repo).format()
    std["datasets"]["fixture_dataset"]["variants"][0]["allow_simulated"] = False
    (repo / "standards.yaml").write_text(yaml.safe_dump(std))
    assert any("not ranked on 'fixture_dataset' (demo set)" in p for p in check(repo).problems)
