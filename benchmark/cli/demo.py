"""`ovbench demo`: the whole workflow on a synthetic ADE20K-format dataset, on CPU, offline."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from .common import add_workers_arg

HELP = "Run the whole workflow on a synthetic dataset (CPU, no downloads)."

DESCRIPTION = HELP + """

1. generates three small synthetic targets in their real layouts: ADE20K-150 panoptic scenes
   holding the paper's conflict classes (bedrooms with pillows, cushions, paintings and lights;
   streets with signs), Cityscapes panoptic (19 classes) and Pascal VOC-21 semantic (mIoU only);
2. runs the `simulated` COCO-trained adapter (a proposal simulator driven by the ground truth
   and the taxonomy graph; its numbers say nothing about a real model) on each: the standard
   oracle suite and conflict-aware PQ on the panoptic targets, the semantic suite on VOC-21;
3. builds the static leaderboard site (model x dataset matrix, a page per dataset);
4. prints the ADE20K oracle table (rows like the paper's Tables 2-4), the Table 5-style FN
   breakdown of the conflict classes, one line per target with its oracle upper bounds, and
   where everything is.
Re-running with the same --out reuses the datasets and resumes the runs.
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
#: the other demo targets: catalog name -> demo name (their layouts and classes, never ranked with them)
EXTRA_TARGETS = {"cityscapes_panoptic_val": "synthetic_cityscapes_demo", "pascal_voc_21_sem_seg_val": "synthetic_voc21_demo"}


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
    n_extra = max(2, args.images // 5)  # smaller and fewer: the demo stays under 2 minutes on 2 cores
    print(f"[1/3] synthetic datasets -> {data}: ADE20K-150 panoptic ({args.images} scenes of {args.height}x{args.width}), "
          f"Cityscapes panoptic and Pascal VOC-21 semantic ({n_extra} images each, {_extra_size(args)[0]}x{_extra_size(args)[1]})", flush=True)
    if not json_path.exists():
        generate_dataset(data, args.images, seed=args.seed, scenes=True, height=args.height, width=args.width, workers=args.workers)
    dataset = get_dataset("ade20k_panoptic_val", root=data)
    dataset.name = DEMO_DATASET  # ADE20K's layout and classes, not its images: never ranked with it
    if len(dataset) != args.images:
        raise SystemExit(f"{data} holds {len(dataset)} images, not {args.images}: use another --out or delete it")
    extra = [_demo_target(name, demo, data, n_extra, args) for name, demo in EXTRA_TARGETS.items()]

    print(f"[2/3] simulated COCO-trained model on each target -> {out / 'runs'}", flush=True)
    results_all = []
    for ds in [dataset, *extra]:
        task = getattr(ds, "task", "panoptic")
        suite = load_suite("semantic" if task == "semantic" else "standard")
        run_dir = out / "runs" / ("simulated" if ds is dataset else ds.name)
        print(f"  {ds.name} ({task}, {len(ds)} images): suite {suite.name} -> {run_dir}", flush=True)
        options = RunOptions(out_dir=run_dir, workers=args.workers, progress=not args.quiet)
        path = run_suite("simulated", {"seed": args.seed}, ds, suite, options)
        assert path is not None
        results_all.append(path)
    results = results_all[0]

    site = out / "site"
    print(f"[3/3] leaderboard site -> {site}", flush=True)
    from ovbench.leaderboard.build import build_site

    build_site(results_all, site)
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
    print(targets_table([load_results(p) for p in results_all]))
    print()
    print(f"results:  {results}  (load with ovbench.results.load_results_frames)")
    for p in results_all[1:]:
        print(f"          {p}")
    print(f"site:     {(site / 'index.html').resolve()}")
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


def _demo_target(name: str, demo_name: str, data: Path, n: int, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Generate (once) and open one more demo target in its real layout, renamed `demo_name`."""
    from ..data.catalog import get_dataset
    from ..data.synthetic_suite import generate_named
    from ..errors import DatasetError

    try:
        ds = get_dataset(name, root=data)
    except DatasetError:
        h, w = _extra_size(args)
        generate_named(name, data, n, seed=args.seed, height=h, width=w, workers=args.workers, min_segments=4, max_segments=12)
        ds = get_dataset(name, root=data)
    if len(ds) != n:
        raise SystemExit(f"{data} holds {len(ds)} {name} images, not {n}: use another --out or delete it")
    ds.name = demo_name  # the real layout and classes, not the real images: never ranked with them
    return ds


def _extra_size(args: argparse.Namespace) -> tuple[int, int]:
    """(height, width) of the extra targets' images: 2/3 of the ADE20K scenes' size."""
    return max(32, 2 * args.height // 3), max(32, 2 * args.width // 3)


def targets_table(docs: list[dict]) -> str:  # type: ignore[type-arg]
    """One line per target: task, metric, baseline and the oracle upper bounds (x100)."""
    from ovbench.leaderboard.targets import UPPER_BOUNDS, headline_oracle, metric_of, oracle_value

    head = f"{'target':<28} {'task':<9} {'metric':<6} {'baseline':>8} " + " ".join(f"{k:>18}" for k in UPPER_BOUNDS)
    lines = ["Every target (simulated model; semantic targets: mIoU, baseline = Mask2Former semantic inference):", head, "-" * len(head)]
    for d in docs:
        def pct(x):  # type: ignore[no-untyped-def]
            return "-" if x is None else f"{100 * x:.1f}"

        metric = "mIoU" if metric_of(d) == "miou" else "PQ"
        bounds = " ".join(f"{pct(oracle_value(d, k)):>18}" for k in UPPER_BOUNDS)
        lines.append(f"{d['dataset']['name']:<28} {d['dataset'].get('task', 'panoptic'):<9} {metric:<6} "
                     f"{pct(oracle_value(d, headline_oracle(d))):>8} {bounds}")
    return "\n".join(lines)
