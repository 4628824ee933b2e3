"""CX metrics with design-based standard errors: NPS, top box / bottom box, mean scores.

Every estimate is a (weighted) ratio mean over the respondents of a group who answered the
question.  Standard errors are linearised (Taylor) for a with-replacement, single-stage design
without strata -- exactly R's ``survey::svymean`` on ``svydesign(ids = ~1, weights = ~w)`` -- and
groups are *domains* of the whole design, as in ``survey::svyby``: the variance of a group's
estimate sums the group's influence values over the full sample and uses the divisor ``N - 1`` of
the full sample size ``N`` (every row of ``data``, whatever its group, missing score or weight).
Confidence intervals are Wald intervals with the normal quantile (R ``confint`` on a ``svystat``,
``df = Inf``).  Formulas and references: ``docs/methods/metrics.md``.

Build or borrow
---------------
The estimators are written here in vectorised numpy (integer group codes and
:func:`numpy.bincount`) rather than taken from a survey package: ``svy`` was about 40 times
slower on tracking-sized data, and the numbers are checked against R's ``survey`` package in
``tests/test_metrics.py`` (reference values in ``tests/results/``).  Multiple-testing adjustment
is borrowed from :func:`statsmodels.stats.multitest.multipletests`.

Result columns
--------------
``n``         respondents in the group with a (non-missing) score and a positive weight
``n_eff``     Kish effective base ``(sum w)^2 / sum w^2`` over those respondents
``se``        standard error, in the unit of the estimate (NPS points, share, scale points)
``ci_low``    lower end of the ``conf`` Wald interval (not clipped to the scale)
``ci_high``   upper end
``base_flag`` ``"ok"``, ``"caution"`` or ``"no_test"`` from the low-base rule applied to ``n_eff``

No column is rounded; rounding is for display (``workbench.tables``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from workbench import _survey as sv
from workbench.errors import DataError, ParamsError

__all__ = [
    "nps",
    "top_box",
    "bottom_box",
    "mean_score",
    "compare",
    "diff_test",
    "adjust_p",
]

_COMMON_DOC = {
    "data": """data : pandas.DataFrame
        One row per respondent.  Not changed.""",
    "score": """score : str
        Column with the answers (numeric; NaN = not answered).  Respondents without an answer
        are left out of the estimate but stay in the design (domain estimation).""",
    "weight": """weight : str, array-like or None, default None
        Weight column (or one weight per row, e.g. the Series returned by
        :func:`workbench.weighting.rake`).  ``None`` = unweighted.  Weights must be finite and
        non-negative; respondents with weight 0 count in the design but not in ``n``.""",
    "by": """by : str, list of str or None, default None
        Column(s) to group by.  The result has one row per observed group, ``by`` columns first,
        in sorted order (category order for categoricals).  Rows with a missing ``by`` value
        belong to no group but stay in the design.""",
    "conf": """conf : float, default 0.95
        Confidence level of ``ci_low, ci_high`` (normal quantile, as R's ``confint``).""",
    "rule": """rule : workbench.lowbase.LowBaseRule or None, default None
        Low-base rule for ``base_flag``; ``None`` = ``workbench.lowbase.DEFAULT_RULE``.""",
}


def _doc(func):
    func.__doc__ = func.__doc__.format(**_COMMON_DOC)
    return func


_STAT_COLS = ("n", "n_eff", "se", "ci_low", "ci_high", "base_flag")


# --------------------------------------------------------------------------- building blocks
def _scores(data, score):
    y, lo, hi = sv.numeric_column(data, score, "score")
    if len(y) == 0:
        raise DataError(f"score column {score!r}: the data have no rows.")
    if np.isnan(lo):
        raise DataError(
            f"score column {score!r} has no answers (every value is missing); "
            "check the column name and the missing-value codes."
        )
    return y, lo, hi


def _out_of_range(data, score, y, lo, hi, low, high, what):
    bad = (y < low) | (y > high)
    raise DataError(
        f"score column {score!r} must hold {what} between {low:g} and {high:g}, but has values "
        f"{sv.show_values(np.unique(y[bad]))} (rows {sv.show_rows(data.index, bad)}); "
        "recode missing-value codes (e.g. 99 = don't know) to NaN first."
    )


def _check_integer(data, score, y, what):
    bad = np.floor(y) < y  # NaN compares False
    if bad.any():
        raise DataError(
            f"score column {score!r} must hold whole-number {what}, but has values "
            f"{sv.show_values(np.unique(y[bad]))} (rows {sv.show_rows(data.index, bad)})."
        )


def _nps_moments(data, score, weights, groups):
    y, lo, hi = _scores(data, score)
    if lo < 0 or hi > 10:
        _out_of_range(data, score, y, lo, hi, 0, 10, "0-10 likelihood-to-recommend answers")
    fractional = []

    def categorize(b):
        # 0 = detractor (0-6), 1 = passive (7-8), 2 = promoter (9-10), 3 = missing
        if (np.floor(b) < b).any():  # NaN compares False
            fractional.append(True)
        cat = (b >= 7).view(np.int8) + (b >= 9).view(np.int8)
        cat += (b != b).view(np.int8) * np.int8(3)
        return cat

    m = sv.categorical_moments(y, categorize, (-100.0, 0.0, 100.0), groups, weights)
    if fractional:
        _check_integer(data, score, y, "0-10 answers")
    return m


def _top_moments(data, score, weights, groups, *, top=2, scale_max=None):
    return _box_moments(data, score, weights, groups, "top", top, scale_max)


def _bottom_moments(data, score, weights, groups, *, bottom=2, scale_min=None):
    return _box_moments(data, score, weights, groups, "bottom", bottom, scale_min)


def _box_moments(data, score, weights, groups, side, k, bound):
    """Share in the top (``side="top"``) or bottom ``k`` answer codes; ``bound`` = scale end."""
    y, lo, hi = _scores(data, score)
    if side == "top":
        _check_box_args("top", k, "scale_max", bound)
        if hi > bound:
            _out_of_range(data, score, y, lo, hi, -np.inf, bound, "answers on the scale")
        cut = bound - k + 1

        def categorize(b):
            return (b >= cut).view(np.int8) + (b != b).view(np.int8) * np.int8(2)
    else:
        _check_box_args("bottom", k, "scale_min", bound)
        if lo < bound:
            _out_of_range(data, score, y, lo, hi, bound, np.inf, "answers on the scale")
        cut = bound + k - 1

        def categorize(b):
            return (b <= cut).view(np.int8) + (b != b).view(np.int8) * np.int8(2)

    return sv.categorical_moments(y, categorize, (0.0, 1.0), groups, weights)


def _check_box_args(kname, k, sname, s):
    number = isinstance(s, (int, float, np.integer, np.floating)) and not isinstance(s, bool)
    if not number or not np.isfinite(s):
        raise ParamsError(f"`{sname}` must be the scale's {'highest' if kname == 'top' else 'lowest'} "
                          f"answer code (a number), but {s!r} was passed.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParamsError(f"`{kname}` must be a whole number of answer codes >= 1, but {k!r} was passed.")


def _mean_moments(data, score, weights, groups):
    y, _, _ = _scores(data, score)
    return sv.continuous_moments(y, groups, weights)


_METRICS = {
    "nps": (_nps_moments, ()),
    "top_box": (_top_moments, ("top", "scale_max")),
    "bottom_box": (_bottom_moments, ("bottom", "scale_min")),
    "mean_score": (_mean_moments, ()),
}


def _prepare(data, weight, by, reserved, conf=0.95, rule=None):
    """Check the call before any heavy work; return weights and groups."""
    sv.check_frame(data)
    sv.conf_quantile(conf)
    sv.get_rule(rule)
    weights = sv.weight_array(data, weight)
    groups = sv.group_codes(data, by, reserved=reserved)
    return weights, groups


def _table(m, groups, design_n, conf, rule, value_cols):
    """Assemble the result for the present groups."""
    z = sv.conf_quantile(conf)
    rule = sv.get_rule(rule)
    keep = np.flatnonzero(m.present)
    se = np.sqrt(m.var(design_n))[keep]
    est = m.est[keep]
    n_eff = m.n_eff()[keep]
    out = groups.key_columns(keep)
    out["n"] = m.n[keep]
    out["n_eff"] = n_eff
    for name, values in value_cols(m, keep):
        out[name] = values
    out["se"] = se
    out["ci_low"] = est - z * se
    out["ci_high"] = est + z * se
    out["base_flag"] = rule.status(n_eff)
    frame = pd.DataFrame(out)
    frame.index = pd.RangeIndex(len(keep))
    return frame


# --------------------------------------------------------------------------- public metrics
@_doc
def nps(data, score, *, weight=None, by=None, conf=0.95, rule=None):
    """Net Promoter Score with its design-based standard error.

    Promoters answer 9-10, passives 7-8, detractors 0-6 on the 0-10 likelihood-to-recommend
    question; ``nps = 100 * (P - D)`` with ``P, D`` the weighted shares of promoters and
    detractors.  Its SE linearises the difference of the two ratio means: the influence value of
    respondent ``i`` in the group is ``w_i (y_i - nps) / sum w`` with ``y_i = 100`` for a
    promoter, ``0`` for a passive, ``-100`` for a detractor (as R's
    ``svycontrast(svymean(~prom + det, d), c(100, -100))``).

    Parameters
    ----------
    {data}
    {score}
        Must hold whole numbers 0-10.
    {weight}
    {by}
    {conf}
    {rule}

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, then ``n, n_eff, promoters, passives, detractors`` (shares 0-1),
        ``nps`` (points, -100..100), ``se`` (points), ``ci_low, ci_high``, ``base_flag``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import metrics
    >>> df = pd.DataFrame({{"ltr": [10, 9, 8, 6, 3, 10, 7, None],
    ...                    "wave": [1, 1, 1, 1, 2, 2, 2, 2]}})
    >>> res = metrics.nps(df, "ltr", by="wave")
    >>> res[["wave", "n", "nps"]]
       wave  n   nps
    0     1  4  25.0
    1     2  3   0.0
    """
    reserved = _STAT_COLS + ("promoters", "passives", "detractors", "nps")
    weights, groups = _prepare(data, weight, by, reserved=reserved, conf=conf, rule=rule)
    m = _nps_moments(data, score, weights, groups)

    def cols(m, keep):
        yield "promoters", m.shares[keep, 2]
        yield "passives", m.shares[keep, 1]
        yield "detractors", m.shares[keep, 0]
        yield "nps", m.est[keep]

    return _table(m, groups, len(data), conf, rule, cols)


@_doc
def top_box(data, score, *, top=2, scale_max, weight=None, by=None, conf=0.95, rule=None):
    """Share of respondents in the top ``top`` answer codes of the scale (e.g. top-2-box CSAT).

    The share is the weighted mean of the indicator ``score >= scale_max - top + 1``; its SE is
    that of R's ``svymean`` of the indicator.

    Parameters
    ----------
    {data}
    {score}
        Values above ``scale_max`` are an error (recode "don't know" codes to NaN first).
    top : int, default 2
        Number of answer codes counted as "top box".
    scale_max : float
        Highest answer code of the scale (e.g. 5 for a 1-5 scale).
    {weight}
    {by}
    {conf}
    {rule}

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, then ``n, n_eff, share, se, ci_low, ci_high``, ``base_flag``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import metrics
    >>> df = pd.DataFrame({{"csat": [5, 4, 3, 2, 5, 1]}})
    >>> float(metrics.top_box(df, "csat", scale_max=5)["share"].iloc[0])
    0.5
    """
    weights, groups = _prepare(data, weight, by, reserved=_STAT_COLS + ("share",), conf=conf, rule=rule)
    m = _top_moments(data, score, weights, groups, top=top, scale_max=scale_max)
    return _table(m, groups, len(data), conf, rule, lambda m, keep: [("share", m.est[keep])])


@_doc
def bottom_box(data, score, *, bottom=2, scale_min, weight=None, by=None, conf=0.95, rule=None):
    """Share of respondents in the bottom ``bottom`` answer codes (``score <= scale_min + bottom - 1``).

    Parameters
    ----------
    {data}
    {score}
        Values below ``scale_min`` are an error.
    bottom : int, default 2
        Number of answer codes counted as "bottom box".
    scale_min : float
        Lowest answer code of the scale (e.g. 1 for a 1-5 scale, 0 for 0-10).
    {weight}
    {by}
    {conf}
    {rule}

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, then ``n, n_eff, share, se, ci_low, ci_high``, ``base_flag``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import metrics
    >>> df = pd.DataFrame({{"csat": [5, 4, 3, 2, 5, 1]}})
    >>> float(metrics.bottom_box(df, "csat", scale_min=1)["share"].iloc[0])
    0.3333333333333333
    """
    weights, groups = _prepare(data, weight, by, reserved=_STAT_COLS + ("share",), conf=conf, rule=rule)
    m = _bottom_moments(data, score, weights, groups, bottom=bottom, scale_min=scale_min)
    return _table(m, groups, len(data), conf, rule, lambda m, keep: [("share", m.est[keep])])


@_doc
def mean_score(data, score, *, weight=None, by=None, conf=0.95, rule=None):
    """Weighted mean score (CSAT, CES, any rating) with its design-based standard error.

    Parameters
    ----------
    {data}
    {score}
    {weight}
    {by}
    {conf}
    {rule}

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, then ``n, n_eff, mean, se, ci_low, ci_high``, ``base_flag``.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import metrics
    >>> df = pd.DataFrame({{"ces": [1, 2, 3, 4], "w": [1, 1, 1, 3]}})
    >>> float(metrics.mean_score(df, "ces", weight="w")["mean"].iloc[0])
    3.0
    """
    weights, groups = _prepare(data, weight, by, reserved=_STAT_COLS + ("mean",), conf=conf, rule=rule)
    m = _mean_moments(data, score, weights, groups)
    return _table(m, groups, len(data), conf, rule, lambda m, keep: [("mean", m.est[keep])])


# --------------------------------------------------------------------------- comparisons
def diff_test(est1, se1, est2, se2, *, n_eff1=None, n_eff2=None, paired=False, cov=0.0,
              conf=0.95, rule=None):
    """z test of the difference ``est1 - est2`` of two estimates from their standard errors.

    Vectorised: every argument may be a scalar, array or Series (broadcast together).  For
    independent samples (two waves, a brand's and a competitor's customers) or disjoint domains
    of one with-replacement design (a segment and the rest of the sample) the covariance is 0.
    Estimates from the same respondents (paired) need their covariance ``cov``.

    Parameters
    ----------
    est1, se1, est2, se2 : float or array-like
        Estimates and their standard errors.
    n_eff1, n_eff2 : float or array-like, optional
        Effective bases.  Where either is below ``rule.min_test`` no test is made (``z`` and
        ``p_val`` are NaN; ``base_flag`` is ``"no_test"``).  Not given: every pair is tested.
    paired : bool, default False
        True when both estimates come from the same respondents; then ``cov`` is required.
    cov : float or array-like, default 0
        Covariance of the two estimates (only with ``paired=True``).
    conf : float, default 0.95
        Confidence level of the interval of the difference.
    rule : LowBaseRule or None
        Low-base rule; ``None`` = the default rule.

    Returns
    -------
    pandas.DataFrame
        ``diff, se, z, p_val, ci_low, ci_high, base_flag`` -- ``se = sqrt(se1^2 + se2^2 - 2 cov)``,
        two-sided normal ``p_val``, Wald interval.  The index is that of the first Series argument,
        if any.

    Examples
    --------
    >>> from workbench import metrics
    >>> res = metrics.diff_test(32.0, 3.0, 24.0, 4.0)
    >>> float(res["se"].iloc[0]), round(float(res["z"].iloc[0]), 2)
    (5.0, 1.6)
    """
    rule = sv.get_rule(rule)
    z_crit = sv.conf_quantile(conf)
    args = (est1, se1, est2, se2, n_eff1, n_eff2, cov)
    index = next((a.index for a in args if isinstance(a, pd.Series)), None)
    if paired and (cov is None or (np.ndim(cov) == 0 and cov == 0)):
        raise ParamsError(
            "paired=True: estimates from the same respondents need their covariance `cov` "
            "(e.g. from the influence values of both estimates); for independent samples use paired=False."
        )
    if not paired and np.any(np.asarray(cov, dtype=float) != 0):
        raise ParamsError("`cov` is only used with paired=True; independent samples have covariance 0.")
    args = [np.asarray(a, dtype=np.float64) for a in (est1, se1, est2, se2, cov)]
    est1_, se1_, est2_, se2_, cov_ = np.broadcast_arrays(*args)
    if np.any(se1_ < 0) or np.any(se2_ < 0):
        raise DataError("standard errors must be non-negative.")
    var = se1_**2 + se2_**2 - 2.0 * cov_
    if np.any(var < 0):
        raise DataError("se1^2 + se2^2 - 2 cov is negative: the covariance does not fit the standard errors.")
    diff = est1_ - est2_
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / se
    p = 2.0 * stats.norm.sf(np.abs(z))
    shape = diff.shape
    if n_eff1 is None and n_eff2 is None:
        flag = np.full(shape, "ok", dtype=object)
    else:
        ne1 = np.broadcast_to(np.asarray(np.inf if n_eff1 is None else n_eff1, dtype=float), shape)
        ne2 = np.broadcast_to(np.asarray(np.inf if n_eff2 is None else n_eff2, dtype=float), shape)
        low = np.minimum(np.nan_to_num(ne1, nan=0.0), np.nan_to_num(ne2, nan=0.0))
        flag = np.asarray(rule.status(low), dtype=object).reshape(shape)
        untestable = ~rule.testable(low)
        z = np.where(untestable, np.nan, z)
        p = np.where(untestable, np.nan, p)
    out = pd.DataFrame(
        {
            "diff": np.atleast_1d(diff),
            "se": np.atleast_1d(se),
            "z": np.atleast_1d(z),
            "p_val": np.atleast_1d(p),
            "ci_low": np.atleast_1d(diff - z_crit * se),
            "ci_high": np.atleast_1d(diff + z_crit * se),
            "base_flag": np.atleast_1d(flag),
        }
    )
    if index is not None and len(index) == len(out):
        out.index = index
    return out


_REFERENCES = ("previous", "first", "rest")


def compare(data, score, *, metric, between, reference, weight=None, by=None, conf=0.95,
            rule=None, **options):
    """Significance of differences between groups: wave on wave, segment vs rest, vs a benchmark.

    The metric is estimated for every level of ``between`` (within each ``by`` group) as a
    domain of the whole design, and each level is compared with its reference by
    :func:`diff_test`.  Disjoint domains of a with-replacement design have covariance 0, so the
    SE of a difference is ``sqrt(se^2 + se_ref^2)`` -- R's ``svyby(..., covmat = TRUE)``
    followed by ``svycontrast``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent (all waves / segments in one frame).
    score : str
        Score column.
    metric : {"nps", "top_box", "bottom_box", "mean_score"}
        The metric to compare; ``top_box`` needs ``scale_max`` (and optionally ``top``),
        ``bottom_box`` needs ``scale_min`` (and optionally ``bottom``), passed as keywords.
    between : str
        Column whose levels are compared (e.g. ``"wave"``, ``"segment"``, ``"brand"``).
    reference : {"previous", "first", "rest"} or a level of ``between``
        ``"previous"``: each level against the level before it (levels in sorted order, e.g.
        wave on wave); ``"first"``: against the first level; ``"rest"``: each level against all
        other respondents of its ``by`` group with a known ``between``; a level value: every
        other level against that one (e.g. our brand against the benchmark competitor).
    weight, by, conf, rule
        As in :func:`nps`.
    **options
        ``top``, ``scale_max``, ``bottom``, ``scale_min`` for the box metrics.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``between`` (the level), ``reference`` (its reference level or
        ``"rest"``), then ``est, est_ref, diff, se, z, p_val, ci_low, ci_high, n, n_ref, n_eff,
        n_eff_ref, base_flag``.  A pair whose reference group is absent gets NaN statistics.
        No test (``z, p_val`` NaN, ``base_flag="no_test"``) where either effective base is
        below ``rule.min_test``.  Adjust ``p_val`` for multiplicity with :func:`adjust_p`.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench import metrics
    >>> df = pd.DataFrame({"csat": [5, 4, 3, 2, 5, 4, 4, 1], "wave": [1, 1, 1, 1, 2, 2, 2, 2]})
    >>> res = metrics.compare(df, "csat", metric="mean_score", between="wave", reference="previous")
    >>> res[["wave", "reference", "est", "est_ref", "diff"]]
       wave reference  est  est_ref  diff
    0     2         1  3.5      3.5   0.0
    """
    if metric not in _METRICS:
        raise ParamsError(f"`metric` must be one of {sv.show_values(_METRICS)}, but {metric!r} was passed.")
    fn, allowed = _METRICS[metric]
    extra = set(options) - set(allowed)
    if extra:
        raise ParamsError(
            f"metric {metric!r} does not take option(s) {sv.show_values(sorted(extra))}; "
            f"it takes {sv.show_values(allowed) if allowed else 'none'}."
        )
    if not isinstance(between, str):
        raise ParamsError(f"`between` must be one column name, but {between!r} was passed.")
    by_cols = sv.as_list(by)
    if between in by_cols:
        raise ParamsError(f"`between` column {between!r} is also a `by` column.")
    result_cols = ("reference", "est", "est_ref", "diff", "se", "z", "p_val", "ci_low", "ci_high",
                   "n", "n_ref", "n_eff", "n_eff_ref", "base_flag")
    weights, groups = _prepare(data, weight, by_cols + [between], reserved=result_cols, conf=conf, rule=rule)
    m = fn(data, score, weights, groups, **options)
    var = m.var(len(data))

    present = np.flatnonzero(m.present)
    keys = groups.keys(present)
    if by_cols:
        bcode = keys.groupby(by_cols, sort=False, observed=True, dropna=False).ngroup().to_numpy()
    else:
        bcode = np.zeros(len(present), dtype=np.int64)
    lev_codes, levels = pd.factorize(keys[between], sort=True)
    n_lev = len(levels)

    if isinstance(reference, str) and reference == "rest":
        members = (bcode[:, None] == bcode[None, :]) & (lev_codes[:, None] != lev_codes[None, :])
        sub = _subset(m, present)
        rest = sv.pool_moments(sub, members)
        rest_var = rest.var(len(data))
        rows = np.arange(len(present))
        ref_est, ref_var, ref_n, ref_neff = rest.est, rest_var, rest.n, rest.n_eff()
        ref_label = np.full(len(rows), "rest", dtype=object)
    else:
        if isinstance(reference, str) and reference == "previous":
            ref_lev = lev_codes - 1
        elif isinstance(reference, str) and reference == "first":
            ref_lev = np.zeros_like(lev_codes)
        else:
            hit = np.flatnonzero(levels == reference) if n_lev else []
            if len(hit) == 0:
                raise ParamsError(
                    f"`reference` must be 'previous', 'first', 'rest' or a level of {between!r} "
                    f"({sv.show_values(levels)}), but {reference!r} was passed."
                )
            ref_lev = np.full_like(lev_codes, hit[0])
        rows = np.flatnonzero((ref_lev >= 0) & (ref_lev != lev_codes))
        lookup = {(b, lv): i for i, (b, lv) in enumerate(zip(bcode.tolist(), lev_codes.tolist()))}
        ref_pos = np.array([lookup.get((bcode[i], ref_lev[i]), -1) for i in rows], dtype=np.int64)
        found = ref_pos >= 0
        g_ref = present[np.where(found, ref_pos, 0)]
        ref_est = np.where(found, m.est[g_ref], np.nan)
        ref_var = np.where(found, var[g_ref], np.nan)
        ref_n = np.where(found, m.n[g_ref], 0)
        ref_neff = np.where(found, m.n_eff()[g_ref], 0.0)
        ref_label = np.asarray(levels.take(ref_lev[rows]), dtype=object)

    g = present[rows]
    n_eff = m.n_eff()[g]
    test = diff_test(m.est[g], np.sqrt(var[g]), ref_est, np.sqrt(ref_var), n_eff1=n_eff,
                     n_eff2=ref_neff, conf=conf, rule=rule)
    out = keys.iloc[rows].reset_index(drop=True)
    out["reference"] = ref_label
    out["est"] = m.est[g]
    out["est_ref"] = ref_est
    for col in ("diff", "se", "z", "p_val", "ci_low", "ci_high"):
        out[col] = test[col].to_numpy()
    out["n"] = m.n[g]
    out["n_ref"] = np.asarray(ref_n, dtype=np.int64)
    out["n_eff"] = n_eff
    out["n_eff_ref"] = ref_neff
    out["base_flag"] = test["base_flag"].to_numpy()
    return out


def _subset(m, idx):
    return sv.Moments(n=m.n[idx], w=m.w[idx], w2=m.w2[idx], est=m.est[idx], a=m.a[idx], b=m.b[idx],
                      present=m.present[idx], shares=None if m.shares is None else m.shares[idx])


def adjust_p(p, method="fdr_bh"):
    """Adjust p-values for multiple testing (default Benjamini-Hochberg false discovery rate).

    NaN p-values (pairs not tested because of a low base) are left out of the family and stay
    NaN.  Uses :func:`statsmodels.stats.multitest.multipletests` (R: ``p.adjust``).

    Parameters
    ----------
    p : array-like or Series
        p-values in [0, 1] (NaN allowed).
    method : str, default "fdr_bh"
        Any method of ``multipletests``: ``"fdr_bh"``, ``"holm"``, ``"bonferroni"``, ``"fdr_by"`` ...

    Returns
    -------
    numpy.ndarray or pandas.Series
        Adjusted p-values, same shape (a Series keeps its index).

    Examples
    --------
    >>> from workbench import metrics
    >>> metrics.adjust_p([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    from statsmodels.stats.multitest import multipletests

    arr = np.asarray(p, dtype=np.float64)
    ok = ~np.isnan(arr)
    if np.any((arr[ok] < 0) | (arr[ok] > 1)):
        bad = arr[ok][(arr[ok] < 0) | (arr[ok] > 1)]
        raise DataError(f"p-values must lie in [0, 1]; found {sv.show_values(bad)}.")
    out = np.full(arr.shape, np.nan)
    if ok.any():
        try:
            out[ok] = multipletests(arr[ok], method=method)[1]
        except ValueError:
            raise ParamsError(
                f"`method` {method!r} is not a multipletests method; "
                "use e.g. 'fdr_bh', 'holm' or 'bonferroni'."
            ) from None
    if isinstance(p, pd.Series):
        return pd.Series(out, index=p.index, name=p.name)
    return out
