"""Tests of workbench.drivers: SEM against lavaan, relative importance against relaimpo/R, IPMA.

Reference files (tests/results/, made by the R scripts in tests/results/r/):
  drivers_lavaan_*.csv   lavaan 0.6-14 parameterEstimates(standardized = TRUE) and fitMeasures
  drivers_relimp_*.csv   subset R² from base R lm(), LMG by brute force over orderings, Johnson's
                         relative weights, lm() and survey::svyglm() coefficients
Published values are cited next to the numbers.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import drivers as dr
from workbench.errors import ConvergenceWarning, DataError, ModelError, WorkbenchWarning

RES = Path(__file__).parent / "results"

PD_MODEL = """
    # measurement model
    ind60 =~ x1 + x2 + x3
    dem60 =~ y1 + y2 + y3 + y4
    dem65 =~ y5 + y6 + y7 + y8
    # regressions
    dem60 ~ ind60
    dem65 ~ ind60 + dem60
    # residual correlations
    y1 ~~ y5
    y2 ~~ y4 + y6
    y3 ~~ y7
    y4 ~~ y8
    y6 ~~ y8
"""
HS_MODEL = """
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    speed   =~ x7 + x8 + x9
"""
MIMIC_MODEL = """
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    x7 ~ visual + ageyr
    x9 ~ textual + ageyr
"""
MODELS = {"political_democracy": PD_MODEL, "holzinger_cfa": HS_MODEL,
          "holzinger_mimic": MIMIC_MODEL,
          "holzinger_path": "x9 ~ x7 + ageyr\nx7 ~ ageyr + sex",
          "holzinger_second_order": HS_MODEL + "g =~ visual + textual + speed",
          "holzinger_mediation": """visual =~ x1 + x2 + x3
                                    textual =~ x4 + x5 + x6
                                    textual ~ visual
                                    x7 ~ textual
                                    x8 ~ textual"""}

# lavaan fitMeasures name -> ours
FIT_NAMES = {"chisq": "chisq", "df": "df", "pvalue": "p_val", "cfi": "cfi", "tli": "tli",
             "rmsea": "rmsea", "rmsea.ci.lower": "rmsea_ci_low", "rmsea.ci.upper": "rmsea_ci_high",
             "srmr": "srmr", "aic": "aic", "bic": "bic", "ntotal": "n", "npar": "npar",
             "logl": "logl", "unrestricted.logl": "unrestricted_logl",
             "baseline.chisq": "baseline_chisq", "baseline.df": "baseline_df", "fmin": "fmin"}


# ----------------------------------------------------------------------------------------------
# data and references
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pd_data():
    from semopy.examples import political_democracy

    return political_democracy.get_data()


@pytest.fixture(scope="module")
def hs_data():
    from semopy.examples import holzinger39

    return holzinger39.get_data()


@pytest.fixture(scope="module")
def lav_est():
    return pd.read_csv(RES / "drivers_lavaan_estimates.csv", keep_default_na=False,
                       na_values=["NA"])


@pytest.fixture(scope="module")
def lav_fit():
    return pd.read_csv(RES / "drivers_lavaan_fit.csv")


@pytest.fixture(scope="module")
def fits(pd_data, hs_data):
    return {k: dr.fit_sem(pd_data if k == "political_democracy" else hs_data, m)
            for k, m in MODELS.items()}


def test_semopy_datasets_are_lavaans(pd_data, hs_data):
    """semopy's copies of PoliticalDemocracy and HolzingerSwineford1939 equal lavaan's exactly."""
    lav = pd.read_csv(RES / "drivers_lavaan_data_political_democracy.csv")
    assert list(pd_data.columns) == list(lav.columns)
    np.testing.assert_array_equal(pd_data.to_numpy(dtype=float), lav.to_numpy(dtype=float))
    lav = pd.read_csv(RES / "drivers_lavaan_data_holzinger.csv")
    assert list(hs_data.columns) == list(lav.columns)
    num = [c for c in lav.columns if c != "school"]
    np.testing.assert_array_equal(hs_data[num].to_numpy(dtype=float), lav[num].to_numpy(dtype=float))
    assert (hs_data["school"].to_numpy() == lav["school"].to_numpy()).all()


# ----------------------------------------------------------------------------------------------
# SEM: published lavaan values
# ----------------------------------------------------------------------------------------------
def _row(res, lhs, op, rhs):
    e = res.estimates
    hit = e[(e.lhs == lhs) & (e.op == op) & (e.rhs == rhs)]
    assert len(hit) == 1, (lhs, op, rhs)
    return hit.iloc[0]


def test_political_democracy_published(fits):
    """lavaan tutorial, 'A structural regression example' (lavaan.ugent.be/tutorial/sem.html),
    printed to 3 decimals: tolerance 5e-4 (rounding)."""
    res = fits["political_democracy"]
    assert res.fit["chisq"] == pytest.approx(38.125, abs=5e-4)
    assert res.fit["df"] == 35
    assert res.fit["p_val"] == pytest.approx(0.329, abs=5e-4)
    published = {  # (lhs, op, rhs): (estimate, std.err)
        ("ind60", "=~", "x2"): (2.180, 0.139), ("ind60", "=~", "x3"): (1.819, 0.152),
        ("dem60", "=~", "y2"): (1.257, 0.182), ("dem60", "=~", "y3"): (1.058, 0.151),
        ("dem60", "=~", "y4"): (1.265, 0.145), ("dem65", "=~", "y6"): (1.186, 0.169),
        ("dem65", "=~", "y7"): (1.280, 0.160), ("dem65", "=~", "y8"): (1.266, 0.158),
        ("dem60", "~", "ind60"): (1.483, 0.399), ("dem65", "~", "ind60"): (0.572, 0.221),
        ("dem65", "~", "dem60"): (0.837, 0.098),
    }
    for key, (est, se) in published.items():
        r = _row(res, *key)
        assert r.est == pytest.approx(est, abs=5e-4), key
        assert r.se == pytest.approx(se, abs=5e-4), key


def test_holzinger_cfa_published(fits):
    """lavaan tutorial, 'A CFA example' (lavaan.ugent.be/tutorial/cfa.html), 3 decimals:
    chisq 85.306, df 24, CFI 0.931, TLI 0.896, RMSEA 0.092 [0.071, 0.114], SRMR 0.065,
    AIC 7517.490, BIC 7595.339; tolerance 5e-4 (rounding)."""
    res = fits["holzinger_cfa"]
    published = {"chisq": 85.306, "cfi": 0.931, "tli": 0.896, "rmsea": 0.092,
                 "rmsea_ci_low": 0.071, "rmsea_ci_high": 0.114, "srmr": 0.065,
                 "aic": 7517.490, "bic": 7595.339}
    for k, v in published.items():
        assert res.fit[k] == pytest.approx(v, abs=5e-4), k
    assert res.fit["df"] == 24
    for key, (est, se) in {("visual", "=~", "x2"): (0.554, 0.100),
                           ("visual", "=~", "x3"): (0.729, 0.109),
                           ("textual", "=~", "x5"): (1.113, 0.065),
                           ("textual", "=~", "x6"): (0.926, 0.055),
                           ("speed", "=~", "x8"): (1.180, 0.165),
                           ("speed", "=~", "x9"): (1.082, 0.151),
                           ("visual", "~~", "textual"): (0.408, 0.074),
                           ("visual", "~~", "speed"): (0.262, 0.056),
                           ("textual", "~~", "speed"): (0.173, 0.049)}.items():
        r = _row(res, *key)
        assert r.est == pytest.approx(est, abs=5e-4), key
        assert r.se == pytest.approx(se, abs=5e-4), key


# ----------------------------------------------------------------------------------------------
# SEM: every number against R lavaan 0.6-14
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_estimates_equal_lavaan(fits, lav_est, name):
    res = fits[name]
    ref = lav_est[lav_est.model == name].reset_index(drop=True)
    ours = res.estimates
    # same rows in lavaan's order
    assert ours[["lhs", "op", "rhs"]].to_numpy().tolist() == ref[["lhs", "op", "rhs"]].to_numpy().tolist()
    free = ours["free"].to_numpy()
    # est: 1e-4 relative (lavaan's own nlminb optimum is accurate to ~1e-6 relative)
    np.testing.assert_allclose(ours.est, ref.est, rtol=1e-4, atol=1e-6)
    # se, z: 1e-4 relative
    np.testing.assert_allclose(ours.se[free], ref.se[free], rtol=1e-4)
    np.testing.assert_allclose(ours.z[free], ref.z[free], rtol=1e-4)
    # p values: 1e-5 absolute (lavaan's optimum is itself only ~1e-6 relative, see est)
    np.testing.assert_allclose(ours.p_val[free], ref.pvalue[free], atol=1e-5)
    # Wald CIs: 1e-4 relative
    np.testing.assert_allclose(ours.ci_low[free], ref["ci.lower"][free], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.ci_high[free], ref["ci.upper"][free], rtol=1e-4, atol=1e-6)
    # std.all: 1e-5 absolute
    np.testing.assert_allclose(ours.std_est, ref["std.all"], atol=1e-5)
    # fixed parameters: numbers, NaN SE (lavaan prints se = 0)
    assert ours.loc[~ours.free, "se"].isna().all()
    assert (ref.loc[~free, "se"] == 0).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_measures_equal_lavaan(fits, lav_fit, name):
    res = fits[name]
    ref = lav_fit[lav_fit.model == name].set_index("measure")["value"]
    for lav_name, ours in FIT_NAMES.items():
        # 1e-4 relative, 1e-6 absolute (RMSEA lower bound can be exactly 0)
        assert res.fit[ours] == pytest.approx(ref[lav_name], rel=1e-4, abs=1e-6), lav_name


def test_fit_dict_has_contract_keys(fits):
    keys = {"chisq", "df", "p_val", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high",
            "srmr", "aic", "bic", "n"}
    assert keys <= set(fits["holzinger_cfa"].fit)


def test_effects_equal_lavaan_defined_parameters(fits, lav_est):
    """Indirect and total effect of ind60 on dem65 = lavaan's ':=' (a*b, c + a*b), delta-method SE."""
    res = fits["political_democracy"]
    ref = lav_est[(lav_est.model == "political_democracy_effects") & (lav_est.op == ":=")]
    ref = ref.set_index("lhs")
    eff = res.effects.set_index(["from", "to"])
    row = eff.loc[("ind60", "dem65")]
    assert row["indirect"] == pytest.approx(ref.loc["ind", "est"], rel=1e-4)
    assert row["indirect_se"] == pytest.approx(ref.loc["ind", "se"], rel=1e-4)
    assert row["indirect_p_val"] == pytest.approx(ref.loc["ind", "pvalue"], abs=1e-6)
    assert row["total"] == pytest.approx(ref.loc["tot", "est"], rel=1e-4)
    assert row["total_se"] == pytest.approx(ref.loc["tot", "se"], rel=1e-4)
    assert row["indirect_std"] == pytest.approx(ref.loc["ind", "std.all"], abs=1e-5)
    assert row["total_std"] == pytest.approx(ref.loc["tot", "std.all"], abs=1e-5)
    # structure: no indirect path from dem60 to dem65, so indirect is exactly 0 with no SE
    d = eff.loc[("dem60", "dem65")]
    assert d["indirect"] == 0.0 and math.isnan(d["indirect_se"])
    assert d["total"] == pytest.approx(d["direct"], rel=1e-12)
    assert set(res.effects.columns) >= {"from", "to", "direct", "indirect", "total",
                                        "direct_std", "indirect_std", "total_std"}
    assert res.effect("ind60", "dem65") == pytest.approx(row["total"])


def test_weighted_fit_equals_lavaan_sampling_weights(hs_data, lav_est, lav_fit):
    """lavaan sem(..., sampling.weights = "w") with w = 1 + id %% 3: estimates, robust
    (Huber-White) SEs, the fit measures and the Yuan-Bentler ("mplus") scaled test."""
    data = hs_data.assign(w=1 + hs_data["id"] % 3)
    res = dr.fit_sem(data, HS_MODEL, weight="w")
    ref = lav_est[lav_est.model == "holzinger_cfa_weighted"].reset_index(drop=True)
    free = res.estimates.free.to_numpy()
    # est, robust se: 1e-4 relative (lavaan's optimum is accurate to ~1e-6)
    np.testing.assert_allclose(res.estimates.est, ref.est, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(res.estimates.se[free], ref.se[free], rtol=1e-4)
    np.testing.assert_allclose(res.estimates.std_est, ref["std.all"], atol=1e-5)
    fref = lav_fit[lav_fit.model == "holzinger_cfa_weighted"].set_index("measure")["value"]
    names = {**FIT_NAMES, "chisq.scaled": "chisq_scaled", "pvalue.scaled": "p_val_scaled",
             "chisq.scaling.factor": "scaling_factor", "scaling.factor.h1": "scaling_factor_h1",
             "scaling.factor.h0": "scaling_factor_h0"}
    names.pop("fmin")  # lavaan's weighted fmin is on another scale; chisq is compared instead
    for lav_name, ours in names.items():
        # 1e-4 relative, 1e-6 absolute
        assert res.fit[ours] == pytest.approx(fref[lav_name], rel=1e-4, abs=1e-6), lav_name
    w = data["w"].to_numpy(float)
    assert res.n_eff == pytest.approx(w.sum() ** 2 / (w ** 2).sum(), rel=1e-12)
    assert res.weighted and "robust" in res.method and "Yuan-Bentler" in res.method
    # equal weights reproduce the unweighted estimates (the SEs are then the robust ones)
    same = dr.fit_sem(hs_data.assign(w=2.0), HS_MODEL, weight="w")
    plain = dr.fit_sem(hs_data, HS_MODEL)
    np.testing.assert_allclose(same.estimates.est, plain.estimates.est, rtol=1e-8)
    assert same.fit["chisq"] == pytest.approx(plain.fit["chisq"], rel=1e-8)


# ----------------------------------------------------------------------------------------------
# SEM with missing values: FIML against R lavaan missing = "ml"
# ----------------------------------------------------------------------------------------------
FIML_MODELS = {
    "hs_cfa_fiml": ("holzinger", HS_MODEL, None, "fiml"),
    "hs_cfa_fiml_weighted": ("holzinger", HS_MODEL, "w", "fiml"),
    "hs_mimic_fiml": ("holzinger", MIMIC_MODEL, None, "fiml"),
    "cx_fiml": ("cx", None, None, "fiml"),
    "cx_fiml_weighted": ("cx", None, "w", "fiml"),
    "cx_listwise_weighted": ("cx", None, "w", "listwise"),
}
CX_R_MODEL = """PRD =~ prd1 + prd2 + prd3
SRV =~ srv1 + srv2 + srv3
VAL =~ val1 + val2 + val3
DIG =~ dig1 + dig2 + dig3
SAT =~ sat1 + sat2 + sat3
SAT ~ PRD + SRV + VAL + DIG
nps ~ SAT"""


@pytest.fixture(scope="module")
def fiml_fits():
    data = {k: pd.read_csv(RES / f"drivers_fiml_data_{k}.csv") for k in ("holzinger", "cx")}
    return {name: dr.fit_sem(data[d], m or CX_R_MODEL, weight=w, missing=miss)
            for name, (d, m, w, miss) in FIML_MODELS.items()}


@pytest.fixture(scope="module")
def fiml_ref():
    est = pd.read_csv(RES / "drivers_fiml_estimates.csv", keep_default_na=False, na_values=["NA"])
    fit = pd.read_csv(RES / "drivers_fiml_fit.csv", keep_default_na=False, na_values=["NA"])
    h1 = pd.read_csv(RES / "drivers_fiml_h1.csv")
    return est, fit, h1


@pytest.mark.parametrize("name", list(FIML_MODELS))
def test_fiml_estimates_equal_lavaan(fiml_fits, fiml_ref, name):
    """Every parameter (incl. the ~1 intercept rows) against lavaan; lavaan's optimum has a
    largest gradient of ~1e-6 (drivers_fiml_fit.csv, max.gradient), hence 1e-4."""
    res = fiml_fits[name]
    ref = fiml_ref[0][fiml_ref[0].model == name]
    m = ref.merge(res.estimates, on=["lhs", "op", "rhs"], how="outer", suffixes=("_lav", ""),
                  indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs"]]
    free = m["free"].to_numpy(bool)
    # est: 1e-4 relative
    np.testing.assert_allclose(m.est, m.est_lav, rtol=1e-4, atol=1e-6)
    # se (observed information; robust Huber-White when weighted): 1e-4 relative
    np.testing.assert_allclose(m.se[free], m.se_lav[free], rtol=1e-4)
    # p values: 1e-5 absolute; std.all: 1e-5 absolute
    np.testing.assert_allclose(m.p_val[free], m.pvalue[free], atol=1e-5)
    np.testing.assert_allclose(m.std_est, m["std.all"], atol=1e-5)
    assert m.loc[~free, "se"].isna().all()


@pytest.mark.parametrize("name", list(FIML_MODELS))
def test_fiml_fit_measures_equal_lavaan(fiml_fits, fiml_ref, name):
    res = fiml_fits[name]
    ref = fiml_ref[1][fiml_ref[1].model == name].set_index("measure")["value"]
    names = {**FIML_FIT_NAMES}
    if res.weighted:
        names.update({"chisq.scaled": "chisq_scaled", "pvalue.scaled": "p_val_scaled",
                      "chisq.scaling.factor": "scaling_factor"})
    if res.missing == "fiml":
        names["srmr_bentler_nomean"] = "srmr_nomean"
    for lav_name, ours in names.items():
        # 1e-4 relative, 1e-6 absolute
        assert res.fit[ours] == pytest.approx(float(ref[lav_name]), rel=1e-4, abs=1e-6), lav_name


def test_standardised_paths_and_effects_equal_lavaan_standardized_solution(fiml_fits):
    """std.all of the structural paths and of the total effects on nps (defined a*b in lavaan),
    with their delta-method SEs: lavaan standardizedSolution(), 1e-4 relative."""
    ref = pd.read_csv(RES / "drivers_fiml_std.csv")
    for name in ("cx_fiml", "cx_fiml_weighted"):
        res = fiml_fits[name]
        est = res.estimates.set_index(["lhs", "op", "rhs"])
        for r in ref[ref.model == name].itertuples():
            if r.op == "~":
                got = est.loc[(r.lhs, "~", r.rhs)]
                assert got.std_est == pytest.approx(r._5, rel=1e-4), (name, r.lhs, r.rhs)
                assert got.std_se == pytest.approx(r.se, rel=1e-4), (name, r.lhs, r.rhs)
            else:
                e = res.effects
                got = e[(e["from"] == r.lhs.split("_")[0]) & (e["to"] == "nps")].iloc[0]
                assert got.total_std == pytest.approx(r._5, rel=1e-4), (name, r.lhs)
                assert got.total_std_se == pytest.approx(r.se, rel=1e-4), (name, r.lhs)
                assert got.total == pytest.approx(r.est, rel=1e-4) and got.total_se == pytest.approx(
                    r._8, rel=1e-4), (name, r.lhs)


def test_fiml_uses_every_answer_and_counts_rows(fiml_fits):
    hs = pd.read_csv(RES / "drivers_fiml_data_holzinger.csv")
    res = fiml_fits["hs_mimic_fiml"]
    assert res.missing == "fiml" and res.n == 296 and res.n_dropped == 5  # ageyr missing: dropped
    cfa = fiml_fits["hs_cfa_fiml"]
    complete = int(hs[[f"x{i}" for i in range(1, 10)]].notna().all(axis=1).sum())
    assert cfa.n == len(hs) and cfa.n_complete == complete < cfa.n
    assert "full-information" in cfa.method and cfa.converged
    lw = fiml_fits["cx_listwise_weighted"]
    assert lw.n == lw.n_complete == 715 and lw.n_dropped == 1200 - 715


def test_em_moments_equal_lavaan_h1(fiml_ref):
    """The saturated model: EM means and covariances = lavInspect(fit, "h1") (lavaan's EM stops
    at a looser tolerance than ours: 1e-5), and its log-likelihood 1e-9 relative."""
    from workbench import _sem_fiml

    h1 = fiml_ref[2]
    hs = pd.read_csv(RES / "drivers_fiml_data_holzinger.csv")
    names = [f"x{i}" for i in range(1, 10)]
    fit = fiml_ref[1]
    for model, w in (("hs_cfa_fiml", None), ("hs_cfa_fiml_weighted", "w")):
        pat = _sem_fiml.Patterns.from_data(hs[names].to_numpy(float), None if w is None else hs[w].to_numpy(float))
        mu, S, ll, ok = _sem_fiml.em(pat)
        ref = h1[h1.model == model]
        rmu = ref[ref.row == "mean"].set_index("col").value.reindex(names).to_numpy()
        rS = ref[ref.row != "mean"].pivot(index="row", columns="col", values="value").loc[names, names]
        assert ok
        np.testing.assert_allclose(mu, rmu, atol=1e-5)
        np.testing.assert_allclose(S, rS.to_numpy(), atol=1e-5)
        ref_ll = fit[(fit.model == model) & (fit.measure == "unrestricted.logl")].value.iloc[0]
        assert ll == pytest.approx(ref_ll, rel=1e-9)


def test_saturated_information_is_the_hessian():
    """The analytic observed information of the saturated model = −(numerical derivative of the
    analytic gradient)/N, and the weighted casewise scores sum to the gradient."""
    from workbench import _sem_fiml as F

    hs = pd.read_csv(RES / "drivers_fiml_data_holzinger.csv")
    X = hs[[f"x{i}" for i in range(1, 7)]].to_numpy(float)
    pat = F.Patterns.from_data(X, hs["w"].to_numpy(float))
    p = X.shape[1]
    mu, S, _, _ = F.em(pat)
    mu, S = mu + 0.1, S * 1.1          # away from the optimum: the M-dependent terms matter
    mean_idx, cov_idx = np.arange(p), F._vech_index(p)
    ci = np.array([i for i, _ in cov_idx])
    cj = np.array([j for _, j in cov_idx])

    def grad(psi):
        s = np.zeros((p, p))
        s[ci, cj] = s[cj, ci] = psi[p:]
        _, gm, G = F.moment_gradient(pat, psi[:p], s)
        return np.concatenate([gm, np.where(ci == cj, 0.5, 1.0) * G[ci, cj]]) / pat.n

    psi = np.concatenate([mu, S[ci, cj]])
    num = np.empty((len(psi), len(psi)))
    for k in range(len(psi)):
        e = np.zeros(len(psi))
        e[k] = 1e-6
        num[:, k] = -(grad(psi + e) - grad(psi - e)) / 2e-6
    A = F.saturated_information(pat, mu, S, mean_idx, cov_idx)
    np.testing.assert_allclose(A, num, atol=1e-7)   # central differences: ~1e-9 error
    sc = F.saturated_scores(pat, mu, S, mean_idx, cov_idx)
    np.testing.assert_allclose((sc * pat.w[:, None]).sum(axis=0) / pat.n, grad(psi), atol=1e-12)


def test_fiml_without_missing_values_equals_listwise_estimates(hs_data):
    """Complete data: FIML (free means) gives the listwise ML estimates and χ²."""
    a = dr.fit_sem(hs_data, HS_MODEL)
    b = dr.fit_sem(hs_data, HS_MODEL, missing="ml")
    core = b.estimates[b.estimates.op != "~1"].reset_index(drop=True)
    np.testing.assert_allclose(core.est, a.estimates.est, rtol=1e-6, atol=1e-8)
    assert b.fit["chisq"] == pytest.approx(a.fit["chisq"], rel=1e-6)
    assert b.n_complete == b.n == a.n
    with pytest.raises(ModelError, match="missing: expected 'listwise' or 'fiml'"):
        dr.fit_sem(hs_data, HS_MODEL, missing="pairwise")


def test_semopy_alone_is_not_converged_and_is_polished(pd_data, lav_est):
    """semopy's SLSQP optimum misses lavaan by > 1e-3; without polishing we say so."""
    with pytest.warns(ConvergenceWarning):
        raw = dr.fit_sem(pd_data, PD_MODEL, max_iter=0)
    assert not raw.converged and raw.warnings
    assert not raw.checks.set_index("check").loc["converged", "passed"]
    ref = lav_est[lav_est.model == "political_democracy"].reset_index(drop=True)
    assert np.abs(raw.estimates.est - ref.est).max() > 1e-3
    polished = dr.fit_sem(pd_data, PD_MODEL)
    assert polished.converged and not polished.warnings
    assert np.abs(polished.estimates.est - ref.est).max() < 1e-4


def test_std_lv_identification_and_labels(hs_data, lav_est, fits):
    """NA* frees the marker, '~~ 1*' fixes the variance: loadings = lavaan's std.lv; shared labels
    make parameters equal and add a degree of freedom."""
    m = """visual =~ NA*x1 + x2 + x3
           textual =~ NA*x4 + x5 + x6
           speed =~ NA*x7 + x8 + x9
           visual ~~ 1*visual; textual ~~ 1*textual; speed ~~ 1*speed"""
    res = dr.fit_sem(hs_data, m)
    ref = lav_est[(lav_est.model == "holzinger_cfa") & (lav_est.op == "=~")]
    ours = res.estimates[res.estimates.op == "=~"]
    np.testing.assert_allclose(ours.est.to_numpy(), ref["std.lv"].to_numpy(), rtol=1e-4)
    assert res.fit["chisq"] == pytest.approx(fits["holzinger_cfa"].fit["chisq"], rel=1e-6)
    eq = dr.fit_sem(hs_data, "visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + x5 + x6")
    assert _row(eq, "visual", "=~", "x2").est == _row(eq, "visual", "=~", "x3").est
    free = dr.fit_sem(hs_data, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6")
    assert eq.fit["df"] == free.fit["df"] + 1
    assert (eq.estimates.label == "a").sum() == 2


def test_heywood_case_is_reported_not_hidden():
    """Correlations r12 = .5, r13 = r23 = .8 imply λ3² = .64/.5 = 1.28, a negative residual
    variance -0.28 (exactly, in the standardised metric); lavaan reports it negative, and so do we."""
    rng = np.random.default_rng(3)
    R = np.array([[1, .5, .8], [.5, 1, .8], [.8, .8, 1]])
    Z = rng.standard_normal((500, 3))
    Z = (Z - Z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(Z.T, bias=True)).T)
    X = Z @ np.linalg.cholesky(R).T
    data = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.warns(WorkbenchWarning, match="Heywood"):
        res = dr.fit_sem(data, "f =~ a + b + c")
    assert _row(res, "c", "~~", "c").est == pytest.approx(-0.28, abs=1e-6)
    checks = res.checks.set_index("check")
    assert not checks.loc["heywood", "passed"] and not checks.loc["std_loading", "passed"]
    assert any("Heywood" in w for w in res.warnings)


# ----------------------------------------------------------------------------------------------
# SEM: errors that teach
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, match", [
    ("visual =~ x1 + x2 + x33", r"'x33'.*'visual =~ x1 \+ x2 \+ x33'.*did you mean 'x3'"),
    ("visual = x1 + x2 + x3", r"expected an operator"),
    ("visual =~ x1 + x2 + x3\nind := a*b", r"':='"),
    ("visual =~ x1 + x2 + x3\nx1 ~ 1", r"intercepts"),
    ("visual =~ x1 + x2 +", r"empty term"),
    ("visual =~ x1 + x2 + x3\nvisual =~ x1", r"specified twice"),
    ("visual =~ start(1)*x1 + x2 + x3", r"modifier"),
    ("# only a comment", r"empty"),
    ("f =~ x1 + x2", r"not identified.*df = -1"),
    ("visual =~ NA*x1 + x2 + x3\ntextual =~ x4 + x5 + x6", r"not identified.*singular.*visual =~ x1"),
    ("x7 ~ ageyr + sex\nageyr ~~ sex", r"fixed.x"),
])
def test_model_errors(hs_data, model, match):
    with pytest.raises(ModelError, match=match):
        dr.fit_sem(hs_data, model)


def test_data_errors(hs_data):
    flat = hs_data.assign(x2=3.0)
    with pytest.raises(DataError, match=r"column 'x2': zero variance"):
        dr.fit_sem(flat, "visual =~ x1 + x2 + x3")
    text = hs_data.assign(x2=hs_data["x2"].astype(str))
    with pytest.raises(DataError, match=r"column 'x2': expected numeric"):
        dr.fit_sem(text, "visual =~ x1 + x2 + x3")
    with pytest.raises(DataError, match=r"weight 'w'.*negative"):
        dr.fit_sem(hs_data.assign(w=-1.0), "visual =~ x1 + x2 + x3", weight="w")
    with pytest.raises(DataError, match=r"weight: column 'nope'"):
        dr.fit_sem(hs_data, "visual =~ x1 + x2 + x3", weight="nope")
    with pytest.raises(DataError, match=r"complete rows"):
        dr.fit_sem(hs_data.head(3), "visual =~ x1 + x2 + x3")


def test_weight_series_aligned_by_index(hs_data):
    w = pd.Series(1.0 + hs_data["id"] % 3, index=hs_data.index)
    a = dr.fit_sem(hs_data, "visual =~ x1 + x2 + x3", weight=w)
    b = dr.fit_sem(hs_data.iloc[::-1], "visual =~ x1 + x2 + x3", weight=w)
    np.testing.assert_allclose(a.estimates.est, b.estimates.est, rtol=1e-10)
    with pytest.raises(DataError, match="no weight for rows"):
        dr.fit_sem(hs_data, "visual =~ x1 + x2 + x3", weight=w.iloc[:10])


FIML_FIT_NAMES = {k: v for k, v in FIT_NAMES.items() if k != "fmin"}


def test_listwise_deletion_and_no_mutation(hs_data):
    data = hs_data.copy()
    data.loc[data.index[:5], "x1"] = np.nan
    before = data.copy()
    res = dr.fit_sem(data, HS_MODEL)
    pd.testing.assert_frame_equal(data, before)
    assert res.n == len(data) - 5 and res.n_dropped == 5 and res.fit["n"] == res.n


# ----------------------------------------------------------------------------------------------
# SEM: planted effects
# ----------------------------------------------------------------------------------------------
TRUE_GAMMA = {"PRD": 0.35, "SRV": 0.30, "VAL": 0.20, "DIG": 0.10}   # SAT ~ drivers (standardised)
TRUE_LOY = {"SAT": 0.6, "VAL": 0.2}                                    # nps ~ SAT + VAL


def simulate_cx(n=2000, seed=11, r=0.4):
    """Standardised latent model of the demo study (DEMO_SPEC.md) with continuous items 1..7-ish."""
    rng = np.random.default_rng(seed)
    names = list(TRUE_GAMMA)
    Phi = np.full((4, 4), r) + (1 - r) * np.eye(4)
    eta = rng.multivariate_normal(np.zeros(4), Phi, n)
    g = np.array([TRUE_GAMMA[k] for k in names])
    sat = eta @ g + math.sqrt(1 - g @ Phi @ g) * rng.standard_normal(n)
    cov_sat_val = (Phi @ g)[2]
    b = np.array([TRUE_LOY["SAT"], TRUE_LOY["VAL"]])
    v = b @ np.array([[1, cov_sat_val], [cov_sat_val, 1]]) @ b
    loy = b[0] * sat + b[1] * eta[:, 2] + math.sqrt(1 - v) * rng.standard_normal(n)
    cols = {}
    loads = [0.9, 0.8, 0.7]
    for k, lv in zip(names + ["SAT"], list(eta.T) + [sat]):
        for i, lam in enumerate(loads, 1):
            cols[f"{k.lower()}{i}"] = 4 + 1.2 * (lam * lv + math.sqrt(1 - lam ** 2) * rng.standard_normal(n))
    cols["nps"] = 6 + 2 * loy
    cols["w"] = rng.lognormal(0, 0.3, n)
    return pd.DataFrame(cols)


CX_CONSTRUCTS = {k: [f"{k.lower()}{i}" for i in (1, 2, 3)] for k in list(TRUE_GAMMA) + ["SAT"]}


@pytest.fixture(scope="module")
def cx():
    data = simulate_cx()
    model = dr.default_model({"constructs": CX_CONSTRUCTS,
                              "outcomes": {"satisfaction": "SAT", "loyalty": "nps"}})
    model += "\nnps ~ VAL"
    return data, model, dr.fit_sem(data, model)


def test_planted_paths_recovered(cx):
    """n = 2000: standardised paths within 0.05 (≈ 2.5 SE), loadings within 0.03."""
    _, _, res = cx
    for k, g in TRUE_GAMMA.items():
        assert _row(res, "SAT", "~", k).std_est == pytest.approx(g, abs=0.05), k
    assert _row(res, "nps", "~", "SAT").std_est == pytest.approx(0.6, abs=0.05)
    assert _row(res, "nps", "~", "VAL").std_est == pytest.approx(0.2, abs=0.05)
    for k, items in CX_CONSTRUCTS.items():
        for item, lam in zip(items, [0.9, 0.8, 0.7]):
            assert _row(res, k, "=~", item).std_est == pytest.approx(lam, abs=0.03), item
    # total effect of VAL on loyalty = direct .2 + .6 * .2 (standardised)
    assert res.effect("VAL", "nps", std=True) == pytest.approx(0.2 + 0.6 * 0.2, abs=0.05)
    assert res.fit["cfi"] > 0.99 and res.fit["rmsea"] < 0.03 and res.converged
    r2 = res.r2()
    assert r2["SAT"] == pytest.approx(
        float(np.array(list(TRUE_GAMMA.values())) @ (np.full((4, 4), .4) + .6 * np.eye(4))
              @ np.array(list(TRUE_GAMMA.values()))), abs=0.05)


def test_weighted_fit_recovers_paths(cx):
    data, model, res = cx
    wres = dr.fit_sem(data, model, weight="w")
    for k, g in TRUE_GAMMA.items():
        assert _row(wres, "SAT", "~", k).std_est == pytest.approx(g, abs=0.06), k
    assert wres.n_eff < wres.n


def test_reliability_and_validity(cx):
    data, _, res = cx
    rel = res.reliability.set_index("construct")
    import pingouin

    for c, items in CX_CONSTRUCTS.items():
        # alpha = pingouin's (1e-12)
        assert rel.loc[c, "alpha"] == pytest.approx(pingouin.cronbach_alpha(data[items])[0], abs=1e-12)
        lam = np.array([_row(res, c, "=~", i).std_est for i in items])
        th = np.array([_row(res, i, "~~", i).std_est for i in items])
        # CR and AVE by hand from the standardised solution (1e-12)
        assert rel.loc[c, "cr"] == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + th.sum()), abs=1e-12)
        assert rel.loc[c, "ave"] == pytest.approx(np.mean(lam ** 2), abs=1e-12)
        # population values for loadings .9/.8/.7: CR = 2.4²/(2.4² + 0.94) = .860, AVE = .647
        assert rel.loc[c, "cr"] == pytest.approx(2.4 ** 2 / (2.4 ** 2 + 0.94), abs=0.02)
        assert rel.loc[c, "ave"] == pytest.approx((0.81 + 0.64 + 0.49) / 3, abs=0.03)
    assert rel["fornell_larcker"].all()
    checks = res.checks
    assert checks[checks.check.isin(["alpha", "cr", "ave", "htmt"])]["passed"].all()
    assert set(res.discriminant.columns) == {"construct_a", "construct_b", "latent_r", "htmt",
                                             "fornell_larcker"}
    # weighted alpha: constant weights give the unweighted alpha
    same = dr.fit_sem(data.assign(w=3.0), "PRD =~ prd1 + prd2 + prd3", weight="w")
    assert same.reliability.alpha.iloc[0] == pytest.approx(rel.loc["PRD", "alpha"], abs=1e-12)


def test_htmt_hand_computed():
    """Two constructs, items a1,a2 | b1,b2,b3.  Within-A mean r = .6; within-B mean
    (.5 + .7 + .6)/3 = .6; between mean (.3+.2+.4+.1+.3+.5)/6 = .3; HTMT = .3/sqrt(.6*.6) = .5."""
    R = np.array([
        [1.0, 0.6, 0.3, 0.2, 0.4],
        [0.6, 1.0, 0.1, 0.3, 0.5],
        [0.3, 0.1, 1.0, 0.5, 0.7],
        [0.2, 0.3, 0.5, 1.0, 0.6],
        [0.4, 0.5, 0.7, 0.6, 1.0],
    ])
    H = dr.htmt_matrix(R, {"A": [0, 1], "B": [2, 3, 4]})
    assert H.loc["A", "B"] == pytest.approx(0.5, abs=1e-15)
    assert H.loc["B", "A"] == pytest.approx(0.5, abs=1e-15)
    # absolute values (semTools default): sign flips of a whole item do not change HTMT
    S = np.diag([1, -1, 1, 1, 1.0])
    assert dr.htmt_matrix(S @ R @ S, {"A": [0, 1], "B": [2, 3, 4]}).loc["A", "B"] == pytest.approx(0.5)


def test_summary_and_repr(fits):
    res = fits["political_democracy"]
    text = res.summary()
    assert "CFI = 0.995" in text and "dem60 =~" not in text.splitlines()[0]
    assert "ind60" in text and "Measurement quality" in text
    assert "chisq=38.125" in repr(res)
    with pytest.raises(Exception):
        res.n = 3  # frozen


# ----------------------------------------------------------------------------------------------
# default model
# ----------------------------------------------------------------------------------------------
def test_default_model_from_dict_and_codebook_like():
    cb = {"constructs": {"PRD": {"items": ["prd1", "prd2"]}, "SAT": ["sat1", "sat2"],
                         "VAL": ["val1", "val2"]},
          "outcomes": {"satisfaction": "SAT", "loyalty": "nps"}}
    m = dr.default_model(cb)
    assert m.splitlines() == ["PRD =~ prd1 + prd2", "VAL =~ val1 + val2", "SAT =~ sat1 + sat2",
                              "SAT ~ PRD + VAL", "nps ~ SAT"]
    assert dr.default_model(cb, direct=True).splitlines()[-1] == "nps ~ SAT + PRD + VAL"

    class Codebookish:
        outcomes = {"satisfaction": "SAT"}

        def construct_items(self):
            return {"A": ["a1", "a2"], "SAT": ["s1", "s2"]}

    assert dr.default_model(Codebookish()).splitlines()[-1] == "SAT ~ A"
    with pytest.raises(ModelError, match="satisfaction construct 'XX'"):
        dr.default_model(cb, satisfaction="XX")


def test_default_model_from_demo_codebook():
    cbmod = pytest.importorskip("workbench.codebook")
    path = Path(dr.__file__).parent / "data" / "demo" / "codebook.yaml"
    if not path.exists():
        pytest.skip("demo codebook not available")
    cb = cbmod.load_codebook(path)
    lines = dr.default_model(cb).splitlines()
    assert "SAT ~ PRD + SRV + VAL + DIG" in lines and lines[-1] == "nps ~ SAT"


# ----------------------------------------------------------------------------------------------
# relative importance
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def relref():
    return pd.read_csv(RES / "drivers_relimp_reference.csv")


def _data(name):
    return pd.read_csv(RES / f"drivers_relimp_data_{name}.csv")


YS = {"mtcars": "mpg", "swiss": "Fertility", "boston": "medv"}


def test_lmg_published_relaimpo_mtcars():
    """relaimpo::calc.relimp(mpg ~ am + vs + cyl, mtcars, type = "lmg"), as printed in the domir
    package README (github.com/jluchman/domir): am 0.1774892, vs 0.2027032, cyl 0.3817849,
    R² 0.7619773.  Tolerance 5e-8 (7 printed decimals)."""
    ri = dr.relative_importance(_data("mtcars"), "mpg", ["am", "vs", "cyl"])
    np.testing.assert_allclose(ri.importance, [0.1774892, 0.2027032, 0.3817849], atol=5e-8)
    assert ri.attrs["r2"] == pytest.approx(0.7619773, abs=5e-8)


def test_lmg_published_relaimpo_boston():
    """relaimpo calc.relimp(lm(medv ~ ., MASS::Boston), type = "lmg", rela = TRUE), printed in
    J.-P. Kolb, 'Regression' course notes (2016): shares below, R² 74.06%.  13 regressors.
    Tolerance 5e-9 (8 printed decimals)."""
    published = {"crim": 0.03669197, "zn": 0.03349910, "indus": 0.05101231, "chas": 0.02139033,
                 "nox": 0.04511571, "rm": 0.25259867, "age": 0.02975151, "dis": 0.04087946,
                 "rad": 0.03190385, "tax": 0.04967225, "ptratio": 0.10602348,
                 "black": 0.03093651, "lstat": 0.27052485}
    ri = dr.relative_importance(_data("boston"), "medv", list(published))
    np.testing.assert_allclose(ri.share, list(published.values()), atol=5e-9)
    assert ri.attrs["r2"] == pytest.approx(0.7406, abs=5e-5)


@pytest.mark.parametrize("name", ["mtcars", "swiss", "boston"])
def test_lmg_and_relative_weights_equal_r(relref, name):
    """R: subset R² by lm(), LMG over all orderings (p <= 6) or the Shapley subset sum,
    Johnson's weights from eigen(); tolerance 1e-10."""
    d = _data(name)
    y = YS[name]
    xs = [c for c in d.columns if c != y]
    ref = relref[relref.data == name]
    ri = dr.relative_importance(d, y, xs)
    np.testing.assert_allclose(ri.importance, ref.lmg, atol=1e-10)
    assert ri.importance.sum() == pytest.approx(ref.r2_full.iloc[0], abs=1e-12)
    assert ri.share.sum() == pytest.approx(1.0, abs=1e-12)
    rw = dr.relative_importance(d, y, xs, method="relative_weights")
    np.testing.assert_allclose(rw.importance, ref.relative_weight, atol=1e-10)


def test_subset_r2_table_equals_r_lm():
    from workbench import _relimp

    subs = pd.read_csv(RES / "drivers_relimp_subsets.csv", keep_default_na=False)
    for name in ("mtcars", "swiss"):
        d = _data(name)
        y = YS[name]
        xs = [c for c in d.columns if c != y]
        R = d[[y] + xs].corr().to_numpy()
        ours = _relimp.subset_r2(R)
        ref = subs[subs.data == name].sort_values("mask")
        np.testing.assert_allclose(ours[ref["mask"].to_numpy()], ref.r2.to_numpy(), atol=1e-12)


def test_lmg_equals_brute_force_over_orderings():
    """Independent check: average R² gain over all 5! orderings with least-squares fits."""
    d = _data("swiss")
    y = d["Fertility"].to_numpy()
    xs = [c for c in d.columns if c != "Fertility"]
    X = d[xs].to_numpy()

    def r2(cols):
        if not cols:
            return 0.0
        A = np.column_stack([np.ones(len(y)), X[:, cols]])
        e = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
        return 1 - e @ e / ((y - y.mean()) @ (y - y.mean()))

    gains = np.zeros(len(xs))
    orders = list(itertools.permutations(range(len(xs))))
    for order in orders:
        for k, j in enumerate(order):
            gains[j] += r2(list(order[:k + 1])) - r2(list(order[:k]))
    brute = gains / len(orders)
    ri = dr.relative_importance(d, "Fertility", xs)
    np.testing.assert_allclose(ri.importance, brute, atol=1e-12)


def test_lmg_for_15_drivers_is_a_full_decomposition():
    """2^15 subsets: every share non-negative and the shares add up to the model's R²."""
    rng = np.random.default_rng(5)
    n, p = 1000, 15
    X = rng.standard_normal((n, p)) @ rng.uniform(0, 0.5, (p, p)) + rng.standard_normal((n, p))
    df = pd.DataFrame(X, columns=[f"d{i}" for i in range(p)])
    df["y"] = X @ rng.uniform(0, 1, p) + rng.standard_normal(n)
    ri = dr.relative_importance(df, "y", [f"d{i}" for i in range(p)])
    assert len(ri) == p and (ri.importance >= 0).all()
    assert ri.importance.sum() == pytest.approx(ri.attrs["r2"])


def test_weighted_relative_importance():
    d = _data("swiss")
    xs = [c for c in d.columns if c != "Fertility"]
    same = dr.relative_importance(d.assign(w=2.5), "Fertility", xs, weight="w")
    plain = dr.relative_importance(d, "Fertility", xs)
    np.testing.assert_allclose(same.importance, plain.importance, atol=1e-12)
    # integer weights = duplicated rows
    w = 1 + np.arange(len(d)) % 3
    wtd = dr.relative_importance(d.assign(w=w), "Fertility", xs, weight="w")
    dup = dr.relative_importance(d.loc[d.index.repeat(w)], "Fertility", xs)
    np.testing.assert_allclose(wtd.importance, dup.importance, atol=1e-12)
    assert wtd.attrs["n_eff"] < len(d)


def test_bootstrap_seeded_and_dask_equals_serial():
    d = _data("swiss")
    xs = [c for c in d.columns if c != "Fertility"]
    a = dr.relative_importance(d, "Fertility", xs, bootstrap=60, seed=42)
    b = dr.relative_importance(d, "Fertility", xs, bootstrap=60, seed=42)
    pd.testing.assert_frame_equal(a, b)
    assert (a.ci_low <= a.importance).all() and (a.importance <= a.ci_high).all()
    assert {"ci_low", "ci_high", "share_ci_low", "share_ci_high"} <= set(a.columns)
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=":0") as client:
        c = dr.relative_importance(d, "Fertility", xs, bootstrap=60, seed=42, client=client)
    pd.testing.assert_frame_equal(a, c)


def test_relative_importance_errors():
    d = _data("swiss")
    xs = [c for c in d.columns if c != "Fertility"]
    with pytest.raises(DataError, match="collinear.*Agriculture|collinear.*dup"):
        dr.relative_importance(d.assign(dup=2 * d.Agriculture + 1), "Fertility", xs + ["dup"])
    with pytest.raises(DataError, match="'Fertilty' is not in the data; did you mean 'Fertility'"):
        dr.relative_importance(d, "Fertilty", xs)
    with pytest.raises(DataError, match="method"):
        dr.relative_importance(d, "Fertility", xs, method="shapley")
    with pytest.raises(DataError, match="zero variance"):
        dr.relative_importance(d.assign(k=1.0), "Fertility", xs + ["k"])
    many = pd.DataFrame(np.random.default_rng(0).standard_normal((50, 22)),
                        columns=[f"d{i}" for i in range(22)])
    with pytest.raises(DataError, match="at most 20"):
        dr.relative_importance(many, "d0", [f"d{i}" for i in range(1, 22)])


# ----------------------------------------------------------------------------------------------
# correlations, regression, four views
# ----------------------------------------------------------------------------------------------
def test_regression_equals_lm_and_svyglm():
    d = _data("swiss")
    xs = ["Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality"]
    lm = pd.read_csv(RES / "drivers_lm_reference.csv").set_index("driver").loc[xs]
    ours = dr.standardized_regression(d, "Fertility", xs)
    for col in ("b", "se", "t"):
        np.testing.assert_allclose(ours[col], lm[col], rtol=1e-10)
    np.testing.assert_allclose(ours.p_val, lm.p_val, rtol=1e-8)
    np.testing.assert_allclose(ours.beta, ours.b * d[xs].std().to_numpy() / d.Fertility.std(),
                               rtol=1e-12)
    sv = pd.read_csv(RES / "drivers_svyglm_reference.csv").set_index("driver").loc[xs]
    w = 1 + np.arange(1, len(d) + 1) % 3   # R: 1 + seq_len(n) %% 3
    ours = dr.standardized_regression(d.assign(w=w), "Fertility", xs, weight="w")
    for col in ("b", "se", "t"):
        np.testing.assert_allclose(ours[col], sv[col], rtol=1e-8)
    np.testing.assert_allclose(ours.p_val, sv.p_val, rtol=1e-6)


def test_correlations_equal_scipy():
    from scipy import stats

    d = _data("swiss")
    xs = ["Agriculture", "Education"]
    c = dr.correlations(d, "Fertility", xs)
    for _, r in c.iterrows():
        ref = stats.pearsonr(d[r.driver], d.Fertility)
        assert r.r == pytest.approx(ref.statistic, abs=1e-12)
        assert r.p_val == pytest.approx(ref.pvalue, rel=1e-8)
        lo, hi = ref.confidence_interval(0.95)
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), abs=1e-10)


def test_four_views(cx):
    data, _, res = cx
    scores = dr.construct_scores(data, CX_CONSTRUCTS).assign(nps=data["nps"])
    fv = dr.four_views(scores, "SAT", list(TRUE_GAMMA), res)
    assert list(fv.columns) == ["driver", "r", "beta", "lmg", "lmg_share", "sem_total",
                                "sem_total_std", "rank_r", "rank_beta", "rank_lmg", "rank_sem"]
    assert fv.set_index("driver").loc["PRD", "rank_sem"] == 1
    np.testing.assert_allclose(fv.sem_total_std, [res.effect(k, "SAT", std=True) for k in TRUE_GAMMA])
    assert fv.lmg_share.sum() == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------------
# IPMA
# ----------------------------------------------------------------------------------------------
def test_ipma_quadrants_and_priority():
    frame = pd.DataFrame({"driver": list("ABCD"), "importance": [0.4, 0.3, 0.1, 0.05],
                          "performance": [40.0, 80.0, 30.0, 90.0]})
    out = dr.ipma(frame, "y")
    # cut at means: importance 0.2125, performance 60
    q = out.set_index("driver")["quadrant"]
    assert q.to_dict() == {"A": "concentrate", "B": "keep_up", "C": "low_priority", "D": "overkill"}
    assert out["driver"].tolist() == ["A", "B", "C", "D"] and out["priority"].tolist() == [1, 2, 3, 4]
    assert out.attrs["importance_cut"] == pytest.approx(0.2125)
    assert out.attrs["performance_cut"] == pytest.approx(60.0)
    assert set(q) <= set(dr.QUADRANTS)


def test_ipma_from_sem(cx):
    data, _, res = cx
    out = dr.ipma(res, "SAT", data=data, scale_min=0, scale_max=8).set_index("driver")
    for k, items in CX_CONSTRUCTS.items():
        if k == "SAT":
            continue
        # importance = unstandardised total effect (same scale for driver and target)
        assert out.loc[k, "importance"] == pytest.approx(res.effect(k, "SAT"), rel=1e-12)
        perf = data[items].mean(axis=1).mean() / 8 * 100
        assert out.loc[k, "performance"] == pytest.approx(perf, rel=1e-12)
    assert out.loc["PRD", "quadrant"] in ("concentrate", "keep_up")
    w = dr.ipma(res, "SAT", data=data, weight="w", scale_min=0, scale_max=8).set_index("driver")
    perf_w = np.average(data[CX_CONSTRUCTS["PRD"]].mean(axis=1), weights=data["w"]) / 8 * 100
    assert w.loc["PRD", "performance"] == pytest.approx(perf_w, rel=1e-12)
    # loyalty target on a 0-10 scale: effects rescaled by driver range / target range
    loy = dr.ipma(res, "nps", data=data, scale_min=0, scale_max=8, target_scale=(0, 10))
    loy = loy.set_index("driver")
    assert loy.loc["VAL", "importance"] == pytest.approx(res.effect("VAL", "nps") * 8 / 10)
    with pytest.raises(ModelError, match="no structural path leads to 'xyz'"):
        dr.ipma(res, "xyz", data=data)


def test_engine_derivatives(hs_data):
    """The vectorised ∂Σ/∂θ equals semopy's own, and the gradient of F_ML equals finite
    differences (1e-6), on a model with a label, a residual covariance and a covariate."""
    from workbench import _sem
    from workbench._sem_syntax import parse_model

    pt = parse_model("visual =~ x1 + x2 + x3\ntextual =~ x4 + a*x5 + a*x6\n"
                     "x7 ~ visual + ageyr\nx9 ~ textual + ageyr + x7\nx2 ~~ x3")
    eng = _sem.Engine(pt, _sem.prepare(hs_data, pt))
    th = eng.start() + 0.01
    _, D = eng.sigma_and_grad(th)
    _, mm, c = eng.sigma(th)
    P = eng.perm
    ref = np.stack([np.asarray(g, float)[np.ix_(P, P)] for g in eng.model.calc_sigma_grad(mm, c)])
    np.testing.assert_allclose(D, ref, atol=1e-14)
    g = eng.gradient(th)
    E = np.eye(len(th)) * 1e-6
    num = np.array([(eng.fml(th + e) - eng.fml(th - e)) / 2e-6 for e in E])
    np.testing.assert_allclose(g, num, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# key-driver analysis on a study that is not the demo: words and numbers from the codebook
# ----------------------------------------------------------------------------------------------
CSI_LABELS = {"IMAG": "Image", "PRI": "Price irritation", "QUAL": "Perceived quality",
              "VAL": "Perceived value", "SAT": "Customer satisfaction", "CUSCO": "Complaints",
              "LOY": "Loyalty"}


def csi_study(n=400, seed=3, *, loyalty=True, roles=None, extra=None, raw=False):
    """A CSI-like study (ECSI shape): 1–10 items, no waves, brands or NPS question; Complaints an
    outcome of satisfaction; Price irritation a negative driver stronger than Image; Perceived
    value a driver with no effect.  Returns ``(data, codebook, model)`` (with ``raw``, the
    codebook as the mapping a YAML file would hold)."""
    from workbench.codebook import Codebook

    rng = np.random.default_rng(seed)
    imag = rng.standard_normal(n)
    pri = 0.3 * imag + math.sqrt(1 - 0.09) * rng.standard_normal(n)
    qual = 0.4 * imag + math.sqrt(1 - 0.16) * rng.standard_normal(n)
    val = 0.3 * qual + math.sqrt(1 - 0.09) * rng.standard_normal(n)
    sat = 0.45 * imag - 0.55 * pri + 0.3 * qual + 0.0 * val + 0.5 * rng.standard_normal(n)
    cus = 0.5 * sat + 0.85 * rng.standard_normal(n)
    loy = 0.45 * sat + 0.2 * cus + 0.7 * rng.standard_normal(n)
    lat = {"IMAG": imag, "PRI": pri, "QUAL": qual, "VAL": val, "SAT": sat, "CUSCO": cus, "LOY": loy}
    if not loyalty:
        del lat["LOY"]
    cols, questions, constructs = {}, {}, {}
    for k, v in lat.items():
        sd = v.std()
        items = [f"{k.lower()}{i}" for i in (1, 2, 3)]
        for it in items:
            x = 6.0 + 1.6 * (0.85 * v / sd + 0.5 * rng.standard_normal(n))
            cols[it] = np.clip(np.round(x), 1, 10)
            questions[it] = {"type": "likert", "min": 1, "max": 10, "label": f"{CSI_LABELS[k]} {it[-1]}"}
        constructs[k] = {"label": {"en": CSI_LABELS[k], "zh": CSI_LABELS[k] + "（中）"}, "items": items}
    data = pd.DataFrame(cols)
    if extra:
        for name, (values, q) in extra.items():
            data[name] = values(rng, n)
            questions[name] = q
    outcomes = {"satisfaction": "SAT", "complaints": "CUSCO"}
    if loyalty:
        outcomes["loyalty"] = "LOY"
    ds = {"file": "csi.csv", "columns": list(data.columns)}
    if roles:
        ds["roles"] = roles
    spec = {"study": {"id": "csi", "client": "Phone Co"}, "datasets": {"survey": ds},
            "questions": questions, "constructs": constructs, "outcomes": outcomes}
    cb = Codebook.from_dict(spec)
    model = "\n".join([cb.measurement_model(),
                       "SAT ~ IMAG + PRI + QUAL + VAL", "CUSCO ~ SAT"]
                      + (["LOY ~ SAT + CUSCO"] if loyalty else []))
    return data, (spec if raw else cb), model


@pytest.fixture(scope="module")
def csi():
    data, cb, model = csi_study()
    return data, cb, model, dr.key_driver_analysis(data, cb, model=model, bootstrap=0, dataset="survey")


def test_drivers_are_the_models_predecessors_not_the_outcomes(csi):
    _, cb, _, kda = csi
    assert kda.satisfaction == "SAT" and kda.loyalty == "LOY"
    assert set(kda.drivers) == {"IMAG", "PRI", "QUAL", "VAL"}  # never Complaints, an outcome of SAT
    assert kda.successors == ("CUSCO", "LOY")
    assert kda.ipma_target == "LOY" and "CUSCO" not in set(kda.ipma.driver)


def test_ranking_by_absolute_effect_with_sign_is_the_one_order(csi):
    _, _, _, kda = csi
    rk = kda.ranking
    assert rk.driver.iloc[0] == "PRI" and rk.total_std.iloc[0] < 0  # the strongest effect is negative
    assert (np.diff(rk.total_std.abs().to_numpy()) <= 0).all()
    assert rk["rank"].tolist() == list(range(1, len(rk) + 1))
    # the same order in the views and the relative importance, and the SEM view's rank agrees
    assert kda.views.driver.tolist() == rk.driver.tolist()
    assert kda.importance.driver.tolist() == rk.driver.tolist()
    assert kda.views.rank_sem.tolist() == rk["rank"].tolist()
    np.testing.assert_allclose(kda.views.sem_total_std, rk.total_std)


def test_significance_at_the_reports_confidence(csi):
    data, cb, model, kda = csi
    for frame in (kda.ranking, kda.paths, kda.outcome_effects):
        np.testing.assert_array_equal(frame.significant, frame.p_val < 0.05)
    val = kda.ranking.set_index("driver").loc["VAL"]
    assert not val.significant and val.p_val > 0.05  # planted at zero
    ip = kda.ipma.set_index("driver")
    assert ip.loc["VAL", "action"] == "not_significant"
    assert set(ip.loc[["IMAG", "PRI", "QUAL"], "action"]) == {"act"}
    # a looser confidence level calls more effects significant, never fewer
    loose = dr.key_driver_analysis(data, cb, model=model, bootstrap=0, dataset="survey", conf=0.5)
    np.testing.assert_array_equal(loose.ranking.significant, loose.ranking.p_val < 0.5)
    assert loose.ranking.significant.sum() >= kda.ranking.significant.sum()


def test_no_advice_for_an_effect_that_is_not_significant(csi):
    from workbench.narrative import drivers as words

    _, cb, _, kda = csi
    items = words.action_items(kda, cb, "en")
    val = [i for i in items if i.startswith("**Perceived value**")]
    assert len(val) == 1 and "no action advised" in val[0] and "not significant" in val[0]
    summary = " ".join(words.key_findings(kda, cb, "en"))
    assert "Act first on Perceived value" not in summary
    assert "Perceived value (+0.0" in summary or "Perceived value (−0.0" in summary
    assert "not significant" in summary


def test_ipma_performance_on_the_codebooks_1_to_10_scale(csi):
    data, cb, _, kda = csi
    ip = kda.ipma.set_index("driver")
    for d in ip.index:
        items = cb.construct_items()[d]
        by_hand = ((data[items] - 1) / 9 * 100).mean(axis=1).mean()  # (x − min)/(max − min)·100
        assert ip.loc[d, "performance"] == pytest.approx(by_hand, rel=1e-12)
        assert 0 <= ip.loc[d, "performance"] <= 100
    # same 1–10 scale for drivers and loyalty: importance is the unstandardised total effect
    for d in ip.index:
        assert ip.loc[d, "importance"] == pytest.approx(kda.sem.effect(d, "LOY"), rel=1e-12)


def test_ipma_needs_a_scale_and_refuses_values_outside_it(csi):
    data, cb, _, kda = csi
    with pytest.raises(DataError, match="no scale for (target|driver) item"):
        dr.ipma(kda.sem, "SAT", data=data)  # no codebook, no scale: no silent 1–7 default
    out = dr.ipma(kda.sem, "SAT", data=data, codebook=cb)
    assert out.performance.between(0, 100).all()
    bad = data.copy()
    bad.loc[bad.index[:200], "imag1"] = 99  # an undeclared missing code
    with pytest.raises(DataError, match="outside their scale"):
        dr.ipma(kda.sem, "SAT", data=bad, codebook=cb)


def test_ipma_importance_rescaled_by_the_codebooks_scales(csi):
    data, cb, _, kda = csi
    # the target on 0–10, the drivers on 1–10: importance = total × (10 − 1) / (10 − 0)
    out = dr.ipma(kda.sem, "LOY", data=data, codebook=cb, target_scale=(0, 10)).set_index("driver")
    for d in out.index:
        assert out.loc[d, "importance"] == pytest.approx(kda.sem.effect(d, "LOY") * 9 / 10, rel=1e-12)
        assert out.loc[d, "ci_low"] < out.loc[d, "importance"] < out.loc[d, "ci_high"]


def test_guards_are_flagged_said_and_withhold_advice(csi, monkeypatch):
    """A standardised path beyond ±1, a latent R² of .99 and a negative residual variance."""
    import dataclasses

    from workbench.narrative import drivers as words

    data, cb, model, kda = csi
    est = kda.sem.estimates.copy()
    path = (est.op == "~") & (est.lhs == "SAT") & (est.rhs == "IMAG")
    est.loc[path, "std_est"] = 1.38
    est.loc[(est.op == "~~") & (est.lhs == "SAT") & (est.rhs == "SAT"), "std_est"] = 0.01
    est.loc[(est.op == "~~") & (est.lhs == "cusco1") & (est.rhs == "cusco1"), "est"] = -0.05
    broken = dataclasses.replace(kda.sem, estimates=est)
    monkeypatch.setattr(dr, "fit_sem", lambda *a, **k: broken)
    g = dr.key_driver_analysis(data, cb, model=model, bootstrap=0, dataset="survey")
    checks = {(r.check, r.subject) for r in g.checks.itertuples()}
    assert ("std_path", ("IMAG", "SAT")) in checks
    assert ("r2", ("SAT",)) in checks
    assert ("heywood", ("cusco1",)) in checks
    assert g.flags["CUSCO"] == ("heywood",) and "std_path" in g.flags["IMAG"]
    assert set(g.flags["PRI"]) == {"r2"}  # a predictor of the collinear satisfaction
    # satisfaction lies on every route to loyalty: no advice at all, and the list says why
    assert g.ipma.withheld.all() and set(g.ipma.action) == {"withheld"}
    items = words.action_items(g, cb, "en")
    assert all("advice withheld" in i for i in items)
    summary = " ".join(words.key_findings(g, cb, "en"))
    assert "Checks not passed" in summary and "beyond ±1" in summary and "0.99" in summary
    assert "Heywood" in summary and "Act first" not in summary
    assert "检查" in " ".join(words.key_findings(g, cb, "zh"))


def test_failed_reliability_and_discriminant_validity_are_guards(csi):
    _, _, _, kda = csi
    assert kda.checks.empty and kda.flags == {}  # the planted study passes every check
    rows = dr._guards(kda.sem, dr._predecessors(kda.sem))
    assert rows.empty
    import dataclasses

    rel = kda.sem.checks.copy()
    rel.loc[(rel.check == "cr") & (rel.target == "VAL"), ["value", "passed"]] = [0.61, False]
    dis = kda.sem.discriminant.copy()
    hit = (dis.construct_a == "IMAG") & (dis.construct_b == "QUAL")
    dis.loc[hit, "htmt"] = 0.91
    res = dataclasses.replace(kda.sem, checks=rel, discriminant=dis)
    rows = dr._guards(res, dr._predecessors(res))
    got = {(r.check, r.subject, r.affects) for r in rows.itertuples()}
    assert ("cr", ("VAL",), ("VAL",)) in got
    assert ("htmt", ("IMAG", "QUAL"), ("IMAG", "QUAL")) in got


DEMO_WORDS = ("nps", "recommend", "wave", "brand", "aurora", "demo", "satisfaction and recommendation")
DEMO_WORDS_ZH = ("推荐", "波次", "品牌", "极光", "NPS")


def _all_words(kda, cb, lang):
    from workbench.narrative import drivers as words

    parts = [words.intro(kda, cb, lang), words.base_what(kda, cb, lang), words.used_text(kda, lang),
             words.model_heading(kda, cb, lang), words.method_text(kda, cb, lang),
             *words.key_findings(kda, cb, lang), *words.action_items(kda, cb, lang)]
    for build in (words.paths_table, words.views_table, words.ipma_table):
        tb = build(kda, cb, lang)
        parts += [tb["caption"], tb.get("note", ""), *map(str, tb["labels"].values()),
                  *tb["df"].astype(str).to_numpy().ravel()]
    if kda.loyalty:
        tb = words.effects_table(kda, cb, lang)
        parts += [tb["caption"], *map(str, tb["labels"].values())]
    else:
        parts.append(words.no_loyalty_note(kda, cb, lang))
    return " ".join(parts)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_words_come_from_the_study_not_the_demo(csi, lang):
    _, cb, _, kda = csi
    assert not cb.has_nps()
    text = _all_words(kda, cb, lang)
    low = text.lower()
    for w in (DEMO_WORDS if lang == "en" else DEMO_WORDS_ZH):
        assert w.lower() not in low, w
    sat, loy = cb.label("SAT", lang), cb.label("LOY", lang)
    assert sat in text and loy in text
    if lang == "en":
        assert "Effects on Loyalty" in text and "Indirect (via satisfaction)" not in text
        assert "unweighted" in text and "all respondents" in text


def test_no_loyalty_outcome_is_one_note():
    from workbench.narrative import drivers as words

    data, cb, model = csi_study(loyalty=False)
    kda = dr.key_driver_analysis(data, cb, model=model, bootstrap=0, dataset="survey")
    assert kda.loyalty is None and kda.outcome_effects.empty
    assert kda.ipma_target == "SAT"  # the matrix targets satisfaction instead
    summary = " ".join(words.key_findings(kda, cb, "en"))
    assert "Loyalty" not in summary and "loyalty" not in summary
    assert "loyalty" in words.no_loyalty_note(kda, cb, "en")
    assert "Complaints" in summary  # what satisfaction drives, from the model


def test_brand_and_wave_follow_the_codebooks_roles():
    from workbench.narrative import drivers as words

    levels = {"b1": {"en": "Bank One"}, "b2": {"en": "Bank Two"}}
    extra = {"bank": (lambda rng, n: rng.choice(["b1", "b2"], n),
                      {"type": "categorical", "label": "Main bank", "levels": levels})}
    data, cb, model = csi_study(roles={"brand": "bank"}, extra=extra)
    assert cb.role("survey", "brand") == "bank" and cb.role("survey", "wave") is None
    kda = dr.key_driver_analysis(data, cb, model=model, bootstrap=0, dataset="survey", brand="b1")
    assert kda.n_rows == int((data.bank == "b1").sum()) and kda.brand_col == "bank"
    assert words.base_what(kda, cb, "en") == "Bank One customers"  # no waves in this study
    assert "Bank One customers" in words.intro(kda, cb, "en")
    with pytest.raises(DataError, match="no wave column"):
        dr.key_driver_analysis(data, cb, model=model, bootstrap=0, dataset="survey", wave=2)
    k = dr.key_driver_analysis(data, cb, model=model, bootstrap=0, dataset="survey", brand="all", wave="")
    assert k.n_rows == len(data) and k.brand is None and k.wave is None
    for every in ("all", "", None):  # "not in this study" / "everyone"
        assert len(dr._select(data, brand=every, wave=every, codebook=cb, dataset="survey")) == len(data)
    plain, cb2, model2 = csi_study()
    with pytest.raises(DataError, match="no brand column"):
        dr.key_driver_analysis(plain, cb2, model=model2, bootstrap=0, dataset="survey", brand="b1")


def test_satisfaction_from_the_model_when_the_codebook_names_none():
    data, cb, model = csi_study(loyalty=False)
    bare = cb.model_copy(update={"outcomes": {}})
    kda = dr.key_driver_analysis(data, bare, model=model, bootstrap=0, dataset="survey")
    assert kda.satisfaction == "SAT" and kda.loyalty is None  # the outcome with the most predictors
    assert set(kda.drivers) == {"IMAG", "PRI", "QUAL", "VAL"}


def test_default_model_makes_other_outcomes_outcomes_of_satisfaction():
    cb = {"constructs": {"A": ["a1", "a2"], "S": ["s1", "s2"], "C": ["c1", "c2"], "L": ["l1", "l2"]},
          "outcomes": {"satisfaction": "S", "loyalty": "L", "complaints": "C"}}
    lines = dr.default_model(cb).splitlines()
    assert "S ~ A" in lines and "C ~ S" in lines and "L ~ S" in lines
