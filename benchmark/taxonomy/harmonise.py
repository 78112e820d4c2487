"""Harmonised evaluation taxonomies: merge target classes before matching.

A :class:`Harmonisation` maps every target class id to a harmonised id (the id of the group's
``into`` member; classes outside any group keep their id) and carries the harmonised
:class:`CategorySet`. :func:`harmonise_map` applies it to a ground-truth or predicted
:class:`PanopticMap`, with panoptic semantics:

* thing/stuff: a harmonised class is a thing if its group says so (default: all members are
  things). Segments of a harmonised *stuff* class are merged into one segment per image (as
  panoptic stuff is: one segment per class), so e.g. painting instances merged into wall become
  part of the single wall segment. Segments of a harmonised *thing* class stay separate instances.
* areas: the merged segment's area is the sum of the member segments' areas (ground truth keeps
  the JSON areas, as panopticapi does; predicted areas are recounted by the matcher anyway).
* crowd: crowd segments never merge with non-crowd ones; crowd segments of one harmonised class
  (thing or stuff) are united into one crowd region, since panopticapi keeps one crowd region
  per class.
* void: VOID pixels (id 0) stay VOID; harmonisation never creates or removes void.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..data.categories import Category, CategorySet
from ..data.panoptic_format import PanopticMap, SegmentInfo
from ..errors import PredictionError, TaxonomyError
from ..metrics.accumulator import PQStats
from ..metrics.matching import match_image
from .model import CONFIDENCE, GroupSpec, HarmonisationSpec

if TYPE_CHECKING:  # pragma: no cover
    from .graph import TaxonomyGraph


@dataclass(frozen=True)
class Harmonisation:
    """A harmonised evaluation taxonomy.

    label_map:  target category id -> harmonised category id (every target class is a key).
    categories: the harmonised classes (merged classes named after their group), with isthing.
    groups:     harmonised id -> target ids merged into it (merged classes only).
    """

    name: str
    description: str
    label_map: Mapping[int, int]
    categories: CategorySet
    groups: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    target: str = ""
    source: str = ""
    policies: tuple[str, ...] = ()

    def merged_ids(self) -> frozenset[int]:
        """Target ids that share their harmonised class with another target class."""
        return frozenset(i for ms in self.groups.values() for i in ms)


def _derive_groups(g: TaxonomyGraph, spec: HarmonisationSpec) -> list[GroupSpec]:
    rule = spec.derive.get("rule")
    if rule != "merge_narrower_than_source":  # pragma: no cover - rejected when parsing
        raise TaxonomyError(f"harmonisation {spec.name!r}: unknown derive rule {rule!r}")
    max_rank = CONFIDENCE.index(spec.derive.get("min_confidence", "low"))
    parent_of: dict[str, list[str]] = {}
    for n in g.dataset(spec.target).nodes:
        for e in g.relations(n.key):
            if e.scope == "cross" and e.rel == "narrower" and CONFIDENCE.index(e.confidence) <= max_rank:
                if g.node(e.dst).dataset == spec.source:
                    parent_of.setdefault(e.dst, []).append(n.key)
    uf: dict[str, str] = {}

    def find(x: str) -> str:
        uf.setdefault(x, x)
        while uf[x] != x:
            uf[x] = uf[uf[x]]
            x = uf[x]
        return x

    for kids in parent_of.values():
        for k in kids[1:]:
            uf[find(k)] = find(kids[0])
    comps: dict[str, list[str]] = {}
    for kids in parent_of.values():
        for k in kids:
            comps.setdefault(find(k), [])
            if k not in comps[find(k)]:
                comps[find(k)].append(k)
    order = {n.key: i for i, n in enumerate(g.dataset(spec.target).nodes)}
    groups = []
    for members in comps.values():
        if len(members) < 2:
            continue
        members.sort(key=order.__getitem__)
        parents = sorted({p for p, kids in parent_of.items() if set(kids) & set(members)}, key=lambda k: g.node(k).id)
        name = "|".join(g.node(p).name.strip() for p in parents)
        groups.append(GroupSpec(name=f"{name} ({g.dataset(spec.source).prefix})", into=members[0], members=tuple(members)))
    return groups


def build_harmonisation(g: TaxonomyGraph, spec: HarmonisationSpec) -> Harmonisation:
    """Resolve a :class:`HarmonisationSpec` (explicit or derived groups) against the graph."""
    groups = list(spec.groups) + (_derive_groups(g, spec) if spec.derive else [])
    nodes = {n.key: n for n in g.dataset(spec.target).nodes}
    label_map = {n.id: n.id for n in nodes.values()}
    merged: dict[int, tuple[int, ...]] = {}
    group_of_into: dict[int, GroupSpec] = {}
    for gr in groups:
        into = nodes[gr.into].id
        for k in gr.members:
            if label_map[nodes[k].id] != nodes[k].id:
                raise TaxonomyError(f"harmonisation {spec.name!r}: {k} is in two groups")
            label_map[nodes[k].id] = into
        merged[into] = tuple(nodes[k].id for k in gr.members)
        group_of_into[into] = gr
    cats = []
    for n in nodes.values():
        if label_map[n.id] != n.id:
            continue
        found = group_of_into.get(n.id)
        if found is None:
            cats.append(Category(n.id, n.name, n.isthing, n.synonyms))
            continue
        members = [nodes[k] for k in found.members]
        isthing = found.isthing if found.isthing is not None else all(m.isthing for m in members)
        syn = tuple(dict.fromkeys(s for m in members for s in (m.synonyms or (m.name,))))
        cats.append(Category(n.id, found.name, isthing, syn))
    return Harmonisation(
        name=spec.name,
        description=spec.description,
        label_map=label_map,
        categories=CategorySet(tuple(cats)),
        groups=merged,
        target=spec.target,
        source=spec.source,
        policies=tuple(dict.fromkeys(gr.policy for gr in groups if gr.policy)),
    )


def _relabel(ids: np.ndarray, remap: Mapping[int, int]) -> np.ndarray:
    src = np.fromiter(remap.keys(), dtype=np.int64, count=len(remap))
    dst = np.fromiter(remap.values(), dtype=np.int64, count=len(remap))
    order = np.argsort(src)
    src, dst = src[order], dst[order]
    flat = ids.reshape(-1).astype(np.int64, copy=False)
    pos = np.minimum(np.searchsorted(src, flat), len(src) - 1)
    hit = src[pos] == flat
    return np.where(hit, dst[pos], flat).astype(np.int32).reshape(ids.shape)


def harmonise_map(pm: PanopticMap, h: Harmonisation, target_categories: CategorySet | None = None) -> PanopticMap:
    """Remap a panoptic map's segment categories through ``h`` (see the module docstring for the
    thing/stuff, area, crowd and void rules). ``target_categories``, when given, is checked to
    hold every segment's category."""
    if target_categories is not None:
        for seg in pm.segments:
            if seg.category_id not in target_categories:
                raise PredictionError(f"segment {seg.id}: category {seg.category_id} is not a {h.target or 'target'} class")
    index, groups = _groups(pm.segments, h)
    first: dict[int, int] = {}  # group -> position of its first segment in the output
    out: list[SegmentInfo] = []
    remap: dict[int, int] = {}
    for seg, g in zip(pm.segments, index.tolist()):
        c, crowd = groups[g]
        if g in first:
            t = out[first[g]]
            out[first[g]] = SegmentInfo(t.id, c, crowd, t.area + seg.area)
            remap[seg.id] = t.id
            continue
        first[g] = len(out)
        out.append(SegmentInfo(seg.id, c, crowd, seg.area))
    ids = _relabel(pm.ids, remap) if remap else pm.ids
    return PanopticMap(ids, tuple(out))


def harmonised_match(gt: PanopticMap, pred: PanopticMap, h: Harmonisation, target_categories: CategorySet | None = None, *, what: str = "image") -> PQStats:
    """Per-image PQ statistics over ``h.categories`` after harmonising both maps
    (matching: :func:`ovbench.metrics.matching.match_image`)."""
    return match_image(harmonise_map(gt, h, target_categories), harmonise_map(pred, h, target_categories), h.categories, what=what).stats


def _groups(segments: tuple[SegmentInfo, ...], h: Harmonisation) -> tuple[np.ndarray, list[tuple[int, bool]]]:
    """Group index of each segment under ``h`` (harmonise_map's merge rule) and, per group,
    (harmonised category id, iscrowd). Groups are numbered in order of first appearance."""
    stuff = {c.id for c in h.categories if not c.isthing}
    index = np.empty(len(segments), dtype=np.int64)
    slot: dict[tuple[int, bool], int] = {}
    groups: list[tuple[int, bool]] = []
    for i, s in enumerate(segments):
        try:
            c = int(h.label_map[s.category_id])
        except KeyError:
            raise PredictionError(f"segment {s.id}: category {s.category_id} is not in harmonisation {h.name!r}") from None
        key = (c, bool(s.iscrowd))
        if (s.iscrowd or c in stuff) and key in slot:
            index[i] = slot[key]
            continue
        if s.iscrowd or c in stuff:
            slot[key] = len(groups)
        index[i] = len(groups)
        groups.append(key)
    return index, groups


def harmonised_stats_from_joint(joint: np.ndarray, gt: PanopticMap, pred: PanopticMap, h: Harmonisation) -> PQStats:
    """:func:`harmonised_match` without another pass over the pixels: merging segments merges rows
    and columns of the image's [G+1, P+1] joint histogram (row/column 0 = VOID), so the
    harmonised matching is computed from the histogram of the original match. Equal to
    ``harmonised_match(gt, pred, h)`` (tested)."""
    from ..metrics.matching import match_overlaps, overlaps_from_joint, stats_from_match

    gi, g_groups = _groups(gt.segments, h)
    pi, p_groups = _groups(pred.segments, h)
    G2, P2 = len(g_groups), len(p_groups)
    rows = np.concatenate([[0], gi + 1])
    cols = np.concatenate([[0], pi + 1])
    merged = np.zeros((G2 + 1, P2 + 1), dtype=np.int64)
    np.add.at(merged, (rows[:, None], cols[None, :]), joint)
    gt_area = np.zeros(G2, dtype=np.int64)
    np.add.at(gt_area, gi, np.array([s.area for s in gt.segments], dtype=np.int64))
    cats = h.categories
    gt_cat = np.array([cats.index_of(c) for c, _ in g_groups], dtype=np.int64)
    gt_crowd = np.array([crowd for _, crowd in g_groups], dtype=bool)
    pred_cat = np.array([cats.index_of(c) for c, _ in p_groups], dtype=np.int64)
    sm = match_overlaps(overlaps_from_joint(merged, gt_area), gt_cat, gt_crowd, pred_cat, len(cats))
    return stats_from_match(sm, gt_cat, pred_cat, len(cats))
