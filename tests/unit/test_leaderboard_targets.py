"""Leaderboard across targets without a browser: matrix cells, dataset pages, semantic model pages."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from semantic_helpers import semantic_from_panoptic

from ovbench.data.catalog import get_dataset
from ovbench.data.synthetic import generate_dataset
from ovbench.leaderboard.build import build_site
from ovbench.leaderboard.config import load_columns
from ovbench.leaderboard.targets import dataset_labels, headline_oracle, oracle_value
from ovbench.results.io import load_results
from ovbench.runner.run import RunOptions, run_suite
from ovbench.suites.suite import load_suite

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results" / "good"


@pytest.fixture(scope="module")
def semantic_results(tmp_path_factory):
    base = tmp_path_factory.mktemp("lbt")
    generate_dataset(base / "d", 2, seed=4, height=96, width=128, workers=1, write_images=False)
    sem, _ = semantic_from_panoptic(get_dataset("ade20k_panoptic_val", root=base / "d"), base / "sem")
    return run_suite("simulated", {"num_queries": 40}, sem, load_suite("semantic"), RunOptions(base / "run", progress=False))


def test_semantic_headline_is_semantic_inference_and_panoptic_is_baseline_pq(semantic_results):
    doc = load_results(semantic_results)
    assert headline_oracle(doc) == "semantic_inference"
    assert oracle_value(doc, "oracle_cls", "seen") == doc["oracles"]["oracle_cls"]["miou_splits"]["seen"]["miou"]
    pan = load_results(FIX / "fixture-model-a" / "results.json")
    assert headline_oracle(pan) == "baseline"
    assert oracle_value(pan, "baseline") == pan["oracles"]["baseline"]["splits"]["all"]["pq"]
    assert oracle_value(pan, "no_such_oracle") is None


def test_dataset_labels_qualify_names_with_several_annotation_files():
    a, b, c = ("ade", "1" * 64), ("ade", "2" * 64), ("voc", "3" * 64)
    assert dataset_labels([a, b, c]) == {a: "ade (11111111)", b: "ade (22222222)", c: "voc"}


def test_site_with_panoptic_and_semantic_targets(semantic_results, tmp_path):
    out = tmp_path / "site"
    report = build_site([FIX, semantic_results], out)
    doc = load_results(semantic_results)
    index = html.unescape((out / "index.html").read_text())
    matrix = index[index.index('id="matrix"'):index.index("</section>", index.index('id="matrix"'))]
    assert "semantic · mIoU" in matrix and "panoptic · PQ" in matrix
    assert f"mIoU {100 * doc['oracles']['semantic_inference']['miou']:.1f}" in matrix
    # every model of the fixtures is a row; the simulated model has one cell per its dataset
    assert matrix.count('<th scope="row" class="model">') == 4
    pages = {p.name for p in (out / "datasets").glob("*.html")}
    assert len(pages) == 2 and any(p.startswith("semantic_test-") for p in pages)
    sem_pages = [p for p in report.pages if p.parent.name == "models" and 'id="semantic-target"' in p.read_text()]
    assert len(sem_pages) == 1
    sem_page = sem_pages[0]
    text = html.unescape(sem_page.read_text())
    assert "mIoU all" in text and "PQ all" not in text
    name, value = next(iter(doc["oracles"]["oracle_cls"]["miou_harmonised"].items()))  # ADE-150 classes: pillow_cushion, ...
    assert 'id="harmonised-miou"' in text and f"<th scope=\"col\">{name}</th>" in text
    assert (out / "data" / sem_page.stem / "per_class_semantic.csv").is_file()
    # the semantic ranked table on the index links into models/
    assert f'href="models/{sem_page.name}"' in index


def test_columns_know_every_semantic_oracle_and_split(semantic_results):
    from ovbench.leaderboard.config import check_known

    check_known(load_results(semantic_results), load_columns(), "x")  # raises on anything unknown
