"""PQ evaluation speed: ovbench against hotcoco, torchmetrics and panopticapi, in one run.

    python benchmarks/bench_pq.py                       # 2000 ADE20K-scale pairs, 2 workers
    python benchmarks/bench_pq.py --images 200 --workers 2 --torchmetrics-images 20

The data (a synthetic ADE20K-scale ground truth, 512x683 px, 10-40 segments, and a prediction
with realistic errors) is generated once into a cache folder outside the repository
(``--cache``, default ``$OVBENCH_CACHE`` or ``~/.cache/ovbench``) and reused.

It prints, from the same run: the time to decode every PNG with pyspng on the same number of
processes (the issue's reference floor; also, for transparency, with ovbench's own decoder,
libdeflate + compiled unfiltering, which ``evaluate`` fuses with the histogram), ovbench's ``evaluate``, hotcoco's
``pq_compute``, torchmetrics' ``PanopticQuality`` (on a subset, it is slow) and panopticapi's
``pq_compute`` if it is importable; images/s and the ratios; the PQ difference to hotcoco; and
the peak RSS of ovbench on 500 vs all images (memory must not grow with the number of images).
Machine load is printed before and after: on a shared machine, read the ratios, not the times.

Whole process (what a user waits for): ``ovbench pq`` on the command line against a script that
calls hotcoco's ``pq_compute``, each in a fresh interpreter (cold process: imports, kernel load
from numba's cache and worker start-up included), in turn A B A B ... after one warm-up run of
each (warm disk cache; the warm-up also compiles the kernel if this is the first run after
installing). It prints the median wall and CPU seconds of each and the median of the pairwise
ratios ovbench / hotcoco (< 1: ovbench faster): ``--process-runs`` pairs (0: skip).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

SCHEMA = "v1"  # bump when the generator's output changes


def cache_root(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    return Path(os.environ.get("OVBENCH_CACHE", Path.home() / ".cache" / "ovbench"))


def prepare(root: Path, n: int, seed: int, workers: int) -> tuple[Path, Path, Path, Path]:
    """Generate (once) GT + prediction; returns gt_json, gt_folder, pred_json, pred_folder."""
    from ovbench.data.catalog import default_png_dir
    from ovbench.data.synthetic import generate_dataset, generate_predictions

    folder = root / f"bench_pq_{SCHEMA}_n{n}_s{seed}"
    done = folder / "DONE"
    gt_json = folder / "ADEChallengeData2016/ade20k_panoptic_val.json"
    pred_json = folder / "predictions.json"
    if not done.exists():
        t = time.perf_counter()
        print(f"generating {n} ground-truth + prediction pairs into {folder} (once) ...", flush=True)
        generate_dataset(folder, n, seed, write_images=False, workers=workers)
        generate_predictions(gt_json, pred_json, seed=seed + 1, workers=workers)
        done.write_text("ok\n")
        print(f"  done in {time.perf_counter() - t:.1f} s", flush=True)
    return gt_json, default_png_dir(gt_json), pred_json, pred_json.with_suffix("")


def _decode_chunk(job: tuple[str, list[str]]) -> int:
    decoder, files = job
    if decoder == "pyspng":
        import pyspng

        load = pyspng.load
    else:  # ovbench's fast path: libdeflate + compiled unfiltering
        from ovbench.data.png_fast import decode_rgb8

        def load(data: bytes):  # type: ignore[no-untyped-def]
            out = decode_rgb8(data)
            assert out is not None, "fast PNG path unavailable (install the fast extra)"
            return out

    for f in files:
        with open(f, "rb") as fh:
            load(fh.read())
    return len(files)


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and of its finished children."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def decode_only(files: list[str], workers: int, decoder: str = "pyspng") -> float:
    t = time.perf_counter()
    chunks = [(decoder, files[i : i + 64]) for i in range(0, len(files), 64)]
    with get_context().Pool(workers) as pool:
        assert sum(pool.imap_unordered(_decode_chunk, chunks)) == len(files)
    return time.perf_counter() - t


def int_id_copies(gt_json: Path, pred_json: Path, out: Path) -> tuple[Path, Path]:
    """hotcoco needs integer image ids; ADE20K's are strings (ADE_val_00000001)."""
    mapping: dict[str, int] = {}
    paths = []
    for src, name in ((gt_json, "gt_int.json"), (pred_json, "pred_int.json")):
        d = json.loads(src.read_text())
        for im in d.get("images", []):
            im["id"] = mapping.setdefault(str(im["id"]), len(mapping) + 1)
        for a in d["annotations"]:
            a["image_id"] = mapping.setdefault(str(a["image_id"]), len(mapping) + 1)
        p = out / name
        p.write_text(json.dumps(d))
        paths.append(p)
    return paths[0], paths[1]


def subset_json(src: Path, dst: Path, n: int) -> Path:
    d = json.loads(src.read_text())
    keep = {str(a["image_id"]) for a in d["annotations"][:n]}
    d["annotations"] = d["annotations"][:n]
    d["images"] = [im for im in d["images"] if str(im["id"]) in keep]
    dst.write_text(json.dumps(d))
    return dst


def run_torchmetrics(gt_json: Path, gt_folder: Path, pred_json: Path, pred_folder: Path, n: int) -> float:
    import numpy as np
    import torch
    from torchmetrics.detection import PanopticQuality

    from ovbench.data.png_io import read_panoptic_ids

    g = json.loads(gt_json.read_text())
    p = {str(a["image_id"]): a for a in json.loads(pred_json.read_text())["annotations"]}
    things = {c["id"] for c in g["categories"] if c["isthing"]}
    stuffs = {c["id"] for c in g["categories"] if not c["isthing"]}
    void = max(things | stuffs) + 1
    metric = PanopticQuality(things=things, stuffs=stuffs, allow_unknown_preds_category=True)

    def encode(ids: np.ndarray, segs: list[dict]) -> torch.Tensor:
        cat = np.full(ids.shape, void, dtype=np.int64)
        inst = np.zeros(ids.shape, dtype=np.int64)
        for k, s in enumerate(segs):
            m = ids == s["id"]
            cat[m] = s["category_id"]
            inst[m] = k + 1
        return torch.from_numpy(np.stack([cat, inst], axis=-1))[None]

    t = time.perf_counter()
    for a in g["annotations"][:n]:
        q = p[str(a["image_id"])]
        gi = read_panoptic_ids(gt_folder / a["file_name"], what="gt")
        pi = read_panoptic_ids(pred_folder / q["file_name"], what="pred")
        metric.update(encode(pi, q["segments_info"]), encode(gi, a["segments_info"]))
    metric.compute()
    return time.perf_counter() - t


def rss_probe(gt_json: Path, gt_folder: Path, pred_json: Path, pred_folder: Path, n: int, workers: int, tmp: Path) -> tuple[int, int]:
    """Peak RSS (MiB) of the main process and of the largest worker, evaluating the first n images."""
    sub = subset_json(gt_json, tmp / f"gt_first{n}.json", n)
    # VmHWM, not ru_maxrss: after fork + exec, ru_maxrss still reports this (parent) process's peak
    code = (
        "import resource, sys\n"
        "from ovbench.metrics.pq_eval import evaluate\n"
        f"ev = evaluate({str(sub)!r}, {str(pred_json)!r}, {str(gt_folder)!r}, {str(pred_folder)!r}, workers={workers})\n"
        f"assert ev.num_images == {n}\n"
        "hwm = [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
        "own = hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]) // 1024, int(out[1]) // 1024


HOTCOCO_SCRIPT = """\
import contextlib, io, sys
from hotcoco.panoptic import pq_compute
with contextlib.redirect_stdout(io.StringIO()):
    r = pq_compute(*sys.argv[1:5])
print(repr(r["All"]["pq"]))
"""


def run_process(cmd: list[str]) -> tuple[float, float, str]:
    """Run `cmd` in a new process; wall seconds, CPU seconds (it and its waited-for children,
    e.g. worker processes), and its stdout."""
    import tempfile

    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{text[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, text


def whole_process(gt_json: Path, gt_folder: Path, pred_json: Path, pred_folder: Path, gt_int: Path, pred_int: Path,
                  workers: int, runs: int) -> list[str]:
    """ovbench pq vs hotcoco pq_compute as whole processes, alternating, after one warm-up each."""
    exe = Path(sys.executable).parent / "ovbench"
    ov_cmd = ([str(exe)] if exe.exists() else [sys.executable, "-m", "ovbench"]) + [
        "pq", "--gt-json", str(gt_json), "--pred-json", str(pred_json), "--gt-folder", str(gt_folder),
        "--pred-folder", str(pred_folder), "--workers", str(workers)]
    hc_cmd = [sys.executable, "-c", HOTCOCO_SCRIPT, str(gt_int), str(pred_int), str(gt_folder), str(pred_folder)]
    ov: list[tuple[float, float]] = []
    hc: list[tuple[float, float]] = []
    for i in range(runs + 1):  # run 0: warm-up (disk cache; compiles the kernel after an install)
        w, c, _ = run_process(ov_cmd)
        w2, c2, _ = run_process(hc_cmd)
        if i:
            ov.append((w, c))
            hc.append((w2, c2))

    from statistics import median as med

    wall_r = med([a[0] / b[0] for a, b in zip(ov, hc)])
    cpu_r = med([a[1] / b[1] for a, b in zip(ov, hc)])
    return [
        f"whole process, cold process / warm disk cache, {runs} alternating pairs after 1 warm-up each, medians:",
        f"  ovbench pq --workers {workers}:    wall {med([a[0] for a in ov]):6.2f} s   CPU {med([a[1] for a in ov]):6.2f} s",
        f"  hotcoco pq_compute script: wall {med([b[0] for b in hc]):6.2f} s   CPU {med([b[1] for b in hc]):6.2f} s",
        f"  ovbench / hotcoco (median of pairwise ratios): wall {wall_r:.2f}x   CPU {cpu_r:.2f}x   (< 1: ovbench faster)",
        "  all pairs, wall s (ovbench/hotcoco): " + " ".join(f"{a[0]:.2f}/{b[0]:.2f}" for a, b in zip(ov, hc)),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="processes for ovbench, panopticapi and the decode floor")
    ap.add_argument("--cache", default=None, help="data cache folder (default $OVBENCH_CACHE or ~/.cache/ovbench)")
    ap.add_argument("--torchmetrics-images", type=int, default=10, help="torchmetrics runs on this many images (0: skip)")
    ap.add_argument("--repeats", type=int, default=2, help="time decode / ovbench / hotcoco this many times, keep the best")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS comparison")
    ap.add_argument("--process-runs", type=int, default=5,
                    help="whole-process pairs ovbench pq vs hotcoco after a warm-up each (0: skip)")
    args = ap.parse_args(argv)

    from ovbench.metrics.pq_eval import evaluate

    root = cache_root(args.cache)
    root.mkdir(parents=True, exist_ok=True)
    gt_json, gt_folder, pred_json, pred_folder = prepare(root, args.images, args.seed, args.workers)
    n = args.images
    files = [str(p) for p in sorted(gt_folder.glob("*.png"))] + [str(p) for p in sorted(pred_folder.glob("*.png"))]
    assert len(files) == 2 * n, f"expected {2 * n} PNGs, found {len(files)}"
    gt_int, pred_int = int_id_copies(gt_json, pred_json, gt_json.parent.parent)

    print(f"machine: {os.cpu_count()} CPUs, load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"data: {n} pairs of 512x683 panoptic PNGs ({gt_folder.parent})")
    from ovbench.data.png_fast import HAVE_FAST_PNG

    print("ovbench PNG path: " + ("libdeflate + compiled unfiltering (fast extra)" if HAVE_FAST_PNG
                                  else "pyspng/Pillow decode (no numba or deflate package)"))
    process_lines: list[str] = []
    if args.process_runs > 0:
        try:
            import hotcoco  # noqa: F401
        except ImportError:
            process_lines = ["whole process: skipped (hotcoco is not installed)"]
        else:
            process_lines = whole_process(gt_json, gt_folder, pred_json, pred_folder, gt_int, pred_int, args.workers,
                                          args.process_runs)
    t_dec, t_dec_own, t_ov, t_hc = [], [], [], []
    cpu: dict[str, list[float]] = {"decode": [], "ovbench": [], "hotcoco": []}
    ev = None
    hc_res = None
    try:
        from hotcoco.panoptic import pq_compute as hc_pq
    except ImportError:
        hc_pq = None
    for _ in range(args.repeats):
        c = cpu_seconds()
        t_dec.append(decode_only(files, args.workers))
        cpu["decode"].append(cpu_seconds() - c)
        if HAVE_FAST_PNG:
            t_dec_own.append(decode_only(files, args.workers, "ovbench"))
        c = cpu_seconds()
        t = time.perf_counter()
        ev = evaluate(gt_json, pred_json, gt_folder, pred_folder, workers=args.workers)
        t_ov.append(time.perf_counter() - t)
        cpu["ovbench"].append(cpu_seconds() - c)
        if hc_pq is not None:
            c = cpu_seconds()
            t = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                hc_res = hc_pq(str(gt_int), str(pred_int), str(gt_folder), str(pred_folder))
            t_hc.append(time.perf_counter() - t)
            cpu["hotcoco"].append(cpu_seconds() - c)
    assert ev is not None
    rows = [("PNG decode only (pyspng)", min(t_dec), n), (f"ovbench ({args.workers} workers)", min(t_ov), n)]
    if t_hc:
        rows.append(("hotcoco pq_compute", min(t_hc), n))
    try:
        import panopticapi.evaluation as pe

        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            pe.pq_compute(str(gt_json), str(pred_json), str(gt_folder), str(pred_folder))
        rows.append((f"panopticapi ({os.cpu_count()} processes)", time.perf_counter() - t, n))
    except ImportError:
        pass
    rss_lines = []
    if not args.no_rss and n >= 500:
        for k in (500, n):
            main_mib, worker_mib = rss_probe(gt_json, gt_folder, pred_json, pred_folder, k, args.workers, gt_json.parent.parent)
            rss_lines.append(f"peak RSS evaluating {k:5d} images: main process {main_mib} MiB (holds the parsed JSONs), "
                             f"largest worker {worker_mib} MiB")
    if args.torchmetrics_images > 0:
        try:
            k = min(n, args.torchmetrics_images)
            rows.append((f"torchmetrics PanopticQuality (1 process, first {k})", run_torchmetrics(gt_json, gt_folder, pred_json, pred_folder, k), k))
        except ImportError as exc:
            print(f"torchmetrics skipped: {exc}")

    print()
    print(f"{'':52s} {'seconds':>8s} {'images/s':>9s}")
    for name, sec, k in rows:
        print(f"{name:52s} {sec:8.2f} {k / sec:9.1f}")
    print()
    dec, ov = min(t_dec), min(t_ov)
    print(f"ovbench / decode-only time: {ov / dec:.2f}x   (target <= 1.3x; decode-only = pyspng)")
    if t_dec_own:
        print(f"  for reference, decoding with ovbench's own fast path alone takes {min(t_dec_own):.2f} s: "
              f"ovbench / that = {ov / min(t_dec_own):.2f}x")
    if t_hc:
        print(f"hotcoco / ovbench time:     {min(t_hc) / ov:.2f}x   (> 1: ovbench faster)")
        res = ev.results()
        diff = max(abs(res[s][m] - hc_res[s][m]) for s in ("All", "Things", "Stuff") for m in ("pq", "sq", "rq"))
        print(f"max |ovbench - hotcoco| over All/Things/Stuff PQ, SQ, RQ: {diff:.2e}")
    for name, sec, k in rows[2:]:
        speed = (n / ov) / (k / sec)  # ovbench images/s over theirs
        print(f"ovbench vs {name}: " + (f"{speed:.1f}x faster" if speed >= 1 else f"{1 / speed:.1f}x slower"))
    cpu_line = "; ".join(f"{k} {min(v):.2f}" for k, v in cpu.items() if v)
    print(f"CPU seconds (all processes and threads, best run; independent of contention): {cpu_line}")
    print(f"all runs (s): decode {' '.join(f'{x:.2f}' for x in t_dec)}; ovbench {' '.join(f'{x:.2f}' for x in t_ov)}"
          + (f"; hotcoco {' '.join(f'{x:.2f}' for x in t_hc)}" if t_hc else ""))
    r = ev.split()
    print(f"PQ {100 * r.pq:.2f} over {r.n} classes")

    if rss_lines:
        print()
        print("\n".join(rss_lines))
    if process_lines:
        print()
        print("\n".join(process_lines))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
