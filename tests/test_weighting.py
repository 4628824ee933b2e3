"""Tests of workbench.weighting.

Reference weights come from R's survey package (tests/results/r/weighting.R; R 4.2.2,
survey 4.1.1): rake(), calibrate(calfun = "raking") with and without bounds, trimWeights().
"""

import doctest
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workbench import PROJECT_ROOT, weighting
from workbench.errors import ConvergenceWarning, DataError, ParamsError

RESULTS = PROJECT_ROOT / "tests" / "results"

# Raked weights: both sides are iterative.  Ours stop when every margin is within 1e-10
# (relative) of its target, R's were pushed to ~1e-13; the weights then agree to ~1e-11.
# 1e-9 is the tolerance (the issue asks for 1e-6).
RTOL_RAKE = 1e-9
# trimWeights is closed-form arithmetic: 1e-12.
RTOL_TRIM = 1e-12


@pytest.fixture(scope="module")
def sample():
    return pd.read_csv(RESULTS / "weighting_data.csv", comment="#")


@pytest.fixture(scope="module")
def margins():
    mg = pd.read_csv(RESULTS / "weighting_margins.csv", comment="#")
    totals = {v: dict(zip(g.level, g.total)) for v, g in mg.groupby("variable", sort=False)}
    shares = {v: dict(zip(g.level, g.share)) for v, g in mg.groupby("variable", sort=False)}
    return totals, shares


@pytest.fixture(scope="module")
def reference():
    return pd.read_csv(RESULTS / "weighting_reference.csv", comment="#")


# --------------------------------------------------------------------------- against R
def test_rake_matches_r_rake_and_calibrate(sample, margins, reference):
    totals, _ = margins
    w = weighting.rake(sample, totals, base_weight="base_w")
    assert isinstance(w, pd.Series) and w.name == "weight" and w.index.equals(sample.index)
    np.testing.assert_allclose(w, reference["rake"], rtol=RTOL_RAKE)  # survey::rake
    np.testing.assert_allclose(w, reference["calibrate_raking"], rtol=RTOL_RAKE)  # calibrate(calfun="raking")


def test_rake_shares_from_unit_weights_matches_r(sample, margins, reference):
    _, shares = margins
    w = weighting.rake(sample, shares)
    np.testing.assert_allclose(w, reference["rake_unweighted"], rtol=RTOL_RAKE)  # rake() to shares x n
    np.testing.assert_allclose(w.sum(), len(sample), rtol=1e-12)


def test_rake_shares_scale_to_base_total(sample, margins, reference):
    _, shares = margins
    w = weighting.rake(sample, shares, base_weight="base_w")
    scale = sample["base_w"].sum() / 50000.0  # R raked to totals summing to 50,000
    np.testing.assert_allclose(w, reference["rake"] * scale, rtol=RTOL_RAKE)


def test_bounded_rake_matches_r_calibrate_bounds(sample, margins, reference):
    totals, _ = margins
    w = weighting.rake(sample, totals, base_weight="base_w", bounds=(0.7, 1.6))
    # calibrate(calfun = "raking", bounds = c(0.7, 1.6)): Newton to 1e-14; ours to 1e-10
    np.testing.assert_allclose(w, reference["calibrate_bounded"], rtol=RTOL_RAKE)
    g = w / sample["base_w"]
    assert g.min() >= 0.7 - 1e-12 and g.max() <= 1.6 + 1e-12
    assert np.isclose(g.max(), 1.6) or np.isclose(g.min(), 0.7)  # bounds bind


def test_bounded_rake_with_loose_bounds_equals_raking(sample, margins, reference):
    totals, _ = margins
    w = weighting.rake(sample, totals, base_weight="base_w", bounds=(0.1, 10.0))
    np.testing.assert_allclose(w, reference["rake"], rtol=RTOL_RAKE)


@pytest.mark.parametrize("name,kw", [
    ("trim_upper", dict(upper=30)),
    ("trim_upper_strict", dict(upper=30, strict=True)),
    ("trim_both", dict(upper=30, lower=8)),
    ("trim_both_strict", dict(upper=30, lower=8, strict=True)),
    ("trim_lower_strict", dict(lower=8, strict=True)),
])
def test_trim_matches_r_trimweights(reference, name, kw):
    out = weighting.trim(reference["rake"], **kw)
    np.testing.assert_allclose(out, reference[name], rtol=RTOL_TRIM)  # survey::trimWeights
    np.testing.assert_allclose(out.sum(), reference["rake"].sum(), rtol=1e-12)


# --------------------------------------------------------------------------- properties
@st.composite
def _raking_problem(draw):
    n = draw(st.integers(20, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "a": rng.integers(0, 3, n),
        "b": rng.choice(["x", "y"], n),
        "base": rng.uniform(0.5, 3.0, n),
    })
    # every cell of a x b present, so that any margins can be met
    df.loc[:5, "a"] = [0, 1, 2, 0, 1, 2]
    df.loc[:5, "b"] = ["x", "x", "x", "y", "y", "y"]
    pa = rng.dirichlet(np.ones(3) * 5)
    pb = rng.dirichlet(np.ones(2) * 5)
    return df, {"a": dict(enumerate(pa)), "b": dict(zip("xy", pb))}


@settings(max_examples=40, deadline=None)
@given(problem=_raking_problem(), factor=st.floats(0.01, 100.0))
def test_rake_properties(problem, factor):
    df, shares = problem
    w = weighting.rake(df, shares, base_weight="base")
    total = df["base"].sum()
    for var, targets in shares.items():
        got = w.groupby(df[var]).sum()
        for level, share in targets.items():
            np.testing.assert_allclose(got[level], share * total, rtol=1e-9)
    # shares: scaling the base weights scales the result
    w2 = weighting.rake(df.assign(base=df["base"] * factor), shares, base_weight="base")
    np.testing.assert_allclose(w2, w * factor, rtol=1e-8)
    # totals: the base weights' scale does not matter
    totals = {v: {k: s * 1000 for k, s in t.items()} for v, t in shares.items()}
    w3 = weighting.rake(df, totals, base_weight="base")
    w4 = weighting.rake(df.assign(base=df["base"] * factor), totals, base_weight="base")
    np.testing.assert_allclose(w3, w4, rtol=1e-8)
    # raking raked weights changes nothing
    w5 = weighting.rake(df.assign(base=w3), totals, base_weight="base")
    np.testing.assert_allclose(w5, w3, rtol=1e-9)


def _feasible(df, shares, lo, hi):
    """Can weights with base * g, lo < g < hi (strictly), meet the margins?  (an LP)"""
    from scipy.optimize import linprog

    total = df["base"].sum()
    rows, rhs = [], []
    for v, t in shares.items():
        for level, share in t.items():
            rows.append(df["base"].to_numpy() * (df[v] == level).to_numpy())
            rhs.append(share * total)
    eps = 1e-6 * (hi - lo)
    res = linprog(np.zeros(len(df)), A_eq=np.array(rows), b_eq=rhs, bounds=[(lo + eps, hi - eps)] * len(df),
                  method="highs")
    return res.status == 0


@settings(max_examples=40, deadline=None)
@given(problem=_raking_problem(), squeeze=st.floats(0.05, 0.95))
def test_bounded_rake_solves_truncated_raking(problem, squeeze):
    """Whenever weights within the bounds can meet the margins, rake(bounds=) finds R's
    truncated-raking solution.  Its conditions: margins met, lo <= g <= hi, and
    g = clip(exp(eta_0 + eta_a + eta_b), lo, hi) for one additive eta (log g additive where free)."""
    df, shares = problem
    total = df["base"].sum()
    g_free = (weighting.rake(df, shares, base_weight="base") / df["base"]).to_numpy()
    need = [t * total / df.groupby(v)["base"].sum()[k] for v, tt in shares.items() for k, t in tt.items()]
    # bounds between the levels' average adjustments and the unbounded range: they bind
    lo = min(min(need), 1.0) - squeeze * (min(min(need), 1.0) - g_free.min())
    hi = max(max(need), 1.0) + squeeze * (g_free.max() - max(max(need), 1.0))
    if not _feasible(df, shares, lo, hi):
        return
    w = weighting.rake(df, shares, base_weight="base", bounds=(lo, hi), max_iter=200)  # no warning
    g = (w / df["base"]).to_numpy()
    for v, t in shares.items():
        got = w.groupby(df[v]).sum()
        np.testing.assert_allclose(got[list(t)], np.array(list(t.values())) * total, rtol=1e-9)
    assert g.min() >= lo * (1 - 1e-12) and g.max() <= hi * (1 + 1e-12)
    X = np.column_stack([np.ones(len(df))] + [(df["a"] == j).to_numpy(float) for j in (1, 2)]
                        + [(df["b"] == "y").to_numpy(float)])
    free = (g > lo * (1 + 1e-9)) & (g < hi * (1 - 1e-9))
    eta, *_ = np.linalg.lstsq(X[free], np.log(g[free]), rcond=None)
    fit = X @ eta
    np.testing.assert_allclose(fit[free], np.log(g[free]), atol=1e-7)
    assert (fit[g >= hi * (1 - 1e-9)] >= np.log(hi) - 1e-7).all()
    assert (fit[g <= lo * (1 + 1e-9)] <= np.log(lo) + 1e-7).all()


def test_zero_base_weights_stay_zero(sample, margins):
    totals, _ = margins
    df = sample.assign(base_w=sample["base_w"].where(sample.index % 50 != 0, 0.0))
    w = weighting.rake(df, totals, base_weight="base_w")
    assert (w[df["base_w"] == 0] == 0).all()
    for var, targets in totals.items():
        got = w.groupby(df[var]).sum()
        np.testing.assert_allclose(got[list(targets)], list(targets.values()), rtol=1e-9)


def test_rake_level_types(sample, margins):
    totals, _ = margins
    cat = sample.assign(age=pd.Categorical(sample["age"]), region=sample["region"].astype("category"))
    np.testing.assert_allclose(weighting.rake(cat, totals, base_weight="base_w"),
                               weighting.rake(sample, totals, base_weight="base_w"), rtol=1e-12)
    df = pd.DataFrame({"g": [1, 1, 2, 2, 2]})
    w = weighting.rake(df, {"g": {1: 0.5, 2: 0.5}})
    np.testing.assert_allclose(w, [1.25, 1.25, 5 / 6, 5 / 6, 5 / 6], rtol=1e-12)
    with pytest.raises(DataError, match=r"data level\(s\) 1, 2 have no target.*int.*str"):
        weighting.rake(df, {"g": {"1": 0.5, "2": 0.5}})


def test_rake_does_not_change_input(sample, margins):
    totals, _ = margins
    before = sample.copy()
    weighting.rake(sample, totals, base_weight="base_w", bounds=(0.7, 1.6))
    pd.testing.assert_frame_equal(sample, before)


# --------------------------------------------------------------------------- errors and warnings
def test_rake_errors(sample, margins):
    totals, shares = margins
    bad_totals = {**totals, "gender": {"female": 25000, "male": 24000}}
    with pytest.raises(DataError, match="inconsistent.*'gender': 49000"):
        weighting.rake(sample, bad_totals)
    almost = {**shares, "gender": {"female": 0.5, "male": 0.49}}
    with pytest.raises(DataError, match="shares must sum to 1"):
        weighting.rake(sample, almost)
    no_target = {**totals, "region": {k: v for k, v in totals["region"].items() if k != "east"} | {
        "north": totals["region"]["north"] + totals["region"]["east"]}}
    with pytest.raises(DataError, match=r"'region': data level\(s\) 'east' have no target"):
        weighting.rake(sample, no_target)
    extra = {**shares, "age": {**{k: v * 0.9 for k, v in shares["age"].items()}, "80+": 0.1}}
    with pytest.raises(DataError, match=r"'age': target level\(s\) '80\+' have no respondents"):
        weighting.rake(sample, extra)
    zero = {**shares, "age": {**shares["age"], "65+": 0.0}}
    zero["age"]["18-34"] += shares["age"]["65+"]
    with pytest.raises(DataError, match="target of 0 but respondents"):
        weighting.rake(sample, zero)
    with pytest.raises(DataError, match=r"'age' has missing values in rows 3, 10"):
        weighting.rake(sample.assign(age=sample["age"].where(~sample.index.isin([3, 10]))), shares)
    with pytest.raises(DataError, match="'sex'.*not found"):
        weighting.rake(sample, {"sex": {"f": 1.0}})
    with pytest.raises(DataError, match="non-negative"):
        weighting.rake(sample.assign(base_w=-sample["base_w"]), shares, base_weight="base_w")
    with pytest.raises(DataError, match=r"bounds \(0.9, 1.1\) cannot be met.*needs its weights multiplied"):
        weighting.rake(sample, totals, base_weight="base_w", bounds=(0.9, 1.1))
    with pytest.raises(ParamsError, match="lo <= 1 <= hi"):
        weighting.rake(sample, totals, bounds=(1.2, 2.0))
    with pytest.raises(ParamsError, match="non-empty mapping"):
        weighting.rake(sample, [("age", totals["age"])])
    with pytest.raises(ParamsError, match="finite and non-negative"):
        weighting.rake(sample, {**shares, "gender": {"female": 1.2, "male": -0.2}})
    with pytest.raises(ParamsError, match="max_iter"):
        weighting.rake(sample, shares, max_iter=0)


def test_rake_convergence_warning(sample, margins):
    totals, _ = margins
    with pytest.warns(ConvergenceWarning, match=r"after 1 iteration.*largest relative gap"):
        w = weighting.rake(sample, totals, base_weight="base_w", max_iter=1)
    assert np.isfinite(w).all()
    # margins that no weights can meet: "a" = 0 only with "b" = x, yet targets ask a = 0 for 80%
    # and b = x for 20%
    df = pd.DataFrame({"a": [0, 0, 1, 1, 1], "b": ["x", "x", "x", "y", "y"]})
    with pytest.warns(ConvergenceWarning, match="nearly inconsistent"):
        weighting.rake(df, {"a": {0: 0.8, 1: 0.2}, "b": {"x": 0.2, "y": 0.8}}, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weighting.rake(sample, totals, base_weight="base_w")


# --------------------------------------------------------------------------- trim
def test_trim_rules():
    w = pd.Series([1.0, 1.0, 1.0, 1.0, 10.0, 0.0], index=list("abcdef"), name="wt")
    eq = weighting.trim(w, upper=4.0)
    assert eq.index.equals(w.index) and eq.name == "wt"
    np.testing.assert_allclose(eq, [2.5, 2.5, 2.5, 2.5, 4.0, 0.0], rtol=1e-15)  # 6 spread over 4
    prop = weighting.trim(pd.Series([1.0, 2.0, 3.0, 10.0]), upper=5.0, redistribute="proportional")
    np.testing.assert_allclose(prop, [1 + 5 / 6, 2 * (1 + 5 / 6), 3 * (1 + 5 / 6), 5.0], rtol=1e-15)
    strict = weighting.trim(pd.Series([1.0, 2.0, 3.0, 10.0]), upper=5.0, redistribute="proportional", strict=True)
    assert strict.max() <= 5.0 + 1e-12 and np.isclose(strict.sum(), 16.0)
    untouched = np.array([1.0, 2.0])
    assert weighting.trim(untouched, upper=5.0).tolist() == [1.0, 2.0]
    assert isinstance(weighting.trim(untouched, upper=5.0), np.ndarray)


@settings(max_examples=50, deadline=None)
@given(ws=st.lists(st.floats(0.01, 100.0), min_size=3, max_size=50), cap=st.floats(1.05, 3.0),
       redistribute=st.sampled_from(["equal", "proportional"]))
def test_trim_strict_properties(ws, cap, redistribute):
    w = np.array(ws)
    upper = cap * w.mean()
    out = weighting.trim(w, upper=upper, strict=True, redistribute=redistribute)
    np.testing.assert_allclose(out.sum(), w.sum(), rtol=1e-10)
    assert out.max() <= upper * (1 + 1e-12)


def _r_trimweights(w, upper=np.inf, lower=-np.inf, strict=False, rounds=5_000):
    """survey:::trimWeights.survey.design2 (survey 4.1.1), line by line, as a loop.

    None when the repetitions have not stopped after ``rounds`` (R itself would run out of
    stack: it recurses once per round)."""
    pw = np.array(w, dtype=float)
    for _ in range(rounds):
        outside = (pw < lower) | (pw > upper)
        if not outside.any():
            return pw
        pwnew = np.maximum(lower, np.minimum(pw, upper))
        trimmings = pw - pwnew
        pwnew[~outside] += trimmings.sum() / (~outside).sum()
        pw = pwnew
        if not strict:
            return pw
    return None


@settings(max_examples=60, deadline=None)
@given(ws=st.lists(st.floats(0.01, 100.0), min_size=3, max_size=40), cap=st.floats(1.2, 3.0),
       side=st.sampled_from(["upper", "lower"]))
def test_trim_closed_form_equals_r_repetitions(ws, cap, side):
    w = np.array(ws)
    kw = {"upper": cap * w.mean()} if side == "upper" else {"lower": w.mean() / cap}
    expected = _r_trimweights(w, strict=True, **kw)
    assume(expected is not None)
    np.testing.assert_allclose(weighting.trim(w, strict=True, **kw), expected, rtol=1e-10)
    np.testing.assert_allclose(weighting.trim(w, **kw), _r_trimweights(w, **kw), rtol=1e-13)


def test_trim_errors():
    with pytest.raises(DataError, match="mean 5.5 is outside"):
        weighting.trim([1.0, 10.0], upper=3.0, strict=True)
    with pytest.raises(ParamsError, match="must be below"):
        weighting.trim([1.0, 2.0], upper=1.0, lower=2.0)
    with pytest.raises(DataError, match="finite and non-negative.*rows 1"):
        weighting.trim([1.0, np.nan], upper=3.0)
    with pytest.raises(ParamsError, match="redistribute"):
        weighting.trim([1.0, 2.0], upper=3.0, redistribute="spread")


# --------------------------------------------------------------------------- efficiency
@settings(max_examples=50, deadline=None)
@given(ws=st.lists(st.floats(0.01, 100.0), min_size=1, max_size=60))
def test_efficiency_is_kish(ws):
    w = np.array(ws)
    e = weighting.efficiency(w)
    cv2 = w.var(ddof=0) / w.mean() ** 2  # population variance
    np.testing.assert_allclose(e["deff"], 1 + cv2, rtol=1e-9)
    np.testing.assert_allclose(e["n_eff"], w.sum() ** 2 / np.sum(w**2), rtol=1e-12)
    np.testing.assert_allclose(e["efficiency"], e["n_eff"] / len(w), rtol=1e-12)
    assert e["n"] == len(w) and e["ratio"] == pytest.approx(w.max() / w.min())


def test_efficiency_ignores_zero_weights_and_checks_input():
    e = weighting.efficiency(pd.Series([2.0, 2.0, 0.0]))
    assert e == {"n": 2, "n_eff": 2.0, "deff": 1.0, "efficiency": 1.0, "min": 2.0, "max": 2.0, "ratio": 1.0}
    with pytest.raises(DataError, match="every weight is 0"):
        weighting.efficiency([0.0, 0.0])
    with pytest.raises(DataError, match="non-negative"):
        weighting.efficiency([1.0, -1.0])


def test_efficiency_table(sample, reference):
    df = sample.assign(w=reference["rake"])
    tab = weighting.efficiency_table(df, "w", by="region")
    assert list(tab.columns) == ["region", "n", "n_eff", "deff", "efficiency", "min", "max", "ratio"]
    for _, row in tab.iterrows():
        e = weighting.efficiency(df.loc[df.region == row.region, "w"])
        for k, v in e.items():
            assert row[k] == pytest.approx(v, rel=1e-12)
    whole = weighting.efficiency_table(df, "w")
    assert whole.iloc[0]["n_eff"] == pytest.approx(weighting.efficiency(df["w"])["n_eff"], rel=1e-12)


def test_docstring_examples():
    failures, tried = doctest.testmod(weighting, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried >= 8 and failures == 0
