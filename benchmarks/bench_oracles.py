"""Throughput of the standard oracle suite on ADE20K-scale raw outputs (CPU).

Generates (once, cached) a synthetic ADE20K-layout dataset at ADE20K val scale (512 x 683,
20-40 segments per image), produces raw outputs with the `simulated` adapter (N = 250
candidates at 1/4 of the 800 x 1088 padded input, i.e. 200 x 272 mask logits), and runs every
oracle of the standard suite on them in worker processes. Prints:

* suite images/s: images / (total suite seconds / workers) -- the suite alone, raw outputs given;
* the suite's CPU-seconds per image (process CPU time of the workers around the suite), which
  holds when other processes load the machine, and the images/s it implies on `--workers` idle
  cores (workers / CPU-seconds per image);
* end-to-end images/s (wall clock, simulation and GT loading included);
* peak resident memory of a worker (ru_maxrss), its growth over the worker's state after
  start-up (imports, dataset, adapter), and the suite's own peak over the RSS just before
  ``evaluate_image`` (Linux: the peak mark is reset with /proc/self/clear_refs);
* the load average at start and end, and the share of the suite's time in each step / oracle.

BLAS and OpenMP pools are limited to one thread per worker AFTER the imports that load them
(numpy, scipy), so that 2 workers use 2 cores.

Target (issues 4 and 18): >= 10 images/s for the oracles of the standard suite on 2 cores (the
diagnostics of issue 7 are measured on top with ``--diagnostics``; ``OVBENCH_NO_NUMBA=1`` measures
the numpy-only path).

    python benchmarks/bench_oracles.py --images 100 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path

_STATE: dict = {}


def _init(root: str, diagnostics: bool) -> None:
    import resource

    import scipy.optimize  # noqa: F401 - loads scipy's BLAS before the limit below
    from threadpoolctl import threadpool_limits

    from ovbench.adapters import get_adapter
    from ovbench.data.catalog import get_dataset
    from ovbench.oracles.context import SuiteSettings
    from ovbench.runner.evaluate import EvalContext
    from ovbench.runner.run import build_diagnostics
    from ovbench.runner.views import resolve_views
    from ovbench.suites.suite import load_suite

    _STATE["limits"] = threadpool_limits(1)
    ds = get_dataset("ade20k_panoptic_val", root=root)
    ad = get_adapter("simulated")
    ad.setup(ds.categories)
    suite = load_suite("standard")
    views = resolve_views(ds.categories, suite.source_taxonomy, suite.seen_protocol)
    diags = build_diagnostics(suite) if diagnostics else {}
    _STATE.update(ds=ds, ad=ad, ectx=EvalContext(suite, ds.categories, SuiteSettings(ad.info.inference, suite.matching), views.harmonisations,
                                                 diagnostics=diags))
    _STATE["rss0"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one(image_id: str) -> tuple[float, float, float, dict[str, float], float, float, int]:
    import resource

    from ovbench.runner.evaluate import evaluate_image

    t0 = time.perf_counter()
    sample = _STATE["ds"].sample(image_id)
    raw = _STATE["ad"].predict(sample)
    t1 = time.perf_counter()
    before = _reset_peak_rss()
    c1 = time.process_time()
    result, _ = evaluate_image(raw, sample.gt, _STATE["ectx"])
    cpu = time.process_time() - c1
    t2 = time.perf_counter()
    suite_peak = _status_mib("VmHWM") - before if before is not None else float("nan")
    return (t1 - t0, t2 - t1, cpu, result.seconds, _STATE["rss0"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, os.getpid(),
            suite_peak)


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> float | None:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5) and return the current RSS in MiB,
    so that VmHWM afterwards is the peak of the suite alone; None where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_mib("VmRSS")
    except OSError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--diagnostics", action="store_true", help="also run the suite's diagnostics (issue 7; reported separately)")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ovbench" / "bench_oracles")
    args = ap.parse_args()

    from ovbench.data.synthetic import generate_dataset

    root = args.cache / f"ade_{args.images}"
    if not (root / "ADEChallengeData2016" / "ade20k_panoptic_val.json").exists():
        generate_dataset(root, args.images, seed=0, height=512, width=683, min_segments=20, max_segments=40, write_images=False)
    from ovbench.data.catalog import get_dataset

    ids = get_dataset("ade20k_panoptic_val", root=root).image_ids()
    ctx = mp.get_context("fork")
    load0 = os.getloadavg()
    t = time.perf_counter()
    with ctx.Pool(args.workers, initializer=_init, initargs=(str(root), args.diagnostics)) as pool:
        pool.map(_one, ids[: args.workers])  # warm-up: imports, resize operators
        t = time.perf_counter()
        out = pool.map(_one, ids, chunksize=1)
    wall = time.perf_counter() - t
    load1 = os.getloadavg()
    sim = sum(o[0] for o in out)
    suite = sum(o[1] for o in out)
    cpu = sum(o[2] for o in out)
    shares: dict[str, float] = {}
    for o in out:
        for k, v in o[3].items():
            shares[k] = shares.get(k, 0.0) + v
    rss = {}
    for o in out:
        rss[o[6]] = (o[4], max(o[5], rss.get(o[6], (0.0, 0.0))[1]))
    peak = max(r[1] for r in rss.values())
    growth = max(r[1] - r[0] for r in rss.values())
    n = len(ids)
    from ovbench.inference import kernels

    print(f"images: {n}, workers: {args.workers}, cpu count: {os.cpu_count()}, numba kernels: {'on' if kernels.HAVE_NUMBA else 'off'}, "
          f"diagnostics: {'on' if args.diagnostics else 'off'}")
    print(f"load average (1/5/15 min): start {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}, end {load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f}")
    rate = n / (suite / args.workers)
    print(f"suite only:  {rate:6.2f} images/s  ({1000 * suite / n:.0f} ms wall per image per worker)")
    cpu_rate = args.workers / (cpu / n)
    print(f"suite CPU:   {1000 * cpu / n:6.1f} ms CPU per image  -> {cpu_rate:.2f} images/s on {args.workers} idle cores "
          f"(target >= 10: {'met' if cpu_rate >= 10 else 'NOT met'}; wall-clock rate {'met' if rate >= 10 else 'NOT met'})")
    print(f"end to end:  {n / wall:6.2f} images/s  (wall {wall:.1f} s; simulation + GT loading {1000 * sim / n:.0f} ms per image)")
    suite_mem = max(o[7] for o in out)
    print(f"memory:      peak RSS per worker {peak:.0f} MiB (after start-up {min(r[0] for r in rss.values()):.0f} MiB, growth "
          f"{growth:.0f} MiB with the simulated raw outputs; target <= 200 MiB: {'met' if peak <= 200 else 'NOT met'}); "
          f"the suite itself adds at most {suite_mem:.0f} MiB over the RSS before evaluate_image (raw output loaded)")
    print("share of suite time:")
    for k, v in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<22} {100 * v / suite:5.1f} %  ({1000 * v / n:6.1f} ms/image)")


if __name__ == "__main__":
    main()
