"""The VLM oracle on a semantic-only target: its results scored by mIoU instead of PQ.

On a semantic target every GT "segment" is a region (all pixels of one class in one image, see
docs/semantics.md), so the oracle classifies each region's mask-pooled feature and paints the
region with the predicted class. Its pixel confusion is exact from the shards: a region of
class g with area a predicted as class p adds a to ``conf[p, g]``; ignore pixels stay ignored and
no pixel is left unpredicted except regions the oracle skipped (crowd / empty: none on a
semantic target). The PQ computed on regions is dropped: it has no meaning there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..errors import ConfigError
from ..metrics.semantic import SemanticStats
from ..results.semantic import miou_splits, semantic_class_rows, semantic_split_masks


def region_confusion(records: Iterable[Mapping[str, Any]], gt_segments: Mapping[str, list[Any]], categories: CategorySet) -> SemanticStats:
    """Confusion counts from VLM-oracle shard records (``gt_segment_index``, ``pred_category_id``)
    and each image's GT segments (``SegmentInfo`` with recounted areas), by image id."""
    stats = SemanticStats.zeros(len(categories))
    K = len(categories)
    for rec in records:
        segs = gt_segments[rec["image_id"]]
        for g, pred_id in zip(rec["gt_segment_index"], rec["pred_category_id"]):
            s = segs[int(g)]
            stats.conf[categories.index_of(int(pred_id)), categories.index_of(s.category_id)] += int(s.area)
        listed = set(int(g) for g in rec["gt_segment_index"])
        for i, s in enumerate(segs):  # regions the oracle did not classify: GT pixels left unpredicted
            if i not in listed and s.area > 0:
                stats.conf[K, categories.index_of(s.category_id)] += int(s.area)
    return stats


def region_segments(gt: Any) -> list[Any]:
    """The GT segments of one image with areas counted from its map (not the JSON's areas)."""
    from ..data.panoptic_format import SegmentInfo, count_ids

    areas = count_ids(gt.ids, gt.segment_ids())
    return [SegmentInfo(s.id, s.category_id, s.iscrowd, int(a)) for s, a in zip(gt.segments, areas)]


def semantic_vlm_results(results: dict[str, Any], rows: list[dict[str, Any]], dataset: Any, categories: CategorySet,
                         seen: frozenset[int] | None, out_dir: str | Path, image_ids: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Turn the VLM oracle's results document into a semantic one: ``miou_splits`` replace PQ
    ``splits``, ``per_class_semantic`` replaces the PQ rows (returned as the new per_class: [])."""
    import json

    from .run import ORACLE_KEY, shard_name

    shard_dir = Path(out_dir) / "shards" / ORACLE_KEY
    records, gt = [], {}
    for image_id in image_ids:
        path = shard_dir / shard_name(image_id)
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"VLM oracle shard {path} is unreadable ({exc}); re-run with --no-resume") from exc
        gt[image_id] = region_segments(dataset.sample(image_id).gt)
    stats = region_confusion(records, gt, categories)
    seen_mask = None if seen is None else np.isin(categories.ids, sorted(seen))
    sp = miou_splits(stats, semantic_split_masks(categories, seen_mask, None))
    entry = results["oracles"][ORACLE_KEY]
    results["oracles"][ORACLE_KEY] = {"title": entry["title"], "paper_table": entry.get("paper_table"),
                                      "miou": sp["all"]["miou"], "miou_splits": sp}
    results["dataset"] = {**results["dataset"], "task": "semantic"}
    results["per_class_semantic"] = semantic_class_rows(ORACLE_KEY, stats, categories, seen=seen_mask)
    return results, []
