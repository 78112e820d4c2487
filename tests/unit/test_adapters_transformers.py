"""The `transformers` adapter on real Hugging Face model code (tiny random Mask2Former / OneFormer
saved with save_pretrained to a temp folder: no download), through `ovbench run`, and our baseline
panoptic inference cross-checked against transformers' own post_process_panoptic_segmentation."""

import json
import types
from pathlib import Path

import numpy as np
import pytest

from ovbench.adapters.transformers.labels import map_id2label, normalise
from ovbench.data.categories import Category, CategorySet
from ovbench.errors import ConfigError

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from ovbench.adapters.transformers.tiny import save_tiny_model  # noqa: E402

# ---------------------------------------------------------------- id2label -> dataset categories (pure)
CATS = CategorySet((Category(1, "wall", False), Category(2, "road, route", False, ("road", "route", "street")),
                    Category(3, "window ", True, ("windowpane", "window")), Category(4, "traffic_light", True)))


def test_labels_map_by_exact_then_normalised_name_then_alternatives():
    id2label = {0: "Traffic-Light", 1: "windowpane", 2: "wall", 3: "road"}
    cols = map_id2label(id2label, CATS, "m")
    assert cols.tolist() == [2, 3, 1, 0]  # wall exact, road via "road, route", windowpane via synonym, traffic light normalised
    assert normalise("  Traffic_light ") == "traffic light"


def test_unmappable_vocabulary_is_one_clear_error_listing_the_names():
    with pytest.raises(ConfigError) as e:
        map_id2label({0: "wall", 1: "road", 2: "sky", 3: "bus"}, CATS, "facebook/m2f")
    msg = str(e.value)
    assert "\n" not in msg and "facebook/m2f" in msg
    assert "'window '" in msg and "'traffic_light'" in msg and "'sky'" in msg and "'bus'" in msg and "label_map" in msg


def test_label_map_overrides_the_name_rule():
    cols = map_id2label({0: "wall", 1: "road", 2: "glass", 3: "signal"}, CATS, "m", {"glass": "window ", "signal": "traffic_light"})
    assert cols.tolist() == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="not a dataset category"):
        map_id2label({0: "wall"}, CATS, "m", {"wall": "walls"})


# ---------------------------------------------------------------- real model code, end to end
@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    from ovbench.data.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("hfdata")
    generate_dataset(root, 2, seed=7, height=64, width=96, workers=1)
    return root


def _dataset(root):
    from ovbench.data.catalog import get_dataset

    return get_dataset("ade20k_panoptic_val", root=root)


def _shuffled_labels(categories, seed=0) -> dict[int, str]:
    """The dataset's names in a shuffled model order, some spelled differently (case, synonym)."""
    names = [c.name for c in categories]
    names[0] = names[0].upper()  # "WALL": normalised match
    names[8] = "windowpane"  # dataset "window ": FC-CLIP synonym
    order = np.random.default_rng(seed).permutation(len(names))
    return {i: names[j] for i, j in enumerate(order)}


@pytest.fixture(scope="module")
def m2f_folder(tmp_path_factory, data_root) -> tuple[Path, dict[int, str]]:
    labels = _shuffled_labels(_dataset(data_root).categories)
    return save_tiny_model(tmp_path_factory.mktemp("m2f") / "model", labels, "mask2former", seed=1), labels


@pytest.mark.parametrize("kind", ["mask2former", "oneformer"])
def test_ovbench_run_writes_every_oracle_with_real_model_code(kind, m2f_folder, data_root, tmp_path, capsys):
    from ovbench.cli import main
    from ovbench.results import validate_results
    from ovbench.suites.suite import load_suite

    if kind == "mask2former":
        folder = m2f_folder[0]
    else:  # OneFormer: the processor adds the task token "panoptic" (tokenised by a tiny CLIP tokenizer)
        folder = save_tiny_model(tmp_path / "oneformer", _shuffled_labels(_dataset(data_root).categories), "oneformer", seed=2)
    rc = main(["run", "--adapter", "transformers", "--adapter-arg", f"model={folder}", "--device", "cpu",
               "--dataset-root", str(data_root), "--out", str(tmp_path / "run"), "--quiet", "--workers", "1", "--limit", "1"])
    assert rc == 0, capsys.readouterr().err
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    validate_results(doc)
    assert set(doc["oracles"]) == {o.key for o in load_suite().oracles}
    assert doc["model"]["adapter"] == "transformers" and doc["model"]["name"].startswith("Mask2Former" if kind == "mask2former" else "OneFormer")
    assert doc["dataset"]["num_images"] == 1 and doc["model"]["checkpoint_sha256"]


def test_raw_outputs_are_the_models_outputs_in_dataset_order(m2f_folder, data_root):
    from ovbench.adapters import get_adapter

    folder, labels = m2f_folder
    ds = _dataset(data_root)
    adapter = get_adapter("transformers", model=str(folder), device="cpu")
    adapter.setup(ds.categories)
    sample = ds.sample(ds.image_ids()[0])
    raw = adapter.predict(sample)
    inputs = adapter.processor(images=sample.load_image(), return_tensors="pt")
    with torch.no_grad():
        out = adapter.model(**inputs)
    p = out.class_queries_logits[0].double().softmax(-1).numpy()
    model_index = {v: k for k, v in labels.items()}
    names = [c.name for c in ds.categories]
    names[0], names[8] = names[0].upper(), "windowpane"  # as _shuffled_labels spelled them
    expected = np.concatenate([p[:, [model_index[n] for n in names]], p[:, -1:]], axis=1)
    np.testing.assert_allclose(raw.class_probs, expected, rtol=1e-5, atol=1e-7)  # float32 storage of float64 softmax
    np.testing.assert_array_equal(raw.mask_logits, out.masks_queries_logits[0].numpy())
    # 64 x 96 image -> shortest edge 96 (144 wide), rounded up to a multiple of 32: 96 x 160, no padding
    assert raw.geometry.orig_size == (64, 96) and raw.geometry.padded_size == raw.geometry.input_size == (96, 160)
    assert raw.mask_logits.shape[1:] == (24, 40)
    assert adapter.info.inference.object_mask_threshold == 0.8 and adapter.info.inference.prob_eps == 0.0


def test_padding_from_pixel_mask_becomes_the_geometry():
    from ovbench.adapters.transformers.adapter import geometry_from_inputs
    from ovbench.errors import BadRawOutput

    mask = np.zeros((64, 96), np.int64)
    mask[:50, :70] = 1
    g = geometry_from_inputs((64, 96), mask, (100, 140))
    assert (g.orig_size, g.input_size, g.padded_size) == ((100, 140), (50, 70), (64, 96))
    mask[10, 10] = 0
    with pytest.raises(BadRawOutput, match="top-left rectangle"):
        geometry_from_inputs((64, 96), mask, (100, 140))


def test_missing_model_is_a_one_line_error(tmp_path, data_root, monkeypatch, capsys):
    from ovbench.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    base = ["run", "--adapter", "transformers", "--dataset-root", str(data_root), "--out", str(tmp_path / "o"), "--device", "cpu"]
    assert main([*base, "--adapter-arg", "model=facebook/no-such-model-in-cache", "--adapter-arg", f"hf_cache_dir={tmp_path}"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nor in the local Hugging Face cache" in err and "hf download facebook/no-such-model-in-cache" in err
    (tmp_path / "notamodel").mkdir()
    assert main([*base, "--adapter-arg", f"model={tmp_path / 'notamodel'}"]) == 1
    assert "has no config.json" in capsys.readouterr().err


# ---------------------------------------------------------------- cross-check with transformers' post-processing
def test_baseline_inference_agrees_with_post_process_panoptic_segmentation(tmp_path, data_root):
    """Same outputs, same thresholds, same size, two implementations: ours (detectron2's Mask2Former
    rule) and transformers' ``Mask2FormerImageProcessor.post_process_panoptic_segmentation``.

    Differences by design, neutralised or stated:
    * resize: transformers resizes the mask frame to a fixed 384 x 384, then to the target size,
      without cropping padding; ovbench goes frame -> padded input -> crop -> image as detectron2.
      Both get the masks already resized by ovbench at the image size, 384 x 384, so both resizes are
      the identity; ovbench's resize itself is checked against torch's bilinear interpolation.
    * score used: transformers tests a candidate's area on score-weighted probabilities
      (score * p >= 0.5), detectron2 on p >= 0.5. The model is made confident (class head x 1e4, so
      every kept score is exactly 1.0, asserted), which makes the two areas equal.
    * pixels: transformers paints every pixel the candidate wins (argmax of score * p); detectron2
      only those where the winner's own p >= 0.5 (the rest is VOID). Checked exactly: ours is VOID
      outside those pixels, and on them the two maps are the same partition with the same classes.
    * ``>`` (transformers) vs ``>=`` (detectron2) at the overlap threshold: no candidate sits
      exactly on it here (asserted through the exact agreement).
    Pixels within 1e-6 of a decision (top-two probabilities, or p vs 0.5) are left out: numpy's and
    torch's float32 sigmoids may differ in the last bit; their count is asserted to be tiny.
    """
    from transformers import Mask2FormerImageProcessor

    from ovbench.adapters import get_adapter
    from ovbench.data.synthetic import generate_dataset
    from ovbench.inference.resize import resize_masks
    from ovbench.oracles.context import ImageContext, SuiteSettings
    from ovbench.raw.record import MaskGeometry, RawOutput

    root = tmp_path / "data"
    generate_dataset(root, 1, seed=11, height=384, width=384, workers=1)
    ds = _dataset(root)
    labels = _shuffled_labels(ds.categories, seed=3)
    folder = save_tiny_model(tmp_path / "confident", labels, "mask2former", seed=0, num_queries=3, class_logit_scale=1e4)
    adapter = get_adapter("transformers", model=str(folder), device="cpu")
    adapter.setup(ds.categories)
    sample = ds.sample(ds.image_ids()[0])
    raw = adapter.predict(sample)
    H, W = raw.geometry.orig_size
    assert (H, W) == (384, 384)

    # ovbench's resize == torch bilinear (align_corners=False) frame -> padded input -> crop -> image
    ours_logits = resize_masks(raw.mask_logits, raw.geometry)
    (h, w), (hp, wp) = raw.geometry.input_size, raw.geometry.padded_size
    ref = torch.nn.functional.interpolate(torch.from_numpy(raw.mask_logits)[None], size=(hp, wp), mode="bilinear", align_corners=False)
    ref = torch.nn.functional.interpolate(ref[..., :h, :w], size=(H, W), mode="bilinear", align_corners=False)[0].numpy()
    np.testing.assert_allclose(ours_logits, ref, atol=1e-4, rtol=0)  # float32 BLAS sums vs torch's kernel

    inputs = adapter.processor(images=sample.load_image(), return_tensors="pt")
    with torch.no_grad():
        out = adapter.model(**inputs)
    info = adapter.info.inference
    same_size = RawOutput(raw.image_id, ours_logits, raw.class_probs, raw.category_ids, MaskGeometry.identity(H, W))
    ours = ImageContext(same_size, sample.gt, ds.categories, SuiteSettings(inference=info)).baseline.pred

    model_id_of = dict(zip(ds.categories.ids.tolist(), adapter.columns.tolist()))
    stuff = {model_id_of[c.id] for c in ds.categories if not c.isthing}
    hf_out = types.SimpleNamespace(class_queries_logits=out.class_queries_logits,
                                   masks_queries_logits=torch.from_numpy(ours_logits)[None])
    hf = Mask2FormerImageProcessor().post_process_panoptic_segmentation(
        hf_out, threshold=info.object_mask_threshold, mask_threshold=0.5,
        overlap_mask_area_threshold=info.overlap_threshold, label_ids_to_fuse=stuff, target_sizes=None)[0]
    hf_seg = hf["segmentation"].numpy().astype(np.int64)
    assert all(s["score"] == 1.0 for s in hf["segments_info"])  # confident model: weighted area == plain area

    # where the winning candidate's own probability is >= 0.5 (computed here with torch)
    scores, lab = out.class_queries_logits[0].softmax(-1).max(-1)
    kept = ((lab != len(labels)) & (scores > info.object_mask_threshold)).numpy()
    probs = torch.from_numpy(ours_logits[kept]).sigmoid().numpy()
    top2 = np.sort(probs, axis=0)[-2:]
    covered = top2[-1] >= 0.5
    clear = (top2[-1] - top2[-2] > 1e-6) & (np.abs(top2[-1] - 0.5) > 1e-6)
    assert (~clear).mean() < 1e-3

    ours_ids = ours.ids.astype(np.int64)
    assert not (ours_ids[~covered & clear] != 0).any()  # detectron2 rule: VOID where the winner's p < 0.5
    sel = covered & clear
    pairs = set(zip(ours_ids[sel].tolist(), hf_seg[sel].tolist()))
    assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})  # one-to-one: same partition
    ours_cat = {s.id: s.category_id for s in ours.segments}
    hf_label = {s["id"]: s["label_id"] for s in hf["segments_info"]}
    for a, b in pairs:
        assert (a == 0) == (b == 0)
        if a:
            assert model_id_of[ours_cat[a]] == hf_label[b]
    assert len(ours.segments) >= 2 and sel.mean() > 0.1  # a real comparison, not an empty one


def test_hugging_face_ade20k_labels_map_onto_ade20k_150_in_order():
    """The id2label of Hugging Face's ADE20K checkpoints (huggingface/label-files ade20k-id2label.json,
    as in the configs of nvidia/segformer-*-ade and the ADE20K Mask2Former checkpoints; copied to
    tests/fixtures/hf_ade20k_id2label.json) names ADE's 150 classes in ADE's own order, partly by other
    names ("windowpane", "bed " with a space, "ashcan"): the name rule must give the identity."""
    from ovbench.taxonomy.classes import load_class_list
    from ovbench.vlm.dataset_access import categories_with_synonyms

    id2label = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "hf_ade20k_id2label.json").read_text())
    ade = load_class_list("ade20k_150")
    plain = CategorySet(tuple(Category(c.id, c.name, c.isthing) for c in ade))  # as read from the panoptic JSON
    named, _ = categories_with_synonyms(plain)
    cols = map_id2label({int(k): v for k, v in id2label.items()}, named, "hf-ade")
    np.testing.assert_array_equal(cols, np.arange(150))


def test_a_folder_without_processor_or_of_another_architecture_is_a_clear_error(m2f_folder, tmp_path):
    import shutil

    from ovbench.adapters import get_adapter

    folder = tmp_path / "no_processor"
    shutil.copytree(m2f_folder[0], folder)
    (folder / "preprocessor_config.json").unlink()
    with pytest.raises(ConfigError, match=r"no usable image processor in .*no_processor"):
        get_adapter("transformers", model=str(folder), device="cpu")
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ConfigError, match=r"is a 'bert'; supported: mask2former, oneformer"):
        get_adapter("transformers", model=str(other), device="cpu")
