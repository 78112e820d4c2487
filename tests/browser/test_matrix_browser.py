"""The leaderboard across targets in headless Chromium: the index's model x dataset matrix (PQ on
panoptic targets, mIoU on a semantic one, an in-domain COCO column), a dataset page reached from
the matrix, a semantic model page (mIoU, no PQ) and the model's all-datasets table."""

from __future__ import annotations

from pathlib import Path

import pytest
from semantic_helpers import semantic_from_panoptic

from ovbench.data.catalog import get_dataset
from ovbench.data.synthetic import generate_dataset
from ovbench.leaderboard.build import build_site
from ovbench.results.io import load_results
from ovbench.runner.run import RunOptions, run_suite
from ovbench.suites.suite import load_suite

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SIM = {"seed": 0, "num_queries": 40}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install 'ovbench[web]'")
    base = tmp_path_factory.mktemp("matrix")
    generate_dataset(base / "d", 2, seed=4, height=96, width=128, workers=1, write_images=False)
    generate_dataset(base / "d", 2, seed=5, layout="coco", height=96, width=128, workers=1, write_images=False)
    opts = lambda name: RunOptions(base / "runs" / name, progress=False)  # noqa: E731
    ade = get_dataset("ade20k_panoptic_val", root=base / "d")
    paths = [run_suite("simulated", SIM, ade, load_suite(), opts("ade")),
             run_suite("simulated", SIM, get_dataset("coco_panoptic_val", root=base / "d"), load_suite(), opts("coco"))]
    sem, _ = semantic_from_panoptic(ade, base / "sem", name="semantic_test")
    paths.append(run_suite("simulated", SIM, sem, load_suite("semantic"), opts("sem")))
    out = base / "site"
    build_site(paths, out)
    return out, [load_results(p) for p in paths]


def test_matrix_dataset_and_semantic_pages_in_chromium(site):
    from playwright.sync_api import sync_playwright

    out, (ade, coco, sem) = site
    shots = out.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(10_000)
        page.goto((out / "index.html").as_uri())

        # one row (one model), three dataset columns: panoptic ones first, each with its metric
        heads = page.locator("#matrix-table thead th.target")
        assert heads.count() == 3
        labels = [heads.nth(i).locator("a").inner_text() for i in range(3)]
        assert labels == ["ade20k_panoptic_val", "coco_panoptic_val", "semantic_test"]
        subs = [heads.nth(i).locator(".sub").inner_text() for i in range(3)]
        assert subs == ["panoptic · PQ", "panoptic · PQ · in-domain", "semantic · mIoU"]
        assert page.locator("#matrix-table tbody tr").count() == 1
        cells = page.locator("#matrix-table tbody tr td.matrix-cell")
        # headline values: baseline PQ; semantic: Mask2Former semantic inference mIoU (x100, 1 decimal)
        want = [f"PQ {100 * ade['oracles']['baseline']['splits']['all']['pq']:.1f}",
                f"PQ {100 * coco['oracles']['baseline']['splits']['all']['pq']:.1f}",
                f"mIoU {100 * sem['oracles']['semantic_inference']['miou']:.1f}"]
        assert [cells.nth(i).locator(".headline").inner_text() for i in range(3)] == want
        # upper bounds under each headline, e.g. + GT cls
        bound = f"+ GT cls {100 * sem['oracles']['select_no_void_cls']['miou']:.1f}"
        assert bound in cells.nth(2).locator(".bound").all_inner_texts()
        assert "PQ" not in cells.nth(2).inner_text()
        page.screenshot(path=str(shots / "matrix.png"), full_page=True)

        # the semantic column's header leads to its dataset page, ranked by mIoU
        heads.nth(2).locator("a").click()
        page.wait_for_load_state()
        assert "/datasets/semantic_test-" in page.url
        assert page.locator("#dataset-task").inner_text().startswith("semantic: ranked by mIoU")
        assert page.locator("#dataset-table-1 tbody tr").count() == 1
        assert "PQ" not in page.locator("#dataset-table-1 thead").inner_text()
        page.screenshot(path=str(shots / "dataset.png"), full_page=True)

        # its model page: mIoU per split, no PQ, and every dataset of the model with links
        page.locator("#dataset-table-1 td.model a").click()
        page.wait_for_load_state()
        assert page.locator("#semantic-target").is_visible()
        assert "mIoU all" in page.locator("#oracle-table thead").inner_text()
        assert "PQ" not in page.locator("#oracle-table").inner_text()
        rows = page.locator("#model-datasets tbody tr")
        assert rows.count() == 3 and page.locator("#model-datasets tr.current th").inner_text().startswith("semantic_test")
        page.screenshot(path=str(shots / "semantic_model.png"), full_page=True)
        # ... whose links lead to the same model's panoptic pages
        rows.nth(1).locator("td a").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == coco["model"]["name"]
        assert "coco_panoptic_val" in page.locator(".crumbs").inner_text()

        # the paper-numbers section keeps its label
        page.goto((out / "index.html").as_uri())
        assert "reported in the paper, not re-run by ovbench" in page.locator("#paper .warning").inner_text()
        browser.close()
    assert errors == []
