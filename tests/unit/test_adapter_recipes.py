"""The three recipes of docs/writing-an-adapter.md are real: their files and commands are
extracted from the page and run end to end on a synthetic dataset.

1. your own model: `my_model.py` + `my_adapter.py` written to a folder, `ovbench run --plugin` from
   ANOTHER working directory (the plugin imports its sibling module without PYTHONPATH);
2. transformers: the documented hub id, served from a temporary Hugging Face cache holding a tiny
   random Mask2Former under that id (`--adapter-arg hf_cache_dir=` added; no download);
3. FC-CLIP and MAFT+: the documented commands against the fake detectron2 repositories
   (tests/fixtures/fake_detectron2), from outside the repositories.
Substitutions: `/path/to/<repo>` -> the fake repository, `~/datasets` -> the synthetic dataset,
`--out` -> a temp folder, `--device cuda` -> cpu.
"""

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from ovbench.cli import main
from ovbench.data.synthetic import generate_dataset
from ovbench.suites.suite import load_suite

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-an-adapter.md"
ORACLES = {o.key for o in load_suite().oracles}


def block(marker: str) -> str:
    """The fenced block right after ``<!-- marker -->`` in the doc."""
    text = DOC.read_text()
    m = re.search(r"<!-- " + re.escape(marker) + r" -->\n```\w*\n(.*?)```", text, re.S)
    assert m, f"docs/writing-an-adapter.md has no block after <!-- {marker} -->"
    return m.group(1)


def command(marker: str, data: Path, out: Path, paths: dict[str, str] | None = None) -> list[str]:
    """The documented `ovbench ...` command as argv (env assignments dropped), substituted."""
    text = block(marker).replace("\\\n", " ")
    for old, new in (paths or {}).items():
        text = text.replace(old, new)
    argv = shlex.split(text)
    while "=" in argv[0]:
        argv.pop(0)  # HF_HUB_OFFLINE=1 (set for every test in conftest.py)
    assert argv.pop(0) == "ovbench"
    subst = {"--dataset-root": str(data), "--out": str(out)}
    for i, a in enumerate(argv[:-1]):
        if a in subst:
            argv[i + 1] = subst[a]
        if a == "--device" and argv[i + 1] == "cuda":
            argv[i + 1] = "cpu"
    return argv + ["--quiet", "--workers", "1"]


def run_ok(argv: list[str], capsys) -> dict:
    rc = main(argv)
    assert rc == 0, capsys.readouterr().err
    out = Path(argv[argv.index("--out") + 1])
    doc = json.loads((out / "results.json").read_text())
    assert set(doc["oracles"]) == ORACLES
    return doc


def test_recipe_1_plugin_with_a_sibling_module(tmp_path, monkeypatch, capsys):
    from ovbench.adapters import ADAPTERS

    plug = tmp_path / "project"
    plug.mkdir()
    for name in ("my_model.py", "my_adapter.py"):
        (plug / name).write_text(block(f"recipe-file: {name}"))
    assert len(block("recipe-file: my_adapter.py").strip().splitlines()) < 50
    data = tmp_path / "data"
    generate_dataset(data, 2, seed=3, height=192, width=256, workers=1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert "my_model" not in sys.modules
    try:
        doc = run_ok(command("recipe-command: plugin", data, tmp_path / "run", {"path/to/my_adapter.py": str(plug / "my_adapter.py")}),
                     capsys)
        assert doc["model"]["adapter"] == "my_model" and doc["inference"]["num_queries"] == 20
    finally:
        ADAPTERS._entries.pop("my_model", None)
        for name in ("my_model", "ovbench_plugin_my_adapter"):
            sys.modules.pop(name, None)


def test_recipe_2_transformers_checkpoint_from_the_local_cache(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from ovbench.adapters.transformers.tiny import save_tiny_model
    from ovbench.data.catalog import get_dataset

    argv = command("recipe-command: transformers", tmp_path / "data", tmp_path / "run")
    hub_id = next(a.split("=", 1)[1] for a in argv if a.startswith("model="))
    assert re.fullmatch(r"facebook/mask2former-swin-\w+-ade-panoptic", hub_id)
    generate_dataset(tmp_path / "data", 2, seed=4, height=64, width=96, workers=1)
    categories = get_dataset("ade20k_panoptic_val", root=tmp_path / "data").categories
    cache = tmp_path / "hf-cache"
    repo = cache / ("models--" + hub_id.replace("/", "--"))
    revision = "0" * 40
    save_tiny_model(repo / "snapshots" / revision, {i: c.name for i, c in enumerate(categories)}, "mask2former")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    doc = run_ok(argv + ["--adapter-arg", f"hf_cache_dir={cache}"], capsys)
    assert doc["model"]["adapter"] == "transformers" and hub_id in doc["model"]["name"]
    assert doc["model"]["training_data"] == "ade20k_panoptic_train"
    if hub_id == "facebook/mask2former-swin-large-ade-panoptic":  # the reference row has a leaderboard manifest
        from ovbench.submit.check import MANIFEST_VS_MODEL, read_manifest

        manifest, problems = read_manifest(DOC.parents[1] / "adapters" / "transformers" / "submission.yaml")
        assert not problems
        for field, model_field in MANIFEST_VS_MODEL.items():
            if manifest.get(field) is not None:
                assert doc["model"][model_field] == manifest[field], field


@pytest.mark.parametrize("kind", ["fcclip", "maftplus"])
def test_recipe_3_detectron2_models_from_outside_their_repository(kind, fake_detectron2, tmp_path, capsys):
    fake = fake_detectron2(kind)
    repo_name = "fc-clip" if kind == "fcclip" else "MAFT-Plus"
    weights = "/path/to/fcclip_cocopan.pth" if kind == "fcclip" else "/path/to/maftp_l_pano.pth"
    data = tmp_path / "data"
    generate_dataset(data, 5, seed=6, height=96, width=128, workers=1)  # ADE_val_00000005 is in the ensemble subsample
    argv = command(f"recipe-command: {kind}", data, tmp_path / "run", {weights: str(fake.weights), f"/path/to/{repo_name}": str(fake.repo)})
    # the fake's config keeps its test size small (MIN_SIZE_TEST 128)
    doc = run_ok(argv, capsys)
    assert Path.cwd() == fake.cwd
    ensemble = doc["diagnostics"]["sweeps"]["ensemble"]
    if kind == "fcclip":
        assert ensemble["images"] == 1 and ensemble["images_without_logits"] == 0
    else:  # MAFT+: CLIP posteriors alone, no alpha/beta sweep (docs/writing-an-adapter.md)
        assert ensemble["images"] == 0 and ensemble["images_without_logits"] == 1
        assert "CLIP posteriors alone" in doc["model"]["notes"]
