"""Class lists: counts, thing/stuff splits and agreement between the graph and the plain loader."""

import pytest

from ovbench.taxonomy import fcclip_seen_ids, load_class_list, load_graph

EXPECTED = {"ade20k_150": (150, 100), "coco_panoptic_133": (133, 80), "cityscapes_19": (19, 8)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_and_thing_stuff_split(name):
    n, things = EXPECTED[name]
    cs = load_graph().classes(name)
    assert len(cs) == n
    assert int(cs.isthing.sum()) == things
    assert len(set(cs.ids.tolist())) == n


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_graph_classes_equal_plain_class_list(name):
    a, b = load_graph().classes(name), load_class_list(name)
    assert a.categories == b.categories  # ids, names, isthing, synonyms, order


def test_name_quirks_and_known_ids():
    g = load_graph()
    ade = g.classes("ade20k_150")
    assert ade.categories[ade.index_of(8)].name == "window "  # trailing space kept (FC-CLIP/Mask2Former)
    assert g.node("ade:82").name == "light" and g.node("coco:130").name == "light"
    assert g.node("cityscapes:24").name == "person" and g.node("cityscapes:24").extra["train_id"] == 11
    coco = g.classes("coco_panoptic_133")
    assert coco.ids.min() == 1 and coco.ids.max() == 200
    assert [c.id for c in g.classes("cityscapes_19")][:3] == [7, 8, 11]  # Cityscapes label ids


def test_fcclip_seen_split_is_64_of_150():
    g = load_graph()
    seen = g.seen_ids(protocol="fcclip_string")
    assert seen == fcclip_seen_ids(load_class_list("ade20k_150"), load_class_list("coco_panoptic_133"))
    assert len(seen) == 64
    assert {57, 82, 36, 92, 142} <= seen  # pillow, light, lamp, apparel, plate (prompt synonyms)
    assert not {22, 39, 43, 85, 87, 134} & seen  # painting, cushion, signboard, chandelier, street lamp, sconce
