"""Tests of workbench.tabs (the tab book and its column tests).

Reference values come from R (tests/results/r/tabs.R; R 4.2.2, survey 4.1.1): ``prop.test(correct =
FALSE)`` for the pooled column-proportions test (on effective bases when weighted), ``t.test``
(Welch) for unweighted means, ``svyby(covmat = TRUE)`` + ``svycontrast`` on
``svydesign(ids = ~1, weights = ~w)`` for the design-based tests, ``svyvar`` for SDs,
``svymean`` for SEs and ``p.adjust`` for Holm / Benjamini-Hochberg / Bonferroni.  The R script also
derives the letters and flags of a small book from those p-values, so the letters are compared
exactly.  R is not needed to run these tests.
"""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from workbench import PROJECT_ROOT, tabs
from workbench import _tabs as tb
from workbench.codebook import Codebook
from workbench.errors import CodebookError, DataError, ParamsError
from workbench.lowbase import LowBaseRule

RESULTS = PROJECT_ROOT / "tests" / "results"

# Tolerances (relative), one per statistic.  Shares and means are ratios of sums: R sums in long
# double, numpy in double, so they agree to ~1e-14; 1e-10 leaves room across platforms.  Standard
# errors, test statistics and SDs take one more square root of a sum of squares: 1e-8.  Welch's df
# is a ratio of such sums: 1e-8.  p-values: the tail of the normal or t distribution multiplies the
# relative error of the statistic by about stat^2 (up to ~40 here), so 1e-6, with an absolute
# 1e-14 for p-values that underflow differently.  Bases: counts are exact; weighted and effective
# bases are plain sums: 1e-12.
RTOL_EST = 1e-10
RTOL_SE = 1e-8
RTOL_STAT = 1e-8
RTOL_DF = 1e-8
RTOL_P = 1e-6
ATOL_P = 1e-14
RTOL_BASE = 1e-12


def _read(name):
    return pd.read_csv(RESULTS / name, comment="#", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def data():
    d = pd.read_csv(RESULTS / "tabs_data.csv", comment="#")
    for c in ("brand", "region", "plan"):
        d[c] = d[c].astype("str")  # NaN stays missing
    return d


@pytest.fixture(scope="module")
def cb():
    return Codebook.from_dict({
        "version": 1, "study": {"id": "tabs-test"},
        "datasets": {"d": {"file": "tabs_data.csv", "id": "id",
                           "columns": ["id", "wave", "brand", "region", "plan", "sat", "rec", "spend", "w"]}},
        "questions": {
            "id": {"type": "id"},
            "wave": {"type": "numeric", "integer": True, "min": 1},
            "brand": {"type": "categorical", "levels": ["a", "b", "c", "d"]},
            "region": {"type": "categorical", "levels": ["north", "south"]},
            "plan": {"type": "categorical", "levels": ["p1", "p2", "p3"]},
            "sat": {"type": "likert", "min": 1, "max": 5, "top_box": 2},
            "rec": {"type": "nps"},
            "spend": {"type": "numeric", "min": 0},
            "w": {"type": "weight"},
        }}, source="<tabs test>")


BANNER = [{"brand": ["a", "b", "c", "d", {"net": "ab", "label": {"en": "A or B"}, "codes": ["a", "b"]}]},
          {"region": "all"}]
NETS = {"plan": [{"net": "top", "codes": ["p1", "p2"]}]}
CONFIGS = {
    "weighted_pooled_holm": dict(weight="w", method="pooled", adjust="holm"),
    "weighted_design_fdr": dict(weight="w", method="design", adjust="fdr"),
    "unweighted_pooled_none": dict(weight=None, method="pooled", adjust="none"),
}


@pytest.fixture(scope="module")
def books(data, cb):
    return {name: tabs.tab_book(data, cb, banner=BANNER, stubs=["plan", "sat", "rec", "spend"], nets=NETS,
                                wave="wave", current=2, compare_previous=True, vs_total=True,
                                rule=LowBaseRule(caution=50, min_test=30), **kw)
            for name, kw in CONFIGS.items()}


def test_doctests():
    res = doctest.testmod(tabs, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0


# ------------------------------------------------------------------------------------------
# against R
# ------------------------------------------------------------------------------------------
def _close(ours, ref, rtol, atol=0.0, what=""):
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(ref, float), rtol=rtol, atol=atol,
                               err_msg=what)


@pytest.mark.parametrize("kind,method,weighted", [
    ("proportions", "pooled", True), ("proportions", "pooled", False),
    ("proportions", "design", True), ("proportions", "design", False),
    ("means", "welch", False), ("means", "design", True), ("means", "design", False)])
def test_column_tests_match_r(data, kind, method, weighted):
    ref = _read("tabs_pairs.csv")
    ref = ref[(ref["kind"] == kind) & (ref["method"] == method) & (ref["weighted"] == weighted)]
    got = []
    for row in ref["row"].unique():
        res = tabs.column_tests(data, row, "brand", weight="w" if weighted else None, kind=kind, method=method)
        got.append(res.assign(row=row))
    got = pd.concat(got)
    m = ref.merge(got, on=["row", "level", "col_a", "col_b"], suffixes=("_r", ""), validate="one_to_one")
    assert len(m) == len(ref) > 0
    _close(m["est_a"], m["est_a_r"], RTOL_EST, what="est_a")
    _close(m["diff"], m["diff_r"], RTOL_EST, atol=1e-15, what="diff")
    _close(m["se"], m["se_r"], RTOL_SE, what="se")  # prop.test by definition / t.test stderr / SE(svycontrast)
    _close(m["stat"], m["stat_r"], RTOL_STAT, what="stat")  # sqrt(X-squared) / t / z
    _close(m["df"], m["df_r"], RTOL_DF, what="df")  # Welch-Satterthwaite (Inf for z)
    _close(m["p_val"], m["p_val_r"], RTOL_P, ATOL_P, what="p_val")


@pytest.mark.parametrize("kind,weighted,method", [
    ("proportions", False, "pooled"), ("proportions", True, "pooled"),
    ("means", False, "welch"), ("means", True, "design")])
def test_column_tests_default_method_is_the_books(data, kind, weighted, method):
    # without `method`: pooled z for shares, Welch unweighted and design-based weighted for means (the R rows)
    ref = _read("tabs_pairs.csv")
    ref = ref[(ref["kind"] == kind) & (ref["method"] == method) & (ref["weighted"] == weighted)]
    row = ref["row"].iloc[0]
    ref = ref[ref["row"] == row]
    res = tabs.column_tests(data, row, "brand", weight="w" if weighted else None, kind=kind)
    m = ref.merge(res, on=["level", "col_a", "col_b"], suffixes=("_r", ""), validate="one_to_one")
    assert len(m) == len(ref) == len(res) > 0
    _close(m["p_val"], m["p_val_r"], RTOL_P, ATOL_P, what="p_val")
    _close(m["df"], m["df_r"], RTOL_DF, what="df")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_book_tests_match_r(books, config):
    ref = _read("tabs_book_tests.csv")
    ref = ref[ref["config"] == config]
    got = books[config].tests
    keys = ["stub", "row", "test", "group", "col_a", "col_b"]
    m = ref.merge(got, on=keys, suffixes=("_r", ""), how="left", validate="one_to_one", indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", keys]
    assert len(got) == len(ref)  # no test R does not make
    _close(m["est_a"], m["est_a_r"], RTOL_EST, what="est_a")
    _close(m["est_b"], m["est_b_r"], RTOL_EST, what="est_b")
    tested = m["p_val_r"].notna()  # R gives no SE for a pair below min_test; we keep it, untested
    assert m["p_val"].notna().eq(tested).all()
    assert tested.sum() > 0.5 * len(m)
    _close(m.loc[tested, "se"], m.loc[tested, "se_r"], RTOL_SE, what="se")
    _close(m["stat"], m["stat_r"], RTOL_STAT, what="stat")
    _close(m["df"], m["df_r"], RTOL_DF, what="df")
    _close(m["p_val"], m["p_val_r"], RTOL_P, ATOL_P, what="p_val")
    _close(m["p_adj"], m["p_adj_r"], RTOL_P, ATOL_P, what="p_adj")  # p.adjust within each family


@pytest.mark.parametrize("config", list(CONFIGS))
def test_book_letters_and_flags_match_r(books, config):
    ref = _read("tabs_book_cells.csv")
    ref = ref[ref["config"] == config].fillna({"letters": "", "vs_total": "", "vs_previous": ""})
    got = books[config].cells
    m = ref.merge(got, on=["stub", "row", "column"], suffixes=("_r", ""), validate="one_to_one")
    assert len(m) == len(ref) == len(got)
    for col in ("letters", "vs_total", "vs_previous"):  # exactly
        bad = m[m[col] != m[f"{col}_r"]]
        assert bad.empty, bad[["stub", "row", "column", col, f"{col}_r"]]
    assert (m["letters"] != "").sum() >= 10  # the reference exercises letters
    est = m["row"] != "se"
    _close(m.loc[est, "value"], m.loc[est, "value_r"], RTOL_EST, what="value")  # shares, means, NPS, SD
    _close(m.loc[~est, "value"], m.loc[~est, "value_r"], RTOL_SE, what="se")
    _close(m.loc[est, "previous"], m.loc[est, "previous_r"], RTOL_EST, what="previous")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_book_bases_match_r(books, config):
    ref = _read("tabs_book_bases.csv")
    ref = ref[ref["config"] == config]
    m = ref.merge(books[config].bases, on=["stub", "column"], suffixes=("_r", ""), validate="one_to_one")
    assert len(m) == len(ref)
    assert (m["n"] == m["n_r"]).all()
    _close(m["weighted"], m["weighted_r"], RTOL_BASE, what="weighted base")
    _close(m["n_eff"], m["n_eff_r"], RTOL_BASE, what="effective base")


@pytest.mark.parametrize("method", ["none", "bonferroni", "holm", "BH"])
def test_adjust_rows_matches_p_adjust(method):
    ref = _read("tabs_padjust.csv")
    ref = ref[ref["method"] == method].sort_values(["family", "position"])
    p = ref.pivot(index="family", columns="position", values="p").to_numpy()
    want = ref.pivot(index="family", columns="position", values="p_adj").to_numpy()
    ours = tb.adjust_rows(p, {"BH": "fdr"}.get(method, method))
    np.testing.assert_allclose(ours, want, rtol=1e-14, atol=1e-16)  # same arithmetic as p.adjust


# ------------------------------------------------------------------------------------------
# the spec: every problem named, all at once
# ------------------------------------------------------------------------------------------
def _problems(cb, data=None, banner=BANNER, stubs=("plan",), nets=None):
    return tabs.spec_problems(banner, list(stubs) if isinstance(stubs, tuple) else stubs, nets, codebook=cb,
                              data=data)


def test_spec_problems_name_each_item(cb, data):
    probs = _problems(cb, data, banner=[{"brnd": "all"}, {"brand": ["a", "z", {"net": "ab", "codes": ["a", "q"]}]},
                                        {"sat": "all"}, {"w": "all"}],
                      stubs=["plan", "nope", "id"], nets={"plan": [{"net": "top", "codes": ["p1", "p9"]}],
                                                          "ghost": [{"x": ["1"]}]})
    text = "\n".join(f"{k}: {m}" for k, m in probs)
    assert "'brnd' is not a variable" in text
    assert "'z' is not a level of 'brand'" in text
    assert "net 'ab': 'q' is not a level of 'brand'" in text
    assert "'w' is a weight question" in text
    assert "'nope' is not a question" in text
    assert "'id' is a id question" in text
    assert "nets.plan net 'top': 'p9' is not a level of 'plan'" in text
    assert "nets.ghost: 'ghost' is not a question" in text
    keys = [k for k, _ in probs]
    assert keys.count("banner") == 4 and keys.count("stubs") == 2 and keys.count("nets") == 2


@pytest.mark.parametrize("banner", [[], {}, None])
def test_empty_banner_is_a_problem(cb, banner):
    probs = _problems(cb, banner=banner)
    assert probs == [("banner", probs[0][1])] and "empty" in probs[0][1]


def test_a_wave_code_is_checked_against_the_data(cb, data):
    probs = _problems(cb, data, banner=[{"wave": [1, 2, 3]}])
    assert len(probs) == 1 and "'3' is not a level of 'wave'" in probs[0][1]
    assert _problems(cb, data, banner=[{"wave": [1, 2]}]) == []


def test_build_spec_raises_with_every_problem(cb, data):
    with pytest.raises(ParamsError) as err:
        tabs.tab_book(data, cb, banner=[{"brand": ["x"]}, "nowhere"], stubs=["zzz"])
    msg = str(err.value)
    assert "'x' is not a level" in msg and "'nowhere' is not a variable" in msg and "'zzz'" in msg


def test_default_stubs_follow_the_dataset_and_skip_roles(cb, data):
    book = tabs.tab_book(data, cb, banner=["region"], weight="w", wave="wave", dataset="d")
    assert [s.question for s in book.spec.stubs] == ["sat", "rec", "spend", "brand", "region", "plan"]
    assert [g[0] for g in book.spec.stub_groups] == ["questions", "profile"]


# ------------------------------------------------------------------------------------------
# behaviour
# ------------------------------------------------------------------------------------------
def test_input_is_not_changed(data, cb):
    before = data.copy()
    tabs.tab_book(data, cb, banner=BANNER, stubs=["plan", "sat"], weight="w", wave="wave", current="latest",
                  compare_previous=True)
    pd.testing.assert_frame_equal(data, before)


def test_row_order_and_weight_scale_do_not_matter(data, cb):
    kw = dict(banner=BANNER, stubs=["plan", "sat", "rec"], nets=NETS, wave="wave", current=2,
              compare_previous=True, adjust="holm")
    a = tabs.tab_book(data, cb, weight="w", **kw)
    shuffled = data.sample(frac=1.0, random_state=3).assign(w=lambda d: d["w"] * 7.5)
    b = tabs.tab_book(shuffled, cb, weight="w", **kw)
    pd.testing.assert_frame_equal(a.cells.drop(columns=[]), b.cells, check_exact=False, rtol=1e-9)
    pd.testing.assert_series_equal(a.bases["n_eff"], b.bases["n_eff"], rtol=1e-9)


def test_low_base_rule_no_test_and_caution(books, data, cb):
    book = books["weighted_pooled_holm"]
    d = book.bases[(book.bases["stub"] == "sat") & (book.bases["column"] == "brand:d")].iloc[0]
    assert d["n_eff"] < 30 and d["base_flag"] == "no_test"
    t = book.tests
    assert t.loc[(t["col_a"] == "brand:d") | (t["col_b"] == "brand:d"), "p_val"].isna().all()
    cells = book.cells[book.cells["column"] == "brand:d"]
    assert (cells["letters"] == "").all() and (cells["vs_total"] == "").all()
    strict = tabs.tab_book(data, cb, banner=BANNER, stubs=["sat"], weight="w", wave="wave", current=2,
                           rule=LowBaseRule(caution=200, min_test=100))
    flags = strict.bases.set_index(["stub", "column"])["base_flag"]
    assert flags[("sat", "brand:a")] == "caution" and flags[("sat", "total")] == "ok"


def test_a_net_and_its_own_levels_are_not_tested(books):
    t = books["weighted_design_fdr"].tests
    pairs = set(zip(t.loc[t["test"] == "pair", "col_a"], t.loc[t["test"] == "pair", "col_b"]))
    assert ("brand:a", "brand:net:ab") not in pairs and ("brand:b", "brand:net:ab") not in pairs
    assert ("brand:c", "brand:net:ab") in pairs


def test_letters_stay_within_their_group(books):
    book = books["unweighted_pooled_none"]
    region = book.cells[book.cells["column"].str.startswith("region:")]
    assert set("".join(region["letters"])) <= {"A", "B"}
    assert (book.cells.loc[book.cells["column"] == "total", "letters"] == "").all()


def test_no_previous_wave_means_no_previous_tests(data, cb):
    book = tabs.tab_book(data, cb, banner=BANNER, stubs=["sat"], weight="w", wave="wave", current=1,
                         compare_previous=True)
    assert book.settings["previous"] is None and book.settings["current"] == 1
    assert (book.tests["test"] != "previous").all()
    assert book.cells["previous"].isna().all() and (book.cells["vs_previous"] == "").all()


def test_the_wave_group_uses_every_wave(data, cb):
    book = tabs.tab_book(data, cb, banner=[{"wave": [1, 2]}, "region"], stubs=["sat"], wave="wave", current=2,
                         compare_previous=True)
    b = book.bases.set_index("column")
    assert b.loc["wave:2", "n"] == b.loc["total", "n"]  # the reported wave
    assert b.loc["wave:1", "n"] == b.loc["total", "n_prev"]  # the previous wave, as a column
    t = book.tests
    assert not t["col_a"].str.startswith("wave:").any() or (t.loc[t["col_a"].str.startswith("wave:"), "test"]
                                                            == "pair").all()


def test_column_tests_equal_the_book_pairs(data, cb):
    one = data[data["wave"] == 2]
    ct = tabs.column_tests(one, "plan", "region", weight="w", method="design")
    book = tabs.tab_book(one, cb, banner=["region"], stubs=["plan"], weight="w", method="design", vs_total=False)
    pairs = book.tests[book.tests["test"] == "pair"]
    np.testing.assert_allclose(pairs["p_val"].to_numpy(), ct["p_val"].to_numpy(), rtol=1e-12)


def test_column_tests_options_are_checked(data):
    with pytest.raises(ParamsError, match="method"):
        tabs.column_tests(data, "sat", "brand", kind="means", method="pooled")
    with pytest.raises(ParamsError, match="Welch"):
        tabs.column_tests(data, "sat", "brand", kind="means", method="welch", weight="w")
    with pytest.raises(ParamsError, match="kind"):
        tabs.column_tests(data, "sat", "brand", kind="medians")
    with pytest.raises(DataError, match="must be numeric"):
        tabs.column_tests(data, "plan", "brand", kind="means")


def test_off_scale_answers_are_an_error(data, cb):
    bad = data.assign(sat=data["sat"].where(data.index != 5, 9.0))
    with pytest.raises(DataError, match="off its scale"):
        tabs.tab_book(bad, cb, banner=["region"], stubs=["sat"])


def test_book_options_are_checked(data, cb):
    for kw, match in ((dict(method="chi"), "method"), (dict(adjust="sidak"), "adjust"),
                      (dict(sig_level=5), "sig_level")):
        with pytest.raises(ParamsError, match=match):
            tabs.tab_book(data, cb, banner=["region"], stubs=["sat"], **kw)


# ------------------------------------------------------------------------------------------
# nets defined once in the codebook
# ------------------------------------------------------------------------------------------
def _with_plan_nets(cb, nets):
    raw = cb.model_dump(mode="python", exclude_none=True)
    raw["questions"]["plan"]["nets"] = nets
    return Codebook.from_dict(raw, source="<tabs test, nets>")


def test_codebook_nets_are_rows_of_the_stub(data, cb):
    """A net written in the codebook is the same row as the same net given in the params."""
    kw = dict(banner=BANNER, stubs=["plan"], wave="wave", current=2, weight="w",
              rule=LowBaseRule(caution=50, min_test=30))
    by_params = tabs.tab_book(data, cb, nets=NETS, **kw)
    by_codebook = tabs.tab_book(data, _with_plan_nets(cb, [{"net": "top", "codes": ["p1", "p2"]}]), **kw)
    pd.testing.assert_frame_equal(by_params.cells, by_codebook.cells)
    pd.testing.assert_frame_equal(by_params.tests, by_codebook.tests)
    top = by_codebook.cells[by_codebook.cells["row"] == "net:top"]
    assert len(top) == len(by_codebook.columns) and top["value"].between(0, 1).all()
    # the share of the net is the sum of its levels' shares, column by column
    levels = by_codebook.cells[by_codebook.cells["row"].isin(["level:p1", "level:p2"])]
    summed = levels.groupby("column")["value"].sum()
    np.testing.assert_allclose(top.set_index("column")["value"].loc[summed.index], summed, rtol=1e-12)


def test_params_net_replaces_the_codebook_net_of_the_same_id(data, cb):
    book_cb = _with_plan_nets(cb, [{"net": "top", "codes": ["p1", "p2"]},
                                   {"net": "edge", "label": {"en": "P1 or P3"}, "codes": ["p1", "p3"]}])
    book = tabs.tab_book(data, book_cb, banner=BANNER, stubs=["plan"],
                         nets={"plan": [{"net": "top", "codes": ["p2", "p3"]}]})
    rows = [r for s in book.spec.stubs for r in s.rows if r.kind == "net"]
    assert {r.key: r.codes for r in rows} == {"net:edge": ("p1", "p3"), "net:top": ("p2", "p3")}


@pytest.mark.parametrize("nets, words", [
    ([{"net": "top", "codes": ["p1", "p9"]}], "'p9' is not a level"),
    ([{"net": "top", "codes": ["p1"]}, {"net": "top", "codes": ["p2"]}], "used twice"),
    ([{"net": "top", "codes": []}], "codes"),
])
def test_codebook_refuses_a_bad_net(cb, nets, words):
    with pytest.raises(CodebookError) as exc:
        _with_plan_nets(cb, nets)
    assert "<tabs test, nets>: questions.plan" in str(exc.value) and words in str(exc.value)
