"""`ovbench demo` end to end on a smaller size: the printed oracle table must equal the results
file, and the site must show the same numbers."""

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
    # a second run reuses the dataset and the shards
    rc = main(["demo", "--out", str(out), "--images", "6", "--height", "192", "--width", "256", "--quiet"])
    assert rc == 0
    assert load_results(out / "results.json")["oracles"] == doc["oracles"]
