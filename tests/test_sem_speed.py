"""The fast paths of the SEM engine give the numbers of the plain ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from semopy.examples import holzinger39, political_democracy

from workbench import _sem
from workbench import drivers as dr

from test_drivers import HS_MODEL as HS_CFA, PD_MODEL

# the lavaan-checked models of test_drivers; the CFA gains a structural path so the effects are exercised
HS_MODEL = HS_CFA + "visual ~ textual\n"


def _engine(data, model, monkeypatch):
    got = {}
    real = dr._std_se

    def spy(eng, pt, theta, vcov):
        got.update(eng=eng, pt=pt, theta=np.array(theta), vcov=vcov)
        return real(eng, pt, theta, vcov)

    monkeypatch.setattr(dr, "_std_se", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dr.fit_sem(data, model)
    return res, got


@pytest.mark.parametrize("name", ["pd", "hs"])
def test_batched_jacobian_equals_the_loop(name, monkeypatch):
    data, model = ((political_democracy.get_data(), PD_MODEL) if name == "pd"
                   else (holzinger39.get_data(), HS_MODEL))
    res, got = _engine(data, model, monkeypatch)
    eng, pt, theta, vcov = got["eng"], got["pt"], got["theta"], got["vcov"]
    fast = dr._std_se(eng, pt, theta, vcov)
    slow = dr._std_se_loop(eng, pt, theta, vcov)
    assert np.isfinite(slow).sum() > 10
    np.testing.assert_allclose(fast, slow, rtol=1e-7, atol=1e-12, equal_nan=True)
    rows, names, var = eng.values_many(theta[None, :])
    v, _ = eng.implied_variances(theta)
    assert names == list(v) and np.allclose(var[0], list(v.values()), rtol=1e-13)
    np.testing.assert_allclose(rows[0], eng.row_values(theta), rtol=1e-13)
    np.testing.assert_allclose(_sem.standardize_many(pt, rows, names, var)[0], res.estimates["std_est"],
                               rtol=1e-12, equal_nan=True)


def test_gradient_without_the_derivative_tensor(monkeypatch):
    _, got = _engine(political_democracy.get_data(), PD_MODEL, monkeypatch)
    eng, theta = got["eng"], got["theta"]
    rng = np.random.default_rng(0)
    for t in (eng.start(), theta + 0.01 * rng.standard_normal(len(theta))):
        sig, D = eng.sigma_and_grad(t)
        inv = np.linalg.inv(sig)
        full = np.einsum("ij,kij->k", inv - inv @ eng.S @ inv, D)
        np.testing.assert_allclose(eng.gradient(t), full, rtol=1e-9, atol=1e-12)


def test_scoring_first_reaches_the_slsqp_optimum(monkeypatch):
    """Scoring from the starting values and the SLSQP-first route land on the same optimum."""
    data = political_democracy.get_data()
    new = dr.fit_sem(data, PD_MODEL)
    calls = []
    real = _sem.Engine.polish

    def from_slsqp(self, max_iter=_sem.MAX_POLISH):
        theta0, _ = self.semopy_fit()
        calls.append(1)
        return (*real(self, theta0, max_iter=max_iter), "")

    monkeypatch.setattr(_sem.Engine, "fit", from_slsqp)
    old = dr.fit_sem(data, PD_MODEL)
    assert calls
    np.testing.assert_allclose(new.estimates["est"], old.estimates["est"], atol=1e-8)
    np.testing.assert_allclose(new.estimates["se"], old.estimates["se"], rtol=1e-6, equal_nan=True)


def test_batched_effects_equal_one_at_a_time(monkeypatch):
    _, got = _engine(political_democracy.get_data(), PD_MODEL, monkeypatch)
    eng, pt, theta = got["eng"], got["pt"], got["theta"]
    rng = np.random.default_rng(1)
    thetas = theta + 1e-3 * rng.standard_normal((4, len(theta)))
    many = dr._effects_many(eng, pt, thetas)
    for i, t in enumerate(thetas):
        np.testing.assert_allclose(many[i], dr._effects_values(eng, pt, t)[2], rtol=1e-12, atol=1e-14)
