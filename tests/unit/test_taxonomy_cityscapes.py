"""A third (and fourth) taxonomy is data only: one class list + one mapping file, no code change."""

import shutil

from ovbench.taxonomy import load_graph
from ovbench.taxonomy.classes import load_class_list, taxonomy_dir


def test_cityscapes_loads_generically():
    g = load_graph([taxonomy_dir() / "cityscapes_19.yaml", taxonomy_dir() / "coco133__cityscapes19.yaml"])
    assert set(g.datasets()) == {"cityscapes_19", "coco_panoptic_133"}  # COCO's list comes from the shipped folder
    cs = g.classes("cityscapes_19")
    assert len(cs) == 19 and int(cs.isthing.sum()) == 8
    assert cs.categories == load_class_list("cityscapes_19").categories
    assert g.source_relation(25, "cityscapes_19") == "narrower"  # rider inside COCO person
    assert g.seen_ids("cityscapes_19", protocol="graph_same") == {7, 19, 23, 26, 27, 28, 31, 32, 33}
    h = g.harmonisations("cityscapes_19")["person_rider"]
    assert h.label_map[25] == 24 and len(h.categories) == 18


TOY = """\
schema: ovbench-classes/1
name: toy_street_4
prefix: toy
classes:
  - {id: 1, name: person, isthing: true, synonyms: [person, pedestrian]}
  - {id: 2, name: cyclist, isthing: true}
  - {id: 3, name: road, isthing: false}
  - {id: 4, name: bollard, isthing: true}
"""
TOY_MAP = """\
schema: ovbench-taxonomy/1
source: cityscapes_19
target: toy_street_4
sources:
  judgement: {title: "test fixture"}
edges:
  - {src: cityscapes:24, rel: same, dst: toy:1, confidence: high, evidence: [{source: judgement, ref: "-", detail: "walking humans"}]}
  - {src: cityscapes:25, rel: same, dst: toy:2, confidence: medium, evidence: [{source: judgement, ref: "-", detail: "riders"}]}
  - {src: cityscapes:7, rel: broader, dst: toy:3, confidence: low, evidence: [{source: judgement, ref: "-", detail: "road"}]}
unlabeled_in_source:
  - {node: toy:4, confidence: low, evidence: [{source: judgement, ref: "-", detail: "bollards are void"}]}
policies:
  - {id: toy-rider, kind: granularity_split, summary: "riders", nodes: [cityscapes:24, cityscapes:25, toy:1, toy:2], evidence: [{source: judgement, ref: "-", detail: "x"}]}
harmonisations:
  - name: humans
    description: one human class
    groups:
      - {name: human, into: toy:1, members: [toy:1, toy:2], policy: toy-rider}
"""


def test_a_fourth_taxonomy_needs_no_code(tmp_path):
    for f in taxonomy_dir().glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "toy_street_4.yaml").write_text(TOY)
    (tmp_path / "cityscapes19__toy4.yaml").write_text(TOY_MAP)
    g = load_graph([tmp_path])
    shipped = load_graph().datasets()
    assert set(g.datasets()) == {*shipped, "toy_street_4"} and ("cityscapes_19", "toy_street_4") in g.mappings()
    assert g.seen_ids("toy_street_4", "cityscapes_19", "graph_same") == {1, 2}
    assert g.seen_ids("toy_street_4", "cityscapes_19", "fcclip_string") == {1, 3}  # person, road by name
    assert g.source_relation(4, "toy_street_4", "cityscapes_19") == "unlabeled_in_source"
    assert g.conflict_ids("toy_street_4", "cityscapes_19") == {1, 2}
    assert g.harmonisations("toy_street_4", "cityscapes_19")["humans"].categories.categories[0].isthing
    p = g.path("toy:2", "coco:1")  # toy cyclist -> Cityscapes rider -> COCO person
    assert [e.dst for e in p] == ["cityscapes:25", "coco:1"]
