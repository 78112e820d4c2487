"""Added cost of the standard suite's diagnostics (pool_recall, calibration, sweeps) per image.

Same setup as ``bench_oracles.py``: a cached synthetic ADE20K-scale dataset (512 x 683, 20-40
segments), raw outputs from the `simulated` adapter (N = 250 candidates, 200 x 272 mask logits),
generated once and kept in memory. In ONE process (one BLAS thread), each image is evaluated by
``evaluate_image`` without and with the suite's diagnostics, alternating the order, ``--repeat``
times; for each image the fastest of the repeats is kept (the least disturbed by other load) and
the report gives medians over images:

* suite ms/image (wall; and process CPU time) without diagnostics, with diagnostics, the added ms and the ratio
  (target of issue 7: added < 20 % of the suite);
* each diagnostic's own ms/image (from the per-image timings);
* ``--ensemble``: the simulated raw outputs get synthetic FC-CLIP-style pre-ensemble logits (the
  class posteriors are recomputed from them with alpha 0.4 / beta 0.8), so the sweeps' ensemble
  grid runs on the images its ``every`` selects (the suite's value, or ``--ensemble-every``; 1 =
  every image, to see the cost per selected image). Means are printed beside the medians, since
  with ``every`` > 1 the cost is concentrated on few images.

    python benchmarks/bench_diagnostics.py --images 30 --repeat 3 [--ensemble [--ensemble-every 1]]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
import zlib
from pathlib import Path


def with_ensemble_logits(raw, seen):  # type: ignore[no-untyped-def]
    """The raw output with synthetic pre-ensemble logits and posteriors recomputed from them."""
    import numpy as np

    from ovbench.adapters.ensembles import fcclip_class_probs

    rng = np.random.default_rng(zlib.crc32(raw.image_id.encode()))
    logp = np.log(np.maximum(raw.class_probs.astype(np.float64), 1e-8))
    in_v = (logp + rng.normal(0, 0.5, size=logp.shape)).astype(np.float32)
    out_v = (logp[:, :-1] + rng.normal(0, 1.0, size=(logp.shape[0], logp.shape[1] - 1))).astype(np.float32)
    probs = fcclip_class_probs(in_v, out_v, seen, 0.4, 0.8)
    return dataclasses.replace(raw, class_probs=probs, in_vocab_logits=in_v, out_vocab_logits=out_v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ensemble", action="store_true", help="add synthetic pre-ensemble logits (FC-CLIP-like raw outputs)")
    ap.add_argument("--ensemble-every", type=int, default=None, help="override the suite's ensemble `every` (1 = every image)")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ovbench" / "bench_oracles")
    args = ap.parse_args()

    import scipy.optimize  # noqa: F401 - load numpy's and scipy's BLAS before limiting them
    from threadpoolctl import threadpool_limits

    from ovbench.adapters import get_adapter
    from ovbench.data.catalog import get_dataset
    from ovbench.data.synthetic import generate_dataset
    from ovbench.oracles.context import SuiteSettings
    from ovbench.runner.evaluate import EvalContext, evaluate_image
    from ovbench.runner.run import build_diagnostics
    from ovbench.runner.views import resolve_views
    from ovbench.suites.suite import load_suite

    limits = threadpool_limits(1)  # noqa: F841 - after the imports, so that every loaded BLAS is limited
    root = args.cache / f"ade_{args.images}"
    if not (root / "ADEChallengeData2016" / "ade20k_panoptic_val.json").exists():
        generate_dataset(root, args.images, seed=0, height=512, width=683, min_segments=20, max_segments=40, write_images=False)
    ds = get_dataset("ade20k_panoptic_val", root=root)
    ad = get_adapter("simulated")
    ad.setup(ds.categories)
    suite = load_suite("standard")
    views = resolve_views(ds.categories, suite.source_taxonomy, suite.seen_protocol)
    settings = SuiteSettings(ad.info.inference, suite.matching)
    diags = build_diagnostics(suite)
    if args.ensemble:
        import numpy as np

        from ovbench.diagnostics.sweeps import Sweeps

        if args.ensemble_every is not None:
            params = dict(next(p for n, p in suite.diagnostics if n == "sweeps"))
            params["ensemble"] = {**params.get("ensemble", {}), "every": args.ensemble_every}
            diags["sweeps"] = Sweeps(**params)
        seen = np.isin(ds.categories.ids, sorted(views.seen_ids or ()))
    plain = EvalContext(suite, ds.categories, settings, views.harmonisations)
    full = EvalContext(suite, ds.categories, settings, views.harmonisations, (), diags)

    ids = ds.image_ids()[: args.images]
    data = []
    for i in ids:
        s = ds.sample(i)
        raw = ad.predict(s)
        if args.ensemble:
            raw = with_ensemble_logits(raw, seen)
        data.append((raw, s.gt))
    evaluate_image(*data[0], full)  # warm-up: imports, resize operators

    load0 = os.getloadavg()
    base_ms, full_ms, per_diag = [], [], {}
    base_cpu, full_cpu = [], []
    for j, (raw, gt) in enumerate(data):
        b, f, d = [], [], {}
        bc, fc = [], []
        for r in range(args.repeat):
            order = (plain, full) if (j + r) % 2 == 0 else (full, plain)
            for ectx in order:
                t = time.perf_counter()
                c = time.process_time()
                res, _ = evaluate_image(raw, gt, ectx)
                dt = 1000 * (time.perf_counter() - t)
                dc = 1000 * (time.process_time() - c)
                if ectx is plain:
                    b.append(dt)
                    bc.append(dc)
                else:
                    f.append(dt)
                    fc.append(dc)
                    for k, v in res.seconds.items():
                        if k.startswith("diagnostic:"):
                            d.setdefault(k[len("diagnostic:"):], []).append(1000 * v)
        base_ms.append(min(b))
        full_ms.append(min(f))
        base_cpu.append(min(bc))
        full_cpu.append(min(fc))
        for k, v in d.items():
            per_diag.setdefault(k, []).append(min(v))
    load1 = os.getloadavg()

    med, mean = statistics.median, statistics.fmean
    added = [f - b for f, b in zip(full_ms, base_ms)]
    diag_sum = [sum(v[j] for v in per_diag.values()) for j in range(len(data))]
    ens = "off"
    if args.ensemble:
        sw = diags["sweeps"]
        ens = f"on, every {sw.every} ({sum(sw.uses_ensemble(r.image_id) for r, _ in data)} of {len(data)} images)"
    print(f"images: {len(data)}, repeats: {args.repeat}, cpu count: {os.cpu_count()}, "
          f"load average before/after: {load0[0]:.2f}/{load1[0]:.2f}, ensemble sweep: {ens}")
    print(f"suite without diagnostics: {med(base_ms):7.1f} ms/image median, {mean(base_ms):7.1f} mean")
    print(f"suite with diagnostics:    {med(full_ms):7.1f} ms/image median, {mean(full_ms):7.1f} mean")
    print(f"CPU time (process): without {med(base_cpu):7.1f} ms/image median, with {med(full_cpu):7.1f} median "
          f"(means {mean(base_cpu):.1f} / {mean(full_cpu):.1f})")
    print(f"added (wall, with - without):     {med(added):6.1f} ms/image median (ratio {med(a / b for a, b in zip(added, base_ms)):.3f}), "
          f"{mean(added):6.1f} mean (ratio of sums {sum(added) / sum(base_ms):.3f})")
    print(f"added (sum of diagnostic timers): {med(diag_sum):6.1f} ms/image median (ratio {med(a / b for a, b in zip(diag_sum, base_ms)):.3f}), "
          f"{mean(diag_sum):6.1f} mean (ratio of sums {sum(diag_sum) / sum(base_ms):.3f})")
    for k, v in per_diag.items():
        print(f"  {k:<14} {med(v):7.1f} ms/image median, {mean(v):7.1f} mean")


if __name__ == "__main__":
    main()
