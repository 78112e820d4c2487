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
    args = ap.parse_args(argv)

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
    for name in args.models:
        torch.manual_seed(0)
        loaded = load_vlm(VLMSpec(name, device=args.device), allow_random=True)
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


if __name__ == "__main__":
    sys.exit(main())
