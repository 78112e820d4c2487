"""`ovbench pq`: PQ of a COCO-panoptic prediction (drop-in for panopticapi's pq_compute)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .common import add_workers_arg

DESCRIPTION = """\
Panoptic quality of a prediction in COCO panoptic format (a JSON + a folder of PNGs), with the
semantics of panopticapi's pq_compute (the evaluator behind detectron2's COCOPanopticEvaluator):
same matching, VOID and crowd handling, same All / Things / Stuff table (PQ, SQ, RQ x100, N = the
classes averaged). Also prints mIoU of the semantic view of the same maps.

Differences: it runs in parallel on all CPUs, its IoU sums are exact (order-independent), and bad
input is an error that names the image and file (panopticapi tolerates some; see
docs/pq-semantics.md). Folders default to the JSON path without .json, as in panopticapi.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pq",
        help="PQ of a COCO-panoptic prediction (drop-in for panopticapi's pq_compute).",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--gt-json", required=True, help="ground-truth COCO panoptic JSON")
    p.add_argument("--gt-folder", default=None, help="ground-truth PNG folder (default: GT JSON path without .json)")
    p.add_argument("--pred-json", required=True, help="prediction COCO panoptic JSON")
    p.add_argument("--pred-folder", default=None, help="prediction PNG folder (default: prediction JSON path without .json)")
    p.add_argument("--json", dest="out", default=None, help="write splits, per-class counts and metrics to this JSON file")
    add_workers_arg(p)
    p.set_defaults(func=run)


@contextlib.contextmanager
def _numba_without_blas() -> Iterator[None]:
    """While numba sets up its compiler on the first kernel call, hide ``scipy.linalg``.

    numba then imports scipy.linalg (about 0.25 CPU-s, a tenth of a 2000-image run) only to learn
    whether compiled ``np.dot`` / ``np.linalg`` can call BLAS. The PQ kernels use neither, and this
    process runs nothing else, so it is told there is none. Used by this command only, never by
    the library (another caller's compiled code may need BLAS)."""
    if "scipy.linalg" in sys.modules:  # already imported: nothing to save
        yield
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # "import scipy.linalg" -> ImportError
    try:
        yield
    finally:
        if sys.modules.get("scipy.linalg", 0) is None:
            del sys.modules["scipy.linalg"]


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..metrics.histogram_png import warm_up
    from ..metrics.pq_eval import evaluate

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    with _numba_without_blas():
        warm_up()  # load the compiled PNG kernel (numba's cache) once, before workers are forked
    t0 = time.perf_counter()
    ev = evaluate(args.gt_json, args.pred_json, args.gt_folder, args.pred_folder, workers=args.workers)
    dt = time.perf_counter() - t0
    print(ev.table())
    notes = []
    if ev.gt_segments_without_pixels:
        notes.append(f"{ev.gt_segments_without_pixels} ground-truth segments have no pixels in their PNG (counted as FN, as panopticapi)")
    if ev.extra_predictions:
        notes.append(f"{ev.extra_predictions} predicted images are not in the ground truth (ignored)")
    for n in notes:
        print(f"note: {n}")
    print(f"{ev.num_images} images in {dt:.2f} s")
    if args.out:
        report = ev.to_json()
        report.update({"gt_json": str(args.gt_json), "pred_json": str(args.pred_json), "seconds": round(dt, 3)})
        from ..results.io import write_json_atomic

        out = write_json_atomic(Path(args.out), report)
        print(f"wrote {out}")
    return 0
