"""Harmonised evaluation: hand-computed PQ changes, stuff-merge / crowd / void semantics, and the
conflict-aware summary."""

import math

import numpy as np
import pytest

from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.errors import PredictionError
from ovbench.metrics.accumulator import PQStats
from ovbench.metrics.matching import match_image
from ovbench.taxonomy import conflict_aware_summary, harmonise_map, harmonised_match, load_graph

WALL, SKY, PAINTING, LAMP, CUSHION, PILLOW, LIGHT, CHANDELIER = 0, 2, 22, 36, 39, 57, 82, 85


@pytest.fixture(scope="module")
def g():
    return load_graph()


@pytest.fixture(scope="module")
def ade(g):
    return g.classes("ade20k_150")


@pytest.fixture(scope="module")
def hs(g):
    return g.harmonisations()


def pm(ids, segs, recount=True):
    return PanopticMap.from_segments(np.asarray(ids, dtype=np.int32), [SegmentInfo(*s) for s in segs], recount_area=recount)


def pq_of(stats, cats, cid):
    pc = stats.per_class()
    return float(pc["pq"][cats.index_of(cid)])


# ---- image 1: a pillow predicted as cushion; image 2: a painting on a wall, predicted as wall ----
def img_pillow():
    gt = pm([[1, 1], [1, 1]], [(1, PILLOW)])
    pred = pm([[5, 5], [5, 5]], [(5, CUSHION)])
    return gt, pred


def img_painting():
    gt = pm([[1, 1, 1, 1, 1, 1, 2, 2]], [(1, WALL), (2, PAINTING)])
    pred = pm([[9] * 8], [(9, WALL)])
    return gt, pred


def img_sky():
    gt = pm([[3, 3]], [(3, SKY)])
    return gt, pm([[4, 4]], [(4, SKY)])


def test_label_maps_and_categories(hs, ade):
    h = hs["pillow_cushion"]
    assert set(h.label_map) == set(ade.ids.tolist()) and h.label_map[CUSHION] == PILLOW and h.label_map[SKY] == SKY
    assert len(h.categories) == 149 and CUSHION not in h.categories
    merged = h.categories.categories[h.categories.index_of(PILLOW)]
    assert merged.name == "pillow_any" and merged.isthing and set(merged.synonyms) >= {"pillow", "cushion"}
    w = hs["painting_into_wall"]
    assert PAINTING not in w.categories and not w.categories.categories[w.categories.index_of(WALL)].isthing
    assert hs["light_any"].groups == {LIGHT: (LIGHT, LAMP, CHANDELIER, 134, 87)}
    assert len(hs) >= 4 and all(h.description for h in hs.values())


def test_derived_coco_granularity(hs):
    h = hs["coco_granularity"]
    groups = {frozenset(v) for v in h.groups.values()}
    assert frozenset({LIGHT, LAMP, CHANDELIER, 134, 87}) in groups  # COCO light
    assert frozenset({19, 30, 31, 75, 110, 97}) in groups  # COCO chair
    assert all(len(v) >= 2 for v in h.groups.values())
    assert h.categories.categories[h.categories.index_of(LAMP)].name == "light (coco)"


def test_pillow_predicted_as_cushion_becomes_a_tp(hs, ade):
    gt, pred = img_pillow()
    before = match_image(gt, pred, ade).stats
    assert before.fn[ade.index_of(PILLOW)] == 1 and before.fp[ade.index_of(CUSHION)] == 1 and before.tp.sum() == 0
    assert before.compute().pq == 0.0 and before.compute().n == 2
    h = hs["pillow_cushion"]
    after = harmonised_match(gt, pred, h, ade)
    assert after.tp[h.categories.index_of(PILLOW)] == 1 and after.fp.sum() == 0 and after.fn.sum() == 0
    assert after.compute().pq == 1.0  # FN + FP before, TP after: PQ 0 -> 1


def test_painting_merged_into_wall(hs, ade):
    gt, pred = img_painting()
    before = match_image(gt, pred, ade).stats
    # wall: IoU 6/8 = 0.75 (TP); painting: FN -> mean over the two classes 0.375
    assert pq_of(before, ade, WALL) == 0.75 and pq_of(before, ade, PAINTING) == 0.0
    assert before.compute().pq == 0.375
    after = harmonised_match(gt, pred, hs["painting_into_wall"], ade)
    assert after.compute().pq == 1.0 and after.compute().n == 1  # +0.625


def test_lamp_and_chandelier_instances_under_light_any(hs, ade):
    gt = pm([[1, 1, 2, 2]], [(1, LAMP), (2, CHANDELIER)])
    pred = pm([[7, 7, 8, 8]], [(7, LAMP), (8, LAMP)])
    before = match_image(gt, pred, ade).stats
    assert math.isclose(pq_of(before, ade, LAMP), 2 / 3) and pq_of(before, ade, CHANDELIER) == 0.0
    assert math.isclose(before.compute().pq, 1 / 3)
    h = hs["light_any"]
    after = harmonised_match(gt, pred, h, ade)
    assert after.tp[h.categories.index_of(LIGHT)] == 2 and after.compute().pq == 1.0  # instances kept


def test_stuff_merge_sums_gt_areas_and_keeps_crowd_and_void(hs):
    # JSON areas differ from pixel counts on purpose: GT areas are summed from the segments, not recounted
    gt = pm(
        [[1, 1, 2, 3], [4, 4, 0, 5]],
        [(1, WALL, False, 5), (2, PAINTING, False, 1), (3, PAINTING, True, 1), (5, PAINTING, True, 1), (4, PILLOW, False, 2)],
        recount=False,
    )
    out = harmonise_map(gt, hs["painting_into_wall"])
    assert out.ids.tolist() == [[1, 1, 1, 3], [4, 4, 0, 3]]  # VOID pixel stays 0
    assert [(s.id, s.category_id, s.iscrowd, s.area) for s in out.segments] == [(1, WALL, False, 6), (3, WALL, True, 2), (4, PILLOW, False, 2)]


def test_thing_crowds_of_merged_classes_unite(hs):
    gt = pm([[1, 2, 3]], [(1, LAMP, True), (2, CHANDELIER, True), (3, LAMP, False)])
    out = harmonise_map(gt, hs["light_any"])
    assert [(s.id, s.category_id, s.iscrowd, s.area) for s in out.segments] == [(1, LIGHT, True, 2), (3, LIGHT, False, 1)]
    assert out.ids.tolist() == [[1, 1, 3]]


def test_harmonise_map_rejects_unknown_categories(hs, ade):
    with pytest.raises(PredictionError, match="category 999"):
        harmonise_map(pm([[1]], [(1, 999)]), hs["pillow_cushion"])
    with pytest.raises(PredictionError, match="not a ade20k_150 class"):
        harmonise_map(pm([[1]], [(1, 200)]), hs["pillow_cushion"], ade)
    assert harmonise_map(pm([[1]], [(1, SKY)]), hs["pillow_cushion"], ade).segments[0].category_id == SKY


def test_conflict_aware_summary_hand_computed(g, ade, hs):
    imgs = [img_pillow(), img_painting(), img_sky()]
    stats = PQStats.sum([match_image(a, b, ade).stats for a, b in imgs], len(ade))
    h = hs["table5_conflicts"]
    hstats = PQStats.sum([harmonised_match(a, b, h, ade) for a, b in imgs], len(h.categories))
    s = conflict_aware_summary(stats, ade, g, harmonised={"table5_conflicts": hstats})
    assert SKY not in g.conflict_ids() and {WALL, PAINTING, PILLOW, CUSHION} <= g.conflict_ids()
    assert s["groups"]["clean"] == {"pq": 1.0, "sq": 1.0, "rq": 1.0, "n": 1}
    assert s["groups"]["conflict"]["pq"] == pytest.approx((0 + 0 + 0.75 + 0) / 4) and s["groups"]["conflict"]["n"] == 4
    assert s["groups"]["all"]["pq"] == pytest.approx(1.75 / 5)
    assert s["taxonomy_sha256"] == g.sha256() and s["counts"]["conflict"] == len(g.conflict_ids())
    rows = {r["id"]: r for r in s["conflict_classes"]}
    assert rows[PILLOW]["fn"] == 1 and rows[CUSHION]["fp"] == 1 and rows[PAINTING]["source_relation"] == "unlabeled_in_source"
    assert "pillow-bed-vs-cushion" in rows[PILLOW]["policies"] and rows[LIGHT]["pq"] is None  # no segments
    pol = {p["id"]: p for p in s["policies"]}
    assert pol["painting-on-wall"]["pq"] == pytest.approx(0.375)
    hr = s["harmonised"]["table5_conflicts"]
    assert hr["all"]["pq"] == 1.0 and hr["num_classes"] == len(h.categories)
    d = {r["id"]: r for r in hr["deltas"]}
    assert d[CUSHION]["harmonised_id"] == PILLOW and d[CUSHION]["delta"] == pytest.approx(1.0)
    assert d[PAINTING]["harmonised_name"] == "wall" and d[PAINTING]["delta"] == pytest.approx(1.0)
    assert d[WALL]["delta"] == pytest.approx(0.25) and d[LIGHT]["delta"] is None


def test_summary_rejects_mismatched_inputs(g, ade, hs):
    from ovbench.errors import TaxonomyError

    with pytest.raises(TaxonomyError, match="stats hold 3 classes"):
        conflict_aware_summary(PQStats.zeros(3), ade, g)
    with pytest.raises(TaxonomyError, match="unknown harmonisation"):
        conflict_aware_summary(PQStats.zeros(len(ade)), ade, g, harmonised={"nope": PQStats.zeros(1)})
