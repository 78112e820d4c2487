"""The dataset loop of the VLM oracle: worker processes, per-image shards (atomic, resumable), totals.

Each image's outcome is written to ``<out>/shards/vlm_segmentation/<image>.json`` (sparse per-class
counts, predicted classes, diagnostics) together with the run's fingerprint. A rerun with the same
fingerprint reuses the shards; any change of model, weights, prompts or configuration changes the
fingerprint and recomputes. Totals are exact (:class:`~ovbench.metrics.accumulator.PQStats`), so a
resumed run gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics.accumulator import PQStats
from ..results.io import write_json_atomic

ORACLE_KEY = "vlm_segmentation"
SHARD_VERSION = 2  # 2: sparse stats keyed "idx" (PQStats.to_sparse_json)


@dataclass
class RunTotals:
    """Accumulated outcome of a run over ``num_images`` images."""

    stats: PQStats
    num_images: int = 0
    num_segments: int = 0
    num_correct: int = 0
    num_empty_masks: int = 0
    num_crowd_skipped: int = 0
    num_empty_gt_skipped: int = 0
    num_resumed: int = 0
    seconds: float = 0.0
    per_image_rows: list[dict[str, Any]] = field(default_factory=list)

    def diagnostics(self) -> dict[str, Any]:
        return {
            "num_images": self.num_images,
            "num_segments": self.num_segments,
            "segment_accuracy": (self.num_correct / self.num_segments) if self.num_segments else None,
            "num_empty_pooling_masks": self.num_empty_masks,
            "num_crowd_segments_skipped": self.num_crowd_skipped,
            "num_gt_segments_without_pixels": self.num_empty_gt_skipped,
            "num_images_resumed": self.num_resumed,
        }


def shard_name(image_id: str) -> str:
    """A file-system-safe, collision-free shard file name for an image id."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", image_id)[:80]
    return f"{safe}-{hashlib.sha1(image_id.encode()).hexdigest()[:8]}.json"


def _outcome_record(outcome: Any, categories: Any, fingerprint: str) -> dict[str, Any]:
    gt_ids = [int(g) for g in outcome.segments.gt_index]
    return {
        "version": SHARD_VERSION,
        "fingerprint": fingerprint,
        "image_id": outcome.image_id,
        "stats": outcome.stats.to_sparse_json(),
        "num_segments": outcome.segments.num_segments,
        "num_correct": outcome.num_correct,
        "num_empty_masks": outcome.num_empty_masks,
        "num_crowd": outcome.segments.num_crowd,
        "num_empty_gt": outcome.segments.num_empty,
        "input_size": list(outcome.geometry.resized),
        "padded_size": list(outcome.geometry.padded),
        "gt_segment_index": gt_ids,
        "pred_category_id": categories.ids[outcome.pred_classes].tolist(),
    }


def run_oracle(oracle: Any, dataset: Any, *, out_dir: str | Path, fingerprint: str, limit: int | None = None,
               resume: bool = True, progress: bool = True, workers: int = 0, prefetch: int = 2) -> RunTotals:
    """Evaluate ``oracle`` (a :class:`~ovbench.vlm.pipeline.VLMOracle`) on ``dataset`` images.

    Images with a matching shard are reused (``resume``). The others are prepared by ``workers``
    DataLoader processes (:mod:`ovbench.vlm.prepare`; 0 = in this process) while this process
    drives the device, one image ahead: image i+1 is queued on the device before image i is
    matched and written, so on CUDA the GPU works while the CPU does the rest. Totals and per-image
    rows are accumulated in dataset order, so they do not depend on ``workers``."""
    from tqdm import tqdm

    from .prepare import PrepareFailure, make_loader

    categories = oracle.categories
    K = len(categories)
    ids = dataset.image_ids()
    if limit is not None:
        ids = ids[: max(int(limit), 0)]
    shard_dir = Path(out_dir) / "shards" / ORACLE_KEY
    totals = RunTotals(PQStats.zeros(K))
    t0 = time.perf_counter()
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for image_id in ids:
        rec = _load_shard(shard_dir / shard_name(image_id), fingerprint) if resume else None
        if rec is None:
            todo.append(image_id)
        else:
            records[image_id] = rec
            totals.num_resumed += 1
    bar = tqdm(total=len(ids), initial=totals.num_resumed, unit="img", desc="vlm-oracle", disable=not progress,
               dynamic_ncols=True)

    def finish(launched: Any) -> None:
        outcome = oracle.finish(launched)
        rec = _outcome_record(outcome, categories, fingerprint)
        write_json_atomic(shard_dir / shard_name(outcome.image_id), rec)
        records[outcome.image_id] = rec
        bar.update(1)

    try:
        if todo:
            if workers > 0:
                # decode one GT here first: compiled PNG kernels (numba) are then inherited by the
                # forked workers instead of being loaded by each; a broken first image fails early
                dataset.sample(todo[0])
            loader = make_loader(dataset, todo, oracle.preparer, workers=workers,
                                 pin_memory=oracle.device.type == "cuda", prefetch=prefetch)
            pending = None
            for item in loader:
                if isinstance(item, PrepareFailure):
                    raise item.error
                launched = oracle.launch(item)
                if pending is not None:
                    finish(pending)
                pending = launched
            if pending is not None:
                finish(pending)
    finally:
        bar.close()
    cat_ids = categories.ids
    for image_id in ids:
        _accumulate(totals, records[image_id], K, cat_ids)
    totals.seconds = time.perf_counter() - t0
    return totals


def _load_shard(path: Path, fingerprint: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    if rec.get("version") != SHARD_VERSION or rec.get("fingerprint") != fingerprint:
        return None
    return rec


def _accumulate(totals: RunTotals, rec: dict[str, Any], K: int, cat_ids: np.ndarray) -> None:
    s = PQStats.from_sparse_json(rec["stats"], K)
    totals.stats += s
    totals.num_images += 1
    totals.num_segments += int(rec["num_segments"])
    totals.num_correct += int(rec["num_correct"])
    totals.num_empty_masks += int(rec["num_empty_masks"])
    totals.num_crowd_skipped += int(rec["num_crowd"])
    totals.num_empty_gt_skipped += int(rec["num_empty_gt"])
    iou = s.iou_sum
    for j, k in enumerate(rec["stats"]["idx"]):
        totals.per_image_rows.append({
            "oracle": ORACLE_KEY, "image_id": rec["image_id"], "category_id": int(cat_ids[k]),
            "tp": int(rec["stats"]["tp"][j]), "fp": int(rec["stats"]["fp"][j]), "fn": int(rec["stats"]["fn"][j]),
            "iou_sum": float(iou[k]),
        })
