"""Tests of workbench.metrics.

Reference values come from R's survey package (tests/results/r/metrics.R; R 4.2.2, survey 4.1.1):
with-replacement design svydesign(ids = ~1, weights = ~w), groups as domains (svyby / subset),
NPS by svycontrast of svymean(~prom + det), CIs by confint (normal quantile).
"""

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import PROJECT_ROOT, metrics
from workbench.errors import DataError, ParamsError
from workbench.lowbase import LowBaseRule

RESULTS = PROJECT_ROOT / "tests" / "results"

# Tolerances (relative).  Estimates are ratios of sums: R sums in long double, numpy's bincount in
# double, so agreement is ~1e-14; 1e-10 leaves room across platforms.  SEs involve one more
# square root and squared deviations: 1e-8.  Values that are exactly 0 in R (an NPS of 0, a
# CI bound near 0) are compared with an absolute tolerance on the scale of the metric.
RTOL_EST = 1e-10
RTOL_SE = 1e-8


def _atol(metric):
    return 1e-12 * (100.0 if metric == "nps" else 1.0)


@pytest.fixture(scope="module")
def survey_data():
    return pd.read_csv(RESULTS / "metrics_data.csv", comment="#")


@pytest.fixture(scope="module")
def reference():
    return pd.read_csv(RESULTS / "metrics_reference.csv", comment="#")


def _run(data, metric, score, **kw):
    if metric == "nps":
        return metrics.nps(data, score, **kw), "nps"
    if metric == "top_box":
        top, smax = (2, 5) if score == "csat" else (3, 7)
        return metrics.top_box(data, score, top=top, scale_max=smax, **kw), "share"
    if metric == "bottom_box":
        return metrics.bottom_box(data, score, bottom=2, scale_min=1, **kw), "share"
    return metrics.mean_score(data, score, **kw), "mean"


_CASES = [
    (metric, score, weighted, by)
    for metric, score in [("nps", "nps"), ("top_box", "csat"), ("bottom_box", "csat"), ("top_box", "ces"),
                          ("bottom_box", "ces"), ("mean_score", "csat"), ("mean_score", "ces")]
    for weighted in (True, False)
    for by in ("", "wave", "wave+segment")
]


@pytest.mark.parametrize("metric,score,weighted,by", _CASES)
def test_matches_r_survey(survey_data, reference, metric, score, weighted, by):
    ref = reference[(reference.metric == metric) & (reference.score == score)
                    & (reference.weighted == weighted) & (reference.by.fillna("") == by)]
    by_cols = by.split("+") if by else []
    ref = ref.sort_values(by_cols) if by_cols else ref
    res, col = _run(survey_data, metric, score, weight="w" if weighted else None, by=by_cols or None)
    assert len(res) == len(ref) > 0
    assert list(res.columns[: len(by_cols)]) == by_cols
    for b in by_cols:
        np.testing.assert_array_equal(res[b].to_numpy(), ref[b].to_numpy())
    atol = _atol(metric)
    np.testing.assert_array_equal(res["n"].to_numpy(), ref["n"].to_numpy())
    np.testing.assert_allclose(res[col], ref["est"], rtol=RTOL_EST, atol=atol)  # svymean / svycontrast
    np.testing.assert_allclose(res["se"], ref["se"], rtol=RTOL_SE)  # SE(svymean / svycontrast)
    np.testing.assert_allclose(res["ci_low"], ref["ci_low"], rtol=RTOL_EST, atol=atol)  # confint
    np.testing.assert_allclose(res["ci_high"], ref["ci_high"], rtol=RTOL_EST, atol=atol)
    # Kish n_eff: computed from its definition in the R script (no survey function), 1e-12
    np.testing.assert_allclose(res["n_eff"], ref["n_eff"], rtol=1e-12)
    if metric == "nps":  # svymean(~prom + pas + det)
        for c in ("promoters", "passives", "detractors"):
            np.testing.assert_allclose(res[c], ref[c], rtol=RTOL_EST)


def test_result_columns(survey_data):
    stat = ["se", "ci_low", "ci_high", "base_flag"]
    assert list(metrics.nps(survey_data, "nps", by="wave").columns) == [
        "wave", "n", "n_eff", "promoters", "passives", "detractors", "nps"] + stat
    assert list(metrics.top_box(survey_data, "csat", scale_max=5).columns) == ["n", "n_eff", "share"] + stat
    assert list(metrics.bottom_box(survey_data, "csat", scale_min=1).columns) == ["n", "n_eff", "share"] + stat
    assert list(metrics.mean_score(survey_data, "csat", by=["wave", "segment"]).columns) == [
        "wave", "segment", "n", "n_eff", "mean"] + stat


def test_base_flag_follows_rule(survey_data):
    res = metrics.nps(survey_data, "nps", weight="w", by=["wave", "segment"])
    rule = LowBaseRule(caution=50, min_test=30)
    np.testing.assert_array_equal(res["base_flag"], rule.status(res["n_eff"]))
    assert {"ok", "no_test"} <= set(res["base_flag"])  # segment D is small in every wave
    strict = metrics.nps(survey_data, "nps", weight="w", by=["wave", "segment"], rule=LowBaseRule(500, 400))
    np.testing.assert_array_equal(strict["base_flag"], LowBaseRule(500, 400).status(res["n_eff"]))


# --------------------------------------------------------------------------- comparisons vs R
@pytest.fixture(scope="module")
def compare_reference():
    return pd.read_csv(RESULTS / "metrics_compare.csv", comment="#")


_OPTS = {"nps": {}, "top_box": {"scale_max": 5}, "mean_score": {}}
_CMP_CASES = [
    (metric, score, weighted, by, between)
    for metric, score in [("nps", "nps"), ("top_box", "csat"), ("mean_score", "csat")]
    for weighted in (True, False)
    for by, between in [("", "wave"), ("segment", "wave"), ("", "segment")]
]


@pytest.mark.parametrize("metric,score,weighted,by,between", _CMP_CASES)
def test_compare_matches_r_svycontrast(survey_data, compare_reference, metric, score, weighted, by, between):
    ref = compare_reference[(compare_reference.metric == metric) & (compare_reference.weighted == weighted)
                            & (compare_reference.by.fillna("") == by) & (compare_reference.between == between)]
    reference = "rest" if between == "segment" else "previous"
    res = metrics.compare(survey_data, score, metric=metric, between=between, reference=reference,
                          weight="w" if weighted else None, by=by or None, **_OPTS[metric])
    keys = ([by] if by else []) + [between]
    ref = ref.rename(columns={"by_value": by, "level": between}) if by else ref.rename(columns={"level": between})
    merged = res.astype({k: str for k in keys}).merge(
        ref.astype({k: str for k in keys}), on=keys, suffixes=("", "_r"), validate="1:1")
    assert len(merged) == len(ref) == len(res) > 0
    atol = _atol(metric)
    np.testing.assert_allclose(merged["est"], merged["est_r"], rtol=RTOL_EST, atol=atol)
    np.testing.assert_allclose(merged["est_ref"], merged["est_ref_r"], rtol=RTOL_EST, atol=atol)
    np.testing.assert_allclose(merged["diff"], merged["diff_r"], rtol=RTOL_EST, atol=atol)  # svycontrast
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=RTOL_SE)  # SE(svycontrast)
    np.testing.assert_allclose(merged["ci_low"], merged["ci_low_r"], rtol=RTOL_EST, atol=atol)  # confint
    np.testing.assert_allclose(merged["ci_high"], merged["ci_high_r"], rtol=RTOL_EST, atol=atol)
    assert (merged["reference"].astype(str) == merged["reference_r"].astype(str)).all()


def test_adjust_p_matches_r_p_adjust():
    ref = pd.read_csv(RESULTS / "metrics_padjust.csv", comment="#")
    for method, col in [("fdr_bh", "fdr_bh"), ("holm", "holm"), ("bonferroni", "bonferroni"), ("fdr_by", "fdr_by")]:
        # stats::p.adjust; identical arithmetic up to rounding: 1e-12
        np.testing.assert_allclose(metrics.adjust_p(ref["p"], method=method), ref[col], rtol=1e-12)


def test_adjust_p_keeps_nan_and_index():
    p = pd.Series([0.01, np.nan, 0.04, 0.03], index=list("abcd"), name="p_val")
    out = metrics.adjust_p(p)
    assert list(out.index) == list("abcd") and out.name == "p_val"
    assert np.isnan(out["b"])
    # BH on the three tested values only: sorted 0.01, 0.03, 0.04 -> 0.03, 0.04, 0.04
    np.testing.assert_allclose(out[["a", "c", "d"]], [0.03, 0.04, 0.04], rtol=1e-14)
    with pytest.raises(ParamsError, match="multipletests"):
        metrics.adjust_p([0.1, 0.2], method="nope")
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        metrics.adjust_p([0.1, 1.2])


# --------------------------------------------------------------------------- design conventions
def test_domain_variance_uses_full_sample(survey_data):
    """A group's SE uses N - 1 of the whole design (svyby); a separate frame uses its own n."""
    full = metrics.mean_score(survey_data, "csat", weight="w", by="wave")
    alone = metrics.mean_score(survey_data[survey_data.wave == 2], "csat", weight="w")
    n_all, n_sub = len(survey_data), int((survey_data.wave == 2).sum())
    ratio = np.sqrt((n_sub / (n_sub - 1)) / (n_all / (n_all - 1)))
    np.testing.assert_allclose(alone["se"].iloc[0], full["se"].iloc[1] * ratio, rtol=1e-12)
    np.testing.assert_allclose(alone["mean"].iloc[0], full["mean"].iloc[1], rtol=1e-14)


def test_weighted_se_by_hand():
    y = np.array([1.0, 2.0, 4.0, 5.0, np.nan, 3.0])
    w = np.array([1.0, 2.0, 0.5, 1.5, 3.0, 0.0])
    g = np.array([0, 0, 0, 1, 1, 1])
    df = pd.DataFrame({"y": y, "w": w, "g": g})
    res = metrics.mean_score(df, "y", weight="w", by="g")
    n_design = len(df)
    for k in (0, 1):
        ok = (g == k) & ~np.isnan(y)
        m = np.sum(w[ok] * y[ok]) / np.sum(w[ok])
        z = w[ok] * (y[ok] - m) / np.sum(w[ok])  # influence values of the domain ratio mean
        se = np.sqrt(n_design / (n_design - 1) * np.sum(z**2))
        np.testing.assert_allclose(res["mean"].iloc[k], m, rtol=1e-14)
        np.testing.assert_allclose(res["se"].iloc[k], se, rtol=1e-13)
    assert res["n"].tolist() == [3, 1]  # group 1: NaN score and weight 0 do not count
    assert res["n_eff"].iloc[1] == pytest.approx(1.0)


def test_ci_uses_normal_quantile(survey_data):
    res = metrics.top_box(survey_data, "csat", scale_max=5, conf=0.9, weight="w")
    half = 1.6448536269514722 * res["se"]  # qnorm(0.95) in R
    np.testing.assert_allclose(res["ci_high"] - res["share"], half, rtol=1e-12)
    np.testing.assert_allclose(res["share"] - res["ci_low"], half, rtol=1e-12)


def test_missing_by_value_stays_in_design(survey_data):
    df = survey_data.copy()
    df.loc[df.index[:40], "segment"] = np.nan
    res = metrics.mean_score(df, "csat", weight="w", by="segment")
    assert res["segment"].tolist() == ["A", "B", "C", "D"]
    # the same numbers as dropping those rows from every group but keeping them in N
    dom = df.assign(segment=df["segment"].fillna("zz"))
    ref = metrics.mean_score(dom, "csat", weight="w", by="segment")
    pd.testing.assert_frame_equal(res, ref.iloc[:4])


def test_by_column_types_agree(survey_data):
    base = metrics.nps(survey_data, "nps", weight="w", by=["segment", "wave"])
    as_cat = survey_data.assign(segment=pd.Categorical(survey_data.segment), wave=survey_data.wave.astype(float))
    other = metrics.nps(as_cat, "nps", weight="w", by=["segment", "wave"])
    cols = ["n", "n_eff", "nps", "se", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(base[cols], other[cols])
    assert isinstance(other["segment"].dtype, pd.CategoricalDtype)
    # categories keep their own order (not alphabetical)
    rev = survey_data.assign(segment=pd.Categorical(survey_data.segment, categories=list("DCBA")))
    out = metrics.nps(rev, "nps", by="segment")
    assert out["segment"].astype(str).tolist() == list("DCBA")
    # many levels: the compressed grouping path gives the same as the dense path
    wide = survey_data.assign(big=survey_data["id"] * 10_000_019, small=survey_data["id"] % 7)
    a = metrics.mean_score(wide, "csat", by=["small", "big"])
    b = metrics.mean_score(wide.assign(big=wide["big"].astype(str).str.zfill(20)), "csat", by=["small", "big"])
    np.testing.assert_allclose(a["mean"], b["mean"])
    assert len(a) == len(wide)


def test_many_possible_groups(survey_data):
    """by columns whose level combinations outnumber the rows are numbered as observed."""
    rng = np.random.default_rng(3)
    df = survey_data.assign(a=rng.integers(0, 500, len(survey_data)).astype(str),
                            b=rng.integers(0, 500, len(survey_data)) * 1.5,
                            c=pd.Categorical(rng.integers(0, 40, len(survey_data))))
    df.loc[df.index[:5], "b"] = np.nan
    res = metrics.mean_score(df, "csat", weight="w", by=["a", "b", "c"])
    ok = df.dropna(subset=["b"])
    grouped = ok.assign(wy=ok.w * ok.csat, wok=ok.w * ok.csat.notna()).groupby(["a", "b", "c"], observed=True)
    ref = (grouped["wy"].sum() / grouped["wok"].sum()).reset_index(name="mean")
    assert len(res) == len(ref)
    np.testing.assert_array_equal(res[["a", "b"]].to_numpy(), ref[["a", "b"]].to_numpy())
    np.testing.assert_array_equal(res["c"].astype(int), ref["c"].astype(int))
    np.testing.assert_allclose(res["mean"], ref["mean"], rtol=1e-12)


def test_input_not_changed(survey_data):
    df = survey_data.copy()
    metrics.nps(df, "nps", weight="w", by=["wave", "segment"])
    metrics.compare(df, "csat", metric="mean_score", between="segment", reference="rest", weight="w")
    pd.testing.assert_frame_equal(df, survey_data)


# --------------------------------------------------------------------------- properties
_scores_0_10 = st.lists(st.one_of(st.integers(0, 10), st.none()), min_size=3, max_size=60)


def _frame(scores, draw_weights):
    n = len(scores)
    return pd.DataFrame({
        "s": pd.array(scores, dtype="Float64").to_numpy(dtype=float, na_value=np.nan),
        "w": draw_weights[:n] if draw_weights is not None else 1.0,
        "g": np.arange(n) % 3,
    })


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scores=_scores_0_10, factor=st.floats(1e-3, 1e3),
       weights=st.lists(st.floats(0.05, 20), min_size=60, max_size=60))
def test_weight_scale_invariance(scores, factor, weights):
    df = _frame(scores, np.array(weights))
    if df["s"].isna().all():
        return
    a = metrics.nps(df, "s", weight="w", by="g")
    b = metrics.nps(df.assign(w=df["w"] * factor), "s", weight="w", by="g")
    cols = ["n", "n_eff", "promoters", "passives", "detractors", "nps", "se", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(a[cols], b[cols], rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(st.integers(1, 5), min_size=2, max_size=80))
def test_unweighted_share_se_is_binomial(scores):
    df = pd.DataFrame({"s": scores})
    res = metrics.top_box(df, "s", top=2, scale_max=5)
    p = np.mean(np.array(scores) >= 4)
    n = len(scores)
    np.testing.assert_allclose(res["share"].iloc[0], p, rtol=1e-14)
    np.testing.assert_allclose(res["se"].iloc[0], np.sqrt(p * (1 - p) / (n - 1)), rtol=1e-10, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(scores=_scores_0_10, weights=st.lists(st.floats(0.0, 10), min_size=60, max_size=60))
def test_nps_equals_mean_of_recoded_score(scores, weights):
    df = _frame(scores, np.array(weights))
    if df["s"].isna().all():
        return
    recoded = df.assign(r=np.select([df.s >= 9, df.s <= 6], [100.0, -100.0], 0.0)).assign(
        r=lambda d: d.r.where(d.s.notna()))
    a = metrics.nps(df, "s", weight="w", by="g")
    b = metrics.mean_score(recoded, "r", weight="w", by="g")
    np.testing.assert_allclose(a["nps"], b["mean"], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-8, atol=1e-9)
    # boxes are means of indicators; bottom box of s is top box of the reversed scale
    top = metrics.top_box(df, "s", top=2, scale_max=10, weight="w", by="g")
    ind = df.assign(t=(df.s >= 9).astype(float).where(df.s.notna()))
    np.testing.assert_allclose(top["se"], metrics.mean_score(ind, "t", weight="w", by="g")["se"],
                               rtol=1e-8, atol=1e-12)
    bot = metrics.bottom_box(df.assign(s=10 - df.s), "s", bottom=2, scale_min=0, weight="w", by="g")
    np.testing.assert_allclose(bot["share"], top["share"], rtol=1e-12)
    np.testing.assert_allclose(bot["se"], top["se"], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"s": rng.integers(0, 11, 50).astype(float), "w": rng.uniform(0.2, 3, 50),
                       "g": rng.choice(["x", "y"], 50)})
    a = metrics.nps(df, "s", weight="w", by="g")
    b = metrics.nps(df.sample(frac=1, random_state=seed % 1000), "s", weight="w", by="g")
    cols = ["n", "n_eff", "nps", "se"]
    pd.testing.assert_frame_equal(a[cols], b[cols], rtol=1e-12)


# --------------------------------------------------------------------------- input checks
def test_input_errors(survey_data):
    df = survey_data
    with pytest.raises(DataError, match="'nope'.*not found"):
        metrics.nps(df, "nope")
    with pytest.raises(DataError, match="'ww'.*not found"):
        metrics.nps(df, "nps", weight="ww")
    with pytest.raises(DataError, match="'region'.*not found"):
        metrics.nps(df, "nps", by=["wave", "region"])
    with pytest.raises(DataError, match="'segment' must be numeric.*dtype"):
        metrics.mean_score(df, "segment")
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        metrics.nps(df.to_dict(), "nps")
    bad = df.assign(w=df.w.where(df.index != 5, -1.0))
    with pytest.raises(DataError, match="non-negative.*rows 5"):
        metrics.nps(bad, "nps", weight="w")
    with pytest.raises(DataError, match="missing values in rows 7"):
        metrics.nps(df.assign(w=df.w.where(df.index != 7)), "nps", weight="w")
    with pytest.raises(DataError, match=r"between 0 and 10.*99"):
        metrics.nps(df.assign(nps=df.nps.where(df.index != 3, 99)), "nps")
    with pytest.raises(DataError, match="whole-number.*7.5"):
        metrics.nps(df.assign(nps=df.nps.where(df.index != 3, 7.5)), "nps")
    with pytest.raises(DataError, match="infinite"):
        metrics.mean_score(df.assign(ces=df.ces.where(df.index != 3, np.inf)), "ces")
    with pytest.raises(DataError, match="'csat'.*between.*and 5.*6"):
        metrics.top_box(df.assign(csat=df.csat.where(df.index != 3, 6)), "csat", scale_max=5)
    with pytest.raises(DataError, match="no answers"):
        metrics.mean_score(df.assign(ces=np.nan), "ces")
    with pytest.raises(ParamsError, match="scale_max"):
        metrics.top_box(df, "csat", scale_max=None)
    with pytest.raises(ParamsError, match="`top`"):
        metrics.top_box(df, "csat", top=0, scale_max=5)
    with pytest.raises(ParamsError, match="`conf`"):
        metrics.nps(df, "nps", conf=95)
    with pytest.raises(ParamsError, match="same name as result columns"):
        metrics.nps(df.assign(se=1), "nps", by="se")
    with pytest.raises(DataError, match="one value per row"):
        metrics.nps(df, "nps", weight=np.ones(3))


def test_all_missing_group_gives_empty_row(survey_data):
    df = survey_data.assign(csat=survey_data.csat.where(survey_data.segment != "D"))
    res = metrics.mean_score(df, "csat", weight="w", by="segment")
    row = res[res.segment == "D"].iloc[0]
    assert row["n"] == 0 and row["n_eff"] == 0 and row["base_flag"] == "no_test"
    assert np.isnan(row[["mean", "se", "ci_low", "ci_high"]].astype(float)).all()
    nps = metrics.nps(survey_data.assign(nps=survey_data.nps.where(survey_data.segment != "D")), "nps", by="segment")
    assert nps.set_index("segment").loc["D", ["promoters", "nps", "se"]].isna().all()


def test_nullable_dtypes_accepted(survey_data):
    df = survey_data.assign(nps=survey_data.nps.astype("Int64"), w=survey_data.w.astype("Float64"))
    a = metrics.nps(df, "nps", weight="w")
    b = metrics.nps(survey_data, "nps", weight="w")
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- diff_test / compare
def test_diff_test_by_hand():
    res = metrics.diff_test([32.0, 10.0], [3.0, 1.0], [24.0, 10.0], [4.0, 1.0])
    np.testing.assert_allclose(res["se"], [5.0, np.sqrt(2)], rtol=1e-15)
    np.testing.assert_allclose(res["z"], [1.6, 0.0], rtol=1e-15)
    np.testing.assert_allclose(res["p_val"], [0.10959858339911599, 1.0], rtol=1e-12)  # 2*pnorm(-1.6) in R
    np.testing.assert_allclose(res["ci_low"], [8 - 1.959963984540054 * 5, -1.959963984540054 * np.sqrt(2)], rtol=1e-14)
    assert res["base_flag"].tolist() == ["ok", "ok"]


def test_diff_test_low_base_and_paired():
    est = pd.Series([50.0, 40.0, 30.0], index=["a", "b", "c"])
    res = metrics.diff_test(est, 2.0, 20.0, 2.0, n_eff1=[100, 40, 20], n_eff2=100)
    assert list(res.index) == ["a", "b", "c"]
    assert res["base_flag"].tolist() == ["ok", "caution", "no_test"]
    assert res["p_val"].isna().tolist() == [False, False, True]
    assert res["z"].isna().tolist() == [False, False, True]
    np.testing.assert_allclose(res["diff"], [30, 20, 10])
    paired = metrics.diff_test(5.0, 2.0, 3.0, 2.0, paired=True, cov=3.5)  # 4 + 4 - 7 = 1
    np.testing.assert_allclose(paired["se"], [1.0], rtol=1e-15)
    with pytest.raises(ParamsError, match="paired=True"):
        metrics.diff_test(5.0, 2.0, 3.0, 2.0, paired=True)
    with pytest.raises(ParamsError, match="only used with paired=True"):
        metrics.diff_test(5.0, 2.0, 3.0, 2.0, cov=1.0)
    with pytest.raises(DataError, match="covariance does not fit"):
        metrics.diff_test(5.0, 1.0, 3.0, 1.0, paired=True, cov=2.0)


def test_compare_references(survey_data):
    kw = dict(metric="mean_score", between="wave", weight="w")
    prev = metrics.compare(survey_data, "csat", reference="previous", **kw)
    first = metrics.compare(survey_data, "csat", reference="first", **kw)
    lvl = metrics.compare(survey_data, "csat", reference=3, **kw)
    assert prev["reference"].tolist() == [1, 2] and prev["wave"].tolist() == [2, 3]
    assert first["reference"].tolist() == [1, 1]
    assert lvl["wave"].tolist() == [1, 2] and lvl["reference"].tolist() == [3, 3]
    table = metrics.mean_score(survey_data, "csat", weight="w", by="wave").set_index("wave")
    np.testing.assert_allclose(lvl["diff"], table["mean"].loc[[1, 2]].to_numpy() - table["mean"].loc[3], rtol=1e-14)
    np.testing.assert_allclose(lvl["se"], np.hypot(table["se"].loc[[1, 2]].to_numpy(), table["se"].loc[3]), rtol=1e-14)
    with pytest.raises(ParamsError, match="level of 'wave'"):
        metrics.compare(survey_data, "csat", reference=9, **kw)
    with pytest.raises(ParamsError, match="does not take"):
        metrics.compare(survey_data, "csat", reference="first", scale_max=5, **kw)
    with pytest.raises(ParamsError, match="`metric`"):
        metrics.compare(survey_data, "csat", metric="median", between="wave", reference="first")
    with pytest.raises(ParamsError, match="also a `by` column"):
        metrics.compare(survey_data, "csat", reference="first", by="wave", **kw)


def test_compare_rest_equals_indicator_domains(survey_data):
    res = metrics.compare(survey_data, "nps", metric="nps", between="segment", reference="rest",
                          weight="w", by="wave")
    for _, row in res.sample(4, random_state=1).iterrows():
        sub = survey_data.assign(inseg=np.where(survey_data.segment == row.segment, "seg", "rest"))
        t = metrics.nps(sub, "nps", weight="w", by=["wave", "inseg"]).set_index(["wave", "inseg"])
        np.testing.assert_allclose(row.est_ref, t.loc[(row.wave, "rest"), "nps"], rtol=1e-12)
        np.testing.assert_allclose(row.se, np.hypot(t.loc[(row.wave, "seg"), "se"], t.loc[(row.wave, "rest"), "se"]),
                                   rtol=1e-12)
        assert row.n_ref == t.loc[(row.wave, "rest"), "n"]


def test_compare_missing_reference_group(survey_data):
    df = survey_data[~((survey_data.segment == "D") & (survey_data.wave == 2))]
    res = metrics.compare(df, "csat", metric="top_box", scale_max=5, between="wave", reference="previous", by="segment")
    d = res[res.segment == "D"].set_index("wave")
    assert np.isnan(d.loc[3, ["est_ref", "diff", "se", "p_val"]].astype(float)).all()
    assert d.loc[3, "n_ref"] == 0 and d.loc[3, "base_flag"] == "no_test"


def test_compare_low_base_not_tested(survey_data):
    res = metrics.compare(survey_data, "nps", metric="nps", between="wave", reference="previous", by="segment",
                          weight="w")
    low = res[np.minimum(res.n_eff, res.n_eff_ref) < 30]
    assert len(low) > 0 and low["p_val"].isna().all() and (low["base_flag"] == "no_test").all()
    assert res.loc[res.n_eff.clip(upper=res.n_eff_ref) >= 50, "p_val"].notna().all()


def test_docstring_examples():
    failures, tried = doctest.testmod(metrics, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried >= 6 and failures == 0
