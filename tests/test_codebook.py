"""Tests of workbench.codebook: the bundled demo codebook, helpers and every validation error."""

import copy

import pytest
import yaml

from workbench.codebook import Codebook, bundled_codebook_path, load_codebook
from workbench.errors import CodebookError


@pytest.fixture(scope="module")
def demo_dict():
    return yaml.safe_load(bundled_codebook_path("demo").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cb():
    return load_codebook("demo")


def write(tmp_path, data, name="codebook.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ---- the demo codebook ------------------------------------------------------------------------------
def test_demo_loads_with_study_info(cb):
    assert cb.study.id == "demo"
    assert cb.study.client == "Demo Client"
    assert cb.study.our_brand == "aurora"
    assert set(cb.study.title) == {"en", "zh"}
    assert sorted(cb.missing_codes) == [98, 99]
    assert cb.source == "codebook.yaml"


def test_demo_datasets(cb):
    assert set(cb.datasets) >= {"frame", "penetration", "tracking", "odata", "servqual",
                                "mgmt_survey"}
    assert cb.dataset("tracking").id_columns == ["resp_id"]
    assert cb.dataset("penetration").id_columns == ["region", "brand"]
    assert cb.dataset("servqual").file == "servqual.csv"
    assert cb.dataset("mgmt_survey").id_columns == ["staff_id"]
    assert cb.dataset_for_file("some/folder/tracking.csv") == "tracking"
    assert cb.dataset_for_file("other.csv") is None
    with pytest.raises(CodebookError, match=r"datasets\.nope: no such dataset"):
        cb.dataset("nope")


def test_question_types_and_scales(cb):
    assert cb.question("nps").type == "nps"
    assert cb.scale("nps") == (0, 10)
    assert cb.scale("csat") == (1, 5)
    assert cb.question("csat").top_box == 2
    assert cb.question("ces").note.startswith("Agreement scale")
    assert cb.question("wave").is_integer
    assert cb.question("prd1").is_scale and cb.question("prd1").is_integer
    assert not cb.question("spend_6m").is_integer
    assert cb.question("design_weight").type == "weight"
    assert cb.levels("brand") == ["aurora", "beacon", "cirrus", "delta", "other"]
    assert cb.question("age_band").ordered


def test_missing_codes_apply_to_scales_only(cb):
    assert cb.missing_codes_for("prd1") == (98, 99)
    assert cb.missing_codes_for("nps") == (98, 99)
    assert cb.missing_codes_for("spend_6m") == ()
    assert cb.missing_codes_for("brand") == ()


def test_labels_and_fallbacks(cb):
    assert cb.label("nps") == "Likelihood to recommend"
    assert cb.label("nps", "zh") == "推荐可能性"
    assert cb.label("PRD", "zh") == "产品与网络"
    assert cb.label("tangibles", "zh") == "有形性"
    assert cb.label("loyalty") == cb.label("nps")          # outcome key -> its question
    assert cb.label("nps", "fr") == "Likelihood to recommend"  # unknown language -> English
    assert cb.label("not_a_code") == "not_a_code"
    assert cb.level_label("brand", "aurora", "zh") == "极光通信"
    assert cb.level_label("brand", "delta") == "Delta"
    assert cb.level_label("nps", 10.0, "zh") == "极有可能"   # scale anchor, float level
    assert cb.level_label("nps", 5) == "5"                  # no anchor label -> the point


def test_pii_columns(cb):
    assert cb.pii_columns() == ["phone", "email"]
    assert cb.pii_columns("tracking") == ["email"]
    assert cb.pii_columns("frame") == ["phone"]


def test_constructs_outcomes_and_model(cb):
    items = cb.construct_items()
    assert list(items) == ["PRD", "SRV", "VAL", "DIG", "SAT"]
    assert items["SRV"] == ["srv1", "srv2", "srv3"]
    assert cb.outcomes == {"satisfaction": "SAT", "loyalty": "nps"}
    assert cb.driver_constructs() == ["PRD", "SRV", "VAL", "DIG"]
    assert cb.measurement_model(["PRD", "SAT"]) == (
        "PRD =~ prd1 + prd2 + prd3\nSAT =~ sat1 + sat2 + sat3"
    )
    with pytest.raises(CodebookError, match="constructs.XYZ"):
        cb.measurement_model(["XYZ"])


def test_servqual_map(cb):
    dims = cb.servqual_dimensions()
    assert dims == {
        "tangibles": ["tan1", "tan2", "tan3", "tan4"],
        "reliability": ["rel1", "rel2", "rel3", "rel4", "rel5"],
        "responsiveness": ["res1", "res2", "res3", "res4"],
        "assurance": ["asu1", "asu2", "asu3", "asu4"],
        "empathy": ["emp1", "emp2", "emp3", "emp4", "emp5"],
    }
    assert len(cb.servqual_items()) == 22
    assert cb.expectation_col("tan1") == "E_tan1"
    assert cb.perception_col("emp5") == "P_emp5"
    assert cb.adequate_col("rel2") == "ADQ_rel2"
    assert cb.desired_col("rel2") == "DES_rel2"
    assert cb.importance_col("empathy") == "imp_empathy"
    assert cb.servqual_dimension_of("asu3") == "assurance"
    # the implied columns are questions too
    assert "E_tan1" in cb and "imp_tangibles" in cb
    assert cb.question("P_rel1").type == "likert"
    assert cb.scale("DES_emp1") == (1, 7)
    assert cb.question("imp_reliability").max == 100


def test_gaps_1_to_4_columns_and_antecedents(cb):
    assert cb.mgmt_expectation_col("res2") == "ME_res2"
    assert cb.specification_col("empathy") == "SPEC_empathy"
    assert cb.delivery_col("reliability") == "DEL_reliability"
    assert cb.promise_col("assurance") == "PROM_assurance"
    assert cb.question("ME_res2").type == "likert"
    assert cb.label("SPEC_empathy", "zh") == "服务标准：移情性"
    assert cb.antecedents(4) == {"hco": ["hco1", "hco2", "hco3"], "ovp": ["ovp1", "ovp2", "ovp3"]}
    assert len(cb.antecedents()) == 16
    ovp = cb.antecedent("ovp")
    assert (ovp.gap, ovp.direction, ovp.scale) == (4, -1, "agreement")
    assert cb.antecedent("lvl").scale == "count"
    assert cb.question("lvl1").type == "numeric" and cb.question("lvl1").is_integer
    assert cb.question("mro1").type == "likert"
    assert cb.label("ovp", "zh") == "过度承诺倾向"
    with pytest.raises(CodebookError, match=r"servqual\.antecedents\.xyz: no such scale"):
        cb.antecedent("xyz")
    # every column of the SERVQUAL datasets is defined (implied by the servqual section)
    for name in ("servqual", "mgmt_survey"):
        assert all(col in cb for col in cb.dataset(name).columns)


def test_unknown_question_suggests(cb):
    with pytest.raises(CodebookError, match=r"questions\.csta: not defined.*did you mean 'csat'"):
        cb.question("csta")


def test_codebook_is_frozen(cb):
    with pytest.raises(Exception):
        cb.version = 2


def test_load_from_folder_path_and_instance(tmp_path, demo_dict, cb):
    path = write(tmp_path, demo_dict)
    assert load_codebook(tmp_path).study.id == "demo"
    assert load_codebook(str(path)).source == str(path)
    assert load_codebook(cb) is cb


def test_short_forms(tmp_path):
    data = {
        "study": {"id": "s"},
        "missing_codes": [97],
        "questions": {
            "q": {"type": "likert", "min": 1, "max": 5, "label": "Plain English label"},
            "g": {"type": "categorical", "levels": ["a", "b"]},
        },
        "datasets": {"d": {"file": "d.csv", "id": None, "columns": ["q", "g"]}},
    }
    cb = load_codebook(write(tmp_path, data))
    assert cb.missing_codes_for("q") == (97,)
    assert cb.label("q", "zh") == "Plain English label"
    assert cb.levels("g") == ["a", "b"]
    assert cb.dataset("d").id_columns == []
    with pytest.raises(CodebookError, match="no servqual section"):
        cb.servqual_dimensions()


# ---- validation errors ------------------------------------------------------------------------------
def _set(d, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        d = d[k]
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value


_DELETE = object()

BAD_CASES = [
    ("questions.csat.max", "five",
     "codebook.yaml: questions.csat.max: expected a number, got 'five'"),
    ("questions.csat.type", "scale",
     "codebook.yaml: questions.csat.type: expected one of 'nps', 'likert'"),
    ("questions.prd1.foo", 1, "codebook.yaml: questions.prd1.foo: unknown key"),
    ("questions.csat.max", _DELETE,
     "codebook.yaml: questions.csat: a likert question needs both min and max"),
    ("questions.csat.min", 9, "codebook.yaml: questions.csat: min (9) is above max (5)"),
    ("questions.csat.top_box", 5,
     "codebook.yaml: questions.csat: top_box: expected 1..4 scale points, got 5"),
    ("questions.csat.min", 1.5,
     "codebook.yaml: questions.csat: min: expected a whole-number scale point, got 1.5"),
    ("questions.gender.levels", {},
     "codebook.yaml: questions.gender: a categorical question needs levels"),
    ("questions.email.top_box", 2,
     "codebook.yaml: questions.email: top_box applies to scale questions"),
    ("questions.email.pii", "maybe",
     "codebook.yaml: questions.email.pii: expected true or false, got 'maybe'"),
    ("questions.nps.levels", {11: "eleven"},
     "codebook.yaml: questions.nps: levels: scale point 11 lies outside 0..10"),
    ("missing_codes", ["x"], "codebook.yaml: missing_codes.x: as a key, expected a whole number, got 'x'"),
    ("study", _DELETE, "codebook.yaml: study: required key is missing"),
    ("constructs.PRD.items", ["prd1", "prd2", "prd9"],
     "codebook.yaml: constructs.PRD.items[2]: 'prd9' is not a defined question"),
    ("constructs.PRD.items", ["prd1", "verbatim"],
     "codebook.yaml: constructs.PRD.items[1]: 'verbatim' must be a scale or numeric question"),
    ("constructs.PRD.items", [], "codebook.yaml: constructs.PRD.items: expected at least one"),
    ("outcomes.loyalty", "LOY",
     "codebook.yaml: outcomes.loyalty: 'LOY' is neither a construct nor a question"),
    ("datasets.tracking.columns", ["resp_id", "npss"],
     "codebook.yaml: datasets.tracking.columns[1]: 'npss' is not a defined question "
     "(did you mean 'nps'"),
    ("datasets.tracking.id", "customer",
     "codebook.yaml: datasets.tracking.id: 'customer' is not among the dataset's columns"),
    ("datasets.odata.file", "tracking.csv",
     "codebook.yaml: datasets: two datasets name the same file"),
    ("datasets.tracking.file", _DELETE,
     "codebook.yaml: datasets.tracking.file: required key is missing"),
    ("servqual.expectation", "E_", "codebook.yaml: servqual: expectation: the pattern must "
     "contain {item}, got 'E_'"),
    ("servqual.importance", "imp", "codebook.yaml: servqual: importance: the pattern must "
     "contain {dimension}"),
    ("servqual.dimensions.empathy.items", ["emp1", "tan1"],
     "codebook.yaml: servqual.dimensions.empathy.items[1]: 'tan1' belongs to more than one"),
    ("servqual.antecedents.ovp.gap", 5,
     "codebook.yaml: servqual.antecedents.ovp.gap: expected one of 1, 2, 3 or 4, got 5"),
    ("servqual.delivery", "DEL", "codebook.yaml: servqual: delivery: the pattern must contain "
     "{dimension}"),
    ("study.our_brand", "zeta",
     "codebook.yaml: study.our_brand: 'zeta' is not a level of question 'brand'"),
]


@pytest.mark.parametrize("path, value, message", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_codebook_names_file_and_key(tmp_path, demo_dict, path, value, message):
    data = copy.deepcopy(demo_dict)
    _set(data, path, value)
    bad = write(tmp_path, data)
    with pytest.raises(CodebookError) as info:
        load_codebook(bad)
    assert message in str(info.value)
    assert str(bad) in str(info.value)


def test_boolean_level_key_asks_for_quotes(tmp_path):
    bad = tmp_path / "codebook.yaml"
    bad.write_text(
        "study: {id: s}\nquestions:\n  q: {type: categorical, levels: {yes: Yes, no: No}}\n",
        encoding="utf-8",
    )
    with pytest.raises(CodebookError, match=r"questions\.q: levels: True was read by YAML as "
                                            r"true/false; quote the level"):
        load_codebook(bad)


def test_several_problems_reported_together(tmp_path, demo_dict):
    data = copy.deepcopy(demo_dict)
    data["questions"]["csat"]["max"] = "five"
    data["questions"]["ces"]["min"] = "one"
    msg = str(pytest.raises(CodebookError, load_codebook, write(tmp_path, data)).value)
    assert "questions.csat.max" in msg and "questions.ces.min" in msg


def test_file_level_errors(tmp_path):
    with pytest.raises(CodebookError, match="codebook not found: .*missing.yaml"):
        load_codebook(tmp_path / "missing.yaml")
    with pytest.raises(CodebookError, match="codebook not found"):
        load_codebook("no_such_bundled_study")
    broken = tmp_path / "broken.yaml"
    broken.write_text("study: {id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="broken.yaml: not valid YAML"):
        load_codebook(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CodebookError, match="empty.yaml: the file is empty"):
        load_codebook(empty)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="list.yaml: expected a mapping .* got list"):
        load_codebook(listy)


def test_from_dict_without_file():
    with pytest.raises(CodebookError, match="<codebook>: study: required key is missing"):
        Codebook.from_dict({"questions": {}})


def test_roles_explicit_implicit_and_aliases():
    from workbench.codebook import Codebook

    base = {
        "study": {"id": "s"},
        "datasets": {
            "survey": {"file": "s.csv", "columns": ["rid", "round", "bank", "wt", "sat"],
                       "roles": {"wave": "round", "brand": "bank"}},
            "other": {"file": "o.csv", "columns": ["rid", "sat"]},
        },
        "questions": {
            "rid": {"type": "id"},
            "round": {"type": "numeric", "integer": True, "label": {"en": "Survey round"}},
            "bank": {"type": "categorical", "levels": {"a": "Bank A", "b": "Bank B"}},
            "wt": {"type": "weight"},
            "sat": {"type": "likert", "min": 1, "max": 10},
        },
    }
    cb = Codebook.from_dict(base)
    assert cb.role("survey", "wave") == "round"
    assert cb.role("survey", "brand") == "bank"
    assert cb.role("survey", "weight") == "wt"          # the only weight column
    assert cb.role("survey", "period") is None
    assert cb.role("other", "weight") is None and cb.role("other", "wave") is None
    assert cb.role_aliases("survey") == {"wave": "round", "brand": "bank"}
    assert cb.label("wave") == "Survey round"           # the role's name finds the study's question
    assert cb.level_label("brand", "b") == "Bank B"
    assert cb.items_scale(["sat"]) == (1, 10) and cb.items_scale(["sat", "wt"]) is None
    assert not cb.has_nps()
    bad = dict(base, datasets={"survey": {"file": "s.csv", "roles": {"wave": "bank"}}})
    with pytest.raises(CodebookError, match="roles.wave: 'bank' is a categorical question"):
        Codebook.from_dict(bad)
