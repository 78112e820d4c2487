"""The results JSON Schema (v1): good fixtures pass, each bad fixture fails with a JSON path."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from ovbench.errors import SchemaError
from ovbench.results.io import load_results, write_results
from ovbench.results.validate import load_schema, schema_problems, validate_results

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results"
GOOD = sorted((FIX / "good").glob("*/results.json"))
BAD = sorted((FIX / "bad").glob("*.json"))

# bad fixture -> the JSON path its error must name
EXPECTED_PATH = {
    "ci_reversed": "$.oracles.baseline.splits.all.pq_ci95",
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
    assert doc["schema_version"] == 1


def test_every_bad_fixture_is_listed():
    assert {p.stem for p in BAD} == set(EXPECTED_PATH)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_fixtures_fail_with_json_path(path):
    with pytest.raises(SchemaError) as exc:
        load_results(path, validate=True)
    msg = str(exc.value)
    assert str(path) in msg  # names the file
    assert EXPECTED_PATH[path.stem] in msg.splitlines()[0]


def _good_doc():
    return json.loads(GOOD[0].read_text())


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
        (lambda d: d.__setitem__("schema_version", 2), "$.schema_version"),
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
