"""`ovbench vlm-oracle` on a semantic-only target (generated Pascal VOC-21 in its real layout): the
oracle classifies GT regions and is scored by mIoU, never PQ."""

import json

import numpy as np
import pytest

from ovbench.cli import main


@pytest.mark.clip
def test_vlm_oracle_on_a_semantic_target_reports_miou(tmp_path):
    open_clip = pytest.importorskip("open_clip")
    torch = pytest.importorskip("torch")
    from PIL import Image

    from ovbench.data.synthetic_suite import generate_named
    from ovbench.results.validate import schema_problems
    from ovbench.vlm.tiny import write_tiny_configs

    torch.set_num_threads(min(2, torch.get_num_threads()))
    cfg = write_tiny_configs(tmp_path / "configs")
    open_clip.add_model_config(cfg)
    torch.manual_seed(0)
    ckpt = tmp_path / "vit.pt"
    torch.save(open_clip.create_model("ovb-tiny-vit").state_dict(), ckpt)
    generate_named("pascal_voc_21_sem_seg_val", tmp_path / "d", 2, seed=1, height=64, width=80, workers=1, min_segments=3, max_segments=6)
    out = tmp_path / "run"
    assert main(["vlm-oracle", "--dataset", "pascal_voc_21_sem_seg_val", "--dataset-root", str(tmp_path / "d"),
                 "--model-config", str(cfg), "--model", "ovb-tiny-vit", "--checkpoint", str(ckpt), "--resolution", "long512",
                 "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--threads", "2", "--no-progress"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert schema_problems(res) == []
    o = res["oracles"]["vlm_segmentation"]
    assert "splits" not in o and res["dataset"]["task"] == "semantic" and res["per_class"] == []
    # the regions keep their GT masks, so every GT pixel is predicted: per class gt_pixels = the label files' counts
    from ovbench.data.catalog import get_dataset

    ds = get_dataset("pascal_voc_21_sem_seg_val", root=tmp_path / "d")
    counts = np.zeros(21, dtype=np.int64)
    for p in ds.label_files:
        lab = np.asarray(Image.open(p)).astype(np.int64)
        counts += np.bincount(lab[lab != 255], minlength=21)
    rows = res["per_class_semantic"]
    assert [r["gt_pixels"] for r in rows] == counts.tolist()
    assert sum(r["pred_pixels"] for r in rows) == counts.sum()  # nothing left unpredicted, nothing predicted on ignore
    vals = [r["iou"] for r in rows if r["iou"] is not None]
    assert o["miou"] == pytest.approx(sum(vals) / len(vals), abs=1e-12)
    # segment accuracy (regions classified right) and pixel accuracy agree in the extremes
    acc = res["diagnostics"]["vlm_segmentation"]["segment_accuracy"]
    tp = sum(r["tp_pixels"] for r in rows)
    assert (acc == 0) == (tp == 0) and (acc == 1) == (tp == counts.sum())
