"""The FC-CLIP / MAFT+ adapters' parts that do not need detectron2: geometry, ensembles,
capture of raw outputs from a forward pass, and clear errors when detectron2 is missing."""

import hashlib
import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from ovbench.adapters.ensembles import fcclip_class_probs, maftplus_class_probs
from ovbench.errors import ConfigError, MissingDependency
from ovbench.inference.geometry import detectron2_geometry, resize_shortest_edge

HAS_D2 = importlib.util.find_spec("detectron2") is not None


def test_resize_shortest_edge_follows_detectron2_rounding():
    assert resize_shortest_edge(512, 683) == (800, 1067)  # 683 * 1.5625 = 1067.2
    assert resize_shortest_edge(683, 512) == (1067, 800)
    assert resize_shortest_edge(300, 1000) == (400, 1333)  # long side capped: 800/300*1000 > 1333
    g = detectron2_geometry(512, 683)
    assert g.input_size == (800, 1067) and g.padded_size == (800, 1088)


def test_fcclip_ensemble_matches_the_published_formula():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    N, C = 7, 5
    inv = rng.normal(size=(N, C + 1)).astype(np.float32)
    outv = rng.normal(size=(N, C)).astype(np.float32)
    seen = np.array([1, 0, 1, 1, 0], bool)
    # transcription of FC-CLIP's eval branch (fcclip/fcclip.py) in torch
    t_in, t_out = torch.from_numpy(inv).double(), torch.from_numpy(outv).double()
    p_in = t_in[:, :C].softmax(-1)
    p_out = t_out.softmax(-1)
    m = torch.from_numpy(seen.astype(np.float64))
    cls = (p_in ** 0.6 * p_out ** 0.4).log() * m + (p_in ** 0.2 * p_out ** 0.8).log() * (1 - m)
    void = t_in.softmax(-1)[:, -1:]
    ref = torch.cat([cls.softmax(-1) * (1 - void), void], -1).numpy()
    np.testing.assert_allclose(fcclip_class_probs(inv, outv, seen), ref, rtol=1e-5, atol=1e-7)
    mp = maftplus_class_probs(inv, outv)
    np.testing.assert_allclose(mp[:, :C].sum(1) + mp[:, C], 1.0, rtol=1e-6)
    np.testing.assert_allclose(mp[:, C], ref[:, C], rtol=1e-6)


def test_ensemble_never_produces_nan_where_the_reference_would():
    inv = np.array([[0.0, -2000.0, 0.0]], np.float32)  # p_in of class 1 underflows to 0
    outv = np.array([[0.0, 0.0]], np.float32)
    p = fcclip_class_probs(inv, outv, np.array([True, False]))
    assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-6


@pytest.mark.skipif(HAS_D2, reason="detectron2 is installed here")
def test_missing_detectron2_is_a_clear_error(tmp_path):
    from ovbench.adapters import get_adapter

    (tmp_path / "c.yaml").write_text("MODEL: {}\n")
    (tmp_path / "w.pth").write_bytes(b"0")
    with pytest.raises(MissingDependency, match="detectron2 is not on PyPI"):
        get_adapter("fcclip", config=str(tmp_path / "c.yaml"), weights=str(tmp_path / "w.pth"))
    with pytest.raises(ConfigError, match="does not exist"):
        get_adapter("maftplus", config=str(tmp_path / "missing.yaml"), weights=str(tmp_path / "w.pth"))


def test_capture_records_raw_outputs_of_one_forward_pass():
    """A stand-in with FC-CLIP's eval interface: sem_seg_head -> get_classification_logits ->
    panoptic_inference(log(probs + 1e-8), masks). The capture must return the low-res masks, the
    final posteriors and the pre-ensemble logits, and restore the model afterwards."""
    torch = pytest.importorskip("torch")
    from ovbench.adapters.detectron2_common import capture_raw, raw_from_capture

    N, C, hm, wm = 4, 3, 8, 10
    gen = torch.Generator().manual_seed(0)
    masks = torch.randn(1, N, hm, wm, generator=gen)
    logits = torch.randn(1, N, C + 1, generator=gen)
    module = types.SimpleNamespace(get_classification_logits=lambda feats: feats @ torch.ones(5, C + 1))

    class Head(torch.nn.Module):
        def forward(self, x):
            return {"pred_logits": logits, "pred_masks": masks}

    class Model:
        semantic_on, instance_on, panoptic_on = True, True, True

        def __init__(self):
            self.sem_seg_head = Head()

        def panoptic_inference(self, mask_cls, mask_pred):
            raise AssertionError("the full-resolution inference must be skipped")

        def __call__(self, inputs):
            out = self.sem_seg_head(None)
            outv = module.get_classification_logits(torch.ones(1, N, 5))
            probs = torch.cat([outv[..., :-1].softmax(-1) * 0.5, torch.full((1, N, 1), 0.5)], -1)
            return [self.panoptic_inference(torch.log(probs[0] + 1e-8), out["pred_masks"][0])]

    model = Model()
    orig_pi = model.panoptic_inference
    with capture_raw(model, module) as store:
        model([{}])
    assert model.panoptic_inference == orig_pi and model.semantic_on
    raw = raw_from_capture(store, "img", (30, 40), (32, 40), 32, np.arange(C), "fake")
    assert raw.mask_logits.shape == (N, hm, wm) and np.allclose(raw.mask_logits, masks[0].numpy())
    np.testing.assert_allclose(raw.class_probs[:, -1], 0.5, rtol=1e-5)
    np.testing.assert_allclose(raw.class_probs.sum(1), 1.0, rtol=1e-6)
    assert raw.out_vocab_logits.shape == (N, C) and raw.in_vocab_logits.shape == (N, C + 1)
    assert raw.geometry.padded_size == (32, 64)
    clip_only = raw_from_capture(store, "img", (30, 40), (32, 40), 32, np.arange(C), "fake", pre_ensemble_logits=False)
    assert clip_only.in_vocab_logits is None and clip_only.out_vocab_logits is None  # MAFT+: no ensemble sweep
    np.testing.assert_array_equal(clip_only.class_probs, raw.class_probs)


# ---------------------------------------------------------------- the real code's failure modes, on a faithful fake
@pytest.fixture
def fake_fcclip(fake_detectron2):
    """The fake FC-CLIP repository (tests/conftest.py), working directory outside it."""
    return fake_detectron2("fcclip")


def _fcclip(f, **kw):
    from ovbench.adapters import get_adapter

    return get_adapter("fcclip", repo=str(f.repo), config=str(f.config), weights=str(f.weights), device="cpu", **kw)


def test_the_fake_reproduces_the_relative_path_read_at_import(fake_fcclip):
    sys.path.insert(0, str(fake_fcclip.repo))
    with pytest.raises(FileNotFoundError, match=r"\./fcclip/data/datasets/ade20k_150_with_prompt_eng\.txt"):
        importlib.import_module("fcclip")


def test_fcclip_runs_from_outside_its_repository_and_restores_the_working_directory(fake_fcclip, tmp_path, capsys):
    from ovbench.cli import main
    from ovbench.data.synthetic import generate_dataset
    from ovbench.suites.suite import load_suite

    data = tmp_path / "data"
    generate_dataset(data, 2, seed=2, height=96, width=128, workers=1)
    rc = main(["run", "--adapter", "fcclip", "--adapter-arg", f"repo={fake_fcclip.repo}", "--adapter-arg", f"config={fake_fcclip.config}",
               "--adapter-arg", f"weights={fake_fcclip.weights}", "--device", "cpu", "--dataset-root", str(data),
               "--out", str(tmp_path / "run"), "--quiet", "--workers", "1"])
    assert rc == 0, capsys.readouterr().err
    assert Path.cwd() == fake_fcclip.cwd
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    assert set(doc["oracles"]) == {o.key for o in load_suite().oracles}
    assert doc["inference"]["object_mask_threshold"] == 0.0 and doc["inference"]["num_queries"] == 10  # the model's config
    assert doc["model"]["checkpoint_sha256"] == hashlib.sha256(b"random init").hexdigest()


def test_a_non_import_error_while_importing_the_model_is_one_config_error_line(fake_fcclip):
    (fake_fcclip.repo / "fcclip" / "data" / "datasets" / "ade20k_150_with_prompt_eng.txt").write_text("wall\n")  # no "id:"
    with pytest.raises(ConfigError) as e:
        _fcclip(fake_fcclip)
    msg = str(e.value)
    assert "\n" not in msg and str(fake_fcclip.repo) in msg and "importing 'fcclip'" in msg and "ValueError" in msg
    assert Path.cwd() == fake_fcclip.cwd


def test_a_missing_file_or_compiled_op_is_named(fake_fcclip):
    (fake_fcclip.repo / "fcclip" / "data" / "datasets" / "ade20k_150_with_prompt_eng.txt").unlink()
    with pytest.raises(ConfigError, match=r"file '\./fcclip/data/datasets/ade20k_150_with_prompt_eng\.txt' is missing"):
        _fcclip(fake_fcclip)
    for name in [m for m in sys.modules if m.split(".")[0] == "fcclip"]:
        del sys.modules[name]
    meta_arch = fake_fcclip.repo / "fcclip" / "fcclip.py"
    original = meta_arch.read_text()
    (fake_fcclip.repo / "fcclip" / "data" / "datasets" / "ade20k_150_with_prompt_eng.txt").write_text("0:wall\n")
    meta_arch.write_text("import MultiScaleDeformableAttention\n" + original)
    with pytest.raises(ConfigError, match=r"module 'MultiScaleDeformableAttention' is missing; compile"):
        _fcclip(fake_fcclip)
    for name in [m for m in sys.modules if m.split(".")[0] == "fcclip"]:
        del sys.modules[name]
    # as the real pixel_decoder/ops/functions/ms_deform_attn_func.py: re-raised with its own multi-line message
    meta_arch.write_text(
        "try:\n    import MultiScaleDeformableAttention as MSDA\nexcept ModuleNotFoundError as e:\n"
        "    info_string = ('\\n\\nPlease compile MultiScaleDeformableAttention CUDA op with the following commands:\\n'\n"
        "                   '\\t`cd fcclip/modeling/pixel_decoder/ops`\\n\\t`sh make.sh`\\n')\n"
        "    raise ModuleNotFoundError(info_string)\n" + original)
    with pytest.raises(ConfigError) as e:
        _fcclip(fake_fcclip)
    assert "\n" not in str(e.value) and "Please compile MultiScaleDeformableAttention" in str(e.value)
    assert "or put a stand-in module of that name on PYTHONPATH" in str(e.value)
    assert Path.cwd() == fake_fcclip.cwd


def test_open_clip_clash_is_detected_at_start_up(fake_fcclip):
    """FC-CLIP's CLIP wrapper permutes the text tokens to sequence-first (open_clip 2.x); a
    batch-first open_clip (3.x, the [clip] extra) fails deep in the forward pass. Detected first."""
    oc = pytest.importorskip("open_clip")
    import inspect

    from open_clip.transformer import Transformer

    wrapper = fake_fcclip.repo / "fcclip" / "modeling" / "backbone" / "clip.py"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(
        "def encode_text(self, text):\n    x = self.clip_model.token_embedding(text)\n"
        "    x = x.permute(1, 0, 2)  # NLD -> LND\n    x = self.clip_model.transformer(x, attn_mask=self.clip_model.attn_mask)\n")
    batch_first = inspect.signature(Transformer.__init__).parameters.get("batch_first")
    if batch_first is None or batch_first.default is not True:
        _fcclip(fake_fcclip)  # a sequence-first open_clip fits the wrapper: no error
        return
    with pytest.raises(ConfigError) as e:
        _fcclip(fake_fcclip)
    msg = str(e.value)
    assert "\n" not in msg and f"open_clip {oc.__version__}" in msg and "WITHOUT the [clip] extra" in msg and "vlm-oracle" in msg
    assert "fcclip" not in sys.modules  # refused before the model's package was imported


def test_maftplus_raw_outputs_carry_no_pre_ensemble_logits():
    """MAFT+ classifies with CLIP posteriors alone, so the alpha/beta sweep is skipped for it."""
    from ovbench.adapters.detectron2_model import Detectron2MaskTransformer
    from ovbench.adapters.fcclip.adapter import FCCLIPAdapter
    from ovbench.adapters.maftplus.adapter import MAFTPlusAdapter

    assert Detectron2MaskTransformer.pre_ensemble_logits and FCCLIPAdapter.pre_ensemble_logits
    assert not MAFTPlusAdapter.pre_ensemble_logits and "CLIP posteriors alone" in MAFTPlusAdapter.base_info.notes


def test_any_failure_importing_detectron2_itself_is_one_line(tmp_path, monkeypatch):
    from ovbench.adapters.detectron2_common import import_or_explain

    (tmp_path / "broken_d2_xyz.py").write_text("raise OSError('undefined symbol: _ZN3c10 (built against another torch)')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as e:
        import_or_explain("broken_d2_xyz", "rebuild it")
    assert "\n" not in str(e.value) and "OSError: undefined symbol" in str(e.value) and "rebuild it" in str(e.value)
    with pytest.raises(MissingDependency, match="no_such_module_xyz"):
        import_or_explain("no_such_module_xyz", "install it")
