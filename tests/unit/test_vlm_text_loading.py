"""VLM oracle: text classifier (FC-CLIP aggregation, disk cache) and local-only model loading."""

import os
import time

import numpy as np
import pytest

pytestmark = pytest.mark.clip
open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

from ovbench.data.categories import Category, CategorySet  # noqa: E402
from ovbench.errors import ConfigError  # noqa: E402
from ovbench.vlm.loading import CheckpointNotFound, TokenizerUnavailable, VLMSpec, load_tokenizer, load_vlm  # noqa: E402
from ovbench.vlm.prompts import build_prompt_set  # noqa: E402
from ovbench.vlm.text import build_text_classifier, class_scores, encode_prompt_set  # noqa: E402
from ovbench.vlm.tiny import register_tiny_configs  # noqa: E402

CATS = CategorySet((Category(7, "bed", True), Category(57, "pillow", True), Category(39, "cushion", True)))


@pytest.fixture(scope="module", autouse=True)
def _tiny(tmp_path_factory):
    torch.set_num_threads(min(2, torch.get_num_threads()))
    register_tiny_configs(tmp_path_factory.mktemp("openclip_cfg"))


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    m = open_clip.create_model("ovb-tiny-vit")
    path = tmp_path_factory.mktemp("ckpt") / "tiny_vit.pt"
    torch.save(m.state_dict(), path)
    return path


def test_saved_random_checkpoint_loads_with_hash_and_normalisation(tiny_ckpt):
    loaded = load_vlm(VLMSpec("ovb-tiny-vit", checkpoint=str(tiny_ckpt)))
    ref = open_clip.create_model("ovb-tiny-vit", pretrained=str(tiny_ckpt))
    for (k, a), (_, b) in zip(loaded.model.state_dict().items(), ref.state_dict().items()):
        assert torch.equal(a, b), k
    assert len(loaded.weights_sha256) == 64 and loaded.weights_source.startswith("file:")
    assert loaded.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073))
    assert not loaded.model.training


def test_local_dir_checkpoint_loads(tmp_path, tiny_ckpt):
    import json

    from ovbench.vlm.tiny import TINY_CONFIGS

    (tmp_path / "open_clip_config.json").write_text(json.dumps({
        "model_cfg": TINY_CONFIGS["ovb-tiny-vit"], "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}))
    (tmp_path / "open_clip_pytorch_model.bin").write_bytes(tiny_ckpt.read_bytes())
    loaded = load_vlm(VLMSpec("my-tiny", checkpoint=f"local-dir:{tmp_path}"))
    assert loaded.mean == (0.5, 0.5, 0.5) and loaded.preprocess_source.startswith("local-dir")
    assert loaded.tokenizer_id == f"local-dir:{tmp_path}"
    load_tokenizer(loaded)(["a photo of a bed."])  # SimpleTokenizer from the folder's config


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointNotFound, match="--checkpoint PATH.*open_clip_config.json.*never downloads"):
        load_vlm(VLMSpec("ovb-tiny-vit", checkpoint=str(tmp_path / "nope.pt")))
    with pytest.raises(CheckpointNotFound, match="no weights given"):
        load_vlm(VLMSpec("ViT-B-16"))
    t0 = time.perf_counter()
    with pytest.raises(CheckpointNotFound, match="not in the local cache.*laion/CLIP-ViT-B-16-laion2B-s34B-b88K"):
        load_vlm(VLMSpec("ViT-B-16", pretrained="laion2b_s34b_b88k", cache_dir=str(tmp_path)))
    assert time.perf_counter() - t0 < 20  # no network retries
    with pytest.raises(ConfigError, match="unknown open_clip model"):
        load_vlm(VLMSpec("ViT-B-61", checkpoint=str(tmp_path / "x.pt")))
    with pytest.raises(ConfigError, match="no pretrained tag"):
        load_vlm(VLMSpec("ViT-B-16", pretrained="nope"))


def test_tags_with_different_normalisation_need_the_tag(tiny_ckpt):
    from ovbench.vlm.loading import resolve_mean_std

    m = open_clip.create_model("ovb-tiny-vit")
    with pytest.raises(ConfigError, match="laion2b_s32b_b82k"):
        resolve_mean_std(open_clip, m, "ViT-L-14", None, False)  # OpenCLIP ViT-L-14 LAION-2B uses 0.5 / 0.5
    mean, std, _ = resolve_mean_std(open_clip, m, "ViT-L-14", "laion2b_s32b_b82k", False)
    assert mean == (0.5, 0.5, 0.5) and std == (0.5, 0.5, 0.5)
    mean, _, src = resolve_mean_std(open_clip, m, "ViT-B-16-SigLIP2-256", None, False)
    assert mean == (0.5, 0.5, 0.5) and "agree" in src


def test_siglip_tokenizer_offline_is_a_clear_error():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    loaded = load_vlm(VLMSpec("ovb-tiny-mapvit-hf"), allow_random=True)
    t0 = time.perf_counter()
    with pytest.raises(TokenizerUnavailable, match="Hugging Face tokenizers.*HF_HUB_OFFLINE=1"):
        load_tokenizer(loaded)
    assert time.perf_counter() - t0 < 20


def test_text_classifier_matches_fcclip_aggregation_and_is_cached(tmp_path, tiny_ckpt):
    loaded = load_vlm(VLMSpec("ovb-tiny-vit", checkpoint=str(tiny_ckpt)))
    tok = load_tokenizer(loaded)
    ps = build_prompt_set(CATS, "synonyms")
    calls = []

    def get_tok():
        calls.append(1)
        return tok

    kw = dict(model_name="ovb-tiny-vit", weights_id=loaded.weights_sha256, cache_dir=tmp_path, get_tokenizer=get_tok)
    first = build_text_classifier(loaded.model, None, ps, **kw)
    assert not first.cache_hit and calls == [1]
    second = build_text_classifier(loaded.model, None, ps, **kw)
    assert second.cache_hit and calls == [1]  # no tokenizer, no text forward
    np.testing.assert_array_equal(first.embeddings, second.embeddings)
    assert len(list((tmp_path / "text").glob("*.npz"))) == 1
    other = build_text_classifier(loaded.model, None, build_prompt_set(CATS, "policy"), **kw)
    assert not other.cache_hit and len(list((tmp_path / "text").glob("*.npz"))) == 2

    # direct computation: normalise each prompt, mean over templates, normalise, max over phrases
    with torch.inference_mode():
        f = loaded.model.encode_text(tok(ps.prompts())).float()
    f = f / f.norm(dim=-1, keepdim=True)
    per_phrase = f.reshape(len(ps.phrases()), len(ps.templates), -1).mean(1)
    per_phrase = per_phrase / per_phrase.norm(dim=-1, keepdim=True)
    np.testing.assert_allclose(first.embeddings, per_phrase.numpy(), rtol=1e-5, atol=1e-6)
    pooled = torch.randn(5, per_phrase.shape[1])
    sims = (pooled / pooled.norm(dim=-1, keepdim=True)) @ per_phrase.T
    p2c = ps.phrase_to_class()
    expected = torch.stack([sims[:, torch.from_numpy(p2c == k)].max(1).values for k in range(len(CATS))], 1)
    torch.testing.assert_close(class_scores(pooled, first), expected)
    assert np.allclose(encode_prompt_set(loaded.model, tok, ps, batch_size=5), first.embeddings, atol=1e-6)


def test_random_init_is_never_cached(tmp_path):
    loaded = load_vlm(VLMSpec("ovb-tiny-vit"), allow_random=True)
    assert loaded.weights_sha256 is None and loaded.weights_source == "random-init"
    ps = build_prompt_set(CATS, "names")
    clf = build_text_classifier(loaded.model, load_tokenizer(loaded), ps, model_name="x", weights_id=loaded.weights_id,
                                cache_dir=tmp_path)
    assert clf.key is None and not (tmp_path / "text").exists()


def test_siglip2_name_based_tokenizer_offline_is_a_clear_error():
    from ovbench.vlm.loading import LoadedVLM

    fake = LoadedVLM(None, VLMSpec("ViT-B-16-SigLIP2-256"), "random-init", None, (0.5,) * 3, (0.5,) * 3, "", "ViT-B-16-SigLIP2-256")
    with pytest.raises(TokenizerUnavailable, match="ViT-B-16-SigLIP2-256"):
        load_tokenizer(fake)


def test_unknown_tag_with_a_checkpoint_file_is_an_error(tiny_ckpt):
    with pytest.raises(ConfigError, match="no pretrained tag 'laion2b'"):
        load_vlm(VLMSpec("ViT-B-16", pretrained="laion2b", checkpoint=str(tiny_ckpt)))


def test_benchmark_tags_fix_the_normalisation_of_every_benchmarked_model():
    """bench_vlm.py builds random-weight models; ViT-L-14's tags disagree on mean/std, so the
    benchmark must pass a tag (it stopped with a ConfigError without one)."""
    import importlib.util
    from pathlib import Path

    from ovbench.vlm.loading import resolve_mean_std

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_vlm.py"
    spec = importlib.util.spec_from_file_location("bench_vlm_for_test", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with pytest.raises(ConfigError, match="pass --pretrained TAG"):
        resolve_mean_std(open_clip, None, "ViT-L-14", None, False)
    for name in [*bench.DEFAULT_MODELS, "ViT-L-14", "convnext_large_d_320", "ViT-L-16-SigLIP2-512"]:
        model, tag = bench.model_and_tag(name)
        assert tag in open_clip.list_pretrained_tags_by_model(model), name
        mean, std, source = resolve_mean_std(open_clip, None, model, tag, False)
        assert source == f"pretrained tag {tag!r}" and len(mean) == len(std) == 3
    assert bench.model_and_tag("ViT-L-14:laion2b_s32b_b82k") == ("ViT-L-14", "laion2b_s32b_b82k")
