"""VLM oracle: dense features equal the model's own image embedding where that identity holds.

Tiny random open_clip models (``ovbench.vlm.tiny``) mirror the real families' structure:
open_clip ViT (CLIP), timm ViT with a MAP head (SigLIP 2), timm ConvNeXt with linear / MLP head.
"""

import pytest

pytestmark = pytest.mark.clip
open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

from ovbench.errors import ConfigError  # noqa: E402
from ovbench.vlm.dense import make_dense_encoder, resize_pos_grid  # noqa: E402
from ovbench.vlm.tiny import register_tiny_configs  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _tiny(tmp_path_factory):
    torch.set_num_threads(min(2, torch.get_num_threads()))
    register_tiny_configs(tmp_path_factory.mktemp("openclip_cfg"))


def _model(name, seed=0):
    torch.manual_seed(seed)
    return open_clip.create_model(name).eval()


@torch.inference_mode()
def test_vit_maskclip_equals_image_embedding_when_all_tokens_are_equal():
    m = _model("ovb-tiny-vit")
    v = m.visual
    x = torch.full((1, 3, 64, 64), 0.3)
    v.positional_embedding.zero_()
    v.class_embedding.copy_(v.conv1(x)[0, :, 0, 0])  # conv1 has no bias: every patch embeds to this
    enc = make_dense_encoder(m)
    assert enc.kind == "vit-maskclip" and enc.stride == 16
    f = enc(x).features
    assert f.shape == (1, 32, 4, 4)
    img = m.encode_image(x)[0]
    torch.testing.assert_close(f[0], img[:, None, None].expand_as(f[0]), rtol=1e-4, atol=1e-5)


@torch.inference_mode()
def test_vit_maskclip_differs_from_attention_on_real_inputs_and_matches_open_clip_trunk():
    m = _model("ovb-tiny-vit")
    enc = make_dense_encoder(m)
    x = torch.randn(1, 3, 64, 64)
    tokens, grid = enc.tokens(x)
    ref = m.visual.forward_intermediates(x, indices=[0], intermediates_only=True, output_fmt="NLC")["image_intermediates"][0]
    torch.testing.assert_close(tokens[:, 1:], ref, rtol=1e-5, atol=1e-5)  # block 0 of 2 = all but the last
    f = enc(x).features
    assert not torch.allclose(f.mean((2, 3))[0], m.encode_image(x)[0], atol=1e-3)


@torch.inference_mode()
def test_siglip_map_value_path_equals_image_embedding_when_all_tokens_are_equal():
    m = _model("ovb-tiny-mapvit")
    tr = m.visual.trunk
    x = torch.full((1, 3, 224, 224), -0.2)
    tr.pos_embed.zero_()
    tr.cls_token.copy_(tr.patch_embed.proj(x)[0, :, 0, 0].view(1, 1, -1))
    enc = make_dense_encoder(m)
    assert enc.kind == "timm-vit-map"
    f = enc(x).features
    assert f.shape == (1, 64, 14, 14)
    img = m.encode_image(x)[0]
    torch.testing.assert_close(f[0], img[:, None, None].expand_as(f[0]), rtol=1e-4, atol=1e-6)


@torch.inference_mode()
def test_siglip_tokens_match_timm_forward_features_at_native_size():
    m = _model("ovb-tiny-mapvit")
    enc = make_dense_encoder(m)
    x = torch.randn(1, 3, 224, 224)
    tokens, grid = enc.tokens(x)
    ref = m.visual.trunk.forward_features(x)[:, m.visual.trunk.num_prefix_tokens:]
    torch.testing.assert_close(tokens, ref, rtol=1e-5, atol=1e-5)
    assert grid == (14, 14)


@pytest.mark.parametrize("name", ["ovb-tiny-convnext", "ovb-tiny-convnext-mlp"])
@torch.inference_mode()
def test_convnext_dense_head_equals_image_embedding(name):
    m = _model(name)
    enc = make_dense_encoder(m)
    assert enc.kind == "convnext" and enc.stride == 32
    x = torch.randn(1, 3, 32, 32)  # a 1x1 feature grid: global average pooling is the identity
    torch.testing.assert_close(enc(x).features[0, :, 0, 0], m.encode_image(x)[0], rtol=1e-5, atol=1e-6)
    # pool-then-project (FC-CLIP) with a full-image mask equals encode_image at any size
    x = torch.randn(1, 3, 96, 160)
    out = make_dense_encoder(m, convnext_order="pool_project")(x)
    torch.testing.assert_close(out.head(out.features.mean((2, 3))), m.encode_image(x), rtol=1e-5, atol=1e-6)
    # ... and project-then-pool differs (the LayerNorm / MLP sit between pooling and projection)
    assert not torch.allclose(enc(x).features.mean((2, 3)), m.encode_image(x), atol=1e-4)


@pytest.mark.parametrize("name, hw, grid", [
    ("ovb-tiny-vit", (48, 80), (3, 5)),
    ("ovb-tiny-mapvit", (64, 112), (4, 7)),
    ("ovb-tiny-convnext", (96, 160), (3, 5)),
])
@torch.inference_mode()
def test_dense_shapes_on_non_native_inputs(name, hw, grid):
    m = _model(name)
    f = make_dense_encoder(m)(torch.randn(2, 3, *hw)).features
    assert f.shape[0] == 2 and tuple(f.shape[2:]) == grid and f.dtype == torch.float32
    assert torch.isfinite(f).all()


def test_pos_grid_resize_keeps_prefix_and_constants():
    pos = torch.cat([torch.randn(1, 8), torch.full((16, 8), 0.7)])
    out = resize_pos_grid(pos, (4, 4), (6, 9), num_prefix=1)
    assert out.shape == (1 + 54, 8)
    torch.testing.assert_close(out[:1], pos[:1])
    torch.testing.assert_close(out[1:], torch.full((54, 8), 0.7), rtol=1e-5, atol=1e-5)
    assert resize_pos_grid(pos, (4, 4), (4, 4), 1) is pos
    with pytest.raises(ConfigError):
        resize_pos_grid(pos, (3, 3), (6, 6), 1)


def test_unsupported_tower_is_a_clear_error():
    with pytest.raises(ConfigError, match="no dense-feature recipe"):
        make_dense_encoder(torch.nn.Linear(3, 3))
