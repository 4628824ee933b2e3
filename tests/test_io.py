"""Tests of workbench.io: reading against the codebook, every bad-input case, formats, atomic writes."""

import hashlib
import os

import numpy as np
import pandas as pd
import pytest

from workbench.codebook import load_codebook
from workbench.errors import DataError
from workbench.io import (
    MASK_TOKEN,
    atomic_write_bytes,
    atomic_write_frame,
    atomic_write_text,
    mask_pii,
    read_survey,
    read_table,
    sha256_file,
)
from workbench.synth import make_demo


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A small generated study (the full demo's structure at 5 % size)."""
    return make_demo(tmp_path_factory.mktemp("io") / "demo", size=0.05)


@pytest.fixture(scope="module")
def cb():
    return load_codebook("demo")


@pytest.fixture
def raw(study):
    """The tracking file as plain pandas reads it (a fresh copy per test)."""
    return pd.read_csv(study / "tracking.csv", dtype={"resp_id": str, "customer_id": str})


def write_csv(df, path):
    df.to_csv(path, index=False)
    return path


# ---- reading the demo ------------------------------------------------------------------------------
def test_tracking_reads_with_documented_dtypes(study, cb):
    df = read_survey(study / "tracking.csv", cb)
    assert df["wave"].dtype == np.int64
    for col in ("nps", "csat", "ces", "prd1", "sat3", "design_weight"):
        assert df[col].dtype == np.float64, col
    for col in ("resp_id", "brand", "segment", "period", "email", "customer_id"):
        assert pd.api.types.is_string_dtype(df[col]), col
    assert list(df.columns) == cb.dataset("tracking").columns
    assert set(df["brand"]) <= set(cb.levels("brand"))


def test_missing_codes_become_nan_for_scales(study, cb):
    raw = pd.read_csv(study / "tracking.csv")
    df = read_survey(study / "tracking.csv", cb)
    coded = raw["prd1"].isin([98, 99])
    assert coded.sum() > 0
    assert df.loc[coded, "prd1"].isna().all()
    assert df.loc[~coded, "prd1"].equals(raw.loc[~coded, "prd1"].astype(float))
    assert df["prd1"].max() <= 7


def test_missing_codes_not_applied_to_numeric(tmp_path, cb):
    path = write_csv(pd.DataFrame({"customer_id": ["C1", "C2"], "tickets_6m": [99, 98],
                                   "spend_6m": [99.0, 5.0]}), tmp_path / "x.csv")
    df = read_survey(path, cb)
    assert df["tickets_6m"].tolist() == [99, 98]
    assert df["tickets_6m"].dtype == np.int64


def test_every_demo_dataset_validates(study, cb):
    for name, ds in cb.datasets.items():
        path = study / ds.file
        if not path.exists():   # the SERVQUAL files exist only with the 5-GAP generator
            continue
        df = read_survey(path, cb, name)
        assert len(df) > 0


def test_categories_option(study, cb):
    df = read_survey(study / "tracking.csv", cb, categories=True)
    assert isinstance(df["brand"].dtype, pd.CategoricalDtype)
    assert list(df["brand"].cat.categories) == cb.levels("brand")
    assert df["age_band"].cat.ordered
    assert not df["brand"].cat.ordered


def test_labels_are_mapped_to_level_keys(tmp_path, cb):
    path = write_csv(pd.DataFrame({"resp_id": ["a", "b", "c"],
                                   "brand": ["Aurora", " 灯塔移动", "cirrus"]}), tmp_path / "x.csv")
    assert read_survey(path, cb)["brand"].tolist() == ["aurora", "beacon", "cirrus"]


def test_excel_style_utf8_bom_csv(tmp_path, cb):
    path = tmp_path / "x.csv"
    path.write_bytes("resp_id,brand\nA1,极光通信\n".encode("utf-8-sig"))
    df = read_survey(path, cb)
    assert list(df.columns) == ["resp_id", "brand"]
    assert df["brand"].tolist() == ["aurora"]


def test_ids_keep_leading_zeros(tmp_path, cb):
    path = tmp_path / "x.csv"
    path.write_text("resp_id,wave\n007,1\n010,2\n", encoding="utf-8")
    df = read_survey(path, cb)
    assert df["resp_id"].tolist() == ["007", "010"]


def test_input_frame_not_needed_and_unknown_columns_pass_through(tmp_path, cb):
    path = write_csv(pd.DataFrame({"resp_id": ["a"], "extra col": ["x"], "nps": [9]}),
                     tmp_path / "x.csv")
    df = read_survey(path, cb)
    assert df["extra col"].tolist() == ["x"]


# ---- bad input ---------------------------------------------------------------------------------------
def _error(path, cb, dataset="tracking"):
    with pytest.raises(DataError) as info:
        read_survey(path, cb, dataset)
    return info.value


def test_missing_required_column(tmp_path, raw, cb):
    path = write_csv(raw.drop(columns=["nps", "sat2"]), tmp_path / "tracking.csv")
    err = _error(path, cb)
    assert str(path) in str(err)
    assert "required column(s) missing: nps, sat2" in str(err)


def test_out_of_scale_names_column_count_and_ids(tmp_path, raw, cb):
    raw.loc[[3, 5, 8], "csat"] = [0, 6, 7]
    path = write_csv(raw, tmp_path / "tracking.csv")
    err = _error(path, cb)
    ids = ", ".join(raw.loc[[3, 5, 8], "resp_id"])
    assert f"column 'csat': 3 row(s) outside the scale 1..5" in str(err)
    assert f"first resp_id: {ids}" in str(err)
    assert err.problems[0]["n"] == 3
    assert err.problems[0]["column"] == "csat"


def test_first_five_ids_only(tmp_path, raw, cb):
    raw.loc[:9, "nps"] = 11
    path = write_csv(raw, tmp_path / "tracking.csv")
    err = _error(path, cb)
    assert "10 row(s) outside the scale 0..10" in str(err)
    assert err.problems[0]["ids"] == raw["resp_id"].iloc[:5].tolist()


def test_wrong_type(tmp_path, raw, cb):
    raw["design_weight"] = raw["design_weight"].astype(object)
    raw.loc[[1, 2], "design_weight"] = "heavy"
    raw["wave"] = raw["wave"].astype(object)
    raw.loc[4, "wave"] = "two"
    path = write_csv(raw, tmp_path / "tracking.csv")
    msg = str(_error(path, cb))
    assert "column 'design_weight': 2 row(s) not numeric (found 'heavy')" in msg
    assert f"column 'wave': 1 row(s) not numeric (found 'two'); first resp_id: {raw.resp_id[4]}" in msg


def test_not_whole_scale_point(tmp_path, raw, cb):
    raw["sat1"] = raw["sat1"].astype(float)
    raw.loc[0, "sat1"] = 3.5
    msg = str(_error(write_csv(raw, tmp_path / "tracking.csv"), cb))
    assert "column 'sat1': 1 row(s) not whole-number scale points (found 3.5)" in msg


def test_duplicate_ids(tmp_path, raw, cb):
    raw.loc[1, "resp_id"] = raw.loc[0, "resp_id"]
    raw.loc[3, "resp_id"] = raw.loc[2, "resp_id"]
    msg = str(_error(write_csv(raw, tmp_path / "tracking.csv"), cb))
    assert (f"column 'resp_id': duplicated id; first resp_id: {raw.resp_id[0]}, "
            f"{raw.resp_id[2]}") in msg


def test_missing_id(tmp_path, raw, cb):
    raw.loc[4, "resp_id"] = None
    msg = str(_error(write_csv(raw, tmp_path / "tracking.csv"), cb))
    assert "missing id (resp_id)" in msg and "row 5" in msg


def test_unknown_level(tmp_path, raw, cb):
    raw.loc[[0, 1], "brand"] = "zeta"
    raw.loc[2, "segment"] = "enterprise"
    msg = str(_error(write_csv(raw, tmp_path / "tracking.csv"), cb))
    assert "column 'brand': 2 row(s) with unknown level(s) 'zeta'; expected one of ['aurora'" in msg
    assert f"column 'segment': 1 row(s) with unknown level(s) 'enterprise'" in msg
    assert raw.resp_id[2] in msg


def test_bad_weight_and_date(tmp_path, raw, cb):
    raw.loc[0, "design_weight"] = 0
    raw.loc[1, "design_weight"] = np.nan
    raw.loc[2, "period"] = "Jan 2026"
    msg = str(_error(write_csv(raw, tmp_path / "tracking.csv"), cb))
    assert "column 'design_weight': 1 row(s) with a weight <= 0" in msg
    assert "column 'design_weight': 1 row(s) without a weight" in msg
    assert "column 'period': 1 row(s) not dates in the format %Y-%m (found 'Jan 2026')" in msg


def test_all_problems_reported_at_once(tmp_path, raw, cb):
    raw.loc[0, "nps"] = 12
    raw.loc[1, "brand"] = "zeta"
    err = _error(write_csv(raw.drop(columns=["ces"]), tmp_path / "tracking.csv"), cb)
    assert len(err.problems) == 3
    assert str(err).startswith(f"{tmp_path / 'tracking.csv'}: 3 problem(s)")


def test_composite_key(tmp_path, study, cb):
    pen = pd.read_csv(study / "penetration.csv")
    pen = pd.concat([pen, pen.iloc[[0]]])
    msg = str(_error(write_csv(pen, tmp_path / "penetration.csv"), cb, "penetration"))
    assert "column 'region/brand': duplicated id; first region/brand: north|aurora" in msg


def test_missing_file_and_unsupported_extension(tmp_path, cb):
    with pytest.raises(DataError, match=r"nothere\.csv: file not found"):
        read_survey(tmp_path / "nothere.csv", cb)
    txt = tmp_path / "data.txt"
    txt.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"data\.txt: unsupported file type '\.txt'; expected one "
                                        r"of \.csv, \.parquet, \.sav, \.xlsx"):
        read_survey(txt, cb)
    with pytest.raises(DataError, match="unsupported file type"):
        read_table(txt)
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "nothere.parquet")


def test_unparsable_file(tmp_path, cb):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot be read as parquet"):
        read_survey(bad, cb)


# ---- formats ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".csv", ".parquet", ".xlsx", ".sav"])
def test_round_trip_formats(tmp_path, study, cb, ext):
    ref = read_survey(study / "tracking.csv", cb).iloc[:150].reset_index(drop=True)
    path = atomic_write_frame(ref, tmp_path / f"tracking{ext}")
    back = read_survey(path, cb, "tracking")
    pd.testing.assert_frame_equal(back, ref, check_dtype=False, check_index_type=False)
    assert back["wave"].dtype == np.int64
    assert back["nps"].dtype == np.float64
    raw = read_table(path)
    assert len(raw) == len(ref)


def test_sav_value_labels_only_for_categoricals(tmp_path, cb):
    import pyreadstat

    df = pd.DataFrame({"resp_id": ["a", "b", "c"], "brand": [1.0, 2.0, 4.0],
                       "csat": [1.0, 5.0, 99.0]})
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(df, str(path), variable_value_labels={
        "brand": {1: "Aurora", 2: "Beacon", 3: "Cirrus", 4: "Delta"},
        "csat": {1: "Very dissatisfied", 5: "Very satisfied", 99: "Don't know"},
    })
    out = read_survey(path, cb)
    assert out["brand"].tolist() == ["aurora", "beacon", "delta"]
    assert out["csat"].tolist()[:2] == [1.0, 5.0]      # scale keeps its numeric codes
    assert np.isnan(out["csat"].iloc[2])                # 99 is a missing code
    assert read_table(path)["brand"].tolist() == [1.0, 2.0, 4.0]  # raw codes without codebook


# ---- PII ----------------------------------------------------------------------------------------------------
def test_mask_pii(study, cb):
    df = read_survey(study / "tracking.csv", cb)
    before = df.copy()
    masked = mask_pii(df, cb)
    pd.testing.assert_frame_equal(df, before)            # input unchanged
    assert list(masked.columns) == list(df.columns)
    has = df["email"].notna()
    assert has.any() and (~has).any()
    assert (masked.loc[has, "email"] == MASK_TOKEN).all()
    assert masked.loc[~has, "email"].isna().all()
    pd.testing.assert_frame_equal(masked.drop(columns="email"), df.drop(columns="email"))
    frame = read_survey(study / "frame.parquet", cb)
    assert set(mask_pii(frame, cb, token="[x]")["phone"]) == {"[x]"}


# ---- atomic writes and hashing ---------------------------------------------------------------------------
def test_atomic_writes(tmp_path):
    p = atomic_write_text(tmp_path / "sub" / "a.txt", "héllo\n")
    assert p.read_text(encoding="utf-8") == "héllo\n"
    atomic_write_bytes(p, b"second")
    assert p.read_bytes() == b"second"
    assert sorted(os.listdir(p.parent)) == ["a.txt"]


def test_atomic_frame_failure_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    atomic_write_frame(pd.DataFrame({"a": [1, 2]}), path)
    old = path.read_bytes()

    def half_write(self, target, *args, **kwargs):
        with open(target, "w") as fh:
            fh.write("a\n9")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_write)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_frame(pd.DataFrame({"a": [9, 9]}), path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["t.csv"]            # no temp file left behind


def test_atomic_replace_failure_leaves_old_file(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "a.txt", "old")

    def boom(src, dst):
        raise OSError("replace failed")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="replace failed"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_atomic_frame_rejects_unknown_extension(tmp_path):
    with pytest.raises(DataError, match=r"out\.json: unsupported file type '\.json'"):
        atomic_write_frame(pd.DataFrame({"a": [1]}), tmp_path / "out.json")
    assert os.listdir(tmp_path) == []


def test_sha256_file(tmp_path):
    p = atomic_write_bytes(tmp_path / "x.bin", b"cx workbench")
    assert sha256_file(p) == hashlib.sha256(b"cx workbench").hexdigest()
    assert sha256_file(p, chunk_size=3) == sha256_file(p)
    with pytest.raises(DataError, match="file not found"):
        sha256_file(tmp_path / "none.bin")
