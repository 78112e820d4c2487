"""Evaluate the oracles of a suite on one image: a pure function from (raw output, ground
truth) to per-image statistics, which the runner writes as a shard and later merges."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import PanopticMap
from ..metrics.accumulator import PQStats
from ..metrics.matching import match_image
from ..oracles import ORACLES
from ..oracles.context import ImageContext, SuiteSettings
from ..oracles.stratify import FNBreakdown, fn_breakdown
from ..raw.record import RawOutput
from ..suites.suite import Suite


@dataclass
class ImageResult:
    """Per-image statistics of every oracle (all mergeable by ``+``)."""

    image_id: str
    pq: dict[str, PQStats]
    fn: dict[str, FNBreakdown] = field(default_factory=dict)
    semantic: dict[str, Any] = field(default_factory=dict)
    harmonised: dict[str, dict[str, PQStats]] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "pq": {k: v.to_sparse_json() for k, v in self.pq.items()},
            "fn": {k: v.to_json() for k, v in self.fn.items()},
            "semantic": {k: v.to_json() for k, v in self.semantic.items()},
            "harmonised": {o: {h: s.to_sparse_json() for h, s in d.items()} for o, d in self.harmonised.items()},
            "diagnostics": self.diagnostics,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any], num_classes: int, harmonised_sizes: Mapping[str, int] | None = None) -> ImageResult:
        from ..metrics.semantic import SemanticStats

        hs = harmonised_sizes or {}
        return cls(
            image_id=str(d["image_id"]),
            pq={k: PQStats.from_sparse_json(v, num_classes) for k, v in d["pq"].items()},
            fn={k: FNBreakdown.from_json(v) for k, v in d.get("fn", {}).items()},
            semantic={k: SemanticStats.from_json(v) for k, v in d.get("semantic", {}).items()},
            harmonised={o: {h: PQStats.from_sparse_json(s, hs[h]) for h, s in v.items()} for o, v in d.get("harmonised", {}).items()},
            diagnostics=dict(d.get("diagnostics", {})),
            seconds=dict(d.get("seconds", {})),
        )


@dataclass(frozen=True)
class EvalContext:
    """What `evaluate_image` needs besides the image: suite, categories, settings, harmonisations."""

    suite: Suite
    categories: CategorySet
    settings: SuiteSettings
    harmonisations: Mapping[str, Any] = field(default_factory=dict)  # name -> ovbench.taxonomy.Harmonisation
    extra_evaluators: Sequence[Any] = ()  # callables(ctx, predictions, result) for add-on evaluations
    diagnostics: Mapping[str, Any] = field(default_factory=dict)  # name -> ovbench.diagnostics.Diagnostic instance


SEMANTIC_INFERENCE = "semantic_inference"  # key of the semantic-inference mIoU counts in ImageResult.semantic


def semantic_inference_stats(ctx: ImageContext, cats: CategorySet) -> Any:
    """Confusion counts of Mask2Former's semantic inference (all candidates) against the GT's
    semantic view (segment categories; VOID ignored)."""
    from ..metrics.semantic import SemanticStats

    dense_of_column = np.array([cats.index_of(int(c)) for c in ctx.raw.category_ids], dtype=np.int64)
    pred = dense_of_column[ctx.semantic_labels()]
    seg_class = np.concatenate([[-1], [cats.index_of(s.category_id) for s in ctx.gt.segments]]).astype(np.int64)
    s = SemanticStats.zeros(len(cats))
    s.update_labels(seg_class[ctx.gt_labels], pred)
    return s


def semantic_from_match(m: Any, gt: PanopticMap, pred: PanopticMap, cats: CategorySet) -> Any:
    """The semantic (mIoU) confusion counts of one image, from the match's joint histogram."""
    from ..metrics.semantic import SemanticStats

    s = SemanticStats.zeros(len(cats))
    gt_cat = np.array([cats.index_of(x.category_id) for x in gt.segments], dtype=np.int64)
    pred_cat = np.array([cats.index_of(x.category_id) for x in pred.segments], dtype=np.int64)
    s.update(m.overlaps.joint, gt_cat, pred_cat)
    return s


def evaluate_image(raw: RawOutput, gt: PanopticMap, ectx: EvalContext, *, keep_predictions: Sequence[str] = ()) -> tuple[ImageResult, dict[str, PanopticMap]]:
    """Run every oracle of the suite on one image.

    Returns the per-image statistics and the predictions of the oracles named in
    `keep_predictions` (for overlays).
    """
    cats = ectx.categories
    ctx = ImageContext(raw, gt, cats, ectx.settings)
    what = f"image {raw.image_id!r}"
    t0 = time.perf_counter()
    ctx.prefetch()
    seconds = {"prefetch": time.perf_counter() - t0}
    result = ImageResult(raw.image_id, pq={}, seconds=seconds)
    predictions: dict[str, PanopticMap] = {}
    matches = {}
    for spec in ectx.suite.oracles:
        t = time.perf_counter()
        out = ORACLES.get(spec.oracle)(ctx, **spec.params)
        m = match_image(gt, out.pred, cats, what=f"{what}, oracle {spec.key!r}")
        result.pq[spec.key] = m.stats
        matches[spec.key] = (m, out)
        predictions[spec.key] = out.pred
        seconds[spec.key] = time.perf_counter() - t
    t = time.perf_counter()
    for key in ectx.suite.fn_breakdown:
        m, out = matches[key]
        result.fn[key] = fn_breakdown(m, gt, out.pred, cats)
    if ectx.suite.semantic:
        for key, (m, out) in matches.items():
            result.semantic[key] = semantic_from_match(m, gt, out.pred, cats)
        if ectx.suite.semantic_inference:
            result.semantic[SEMANTIC_INFERENCE] = semantic_inference_stats(ctx, cats)
    seconds["stratify+semantic"] = time.perf_counter() - t
    t = time.perf_counter()
    if ectx.harmonisations:
        from ..taxonomy.harmonise import harmonised_stats_from_joint

        for key in ectx.suite.conflict_oracles:
            m, out = matches[key]
            assert m.overlaps.joint is not None  # compute_overlaps always keeps it
            result.harmonised[key] = {
                name: harmonised_stats_from_joint(m.overlaps.joint, gt, out.pred, h) for name, h in ectx.harmonisations.items()
            }
    seconds["harmonised"] = time.perf_counter() - t
    outputs = {k: mo[1] for k, mo in matches.items()}
    only_matches = {k: mo[0] for k, mo in matches.items()}
    for name, diag in ectx.diagnostics.items():
        t = time.perf_counter()
        result.diagnostics[name] = diag.evaluate(ctx, outputs, only_matches)
        seconds[f"diagnostic:{name}"] = time.perf_counter() - t
    for ev in ectx.extra_evaluators:
        t = time.perf_counter()
        ev(ctx, predictions, result)
        seconds[getattr(ev, "__name__", "extra")] = time.perf_counter() - t
    kept = {k: predictions[k] for k in keep_predictions if k in predictions}
    return result, kept
