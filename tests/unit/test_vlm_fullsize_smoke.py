"""VLM oracle smoke test on full-size open_clip architectures (random weights, small inputs)."""

import pytest

pytestmark = [pytest.mark.clip, pytest.mark.slow]
open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

from ovbench.vlm.dense import make_dense_encoder  # noqa: E402


@pytest.mark.parametrize("name, kind, stride, dim", [
    ("ViT-B-16", "vit-maskclip", 16, 512),
    ("convnext_base_w", "convnext", 32, 640),
    ("ViT-B-16-SigLIP2-256", "timm-vit-map", 16, 768),
])
@torch.inference_mode()
def test_real_architectures_give_dense_features(name, kind, stride, dim):
    torch.set_num_threads(min(2, torch.get_num_threads()))
    torch.manual_seed(0)
    m = open_clip.create_model(name).eval()
    enc = make_dense_encoder(m)
    assert (enc.kind, enc.stride) == (kind, stride)
    f = enc(torch.randn(1, 3, 2 * 32, 3 * 32)).features
    assert f.shape == (1, dim, 64 // stride, 96 // stride) and torch.isfinite(f).all()
    if kind == "vit-maskclip":  # the MaskCLIP identity on the real block structure
        v = m.visual
        x = torch.full((1, 3, 224, 224), 0.1)
        v.positional_embedding.zero_()
        v.class_embedding.copy_(v.conv1(x)[0, :, 0, 0])
        f = enc(x).features[0]
        img = m.encode_image(x)[0]
        torch.testing.assert_close(f, img[:, None, None].expand_as(f), rtol=1e-3, atol=1e-4)


def test_random_weights_with_a_tag_take_the_tags_normalisation(tmp_path):
    """Benchmarks: allow_random builds random weights when the tag's files are not cached, and the
    tag still sets mean/std (laion2b_s34b_b88k of ViT-B-16 uses OpenAI's values)."""
    from ovbench.vlm.loading import CheckpointNotFound, VLMSpec, load_vlm

    spec = VLMSpec("ViT-B-16", "laion2b_s34b_b88k", cache_dir=str(tmp_path))
    with pytest.raises(CheckpointNotFound, match="not in the local cache"):
        load_vlm(spec)
    loaded = load_vlm(spec, allow_random=True)
    assert loaded.weights_source == "random-init" and loaded.weights_sha256 is None
    assert loaded.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073)) and "laion2b_s34b_b88k" in loaded.preprocess_source
