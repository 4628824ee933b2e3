"""Sampling-frame design: sample sizes, power, allocation across strata, quotas and the draw.

Everything a consultant needs before fieldwork, from "how many interviews for +/-3 points?" to
the quota sheet and the drawn sample with its reserve.

* **Sample sizes and margins of error** for a proportion, a mean and an NPS, with design-effect
  inflation and a finite-population correction (FPC).  ``fpc="cochran"`` (default) uses the
  variance factor (N-n)/(N-1), which gives Cochran's n = n0 / (1 + (n0-1)/N); ``fpc="simple"``
  uses (N-n)/N, which gives n = n0 / (1 + n0/N).  Each margin-of-error function is the exact
  inverse of its sample-size function under the same convention.
* **Power and minimum detectable change** between two independent waves.  The two-proportion
  power is R's ``power.prop.test`` formula (equal bases), extended to unequal bases with the
  usual normal approximation (pooled variance under H0, unpooled under H1).
* **Allocation** across strata (proportional, Neyman, cost-optimal, equal, brand penetration)
  with minimum and maximum bases, solved exactly under the bounds and rounded to integers that
  sum to ``n`` (largest remainder).
* **Quotas** (interlocked and marginal) and their CSV/Excel sheet; the **stratified draw** with a
  reserve sample per stratum.
* **The study design** of a brand tracker (:func:`design_sample`): bases per brand (fixed, or
  the smallest meeting a target NPS margin), each spread across its strata by brand users,
  with the precision per brand and for the weighted total; :func:`boost_options` shows what
  boosting small brands costs; helpers label the quota sheet, show it as grids and write the
  drawn sample with personal data masked.

Functions return unrounded floats; callers ceil sample sizes and round for display only.  The
formulas, with their references, are in ``docs/methods/sampling.md``.

Why written here: scipy gives the normal quantiles and root finding; no maintained Python package
covers FPC conventions, NPS variance, box-constrained allocation and quota sheets together
(statsmodels' power classes use Cohen's effect sizes, not R's ``power.prop.test`` formula).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from workbench import _sampling as _s
from workbench.errors import DataError, ParamsError, WorkbenchWarning
from workbench.lowbase import DEFAULT_RULE

__all__ = [
    "nps_variance",
    "sample_size_proportion",
    "sample_size_mean",
    "sample_size_nps",
    "margin_of_error_proportion",
    "margin_of_error_mean",
    "margin_of_error_nps",
    "power_two_proportions",
    "sample_size_two_proportions",
    "mdc_proportion",
    "mdc_nps",
    "sample_size_two_nps",
    "power_two_nps",
    "precision_table",
    "allocate",
    "allocation_summary",
    "boost_tradeoff",
    "quota_sheet",
    "write_quota_sheet",
    "read_frame",
    "stratified_draw",
    "DesignInputs",
    "SampleDesign",
    "read_inputs",
    "design_sample",
    "boost_options",
    "label_quota_sheet",
    "quota_grid",
    "quota_marginal_summary",
    "draw_summary",
    "write_draw",
]

ALLOCATION_METHODS = ("proportional", "neyman", "optimal", "equal", "penetration")


# ============================================================================================
# sample sizes and margins of error
# ============================================================================================
def nps_variance(promoters, detractors):
    """Per-respondent variance of the NPS score on the -1/0/+1 scale.

    A respondent scores +1 (promoter), 0 (passive) or -1 (detractor), so the variance is
    ``p+ + p- - (p+ - p-)**2``.  Multiply by 100**2 for the points scale.

    Parameters
    ----------
    promoters, detractors : float or array-like
        Expected shares (0..1) of promoters and of detractors; their sum must not exceed 1.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> nps_variance(0.4, 0.2)
    0.56
    """
    pp = _s.as_float_array("promoters", promoters)
    pm = _s.as_float_array("detractors", detractors)
    _s.check_range("promoters", pp, 0, 1)
    _s.check_range("detractors", pm, 0, 1)
    if np.any(pp + pm > 1 + 1e-12):
        bad = np.broadcast_arrays(pp, pm)
        i = np.argmax((bad[0] + bad[1]).ravel() > 1 + 1e-12)
        raise ParamsError(
            "`promoters` + `detractors` must not exceed 1, got "
            f"{bad[0].ravel()[i]!r} + {bad[1].ravel()[i]!r}"
        )
    return _s.out(pp + pm - (pp - pm) ** 2)


def _sample_size(var, moe, conf, population, deff, fpc):
    pop = _s.population_array(population, fpc)
    d = _s.as_float_array("deff", deff)
    _s.check_range("deff", d, 0, None, lo_open=True)
    z = _s.z_value(conf)
    n0 = d * z**2 * var / moe**2
    return _s.out(_s.apply_fpc(n0, pop, fpc))


def _margin(var, n, conf, population, deff, fpc):
    pop = _s.population_array(population, fpc)
    n = _s.as_float_array("n", n)
    _s.check_range("n", n, 0, None, lo_open=True)
    if np.any(np.asarray(n > pop)):
        bad = np.broadcast_arrays(n, pop)
        i = np.argmax((bad[0] > bad[1]).ravel())
        raise ParamsError(
            f"`n` must not exceed `population`, got n={bad[0].ravel()[i]!r} > "
            f"population={bad[1].ravel()[i]!r}"
        )
    d = _s.as_float_array("deff", deff)
    _s.check_range("deff", d, 0, None, lo_open=True)
    z = _s.z_value(conf)
    f = np.clip(_s.fpc_factor(n, pop, fpc), 0.0, None)
    return _s.out(z * np.sqrt(d * var * f / n))


def sample_size_proportion(moe, *, p=0.5, conf=0.95, population=None, deff=1.0, fpc="cochran"):
    """Sample size to estimate a proportion within +/- ``moe``.

    ``n0 = deff * z**2 * p * (1 - p) / moe**2``, then the finite-population correction:
    Cochran's ``n0 / (1 + (n0 - 1)/N)`` (default) or ``n0 / (1 + n0/N)`` (``fpc="simple"``).

    Parameters
    ----------
    moe : float or array-like
        Margin of error as a proportion (0.05 = +/-5 percentage points), in (0, 1).
    p : float or array-like, default 0.5
        Expected proportion; 0.5 is the most conservative.
    conf : float, default 0.95
        Confidence level (two-sided).
    population : float or array-like, optional
        Population size N; None for an infinite population (no FPC).
    deff : float or array-like, default 1.0
        Design effect; multiplies ``n0`` before the FPC.
    fpc : {"cochran", "simple"}
        Finite-population convention (see the module docstring).

    Returns
    -------
    float or ndarray
        Unrounded sample size; ceil it for fieldwork.

    Examples
    --------
    >>> round(sample_size_proportion(0.05), 2)
    384.15
    >>> math.ceil(sample_size_proportion(0.03, population=20_000, deff=1.3))
    1298
    """
    moe = _s.as_float_array("moe", moe)
    _s.check_range("moe", moe, 0, 1, lo_open=True, hi_open=True)
    p = _s.as_float_array("p", p)
    _s.check_range("p", p, 0, 1)
    return _sample_size(p * (1 - p), moe, conf, population, deff, fpc)


def sample_size_mean(moe, *, sd, conf=0.95, population=None, deff=1.0, fpc="cochran"):
    """Sample size to estimate a mean within +/- ``moe`` (same units as ``sd``).

    ``n0 = deff * z**2 * sd**2 / moe**2`` then the FPC as in :func:`sample_size_proportion`.

    Examples
    --------
    >>> round(sample_size_mean(0.1, sd=1.2), 1)
    553.2
    """
    moe = _s.as_float_array("moe", moe)
    _s.check_range("moe", moe, 0, None, lo_open=True)
    sd = _s.as_float_array("sd", sd)
    _s.check_range("sd", sd, 0, None)
    return _sample_size(sd**2, moe, conf, population, deff, fpc)


def sample_size_nps(moe_points, *, promoters, detractors, conf=0.95, population=None, deff=1.0,
                    fpc="cochran"):
    """Sample size to estimate an NPS within +/- ``moe_points`` NPS points.

    ``n0 = deff * z**2 * var / (moe_points/100)**2`` with ``var = p+ + p- - (p+ - p-)**2``
    (:func:`nps_variance`), then the FPC as in :func:`sample_size_proportion`.

    Parameters
    ----------
    moe_points : float or array-like
        Margin of error in NPS points (the -100..100 scale), e.g. 5.
    promoters, detractors : float or array-like
        Expected shares (0..1).

    Examples
    --------
    >>> math.ceil(sample_size_nps(5, promoters=0.4, detractors=0.2))
    861
    """
    m = _s.as_float_array("moe_points", moe_points)
    _s.check_range("moe_points", m, 0, 200, lo_open=True, hi_open=True)
    var = np.asarray(nps_variance(promoters, detractors))
    return _sample_size(var, m / 100.0, conf, population, deff, fpc)


def margin_of_error_proportion(n, *, p=0.5, conf=0.95, population=None, deff=1.0, fpc="cochran"):
    """Margin of error of a proportion at sample size ``n``: ``z * sqrt(deff p(1-p) f / n)``.

    ``f`` is the FPC factor, (N-n)/(N-1) for ``fpc="cochran"`` and (N-n)/N for ``"simple"``, so
    that ``margin_of_error_proportion(sample_size_proportion(m, ...), ...) == m``.

    Examples
    --------
    >>> round(margin_of_error_proportion(1000), 4)
    0.031
    """
    p = _s.as_float_array("p", p)
    _s.check_range("p", p, 0, 1)
    return _margin(p * (1 - p), n, conf, population, deff, fpc)


def margin_of_error_mean(n, *, sd, conf=0.95, population=None, deff=1.0, fpc="cochran"):
    """Margin of error of a mean at sample size ``n``: ``z * sd * sqrt(deff f / n)``.

    Examples
    --------
    >>> round(margin_of_error_mean(400, sd=1.2), 4)
    0.1176
    """
    sd = _s.as_float_array("sd", sd)
    _s.check_range("sd", sd, 0, None)
    return _margin(sd**2, n, conf, population, deff, fpc)


def margin_of_error_nps(n, *, promoters, detractors, conf=0.95, population=None, deff=1.0,
                        fpc="cochran"):
    """Margin of error of an NPS at sample size ``n``, in NPS points.

    Examples
    --------
    >>> round(margin_of_error_nps(500, promoters=0.4, detractors=0.2), 2)
    6.56
    """
    var = np.asarray(nps_variance(promoters, detractors))
    return _s.out(100.0 * np.asarray(_margin(var, n, conf, population, deff, fpc)))


# ============================================================================================
# power and minimum detectable change between two independent waves
# ============================================================================================
def _tside(alternative):
    _s.check_choice("alternative", alternative, _s.ALTERNATIVES)
    return 2 if alternative == "two-sided" else 1


def _power_core(n1, n2, p1, p2, z, strict):
    """Normal-approximation power of the two-proportion z-test (R's formula when n1 == n2)."""
    d = np.abs(p1 - p2)
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    se0 = np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    se1 = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    pw = norm.cdf((d - z * se0) / se1)
    if strict:
        pw = pw + norm.sf((d + z * se0) / se1)
    return pw


def _check_p(name, value, open_=True):
    arr = _s.as_float_array(name, value)
    _s.check_range(name, arr, 0, 1, lo_open=open_, hi_open=open_)
    return arr


def _check_n(name, value):
    arr = _s.as_float_array(name, value)
    _s.check_range(name, arr, 0, None, lo_open=True)
    return arr


def _check_deff(deff):
    d = _s.as_float_array("deff", deff)
    _s.check_range("deff", d, 0, None, lo_open=True)
    return d


def _check_power(power):
    pw = _s.as_float_array("power", power)
    _s.check_range("power", pw, 0, 1, lo_open=True, hi_open=True)
    return pw


def power_two_proportions(n1, n2, p1, p2, *, conf=0.95, alternative="two-sided", deff=1.0,
                          strict=False):
    """Power of the two-sample test of proportions between independent waves.

    ``power = Phi((|p1 - p2| - z * se0) / se1)`` with
    ``se0 = sqrt(pbar (1-pbar) (1/n1 + 1/n2))`` (pooled, ``pbar = (n1 p1 + n2 p2)/(n1 + n2)``)
    and ``se1 = sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)``; bases are divided by ``deff``.  With
    ``n1 == n2`` this is exactly R's ``power.prop.test(n, p1, p2, sig.level = 1 - conf)``
    (including ``strict=TRUE``, which adds the rejections in the wrong tail).

    Parameters
    ----------
    n1, n2 : float or array-like
        Bases of the two waves (respondents, before the design effect).
    p1, p2 : float or array-like
        Proportions in the two waves, in (0, 1).
    conf : float, default 0.95
        1 - significance level.
    alternative : {"two-sided", "one-sided"}
    deff : float, default 1.0
        Design effect of each wave (effective base = n / deff).
    strict : bool, default False
        Two-sided only: count rejections in the opposite tail too (R's ``strict = TRUE``).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(power_two_proportions(500, 500, 0.30, 0.38), 4)
    0.762
    """
    t = _tside(alternative)
    n1, n2 = _check_n("n1", n1), _check_n("n2", n2)
    p1, p2 = _check_p("p1", p1), _check_p("p2", p2)
    d = _check_deff(deff)
    z = _s.z_value(conf, t)
    return _s.out(_power_core(n1 / d, n2 / d, p1, p2, z, strict and t == 2))


def sample_size_two_proportions(p1, p2, power=0.8, *, conf=0.95, alternative="two-sided",
                                ratio=1.0, deff=1.0, strict=False):
    """Base of wave 1 needed to detect ``p1`` vs ``p2`` with the given power (wave 2 = ratio x).

    Closed form of :func:`power_two_proportions` solved for ``n1`` (with ``n2 = ratio * n1``):
    ``sqrt(n1) |p1 - p2| = z_a sqrt(pbar qbar (1 + 1/ratio)) + z_b sqrt(p1 q1 + p2 q2 / ratio)``,
    ``pbar = (p1 + ratio p2)/(1 + ratio)``, times ``deff``.  With ``ratio = 1`` this is the
    ``n`` that R's ``power.prop.test(p1 =, p2 =, power =)`` finds by root search.  ``strict``
    is solved numerically.

    Returns
    -------
    float or ndarray
        Unrounded base of wave 1 (per group when ``ratio = 1``).

    Examples
    --------
    >>> round(sample_size_two_proportions(0.30, 0.35), 1)
    1376.3
    """
    t = _tside(alternative)
    p1, p2 = _check_p("p1", p1), _check_p("p2", p2)
    pw = _check_power(power)
    k = _s.as_float_array("ratio", ratio)
    _s.check_range("ratio", k, 0, None, lo_open=True)
    d = _check_deff(deff)
    if np.any(p1 == p2):
        raise ParamsError("`p1` and `p2` must differ: no base detects a zero change")
    za = _s.z_value(conf, t)
    zb = norm.ppf(pw)
    pbar = (p1 + k * p2) / (1 + k)
    num = za * np.sqrt(pbar * (1 - pbar) * (1 + 1 / k)) + zb * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)
    if np.any(num <= 0):
        raise ParamsError(
            "`power` must exceed the significance level of the test; got "
            f"power={power!r} with conf={conf!r}"
        )
    n1 = (num / np.abs(p1 - p2)) ** 2
    if strict and t == 2:
        b = np.broadcast_arrays(p1, p2, pw, k, za, n1)
        res = np.empty(b[0].shape)
        for idx in np.ndindex(res.shape):
            a1, a2, target, kk, zz, hi = (x[idx] for x in b)

            def f(m):
                return _power_core(m, kk * m, a1, a2, zz, True) - target

            lo = 1e-9
            res[idx] = hi if f(hi) <= 0 else brentq(f, lo, hi, xtol=1e-12, rtol=1e-14)
        n1 = res
    return _s.out(n1 * d)


def mdc_proportion(n1, n2, p, power=0.8, *, conf=0.95, deff=1.0, alternative="two-sided",
                   direction="increase", strict=False):
    """Minimum detectable change of a proportion between two independent waves.

    The smallest ``|p2 - p|`` (in the given ``direction`` from baseline ``p``) that
    :func:`power_two_proportions` detects with ``power``, found by root search, so that
    ``power_two_proportions(n1, n2, p, p + mdc) == power``.

    Parameters
    ----------
    n1, n2 : float or array-like
        Bases of the two waves.
    p : float or array-like
        Baseline proportion (wave 1), in (0, 1).
    direction : {"increase", "decrease"}
        Detect a rise (p2 > p) or a fall (p2 < p).  For p < 0.5 a rise is the harder one.

    Returns
    -------
    float or ndarray
        Change as a proportion (0.05 = 5 points); NaN where no change in that direction
        reaches the power (a ``WorkbenchWarning`` says so).

    Examples
    --------
    >>> round(mdc_proportion(1000, 1000, 0.3), 4)
    0.0589
    """
    t = _tside(alternative)
    _s.check_choice("direction", direction, ("increase", "decrease"))
    n1, n2 = _check_n("n1", n1), _check_n("n2", n2)
    p = _check_p("p", p)
    pw = _check_power(power)
    d = _check_deff(deff)
    z = _s.z_value(conf, t)
    b = np.broadcast_arrays(n1 / d, n2 / d, p, pw, z)
    res = np.empty(b[0].shape)
    sign = 1.0 if direction == "increase" else -1.0
    st = strict and t == 2
    for idx in np.ndindex(res.shape):
        m1, m2, p0, target, zz = (x[idx] for x in b)

        def f(delta):
            return _power_core(m1, m2, p0, p0 + sign * delta, zz, st) - target

        top = (1.0 - p0) if sign > 0 else p0
        if f(top) < 0:
            res[idx] = np.nan
        elif f(0.0) >= 0:
            res[idx] = 0.0
        else:
            res[idx] = brentq(f, 0.0, top, xtol=1e-14, rtol=1e-14)
    if np.isnan(res).any():
        warnings.warn(
            f"mdc_proportion: for {int(np.isnan(res).sum())} case(s) no {direction} of the "
            "proportion reaches the requested power; the bases are too small (result NaN)",
            WorkbenchWarning,
            stacklevel=2,
        )
    return _s.out(res)


def mdc_nps(n1, n2, promoters, detractors, power=0.8, *, conf=0.95, deff=1.0,
            alternative="two-sided"):
    """Minimum detectable change of an NPS between two independent waves, in NPS points.

    ``mdc = 100 (z_a + z_b) sqrt(deff var (1/n1 + 1/n2))`` with ``var`` the per-respondent NPS
    variance of the baseline wave (:func:`nps_variance`), held equal in both waves: how a change
    splits between promoters and detractors is not known at design time.

    Examples
    --------
    >>> round(mdc_nps(1000, 1000, 0.4, 0.2), 2)
    9.38
    """
    t = _tside(alternative)
    n1, n2 = _check_n("n1", n1), _check_n("n2", n2)
    var = np.asarray(nps_variance(promoters, detractors))
    pw = _check_power(power)
    d = _check_deff(deff)
    za = _s.z_value(conf, t)
    zb = norm.ppf(pw)
    return _s.out(100.0 * (za + zb) * np.sqrt(d * var * (1 / n1 + 1 / n2)))


def sample_size_two_nps(change_points, *, promoters, detractors, power=0.8, conf=0.95,
                        alternative="two-sided", ratio=1.0, deff=1.0):
    """Base of wave 1 to detect an NPS change of ``change_points`` (wave 2 = ratio x wave 1).

    The inverse of :func:`mdc_nps`:
    ``n1 = deff var (z_a + z_b)**2 (1 + 1/ratio) / (change_points/100)**2``.

    Examples
    --------
    >>> math.ceil(sample_size_two_nps(5, promoters=0.4, detractors=0.2))
    3517
    """
    t = _tside(alternative)
    c = _s.as_float_array("change_points", change_points)
    _s.check_range("change_points", c, 0, 200, lo_open=True)
    var = np.asarray(nps_variance(promoters, detractors))
    pw = _check_power(power)
    k = _s.as_float_array("ratio", ratio)
    _s.check_range("ratio", k, 0, None, lo_open=True)
    d = _check_deff(deff)
    za = _s.z_value(conf, t)
    zb = norm.ppf(pw)
    return _s.out(d * var * (za + zb) ** 2 * (1 + 1 / k) / (c / 100.0) ** 2)


def power_two_nps(n1, n2, change_points, *, promoters, detractors, conf=0.95,
                  alternative="two-sided", deff=1.0):
    """Power to detect an NPS change of ``change_points`` between two independent waves.

    ``power = Phi(|change|/100 / sqrt(deff var (1/n1 + 1/n2)) - z_a)`` with ``var`` the
    baseline NPS variance (:func:`nps_variance`), held equal in both waves.  This is the
    inverse of :func:`mdc_nps` (``power_two_nps(n1, n2, mdc_nps(n1, n2, ...)) == power``); as
    there, rejections in the wrong tail are not counted.

    Parameters
    ----------
    n1, n2 : float or array-like
        Bases of the two waves (before the design effect).
    change_points : float or array-like
        True change in NPS points (sign ignored).
    promoters, detractors : float or array-like
        Expected shares of the baseline wave.
    conf, alternative, deff
        As in :func:`mdc_nps`.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(power_two_nps(1000, 1000, 9.38, promoters=0.4, detractors=0.2), 3)
    0.8
    """
    t = _tside(alternative)
    n1, n2 = _check_n("n1", n1), _check_n("n2", n2)
    c = _s.as_float_array("change_points", change_points)
    _s.check_range("change_points", np.abs(c), 0, 200)
    var = np.asarray(nps_variance(promoters, detractors))
    d = _check_deff(deff)
    za = _s.z_value(conf, t)
    with np.errstate(divide="ignore"):
        zc = np.abs(c) / 100.0 / np.sqrt(d * var * (1 / n1 + 1 / n2))
    return _s.out(norm.cdf(zc - za))


def precision_table(n, *, p=0.5, promoters=None, detractors=None, conf=0.95, population=None,
                    deff=1.0, fpc="cochran", power=0.8):
    """Precision at each base: the table (and curve data) of "what does n buy?".

    Parameters
    ----------
    n : int or array-like
        Bases to tabulate (e.g. ``range(100, 2001, 50)`` for a curve).
    p, promoters, detractors, conf, population, deff, fpc
        As in :func:`margin_of_error_proportion` / :func:`margin_of_error_nps`; the NPS columns
        are present only when ``promoters`` and ``detractors`` are given.
    power : float, default 0.8
        Power for the wave-on-wave minimum detectable changes.

    Returns
    -------
    DataFrame
        One row per ``n``: ``n, moe`` (proportion, 0..1), ``mdc`` (rise of ``p`` detectable
        between two waves of ``n`` each, 0..1), and with NPS inputs ``moe_nps, mdc_nps``
        (points).  Wave-on-wave changes assume independent waves from a large population.

    Examples
    --------
    >>> precision_table([500, 1000], promoters=0.4, detractors=0.2).columns.tolist()
    ['n', 'moe', 'mdc', 'moe_nps', 'mdc_nps']
    """
    n = _check_n("n", np.atleast_1d(np.asarray(n, dtype=float)))
    if n.ndim != 1:
        raise ParamsError(f"`n` must be a number or a 1-d list of numbers, got shape {n.shape}")
    out = pd.DataFrame({"n": n})
    out["moe"] = np.asarray(margin_of_error_proportion(n, p=p, conf=conf, population=population,
                                                       deff=deff, fpc=fpc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        out["mdc"] = np.asarray(mdc_proportion(n, n, p, power=power, conf=conf, deff=deff))
    if (promoters is None) != (detractors is None):
        raise ParamsError("give both `promoters` and `detractors` (or neither)")
    if promoters is not None:
        out["moe_nps"] = np.asarray(margin_of_error_nps(
            n, promoters=promoters, detractors=detractors, conf=conf, population=population,
            deff=deff, fpc=fpc))
        out["mdc_nps"] = np.asarray(mdc_nps(n, n, promoters, detractors, power, conf=conf,
                                            deff=deff))
    return out


# ============================================================================================
# allocation across strata
# ============================================================================================
def _stratum_moe(n, population, var, z, fpc):
    """Per-stratum margin of error (SRS without replacement inside the stratum); NaN if n = 0."""
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.clip(_s.fpc_factor(n, population, fpc), 0.0, None)
        f = np.where(n >= population, 0.0, f)
        m = z * np.sqrt(var * f / n)
    return np.where(n > 0, m, np.nan)


def allocate(strata, n, *, method, size="population", sd=None, min_n=None, max_n=None, cost=None,
             p=None, by=None, users="category_users", penetration="penetration",
             small_strata="error", promoters=None, detractors=None, conf=0.95, fpc="cochran",
             within=None, low_base=None):
    """Allocate a total sample of ``n`` across strata, within minimum and maximum bases.

    The exact (continuous) allocation is ``n_h = clip(lam * a_h, lower_h, upper_h)`` with ``lam``
    such that the ``n_h`` sum to ``n``, where the size measure ``a_h`` is

    ==============  ===================================================================
    method          ``a_h``
    ==============  ===================================================================
    proportional    ``N_h``
    penetration     ``N_h = category_users_h * penetration_h`` (brand users per stratum)
    neyman          ``N_h S_h`` (``S_h = sd``, or ``sqrt(p (1 - p))`` for a proportion)
    optimal         ``N_h S_h / sqrt(c_h)`` (per-interview cost ``c_h``; ``S_h = 1`` if no sd/p)
    equal           ``1``
    ==============  ===================================================================

    This is the result of the usual iteration "allocate, fix the strata that break a bound at
    the bound, reallocate the rest among the others" (and, for Neyman/optimal, the minimum
    variance allocation under the bounds).  Every ``n_h`` is also capped at the stratum
    population.  The exact values are rounded to integers that sum to ``n`` by the largest
    remainder (Hamilton) method, which keeps every stratum within its bounds.

    Parameters
    ----------
    strata : DataFrame
        One row per stratum.  The stratum key is the index, or the column(s) named in ``by``.
    n : int, or per-group totals with ``within``
        Total sample size.  With ``within``: a dict or Series of totals per group, or a
        DataFrame with the ``within`` column(s) and ``n`` (e.g. a brand-level allocation).
    method : {"proportional", "neyman", "optimal", "equal", "penetration"}
    size : str, default "population"
        Column with the stratum population N_h (a count of units, not a share).  Not used by
        ``method="penetration"``.
    sd, p : str, float or array-like, optional
        Per-stratum standard deviation, or expected proportion (``S_h = sqrt(p(1-p))``), as a
        column name, one number or one value per stratum.  ``p`` (default 0.5) is also the
        proportion at which the ``moe`` column is computed.
    min_n, max_n : str, float or array-like, optional
        Minimum and maximum base per stratum (e.g. ``min_n=500`` per benchmarked competitor).
        Fractional bounds are rounded inwards (ceil for ``min_n``, floor for ``max_n``).
    cost : str, float or array-like, optional
        Per-interview cost; required by (and only used by) ``method="optimal"``.
    by : str or list of str, optional
        Stratum key column(s); default the index of ``strata``.
    users, penetration : str
        Columns for ``method="penetration"``: category users and brand penetration (0..1).
    small_strata : {"error", "census"}
        A stratum whose population is below ``min_n``: raise (default) or take every unit.
    promoters, detractors : str, float or array-like, optional
        Expected NPS shares; when given, adds the ``moe_nps`` column.
    conf : float, default 0.95
    fpc : {"cochran", "simple"}
        Finite-population convention for the margins of error.
    within : str or list of str, optional
        Two-stage allocation: the group column(s) (among the stratum keys) whose totals are
        fixed by ``n``; each group's total is allocated across its strata with ``method`` and
        the bounds.  E.g. brand totals (1,000 for our brand, 500 per competitor) spread over
        regions: ``allocate(strata, {"aurora": 1000, "beacon": 500, ...}, within="brand",
        by=["brand", "region"], method="proportional")``.
    low_base : workbench.lowbase.LowBaseRule, optional
        Rule for the ``base_status`` column; default the study-wide ``DEFAULT_RULE``.

    Returns
    -------
    DataFrame
        One row per stratum (key columns first when ``by`` is given, otherwise the index of
        ``strata``): ``population`` (N_h), ``n`` (integer base), ``share`` (n_h / n),
        ``weight`` (design weight N_h / n_h), ``moe`` (margin of error of a proportion at ``p``
        within the stratum, with FPC), then ``n_exact`` (unrounded allocation),
        ``population_share`` (N_h / N), ``sampling_fraction`` (n_h / N_h), ``bound``
        ("free", "min", "max" or "population": which limit holds the stratum), ``min_n``,
        ``max_n`` (effective bounds, population cap included), and the inputs used among
        ``sd, p, cost, promoters, detractors``, ``moe_nps`` (points) with NPS inputs, and
        ``base_status`` ("ok", "caution", "no_test": the low-base rule applied to ``n``).

    Raises
    ------
    ParamsError
        Infeasible bounds (the sum of minima exceeds ``n``; ``n`` exceeds what populations and
        maxima allow; a stratum's minimum above its population or maximum), naming the strata.

    Examples
    --------
    >>> strata = pd.DataFrame({"brand": ["aurora", "beacon", "cirrus", "delta"],
    ...                        "population": [60_000, 25_000, 10_000, 5_000]})
    >>> allocate(strata, 2000, method="proportional", by="brand", min_n=300)["n"].tolist()
    [988, 412, 300, 300]
    """
    _s.check_choice("method", method, ALLOCATION_METHODS)
    _s.check_choice("small_strata", small_strata, ("error", "census"))
    if within is not None:
        return _allocate_within(
            strata, n, within, by=by, method=method, size=size, sd=sd, min_n=min_n, max_n=max_n,
            cost=cost, p=p, users=users, penetration=penetration, small_strata=small_strata,
            promoters=promoters, detractors=detractors, conf=conf, fpc=fpc, low_base=low_base)
    keys, names, using_index = _s.key_columns(strata, by)
    labels = _s.stratum_labels(keys, names)
    n = _check_total(n)
    work = strata.reset_index(drop=True) if not using_index else strata

    if method == "penetration":
        u = _s.per_stratum(work, users, "users")
        pen = _s.per_stratum(work, penetration, "penetration")
        _s.check_range(f"penetration ({penetration!r})", pen, 0, 1)
        _s.check_range(f"users ({users!r})", u, 0, None)
        pop = u * pen
    else:
        pop = _s.per_stratum(work, size, "size")
        _s.check_range(f"size ({size!r})", pop, 0, None)

    if sd is not None and p is not None:
        raise ParamsError("give either `sd` or `p` for the stratum spread, not both")
    if sd is not None and method not in ("neyman", "optimal"):
        raise ParamsError(f"`sd` is used only by method='neyman' or 'optimal', not {method!r}")
    if cost is not None and method != "optimal":
        raise ParamsError(f"`cost` is used only by method='optimal', not {method!r}")
    sd_arr = _s.per_stratum(work, sd, "sd")
    p_arr = _s.per_stratum(work, p, "p")
    if sd_arr is not None:
        _s.check_range("sd", sd_arr, 0, None)
    if p_arr is not None:
        _s.check_range("p", p_arr, 0, 1)
    if method == "neyman" and sd_arr is None and p_arr is None:
        raise ParamsError("method='neyman' needs the stratum spread: give `sd` or `p`")
    spread = sd_arr if sd_arr is not None else (
        np.sqrt(p_arr * (1 - p_arr)) if p_arr is not None else np.ones(len(pop)))
    cost_arr = _s.per_stratum(work, cost, "cost")
    if method == "optimal":
        if cost_arr is None:
            raise ParamsError("method='optimal' needs `cost` (per-interview cost per stratum)")
        _s.check_range("cost", cost_arr, 0, None, lo_open=True)

    a = {
        "proportional": lambda: pop,
        "penetration": lambda: pop,
        "neyman": lambda: pop * spread,
        "optimal": lambda: pop * spread / np.sqrt(cost_arr),
        "equal": lambda: np.where(pop > 0, 1.0, 0.0),
    }[method]()

    lower = _s.per_stratum(work, min_n, "min_n", default=0.0)
    _s.check_range("min_n", lower, 0, None)
    lower = np.ceil(lower - 1e-9) + 0.0  # + 0.0 turns -0.0 into 0.0
    max_arr = _s.per_stratum(work, max_n, "max_n", default=np.inf)
    _s.check_range("max_n", max_arr, 0, None, allow_inf=True)
    pop_cap = np.floor(pop + 1e-9)
    upper = np.minimum(np.floor(max_arr + 1e-9), pop_cap)

    over_max = lower > np.floor(max_arr + 1e-9)
    if over_max.any():
        bad = [f"{labels[i]} (min_n={lower[i]:g}, max_n={max_arr[i]:g})" for i in np.flatnonzero(over_max)]
        raise ParamsError(f"min_n exceeds max_n for stratum(s): {'; '.join(bad[:10])}")
    small = lower > pop_cap
    if small.any():
        if small_strata == "error":
            bad = [f"{labels[i]} (population {pop[i]:g} < min_n {lower[i]:g})" for i in np.flatnonzero(small)]
            raise ParamsError(
                "stratum population below the minimum base for: " + "; ".join(bad[:10])
                + ". Lower min_n for these strata, merge them, or pass small_strata='census' "
                "to take every unit."
            )
        lower = np.where(small, pop_cap, lower)
    if lower.sum() > n:
        raise ParamsError(
            f"the minimum bases sum to {lower.sum():g}, more than n={n}; raise n or lower min_n "
            f"(largest minima: {'; '.join(f'{labels[i]}: {lower[i]:g}' for i in np.argsort(-lower, kind='stable')[:5])})"
        )
    if upper.sum() < n:
        raise ParamsError(
            f"n={n} exceeds the {upper.sum():g} units that the stratum populations and max_n "
            "allow; lower n or raise max_n"
        )
    x, lam = _s.box_allocation(a, lower, upper, n)
    if x is None:
        raise ParamsError(
            f"cannot place n={n}: the strata with a positive size measure are all at their "
            "maximum and the rest (zero population, sd or p in {0, 1}) take only their minimum"
        )
    n_int = _s.largest_remainder(x, n, upper)

    tol = 1e-9 * max(1.0, n)
    bound = np.where(lam * a < lower - tol, "min",
                     np.where(lam * a > upper + tol,
                              np.where(upper >= np.floor(max_arr + 1e-9), "max", "population"),
                              "free"))
    bound = np.where((lower > pop_cap - 1e-9) & small, "population", bound)

    z = _s.z_value(conf)
    _s.check_choice("fpc", fpc, _s.FPC_CONVENTIONS)
    pv = p_arr if p_arr is not None else np.full(len(pop), 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(n_int > 0, pop / n_int, np.nan)
        frac = np.where(pop > 0, n_int / pop, np.nan)
    res = {
        "population": pop,
        "n": n_int,
        "share": n_int / n,
        "weight": weight,
        "moe": _stratum_moe(n_int, pop, pv * (1 - pv), z, fpc),
        "n_exact": x,
        "population_share": pop / pop.sum(),
        "sampling_fraction": frac,
        "bound": bound,
        "min_n": lower,
        "max_n": upper,
    }
    if sd_arr is not None:
        res["sd"] = sd_arr
    if p_arr is not None:
        res["p"] = p_arr
    if cost_arr is not None:
        res["cost"] = cost_arr
    if (promoters is None) != (detractors is None):
        raise ParamsError("give both `promoters` and `detractors` (or neither)")
    if promoters is not None:
        pp = _s.per_stratum(work, promoters, "promoters")
        pm = _s.per_stratum(work, detractors, "detractors")
        var = np.asarray(nps_variance(pp, pm))
        res["promoters"] = pp
        res["detractors"] = pm
        res["moe_nps"] = 100.0 * _stratum_moe(n_int, pop, var, z, fpc)
    res["base_status"] = (DEFAULT_RULE if low_base is None else low_base).status(n_int)
    out = pd.DataFrame(res)
    if using_index:
        out.index = strata.index
    else:
        out = pd.concat([keys, out], axis=1)
    empty = (n_int == 0) & (pop > 0)
    if empty.any():
        warnings.warn(
            "allocate: stratum(s) " + "; ".join(labels[i] for i in np.flatnonzero(empty)[:10])
            + " get no sample; estimates for the total will not cover them. Set min_n.",
            WorkbenchWarning,
            stacklevel=2,
        )
    return out


_PER_STRATUM_ARGS = ("size", "sd", "min_n", "max_n", "cost", "p", "users", "penetration",
                     "promoters", "detractors")


def _allocate_within(strata, n, within, *, by, **kw):
    """Two-stage allocation: fixed totals per group, each allocated across its strata."""
    keys, names, using_index = _s.key_columns(strata, by)
    groups = _as_list(within, "within")
    missing = [g for g in groups if g not in names]
    if missing:
        raise ParamsError(f"`within` column(s) {missing} must be among the stratum keys {names}")
    if isinstance(n, pd.DataFrame):
        tab = n if all(g in n.columns for g in groups) else n.reset_index()
        if "n" not in tab.columns or not all(g in tab.columns for g in groups):
            raise ParamsError(f"`n` as a table must have the columns {groups} and n")
        totals = {tuple(r[:-1]) if len(groups) > 1 else r[0]: r[-1]
                  for r in tab[groups + ["n"]].itertuples(index=False)}
    elif isinstance(n, (dict, pd.Series)):
        totals = dict(n.items())
    else:
        raise ParamsError(
            f"with `within`, `n` must give one total per {groups} group (dict, Series or "
            f"allocation table), got {n!r}"
        )
    gkey = keys[groups].astype(object).apply(tuple, axis=1) if len(groups) > 1 else keys[groups[0]].astype(object)
    present = list(dict.fromkeys(gkey.tolist()))
    lacking = [g for g in present if g not in totals]
    extra = [g for g in totals if g not in set(present)]
    if lacking or extra:
        raise ParamsError(
            f"`n` must have one total per {groups} group: missing {lacking}, unknown {extra}"
        )
    work = strata.reset_index() if using_index else strata.reset_index(drop=True)
    parts = []
    for g in present:
        pos = np.flatnonzero((gkey == g).to_numpy())
        sub_kw = dict(kw)
        for name in _PER_STRATUM_ARGS:
            v = sub_kw.get(name)
            if v is not None and not isinstance(v, str) and not np.isscalar(v):
                arr = np.asarray(v)
                if arr.shape == (len(work),):
                    sub_kw[name] = arr[pos]
        if int(_check_total(totals[g])) == 0:
            raise ParamsError(f"group {g!r}: its total n must be >= 1 (drop its strata instead)")
        try:
            part = allocate(work.iloc[pos], totals[g], by=names, **sub_kw)
        except ParamsError as exc:
            raise ParamsError(f"within {groups} = {g!r}: {exc}") from None
        part.index = pos
        parts.append(part)
    out = pd.concat(parts).sort_index()
    total = out["n"].sum()
    out["share"] = out["n"] / total
    out["population_share"] = out["population"] / out["population"].sum()
    if using_index:
        out = out.drop(columns=names)
        out.index = strata.index
    else:
        out = out.reset_index(drop=True)
    return out


def _check_total(n):
    try:
        val = float(n)
    except (TypeError, ValueError):
        raise ParamsError(f"`n` must be a whole number of interviews, got {n!r}") from None
    if not math.isfinite(val) or val < 1 or val != math.floor(val):
        raise ParamsError(f"`n` must be a whole number >= 1, got {n!r}")
    return int(val)


def _alloc_column(alloc, value, name, default=None):
    if value is None:
        if name in alloc.columns:
            return alloc[name].to_numpy(dtype=float)
        return None if default is None else np.full(len(alloc), float(default))
    return _s.per_stratum(alloc, value, name)


def allocation_summary(alloc, *, p=None, promoters=None, detractors=None, conf=0.95,
                       fpc="cochran"):
    """Precision of the whole sample under an allocation (one total row, kept out of the table).

    Parameters
    ----------
    alloc : DataFrame
        Output of :func:`allocate` (needs ``population`` and ``n``).
    p, promoters, detractors : str, float or array-like, optional
        Expected proportion / NPS shares; default: the ``p``/``promoters``/``detractors``
        columns of ``alloc`` if present, else ``p = 0.5`` and no NPS figures.
    conf, fpc
        As in :func:`allocate`.

    Returns
    -------
    dict
        ``strata, population, n``;
        ``deff`` — Kish design effect of the design weights (N_h / n_h per interview),
        ``n * sum(n_h w_h**2) / (sum(n_h w_h))**2``; ``n_eff = n / deff``;
        ``efficiency = 1 / deff``;
        ``moe`` — margin of error of the weighted (stratified) total proportion,
        ``z * sqrt(sum W_h**2 p_h q_h f_h / n_h)`` with W_h = N_h / N and the FPC factor f_h;
        ``moe_srs`` — the same for a simple random sample of ``n`` (what stratification costs
        or gains); with NPS inputs also ``moe_nps, moe_nps_srs`` (points).
        Figures are NaN when a stratum with population has no sample.

    Examples
    --------
    >>> strata = pd.DataFrame({"population": [60_000, 25_000, 10_000, 5_000]},
    ...                       index=pd.Index(["aurora", "beacon", "cirrus", "delta"], name="brand"))
    >>> s = allocation_summary(allocate(strata, 2000, method="equal"))
    >>> round(s["deff"], 3), round(s["n_eff"], 1)
    (1.74, 1149.4)
    """
    missing = [c for c in ("population", "n") if c not in alloc.columns]
    if missing:
        raise ParamsError(
            f"`alloc` must have the columns population and n (from allocate()); missing {missing}"
        )
    _s.check_choice("fpc", fpc, _s.FPC_CONVENTIONS)
    pop = alloc["population"].to_numpy(dtype=float)
    nh = alloc["n"].to_numpy(dtype=float)
    n = nh.sum()
    N = pop.sum()
    z = _s.z_value(conf)
    covered = not np.any((nh == 0) & (pop > 0))
    use = nh > 0
    W = pop / N
    if covered:
        deff = n * np.sum(pop[use] ** 2 / nh[use]) / N**2
    else:
        deff = np.nan
    pv = _alloc_column(alloc, p, "p", default=0.5)
    _s.check_range("p", pv, 0, 1)

    def stratified_moe(var):
        if not covered:
            return np.nan
        f = np.clip(_s.fpc_factor(nh[use], pop[use], fpc), 0.0, None)
        f = np.where(nh[use] >= pop[use], 0.0, f)
        return float(z * np.sqrt(np.sum(W[use] ** 2 * var[use] * f / nh[use])))

    pbar = float(np.sum(W * pv))
    out = {
        "strata": int(len(alloc)),
        "population": float(N),
        "n": float(n),
        "deff": float(deff),
        "n_eff": float(n / deff),
        "efficiency": float(1 / deff),
        "moe": stratified_moe(pv * (1 - pv)),
        "moe_srs": margin_of_error_proportion(n, p=pbar, conf=conf, population=N, fpc=fpc),
    }
    pp = _alloc_column(alloc, promoters, "promoters")
    pm = _alloc_column(alloc, detractors, "detractors")
    if (pp is None) != (pm is None):
        raise ParamsError("give both `promoters` and `detractors` (or neither)")
    if pp is not None:
        var = np.asarray(nps_variance(pp, pm)) * np.ones(len(alloc))
        out["moe_nps"] = 100.0 * stratified_moe(var)
        out["moe_nps_srs"] = margin_of_error_nps(
            n, promoters=float(np.sum(W * pp)), detractors=float(np.sum(W * pm)), conf=conf,
            population=N, fpc=fpc)
    return out


def boost_tradeoff(strata, n, *, min_n_values, boosted=None, level="stratum",
                   method="proportional", **allocate_args):
    """Precision trade-off of boosting small strata: total design effect vs. stratum bases.

    For each minimum base in ``min_n_values`` the sample is re-allocated with
    :func:`allocate` (``min_n`` applied to the ``boosted`` strata only, or to all) and
    summarised with :func:`allocation_summary`.

    Parameters
    ----------
    strata, n, method
        As in :func:`allocate`.
    min_n_values : list of int
        Minimum bases to compare, e.g. ``[0, 300, 500, 750, 1000]``.
    boosted : str, optional
        Column of ``strata`` with True for the strata to boost (e.g. benchmarked competitors);
        default all strata.
    level : {"stratum", "total"}
        ``"stratum"``: one row per min_n and stratum with ``min_n``, the key columns and the
        :func:`allocate` columns (its ``min_n`` renamed ``stratum_min_n``: 0 where not
        boosted), plus ``total_deff, total_n_eff, total_moe`` (and
        ``total_moe_nps``).  ``"total"``: one row per min_n with ``min_n`` and the
        :func:`allocation_summary` figures, plus ``min_stratum_n`` and ``max_stratum_moe``.
    **allocate_args
        Passed to :func:`allocate` (``by, size, sd, p, cost, max_n, promoters, detractors,
        conf, fpc, users, penetration, small_strata``).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> strata = pd.DataFrame({"brand": ["aurora", "beacon", "cirrus", "delta"],
    ...                        "population": [60_000, 25_000, 10_000, 5_000]})
    >>> t = boost_tradeoff(strata, 2000, min_n_values=[0, 300, 500], by="brand", level="total")
    >>> t[["min_n", "deff"]].round(3).values.tolist()
    [[0.0, 1.0], [300.0, 1.115], [500.0, 1.74]]
    """
    _s.check_choice("level", level, ("stratum", "total"))
    if "min_n" in allocate_args:
        raise ParamsError("boost_tradeoff takes the minimum bases in `min_n_values`, not `min_n`")
    values = list(np.atleast_1d(min_n_values))
    if not values:
        raise ParamsError("`min_n_values` is empty; give at least one minimum base")
    mask = None
    if boosted is not None:
        if boosted not in strata.columns:
            raise ParamsError(f"`boosted` names column {boosted!r}, which is not in `strata`")
        mask = strata[boosted].astype(bool).to_numpy()
    summ_args = {k: allocate_args[k] for k in ("conf", "fpc") if k in allocate_args}
    rows, frames = [], []
    for m in values:
        mn = float(m) if mask is None else np.where(mask, float(m), 0.0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WorkbenchWarning)
                al = allocate(strata, n, method=method, min_n=mn, **allocate_args)
        except ParamsError as exc:
            raise ParamsError(f"min_n={m!r}: {exc}") from None
        s = allocation_summary(al, **summ_args)
        if level == "total":
            row = {"min_n": float(m), **s,
                   "min_stratum_n": float(al["n"].min()),
                   "max_stratum_moe": float(al["moe"].max())}
            rows.append(row)
        else:
            if allocate_args.get("by") is None:
                al = al.reset_index().rename(columns={"index": "stratum"})
            al = al.rename(columns={"min_n": "stratum_min_n"})
            al.insert(0, "min_n", float(m))
            al["total_deff"] = s["deff"]
            al["total_n_eff"] = s["n_eff"]
            al["total_moe"] = s["moe"]
            if "moe_nps" in s:
                al["total_moe_nps"] = s["moe_nps"]
            frames.append(al)
    if level == "total":
        return pd.DataFrame(rows)
    return pd.concat(frames, ignore_index=True)


# ============================================================================================
# quotas
# ============================================================================================
def _as_list(value, name):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise ParamsError(f"`{name}` must be a column name or a list of column names, got {value!r}") from None


def _check_frame_columns(frame, cols, what):
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what}: column(s) {missing} not found in the frame; columns are {list(frame.columns)}"
        )
    for c in cols:
        k = int(frame[c].isna().sum())
        if k:
            raise DataError(f"{what}: column {c!r} has {k} missing value(s); every unit must be classified")


def _cell_label(df, cols):
    return df[cols].astype(str).agg(" / ".join, axis=1) if cols else pd.Series("", index=df.index)


def quota_sheet(design, n=None, *, interlock=("brand", "region"), marginal=(("age_band", "gender"),),
                frame=None, tolerance=0.1, interlock_tolerance=None, by_stratum=True):
    """Quota targets for fieldwork: interlocked cells plus marginal quota tables.

    Parameters
    ----------
    design : DataFrame
        Either an allocation (output of :func:`allocate`, keyed by the ``interlock`` columns,
        as columns or index), whose ``n`` are the interlocked targets; or a unit-level frame
        (one row per unit), in which case ``n`` is allocated in proportion to the frame counts
        of the interlocked cells.  A table with an ``n`` column is taken as an allocation.
    n : int, optional
        Total sample; required with a frame, optional (checked) with an allocation.
    interlock : str or list of str
        Variables crossed into the interlocked (hard) quota cells, e.g. ``["brand", "region"]``.
    marginal : list
        Marginal quota tables; each entry is a variable or a list of variables crossed in one
        table: ``[["age_band", "gender"]]`` is one age x gender table, ``["age_band",
        "gender"]`` two separate tables.
    frame : DataFrame, optional
        Unit-level frame for the marginal distributions (default ``design`` when it is a frame).
    tolerance : float, default 0.1
        Relative tolerance of the marginal quotas: ``min = floor(target (1 - tol))``,
        ``max = ceil(target (1 + tol))``.
    interlock_tolerance : float, optional
        Tolerance of the interlocked cells; default ``tolerance``.
    by_stratum : bool, default True
        Marginal targets within each interlocked cell (summing exactly to its target), or over
        the total sample (summing to ``n``; the expected mix under the allocation,
        ``sum_h n_h c_hj / N_h``).

    Returns
    -------
    DataFrame
        Tidy: ``table`` (e.g. "brand x region", "age_band x gender"), the interlock and marginal
        variables (missing where a table does not use them), ``cell`` (label of the cell within
        its table), ``population`` (frame count, or the allocation's population for interlocked
        cells), ``share`` (share of the cell in its parent: the total for interlocked cells, the
        stratum for marginal cells), ``target`` (integer; largest-remainder rounding, summing
        exactly per stratum), ``min``, ``max``.

    Examples
    --------
    >>> frame = pd.DataFrame({"brand": ["a", "a", "b", "b"] * 50, "gender": ["f", "m"] * 100})
    >>> q = quota_sheet(frame, 100, interlock="brand", marginal=["gender"])
    >>> q.groupby("table")["target"].sum().to_dict()
    {'brand': 100, 'gender': 100}
    """
    inter = _as_list(interlock, "interlock")
    if not inter:
        raise ParamsError("`interlock` must name at least one column (e.g. ['brand', 'region'])")
    tables = [[t] if isinstance(t, str) else list(t) for t in _as_list(marginal, "marginal")]
    for t in tables:
        if not t:
            raise ParamsError("`marginal` has an empty table; give column names")
        overlap = set(t) & set(inter)
        if overlap:
            raise ParamsError(f"marginal table {t} repeats interlock variable(s) {sorted(overlap)}")
    tol_m = _s.as_float_array("tolerance", tolerance)
    _s.check_range("tolerance", tol_m, 0, 1)
    tol_i = tol_m if interlock_tolerance is None else _s.as_float_array("interlock_tolerance", interlock_tolerance)
    _s.check_range("interlock_tolerance", tol_i, 0, 1)
    if not isinstance(design, pd.DataFrame):
        raise ParamsError(f"`design` must be a DataFrame (allocation or frame), got {type(design).__name__}")

    is_alloc = "n" in design.columns
    if is_alloc:
        al = design
        if not all(c in al.columns for c in inter):
            al = al.reset_index()
        missing = [c for c in inter if c not in al.columns]
        if missing:
            raise ParamsError(
                f"the allocation has no interlock column(s) {missing} (as columns or index); "
                f"it has {list(al.columns)}"
            )
        if al.duplicated(inter).any():
            raise ParamsError(f"the allocation has more than one row per interlock cell {inter}")
        targets = al["n"].to_numpy()
        if np.any(targets < 0) or np.any(targets != np.floor(targets)):
            raise ParamsError("the allocation's `n` must be whole numbers >= 0")
        targets = targets.astype(np.int64)
        if n is not None and _check_total(n) != targets.sum():
            raise ParamsError(f"`n`={n} but the allocation sums to {targets.sum()}")
        n = int(targets.sum())
        cells = al[inter].reset_index(drop=True).copy()
        pop = (al["population"].to_numpy(dtype=float) if "population" in al.columns
               else np.full(len(al), np.nan))
        if tables and frame is None:
            raise ParamsError("marginal quotas need the unit-level `frame` (one row per unit)")
    else:
        frame = design if frame is None else frame
        n = _check_total(n) if n is not None else None
        if n is None:
            raise ParamsError("`n` is required when `design` is a frame")
        _check_frame_columns(frame, inter, "interlock")
        counts = frame.groupby(inter, observed=True, sort=True).size()
        cells = counts.index.to_frame(index=False)
        pop = counts.to_numpy(dtype=float)
        targets = _s.largest_remainder(n * pop / pop.sum(), n)
    cells_lab = _cell_label(cells, inter)

    pieces = []
    first = cells.copy()
    first.insert(0, "table", " x ".join(inter))
    first["cell"] = cells_lab.to_numpy()
    first["population"] = pop
    first["share"] = pop / np.nansum(pop) if np.isfinite(pop).all() else np.nan
    first["target"] = targets
    pieces.append((first, tol_i))

    if tables:
        for t in tables:
            _check_frame_columns(frame, inter + t, "marginal quotas")
        frame_keys = frame.groupby(inter, observed=True).size()
        for t in tables:
            cnt = frame.groupby(inter + t, observed=True, sort=True).size().rename("population").reset_index()
            merged = cnt.merge(cells.assign(_target=targets), on=inter, how="inner")
            # strata with a target but no frame units cannot have marginal quotas
            have = set(map(tuple, frame_keys.index.to_frame(index=False).astype(object).to_numpy()))
            for i, row in cells.iterrows():
                if targets[i] > 0 and tuple(row.astype(object)) not in have:
                    raise DataError(
                        f"marginal quotas {t}: stratum {_s.stratum_labels(cells.iloc[[i]], inter)[0]} "
                        f"has a target of {targets[i]} but no units in the frame"
                    )
            tot = merged.groupby(inter, observed=True, sort=False)["population"].transform("sum").to_numpy(dtype=float)
            merged["share"] = merged["population"].to_numpy(dtype=float) / tot
            exact = merged["_target"].to_numpy(dtype=float) * merged["share"].to_numpy()
            if by_stratum:
                tgt = np.zeros(len(merged), dtype=np.int64)
                for _, idx in merged.groupby(inter, observed=True, sort=False).indices.items():
                    tgt[idx] = _s.largest_remainder(exact[idx], int(merged["_target"].iloc[idx[0]]))
                merged["target"] = tgt
                part = merged.drop(columns="_target")
            else:
                tot_cells = merged.assign(_exact=exact).groupby(t, observed=True, sort=True).agg(
                    population=("population", "sum"), _exact=("_exact", "sum")).reset_index()
                tot_cells["share"] = tot_cells["population"] / tot_cells["population"].sum()
                tot_cells["target"] = _s.largest_remainder(tot_cells["_exact"].to_numpy(), n)
                part = tot_cells.drop(columns="_exact")
                for c in inter:
                    part[c] = pd.NA
            part.insert(0, "table", " x ".join(t))
            part["cell"] = _cell_label(part, t).to_numpy()
            pieces.append((part, tol_m))

    out = []
    for part, tol in pieces:
        part = part.copy()
        tgt = part["target"].to_numpy(dtype=float)
        part["min"] = np.floor(tgt * (1 - float(tol)) + 1e-9).astype(np.int64)
        part["max"] = np.ceil(tgt * (1 + float(tol)) - 1e-9).astype(np.int64)
        part["target"] = part["target"].astype(np.int64)
        out.append(part)
    var_cols = inter + [c for t in tables for c in t if c not in inter]
    var_cols = list(dict.fromkeys(var_cols))
    cols = ["table"] + var_cols + ["cell", "population", "share", "target", "min", "max"]
    res = pd.concat(out, ignore_index=True)
    for c in var_cols:
        if c not in res.columns:
            res[c] = pd.NA
    return res[cols]


_DEFAULT_LABELS = {
    "table": "Quota",
    "cell": "Cell",
    "population": "Population",
    "share": "Share of parent",
    "target": "Target n",
    "min": "Min",
    "max": "Max",
}


def _readable_quotas(sheet):
    """The quota sheet as its readers see it: whole numbers as integers, shares kept as shares
    rounded to 0.1 point (shown as percentages)."""
    out = sheet.copy()
    for c in ("population", "target", "min", "max"):
        if c in out.columns:
            v = pd.to_numeric(out[c], errors="coerce")
            out[c] = v.round().astype("Int64") if v.notna().any() else v
    if "share" in out.columns:
        out["share"] = pd.to_numeric(out["share"], errors="coerce").round(3)
    return out


def _pct_text(v):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else f"{100 * v:.1f}%"


def _sheet_name(name, used):
    clean = "".join("_" if ch in '[]:*?/\\' else ch for ch in str(name))[:31] or "quotas"
    base, k = clean, 2
    while clean.lower() in used:
        suffix = f" ({k})"
        clean = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(clean.lower())
    return clean


def write_quota_sheet(sheet, path_stem, *, labels=None):
    """Write a quota sheet as CSV (all tables, tidy) and Excel (one worksheet per quota table).

    Both files are written to a temporary name and moved into place (``os.replace``), so a
    reader never sees a half-written file.

    Parameters
    ----------
    sheet : DataFrame
        Output of :func:`quota_sheet`.
    path_stem : str or Path
        Path without extension; writes ``<stem>.csv`` (UTF-8 with BOM, so that spreadsheet
        programs read Chinese labels) and ``<stem>.xlsx``.
    labels : dict, optional
        Column header labels of both files (e.g. from
        :func:`workbench.narrative.sampling.quota_headers`, in the report language); defaults
        label the fixed columns ("Quota", "Target n", "Min", "Max", ...).  Variable columns keep
        their codes as values (for the agency's systems).

    Both files are rounded for reading: counts as whole numbers, ``share`` as a percentage with
    one decimal (``"81.9%"`` in the CSV, a percentage-formatted number in the workbook).

    Returns
    -------
    dict
        ``{"csv": Path, "xlsx": Path}``.
    """
    need = {"table", "cell", "target", "min", "max"}
    if not isinstance(sheet, pd.DataFrame) or not need <= set(sheet.columns):
        raise ParamsError(f"`sheet` must be a quota_sheet() DataFrame with columns {sorted(need)}")
    stem = Path(path_stem)
    heads = {**_DEFAULT_LABELS, **(labels or {})}
    csv_path = stem.with_name(stem.name + ".csv")
    xlsx_path = stem.with_name(stem.name + ".xlsx")
    from workbench.io import mark_formula_text, neutralise_formulas  # labels come from clients

    readable = _readable_quotas(sheet)
    flat = readable.copy()
    if "share" in flat.columns:
        flat["share"] = [_pct_text(v) for v in flat["share"]]
    flat = flat.rename(columns=lambda c: heads.get(c, c))
    _s.atomic_write(csv_path, lambda tmp: neutralise_formulas(flat).to_csv(tmp, index=False,
                                                                           encoding="utf-8-sig"))

    def write_xlsx(tmp):
        used = set()
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, part in readable.groupby("table", sort=False):
                part = part.drop(columns="table").dropna(axis=1, how="all")
                share_at = list(part.columns).index("share") + 1 if "share" in part.columns else None
                part = part.rename(columns=lambda c: heads.get(c, c))
                ws_name = _sheet_name(name, used)
                part.to_excel(xw, sheet_name=ws_name, index=False)
                ws = xw.sheets[ws_name]
                mark_formula_text(ws)
                ws.freeze_panes = "A2"
                if share_at:
                    for (cell,) in ws.iter_rows(min_row=2, min_col=share_at, max_col=share_at):
                        cell.number_format = "0.0%"
                for i, col in enumerate(part.columns, start=1):
                    width = max([len(str(col))] + [len(str(v)) for v in part.iloc[:, i - 1].head(200)])
                    ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width + 2, 40)

    _s.atomic_write(xlsx_path, write_xlsx)
    return {"csv": csv_path, "xlsx": xlsx_path}


# ============================================================================================
# frame and draw
# ============================================================================================
def read_frame(path, *, id_col=None, columns=None):
    """Read a sampling frame from CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``).

    Parameters
    ----------
    path : str or Path
    id_col : str, optional
        Unit id column; checked to exist and be unique.
    columns : list of str, optional
        Columns to read (Parquet reads only these).

    Returns
    -------
    DataFrame
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"sampling frame {str(path)!r} not found")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path, columns=columns)
        elif name.endswith((".csv", ".csv.gz")):
            frame = pd.read_csv(path, usecols=columns)
        else:
            raise DataError(
                f"sampling frame {path.name!r}: expected a .csv, .csv.gz, .parquet or .pq file"
            )
    except (ValueError, KeyError, OSError) as exc:
        raise DataError(f"cannot read sampling frame {path.name!r}: {exc}") from None
    if id_col is not None:
        if id_col not in frame.columns:
            raise DataError(f"sampling frame {path.name!r}: id column {id_col!r} not found")
        dup = frame[id_col].duplicated()
        if dup.any():
            raise DataError(
                f"sampling frame {path.name!r}: id column {id_col!r} has {int(dup.sum())} "
                f"duplicated value(s), e.g. {frame.loc[dup, id_col].iloc[0]!r}"
            )
    return frame


def stratified_draw(frame, alloc, *, strata, seed, reserve=0.2, id_col=None):
    """Draw a stratified simple random sample (without replacement) plus a reserve per stratum.

    Units are put in a random order within each stratum (the frame is first sorted by its id,
    so the draw does not depend on the row order of the file); the first ``n_h`` are the main
    sample and the next ``ceil(reserve * n_h)`` the reserve (replacement) sample, to be
    released in ``order``.

    Parameters
    ----------
    frame : DataFrame
        One row per unit.
    alloc : DataFrame or Series
        Base per stratum: an :func:`allocate` result (key columns or index named like
        ``strata``, and ``n``), or a Series of bases indexed by the stratum key.
    strata : str or list of str
        Stratum columns of ``frame``.
    seed : int
        Seed of the random generator (numpy PCG64); the same seed gives the same sample.
    reserve : float, default 0.2
        Reserve size as a fraction of the main base per stratum.  Where the stratum has too
        few units, the reserve is cut to what is left (``WorkbenchWarning``).
    id_col : str, optional
        Unit id column (unique); default the frame's index.

    Returns
    -------
    DataFrame
        The drawn units (main and reserve) with all frame columns, ordered by stratum and
        ``order``, plus ``selected`` (main sample), ``reserve`` (reserve sample), ``order``
        (1.. within the stratum: release order) and ``design_weight`` (frame units in the
        stratum / main base).  The index is the frame's.

    Raises
    ------
    DataError
        A stratum has fewer units than its main base (names the stratum, the units available
        and the units requested), or ids are duplicated.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit_id": range(100), "brand": ["a", "b"] * 50})
    >>> s = stratified_draw(frame, pd.Series({"a": 5, "b": 3}), strata="brand", seed=1,
    ...                     id_col="unit_id")
    >>> s.groupby("brand")[["selected", "reserve"]].sum().values.tolist()
    [[5, 1], [3, 1]]
    """
    keys = _as_list(strata, "strata")
    if not keys:
        raise ParamsError("`strata` must name the stratum column(s) of the frame")
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParamsError(f"`seed` must be an integer so that the draw can be repeated, got {seed!r}")
    r = _s.as_float_array("reserve", reserve)
    _s.check_range("reserve", r, 0, None)
    r = float(r)
    _check_frame_columns(frame, keys, "stratified_draw")
    if id_col is not None:
        if id_col not in frame.columns:
            raise DataError(f"stratified_draw: id column {id_col!r} not in the frame")
        ids = frame[id_col]
    else:
        ids = pd.Series(frame.index, index=frame.index)
    if ids.duplicated().any():
        raise DataError(
            f"stratified_draw: unit ids ({id_col or 'index'}) must be unique; "
            f"{int(ids.duplicated().sum())} duplicated, e.g. {ids[ids.duplicated()].iloc[0]!r}"
        )

    if isinstance(alloc, pd.Series):
        al = alloc.rename("n").reset_index()
        al.columns = keys + ["n"] if len(al.columns) == len(keys) + 1 else al.columns
    elif isinstance(alloc, pd.DataFrame):
        al = alloc if all(k in alloc.columns for k in keys) else alloc.reset_index()
    else:
        raise ParamsError(f"`alloc` must be a DataFrame or Series of bases, got {type(alloc).__name__}")
    missing = [k for k in keys + ["n"] if k not in al.columns]
    if missing:
        raise ParamsError(f"`alloc` lacks column(s) {missing}; it must hold {keys} and n")
    al = al[keys + ["n"]]
    nvals = al["n"].to_numpy(dtype=float)
    if np.any(nvals < 0) or np.any(nvals != np.floor(nvals)):
        raise ParamsError("`alloc` bases `n` must be whole numbers >= 0")
    if al.duplicated(keys).any():
        raise ParamsError(f"`alloc` has more than one row per stratum {keys}")

    order_idx = np.argsort(ids.to_numpy(), kind="stable")
    work = frame.iloc[order_idx]
    rng = np.random.default_rng(int(seed))
    grouped = work[keys].assign(_u=rng.random(len(work))).groupby(keys, observed=True, sort=False)
    rank = grouped["_u"].rank(method="first").to_numpy(dtype=np.int64)
    size = grouped["_u"].transform("size").to_numpy(dtype=np.int64)
    avail = grouped.size().rename("_have").reset_index()
    try:
        plan = al.merge(avail, on=keys, how="left")
    except (ValueError, TypeError) as exc:
        raise DataError(f"stratified_draw: the stratum keys of `alloc` and `frame` do not match: {exc}") from None
    have = plan["_have"].fillna(0).to_numpy(dtype=np.int64)
    nh = plan["n"].to_numpy(dtype=np.int64)
    rh = np.ceil(r * nh - 1e-9).astype(np.int64)
    lab = _s.stratum_labels(plan, keys)
    short = np.flatnonzero(nh > have)
    if short.size:
        raise DataError(
            "stratified_draw: too few units in the frame for the main sample — "
            + "; ".join(f"{lab[i]}: {have[i]} units available, {nh[i]} requested" for i in short)
        )
    cap = np.flatnonzero(nh + rh > have)
    if cap.size:
        warnings.warn(
            "stratified_draw: reserve cut to the units left in stratum(s) "
            + "; ".join(f"{lab[i]} ({have[i] - nh[i]} of {rh[i]})" for i in cap),
            WorkbenchWarning,
            stacklevel=2,
        )
        rh = np.minimum(rh, have - nh)
    plan = plan.assign(_n=nh, _r=rh)[keys + ["_n", "_r"]]
    row_plan = work[keys].merge(plan, on=keys, how="left")
    nh_arr = row_plan["_n"].fillna(0).to_numpy(dtype=np.int64)
    rh_arr = row_plan["_r"].fillna(0).to_numpy(dtype=np.int64)
    selected = rank <= nh_arr
    res_flag = (rank > nh_arr) & (rank <= nh_arr + rh_arr)
    keep = selected | res_flag
    out = work.iloc[np.flatnonzero(keep)].copy()
    out["selected"] = selected[keep]
    out["reserve"] = res_flag[keep]
    out["order"] = rank[keep]
    out["design_weight"] = size[keep] / nh_arr[keep]
    out = out.sort_values(keys + ["order"], kind="stable")
    return out


# ============================================================================================
# the study design: inputs, brand bases, two-stage allocation, options, quotas and draw files
# ============================================================================================
DESIGN_METHODS = ("penetration", "proportional", "equal")


@dataclass(frozen=True)
class DesignInputs:
    """The files a sampling design reads (see :func:`read_inputs`)."""

    frame: pd.DataFrame
    penetration: pd.DataFrame | None
    frame_path: Path
    penetration_path: Path | None
    id_col: str | None


def read_inputs(data_dir, codebook, *, frame_file="", penetration_file="", frame_dataset="frame",
                penetration_dataset="penetration"):
    """Read the sampling frame and the brand penetration table of a study, checked against its codebook.

    A file parameter that is empty means "the codebook's file for that dataset, in the data
    folder" (``frame.parquet`` and ``penetration.csv`` for the demo study); otherwise it is a
    path (the run's config has already made it absolute).  Categorical columns come back as
    pandas ``Categorical`` in codebook order, so tables and charts follow the codebook.

    Parameters
    ----------
    data_dir : str or Path
        The study's data folder.
    codebook : Codebook, str or Path
    frame_file, penetration_file : str or Path, optional
        Explicit files; ``""`` for the codebook's defaults.  A missing default penetration file
        is not an error (the design then needs ``method="proportional"`` or ``"equal"``).
    frame_dataset, penetration_dataset : str
        The codebook's dataset entries describing the two files.

    Returns
    -------
    DesignInputs
        ``frame``, ``penetration`` (or None), ``frame_path``, ``penetration_path``, ``id_col``
        (the frame dataset's id column, when it has exactly one).

    Examples
    --------
    >>> from workbench.synth import demo_dir
    >>> inp = read_inputs(demo_dir(), "demo")
    >>> inp.frame.shape[0] > 100_000, inp.id_col
    (True, 'unit_id')
    """
    from workbench.codebook import load_codebook
    from workbench.io import read_survey

    cb = load_codebook(codebook)
    data_dir = Path(data_dir)

    def default(dataset, what):
        if dataset not in cb.datasets:
            raise ParamsError(
                f"no {what} file given and the codebook has no dataset {dataset!r}; set the "
                f"{what} file parameter"
            )
        return data_dir / cb.dataset(dataset).file

    frame_path = Path(frame_file) if frame_file else default(frame_dataset, "frame")
    if not frame_path.is_file():
        raise DataError(f"sampling frame {str(frame_path)!r} not found")
    frame_ds = frame_dataset if frame_dataset in cb.datasets else None
    frame = read_survey(frame_path, cb, frame_ds, categories=True)

    pen = None
    pen_path = None
    if penetration_file:
        pen_path = Path(penetration_file)
        if not pen_path.is_file():
            raise DataError(f"penetration file {str(pen_path)!r} not found")
    elif penetration_dataset in cb.datasets:
        cand = data_dir / cb.dataset(penetration_dataset).file
        pen_path = cand if cand.is_file() else None
    if pen_path is not None:
        pen_ds = penetration_dataset if penetration_dataset in cb.datasets else None
        pen = read_survey(pen_path, cb, pen_ds, categories=True)
    ids = cb.dataset(frame_ds).id_columns if frame_ds else []
    return DesignInputs(frame, pen, frame_path, pen_path, ids[0] if len(ids) == 1 else None)


@dataclass(frozen=True)
class SampleDesign:
    """A two-stage sample design: brand bases, allocated across the other strata (frozen).

    Build it with :func:`design_sample`.  Views: ``allocation`` (per stratum), ``brands`` (per
    brand), ``total`` (the whole sample), :meth:`precision` and :meth:`curve`; power wave on
    wave: :meth:`power_plan`, :meth:`power_curves`, :meth:`pooled_mdc_nps`, :meth:`needed_n_nps`.
    """

    allocation: pd.DataFrame
    brands: pd.DataFrame
    total: dict
    strata: tuple
    ours: str
    competitors: tuple
    settings: dict
    frame_units: int
    frame_units_in_scope: int

    @property
    def brand_col(self) -> str:
        """The brand column (the first stratum column)."""
        return self.strata[0]

    def precision(self, n=None):
        """:func:`precision_table` at the design's assumptions (simple random sampling, deff 1).

        ``n`` defaults to a ladder of common bases plus every base of the design (each brand's
        and the total); the column ``design`` is True for the design's bases.
        """
        own = sorted({int(v) for v in self.brands["n"]} | {int(self.total["n"])})
        if n is None:
            ladder = [100, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000]
            n = sorted(set(ladder) | set(own))
        tab = self._table(n)
        tab["design"] = tab["n"].isin(own)
        return tab

    def curve(self, n=None):
        """Precision at a fine grid of bases (for the margin-of-error curve)."""
        if n is None:
            top = max(2000, int(math.ceil(self.total["n"] * 1.2 / 100.0) * 100))
            n = np.arange(50, top + 1, 25)
        return self._table(n)

    def _table(self, n):
        s = self.settings
        return precision_table(n, p=s["p"], promoters=s["promoters"], detractors=s["detractors"],
                               conf=s["conf"], power=s["power"], fpc=s["fpc"])

    # -- power: every number the power section of a report shows ------------------------------
    def needed_n_nps(self, change, deff=1.0) -> int:
        """Interviews per wave to detect an NPS change of ``change`` points wave on wave at the
        design's power and confidence (design effect ``deff``), rounded up."""
        s = self.settings
        return math.ceil(float(sample_size_two_nps(change, promoters=s["promoters"], detractors=s["detractors"],
                                                   power=s["power"], conf=s["conf"], deff=deff)) - 1e-9)

    def needed_n_proportion(self, change, deff=1.0) -> int:
        """Interviews per wave to detect a change of ``change`` (a share, 0.05 = 5 points) in a
        proportion of ``settings["p"]``, rounded up."""
        s = self.settings
        p1 = s["p"]
        p2 = min(p1 + change, 1 - 1e-9) if p1 + change < 1 else p1 - change
        return math.ceil(float(sample_size_two_proportions(p1, p2, s["power"], conf=s["conf"], deff=deff)) - 1e-9)

    def power_nps(self, n_eff, change):
        """Power to detect a true NPS change of ``change`` points (scalar or array) between two
        waves of effective base ``n_eff`` each."""
        s = self.settings
        return power_two_nps(n_eff, n_eff, change, promoters=s["promoters"], detractors=s["detractors"],
                             conf=s["conf"])

    def pooled_mdc_nps(self, waves: int, n_eff=None) -> float:
        """Minimum detectable NPS change when ``waves`` waves are pooled on each side (effective
        base ``n_eff`` per wave; default our brand's)."""
        s = self.settings
        if n_eff is None:
            n_eff = float(self.brands.loc[self.brands["role"] == "ours", "n_eff"].iloc[0])
        ne = waves * float(n_eff)
        return float(mdc_nps(ne, ne, s["promoters"], s["detractors"], s["power"], conf=s["conf"]))

    def power_plan(self, detect_nps=5.0, detect_proportion=0.05) -> pd.DataFrame:
        """Per brand and the total (last row): what the bases detect wave on wave.

        Columns: the brand column (``None`` on the total row), ``role`` ("ours",
        "competitor", "total"), ``n``, ``n_eff``, ``deff``, ``mdc_nps`` (points), ``mdc`` (a
        share of ``settings["p"]``), ``power_nps`` (power for a change of ``detect_nps``),
        ``need_nps`` and ``need_prop`` (bases per wave for ``detect_nps`` points and a
        ``detect_proportion`` change in a share, at the group's design effect).
        """
        rows = []
        items = [(r[self.brand_col], r["role"], r) for _, r in self.brands.iterrows()]
        items.append((None, "total", self.total))
        for code, role, r in items:
            rows.append({
                self.brand_col: code, "role": role, "n": int(r["n"]), "n_eff": float(r["n_eff"]),
                "deff": float(r["deff"]), "mdc_nps": float(r["mdc_nps"]), "mdc": float(r["mdc"]),
                "power_nps": float(self.power_nps(float(r["n_eff"]), detect_nps)),
                "need_nps": self.needed_n_nps(detect_nps, float(r["deff"])),
                "need_prop": self.needed_n_proportion(detect_proportion, float(r["deff"])),
            })
        return pd.DataFrame(rows)

    def power_curves(self, changes) -> pd.DataFrame:
        """Power by true NPS change (rows: ``changes``) for each brand and the total (columns:
        brand codes and ``"total"``), at each group's effective base."""
        x = np.asarray(changes, dtype=float)
        cols = {str(r[self.brand_col]): np.asarray(self.power_nps(float(r["n_eff"]), x), dtype=float)
                for _, r in self.brands.iterrows()}
        cols["total"] = np.asarray(self.power_nps(float(self.total["n_eff"]), x), dtype=float)
        return pd.DataFrame(cols, index=pd.Index(x, name="change"))

    def proportional_options(self) -> pd.DataFrame:
        """:func:`boost_options` against a proportional sample of the same total (no boost),
        quietly: the comparison a summary of the design quotes."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WorkbenchWarning)
            return boost_options(self, [0])


def _rank_levels(values, order=None):
    """Sort key: categorical order, else ``order``, else first appearance."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy()
    ref = list(order) if order is not None else list(dict.fromkeys(values.tolist()))
    pos = {v: i for i, v in enumerate(ref)}
    return np.array([pos.get(v, len(ref)) for v in values.tolist()])


def _strata_table(frame, keys, groups, penetration, method):
    brand = keys[0]
    _check_frame_columns(frame, keys, "design_sample")
    fc = frame.groupby(keys, observed=True, sort=False).size().rename("frame_units").reset_index()
    if method == "penetration":
        if penetration is None:
            raise ParamsError(
                "method='penetration' needs the brand penetration table (category users x "
                "penetration per stratum); give it or use method='proportional'"
            )
        need = [c for c in keys + ["category_users", "penetration"] if c not in penetration.columns]
        if need:
            raise ParamsError(
                f"method='penetration': the penetration table lacks column(s) {need}; it has "
                f"{list(penetration.columns)} (the stratum columns must all be in it, else "
                "use method='proportional')"
            )
        pen = penetration.assign(
            population=penetration["category_users"].to_numpy(dtype=float)
            * penetration["penetration"].to_numpy(dtype=float))
        pop = pen.groupby(keys, observed=True, sort=False)["population"].sum().reset_index()
        tab = pop.merge(fc, on=keys, how="left")
        tab["frame_units"] = tab["frame_units"].fillna(0).astype(np.int64)
    else:
        tab = fc.assign(population=fc["frame_units"].astype(float))[keys + ["population", "frame_units"]]
    in_scope = tab[brand].astype(object).isin(groups).to_numpy()
    known = list(dict.fromkeys(tab[brand].astype(object).tolist()))
    absent = [g for g in groups if g not in known]
    if absent:
        source = "penetration table" if method == "penetration" else "frame"
        raise ParamsError(
            f"brand(s) {absent} not found in the {brand!r} column of the {source}; "
            f"levels are {known}"
        )
    tab = tab[in_scope].reset_index(drop=True)
    sort_cols = [_rank_levels(tab[brand].astype(object), groups)]
    sort_cols += [_rank_levels(tab[k]) for k in keys[1:]]
    order = np.lexsort(tuple(reversed(sort_cols)))
    return tab.iloc[order].reset_index(drop=True)


def _two_stage(table, totals, keys, s, *, quiet=False):
    """Allocate, then summarise per brand and for the whole sample."""
    brand = keys[0]
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", WorkbenchWarning)
        al = allocate(
            table, totals, within=brand, by=keys,
            method="equal" if s["method"] == "equal" else "proportional", size="population",
            min_n=s["min_n"], max_n=s["max_n"], p=s["p"], promoters=s["promoters"],
            detractors=s["detractors"], conf=s["conf"], fpc=s["fpc"], low_base=s["low_base"])
    al.insert(len(keys), "frame_units", table["frame_units"].to_numpy())
    rule = s["low_base"] or DEFAULT_RULE
    summ = dict(p=s["p"], promoters=s["promoters"], detractors=s["detractors"], conf=s["conf"],
                fpc=s["fpc"])
    groups = list(dict.fromkeys(al[brand].astype(object).tolist()))
    rows = []
    N = float(al["population"].sum())
    for g in groups:
        part = al[al[brand].astype(object).to_numpy() == g]
        sm = allocation_summary(part, **summ)
        rows.append({
            brand: g,
            "population": sm["population"],
            "population_share": sm["population"] / N,
            "frame_units": int(part["frame_units"].sum()),
            "strata": int(len(part)),
            "n": int(sm["n"]),
            "min_stratum_n": int(part["n"].min()),
            "deff": sm["deff"],
            "n_eff": sm["n_eff"],
            "moe": sm["moe"],
            "moe_nps": sm["moe_nps"],
        })
    br = pd.DataFrame(rows)
    if isinstance(al[brand].dtype, pd.CategoricalDtype):
        br[brand] = pd.Categorical(br[brand], categories=al[brand].cat.categories)
    br.insert(1, "role", np.where(br[brand].astype(object) == groups[0], "ours", "competitor"))
    br.insert(br.columns.get_loc("n") + 1, "share", br["n"] / br["n"].sum())
    ne = br["n_eff"].to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        br["mdc"] = np.asarray(mdc_proportion(ne, ne, s["p"], s["power"], conf=s["conf"]))
    br["mdc_nps"] = np.asarray(mdc_nps(ne, ne, s["promoters"], s["detractors"], s["power"],
                                       conf=s["conf"]))
    gap = np.asarray(mdc_nps(ne[0], ne, s["promoters"], s["detractors"], s["power"], conf=s["conf"]))
    br["mdc_nps_vs_ours"] = np.where(br["role"] == "ours", np.nan, gap)
    br["base_status"] = rule.status(ne)

    total = allocation_summary(al, **summ)
    ne_t = total["n_eff"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        total["mdc"] = float(mdc_proportion(ne_t, ne_t, s["p"], s["power"], conf=s["conf"]))
    total["mdc_nps"] = float(mdc_nps(ne_t, ne_t, s["promoters"], s["detractors"], s["power"],
                                     conf=s["conf"]))
    total["frame_units"] = int(al["frame_units"].sum())
    return al, br, total


def _bases_for_target(table, groups, keys, s, target):
    """Smallest brand base whose designed NPS margin (stratified, with FPC) is within ``target``."""
    brand = keys[0]
    out = {}
    for g in groups:
        sub = table[table[brand].astype(object).to_numpy() == g].reset_index(drop=True)
        N = float(sub["population"].sum())
        lo = max(1, int(math.ceil(float(sample_size_nps(
            target, promoters=s["promoters"], detractors=s["detractors"], conf=s["conf"],
            population=N, fpc=s["fpc"])) - 1e-9)))
        lo = max(lo, int(math.ceil(float(s["min_n"] or 0) - 1e-9)) * len(sub))

        def margin(m):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WorkbenchWarning)
                al = allocate(sub, m, by=keys, size="population",
                              method="equal" if s["method"] == "equal" else "proportional",
                              min_n=s["min_n"], max_n=s["max_n"], small_strata="census")
            return allocation_summary(al, promoters=s["promoters"], detractors=s["detractors"],
                                      conf=s["conf"], fpc=s["fpc"])["moe_nps"]

        n = lo
        try:
            for _ in range(100):
                m = margin(n)
                if m <= target * (1 + 1e-12):
                    break
                n = max(n + 1, int(math.ceil(n * (m / target) ** 2)))
            else:  # pragma: no cover - the ratio step converges in a few rounds
                raise ParamsError(f"brand {g!r}: no base found for a margin of +/-{target} points")
            while n - 1 >= lo and margin(n - 1) <= target * (1 + 1e-12):
                n -= 1
        except ParamsError as exc:
            raise ParamsError(
                f"brand {g!r}: a margin of error of +/-{target} NPS points cannot be reached "
                f"within the strata's populations and maximum bases ({exc})"
            ) from None
        out[g] = n
    return out


def design_sample(frame, strata, *, ours, competitors=(), n_ours=None, n_competitor=None,
                  target_moe=None, penetration=None, method="penetration", min_n=0, max_n=None,
                  promoters=0.4, detractors=0.2, p=0.5, conf=0.95, power=0.8, fpc="cochran",
                  low_base=None):
    """Design a brand tracker's sample: bases per brand, allocated across regions (or other strata).

    Stage 1 fixes a base per brand: ``n_ours`` for our brand and ``n_competitor`` for each
    benchmarked competitor, or, with ``target_moe``, the smallest base whose NPS margin of
    error (stratified, with the FPC) is within ``target_moe`` points.  Stage 2 allocates each
    brand's base across its strata (the other ``strata`` columns, e.g. region) in proportion to
    brand users (``method="penetration"``: category users x penetration from the penetration
    table), to frame units (``"proportional"``), or equally (``"equal"``), within ``min_n`` and
    ``max_n`` (:func:`allocate`).  Brands outside ``ours`` and ``competitors`` (e.g. "other")
    are out of scope.

    Parameters
    ----------
    frame : DataFrame
        Sampling frame, one row per unit, with the ``strata`` columns.
    strata : list of str
        Stratum columns; the first is the brand column, e.g. ``["brand", "region"]``.
    ours : str
        Our brand's code.
    competitors : list of str
        Benchmarked competitors' codes.
    n_ours, n_competitor : int, optional
        Interviews per wave for our brand and for each competitor (unless ``target_moe``).
    target_moe : float, optional
        NPS margin of error (points) that every brand must reach; sets the bases instead.
    penetration : DataFrame, optional
        Penetration table with the stratum columns, ``category_users`` and ``penetration``
        (share of category users using the brand); needed for ``method="penetration"``.
    method : {"penetration", "proportional", "equal"}
    min_n, max_n : float, optional
        Minimum and maximum interviews per stratum (``max_n`` None = no maximum).
    promoters, detractors : float
        Expected NPS shares (design assumptions).
    p : float
        Expected proportion for proportion metrics (0.5 is the most conservative).
    conf, power : float
        Confidence level and power for the wave-on-wave minimum detectable changes.
    fpc : {"cochran", "simple"}
    low_base : LowBaseRule, optional
        For the ``base_status`` columns and the low-base warnings.

    Returns
    -------
    SampleDesign
        ``allocation``: :func:`allocate`'s columns per stratum plus ``frame_units``;
        ``brands``: per brand ``role`` ("ours"/"competitor"), ``population``,
        ``population_share``, ``frame_units``, ``strata``, ``n``, ``share``,
        ``min_stratum_n``, ``deff`` (Kish, within the brand), ``n_eff``, ``moe`` (proportion at
        ``p``), ``moe_nps`` (points), ``mdc``/``mdc_nps`` (change between two waves of this
        design detectable with ``power``), ``mdc_nps_vs_ours`` (NPS gap to our brand detectable
        in one wave), ``base_status``; ``total``: :func:`allocation_summary` of the whole
        sample plus ``mdc``, ``mdc_nps`` and ``frame_units``.

    Warns
    -----
    LowBaseWarning
        A stratum's base is below the low-base caution threshold.
    WorkbenchWarning
        The frame has fewer units in a stratum than its base plus a 20% reserve.

    Examples
    --------
    >>> from workbench.synth import demo_dir
    >>> inp = read_inputs(demo_dir(), "demo")
    >>> d = design_sample(inp.frame, ["brand", "region"], ours="aurora",
    ...                   competitors=["beacon", "cirrus", "delta"], n_ours=1000, n_competitor=500,
    ...                   penetration=inp.penetration, min_n=60)
    >>> d.brands["n"].tolist(), round(d.total["deff"], 2)
    ([1000, 500, 500, 500], 1.05)
    """
    from workbench.errors import LowBaseWarning

    keys = _as_list(strata, "strata")
    if not keys:
        raise ParamsError("`strata` must name the brand column first, e.g. ['brand', 'region']")
    if len(set(keys)) != len(keys):
        raise ParamsError(f"`strata` repeats a column: {keys}")
    _s.check_choice("method", method, DESIGN_METHODS)
    if not isinstance(ours, str) or not ours:
        raise ParamsError(f"`ours` must be our brand's code, got {ours!r}")
    comps = _as_list(competitors, "competitors")
    groups = [ours] + comps
    if len(set(groups)) != len(groups):
        raise ParamsError(f"our brand and the competitors must be distinct, got {groups}")
    if target_moe is not None:
        t = _s.as_float_array("target_moe", target_moe)
        _s.check_range("target_moe", t, 0, 200, lo_open=True, hi_open=True)
        target_moe = float(t)
    else:
        if n_ours is None or (comps and n_competitor is None):
            raise ParamsError("give `n_ours` and `n_competitor` (interviews per wave), or `target_moe`")
        n_ours = _check_total(n_ours)
        n_competitor = _check_total(n_competitor) if comps else None
    settings = {
        "method": method, "min_n": min_n, "max_n": max_n, "target_moe": target_moe,
        "n_ours": n_ours, "n_competitor": n_competitor, "promoters": float(promoters),
        "detractors": float(detractors), "p": float(p), "conf": float(conf),
        "power": float(power), "fpc": fpc, "low_base": low_base,
    }
    nps_variance(promoters, detractors)  # checks the shares
    _check_p("p", p)
    _check_power(power)
    _s.z_value(conf)

    table = _strata_table(frame, keys, groups, penetration, method)
    if target_moe is not None:
        totals = _bases_for_target(table, groups, keys, settings, target_moe)
    else:
        totals = {ours: n_ours, **{c: n_competitor for c in comps}}
    al, br, total = _two_stage(table, totals, keys, settings)

    rule = low_base or DEFAULT_RULE
    labels = [" / ".join(map(str, row)) for row in al[keys].astype(object).to_numpy()]
    low = np.flatnonzero(rule.status(al["n"].to_numpy(dtype=float)) != "ok")
    if low.size:
        more = f" and {low.size - 8} more" if low.size > 8 else ""
        warnings.warn(
            f"{low.size} of the {len(al)} strata get fewer than {rule.caution:g} interviews: "
            + ", ".join(f"{labels[i]} ({int(al['n'].iloc[i])})" for i in low[:8]) + more
            + ". Report these strata as directional only, or raise the minimum base.",
            LowBaseWarning, stacklevel=2)
    short = np.flatnonzero(al["frame_units"].to_numpy() < np.ceil(1.2 * al["n"].to_numpy() - 1e-9))
    if short.size:
        warnings.warn(
            "The sampling frame has fewer units than the base plus a 20% reserve in "
            + ", ".join(f"{labels[i]} ({int(al['frame_units'].iloc[i])} units for "
                        f"{int(al['n'].iloc[i])} interviews)" for i in short[:8])
            + "; the reserve there will be short.",
            WorkbenchWarning, stacklevel=2)
    return SampleDesign(al, br, total, tuple(keys), ours, tuple(comps), settings,
                        int(len(frame)), int(total["frame_units"]))


def boost_options(design, min_n_values):
    """What boosting the small brands costs the total: the design re-run at several minimum bases.

    For each minimum ``m`` the design's total sample is spread over the brands in proportion to
    their population with at least ``m`` per brand (``m = 0``: proportional, no boost), then
    each brand's base across its strata exactly as in the design; the design itself is the last
    row.  Precision of the total is the weighted (population) estimate over all brands.

    Parameters
    ----------
    design : SampleDesign
    min_n_values : list of int
        Minimum bases per brand, e.g. ``[0, 300, 500, 625]``.  Values above the total divided
        by the number of brands cannot be met; they are left out with a ``WorkbenchWarning``.

    Returns
    -------
    DataFrame
        One row per option: ``option`` ("proportional", "boost" or "design"), ``min_n`` (for
        the design: its smallest brand base), ``n`` (total), ``n_ours``, ``n_competitor_min``
        (smallest competitor base), ``deff``, ``n_eff``, ``moe_nps`` (total), ``moe_nps_ours``,
        ``moe_nps_competitor_max`` (the widest competitor margin), ``mdc_nps`` (total, wave on
        wave), ``design`` (True on the last row).

    Examples
    --------
    >>> from workbench.synth import demo_dir
    >>> inp = read_inputs(demo_dir(), "demo")
    >>> d = design_sample(inp.frame, ["brand", "region"], ours="aurora",
    ...                   competitors=["beacon", "cirrus", "delta"], n_ours=1000, n_competitor=500,
    ...                   penetration=inp.penetration, min_n=60)
    >>> boost_options(d, [0, 500])["n_competitor_min"].tolist()
    [397, 500, 500]
    """
    if not isinstance(design, SampleDesign):
        raise ParamsError(f"`design` must be a SampleDesign (from design_sample), got {type(design).__name__}")
    values = [float(v) for v in np.atleast_1d(np.asarray(min_n_values, dtype=float))]
    if not values:
        raise ParamsError("`min_n_values` is empty; give at least one minimum base per brand")
    keys = list(design.strata)
    brand = keys[0]
    al0 = design.allocation
    table = al0[keys + ["population", "frame_units"]].reset_index(drop=True)
    bt = table.groupby(brand, observed=True, sort=False)["population"].sum().reset_index()
    n_total = int(design.total["n"])

    def row(option, m, br, total, is_design):
        comp = br[br["role"] == "competitor"]
        return {
            "option": option, "min_n": m, "n": int(br["n"].sum()),
            "n_ours": int(br["n"].iloc[0]),
            "n_competitor_min": int(comp["n"].min()) if len(comp) else np.nan,
            "deff": total["deff"], "n_eff": total["n_eff"], "moe_nps": total["moe_nps"],
            "moe_nps_ours": float(br["moe_nps"].iloc[0]),
            "moe_nps_competitor_max": float(comp["moe_nps"].max()) if len(comp) else np.nan,
            "mdc_nps": total["mdc_nps"], "design": is_design,
        }

    k = len(bt)
    over = [m for m in values if m * k > n_total]
    if over:
        warnings.warn(
            f"The boost comparison leaves out minimum bases of {', '.join(f'{m:g}' for m in over)} "
            f"per brand: {n_total:,} interviews allow at most {n_total // k:,} for each of {k} "
            "brands.", WorkbenchWarning, stacklevel=2)
        values = [m for m in values if m * k <= n_total]
    rows = []
    for m in values:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WorkbenchWarning)
                ba = allocate(bt, n_total, method="proportional", by=brand, min_n=m)
        except ParamsError as exc:
            raise ParamsError(f"min_n={m:g}: {exc}") from None
        totals = dict(zip(ba[brand].astype(object), ba["n"]))
        _, br, total = _two_stage(table, totals, keys, design.settings, quiet=True)
        rows.append(row("proportional" if m == 0 else "boost", m, br, total, False))
    rows.append(row("design", float(design.brands["n"].min()), design.brands, design.total, True))
    return pd.DataFrame(rows)


def label_quota_sheet(sheet, codebook, lang="en"):
    """The quota sheet with readable ``table`` and ``cell`` labels from the codebook.

    Variable columns keep their codes (for the fieldwork agency's systems); ``table`` becomes
    e.g. "Main brand used × Region" and ``cell`` e.g. "Aurora / North" (in ``lang``).

    Examples
    --------
    >>> frame = pd.DataFrame({"brand": ["aurora", "beacon"] * 50, "gender": ["f", "m"] * 50})
    >>> q = label_quota_sheet(quota_sheet(frame, 10, interlock="brand", marginal=["gender"]), "demo")
    >>> q["cell"].tolist()
    ['Aurora', 'Beacon', 'Female', 'Male']
    """
    from workbench.codebook import load_codebook

    cb = load_codebook(codebook)
    out = sheet.copy()
    tables = out["table"].astype(str)

    def var_label(col):
        return cb.label(col, lang) if col in cb else col

    def lev(col, v):
        return cb.level_label(col, v, lang) if col in cb else str(v)

    names, cells = [], []
    for i, tname in enumerate(tables):
        cols = tname.split(" x ")
        names.append(" × ".join(var_label(c) for c in cols))
        cells.append(" / ".join(lev(c, out[c].iloc[i]) for c in cols if c in out.columns))
    out["table"] = names
    out["cell"] = cells
    return out


def quota_grid(sheet, value="target"):
    """The interlocked quotas as a grid: first variable(s) down, the last one across, with totals.

    Parameters
    ----------
    sheet : DataFrame
        A :func:`quota_sheet` (labelled or not); its first table is the interlocked one.
    value : {"target", "min", "max", "population"}

    Returns
    -------
    DataFrame
        One row per level of the row variable(s), one column per level of the column variable
        (codes), and ``total``; a last row ``total`` (row variable set to "total").
    """
    first = sheet["table"].iloc[0]
    part = sheet[sheet["table"] == first]
    cols = [c for c in sheet.columns[1:sheet.columns.get_loc("cell")] if part[c].notna().all()]
    if len(cols) < 2:
        grid = part[cols + [value]].rename(columns={value: "total"}).reset_index(drop=True)
    else:
        grid = part.pivot_table(index=cols[:-1], columns=cols[-1], values=value, aggfunc="sum",
                                observed=True, sort=False)
        grid.columns = [str(c) for c in grid.columns]
        grid["total"] = grid.sum(axis=1)
        grid = grid.reset_index()
    for c in cols[:-1] if len(cols) >= 2 else cols:
        grid[c] = grid[c].astype(object)
    tot = {c: "total" for c in (cols[:-1] if len(cols) >= 2 else cols)}
    tot.update({c: grid[c].sum() for c in grid.columns if c not in tot})
    return pd.concat([grid, pd.DataFrame([tot])], ignore_index=True)


def quota_marginal_summary(sheet, by):
    """Marginal quota targets summed to the level of one interlock variable (e.g. per brand).

    Returns
    -------
    DataFrame
        ``table, cell`` and one column per level of ``by`` (codes) with the summed targets, then
        ``total``; one row per marginal cell, in sheet order.
    """
    first = sheet["table"].iloc[0]
    part = sheet[sheet["table"] != first]
    if by not in sheet.columns:
        raise ParamsError(f"`by`={by!r} is not a column of the quota sheet")
    if part.empty:
        return pd.DataFrame(columns=["table", "cell", "total"])
    grid = part.pivot_table(index=["table", "cell"], columns=by, values="target", aggfunc="sum",
                            observed=True, sort=False)
    grid.columns = [str(c) for c in grid.columns]
    grid["total"] = grid.sum(axis=1)
    return grid.reset_index()


def draw_summary(drawn, strata):
    """Per stratum of a :func:`stratified_draw`: frame units, main and reserve sample, weight.

    Returns
    -------
    DataFrame
        The stratum columns, ``frame_units``, ``main``, ``reserve``, ``design_weight``.
    """
    keys = _as_list(strata, "strata")
    need = [c for c in keys + ["selected", "reserve", "design_weight"] if c not in drawn.columns]
    if need:
        raise ParamsError(f"`drawn` must come from stratified_draw(); missing column(s) {need}")
    g = drawn.groupby(keys, observed=True, sort=False)
    out = g.agg(main=("selected", "sum"), reserve=("reserve", "sum"),
                design_weight=("design_weight", "first")).reset_index()
    out.insert(len(keys), "frame_units", np.rint(out["design_weight"] * out["main"]).astype(np.int64))
    out["main"] = out["main"].astype(np.int64)
    out["reserve"] = out["reserve"].astype(np.int64)
    return out


def write_draw(drawn, path, *, codebook=None, pii=None, lang="en", readable=True):
    """Write a drawn sample for fieldwork with personal data masked (atomic write).

    Columns are ordered: the release information first, then the frame's columns.  Personal-data
    columns (``pii: true`` in the codebook, or listed in ``pii``) are replaced by ``***``
    (:func:`workbench.io.mask_pii`).

    With ``readable`` (the default) the file is for people: headers in ``lang`` (the frame's
    columns by their codebook label), one ``Sample`` column saying "Main" or "Reserve" instead
    of two true/false flags, the release order, and the design weight rounded to two decimals;
    coded columns with codebook levels show the levels' labels; a CSV starts with a byte-order
    mark so spreadsheet programs read Chinese.  Other values (unit ids) are written as they are.  ``readable=False`` writes the machine
    layout of :func:`stratified_draw` (``selected``, ``reserve``, ``order``, ``design_weight``).

    Parameters
    ----------
    drawn : DataFrame
        Output of :func:`stratified_draw`.
    path : str or Path
        ``.csv``, ``.parquet`` or ``.xlsx``.
    codebook : Codebook, str or Path, optional
    pii : list of str, optional
        Further columns to mask.
    lang : str
        Language of the headers and words (``en`` or ``zh``).

    Returns
    -------
    Path
    """
    from workbench.io import MASK_TOKEN, atomic_write_frame, mask_pii

    out = mask_pii(drawn, codebook) if codebook is not None else drawn.copy()
    for col in pii or []:
        if col not in out.columns:
            raise ParamsError(f"`pii` names column {col!r}, which is not in the drawn sample")
        out[col] = pd.Series(MASK_TOKEN, index=out.index, dtype="str").where(out[col].notna())
    first = [c for c in ("selected", "reserve", "order", "design_weight") if c in out.columns]
    out = out[first + [c for c in out.columns if c not in first]]
    if not readable:
        return atomic_write_frame(out, path)
    out = _readable_draw(out, codebook, lang)
    csv = Path(path).suffix.lower() == ".csv"  # for people: with the byte-order mark spreadsheets need
    return atomic_write_frame(out, path, **({"encoding": "utf-8-sig"} if csv else {}))


def _readable_draw(out, codebook, lang):
    """The drawn sample with headers and release words in ``lang`` (see :func:`write_draw`)."""
    from workbench.i18n import t

    cb = None
    if codebook is not None:
        from workbench.codebook import load_codebook

        cb = load_codebook(codebook)
    out = out.copy()
    release = []
    if "selected" in out.columns:
        main = out["selected"].astype(bool)
        res = out["reserve"].astype(bool) if "reserve" in out.columns else pd.Series(False, index=out.index)
        out["sample"] = np.where(main, t("sampling.draw.main", lang),
                                 np.where(res, t("sampling.draw.reserve", lang), ""))
        out = out.drop(columns=[c for c in ("selected", "reserve") if c in out.columns])
        release.append("sample")
    elif "reserve" in out.columns:
        out["sample"] = np.where(out["reserve"].astype(bool), t("sampling.draw.reserve", lang), "")
        out = out.drop(columns="reserve")
        release.append("sample")
    if "order" in out.columns:
        release.append("order")
    if "design_weight" in out.columns:
        out["design_weight"] = pd.to_numeric(out["design_weight"], errors="coerce").round(2)
        release.append("design_weight")
    out = out[release + [c for c in out.columns if c not in release]]
    heads = {c: t(f"sampling.draw.{c}", lang) for c in release}
    for c in out.columns:
        if c not in heads and cb is not None and c in cb:
            heads[c] = cb.label(c, lang)
            levels = cb.question(c).levels
            if levels and out[c].notna().any():  # a coded column: its levels in words
                words = {v: cb.level_label(c, v, lang) for v in pd.unique(out[c].dropna())}
                out[c] = out[c].astype(object).map(lambda v: words.get(v, v))
    # two columns with one label would be one header twice: keep the column name on the second
    seen, final = set(), {}
    for c in out.columns:
        h = heads.get(c, str(c))
        final[c] = h if h not in seen else str(c)
        seen.add(final[c])
    return out.rename(columns=final)
