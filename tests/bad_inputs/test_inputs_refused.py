"""Inputs ovbench refuses with a one-line error instead of a wrong number, a hang or a traceback:
`ovbench pq` inputs, YAML written by a submitter, taxonomy files, results files fed to the
leaderboard, and how the leaderboard decides which dataset a result belongs to."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from ovbench.cli import main
from ovbench.errors import ConfigError, DatasetError, PredictionError, SchemaError, TaxonomyError
from ovbench.leaderboard.build import BuildError, build_site
from ovbench.metrics.pq_eval import evaluate
from ovbench.results.io import load_results
from ovbench.submit.check import check_submission, load_standards, read_manifest
from ovbench.suites.suite import load_suite
from ovbench.taxonomy.classes import load_class_list_file
from ovbench.taxonomy.parse import parse_class_list
from ovbench.taxonomy.yamlio import read_yaml

from .test_bad_inputs import build, edit_json, seg2

GOOD = Path(__file__).resolve().parents[1] / "fixtures" / "results" / "good"


def one_line(err: str) -> str:
    err = err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


# ---- ovbench pq ---------------------------------------------------------------------------------------------
def pq_cli(files: dict[str, Path], *extra: str) -> int:
    return main(["pq", "--gt-json", str(files["gt_json"]), "--pred-json", str(files["pred_json"]), *extra])


PQ_CASES = [
    # (case, error, mutation, fragment naming file, image and segment)
    ("pred_category_id_float", PredictionError, lambda f: edit_json(f["pred_json"], lambda d: seg2(d)[0].update(category_id=1.5)),
     "image 'img2': segment #0 (id 5): category_id must be an integer, got 1.5 (float)"),
    ("pred_category_id_string", PredictionError, lambda f: edit_json(f["pred_json"], lambda d: seg2(d)[1].update(category_id="2")),
     "image 'img2': segment #1 (id 6): category_id must be an integer, got '2' (str)"),
    ("pred_segment_id_string", PredictionError, lambda f: edit_json(f["pred_json"], lambda d: seg2(d)[0].update(id="5")),
     "image 'img2': segment #0: id must be an integer, got '5' (str)"),
    ("gt_category_id_float", DatasetError, lambda f: edit_json(f["gt_json"], lambda d: seg2(d)[1].update(category_id=2.0)),
     "image 'img2': segment 2: category_id must be an integer, got 2.0 (float)"),
    ("gt_segment_id_string", DatasetError, lambda f: edit_json(f["gt_json"], lambda d: seg2(d)[0].update(id="1")),
     "image 'img2': segment #0: id must be an integer, got '1' (str)"),
    ("pred_file_name_absolute", PredictionError,
     lambda f: edit_json(f["pred_json"], lambda d: d["annotations"][1].update(file_name=str(f["gt_png"]))),
     "must be a path inside the folder (no absolute path, no '..')"),
    ("pred_file_name_dotdot", PredictionError,
     lambda f: edit_json(f["pred_json"], lambda d: d["annotations"][1].update(file_name="../gt/img2.png")),
     "file_name '../gt/img2.png' must be a path inside the folder"),
    ("gt_file_name_absolute", DatasetError,
     lambda f: edit_json(f["gt_json"], lambda d: d["annotations"][1].update(file_name=str(f["pred_png"]))),
     "must be a path inside the folder (no absolute path, no '..')"),
    ("gt_image_file_name_dotdot", DatasetError,
     lambda f: edit_json(f["gt_json"], lambda d: d["images"][1].update(file_name="../../etc/passwd")),
     "images[].file_name '../../etc/passwd' must be a path inside the folder"),
]


@pytest.mark.parametrize("case", PQ_CASES, ids=[c[0] for c in PQ_CASES])
def test_pq_refuses_non_integer_ids_and_escaping_file_names(case, tmp_path, capsys):
    name, error, mutate, fragment = case
    files = build(tmp_path)
    mutate(files)
    which = files["gt_json"] if error is DatasetError else files["pred_json"]
    with pytest.raises(error) as e:
        evaluate(files["gt_json"], files["pred_json"], workers=1)
    assert fragment in str(e.value) and str(which) in str(e.value)
    out = tmp_path / "report" / "pq.json"
    assert pq_cli(files, "--workers", "1", "--json", str(out)) == 1
    err = one_line(capsys.readouterr().err)
    assert fragment in err and not out.parent.exists()


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_pq_workers_below_one(workers, tmp_path, capsys):
    files = build(tmp_path)
    assert pq_cli(files, "--workers", workers, "--json", str(tmp_path / "pq.json")) == 1
    assert f"--workers must be at least 1, got {workers}" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "pq.json").exists()
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        evaluate(files["gt_json"], files["pred_json"], workers=int(workers))


def test_a_symlink_loop_is_named_a_loop(tmp_path, capsys):
    files = build(tmp_path)
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    assert pq_cli(files, "--workers", "1", "--pred-folder", str(loop)) == 1
    err = one_line(capsys.readouterr().err)
    assert f"prediction PNG folder {loop} is a symbolic link loop" in err and "does not exist" not in err
    with pytest.raises(DatasetError, match="is a symbolic link loop"):
        evaluate(files["gt_json"], files["pred_json"], gt_folder=loop, workers=1)


def test_the_unmutated_corpus_still_evaluates(tmp_path):
    files = build(tmp_path)
    assert evaluate(files["gt_json"], files["pred_json"], workers=1).split().pq == 1.0


# ---- YAML a submitter controls --------------------------------------------------------------------------------
def alias_bomb(levels: int = 10) -> str:
    """The "billion laughs" document: ~600 bytes, 9**levels strings once expanded."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture
def no_expansion(monkeypatch):
    """Fail the test if anything tries to build the document: refusal must come before loading."""
    def guard(real):  # type: ignore[no-untyped-def]
        def load(stream, *a, **k):  # type: ignore[no-untyped-def]
            text = stream if isinstance(stream, (str, bytes)) else stream.read()
            if "*l0" in (text.decode() if isinstance(text, bytes) else text):
                raise AssertionError("an alias document reached the YAML loader")
            return real(text, *a, **k)
        return load
    monkeypatch.setattr(yaml, "load", guard(yaml.load))
    monkeypatch.setattr(yaml, "safe_load", guard(yaml.safe_load))


def test_alias_bomb_in_submission_yaml_is_refused_unread(tmp_path, no_expansion, capsys):
    assert len(alias_bomb()) < 700
    repo = tmp_path
    rdir = repo / "leaderboard" / "results" / "fixture-model-a"
    shutil.copytree(GOOD / "fixture-model-a", rdir)
    (repo / "adapters" / "fixture-model-a").mkdir(parents=True)
    manifest = repo / "adapters" / "fixture-model-a" / "submission.yaml"
    manifest.write_text(alias_bomb())
    data, problems = read_manifest(manifest)
    assert data is None and problems == ["cannot read the manifest: line 2: YAML aliases (*l0) are not allowed in this file"
                                         " (write the value out)"]
    report = check_submission(rdir / "results.json", root=repo)
    assert any("submission.yaml: cannot read the manifest: line 2: YAML aliases" in p for p in report.problems)
    assert main(["submit", "check", str(rdir / "results.json"), "--root", str(repo)]) == 1
    assert "YAML aliases (*l0) are not allowed" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["taxonomy", "class_list", "suite"])
def test_alias_bomb_in_taxonomy_and_suite_files(kind, tmp_path, no_expansion):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(alias_bomb())
    error, load = {"taxonomy": (TaxonomyError, read_yaml), "class_list": (TaxonomyError, load_class_list_file),
                   "suite": (ConfigError, load_suite)}[kind]
    with pytest.raises(error, match=f"^{path}: line 2: YAML aliases"):
        load(path)


def test_oversized_yaml_is_refused(tmp_path, capsys):
    big = tmp_path / "suite.yaml"
    big.write_text("# padding\n" * 500_000)  # 5 MB of comments
    with pytest.raises(ConfigError, match=f"^{big}: is over the limit of 4194304 bytes"):
        load_suite(big)
    manifest = tmp_path / "submission.yaml"
    manifest.write_text("name: x\n" + "# padding\n" * 7000)
    assert read_manifest(manifest)[1] == ["cannot read the manifest: is over the limit of 65536 bytes for this YAML file"]
    assert main(["run", "--adapter", "simulated", "--suite", str(big), "--out", str(tmp_path / "out")]) == 1
    assert "over the limit" in one_line(capsys.readouterr().err) and not (tmp_path / "out").exists()


def test_duplicate_class_names_in_a_taxonomy_file(tmp_path):
    text = ("schema: ovbench-classes/1\nname: tiny\ntitle: t\nclasses:\n"
            "  - {id: 1, name: wall, isthing: false}\n  - {id: 2, name: person, isthing: true}\n"
            "  - {id: 3, name: Wall, isthing: false}\n")
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(TaxonomyError, match=f"{path}:7: class 3: duplicate class name 'Wall' \\(first at {path}:5\\)"):
        parse_class_list(read_yaml(path)[0], str(path))
    with pytest.raises(TaxonomyError, match=f"^{path}: duplicate class name 'Wall' \\(classes 1 and 3\\)"):
        load_class_list_file(path)
    path.write_text(text.replace("name: Wall", "name: floor"))
    assert [n.name for n in parse_class_list(read_yaml(path)[0], str(path)).nodes] == ["wall", "person", "floor"]


def test_submitted_results_file_that_is_a_symlink_is_refused(tmp_path):
    rdir = tmp_path / "leaderboard" / "results" / "fixture-model-a"
    rdir.mkdir(parents=True)
    secret = tmp_path / "elsewhere.json"
    shutil.copyfile(GOOD / "fixture-model-a" / "results.json", secret)
    (rdir / "results.json").symlink_to(secret)
    report = check_submission(rdir / "results.json", root=tmp_path)
    assert any("results.json: is (or lies under) a symbolic link: submissions must be regular files" in p for p in report.problems)
    assert not report.ok


# ---- results files fed to the leaderboard ---------------------------------------------------------------------
def copy_doc(tmp_path: Path, name: str = "fixture-model-a", folder: str | None = None) -> tuple[Path, dict]:
    dst = tmp_path / "results" / (folder or name)
    shutil.copytree(GOOD / name, dst)
    return dst / "results.json", json.loads((dst / "results.json").read_text())


def site_leftovers(tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.iterdir() if p.name.startswith(".site")] + ([tmp_path / "site"] if (tmp_path / "site").exists() else [])


def test_build_refuses_a_stored_summary_that_disagrees_with_its_rows(tmp_path, capsys):
    path, doc = copy_doc(tmp_path)
    doc["oracles"]["baseline"]["splits"]["all"]["pq"] = 0.99
    path.write_text(json.dumps(doc))
    with pytest.raises(BuildError, match=r"\$\.oracles\.baseline\.splits\.all\.pq: 0\.99 does not match .* recomputed from per_class"):
        build_site(path, tmp_path / "site", policies=[])
    assert main(["leaderboard", "build", "--results", str(path), "--out", str(tmp_path / "site")]) == 1
    err = one_line(capsys.readouterr().err)
    assert "0.99 does not match" in err and str(path) in err
    assert site_leftovers(tmp_path) == []


def test_build_refuses_the_same_results_twice(tmp_path):
    copy_doc(tmp_path, folder="a")
    copy_doc(tmp_path, folder="b")
    with pytest.raises(BuildError, match="duplicate results for model 'fixture-model-a' on fixture_dataset"):
        build_site(tmp_path / "results", tmp_path / "site", policies=[])
    assert site_leftovers(tmp_path) == []


@pytest.mark.parametrize("depth", [100_000, 200])
def test_deeply_nested_json_is_a_clear_error(depth, tmp_path, capsys):
    path = tmp_path / "results" / "deep" / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"kind": "ovbench-results", "x": ' + "[" * depth + "]" * depth + "}")
    fragment = "JSON nested too deeply" if depth > 10_000 else f"JSON nested {depth + 1} levels deep, over the limit of 64"
    with pytest.raises(SchemaError, match=fragment):
        load_results(path)
    with pytest.raises(BuildError, match=fragment):
        build_site(path, tmp_path / "site", policies=[])
    assert main(["leaderboard", "build", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "site")]) == 1
    assert fragment in one_line(capsys.readouterr().err)
    assert site_leftovers(tmp_path) == []


# ---- which dataset a result belongs to ---------------------------------------------------------------------------
def synthetic_as_ade20k(tmp_path: Path) -> tuple[Path, dict]:
    """A real-model-looking results file that calls its (synthetic) annotations "ade20k_panoptic_val"."""
    path, doc = copy_doc(tmp_path)
    doc["dataset"]["name"] = "ade20k_panoptic_val"
    doc["model"].update(kind="mask_transformer", release_date="2024-03-01")
    path.write_text(json.dumps(doc))
    return path, doc


def test_synthetic_data_named_ade20k_is_never_ranked_as_ade20k(tmp_path):
    path, doc = synthetic_as_ade20k(tmp_path)
    sha = doc["dataset"]["annotation_sha256"]
    assert load_standards().datasets["ade20k_panoptic_val"]["annotation_sha256"] != sha
    report = build_site(path, tmp_path / "site", policies=[])
    index = (tmp_path / "site" / "index.html").read_text()
    heading = index.split('id="group-1"')[1].split("</h2>")[0]
    assert f"unverified annotations (sha256 {sha[:12]}…)" in heading and "ade20k_panoptic_val" not in heading
    assert "names its dataset &#39;ade20k_panoptic_val&#39;, but its annotation sha256 is not a published hash" in index
    svg = (tmp_path / "site" / "plots" / "pq_over_time_1.svg").read_text()
    assert "(paper)" not in svg  # never next to the paper's FC-CLIP / MAFT+ points
    page = (tmp_path / "site" / "models" / f"{report.entries[0].slug}.html").read_text()
    assert 'id="paper-compare"' not in page


def test_a_published_variant_hash_is_its_own_labelled_group(tmp_path):
    path, doc = synthetic_as_ade20k(tmp_path)
    std = yaml.safe_load(Path(load_standards().source).read_text())
    std["datasets"]["ade20k_panoptic_val"]["variants"] = [
        {"label": "ovbench demo synthetic set", "annotation_sha256": doc["dataset"]["annotation_sha256"], "allow_simulated": True}]
    (tmp_path / "standards.yaml").write_text(yaml.safe_dump(std))
    build_site(path, tmp_path / "site", policies=[], standards=tmp_path / "standards.yaml")
    index = (tmp_path / "site" / "index.html").read_text()
    assert "<h2>ovbench demo synthetic set" in index  # the group's own heading (the matrix's heading comes first)
    assert "not the official annotations" in index.split("<h2>ovbench demo synthetic set")[1].split("</h2>")[0]
    assert "(paper)" not in (tmp_path / "site" / "plots" / "pq_over_time_1.svg").read_text()
    # the hash, not the name, decides: under the official hash the same file is ADE20K val, paper points included
    std["datasets"]["ade20k_panoptic_val"].update(annotation_sha256=doc["dataset"]["annotation_sha256"], variants=[])
    (tmp_path / "standards.yaml").write_text(yaml.safe_dump(std))
    build_site(path, tmp_path / "site", policies=[], standards=tmp_path / "standards.yaml")
    assert "<h2>ade20k_panoptic_val <span" in (tmp_path / "site" / "index.html").read_text()
    assert "FC-CLIP (paper)" in (tmp_path / "site" / "plots" / "pq_over_time_1.svg").read_text()
