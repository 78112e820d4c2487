"""The static site builder: pages, data files, escaping, relative links, failure modes."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from ovbench.cli import main
from ovbench.errors import ConfigError, OvbenchError
from ovbench.leaderboard.build import BuildError, build_site
from ovbench.leaderboard.config import load_columns, load_reference
from ovbench.submit.check import load_standards

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results"
GOOD = FIX / "good"
POLICIES = yaml.safe_load((FIX / "policies.yaml").read_text())
EVIL = "<script>alert(1)</script>"


class Links(HTMLParser):
    """Collect every href/src of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v is not None:
                self.links.append((tag, v))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lb") / "site"
    build_site(GOOD, out, policies=POLICIES)
    return out


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_pages_and_data_files(site):
    assert (site / "index.html").is_file() and (site / "taxonomy.html").is_file()
    for slug in ("fixture-model-a", "fixture-model-b", "fixture-hostile"):
        assert (site / "models" / f"{slug}.html").is_file()
        assert (site / "models" / slug / "waterfall.svg").is_file()
        for name in ("results.json", "summary.csv", "per_class.csv", "fn_breakdown.csv"):
            assert (site / "data" / slug / name).is_file(), name
    copied = json.loads((site / "data" / "fixture-model-a" / "results.json").read_text())
    assert copied == json.loads((GOOD / "fixture-model-a" / "results.json").read_text())
    for name in ("leaderboard.csv", "leaderboard.json", "paper_tables.json", "taxonomy_policies.json"):
        assert (site / "data" / name).is_file(), name
    for slug in ("fixture-model-a", "fixture-hostile"):
        for name in ("pool_recall", "calibration", "sweeps"):
            assert (site / "data" / slug / f"diagnostics_{name}.csv").is_file(), (slug, name)
    assert not list((site / "data" / "fixture-model-b").glob("diagnostics_*"))
    assert len(list((site / "models" / "fixture-model-a" / "overlays").glob("*.png"))) == 8
    assert list((site / "plots").glob("pq_over_time_*.svg"))
    assert json.loads((site / "ovbench-site.json").read_text())["generator"].startswith("ovbench")


def test_every_link_is_relative_and_resolves(site):
    for page in pages(site):
        parser = Links()
        parser.feed(page.read_text())
        assert parser.links, page
        for tag, link in parser.links:
            u = urlparse(link)
            if u.scheme in ("http", "https"):
                assert tag == "a", (page, link)  # external links only as anchors, never loaded resources
                continue
            assert not u.scheme and not u.netloc and not link.startswith("/"), (page, link)
            target = (page.parent / unquote(u.path)).resolve() if u.path else page
            assert target.is_file(), f"{page.relative_to(site)} links to missing {link}"
            assert target.is_relative_to(site.resolve())


def test_every_page_links_its_data(site):
    index = (site / "index.html").read_text()
    assert 'href="data/leaderboard.csv"' in index and 'href="data/paper_tables.json"' in index
    model = (site / "models" / "fixture-model-a.html").read_text()
    assert 'href="../data/fixture-model-a/results.json"' in model and 'href="../data/fixture-model-a/per_class.csv"' in model
    assert 'href="data/taxonomy_policies.json"' in (site / "taxonomy.html").read_text()


def test_hostile_strings_are_escaped_everywhere(site):
    for page in pages(site):
        html = page.read_text()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts == ['<script src="../static/sort.js" defer>'] or scripts == ['<script src="static/sort.js" defer>'], page
        assert "<img src=x" not in html and "<b>bold</b>" not in html and "<b>policy</b>" not in html
        assert "javascript:" not in html
    hostile = (site / "models" / "fixture-hostile.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt; &amp; &#34;quotes&#34;" in hostile
    assert "pillow&lt;script&gt;alert(3)&lt;/script&gt;" in hostile
    hostile_diag = hostile.split('id="diagnostics"')[1]
    assert "pillow&lt;script&gt;alert(3)&lt;/script&gt;" in hostile_diag.split('id="diag-calibration"')[0]  # pool_recall classes
    assert "&lt;b&gt;probe&lt;/b&gt;.note" in hostile_diag and "&lt;img src=x onerror=alert(4)&gt;" in hostile_diag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (site / "index.html").read_text()
    for svg in site.rglob("*.svg"):
        assert "<script" not in svg.read_text()


def test_index_ranks_and_separates_paper_numbers(site):
    html = (site / "index.html").read_text()
    table = html.split('id="leaderboard-1"')[1].split("</table>")[0]
    names = re.findall(r'<td class="model"><a href="models/[^"]+">([^<]+)</a>', table)
    assert names == ["fixture-model-b", "fixture-model-a", "&lt;script&gt;alert(1)&lt;/script&gt;"]  # by baseline PQ
    paper = html.split('id="paper"')[1]
    assert "reported in the paper, not re-run by ovbench" in paper
    for n in range(1, 6):
        assert f"<strong>Table {n}.</strong>" in paper
    assert "66.4" in paper and "41.8" in paper and "1213" in paper
    assert "66.4" not in html.split('id="paper"')[0]  # never mixed into the ranked tables


def test_model_page_sections(site):
    html = (site / "models" / "fixture-model-a.html").read_text()
    for section in ('id="oracles"', 'id="per-class"', 'id="conflicts"', 'id="overlays"', 'id="diagnostics"'):
        assert section in html
    assert "pillow_cushion" in html
    diag = html.split('id="diagnostics"')[1]
    for section in ('id="diag-pool-recall"', 'id="diag-calibration"', 'id="diag-sweeps"', 'id="tuned-banner"', 'id="diag-other"'):
        assert section in diag
    assert 'id="sweeps-ensemble"' in diag and 'src="fixture-model-a/diag_ensemble.svg"' in diag  # fixture has an ensemble sweep
    assert "third_party_probe.score" in diag and "0.31" in diag  # free-form keys: key/value rows
    assert "discarded_rate" not in diag  # the shipped sections are not flattened into key/value rows
    b = (site / "models" / "fixture-model-b.html").read_text()
    assert 'id="overlays"' not in b and 'id="diagnostics"' not in b


def test_taxonomy_page_from_policies(site):
    html = (site / "taxonomy.html").read_text()
    assert 'id="policy-pillow-bed"' in html and "light-granularity" in html
    assert "<code>ade:82</code> light</li>" in html  # node labels from the class lists
    assert "hostile-&lt;b&gt;policy&lt;/b&gt;" in html and "&lt;script&gt;alert(&#39;policy&#39;)&lt;/script&gt;" in html
    row = html.split('id="policy-pillow-bed"')[1].split("</tr>")[0]
    assert row.count('class="num"') == 3  # one PQ cell per results file with conflict_pq


def test_taxonomy_page_says_when_the_graph_is_missing(tmp_path, monkeypatch):
    import ovbench.leaderboard.build as b

    monkeypatch.setattr(b, "graph_policies", lambda: (None, "graph unavailable for this test"))
    report = build_site(GOOD / "fixture-model-b", tmp_path / "s")
    assert "graph unavailable for this test" in (tmp_path / "s" / "taxonomy.html").read_text()
    assert report.notes == ["graph unavailable for this test"]


def _copy_results(tmp_path: Path, name: str = "fixture-model-b") -> tuple[Path, dict]:
    dst = tmp_path / "results" / name
    shutil.copytree(GOOD / name, dst)
    return dst / "results.json", json.loads((dst / "results.json").read_text())


def test_unknown_oracle_or_metric_fails_the_build(tmp_path):
    path, doc = _copy_results(tmp_path)
    doc["oracles"]["mystery_oracle"] = doc["oracles"]["baseline"]
    doc["per_class"] += [dict(r, oracle="mystery_oracle") for r in doc["per_class"] if r["oracle"] == "baseline"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"(?s)results\.json: unknown to .*columns\.yaml.*oracle 'mystery_oracle'"):
        build_site(tmp_path / "results", tmp_path / "site")
    assert not (tmp_path / "site").exists()

    cols = yaml.safe_load((Path(load_columns().source)).read_text())
    del cols["metrics"]["rq"]
    (tmp_path / "columns.yaml").write_text(yaml.safe_dump(cols))
    path2, _ = _copy_results(tmp_path, "fixture-model-a")
    with pytest.raises(ConfigError, match="metric 'rq'"):
        build_site(path2, tmp_path / "site", columns=tmp_path / "columns.yaml")
    cols["index_columns"].append({"oracle": "baseline", "split": "all", "metric": "wow"})
    cols["metrics"]["rq"] = cols["metrics"]["sq"]
    (tmp_path / "columns.yaml").write_text(yaml.safe_dump(cols))
    with pytest.raises(ConfigError, match=r"index_columns\[9\]: unknown metric 'wow'"):
        load_columns(tmp_path / "columns.yaml")


def test_no_results_is_an_error_not_an_empty_page(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "other.json").write_text("{}")
    with pytest.raises(BuildError, match="refusing to build an empty leaderboard"):
        build_site(tmp_path / "empty", tmp_path / "site")
    with pytest.raises(BuildError, match="no such file"):
        build_site(tmp_path / "missing", tmp_path / "site")


def test_invalid_results_and_missing_overlay_name_the_file(tmp_path):
    path, doc = _copy_results(tmp_path, "fixture-model-a")
    (path.parent / "overlays" / "ADE_val_00000002_gt.png").unlink()
    with pytest.raises(BuildError, match=r"results\.json: \$\.overlays\[1\]\.files\.gt: overlay image .* does not exist"):
        build_site(path, tmp_path / "site")
    doc["model"]["kind"] = "cnn"
    path.write_text(json.dumps(doc))
    with pytest.raises(BuildError, match=rf"{re.escape(str(path))}.*\$\.model\.kind"):
        build_site(path, tmp_path / "site")


def test_output_folder_safety_and_rebuild(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("x")
    with pytest.raises(BuildError, match="not an ovbench site"):
        build_site(GOOD / "fixture-model-b", tmp_path / "precious")
    assert (tmp_path / "precious" / "thesis.tex").read_text() == "x"
    out = tmp_path / "site"
    build_site(GOOD / "fixture-model-b", out, policies=[])
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    build_site(GOOD / "fixture-model-b", out, policies=[])  # rebuild replaces the site
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert first == second  # deterministic, SVGs included
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.")]  # no temp folder left


def test_site_inside_results_folder_is_not_read_back(tmp_path):
    path, _ = _copy_results(tmp_path)
    out = path.parent / "site"
    build_site(path.parent, out, policies=[])
    report = build_site(path.parent, out, policies=[])  # site/data/*/results.json must not count as results
    assert len(report.entries) == 1


def test_cli_build(tmp_path, capsys):
    assert main(["leaderboard", "build", "--results", str(GOOD / "fixture-model-b"), "--out", str(tmp_path / "s")]) == 0
    assert str(tmp_path / "s" / "index.html") in capsys.readouterr().out
    assert main(["leaderboard", "build", "--results", str(tmp_path / "nothing"), "--out", str(tmp_path / "t")]) == 1


def test_reference_tables_are_well_formed(tmp_path):
    ref = load_reference()
    assert [t["number"] for t in ref.tables] == [1, 2, 3, 4, 5]
    assert ref.match("FC-CLIP")["oracles"]["select_no_void_cls"]["all"] == 66.4
    assert ref.match("maftplus")["name"] == "MAFT+" and ref.match("nothing") is None
    data = yaml.safe_load(Path(ref.path).read_text())
    data["tables"][1]["rows"][0]["extra"] = 1
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(ConfigError, match=r"table2 row 0: unknown keys \['extra'\]"):
        load_reference(tmp_path / "p.yaml")


def test_errors_are_ovbench_errors():
    assert issubclass(BuildError, OvbenchError)


def test_taxonomy_page_from_the_shipped_graph(tmp_path):
    taxonomy = pytest.importorskip("ovbench.taxonomy")
    if not hasattr(taxonomy, "load_graph"):
        pytest.skip("ovbench.taxonomy.load_graph is not available")
    policies = taxonomy.load_graph().policies()
    build_site(GOOD / "fixture-model-b", tmp_path / "s")
    html = (tmp_path / "s" / "taxonomy.html").read_text()
    assert html.count('<tr id="policy-') == len(policies) > 0
    exported = json.loads((tmp_path / "s" / "data" / "taxonomy_policies.json").read_text())
    assert {p["id"] for p in exported} == {p.id for p in policies}
    assert all(p["evidence"] for p in exported)


def test_paper_numbers_next_to_results_on_the_papers_dataset(tmp_path):
    path, doc = _copy_results(tmp_path, "fixture-model-a")
    doc["dataset"]["name"] = "ade20k_panoptic_val"
    doc["model"].update(name="FC-CLIP", release_date=None)
    del doc["diagnostics"]  # rendered in test_leaderboard_diagnostics.py; not needed here
    path.write_text(json.dumps(doc))
    # the paper's points appear only when the annotation hash is ADE20K val's published hash
    std = yaml.safe_load(Path(load_standards().source).read_text())
    std["datasets"]["ade20k_panoptic_val"]["annotation_sha256"] = doc["dataset"]["annotation_sha256"]
    (tmp_path / "standards.yaml").write_text(yaml.safe_dump(std))
    report = build_site(path, tmp_path / "s", policies=[], standards=tmp_path / "standards.yaml")
    index = (tmp_path / "s" / "index.html").read_text()
    assert "Not in the PQ-over-time plot (no model.release_date): FC-CLIP." in index
    svg = (tmp_path / "s" / "plots" / "pq_over_time_1.svg").read_text()
    assert "FC-CLIP (paper)" in svg and "MAFT+ (paper)" in svg  # Fig. 1 points, reported numbers
    page = (tmp_path / "s" / "models" / f"{report.entries[0].slug}.html").read_text()
    compare = page.split('id="paper-compare"')[1].split("</table>")[0]
    assert "66.4" in compare and "26.8" in compare  # the paper's FC-CLIP values next to ovbench's
