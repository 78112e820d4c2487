"""Export round trips: load(export(g)) == g for JSON and GraphML, and equality can fail."""

import json

import networkx as nx
import pytest

from ovbench.errors import TaxonomyError
from ovbench.taxonomy import export_graphml, export_json, graph_from_bundle, load_graph, to_bundle


@pytest.fixture(scope="module")
def g():
    return load_graph()


def test_json_round_trip(tmp_path, g):
    p = tmp_path / "taxonomy.json"
    text = export_json(g, p)
    assert p.read_text() == text == export_json(g)  # deterministic
    back = load_graph([p])
    assert back == g
    assert back.seen_ids(protocol="graph_same") == g.seen_ids(protocol="graph_same")
    assert back.classes("ade20k_150").categories == g.classes("ade20k_150").categories  # order kept
    assert {k: (h.label_map, h.categories) for k, h in back.harmonisations().items()} == {
        k: (h.label_map, h.categories) for k, h in g.harmonisations().items()
    }


def test_graphml_round_trip(tmp_path, g):
    p = tmp_path / "taxonomy.graphml"
    export_graphml(g, p)
    back = load_graph([p])
    assert back == g
    assert [e.sort_key() for e in back.edges()] == [e.sort_key() for e in g.edges()]  # file order kept
    h = nx.read_graphml(p, force_multigraph=True)  # plain GraphML readers see the graph
    # COCO, ADE-150, Cityscapes, Mapillary, ADE-847, Context-459/59, VOC-20/21
    assert h.number_of_nodes() == 133 + 150 + 19 + 65 + 847 + 459 + 59 + 20 + 21
    assert h.number_of_edges() == 2 * len(g.edges())
    assert h.nodes["ade:57"]["name"] == "pillow" and h.nodes["ade:57"]["isthing"] is True
    assert any(d["rel"] == "part_of" and not d["inferred"] for _, _, d in h.edges(data=True))


def test_equality_notices_a_change(g):
    b = to_bundle(g)
    e = next(x for x in b["mappings"][0]["edges"] if x["rel"] == "narrower")
    e["confidence"] = "low" if e["confidence"] != "low" else "high"
    assert graph_from_bundle(b) != g
    b = to_bundle(g)
    b["mappings"][0]["policies"][0]["summary"] += " (edited)"
    assert graph_from_bundle(b) != g
    b = to_bundle(g)
    cl = next(c for c in b["class_lists"] if c["name"] == "ade20k_150")
    cl["classes"][0]["synonyms"] = ["wall"]
    assert graph_from_bundle(b) != g


def test_bundle_is_validated_like_yaml(g):
    b = to_bundle(g)
    b["mappings"][0]["edges"][0]["rel"] = "sideways"
    with pytest.raises(TaxonomyError, match=r"<bundle>#mappings\[0\] \(entry #0\): .*unknown relation 'sideways'"):
        graph_from_bundle(b)
    with pytest.raises(TaxonomyError, match="not an ovbench taxonomy bundle"):
        graph_from_bundle({"schema": "other"})


def test_json_is_plain_data(g):
    b = json.loads(export_json(g))
    assert b["schema"] == "ovbench-taxonomy-bundle/1"
    assert {c["name"] for c in b["class_lists"]} == set(g.datasets())
    assert sum(len(m["edges"]) for m in b["mappings"]) == len(g.edges())
