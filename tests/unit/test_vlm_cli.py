"""`ovbench vlm-oracle` end to end on a tiny COCO-panoptic dataset with saved random checkpoints."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ovbench.cli import main

TORCH_FREE = """
import sys
from ovbench.cli import build_parser
build_parser().parse_args(["vlm-oracle", "--model", "ViT-B-16", "--out", "x"])
import ovbench.vlm, ovbench.vlm.prompts, ovbench.vlm.protocols, ovbench.vlm.oracle, ovbench.vlm.policy_prompts
bad = [m for m in ("torch", "open_clip", "timm") if m in sys.modules]
assert not bad, bad
"""


def test_cli_parser_and_vlm_core_do_not_import_torch():
    subprocess.run([sys.executable, "-c", TORCH_FREE], check=True, timeout=120)


def _write_dataset(root):
    """3 images, ADE20K ids (wall, floor, bed, pillow, cushion); one crowd segment."""
    from PIL import Image

    from ovbench.data.panoptic_format import id2rgb

    cats = [{"id": 0, "name": "wall", "isthing": 0}, {"id": 3, "name": "floor", "isthing": 0},
            {"id": 7, "name": "bed", "isthing": 1}, {"id": 57, "name": "pillow", "isthing": 1},
            {"id": 39, "name": "cushion", "isthing": 1}]
    rng = np.random.default_rng(0)
    (root / "pan").mkdir(parents=True)
    (root / "images").mkdir()
    images, anns = [], []
    for i in range(3):
        H, W = 48 + 16 * i, 80 - 8 * i
        ids = np.zeros((H, W), np.int32)
        ids[: H // 2] = 10
        ids[H // 2:] = 11
        ids[H // 3: H - 4, 5: W // 2] = 20
        ids[H // 3: H // 3 + 6, 8:14] = 21
        ids[2:5, W - 6: W - 3] = 22
        ids[H - 2:, W - 4:] = 23
        segs = [{"id": s, "category_id": c, "iscrowd": int(s == 23), "area": int((ids == s).sum())}
                for s, c in [(10, 0), (11, 3), (20, 7), (21, 57), (22, 39), (23, 39)]]
        Image.fromarray(id2rgb(ids)).save(root / "pan" / f"img{i}.png")
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(root / "images" / f"img{i}.jpg")
        images.append({"id": f"img{i}", "file_name": f"img{i}.jpg", "height": H, "width": W})
        anns.append({"image_id": f"img{i}", "file_name": f"img{i}.png", "segments_info": segs})
    (root / "pan.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return root / "pan.json"


def _assert_schema_valid(doc):
    """The results file validates against the results schema (when that module exists)."""
    try:
        from ovbench.results.validate import schema_problems
    except ImportError:  # pragma: no cover - schema module built concurrently
        return
    assert schema_problems(doc) == []


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    open_clip = pytest.importorskip("open_clip")
    torch = pytest.importorskip("torch")
    from ovbench.vlm.tiny import TINY_CONFIGS, write_tiny_configs

    torch.set_num_threads(min(2, torch.get_num_threads()))
    base = tmp_path_factory.mktemp("vlm_cli")
    cfg = write_tiny_configs(base / "configs")
    open_clip.add_model_config(cfg)
    ckpts = {}
    for name in ("ovb-tiny-vit", "ovb-tiny-mapvit", "ovb-tiny-convnext-mlp"):
        torch.manual_seed(0)
        m = open_clip.create_model(name)
        ckpts[name] = base / f"{name}.pt"
        torch.save(m.state_dict(), ckpts[name])
    local = base / "convnext_dir"
    local.mkdir()
    (local / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CONFIGS["ovb-tiny-convnext-mlp"]}))
    (local / "open_clip_pytorch_model.bin").write_bytes(ckpts["ovb-tiny-convnext-mlp"].read_bytes())
    return {"base": base, "cfg": cfg, "ckpt": ckpts, "local": local, "data": _write_dataset(base / "data")}


def _run(env, out, *extra):
    return main(["vlm-oracle", "--dataset", str(env["data"]), "--model-config", str(env["cfg"]), "--out", str(out),
                 "--cache-dir", str(env["base"] / "cache"), "--threads", "2", "--quiet", *extra])


@pytest.mark.clip
def test_cli_end_to_end_saved_random_checkpoint_and_resume(env, capsys):
    out = env["base"] / "run_vit"
    args = ["--model", "ovb-tiny-vit", "--checkpoint", str(env["ckpt"]["ovb-tiny-vit"]), "--resolution", "long512"]
    assert _run(env, out, *args) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["model"]["kind"] == "vlm" and res["model"]["checkpoint_sha256"]
    o = res["oracles"]["vlm_segmentation"]
    assert o["paper_table"] == "1" and set(o["splits"]) == {"all", "things", "stuff", "seen", "unseen"}
    assert res["taxonomy"]["num_seen"] == 4  # wall, floor, bed, pillow seen; cushion unseen (FC-CLIP rule)
    diag = res["diagnostics"]["vlm_segmentation"]
    assert diag["num_segments"] == 15 and diag["num_crowd_segments_skipped"] == 3
    assert diag["num_empty_pooling_masks"] == 0
    assert len(res["per_class"]) == 5 and (out / "per_class.csv").is_file() and (out / "per_image.csv.gz").is_file()
    assert len(list((out / "shards" / "vlm_segmentation").glob("*.json"))) == 3
    assert diag["text_cache_hit"] is False and res["timing"]["vlm_segmentation"] >= 0
    _assert_schema_valid(res)
    printed = capsys.readouterr().out
    assert "PQ" in printed and "results.json" in printed

    # resume: same numbers from the shards; text embeddings from the cache
    assert _run(env, out, *args) == 0
    res2 = json.loads((out / "results.json").read_text())
    assert res2["oracles"]["vlm_segmentation"]["splits"] == o["splits"]
    assert res2["per_class"] == res["per_class"]
    assert res2["diagnostics"]["vlm_segmentation"]["num_images_resumed"] == 3
    assert res2["diagnostics"]["vlm_segmentation"]["text_cache_hit"] is True
    # recomputing gives bit-identical counts (deterministic)
    assert _run(env, out, *args, "--no-resume") == 0
    assert json.loads((out / "results.json").read_text())["per_class"] == res["per_class"]
    # another configuration invalidates the shards
    assert _run(env, out, *args, "--prompts", "policy", "--limit", "2") == 0
    res3 = json.loads((out / "results.json").read_text())
    assert res3["diagnostics"]["vlm_segmentation"]["num_images_resumed"] == 0
    assert res3["dataset"]["num_images"] == 2 and res3["suite"]["config"]["prompt_sources"]["policy-table"] == 3


@pytest.mark.clip
def test_cli_convnext_local_dir_and_siglip_options(env):
    out = env["base"] / "run_cnx"
    assert _run(env, out, "--model", "convnext-tiny-label", "--checkpoint", f"local-dir:{env['local']}",
                "--resolution", "short800", "--pooling", "bilinear", "--convnext-head", "pool_project") == 0
    res = json.loads((out / "results.json").read_text())
    _assert_schema_valid(res)
    inf = res["inference"]
    assert inf["dense"] == "convnext" and inf["head_order"] == "pool_project" and inf["pooling"] == "bilinear"
    assert inf["size_divisibility"] == 32
    out = env["base"] / "run_siglip"
    assert _run(env, out, "--model", "ovb-tiny-mapvit", "--checkpoint", str(env["ckpt"]["ovb-tiny-mapvit"]),
                "--resolution", "long640", "--pad", "square", "--merge-stuff") == 0
    res = json.loads((out / "results.json").read_text())
    assert res["inference"]["dense"] == "timm-vit-map" and res["inference"]["merge_stuff"] is True
    shard = json.loads(next((out / "shards" / "vlm_segmentation").glob("*.json")).read_text())
    assert shard["padded_size"] == [640, 640]


@pytest.mark.clip
def test_cli_missing_checkpoint_is_a_clear_error(env, capsys):
    rc = _run(env, env["base"] / "nope", "--model", "ovb-tiny-vit", "--checkpoint", str(env["base"] / "missing.pt"))
    assert rc == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "--checkpoint PATH" in err and "never downloads" in err
    rc = _run(env, env["base"] / "nope", "--model", "ovb-tiny-vit")
    err = capsys.readouterr().err
    assert rc == 1 and "no weights given" in err
    assert "--hf-cache-dir DIR" in err and "--cache-dir)" not in err  # the option that exists


@pytest.mark.clip
def test_cli_on_generated_ade20k_layout_via_the_catalog(env):
    synthetic = pytest.importorskip("ovbench.data.synthetic")
    pytest.importorskip("ovbench.data.catalog")
    root = env["base"] / "synthetic"
    synthetic.generate_dataset(root, 2, seed=0, layout="ade20k", height=64, width=96, scenes=True, workers=1)
    out = env["base"] / "run_synth"
    rc = main(["vlm-oracle", "--model", "ovb-tiny-vit", "--checkpoint", str(env["ckpt"]["ovb-tiny-vit"]),
               "--model-config", str(env["cfg"]), "--dataset", "ade20k_panoptic_val", "--dataset-root", str(root),
               "--out", str(out), "--cache-dir", str(env["base"] / "cache"), "--quiet", "--prompts", "policy"])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["dataset"]["num_classes"] == 150 and res["taxonomy"]["num_seen"] == 64
    from ovbench.taxonomy import load_graph

    # named and hashed as `ovbench run` names them, so both kinds of results line up
    assert res["taxonomy"]["name"] == "coco_panoptic_133__ade20k_150"
    assert res["taxonomy"]["sha256"] == load_graph().sha256()
    assert res["suite"]["config"]["prompt_sources"]["policy-table"] == 11
    _assert_schema_valid(res)
    assert res["oracles"]["vlm_segmentation"]["splits"]["unseen"]["n"] >= 0


def test_help_has_quiet_and_the_shared_workers_default(capsys):
    from ovbench.cli import build_parser
    from ovbench.workers import default_workers

    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["vlm-oracle", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    n = default_workers()
    assert "--quiet" in text and "--no-progress" not in text  # the old spelling is a hidden alias
    assert f"every CPU this process may use, {n} here" in text and "--templates" in text
    args = parser.parse_args(["vlm-oracle", "--model", "m", "--out", "o"])
    assert args.workers == n and args.quiet is False and args.templates == "vild14"
    assert parser.parse_args(["vlm-oracle", "--model", "m", "--out", "o", "--no-progress"]).quiet is True


@pytest.mark.parametrize("module", ["open_clip", "torch"])
def test_without_the_clip_extra_the_error_is_one_line(module, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    rc = main(["vlm-oracle", "--model", "ViT-B-16", "--dataset", str(tmp_path / "x.json"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "ovbench[clip]" in err and module in err


@pytest.mark.clip
def test_cli_template_set_is_recorded_and_keys_the_text_cache(env, capsys):
    out = env["base"] / "run_single"
    args = ["--model", "ovb-tiny-vit", "--checkpoint", str(env["ckpt"]["ovb-tiny-vit"]), "--limit", "1"]
    cache = env["base"] / "cache_templates"
    assert _run(env, out, *args, "--templates", "single", "--cache-dir", str(cache)) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["inference"]["templates"] == "single" and res["inference"]["num_templates"] == 1
    assert res["suite"]["config"]["templates"] == "single"
    capsys.readouterr()
    # without --quiet: the number of prompts up front, a progress bar, the cache write / hit
    loud = ["vlm-oracle", "--dataset", str(env["data"]), "--model-config", str(env["cfg"]), "--threads", "2",
            "--cache-dir", str(cache), *args]
    assert main([*loud, "--out", str(env["base"] / "run_three"), "--templates", "3"]) == 0
    err = capsys.readouterr().err
    n = res["inference"]["num_phrases"]
    assert f"{n} phrases x 3 templates = {3 * n} prompts to embed" in err and "wrote cache" in err
    assert "text embeddings:" in err and "prompt/s" in err  # tqdm's bar, counted in prompts
    res3 = json.loads((env["base"] / "run_three" / "results.json").read_text())
    assert res3["inference"]["templates"] == "vild3" and res3["inference"]["num_templates"] == 3
    assert len(list((cache / "text").glob("*.npz"))) == 2
    assert main([*loud, "--out", str(env["base"] / "run_three_again"), "--templates", "3", "--no-resume"]) == 0
    err = capsys.readouterr().err
    assert "cache hit" in err and "prompts to embed" not in err
    rc = _run(env, env["base"] / "run_bad", *args, "--templates", "99")
    assert rc == 1 and "--templates '99'" in capsys.readouterr().err
