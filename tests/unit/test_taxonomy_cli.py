"""`ovbench taxonomy show | export | check | seen`."""

import csv
import io
import json

from ovbench.cli import main
from ovbench.taxonomy import load_graph


def test_show_text_and_json(capsys):
    assert main(["taxonomy", "show", "pillow"]) == 0
    out = capsys.readouterr().out
    assert "ade:57  'pillow'  (ade20k_150, thing)" in out and "coco:141  'pillow'  (coco_panoptic_133, stuff)" in out
    assert "pillow-bed-vs-cushion" in out and "fcclip_string=seen" in out and "part_of   coco:65" in out
    assert main(["taxonomy", "show", "ade:22", "--format", "json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    t = item["as_target"][0]
    assert t["source_relation"] == "unlabeled_in_source" and t["conflict"] and not any(t["seen"].values())
    assert main(["taxonomy", "show", "no-such-class"]) == 1
    assert "no class matches" in capsys.readouterr().err


def test_export_round_trips(tmp_path, capsys):
    for fmt in ("json", "graphml"):
        out = tmp_path / f"g.{fmt}"
        assert main(["taxonomy", "export", "--format", fmt, "--out", str(out)]) == 0
        assert load_graph([out]) == load_graph()
    assert main(["taxonomy", "export"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == "ovbench-taxonomy-bundle/1"


def test_seen_csv_and_json(tmp_path, capsys):
    assert main(["taxonomy", "seen"]) == 0
    cap = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(cap.out)))
    assert len(rows) == 150 and sum(int(r["fcclip_string"]) for r in rows) == 64
    assert set(rows[0]) == {"id", "name", "isthing", "source_relation", "conflict", "fcclip_string", "graph_same", "graph_covered", "graph_any"}
    assert "fcclip_string: 64 seen / 86 unseen" in cap.err
    out = tmp_path / "seen.json"
    assert main(["taxonomy", "seen", "--protocol", "graph_same", "--format", "json", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["protocols"]["graph_same"]["n_seen"] == 37 and "fcclip_string" not in doc["protocols"]
    assert main(["taxonomy", "seen", "--target", "cityscapes_19", "--protocol", "fcclip_string"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 20


def test_bare_command_prints_usage(capsys):
    assert main(["taxonomy"]) == 2
    assert "usage: ovbench taxonomy" in capsys.readouterr().err
