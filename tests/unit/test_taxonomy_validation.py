"""Deliberately broken taxonomy YAML: every error names the file and the line of the entry."""

import re
import shutil
import textwrap

import pytest

from ovbench.cli import main
from ovbench.errors import TaxonomyError
from ovbench.taxonomy import load_graph
from ovbench.taxonomy.classes import taxonomy_dir

TOY_A = """\
schema: ovbench-classes/1
name: toy_a
prefix: ta
num_classes: 3
classes:
  - {id: 1, name: lamp, isthing: true, synonyms: [lamp]}
  - {id: 2, name: wall, isthing: false}
  - {id: 3, name: cup, isthing: true}
"""
TOY_B = """\
schema: ovbench-classes/1
name: toy_b
prefix: tb
classes:
  - {id: 10, name: light, isthing: true, synonyms: [lamp, bulb]}
  - {id: 11, name: chandelier, isthing: true}
  - {id: 12, name: wall, isthing: false}
  - {id: 13, name: painting, isthing: true}
"""
EV = '[{source: s, ref: "r", detail: "d"}]'
EDGES = [
    f"  - {{src: ta:1, rel: broader, dst: tb:10, confidence: high, evidence: {EV}}}",
    f"  - {{src: ta:1, rel: broader, dst: tb:11, confidence: low, weight: 0.5, evidence: {EV}}}",
    f"  - {{src: ta:2, rel: same, dst: tb:12, confidence: high, evidence: {EV}}}",
    f"  - {{src: tb:11, rel: narrower, dst: tb:10, scope: intra, confidence: low, evidence: {EV}}}",
]
UNL = [f"  - {{node: tb:13, confidence: high, evidence: {EV}}}"]
POL = [
    f"  - {{id: p1, kind: granularity_split, summary: one lamp class vs two, nodes: [ta:1, tb:10, tb:11], evidence: {EV}}}",
]


def mapping(edges=EDGES, unl=UNL, pol=POL, extra=""):
    head = "schema: ovbench-taxonomy/1\nsource: toy_a\ntarget: toy_b\nsources:\n  s: {title: test}\n"
    return head + "edges:\n" + "\n".join(edges) + "\nunlabeled_in_source:\n" + "\n".join(unl) + "\npolicies:\n" + "\n".join(pol) + "\n" + extra


def write(tmp_path, text, name="map.yaml"):
    (tmp_path / "a.yaml").write_text(TOY_A)
    (tmp_path / "b.yaml").write_text(TOY_B)
    p = tmp_path / name
    p.write_text(text)
    return p


def line_of(text, needle):
    return next(i for i, s in enumerate(text.splitlines(), 1) if needle in s)


def load(tmp_path, text):
    p = write(tmp_path, text)
    return load_graph([tmp_path / "a.yaml", tmp_path / "b.yaml", p]), p


def expect_error(tmp_path, text, needle, match):
    p = write(tmp_path, text)
    with pytest.raises(TaxonomyError) as info:
        load_graph([tmp_path / "a.yaml", tmp_path / "b.yaml", p])
    msg = str(info.value)
    assert re.search(match, msg), msg
    assert f"{p}:{line_of(text, needle)}:" in msg, msg
    return msg


def test_toy_graph_is_valid(tmp_path):
    g, _ = load(tmp_path, mapping())
    assert g.source_relation(10, "toy_b", "toy_a") == "narrower"
    assert g.source_relation(13, "toy_b", "toy_a") == "unlabeled_in_source"
    assert g.seen_ids("toy_b", "toy_a", "fcclip_string") == {10, 12}  # "lamp" synonym; "wall" by name
    assert g.seen_ids("toy_b", "toy_a", "graph_same") == {12}
    assert g.conflict_ids("toy_b", "toy_a") == {10, 11}


def test_missing_node(tmp_path):
    bad = EDGES[:2] + [f"  - {{src: ta:2, rel: same, dst: tb:99, confidence: high, evidence: {EV}}}"] + EDGES[3:]
    expect_error(tmp_path, mapping(bad), "tb:99", r"node 'tb:99' does not exist: toy_b has no class id 99")


def test_unknown_prefix(tmp_path):
    bad = [f"  - {{src: xx:1, rel: same, dst: tb:12, confidence: high, evidence: {EV}}}"] + EDGES
    expect_error(tmp_path, mapping(bad), "xx:1", r"unknown dataset prefix 'xx'")


def test_bad_relation_suggests_the_right_one(tmp_path):
    bad = [EDGES[0].replace("rel: broader", "rel: borader")] + EDGES[1:]
    expect_error(tmp_path, mapping(bad), "borader", r"unknown relation 'borader'.*did you mean 'broader'")


def test_cycle_in_broader(tmp_path):
    cyc = [
        f"  - {{src: tb:10, rel: broader, dst: tb:11, scope: intra, confidence: low, evidence: {EV}}}",
        f"  - {{src: tb:11, rel: broader, dst: tb:13, scope: intra, confidence: low, evidence: {EV}}}",
        f"  - {{src: tb:13, rel: broader, dst: tb:10, scope: intra, confidence: low, evidence: {EV}}}   # closes the cycle",
    ]
    text = mapping(EDGES[:3] + cyc)
    expect_error(tmp_path, text, "closes the cycle", r"cycle in `broader`: .*tb:10.*tb:11.*tb:13")


def test_cycle_through_same_is_caught(tmp_path):
    bad = EDGES[:3] + [f"  - {{src: tb:12, rel: broader, dst: ta:2, confidence: low, evidence: {EV}}}"]
    # a same edge plus a broader edge on the same pair is a contradiction first
    expect_error(tmp_path, mapping(bad), "src: tb:12, rel: broader", r"contradictory edges")


def test_contradictory_edges_same_pair(tmp_path):
    bad = EDGES + [f"  - {{src: ta:2, rel: broader, dst: tb:12, confidence: low, evidence: {EV}}}  # contra"]
    expect_error(tmp_path, mapping(bad), "# contra", r"contradictory edges: ta:2 broader tb:12 and ta:2 same tb:12")


def test_duplicate_edge_in_inverse_form(tmp_path):
    bad = EDGES + [f"  - {{src: tb:10, rel: narrower, dst: ta:1, confidence: low, evidence: {EV}}}  # dup"]
    expect_error(tmp_path, mapping(bad), "# dup", r"duplicate edge")


def test_same_and_broader_into_disjoint_classes(tmp_path):
    bad = EDGES + [f"  - {{src: ta:2, rel: broader, dst: tb:13, confidence: low, evidence: {EV}}}  # disjoint"]
    unl = []  # tb:13 is now covered by an edge
    expect_error(tmp_path, mapping(bad, unl), "# disjoint", r"contradictory edges: ta:2 is the `same` as tb:12 .* but `broader` than tb:13")


def test_two_same_edges_need_a_reason(tmp_path):
    two = EDGES + [f"  - {{src: ta:3, rel: same, dst: tb:12, confidence: low, evidence: {EV}}}  # second"]
    expect_error(tmp_path, mapping(two), "ta:2, rel: same", r"2 `same` edges into toy_a")
    ok = [e.replace("confidence: high, evidence", "confidence: high, multi_same: merged in toy_b, evidence") if "rel: same" in e else e for e in two]
    ok[-1] = ok[-1].replace("confidence: low, evidence", "confidence: low, multi_same: merged in toy_b, evidence")
    g, _ = load(tmp_path, mapping(ok))
    assert g.source_relation(12, "toy_b", "toy_a") == "same"


def test_missing_evidence(tmp_path):
    bad = [EDGES[0].replace(f", evidence: {EV}", "")] + EDGES[1:]
    expect_error(tmp_path, mapping(bad), "dst: tb:10, confidence: high}", r"needs at least one evidence entry")


def test_undeclared_evidence_source(tmp_path):
    bad = [EDGES[0].replace("source: s,", "source: mseeg,")] + EDGES[1:]
    expect_error(tmp_path, mapping(bad), "mseeg", r"evidence source 'mseeg' is not declared")


def test_unknown_field_is_reported_with_a_hint(tmp_path):
    bad = [EDGES[0].replace("confidence: high", "confidense: high")] + EDGES[1:]
    expect_error(tmp_path, mapping(bad), "confidense", r"unknown field 'confidense' \(did you mean 'confidence'\?\)")


def test_block_style_entry_points_at_the_key_line(tmp_path):
    block = textwrap.indent(
        textwrap.dedent(
            f"""\
            - src: ta:3
              rel: overlap
              dst: tb:13
              confidence: low
              evidence: {EV}
            """
        ),
        "  ",
    ).rstrip("\n")
    text = mapping(EDGES + [block], unl=[])
    expect_error(tmp_path, text, "rel: overlap", r"unknown relation 'overlap'.*'overlaps'")


def test_unlabeled_node_with_an_edge(tmp_path):
    unl = UNL + [f"  - {{node: tb:10, confidence: low, evidence: {EV}}}  # wrong"]
    expect_error(tmp_path, mapping(unl=unl), "# wrong", r"tb:10 is marked unlabeled_in_source but has a `narrower` edge")


def test_uncovered_target_class(tmp_path):
    p = write(tmp_path, mapping(unl=[]))
    with pytest.raises(TaxonomyError, match=r"1 toy_b class\(es\) have no edge to toy_a .*tb:13 painting") as info:
        load_graph([tmp_path / "a.yaml", tmp_path / "b.yaml", p])
    assert str(p) in str(info.value)


def test_policy_with_missing_node(tmp_path):
    pol = POL + [f"  - {{id: p2, kind: naming, summary: x, nodes: [tb:77], evidence: {EV}}}"]
    expect_error(tmp_path, mapping(pol=pol), "tb:77", r"policy 'p2': node 'tb:77' does not exist")


def test_edge_citing_unknown_policy(tmp_path):
    bad = [EDGES[0].replace("confidence: high,", "confidence: high, policies: [nope],")] + EDGES[1:]
    expect_error(tmp_path, mapping(bad), "policies: [nope]", r"lists unknown policy 'nope'")


def test_thing_stuff_policy_needs_both_kinds(tmp_path):
    pol = POL + [f"  - {{id: p3, kind: thing_stuff, summary: x, nodes: [ta:1, tb:10], evidence: {EV}}}"]
    expect_error(tmp_path, mapping(pol=pol), "id: p3", r"thing_stuff policy 'p3' must list at least one thing and one stuff")


def test_weights_sum_at_most_one(tmp_path):
    bad = [EDGES[0].replace("confidence: high,", "confidence: high, weight: 0.6,")] + EDGES[1:]
    expect_error(tmp_path, mapping(bad), "weight: 0.5", r"weights of the edges out of ta:1 sum to 1.1000 > 1")


def test_harmonisation_errors(tmp_path):
    h = "harmonisations:\n  - name: h\n    description: d\n    groups:\n      - {name: g1, into: tb:10, members: [tb:10, tb:11]}\n      - {name: g2, into: tb:11, members: [tb:11, tb:12]}  # overlap\n"
    expect_error(tmp_path, mapping(extra=h), "# overlap", r"tb:11 is in groups 'g1' and 'g2'")
    h2 = "harmonisations:\n  - name: h\n    description: d\n    groups:\n      - {name: g1, into: tb:12, members: [tb:10, tb:11]}  # into\n"
    expect_error(tmp_path, mapping(extra=h2), "# into", r"'into' \(tb:12\) must be one of the members")


def test_yaml_syntax_error_and_duplicate_keys(tmp_path):
    text = mapping() + "oops: [1, 2\n"
    p = write(tmp_path, text)
    with pytest.raises(TaxonomyError, match=rf"{re.escape(str(p))}:\d+: YAML syntax error"):
        load_graph([tmp_path / "a.yaml", tmp_path / "b.yaml", p])
    text = mapping().replace("target: toy_b\n", "target: toy_b\ntarget: toy_a\n")
    expect_error(tmp_path, text, "target: toy_a", r"duplicate key 'target' \(first at line 3\)")


def test_class_list_errors(tmp_path):
    (tmp_path / "a.yaml").write_text(TOY_A.replace("{id: 3, name: cup", "{id: 2, name: cup"))
    (tmp_path / "b.yaml").write_text(TOY_B)
    with pytest.raises(TaxonomyError, match=rf"{re.escape(str(tmp_path / 'a.yaml'))}:8: duplicate class id 2 \(first at .*a.yaml:7\)"):
        load_graph([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    (tmp_path / "a.yaml").write_text(TOY_A.replace("num_classes: 3", "num_classes: 4"))
    with pytest.raises(TaxonomyError, match=r"a.yaml:4: num_classes says 4 but 3 classes are listed"):
        load_graph([tmp_path / "a.yaml"])
    (tmp_path / "a.yaml").write_text(TOY_A.replace("isthing: false", "isthing: maybe"))
    with pytest.raises(TaxonomyError, match=r"a.yaml:7: class 2 \('wall'\): isthing must be true or false"):
        load_graph([tmp_path / "a.yaml"])


def test_broken_copy_of_the_shipped_mapping(tmp_path):
    src = (taxonomy_dir() / "coco133__ade150.yaml").read_text()
    lines = src.splitlines()
    n = next(i for i, s in enumerate(lines) if s.strip() == "dst: ade:36    # lamp") - 1  # the `rel:` line above it
    assert lines[n].strip().startswith("rel:")
    lines[n] = "    rel: sibling"
    p = tmp_path / "coco133__ade150.yaml"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(TaxonomyError, match=rf"{re.escape(str(p))}:{n + 1}: edge coco:130 -> ade:36: unknown relation 'sibling'"):
        load_graph([p])  # the class lists come from the shipped folder


def test_cli_check_reports_file_and_line(tmp_path, capsys):
    src = (taxonomy_dir() / "coco133__ade150.yaml").read_text()
    p = tmp_path / "edited.yaml"
    p.write_text(src.replace("dst: ade:85    # chandelier", "dst: ade:850    # chandelier", 1))
    line = line_of(p.read_text(), "ade:850")
    assert main(["taxonomy", "check", str(p)]) == 1
    err = capsys.readouterr().err
    assert f"{p}:{line}: edge #" in err and "ade20k_150 has no class id 850" in err
    assert main(["taxonomy", "check"]) == 0
    assert capsys.readouterr().out.startswith("OK  sha256 ")


def test_shipped_folder_copy_is_valid(tmp_path):
    for f in taxonomy_dir().glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    assert load_graph([tmp_path]) == load_graph()
