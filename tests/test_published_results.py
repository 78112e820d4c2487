"""The submission check over everything published in leaderboard/results/ (as the
embeddings-benchmark/results repository tests its own folder): the same rules `ovbench submit
check` applies to a new submission, against the shipped leaderboard/standards.yaml."""

from __future__ import annotations

from pathlib import Path

from ovbench.submit.check import check_submission

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "leaderboard" / "results"


def test_published_results_pass_the_submission_check():
    assert RESULTS.is_dir(), f"{RESULTS} must exist (published results live there)"
    files = sorted(RESULTS.rglob("*.json"))
    if not files:
        # Nothing published yet: the check passes trivially. It runs for real as soon as a results
        # file is added under leaderboard/results/<name>/.
        return
    report = check_submission(ROOT, root=ROOT)
    assert report.checked, report.format()
    assert report.ok, report.format()
