"""The built leaderboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright's sync API; no `playwright install`): table rows, sorting, a model link, the model
page's diagnostics section, a hostile model name shown as text, no script errors, and screenshots
under the pytest tmp dir."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from ovbench.leaderboard.build import build_site

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
EVIL = "<script>alert(1)</script>"


def _sync_playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does) to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install 'ovbench[web]' (no `playwright install` needed; the system chromium is used)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    sync_playwright = _sync_playwright()
    site = tmp_path_factory.mktemp("browser") / "site"
    build_site(FIX / "good", site, policies=yaml.safe_load((FIX / "policies.yaml").read_text()))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        events = {"dialogs": [], "errors": [], "failed": []}
        page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
        page.on("console", lambda m: events["errors"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: events["errors"].append(str(e)))
        page.on("requestfailed", lambda r: events["failed"].append(r.url))
        page.set_default_timeout(10_000)
        yield site, page, events
        browser.close()


def model_names(page, table="#leaderboard-1"):
    return page.locator(f"{table} tbody td.model").all_inner_texts()


def test_leaderboard_in_chromium(browser_page):
    site, page, events = browser_page
    shots = site.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    page.goto((site / "index.html").as_uri())
    page.wait_for_selector("html[data-sort-ready='1']")  # sort.js ran under the page's CSP

    # rows: one per results file, ranked by baseline PQ
    assert page.locator("#leaderboard-1 tbody tr").count() == 3
    assert model_names(page) == ["fixture-model-b", "fixture-model-a", EVIL]
    assert page.locator("#leaderboard-1 tbody tr").nth(2).locator("td.model").inner_text() == EVIL  # text, not markup

    # sort by model name (text: ascending first), then by baseline PQ unseen (numbers: descending first)
    page.locator("#leaderboard-1 thead th", has_text="Model").locator("button").click()
    assert model_names(page) == sorted(model_names(page), key=str.lower)
    assert page.locator("#leaderboard-1 thead th", has_text="Model").get_attribute("aria-sort") == "ascending"
    unseen = page.locator("#leaderboard-1 thead th", has_text="PQ unseen").first
    unseen.locator("button").click()
    col = page.locator("#leaderboard-1 thead th").evaluate_all("(ths) => ths.findIndex(t => t.textContent.includes('PQ unseen'))")
    values = page.locator(f"#leaderboard-1 tbody tr td:nth-child({col + 1})").evaluate_all(
        "(tds) => tds.map(t => parseFloat(t.getAttribute('data-value')))")
    assert values == sorted(values, reverse=True) and unseen.get_attribute("aria-sort") == "descending"
    unseen.locator("button").click()
    assert unseen.get_attribute("aria-sort") == "ascending"
    assert page.locator("#leaderboard-1 tbody td.rank").all_inner_texts() == ["1", "2", "3"]

    # the PQ-over-time plot and the paper's tables are on the page
    assert page.locator("figure.plot img").evaluate("(img) => img.naturalWidth") > 0
    assert page.locator("#paper table.reference").count() == 5
    page.screenshot(path=str(shots / "index.png"), full_page=True)

    # follow a model link
    page.locator("#leaderboard-1 td.model a", has_text="fixture-model-a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/models/fixture-model-a.html")
    assert page.locator("h1").inner_text() == "fixture-model-a"
    loaded = page.locator("img").evaluate_all("(imgs) => imgs.map(i => i.complete && i.naturalWidth > 0)")
    assert loaded and all(loaded)  # waterfall + overlays
    page.locator("#per-class-table thead th", has_text="FN_seg").locator("button").click()
    fn_seg = page.locator("#per-class-table tbody tr td:nth-child(9)").all_inner_texts()
    assert [int(x) for x in fn_seg] == sorted((int(x) for x in fn_seg), reverse=True)
    page.screenshot(path=str(shots / "model.png"), full_page=True)

    # its diagnostics: the three sections, their plots, a sortable class table, the tuned-on-eval banner, CSV links
    diag = page.locator("#diagnostics")
    diag.scroll_into_view_if_needed()
    assert diag.is_visible()
    for sid in ("#diag-pool-recall", "#diag-calibration", "#diag-sweeps", "#tuned-banner"):
        assert page.locator(sid).is_visible(), sid
    assert "Tuned on the evaluation set." in page.locator("#tuned-banner").inner_text()
    sizes = page.locator("#diagnostics img").evaluate_all("(imgs) => imgs.map(i => [i.naturalWidth, i.getBoundingClientRect().width])")
    assert len(sizes) == 6 and all(w > 0 and shown > 150 for w, shown in sizes), sizes  # loaded and drawn at a readable size
    assert page.locator("#pool-recall-groups tbody tr").count() == 7
    discarded = page.locator("#pool-recall-classes thead th", has_text="Discarded").first
    discarded.locator("button").click()
    col = page.locator("#pool-recall-classes thead th").evaluate_all("(ths) => ths.findIndex(t => t.textContent.trim() === 'Discarded')")
    values = page.locator(f"#pool-recall-classes tbody tr td:nth-child({col + 1})").evaluate_all(
        "(tds) => tds.map(t => parseFloat(t.getAttribute('data-value')))")
    assert len(values) == 8 and values == sorted(values, reverse=True)
    for href in page.locator("#diagnostics a.csv").evaluate_all("(as) => as.map(a => a.href)"):
        assert href.startswith("file://") and Path(unquote(urlparse(href).path)).is_file(), href
    top = page.evaluate("() => document.querySelector('#diagnostics').getBoundingClientRect().top + window.scrollY")
    box = diag.bounding_box()
    page.screenshot(path=str(shots / "model_diagnostics.png"), full_page=True,
                    clip={"x": box["x"], "y": top, "width": box["width"], "height": box["height"]})

    # the hostile model's page: its name is text, nothing ran
    page.goto((site / "models" / "fixture-hostile.html").as_uri())
    assert page.locator("h1").inner_text() == EVIL
    assert page.title().startswith(EVIL)
    assert page.locator("main script").count() == 0
    page.screenshot(path=str(shots / "hostile.png"), full_page=True)

    page.goto((site / "taxonomy.html").as_uri())
    assert page.locator("#policy-table tbody tr").count() == 3
    page.screenshot(path=str(shots / "taxonomy.png"), full_page=True)

    assert events["dialogs"] == [], "a script from a results file ran"
    assert events["errors"] == [] and events["failed"] == []
    for name in ("index", "model", "model_diagnostics", "hostile", "taxonomy"):
        assert (shots / f"{name}.png").stat().st_size > 10_000
    print(f"screenshots: {shots}")
