"""The results JSON Schema (v2): good fixtures pass, each bad fixture fails with a JSON path; the
diagnostics sections follow the embedded fragment, other diagnostics keys stay free-form."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from ovbench.errors import SchemaError
from ovbench.results.io import load_results, write_results
from ovbench.results.validate import CURRENT_SCHEMA_VERSION, load_schema, schema_problems, validate_results

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results"
GOOD = sorted((FIX / "good").glob("*/results.json"))
BAD = sorted((FIX / "bad").glob("*.json"))

# bad fixture -> the JSON path its error must name
EXPECTED_PATH = {
    "ci_reversed": "$.oracles.baseline.splits.all.pq_ci95",
    "diagnostics_recall_above_one": "$.diagnostics.pool_recall.groups.all.pool_recall",
    "diagnostics_sweeps_not_tuned_flag": "$.diagnostics.sweeps.tuned_on_evaluation_set",
    "javascript_url": "$.model.paper",
    "missing_model": "$: 'model' is a required property",
    "n_zero_with_pq": "$.oracles.baseline.splits.all.pq",
    "nan_pq": "NaN",
    "overlay_escapes_folder": "$.overlays[0].files.image",
    "pq_above_one": "$.oracles.baseline.splits.all.pq",
    "repr_in_notes": "$.model.notes",
    "unknown_top_level_key": "'extra' was unexpected",
}


def test_schema_is_draft_2020_12_and_valid():
    import jsonschema

    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.parent.name)
def test_good_fixtures_validate(path):
    doc = load_results(path, validate=True)
    assert doc["schema_version"] == CURRENT_SCHEMA_VERSION == 2


def test_every_bad_fixture_is_listed():
    assert {p.stem for p in BAD} == set(EXPECTED_PATH)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_fixtures_fail_with_json_path(path):
    with pytest.raises(SchemaError) as exc:
        load_results(path, validate=True)
    msg = str(exc.value)
    assert str(path) in msg  # names the file
    assert EXPECTED_PATH[path.stem] in msg.splitlines()[0]


def _good_doc(name: str = "fixture-hostile"):
    return json.loads((FIX / "good" / name / "results.json").read_text())


def test_nan_in_memory_is_rejected_with_its_path():
    doc = _good_doc()
    doc["oracles"]["baseline"]["splits"]["seen"]["sq"] = math.nan
    with pytest.raises(SchemaError, match=r"^\$\.oracles\.baseline\.splits\.seen\.sq: nan is not a finite number"):
        validate_results(doc)


def test_infinity_in_free_form_section_is_rejected():
    doc = _good_doc()
    doc["diagnostics"] = {"x": [1.0, math.inf]}
    with pytest.raises(SchemaError, match=r"\$\.diagnostics\.x\[1\]"):
        validate_results(doc)


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d["model"].__setitem__("kind", "cnn"), "$.model.kind"),
        (lambda d: d["model"].__setitem__("extra", 1), "$.model"),
        (lambda d: d["dataset"].__setitem__("annotation_sha256", "abc"), "$.dataset.annotation_sha256"),
        (lambda d: d["oracles"]["baseline"]["splits"].__setitem__("clean", {"pq": 0.1, "sq": 0.1, "rq": 0.1, "n": 1}),
         "$.oracles.baseline.splits"),
        (lambda d: d["oracles"]["baseline"]["splits"]["all"].__setitem__("pq", -0.1), "$.oracles.baseline.splits.all.pq"),
        (lambda d: d["oracles"].__setitem__("Bad-Key", d["oracles"]["baseline"]), "$.oracles"),
        (lambda d: d["per_class"][0].__setitem__("tp", -1), "$.per_class[0].tp"),
        (lambda d: d["per_class"][0].__setitem__("tp", 1.5), "$.per_class[0].tp"),
        (lambda d: d["model"].__setitem__("release_date", "2024-13-01"), "$.model.release_date"),
        (lambda d: d["environment"].__setitem__("gpu", {"nested": "object"}), "$.environment.gpu"),
        (lambda d: d.__setitem__("schema_version", 1), "$.schema_version"),
        (lambda d: d.__setitem__("kind", "something-else"), "$.kind"),
    ],
)
def test_mutations_fail_at_their_path(mutate, where):
    doc = _good_doc()
    mutate(doc)
    with pytest.raises(SchemaError) as exc:
        validate_results(doc)
    assert str(exc.value).startswith(where), str(exc.value)


def test_all_problems_are_listed():
    doc = _good_doc()
    doc["model"]["kind"] = "cnn"
    doc["dataset"]["num_images"] = 0
    problems = schema_problems(doc)
    assert len(problems) == 2 and any("$.model.kind" in p for p in problems)


def test_write_results_round_trip_validates(tmp_path):
    doc = _good_doc()
    rows = doc.pop("per_class")
    path = write_results(tmp_path / "out", doc, rows)
    assert (tmp_path / "out" / "per_class.csv").is_file()
    assert load_results(path, validate=True) == load_results(GOOD[0])


def test_ci_and_bootstrap_section_are_optional():
    doc = _good_doc()
    doc.pop("bootstrap")
    for o in doc["oracles"].values():
        for st in o["splits"].values():
            st.pop("pq_ci95", None)
    validate_results(copy.deepcopy(doc))


# ---- diagnostics (new in v2) -------------------------------------------------------------------------
def test_v2_embeds_the_diagnostics_fragment_verbatim():
    """v2.json holds a frozen copy of benchmark/diagnostics/schema.json: if the fragment changes, the
    results schema must change with it (a new schema version once v2 is published)."""
    from importlib import resources

    fragment = json.loads(resources.files("ovbench.diagnostics").joinpath("schema.json").read_text())
    assert load_schema("v2")["$defs"]["diagnostics_fragment"] == fragment, (
        "benchmark/diagnostics/schema.json differs from $defs.diagnostics_fragment of benchmark/results/schema/v2.json")
    assert load_schema("v2")["properties"]["schema_version"] == {"const": 2}


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda g: g["pool_recall"]["per_class"][0].__setitem__("n", -1), "$.diagnostics.pool_recall.per_class[0].n"),
        (lambda g: g["pool_recall"]["groups"].__setitem__("everything", g["pool_recall"]["groups"]["all"]),
         "$.diagnostics.pool_recall.groups"),
        (lambda g: g["pool_recall"].pop("iou_histogram"), "$.diagnostics.pool_recall: 'iou_histogram' is a required property"),
        (lambda g: g["calibration"]["overall"].__setitem__("ece", "low"), "$.diagnostics.calibration.overall.ece"),
        (lambda g: g["calibration"]["histogram"]["matched"].__setitem__(3, 2.5), "$.diagnostics.calibration.histogram.matched[3]"),
        (lambda g: g["sweeps"]["thresholds"]["table"][4]["splits"].__setitem__("clean", {"pq": 0.1, "sq": 0.1, "rq": 1, "n": 1}),
         "$.diagnostics.sweeps.thresholds.table[4].splits"),
        (lambda g: g["sweeps"]["thresholds"]["best"].__setitem__("tuned_on_evaluation_set", False),
         "$.diagnostics.sweeps.thresholds.best"),
        (lambda g: g["sweeps"]["ensemble"].__setitem__("grid", "diagonal"), "$.diagnostics.sweeps.ensemble.grid"),
        (lambda g: g.__setitem__("tool", {"f": "<function f at 0x7f00aa>"}), "$.diagnostics.tool.f"),
    ],
)
def test_malformed_diagnostics_fail_at_their_path(mutate, where):
    doc = _good_doc("fixture-model-a")
    mutate(doc["diagnostics"])
    with pytest.raises(SchemaError) as exc:
        validate_results(doc)
    assert str(exc.value).startswith(where), str(exc.value)


def test_diagnostics_sections_are_optional_and_other_keys_free_form():
    doc = _good_doc("fixture-model-a")
    validate_results(doc)
    for name in ("pool_recall", "calibration", "sweeps"):
        d = copy.deepcopy(doc)
        del d["diagnostics"][name]
        validate_results(d)
    doc["diagnostics"] = {"vlm_segmentation": {"num_images": 3, "segment_accuracy": None},
                          "legacy_v1_pool_recall": {"rate": 0.3, "rows": [[1, 2], {"a": "b"}]}}
    validate_results(doc)
