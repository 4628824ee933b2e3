"""Tests of workbench.sampling.

Reference values: R (stats::power.prop.test and formulas written out independently in
tests/results/r/sampling_power.R and sampling_allocation.R, outputs in tests/results/sampling_*.csv),
textbook / published worked examples cited next to each number, and property tests (hypothesis).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from workbench import sampling as S
from workbench.codebook import load_codebook
from workbench.errors import DataError, ParamsError, WorkbenchWarning
from workbench.i18n import t as i18n_t

RESULTS = Path(__file__).parent / "results"
CONF_Z196 = 2 * norm.cdf(1.96) - 1  # the confidence level whose two-sided z is exactly 1.96


def ref(name):
    return pd.read_csv(RESULTS / name, comment="#")


def alt(r_alternative):
    return {"two.sided": "two-sided", "one.sided": "one-sided"}[r_alternative]


# ============================================================================================
# published / textbook values
# ============================================================================================
def test_cochran_n0_textbook():
    # n0 = 1.96^2 * .5 * .5 / .05^2 = 384.16 (Cochran 1977, Sampling Techniques, 3rd ed., ch. 4;
    # the figure every survey text quotes for +/-5% at 95% with p = .5)
    assert S.sample_size_proportion(0.05, conf=CONF_Z196) == pytest.approx(384.16, rel=1e-9)
    # with the exact z = 1.959964: 384.1459 (R: qnorm(.975)^2 * .25 / .05^2)
    assert S.sample_size_proportion(0.05) == pytest.approx(384.14588206941244, rel=1e-12)


def test_cochran_fpc_worked_examples():
    # Cochran's correction n0 / (1 + (n0 - 1)/N): 384.16 / (1 + 383.16/10000) = 369.98 -> 370
    # (worked example, https://theprimecalculator.com/education/sample-size-research/formula)
    n = S.sample_size_proportion(0.05, conf=CONF_Z196, population=10_000)
    assert n == pytest.approx(384.16 / (1 + 383.16 / 10_000), rel=1e-9)
    assert math.ceil(n) == 370
    # the simple convention n0 / (1 + n0/N) with n0 = 384, N = 528: 222.3 -> "222"
    # (worked example citing Cochran 1977, https://gist.github.com/marcoscaceres/7137166)
    moe = 1.96 * math.sqrt(0.25 / 384)  # the margin whose n0 is exactly 384
    n = S.sample_size_proportion(moe, conf=CONF_Z196, population=528, fpc="simple")
    assert n == pytest.approx(384 / (1 + 384 / 528), rel=1e-9)
    assert math.floor(n) == 222


def test_neyman_textbook():
    # Two strata, N = 100,000 and 500,000, S = 20 and 12, n = 100 (exercise quoted at
    # http://mathhelpforum.com/advanced-statistics/183666-optimal-allocation-problem.html):
    # n_H = 100 * 2.0e6 / (2.0e6 + 6.0e6) = 25, n_L = 75 (hand computation).
    strata = pd.DataFrame({"population": [100_000, 500_000], "sd": [20, 12]}, index=["H", "L"])
    al = S.allocate(strata, 100, method="neyman", sd="sd")
    assert al["n"].tolist() == [25, 75]
    assert al["n_exact"].tolist() == pytest.approx([25.0, 75.0], rel=1e-12)
    # Three strata N = 500, 300, 200, sigma = 1, 5, 5, n = 10 -> 10 * (500, 1500, 1000)/3000
    # = 1.667, 5, 3.333 -> integers 2, 5, 3 (largest remainder)
    strata = pd.DataFrame({"population": [500, 300, 200], "sd": [1, 5, 5]})
    al = S.allocate(strata, 10, method="neyman", sd="sd")
    assert al["n_exact"].tolist() == pytest.approx([5 / 3, 5.0, 10 / 3], rel=1e-12)
    assert al["n"].tolist() == [2, 5, 3]


def test_nps_variance_by_hand():
    # 40% promoters, 20% detractors: E[X^2] = .6, E[X] = .2 -> .6 - .04 = .56
    assert S.nps_variance(0.4, 0.2) == pytest.approx(0.56, rel=1e-15)
    # all passives: no variance; half promoters half detractors: variance 1 (the maximum)
    assert S.nps_variance(0.0, 0.0) == 0.0
    assert S.nps_variance(0.5, 0.5) == pytest.approx(1.0, rel=1e-15)


# ============================================================================================
# against R
# ============================================================================================
def test_power_matches_r_power_prop_test():
    r = ref("sampling_power_prop.csv")
    got = [
        S.power_two_proportions(row.n, row.n, row.p1, row.p2, conf=1 - row.sig_level,
                                alternative=alt(row.alternative), strict=bool(row.strict))
        for row in r.rename(columns={"sig.level": "sig_level"}).itertuples()
    ]
    # same closed formula; only rounding differs (1 - (1 - alpha) != alpha in the last bit)
    np.testing.assert_allclose(got, r["power"], rtol=1e-10, atol=0)


def test_sample_size_matches_r_power_prop_test():
    r = ref("sampling_n_prop.csv").rename(columns={"sig.level": "sig_level"})
    got = [
        S.sample_size_two_proportions(row.p1, row.p2, row.power, conf=1 - row.sig_level,
                                      alternative=alt(row.alternative), strict=bool(row.strict))
        for row in r.itertuples()
    ]
    # R finds n by uniroot (tol = 1e-12 in the script); ours is closed form (strict: brentq)
    np.testing.assert_allclose(got, r["n"], rtol=1e-9, atol=0)


def test_mdc_matches_r_power_prop_test_p2():
    r = ref("sampling_mdc_prop.csv").rename(columns={"sig.level": "sig_level"})
    got = S.mdc_proportion(r["n"].to_numpy(), r["n"].to_numpy(), r["p1"].to_numpy(),
                           power=r["power"].to_numpy(), conf=1 - r["sig_level"].to_numpy(),
                           alternative="two-sided")
    two = (r["alternative"] == "two.sided").to_numpy()
    # R solves p2 by uniroot (tol = 1e-12); ours by brentq (xtol = 1e-14)
    np.testing.assert_allclose(got[two], r["mdc"][two], rtol=0, atol=1e-9)
    one = ~two
    got1 = S.mdc_proportion(r["n"][one].to_numpy(), r["n"][one].to_numpy(), r["p1"][one].to_numpy(),
                            power=r["power"][one].to_numpy(),
                            conf=1 - r["sig_level"][one].to_numpy(), alternative="one-sided")
    np.testing.assert_allclose(got1, r["mdc"][one], rtol=0, atol=1e-9)


def test_power_unequal_bases_formula_and_simulation():
    r = ref("sampling_power_unequal.csv")
    got = S.power_two_proportions(r["n1"].to_numpy(), r["n2"].to_numpy(), r["p1"].to_numpy(),
                                  r["p2"].to_numpy())
    # the same formula written out in R
    np.testing.assert_allclose(got, r["power"], rtol=1e-12)
    # against the simulated power of the pooled z-test (200,000 reps, MC SE ~0.001): the normal
    # approximation itself is off by up to ~0.006 at these bases, hence the loose 0.01
    np.testing.assert_allclose(got, r["power_mc"], rtol=0, atol=0.01)


def test_sample_sizes_match_r():
    r = ref("sampling_sizes.csv")
    pop = r["population"].replace(np.inf, np.nan)
    for fpc in ("cochran", "simple"):
        sub = r[r["fpc"] == fpc]
        finite = pop[sub.index].notna()
        for mask, population in ((finite, pop[sub.index][finite].to_numpy()), (~finite, None)):
            s = sub[mask.to_numpy()]
            got = S.sample_size_proportion(s["moe"].to_numpy(), p=s["p"].to_numpy(),
                                           conf=s["conf"].to_numpy(), population=population,
                                           deff=s["deff"].to_numpy(), fpc=fpc)
            # closed form in both; R also checked it against uniroot of the moe equation
            np.testing.assert_allclose(got, s["n"], rtol=1e-12)
            back = S.margin_of_error_proportion(got, p=s["p"].to_numpy(), conf=s["conf"].to_numpy(),
                                                population=population, deff=s["deff"].to_numpy(),
                                                fpc=fpc)
            np.testing.assert_allclose(back, s["moe"], rtol=1e-12)


def test_nps_matches_r():
    r = ref("sampling_nps.csv")
    pp, pm, conf = r["promoters"].to_numpy(), r["detractors"].to_numpy(), r["conf"].to_numpy()
    np.testing.assert_allclose(S.nps_variance(pp, pm), r["variance"], rtol=1e-12)
    np.testing.assert_allclose(S.sample_size_nps(5, promoters=pp, detractors=pm, conf=conf),
                               r["n_moe5"], rtol=1e-12)
    np.testing.assert_allclose(S.margin_of_error_nps(1000, promoters=pp, detractors=pm, conf=conf),
                               r["moe_n1000"], rtol=1e-12)
    np.testing.assert_allclose(S.mdc_nps(1000, 1000, pp, pm, 0.8, conf=conf), r["mdc_n1000"],
                               rtol=1e-12)


def _ref_cases():
    return ref("sampling_allocation.csv")


ALLOC_CASES = {
    "proportional": dict(method="proportional"),
    "proportional_min300": dict(method="proportional"),
    "neyman_p": dict(method="neyman", p="p"),
    "neyman_p_min100_max250": dict(method="neyman", p="p"),
    "optimal_cost_min80": dict(method="optimal", sd="sd", cost="cost"),
    "equal_max_pop": dict(method="equal"),
    "penetration_min150_max400": dict(method="penetration"),
}


@pytest.mark.parametrize("case", sorted(ALLOC_CASES))
def test_allocation_matches_r(case):
    r = _ref_cases()
    r = r[r["case"] == case].reset_index(drop=True)
    strata = r[["brand", "region", "category_users", "penetration", "population", "p", "sd", "cost"]]
    kw = dict(ALLOC_CASES[case])
    max_n = r["max_n"].iloc[0]
    al = S.allocate(strata, int(r["n_total"].iloc[0]), by=["brand", "region"],
                    min_n=float(r["min_n"].iloc[0]) or None,
                    max_n=None if np.isinf(max_n) else float(max_n), **kw)
    # independent algorithm in R (fix-and-reallocate iteration, KKT-checked): same optimum
    np.testing.assert_allclose(al["n_exact"], r["n_exact"], rtol=1e-9)
    assert al["n"].tolist() == r["n"].astype(int).tolist()  # same largest-remainder integers
    moe = S.allocate(strata, int(r["n_total"].iloc[0]), by=["brand", "region"],
                     min_n=float(r["min_n"].iloc[0]) or None,
                     max_n=None if np.isinf(max_n) else float(max_n),
                     **{**kw, "p": "p"} if kw["method"] != "optimal" else kw)
    if kw["method"] != "optimal":
        np.testing.assert_allclose(moe["moe"], r["moe"], rtol=1e-12)
    summ_r = ref("sampling_allocation_summary.csv").set_index("case").loc[case]
    s = S.allocation_summary(al, p=r["p"].to_numpy())
    assert s["deff"] == pytest.approx(summ_r["deff"], rel=1e-12)  # Kish 1+cv^2, closed form
    assert s["n_eff"] == pytest.approx(summ_r["n_eff"], rel=1e-12)
    assert s["moe"] == pytest.approx(summ_r["moe"], rel=1e-12)  # stratified moe with FPC


# ============================================================================================
# properties
# ============================================================================================
fpcs = st.sampled_from(["cochran", "simple"])


@settings(max_examples=150, deadline=None)
@given(moe=st.floats(0.005, 0.2), p=st.floats(0.01, 0.99), conf=st.floats(0.5, 0.999),
       deff=st.floats(1.0, 4.0), population=st.one_of(st.none(), st.floats(50, 1e7)), fpc=fpcs)
def test_margin_is_inverse_of_sample_size(moe, p, conf, deff, population, fpc):
    n = S.sample_size_proportion(moe, p=p, conf=conf, population=population, deff=deff, fpc=fpc)
    back = S.margin_of_error_proportion(n, p=p, conf=conf, population=population, deff=deff, fpc=fpc)
    assert back == pytest.approx(moe, rel=1e-10)
    # the recommended (ceiled) base meets the target
    nc = math.ceil(n - 1e-9)
    if population is None or nc <= population:
        got = S.margin_of_error_proportion(nc, p=p, conf=conf, population=population, deff=deff,
                                           fpc=fpc)
        assert got <= moe * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(moe=st.floats(0.5, 20), pp=st.floats(0.0, 0.9), pm=st.floats(0.01, 0.5),
       sd=st.floats(0.1, 5), population=st.one_of(st.none(), st.floats(100, 1e6)), fpc=fpcs)
def test_nps_and_mean_inverse(moe, pp, pm, sd, population, fpc):
    pm = min(pm, 1 - pp)
    if S.nps_variance(pp, pm) > 1e-6:
        n = S.sample_size_nps(moe, promoters=pp, detractors=pm, population=population, fpc=fpc)
        assert S.margin_of_error_nps(n, promoters=pp, detractors=pm, population=population,
                                     fpc=fpc) == pytest.approx(moe, rel=1e-10)
    m = moe / 10
    n = S.sample_size_mean(m, sd=sd, population=population, fpc=fpc)
    assert S.margin_of_error_mean(n, sd=sd, population=population, fpc=fpc) == pytest.approx(m, rel=1e-10)


def test_fpc_conventions_order_and_limits():
    n_c = S.sample_size_proportion(0.03, population=2000)
    n_s = S.sample_size_proportion(0.03, population=2000, fpc="simple")
    n0 = S.sample_size_proportion(0.03)
    assert n_s < n_c < n0  # (n0-1)/N < n0/N
    assert n_c == pytest.approx(n0 / (1 + (n0 - 1) / 2000), rel=1e-14)
    assert n_s == pytest.approx(n0 / (1 + n0 / 2000), rel=1e-14)
    # design effect multiplies n0 before the correction
    assert S.sample_size_proportion(0.03, deff=1.5) == pytest.approx(1.5 * n0, rel=1e-14)
    # census: no sampling error
    assert S.margin_of_error_proportion(2000, population=2000) == 0.0


def test_vectorised_equals_scalar_loop():
    moes = np.array([0.02, 0.03, 0.05])
    ps = np.array([0.5, 0.3, 0.1])
    vec = S.sample_size_proportion(moes, p=ps, population=5000)
    loop = [S.sample_size_proportion(m, p=p, population=5000) for m, p in zip(moes, ps)]
    assert isinstance(vec, np.ndarray) and isinstance(loop[0], float)
    np.testing.assert_array_equal(vec, loop)
    ns = np.array([200, 500, 1000])
    np.testing.assert_allclose(S.mdc_proportion(ns, ns, 0.4),
                               [S.mdc_proportion(n, n, 0.4) for n in ns], rtol=0, atol=0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(50, 5000), p=st.floats(0.05, 0.95), power=st.floats(0.5, 0.95),
       ratio=st.floats(0.3, 3.0), direction=st.sampled_from(["increase", "decrease"]))
def test_mdc_reaches_the_power(n, p, power, ratio, direction):
    n2 = n * ratio
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        d = S.mdc_proportion(n, n2, p, power=power, direction=direction)
    if np.isnan(d):
        return
    p2 = p + d if direction == "increase" else p - d
    if not 0 < p2 < 1:
        return
    assert S.power_two_proportions(n, n2, p, p2) == pytest.approx(power, abs=1e-9)


def test_sample_size_two_proportions_ratio_and_deff():
    n1 = S.sample_size_two_proportions(0.30, 0.36, 0.8, ratio=2.0, deff=1.4)
    assert S.power_two_proportions(n1, 2 * n1, 0.30, 0.36, deff=1.4) == pytest.approx(0.8, abs=1e-12)
    # one wave as an NPS inverse: mdc at the required base equals the change
    n = S.sample_size_two_nps(6, promoters=0.45, detractors=0.2, ratio=0.5, deff=1.2)
    assert S.mdc_nps(n, 0.5 * n, 0.45, 0.2, deff=1.2) == pytest.approx(6.0, rel=1e-12)


def test_power_monotone_in_n_and_deff():
    ns = np.arange(100, 5000, 100)
    pw = S.power_two_proportions(ns, ns, 0.3, 0.34)
    assert np.all(np.diff(pw) > 0)
    assert S.power_two_proportions(800, 800, 0.3, 0.34, deff=2) == pytest.approx(
        S.power_two_proportions(400, 400, 0.3, 0.34), rel=1e-14)


def test_precision_table():
    t = S.precision_table([250, 1000], p=0.4, promoters=0.4, detractors=0.2, deff=1.2)
    assert t.columns.tolist() == ["n", "moe", "mdc", "moe_nps", "mdc_nps"]
    assert t["moe"].iloc[1] == S.margin_of_error_proportion(1000, p=0.4, deff=1.2)
    assert t["mdc_nps"].iloc[0] == S.mdc_nps(250, 250, 0.4, 0.2, deff=1.2)
    assert S.precision_table(500).columns.tolist() == ["n", "moe", "mdc"]


# ---------------------------------------------------------------- allocation properties ----
@st.composite
def allocation_problem(draw):
    H = draw(st.integers(1, 12))
    pop = draw(st.lists(st.integers(1, 50_000), min_size=H, max_size=H))
    sd = draw(st.lists(st.floats(0.05, 3.0), min_size=H, max_size=H))
    cost = draw(st.lists(st.floats(1.0, 50.0), min_size=H, max_size=H))
    method = draw(st.sampled_from(["proportional", "neyman", "optimal", "equal"]))
    total = sum(pop)
    n = draw(st.integers(1, min(total, 20_000)))
    use_min = draw(st.booleans())
    use_max = draw(st.booleans())
    mn = draw(st.integers(0, max(0, n // H))) if use_min else None
    mx = draw(st.integers(max(1, n // H + 1), n + 1)) if use_max else None
    return H, pop, sd, cost, method, n, mn, mx


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(allocation_problem())
def test_allocation_sums_and_bounds(problem):
    H, pop, sd, cost, method, n, mn, mx = problem
    strata = pd.DataFrame({"population": pop, "sd": sd, "cost": cost})
    kw = {"neyman": {"sd": "sd"}, "optimal": {"sd": "sd", "cost": "cost"}}.get(method, {})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WorkbenchWarning)
            al = S.allocate(strata, n, method=method, min_n=mn, max_n=mx, **kw)
    except ParamsError as exc:  # infeasible: must be for a reason we can state
        lower = np.minimum(mn or 0, pop)
        upper = np.minimum(mx if mx is not None else np.inf, pop)
        assert (mn is not None and np.any(np.array(pop) < mn)) or lower.sum() > n or upper.sum() < n, str(exc)
        return
    assert al["n"].sum() == n
    lo = 0 if mn is None else mn
    assert (al["n"] >= lo).all()
    assert (al["n"] <= np.minimum(pop, np.inf if mx is None else mx)).all()
    assert (np.abs(al["n"] - al["n_exact"]) < 1).all()
    # free strata share one ratio n_exact / a_h (the bound-constrained solution structure)
    a = {"proportional": strata["population"], "equal": pd.Series(1.0, index=strata.index),
         "neyman": strata["population"] * strata["sd"],
         "optimal": strata["population"] * strata["sd"] / np.sqrt(strata["cost"])}[method]
    free = al["bound"] == "free"
    if free.sum() > 1:
        ratio = al.loc[free, "n_exact"] / a[free]
        assert ratio.max() == pytest.approx(ratio.min(), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(pop=st.lists(st.integers(1, 100_000), min_size=2, max_size=15), n=st.integers(30, 5000))
def test_proportional_design_effect(pop, n):
    """Proportional allocation: deff = 1 for the exact allocation; with integer bases
    deff - 1 = sum_h e_h^2 / (n n_h) exactly (e_h = n_h - n W_h), so 0 <= deff - 1 < sum 1/(n n_h)."""
    strata = pd.DataFrame({"population": pop})
    if n > sum(pop):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        al = S.allocate(strata, n, method="proportional")
    exact = S.allocation_summary(al.assign(n=al["n_exact"]))
    assert exact["deff"] == pytest.approx(1.0, rel=1e-12)
    if (al["n"] == 0).any():
        assert np.isnan(S.allocation_summary(al)["deff"])  # a stratum left out: no total estimate
        return
    deff = S.allocation_summary(al)["deff"]
    W = np.array(pop) / sum(pop)
    e = al["n"].to_numpy() - n * W
    assert deff - 1 == pytest.approx(np.sum(e**2 / (n * al["n"].to_numpy())), rel=1e-6, abs=1e-13)
    assert deff >= 1 - 1e-12
    assert deff - 1 < np.sum(1 / (n * al["n"].to_numpy()))


def test_allocation_columns_and_index():
    strata = pd.DataFrame({"population": [60_000, 25_000, 10_000, 5_000]},
                          index=pd.Index(["aurora", "beacon", "cirrus", "delta"], name="brand"))
    al = S.allocate(strata, 2000, method="proportional", min_n=300, promoters=0.4, detractors=0.2)
    assert al.columns[:5].tolist() == ["population", "n", "share", "weight", "moe"]
    assert {"n_exact", "sampling_fraction", "population_share", "bound", "moe_nps"} <= set(al.columns)
    assert al.index.equals(strata.index)
    assert al.loc["delta", "bound"] == "min" and al.loc["aurora", "bound"] == "free"
    assert al.loc["delta", "weight"] == pytest.approx(5000 / 300)
    assert al.loc["cirrus", "moe"] == pytest.approx(
        S.margin_of_error_proportion(300, population=10_000), rel=1e-14)
    assert al.loc["cirrus", "moe_nps"] == pytest.approx(
        S.margin_of_error_nps(300, promoters=0.4, detractors=0.2, population=10_000), rel=1e-14)
    by = S.allocate(strata.reset_index(), 2000, method="proportional", by="brand", min_n=300)
    assert by.columns[0] == "brand"
    assert by["n"].tolist() == al["n"].tolist()


def test_penetration_equals_proportional_on_users_times_penetration():
    pen = pd.DataFrame({"region": ["n", "n", "s", "s"], "brand": ["a", "b", "a", "b"],
                        "category_users": [1000.0, 1000.0, 3000.0, 3000.0],
                        "penetration": [0.3, 0.1, 0.25, 0.05]})
    a = S.allocate(pen, 500, method="penetration", by=["brand", "region"], min_n=50)
    b = S.allocate(pen.assign(population=pen.category_users * pen.penetration), 500,
                   method="proportional", by=["brand", "region"], min_n=50)
    pd.testing.assert_frame_equal(a, b)


def test_optimal_with_equal_costs_is_neyman_and_costs_shift_sample():
    strata = pd.DataFrame({"population": [4000, 3000, 2000], "sd": [1.0, 2.0, 3.0]})
    ney = S.allocate(strata, 600, method="neyman", sd="sd")
    opt = S.allocate(strata, 600, method="optimal", sd="sd", cost=7.0)
    np.testing.assert_allclose(opt["n_exact"], ney["n_exact"], rtol=1e-12)
    dear = S.allocate(strata, 600, method="optimal", sd="sd", cost=[1.0, 1.0, 9.0])
    assert dear["n"].iloc[2] < ney["n"].iloc[2]
    # n_h proportional to N_h S_h / sqrt(c_h): 4000, 6000, 2000 -> 200, 300, 100
    assert dear["n"].tolist() == [200, 300, 100]


def test_neyman_beats_proportional_on_variance():
    strata = pd.DataFrame({"population": [5000, 5000, 5000], "p": [0.5, 0.1, 0.02]})
    ney = S.allocation_summary(S.allocate(strata, 900, method="neyman", p="p"))
    prop = S.allocation_summary(S.allocate(strata, 900, method="proportional", p="p"))
    assert ney["moe"] < prop["moe"]


def test_input_not_mutated():
    strata = pd.DataFrame({"population": [100, 200, 300], "sd": [1, 2, 3]})
    before = strata.copy()
    S.allocate(strata, 120, method="neyman", sd="sd", min_n=10)
    pd.testing.assert_frame_equal(strata, before)


def test_boost_tradeoff():
    strata = pd.DataFrame({"brand": ["aurora", "beacon", "cirrus", "delta"],
                           "population": [60_000, 25_000, 10_000, 5_000],
                           "benchmark": [False, True, True, True]})
    tot = S.boost_tradeoff(strata, 2000, min_n_values=[0, 200, 300, 400, 500], by="brand",
                           boosted="benchmark", level="total")
    assert tot["min_n"].tolist() == [0, 200, 300, 400, 500]
    assert (np.diff(tot["deff"]) >= -1e-12).all()  # boosting costs precision on the total
    assert (np.diff(tot["max_stratum_moe"]) <= 1e-12).all()  # ...and buys it in small strata
    st_ = S.boost_tradeoff(strata, 2000, min_n_values=[0, 500], by="brand", boosted="benchmark",
                           promoters=0.4, detractors=0.2)
    assert len(st_) == 8 and st_.columns[:2].tolist() == ["min_n", "brand"]
    al = S.allocate(strata, 2000, method="proportional", by="brand",
                    min_n=[0, 500, 500, 500], promoters=0.4, detractors=0.2)
    s = S.allocation_summary(al)
    row = st_[st_["min_n"] == 500]
    assert row["n"].tolist() == al["n"].tolist()
    assert row["total_deff"].iloc[0] == s["deff"]
    assert row["total_moe_nps"].iloc[0] == s["moe_nps"]
    # aurora is not boosted: its minimum stays 0
    assert row.loc[row["brand"] == "aurora", "stratum_min_n"].iloc[0] == 0


# ============================================================================================
# errors
# ============================================================================================
def _strata():
    return pd.DataFrame({"brand": ["aurora", "beacon", "delta"], "region": ["n", "n", "n"],
                         "population": [50_000, 20_000, 300]})


def test_allocation_errors_name_the_problem():
    # delta (population 300) is taken in full, so the minima sum to 500 + 500 + 300
    with pytest.raises(ParamsError, match=r"minimum bases sum to 1300, more than n=1000.*brand=aurora, region=n: 500"):
        S.allocate(_strata(), 1000, method="proportional", by=["brand", "region"], min_n=500,
                   small_strata="census")
    with pytest.raises(ParamsError, match=r"brand=delta, region=n \(population 300 < min_n 500\)"):
        S.allocate(_strata(), 3000, method="proportional", by=["brand", "region"], min_n=500)
    al = S.allocate(_strata(), 3000, method="proportional", by=["brand", "region"], min_n=500,
                    small_strata="census")
    assert al["n"].tolist()[2] == 300 and al["bound"].tolist()[2] == "population"
    assert al["moe"].iloc[2] == 0.0  # census of the stratum
    with pytest.raises(ParamsError, match=r"must be one of \['proportional'"):
        S.allocate(_strata(), 100, method="neymann", by="brand")
    with pytest.raises(ParamsError, match="needs the stratum spread"):
        S.allocate(_strata(), 100, method="neyman", by="brand")
    with pytest.raises(ParamsError, match="needs `cost`"):
        S.allocate(_strata(), 100, method="optimal", by="brand", p=0.3)
    with pytest.raises(ParamsError, match="exceeds the 70300 units"):
        S.allocate(_strata(), 80_000, method="proportional", by="brand")
    with pytest.raises(ParamsError, match=r"min_n exceeds max_n for stratum\(s\): brand=aurora"):
        S.allocate(_strata(), 1000, method="proportional", by="brand", min_n=[300, 0, 0], max_n=200)
    with pytest.raises(ParamsError, match="`by` names column"):
        S.allocate(_strata(), 100, method="equal", by="segment")
    with pytest.raises(ParamsError, match="unique"):
        S.allocate(_strata(), 100, method="equal", by="region")
    with pytest.raises(ParamsError, match="whole number"):
        S.allocate(_strata(), 100.5, method="equal", by="brand")
    with pytest.warns(WorkbenchWarning, match="get no sample"):
        S.allocate(_strata(), 10, method="proportional", by="brand")


def test_size_and_margin_errors():
    with pytest.raises(ParamsError, match=r"`moe` must lie in \(0, 1\)"):
        S.sample_size_proportion(5)
    with pytest.raises(ParamsError, match=r"`promoters` \+ `detractors` must not exceed 1"):
        S.sample_size_nps(5, promoters=0.7, detractors=0.4)
    with pytest.raises(ParamsError, match="must not exceed `population`"):
        S.margin_of_error_proportion(600, population=500)
    with pytest.raises(ParamsError, match=r"`conf` must lie in \(0, 1\)"):
        S.sample_size_proportion(0.05, conf=95)
    with pytest.raises(ParamsError, match="`fpc` must be one of"):
        S.sample_size_proportion(0.05, population=1000, fpc="kish")
    with pytest.raises(ParamsError, match="`p1` and `p2` must differ"):
        S.sample_size_two_proportions(0.3, 0.3)
    with pytest.raises(ParamsError, match="`alternative` must be one of"):
        S.power_two_proportions(100, 100, 0.3, 0.4, alternative="greater")
    with pytest.warns(WorkbenchWarning, match="no increase"):
        assert np.isnan(S.mdc_proportion(5, 5, 0.5, power=0.99))


# ============================================================================================
# quotas
# ============================================================================================
def _frame(N=6000, seed=7):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "unit_id": [f"U{i:06d}" for i in range(N)],
        "brand": rng.choice(["aurora", "beacon", "cirrus", "delta"], N, p=[0.5, 0.25, 0.15, 0.1]),
        "region": rng.choice(["north", "south", "east"], N),
        "age_band": rng.choice(["18-29", "30-44", "45-59", "60+"], N),
        "gender": rng.choice(["f", "m"], N),
    })


def test_quota_sheet_from_allocation_sums_per_stratum():
    frame = _frame()
    strata = frame.groupby(["brand", "region"]).size().rename("population").reset_index()
    al = S.allocate(strata, 900, method="proportional", by=["brand", "region"], min_n=40)
    q = S.quota_sheet(al, interlock=["brand", "region"], marginal=[["age_band", "gender"]],
                      frame=frame, tolerance=0.1, interlock_tolerance=0.0)
    assert q.columns.tolist() == ["table", "brand", "region", "age_band", "gender", "cell",
                                  "population", "share", "target", "min", "max"]
    inter = q[q["table"] == "brand x region"]
    assert inter["target"].tolist() == al["n"].tolist()
    assert (inter["min"] == inter["target"]).all() and (inter["max"] == inter["target"]).all()
    marg = q[q["table"] == "age_band x gender"]
    per = marg.groupby(["brand", "region"])["target"].sum()
    expected = al.set_index(["brand", "region"])["n"]
    assert per.sort_index().tolist() == expected.sort_index().tolist()
    assert (marg["min"] <= marg["target"]).all() and (marg["target"] <= marg["max"]).all()
    assert marg["target"].dtype == np.int64
    # within a stratum the targets are the largest-remainder rounding of n_h * share
    one = marg[(marg["brand"] == "delta") & (marg["region"] == "east")]
    n_h = int(expected.loc[("delta", "east")])
    assert (np.abs(one["target"] - n_h * one["share"]) < 1).all()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(20, 3000), seed=st.integers(0, 1000), tol=st.floats(0, 0.5))
def test_quota_sheet_from_frame_properties(n, seed, tol):
    frame = _frame(800, seed)
    q = S.quota_sheet(frame, n, interlock="brand", marginal=["age_band", "gender"],
                      tolerance=tol, by_stratum=False)
    sums = q.groupby("table")["target"].sum()
    assert (sums == n).all()
    assert (q["min"] <= q["target"]).all() and (q["target"] <= q["max"]).all()


def test_quota_errors():
    frame = _frame()
    with pytest.raises(DataError, match=r"column\(s\) \['segment'\] not found"):
        S.quota_sheet(frame, 100, interlock=["brand"], marginal=["segment"])
    with pytest.raises(ParamsError, match="need the unit-level `frame`"):
        al = S.allocate(frame.groupby("brand").size().rename("population").to_frame(), 100,
                        method="equal")
        S.quota_sheet(al, interlock="brand", marginal=["gender"])
    with pytest.raises(ParamsError, match="repeats interlock"):
        S.quota_sheet(frame, 100, interlock=["brand"], marginal=[["brand", "gender"]])
    broken = frame.copy()
    broken.loc[3, "gender"] = None
    with pytest.raises(DataError, match="'gender' has 1 missing"):
        S.quota_sheet(broken, 100, interlock=["brand"], marginal=["gender"])


def test_write_quota_sheet(tmp_path):
    import openpyxl

    frame = _frame()
    q = S.quota_sheet(frame, 500, interlock=["brand", "region"], marginal=[["age_band", "gender"], "gender"])
    paths = S.write_quota_sheet(q, tmp_path / "quotas", labels={"brand": "品牌"})
    assert paths["csv"].name == "quotas.csv" and paths["xlsx"].name == "quotas.xlsx"
    back = pd.read_csv(paths["csv"], encoding="utf-8-sig", dtype={"Share of parent": str})
    # the CSV has the same headers as the workbook (given labels, else the English defaults)
    heads = ["Quota", "品牌", "region", "age_band", "gender", "Cell", "Population", "Share of parent",
             "Target n", "Min", "Max"]
    assert back.columns.tolist() == heads  # BOM not part of the first header
    assert back["Target n"].tolist() == q["target"].tolist()
    # rounded for reading: shares as percentages with one decimal, counts as whole numbers
    assert back["Share of parent"].str.fullmatch(r"\d{1,3}\.\d%").all()
    assert back["Share of parent"].tolist() == [f"{100 * v:.1f}%" for v in q["share"]]
    assert pd.api.types.is_integer_dtype(back["Population"])
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["brand x region", "age_band x gender", "gender"]
    ws = wb["brand x region"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["品牌", "region"] and "Target n" in header
    assert ws.max_row == 1 + (q["table"] == "brand x region").sum()
    share = ws.cell(row=2, column=header.index("Share of parent") + 1)
    assert share.number_format == "0.0%" and share.value == round(float(q["share"].iloc[0]), 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quotas.csv", "quotas.xlsx"]  # no temp files


# ============================================================================================
# frame and draw
# ============================================================================================
def _alloc(frame, n=600, **kw):
    strata = frame.groupby(["brand", "region"]).size().rename("population").reset_index()
    return S.allocate(strata, n, method="proportional", by=["brand", "region"], **kw)


def test_draw_reproducible_and_seed_dependent():
    frame = _frame()
    al = _alloc(frame, min_n=30)
    a = S.stratified_draw(frame, al, strata=["brand", "region"], seed=11, id_col="unit_id")
    b = S.stratified_draw(frame, al, strata=["brand", "region"], seed=11, id_col="unit_id")
    pd.testing.assert_frame_equal(a, b)
    # row order of the frame does not matter
    c = S.stratified_draw(frame.sample(frac=1, random_state=3), al, strata=["brand", "region"],
                          seed=11, id_col="unit_id")
    assert c["unit_id"].tolist() == a["unit_id"].tolist()
    # another seed: another sample (P(same 600 of 6000 units) is astronomically small)
    d = S.stratified_draw(frame, al, strata=["brand", "region"], seed=12, id_col="unit_id")
    assert set(d.loc[d["selected"], "unit_id"]) != set(a.loc[a["selected"], "unit_id"])


def test_draw_sizes_reserve_order_weight():
    frame = _frame()
    al = _alloc(frame, min_n=30)
    s = S.stratified_draw(frame, al, strata=["brand", "region"], seed=5, reserve=0.2, id_col="unit_id")
    got = s.groupby(["brand", "region"])[["selected", "reserve"]].sum()
    exp = al.set_index(["brand", "region"])["n"]
    assert got["selected"].sort_index().tolist() == exp.sort_index().tolist()
    assert got["reserve"].sort_index().tolist() == np.ceil(0.2 * exp.sort_index() - 1e-9).astype(int).tolist()
    assert not (s["selected"] & s["reserve"]).any()
    assert s["unit_id"].is_unique
    for _, g in s.groupby(["brand", "region"]):
        assert g["order"].tolist() == list(range(1, len(g) + 1))
        assert g.loc[g["reserve"], "order"].min() > g.loc[g["selected"], "order"].max()
    key = s.iloc[0]
    pop = ((frame["brand"] == key["brand"]) & (frame["region"] == key["region"])).sum()
    assert key["design_weight"] == pytest.approx(pop / exp.loc[(key["brand"], key["region"])])
    before = frame.copy()
    S.stratified_draw(frame, al, strata=["brand", "region"], seed=5, id_col="unit_id")
    pd.testing.assert_frame_equal(frame, before)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 400))
def test_draw_is_without_replacement_within_strata(seed, n):
    frame = _frame(1500, 1)
    al = _alloc(frame, n=n)
    s = S.stratified_draw(frame, al, strata=["brand", "region"], seed=seed, id_col="unit_id")
    assert s["unit_id"].is_unique and s["selected"].sum() == n


def test_draw_errors_and_reserve_cap():
    frame = _frame(400)
    small = pd.DataFrame({"brand": ["delta"], "region": ["east"], "n": [500]})
    have = int(((frame.brand == "delta") & (frame.region == "east")).sum())
    with pytest.raises(DataError, match=rf"brand=delta, region=east: {have} units available, 500 requested"):
        S.stratified_draw(frame, small, strata=["brand", "region"], seed=1, id_col="unit_id")
    tight = pd.DataFrame({"brand": ["delta"], "region": ["east"], "n": [have - 1]})
    with pytest.warns(WorkbenchWarning, match=r"reserve cut .* brand=delta, region=east \(1 of"):
        s = S.stratified_draw(frame, tight, strata=["brand", "region"], seed=1, id_col="unit_id")
    assert s["reserve"].sum() == 1 and len(s) == have
    with pytest.raises(ParamsError, match="`seed` must be an integer"):
        S.stratified_draw(frame, tight, strata=["brand", "region"], seed=None)
    dup = pd.concat([frame, frame.head(2)])
    with pytest.raises(DataError, match="must be unique; 2 duplicated"):
        S.stratified_draw(dup, tight, strata=["brand", "region"], seed=1, id_col="unit_id")
    by_series = S.stratified_draw(frame, pd.Series({"aurora": 3, "beacon": 2}), strata="brand",
                                  seed=1, id_col="unit_id", reserve=0)
    assert by_series["selected"].sum() == 5 and not by_series["reserve"].any()


def test_read_frame(tmp_path):
    frame = _frame(50)
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_csv(tmp_path / "f.csv", index=False)
    pd.testing.assert_frame_equal(S.read_frame(tmp_path / "f.parquet", id_col="unit_id"), frame,
                                  check_dtype=False)
    assert S.read_frame(tmp_path / "f.csv", columns=["unit_id", "brand"]).shape == (50, 2)
    with pytest.raises(DataError, match="not found"):
        S.read_frame(tmp_path / "missing.parquet")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(DataError, match="expected a .csv"):
        S.read_frame(tmp_path / "f.txt")
    pd.concat([frame, frame.head(1)]).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match="'unit_id' has 1 duplicated"):
        S.read_frame(tmp_path / "d.csv", id_col="unit_id")


def test_two_stage_allocation_within_groups():
    pen = pd.DataFrame({
        "brand": ["aurora"] * 3 + ["beacon"] * 3,
        "region": ["n", "s", "e"] * 2,
        "category_users": [40_000.0, 50_000.0, 20_000.0] * 2,
        "penetration": [0.35, 0.30, 0.40, 0.20, 0.25, 0.05],
    })
    totals = {"aurora": 1000, "beacon": 500}
    al = S.allocate(pen, totals, within="brand", by=["brand", "region"], method="penetration",
                    min_n=[0, 0, 0, 100, 100, 100])
    assert al.groupby("brand")["n"].sum().to_dict() == totals
    # each group is the one-stage allocation of its own total
    beacon = S.allocate(pen[pen.brand == "beacon"], 500, by=["brand", "region"],
                        method="penetration", min_n=100)
    assert al.loc[al.brand == "beacon", "n"].tolist() == beacon["n"].tolist()
    assert al["share"].sum() == pytest.approx(1.0)
    assert al.columns[:2].tolist() == ["brand", "region"]
    # a brand-level allocation table can give the totals
    brands = S.allocate(pd.DataFrame({"brand": ["aurora", "beacon"], "population": [1e5, 5e4]}),
                        1500, method="equal", by="brand")
    al2 = S.allocate(pen, brands, within="brand", by=["brand", "region"], method="penetration")
    assert al2.groupby("brand")["n"].sum().tolist() == [750, 750]
    with pytest.raises(ParamsError, match=r"missing \['beacon'\]"):
        S.allocate(pen, {"aurora": 1000}, within="brand", by=["brand", "region"], method="penetration")
    # beacon/e has 20,000 x 0.05 = 1,000 users: a minimum of 1,100 cannot be met
    with pytest.raises(ParamsError, match=r"within \['brand'\] = 'beacon': .*brand=beacon, region=e \(population 1000 < min_n 1100\)"):
        S.allocate(pen, totals, within="brand", by=["brand", "region"], method="penetration",
                   min_n=[0, 0, 0, 0, 0, 1100])


def test_base_status_uses_the_low_base_rule():
    from workbench.lowbase import LowBaseRule

    strata = pd.DataFrame({"population": [10_000, 500, 300]}, index=["a", "b", "c"])
    al = S.allocate(strata, 400, method="proportional", min_n=[0, 40, 20])
    assert al["n"].tolist() == [340, 40, 20]
    assert al["base_status"].tolist() == ["ok", "caution", "no_test"]  # caution < 50, no test < 30
    strict = S.allocate(strata, 400, method="proportional", min_n=[0, 40, 20],
                        low_base=LowBaseRule(caution=100, min_test=50))
    assert strict["base_status"].tolist() == ["ok", "no_test", "no_test"]


def test_summary_deff_agrees_with_weighting_efficiency():
    from workbench.weighting import efficiency

    strata = pd.DataFrame({"population": [60_000, 25_000, 10_000, 5_000]})
    al = S.allocate(strata, 2000, method="equal")
    w = np.repeat(al["weight"].to_numpy(), al["n"].to_numpy())  # one design weight per interview
    eff = efficiency(w)
    s = S.allocation_summary(al)
    # both are Kish's 1 + cv^2 of the same weights, computed two ways
    assert s["deff"] == pytest.approx(eff["deff"], rel=1e-12)
    assert s["n_eff"] == pytest.approx(eff["n_eff"], rel=1e-12)


# ============================================================================================
# power of an NPS change (inverse of mdc_nps)
# ============================================================================================
def test_power_two_nps_is_the_inverse_of_the_r_mdc():
    # the R reference MDCs (two waves of 1000, 80% power) are detected with power 0.8 exactly
    r = ref("sampling_nps.csv")
    pw = S.power_two_nps(1000, 1000, r["mdc_n1000"].to_numpy(), promoters=r["promoters"].to_numpy(),
                         detractors=r["detractors"].to_numpy(), conf=r["conf"].to_numpy())
    np.testing.assert_allclose(pw, 0.8, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(n1=st.integers(30, 5000), n2=st.integers(30, 5000), power=st.floats(0.3, 0.99),
       deff=st.floats(1.0, 3.0), alternative=st.sampled_from(["two-sided", "one-sided"]))
def test_power_two_nps_round_trip(n1, n2, power, deff, alternative):
    m = S.mdc_nps(n1, n2, 0.45, 0.2, power, deff=deff, alternative=alternative)
    back = S.power_two_nps(n1, n2, m, promoters=0.45, detractors=0.2, deff=deff,
                           alternative=alternative)
    assert back == pytest.approx(power, rel=1e-10)
    # the sign of the change does not matter; zero change has power alpha/tails
    assert S.power_two_nps(n1, n2, -m, promoters=0.45, detractors=0.2, deff=deff,
                           alternative=alternative) == pytest.approx(power, rel=1e-10)


def test_power_two_nps_hand_value():
    # n = 1000 per wave, p+ = .4, p- = .2: var = .56, se = sqrt(.56 * 2/1000) = 0.0334664;
    # 5 points: z = .05/.0334664 - 1.959964 = -0.465926, Phi = 0.320633 (hand computation)
    assert S.power_two_nps(1000, 1000, 5, promoters=0.4, detractors=0.2) == pytest.approx(
        0.3206332, abs=1e-6)


# ============================================================================================
# the study design (design_sample, boost_options, quota/draw helpers) on the demo study
# ============================================================================================
@pytest.fixture(scope="module")
def demo_inputs():
    from workbench.synth import demo_dir

    return S.read_inputs(demo_dir(), "demo")


@pytest.fixture(scope="module")
def demo_design(demo_inputs):
    return S.design_sample(demo_inputs.frame, ["brand", "region"], ours="aurora",
                           competitors=["beacon", "cirrus", "delta"], n_ours=1000,
                           n_competitor=500, penetration=demo_inputs.penetration, min_n=60)


def test_read_inputs(demo_inputs, tmp_path):
    from workbench.synth import demo_dir

    f = demo_inputs.frame
    assert demo_inputs.id_col == "unit_id" and f["unit_id"].is_unique
    assert isinstance(f["region"].dtype, pd.CategoricalDtype)
    assert list(f["region"].cat.categories) == ["north", "south", "east", "west", "central"]
    assert demo_inputs.frame_path.name == "frame.parquet"
    assert demo_inputs.penetration_path.name == "penetration.csv"
    # an explicit file wins; a data folder without penetration.csv gives None, not an error
    small = tmp_path / "my_frame.csv"
    f.head(500).to_csv(small, index=False)
    other = S.read_inputs(tmp_path, "demo", frame_file=str(small))
    assert len(other.frame) == 500 and other.penetration is None
    with pytest.raises(DataError, match="not found"):
        S.read_inputs(tmp_path, "demo")
    with pytest.raises(DataError, match="penetration file"):
        S.read_inputs(demo_dir(), "demo", penetration_file=str(tmp_path / "nope.csv"))


def test_design_bases_and_precision_by_hand(demo_design, demo_inputs):
    d = demo_design
    al, br, tot = d.allocation, d.brands, d.total
    assert br["brand"].astype(str).tolist() == ["aurora", "beacon", "cirrus", "delta"]
    assert br["n"].tolist() == [1000, 500, 500, 500] and tot["n"] == 2500
    assert br["role"].tolist() == ["ours", "competitor", "competitor", "competitor"]
    assert al["n"].min() >= 60 and al.groupby("brand", observed=True)["n"].sum().tolist() == [1000, 500, 500, 500]
    # populations: category users x penetration, per brand x region (penetration.csv)
    pen = demo_inputs.penetration
    pen = pen[pen["brand"].astype(str) != "other"]
    exp = (pen["category_users"] * pen["penetration"]).sum()
    assert al["population"].sum() == pytest.approx(exp, rel=1e-12)
    # the demo's frame is consistent with its penetration table (DEMO_SPEC): same counts
    np.testing.assert_allclose(al["population"], al["frame_units"], atol=1.0)
    # Kish deff n * sum(W_h^2 / n_h) and the stratified NPS margin, written out here
    N, n = al["population"].sum(), al["n"].sum()
    W = al["population"] / N
    assert tot["deff"] == pytest.approx(n * np.sum(W**2 / al["n"]), rel=1e-12)
    f = (al["population"] - al["n"]) / (al["population"] - 1)
    moe = 100 * norm.ppf(0.975) * np.sqrt(np.sum(W**2 * 0.56 * f / al["n"]))
    assert tot["moe_nps"] == pytest.approx(moe, rel=1e-12)
    # per brand: the same formulas within the brand, and the MDC on its effective base
    for b, row in br.set_index("brand").iterrows():
        part = al[al["brand"].astype(str) == b]
        Wb = part["population"] / part["population"].sum()
        deff_b = row["n"] * np.sum(Wb**2 / part["n"])
        assert row["deff"] == pytest.approx(deff_b, rel=1e-12)
        assert row["mdc_nps"] == pytest.approx(S.mdc_nps(row["n"], row["n"], 0.4, 0.2, deff=deff_b), rel=1e-12)
    ours = br.iloc[0]
    gap = S.mdc_nps(ours["n_eff"], br["n_eff"].iloc[1], 0.4, 0.2)
    assert br["mdc_nps_vs_ours"].iloc[1] == pytest.approx(gap, rel=1e-12)
    assert np.isnan(br["mdc_nps_vs_ours"].iloc[0])
    # the headline figures of the demo design (rounded as the report shows them)
    assert round(tot["deff"], 2) == 1.05 and round(tot["n_eff"]) == 2377
    assert round(tot["moe_nps"], 1) == 3.0 and round(ours["moe_nps"], 1) == 4.6
    assert round(ours["mdc_nps"], 1) == 9.4


def test_design_weights_match_weighting_efficiency(demo_design):
    from workbench.weighting import efficiency

    al = demo_design.allocation
    w = np.repeat(al["weight"].to_numpy(), al["n"].to_numpy())
    e = efficiency(pd.Series(w))
    assert e["deff"] == pytest.approx(demo_design.total["deff"], rel=1e-12)


def test_design_precision_views(demo_design):
    p = demo_design.precision()
    assert {500, 1000, 2500} <= set(p.loc[p["design"], "n"].astype(int))
    assert p["n"].is_monotonic_increasing and p["moe_nps"].is_monotonic_decreasing
    c = demo_design.curve()
    assert c["n"].min() == 50 and c["n"].max() >= 2500


def test_design_power_views_agree_with_the_functions(demo_design):
    """The power numbers a report shows come from the design; they are the package's formulas
    at the design's settings and each group's effective base and design effect."""
    d = demo_design
    s = d.settings
    plan = d.power_plan(detect_nps=5.0, detect_proportion=0.05)
    assert plan["role"].tolist() == ["ours", "competitor", "competitor", "competitor", "total"]
    assert plan[d.brand_col].tolist()[:-1] == d.brands[d.brand_col].tolist()
    assert plan["n"].tolist() == [*d.brands["n"].tolist(), d.total["n"]]
    for r in plan.itertuples():
        pw = S.power_two_nps(r.n_eff, r.n_eff, 5.0, promoters=s["promoters"], detractors=s["detractors"],
                             conf=s["conf"])
        assert r.power_nps == pytest.approx(float(pw), rel=1e-12)
        need = S.sample_size_two_nps(5.0, promoters=s["promoters"], detractors=s["detractors"],
                                     power=s["power"], conf=s["conf"], deff=r.deff)
        assert r.need_nps == math.ceil(float(need) - 1e-9)
        need_p = S.sample_size_two_proportions(s["p"], s["p"] + 0.05, s["power"], conf=s["conf"], deff=r.deff)
        assert r.need_prop == math.ceil(float(need_p) - 1e-9)
        # at the minimum detectable change the power is the design's power
        assert float(d.power_nps(r.n_eff, r.mdc_nps)) == pytest.approx(s["power"], abs=1e-9)
    x = np.linspace(0, 20, 9)
    curves = d.power_curves(x)
    assert curves.columns.tolist() == [*map(str, d.brands[d.brand_col]), "total"]
    assert curves.index.tolist() == x.tolist() and curves.iloc[0].max() < 0.03
    assert (curves.diff().iloc[1:] > 0).all().all()  # power grows with the change
    ours = d.brands.iloc[0]
    assert curves["aurora"].to_numpy() == pytest.approx(np.asarray(d.power_nps(ours["n_eff"], x)))
    # pooling k waves is a k-times effective base
    assert d.pooled_mdc_nps(3) == pytest.approx(
        float(S.mdc_nps(3 * ours["n_eff"], 3 * ours["n_eff"], s["promoters"], s["detractors"], s["power"],
                        conf=s["conf"])))
    assert d.pooled_mdc_nps(1) == pytest.approx(float(ours["mdc_nps"]), rel=1e-9)
    prop = d.proportional_options()
    assert prop["option"].tolist() == ["proportional", "design"]


def test_design_target_moe_is_the_smallest_base(demo_inputs):
    d = S.design_sample(demo_inputs.frame, ["brand", "region"], ours="aurora",
                        competitors=["beacon", "delta"], target_moe=5.0,
                        penetration=demo_inputs.penetration, min_n=60)
    assert (d.brands["moe_nps"] <= 5.0 + 1e-9).all()
    for _, row in d.brands.iterrows():
        one_less = S.design_sample(demo_inputs.frame, ["brand", "region"], ours=str(row["brand"]),
                                   n_ours=int(row["n"]) - 1, penetration=demo_inputs.penetration,
                                   min_n=60)
        assert one_less.brands["moe_nps"].iloc[0] > 5.0
    # without a design effect or FPC this would be sample_size_nps(5) = 861: the FPC lowers it a bit
    assert abs(int(d.brands["n"].iloc[0]) - math.ceil(S.sample_size_nps(5, promoters=0.4, detractors=0.2))) <= 15


def test_design_methods_and_strata(demo_inputs):
    f = demo_inputs.frame
    prop = S.design_sample(f, ["brand", "region"], ours="aurora", competitors=["beacon"], n_ours=400,
                           n_competitor=300, method="proportional", min_n=50)
    counts = f[f["brand"].astype(str).isin(["aurora", "beacon"])].groupby(["brand", "region"], observed=True).size()
    assert prop.allocation["population"].sum() == counts.sum()
    eq = S.design_sample(f, ["brand", "region"], ours="aurora", competitors=["beacon"], n_ours=400,
                         n_competitor=300, method="equal")
    assert eq.allocation["n"].tolist() == [80] * 5 + [60] * 5
    one = S.design_sample(f, ["brand"], ours="aurora", competitors=["beacon", "cirrus"], n_ours=400,
                          n_competitor=300, penetration=demo_inputs.penetration)
    assert one.allocation["n"].tolist() == [400, 300, 300]
    assert one.brands["deff"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    with_segment = S.design_sample(f, ["brand", "segment"], ours="aurora", n_ours=300,
                                   method="proportional")
    assert len(with_segment.allocation) == 3


def test_design_errors_name_the_problem(demo_inputs):
    f, pen = demo_inputs.frame, demo_inputs.penetration
    with pytest.raises(ParamsError, match=r"brand\(s\) \['acme'\] not found"):
        S.design_sample(f, ["brand", "region"], ours="acme", n_ours=100, penetration=pen)
    with pytest.raises(ParamsError, match="needs the brand penetration table"):
        S.design_sample(f, ["brand", "region"], ours="aurora", n_ours=100)
    with pytest.raises(ParamsError, match=r"lacks column\(s\) \['segment'\]"):
        S.design_sample(f, ["brand", "segment"], ours="aurora", n_ours=100, penetration=pen)
    with pytest.raises(ParamsError, match="give `n_ours` and `n_competitor`"):
        S.design_sample(f, ["brand", "region"], ours="aurora", competitors=["beacon"], n_ours=100,
                        penetration=pen)
    with pytest.raises(ParamsError, match="distinct"):
        S.design_sample(f, ["brand", "region"], ours="aurora", competitors=["aurora"], n_ours=100,
                        n_competitor=100, penetration=pen)
    with pytest.raises(ParamsError, match="must be one of"):
        S.design_sample(f, ["brand", "region"], ours="aurora", n_ours=100, method="neyman")
    with pytest.raises(ParamsError, match="within .*aurora.*minimum bases sum"):
        S.design_sample(f, ["brand", "region"], ours="aurora", n_ours=100, penetration=pen, min_n=60)
    with pytest.raises(DataError, match=r"column\(s\) \['area'\] not found"):
        S.design_sample(f, ["brand", "area"], ours="aurora", n_ours=100, method="proportional")


def test_design_warns_about_low_bases_and_a_short_frame():
    from workbench.errors import LowBaseWarning

    frame = _frame(N=3000)
    with pytest.warns(LowBaseWarning, match=r"strata get fewer than 50 interviews: delta / "):
        S.design_sample(frame, ["brand", "region"], ours="aurora", competitors=["delta"], n_ours=600,
                        n_competitor=90, method="proportional")
    with pytest.warns(WorkbenchWarning, match="fewer units than the base plus a 20% reserve in delta / "):
        S.design_sample(frame, ["brand", "region"], ours="aurora", competitors=["delta"], n_ours=600,
                        n_competitor=250, method="equal")
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S.design_sample(frame, ["brand", "region"], ours="aurora", n_ours=300, method="proportional")
    pd.testing.assert_frame_equal(frame, before)


def test_boost_options(demo_design):
    opt = S.boost_options(demo_design, [0, 500, 625])
    assert opt["option"].tolist() == ["proportional", "boost", "boost", "design"]
    assert opt["design"].tolist() == [False, False, False, True]
    assert (opt["n"] == 2500).all()
    # proportional over brands: deff is 1 up to rounding (the bound of the methods doc, section 5)
    assert 1.0 <= opt["deff"].iloc[0] < 1.0 + 0.001
    # 625 = 2500 / 4: equal brand bases
    assert opt["n_ours"].iloc[2] == 625 and opt["n_competitor_min"].iloc[2] == 625
    # more boost: larger deff, smaller competitor margin, larger total margin
    assert opt["deff"].iloc[:3].is_monotonic_increasing
    assert opt["moe_nps_competitor_max"].iloc[:3].is_monotonic_decreasing
    assert opt["moe_nps"].iloc[:3].is_monotonic_increasing
    last = opt.iloc[-1]
    assert last["deff"] == demo_design.total["deff"] and last["n_ours"] == 1000
    with pytest.warns(WorkbenchWarning, match=r"leaves out minimum bases of 700 per brand: 2,500 interviews allow at most 625"):
        left = S.boost_options(demo_design, [0, 700])
    assert left["option"].tolist() == ["proportional", "design"]


def test_quota_views_and_labels(demo_design, demo_inputs):
    q = S.quota_sheet(demo_design.allocation, interlock=demo_design.strata,
                      marginal=[["age_band", "gender"], "segment"], frame=demo_inputs.frame)
    grid = S.quota_grid(q)
    assert grid.columns.tolist() == ["brand", "north", "south", "east", "west", "central", "total"]
    assert grid["total"].tolist() == [1000, 500, 500, 500, 2500]
    assert grid.iloc[-1]["brand"] == "total"
    marg = S.quota_marginal_summary(q, "brand")
    for name, part in marg.groupby("table", sort=False):
        assert part[["aurora", "beacon", "cirrus", "delta"]].sum().tolist() == [1000, 500, 500, 500]
        assert part["total"].sum() == 2500
    zh = S.label_quota_sheet(q, "demo", "zh")
    assert zh["table"].iloc[0] == "主要使用品牌 × 区域" and zh["cell"].iloc[0] == "极光通信 / 北部"
    assert zh["brand"].astype(str).iloc[0] == "aurora"  # codes kept for the agency's systems
    assert set(zh["table"]) == {"主要使用品牌 × 区域", "年龄段 × 性别", "客户类型"}
    pd.testing.assert_frame_equal(zh.drop(columns=["table", "cell"]), q.drop(columns=["table", "cell"]))


def test_draw_summary_and_masked_file(demo_design, demo_inputs, tmp_path):
    drawn = S.stratified_draw(demo_inputs.frame, demo_design.allocation, strata=demo_design.strata,
                              seed=20260601, reserve=0.2, id_col="unit_id")
    summ = S.draw_summary(drawn, demo_design.strata)
    assert summ["main"].tolist() == demo_design.allocation["n"].tolist()
    assert summ["reserve"].tolist() == np.ceil(0.2 * demo_design.allocation["n"] - 1e-9).astype(int).tolist()
    assert summ["frame_units"].tolist() == demo_design.allocation["frame_units"].tolist()
    raw = S.write_draw(drawn, tmp_path / "raw.csv", codebook="demo", readable=False)
    back = pd.read_csv(raw, dtype=str)
    assert back.columns[:4].tolist() == ["selected", "reserve", "order", "design_weight"]
    assert (back["phone"] == "***").all()
    assert not back["phone"].str.contains(r"\d").any()
    assert (back["selected"] == "True").sum() == 2500
    assert "555-" in drawn["phone"].iloc[0]  # the input is not changed
    masked = S.write_draw(drawn.drop(columns="phone"), tmp_path / "d2.csv", pii=["unit_id"], readable=False)
    assert (pd.read_csv(masked, dtype=str)["unit_id"] == "***").all()
    # for people (the default): headers and words in the report language, weights rounded
    cb = load_codebook("demo")
    for lang, main, reserve in (("en", "Main", "Reserve"), ("zh", "主样本", "备用样本")):
        path = S.write_draw(drawn, tmp_path / f"draw_{lang}.csv", codebook="demo", lang=lang)
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # spreadsheet programs read Chinese
        back = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        sample, order, weight = (i18n_t(f"sampling.draw.{k}", lang) for k in ("sample", "order", "design_weight"))
        assert back.columns[:3].tolist() == [sample, order, weight]
        assert "selected" not in back.columns and "design_weight" not in back.columns
        assert (back[sample] == main).sum() == 2500 and (back[sample] == reserve).sum() == summ["reserve"].sum()
        assert back[weight].str.fullmatch(r"\d+(\.\d{1,2})?").all()
        assert back[weight].astype(float).tolist() == drawn["design_weight"].round(2).tolist()
        phone, region = cb.label("phone", lang), cb.label("region", lang)
        assert (back[phone] == "***").all()
        assert set(back[region]) == {cb.level_label("region", r, lang) for r in drawn["region"].unique()}
        assert back[cb.label("unit_id", lang)].tolist() == drawn["unit_id"].tolist()


def test_docstring_examples_run():
    import doctest

    failures, tried = doctest.testmod(S, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 25 and failures == 0
