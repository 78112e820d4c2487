"""VLM oracle: resolution protocols and prompt sets (no torch needed)."""

import pytest

from ovbench.data.categories import Category, CategorySet
from ovbench.errors import ConfigError
from ovbench.vlm.prompts import VILD_TEMPLATES, build_prompt_set, split_name
from ovbench.vlm.protocols import get_protocol, padded_shape


@pytest.mark.parametrize(
    "name, hw, expected",
    [
        ("long512", (512, 683), (384, 512)),  # typical ADE20K landscape
        ("long512", (683, 512), (512, 384)),
        ("long640", (512, 683), (480, 640)),
        ("long640", (100, 100), (640, 640)),
        ("short800", (512, 683), (800, 1067)),  # 683 * 800 / 512 = 1067.19
        ("short800", (683, 512), (1067, 800)),
        ("short800", (300, 1000), (400, 1333)),  # long side capped: 1000 * 800/300 = 2667 > 1333
        ("short800", (1000, 1000), (800, 800)),
        ("long512", (3, 1000), (2, 512)),  # 1.536 -> int(2.036)
    ],
)
def test_resized_shape_follows_detectron2_rounding(name, hw, expected):
    assert get_protocol(name).resized_shape(*hw) == expected


def test_short800_matches_detectron2_formula_on_many_sizes():
    p = get_protocol("short800")
    for h in range(200, 2100, 37):
        for w in range(200, 2100, 53):
            scale = 800 / min(h, w)
            nh, nw = (800, scale * w) if h < w else (scale * h, 800)
            if max(nh, nw) > 1333:
                s2 = 1333 / max(nh, nw)
                nh, nw = nh * s2, nw * s2
            assert p.resized_shape(h, w) == (int(nh + 0.5), int(nw + 0.5))
            assert max(p.resized_shape(h, w)) <= 1333


def test_padding_to_stride_and_square():
    p = get_protocol("long512")
    assert padded_shape((384, 512), 16, p) == (384, 512)
    assert padded_shape((383, 512), 14, p) == (392, 518)
    assert padded_shape((384, 512), 32, p, "square") == (512, 512)
    assert padded_shape((384, 512), 14, p, "square") == (518, 518)
    with pytest.raises(ConfigError):
        padded_shape((800, 1067), 32, get_protocol("short800"), "square")
    with pytest.raises(ConfigError):
        get_protocol("long1024")


def test_vild_templates_verbatim():
    assert len(VILD_TEMPLATES) == 14
    assert VILD_TEMPLATES[0] == "a photo of a {}."
    # FC-CLIP: templates 2-5 have no final period
    assert [t.endswith(".") for t in VILD_TEMPLATES[1:5]] == [False] * 4
    assert all(t.endswith(".") for t in VILD_TEMPLATES[5:])


def _ade_subset(*ids):
    from ovbench.taxonomy import load_class_list

    ade = load_class_list("ade20k_150")
    return CategorySet(tuple(Category(c.id, c.name, c.isthing) for c in ade if c.id in ids))


def test_prompt_modes_names_synonyms_policy():
    cats = _ade_subset(6, 39, 57, 8)  # road, window (trailing-space name), cushion, pillow
    names = build_prompt_set(cats, "names")
    assert [c.phrases for c in names.classes] == [("road", "route"), ("window",), ("cushion",), ("pillow",)]
    syn = build_prompt_set(cats, "synonyms")
    assert syn.classes[0].phrases == ("road", "route", "street", "roads", "streets", "routes")
    assert syn.classes[1].phrases == ("windowpane", "window", "windows")
    pol = build_prompt_set(cats, "policy")
    by_id = {c.category_id: c for c in pol.classes}
    assert by_id[57].source == "policy-table" and "bed pillow" in by_id[57].phrases
    assert by_id[39].source == "policy-table" and "cushion" in by_id[39].phrases
    assert by_id[6].phrases == syn.classes[0].phrases  # no conflict entry: synonyms kept
    assert len({names.fingerprint(), syn.fingerprint(), pol.fingerprint()}) == 3
    # prompts are phrase-major: phrase s, template t at s * T + t
    T = len(VILD_TEMPLATES)
    assert syn.prompts()[T + 2] == VILD_TEMPLATES[2].format("route")
    assert syn.phrase_to_class().tolist() == [0] * 6 + [1] * 3 + [2] * 2 + [3] * 2


def test_policy_uses_yaml_definitions_when_table_has_no_entry():
    cats = _ade_subset(0, 57)
    pol = build_prompt_set(cats, "policy", definitions={0: "a vertical structure that encloses a room"}, policy_table={})
    assert pol.classes[0].phrases == ("wall: a vertical structure that encloses a room",)
    assert pol.classes[0].source == "definition"
    assert pol.classes[1].source == "synonyms"


def test_unknown_dataset_classes_fall_back_to_split_names():
    cats = CategorySet((Category(1, "red thing, crimson thing", True), Category(2, "blue", False)))
    ps = build_prompt_set(cats, "synonyms")
    assert [c.phrases for c in ps.classes] == [("red thing", "crimson thing"), ("blue",)]
    assert split_name("a, b,c ") == ("a", "b", "c")
    with pytest.raises(ConfigError):
        build_prompt_set(cats, "fancy")


def test_seen_protocols():
    from ovbench.taxonomy import load_class_list
    from ovbench.vlm.dataset_access import seen_ids

    ade = load_class_list("ade20k_150")
    cats = CategorySet(tuple(Category(c.id, c.name, c.isthing) for c in ade))
    seen, protocol, sha = seen_ids(cats, "ade20k_150")
    assert len(seen) == 64 and protocol == "fcclip_string" and len(sha) == 64
    assert 57 in seen and 39 not in seen  # pillow seen, cushion unseen (FC-CLIP's synonym rule)
    sub = _ade_subset(0, 39, 57)
    assert seen_ids(sub, "ade20k_150")[0] == frozenset({0, 57})
    with pytest.raises(ConfigError):
        seen_ids(cats, "ade20k_150", "nope")


def test_template_sets_resolve_and_change_the_prompt_fingerprint():
    from ovbench.vlm.prompts import resolve_templates

    assert resolve_templates("vild14") == ("vild14", VILD_TEMPLATES)
    assert resolve_templates("fcclip14") == ("vild14", VILD_TEMPLATES)
    assert resolve_templates("14") == ("vild14", VILD_TEMPLATES)
    assert resolve_templates("single") == ("single", ("a photo of a {}.",))
    assert resolve_templates(3) == ("vild3", VILD_TEMPLATES[:3])
    for bad in ("0", "15", "many", ""):
        with pytest.raises(ConfigError, match="--templates.*vild14.*single"):
            resolve_templates(bad)
    cats = CategorySet((Category(7, "bed", True), Category(57, "pillow", True)))
    full = build_prompt_set(cats, "names")
    one = build_prompt_set(cats, "names", templates=resolve_templates("single")[1])
    assert one.prompts() == ["a photo of a bed.", "a photo of a pillow."]
    assert len(full.prompts()) == 14 * len(one.prompts())
    assert one.fingerprint() != full.fingerprint()  # the template set is part of the text-cache key
