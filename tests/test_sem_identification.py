"""lavaan's identification defaults in workbench.drivers.fit_sem, and fits that must not crash.

Reference files (tests/results/, made by tests/results/r/drivers_identification.R with lavaan
0.6-14, sem() defaults):
  drivers_identification_estimates.csv  parameterEstimates(standardized = TRUE) per model
  drivers_identification_fit.csv        fitMeasures() per model (+ lavaan's max.gradient)
  drivers_identification_errors.csv     lavaan's error message for models it refuses
Data: drivers_lavaan_data_holzinger.csv (HolzingerSwineford1939), drivers_fiml_data_cx.csv
(simulated CX survey with missing answers and weights), drivers_identification_data_collinear.csv
(120 respondents, driver constructs correlating 0.9).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import _sem, _sem_fiml
from workbench import drivers as dr
from workbench._sem_syntax import parse_model
from workbench.errors import DataError, ModelError, WorkbenchWarning
from workbench.lowbase import LowBaseRule

RES = Path(__file__).parent / "results"

HS_TWO = """visual  =~ x1 + x2 + x3
            textual =~ x4 + x5 + x6
"""
CX_SINGLE = """PRD =~ prd1 + prd2 + prd3
SRV =~ srv1 + srv2 + srv3
VAL =~ val1 + val2 + val3
DIG =~ dig1 + dig2 + dig3
SAT =~ sat1 + sat2 + sat3
LOY =~ nps
SAT ~ PRD + SRV + VAL + DIG
LOY ~ SAT + VAL"""
CX_MODEL = """PRD =~ prd1 + prd2 + prd3
SRV =~ srv1 + srv2 + srv3
VAL =~ val1 + val2 + val3
DIG =~ dig1 + dig2 + dig3
SAT =~ sat1 + sat2 + sat3
SAT ~ PRD + SRV + VAL + DIG
nps ~ SAT"""
# name: (data, syntax, weight, missing) — the same models as the R script
MODELS = {
    "hs_single_cfa": ("holzinger", HS_TWO + "speed =~ x7", None, "listwise"),
    "hs_single_outcome": ("holzinger", HS_TWO + "speed =~ x7\ntextual ~ visual\nspeed ~ visual + textual",
                          None, "listwise"),
    "hs_single_predictor": ("holzinger", """visual =~ x1 + x2 + x3
                                             speed =~ x7
                                             memory =~ x9
                                             visual ~ speed
                                             memory ~ visual + speed""", None, "listwise"),
    "hs_single_latent_indicator": ("holzinger", HS_TWO + "h =~ visual\ntextual ~ h", None, "listwise"),
    "hs_single_user_variance": ("holzinger", """visual =~ x1 + x2 + x3
                                                 speed =~ x7
                                                 x7 ~~ 0.3*x7
                                                 visual ~ speed""", None, "listwise"),
    "cx_single": ("cx", CX_SINGLE, None, "listwise"),
    "cx_single_weighted": ("cx", CX_SINGLE, "w", "listwise"),
    "cx_single_fiml": ("cx", CX_SINGLE, None, "fiml"),
    "cx_collinear": ("collinear", CX_MODEL, None, "listwise"),
    "cx_collinear_weighted": ("collinear", CX_MODEL, "w", "listwise"),
}
DATA_FILES = {"holzinger": "drivers_lavaan_data_holzinger.csv", "cx": "drivers_fiml_data_cx.csv",
              "collinear": "drivers_identification_data_collinear.csv"}
# lavaan fitMeasures name -> ours
FIT_NAMES = {"chisq": "chisq", "df": "df", "pvalue": "p_val", "cfi": "cfi", "tli": "tli",
             "rmsea": "rmsea", "rmsea.ci.lower": "rmsea_ci_low", "rmsea.ci.upper": "rmsea_ci_high",
             "srmr": "srmr", "aic": "aic", "bic": "bic", "ntotal": "n", "npar": "npar",
             "logl": "logl", "baseline.chisq": "baseline_chisq", "baseline.df": "baseline_df"}
SCALED_NAMES = {"chisq.scaled": "chisq_scaled", "pvalue.scaled": "p_val_scaled",
                "chisq.scaling.factor": "scaling_factor"}


@pytest.fixture(scope="module")
def data():
    return {k: pd.read_csv(RES / f) for k, f in DATA_FILES.items()}


@pytest.fixture(scope="module")
def fits(data):
    out = {}
    for name, (d, syntax, w, miss) in MODELS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error", WorkbenchWarning)   # none of these fits may warn
            out[name] = dr.fit_sem(data[d], syntax, weight=w, missing=miss)
    return out


@pytest.fixture(scope="module")
def ref_est():
    return pd.read_csv(RES / "drivers_identification_estimates.csv", keep_default_na=False,
                       na_values=["NA"])


@pytest.fixture(scope="module")
def ref_fit():
    return pd.read_csv(RES / "drivers_identification_fit.csv")


def _row(res, lhs, op, rhs):
    e = res.estimates
    hit = e[(e.lhs == lhs) & (e.op == op) & (e.rhs == rhs)]
    assert len(hit) == 1, (lhs, op, rhs)
    return hit.iloc[0]


# ----------------------------------------------------------------------------------------------
# auto.fix.single and the collinear small sample: every number against lavaan
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_estimates_equal_lavaan(fits, ref_est, name):
    res = fits[name]
    assert res.converged
    ref = ref_est[ref_est.model == name]
    m = ref.merge(res.estimates, on=["lhs", "op", "rhs"], how="outer", suffixes=("_lav", ""),
                  indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs"]]
    free = m["free"].to_numpy(bool)
    # lavaan stops where its largest gradient element is ~1e-7 (~5e-6 on the collinear data,
    # whose paths lie along an almost flat ridge), so its estimates are exact to ~1e-6 relative
    # (~1e-4 on the ridge); ours are polished to a gradient of 1e-10.
    ridge = name.startswith("cx_collinear")
    # est: 1e-4 relative (1e-3 on the ridge)
    np.testing.assert_allclose(m.est, m.est_lav, rtol=1e-3 if ridge else 1e-4, atol=1e-6)
    # se (expected information; robust Huber-White when weighted; observed information under
    # FIML): 1e-4 relative (1e-3 on the ridge)
    np.testing.assert_allclose(m.se[free], m.se_lav[free], rtol=1e-3 if ridge else 1e-4)
    # std.all: 1e-5 absolute (1e-4 on the ridge)
    np.testing.assert_allclose(m.std_est, m["std.all"], atol=1e-4 if ridge else 1e-5)
    # fixed parameters: lavaan prints se = 0, we give NaN
    assert m.loc[~free, "se"].isna().all() and (m.loc[~free, "se_lav"] == 0).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_measures_equal_lavaan(fits, ref_fit, name):
    res = fits[name]
    ref = ref_fit[ref_fit.model == name].set_index("measure")["value"]
    names = {**FIT_NAMES, **(SCALED_NAMES if res.weighted else {})}
    for lav_name, ours in names.items():
        # 1e-4 relative, 1e-6 absolute (RMSEA's lower bound can be exactly 0); χ² is flat at the
        # optimum, so it agrees far better than the estimates
        assert res.fit[ours] == pytest.approx(float(ref[lav_name]), rel=1e-4, abs=1e-6), lav_name


@pytest.mark.parametrize("name", [n for n in MODELS if "single" in n and n != "hs_single_user_variance"])
def test_single_indicator_factor_is_its_indicator(fits, name):
    """auto.fix.single: marker loading 1 (fixed), residual variance 0 (fixed), so the standardised
    loading is 1 and the factor's variance is the indicator's."""
    res = fits[name]
    est = res.estimates
    singles = {lv: items for lv, items in
               est[est.op == "=~"].groupby("lhs")["rhs"].apply(list).items() if len(items) == 1}
    assert singles
    for lv, (item,) in singles.items():
        load, resid = _row(res, lv, "=~", item), _row(res, item, "~~", item)
        assert load.est == 1.0 and not load.free and resid.est == 0.0 and not resid.free
        assert load.std_est == pytest.approx(1.0, abs=1e-12) and resid.std_est == 0.0


def test_user_written_residual_variance_is_kept(fits):
    """lavaan fixes only the default residual variance; 'x7 ~~ 0.3*x7' (a reliability correction)
    stays as written."""
    r = _row(fits["hs_single_user_variance"], "x7", "~~", "x7")
    assert r.est == 0.3 and not r.free


def test_auto_fix_single_rules_follow_lavaan():
    """lav_partable_flat: only the default variance of an indicator that is the sole indicator
    of its factor and loads on nothing else is fixed (a latent indicator included)."""
    def fixed(model, var):
        row = next(r for r in parse_model(model).rows if r.op == "~~" and r.lhs == r.rhs == var)
        return row.fixed

    assert fixed("f =~ x1", "x1") == 0.0
    assert fixed("f =~ x1\nx1 ~~ x1", "x1") is None                  # written by the user
    assert fixed("f =~ x1\ng =~ x1 + x2 + x3", "x1") is None          # also indicates g
    assert fixed("f =~ x1 + x2", "x1") is None and fixed("f =~ x1 + x2", "x2") is None
    assert fixed("f =~ x1 + x2 + x3\nh =~ f", "f") == 0.0              # a single latent indicator
    assert fixed("f =~ x1 + x2 + x3\nh =~ f", "h") is None


def test_one_item_construct_has_no_reliability_row_and_fails_no_check(fits, data):
    """α, CR, AVE and HTMT need two items: a one-item construct gets no row, no check, no
    warning (its CR and AVE would be 1 by construction — auto.fix.single assumes no error)."""
    res = fits["cx_single"]
    assert res.constructs["LOY"] == ["nps"]
    assert "LOY" not in set(res.reliability.construct)
    assert "LOY" not in set(res.discriminant.construct_a) | set(res.discriminant.construct_b)
    assert not res.checks.target.astype(str).str.contains("LOY").any()
    assert res.checks.passed.all() and not res.warnings
    assert np.isfinite(res.reliability[["alpha", "cr", "ave", "max_htmt"]].to_numpy(float)).all()
    quality = res.summary().split("Measurement quality")[1]
    assert "LOY" not in quality and "nan" not in quality.lower() and "Checks: all passed" in quality
    # a model made of one-item constructs only: empty quality tables, still a full result
    # (the standardised path between two one-item factors is the items' correlation)
    hs = data["holzinger"]
    only = dr.fit_sem(hs, "a =~ x1\nb =~ x4\nb ~ a")
    assert only.reliability.empty and only.discriminant.empty and only.converged
    assert _row(only, "b", "~", "a").std_est == pytest.approx(hs.x1.corr(hs.x4), abs=1e-8)


# ----------------------------------------------------------------------------------------------
# X =~ X: lavaan's error
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lavaan_errors():
    return pd.read_csv(RES / "drivers_identification_errors.csv")


@pytest.mark.parametrize("name", ["observed_by_itself", "factor_by_itself", "complaints_by_itself"])
def test_factor_measured_by_itself_is_lavaans_error(lavaan_errors, data, name):
    ref = lavaan_errors.set_index("model").loc[name]
    # lavaan: "lavaan ERROR: latent variable `x1' can not be measured by itself" — ours says the
    # same words with Python quotes, and names the model line
    words = re.sub(r"`(\w+)'", r"'\1'", ref.message.removeprefix("lavaan ERROR: "))
    var = re.search(r"`(\w+)'", ref.message).group(1)
    with pytest.raises(ModelError) as exc:
        dr.fit_sem(data["holzinger"], ref.syntax)
    msg = str(exc.value)
    assert words in msg and f"{var} =~" in msg and "df" not in msg
    with pytest.raises(ModelError, match="measured by itself"):
        parse_model(ref.syntax)                                # before any data is looked at


# ----------------------------------------------------------------------------------------------
# failed steps are not crashes
# ----------------------------------------------------------------------------------------------
def test_line_search_treats_a_singular_point_as_a_failed_step():
    calls = []

    def f(x):
        calls.append(float(x[0]))
        if x[0] < 0:
            raise np.linalg.LinAlgError("Singular matrix")
        return (x[0] - 1.0) ** 2

    x = np.array([2.0])
    # full step lands at -2 (singular), half at 0, quarter at 1 (the minimum)
    cand = _sem.armijo_step(f, x, np.array([4.0]), f(x), slope=8.0)
    assert calls[1] == -2.0 and cand[0] == 1.0


@pytest.fixture(scope="module")
def collinear_engine(data):
    pt = parse_model(CX_MODEL)
    return _sem.Engine(pt, _sem.prepare(data["collinear"], pt, None)), pt


def test_indefinite_sigma_is_infinite_not_an_error(collinear_engine):
    eng, pt = collinear_engine
    bad = eng.start()
    for r, nm in zip(pt.rows, eng.row_param):
        if nm is not None and r.op == "~~" and r.lhs == r.rhs:
            bad[eng.pindex[nm]] = -5.0                        # every variance negative
    assert eng.fml(bad) == np.inf
    assert eng.grad_info(bad) == (np.inf, None, None)
    assert np.isnan(eng.gradient(np.full_like(bad, np.nan))).all()


def test_fiml_next_to_an_indefinite_sigma_gives_nan_and_inf_not_a_type_error(collinear_engine, data):
    """The numerical Hessian's difference points may leave the region where Σ is positive
    definite: their columns are NaN (the caller falls back), the objective is ∞."""
    eng, pt = collinear_engine
    X = data["collinear"][eng.prep.names].to_numpy(float)
    cw = _sem_fiml.Casewise(eng, _sem_fiml.Patterns.from_data(X, None), np.zeros(eng.p, bool),
                            X.mean(axis=0))
    theta = eng.start()
    for r, nm in zip(pt.rows, eng.row_param):
        if nm is not None and r.op == "~~" and r.lhs == r.rhs and r.lhs in eng.prep.names:
            theta[eng.pindex[nm]] = 0.0            # residual variances on the boundary
    k = next(eng.pindex[nm] for r, nm in zip(pt.rows, eng.row_param)
             if nm is not None and r.op == "~~" and r.lhs == r.rhs == "PRD")
    theta[k] = 1e-9                                # and a latent variance at it: Σ singular
    phi = np.concatenate([theta, X.mean(axis=0)])
    assert cw.f(phi) == np.inf and cw.grad(phi) == (np.inf, None)
    H = cw.hessian(phi)
    assert H.shape == (cw.dim, cw.dim) and np.isnan(H).any()


def test_collinear_small_sample_reaches_lavaans_optimum_not_an_identification_error(fits, ref_fit):
    """Before: semopy stopped beyond the ridge, scoring crawled along it for 500 iterations and
    the fit ended as 'not identified'.  Now it restarts from lavaan's starting values."""
    res = fits["cx_collinear"]
    ref = ref_fit[ref_fit.model == "cx_collinear"].set_index("measure")["value"]
    assert res.converged and res.fit["chisq"] == pytest.approx(ref["chisq"], rel=1e-6)
    assert res.estimates.loc[res.estimates.op == "~", "est"].abs().max() < 5


def test_a_linalg_error_after_the_optimiser_is_a_model_error(monkeypatch, data):
    def boom(self, theta):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(_sem.Engine, "implied_variances", boom)
    with pytest.raises(ModelError, match="singular or not positive definite"):
        dr.fit_sem(data["holzinger"], HS_TWO)


def test_a_fit_stuck_on_the_ridge_is_named_as_such(monkeypatch, data):
    """Scoring from semopy's optimum alone (the old path) ends on the ridge with a singular
    information matrix; that is reported as 'did not converge', with the constructs to look at
    and what to do — not as a model that lacks a fixed loading."""
    def semopy_then_scoring_only(self, max_iter=_sem.MAX_POLISH):
        theta0, _ = self.semopy_fit()
        return (*self.polish(theta0, max_iter=max_iter), "")

    monkeypatch.setattr(_sem.Engine, "fit", semopy_then_scoring_only)
    with pytest.raises(ModelError, match=r"did not converge.*SAT ~ .*120 rows.*merge or drop") as exc:
        dr.fit_sem(data["collinear"], CX_MODEL)
    assert "Fix a loading" not in str(exc.value)


# ----------------------------------------------------------------------------------------------
# group_paths: a group that cannot be fitted is a row, not a crash
# ----------------------------------------------------------------------------------------------
GROUP_COLS = ["seg", "lhs", "rhs", "std_est", "p_val", "n", "n_eff", "base_flag", "status", "reason",
              "note"]


def _groups(data):
    complete = data["cx"].dropna()                               # 715 rows
    big = complete.iloc[:450].assign(seg="big")
    flat = complete.iloc[450:600].assign(seg="flat", prd2=4.0)   # an item without variation here
    small = complete.iloc[600:620].assign(seg="tiny")            # below min_test
    return pd.concat([big, flat, small], ignore_index=True)


def test_group_that_cannot_be_fitted_says_so(data):
    d = _groups(data)
    rule = LowBaseRule(caution=200, min_test=50)
    with pytest.warns(WorkbenchWarning, match="seg = flat") as rec:
        g = dr.group_paths(d, None, "seg", model=CX_SINGLE, rule=rule)
    assert list(g.columns) == GROUP_COLS
    big, flat, tiny = (g[g.seg == s] for s in ("big", "flat", "tiny"))
    assert (big.status == "fitted").all() and big.reason.isna().all() and len(big) == 6
    assert big.std_est.notna().all() and (big.note == "").all()
    assert len(flat) == 1 and flat.status.iloc[0] == "not_fitted"
    assert flat.reason.iloc[0] == "drivers.group.fit_failed" and "prd2" in flat.note.iloc[0]
    assert flat.lhs.isna().all() and flat.std_est.isna().all() and flat.n.iloc[0] == 150
    assert flat.base_flag.iloc[0] == "caution"
    assert tiny.status.iloc[0] == "not_fitted" and tiny.reason.iloc[0] == "drivers.group.low_base"
    assert tiny.base_flag.iloc[0] == "no_test"
    w = next(x.message for x in rec if "seg = flat" in str(x.message))
    assert w.key == "drivers.warn.group_not_fitted" and w.fields["group"] == "flat"


def test_group_that_does_not_converge_is_not_shown_as_fitted(data, monkeypatch):
    d = _groups(data)
    d = d[d.seg == "big"]
    real = _sem.Engine.fit

    def stuck(self, max_iter=_sem.MAX_POLISH):
        theta, _, gmax, it, note = real(self, max_iter)
        return theta, False, 1e-3, it, note

    monkeypatch.setattr(_sem.Engine, "fit", stuck)
    with pytest.warns(WorkbenchWarning, match="could not be fitted"):
        g = dr.group_paths(d, None, "seg", model=CX_SINGLE, rule=LowBaseRule(caution=100, min_test=50))
    assert g.status.tolist() == ["not_fitted"] and g.reason.iloc[0] == "drivers.group.not_converged"
    assert "did not converge" in g.note.iloc[0]


def test_group_paths_raises_the_calls_own_errors(data):
    d = _groups(data)
    with pytest.raises(ModelError, match="'prd9'"):
        dr.group_paths(d, None, "seg", model=CX_SINGLE.replace("prd3", "prd9"))
    with pytest.raises(ModelError, match="measured by itself"):
        dr.group_paths(d, None, "seg", model="nps =~ nps")
    with pytest.raises(DataError, match="weight"):
        dr.group_paths(d, None, "seg", model=CX_SINGLE, weight="nope")
