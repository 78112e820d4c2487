"""`ovbench pq` starts light: a fresh process imports nothing heavy that PQ does not use
(pandas, torch, networkx, jsonschema, Pillow, scipy.linalg; numba itself reads its YAML config), and gives the library's numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ovbench.data.synthetic import generate_dataset, generate_predictions
from ovbench.metrics.pq_eval import evaluate

HEAVY = ("pandas", "torch", "networkx", "jsonschema", "PIL", "scipy.linalg", "scipy.optimize", "matplotlib", "open_clip")

CODE = """\
import sys
from ovbench.cli import main
rc = main(sys.argv[1:])
heavy = [m for m in {heavy!r} if m in sys.modules]
print("HEAVY", ",".join(heavy))
sys.exit(rc)
"""


@pytest.mark.slow  # two fresh interpreters importing numba
def test_pq_command_imports_nothing_heavy_and_matches_the_library(tmp_path):
    gt_json = generate_dataset(tmp_path / "d", 4, 0, height=24, width=32, write_images=False, workers=1)
    pred_json = generate_predictions(gt_json, tmp_path / "pred.json", seed=1, workers=1)
    out = tmp_path / "pq.json"
    for workers in ("1", "2"):
        r = subprocess.run([sys.executable, "-c", CODE.format(heavy=HEAVY), "pq", "--gt-json", str(gt_json),
                            "--pred-json", str(pred_json), "--workers", workers, "--json", str(out)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "HEAVY \n" in r.stdout, r.stdout  # none of them
        report = json.loads(out.read_text())
        ev = evaluate(gt_json, pred_json, workers=1)
        assert report["splits"]["All"] == ev.split().as_dict()
        assert [c["tp"] for c in report["per_class"]] == ev.stats.tp.tolist()
