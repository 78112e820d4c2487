"""`ovbench demo` end to end on a smaller size: the printed oracle table must equal the results
file, the site must show the same numbers, and three targets (ADE20K-150, Cityscapes panoptic,
VOC-21 semantic) are run and shown."""

import re

import pytest

from ovbench.cli import main
from ovbench.results.io import load_results


@pytest.mark.slow
def test_demo_prints_the_results_file_and_builds_the_site(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(["demo", "--out", str(out), "--images", "6", "--height", "192", "--width", "256", "--workers", "2", "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    doc = load_results(out / "results.json")
    titles = {o["title"]: k for k, o in doc["oracles"].items()}
    seen_rows = 0
    for line in printed.splitlines():
        for title, key in titles.items():
            if line.startswith(title + " ") and not line.startswith(title + " +"):
                cells = re.findall(r"-?\d+\.\d", line[40:])
                expected = [doc["oracles"][key]["splits"][s]["pq"] for s in ("all", "things", "stuff", "seen", "unseen")]
                assert [float(c) for c in cells[:5]] == [round(100 * e, 1) for e in expected], line
                seen_rows += 1
    assert seen_rows == len(doc["oracles"]) == 6
    assert "painting, picture" in printed and "FN_seg" in printed
    index = (out / "site" / "index.html").read_text()
    assert doc["model"]["name"] in index
    assert f"{100 * doc['oracles']['baseline']['splits']['all']['pq']:.1f}" in index
    assert str((out / "site" / "index.html").resolve()) in printed
    # three targets: two panoptic (PQ), one semantic (mIoU, Mask2Former semantic inference as baseline)
    docs = {name: load_results(out / "runs" / name / "results.json") for name in ("synthetic_cityscapes_demo", "synthetic_voc21_demo")}
    assert docs["synthetic_cityscapes_demo"]["dataset"]["num_classes"] == 19
    voc = docs["synthetic_voc21_demo"]
    assert voc["dataset"]["task"] == "semantic" and voc["dataset"]["num_classes"] == 21 and voc["dataset"]["num_images"] == 2
    lines = {ln.split()[0]: ln.split() for ln in printed.splitlines() if ln.startswith("synthetic_")}
    assert lines["synthetic_ade20k_demo"][1:4] == ["panoptic", "PQ", f"{100 * doc['oracles']['baseline']['splits']['all']['pq']:.1f}"]
    assert lines["synthetic_voc21_demo"][1:4] == ["semantic", "mIoU", f"{100 * voc['oracles']['semantic_inference']['miou']:.1f}"]
    assert lines["synthetic_voc21_demo"][-1] == f"{100 * voc['oracles']['select_no_void_cls']['miou']:.1f}"
    assert index.count('class="target ') == 3 and "semantic · mIoU" in index
    assert len(list((out / "site" / "datasets").glob("*.html"))) == 3
    # a second run reuses the dataset and the shards
    rc = main(["demo", "--out", str(out), "--images", "6", "--height", "192", "--width", "256", "--quiet"])
    assert rc == 0
    assert load_results(out / "results.json")["oracles"] == doc["oracles"]
    assert load_results(out / "runs" / "synthetic_voc21_demo" / "results.json")["oracles"] == voc["oracles"]
