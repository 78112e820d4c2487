"""Throughput of the VLM oracle's image side: dense features + mask pooling + class scores.

For each (model, resolution protocol) this times, per image, ``VLMOracle.segment_embeddings``
(resize, normalise, pad, dense forward, area-weighted pooling of the GT segments, pool-then-head
where applicable) plus the cosine scores against a 150-class text classifier, on a synthetic
ADE20K-sized image (default 512 x 683) with a Voronoi partition into ``--segments`` segments.
Models are randomly initialised (no weights needed); text embeddings are random unit vectors.

Usage::

    python benchmarks/bench_vlm.py                       # base models, all three protocols, CPU
    python benchmarks/bench_vlm.py --models ovb-tiny-vit --resolutions long512 --reps 5
    python benchmarks/bench_vlm.py --device cuda --models ViT-L-14 convnext_large_d_320
    python benchmarks/bench_vlm.py --end-to-end --device cuda --models convnext_large_d_320 --resolutions short800
    python benchmarks/bench_vlm.py --end-to-end --device cpu --models ovb-tiny-vit --resolutions long512 --images 8

Models are ``NAME`` or ``NAME:TAG``; the tag only sets the pixel normalisation (weights stay
random). Without one, the tag in ``BENCH_TAGS`` is used (models whose tags disagree on the
normalisation, such as ViT-L-14, need one).

``--text`` embeds the first ``--text-prompts`` ADE20K-150 synonym prompts (``--templates``) with
each model's text tower, once with batches cut to their longest prompt (the default for CLIP's
causal tower) and once over the full context, and prints prompts/s and the projected time for the
whole prompt set (``python benchmarks/bench_vlm.py --text --models ViT-B-16``).

``--end-to-end`` runs the real ``ovbench vlm-oracle`` loop (:func:`ovbench.vlm.run.run_oracle`:
DataLoader workers for decode / resize / GT / pooling weights, the forward one image ahead,
matching, shards) on data written by ``ovbench generate`` (or ``--data DIR``), after a 2-image
warm-up, and prints per (model, protocol): end-to-end images/s; dense-forward-only images/s (the
same oracle's forward + pooling + class scores on prepared inputs already on the device, one image
at a time, synchronised, median); their ratio (target <= 1.5); the device busy fraction (sum of
the per-image forward times, CUDA events on a GPU, over the end-to-end wall time); the mean GPU
utilisation sampled with ``torch.cuda.utilization()`` (needs pynvml; "n/a" otherwise); the CPU
time of the main process per image (what the workers leave to it: launching, matching, shards);
and the one-off text-embedding time (not part of the images/s).

The table reports the median wall seconds per image and images/s, ``cpu/wall`` (process CPU time
over wall time: about the thread count on a quiet machine, lower when other processes compete) and
the median process CPU seconds per image (less sensitive to competing processes than wall time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

DEFAULT_MODELS = ["ViT-B-16", "ViT-B-16-SigLIP2-256", "convnext_base_w"]

#: pretrained tag per model: sets the pixel normalisation of the random-weight model (Table 1's tags)
BENCH_TAGS = {
    "ViT-B-16": "openai", "ViT-L-14": "openai", "convnext_base_w": "laion2b_s13b_b82k",
    "convnext_large_d_320": "laion2b_s29b_b131k_ft_soup",
    **{f"ViT-{s}-16-SigLIP2-{r}": "webli" for s in ("B", "L") for r in (256, 384, 512)},
}


def model_and_tag(spec: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME:TAG`` -> (name, tag); the tag defaults to ``BENCH_TAGS``."""
    name, _, tag = spec.partition(":")
    return name, (tag or BENCH_TAGS.get(name))


def voronoi_segments(h: int, w: int, n: int, seed: int = 0) -> np.ndarray:
    """[h, w] int32 segment index 0..n-1 (nearest of n random seeds)."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform([0, 0], [h, w], size=(n, 2))
    yy, xx = np.mgrid[0:h, 0:w]
    d = (yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2
    return d.argmin(-1).astype(np.int32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    ap.add_argument("--resolutions", nargs="+", default=["long512", "long640", "short800"])
    ap.add_argument("--height", type=int, default=512)
    ap.add_argument("--width", type=int, default=683)
    ap.add_argument("--segments", type=int, default=30)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--pooling", default="area", choices=("area", "bilinear"))
    e = ap.add_argument_group("--end-to-end")
    e.add_argument("--end-to-end", action="store_true", help="time the real vlm-oracle loop on generated data")
    e.add_argument("--images", type=int, default=48, help="images to generate and run (default 48)")
    e.add_argument("--data", metavar="DIR", help="an `ovbench generate` root to use instead of generating")
    e.add_argument("--workers", type=int, default=None, help="DataLoader worker processes (default: vlm-oracle's)")
    e.add_argument("--templates", default="vild14", help="prompt templates (default vild14, as vlm-oracle)")
    e.add_argument("--dense-images", type=int, default=8, help="images for the dense-only timing (default 8)")
    t = ap.add_argument_group("--text")
    t.add_argument("--text", action="store_true", help="time prompt embedding (trimmed vs full context)")
    t.add_argument("--text-prompts", type=int, default=512, help="embed about this many ADE20K prompts (default 512)")
    args = ap.parse_args(argv)
    if args.end_to_end:
        return end_to_end(args)
    if args.text:
        return text_only(args)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from ovbench.data.categories import Category, CategorySet
    from ovbench.vlm.dense import make_dense_encoder
    from ovbench.vlm.loading import VLMSpec, load_vlm
    from ovbench.vlm.oracle import OracleSegments
    from ovbench.vlm.pipeline import OracleConfig, VLMOracle
    from ovbench.vlm.text import TextClassifier, class_scores
    from ovbench.vlm.tiny import register_tiny_configs

    torch.set_num_threads(args.threads)
    register_tiny_configs(tempfile.mkdtemp(prefix="ovb_tiny_cfg_"))
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
    seg = voronoi_segments(args.height, args.width, args.segments)
    segs = OracleSegments(np.arange(args.segments), seg, 0, 0)
    cats = CategorySet(tuple(Category(i, f"c{i}", i % 3 == 0) for i in range(150)))
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {args.height}x{args.width} image, {args.segments} segments, {args.pooling} pooling, device {args.device}, "
          f"{args.threads} threads, torch {torch.__version__}, load average at start {load1:.2f}", file=sys.stderr)

    rows = []
    for spec in args.models:
        name, tag = model_and_tag(spec)
        torch.manual_seed(0)
        loaded = load_vlm(VLMSpec(name, tag, device=args.device), allow_random=True)
        enc = make_dense_encoder(loaded.model)
        with torch.inference_mode():
            dim = int(enc(torch.zeros(1, 3, 2 * enc.stride, 2 * enc.stride, device=args.device)).features.shape[1])
        emb = rng.normal(size=(403, dim)).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        text = TextClassifier(emb, np.sort(rng.integers(0, 150, 403)), 150, None, False)
        for res in args.resolutions:
            oracle = VLMOracle(loaded.model, enc, text, cats, OracleConfig(res, pooling=args.pooling),
                               mean=loaded.mean, std=loaded.std, device=args.device)
            times, cpu = [], []
            for i in range(args.warmup + args.reps):
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                t0, c0 = time.perf_counter(), time.process_time()
                pooled, geom, _ = oracle.segment_embeddings(image, segs)
                with torch.inference_mode():
                    scores = class_scores(pooled, text)
                scores.cpu()
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                if i >= args.warmup:
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
            med = statistics.median(times)
            rows.append((name, res, f"{geom.padded[0]}x{geom.padded[1]}", f"{geom.grid[0]}x{geom.grid[1]}", med, 1 / med,
                         sum(cpu) / sum(times), statistics.median(cpu)))
            print(f"  {name} {res}: {med:.3f} s/img", file=sys.stderr)
        del loaded, enc
    print(f"| model | protocol | input (padded) | grid | s/img (median of {args.reps}) | img/s | cpu/wall | CPU-s/img |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.3f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.2f} |")
    load2 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average (1 min): {load1:.2f} at start, {load2:.2f} at end; {os.cpu_count()} CPUs")
    return 0


def _machine(device: str) -> str:
    import platform

    import torch

    cpu = f"{os.cpu_count()} CPUs ({platform.machine()})"
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(torch.device(device))}, {cpu}"
    return cpu


class _UtilSampler:
    """Mean of ``torch.cuda.utilization()`` sampled every ``period`` seconds in a thread (None
    when not on CUDA or when pynvml is missing)."""

    def __init__(self, device: str, period: float = 0.05) -> None:
        import threading

        import torch

        self.samples: list[float] = []
        self.ok = False
        if device.startswith("cuda"):
            try:
                torch.cuda.utilization(torch.device(device))
                self.ok = True
            except Exception:  # pynvml missing or NVML unavailable
                self.ok = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(device, period), daemon=True)

    def _run(self, device: str, period: float) -> None:
        import torch

        while not self._stop.is_set():
            try:
                self.samples.append(float(torch.cuda.utilization(torch.device(device))))
            except Exception:
                return
            self._stop.wait(period)

    def __enter__(self) -> _UtilSampler:
        if self.ok:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.ok:
            self._thread.join()

    def mean(self) -> float | None:
        return statistics.fmean(self.samples) if self.samples else None


def text_only(args: argparse.Namespace) -> int:
    """The ``--text`` mode (see the module docstring)."""
    import datetime

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from ovbench.taxonomy.classes import load_class_list
    from ovbench.vlm.loading import VLMSpec, load_tokenizer, load_vlm
    from ovbench.vlm.prompts import PromptSet, build_prompt_set, resolve_templates
    from ovbench.vlm.text import causal_text_tower, encode_prompt_set
    from ovbench.vlm.tiny import register_tiny_configs

    torch.set_num_threads(args.threads)
    register_tiny_configs(tempfile.mkdtemp(prefix="ovb_tiny_cfg_"))
    template_set, templates = resolve_templates(args.templates)
    full = build_prompt_set(load_class_list("ade20k_150"), "synonyms", class_list="ade20k_150", templates=templates)
    classes, n = [], 0
    for c in full.classes:
        if n >= args.text_prompts:
            break
        classes.append(c)
        n += len(c.phrases) * len(templates)
    subset = PromptSet(full.mode, full.templates, tuple(classes))
    total = len(full.prompts())
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')} device {args.device}: "
          f"{_machine(args.device)}; torch {torch.__version__}, {args.threads} threads; load {load1:.2f}", file=sys.stderr)
    print(f"| model | prompts | trimmed prompts/s | full-context prompts/s | speed-up | projected s for all {total} "
          f"({template_set}) trimmed / full |")
    print("|---|---|---|---|---|---|")
    for spec in args.models:
        name, tag = model_and_tag(spec)
        torch.manual_seed(0)
        loaded = load_vlm(VLMSpec(name, tag, device=args.device), allow_random=True)
        tok = load_tokenizer(loaded)
        rates = []
        for trim in (True, False):
            if trim and not causal_text_tower(loaded.model):
                rates.append(float("nan"))
                continue
            t0 = time.perf_counter()
            encode_prompt_set(loaded.model, tok, subset, device=args.device, trim=trim)
            rates.append(len(subset.prompts()) / (time.perf_counter() - t0))
        print(f"| {name} | {len(subset.prompts())} | {rates[0]:.1f} | {rates[1]:.1f} | {rates[0] / rates[1]:.2f}x "
              f"| {total / rates[0]:.0f} / {total / rates[1]:.0f} |")
        del loaded
    load2 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average (1 min): {load1:.2f} at start, {load2:.2f} at end")
    return 0


def end_to_end(args: argparse.Namespace) -> int:
    """The ``--end-to-end`` mode (see the module docstring)."""
    import datetime
    import shlex
    from pathlib import Path

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from ovbench.vlm.dataset_access import categories_with_synonyms, open_dataset
    from ovbench.vlm.dense import make_dense_encoder
    from ovbench.vlm.loading import VLMSpec, load_tokenizer, load_vlm
    from ovbench.vlm.pipeline import OracleConfig, VLMOracle, device_seconds
    from ovbench.vlm.prompts import build_prompt_set, resolve_templates
    from ovbench.vlm.run import run_oracle
    from ovbench.vlm.text import build_text_classifier
    from ovbench.vlm.tiny import register_tiny_configs
    from ovbench.workers import default_workers

    workers = default_workers() if args.workers is None else args.workers
    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    tmp = Path(tempfile.mkdtemp(prefix="ovb_bench_vlm_"))
    register_tiny_configs(tmp / "tiny_cfg")
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if args.data:
        root = Path(args.data)
    else:
        from ovbench.cli import main as ovbench_main

        root = tmp / "data"
        t0 = time.perf_counter()
        rc = ovbench_main(["generate", "--out", str(root), "--images", str(args.images), "--height", str(args.height),
                           "--width", str(args.width), "--workers", str(max(1, workers))])
        if rc:
            return rc
        print(f"# generated {args.images} images in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    dataset = open_dataset("ade20k_panoptic_val", root)
    categories, list_name = categories_with_synonyms(dataset.categories)
    n_images = min(args.images, len(dataset)) if not args.data else len(dataset)
    template_set, templates = resolve_templates(args.templates)
    print(f"# {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}  "
          f"python {' '.join(shlex.quote(a) for a in sys.argv)}", file=sys.stderr)
    print(f"# device {args.device}: {_machine(args.device)}; torch {torch.__version__}, {args.threads} threads, "
          f"{workers} DataLoader workers; load average at start {load1:.2f}", file=sys.stderr)

    rows = []
    for spec in args.models:
        name, tag = model_and_tag(spec)
        torch.manual_seed(0)
        loaded = load_vlm(VLMSpec(name, tag, device=args.device), allow_random=True)
        prompt_set = build_prompt_set(categories, "synonyms", class_list=list_name or False, templates=templates)
        t0 = time.perf_counter()
        text = build_text_classifier(loaded.model, None, prompt_set, model_name=name, weights_id=None,
                                     device=args.device, get_tokenizer=lambda: load_tokenizer(loaded))
        if cuda:
            torch.cuda.synchronize()
        text_s = time.perf_counter() - t0
        for res in args.resolutions:
            config = OracleConfig(res, pooling=args.pooling)
            enc = make_dense_encoder(loaded.model, convnext_order=config.convnext_order)
            oracle = VLMOracle(loaded.model, enc, text, categories, config, mean=loaded.mean, std=loaded.std,
                               device=args.device)
            run_oracle(oracle, dataset, out_dir=tmp / f"warm_{name}_{res}", fingerprint="warm-up", limit=2,
                       progress=False, workers=0)
            # end to end: the real loop, fresh output folder (nothing resumed)
            oracle.timer = []
            c0 = time.process_time()
            with _UtilSampler(args.device) as util:
                totals = run_oracle(oracle, dataset, out_dir=tmp / f"run_{name}_{res}", fingerprint="bench",
                                    limit=n_images, progress=False, workers=workers)
            wall = totals.seconds
            main_cpu = (time.process_time() - c0) / max(1, totals.num_images)
            busy = device_seconds(oracle.timer) / wall if wall > 0 else float("nan")
            oracle.timer = None
            # dense forward only: prepared inputs already on the device, one image at a time
            times = []
            for image_id in dataset.image_ids()[: max(1, args.dense_images)]:
                sample = dataset.sample(image_id)
                item = oracle.preparer(image_id, sample.load_image(), sample.gt)
                item.image, item.weights = item.image.to(args.device), item.weights.to(args.device)
                for rep in range(2):
                    if cuda:
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    launched = oracle.launch(item)
                    if launched.ready is not None:
                        launched.ready.synchronize()
                    if rep == 1:  # the second of two: warm
                        times.append(time.perf_counter() - t0)
            dense = statistics.median(times)
            e2e = wall / totals.num_images
            rows.append((name + (f":{tag}" if tag else ""), res, totals.num_images, workers, 1 / e2e, 1 / dense,
                         e2e / dense, busy, util.mean(), text_s, len(prompt_set.phrases()) * len(templates), main_cpu))
            print(f"  {name} {res}: end-to-end {1 / e2e:.2f} img/s, dense {1 / dense:.2f} img/s, "
                  f"ratio {e2e / dense:.2f}", file=sys.stderr)
        del loaded, text
        if cuda:
            torch.cuda.empty_cache()
    load2 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("| model:tag | protocol | images | workers | end-to-end img/s | dense-only img/s | ratio (target <= 1.5) "
          "| device busy | GPU util (nvml) | main-process CPU ms/img | text s (prompts) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        util = "n/a" if r[8] is None else f"{r[8]:.0f}%"
        ok = "ok" if r[6] <= 1.5 else "MISSED"
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f} {ok} | {100 * r[7]:.0f}% "
              f"| {util} | {1000 * r[11]:.0f} | {r[9]:.1f} ({r[10]}) |")
    print(f"\ndevice {args.device} ({_machine(args.device)}); templates {template_set}; load average (1 min) "
          f"{load1:.2f} at start, {load2:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
