"""`ovbench demo`: the whole workflow on a synthetic ADE20K-format dataset, on CPU, offline."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from .common import add_workers_arg

HELP = "Run the whole workflow on a synthetic dataset (CPU, no downloads)."

DESCRIPTION = HELP + """

1. generates a small ADE20K-format panoptic dataset whose scenes hold the paper's conflict
   classes (bedrooms with pillows, cushions, paintings and lights; streets with signs);
2. runs the `simulated` COCO-trained adapter (a proposal simulator driven by the ground truth
   and the taxonomy graph; its numbers say nothing about a real model) through the standard
   oracle suite and conflict-aware PQ, writing a results folder;
3. builds the static leaderboard site from it;
4. prints the oracle table (rows like the paper's Tables 2-4), the Table 5-style FN breakdown
   of the conflict classes, and where everything is.
Re-running with the same --out reuses the dataset and resumes the run.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("ovbench-demo"), help="output folder (default ./ovbench-demo)")
    p.add_argument("--images", type=int, default=40, help="synthetic images (default 40)")
    p.add_argument("--height", type=int, default=384, help="image height in pixels (default 384)")
    p.add_argument("--width", type=int, default=512, help="image width in pixels (default 512)")
    p.add_argument("--seed", type=int, default=0, help="seed of the dataset and the simulator (default 0)")
    add_workers_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


TABLE5 = (82, 22, 39, 43, 57)  # light, painting, cushion, signboard, pillow (paper Table 5)
DEMO_DATASET = "synthetic_ade20k_demo"


def run(args: argparse.Namespace) -> int:
    from ..data.catalog import get_dataset
    from ..data.synthetic import generate_dataset
    from ..results.io import load_results
    from ..runner.report import oracle_table
    from ..runner.run import RunOptions, run_suite
    from ..suites.suite import load_suite

    t0 = time.perf_counter()
    out: Path = args.out
    data = out / "data"
    json_path = data / "ADEChallengeData2016" / "ade20k_panoptic_val.json"
    print(f"[1/3] synthetic ADE20K-format dataset: {args.images} scenes of {args.height}x{args.width} -> {data}", flush=True)
    if not json_path.exists():
        generate_dataset(data, args.images, seed=args.seed, scenes=True, height=args.height, width=args.width, workers=args.workers)
    dataset = get_dataset("ade20k_panoptic_val", root=data)
    dataset.name = DEMO_DATASET  # ADE20K's layout and classes, not its images: never ranked with it
    if len(dataset) != args.images:
        raise SystemExit(f"{data} holds {len(dataset)} images, not {args.images}: use another --out or delete it")

    run_dir = out / "runs" / "simulated"
    print(f"[2/3] simulated COCO-trained model through the standard oracle suite -> {run_dir}", flush=True)
    options = RunOptions(out_dir=run_dir, workers=args.workers, progress=not args.quiet)
    results = run_suite("simulated", {"seed": args.seed}, dataset, load_suite("standard"), options)
    assert results is not None

    site = out / "site"
    print(f"[3/3] leaderboard site -> {site}", flush=True)
    from ovbench.leaderboard.build import build_site

    build_site([results], site)
    shutil.copy2(results, out / "results.json")

    doc = load_results(results)
    print()
    print(f"{doc['model']['name']} on {len(dataset)} synthetic images (suite {doc['suite']['name']} v{doc['suite']['version']}); PQ x 100")
    print(oracle_table(doc))
    print()
    print("Table 5-style breakdown of the baseline's misses (conflict classes of the paper):")
    print(f"  {'class':<22} {'FN_seg':>7} {'FN_cls':>7} {'TP':>5}")
    rows = {r["category_id"]: r for r in doc.get("fn_breakdown", []) if r.get("oracle", "baseline") == "baseline"}
    for cid in TABLE5:
        r = rows.get(cid)
        if r:
            print(f"  {r['name'][:22]:<22} {r['fn_seg']:>7} {r['fn_cls']:>7} {r['tp']:>5}")
    base = doc.get("conflict_pq", {}).get("baseline", {})
    views = base.get("views")
    if views:
        def pct(x):  # type: ignore[no-untyped-def]
            return "-" if x is None else f"{100 * x:.1f}"

        print()
        print(f"Conflict-aware PQ (baseline): clean classes {pct(views['clean']['pq'])}, conflict classes {pct(views['conflict']['pq'])}")
        for row in base.get("per_conflict", [])[:5]:
            if row.get("pq_harmonised") is not None:
                print(f"  {row['policy']:<28} PQ {pct(row['pq']):>5} -> {pct(row['pq_harmonised']):>5} under {row['harmonisation']}")
    print()
    print(f"results:  {results}  (load with ovbench.results.load_results_frames)")
    print(f"site:     {(site / 'index.html').resolve()}")
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0
