"""Private helpers of :mod:`workbench.waves`: domain cells, delta-method variances, warnings.

Cells and the delta method
--------------------------
Every quantity of the mix analysis (segment shares, segment estimates, standardised estimates,
mix / rate / interaction parts) is a smooth function of the weight totals ``W_c`` and the ratio
means ``m_c`` of disjoint *cells* ``c`` of one with-replacement design (a cell is, e.g., one
segment in one wave, or the customers of one segment who later churned).  With the per-cell
moments of :mod:`workbench._survey` (``W2 = sum w^2``, ``A = sum w^2 (y - m)^2``,
``B = sum w^2 (y - m)``) the linearised covariance of ``(W_c, m_c)`` is::

    f * [[W2_c,       B_c / W_c  ],
         [B_c / W_c,  A_c / W_c^2]]       f = N / (N - 1),

and cells are uncorrelated (no respondent is in two cells).  The influence value of a total is
``w_i`` (not centred); centring does not matter because every function used here is of degree
0 in the weights (rescaling all weights changes nothing), so the linearised values sum to zero
(Euler).  ``var(g) = f * sum_c (gW_c^2 W2_c + 2 gW_c gm_c B_c / W_c + gm_c^2 A_c / W_c^2)``
for the gradient ``(gW, gm)`` of ``g``; this equals R's ``svycontrast`` of the matching
nonlinear expression of ``svytotal``s (tests/results/r/waves.R).

A *segment* of a *group* may pool several cells (``N_P = sum W_c m_c / W_P``), so the same
engine handles overlapping groups, e.g. all wave-1 respondents (stayers and leavers) against the
stayers only: gradients are accumulated per cell before the quadratic form is taken.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench import _survey as sv
from workbench import metrics
from workbench.errors import LowBaseWarning, ParamsError
from workbench.i18n import t

__all__: list[str] = []

#: metric name -> (metrics function, result column of the estimate)
METRIC_FUNCS = {
    "nps": (metrics.nps, "nps"),
    "top_box": (metrics.top_box, "share"),
    "bottom_box": (metrics.bottom_box, "share"),
    "mean_score": (metrics.mean_score, "mean"),
}


def check_metric(metric, options):
    if metric not in METRIC_FUNCS:
        raise ParamsError(
            f"`metric` must be one of {sv.show_values(METRIC_FUNCS)}, but {metric!r} was passed."
        )
    allowed = {"nps": (), "mean_score": (), "top_box": ("top", "scale_max"),
               "bottom_box": ("bottom", "scale_min")}[metric]
    extra = sorted(set(options) - set(allowed))
    if extra:
        raise ParamsError(
            f"metric {metric!r} does not take option(s) {sv.show_values(extra)}; "
            f"it takes {sv.show_values(allowed) if allowed else 'none'}."
        )


def estimates(data, score, metric, *, weight=None, by=None, conf=0.95, rule=None, options=None):
    """The metric per group with its estimate in a column named ``est``."""
    options = options or {}
    check_metric(metric, options)
    fn, col = METRIC_FUNCS[metric]
    res = fn(data, score, weight=weight, by=by, conf=conf, rule=rule, **options)
    res = res.rename(columns={col: "est"})
    keep = [c for c in res.columns if c not in ("promoters", "passives", "detractors")]
    return res[keep]


# --------------------------------------------------------------------------------------------
# cells
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cells:
    """Moments of disjoint cells (one entry per cell) and the design's size factor ``f``."""

    keys: pd.DataFrame  # one row per cell: the cell's key columns
    n: np.ndarray
    W: np.ndarray
    W2: np.ndarray
    m: np.ndarray
    A: np.ndarray
    B: np.ndarray
    f: float

    def index(self, **match):
        """Positions of the cells whose key columns equal ``match`` (in key order)."""
        ok = np.ones(len(self.keys), bool)
        for col, value in match.items():
            ok &= (self.keys[col] == value).to_numpy()
        return np.flatnonzero(ok)

    def var(self, gW, gm):
        """Linearised variance of a function with gradient ``(gW, gm)`` over the cells."""
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = gW**2 * self.W2 + 2.0 * gW * gm * np.where(self.W > 0, self.B / self.W, 0.0) \
                + gm**2 * np.where(self.W > 0, self.A / self.W**2, 0.0)
        return float(self.f * terms.sum())


def cells(data, score, metric, keys, *, weight=None, options=None):
    """Moments of the cells given by the key columns ``keys`` (rows with a score only)."""
    options = options or {}
    check_metric(metric, options)
    moments_fn = metrics._METRICS[metric][0]
    weights = sv.weight_array(data, weight)
    groups = sv.group_codes(data, keys)
    m = moments_fn(data, score, weights, groups, **options)
    keep = np.flatnonzero(m.present & (m.w > 0))
    nd = len(data)
    f = nd / (nd - 1.0) if nd > 1 else np.nan
    return Cells(keys=groups.keys(keep), n=m.n[keep], W=m.w[keep], W2=m.w2[keep], m=m.est[keep],
                 A=m.a[keep], B=m.b[keep], f=f)


@dataclass(frozen=True)
class Group:
    """A set of segments, each pooling one or more cells; shares are taken within the group."""

    labels: list
    pools: list  # per segment: array of cell positions

    def values(self, c: Cells):
        WP = np.array([c.W[p].sum() for p in self.pools])
        NP = np.array([(c.W[p] * c.m[p]).sum() / c.W[p].sum() if c.W[p].sum() > 0 else np.nan
                       for p in self.pools])
        return WP / WP.sum(), NP, WP

    def chain(self, c: Cells, gs, gN, gW_out, gm_out):
        """Add the cell gradients of a function with gradient ``gs`` (shares), ``gN`` (segment
        estimates) to ``gW_out``, ``gm_out``."""
        s, NP, WP = self.values(c)
        WG = WP.sum()
        gWP = (gs - np.dot(gs, s)) / WG
        for k, p in enumerate(self.pools):
            gW_out[p] += gWP[k] + gN[k] * (c.m[p] - NP[k]) / WP[k]
            gm_out[p] += gN[k] * c.W[p] / WP[k]


def group_of(c: Cells, seg_col, labels=None, **match):
    """A group whose segments are the levels of ``seg_col`` among the cells matching ``match``
    (cells that differ in other key columns are pooled)."""
    pos = c.index(**match)
    seg = c.keys[seg_col].to_numpy()[pos]
    if labels is None:
        labels = list(pd.unique(seg))
    pools = [pos[seg == lv] for lv in labels]
    return Group(labels=list(labels), pools=pools)


def zeros(c: Cells):
    return np.zeros(len(c.W)), np.zeros(len(c.W))


# --------------------------------------------------------------------------------------------
# decomposition formulas (values and gradients in share / estimate space)
# --------------------------------------------------------------------------------------------
def decomposition_parts(sa, Na, sb, Nb):
    """Kitagawa components of ``sum sb Nb - sum sa Na`` and their gradients.

    Returns ``{name: (value, (g_sa, g_Na, g_sb, g_Nb))}`` for ``total, mix, rate, interaction,
    mix_mid, rate_mid``.
    """
    ds, dN = sb - sa, Nb - Na
    M, S = (Na + Nb) / 2.0, (sa + sb) / 2.0
    z = np.zeros_like(sa)
    return {
        "total": (float(sb @ Nb - sa @ Na), (-Na, -sa, Nb, sb)),
        "mix": (float(ds @ Na), (-Na, ds, Na, z)),
        "rate": (float(sa @ dN), (dN, -sa, z, sa)),
        "interaction": (float(ds @ dN), (-dN, -ds, dN, ds)),
        "mix_mid": (float(ds @ M), (-M, ds / 2.0, M, ds / 2.0)),
        "rate_mid": (float(S @ dN), (dN / 2.0, -S, dN / 2.0, S)),
    }


def contrast_frame(c: Cells, ga: Group, gb: Group, conf):
    """Value, SE, z, p and CI of every decomposition part of ``gb`` against ``ga``."""
    from scipy import stats

    sa, Na, _ = ga.values(c)
    sb, Nb, _ = gb.values(c)
    zc = sv.conf_quantile(conf)
    rows = []
    for name, (value, (gsa, gNa, gsb, gNb)) in decomposition_parts(sa, Na, sb, Nb).items():
        gW, gm = zeros(c)
        ga.chain(c, gsa, gNa, gW, gm)
        gb.chain(c, gsb, gNb, gW, gm)
        se = np.sqrt(max(c.var(gW, gm), 0.0))
        zval = value / se if se > 0 else np.nan
        rows.append({"component": name, "est": value, "se": se, "z": zval,
                     "p_val": float(2 * stats.norm.sf(abs(zval))) if se > 0 else np.nan,
                     "ci_low": value - zc * se, "ci_high": value + zc * se})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# low-base warnings
# --------------------------------------------------------------------------------------------
def warn_low_base(table, label_cols, what, rule, *, lang="en", labeler=None, stacklevel=3):
    """One LowBaseWarning for ``table`` naming its groups with ``n_eff`` below ``rule.caution``."""
    if table is None or not len(table) or "n_eff" not in table:
        return
    low = table[np.asarray(rule.status(table["n_eff"].to_numpy(dtype=float))) != "ok"]
    if not len(low):
        return
    names = []
    for _, r in low.iterrows():
        parts = []
        for col in label_cols:
            v = r[col]
            parts.append(labeler(col, v) if labeler else str(v))
        names.append(f"{' · '.join(parts)} ({t('waves.warn.neff', lang)} {r['n_eff']:.0f})")
    more = len(names) - 6
    shown = t("waves.warn.sep", lang).join(names[:6])
    if more > 0:
        shown += t("waves.warn.more", lang, k=more)
    untestable = bool((np.asarray(rule.status(low["n_eff"].to_numpy(dtype=float))) == "no_test").any())
    key = "waves.warn.low_base_no_test" if untestable else "waves.warn.low_base"
    fields = {"what": what, "groups": shown, "caution": f"{rule.caution:g}", "min_test": f"{rule.min_test:g}"}
    warnings.warn(LowBaseWarning(t(key, "en", **fields), key=key, **fields), stacklevel=stacklevel)
