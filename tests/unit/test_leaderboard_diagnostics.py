"""The diagnostics sections of a model page, rendered from a real `ovbench run` (simulated adapter,
4 synthetic images, standard suite): plots, tables, CSV links, missing and malformed sections,
escaping, unknown metrics."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
import yaml

from ovbench.data.catalog import get_dataset
from ovbench.data.synthetic import generate_dataset
from ovbench.errors import ConfigError
from ovbench.leaderboard.build import BuildError, build_site
from ovbench.leaderboard.config import load_columns
from ovbench.leaderboard.diagnostics import TOP_CLASSES, check_diagnostic_columns, diagnostics_context
from ovbench.results.io import load_results
from ovbench.runner.run import RunOptions, run_suite
from ovbench.suites.suite import load_suite

SECTIONS = ("pool_recall", "calibration", "sweeps")
EVIL = "<script>alert(9)</script>"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate_dataset(root, 4, seed=0, height=160, width=224, workers=1)
    out = tmp_path_factory.mktemp("run")
    run_suite("simulated", {}, get_dataset("ade20k_panoptic_val", root=root), load_suite(), RunOptions(out, progress=False))
    return out


@pytest.fixture(scope="module")
def doc(run_dir) -> dict:
    return load_results(run_dir, validate=True)


@pytest.fixture(scope="module")
def site(run_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    build_site(run_dir, out, policies=[])
    return out


def page(site: Path) -> str:
    return (site / "models" / "simulated.html").read_text()


def section(html: str, anchor: str) -> str:
    return html.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def tbody_rows(html: str, table_id: str) -> int:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return body.count("<tr")


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("href", "src") and v]


def test_run_holds_all_three_sections(doc):
    assert doc["schema_version"] == 2 and set(doc["diagnostics"]) == set(SECTIONS)


def test_pool_recall_section(site, doc):
    html = section(page(site), "diag-pool-recall")
    sec = doc["diagnostics"]["pool_recall"]
    assert tbody_rows(html, "pool-recall-groups") == len(sec["groups"]) == 7  # all/things/stuff/seen/unseen/conflict/clean
    cols = load_columns()
    row = html.split('id="pool-recall-groups"')[1].split("<tbody>")[1].split("</tr>")[0]
    for metric in ("pool_recall", "output_recall", "discarded_rate", "discarded_void_share"):
        assert f">{cols.format(metric, sec['groups']['all'][metric])}<" in row, metric
    for label in ("Pool recall@0.5", "Output recall@0.5", "Discarded-valid-mask rate", "Discarded as no-object"):
        assert label in html
    n = tbody_rows(html, "pool-recall-classes")
    assert n == min(TOP_CLASSES, len(sec["per_class"])) > 0
    shown = re.findall(r'<th scope="row">([^<]+)</th><td class="num">\d+</td>', html.split('id="pool-recall-classes"')[1])
    by_name = {r["name"]: r for r in sec["per_class"]}
    discarded = [by_name[name]["discarded"] for name in shown]
    assert discarded == sorted(discarded, reverse=True) and discarded[0] == max(r["discarded"] for r in sec["per_class"])
    assert 'class="sortable compact" id="pool-recall-classes"' in html
    assert 'src="simulated/diag_pool_iou.svg"' in html
    assert (site / "models" / "simulated" / "diag_pool_iou.svg").read_text().startswith("<?xml")


def test_calibration_section(site, doc):
    html = section(page(site), "diag-calibration")
    ov = doc["diagnostics"]["calibration"]["overall"]
    assert f">{ov['ece']:.3f}<" in html and f">{ov['brier']:.3f}<" in html
    for svg in ("diag_p_void_hist.svg", "diag_reliability.svg"):
        assert f'src="simulated/{svg}"' in html and (site / "models" / "simulated" / svg).is_file()
    assert tbody_rows(html, "calibration-reliability") == doc["diagnostics"]["calibration"]["bins"]
    assert 0 < tbody_rows(html, "calibration-classes") <= TOP_CLASSES
    assert "Best: void argmax" in html


def test_sweeps_section(site, doc):
    html = section(page(site), "diag-sweeps")
    sw = doc["diagnostics"]["sweeps"]
    banner = html.split('id="tuned-banner"')[1].split("</div>")[0]
    assert "Tuned on the evaluation set." in banner and f"same {sw['images']} images" in banner
    assert tbody_rows(html, "sweeps-thresholds") == len(sw["thresholds"]["table"]) == _grid_size(doc)
    assert tbody_rows(html, "sweeps-summary") == 2 and "tuned on the evaluation set</span>" in html
    for svg in ("diag_thresholds.svg", "diag_threshold_line.svg"):
        assert f'src="simulated/{svg}"' in html
    assert "No ensemble sweep" in html and "diag_ensemble.svg" not in html  # simulated outputs have no ensemble logits


def test_csv_links_exist_and_hold_the_runners_rows(site, run_dir):
    html = page(site)
    for name in SECTIONS:
        href = f"../data/simulated/diagnostics_{name}.csv"
        assert html.count(f'href="{href}"') == 2  # in the data links and in the section heading
        ours = pd.read_csv(site / "models" / href)
        pd.testing.assert_frame_equal(ours, pd.read_csv(run_dir / f"diagnostics_{name}.csv"))
    parser = Links()
    parser.feed(html)
    for link in parser.links:
        u = urlparse(link)
        if u.scheme in ("http", "https"):
            continue
        assert not u.scheme and not link.startswith("/")
        assert (site / "models" / u.path).resolve().is_file() or not u.path, link


def baseline_only(doc: dict) -> dict:
    """`doc` with the baseline oracle only and no overlays: a smaller file that validates faster."""
    d = copy.deepcopy(doc)
    d.pop("overlays", None)
    d["oracles"] = {"baseline": d["oracles"]["baseline"]}
    d["per_class"] = [r for r in d["per_class"] if r["oracle"] == "baseline"]
    d["fn_breakdown"] = [r for r in d["fn_breakdown"] if r.get("oracle", "baseline") == "baseline"]
    d["conflict_pq"] = {"baseline": d["conflict_pq"]["baseline"]}
    return d


@pytest.fixture(scope="module")
def variants(doc, tmp_path_factory) -> Path:
    """One build, three results files: hostile strings, some sections missing, no diagnostics."""
    root = tmp_path_factory.mktemp("variants")
    base = baseline_only(doc)

    def put(adapter: str, d: dict) -> None:
        d["model"]["adapter"] = adapter
        d["model"]["name"] = f"variant {adapter}"  # one model three times would be refused as duplicates
        (root / "results" / adapter).mkdir(parents=True)
        (root / "results" / adapter / "results.json").write_text(json.dumps(d))

    hostile = copy.deepcopy(base)
    del hostile["diagnostics"]["sweeps"]
    for name, field in (("pool_recall", "discarded"), ("calibration", "best_void")):  # a class shown in the top rows
        max(hostile["diagnostics"][name]["per_class"], key=lambda r: r[field])["name"] = EVIL
    hostile["diagnostics"]["<i>tool</i>"] = {"note": EVIL}
    put("hostile", hostile)
    partial = copy.deepcopy(base)
    del partial["diagnostics"]["calibration"], partial["diagnostics"]["sweeps"]
    put("partial", partial)
    none = copy.deepcopy(base)
    del none["diagnostics"]
    put("none", none)
    build_site(root / "results", root / "site", policies=[])
    return root / "site"


def test_strings_are_escaped(variants):
    html = (variants / "models" / "hostile.html").read_text()
    diag = html.split('id="diagnostics"')[1]
    assert EVIL not in html and "<i>tool</i>" not in html
    assert diag.count("&lt;script&gt;alert(9)&lt;/script&gt;") == 3  # two class tables + the free-form value
    assert "&lt;i&gt;tool&lt;/i&gt;.note" in diag


def test_missing_sections_render_nothing(variants):
    partial = (variants / "models" / "partial.html").read_text()
    assert 'id="diag-pool-recall"' in partial
    assert 'id="diag-calibration"' not in partial and 'id="diag-sweeps"' not in partial and "diagnostics_sweeps.csv" not in partial
    assert sorted(p.name for p in (variants / "data" / "partial").glob("diagnostics_*")) == ["diagnostics_pool_recall.csv"]
    none = (variants / "models" / "none.html").read_text()
    assert 'id="diagnostics"' not in none and not list((variants / "data" / "none").glob("diagnostics_*"))


def _mutations():
    def hist_shape(g):
        g["pool_recall"]["iou_histogram"]["counts"].pop()

    def hist_total(g):
        g["pool_recall"]["iou_histogram"]["counts"][0][0] += 1

    def cal_bins(g):
        g["calibration"]["histogram"]["best"].append(0)

    def reliability(g):
        g["calibration"]["reliability"].pop()

    def default_missing(g):
        g["sweeps"]["thresholds"]["default"]["object_mask_threshold"] = 0.55

    def duplicate(g):
        t = g["sweeps"]["thresholds"]["table"]
        t[1] = copy.deepcopy(t[0])

    def grid(g):
        g["sweeps"]["thresholds"]["table"].pop()

    def empty(g):
        g["sweeps"]["thresholds"]["table"] = []

    def ensemble_model(g):
        th = g["sweeps"]["thresholds"]["table"][0]
        g["sweeps"]["ensemble"].update(table=[{"alpha": 0.4, "beta": 0.8, "is_model_default": True, "reproduces_model_probs": 0,
                                               "splits": th["splits"], "pq": th["pq"]}], model=None, best=None)

    return [
        (hist_shape, "$.diagnostics.pool_recall.iou_histogram.counts", "10 x 10"),
        (hist_total, "$.diagnostics.pool_recall.iou_histogram.counts", "groups.all.n"),
        (cal_bins, "$.diagnostics.calibration.histogram.best", "one per bin"),
        (reliability, "$.diagnostics.calibration.reliability", "one per bin"),
        (default_missing, "$.diagnostics.sweeps.thresholds.default", "not a row of the table"),
        (duplicate, "$.diagnostics.sweeps.thresholds.table[1]", "appears twice"),
        (grid, "$.diagnostics.sweeps.thresholds.table", "do not cover the grid"),
        (empty, "$.diagnostics.sweeps.thresholds.table", "no rows"),
        (ensemble_model, "$.diagnostics.sweeps.ensemble.model", "missing"),
    ]


@pytest.mark.parametrize("mutate, where, what", _mutations(), ids=lambda x: getattr(x, "__name__", None))
def test_malformed_section_names_file_and_key(doc, tmp_path, mutate, where, what):
    d = copy.deepcopy(doc)
    mutate(d["diagnostics"])
    name = where.split(".")[2]
    d["diagnostics"] = {name: d["diagnostics"][name]}  # only the broken section: no plots drawn before the check
    path = tmp_path / "results.json"
    with pytest.raises(BuildError) as exc:
        diagnostics_context(path, d, load_columns(), tmp_path, "simulated")
    msg = str(exc.value)
    assert msg.startswith(f"{path}: {where}") and what in msg, msg


def test_malformed_section_stops_the_build(doc, tmp_path):
    d = baseline_only(doc)
    d["diagnostics"]["sweeps"]["thresholds"]["table"].pop()  # passes the schema, fails the builder's check
    path = tmp_path / "r" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(d))
    with pytest.raises(BuildError, match=rf"^{re.escape(str(path))}: \$\.diagnostics\.sweeps\.thresholds\.table: "):
        build_site(path, tmp_path / "site", policies=[])
    d["diagnostics"]["pool_recall"]["groups"]["all"]["pool_recall"] = "high"  # fails the schema
    path.write_text(json.dumps(d))
    with pytest.raises(BuildError, match=rf"{re.escape(str(path))}.*\$\.diagnostics\.pool_recall\.groups\.all\.pool_recall"):
        build_site(path, tmp_path / "site", policies=[])
    assert not (tmp_path / "site").exists()


def test_unknown_diagnostics_metric_is_a_config_error(doc, tmp_path):
    cols = yaml.safe_load(Path(load_columns().source).read_text())
    del cols["metrics"]["discarded_rate"], cols["splits"]["clean"]
    (tmp_path / "columns.yaml").write_text(yaml.safe_dump(cols, allow_unicode=True))
    with pytest.raises(ConfigError, match=r"(?s)results\.json: unknown to .*columns\.yaml.*metric 'discarded_rate'.*group 'clean'"):
        check_diagnostic_columns(doc, load_columns(tmp_path / "columns.yaml"), "x/results.json")


def _grid_size(doc) -> int:
    """Settings of the threshold sweep: the suite's grids plus the model's own values."""
    params = dict(dict(doc["suite"]["config"]["diagnostics"][2])["params"])
    t = set(params["object_mask_threshold"]) | {doc["inference"]["object_mask_threshold"]}
    o = set(params["overlap_threshold"]) | {doc["inference"]["overlap_threshold"]}
    return len(t) * len(o)
