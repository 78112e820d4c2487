"""VLM oracle: the worker pipeline (DataLoader processes) and the text-embedding path (sorted,
trimmed batches, progress and cache messages)."""

import json
import pickle

import numpy as np
import pytest

pytestmark = pytest.mark.clip
open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

from ovbench.data.categories import Category, CategorySet  # noqa: E402
from ovbench.errors import DatasetError  # noqa: E402
from ovbench.vlm.loading import VLMSpec, load_tokenizer, load_vlm  # noqa: E402
from ovbench.vlm.prompts import build_prompt_set  # noqa: E402
from ovbench.vlm.text import (  # noqa: E402
    TextClassifier,
    build_text_classifier,
    causal_text_tower,
    encode_prompt_set,
    encode_text_trimmed,
)
from ovbench.vlm.tiny import TINY_CONFIGS, register_tiny_configs  # noqa: E402

CATS = CategorySet((Category(7, "bed", True), Category(57, "pillow", True), Category(39, "cushion", True)))


@pytest.fixture(scope="module", autouse=True)
def _tiny(tmp_path_factory):
    torch.set_num_threads(min(2, torch.get_num_threads()))
    folder = tmp_path_factory.mktemp("openclip_cfg")
    register_tiny_configs(folder)
    # CLIP's real 77-token context on the tiny tower: trimming then cuts most of every prompt
    cfg = json.loads(json.dumps(TINY_CONFIGS["ovb-tiny-vit"]))
    cfg["text_cfg"]["context_length"] = 77
    extra = tmp_path_factory.mktemp("openclip_cfg77")
    (extra / "ovb-tiny-vit-ctx77.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(extra)


def _loaded(name):
    torch.manual_seed(0)
    return load_vlm(VLMSpec(name), allow_random=True)


def test_trimmed_batches_equal_the_full_context_encoding():
    loaded = _loaded("ovb-tiny-vit-ctx77")
    model, tok = loaded.model, load_tokenizer(loaded)
    assert causal_text_tower(model)
    ps = build_prompt_set(CATS, "synonyms")
    tokens = tok(ps.prompts())
    assert tokens.shape[1] == 77 and int((tokens != 0).sum(1).max()) < 20  # mostly padding
    with torch.inference_mode():
        full = model.encode_text(tokens).float()
        trimmed = encode_text_trimmed(model, tokens, int((tokens != 0).sum(1).max()))
        with pytest.raises(ValueError, match="not padding"):
            encode_text_trimmed(model, tokens, 3)
    # same maths on fewer (padding) positions; tolerance: float summation order of other shapes
    torch.testing.assert_close(trimmed, full, rtol=1e-5, atol=1e-6)
    a = encode_prompt_set(model, tok, ps, trim=True, batch_size=7)
    b = encode_prompt_set(model, tok, ps, trim=False, batch_size=1000)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # a random permutation of the true embedding rows would fail: rows are distinct
    assert np.abs(a - a[::-1]).max() > 1e-3


def test_siglip_style_towers_are_never_trimmed():
    loaded = _loaded("ovb-tiny-mapvit")  # no causal mask, last-token pooling
    assert not causal_text_tower(loaded.model)
    assert causal_text_tower(_loaded("ovb-tiny-vit").model)


def test_text_messages_say_count_cache_write_and_hit(tmp_path):
    torch.manual_seed(0)
    m = open_clip.create_model("ovb-tiny-vit")
    ckpt = tmp_path / "w.pt"
    torch.save(m.state_dict(), ckpt)
    loaded = load_vlm(VLMSpec("ovb-tiny-vit", checkpoint=str(ckpt)))
    ps = build_prompt_set(CATS, "names")
    n = len(ps.phrases())
    logs: list[str] = []
    kw = dict(model_name="t", weights_id=loaded.weights_sha256, cache_dir=tmp_path, log=logs.append,
              get_tokenizer=lambda: load_tokenizer(loaded))
    build_text_classifier(loaded.model, None, ps, **kw)
    assert f"{n} phrases x 14 templates = {14 * n} prompts" in logs[0] and "not in the cache yet" in logs[0]
    assert logs[1].startswith("text embeddings: wrote cache ") and logs[1].endswith(".npz")
    logs.clear()
    assert build_text_classifier(loaded.model, None, ps, **kw).cache_hit
    assert len(logs) == 1 and "cache hit" in logs[0]
    logs.clear()
    random = _loaded("ovb-tiny-vit")
    build_text_classifier(random.model, load_tokenizer(random), ps, model_name="t", weights_id=random.weights_id,
                          cache_dir=tmp_path, log=logs.append)
    assert "random weights are never cached" in logs[0]


def _oracle(res="long512"):
    from ovbench.vlm.dataset_access import categories_with_synonyms
    from ovbench.vlm.dense import make_dense_encoder
    from ovbench.vlm.pipeline import OracleConfig, VLMOracle

    loaded = _loaded("ovb-tiny-vit")
    enc = make_dense_encoder(loaded.model)
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(300, 32)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    text = TextClassifier(emb, np.arange(300) % 150, 150, None, False)
    return loaded, enc, text, OracleConfig, VLMOracle, categories_with_synonyms, rng


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from ovbench.data.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, 4, seed=1, layout="ade20k", height=96, width=128, workers=1)
    return root


def test_worker_processes_give_exactly_the_in_process_shards(synth, tmp_path):
    from ovbench.vlm.dataset_access import open_dataset
    from ovbench.vlm.run import run_oracle

    loaded, enc, text, OracleConfig, VLMOracle, with_syn, _ = _oracle()
    ds = open_dataset("ade20k_panoptic_val", synth)
    cats, _ = with_syn(ds.categories)
    oracle = VLMOracle(loaded.model, enc, text, cats, OracleConfig("long512"), mean=loaded.mean, std=loaded.std)
    a = run_oracle(oracle, ds, out_dir=tmp_path / "a", fingerprint="f", progress=False, workers=0)
    b = run_oracle(oracle, ds, out_dir=tmp_path / "b", fingerprint="f", progress=False, workers=2)
    assert a.num_images == b.num_images == 4 and a.num_segments > 0
    # the same computation in this process either way; the workers only decode, resize and count
    # integer pixel weights, so shards and totals are identical, in dataset order
    shards_a = sorted((tmp_path / "a" / "shards").rglob("*.json"))
    shards_b = sorted((tmp_path / "b" / "shards").rglob("*.json"))
    assert [p.name for p in shards_a] == [p.name for p in shards_b] and len(shards_a) == 4
    for pa, pb in zip(shards_a, shards_b):
        assert json.loads(pa.read_text()) == json.loads(pb.read_text())
    assert a.per_image_rows == b.per_image_rows
    assert np.array_equal(a.stats.tp, b.stats.tp) and np.array_equal(a.stats.iou_sum, b.stats.iou_sum)
    # resuming half of a run: the rest comes from the workers, the totals do not change
    for p in shards_b[:2]:
        p.unlink()
    c = run_oracle(oracle, ds, out_dir=tmp_path / "b", fingerprint="f", progress=False, workers=2)
    assert c.num_resumed == 2 and c.per_image_rows == a.per_image_rows


def test_bad_image_in_a_worker_is_the_same_one_line_error(synth, tmp_path):
    import shutil

    from ovbench.vlm.dataset_access import open_dataset
    from ovbench.vlm.run import run_oracle

    root = tmp_path / "broken"
    shutil.copytree(synth, root)
    ds = open_dataset("ade20k_panoptic_val", root)
    victim = ds.sample(ds.image_ids()[2]).image_path
    victim.unlink()
    loaded, enc, text, OracleConfig, VLMOracle, with_syn, _ = _oracle()
    cats, _ = with_syn(ds.categories)
    oracle = VLMOracle(loaded.model, enc, text, cats, OracleConfig("long512"), mean=loaded.mean, std=loaded.std)
    messages = []
    for workers in (0, 2):
        with pytest.raises(DatasetError) as info:
            run_oracle(oracle, ds, out_dir=tmp_path / f"o{workers}", fingerprint="f", progress=False, workers=workers)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and str(victim) in messages[0] and "\n" not in messages[0]


def test_prepared_image_sends_its_maps_as_tensors(synth):
    from ovbench.vlm.dataset_access import open_dataset
    from ovbench.vlm.prepare import Preparer

    ds = open_dataset("ade20k_panoptic_val", synth)
    s = ds.sample(ds.image_ids()[0])
    item = Preparer("short800", "multiple", 16, "area")(s.image_id, s.load_image(), s.gt)
    assert item.image.dtype == torch.uint8 and tuple(item.image.shape) == item.geometry.resized + (3,)
    assert tuple(item.weights.shape) == (item.segments.num_segments, item.geometry.num_cells)
    assert float(item.weights.sum()) == float((item.segments.seg_index >= 0).sum())  # every pixel once
    state = item.__getstate__()
    assert isinstance(state["gt"][0], torch.Tensor) and isinstance(state["segments"][1], torch.Tensor)
    back = pickle.loads(pickle.dumps(item))
    assert np.array_equal(back.gt.ids, s.gt.ids) and back.gt.ids.dtype == s.gt.ids.dtype
    assert back.gt.segments == s.gt.segments
    assert np.array_equal(back.segments.seg_index, item.segments.seg_index)
    assert torch.equal(back.weights, item.weights) and back.num_empty_masks == item.num_empty_masks


def test_matching_on_worker_tables_equals_matching_the_predicted_map(synth):
    """finish() matches on overlaps computed in the worker; the generic path builds the predicted
    map and runs match_image. Random classes (right and wrong), crowd, VOID and pixel-less GT
    segments (the hand-made map) must give identical integer counts."""
    from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
    from ovbench.metrics.matching import match_image
    from ovbench.vlm.dataset_access import open_dataset
    from ovbench.vlm.oracle import oracle_prediction
    from ovbench.vlm.pipeline import Launched

    loaded, enc, text, OracleConfig, VLMOracle, with_syn, rng = _oracle()
    ds = open_dataset("ade20k_panoptic_val", synth)
    cats, _ = with_syn(ds.categories)
    oracle = VLMOracle(loaded.model, enc, text, cats, OracleConfig("long512"), mean=loaded.mean, std=loaded.std)
    ids = np.zeros((6, 8), dtype=np.int32)
    ids[:3], ids[3:] = 11, 14
    ids[3:6, 1:5], ids[4, 2], ids[0, 7], ids[5, 7] = 12, 13, 0, 15
    segs = [SegmentInfo(11, 0), SegmentInfo(12, 7), SegmentInfo(13, 57), SegmentInfo(14, 3),
            SegmentInfo(15, 7, iscrowd=True)]
    pm = PanopticMap.from_segments(ids, segs)
    hand = PanopticMap(pm.ids, pm.segments + (SegmentInfo(16, 57, False, 9),))  # listed, no pixels
    cases = [(s.image_id, s.load_image(), s.gt) for s in (ds.sample(i) for i in ds.image_ids())]
    cases.append(("hand", rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), hand))
    checked = 0
    for image_id, image, gt in cases:
        item = oracle.preparer(image_id, image, gt)
        assert item.tables is not None
        S = item.segments.num_segments
        true = np.array([cats.index_of(gt.segments[int(g)].category_id) for g in item.segments.gt_index])
        for trial in range(4):
            scores = rng.normal(size=(S, len(cats))).astype(np.float32)
            keep = rng.random(S) < 0.5 * trial / 3  # from all wrong to half right
            scores[keep, true[keep]] = 10.0
            out = oracle.finish(Launched(item, torch.from_numpy(scores)))
            ref = match_image(gt, oracle_prediction(gt, item.segments, out.pred_classes, cats), cats).stats
            for f in ("tp", "fp", "fn", "iou_q"):
                assert np.array_equal(getattr(out.stats, f), getattr(ref, f)), (image_id, f)
            checked += int(out.stats.tp.sum())
    assert checked > 0  # some segments were matched as TP, not only FP / FN
    merged = VLMOracle(loaded.model, enc, text, cats, OracleConfig("long512", merge_stuff=True),
                       mean=loaded.mean, std=loaded.std)
    assert merged.preparer(*cases[0]).tables is None  # classes change the segments: generic path
