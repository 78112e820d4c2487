"""A deterministic proposal simulator that mimics a COCO-trained mask transformer.

**It exists for tests and the demo only: it reads the ground truth, which a real adapter must
never do.** Numbers it produces say nothing about any real model.

For each image it emits N candidate masks at 1/4 of a detectron2-style padded input frame
(ResizeShortestEdge 800 / max 1333, padding to a multiple of 32) and [N, C+1] posteriors,
driven by the GT and by the taxonomy graph's relation of each target class to COCO:

* a good candidate (perturbed GT mask) exists with a probability that depends on the relation
  (``same`` high; ``part_of`` low: such parts are usually merged into the parent's mask; ...);
* its no-object probability carries a bias on classes COCO never annotates
  (``unlabeled_in_source``) or annotates as part of another class (``part_of``), so valid masks
  are discarded at inference, the paper's Finding 3;
* classification is noisier on unseen classes and confuses taxonomy-related classes;
* lower-quality duplicates, merged masks, distractor blobs and empty junk queries fill the rest.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter

from ovbench.data.categories import CategorySet
from ovbench.data.dataset import Sample
from ovbench.inference.geometry import detectron2_geometry
from ovbench.inference.mask2former import InferenceConfig
from ovbench.oracles.matching import grid_points
from ovbench.raw.record import RawOutput

from ..base import Adapter, AdapterInfo


@dataclass(frozen=True)
class RelationProfile:
    """How the simulated model treats target classes with a given relation to COCO."""

    p_good: float  # a good candidate exists
    void: float  # mean no-object probability of the good candidate
    p_merge: float  # the segment is swallowed by a neighbour's mask instead


PROFILES = {
    "same": RelationProfile(0.93, 0.12, 0.03),
    "broader": RelationProfile(0.85, 0.30, 0.08),
    "narrower": RelationProfile(0.85, 0.30, 0.08),
    "overlaps": RelationProfile(0.80, 0.35, 0.10),
    "part_of": RelationProfile(0.55, 0.70, 0.45),
    "unlabeled_in_source": RelationProfile(0.65, 0.75, 0.20),
}


class SimulatedAdapter(Adapter):
    """``--adapter simulated [--adapter-arg seed=0 num_queries=250 ...]`` (tests and demo only)."""

    parallel_safe = True

    def __init__(self, seed: int | str = 0, num_queries: int | str = 250, mask_stride: int | str = 4, test_short: int | str = 800,
                 test_max: int | str = 1333, object_mask_threshold: float | str = 0.0, overlap_threshold: float | str = 0.8) -> None:
        self.seed = int(seed)
        self.num_queries = int(num_queries)
        self.mask_stride = int(mask_stride)
        self.test_short, self.test_max = int(test_short), int(test_max)
        self.inference = InferenceConfig(float(object_mask_threshold), float(overlap_threshold), 1e-8)
        self.categories: CategorySet | None = None

    @property
    def info(self) -> AdapterInfo:
        return AdapterInfo(
            name="simulated", version="1", kind="simulated", num_queries=self.num_queries, inference=self.inference,
            display_name="Simulated COCO-trained mask transformer", training_data="coco_panoptic_train2017",
            backbone="none (simulator)",
            notes="Deterministic proposal simulator driven by the ground truth and the taxonomy graph; for tests and the demo only.",
            extra={"seed": self.seed},
        )

    def setup(self, categories: CategorySet) -> None:
        from ovbench.runner.views import resolve_views

        self.categories = categories
        views = resolve_views(categories, "coco_panoptic_133", "fcclip_string", harmonise=False)
        C = len(categories)
        ids = categories.ids
        seen = views.seen_mask(categories)
        self.seen: np.ndarray = seen if seen is not None else np.ones(C, dtype=bool)
        self.relation = ["same"] * C
        self.confusers: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * C
        g = views.graph
        self.part_of = np.zeros(C, dtype=bool)
        if g is not None and views.target is not None and views.target != views.source and views.has_mapping:
            self.relation = [g.source_relation(int(i), target=views.target, source=views.source) for i in ids]
            self.confusers, self.part_of = _related_classes(g, views.target, views.source, categories)

    # ------------------------------------------------------------------------------------------
    def predict(self, sample: Sample) -> RawOutput:
        assert self.categories is not None, "call setup() first"
        cats = self.categories
        C, N = len(cats), self.num_queries
        rng = np.random.default_rng([self.seed, zlib.crc32(sample.image_id.encode())])
        H, W = sample.gt.shape
        geo = detectron2_geometry(H, W, self.test_short, self.test_max)
        hm, wm = geo.padded_size[0] // self.mask_stride, geo.padded_size[1] // self.mask_stride
        rows, cols, orow, ocol = grid_points((hm, wm), geo, 0)
        valid = (orow[:, None] >= 0) & (ocol[None, :] >= 0)
        lab = np.where(valid, sample.gt.ids[np.clip(orow, 0, None)[:, None], np.clip(ocol, 0, None)[None, :]], 0)

        logits = np.empty((N, hm, wm), dtype=np.float32)
        logits[:] = rng.normal(-8.0, 0.5, size=(N, 1, 1)).astype(np.float32)  # empty junk queries
        cls_logits = rng.normal(0, 0.6, size=(N, C)).astype(np.float32)
        # empty queries lean towards frequent classes (ADE20K lists its classes by frequency)
        cls_logits[np.arange(N), rng.integers(0, min(C, 20), size=N)] += 3.0
        void = np.clip(rng.normal(0.97, 0.02, size=N), 0.5, 0.999)
        q = 0

        def soft(mask: np.ndarray, shift: tuple[int, int], size: int) -> np.ndarray:
            m = np.roll(mask.astype(np.float32), shift, axis=(0, 1))
            return uniform_filter(m, size=size) if size > 1 else m

        def put(mask_soft: np.ndarray, cls: int, v: float, boost: float) -> None:
            nonlocal q
            if q >= N:
                return
            logits[q] = 10.0 * (mask_soft - 0.5) + rng.normal(0, 0.3)
            cls_logits[q, cls] += boost
            conf = self.confusers[cls]
            if len(conf):
                cls_logits[q, conf] += boost * rng.uniform(0.2, 0.75, size=len(conf))
            void[q] = float(np.clip(v, 0.01, 0.99))
            q += 1

        segs = [s for s in sample.gt.segments if not s.iscrowd]
        for j in rng.permutation(len(segs)):
            s = segs[j]
            mask = lab == s.id
            if not mask.any():
                continue
            k = cats.index_of(s.category_id)
            prof = PROFILES.get(self.relation[k], PROFILES["same"])
            p_merge = max(prof.p_merge, PROFILES["part_of"].p_merge if self.part_of[k] else 0.0)
            boost = rng.normal(6.0 if self.seen[k] else 4.5, 1.2)
            if rng.random() < p_merge:  # swallowed by a neighbour's mask (a part of its parent)
                neighbour = self._neighbour(lab, mask, sample)
                if neighbour is not None:
                    nk = cats.index_of(neighbour[1])
                    put(soft(mask | (lab == neighbour[0]), (0, 0), 3), nk, rng.normal(0.15, 0.1), boost)
            if rng.random() < prof.p_good:
                v = rng.normal(prof.void, 0.15)
                put(soft(mask, (int(rng.integers(-1, 2)), int(rng.integers(-1, 2))), 3), k, v, boost)
                if rng.random() < 0.6:  # a worse duplicate that the model often prefers
                    put(soft(mask, (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), 7), k, v - rng.normal(0.3, 0.1), boost * 0.8)
            else:  # only a partial mask of the segment (IoU ~0.55-0.8), mostly classified as no-object
                ys, xs = np.nonzero(mask)
                cut = rng.uniform(0.55, 0.8)
                if rng.random() < 0.5:
                    part = mask & (np.arange(mask.shape[0])[:, None] <= np.quantile(ys, cut))
                else:
                    part = mask & (np.arange(mask.shape[1])[None, :] <= np.quantile(xs, cut))
                put(soft(part, (0, 0), 3), k, rng.normal(0.85, 0.1), boost)
        for _ in range(int(rng.integers(5, 15))):  # distractor blobs
            cy, cx = rng.integers(0, hm), rng.integers(0, wm)
            ry, rx = rng.integers(3, max(4, hm // 5)), rng.integers(3, max(4, wm // 5))
            yy, xx = np.ogrid[:hm, :wm]
            blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
            put(soft(blob, (0, 0), 3), int(rng.integers(0, C)), rng.normal(0.75, 0.15), rng.normal(2.0, 1.0))

        z = cls_logits - cls_logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        probs = np.concatenate([p * (1.0 - void)[:, None], void[:, None]], axis=1).astype(np.float32)
        perm = rng.permutation(N)  # queries are not ordered by segment in a real model
        return RawOutput(sample.image_id, logits[perm], probs[perm], cats.ids.astype(np.int64), geo)

    @staticmethod
    def _neighbour(lab: np.ndarray, mask: np.ndarray, sample: Sample) -> tuple[int, int] | None:
        """The segment (id, category) sharing the longest border with `mask`, if any."""
        ring = uniform_filter(mask.astype(np.float32), size=3) > 0
        ring &= ~mask
        ids, counts = np.unique(lab[ring], return_counts=True)
        keep = ids != 0
        if not keep.any():
            return None
        best = int(ids[keep][np.argmax(counts[keep])])
        cat = {s.id: s.category_id for s in sample.gt.segments}.get(best)
        return None if cat is None else (best, cat)


def _related_classes(g, target: str, source: str, categories: CategorySet) -> tuple[list[np.ndarray], np.ndarray]:  # type: ignore[no-untyped-def]
    """For each target class: the target classes a COCO-trained model confuses it with (those
    sharing a source partner, or related inside the target taxonomy), and whether the source
    annotates it as part of another class (``part_of``)."""
    index = {int(c.id): k for k, c in enumerate(categories)}
    partners: list[set[str]] = []
    near: list[set[int]] = []
    part_of = np.zeros(len(categories), dtype=bool)
    for c in categories:
        node = g.node_by_id(target, int(c.id))
        ps, nb = set(), set()
        for e in g.relations(node.key):
            other = e.dst
            if g.node(other).dataset == source:
                ps.add(other)
                part_of[index[int(c.id)]] |= e.rel == "part_of"
            elif e.scope == "intra":
                nb.add(int(other.split(":")[1]))
        partners.append(ps)
        near.append(nb)
    out = []
    for k in range(len(categories)):
        conf = {j for j in range(len(categories)) if j != k and partners[k] & partners[j]}
        conf |= {index[i] for i in near[k] if i in index}
        out.append(np.array(sorted(conf), dtype=np.int64))
    return out, part_of
