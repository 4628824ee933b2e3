"""Column-wise means, standard errors and t tests used by :mod:`workbench.gaps`.

Written here rather than taken from a library because every SERVQUAL table needs the same few
statistics for many columns at once (22 items, 5 dimensions, overall) with missing values
column by column, optional weights, and a design-based standard error that must agree with
R's ``survey`` package; scipy and pingouin cover the unweighted tests only, statsmodels'
``DescrStatsW`` treats weights as frequency weights.

Unweighted, the statistics are the classical ones (R ``t.test``): ``se = sd / sqrt(n)``,
``df = n - 1``.

Weighted, a column's mean is the ratio ``sum(w y) / sum(w)`` over the rows where it is observed
and its variance is the linearisation (Taylor series) estimator of a with-replacement design
with one stage and no strata, R ``survey::svydesign(ids = ~1, weights = ~w)``:

    z_i = w_i (y_i - mean) / sum(w)      (z_i = 0 where y_i is missing or outside the group)
    var = N / (N - 1) * sum(z_i^2)

where ``N`` is the number of rows of the whole design (every row of the data, as in
``svymean(..., na.rm = TRUE)`` and ``svyby``, which keep out-of-domain rows with zero
influence). The t reference uses ``df = n - 1`` with ``n`` the rows observed in the group with a
positive weight: the design degrees of freedom of the domain, ``degf(subset(design, ...))``,
which is also the residual df of ``svyglm(y ~ 1, design)``. (``svyttest`` reports the same
estimate, SE and t but ``degf - 1 = n - 2`` degrees of freedom; see docs/methods/gaps.md.)
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__: list[str] = []


def column_stats(x, w=None, n_design=None):
    """Mean, sd, se, df, n and Kish n_eff of every column of ``x`` (rows x columns, NaN = missing).

    Parameters
    ----------
    x : ndarray (n_rows, n_cols)
    w : ndarray (n_rows,) or None
        Weights; None = unweighted.
    n_design : int or None
        Rows of the whole design for the weighted variance (defaults to ``n_rows``).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    ok = ~np.isnan(x)
    n = ok.sum(axis=0).astype(float)
    x0 = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if w is None:
            mean = x0.sum(axis=0) / n
            dev = np.where(ok, x - mean, 0.0)
            ss = (dev**2).sum(axis=0)
            sd = np.sqrt(ss / (n - 1))
            se = sd / np.sqrt(n)
            n_eff = n.copy()
        else:
            w = np.asarray(w, dtype=float)
            ww = np.where(ok, w[:, None], 0.0)
            wsum = ww.sum(axis=0)
            mean = (ww * x0).sum(axis=0) / wsum
            dev = np.where(ok, x - mean, 0.0)
            z = ww * dev / wsum
            nd = float(x.shape[0] if n_design is None else n_design)
            se = np.sqrt(nd / (nd - 1.0) * (z**2).sum(axis=0))
            # weighted sd scaled so that equal weights give the sample sd
            sd = np.sqrt((ww * dev**2).sum(axis=0) / wsum * n / (n - 1))
            n_eff = wsum**2 / (ww**2).sum(axis=0)
            # rows with weight 0 stay in the design (N) but not in n, as in survey's degf()
            n = (ok & (w[:, None] > 0)).sum(axis=0).astype(float)
    df = n - 1.0
    small = n < 2
    sd = np.where(small, np.nan, sd)
    se = np.where(small, np.nan, se)
    df = np.where(small, np.nan, df)
    mean = np.where(n < 1, np.nan, mean)
    n_eff = np.where(n < 1, 0.0, n_eff)
    return {"mean": mean, "sd": sd, "se": se, "df": df, "n": n, "n_eff": n_eff}


def t_inference(est, se, df, conf):
    """t statistic, two-sided p value and confidence interval for estimates against zero."""
    est = np.asarray(est, dtype=float)
    se = np.asarray(se, dtype=float)
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (se > 0) & np.isfinite(se) & (df > 0)
        t = np.where(usable, est / np.where(usable, se, 1.0), np.nan)
        p = np.where(usable, 2.0 * stats.t.sf(np.abs(t), np.where(usable, df, 1.0)), np.nan)
        q = np.where(df > 0, stats.t.ppf(0.5 + conf / 2.0, np.where(df > 0, df, 1.0)), np.nan)
        lo = est - q * se
        hi = est + q * se
    return t, p, lo, hi


def welch(a, b):
    """Difference ``b - a`` of two independent means given their ``column_stats`` dicts.

    Standard error ``sqrt(se_a^2 + se_b^2)`` with Welch-Satterthwaite degrees of freedom
    ``(se_a^2 + se_b^2)^2 / (se_a^4 / df_a + se_b^4 / df_b)`` (Welch 1947), which is R's
    ``t.test(x, y)`` when both sides are unweighted.
    """
    va, vb = a["se"] ** 2, b["se"] ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / a["df"] + vb**2 / b["df"])
        sd_av = np.sqrt((a["sd"] ** 2 + b["sd"] ** 2) / 2.0)
        d = (b["mean"] - a["mean"]) / sd_av
    return {"est": b["mean"] - a["mean"], "se": se, "df": df, "cohen_d": d}


def feldt_ci(alpha, n, k, conf):
    """Feldt, Woodruff & Salih (1987) confidence interval of Cronbach's alpha (unrounded).

    ``1 - (1 - alpha) F_{(1+conf)/2}(n-1, (n-1)(k-1))`` and ``... F_{(1-conf)/2}``, the interval
    pingouin and psych report.
    """
    if not (n >= 2 and k >= 2 and np.isfinite(alpha)):
        return np.nan, np.nan
    df1 = n - 1
    df2 = df1 * (k - 1)
    a = 1.0 - conf
    lo = 1.0 - (1.0 - alpha) * stats.f.isf(a / 2.0, df1, df2)
    hi = 1.0 - (1.0 - alpha) * stats.f.isf(1.0 - a / 2.0, df1, df2)
    return float(lo), float(hi)
