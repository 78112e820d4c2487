"""The taxonomy graphs COCO-133 -> every suite target: validity, seen splits (FC-CLIP's string rule
cross-checked by an independent implementation and on hand-checked classes), the policy
conflicts each target must carry, partial coverage and the rule-derived relations."""

from __future__ import annotations

import pytest

from ovbench.data.catalog import DATASETS
from ovbench.errors import TaxonomyError
from ovbench.taxonomy import load_graph
from ovbench.taxonomy.rules import consistent, derived_edges, name_keys, rule_statements, same_name

TARGETS = ["ade20k_150", "cityscapes_19", "mapillary_vistas_65", "ade20k_847", "pascal_ctx_459", "pascal_ctx_59",
           "pascal_voc_20", "pascal_voc_21"]


@pytest.fixture(scope="module")
def g():
    return load_graph()


def test_every_catalog_dataset_has_a_class_list_and_a_mapping(g):
    lists = {DATASETS.get(n).class_list for n in DATASETS.names()}
    assert lists == {*TARGETS, "coco_panoptic_133"}
    for t in TARGETS:
        m = g.mapping(t, "coco_panoptic_133")
        assert m.edges and m.policies


def _fcclip_seen(g, target: str) -> set[int]:
    """FC-CLIP's category_overlapping_mask, written out independently: seen iff the class's
    comma-separated names intersect the set of all COCO names."""
    coco = {s for c in g.classes("coco_panoptic_133") for s in c.synonyms}
    return {c.id for c in g.classes(target) if set(c.synonyms) & coco}


@pytest.mark.parametrize("target", TARGETS)
def test_fcclip_split_matches_an_independent_implementation(g, target):
    assert g.seen_ids(target, protocol="fcclip_string") == _fcclip_seen(g, target)


# (target, class id, FC-CLIP-seen): checked by hand against the prompt names in the YAML files
HAND_CHECKED = [
    ("pascal_voc_21", 0, True),  # background's prompt lists 'pavement' = COCO pavement-merged's only prompt
    ("pascal_voc_21", 14, True),  # motorbike prompts include 'motorcycle'
    ("pascal_voc_20", 20, True),  # tvmonitor prompts include 'tv'
    ("pascal_ctx_59", 3, False),  # bedclothes: no COCO prompt
    ("pascal_ctx_59", 17, True),  # cloth: 'clothes' is in COCO person's prompt
    ("pascal_ctx_59", 37, True),  # plate: in COCO dining table's prompt
    ("pascal_ctx_59", 45, False),  # sign: COCO has only 'stop sign'
    ("mapillary_vistas_65", 46, False),  # Pole
    ("mapillary_vistas_65", 2, True),  # Ground Animal prompts list 'dog'
    ("ade20k_847", 82, False),  # 'light, light source': COCO light is prompted 'lamp, bulb, lamps, bulbs'
    ("ade20k_847", 56, True),  # pillow
    ("ade20k_847", 23, False),  # painting
    ("pascal_ctx_459", 355, False),  # 'signal light'
    ("cityscapes_19", 22, True),  # terrain prompts list 'sand'
]


@pytest.mark.parametrize(("target", "cid", "seen"), HAND_CHECKED)
def test_fcclip_split_on_hand_checked_classes(g, target, cid, seen):
    assert (cid in g.seen_ids(target, protocol="fcclip_string")) is seen


def test_graph_protocols_are_nested(g):
    for t in TARGETS:
        same, covered, any_ = (g.seen_ids(t, protocol=p) for p in ("graph_same", "graph_covered", "graph_any"))
        assert same <= covered <= any_
        assert not (any_ & g.unlabeled_ids(t)) and not (any_ & g.unmapped_ids(t))


def test_voc_background(g):
    # VOC-21: background is a class every non-VOC COCO class falls into; VOC-20 has no background
    assert g.source_relation(0, "pascal_voc_21") == "broader"
    assert g.thing_stuff_mismatch_ids("pascal_voc_21") == frozenset()
    assert 0 not in {n.id for n in g.nodes("pascal_voc_20")}
    assert {"voc21-background", "voc21-background-prompt"} <= {p.id for p in g.policies("pascal_voc_21")}
    assert "voc20-background-ignored" in {p.id for p in g.policies("pascal_voc_20")}
    assert g.seen_ids("pascal_voc_20", protocol="graph_same") == frozenset(range(1, 21))


def _policy_nodes(g, target):
    return {p.id: set(p.nodes) for p in g.policies(target)}


def test_policy_conflicts_per_target(g):
    pc = _policy_nodes(g, "pascal_ctx_59")
    assert {"pc59:3", "coco:65"} <= pc["pc59-bedclothes"] and "pc59:45" in pc["pc59-sign"] and "pc59:32" in pc["pc59-light"]
    mv = _policy_nodes(g, "mapillary_vistas_65")
    assert {"mapillary:24", "mapillary:25", "coco:149"} <= mv["mv-road"]  # fine-grained road markings
    a = _policy_nodes(g, "ade20k_847")
    assert {"ade847:194", "coco:184"} <= a["a847-parts"]  # tree trunk vs COCO tree-merged
    cs = _policy_nodes(g, "cityscapes_19")
    assert {"cityscapes:21", "cityscapes:22", "coco:184", "coco:193"} <= cs["cs-vegetation-terrain"]
    p459 = _policy_nodes(g, "pascal_ctx_459")
    assert {"pc459-bedclothes", "pc459-sign", "pc459-light"} <= set(p459)
    for t in TARGETS:  # every target names its thing/stuff conflicts
        kinds = {p.kind for p in g.policies(t)}
        assert "thing_stuff" in kinds, t


def test_partial_coverage_is_explicit(g):
    for t in ("ade20k_847", "pascal_ctx_459"):
        m = g.mapping(t)
        assert m.coverage == "partial" and "Rule-derived" in m.coverage_note
        unmapped = g.unmapped_ids(t)
        assert unmapped and all(g.source_relation(i, t) == "unmapped" for i in list(unmapped)[:20])
    for t in ("pascal_ctx_59", "mapillary_vistas_65", "pascal_voc_21", "cityscapes_19"):
        assert g.mapping(t).coverage == "complete" and not g.unmapped_ids(t)


@pytest.mark.parametrize(("target", "sibling"), [("ade20k_847", "ade20k_150"), ("pascal_ctx_459", "pascal_ctx_59")])
def test_rule_block_is_what_the_rules_derive(g, target, sibling):
    m = g.mapping(target)
    edges, marks = derived_edges(g, target, sibling)
    assert rule_statements(m.edges) == rule_statements(edges)
    assert {u.node for u in m.unlabeled if u.note.startswith("rule:")} == {u["node"] for u in marks}
    # inherited relations keep the sibling's relation: A-847 painting is unlabeled like ADE-150 painting
    if target == "ade20k_847":
        assert g.source_relation(23, "ade20k_847") == "unlabeled_in_source" == g.source_relation(22, "ade20k_150")
        assert g.source_relation(11, "ade20k_847") == g.source_relation(12, "ade20k_150") == "same"  # person


def test_name_keys_and_same_name_rule(g):
    coco = g.dataset("coco_panoptic_133")
    a847 = g.dataset("ade20k_847")
    assert name_keys(g.node("ade847:11")) == ("person",)
    assert name_keys(g.node("ade847:13"))[0] == "windowpane"
    got = {(e["src"], e["dst"]) for e in same_name(a847, coco)}
    assert ("coco:1", "ade847:11") in got  # person
    assert not any(e[0] == "coco:184" for e in got)  # tree-merged never matches 'tree' by name
    # 'pot' names two A-847 classes (pot, flowerpot / pot): ambiguous keys are left to curation
    pots = [n.key for n in a847.nodes if name_keys(n)[0] == "pot"]
    assert len(pots) == 2 and not any(d in pots for _, d in got)


def test_consistent_drops_contradicting_rule_edges(g):
    def ds(key):
        return key.split(":")[0]

    cand = [{"src": "coco:1", "rel": "same", "dst": "t:2"}, {"src": "coco:1", "rel": "same", "dst": "t:3"},
            {"src": "coco:5", "rel": "broader", "dst": "t:4"}, {"src": "coco:5", "rel": "same", "dst": "t:5"},
            {"src": "coco:1", "rel": "overlaps", "dst": "t:2"}]
    kept = consistent(cand, [("coco:9", "same", "t:9")], ds)
    assert [(c["src"], c["dst"]) for c in kept] == [("coco:1", "t:2"), ("coco:5", "t:4")]


def test_partial_coverage_needs_a_note(tmp_path):
    toy = """schema: ovbench-classes/1
name: toy_2
prefix: toy
classes:
  - {id: 1, name: person, isthing: true, synonyms: [person]}
  - {id: 2, name: gizmo, isthing: false}
"""
    m = """schema: ovbench-taxonomy/1
source: coco_panoptic_133
target: toy_2
sources: {j: {title: judgement}}
edges:
  - {src: coco:1, rel: same, dst: toy:1, confidence: low, evidence: [{source: j, ref: "-", detail: x}]}
"""
    (tmp_path / "toy_2.yaml").write_text(toy)
    (tmp_path / "coco133__toy2.yaml").write_text(m)
    with pytest.raises(TaxonomyError, match="1 toy_2 class\\(es\\) have no edge to coco_panoptic_133"):
        load_graph([tmp_path])
    (tmp_path / "coco133__toy2.yaml").write_text(m + "coverage: {mode: partial}\n")
    with pytest.raises(TaxonomyError, match="partial mapping needs a 'note'"):
        load_graph([tmp_path])
    (tmp_path / "coco133__toy2.yaml").write_text(m + "coverage: {mode: partial, note: only persons are curated}\n")
    t = load_graph([tmp_path])
    assert t.source_relation(2, "toy_2") == "unmapped" and t.unmapped_ids("toy_2") == {2}
    assert t.seen_ids("toy_2", protocol="graph_any") == {1}
    import json

    from ovbench.taxonomy import export_json, graph_from_bundle

    assert graph_from_bundle(json.loads(export_json(t))).mapping("toy_2").coverage == "partial"


def test_cli_seen_accepts_dataset_names(capsys):
    from ovbench.cli import main

    assert main(["taxonomy", "seen", "--target", "pascal_voc_20_sem_seg_val", "--protocol", "fcclip_string"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == "id,name,isthing,source_relation,conflict,fcclip_string"
    assert len(out.out.splitlines()) == 21 and "pascal_voc_20 vs coco_panoptic_133: fcclip_string: 20 seen / 0 unseen" in out.err
    assert main(["taxonomy", "seen", "--target", "ade20k_847", "--protocol", "graph_same"]) == 0
    assert "classes unmapped: coverage partial" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["pc59:3", "mapillary:46", "voc21:0", "ade847:194", "pc459:355"])
def test_cli_show_answers_for_any_target_class(capsys, key):
    from ovbench.cli import main

    assert main(["taxonomy", "show", key]) == 0
    out = capsys.readouterr().out
    assert out.startswith(key) and "vs coco_panoptic_133:" in out


def test_cli_show_restricted_to_one_target(capsys):
    from ovbench.cli import main

    assert main(["taxonomy", "show", "light", "--target", "pascal_ctx_59_sem_seg_val"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pc59:32  'light'") and "pc59-light" in out and "ade:82" not in out
    assert main(["taxonomy", "show", "bedclothes", "--target", "nope"]) != 0
    assert "unknown taxonomy 'nope'" in capsys.readouterr().err


def test_a847_pillow_cushion_harmonisation_merges_regions(g):
    import numpy as np

    from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
    from ovbench.taxonomy import harmonise_map

    h = g.harmonisations("ade20k_847")["pillow_cushion"]
    assert h.label_map[40] == h.label_map[56] == 56 and h.label_map[0] == 0
    ids = np.array([[1, 1, 57], [41, 41, 57]], dtype=np.int32)  # wall, pillow (56 + 1), cushion (40 + 1) regions
    pm = PanopticMap(ids, (SegmentInfo(1, 0, False, 2), SegmentInfo(57, 56, False, 2), SegmentInfo(41, 40, False, 2)))
    out = harmonise_map(pm, h, g.classes("ade20k_847"))
    by_cat = {s.category_id: s.area for s in out.segments}
    assert by_cat == {0: 2, 56: 4}  # one stuff region for pillow + cushion, areas summed
    assert g.harmonisations("pascal_ctx_459")["bed_bedclothes"].label_map[18] == 17  # bedclothes -> bed
