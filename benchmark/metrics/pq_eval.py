"""Streaming, parallel PQ of a COCO-panoptic prediction: a drop-in for panopticapi's ``pq_compute``.

``pq_compute(gt_json, pred_json, gt_folder, pred_folder)`` returns panopticapi's dict
(``All`` / ``Things`` / ``Stuff`` with pq, sq, rq, n, and ``per_class``); :func:`evaluate`
returns a :class:`PQEvaluation` that also holds the exact accumulators (:class:`PQStats`,
:class:`SemanticStats`) for class subsets (seen / unseen), mIoU and merging with other shards.

Design: the image list is cut into chunks that worker processes evaluate independently; each
chunk comes back as one exact, mergeable accumulator and is merged as it arrives, so memory does
not grow with the number of images (unless ``per_image=True`` asks for per-image rows). Per
image: two PNG decodes (pyspng if installed), one joint histogram over the pair of id maps
(:mod:`ovbench.metrics.histogram`), then panopticapi's matching on G x P numbers
(:func:`ovbench.metrics.matching.match_overlaps`). Results do not depend on the number of workers
or the chunking (tested bit for bit).

Every bad input raises :class:`DatasetError` (ground truth) or :class:`PredictionError`
(prediction) naming the image and the file.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import queue
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..data.png_io import check_rgb8, decode_panoptic_rgb, read_png_bytes
from ..data.validate import folder_problem, iter_records, safe_relative_name, strict_int
from ..errors import ConfigError, DatasetError, PredictionError
from ..pools import POLL_S, WorkerPool, retain_freed_memory, worker_pool
from ..workers import default_workers
from .accumulator import PQResult, PQStats
from .histogram import joint_histogram_rgb
from .histogram_png import joint_histogram_png
from .histogram_png import warm_up as warm_up_png_kernel
from .matching import add_match, match_overlaps, overlaps_from_joint
from .semantic import SemanticResult, SemanticStats

SPLITS: tuple[tuple[str, bool | None], ...] = (("All", None), ("Things", True), ("Stuff", False))


# ---- work items -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    """Everything a worker needs for one image (small; pickled to the worker)."""

    image_id: str
    gt_png: str
    pred_png: str
    height: int
    width: int
    gt_ids: np.ndarray  # [G] int64
    gt_area: np.ndarray  # [G] int64 (JSON)
    gt_cat: np.ndarray  # [G] int64 dense
    gt_crowd: np.ndarray  # [G] bool
    pred_ids: np.ndarray  # [P] int64
    pred_cat: np.ndarray  # [P] int64 dense


@dataclass
class _ChunkResult:
    stats: PQStats
    semantic: SemanticStats
    num_images: int
    gt_segments_without_pixels: int
    per_image: list[tuple[str, PQStats]] | None


def _evaluate_chunk(args: tuple[Sequence[_Item], int, bool]) -> _ChunkResult:
    items, num_classes, per_image = args
    stats = PQStats.zeros(num_classes)
    semantic = SemanticStats.zeros(num_classes)
    rows: list[tuple[str, PQStats]] | None = [] if per_image else None
    empty_gt = 0
    for it in items:
        target = PQStats.zeros(num_classes) if rows is not None else stats
        empty_gt += _evaluate_image(it, target, semantic)
        if rows is not None:
            rows.append((it.image_id, target))
            stats += target
    return _ChunkResult(stats, semantic, len(items), empty_gt, rows)


def _evaluate_image(it: _Item, stats: PQStats, semantic: SemanticStats) -> int:
    """Add one image into `stats` and `semantic`; return its number of GT segments without pixels."""
    what_gt = f"image {it.image_id!r} (ground truth)"
    what_pred = f"image {it.image_id!r} (prediction)"
    gt_bytes = read_png_bytes(it.gt_png, what=what_gt, error=DatasetError)
    gt_hw = check_rgb8(gt_bytes, it.gt_png, what=what_gt, error=DatasetError)
    if gt_hw != (it.height, it.width):
        raise DatasetError(f"{what_gt}: {it.gt_png} is {gt_hw[1]}x{gt_hw[0]} but the JSON says {it.width}x{it.height}")
    pred_bytes = read_png_bytes(it.pred_png, what=what_pred, error=PredictionError)
    pred_hw = check_rgb8(pred_bytes, it.pred_png, what=what_pred, error=PredictionError)
    if pred_hw != gt_hw:
        raise PredictionError(
            f"{what_pred}: {it.pred_png} is {pred_hw[1]}x{pred_hw[0]} but the ground truth is {gt_hw[1]}x{gt_hw[0]}"
        )
    # fast path (libdeflate + compiled unfiltering, ``fast`` extra); None -> decode the pixels
    jh = joint_histogram_png(gt_bytes, pred_bytes, it.gt_ids, it.pred_ids)
    if jh is None:
        gt = decode_panoptic_rgb(gt_bytes, it.gt_png, what=what_gt, error=DatasetError)
        pred = decode_panoptic_rgb(pred_bytes, it.pred_png, what=what_pred, error=PredictionError)
        jh = joint_histogram_rgb(gt, pred, it.gt_ids, it.pred_ids)
    if jh.gt_unlisted:
        raise DatasetError(f"{what_gt}: {it.gt_png}: segment id(s) {list(jh.gt_unlisted[:5])} are in the PNG but not in the JSON")
    if jh.pred_unlisted:
        raise PredictionError(f"{what_pred}: {it.pred_png}: segment id(s) {list(jh.pred_unlisted[:5])} are in the PNG but not in the JSON")
    ov = overlaps_from_joint(jh.counts, it.gt_area)
    if (ov.pred_area == 0).any():
        bad = it.pred_ids[ov.pred_area == 0][:5].tolist()
        raise PredictionError(f"{what_pred}: {it.pred_png}: segment id(s) {bad} are in the JSON but not in the PNG")
    gt_pixels = jh.counts[1:, :].sum(axis=1)
    short = it.gt_area < gt_pixels
    if short.any():
        i = int(np.argmax(short))
        raise DatasetError(
            f"{what_gt}: {it.gt_png}: segment {int(it.gt_ids[i])} has area {int(it.gt_area[i])} in the JSON "
            f"but {int(gt_pixels[i])} pixels in the PNG"
        )
    sm = match_overlaps(ov, it.gt_cat, it.gt_crowd, it.pred_cat, stats.num_classes)
    add_match(stats, sm, it.gt_cat, it.pred_cat)
    semantic.update(jh.counts, it.gt_cat, it.pred_cat)
    return int((gt_pixels == 0).sum())


# ---- inputs ---------------------------------------------------------------------------------
def _load_json(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise error(f"{what} JSON {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{what} JSON {path} is not valid JSON ({exc})") from exc
    except RecursionError:
        raise error(f"{what} JSON {path} is nested too deeply to be a COCO panoptic file") from None
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise error(f"{what} JSON {path} has no 'annotations' list")
    return data


def _default_folder(json_path: Path) -> Path:
    # panopticapi: the folder is the JSON path without ".json"; known layouts (coco/...) as a fallback
    from ..data.catalog import default_png_dir

    return default_png_dir(json_path)


def _dense(ids: Iterable[int], dense: dict[int, int], what: str) -> np.ndarray:
    """Dataset category ids -> [n] int64 dense indices (`dense`: id -> index); unknown ids raise."""
    out = [dense.get(c, -1) for c in ids]
    if -1 in out:
        c = list(ids)[out.index(-1)]
        raise PredictionError(f"{what}: segment has unknown category id {c} (not in the ground-truth categories)")
    return np.asarray(out, dtype=np.int64)


def _index_predictions(pred_data: dict[str, Any], pred_json: Path) -> dict[str, dict[str, Any]]:
    preds: dict[str, dict[str, Any]] = {}
    for i, ann in enumerate(pred_data["annotations"]):
        try:
            image_id = str(ann["image_id"])
            str(ann["file_name"])
            segs = ann["segments_info"]
        except (KeyError, TypeError) as exc:
            raise PredictionError(f"{pred_json}: annotation #{i} is missing {exc}") from exc
        if not isinstance(segs, list):
            raise PredictionError(f"{pred_json}: image {image_id!r}: segments_info must be a list")
        if image_id in preds:
            raise PredictionError(f"{pred_json}: image {image_id!r} has two annotations")
        preds[image_id] = ann
    return preds


def _iter_items(
    gt_data: dict[str, Any], preds: dict[str, dict[str, Any]], categories: CategorySet, gt_json: Path, pred_json: Path,
    gt_folder: Path, pred_folder: Path,
) -> Iterator[_Item]:
    """One work item per ground-truth annotation, checked as it is built (errors name the JSON)."""
    dense = {c.id: i for i, c in enumerate(categories)}
    for rec in iter_records(gt_data, categories, str(gt_json)):
        ann = preds.get(rec.image_id)
        if ann is None:
            raise PredictionError(f"{pred_json}: no prediction for the image with id {rec.image_id!r}")
        what = f"{pred_json}: image {rec.image_id!r}"
        try:
            pid = [strict_int(s["id"], f"{what}: segment #{i}: id", PredictionError) for i, s in enumerate(ann["segments_info"])]
            pcat = [strict_int(s["category_id"], f"{what}: segment #{i} (id {pid[i]}): category_id", PredictionError)
                    for i, s in enumerate(ann["segments_info"])]
        except (KeyError, TypeError) as exc:
            raise PredictionError(f"{what}: malformed segment ({exc!r})") from exc
        pred_name = safe_relative_name(ann["file_name"], f"{what}: file_name", PredictionError)
        if len(set(pid)) != len(pid):
            dup = sorted({i for i in pid if pid.count(i) > 1})
            raise PredictionError(f"{what}: duplicate segment id(s) {dup[:5]}")
        if 0 in pid:
            raise PredictionError(f"{what}: segment id 0 is reserved for VOID")
        segs = rec.segments
        yield _Item(
            image_id=rec.image_id,
            gt_png=str(gt_folder / rec.png_name),
            pred_png=str(pred_folder / pred_name),
            height=rec.height,
            width=rec.width,
            gt_ids=np.array([s.id for s in segs], dtype=np.int64),
            gt_area=np.array([s.area for s in segs], dtype=np.int64),
            gt_cat=np.array([dense[s.category_id] for s in segs], dtype=np.int64),
            gt_crowd=np.array([s.iscrowd for s in segs], dtype=bool),
            pred_ids=np.asarray(pid, dtype=np.int64),
            pred_cat=_dense(pcat, dense, what),
        )


def _build_items(
    gt_data: dict[str, Any], pred_data: dict[str, Any], categories: CategorySet, gt_json: Path, pred_json: Path,
    gt_folder: Path, pred_folder: Path,
) -> tuple[list[_Item], int]:
    """All work items at once, and the number of predictions for images not in the ground truth."""
    preds = _index_predictions(pred_data, pred_json)
    items = list(_iter_items(gt_data, preds, categories, gt_json, pred_json, gt_folder, pred_folder))
    return items, len(set(preds) - {it.image_id for it in items})


# ---- results --------------------------------------------------------------------------------
@dataclass
class PQEvaluation:
    """The outcome of :func:`evaluate`.

    stats / semantic: exact per-class accumulators over all images (merge with ``+``).
    gt_segments_without_pixels: GT JSON segments with no PNG pixels (ADE20K: stuff painted over
    by things); panopticapi counts them as FN, and so do we.
    extra_predictions: prediction annotations for images that are not in the ground truth
    (ignored, as panopticapi does).
    per_image: (image_id, PQStats) in no particular order, when requested.
    """

    categories: CategorySet
    stats: PQStats
    semantic: SemanticStats
    num_images: int
    gt_segments_without_pixels: int = 0
    extra_predictions: int = 0
    per_image: list[tuple[str, PQStats]] | None = field(default=None, repr=False)

    def split(self, isthing: bool | None = None, subset: np.ndarray | None = None) -> PQResult:
        """PQ over all classes, things (True) or stuff (False), optionally within a [K] bool subset."""
        mask = np.ones(len(self.categories), dtype=bool)
        if isthing is not None:
            mask &= self.categories.isthing == isthing
        if subset is not None:
            mask &= np.asarray(subset, dtype=bool)
        return self.stats.compute(mask)

    def miou(self, subset: np.ndarray | None = None) -> SemanticResult:
        return self.semantic.compute(subset)

    def results(self) -> dict[str, Any]:
        """panopticapi's return value: {"All"|"Things"|"Stuff": {pq, sq, rq, n}, "per_class":
        {category_id: {pq, sq, rq}}}. Fractions in [0, 1]; NaN where n == 0 (panopticapi raises)."""
        out: dict[str, Any] = {}
        for name, isthing in SPLITS:
            r = self.split(isthing)
            out[name] = {"pq": r.pq, "sq": r.sq, "rq": r.rq, "n": r.n}
        pc = self.stats.per_class()
        out["per_class"] = {
            c.id: {"pq": float(pc["pq"][i]), "sq": float(pc["sq"][i]), "rq": float(pc["rq"][i])}
            for i, c in enumerate(self.categories)
        }
        return out

    def table(self) -> str:
        """panopticapi's printed table (values x100), plus one mIoU line."""
        lines = ["{:10s}| {:>5s}  {:>5s}  {:>5s} {:>5s}".format("", "PQ", "SQ", "RQ", "N"), "-" * (10 + 7 * 4)]
        for name, isthing in SPLITS:
            r = self.split(isthing)
            lines.append(f"{name:10s}| {100 * r.pq:5.1f}  {100 * r.sq:5.1f}  {100 * r.rq:5.1f} {r.n:5d}")
        s = self.semantic.compute()
        lines.append("")
        lines.append(f"mIoU {100 * s.miou:5.1f}  fwIoU {100 * s.fwiou:5.1f}  mACC {100 * s.macc:5.1f}  pACC {100 * s.pacc:5.1f}  ({s.n} classes)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe report: splits, per-class counts and metrics, semantic metrics (None for NaN)."""
        pc = self.stats.per_class()
        iou_sum = self.stats.iou_sum
        sem = self.semantic.compute()
        per_class = []
        for i, c in enumerate(self.categories):
            per_class.append({
                "category_id": c.id, "name": c.name, "isthing": c.isthing,
                "tp": int(self.stats.tp[i]), "fp": int(self.stats.fp[i]), "fn": int(self.stats.fn[i]),
                "iou_sum": float(iou_sum[i]),
                "pq": _num(pc["pq"][i]) if pc["valid"][i] else None,
                "sq": _num(pc["sq"][i]) if pc["valid"][i] else None,
                "rq": _num(pc["rq"][i]) if pc["valid"][i] else None,
                "iou": _num(sem.iou[i]), "acc": _num(sem.acc[i]),
            })
        return {
            "num_images": self.num_images,
            "splits": {name: self.split(isthing).as_dict() for name, isthing in SPLITS},
            "semantic": sem.as_dict(),
            "gt_segments_without_pixels": self.gt_segments_without_pixels,
            "extra_predictions": self.extra_predictions,
            "per_class": per_class,
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# ---- entry points ---------------------------------------------------------------------------
def _chunks(items: Iterable[_Item], size: int) -> Iterator[list[_Item]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def evaluate(
    gt_json: str | os.PathLike[str],
    pred_json: str | os.PathLike[str],
    gt_folder: str | os.PathLike[str] | None = None,
    pred_folder: str | os.PathLike[str] | None = None,
    *,
    workers: int | None = None,
    chunk_size: int | None = None,
    per_image: bool = False,
    progress: Callable[[int], None] | None = None,
) -> PQEvaluation:
    """Evaluate a COCO-panoptic prediction against ground truth (panopticapi semantics).

    gt_folder / pred_folder default to the JSON path without ``.json`` (as panopticapi).
    workers: processes (default: available CPUs; 1 = in this process). chunk_size: images per
    task (default: about 8 tasks per worker, at most 64). progress: called with the number of
    images of each finished chunk.
    """
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        return _evaluate_files(gt_json, pred_json, gt_folder, pred_folder, None, workers, chunk_size, per_image, progress)
    # start the workers before the JSONs are loaded: forked workers then do not inherit (and touch)
    # the parsed JSON, so their memory does not grow with the number of images; but after the
    # PNG kernel is loaded, so that they inherit it
    warm_up_png_kernel()
    with worker_pool(workers, initializer=retain_freed_memory) as pool:
        return _evaluate_files(gt_json, pred_json, gt_folder, pred_folder, pool, workers, chunk_size, per_image, progress)


def _evaluate_files(
    gt_json: str | os.PathLike[str], pred_json: str | os.PathLike[str], gt_folder: str | os.PathLike[str] | None,
    pred_folder: str | os.PathLike[str] | None, pool: Any, workers: int, chunk_size: int | None, per_image: bool,
    progress: Callable[[int], None] | None,
) -> PQEvaluation:
    gt_json, pred_json = Path(gt_json), Path(pred_json)
    gt_folder = Path(gt_folder) if gt_folder is not None else _default_folder(gt_json)
    pred_folder = Path(pred_folder) if pred_folder is not None else _default_folder(pred_json)
    gt_data = _load_json(gt_json, "ground-truth", DatasetError)
    pred_data = _load_json(pred_json, "prediction", PredictionError)
    for key in ("images", "categories"):
        if not isinstance(gt_data.get(key), list):
            raise DatasetError(f"ground-truth JSON {gt_json} has no {key!r} list")
    if not gt_folder.is_dir():
        raise DatasetError(f"ground-truth PNG folder {gt_folder} {folder_problem(gt_folder)}")
    if not pred_folder.is_dir():
        raise PredictionError(f"prediction PNG folder {pred_folder} {folder_problem(pred_folder)}")
    categories = CategorySet.from_coco(gt_data["categories"], source=str(gt_json))
    preds = _index_predictions(pred_data, pred_json)
    n = len(gt_data["annotations"])
    gt_ids = {str(a.get("image_id")) for a in gt_data["annotations"] if isinstance(a, dict)}
    extra = len(set(preds) - gt_ids)
    items = _iter_items(gt_data, preds, categories, gt_json, pred_json, gt_folder, pred_folder)
    return evaluate_items(items, categories, workers=workers, chunk_size=chunk_size, per_image=per_image,
                          progress=progress, extra_predictions=extra, num_items=n, pool=pool)


def evaluate_items(
    items: Iterable[_Item], categories: CategorySet, *, workers: int | None = None, chunk_size: int | None = None,
    per_image: bool = False, progress: Callable[[int], None] | None = None, extra_predictions: int = 0,
    num_items: int | None = None, pool: WorkerPool | None = None,
) -> PQEvaluation:
    """Evaluate work items (a list, or a generator consumed as workers need more) in chunks.

    Chunks are submitted with at most 2 per worker in flight, so the items are built while the
    workers decode, and results are merged as they arrive (exact, so in any order). `pool`: a
    :class:`~ovbench.pools.WorkerPool` to use (default: one is started for this call)."""
    K = len(categories)
    if num_items is None:
        items = list(items)
        num_items = len(items)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if chunk_size is None:
        chunk_size = max(1, min(64, math.ceil(num_items / (workers * 8)))) if num_items else 1
    result = PQEvaluation(categories, PQStats.zeros(K), SemanticStats.zeros(K), 0, 0, extra_predictions,
                          [] if per_image else None)

    def merge(r: _ChunkResult) -> None:
        result.stats += r.stats
        result.semantic += r.semantic
        result.num_images += r.num_images
        result.gt_segments_without_pixels += r.gt_segments_without_pixels
        if result.per_image is not None and r.per_image is not None:
            result.per_image.extend(r.per_image)
        if progress is not None:
            progress(r.num_images)

    tasks = ((chunk, K, per_image) for chunk in _chunks(items, chunk_size))
    if workers == 1 or num_items <= chunk_size:
        for t in tasks:
            merge(_evaluate_chunk(t))
        return result
    if pool is None:
        with worker_pool(min(workers, math.ceil(num_items / chunk_size)), initializer=retain_freed_memory) as own:
            _run_in_pool(own, tasks, workers, merge)
    else:
        _run_in_pool(pool, tasks, workers, merge)
    return result


def _run_in_pool(pool: WorkerPool, tasks: Iterable[Any], workers: int, merge: Callable[[_ChunkResult], None]) -> None:
    done: queue.SimpleQueue[Any] = queue.SimpleQueue()  # results and worker exceptions, as they finish

    def next_result() -> _ChunkResult:
        while True:
            try:
                r = done.get(timeout=POLL_S)
                break
            except queue.Empty:
                pool.check()  # a dead worker never delivers its chunk: raise WorkerError
        if isinstance(r, BaseException):
            raise r
        return r

    in_flight = 0
    for t in tasks:
        pool.apply_async(_evaluate_chunk, (t,), callback=done.put, error_callback=done.put)
        in_flight += 1
        if in_flight >= 2 * workers:
            merge(next_result())
            in_flight -= 1
    for _ in range(in_flight):
        merge(next_result())


def pq_compute(
    gt_json_file: str | os.PathLike[str],
    pred_json_file: str | os.PathLike[str],
    gt_folder: str | os.PathLike[str] | None = None,
    pred_folder: str | os.PathLike[str] | None = None,
    *,
    workers: int | None = None,
    verbose: bool = False,
) -> dict[str, Any]:
    """Drop-in for ``panopticapi.evaluation.pq_compute``: same arguments, same return value.
    With ``verbose`` it prints panopticapi's table."""
    ev = evaluate(gt_json_file, pred_json_file, gt_folder, pred_folder, workers=workers)
    if verbose:
        print(ev.table())
    return ev.results()


def merge_evaluations(parts: Iterable[PQEvaluation]) -> PQEvaluation:
    """Merge evaluations of disjoint image shards (exact; any order gives identical results)."""
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to merge")
    cats = parts[0].categories
    out = PQEvaluation(cats, PQStats.zeros(len(cats)), SemanticStats.zeros(len(cats)), 0)
    for p in parts:
        if p.categories != cats:
            raise ValueError("cannot merge evaluations over different category sets")
        out.stats += p.stats
        out.semantic += p.semantic
        out.num_images += p.num_images
        out.gt_segments_without_pixels += p.gt_segments_without_pixels
        out.extra_predictions += p.extra_predictions
    return out


__all__ = ["PQEvaluation", "evaluate", "pq_compute", "merge_evaluations", "default_workers", "SPLITS"]

