"""Study-aware parameter defaults and the all-at-once parameter checks (workbench.study)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench.cli import main
from workbench.config import load_params
from workbench.errors import ParamsError
from workbench.study import check_params, model_problems

DEMO_WORDS = ("aurora", "tracking", "design_weight", "segment", "2026-06", "Demo Client")


@pytest.fixture()
def bank(tmp_path):
    """A small bank study: 1-10 scales, a wave column named `round`, a brand column `bank`,
    a weight `wt`, -99 missing codes, no NPS question."""
    rng = np.random.default_rng(7)
    n = 400
    f1, f2 = rng.normal(size=n), rng.normal(size=n)
    sat = 0.6 * f1 + 0.3 * f2 + rng.normal(scale=0.6, size=n)

    def items(f, k):
        return {i: np.clip(np.round(6 + 1.5 * f + rng.normal(scale=0.8, size=n)), 1, 10) for i in range(k)}

    df = pd.DataFrame({"rid": np.arange(n), "round": np.repeat([1, 2], n // 2),
                       "bank": rng.choice(["north", "south", "west"], n), "wt": rng.uniform(0.5, 1.5, n),
                       "area": rng.choice(["city", "rural"], n, p=[0.9, 0.1])})
    for name, f in (("st", f1), ("bi", f2), ("sa", sat)):
        for i, v in items(f, 3).items():
            df[f"{name}{i + 1}"] = v.astype(int)
    df.loc[:5, "st1"] = -99
    df.to_csv(tmp_path / "bank.csv", index=False)
    likert = {"type": "likert", "min": 1, "max": 10}
    cb = {
        "study": {"id": "bank-2026", "client": "First Bank", "our_brand": "north"},
        "missing_codes": [-99],
        "datasets": {"survey": {"file": "bank.csv", "id": "rid", "columns": list(df.columns),
                                "roles": {"wave": "round", "brand": "bank"}}},
        "questions": {
            "rid": {"type": "id"}, "round": {"type": "numeric", "integer": True, "label": "Round"},
            "bank": {"type": "categorical", "levels": {"north": "North Bank", "south": "South Bank",
                                                       "west": "West Bank"}},
            "wt": {"type": "weight"}, "area": {"type": "categorical", "levels": ["city", "rural"]},
            **{c: dict(likert) for c in df.columns if c[:2] in ("st", "bi", "sa") and c[2:].isdigit()},
        },
        "constructs": {"Staff": {"items": ["st1", "st2", "st3"]}, "Billing": {"items": ["bi1", "bi2", "bi3"]},
                       "Sat": {"items": ["sa1", "sa2", "sa3"]}},
        "outcomes": {"satisfaction": "Sat"},
    }
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(cb, allow_unicode=True), encoding="utf-8")
    return tmp_path


def _params(folder, notebook, **extra):
    body = {"notebook": notebook, "data": str(folder), "codebook": str(folder / "codebook.yaml"), **extra}
    path = folder / f"{notebook}.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def test_key_driver_defaults_come_from_the_codebook(bank):
    spec = load_params(_params(bank, "03_key_drivers"))
    p = spec.params
    assert (p["study"], p["client"], p["period"]) == ("bank-2026", "First Bank", "")
    assert (p["dataset"], p["brand"], p["wave"], p["weight"], p["compare_by"]) == ("survey", "all", "all", "wt", "")
    assert not any(w in repr(p) for w in DEMO_WORDS)
    assert check_params("03_key_drivers", p) == []
    assert spec.run == "03_key_drivers"


def test_wave_defaults_come_from_the_codebook(bank):
    p = load_params(_params(bank, "02_wave_analysis")).params
    assert p["our_brand"] == "north" and p["competitors"] == ["south", "west"]
    assert p["mix_by"] == "" and p["margins"] == "" and p["wave"] == 2          # latest, from `round`
    assert not any(w in repr(p) for w in DEMO_WORDS)


def test_given_values_win_over_study_defaults(bank):
    p = load_params(_params(bank, "03_key_drivers", weight="", client="Another")).params
    assert p["weight"] == "" and p["client"] == "Another"


def test_a_key_the_study_cannot_supply_must_be_given(bank):
    cb = yaml.safe_load((bank / "codebook.yaml").read_text())
    cb["study"]["client"] = ""
    (bank / "codebook.yaml").write_text(yaml.safe_dump(cb))
    with pytest.raises(ParamsError, match="key 'client' is missing: give the client's name"):
        load_params(_params(bank, "03_key_drivers"))


def test_every_problem_is_reported_at_once(bank):
    p = load_params(_params(bank, "03_key_drivers")).params
    bad = dict(p, brand="east", wave=9, weight="area", compare_by="nope",
               model="Staff =~ st1 + st2 + st3\nSat =~ sa1 + sa2 + sa9\nSat ~ Staff")
    problems = check_params("03_key_drivers", bad)
    keys = [m.split("'")[1] for m in problems]
    assert keys == ["brand", "wave", "weight", "compare_by", "model"], problems
    assert "'east' is not a value of column" in problems[0]
    assert "'area' is a categorical question; expected weight" in problems[2]
    assert "'sa9'" in problems[4]


def test_groups_too_small_to_compare_are_refused(bank):
    p = load_params(_params(bank, "03_key_drivers", low_base={"caution": 900, "min_test": 800})).params
    problems = check_params("03_key_drivers", dict(p, compare_by="area"))
    assert len(problems) == 1 and "every group of 'area' has an effective base below min_test" in problems[0]


def test_model_problems_identification():
    assert model_problems("F =~ a + b + c", ["a", "b", "c"]) == []
    assert "not identified" in model_problems("F =~ a + b", ["a", "b"])[0]
    assert "its scale is not set" in model_problems("F =~ NA*a + b + c", ["a", "b", "c"])[0]
    assert "not in the data" in model_problems("F =~ a + b + z", ["a", "b", "c"])[0]


def test_wave_checks(bank):
    p = load_params(_params(bank, "02_wave_analysis")).params
    bad = dict(p, dataset="survey", our_brand="east", competitors=["north", "x"], mix_by="wt", weighting="raked")
    problems = check_params("02_wave_analysis", bad)
    text = "\n".join(problems)
    for key in ("our_brand", "competitors", "mix_by", "margins"):
        assert f"key {key!r}" in text, text


def test_validate_cli_lists_all_problems_and_exits_2(bank, capsys):
    f = _params(bank, "03_key_drivers", brand="east", compare_by="nope")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and "key 'brand'" in err and "key 'compare_by'" in err
    assert main(["validate", str(_params(bank, "03_key_drivers"))]) == 0


def test_demo_defaults_are_unchanged():
    from workbench import PROJECT_ROOT

    p = load_params(PROJECT_ROOT / "params" / "demo" / "drivers.yaml").params
    assert (p["brand"], p["weight"], p["compare_by"]) == ("aurora", "design_weight", "segment")
    assert check_params("03_key_drivers", p) == []
